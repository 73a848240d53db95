// Holds: a Safe withdrawal above the policy's 10,000 USD threshold is held (202) for 2 of 3 named
// approvers. Each approver signs the hold's EIP-712 Approval typed data with their own key (viem
// signTypedData, as a wallet would for eth_signTypedData_v4) and posts it; the same approver twice
// counts once, a non-approver's signature not at all. At quorum the re-posted cosign returns the
// signature, and the withdrawal executes on chain. A rejection releases nothing.

import { parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { signHash } from './chain.mjs';
import { APPROVERS, ETH_USD, HOLD_ABOVE_USD, OWNER_A, OWNER_B, cosignBody, customer, expectCosigned, expectDenied } from './guard.mjs';
import { describeResponse, expect, expectEqual } from './util.mjs';

export const name = 'holds';
export const needsGuard = true;

const safes = {};
// 6 ETH at 2,000 USD = 12,000 USD, above the 10,000 USD hold threshold.
const HELD_AMOUNT = parseEther('6');

export async function prepare({ chain, env }) {
  if (6n * ETH_USD <= HOLD_ABOVE_USD) throw new Error('holds: the held amount must be above the hold threshold');
  safes.approve = await chain.createSafe({ version: '1.4.1', owners: [OWNER_A.address, OWNER_B.address, env.guardAddress], threshold: 2, fundEth: parseEther('30') });
  safes.reject = await chain.createSafe({ version: '1.3.0', owners: [OWNER_A.address, OWNER_B.address, env.guardAddress], threshold: 2, fundEth: parseEther('30') });
  env.addSafe('holds-approve', safes.approve);
  env.addSafe('holds-reject', safes.reject);
}

/** Signs a hold's approval typed data as an approver, with verdict "approve" or "reject". */
async function signApproval(key, approval, verdict) {
  const { domain, types, primaryType, message } = approval;
  return privateKeyToAccount(key).signTypedData({ domain, types, primaryType, message: { ...message, verdict } });
}

function approvalCount(hold) {
  return Array.isArray(hold?.approvals) ? hold.approvals.length : -1;
}

export async function run({ chain, env, server }, checks) {
  checks.prefix = 'holds';
  const safe = safes.approve;
  const to = customer('held withdrawal');
  const tx = await chain.buildSafeTx(safe, { to, value: HELD_AMOUNT });
  const hash = await chain.safeTxHash(safe, tx);
  const body = cosignBody(safe, tx);

  const held = await checks.check('a 12,000 USD withdrawal is held: 202, decision hold, a hold named by the decision id, no signature', async () => {
    const res = await server.cosign(body);
    expectEqual(res.status, 202, `status (${describeResponse(res)})`);
    const h = res.json?.hold;
    expectEqual(res.json?.decision?.verdict, 'hold', 'decision.verdict');
    expect(res.json.signature === undefined, 'no signature while held', res.json.signature);
    expectEqual(String(res.json.safeTxHash).toLowerCase(), hash.toLowerCase(), 'safeTxHash is the contract\'s');
    expect(typeof h?.id === 'string' && h.id.length > 0, 'hold.id', h);
    expectEqual(h.id, res.json.decision.id, 'hold.id is the decision id');
    expectEqual(h.approval?.primaryType, 'Approval', 'hold.approval.primaryType');
    return h;
  });
  const hold = held;

  await checks.check('the hold object has the contract\'s fields: status, approvals, quorum, approvers, expires_at, approval', async () => {
    const h = held ?? {};
    expectEqual(h.status, 'pending', 'hold.status');
    expectEqual(approvalCount(h), 0, 'hold.approvals is an empty array');
    expectEqual(h.quorum, 2, 'hold.quorum');
    expectEqual([...(h.approvers ?? [])].sort(), ['alice', 'bob', 'carol'], 'hold.approvers');
    expect(typeof h.expires_at === 'string' && !Number.isNaN(Date.parse(h.expires_at)), 'hold.expires_at is a date-time string', h.expires_at);
    expectEqual({ name: h.approval?.domain?.name, version: h.approval?.domain?.version }, { name: 'txguard', version: '1' }, 'approval domain');
    expectEqual(h.approval?.message?.decisionId, h.id, 'approval.message.decisionId is the hold id');
    expectEqual(h.approval?.message?.verdict, 'approve', 'approval.message.verdict');
  });
  if (!hold) { checks.prefix = ''; return; }

  await checks.check('GET /v1/holds (approver) lists it; GET /v1/holds/{id} returns it', async () => {
    const list = await server.call('GET', '/v1/holds', { token: 'alice' });
    expectEqual(list.status, 200, `GET /v1/holds (${describeResponse(list)})`);
    expect((list.json?.holds ?? []).some((h) => h.id === hold.id), 'the hold is listed', list.json);
    const one = await server.call('GET', `/v1/holds/${encodeURIComponent(hold.id)}`, { token: 'alice' });
    expectEqual(one.status, 200, `GET /v1/holds/{id} (${describeResponse(one)})`);
    expectEqual(one.json?.id, hold.id, 'hold id');
    expectEqual(one.json?.status, 'pending', 'status');
  });

  const current = async () => (await server.call('GET', `/v1/holds/${encodeURIComponent(hold.id)}`, { token: 'alice' })).json;

  await checks.check('the requester sees its own hold; it may not approve it (403 forbidden); an unknown hold is 404', async () => {
    const list = await server.call('GET', '/v1/holds', { token: 'ops' });
    expectEqual(list.status, 200, `GET /v1/holds as the requester (${describeResponse(list)})`);
    expect((list.json?.holds ?? []).some((h) => h.id === hold.id), 'the requester\'s own hold is listed', list.json);
    const sig = await signApproval(APPROVERS.alice.key, hold.approval, 'approve');
    const asOps = await server.call('POST', `/v1/holds/${encodeURIComponent(hold.id)}/approve`, { token: 'ops', body: { signature: sig } });
    expectEqual(asOps.status, 403, `approve with the requester's token (${describeResponse(asOps)})`);
    expectEqual(asOps.json?.error?.code, 'forbidden', 'error.code');
    const unknown = await server.call('GET', '/v1/holds/no-such-hold', { token: 'alice' });
    expectEqual(unknown.status, 404, `GET /v1/holds/no-such-hold (${describeResponse(unknown)})`);
    expectEqual(unknown.json?.error?.code, 'not-found', 'error.code');
    expectEqual(approvalCount(await current()), 0, 'nothing approved by these');
  });

  await checks.check('while the hold is pending, a different SafeTx at its nonce is denied (nonce-already-signed)', async () => {
    const other = await chain.buildSafeTx(safe, { to: customer('held nonce other'), value: parseEther('0.01'), nonce: tx.nonce });
    expectDenied(await server.cosign(cosignBody(safe, other)), 'nonce-already-signed', 'a small transfer at the held nonce');
  });

  const approve = (approver, signature, token = approver) =>
    server.call('POST', `/v1/holds/${encodeURIComponent(hold.id)}/approve`, { token, body: { signature } });

  const aliceSig = await signApproval(APPROVERS.alice.key, hold.approval, 'approve');

  await checks.check('alice approves: 200, still pending with one approval', async () => {
    const res = await approve('alice', aliceSig);
    expectEqual(res.status, 200, `status (${describeResponse(res)})`);
    expectEqual(res.json?.status, 'pending', 'status after one of two approvals');
    expectEqual(approvalCount(res.json), 1, 'one approval');
  });

  await checks.check('an approval in the hold names its approver and when it was accepted (unix ms, within the last minute)', async () => {
    const a = (await current())?.approvals?.[0];
    expectEqual(a?.approver, 'alice', 'approvals[0].approver');
    expectEqual(a?.verdict, 'approve', 'approvals[0].verdict');
    expect(typeof a?.at_ms === 'number' && Math.abs(Date.now() - a.at_ms) < 60000, 'approvals[0].at_ms is the time of the approval in unix milliseconds', { at_ms: a?.at_ms, now: Date.now() });
  });

  await checks.check('the same approver twice counts once', async () => {
    await approve('alice', aliceSig);
    const h = await current();
    expectEqual(h?.status, 'pending', 'still pending after alice approved twice');
    expectEqual(approvalCount(h), 1, 'still one approval');
  });

  await checks.check('a repeated approval is answered 200 (idempotent) or 409 conflict', async () => {
    const res = await approve('alice', aliceSig);
    expect(res.status === 200 || (res.status === 409 && res.json?.error?.code === 'conflict'),
      'the API contract\'s error list has 409 conflict for this, not a new code', describeResponse(res));
  });

  await checks.check('a signature by a key that is not an approver counts for nothing', async () => {
    const res = await approve('carol', await signApproval(OWNER_A.key, hold.approval, 'approve'), 'carol');
    expect(res.status >= 400 && res.status < 500, `a non-approver's signature is refused with 4xx (${describeResponse(res)})`);
    const h = await current();
    expectEqual(h?.status, 'pending', 'still pending');
    expectEqual(approvalCount(h), 1, 'still one approval');
  });

  await checks.check('before quorum, re-posting the cosign body returns 202 again and no signature', async () => {
    const res = await server.cosign(body);
    expectEqual(res.status, 202, `status (${describeResponse(res)})`);
    expect(res.json?.signature === undefined, 'no signature', res.json);
    expectEqual(res.json?.hold?.id, hold.id, 'the same hold');
  });

  await checks.check('bob\'s approval is refused (403 not-bound) from any client but bob\'s own: alice\'s token, the admin\'s token', async () => {
    const bobSig = await signApproval(APPROVERS.bob.key, hold.approval, 'approve');
    for (const token of ['alice', 'root']) {
      const res = await approve('bob', bobSig, token);
      expectEqual(res.status, 403, `status with ${token}'s token (${describeResponse(res)})`);
      expectEqual(res.json?.error?.code, 'not-bound', `error code with ${token}'s token`);
    }
    const h = await current();
    expectEqual(h?.status, 'pending', 'still pending');
    expectEqual(approvalCount(h), 1, 'still one approval');
  });

  await checks.check('bob approves: the hold is approved', async () => {
    const res = await approve('bob', await signApproval(APPROVERS.bob.key, hold.approval, 'approve'));
    expectEqual(res.status, 200, `status (${describeResponse(res)})`);
    expectEqual(res.json?.status, 'approved', 'status at quorum');
    expectEqual(approvalCount(res.json), 2, 'two approvals');
  });

  const released = await checks.check('after quorum the re-posted cosign returns 200 with the signature, and the withdrawal executes', async () => {
    const res = await server.cosign(body);
    // "Retrying the exact same body returns the same decision (and signature, once released)": the
    // decision stays the hold; the hold's status says it was approved.
    const guardSig = await expectCosigned(res, { hash, guardAddress: env.guardAddress, what: 're-posted cosign after approval', verdict: 'hold' });
    expectEqual(res.json.decision.id, hold.id, 'the same decision as the hold');
    expectEqual(res.json.hold?.status, 'approved', 'the hold in the answer is approved');
    const before = await chain.ethBalance(to);
    await chain.execSafeTx(safe, tx, [await signHash(OWNER_A.key, hash), guardSig]);
    expectEqual(await chain.ethBalance(to) - before, HELD_AMOUNT, 'recipient received 6 ETH');
    return guardSig;
  });

  await checks.check('GET /v1/holds/{id} by the requester includes the released signature', async () => {
    const h = (await server.call('GET', `/v1/holds/${encodeURIComponent(hold.id)}`, { token: 'ops' })).json;
    expectEqual(h?.status, 'approved', 'hold status');
    expect(released !== undefined, 'the previous check obtained the signature');
    expectEqual(h?.signature?.toLowerCase(), released.signature.toLowerCase(), 'hold.signature is the one the cosign retry returned');
  });

  await checks.check('a held withdrawal rejected by one approver never gets a signature', async () => {
    const rsafe = safes.reject;
    const rtx = await chain.buildSafeTx(rsafe, { to: customer('rejected withdrawal'), value: parseEther('7') });
    const rbody = cosignBody(rsafe, rtx);
    const first = await server.cosign(rbody);
    expectEqual(first.status, 202, `held (${describeResponse(first)})`);
    const rhold = first.json.hold;
    // An approval is bound to its request: alice's signature for the first hold does not approve this one.
    const replayed = await server.call('POST', `/v1/holds/${encodeURIComponent(rhold.id)}/approve`, { token: 'alice', body: { signature: aliceSig } });
    expect(replayed.status >= 400 && replayed.status < 500, `an approval signed for another hold is refused (${describeResponse(replayed)})`);
    const rnow = (await server.call('GET', `/v1/holds/${encodeURIComponent(rhold.id)}`, { token: 'alice' })).json;
    expectEqual(approvalCount(rnow), 0, 'the replayed approval did not count');
    const res = await server.call('POST', `/v1/holds/${encodeURIComponent(rhold.id)}/reject`, {
      token: 'carol', body: { signature: await signApproval(APPROVERS.carol.key, rhold.approval, 'reject') },
    });
    expectEqual(res.status, 200, `reject (${describeResponse(res)})`);
    expectEqual(res.json?.status, 'rejected', 'status after a rejection');
    const again = await server.cosign(rbody);
    expect(again.status !== 200 && again.status !== 202, `re-posting a rejected request is refused (${describeResponse(again)})`);
    expect(again.json?.signature === undefined, 'no signature for a rejected request', again.json);
    const late = await server.call('POST', `/v1/holds/${encodeURIComponent(rhold.id)}/approve`, {
      token: 'alice', body: { signature: await signApproval(APPROVERS.alice.key, rhold.approval, 'approve') },
    });
    expect(late.status >= 400 || late.json?.status === 'rejected', `an approval after the rejection does not revive it (${describeResponse(late)})`);
  });
  checks.prefix = '';
}

// Once only: txguard never signs two different SafeTxs for one (chain, Safe, nonce). A different
// SafeTx at a nonce it already signed is denied (nonce-already-signed); the same request again gets
// the same signature back; and this holds across a restart of the server (same database).

import { parseEther } from 'viem';
import { signHash } from './chain.mjs';
import { OWNER_A, OWNER_B, cosignBody, customer, expectCosigned, expectDenied } from './guard.mjs';
import { expectEqual } from './util.mjs';

export const name = 'once';
export const needsGuard = true;

let safe;

export async function prepare({ chain, env }) {
  safe = await chain.createSafe({ version: '1.3.0', owners: [OWNER_A.address, OWNER_B.address, env.guardAddress], threshold: 2, fundEth: parseEther('10') });
  env.addSafe('once-only', safe);
}

export async function run({ chain, env, server }, checks) {
  checks.prefix = 'once';
  const guardAddress = env.guardAddress;
  const tx = await chain.buildSafeTx(safe, { to: customer('once 1'), value: parseEther('0.3') });
  const hash = await chain.safeTxHash(safe, tx);
  const body = cosignBody(safe, tx);
  const other = await chain.buildSafeTx(safe, { to: customer('once 2'), value: parseEther('0.3'), nonce: tx.nonce });

  const first = await checks.check('a transfer at nonce n is co-signed', async () => {
    const res = await server.cosign(body);
    return { sig: await expectCosigned(res, { hash, guardAddress, what: 'first request' }), decisionId: res.json.decision.id };
  });

  await checks.check('a different SafeTx at the same nonce is denied (nonce-already-signed)', async () => {
    expectDenied(await server.cosign(cosignBody(safe, other)), 'nonce-already-signed', 'second SafeTx at nonce n');
  });

  await checks.check('a retry of the same body returns the same signature and decision', async () => {
    const res = await server.cosign(body);
    const sig = await expectCosigned(res, { hash, guardAddress, what: 'retry' });
    expectEqual(sig.signature, first?.sig.signature, 'the same signature');
    expectEqual(res.json.decision.id, first?.decisionId, 'the same decision id');
  });

  await checks.check('the same SafeTx with its numbers as decimal strings is the same request: same signature', async () => {
    const res = await server.cosign({ ...body, operation: String(body.operation), nonce: String(body.nonce) });
    const sig = await expectCosigned(res, { hash, guardAddress, what: 'same SafeTx, numbers as strings' });
    expectEqual(sig.signature, first?.sig.signature, 'the same signature');
  });

  await checks.check('the signature executes on chain; the next nonce is free', async () => {
    await chain.execSafeTx(safe, tx, [await signHash(OWNER_A.key, hash), first.sig]);
    const next = await chain.buildSafeTx(safe, { to: customer('once 3'), value: parseEther('0.1') });
    expectEqual(next.nonce, tx.nonce + 1n, 'the Safe nonce advanced');
    const nextHash = await chain.safeTxHash(safe, next);
    const sig = await expectCosigned(await server.cosign(cosignBody(safe, next)), { hash: nextHash, guardAddress, what: 'nonce n+1' });
    await chain.execSafeTx(safe, next, [await signHash(OWNER_B.key, nextHash), sig]);
  });

  await checks.check('after a restart (SIGTERM, exit 0, same database) nonce n is still taken and the retry still answers', async () => {
    await server.restart();
    expectDenied(await server.cosign(cosignBody(safe, other)), 'nonce-already-signed', 'second SafeTx at nonce n after restart');
    const res = await server.cosign(body);
    const sig = await expectCosigned(res, { hash, guardAddress, what: 'retry after restart' });
    expectEqual(sig.signature, first?.sig.signature, 'the same signature after a restart');
  });
  await checks.check('a race: 8 different SafeTxs at one nonce sent at once, exactly one is signed', async () => {
    const nonce = await chain.safeNonce(safe);
    const txs = await Promise.all(Array.from({ length: 8 }, (_, i) => chain.buildSafeTx(safe, { to: customer(`race ${i}`), value: parseEther('0.01'), nonce })));
    const answers = await Promise.all(txs.map((t) => server.cosign(cosignBody(safe, t))));
    const statuses = answers.map((a) => a.status);
    expectEqual(statuses.filter((x) => x === 200).length, 1, `one 200 among ${JSON.stringify(statuses)}`);
    for (const a of answers.filter((x) => x.status !== 200)) expectDenied(a, 'nonce-already-signed', 'a losing racer');
    const winner = txs[answers.findIndex((a) => a.status === 200)];
    const winnerHash = await chain.safeTxHash(safe, winner);
    const sig = await expectCosigned(answers.find((a) => a.status === 200), { hash: winnerHash, guardAddress, what: 'the winner' });
    await chain.execSafeTx(safe, winner, [await signHash(OWNER_A.key, winnerHash), sig]);
  });

  await checks.check('a race: the same body 8 times at once, one decision and one signature', async () => {
    const t = await chain.buildSafeTx(safe, { to: customer('same body race'), value: parseEther('0.01') });
    const h = await chain.safeTxHash(safe, t);
    const answers = await Promise.all(Array.from({ length: 8 }, () => server.cosign(cosignBody(safe, t))));
    const sigs = [];
    for (const a of answers) sigs.push((await expectCosigned(a, { hash: h, guardAddress, what: 'a concurrent identical request' })).signature);
    expectEqual(new Set(sigs).size, 1, 'one signature');
    expectEqual(new Set(answers.map((a) => a.json.decision.id)).size, 1, 'one decision id');
  });
  checks.prefix = '';
}

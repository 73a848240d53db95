// The Ronin-style bridge test (issue 6, "Done when"): txguard is one owner of a 2-of-3 release Safe on
// the destination chain (the harness's anvil, 31337) and co-signs a release only when nine validators'
// EIP-712 attestation, its own view of the source chain (a second anvil, 31338, with a hand-assembled
// deposit contract: bridge_chain.mjs) and the policy all agree.
//
// A dedicated `txguard serve` ("bridge") runs with its own policy (bridge.policy.json: chains local
// and source, TKN, the release Safe, the route "ronin", a hold above 50,000 USD for 2 of alice, bob,
// carol and a 100,000 USD 24-hour window) and config (`bridge.rpc` with the source anvil twice, so the
// two endpoints must agree). Every refusal is checked for its reason code:
//
//   (1)  a real 1,000 TKN deposit attested by 5 validators of 5 operators: signed, executed with owner
//        A's signature, the recipient gets exactly 1,000 TKN; the decision records the observed receipt
//   (2)  5 validators of whom 4 are sky-mavis: too-few-operators
//   (3)  a perfectly attested release of a source transaction that is no deposit: deposit-not-found
//   (4)  the deposit of (1) again, at a new Safe nonce: already-released
//   (5)  60,000 TKN: pending (the hold rule)
//   (6)  30,000 TKN releases until the 100,000 USD window is full: the one crossing it limit-exceeded
//   (7)  the route paused: route-paused; unpausing takes 2 approvals (after 1 still route-paused)
//   (8)  4 signatures: no-quorum
//   (9)  a release paying another amount or recipient than attested: release-mismatch
//   (10) a deposit with 1 of 2 confirmations: deferred (202) deposit-unconfirmed; one block later allowed
//   (11) one of the two source endpoints unreachable: deferred (202) source-unreachable
//   (12) the two source endpoints disagree (the second a chain-31338 node without the deposit):
//        deferred (202) source-disagree
//
// Order of the run: 1, 2, 3, 4, 8, 9, 7, 10, 6, 5, then 11 and 12 on servers of their own. Allowed releases are executed on chain so the Safe
// nonce moves on; the window check comes after every other allowed release (it counts what they
// used); the held release comes last because a pending hold keeps its Safe nonce.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keccak256, stringToHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  DEPOSIT_EVENT_SIGNATURE,
  DESTINATION_CHAIN_ID,
  SOURCE_CHAIN_ID,
  VALIDATORS,
  attestationDomain,
  attestationMessageJson,
  signAttestation,
  startSourceChain,
  validatorSetDocument,
} from './bridge_chain.mjs';
import { erc20TransferData, signHash, startChain } from './chain.mjs';
import { APPROVERS, OWNER_A, OWNER_B, cosignBody, customer, expectCosigned, expectDenied, reasonCodes } from './guard.mjs';
import { describeResponse, expect, expectEqual, freePort, runCommand, stringify } from './util.mjs';

export const name = 'bridge';
export const needsGuard = true;

const TKN = 10n ** 18n;
const ROUTE = 'ronin';
const HOLD_ABOVE_USD = 50000n;
const WINDOW_USD = 100000n;
const VALIDATOR_FILE = 'ronin.validators.json';

// Signer sets (validator indices; 0-3 are sky-mavis).
const FIVE_OPERATORS = [0, 4, 5, 6, 7];   // sky-mavis, axie-dao, operator-5, -6, -7
const FOUR_SKY_MAVIS = [0, 1, 2, 3, 4];   // 5 signatures, 2 operators
const ONLY_FOUR = [4, 5, 6, 7];           // 4 signatures, 4 operators

let source;
let releaseSafe;

export async function prepare({ chain, env, log }) {
  source = await startSourceChain({ log });
  releaseSafe = await chain.createSafe({
    version: '1.4.1', owners: [OWNER_A.address, OWNER_B.address, env.guardAddress], threshold: 2, fundToken: 1000000n * TKN,
  });
  log(`bridge: release Safe ${releaseSafe.address} holds 1,000,000 TKN; source deposit contract ${source.depositBox}`);
}

/** The bridge server's policy (see the file comment). */
function bridgePolicy(chain) {
  return {
    txguard_policy: 1,
    name: 'e2e-bridge',
    chains: { local: { id: DESTINATION_CHAIN_ID }, source: { id: SOURCE_CHAIN_ID } },
    assets: { TKN: { chain: 'local', address: chain.token.address, decimals: 18 } },
    prices: { fixed: { TKN: '1' } },
    approvers: Object.fromEntries(Object.entries(APPROVERS).map(([n, a]) => [n, { address: a.address }])),
    wallets: { release: { chain: 'local', address: releaseSafe.address, kind: 'safe', safe_version: releaseSafe.version } },
    limits: { 'release-daily-usd': { window: '24h', max_usd: WINDOW_USD.toString(), per: ['wallet'] } },
    bridges: {
      unpause: { approvers: ['alice', 'bob', 'carol'], quorum: 2 },
      routes: {
        [ROUTE]: {
          kind: 'attestation',
          source: { chain: 'source', contract: source.depositBox, event: DEPOSIT_EVENT_SIGNATURE, confirmations: 2 },
          destination: { chain: 'local', wallet: 'release', contract: releaseSafe.address },
          release: { kind: 'transfer' },
          validators: { file: VALIDATOR_FILE },
          quorum: { signatures: 5, operators: 3 },
          tokens: [{ source: source.token.address, asset: 'TKN' }],
        },
      },
    },
    rules: [
      { id: 'large-release', match: { wallet: 'release', leg: 'transfer', usd: { '>': HOLD_ABOVE_USD.toString() } },
        effect: 'hold', hold: { approvers: ['alice', 'bob', 'carol'], quorum: 2, expires: '1h' } },
      { id: 'release', match: { wallet: 'release', leg: 'transfer' }, effect: 'allow', limits: ['release-daily-usd'] },
    ],
  };
}

/** Every [path, value] under obj whose key is `key`. */
function findKey(obj, key, path = '$') {
  if (obj === null || typeof obj !== 'object') return [];
  const found = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = Array.isArray(obj) ? `${path}[${k}]` : `${path}.${k}`;
    if (k === key) found.push([p, v]);
    found.push(...findKey(v, key, p));
  }
  return found;
}

/** Reason codes of an answer: decision.reasons, else a top-level reasons array or reason string. */
function answerCodes(json) {
  const fromDecision = reasonCodes(json?.decision);
  if (fromDecision.length) return fromDecision;
  if (Array.isArray(json?.reasons)) return json.reasons.map((r) => (typeof r === 'string' ? r : r?.code));
  if (typeof json?.reason === 'string') return [json.reason];
  return [];
}

export async function run({ chain, env, dir, log }, checks) {
  checks.prefix = 'bridge';
  try {
    await scenario({ chain, env, dir, log }, checks);
  } finally {
    await source?.stop();
    checks.prefix = '';
  }
}

async function scenario({ chain, env, dir, log }, checks) {
  const guardAddress = env.guardAddress;
  const domain = attestationDomain(DESTINATION_CHAIN_ID, releaseSafe.address);

  const server = await checks.check('txguard policy check accepts the bridge policy; serve starts with bridge.rpc (the source anvil twice)', async () => {
    writeFileSync(join(dir, VALIDATOR_FILE), `${JSON.stringify(validatorSetDocument(), null, 2)}\n`);
    const policyPath = join(dir, 'bridge.policy.json');
    writeFileSync(policyPath, `${JSON.stringify(bridgePolicy(chain), null, 2)}\n`);
    const checked = await runCommand(env.txguard, ['policy', 'check', policyPath]);
    expect(checked.code === 0, `txguard policy check bridge.policy.json exited ${checked.code}`, `${checked.stdout}${checked.stderr}`);
    return env.startServer({
      name: 'bridge',
      // One source anvil here: the configuration must accept a single source explicitly.
      extra: { policy: 'bridge.policy.json', bridge: { rpc: { [SOURCE_CHAIN_ID]: [source.url] }, timeout_ms: 5000, accept_single_source: true } },
    });
  });
  if (!server) return;

  await checks.check('/readyz tells a client that this configuration accepted a single source for the source chain', async () => {
    const res = await server.call('GET', '/readyz', { token: 'audit' });
    expectEqual(res.status, 200, `status (${describeResponse(res)})`);
    expect((res.json?.warnings ?? []).some((w) => w.includes(`bridge.rpc.${SOURCE_CHAIN_ID}`) && w.includes('single source')),
      'a warning names the source chain confirmed by a single source', res.json);
  });

  // --- helpers ----------------------------------------------------------------------------------

  /** A real deposit on the source chain to `recipient`; `confirm` mines 2 more blocks (3 confirmations). */
  async function deposit(amount, label, { confirm = true } = {}) {
    const recipient = customer(`bridge ${label}`);
    const d = await source.deposit({ amount, recipient });
    if (confirm) await source.mine(2);
    return { ...d, recipient };
  }

  /** The attestation message a deposit deserves (destination token, the Deposit log's index and nonce). */
  function messageFor(d) {
    return {
      sourceChainId: SOURCE_CHAIN_ID,
      sourceTxHash: d.receipt.transactionHash,
      logIndex: d.log.logIndex,
      token: chain.token.address,
      amount: d.event.amount,
      recipient: d.event.recipient,
      destinationChainId: DESTINATION_CHAIN_ID,
      nonce: d.event.nonce,
    };
  }

  /**
   * A release request: the Safe transaction paying `pay` ({amount, recipient}, default what is attested)
   * from the release Safe at `nonce` (default its current one), with `message` signed by `signers`.
   * Resolves {body, tx, hash}.
   */
  async function releaseRequest(message, signers, { pay = {}, nonce } = {}) {
    const tx = await chain.buildSafeTx(releaseSafe, {
      to: chain.token.address,
      data: erc20TransferData(pay.recipient ?? message.recipient, pay.amount ?? message.amount),
      ...(nonce !== undefined ? { nonce } : {}),
    });
    const signatures = [];
    for (const i of signers) signatures.push(await signAttestation(VALIDATORS[i].key, domain, message));
    const body = {
      route: ROUTE,
      release: cosignBody(releaseSafe, tx),
      attestation: { kind: 'eip712', validator_set: 0, message: attestationMessageJson(message), signatures },
    };
    return { body, tx, hash: await chain.safeTxHash(releaseSafe, tx) };
  }

  const release = (body) => server.call('POST', '/v1/bridge/release', { token: 'ops', body });

  /** Expects the release signed; executes it with owner A; checks the recipient got exactly `amount`. */
  async function expectReleasedAndExecute(res, req, recipient, amount, what) {
    expectEqual(res.json?.status, 'allowed', `${what}: status (${describeResponse(res)})`);
    const guardSig = await expectCosigned(res, { hash: req.hash, guardAddress, what });
    const before = await chain.tokenBalance(recipient);
    await chain.execSafeTx(releaseSafe, req.tx, [await signHash(OWNER_A.key, req.hash), guardSig]);
    expectEqual(await chain.tokenBalance(recipient) - before, amount, `${what}: the recipient's TKN balance grew by exactly the attested amount`);
    return res.json;
  }

  function expectRefused(res, code, what) {
    expectDenied(res, code, what);
    expectEqual(res.json?.status, 'denied', `${what}: status`);
  }

  let usedUsd = 0n; // what allowed releases charged to the 24-hour window

  // --- (1) a real deposit, released -------------------------------------------------------------

  const first = await checks.check('(1) a real 1,000 TKN deposit attested by 5 validators of 5 operators is co-signed and executes; the recipient gets exactly 1,000 TKN', async () => {
    const d = await deposit(1000n * TKN, 'one');
    const message = messageFor(d);
    const req = await releaseRequest(message, FIVE_OPERATORS);
    const res = await release(req.body);
    const answer = await expectReleasedAndExecute(res, req, d.recipient, 1000n * TKN, 'release of a real deposit');
    usedUsd += 1000n;
    return { d, message, decisionId: answer.decision.id };
  });

  await checks.check('(1) the decision (GET /v1/decisions/{id}) records the observed receipt: request payload "observation" with the real transactionHash and blockHash', async () => {
    expect(first !== undefined, 'check (1) released a deposit');
    const res = await server.call('GET', `/v1/decisions/${encodeURIComponent(first.decisionId)}`, { token: 'audit' });
    expectEqual(res.status, 200, `GET /v1/decisions/{id} (${describeResponse(res)})`);
    const payload = res.json?.record?.request?.payload;
    expect(payload && typeof payload === 'object', 'the record has request.payload', res.json?.record);
    const observations = findKey(payload, 'observation', '$.record.request.payload');
    expect(observations.length > 0, 'request.payload has an "observation"', Object.keys(payload));
    const [where, observation] = observations[0];
    const txHashes = findKey(observation, 'transactionHash', where);
    const blockHashes = findKey(observation, 'blockHash', where);
    expect(txHashes.length > 0 && blockHashes.length > 0, 'the observation has a transactionHash and a blockHash', observation);
    for (const [p, v] of txHashes) expectEqual(String(v).toLowerCase(), first.d.receipt.transactionHash.toLowerCase(), `${p}`);
    for (const [p, v] of blockHashes) expectEqual(String(v).toLowerCase(), first.d.receipt.blockHash.toLowerCase(), `${p}`);
  });

  // --- (2) Ronin: four of five signers are one organisation --------------------------------------

  await checks.check('(2) a deposit attested by 5 validators of whom 4 are sky-mavis is denied (too-few-operators)', async () => {
    const d = await deposit(1000n * TKN, 'sky-mavis');
    const req = await releaseRequest(messageFor(d), FOUR_SKY_MAVIS);
    expectRefused(await release(req.body), 'too-few-operators', '4 sky-mavis + axie-dao');
  });

  // --- (3) perfectly attested, no deposit --------------------------------------------------------

  await checks.check('(3) a perfectly attested release of a source transaction that is no deposit (a plain ERC-20 transfer) is denied (deposit-not-found)', async () => {
    const recipient = customer('bridge no deposit');
    const receipt = await source.transferToken(recipient, 5000n * TKN);
    await source.mine(2);
    const transferLog = receipt.logs[0];
    const message = {
      sourceChainId: SOURCE_CHAIN_ID, sourceTxHash: receipt.transactionHash, logIndex: transferLog.logIndex,
      token: chain.token.address, amount: 5000n * TKN, recipient, destinationChainId: DESTINATION_CHAIN_ID, nonce: 999n,
    };
    const req = await releaseRequest(message, FIVE_OPERATORS);
    expectRefused(await release(req.body), 'deposit-not-found', 'release of a plain transfer');
    // Not a check of the contract (a receipt that does not exist yet may be deferred or denied):
    // what the server says about a hash no node knows.
    const random = { ...message, sourceTxHash: keccak256(stringToHex('no such transaction')) };
    const r2 = await release((await releaseRequest(random, FIVE_OPERATORS)).body);
    log(`bridge: (3) a random source tx hash: HTTP ${r2.status} status ${r2.json?.status} reasons ${stringify(answerCodes(r2.json))}`);
    expect(r2.json?.signature === undefined, 'a random source tx hash gets no signature', r2.json);
  });

  // --- (4) once only ---------------------------------------------------------------------------

  await checks.check('(4) the second release of the deposit of (1), at a new Safe nonce, is denied (already-released)', async () => {
    expect(first !== undefined, 'check (1) released a deposit');
    const req = await releaseRequest(first.message, FIVE_OPERATORS);
    expect(req.tx.nonce > 0n, 'the Safe nonce moved on since (1)', req.tx.nonce);
    expectRefused(await release(req.body), 'already-released', 'second release of one deposit');
  });

  await checks.check('(4b) the deposit of (1) attested again with another body (another recipient) is a release-conflict, counted in txguard_alerts_total', async () => {
    expect(first !== undefined, 'check (1) released a deposit');
    const forged = { ...first.message, recipient: customer('conflicting recipient') };
    const req = await releaseRequest(forged, FIVE_OPERATORS);
    const res = await release(req.body);
    expectDenied(res, 'release-conflict', 'the same deposit under another attested body');
    const metrics = await server.call('GET', '/metrics', { token: 'root' });
    expectEqual(metrics.status, 200, 'GET /metrics');
    expect(/txguard_alerts_total\{alert="release-conflict"\} 1\b/.test(metrics.text),
      'txguard_alerts_total{alert="release-conflict"} is 1', metrics.text.split('\n').filter((l) => l.includes('alerts')));
  });

  // --- (8) below quorum --------------------------------------------------------------------------

  await checks.check('(8) an attestation signed by only 4 validators (4 operators) is denied (no-quorum)', async () => {
    const d = await deposit(1000n * TKN, 'four');
    const req = await releaseRequest(messageFor(d), ONLY_FOUR);
    expectRefused(await release(req.body), 'no-quorum', '4 of 9 signatures');
  });

  // --- (9) the release pays something else ------------------------------------------------------

  await checks.check('(9) a release paying another amount or another recipient than attested is denied (release-mismatch)', async () => {
    const d = await deposit(1000n * TKN, 'mismatch');
    const message = messageFor(d);
    const more = await releaseRequest(message, FIVE_OPERATORS, { pay: { amount: 1001n * TKN } });
    expectRefused(await release(more.body), 'release-mismatch', 'release of 1,001 TKN for a 1,000 TKN deposit');
    const elsewhere = await releaseRequest(message, FIVE_OPERATORS, { pay: { recipient: customer('bridge thief') } });
    expectRefused(await release(elsewhere.body), 'release-mismatch', 'release to another recipient');
  });

  // --- (7) pause, and an unpause that needs two approvals ----------------------------------------

  const status = async () => {
    const res = await server.call('GET', '/v1/bridge/status', { token: 'root' });
    expectEqual(res.status, 200, `GET /v1/bridge/status (${describeResponse(res)})`);
    expect(Array.isArray(res.json?.paused) && res.json?.routes && typeof res.json.routes === 'object', 'status has "paused" (array) and "routes" (object)', res.json);
    return res.json;
  };

  // The status lists each pause with its scope, time, admin and reason.
  const isPaused = (st) => st.paused.some((p) => p.scope === ROUTE) && st.routes[ROUTE].paused === true;

  const paused = await checks.check('(7) POST /v1/bridge/pause {"route":"ronin"} (admin): 200, status lists it; a valid release is denied (route-paused)', async () => {
    const asOps = await server.call('POST', '/v1/bridge/pause', { token: 'ops', body: { route: ROUTE } });
    expectEqual(asOps.status, 403, `pause with a requester's token (${describeResponse(asOps)})`);
    const res = await server.call('POST', '/v1/bridge/pause', { token: 'root', body: { route: ROUTE } });
    expectEqual(res.status, 200, `pause (${describeResponse(res)})`);
    expect(isPaused(await status()), 'GET /v1/bridge/status lists the route as paused', await status());
    const d = await deposit(1000n * TKN, 'paused');
    const req = await releaseRequest(messageFor(d), FIVE_OPERATORS);
    expectRefused(await release(req.body), 'route-paused', 'release while paused');
    return true;
  });

  await checks.check('(7) unpausing takes 2 of alice, bob, carol: 202 pending; after 1 approval still route-paused; after 2 a release is co-signed', async () => {
    expect(paused, 'the route was paused by the previous check');
    const res = await server.call('POST', '/v1/bridge/unpause', { token: 'root', body: { route: ROUTE } });
    expectEqual(res.status, 202, `unpause (${describeResponse(res)})`);
    expectEqual(res.json?.status, 'pending', 'unpause status');
    const id = res.json?.id;
    expect(typeof id === 'string' && id.length > 0, 'unpause answers a hold id', res.json);
    let approval = res.json?.approval;
    if (!approval) {
      const hold = await server.call('GET', `/v1/holds/${encodeURIComponent(id)}`, { token: 'alice' });
      expectEqual(hold.status, 200, `GET /v1/holds/{id} of the unpause (${describeResponse(hold)})`);
      expectEqual(hold.json?.status, 'pending', 'the unpause hold is pending');
      approval = hold.json?.approval;
    }
    expectEqual(approval?.primaryType, 'Approval', 'the unpause hold carries the Approval typed data to sign');
    const sign = (key) => privateKeyToAccount(key).signTypedData({
      domain: approval.domain, types: approval.types, primaryType: approval.primaryType, message: { ...approval.message, verdict: 'approve' },
    });
    const approve = async (who) => server.call('POST', `/v1/holds/${encodeURIComponent(id)}/approve`, { token: who, body: { signature: await sign(APPROVERS[who].key) } });

    const one = await approve('alice');
    expectEqual(one.status, 200, `alice approves (${describeResponse(one)})`);
    expectEqual(one.json?.status, 'pending', 'after one approval');
    expect(isPaused(await status()), 'still paused after one approval', await status());
    const d1 = await deposit(1000n * TKN, 'paused after one approval');
    expectRefused(await release((await releaseRequest(messageFor(d1), FIVE_OPERATORS)).body), 'route-paused', 'release after one of two approvals');

    const two = await approve('bob');
    expectEqual(two.status, 200, `bob approves (${describeResponse(two)})`);
    expectEqual(two.json?.status, 'approved', 'after two approvals');
    expect(!isPaused(await status()), 'GET /v1/bridge/status no longer lists the route', await status());
    const d2 = await deposit(1000n * TKN, 'unpaused');
    const req = await releaseRequest(messageFor(d2), FIVE_OPERATORS);
    await expectReleasedAndExecute(await release(req.body), req, d2.recipient, 1000n * TKN, 'release after the unpause');
    usedUsd += 1000n;
  });

  // --- (10) confirmations ----------------------------------------------------------------------

  await checks.check('(10) a deposit with 1 of 2 confirmations is deferred (202, deposit-unconfirmed); after one more block the same request is co-signed', async () => {
    const d = await deposit(1000n * TKN, 'unconfirmed', { confirm: false });
    expectEqual(await source.blockNumber(), d.receipt.blockNumber, 'the deposit is in the head block (1 confirmation)');
    const req = await releaseRequest(messageFor(d), FIVE_OPERATORS);
    const res = await release(req.body);
    expectEqual(res.status, 202, `HTTP status of a deferred release (${describeResponse(res)})`);
    expectEqual(res.json?.status, 'deferred', 'status');
    expect(answerCodes(res.json).includes('deposit-unconfirmed'), 'reason deposit-unconfirmed', res.json);
    expect(res.json?.signature === undefined, 'no signature while deferred', res.json);
    await source.mine(1);
    await expectReleasedAndExecute(await release(req.body), req, d.recipient, 1000n * TKN, 'release after a second confirmation');
    usedUsd += 1000n;
  });

  // --- (6) the 24-hour window -------------------------------------------------------------------

  await checks.check('(6) 30,000 TKN releases are co-signed until the 100,000 USD window is full; the one crossing it is denied (limit-exceeded)', async () => {
    const step = 30000n;
    let allowed = 0;
    for (let i = 0; usedUsd + step <= WINDOW_USD; i += 1) {
      const d = await deposit(step * TKN, `window ${i}`);
      const req = await releaseRequest(messageFor(d), FIVE_OPERATORS);
      await expectReleasedAndExecute(await release(req.body), req, d.recipient, step * TKN, `30,000 TKN release ${i + 1} (window at ${usedUsd} USD before it)`);
      usedUsd += step;
      allowed += 1;
    }
    expect(allowed >= 2, 'at least two 30,000 releases fit before the window is full', { allowed, usedUsd });
    const d = await deposit(step * TKN, 'window crossing');
    const req = await releaseRequest(messageFor(d), FIVE_OPERATORS);
    expectRefused(await release(req.body), 'limit-exceeded', `30,000 TKN release with ${usedUsd} USD of ${WINDOW_USD} used`);
  });

  // --- (5) the big-transfer hold ----------------------------------------------------------------

  await checks.check('(5) a 60,000 TKN deposit\'s release is held (202 pending, decision hold, no signature)', async () => {
    const d = await deposit(60000n * TKN, 'big');
    const req = await releaseRequest(messageFor(d), FIVE_OPERATORS);
    const res = await release(req.body);
    expectEqual(res.status, 202, `HTTP status (${describeResponse(res)})`);
    expectEqual(res.json?.status, 'pending', 'status');
    expectEqual(res.json?.decision?.verdict, 'hold', 'decision.verdict');
    expect(typeof res.json?.hold?.id === 'string' && res.json.hold.id.length > 0, 'hold.id', res.json?.hold);
    expect(res.json?.signature === undefined, 'no signature while held', res.json);
    expectEqual(String(res.json?.safeTxHash).toLowerCase(), req.hash.toLowerCase(), 'safeTxHash is the Safe contract\'s');
  });

  await checks.check('the bridge server stops on SIGTERM with exit status 0', async () => {
    await server.stopGracefully();
  });

  await checks.check('the bridge log exports, verifies and replays offline: every decision reproduced from the recorded receipts, no RPC', async () => {
    const out = join(dir, 'bridge-export');
    const exported = await runCommand(env.txguard, ['log', 'export', '--config', server.configPath, '--out', out]);
    expectEqual(exported.code, 0, `txguard log export (${exported.stderr})`);
    const verified = await runCommand(env.txguard, ['log', 'verify', out]);
    expectEqual(verified.code, 0, `txguard log verify (${verified.stdout}${verified.stderr})`);
    const replayed = await runCommand(env.txguard, ['replay', out, '--json']);
    expectEqual(replayed.code, 0, `txguard replay (${replayed.stdout.slice(0, 2000)}${replayed.stderr})`);
  });

  // --- (11), (12) the source chain seen through endpoints that fail or disagree --------------------
  // Each on its own server (same policy, own database) whose second source endpoint is broken.

  /** Starts a bridge server with these source endpoints, asks it to release a fresh deposit. */
  async function releaseWithEndpoints(serverName, endpoints, label) {
    const other = await env.startServer({
      name: serverName,
      extra: { policy: 'bridge.policy.json', bridge: { rpc: { [SOURCE_CHAIN_ID]: endpoints }, timeout_ms: 5000 } },
    });
    try {
      const d = await deposit(1000n * TKN, label);
      const req = await releaseRequest(messageFor(d), FIVE_OPERATORS);
      const res = await other.call('POST', '/v1/bridge/release', { token: 'ops', body: req.body });
      await other.stopGracefully();
      return res;
    } catch (error) {
      if (other.child.exitCode === null) other.child.kill('SIGKILL');
      throw error;
    }
  }

  function expectDeferred(res, code, what) {
    expectEqual(res.status, 202, `${what}: HTTP status (${describeResponse(res)})`);
    expectEqual(res.json?.status, 'deferred', `${what}: status`);
    expect(answerCodes(res.json).includes(code), `${what}: reason ${code}`, res.json);
    expect(res.json?.signature === undefined, `${what}: no signature`, res.json);
  }

  await checks.check('(11) with one of two source endpoints unreachable, a valid release is deferred (202, source-unreachable), never signed', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    expectDeferred(await releaseWithEndpoints('bridge-unreachable', [source.url, closed], 'unreachable endpoint'), 'source-unreachable', 'one endpoint down');
  });

  await checks.check('(12) with two source endpoints that disagree (the second a chain-31338 node without the deposit), a valid release is deferred (202, source-disagree), never signed', async () => {
    const stranger = await startChain({ chainId: SOURCE_CHAIN_ID });
    try {
      expectDeferred(await releaseWithEndpoints('bridge-disagree', [source.url, stranger.url], 'disagreeing endpoints'), 'source-disagree', 'endpoints disagree');
    } finally {
      await stranger.stop();
    }
  });
}


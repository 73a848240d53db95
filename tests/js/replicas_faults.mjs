// The load and the checks of tests/deploy/replicas_faults.sh: several `txguard serve` replicas on one
// database, co-sign requests from many concurrent clients while the script kills replicas and cuts or
// restarts the database, then what the clients received is held against the exported decision log.
//
//   node replicas_faults.mjs load --ports P1,P2,P3 --token-file F --out answers.jsonl --stop-file F
//        [--clients 32] [--max-usd 100000] [--reach-after 20] [--summary F]
//     Each client takes the next Safe nonce and one scenario for it (by nonce % 10):
//       0-4 plain   one SafeTx, to replica nonce % N
//       5-6 retry   one SafeTx to one replica, then the identical body to the next one
//       7   dup     the identical body to two replicas at once
//       8-9 race    three different SafeTxs at the nonce, at once, one to each replica (once only)
//     A body answered 503 or not at all (the replica died) is sent again, identical, to the next
//     replica until it is answered 200 or 403: a retry must get the decision that was recorded. 30% of
//     the SafeTxs are sweeps to the policy's cold wallet (unlimited); the others are withdrawals to fresh
//     addresses that count against the policy's daily-usd limit, of 1 USDC up to an amount paced so
//     that the signatures received use up max-usd about reach-after seconds into the load (during
//     the faults, not at the start); after that every withdrawal races for what is left. Every answer is one JSON
//     line in --out; the load stops when --stop-file exists.
//
//   node replicas_faults.mjs check --answers answers.jsonl --export DIR --limit daily-usd --max-usd 100000
//        [--summary F]
//     Fails (exit 1, one line per problem) unless:
//       - every answer is 200, 403 (denied: nonce-already-signed or the limit), 503, or no answer
//         (a connection the killed replica dropped); never 500, 400, 429 or a hold;
//       - every signature a client received is in a decision record of the export (allow, same
//         safeTxHash, same signer), and recovers to that signer over the safeTxHash (viem) and the
//         safeTxHash is the one viem computes from the body sent;
//       - no (chain, Safe, nonce) has two different safeTxHashes signed, in the answers or in the log;
//       - identical bodies got identical signatures;
//       - the debits the log records against the limit sum to at most its maximum, and so do the
//         withdrawals the clients received signatures for; and the load did reach the limit (some
//         withdrawal was denied for it), so that the bound was tested.
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { hashTypedData, recoverAddress, getAddress } from 'viem';

const SAFE = '0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4';
const USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';
const COLD = '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc';
const ZERO = '0x0000000000000000000000000000000000000000';
const CHAIN_ID = 1;

// A small deterministic generator, so that a failing run can be told apart by its seed.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (n, bytes) => n.toString(16).padStart(bytes * 2, '0');

// The SafeTx for (nonce, variant): a USDC transfer, a sweep or a withdrawal.
export function safeTx(nonce, variant, seed, amountMax) {
  // amountMax: the largest withdrawal in USD; the body is fixed once made (a retry sends it again).
  const r = rng(seed ^ Math.imul(nonce + 1, 0x9e3779b1) ^ Math.imul(variant + 7, 0x85ebca6b));
  const sweep = r() < 0.3;
  const dest = sweep ? COLD.toLowerCase() : '0x' + hex(0xfade0000 + variant, 4) + hex(nonce, 8) + hex(Math.floor(r() * 2 ** 32), 4) + '00000000';
  const usd = sweep ? 1 + Math.floor(r() * 1000) : 1 + Math.floor(r() * amountMax);
  const amount = BigInt(usd) * 1_000_000n;
  const data = '0xa9059cbb' + dest.slice(2).padStart(64, '0') + amount.toString(16).padStart(64, '0');
  const body = {
    chainId: CHAIN_ID, safe: SAFE, to: USDC, value: '0', data, operation: 0, safeTxGas: '0', baseGas: '0',
    gasPrice: '0', gasToken: ZERO, refundReceiver: ZERO, nonce,
  };
  return { body, kind: sweep ? 'sweep' : 'withdrawal', usd };
}

export function safeTxHash(body) {
  return hashTypedData({
    domain: { chainId: body.chainId, verifyingContract: body.safe },
    types: {
      SafeTx: [
        { name: 'to', type: 'address' }, { name: 'value', type: 'uint256' }, { name: 'data', type: 'bytes' },
        { name: 'operation', type: 'uint8' }, { name: 'safeTxGas', type: 'uint256' }, { name: 'baseGas', type: 'uint256' },
        { name: 'gasPrice', type: 'uint256' }, { name: 'gasToken', type: 'address' },
        { name: 'refundReceiver', type: 'address' }, { name: 'nonce', type: 'uint256' },
      ],
    },
    primaryType: 'SafeTx',
    message: {
      to: body.to, value: BigInt(body.value), data: body.data, operation: body.operation,
      safeTxGas: BigInt(body.safeTxGas), baseGas: BigInt(body.baseGas), gasPrice: BigInt(body.gasPrice),
      gasToken: body.gasToken, refundReceiver: body.refundReceiver, nonce: BigInt(body.nonce),
    },
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function load(opts) {
  const ports = opts.ports.split(',').map(Number);
  const token = readFileSync(opts['token-file'], 'utf8').trim();
  const clients = Number(opts.clients ?? 32);
  const maxUsd = Number(opts['max-usd'] ?? 100000);
  const reachAfter = Number(opts['reach-after'] ?? 20) * 1000;
  const received = new Map();  // safeTxHash -> USD of the withdrawals signed
  let receivedUsd = 0;
  // The largest withdrawal: what is left of the limit spread over the signed withdrawals expected
  // until reach-after (at the rate seen so far), so that the limit runs out then, under the faults;
  // after that, large enough that every withdrawal races for what is left.
  const amountMax = () => {
    const left = Math.max(0, maxUsd - receivedUsd);
    const elapsed = Date.now() - started;
    // At least 20 a second: before the first answers the rate seen is no guide.
    const rate = Math.max(20, received.size / Math.max(1, elapsed / 1000));
    const expected = rate * Math.max(0, reachAfter - elapsed) / 1000;
    return Math.max(50, Math.floor(2 * left / (expected + 1)));
  };
  const seed = Number(opts.seed ?? Date.now() % 2 ** 31);
  const out = createWriteStream(opts.out);
  const started = Date.now();
  const counts = { requests: 0, status: {}, nonces: 0, scenarios: { plain: 0, retry: 0, dup: 0, race: 0 }, gaveUp: 0 };
  let nextNonce = 0;
  let stopping = false;
  const poll = setInterval(() => { if (existsSync(opts['stop-file'])) stopping = true; }, 100);

  async function post(replica, body) {
    const url = `http://127.0.0.1:${ports[replica]}/v1/safe/cosign`;
    const t = Date.now();
    try {
      const res = await fetch(url, {
        method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(20000),
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
      const text = await res.text();
      let json = null;
      try { json = JSON.parse(text); } catch { /* kept as text below */ }
      return { status: res.status, json, text: json ? undefined : text.slice(0, 200), t, ms: Date.now() - t };
    } catch (e) {
      const code = e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.name);
      return { status: 0, error: code, t, ms: Date.now() - t };
    }
  }

  // One body to one replica; the answer written as one line.
  async function send(item, replica, scenario, attempt) {
    const a = await post(replica, item.body);
    counts.requests++;
    counts.status[a.status] = (counts.status[a.status] ?? 0) + 1;
    const line = {
      id: item.id, nonce: item.body.nonce, variant: item.variant, scenario, attempt, replica, kind: item.kind,
      usd: item.usd, hash: item.hash, status: a.status, t: a.t, ms: a.ms,
    };
    if (a.error) line.error = a.error;
    if (a.json?.signature) {
      if (item.kind === 'withdrawal' && !received.has(item.hash)) {
        received.set(item.hash, item.usd);
        receivedUsd += item.usd;
      }
      line.signature = a.json.signature;
      line.answered_hash = a.json.safeTxHash;
      line.signer = a.json.signer;
      line.decision_id = a.json.decision?.id;
    }
    if (a.json?.decision?.reasons?.length) line.reasons = a.json.decision.reasons.map((x) => x.code ?? x.reason ?? x).map(String);
    if (a.json?.error) line.error = a.json.error.code;
    if (a.text !== undefined) line.text = a.text;
    out.write(JSON.stringify(line) + '\n');
    return a.status;
  }

  // Sends the identical body again, to the next replica each time, until it is answered 200 or 403.
  async function settle(item, replica, scenario, status) {
    let attempt = 1;
    while (status !== 200 && status !== 403) {
      if (status !== 0 && status !== 503) return;  // anything else is reported by the check
      if (attempt >= 200) { counts.gaveUp++; return; }
      await sleep(25 + Math.floor(Math.random() * 50));
      replica = (replica + 1) % ports.length;
      status = await send(item, replica, scenario, attempt++);
    }
  }

  const item = (nonce, variant) => {
    const tx = safeTx(nonce, variant, seed, amountMax());
    return { ...tx, variant, id: `${nonce}:${variant}`, hash: safeTxHash(tx.body) };
  };

  async function client() {
    while (!stopping) {
      const nonce = nextNonce++;
      counts.nonces++;
      const r = nonce % ports.length;
      const s = nonce % 10;
      if (s <= 4) {
        counts.scenarios.plain++;
        const it = item(nonce, 0);
        await settle(it, r, 'plain', await send(it, r, 'plain', 0));
      } else if (s <= 6) {
        counts.scenarios.retry++;
        const it = item(nonce, 0);
        await send(it, r, 'retry', 0);
        const second = (r + 1) % ports.length;
        await settle(it, second, 'retry', await send(it, second, 'retry', 0));
      } else if (s === 7) {
        counts.scenarios.dup++;
        const it = item(nonce, 0);
        const pair = [r, (r + 1) % ports.length];
        await Promise.all(pair.map(async (p) => settle(it, p, 'dup', await send(it, p, 'dup', 0))));
      } else {
        counts.scenarios.race++;
        const its = [0, 1, 2].map((v) => item(nonce, v));
        await Promise.all(its.map(async (it, v) => {
          const p = (r + v) % ports.length;
          return settle(it, p, 'race', await send(it, p, 'race', 0));
        }));
      }
    }
  }

  await Promise.all(Array.from({ length: clients }, client));
  clearInterval(poll);
  await new Promise((resolve) => out.end(resolve));
  const seconds = (Date.now() - started) / 1000;
  const summary = { ...counts, seed, seconds, per_second: Math.round(counts.requests / seconds) };
  if (opts.summary) writeFileSync(opts.summary, JSON.stringify(summary) + '\n');
  console.log(`load: ${counts.requests} requests over ${counts.nonces} nonces in ${seconds.toFixed(1)} s ` +
              `(${summary.per_second}/s, seed ${seed}): ` +
              Object.entries(counts.status).map(([k, v]) => `${k === '0' ? 'no answer' : k} ${v}`).join(', ') +
              (counts.gaveUp ? `; ${counts.gaveUp} bodies never answered 200 or 403 in 200 tries` : ''));
}

function readLines(file) {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
}

async function check(opts) {
  const answers = readLines(opts.answers);
  const records = readLines(`${opts.export}/records.jsonl`);
  const limit = opts.limit;
  const maxUnits = BigInt(opts['max-usd']) * 1_000_000n;
  const problems = [];
  const problem = (text) => { if (problems.length < 50) problems.push(text); else if (problems.length === 50) problems.push('...'); };

  // The log: decisions by signature, digests signed per (chain, Safe, nonce), debits against the limit.
  const bySignature = new Map();
  const signedAt = new Map();
  let debited = 0n;
  let allowedDecisions = 0;
  let backInTime = 0;  // records whose time is before the one before them (told, not failed)
  let previousAt = 0;
  for (const r of records) {
    if (r.at_ms < previousAt) backInTime++;
    previousAt = r.at_ms;
    if (r.kind !== 'decision') continue;
    const d = r.decision ?? {};
    if (d.verdict === 'allow') allowedDecisions++;
    for (const e of d.effects ?? []) {
      if (e.debit && e.debit.limit === limit) debited += BigInt(e.debit.amount);
    }
    if (!r.signature) continue;
    if (bySignature.has(r.signature)) problem(`the log holds signature ${r.signature} twice (records ${bySignature.get(r.signature).index} and ${r.index})`);
    bySignature.set(r.signature, r);
    const p = r.request?.payload ?? {};
    const key = `${p.chainId}/${String(p.safe).toLowerCase()}/${p.nonce}`;
    if (!signedAt.has(key)) signedAt.set(key, new Set());
    signedAt.get(key).add(r.request?.digest);
  }
  for (const [key, digests] of signedAt) {
    if (digests.size > 1) problem(`the log has ${digests.size} different SafeTxs signed at ${key}: ${[...digests].join(', ')}`);
  }
  if (debited > maxUnits) problem(`the log debits ${debited} (USDC units) against ${limit}, over its maximum ${maxUnits}`);

  // The answers.
  const counts = { answers: answers.length, status: {}, signatures: 0, limitDenials: 0 };
  const sigById = new Map();
  const hashByNonce = new Map();
  const signedWithdrawals = new Map();
  const distinct = new Map();
  let firstLimitDenial = Infinity;
  const first = answers.reduce((m, a) => Math.min(m, a.t), Infinity);
  const last = answers.reduce((m, a) => Math.max(m, a.t), 0);
  for (const a of answers) {
    counts.status[a.status] = (counts.status[a.status] ?? 0) + 1;
    if (a.status === 0 || a.status === 503) continue;
    if (a.status === 403) {
      const reasons = a.reasons ?? [];
      if (reasons.some((x) => /limit/.test(x))) {
        counts.limitDenials++;
        firstLimitDenial = Math.min(firstLimitDenial, a.t);
      }
      else if (!reasons.includes('nonce-already-signed')) problem(`${a.id} to replica ${a.replica}: 403 for ${reasons.join(',') || a.error} (not once-only or the limit)`);
      continue;
    }
    if (a.status !== 200) { problem(`${a.id} to replica ${a.replica}: status ${a.status} (${a.error ?? a.text ?? ''})`); continue; }
    counts.signatures++;
    if (!a.signature) { problem(`${a.id} to replica ${a.replica}: 200 without a signature`); continue; }
    if (a.answered_hash !== a.hash) problem(`${a.id}: answered safeTxHash ${a.answered_hash}, viem computes ${a.hash}`);
    const r = bySignature.get(a.signature);
    if (!r) problem(`${a.id} to replica ${a.replica}: signature ${a.signature} was released but no decision record holds it`);
    else {
      if (r.request?.digest !== a.hash) problem(`${a.id}: the record of its signature is for digest ${r.request?.digest}, not ${a.hash}`);
      if (r.decision?.verdict !== 'allow') problem(`${a.id}: the record of its signature has verdict ${r.decision?.verdict}`);
      if (r.signer !== a.signer) problem(`${a.id}: answered signer ${a.signer}, recorded ${r.signer}`);
    }
    if (sigById.has(a.id) && sigById.get(a.id) !== a.signature) problem(`${a.id}: identical bodies got two signatures`);
    sigById.set(a.id, a.signature);
    if (!hashByNonce.has(a.nonce)) hashByNonce.set(a.nonce, new Set());
    hashByNonce.get(a.nonce).add(a.hash);
    if (a.kind === 'withdrawal') signedWithdrawals.set(a.hash, a.usd);
    distinct.set(a.signature, a);
  }
  for (const [nonce, hashes] of hashByNonce) {
    if (hashes.size > 1) problem(`nonce ${nonce}: clients received signatures for ${hashes.size} different SafeTxs`);
  }
  let receivedUsd = 0n;
  for (const usd of signedWithdrawals.values()) receivedUsd += BigInt(usd);
  if (receivedUsd * 1_000_000n > maxUnits) problem(`clients received signatures for ${receivedUsd} USD of withdrawals, over ${opts['max-usd']}`);
  if (counts.limitDenials === 0) problem(`no withdrawal was denied for the limit: the load never reached ${limit}, so it was not tested`);

  // Every signature is over what it says: a sample recovered with viem (about 1 ms each).
  const sample = [...distinct.values()];
  const step = Math.max(1, Math.floor(sample.length / 300));
  let recovered = 0;
  for (let i = 0; i < sample.length; i += step) {
    const a = sample[i];
    const who = await recoverAddress({ hash: a.hash, signature: a.signature });
    if (getAddress(who) !== getAddress(a.signer)) problem(`${a.id}: signature recovers to ${who}, not the signer ${a.signer}`);
    recovered++;
  }

  const summary = {
    ...counts, distinct_signatures: distinct.size, records: records.length, allowed_decisions: allowedDecisions,
    signed_in_log: bySignature.size, records_back_in_time: backInTime, limit_debited_usd: Number(debited / 1_000_000n), limit_max_usd: Number(opts['max-usd']),
    withdrawals_received_usd: Number(receivedUsd), recovered, problems: problems.length,
  };
  if (opts.summary) writeFileSync(opts.summary, JSON.stringify(summary) + '\n');
  console.log(`check: ${answers.length} answers (` +
              Object.entries(counts.status).map(([k, v]) => `${k === '0' ? 'no answer' : k} ${v}`).join(', ') +
              `), ${distinct.size} distinct signatures received, all in the log of ${records.length} records ` +
              `(${backInTime} of them timed before the record before them); ` +
              `${limit}: ${summary.limit_debited_usd} of ${opts['max-usd']} USD debited, ` +
              `${counts.limitDenials} denials for it, the first ${((firstLimitDenial - first) / 1000).toFixed(1)} s into ` +
              `the ${((last - first) / 1000).toFixed(1)} s of load; ${recovered} signatures recovered with viem`);
  for (const p of problems) console.log(`FAIL: ${p}`);
  return problems.length === 0;
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: Object.fromEntries(['ports', 'token-file', 'clients', 'reach-after', 'seed', 'out', 'stop-file', 'summary',
                               'answers', 'export', 'limit', 'max-usd'].map((k) => [k, { type: 'string' }])),
});
if (positionals[0] === 'load') await load(values);
else if (positionals[0] === 'check') process.exit((await check(values)) ? 0 : 1);
else { console.error('usage: replicas_faults.mjs load|check ...'); process.exit(64); }

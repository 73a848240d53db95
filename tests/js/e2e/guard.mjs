// The txguard side of the end-to-end tests: a temporary directory with a policy for chain 31337 that
// names the deployed Safes and the guard's own EOA, bearer tokens (only their SHA-256 in the
// config), a light keystore made by `txguard keys new`, the server config, and `txguard serve`
// started on a free port and stopped with SIGTERM. Follows the contract in the issue-4 API spec
// (config file, roles, REST, holds, JSON-RPC).
//
//   const env = await createGuardEnv({txguard, chain, dir, log});
//   env.addSafe('hot-141', safe);                 // before startServer: the policy names every Safe
//   const server = await env.startServer();       // writes policy.json + main.config.json
//   const res = await server.cosign(cosignBody(safe, tx));
//   await server.stopGracefully();                // SIGTERM, expects exit status 0

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getAddress, keccak256, recoverAddress, stringToHex } from 'viem';
import { ANVIL_ACCOUNTS, ANVIL_KEYS } from './chain.mjs';
import { describeResponse, expect, expectEqual, httpCall, runCommand, sleep, spawnChild } from './util.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');

// Who is who (anvil's public test keys): the Safes' two human owners, and the three approvers the
// policy names (the same keys fixtures/golden/approvals.json uses for alice, bob and carol).
export const OWNER_A = { key: ANVIL_KEYS[7], address: ANVIL_ACCOUNTS[7].address };
export const OWNER_B = { key: ANVIL_KEYS[8], address: ANVIL_ACCOUNTS[8].address };
export const APPROVERS = {
  alice: { key: ANVIL_KEYS[1], address: ANVIL_ACCOUNTS[1].address },
  bob: { key: ANVIL_KEYS[2], address: ANVIL_ACCOUNTS[2].address },
  carol: { key: ANVIL_KEYS[3], address: ANVIL_ACCOUNTS[3].address },
};

// An address on OFAC's SDN list (Ronin bridge exploiter, Lazarus Group), present in the list file
// the policy loads, deploy/lists/ofac-sdn-eth.list.
export const SANCTIONED = getAddress('0x098b716b8aaf21512996dc57eb0615e2383e2f96');
export const OFAC_LIST_FILE = join(repoRoot, 'deploy', 'lists', 'ofac-sdn-eth.list');

// The policy's prices: ETH at 2,000 USD, TKN at 1 USD; withdrawals above 10,000 USD are held for 2 of
// alice, bob and carol.
export const ETH_USD = 2000n;
export const HOLD_ABOVE_USD = 10000n;

/** A fresh, keyless recipient address (a "customer"), distinct per label. */
export function customer(label) {
  return getAddress(`0x${keccak256(stringToHex(`txguard e2e customer ${label}`)).slice(-40)}`);
}

/** The POST /v1/safe/cosign body for a SafeTx (Safe Transaction Service field names, strings for uint256). */
export function cosignBody(safe, tx, extra = {}) {
  return {
    chainId: 31337,
    safe: safe.address,
    to: tx.to,
    value: tx.value.toString(),
    data: tx.data,
    operation: tx.operation,
    safeTxGas: tx.safeTxGas.toString(),
    baseGas: tx.baseGas.toString(),
    gasPrice: tx.gasPrice.toString(),
    gasToken: tx.gasToken,
    refundReceiver: tx.refundReceiver,
    nonce: Number(tx.nonce),
    ...extra,
  };
}

const sha256Hex = (text) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Creates the temporary environment: passphrase file, keystore (txguard keys new --light), tokens,
 * and the policy skeleton. Returns env (see the file comment).
 */
export async function createGuardEnv({ txguard, chain, dir, log = () => {} }) {
  const passphraseFile = join(dir, 'pw.txt');
  writeFileSync(passphraseFile, `e2e passphrase ${randomBytes(8).toString('hex')}\n`, { mode: 0o600 });
  const keystoreFile = join(dir, 'guard.keystore.json');
  const made = await runCommand(txguard, ['keys', 'new', '--out', keystoreFile, '--light', '--passphrase-file', passphraseFile]);
  if (made.code !== 0) throw new Error(`txguard keys new exited ${made.code}: ${made.stderr}`);
  const found = made.stdout.match(/0x[0-9a-fA-F]{40}/);
  if (!found) throw new Error(`txguard keys new printed no address: ${made.stdout}`);
  const guardAddress = getAddress(found[0]);
  log(`guard: key ${guardAddress} in ${keystoreFile}`);
  // The decision log's own key: it signs the tree heads (never the co-signing key).
  const logKeyFile = join(dir, 'log.keystore.json');
  const logKey = await runCommand(txguard, ['keys', 'new', '--out', logKeyFile, '--light', '--passphrase-file', passphraseFile]);
  if (logKey.code !== 0) throw new Error(`txguard keys new (log key) exited ${logKey.code}: ${logKey.stderr}`);

  // Bearer tokens, one per client; the config stores only SHA-256(token) in hex.
  const clientRoles = { ops: 'requester', alice: 'approver', bob: 'approver', carol: 'approver', audit: 'auditor', root: 'admin' };
  const tokens = {};
  for (const name of Object.keys(clientRoles)) tokens[name] = `tg_${name}_${randomBytes(24).toString('hex')}`;
  // Each approver client is bound to the policy approver of its name: an approval counts only from it.
  const clients = Object.entries(clientRoles).map(([name, role]) =>
    ({ name, token_sha256: sha256Hex(tokens[name]), role, ...(role === 'approver' ? { approver: name } : {}) }));

  const wallets = {
    'guard-eoa': { chain: 'anvil', address: guardAddress, kind: 'account' },
  };

  function policyDocument() {
    return {
      txguard_policy: 1,
      name: 'e2e-anvil',
      chains: { anvil: { id: 31337 } },
      assets: {
        ETH: { chain: 'anvil', native: true, decimals: 18 },
        TKN: { chain: 'anvil', address: chain.token.address, decimals: chain.token.decimals },
      },
      prices: { fixed: { ETH: ETH_USD.toString(), TKN: '1' } },
      lists: {
        'ofac-sanctioned': { file: OFAC_LIST_FILE },
        'e2e-blocked': { addresses: [SANCTIONED] },
      },
      approvers: Object.fromEntries(Object.entries(APPROVERS).map(([name, a]) => [name, { address: a.address }])),
      wallets,
      rules: [
        { id: 'deny-sanctioned', match: { any_address: ['ofac-sanctioned', 'e2e-blocked'] }, effect: 'deny', reason: 'sanctioned-address' },
        { id: 'large-withdrawal', match: { leg: 'transfer', asset: ['ETH', 'TKN'], usd: { '>': HOLD_ABOVE_USD.toString() } },
          effect: 'hold', hold: { approvers: ['alice', 'bob', 'carol'], quorum: 2, expires: '1h' } },
        { id: 'withdrawal', match: { leg: 'transfer', asset: ['ETH', 'TKN'] }, effect: 'allow' },
        // The guard's own transactions pay for gas: a fee leg, judged and counted like ETH sent.
        { id: 'gas', match: { leg: 'fee', asset: 'ETH' }, effect: 'allow' },
      ],
    };
  }

  function writeConfig(name, { tls, extra = {} } = {}) {
    const config = {
      listen: '127.0.0.1:0',
      port_file: `${name}.port`,
      clients,
      policy: 'policy.json',
      ...databaseOf(name),
      keystore: { file: 'guard.keystore.json', passphrase_file: 'pw.txt' },
      decision_log: { key: { file: 'log.keystore.json', passphrase_file: 'pw.txt' } },
      upstream: { 31337: chain.url },
      limits: { max_body_bytes: 1048576, max_connections: 1024, requests_per_second: 1000, header_timeout_ms: 10000, request_timeout_ms: 30000 },
      log: { level: 'info' },
      ...(tls ? { tls } : {}),
      ...extra,
    };
    const path = join(dir, `${name}.config.json`);
    writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
    return path;
  }

  // The server's database: a SQLite file, or under TXGUARD_E2E_POSTGRES (the e2e-pg/ tests) a fresh
  // database on the test PostgreSQL server, its password passed in an environment variable that every
  // child (txguard serve, txguard log export --config) inherits.
  const created = new Map();
  function databaseOf(name) {
    const described = process.env.TXGUARD_E2E_POSTGRES;
    if (!described) return { database: `${name}.db` };
    const server = Object.fromEntries(readFileSync(described, 'utf8').split('\n').filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    if (!created.has(name)) {
      const db = `e2e_${process.pid}_${name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(3).toString('hex')}`;
      execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', server.port, '-U', server.user,
        '-d', 'postgres', '-c', `CREATE DATABASE ${db}`], { env: { ...process.env, PGPASSWORD: server.password }, stdio: 'pipe' });
      created.set(name, `postgresql://${server.user}@127.0.0.1:${server.port}/${db}`);
      process.env.TXGUARD_E2E_DB_PASSWORD = server.password;
    }
    return { database: created.get(name), database_password_env: 'TXGUARD_E2E_DB_PASSWORD' };
  }

  const servers = [];

  /** Starts `txguard serve --config` and waits for its "listening on" line. */
  async function launch(name, configPath, tlsClient) {
    const logPath = join(dir, `${name}.log`);
    const child = spawnChild(txguard, ['serve', '--config', configPath], { cwd: dir });
    const deadline = Date.now() + 20000;
    let url;
    for (;;) {
      const m = child.stderrText.match(/txguard: listening on (https?:\/\/[^\s]+)/);
      if (m) { url = m[1].replace(/\/$/, ''); break; }
      if (child.exitCode !== null) {
        writeFileSync(logPath, child.stderrText);
        throw new Error(`txguard serve (${name}) exited ${child.exitCode} before listening:\n${child.stderrText}`);
      }
      if (Date.now() > deadline) throw new Error(`txguard serve (${name}) printed no "listening on" line in 20 s:\n${child.stderrText}`);
      await sleep(20);
    }
    const server = makeServer({ name, configPath, child, url, logPath, tlsClient });
    servers.push(server);
    log(`guard: ${name} server at ${url}`);
    return server;
  }

  function makeServer({ name, configPath, child, url, logPath, tlsClient }) {
    const server = {
      name, configPath, child, url, logPath,

      /** One HTTP request; token: a client name, null (no header) or {raw: 'string'}. */
      call(method, path, { token = 'ops', body, headers = {}, tls = tlsClient } = {}) {
        const h = { ...headers };
        if (token !== null) h.authorization = `Bearer ${typeof token === 'string' ? tokens[token] : token.raw}`;
        return httpCall({ method, url: `${server.url}${path}`, headers: h, body, tls });
      },
      cosign: (body, token = 'ops') => server.call('POST', '/v1/safe/cosign', { token, body }),
      evaluate: (request, token = 'ops') => server.call('POST', '/v1/evaluate', { token, body: { request } }),
      /** A JSON-RPC 2.0 call on /rpc; resolves the HTTP response (json is the JSON-RPC envelope). */
      rpc: (method, params = [], token = 'ops') =>
        server.call('POST', '/rpc', { token, body: { jsonrpc: '2.0', id: 1, method, params } }),

      /** SIGTERM; resolves when it exited with status 0, rejects (with its log) otherwise. */
      async stopGracefully(timeoutMs = 10000) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        const { code, signal } = await child.exited;
        clearTimeout(timer);
        writeFileSync(logPath, child.stderrText);
        if (code !== 0) throw new Error(`txguard serve (${name}) ended with ${signal ? `signal ${signal}` : `exit status ${code}`} after SIGTERM; log: ${logPath}`);
      },

      /** Stops it gracefully and starts it again on the same config (same database and key). */
      async restart() {
        await server.stopGracefully();
        const again = await launch(name, configPath, tlsClient);
        Object.assign(server, { child: again.child, url: again.url });
        servers.splice(servers.indexOf(again), 1);
        return server;
      },
    };
    return server;
  }

  const env = {
    dir, txguard, guardAddress, keystoreFile, passphraseFile, tokens, clients, servers,

    /** Names a Safe in the policy (kind "safe", its version pinned). */
    addSafe(name, safe) {
      wallets[name] = { chain: 'anvil', address: safe.address, kind: 'safe', safe_version: safe.version };
    },

    policyDocument,
    writeConfig,

    /** Writes policy.json, checks it with `txguard policy check`, writes the config, starts serve. */
    async startServer({ name = 'main', tls, tlsClient, extra } = {}) {
      const policyPath = join(dir, 'policy.json');
      writeFileSync(policyPath, `${JSON.stringify(policyDocument(), null, 2)}\n`);
      const checked = await runCommand(txguard, ['policy', 'check', policyPath]);
      if (checked.code !== 0) throw new Error(`txguard policy check refused the e2e policy (${checked.code}):\n${checked.stdout}${checked.stderr}`);
      return launch(name, writeConfig(name, { tls, extra }), tlsClient);
    },

    /** Kills whatever is still running (after a failure); the logs are written next to the configs. */
    async stopAll() {
      for (const s of servers) {
        if (s.child.exitCode === null && s.child.signalCode === null) {
          s.child.kill('SIGKILL');
          await s.child.exited;
          writeFileSync(s.logPath, s.child.stderrText);
        }
      }
    },
  };
  return env;
}

/** Reason codes of a decision ([] if none). */
export function reasonCodes(decision) {
  return (decision?.reasons ?? []).map((r) => r.code);
}

/**
 * A cosign answer that releases a signature: 200, decision allow (or `verdict`: a released hold
 * answers with its hold decision), safeTxHash equal to the Safe
 * contract's own hash, signer the guard, a 65-byte r || s || v (v 27/28) that recovers to the guard
 * over the raw safeTxHash. Resolves {signer, signature} ready for execSafeTx.
 */
export async function expectCosigned(res, { hash, guardAddress, what = 'cosign', verdict = 'allow' }) {
  expect(res.status === 200, `${what}: expected 200 with a signature`, describeResponse(res));
  const body = res.json ?? {};
  expectEqual(body.decision?.verdict, verdict, `${what}: decision.verdict`);
  expectEqual(String(body.safeTxHash).toLowerCase(), hash.toLowerCase(), `${what}: safeTxHash equals the Safe contract's getTransactionHash`);
  expect(/^0x[0-9a-fA-F]{130}$/.test(body.signature ?? ''), `${what}: signature is 0x + 130 hex digits`, body.signature);
  const v = Number.parseInt(body.signature.slice(130, 132), 16);
  expect(v === 27 || v === 28, `${what}: v is 27 or 28`, v);
  expectEqual(getAddress(body.signer ?? '0x0000000000000000000000000000000000000000'), guardAddress, `${what}: signer is the guard's key`);
  expectEqual(await recoverAddress({ hash, signature: body.signature }), guardAddress, `${what}: signature recovers to the guard over the raw safeTxHash`);
  return { signer: guardAddress, signature: body.signature };
}

/** A cosign (or evaluate) refusal: 403, error.code "denied", decision deny with reason `code`, no signature. */
export function expectDenied(res, code, what = 'cosign') {
  expect(res.status === 403, `${what}: expected 403 denied (reason ${code})`, describeResponse(res));
  expectEqual(res.json?.error?.code, 'denied', `${what}: error.code`);
  expectEqual(res.json?.decision?.verdict, 'deny', `${what}: decision.verdict`);
  expect(reasonCodes(res.json?.decision).includes(code), `${what}: decision.reasons include ${code}`, res.json?.decision?.reasons);
  expect(res.json.signature === undefined, `${what}: no signature in a denial`, res.json.signature);
  expect(typeof res.json.decision?.id === 'string' && res.json.decision.id.length > 0, `${what}: the denial has a decision id`, res.json.decision);
}

export { describeResponse };

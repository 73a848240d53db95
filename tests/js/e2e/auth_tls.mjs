// Who may talk to txguard: bearer tokens and roles on the plain server (none or a wrong token ->
// 401, a token of the wrong role -> 403, health without a token), `txguard token new`, malformed
// requests (400 naming the JSON path), and a second server with TLS and required client
// certificates (CA, server and client certificates made with the openssl command line): a client
// with a certificate from the CA is served, one without a certificate or with a certificate from
// another CA is refused.

import { X509Certificate, createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEther } from 'viem';
import { signHash } from './chain.mjs';
import { OWNER_A, OWNER_B, SANCTIONED, cosignBody, customer, expectCosigned } from './guard.mjs';
import { describeResponse, expect, expectEqual, httpCall, runCommand } from './util.mjs';

export const name = 'auth';
export const needsGuard = true;

let safe;

export async function prepare({ chain, env }) {
  safe = await chain.createSafe({ version: '1.4.1', owners: [OWNER_A.address, OWNER_B.address, env.guardAddress], threshold: 2, fundEth: parseEther('5') });
  env.addSafe('auth-tls', safe);
}

async function openssl(args, cwd) {
  const r = await runCommand('openssl', args, { cwd });
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
}

/** A P-256 key and a certificate for it signed by caName (or self-signed CA when caName is null). */
async function makeCert(dir, nameStem, subject, { ca, extensions }) {
  if (!ca) {
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', `${nameStem}.key`, '-out', `${nameStem}.crt`, '-days', '2', '-subj', subject,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
    return;
  }
  writeFileSync(join(dir, `${nameStem}.ext`), `${extensions.join('\n')}\n`);
  await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${nameStem}.key`, '-out', `${nameStem}.csr`, '-subj', subject], dir);
  await openssl(['x509', '-req', '-in', `${nameStem}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-set_serial',
    `0x${createHash('sha256').update(nameStem).digest('hex').slice(0, 16)}`, '-days', '2', '-out', `${nameStem}.crt`,
    '-extfile', `${nameStem}.ext`], dir);
}

export async function run({ chain, env, server }, checks) {
  checks.prefix = 'auth';

  await checks.check('port_file holds the port of the "listening on" line', async () => {
    const port = readFileSync(join(env.dir, 'main.port'), 'utf8').trim();
    expectEqual(port, new URL(server.url).port, 'main.port');
  });

  await checks.check('/healthz and /readyz answer 200 without a token', async () => {
    const health = await server.call('GET', '/healthz', { token: null });
    expectEqual(health.status, 200, `/healthz (${describeResponse(health)})`);
    expectEqual(health.json?.status, 'ok', '/healthz body');
    const ready = await server.call('GET', '/readyz', { token: null });
    expectEqual(ready.status, 200, `/readyz (${describeResponse(ready)})`);
  });

  const someTx = async () => cosignBody(safe, await chain.buildSafeTx(safe, { to: customer('auth'), value: 1n }));

  await checks.check('cosign without a token: 401 unauthenticated', async () => {
    const res = await server.call('POST', '/v1/safe/cosign', { token: null, body: await someTx() });
    expectEqual(res.status, 401, `status (${describeResponse(res)})`);
    expectEqual(res.json?.error?.code, 'unauthenticated', 'error.code');
  });

  await checks.check('cosign with a wrong token: 401 unauthenticated', async () => {
    const res = await server.call('POST', '/v1/safe/cosign', { token: { raw: `${env.tokens.ops}x` }, body: await someTx() });
    expectEqual(res.status, 401, `status (${describeResponse(res)})`);
    expectEqual(res.json?.error?.code, 'unauthenticated', 'error.code');
  });

  await checks.check('cosign with an approver\'s token: 403 forbidden', async () => {
    const res = await server.call('POST', '/v1/safe/cosign', { token: 'alice', body: await someTx() });
    expectEqual(res.status, 403, `status (${describeResponse(res)})`);
    expectEqual(res.json?.error?.code, 'forbidden', 'error.code');
  });

  await checks.check('decisions: a denial is in the log for the auditor (by id and by paging with after/next), not for a requester', async () => {
    const denied = await server.cosign(cosignBody(safe, await chain.buildSafeTx(safe, { to: SANCTIONED, value: 1n })));
    expectEqual(denied.status, 403, `a denied cosign to look up (${describeResponse(denied)})`);
    const id = denied.json?.decision?.id;
    expect(typeof id === 'string', 'the denial names its decision', denied.json);
    const asOps = await server.call('GET', '/v1/decisions?limit=5', { token: 'ops' });
    expectEqual(asOps.status, 403, `GET /v1/decisions as requester (${describeResponse(asOps)})`);
    const one = await server.call('GET', `/v1/decisions/${encodeURIComponent(id)}`, { token: 'audit' });
    expectEqual(one.status, 200, `GET /v1/decisions/{id} as auditor (${describeResponse(one)})`);
    expect(one.text.includes(id), 'the record names its id', one.text.slice(0, 300));
    const seen = [];
    let after = 0;
    for (let page = 0; page < 100 && !seen.includes(id); page += 1) {
      const res = await server.call('GET', `/v1/decisions?from=${encodeURIComponent(after)}&limit=2`, { token: 'audit' });
      expectEqual(res.status, 200, `GET /v1/decisions?from=${after}&limit=2 (${describeResponse(res)})`);
      const ids = (res.json?.decisions ?? []).map((d) => d.id);
      expect(ids.length <= 2, 'limit=2 is respected', ids);
      expect(ids.every((x) => !seen.includes(x)), 'pages do not repeat decisions', { seen, ids });
      seen.push(...ids);
      if (ids.length === 0) break;
      expect(res.json.next !== undefined && String(res.json.next) !== String(after), 'each page names a new "next"', res.json.next);
      after = res.json.next;
    }
    expect(seen.includes(id), 'paging from the start reaches the denial', seen);
  });

  await checks.check('/metrics: 403 for a requester, Prometheus text for the auditor', async () => {
    const metricsOps = await server.call('GET', '/metrics', { token: 'ops' });
    expectEqual(metricsOps.status, 403, `/metrics as requester (${describeResponse(metricsOps)})`);
    const metrics = await server.call('GET', '/metrics', { token: 'audit' });
    expectEqual(metrics.status, 200, `/metrics as auditor (${describeResponse(metrics)})`);
    expect(/^# (HELP|TYPE) txguard_/m.test(metrics.text), 'Prometheus text with txguard_ metrics', metrics.text.slice(0, 200));
  });

  await checks.check('malformed JSON and a missing field: 400 bad-request naming the JSON path', async () => {
    const broken = await server.call('POST', '/v1/safe/cosign', { body: '{"chainId": 31337,' });
    expectEqual(broken.status, 400, `malformed JSON (${describeResponse(broken)})`);
    expectEqual(broken.json?.error?.code, 'bad-request', 'error.code for malformed JSON');
    const { to: _omitted, ...noTo } = await someTx();
    const missing = await server.call('POST', '/v1/safe/cosign', { body: noTo });
    expectEqual(missing.status, 400, `missing "to" (${describeResponse(missing)})`);
    expectEqual(missing.json?.error?.code, 'bad-request', 'error.code for a missing field');
    expect(/\bto\b/.test(missing.json?.error?.message ?? ''), 'the message names the missing field', missing.json?.error?.message);
  });

  await checks.check('a body above limits.max_body_bytes is 413; an unknown path is 404 not-found', async () => {
    const big = await server.call('POST', '/v1/evaluate', { body: JSON.stringify({ request: `0x${'00'.repeat(600 * 1024)}` }) });
    expectEqual(big.status, 413, `1.2 MB body with max_body_bytes 1 MiB (${describeResponse(big)})`);
    const nowhere = await server.call('GET', '/v1/no-such-endpoint', { token: 'root' });
    expectEqual(nowhere.status, 404, `unknown path (${describeResponse(nowhere)})`);
    expectEqual(nowhere.json?.error?.code, 'not-found', 'error.code');
  });

  await checks.check('txguard token new prints a token and its SHA-256', async () => {
    const r = await runCommand(env.txguard, ['token', 'new']);
    expectEqual(r.code, 0, `exit status (${r.stderr})`);
    const token = r.stdout.match(/^token: (\S+)$/m)?.[1];
    const sha = r.stdout.match(/^sha256: ([0-9a-f]{64})$/m)?.[1];
    expect(token && sha, 'two lines "token: ..." and "sha256: <64 hex>"', r.stdout);
    expectEqual(sha, createHash('sha256').update(token, 'utf8').digest('hex'), 'sha256 is SHA-256 of the token');
  });

  // 40 requests at once by one client against a server limited to 1 request/second.
  const flood = async (limits) => {
    const slow = await env.startServer({
      name: `ratelimited-${limits.burst ?? 'default'}`,
      extra: { limits: { max_body_bytes: 1048576, max_connections: 1024, header_timeout_ms: 10000, request_timeout_ms: 30000, ...limits } },
    });
    try {
      const answers = await Promise.all(Array.from({ length: 40 }, () => slow.call('GET', '/v1/holds', { token: 'ops' })));
      const other = await slow.call('GET', '/v1/holds', { token: 'alice' });
      return { answers, statuses: answers.map((a) => a.status), other };
    } finally {
      await slow.stopGracefully();
    }
  };

  await checks.check('limits.requests_per_second 1 with burst 5: a flooding client gets 429 rate-limited, another client is still served', async () => {
    const { answers, statuses, other } = await flood({ requests_per_second: 1, burst: 5 });
    const served = statuses.filter((x) => x === 200).length;
    // The burst of 5, plus at most a couple refilled at 1/s if the machine is slow.
    expect(served >= 5 && served <= 7, 'the burst is served, little more', statuses);
    const limited = answers.filter((a) => a.status === 429);
    expectEqual(limited.length, 40 - served, 'the rest is refused with 429');
    expectEqual(limited[0].json?.error?.code, 'rate-limited', 'error.code');
    expectEqual(other.status, 200, `another client meanwhile (${describeResponse(other)})`);
  });

  await checks.check('limits.requests_per_second 1 (no burst given, as in the API contract): 40 requests at once are not all served', async () => {
    const { statuses } = await flood({ requests_per_second: 1 });
    expect(statuses.includes(429), 'a server limited to 1 request/second refuses some of 40 simultaneous requests', statuses);
  });

  // ---- TLS with required client certificates ----
  const tlsDir = join(env.dir, 'tls');
  mkdirSync(tlsDir, { recursive: true });
  const made = await checks.check('openssl makes a CA, a server certificate (127.0.0.1) and client certificates', async () => {
    await makeCert(tlsDir, 'ca', '/CN=txguard e2e CA', {});
    await makeCert(tlsDir, 'server', '/CN=127.0.0.1', { ca: 'ca', extensions: ['basicConstraints=CA:FALSE', 'subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth'] });
    await makeCert(tlsDir, 'client', '/CN=ops', { ca: 'ca', extensions: ['basicConstraints=CA:FALSE', 'extendedKeyUsage=clientAuth'] });
    await makeCert(tlsDir, 'client-audit', '/CN=audit', { ca: 'ca', extensions: ['basicConstraints=CA:FALSE', 'extendedKeyUsage=clientAuth'] });
    await makeCert(tlsDir, 'rogue-ca', '/CN=some other CA', {});
    await makeCert(tlsDir, 'rogue-client', '/CN=ops', { ca: 'rogue-ca', extensions: ['basicConstraints=CA:FALSE', 'extendedKeyUsage=clientAuth'] });
    return true;
  });
  if (!made) { checks.prefix = ''; return; }
  const read = (f) => readFileSync(join(tlsDir, f));
  const ca = read('ca.crt');
  const withCert = { ca, cert: read('client.crt'), key: read('client.key') };

  // With required client certificates every client names its own (cert_sha256); ops and audit are used here.
  const bound = (name, crt) => ({ ...env.clients.find((c) => c.name === name), cert_sha256: new X509Certificate(read(crt)).fingerprint256 });
  const withAuditCert = { ca, cert: read('client-audit.crt'), key: read('client-audit.key') };
  const tlsServer = await checks.check('a server with tls + client_ca + require_client_cert starts on https', async () => {
    const s = await env.startServer({
      name: 'tls',
      tls: { cert: 'tls/server.crt', key: 'tls/server.key', client_ca: 'tls/ca.crt', require_client_cert: true },
      tlsClient: withCert,
      extra: { clients: [bound('ops', 'client.crt'), bound('audit', 'client-audit.crt')] },
    });
    expect(s.url.startsWith('https://127.0.0.1:'), 'the listening line names https://127.0.0.1:PORT', s.url);
    return s;
  });
  if (!tlsServer) { checks.prefix = ''; return; }

  await checks.check('https with the client certificate: /healthz 200, and an allowed cosign executes', async () => {
    const health = await tlsServer.call('GET', '/healthz', { token: null });
    expectEqual(health.status, 200, `/healthz over mTLS (${describeResponse(health)})`);
    const tx = await chain.buildSafeTx(safe, { to: customer('over mtls'), value: parseEther('0.05') });
    const hash = await chain.safeTxHash(safe, tx);
    const sig = await expectCosigned(await tlsServer.cosign(cosignBody(safe, tx)), { hash, guardAddress: env.guardAddress, what: 'cosign over mTLS' });
    await chain.execSafeTx(safe, tx, [await signHash(OWNER_B.key, hash), sig]);
  });

  await checks.check('a token presented with another client\'s certificate is refused 401; each token works with its own', async () => {
    const own = await tlsServer.call('GET', '/v1/decisions?limit=1', { token: 'audit', tls: withAuditCert });
    expectEqual(own.status, 200, `audit's token with audit's certificate (${describeResponse(own)})`);
    const opsOverAudit = await tlsServer.call('GET', '/v1/holds', { token: 'ops', tls: withAuditCert });
    expectEqual(opsOverAudit.status, 401, `ops's token with audit's certificate (${describeResponse(opsOverAudit)})`);
    const auditOverOps = await tlsServer.call('GET', '/v1/decisions?limit=1', { token: 'audit' });
    expectEqual(auditOverOps.status, 401, `audit's token with ops's certificate (${describeResponse(auditOverOps)})`);
  });

  const refused = async (tls, what) => {
    let outcome;
    try {
      const res = await httpCall({ url: `${tlsServer.url}/healthz`, tls, timeoutMs: 5000 });
      outcome = `answered ${describeResponse(res)}`;
    } catch (error) {
      return error;
    }
    throw new Error(`${what}: expected the TLS connection to be refused, but the server ${outcome}`);
  };

  await checks.check('https without a client certificate is refused', async () => {
    await refused({ ca }, 'no client certificate');
  });

  await checks.check('https with a client certificate from another CA is refused', async () => {
    await refused({ ca, cert: read('rogue-client.crt'), key: read('rogue-client.key') }, 'client certificate from another CA');
  });

  await checks.check('plain http to the TLS port gets no HTTP answer', async () => {
    let status;
    try {
      status = (await httpCall({ url: `${tlsServer.url.replace('https:', 'http:')}/healthz`, timeoutMs: 5000 })).status;
    } catch { status = 'refused'; }
    expect(status === 'refused' || status >= 400, 'plain HTTP is not served on the TLS port', status);
  });

  await checks.check('the TLS server stops on SIGTERM with exit status 0', async () => {
    await tlsServer.stopGracefully();
  });
  checks.prefix = '';
}

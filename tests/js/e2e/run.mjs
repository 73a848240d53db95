#!/usr/bin/env node
// End-to-end tests of `txguard serve` on a real chain: anvil with the canonical Safe 1.4.1 and 1.3.0
// contracts, txguard as one owner of 2-of-3 Safes, driven over its REST and JSON-RPC APIs by viem,
// protocol-kit and plain HTTP.
//
//   node run.mjs [--txguard PATH] [--only NAME[,NAME...]] [--keep]
//
// NAME: chain (the harness's own self-check, no txguard needed), bridge-chain (the bridge test's
// source chain and deposit contract, no txguard needed), safe, protocol-kit, rpc, holds, once, auth,
// bridge. Default: all. --keep leaves the temporary directory (config, policy, keystore,
// database, server log) in place; it is always kept when a check fails. Exit status: 0 when every
// check passed, 1 otherwise, 64 on a usage error.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Checks } from './util.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const nodeModules = join(here, '..', 'node_modules');

const SCENARIOS = {
  chain: './chain_selfcheck.mjs',
  'bridge-chain': './bridge_chain.mjs',
  safe: './safe_cosign.mjs',
  'protocol-kit': './protocol_kit.mjs',
  rpc: './rpc_wallet.mjs',
  holds: './holds.mjs',
  once: './once_only.mjs',
  auth: './auth_tls.mjs',
  bridge: './bridge.mjs',
};

function usage(message) {
  if (message) process.stderr.write(`run.mjs: ${message}\n`);
  process.stderr.write(`usage: node run.mjs [--txguard PATH] [--only ${Object.keys(SCENARIOS).join('|')}[,...]] [--keep]\n`);
  process.exit(64);
}

const args = process.argv.slice(2);
let txguard;
let only = Object.keys(SCENARIOS);
let keep = false;
for (let i = 0; i < args.length; i += 1) {
  if (args[i] === '--txguard' && i + 1 < args.length) txguard = args[++i];
  else if (args[i] === '--only' && i + 1 < args.length) only = args[++i].split(',').filter(Boolean);
  else if (args[i] === '--keep') keep = true;
  else usage(`unknown argument ${args[i]}`);
}
for (const name of only) if (!SCENARIOS[name]) usage(`unknown scenario ${name}`);

// A missing toolchain is a failure, not a skip: these tests are the only proof that real Safes
// accept txguard's signatures.
const required = ['viem/package.json', '@foundry-rs/anvil-linux-amd64/bin/anvil', '@safe-global/protocol-kit/package.json',
  '@safe-global/safe-contracts/package.json', '@gnosis.pm/safe-contracts/package.json', '@openzeppelin/contracts/package.json'];
const missing = required.filter((p) => !existsSync(join(nodeModules, p)));
if (missing.length > 0) {
  process.stderr.write(`e2e: FAILED: tests/js/node_modules is missing ${missing.join(', ')}.\n` +
    '     Run deploy/setup.sh --test (it runs npm ci in tests/js from the lockfile), then rerun.\n');
  process.exit(1);
}

const started = Date.now();
const log = (line) => process.stdout.write(`# ${line}\n`);
const checks = new Checks();
const modules = [];
for (const name of only) modules.push({ name, module: await import(SCENARIOS[name]) });
const needsGuard = modules.some((m) => m.module.needsGuard);
if (needsGuard && !txguard) usage('--txguard PATH is needed for the scenarios that talk to txguard');

const { startChain } = await import('./chain.mjs');
const dir = mkdtempSync(join(tmpdir(), 'txguard-e2e-'));
let chain;
let env;
let exitCode = 1;
try {
  chain = await startChain({ log });
  const ctx = { chain, dir, log, txguard };
  if (needsGuard) {
    const { createGuardEnv } = await import('./guard.mjs');
    env = await createGuardEnv({ txguard, chain, dir, log });
    ctx.env = env;
    for (const { module } of modules) if (module.prepare) await module.prepare(ctx);
    ctx.server = await env.startServer();
  }
  for (const { name, module } of modules) {
    log(`scenario ${name}`);
    checks.prefix = '';
    await module.run(ctx, checks);
  }
  if (ctx.server) {
    checks.prefix = '';
    await checks.check('txguard serve stops on SIGTERM with exit status 0', async () => {
      await ctx.server.stopGracefully();
    });
  }
  exitCode = checks.failed.length === 0 ? 0 : 1;
} catch (error) {
  process.stdout.write(`FAILED harness: ${error?.stack ?? error}\n`);
  if (env?.servers) for (const s of env.servers) if (s.child.stderrText) process.stdout.write(`# server log ${s.logPath}\n`);
} finally {
  if (env) await env.stopAll();
  if (chain) await chain.stop();
}

const seconds = ((Date.now() - started) / 1000).toFixed(1);
process.stdout.write(`\n${checks.passed} passed, ${checks.failed.length} failed, ${seconds} s\n`);
for (const f of checks.failed) process.stdout.write(`  failed: ${f.name}\n`);
if (exitCode === 0 && !keep) rmSync(dir, { recursive: true, force: true });
else process.stdout.write(`temporary directory kept: ${dir}\n`);
process.exit(exitCode);

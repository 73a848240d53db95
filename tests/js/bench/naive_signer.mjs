#!/usr/bin/env node
// The peer reference of txguard_bench_server (bench/server_bench.cpp): the Safe co-signer a team
// would write in an afternoon instead of running txguard. Node's http module and ethers (the version
// pinned in tests/js/package.json), one primary and N worker processes (node:cluster, default 2, the
// primary hands the connections round-robin to the workers). For every POST a worker parses the JSON
// body, builds the Safe transaction's EIP-712 typed data (domain {chainId, verifyingContract: safe},
// the SafeTx type of Safe >= 1.3.0, so the same safeTxHash as txguard's /v1/safe/cosign for the demo
// policy's Safe 1.4.1), lets ethers encode, hash and sign it (Wallet.signTypedData) and answers
// {"signature": "0x" r s v}.
//
// What it is NOT: a co-signer. No policy, no lists, no once-only claim per nonce, no limits, no
// decision log, no database, no fsync, no authentication, no body limit; a malformed body gets a
// 400 with ethers' message. It exists only to be measured next to `txguard serve`; never expose it.
//
//   node naive_signer.mjs <port file> <key file (0x + 64 hex digits)> [workers = 2]
//
// Listens on 127.0.0.1 on a free port (all workers share it) and writes that port to <port file>
// once every worker accepts. SIGTERM to the primary stops the workers and the primary.

import cluster from 'node:cluster';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { Wallet } from 'ethers';

const [portFile, keyFile, workersArg] = process.argv.slice(2);
if (!portFile || !keyFile) {
  console.error('usage: node naive_signer.mjs <port file> <key file> [workers]');
  process.exit(2);
}
const workers = Math.max(1, Number.parseInt(workersArg ?? '2', 10) || 2);

const SAFE_TX_TYPES = {
  SafeTx: [
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'data', type: 'bytes' },
    { name: 'operation', type: 'uint8' },
    { name: 'safeTxGas', type: 'uint256' },
    { name: 'baseGas', type: 'uint256' },
    { name: 'gasPrice', type: 'uint256' },
    { name: 'gasToken', type: 'address' },
    { name: 'refundReceiver', type: 'address' },
    { name: 'nonce', type: 'uint256' },
  ],
};

if (cluster.isPrimary) {
  let listening = 0;
  let port = 0;
  for (let i = 0; i < workers; ++i) {
    const worker = cluster.fork();
    worker.on('message', (m) => {
      if (m?.port === undefined) return;
      port = m.port;
      if (++listening === workers) {
        writeFileSync(`${portFile}.partial`, `${port}\n`);
        renameSync(`${portFile}.partial`, portFile);
      }
    });
  }
  cluster.on('exit', (worker, code) => {
    if (listening < workers) {
      console.error(`naive_signer: worker ${worker.process.pid} exited (${code}) before listening`);
      process.exit(1);
    }
  });
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const wallet = new Wallet(readFileSync(keyFile, 'utf8').trim());
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const tx = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const domain = { chainId: tx.chainId, verifyingContract: tx.safe };
        const message = {
          to: tx.to,
          value: tx.value,
          data: tx.data ?? '0x',
          operation: tx.operation,
          safeTxGas: tx.safeTxGas,
          baseGas: tx.baseGas,
          gasPrice: tx.gasPrice,
          gasToken: tx.gasToken,
          refundReceiver: tx.refundReceiver,
          nonce: tx.nonce,
        };
        const signature = await wallet.signTypedData(domain, SAFE_TX_TYPES, message);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ signature }));
      } catch (e) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(e?.shortMessage ?? e?.message ?? e) }));
      }
    });
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
}

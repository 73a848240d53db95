// txguard's JSON-RPC endpoint as a wallet's RPC URL: a viem wallet client whose transport is
// txguard's /rpc (bearer token in fetchOptions) sends an allowed transaction from the guard's own EOA
// (a "wallets" entry of kind "account"), which lands on anvil; a denied one comes back as a JSON-RPC
// error -32003 whose data names the decision.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWalletClient, hashTypedData, http, parseEther, parseTransaction, recoverAddress, recoverMessageAddress, recoverTransactionAddress, stringToHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { erc20TransferData, packSignatures, signHash } from './chain.mjs';
import { OWNER_A, OWNER_B, SANCTIONED, cosignBody, customer, expectDenied } from './guard.mjs';
import { describeResponse, expect, expectEqual } from './util.mjs';

export const name = 'rpc';
export const needsGuard = true;

let safe;

export async function prepare({ chain, env }) {
  await chain.fundEth(env.guardAddress, parseEther('5'));
  safe = await chain.createSafe({ version: '1.4.1', owners: [OWNER_A.address, OWNER_B.address, env.guardAddress], threshold: 2, fundEth: parseEther('5') });
  env.addSafe('rpc-typed-data', safe);
}

// A SafeTx as eth_signTypedData_v4 JSON (Safe >= 1.3.0 domain: chainId and verifyingContract).
function safeTxTypedData(chainId, safeAddress, tx) {
  return {
    types: {
      EIP712Domain: [{ name: 'chainId', type: 'uint256' }, { name: 'verifyingContract', type: 'address' }],
      SafeTx: [
        { name: 'to', type: 'address' }, { name: 'value', type: 'uint256' }, { name: 'data', type: 'bytes' },
        { name: 'operation', type: 'uint8' }, { name: 'safeTxGas', type: 'uint256' }, { name: 'baseGas', type: 'uint256' },
        { name: 'gasPrice', type: 'uint256' }, { name: 'gasToken', type: 'address' }, { name: 'refundReceiver', type: 'address' },
        { name: 'nonce', type: 'uint256' },
      ],
    },
    primaryType: 'SafeTx',
    domain: { chainId, verifyingContract: safeAddress },
    message: {
      to: tx.to, value: tx.value.toString(), data: tx.data, operation: tx.operation, safeTxGas: tx.safeTxGas.toString(),
      baseGas: tx.baseGas.toString(), gasPrice: tx.gasPrice.toString(), gasToken: tx.gasToken, refundReceiver: tx.refundReceiver,
      nonce: tx.nonce.toString(),
    },
  };
}

// Finds the JSON-RPC error object in viem's error chain (RpcRequestError keeps code and data).
function rpcErrorOf(error) {
  let found;
  error?.walk?.((e) => {
    if (!found && typeof e?.code === 'number' && e.code !== 0 && 'data' in e) found = e;
    return false;
  });
  return found ?? error;
}

export async function run({ chain, env, server }, checks) {
  checks.prefix = 'rpc';
  const guard = env.guardAddress;
  const wallet = () => createWalletClient({
    account: guard,
    chain: chain.viemChain,
    pollingInterval: 20,
    transport: http(`${server.url}/rpc`, { retryCount: 0, fetchOptions: { headers: { Authorization: `Bearer ${env.tokens.ops}` } } }),
  });

  await checks.check('eth_accounts is the guard\'s address, eth_chainId the upstream\'s (31337)', async () => {
    const accounts = await server.rpc('eth_accounts');
    expectEqual(accounts.json?.result?.map((a) => a.toLowerCase()), [guard.toLowerCase()], `eth_accounts (${describeResponse(accounts)})`);
    const chainId = await server.rpc('eth_chainId');
    expectEqual(Number(chainId.json?.result), 31337, `eth_chainId (${describeResponse(chainId)})`);
  });

  await checks.check('read-only methods are forwarded upstream (eth_blockNumber, eth_getBalance)', async () => {
    const block = await server.rpc('eth_blockNumber');
    const upstreamBlock = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
    expect(block.json?.result !== undefined, 'eth_blockNumber has a result', describeResponse(block));
    expect(BigInt(block.json.result) <= upstreamBlock && BigInt(block.json.result) + 2n >= upstreamBlock,
      `eth_blockNumber through txguard (${block.json.result}) is anvil's (${upstreamBlock})`);
    const balance = await server.rpc('eth_getBalance', [guard, 'latest']);
    expectEqual(BigInt(balance.json?.result ?? -1), await chain.ethBalance(guard), `eth_getBalance of the guard (${describeResponse(balance)})`);
  });

  await checks.check('a viem wallet on txguard\'s /rpc sends an allowed ETH transfer that lands on anvil', async () => {
    const to = customer('rpc allowed');
    const before = await chain.ethBalance(to);
    const hash = await wallet().sendTransaction({ to, value: parseEther('0.2') });
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20, timeout: 10000 });
    expectEqual(receipt.status, 'success', 'receipt status');
    expectEqual(receipt.from.toLowerCase(), guard.toLowerCase(), 'sent from the guard\'s EOA');
    expectEqual(await chain.ethBalance(to) - before, parseEther('0.2'), 'recipient received 0.2 ETH');
  });

  await checks.check('a denied eth_sendTransaction (sanctioned recipient) is a JSON-RPC error with data.decision_id', async () => {
    const nonceBefore = await chain.publicClient.getTransactionCount({ address: guard });
    let error;
    try {
      await wallet().sendTransaction({ to: SANCTIONED, value: parseEther('0.1') });
    } catch (e) { error = e; }
    expect(error !== undefined, 'viem sendTransaction to a sanctioned address must fail');
    const rpcError = rpcErrorOf(error);
    expectEqual(rpcError.code, -32003, `JSON-RPC error code (viem: ${error.shortMessage ?? error.message})`);
    expect(typeof rpcError.data?.decision_id === 'string' && rpcError.data.decision_id.length > 0, 'error data carries decision_id', rpcError.data);
    expectEqual(await chain.publicClient.getTransactionCount({ address: guard }), nonceBefore, 'nothing was sent from the guard');
  });

  await checks.check('the raw JSON-RPC denial: code -32003, message "denied by policy: ...", data.reasons sanctioned-address', async () => {
    const res = await server.rpc('eth_sendTransaction', [{ from: guard, to: SANCTIONED, value: '0x16345785d8a0000' }]);
    expectEqual(res.status, 200, `HTTP status of a JSON-RPC denial (${describeResponse(res)})`);
    const err = res.json?.error;
    expectEqual(err?.code, -32003, 'error.code');
    expect(String(err?.message).startsWith('denied by policy'), 'error.message starts with "denied by policy"', err?.message);
    expect(typeof err?.data?.decision_id === 'string', 'error.data.decision_id', err?.data);
    expect((err?.data?.reasons ?? []).some((r) => (r.code ?? r) === 'sanctioned-address'), 'error.data.reasons include sanctioned-address', err?.data?.reasons);
    expect(res.json.result === undefined, 'no result next to the error', res.json);
  });

  await checks.check('eth_signTransaction returns a transaction signed by the guard that anvil accepts', async () => {
    const to = customer('rpc signed');
    const nonce = await chain.publicClient.getTransactionCount({ address: guard, blockTag: 'pending' });
    const fees = await chain.publicClient.estimateFeesPerGas();
    const res = await server.rpc('eth_signTransaction', [{
      from: guard, to, value: '0x2386f26fc10000', gas: '0x5208', nonce: `0x${nonce.toString(16)}`, chainId: '0x7a69',
      maxFeePerGas: `0x${fees.maxFeePerGas.toString(16)}`, maxPriorityFeePerGas: `0x${fees.maxPriorityFeePerGas.toString(16)}`,
    }]);
    const raw = res.json?.result;
    expect(typeof raw === 'string' && raw.startsWith('0x'), 'eth_signTransaction result is a raw transaction', describeResponse(res));
    const parsed = parseTransaction(raw);
    expectEqual(parsed.to?.toLowerCase(), to.toLowerCase(), 'signed transaction recipient');
    expectEqual(await recoverTransactionAddress({ serializedTransaction: raw }), guard, 'signed by the guard');
    const before = await chain.ethBalance(to);
    const hash = await chain.publicClient.sendRawTransaction({ serializedTransaction: raw });
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20, timeout: 10000 });
    expectEqual(receipt.status, 'success', 'broadcast by the test, the transaction executes');
    expectEqual(await chain.ethBalance(to) - before, parseEther('0.01'), 'recipient received 0.01 ETH');
  });

  await checks.check('eth_signTypedData_v4 of a Bybit-style SafeTx (DELEGATECALL to an unknown contract) is denied', async () => {
    const tx = await chain.buildSafeTx(safe, { to: customer('attacker contract'), operation: 1, data: erc20TransferData(customer('attacker EOA'), 0n) });
    const res = await server.rpc('eth_signTypedData_v4', [guard, JSON.stringify(safeTxTypedData(chain.chainId, safe.address, tx))]);
    expectEqual(res.json?.error?.code, -32003, `JSON-RPC denial (${describeResponse(res)})`);
    expect((res.json.error.data?.reasons ?? []).some((r) => (r.code ?? r) === 'unsafe-delegatecall'), 'reasons include unsafe-delegatecall', res.json.error.data);
    expect(res.json.result === undefined, 'no signature', res.json.result);
  });

  // The product's promise: never two different signatures for one (chain, Safe, nonce), whichever
  // door the request comes through (REST cosign or eth_signTypedData_v4 over JSON-RPC).
  const signTyped = (tx) => server.rpc('eth_signTypedData_v4', [guard, JSON.stringify(safeTxTypedData(chain.chainId, safe.address, tx))]);
  const first = await chain.buildSafeTx(safe, { to: customer('rpc typed data'), value: parseEther('0.3') });
  const firstHash = await chain.safeTxHash(safe, first);
  const typedSig = await checks.check('eth_signTypedData_v4 of an allowed SafeTx returns the guard\'s signature over the Safe\'s safeTxHash', async () => {
    const res = await signTyped(first);
    const signature = res.json?.result;
    expect(/^0x[0-9a-fA-F]{130}$/.test(signature ?? ''), 'a 65-byte signature', describeResponse(res));
    expectEqual(await recoverAddress({ hash: firstHash, signature }), guard, 'it recovers to the guard over the Safe\'s own safeTxHash');
    return { signer: guard, signature };
  });

  await checks.check('once only across doors: after eth_signTypedData_v4 at nonce n, a different SafeTx at n over REST is denied', async () => {
    const other = await chain.buildSafeTx(safe, { to: customer('rpc typed data other'), value: parseEther('0.3'), nonce: first.nonce });
    expectDenied(await server.cosign(cosignBody(safe, other)), 'nonce-already-signed', 'REST cosign of a different SafeTx at a nonce signed over RPC');
  });

  await checks.check('once only over JSON-RPC: a different SafeTx at nonce n through eth_signTypedData_v4 is denied', async () => {
    const other = await chain.buildSafeTx(safe, { to: customer('rpc typed data third'), value: parseEther('0.2'), nonce: first.nonce });
    const res = await signTyped(other);
    expectEqual(res.json?.error?.code, -32003, `JSON-RPC denial (${describeResponse(res)})`);
    expect((res.json.error.data?.reasons ?? []).some((r) => (r.code ?? r) === 'nonce-already-signed'), 'reasons include nonce-already-signed', res.json.error.data);
  });

  await checks.check('the signature from eth_signTypedData_v4 executes on chain with owner A\'s', async () => {
    expect(typedSig !== undefined, 'the typed-data signature was obtained');
    const before = await chain.ethBalance(first.to);
    await chain.execSafeTx(safe, first, [await signHash(OWNER_A.key, firstHash), typedSig]);
    expectEqual(await chain.ethBalance(first.to) - before, parseEther('0.3'), 'recipient received 0.3 ETH');
  });

  await checks.check('once only across doors: after a REST cosign at nonce n, a different SafeTx at n through eth_signTypedData_v4 is denied', async () => {
    const tx = await chain.buildSafeTx(safe, { to: customer('rpc rest first'), value: parseEther('0.1') });
    const res = await server.cosign(cosignBody(safe, tx));
    expectEqual(res.status, 200, `REST cosign at nonce ${tx.nonce} (${describeResponse(res)})`);
    const other = await chain.buildSafeTx(safe, { to: customer('rpc rest first other'), value: parseEther('0.1'), nonce: tx.nonce });
    const typed = await signTyped(other);
    expectEqual(typed.json?.error?.code, -32003, `JSON-RPC answer for a different SafeTx at nonce ${tx.nonce} (${describeResponse(typed)})`);
    await chain.execSafeTx(safe, tx, [await signHash(OWNER_B.key, await chain.safeTxHash(safe, tx)), { signer: guard, signature: res.json.signature }]);
  });

  await checks.check('personal_sign and eth_sign are denied (no rule allows messages)', async () => {
    const personal = await server.rpc('personal_sign', [stringToHex('hello from the e2e test'), guard]);
    expectEqual(personal.json?.error?.code, -32003, `personal_sign (${describeResponse(personal)})`);
    const ethSign = await server.rpc('eth_sign', [guard, `0x${'11'.repeat(32)}`]);
    expectEqual(ethSign.json?.error?.code, -32003, `eth_sign of a bare hash (${describeResponse(ethSign)})`);
  });

  await checks.check('eth_sendTransaction with only from/to/value: txguard fills nonce, gas and fees from upstream; it lands', async () => {
    const to = customer('rpc raw send');
    const before = await chain.ethBalance(to);
    const res = await server.rpc('eth_sendTransaction', [{ from: guard, to, value: '0x470de4df820000' }]);
    const hash = res.json?.result;
    expect(/^0x[0-9a-fA-F]{64}$/.test(hash ?? ''), 'a transaction hash', describeResponse(res));
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20, timeout: 10000 });
    expectEqual(receipt.status, 'success', 'receipt status');
    expectEqual(await chain.ethBalance(to) - before, parseEther('0.02'), 'recipient received 0.02 ETH');
  });

  await checks.check('a JSON-RPC batch gets one answer per call, by id', async () => {
    const res = await server.call('POST', '/rpc', { body: [
      { jsonrpc: '2.0', id: 7, method: 'eth_chainId', params: [] },
      { jsonrpc: '2.0', id: 'acc', method: 'eth_accounts', params: [] },
    ] });
    expectEqual(res.status, 200, `batch (${describeResponse(res)})`);
    expect(Array.isArray(res.json) && res.json.length === 2, 'an array of two answers', res.json);
    const byId = Object.fromEntries(res.json.map((r) => [String(r.id), r]));
    expectEqual(Number(byId['7']?.result), 31337, 'eth_chainId in the batch');
    expectEqual(byId.acc?.result?.map((a) => a.toLowerCase()), [guard.toLowerCase()], 'eth_accounts in the batch');
  });

  // Issue 13 item 4, on the real Safe: with a policy that allows message requests, personal_sign of
  // the safeTxHash of a transaction /v1/safe/cosign denies used to be signed, and a Safe takes an
  // owner's eth_sign of its safeTxHash (v + 4) as that owner's approval. A server of its own runs the
  // attack's policy (every "message" leg allowed).
  const msgServer = await checks.check('a server whose policy allows every message leg starts', async () => {
    const doc = env.policyDocument();
    doc.rules.unshift({ id: 'messages', match: { leg: 'message' }, effect: 'allow' });
    writeFileSync(join(env.dir, 'messages.policy.json'), `${JSON.stringify(doc, null, 2)}\n`);
    return env.startServer({ name: 'messages', extra: { policy: 'messages.policy.json' } });
  });

  await checks.check('personal_sign of a 32-byte message (a safeTxHash /v1/safe/cosign denies) is refused as a possible Safe hash, though the Safe would accept it', async () => {
    expect(msgServer !== undefined, 'the messages server is running');
    const tx = await chain.buildSafeTx(safe, { to: SANCTIONED, value: parseEther('0.1') });
    const hash = await chain.safeTxHash(safe, tx);
    expectDenied(await msgServer.cosign(cosignBody(safe, tx)), 'sanctioned-address', 'cosign of a transfer to a sanctioned address');
    // The policy does sign messages that are not hashes...
    const hello = await msgServer.rpc('personal_sign', [stringToHex('hello from the e2e test'), guard]);
    expect(typeof hello.json?.result === 'string', 'personal_sign of text is signed under this policy', describeResponse(hello));
    expectEqual(await recoverMessageAddress({ message: 'hello from the e2e test', signature: hello.json.result }), guard, 'signed by the guard');
    // ...but not the safeTxHash, in either method, with its own reason, recorded as a decision.
    for (const [method, params] of [['personal_sign', [hash, guard]], ['eth_sign', [guard, hash]]]) {
      const res = await msgServer.rpc(method, params);
      expectEqual(res.json?.error?.code, -32003, `${method}(safeTxHash) is a JSON-RPC denial (${describeResponse(res)})`);
      expect((res.json.error.data?.reasons ?? []).some((r) => r.code === 'message-is-a-hash'), `${method}: reasons include message-is-a-hash`, res.json.error.data);
      expect(typeof res.json.error.data?.decision_id === 'string', `${method}: the refusal is a recorded decision`, res.json.error.data);
      expect(res.json.result === undefined, `${method}: no signature`, res.json.result);
    }
    // For the record, what such a signature is worth: owner B's eth_sign of the hash with v + 4, and
    // owner A's plain signature, pass the Safe's own checkSignatures for this very transaction.
    const ethSign = await privateKeyToAccount(OWNER_B.key).signMessage({ message: { raw: hash } });
    const v = Number.parseInt(ethSign.slice(130), 16) + 4;
    const bViaEthSign = { signer: OWNER_B.address, signature: `${ethSign.slice(0, 130)}${v.toString(16)}` };
    await chain.publicClient.readContract({
      address: safe.address, abi: chain.abis[safe.version].safe, functionName: 'checkSignatures',
      args: [hash, '0x', packSignatures([await signHash(OWNER_A.key, hash), bViaEthSign])],
    });
  });

  await checks.check('SafeMessage typed data is signed as the Safe\'s EIP-1271 message (valid on chain); one whose message is 32 bytes is refused', async () => {
    expect(msgServer !== undefined, 'the messages server is running');
    const text = stringToHex('Sign in to e2e.example as the rpc Safe');
    const typed = {
      types: {
        EIP712Domain: [{ name: 'chainId', type: 'uint256' }, { name: 'verifyingContract', type: 'address' }],
        SafeMessage: [{ name: 'message', type: 'bytes' }],
      },
      primaryType: 'SafeMessage',
      domain: { chainId: chain.chainId, verifyingContract: safe.address },
      message: { message: text },
    };
    const res = await msgServer.rpc('eth_signTypedData_v4', [guard, JSON.stringify(typed)]);
    expect(typeof res.json?.result === 'string', 'the Safe\'s message is signed', describeResponse(res));
    const digest = hashTypedData(typed);
    const isValidSignature = [{ type: 'function', name: 'isValidSignature', stateMutability: 'view',
      inputs: [{ name: '_data', type: 'bytes' }, { name: '_signature', type: 'bytes' }], outputs: [{ type: 'bytes4' }] }];
    const magic = await chain.publicClient.readContract({
      address: safe.address, abi: isValidSignature, functionName: 'isValidSignature',
      args: [text, packSignatures([await signHash(OWNER_A.key, digest), { signer: guard, signature: res.json.result }])],
    });
    expectEqual(magic, '0x20c13b0b', 'the Safe (CompatibilityFallbackHandler) takes A\'s and txguard\'s signatures as its own (EIP-1271)');
    const hashTyped = { ...typed, message: { message: await chain.safeTxHash(safe, await chain.buildSafeTx(safe, { to: SANCTIONED, value: 1n })) } };
    const refused = await msgServer.rpc('eth_signTypedData_v4', [guard, JSON.stringify(hashTyped)]);
    expectEqual(refused.json?.error?.code, -32003, `SafeMessage of a hash (${describeResponse(refused)})`);
    expect((refused.json.error.data?.reasons ?? []).some((r) => r.code === 'message-is-a-hash'), 'reasons include message-is-a-hash', refused.json.error.data);
  });

  if (msgServer) {
    await checks.check('the messages server stops on SIGTERM with exit status 0', async () => { await msgServer.stopGracefully(); });
  }

  await checks.check('/rpc with an approver\'s token is HTTP 403', async () => {
    const res = await server.rpc('eth_accounts', [], 'alice');
    expectEqual(res.status, 403, `status (${describeResponse(res)})`);
  });

  await checks.check('/rpc without a token is HTTP 401', async () => {
    const res = await server.call('POST', '/rpc', { token: null, body: { jsonrpc: '2.0', id: 1, method: 'eth_accounts', params: [] } });
    expectEqual(res.status, 401, `status (${describeResponse(res)})`);
  });
  checks.prefix = '';
}

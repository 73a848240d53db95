// txguard's JSON-RPC endpoint as a wallet's RPC URL: a viem wallet client whose transport is
// txguard's /rpc (bearer token in fetchOptions) sends an allowed transaction from the guard's own EOA
// (a "wallets" entry of kind "account"), which lands on anvil; a denied one comes back as a JSON-RPC
// error -32003 whose data names the decision.

import { createWalletClient, http, parseEther, parseTransaction, recoverTransactionAddress } from 'viem';
import { SANCTIONED, customer } from './guard.mjs';
import { describeResponse, expect, expectEqual } from './util.mjs';

export const name = 'rpc';
export const needsGuard = true;

export async function prepare({ chain, env }) {
  await chain.fundEth(env.guardAddress, parseEther('5'));
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

  await checks.check('/rpc without a token is HTTP 401', async () => {
    const res = await server.call('POST', '/rpc', { token: null, body: { jsonrpc: '2.0', id: 1, method: 'eth_accounts', params: [] } });
    expectEqual(res.status, 401, `status (${describeResponse(res)})`);
  });
  checks.prefix = '';
}

// The chain side of the end-to-end tests: a local anvil with the real, unmodified Safe contracts at
// their canonical mainnet addresses, an ERC-20, and helpers to create, sign and execute Safe
// transactions independently of txguard.
//
//   const chain = await startChain();                 // anvil on a free 127.0.0.1 port, contracts deployed
//   const safe = await chain.createSafe({version: '1.4.1', owners: [a, b, c], threshold: 2, fundEth: parseEther('10')});
//   const tx = chain.safeTx({to, value: parseEther('1')}, await chain.safeNonce(safe));
//   const hash = await chain.safeTxHash(safe, tx);    // the Safe contract's own getTransactionHash
//   const receipt = await chain.execSafeTx(safe, tx, [chain.signHash(keyA, hash), ...]);
//   await chain.stop();
//
// How the contracts get their canonical addresses (see /docs of safe-deployments): Safe 1.3.0 was
// deployed through the Arachnid deterministic-deployment proxy (0x4e59b448...956C, which anvil has
// from genesis) and Safe 1.4.1 through the Safe Singleton Factory (0x914d7Fec...43d7), each with
// CREATE2 and salt 0 over the creation code of the published build. The Singleton Factory's runtime
// code is the same as the Arachnid proxy's, so it is copied there with anvil_setCode. Deploying the
// npm artifacts' bytecode the same way lands every contract at its mainnet address; each address and
// runtime code hash is then checked against @safe-global/safe-deployments (or, if that package is
// missing, fixtures/safe/safe-facts.json, a copy of the same data).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  concatHex,
  createPublicClient,
  createTestClient,
  createWalletClient,
  encodeFunctionData,
  encodePacked,
  getAddress,
  getContractAddress,
  http,
  keccak256,
  parseEventLogs,
  size,
  zeroAddress,
  zeroHash,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { anvil as anvilChain } from 'viem/chains';
import { freePort, sleep, spawnChild } from './util.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const jsRoot = join(here, '..');
const nodeModules = join(jsRoot, 'node_modules');
const fixturesDir = join(jsRoot, '..', '..', 'fixtures');

export const ANVIL_BIN = join(nodeModules, '@foundry-rs/anvil-linux-amd64/bin/anvil');
export const CHAIN_ID = 31337;

// Anvil's accounts from the public test mnemonic ("test test ... junk"): never real keys. Checked
// against the node's eth_accounts at start.
export const ANVIL_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
  '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
  '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
  '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
  '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
  '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6',
];
export const ANVIL_ACCOUNTS = ANVIL_KEYS.map((key) => privateKeyToAccount(key));

export const ARACHNID_DEPLOYER = '0x4e59b44847b379578588920cA78FbF26c0B4956C';
export const SAFE_SINGLETON_FACTORY = '0x914d7Fec6aaC8cd542e72Bca78B30650d45643d7';

// What is deployed, per Safe version: role -> [npm artifact, safe-deployments asset file, contract
// name in safe-deployments, extra]. The roles are the same for both versions so callers need not
// care. The six Safe contracts the tests rely on must land at their canonical address with the
// canonical code hash. The extras (only named in protocol-kit's contractNetworks) are deployed from
// the npm build too; where that build is not the one deployed on mainnet (SignMessageLib 1.3.0 in
// @gnosis.pm/safe-contracts is an example contract with different metadata) they land elsewhere,
// which is reported and harmless.
const SAFE_141 = '@safe-global/safe-contracts/build/artifacts/contracts';
const SAFE_130 = '@gnosis.pm/safe-contracts/build/artifacts/contracts';
const LAYOUT = {
  '1.4.1': {
    factory: SAFE_SINGLETON_FACTORY,
    contracts: {
      safe: [`${SAFE_141}/Safe.sol/Safe.json`, 'safe.json', 'Safe'],
      safeL2: [`${SAFE_141}/SafeL2.sol/SafeL2.json`, 'safe_l2.json', 'SafeL2'],
      proxyFactory: [`${SAFE_141}/proxies/SafeProxyFactory.sol/SafeProxyFactory.json`, 'safe_proxy_factory.json', 'SafeProxyFactory'],
      multiSend: [`${SAFE_141}/libraries/MultiSend.sol/MultiSend.json`, 'multi_send.json', 'MultiSend'],
      multiSendCallOnly: [`${SAFE_141}/libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json`, 'multi_send_call_only.json', 'MultiSendCallOnly'],
      fallbackHandler: [`${SAFE_141}/handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json`, 'compatibility_fallback_handler.json', 'CompatibilityFallbackHandler'],
      // Not used by the scenarios themselves; protocol-kit's contractNetworks names them.
      signMessageLib: [`${SAFE_141}/libraries/SignMessageLib.sol/SignMessageLib.json`, 'sign_message_lib.json', 'SignMessageLib', 'extra'],
      createCall: [`${SAFE_141}/libraries/CreateCall.sol/CreateCall.json`, 'create_call.json', 'CreateCall', 'extra'],
      simulateTxAccessor: [`${SAFE_141}/accessors/SimulateTxAccessor.sol/SimulateTxAccessor.json`, 'simulate_tx_accessor.json', 'SimulateTxAccessor', 'extra'],
    },
  },
  '1.3.0': {
    factory: ARACHNID_DEPLOYER,
    contracts: {
      safe: [`${SAFE_130}/GnosisSafe.sol/GnosisSafe.json`, 'gnosis_safe.json', 'GnosisSafe'],
      safeL2: [`${SAFE_130}/GnosisSafeL2.sol/GnosisSafeL2.json`, 'gnosis_safe_l2.json', 'GnosisSafeL2'],
      proxyFactory: [`${SAFE_130}/proxies/GnosisSafeProxyFactory.sol/GnosisSafeProxyFactory.json`, 'proxy_factory.json', 'GnosisSafeProxyFactory'],
      multiSend: [`${SAFE_130}/libraries/MultiSend.sol/MultiSend.json`, 'multi_send.json', 'MultiSend'],
      multiSendCallOnly: [`${SAFE_130}/libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json`, 'multi_send_call_only.json', 'MultiSendCallOnly'],
      fallbackHandler: [`${SAFE_130}/handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json`, 'compatibility_fallback_handler.json', 'CompatibilityFallbackHandler'],
      signMessageLib: [`${SAFE_130}/examples/libraries/SignMessage.sol/SignMessageLib.json`, 'sign_message_lib.json', 'SignMessageLib', 'extra'],
      createCall: [`${SAFE_130}/libraries/CreateCall.sol/CreateCall.json`, 'create_call.json', 'CreateCall', 'extra'],
      simulateTxAccessor: [`${SAFE_130}/accessors/SimulateTxAccessor.sol/SimulateTxAccessor.json`, 'simulate_tx_accessor.json', 'SimulateTxAccessor', 'extra'],
    },
  },
};
export const SAFE_VERSIONS = Object.keys(LAYOUT);

const ERC20_ARTIFACT = '@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json';

// Minimal ABIs for calls the artifacts' ABIs make awkward.
export const ERC20_ABI = [
  { type: 'function', name: 'transfer', stateMutability: 'nonpayable', inputs: [{ name: 'to', type: 'address' }, { name: 'amount', type: 'uint256' }], outputs: [{ type: 'bool' }] },
  { type: 'function', name: 'balanceOf', stateMutability: 'view', inputs: [{ name: 'owner', type: 'address' }], outputs: [{ type: 'uint256' }] },
  { type: 'function', name: 'decimals', stateMutability: 'view', inputs: [], outputs: [{ type: 'uint8' }] },
];
const MULTISEND_ABI = [
  { type: 'function', name: 'multiSend', stateMutability: 'payable', inputs: [{ name: 'transactions', type: 'bytes' }], outputs: [] },
];

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function artifact(relative) {
  const a = readJson(join(nodeModules, relative));
  if (!a.bytecode || a.bytecode === '0x') throw new Error(`${relative}: artifact without bytecode`);
  return a;
}

/**
 * Canonical address and runtime code hash of a Safe contract, from @safe-global/safe-deployments
 * when installed (a dependency of protocol-kit), else from the copy in fixtures/safe/safe-facts.json.
 */
function canonicalDeployment(version, assetFile, contractName) {
  const fromPackage = join(nodeModules, '@safe-global/safe-deployments/src/assets', `v${version}`, assetFile);
  let entry;
  let source;
  if (existsSync(fromPackage)) {
    entry = readJson(fromPackage);
    source = `@safe-global/safe-deployments ${readJson(join(nodeModules, '@safe-global/safe-deployments/package.json')).version}`;
  } else {
    entry = readJson(join(fixturesDir, 'safe/safe-facts.json')).deployments[`v${version}`]?.[contractName];
    source = 'fixtures/safe/safe-facts.json';
  }
  const canonical = entry?.deployments?.canonical;
  if (!canonical) throw new Error(`no canonical deployment of ${contractName} ${version} in ${source}`);
  if (entry.contractName && entry.contractName !== contractName) {
    throw new Error(`${source} v${version}/${assetFile} is ${entry.contractName}, expected ${contractName}`);
  }
  return { address: getAddress(canonical.address), codeHash: canonical.codeHash.toLowerCase(), source };
}

async function waitForRpc(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited (${child.exitCode}): ${child.stderrText}`);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      const body = await res.json();
      if (body.result) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`anvil did not answer at ${url} within ${timeoutMs} ms`);
    await sleep(25);
  }
}

/** Starts anvil on a free 127.0.0.1 port; retries on a port taken between probe and bind. */
async function startAnvil(chainId = CHAIN_ID) {
  if (!existsSync(ANVIL_BIN)) {
    throw new Error(`anvil not found at ${ANVIL_BIN}: run deploy/setup.sh --test (npm ci in tests/js)`);
  }
  let lastError;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const port = await freePort();
    const child = spawnChild(ANVIL_BIN, ['--host', '127.0.0.1', '--port', String(port), '--silent',
      '--chain-id', String(chainId)]);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForRpc(url, child, 15000);
      return { child, url, port };
    } catch (error) {
      lastError = error;
      child.kill('SIGKILL');
      await child.exited;
    }
  }
  throw lastError;
}

/** Packs a MultiSend batch: operation(1) to(20) value(32) dataLength(32) data, per item. */
export function encodeMultiSendTransactions(items) {
  return concatHex(items.map(({ operation = 0, to, value = 0n, data = '0x' }) =>
    encodePacked(['uint8', 'address', 'uint256', 'uint256', 'bytes'], [operation, to, BigInt(value), BigInt(size(data)), data])));
}

/** Calldata of multiSend(bytes) (the same function in MultiSend and MultiSendCallOnly). */
export function multiSendData(items) {
  return encodeFunctionData({ abi: MULTISEND_ABI, functionName: 'multiSend', args: [encodeMultiSendTransactions(items)] });
}

export function erc20TransferData(to, amount) {
  return encodeFunctionData({ abi: ERC20_ABI, functionName: 'transfer', args: [to, BigInt(amount)] });
}

/**
 * Signs a raw 32-byte hash as a Safe owner: r || s || v with v = 27 + recovery id (viem's
 * account.sign, RFC 6979). Returns {signer, signature}.
 */
export async function signHash(privateKey, hash) {
  const account = privateKeyToAccount(privateKey);
  return { signer: account.address, signature: await account.sign({ hash }) };
}

/** Concatenates owner signatures sorted by owner address, ascending, as Safe's checkNSignatures needs. */
export function packSignatures(signatures) {
  const sorted = [...signatures].sort((x, y) => {
    const a = BigInt(x.signer);
    const b = BigInt(y.signer);
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return concatHex(sorted.map((s) => s.signature));
}

/** A SafeTx with Safe's defaults (no refund, CALL). */
export function safeTx(fields, nonce) {
  return {
    to: getAddress(fields.to),
    value: BigInt(fields.value ?? 0),
    data: fields.data ?? '0x',
    operation: fields.operation ?? 0,
    safeTxGas: BigInt(fields.safeTxGas ?? 0),
    baseGas: BigInt(fields.baseGas ?? 0),
    gasPrice: BigInt(fields.gasPrice ?? 0),
    gasToken: fields.gasToken ?? zeroAddress,
    refundReceiver: fields.refundReceiver ?? zeroAddress,
    nonce: BigInt(fields.nonce ?? nonce),
  };
}

function safeTxArgs(tx) {
  return [tx.to, tx.value, tx.data, tx.operation, tx.safeTxGas, tx.baseGas, tx.gasPrice, tx.gasToken, tx.refundReceiver, tx.nonce];
}

/** Decodes Safe's "GSxxx" revert reason (or any other) out of a viem error, for messages and checks. */
export function revertReason(error) {
  const text = `${error?.shortMessage ?? ''} ${error?.details ?? ''} ${error?.message ?? ''}`;
  const gs = text.match(/GS\d{3}/);
  if (gs) return gs[0];
  return error?.shortMessage ?? error?.message ?? String(error);
}

/**
 * Starts anvil and deploys everything. Returns the chain handle (see the file comment). Options:
 * log (a function taking a line, default none); chainId (default 31337: a second chain, e.g. the
 * source chain of a bridge test, takes another id).
 */
export async function startChain({ log = () => {}, chainId = CHAIN_ID } = {}) {
  const t0 = Date.now();
  const node = await startAnvil(chainId);
  const chain = { ...anvilChain, id: chainId, rpcUrls: { default: { http: [node.url] } } };
  const transport = http(node.url, { retryCount: 0 });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 20 });
  const testClient = createTestClient({ chain, transport, mode: 'anvil', pollingInterval: 20 });
  const walletFor = (account) => createWalletClient({ chain, transport, account, pollingInterval: 20 });
  const deployer = ANVIL_ACCOUNTS[0];
  const deployerWallet = walletFor(deployer);

  const nodeAccounts = await publicClient.request({ method: 'eth_accounts' });
  for (let i = 0; i < ANVIL_ACCOUNTS.length; i += 1) {
    if (getAddress(nodeAccounts[i]) !== ANVIL_ACCOUNTS[i].address) {
      throw new Error(`anvil account #${i} is ${nodeAccounts[i]}, expected ${ANVIL_ACCOUNTS[i].address}`);
    }
  }

  async function send(wallet, request) {
    const hash = await wallet.sendTransaction(request);
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
    return receipt;
  }

  // The Safe Singleton Factory: same runtime code as the Arachnid proxy anvil has at genesis.
  const arachnidCode = await publicClient.getCode({ address: ARACHNID_DEPLOYER });
  if (!arachnidCode || arachnidCode === '0x') throw new Error(`anvil has no code at ${ARACHNID_DEPLOYER}`);
  await testClient.setCode({ address: SAFE_SINGLETON_FACTORY, bytecode: arachnidCode });

  const deployments = {};
  const abis = {};
  for (const [version, layout] of Object.entries(LAYOUT)) {
    deployments[version] = {};
    abis[version] = {};
    for (const [role, [artifactPath, assetFile, contractName, extra]] of Object.entries(layout.contracts)) {
      const a = artifact(artifactPath);
      const expected = canonicalDeployment(version, assetFile, contractName);
      const address = getContractAddress({ opcode: 'CREATE2', from: layout.factory, salt: zeroHash, bytecode: a.bytecode });
      await send(deployerWallet, { to: layout.factory, data: concatHex([zeroHash, a.bytecode]) });
      const code = await publicClient.getCode({ address });
      const codeHash = code ? keccak256(code) : '(no code)';
      if (address !== expected.address || codeHash !== expected.codeHash) {
        const problem = `${contractName} ${version}: the npm artifact lands at ${address} with runtime code hash ${codeHash}; ` +
          `canonical is ${expected.address} with ${expected.codeHash} (${expected.source})`;
        if (!extra) throw new Error(problem);
        log(`chain: note: ${problem} (only protocol-kit's contractNetworks names it)`);
      }
      deployments[version][role] = address;
      abis[version][role] = a.abi;
    }
  }
  log(`chain: Safe 1.4.1 and 1.3.0 at their canonical addresses, code hashes checked (${Date.now() - t0} ms)`);

  // An ERC-20 with 18 decimals, the whole supply minted to the deployer.
  const erc20 = artifact(ERC20_ARTIFACT);
  const supply = 10n ** 9n * 10n ** 18n;
  const tokenHash = await deployerWallet.deployContract({
    abi: erc20.abi, bytecode: erc20.bytecode, args: ['txguard test token', 'TKN', supply, deployer.address],
  });
  const tokenReceipt = await publicClient.waitForTransactionReceipt({ hash: tokenHash, pollingInterval: 20 });
  const token = { address: getAddress(tokenReceipt.contractAddress), symbol: 'TKN', decimals: 18 };

  let saltCounter = 0n;

  const handle = {
    url: node.url,
    port: node.port,
    chainId,
    viemChain: chain,
    publicClient,
    testClient,
    walletFor,
    deployer,
    deployments,
    abis,
    token,

    /** ETH balance (wei). */
    ethBalance: (address) => publicClient.getBalance({ address }),
    /** ERC-20 balance (base units) of the test token, or of another token. */
    tokenBalance: (address, tokenAddress = token.address) =>
      publicClient.readContract({ address: tokenAddress, abi: ERC20_ABI, functionName: 'balanceOf', args: [address] }),

    /** Sends ETH from an anvil account (default #0). */
    async fundEth(to, amount, from = deployer) {
      return send(walletFor(from), { to, value: BigInt(amount) });
    },
    /** Sends test tokens from the deployer. */
    async fundToken(to, amount) {
      return send(deployerWallet, { to: token.address, data: erc20TransferData(to, amount) });
    },
    /** Places runtime code at an address (anvil_setCode). */
    setCode: (address, bytecode) => testClient.setCode({ address, bytecode }),

    /**
     * Creates a Safe proxy with createProxyWithNonce(singleton, setup(...), saltNonce): owners,
     * threshold, the version's CompatibilityFallbackHandler. Optionally funds it. Returns
     * {address, version, owners, threshold}.
     */
    async createSafe({ version, owners, threshold = 2, l2 = false, fundEth = 0n, fundToken = 0n, saltNonce }) {
      const d = deployments[version];
      if (!d) throw new Error(`unknown Safe version ${version}`);
      const singleton = l2 ? d.safeL2 : d.safe;
      const initializer = encodeFunctionData({
        abi: abis[version].safe,
        functionName: 'setup',
        args: [owners.map((o) => getAddress(o)), BigInt(threshold), zeroAddress, '0x', d.fallbackHandler, zeroAddress, 0n, zeroAddress],
      });
      saltCounter += 1n;
      const salt = saltNonce ?? BigInt(Date.now()) * 1000n + saltCounter;
      const request = {
        address: d.proxyFactory,
        abi: abis[version].proxyFactory,
        functionName: 'createProxyWithNonce',
        args: [singleton, initializer, salt],
        account: deployer,
      };
      const { result: proxy } = await publicClient.simulateContract(request);
      const hash = await deployerWallet.writeContract(request);
      const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
      if (receipt.status !== 'success') throw new Error(`createProxyWithNonce reverted (${hash})`);
      const address = getAddress(proxy);
      const safe = { address, version, owners: owners.map((o) => getAddress(o)), threshold, l2 };
      const onChainOwners = await publicClient.readContract({ address, abi: abis[version].safe, functionName: 'getOwners' });
      if (onChainOwners.length !== owners.length) throw new Error(`Safe ${address}: ${onChainOwners.length} owners after setup`);
      const onChainVersion = await publicClient.readContract({ address, abi: abis[version].safe, functionName: 'VERSION' });
      if (onChainVersion !== version) throw new Error(`Safe ${address} reports VERSION ${onChainVersion}, expected ${version}`);
      if (fundEth) await handle.fundEth(address, fundEth);
      if (fundToken) await handle.fundToken(address, fundToken);
      return safe;
    },

    /** The Safe's current nonce. */
    safeNonce: (safe) => publicClient.readContract({ address: safe.address, abi: abis[safe.version].safe, functionName: 'nonce' }),

    /** A SafeTx with defaults; nonce defaults to the Safe's current one. */
    async buildSafeTx(safe, fields) {
      return safeTx(fields, fields.nonce ?? (await handle.safeNonce(safe)));
    },

    /** safeTxHash as the Safe contract computes it (getTransactionHash): independent of txguard. */
    safeTxHash: (safe, tx) => publicClient.readContract({
      address: safe.address, abi: abis[safe.version].safe, functionName: 'getTransactionHash', args: safeTxArgs(tx),
    }),

    /** Whether the Safe has this address as an owner. */
    isOwner: (safe, address) => publicClient.readContract({ address: safe.address, abi: abis[safe.version].safe, functionName: 'isOwner', args: [address] }),

    /**
     * execTransaction with the given owner signatures ({signer, signature}, sorted here; or a hex
     * string, used as is), sent by
     * `sender` (default anvil #0). Resolves the receipt, which must carry ExecutionSuccess; rejects
     * with the Safe's revert reason (GS0xx) in the message otherwise.
     */
    async execSafeTx(safe, tx, signatures, { sender = deployer } = {}) {
      const abi = abis[safe.version].safe;
      const request = {
        address: safe.address, abi, functionName: 'execTransaction',
        args: [tx.to, tx.value, tx.data, tx.operation, tx.safeTxGas, tx.baseGas, tx.gasPrice, tx.gasToken, tx.refundReceiver,
          typeof signatures === 'string' ? signatures : packSignatures(signatures)],
        account: sender,
      };
      try {
        await publicClient.simulateContract(request);
      } catch (error) {
        const e = new Error(`execTransaction on Safe ${safe.version} ${safe.address} reverts: ${revertReason(error)}`);
        e.reason = revertReason(error);
        throw e;
      }
      const hash = await walletFor(sender).writeContract(request);
      const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
      if (receipt.status !== 'success') throw new Error(`execTransaction ${hash} reverted`);
      const events = parseEventLogs({ abi, logs: receipt.logs, strict: false }).map((l) => l.eventName);
      if (!events.includes('ExecutionSuccess')) throw new Error(`execTransaction ${hash}: no ExecutionSuccess (events: ${events.join(', ')})`);
      return receipt;
    },

    /** Stops anvil. */
    async stop() {
      if (node.child.exitCode === null) {
        node.child.kill('SIGTERM');
        const timer = setTimeout(() => node.child.kill('SIGKILL'), 3000);
        await node.child.exited;
        clearTimeout(timer);
      }
    },
  };
  log(`chain: anvil at ${node.url}, ERC-20 at ${token.address} (${Date.now() - t0} ms)`);
  return handle;
}

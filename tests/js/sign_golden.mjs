#!/usr/bin/env node
// Golden Safe owner signatures for txguard's signer tests, computed by viem and checked by ethers.
//
//   node sign_golden.mjs [--out FILE]     (default: ../../fixtures/golden/safe_signatures.json)
//
// For a fixed key (anvil's account #0) and fixed SafeTxs (an ETH transfer, an ERC-20 transfer and
// a MultiSendCallOnly batch by DELEGATECALL, each for Safe 1.1.1, 1.3.0 and 1.4.1) it writes the
// EIP-712 safeTxHash and the owner signature over that raw hash, r || s || v with v = 27 + recovery
// id (the form Safe's checkSignatures accepts as an ECDSA owner signature), computed by viem's
// sign({ hash, privateKey }) and independently by ethers' SigningKey.sign. The output is
// deterministic (RFC 6979 nonces, no timestamps); the script fails if the two libraries disagree.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SigningKey, version as ethersVersion } from 'ethers';
import {
  concat,
  encodeFunctionData,
  encodePacked,
  erc20Abi,
  getAddress,
  hashDomain,
  hashTypedData,
  parseEther,
  recoverAddress,
  serializeSignature,
  size,
} from 'viem';
import { privateKeyToAccount, sign } from 'viem/accounts';

const here = dirname(fileURLToPath(import.meta.url));
const viemVersion = JSON.parse(readFileSync(join(here, 'node_modules/viem/package.json'), 'utf8')).version;

let out = join(here, '../../fixtures/golden/safe_signatures.json');
const args = process.argv.slice(2);
if (args.length === 2 && args[0] === '--out') out = args[1];
else if (args.length !== 0) {
  process.stderr.write('usage: node sign_golden.mjs [--out FILE]\n');
  process.exit(64);
}

// Anvil's (and hardhat's) account #0 from the public test mnemonic: never a real key.
const PRIVATE_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const CHAIN_ID = 1n;
const SAFE = getAddress('0x5afe5afe5afe5afe5afe5afe5afe5afe5afe5afe');
const RECIPIENT = getAddress('0x70997970c51812dc3a010c7d01b50e0d17dc79c8'); // anvil account #1
const USDC = getAddress('0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48'); // mainnet USDC
const ZERO = '0x0000000000000000000000000000000000000000';

// Canonical batch contracts (fixtures/safe/safe-facts.json): 1.1.1 has only MultiSend, later
// versions have MultiSendCallOnly, which the Safe reaches by DELEGATECALL.
const BATCH_TARGET = {
  '1.1.1': { name: 'MultiSend', address: getAddress('0x8D29bE29923b68abfDD21e541b9374737B49cdAD') },
  '1.3.0': { name: 'MultiSendCallOnly', address: getAddress('0x40A2aCCbd92BCA938b02010E17A5b8929b49130D') },
  '1.4.1': { name: 'MultiSendCallOnly', address: getAddress('0x9641d764fc13c8B624c04430C7356C1C7C8102e2') },
};

const SAFE_TX_TYPE = [
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
];

const MULTISEND_ABI = [{
  type: 'function',
  name: 'multiSend',
  stateMutability: 'payable',
  inputs: [{ name: 'transactions', type: 'bytes' }],
  outputs: [],
}];

function safeTx(fields) {
  return {
    value: 0n,
    data: '0x',
    operation: 0,
    safeTxGas: 0n,
    baseGas: 0n,
    gasPrice: 0n,
    gasToken: ZERO,
    refundReceiver: ZERO,
    nonce: 0n,
    ...fields,
  };
}

const erc20Transfer = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [RECIPIENT, 1_000_000_000n] });

function batchCalldata() {
  const items = [
    { operation: 0, to: RECIPIENT, value: parseEther('0.1'), data: '0x' },
    { operation: 0, to: USDC, value: 0n, data: erc20Transfer },
  ];
  const packed = concat(items.map((i) => encodePacked(['uint8', 'address', 'uint256', 'uint256', 'bytes'],
    [i.operation, i.to, i.value, BigInt(size(i.data)), i.data])));
  return encodeFunctionData({ abi: MULTISEND_ABI, functionName: 'multiSend', args: [packed] });
}

function cases() {
  const list = [];
  for (const version of ['1.1.1', '1.3.0', '1.4.1']) {
    list.push({
      name: `eth-transfer-${version}`,
      version,
      description: 'CALL sending 1 ETH to anvil account #1',
      tx: safeTx({ to: RECIPIENT, value: parseEther('1'), nonce: 0n }),
    });
    list.push({
      name: `erc20-transfer-${version}`,
      version,
      description: 'CALL to USDC: transfer(anvil account #1, 1000 USDC)',
      tx: safeTx({ to: USDC, data: erc20Transfer, nonce: 1n }),
    });
    const target = BATCH_TARGET[version];
    list.push({
      name: `multisend-delegatecall-${version}`,
      version,
      description: `DELEGATECALL to the canonical ${target.name}: a batch of 0.1 ETH to anvil account #1 and a 1000 USDC transfer`,
      tx: safeTx({ to: target.address, data: batchCalldata(), operation: 1, value: 0n, nonce: 2n }),
    });
  }
  return list;
}

// Safe's domain: EIP712Domain(address verifyingContract) before 1.3.0,
// EIP712Domain(uint256 chainId,address verifyingContract) from 1.3.0 on.
function safeTypedData(version, tx) {
  const withChainId = version !== '1.1.1' && version !== '1.2.0';
  const domain = withChainId ? { chainId: CHAIN_ID, verifyingContract: SAFE } : { verifyingContract: SAFE };
  const EIP712Domain = withChainId
    ? [{ name: 'chainId', type: 'uint256' }, { name: 'verifyingContract', type: 'address' }]
    : [{ name: 'verifyingContract', type: 'address' }];
  return { domain, types: { EIP712Domain, SafeTx: SAFE_TX_TYPE }, primaryType: 'SafeTx', message: tx };
}

async function main() {
  const account = privateKeyToAccount(PRIVATE_KEY);
  const ethersKey = new SigningKey(PRIVATE_KEY);
  const results = [];
  for (const c of cases()) {
    const typed = safeTypedData(c.version, c.tx);
    const safeTxHash = hashTypedData(typed);
    const sig = await sign({ hash: safeTxHash, privateKey: PRIVATE_KEY });
    const viemSignature = serializeSignature(sig);
    const accountSignature = await account.sign({ hash: safeTxHash });
    const ethersSignature = ethersKey.sign(safeTxHash).serialized;
    if (accountSignature !== viemSignature) throw new Error(`${c.name}: viem sign and account.sign differ`);
    if (ethersSignature !== viemSignature) throw new Error(`${c.name}: viem ${viemSignature} != ethers ${ethersSignature}`);
    const recovered = await recoverAddress({ hash: safeTxHash, signature: viemSignature });
    if (recovered !== account.address) throw new Error(`${c.name}: signature recovers ${recovered}`);
    results.push({
      name: c.name,
      description: c.description,
      version: c.version,
      chain_id: CHAIN_ID.toString(),
      safe_address: SAFE,
      tx: {
        to: c.tx.to,
        value: c.tx.value.toString(),
        data: c.tx.data,
        operation: c.tx.operation,
        safe_tx_gas: c.tx.safeTxGas.toString(),
        base_gas: c.tx.baseGas.toString(),
        gas_price: c.tx.gasPrice.toString(),
        gas_token: c.tx.gasToken,
        refund_receiver: c.tx.refundReceiver,
        nonce: c.tx.nonce.toString(),
      },
      domain_separator: hashDomain({ domain: typed.domain, types: typed.types }),
      safe_tx_hash: safeTxHash,
      signer: account.address,
      signature: viemSignature,
      r: sig.r,
      s: sig.s,
      v: Number(sig.v),
      signature_ethers: ethersSignature,
    });
  }
  const doc = {
    about: 'Safe owner signatures over the raw EIP-712 safeTxHash (r || s || v, v = 27 + recovery id, low s, '
      + 'RFC 6979 nonce) by a fixed test key. chain_id is ignored by the 1.1.1 domain. Produced by '
      + 'tests/js/sign_golden.mjs; signature is viem\'s, signature_ethers is ethers\' for the same hash.',
    generated_by: 'tests/js/sign_golden.mjs',
    viem_version: viemVersion,
    ethers_version: ethersVersion,
    private_key: PRIVATE_KEY,
    signer: account.address,
    cases: results,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
  process.stderr.write(`sign_golden: ${results.length} signatures, viem and ethers agree, wrote ${out}\n`);
}

main().catch((err) => {
  process.stderr.write(`sign_golden: ${err.stack ?? err}\n`);
  process.exit(1);
});

#!/usr/bin/env node
// Golden vectors for txguard's EIP-712 withdrawal attestation (issue 6), computed by viem and checked
// against ethers.
//
//   node gen_attestation_vectors.mjs [--out FILE]   (default: ../../fixtures/bridge/attestation_vectors.json)
//
// The attestation is txguard's own design for bridges whose validators sign deposit receipts:
//   domain  EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)
//           = {name: "txguard bridge", version: "1", chainId: <destination chain>,
//              verifyingContract: <the route's destination contract>}
//   type    WithdrawalAttestation(uint256 sourceChainId,bytes32 sourceTxHash,uint256 logIndex,
//           address token,uint256 amount,address recipient,uint256 destinationChainId,uint256 nonce)
// `token` is the token paid on the destination chain, `logIndex` the deposit log's index in its block,
// `nonce` the deposit event's nonce. The definitions are imported from e2e/bridge_chain.mjs, the same
// ones the end-to-end test signs with, so the two cannot drift apart.
//
// For four fixed attestations it writes the domain, the message (integers as decimal strings), the
// domain separator, the struct hash, the digest (viem hashTypedData) and the signatures r || s || v
// (v = 27 + recovery id, RFC 6979) of two fixed keys: e2e validators 0 (operator sky-mavis) and 4
// (axie-dao), keccak256("txguard-e2e-validator-<i>"). Every hash and signature is recomputed with
// ethers' TypedDataEncoder and Wallet.signTypedData; the script fails if they differ or if a signature
// does not recover to its signer. The output is deterministic: rerunning it leaves the file unchanged.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TypedDataEncoder, Wallet, version as ethersVersion } from 'ethers';
import {
  encodeAbiParameters,
  getAddress,
  hashDomain,
  hashStruct,
  keccak256,
  recoverAddress,
  stringToHex,
} from 'viem';
import {
  ATTESTATION_PRIMARY_TYPE,
  ATTESTATION_TYPES,
  VALIDATORS,
  attestationDigest,
  attestationDomain,
  attestationMessageJson,
  signAttestation,
} from './e2e/bridge_chain.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const viemVersion = JSON.parse(readFileSync(join(here, 'node_modules', 'viem', 'package.json'), 'utf8')).version;

let out = join(here, '../../fixtures/bridge/attestation_vectors.json');
const args = process.argv.slice(2);
if (args.length === 2 && args[0] === '--out') out = args[1];
else if (args.length !== 0) {
  process.stderr.write('usage: node gen_attestation_vectors.mjs [--out FILE]\n');
  process.exit(64);
}

const DOMAIN_TYPE = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
];
const SIGNERS = [VALIDATORS[0], VALIDATORS[4]];
const label = (text) => keccak256(stringToHex(text));
const labelAddress = (text) => getAddress(`0x${label(text).slice(-40)}`);
const MAX_UINT256 = (1n << 256n) - 1n;

// The e2e test's shape: a 1,000 TKN deposit on chain 31338 released on 31337.
const e2eMessage = {
  sourceChainId: 31338n,
  sourceTxHash: label('txguard attestation vector: e2e deposit'),
  logIndex: 2n,
  token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  amount: 1000n * 10n ** 18n,
  recipient: labelAddress('txguard attestation vector: recipient'),
  destinationChainId: 31337n,
  nonce: 1n,
};

const CASES = [
  {
    name: 'e2e-deposit',
    description: 'the end-to-end test\'s shape: 1,000 TKN (18 decimals) from chain 31338 to 31337, Deposit log 2 of its block, nonce 1',
    destinationChainId: 31337n,
    verifyingContract: '0x5afe5afE5afE5afE5afE5aFe5aFe5Afe5Afe5AfE',
    message: e2eMessage,
  },
  {
    name: 'e2e-deposit-other-contract',
    description: 'the same message for another destination contract: a different domain, so a different digest (an attestation is bound to its bridge)',
    destinationChainId: 31337n,
    verifyingContract: labelAddress('txguard attestation vector: another bridge'),
    message: e2eMessage,
  },
  {
    name: 'ronin-usdc',
    description: 'Ronin (2020) to Ethereum (1): 1,234.56789 USDC (6 decimals) released by the Ronin bridge contract on Ethereum',
    destinationChainId: 1n,
    verifyingContract: '0x64192819Ac13Ef72bF6b5AE239AC672B43a9AF08',
    message: {
      sourceChainId: 2020n,
      sourceTxHash: label('txguard attestation vector: ronin deposit'),
      logIndex: 17n,
      token: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48',
      amount: 1234567890n,
      recipient: labelAddress('txguard attestation vector: ronin recipient'),
      destinationChainId: 1n,
      nonce: 123456n,
    },
  },
  {
    name: 'boundaries',
    description: 'extreme values: amount and nonce 2^256-1, log index 0, an all-0xff transaction hash, the zero address as recipient, chain ids 2^64-1 (domain and message) and 2^256-1 (source)',
    destinationChainId: (1n << 64n) - 1n,
    verifyingContract: '0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF',
    message: {
      sourceChainId: MAX_UINT256,
      sourceTxHash: `0x${'ff'.repeat(32)}`,
      logIndex: 0n,
      token: '0x0000000000000000000000000000000000000001',
      amount: MAX_UINT256,
      recipient: '0x0000000000000000000000000000000000000000',
      destinationChainId: (1n << 64n) - 1n,
      nonce: MAX_UINT256,
    },
  },
];

function fail(message) {
  process.stderr.write(`gen_attestation_vectors: ${message}\n`);
  process.exit(1);
}

const encodeType = `${ATTESTATION_PRIMARY_TYPE}(${ATTESTATION_TYPES.WithdrawalAttestation.map((f) => `${f.type} ${f.name}`).join(',')})`;
const typeHash = keccak256(stringToHex(encodeType));
const domainEncodeType = `EIP712Domain(${DOMAIN_TYPE.map((f) => `${f.type} ${f.name}`).join(',')})`;

const cases = [];
for (const c of CASES) {
  // viem's signTypedData takes the chain id as a number or bigint; 2^64-1 needs the bigint.
  const domain = { ...attestationDomain(1, c.verifyingContract), chainId: c.destinationChainId };
  const domainSeparator = hashDomain({ domain, types: { EIP712Domain: DOMAIN_TYPE } });
  const structHash = hashStruct({ data: c.message, primaryType: ATTESTATION_PRIMARY_TYPE, types: ATTESTATION_TYPES });
  const digest = attestationDigest(domain, c.message);
  // The struct hash by hand from the encodeType string, as a C++ implementation computes it.
  const byHand = keccak256(encodeAbiParameters(
    [{ type: 'bytes32' }, ...ATTESTATION_TYPES.WithdrawalAttestation.map((f) => ({ type: f.type }))],
    [typeHash, ...ATTESTATION_TYPES.WithdrawalAttestation.map((f) => c.message[f.name])],
  ));
  if (byHand !== structHash) fail(`${c.name}: struct hash by hand ${byHand} != viem hashStruct ${structHash}`);

  const ethersDomain = { ...domain, chainId: domain.chainId.toString() };
  const ethersMessage = attestationMessageJson(c.message);
  if (TypedDataEncoder.hashDomain(ethersDomain) !== domainSeparator) fail(`${c.name}: ethers domain separator differs`);
  if (TypedDataEncoder.from(ATTESTATION_TYPES).hash(ethersMessage) !== structHash) fail(`${c.name}: ethers struct hash differs`);
  if (TypedDataEncoder.hash(ethersDomain, ATTESTATION_TYPES, ethersMessage) !== digest) fail(`${c.name}: ethers digest differs`);

  const signatures = [];
  for (const v of SIGNERS) {
    const signature = await signAttestation(v.key, domain, c.message);
    const signatureEthers = await new Wallet(v.key).signTypedData(ethersDomain, ATTESTATION_TYPES, ethersMessage);
    if (signature !== signatureEthers) fail(`${c.name}: validator ${v.index}: viem ${signature} != ethers ${signatureEthers}`);
    if (await recoverAddress({ hash: digest, signature }) !== v.address) fail(`${c.name}: validator ${v.index}: signature does not recover`);
    signatures.push({
      validator: v.index,
      operator: v.operator,
      address: v.address,
      signature,
      r: signature.slice(0, 66),
      s: `0x${signature.slice(66, 130)}`,
      v: Number.parseInt(signature.slice(130), 16),
    });
  }
  cases.push({
    name: c.name,
    description: c.description,
    domain: { name: domain.name, version: domain.version, chainId: domain.chainId.toString(), verifyingContract: domain.verifyingContract },
    message: attestationMessageJson(c.message),
    domain_separator: domainSeparator,
    struct_hash: structHash,
    digest,
    signatures,
  });
}
if (cases[0].digest === cases[1].digest) fail('the domain does not bind the contract: two cases share a digest');

const document = {
  provenance: `generated by viem ${viemVersion} (hashDomain, hashStruct, hashTypedData, signTypedData) with tests/js/gen_attestation_vectors.mjs; ` +
    `every hash and signature recomputed with ethers ${ethersVersion} (TypedDataEncoder, Wallet.signTypedData) and equal; ` +
    'the struct hash also computed by hand from encode_type. Keys are public test keys, never real ones.',
  primaryType: ATTESTATION_PRIMARY_TYPE,
  types: { EIP712Domain: DOMAIN_TYPE, ...ATTESTATION_TYPES },
  encode_type: encodeType,
  type_hash: typeHash,
  domain_encode_type: domainEncodeType,
  domain_type_hash: keccak256(stringToHex(domainEncodeType)),
  keys: SIGNERS.map((v) => ({
    validator: v.index,
    operator: v.operator,
    private_key: v.key,
    derivation: `keccak256("txguard-e2e-validator-${v.index}")`,
    address: v.address,
  })),
  cases,
};

mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`);
process.stderr.write(`gen_attestation_vectors: ${cases.length} cases, ${cases.length * SIGNERS.length} signatures -> ${out}\n`);

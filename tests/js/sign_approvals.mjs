#!/usr/bin/env node
// Golden approver signatures for txguard's hold approvals, signed by viem and by ethers.
//
//   node sign_approvals.mjs [--out FILE]     (default: ../../fixtures/golden/approvals.json)
//
// An approver approves (or rejects) a held request by signing EIP-712 typed data:
//   domain  EIP712Domain(string name,string version) = { name: "txguard", version: "1" }
//   type    Approval(bytes32 requestHash,string decisionId,string verdict)
// (policy/approval.hpp). For fixed approver keys (anvil's accounts #1, #2 and #3) and a few fixed
// approvals (approve and reject, different request hashes and decision ids, a non-ASCII and an empty
// decision id) it writes the eth_signTypedData_v4 JSON, the domain separator, the message hash, the
// digest and the signature r || s || v (v = 27 + recovery id), computed by viem's account.signTypedData
// and independently by ethers' Wallet.signTypedData. The script fails if the two differ in any hash or
// signature, or if a signature does not recover to its signer.
//
// One case also carries signature_alt: a second valid low-s signature by the same key over the same
// digest, with an RFC 6979 nonce derived with fixed additional data (section 3.6) by @noble/curves, so
// that a test can submit two different valid signatures by one approver. Both viem and ethers must
// recover it to the signer.
//
// The output is deterministic (RFC 6979 nonces, no timestamps): rerunning it leaves the file unchanged.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { secp256k1 } from '@noble/curves/secp256k1';
import { TypedDataEncoder, Wallet, verifyTypedData, version as ethersVersion } from 'ethers';
import {
  hashDomain,
  hashStruct,
  hashTypedData,
  keccak256,
  recoverTypedDataAddress,
  stringToBytes,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

const here = dirname(fileURLToPath(import.meta.url));
const packageVersion = (name) => JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8')).version;
const viemVersion = packageVersion('viem');
const nobleVersion = packageVersion('@noble/curves');

let out = join(here, '../../fixtures/golden/approvals.json');
const args = process.argv.slice(2);
if (args.length === 2 && args[0] === '--out') out = args[1];
else if (args.length !== 0) {
  process.stderr.write('usage: node sign_approvals.mjs [--out FILE]\n');
  process.exit(64);
}

// Anvil's (and hardhat's) accounts #1..#3 from the public test mnemonic: never real keys.
const APPROVERS = [
  { name: 'alice', account: 1, private_key: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' },
  { name: 'bob', account: 2, private_key: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a' },
  { name: 'carol', account: 3, private_key: '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6' },
];

const DOMAIN = { name: 'txguard', version: '1' };
const TYPES = {
  EIP712Domain: [
    { name: 'name', type: 'string' },
    { name: 'version', type: 'string' },
  ],
  Approval: [
    { name: 'requestHash', type: 'bytes32' },
    { name: 'decisionId', type: 'string' },
    { name: 'verdict', type: 'string' },
  ],
};
// ethers derives EIP712Domain from the domain object and refuses it among the types (it would be an
// unused second root).
const ETHERS_TYPES = { Approval: TYPES.Approval };

const requestHash = (label) => keccak256(stringToBytes(label));
const ZERO_HASH = `0x${'00'.repeat(32)}`;
const FF_HASH = `0x${'ff'.repeat(32)}`;

// Additional data for the alternative RFC 6979 nonce of signature_alt.
const ALT_ENTROPY = keccak256(stringToBytes('txguard approvals: alternative nonce'));

const CASES = [
  {
    name: 'approve-ulid',
    description: 'alice approves request 1 under a ULID-shaped decision id',
    approver: 'alice',
    request_hash: requestHash('txguard test request 1'),
    decision_id: '01JA2ZK7Q3M4X8B2N6K5T0V1W2',
    verdict: 'approve',
    alt: true,
  },
  {
    name: 'reject-ulid',
    description: 'bob rejects the same request and decision as approve-ulid',
    approver: 'bob',
    request_hash: requestHash('txguard test request 1'),
    decision_id: '01JA2ZK7Q3M4X8B2N6K5T0V1W2',
    verdict: 'reject',
  },
  {
    name: 'approve-ulid-bob',
    description: 'bob approves the same request and decision as approve-ulid (a second approver of one quorum)',
    approver: 'bob',
    request_hash: requestHash('txguard test request 1'),
    decision_id: '01JA2ZK7Q3M4X8B2N6K5T0V1W2',
    verdict: 'approve',
  },
  {
    name: 'approve-non-ascii',
    description: 'carol approves request 2 under a decision id with Latin-1, CJK and astral-plane characters',
    approver: 'carol',
    request_hash: requestHash('txguard test request 2'),
    decision_id: 'décision-承認-🔐',
    verdict: 'approve',
  },
  {
    name: 'reject-empty-id',
    description: 'alice rejects request 2 under the empty decision id',
    approver: 'alice',
    request_hash: requestHash('txguard test request 2'),
    decision_id: '',
    verdict: 'reject',
  },
  {
    name: 'approve-zero-hash',
    description: 'carol approves the all-zero request hash under the empty decision id',
    approver: 'carol',
    request_hash: ZERO_HASH,
    decision_id: '',
    verdict: 'approve',
  },
  {
    name: 'reject-ff-hash',
    description: 'bob rejects the all-0xff request hash under a one-character decision id',
    approver: 'bob',
    request_hash: FF_HASH,
    decision_id: 'd',
    verdict: 'reject',
  },
];

function typedData(c) {
  return {
    types: TYPES,
    primaryType: 'Approval',
    domain: DOMAIN,
    message: { requestHash: c.request_hash, decisionId: c.decision_id, verdict: c.verdict },
  };
}

function serialize(r, s, recovery) {
  return `0x${r.toString(16).padStart(64, '0')}${s.toString(16).padStart(64, '0')}${(27 + recovery).toString(16)}`;
}

async function main() {
  const byName = new Map(APPROVERS.map((a) => [a.name, {
    ...a,
    viem: privateKeyToAccount(a.private_key),
    ethers: new Wallet(a.private_key),
  }]));
  for (const a of byName.values()) {
    if (a.viem.address !== a.ethers.address) throw new Error(`${a.name}: viem ${a.viem.address} != ethers ${a.ethers.address}`);
  }

  const domainSeparator = hashDomain({ domain: DOMAIN, types: TYPES });
  if (TypedDataEncoder.hashDomain(DOMAIN) !== domainSeparator) throw new Error('domain separators differ');

  const results = [];
  for (const c of CASES) {
    const a = byName.get(c.approver);
    const typed = typedData(c);
    const digest = hashTypedData(typed);
    const ethersDigest = TypedDataEncoder.hash(DOMAIN, ETHERS_TYPES, typed.message);
    if (ethersDigest !== digest) throw new Error(`${c.name}: viem digest ${digest} != ethers ${ethersDigest}`);
    const messageHash = hashStruct({ data: typed.message, primaryType: 'Approval', types: TYPES });

    const signature = await a.viem.signTypedData(typed);
    const signatureEthers = await a.ethers.signTypedData(DOMAIN, ETHERS_TYPES, typed.message);
    if (signatureEthers !== signature) throw new Error(`${c.name}: viem ${signature} != ethers ${signatureEthers}`);
    const recovered = await recoverTypedDataAddress({ ...typed, signature });
    if (recovered !== a.viem.address) throw new Error(`${c.name}: signature recovers ${recovered}`);

    const entry = {
      name: c.name,
      description: c.description,
      approver: c.approver,
      signer: a.viem.address,
      request_hash: c.request_hash,
      decision_id: c.decision_id,
      verdict: c.verdict,
      typed_data: typed,
      domain_separator: domainSeparator,
      message_hash: messageHash,
      digest,
      signature,
      signature_ethers: signatureEthers,
    };
    if (c.alt) {
      const sig = secp256k1.sign(digest.slice(2), a.private_key.slice(2), { lowS: true, extraEntropy: ALT_ENTROPY.slice(2) });
      const alt = serialize(sig.r, sig.s, sig.recovery);
      if (alt === signature) throw new Error(`${c.name}: the alternative nonce gave the same signature`);
      const altViem = await recoverTypedDataAddress({ ...typed, signature: alt });
      const altEthers = verifyTypedData(DOMAIN, ETHERS_TYPES, typed.message, alt);
      if (altViem !== a.viem.address || altEthers !== a.viem.address) {
        throw new Error(`${c.name}: signature_alt recovers ${altViem} (viem), ${altEthers} (ethers)`);
      }
      entry.signature_alt = alt;
    }
    results.push(entry);
  }

  const doc = {
    about: 'Approver signatures over txguard approval typed data (EIP712Domain(string name,string version) '
      + '{name: "txguard", version: "1"}, Approval(bytes32 requestHash,string decisionId,string verdict)): '
      + 'r || s || v, v = 27 + recovery id, low s, RFC 6979 nonce, by anvil test accounts #1..#3. Produced by '
      + 'tests/js/sign_approvals.mjs; signature is viem\'s signTypedData, signature_ethers is ethers\' for the '
      + 'same typed data; signature_alt is a second valid signature by the same key (RFC 6979 with '
      + 'additional data alt_nonce_entropy, @noble/curves).',
    generated_by: 'tests/js/sign_approvals.mjs',
    viem_version: viemVersion,
    ethers_version: ethersVersion,
    noble_curves_version: nobleVersion,
    alt_nonce_entropy: ALT_ENTROPY,
    approvers: APPROVERS.map((a) => ({
      name: a.name,
      anvil_account: a.account,
      private_key: a.private_key,
      address: byName.get(a.name).viem.address,
    })),
    cases: results,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
  process.stderr.write(`sign_approvals: ${results.length} approvals, viem and ethers agree, wrote ${out}\n`);
}

main().catch((err) => {
  process.stderr.write(`sign_approvals: ${err.stack ?? err}\n`);
  process.exit(1);
});

#!/usr/bin/env node
// Web3 Secret Storage (V3) keystores written by ethers, for txguard's keystore tests.
//
//   node make_keystores.mjs [--out DIR]          (default: ../../fixtures/keystore)
//   node make_keystores.mjs --check FILE PASSPHRASE_FILE ADDRESS
//
// The first form writes one keystore per case below for a fixed public test key (anvil's account
// #0), plus the PBKDF2 test vector of the Web3 Secret Storage Definition, and `vectors.json`, the
// index the C++ tests iterate: file, passphrase, kdf, expected address and key. Salt, IV and UUID of
// each case are derived from its name (keccak256), so rerunning the script reproduces every file byte
// for byte. Each file is decrypted again by ethers before it is written; the script fails if any
// does not give back its key and address.
//
// The second form is the other direction of the interop check: ethers decrypts a keystore that
// txguard wrote (the passphrase is read from a file, never from argv) and the script exits 0 only if
// the address matches. tests/cli/keys_cli_test.sh runs it when node and ethers are installed.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decryptKeystoreJsonSync,
  encryptKeystoreJsonSync,
  getAddress,
  computeAddress,
  keccak256,
  toUtf8Bytes,
  dataSlice,
  version as ethersVersion,
} from 'ethers';

const here = dirname(fileURLToPath(import.meta.url));

function usage() {
  process.stderr.write('usage: node make_keystores.mjs [--out DIR]\n' +
    '       node make_keystores.mjs --check FILE PASSPHRASE_FILE ADDRESS\n');
  process.exit(64);
}

const args = process.argv.slice(2);
if (args[0] === '--check') {
  if (args.length !== 4) usage();
  const [, file, passFile, address] = args;
  // One trailing newline is not part of the passphrase (txguard keys reads the file the same way).
  const passphrase = readFileSync(passFile, 'utf8').replace(/\r?\n$/, '');
  const account = decryptKeystoreJsonSync(readFileSync(file, 'utf8'), passphrase);
  if (account.address !== getAddress(address)) {
    process.stderr.write(`ethers decrypted ${file} to ${account.address}, expected ${getAddress(address)}\n`);
    process.exit(1);
  }
  process.stdout.write(`ethers ${ethersVersion} decrypts ${file} to ${account.address}\n`);
  process.exit(0);
}

let outDir = join(here, '../../fixtures/keystore');
if (args.length === 2 && args[0] === '--out') outDir = args[1];
else if (args.length !== 0) usage();

// Anvil's (and hardhat's) account #0 from the public test mnemonic: never a real key.
const PRIVATE_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const ADDRESS = computeAddress(PRIVATE_KEY);
const PASSPHRASE = 'txguard test passphrase';
// Non-ASCII, already in NFKC form: ethers NFKC-normalises passphrases before UTF-8 encoding, geth and
// txguard use the bytes as given, so only NFKC-stable passphrases mean the same key to all three.
const PASSPHRASE_UTF8 = 'p\u00e4ssw\u00f6rd \u2713 \u{1F511}';
if (PASSPHRASE_UTF8.normalize('NFKC') !== PASSPHRASE_UTF8) throw new Error('the UTF-8 passphrase must be NFKC-stable');

// n = 1024 is txguard's floor (signers/keystore.hpp): small enough for the sanitizer build, and
// accepted. One case uses ethers' default parameters (n = 2^17, r = 8, p = 1) as a real wallet would.
const CASES = [
  { name: 'ethers-scrypt-n1024', passphrase: PASSPHRASE, scrypt: { N: 1024, r: 8, p: 1 },
    what: 'scrypt n=1024 r=8 p=1' },
  { name: 'ethers-scrypt-n1024-r4-p2', passphrase: PASSPHRASE, scrypt: { N: 1024, r: 4, p: 2 },
    what: 'scrypt n=1024 r=4 p=2 (r and p must not be swapped)' },
  { name: 'ethers-scrypt-n1024-utf8', passphrase: PASSPHRASE_UTF8, scrypt: { N: 1024, r: 8, p: 1 },
    what: 'scrypt n=1024 r=8 p=1, non-ASCII passphrase' },
  { name: 'ethers-scrypt-default', passphrase: PASSPHRASE, scrypt: null,
    what: "ethers' default scrypt n=131072 r=8 p=1" },
];

// Web3 Secret Storage Definition, "Test Vectors", PBKDF2-SHA-256
// (https://ethereum.org/en/developers/docs/data-structures-and-encoding/web3-secret-storage/#PBKDF2-SHA-256),
// copied verbatim; the same JSON is go-ethereum's accounts/keystore/testdata/v3_test_vector.json
// "wikipage_test_vector_pbkdf2". Password "testpassword", secret 7a28b5ba...fe9d, address 008aeeda...786b.
const SPEC_PBKDF2 = {
  name: 'web3-spec-pbkdf2',
  passphrase: 'testpassword',
  privateKey: '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d',
  address: getAddress('0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b'),
  what: 'PBKDF2-SHA-256 c=262144, the Web3 Secret Storage Definition test vector (no address field)',
  json: `{
  "crypto" : {
    "cipher" : "aes-128-ctr",
    "cipherparams" : {
      "iv" : "6087dab2f9fdbbfaddc31a909735c1e6"
    },
    "ciphertext" : "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
    "kdf" : "pbkdf2",
    "kdfparams" : {
      "c" : 262144,
      "dklen" : 32,
      "prf" : "hmac-sha256",
      "salt" : "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"
    },
    "mac" : "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"
  },
  "id" : "3198bc9c-6672-5ab3-d995-4942343ae5b6",
  "version" : 3
}
`,
};

function derived(label, name, bytes) {
  return dataSlice(keccak256(toUtf8Bytes(`txguard keystore fixture ${label} ${name}`)), 0, bytes);
}

function check(json, passphrase, privateKey, address, name) {
  const account = decryptKeystoreJsonSync(json, passphrase);
  if (account.privateKey !== privateKey || account.address !== address) {
    throw new Error(`${name}: ethers does not decrypt its own keystore back to the key`);
  }
}

mkdirSync(outDir, { recursive: true });
const vectors = [];
for (const c of CASES) {
  const options = { salt: derived('salt', c.name, 32), iv: derived('iv', c.name, 16), uuid: derived('uuid', c.name, 16) };
  if (c.scrypt) options.scrypt = c.scrypt;
  const json = encryptKeystoreJsonSync({ address: ADDRESS, privateKey: PRIVATE_KEY }, c.passphrase, options);
  check(json, c.passphrase, PRIVATE_KEY, ADDRESS, c.name);
  const file = `${c.name}.json`;
  writeFileSync(join(outDir, file), json + '\n');
  const params = JSON.parse(json).Crypto.kdfparams;
  vectors.push({ file, passphrase: c.passphrase, kdf: 'scrypt', n: params.n, r: params.r, p: params.p,
    address: ADDRESS, private_key: PRIVATE_KEY, description: c.what });
}
check(SPEC_PBKDF2.json, SPEC_PBKDF2.passphrase, SPEC_PBKDF2.privateKey, SPEC_PBKDF2.address, SPEC_PBKDF2.name);
writeFileSync(join(outDir, `${SPEC_PBKDF2.name}.json`), SPEC_PBKDF2.json);
vectors.push({ file: `${SPEC_PBKDF2.name}.json`, passphrase: SPEC_PBKDF2.passphrase, kdf: 'pbkdf2', c: 262144,
  address: SPEC_PBKDF2.address, private_key: SPEC_PBKDF2.privateKey, description: SPEC_PBKDF2.what });

const index = {
  generator: `tests/js/make_keystores.mjs with ethers ${ethersVersion}`,
  note: 'public test keys only: anvil account #0 and the Web3 Secret Storage test vector',
  vectors,
};
writeFileSync(join(outDir, 'vectors.json'), JSON.stringify(index, null, 2) + '\n');
process.stderr.write(`wrote ${vectors.length} keystores and vectors.json to ${outDir}\n`);

#!/usr/bin/env node
// Differential test cases for txguard's codec, computed by viem as an independent reference.
//
//   node gen_differential.mjs [--seed N] [--count N] --out FILE|-
//
// Writes JSON Lines (one case per line, see README.md for the exact format). The output is a pure
// function of (seed, count): randomness comes from the seeded PRNG below, never Math.random, and
// every ECDSA signature is RFC 6979 deterministic. Every encoding, hash, signature and address in
// the output is produced by viem's own functions; this script only chooses the inputs and writes
// them out in a canonical JSON form.

import { closeSync, openSync, writeSync } from 'node:fs';
import {
  bytesToHex,
  concat,
  encodeAbiParameters,
  encodeFunctionData,
  encodePacked,
  getAddress,
  getTypesForEIP712Domain,
  hashDomain,
  hashStruct,
  hashTypedData,
  keccak256,
  recoverAddress,
  serializeTransaction,
  size,
} from 'viem';
import { hashAuthorization, recoverAuthorizationAddress } from 'viem/utils';
import { privateKeyToAccount, privateKeyToAddress, sign, signAuthorization } from 'viem/accounts';

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const opts = { seed: 1, count: 10000, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--seed') opts.seed = parseNonNegativeInt(next(), a);
    else if (a === '--count') opts.count = parseNonNegativeInt(next(), a);
    else if (a === '--out') opts.out = next();
    else if (a === '--help' || a === '-h') usage(null);
    else usage(`unknown argument ${a}`);
  }
  if (opts.out === null) usage('--out is required');
  return opts;
}

function parseNonNegativeInt(s, name) {
  if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s))) usage(`${name} must be a non-negative integer`);
  return Number(s);
}

function usage(message) {
  const text = 'usage: node gen_differential.mjs [--seed N] [--count N] --out FILE|-\n';
  if (message) {
    process.stderr.write(`gen_differential: ${message}\n${text}`);
    process.exit(64);
  }
  process.stdout.write(text);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Seeded PRNG: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator), state initialised
// from the seed words through splitmix32. Fast, 128-bit state, good enough statistics for test
// generation, and bit-for-bit reproducible across Node versions (32-bit integer arithmetic only).

function splitmix32(x) {
  x = (x + 0x9e3779b9) >>> 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [x, (z ^ (z >>> 16)) >>> 0];
}

class Rng {
  // words: any number of 32-bit unsigned integers that identify the stream.
  constructor(...words) {
    let x = 0x6a09e667;
    const state = [];
    for (const w of words) {
      [x] = splitmix32((x ^ (w >>> 0)) >>> 0);
    }
    for (let i = 0; i < 4; i++) {
      let out;
      [x, out] = splitmix32(x);
      state.push(out);
    }
    [this.a, this.b, this.c, this.d] = state;
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32() {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = (this.b ^ (this.b >>> 9)) >>> 0;
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  // Uniform integer in [0, n) for 0 < n <= 2^32 (rejection sampling: no modulo bias).
  int(n) {
    if (n <= 0 || n > 0x100000000) throw new Error(`Rng.int: bad bound ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const v = this.u32();
      if (v < limit) return v % n;
    }
  }

  range(lo, hi) {
    return lo + this.int(hi - lo + 1);
  }

  chance(p) {
    return this.u32() < p * 0x100000000;
  }

  pick(list) {
    return list[this.int(list.length)];
  }

  bytes(n) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      out[i] = v & 0xff;
      if (i + 1 < n) out[i + 1] = (v >>> 8) & 0xff;
      if (i + 2 < n) out[i + 2] = (v >>> 16) & 0xff;
      if (i + 3 < n) out[i + 3] = v >>> 24;
    }
    return out;
  }

  // Uniform BigInt in [0, 2^bits).
  bits(bits) {
    if (bits === 0) return 0n;
    const nbytes = Math.ceil(bits / 8);
    const b = this.bytes(nbytes);
    let v = 0n;
    for (const x of b) v = (v << 8n) | BigInt(x);
    return v & ((1n << BigInt(bits)) - 1n);
  }

  shuffle(list) {
    for (let i = list.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [list[i], list[j]] = [list[j], list[i]];
    }
    return list;
  }
}

// ---------------------------------------------------------------------------------------------
// Random inputs. Integers lean on the boundaries where encoders go wrong: zero, one, the RLP
// single-byte limit 0x7f/0x80, every byte-length boundary 2^(8k) - 1 / 2^(8k), 2^64 - 1 and
// the type's maximum.

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const MAX_U64 = (1n << 64n) - 1n;

function uintEdge(rng, bits) {
  const max = (1n << BigInt(bits)) - 1n;
  const r = rng.int(100);
  if (r < 8) return 0n;
  if (r < 12) return 1n;
  if (r < 20) return BigInt(rng.int(256)) & max;
  if (r < 26) return rng.pick([0x7fn, 0x80n, 0xffn, 0x100n, 0x37n, 0x38n]) & max;
  if (r < 32) return max;
  if (r < 35) return max - 1n;
  if (r < 45) {
    const k = 8 * rng.range(1, Math.max(1, bits / 8));
    const p = 1n << BigInt(Math.min(k, bits));
    const v = rng.chance(0.5) ? p - 1n : p;
    return v > max ? max : v;
  }
  if (r < 50 && bits >= 64) return rng.pick([MAX_U64, MAX_U64 + 1n, MAX_U64 - 1n]) & max;
  return rng.bits(rng.range(1, bits));
}

function intEdge(rng, bits) {
  const half = 1n << BigInt(bits - 1);
  const r = rng.int(100);
  if (r < 8) return 0n;
  if (r < 14) return -1n;
  if (r < 18) return 1n;
  if (r < 24) return -half;
  if (r < 30) return half - 1n;
  if (r < 33) return -half + 1n;
  if (r < 40) return BigInt(rng.range(-128, 127));
  const v = rng.bits(rng.range(1, bits));
  return v >= half ? v - 2n * half : v;
}

// A random number that fits JavaScript's safe integer range (viem types chain ids as `number`).
function chainIdEdge(rng) {
  const r = rng.int(100);
  if (r < 15) return 1;
  if (r < 25) return rng.pick([5, 10, 56, 100, 137, 8453, 42161, 11155111, 31337]);
  // EIP-155 v = chainId * 2 + 35/36 crosses a byte boundary at chain id 110 (v 255 / 256).
  if (r < 35) return rng.pick([109, 110, 111, 127, 128, 255, 256]);
  if (r < 45) return rng.pick([2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53 - 2, 2 ** 48]);
  return rng.range(1, 2 ** 32 - 1) * rng.pick([1, 1, 1, 2048]) + rng.int(2);
}

function hexBytes(rng, n) {
  return bytesToHex(rng.bytes(n));
}

// Byte strings around the RLP and ABI length boundaries, mostly short, rarely (0.3%) past 64 KiB.
function dataEdge(rng, { allowHuge = true } = {}) {
  const r = rng.int(1000);
  if (r < 250) return '0x';
  if (r < 330) return bytesToHex(Uint8Array.of(rng.int(0x80))); // RLP: a single byte < 0x80 is its own encoding
  if (r < 380) return bytesToHex(Uint8Array.of(0x80 + rng.int(0x80)));
  if (r < 420) return bytesToHex(new Uint8Array(rng.range(1, 40))); // all zero bytes
  if (r < 520) return hexBytes(rng, rng.pick([4, 31, 32, 33, 55, 56, 57, 63, 64, 65]));
  if (r < 600) return hexBytes(rng, rng.pick([4, 36, 68, 100, 132]));
  if (r < 900) return hexBytes(rng, rng.range(2, 200));
  if (r < 985) return hexBytes(rng, rng.pick([255, 256, 257, rng.range(200, 2048)]));
  if (!allowHuge || r < 997) return hexBytes(rng, rng.range(2048, 4096));
  // RLP needs a three-byte length from 65,536 bytes on.
  return hexBytes(rng, rng.pick([65535, 65536, rng.range(65537, 70000)]));
}

function addressEdge(rng) {
  const r = rng.int(100);
  if (r < 5) return getAddress('0x0000000000000000000000000000000000000000');
  if (r < 8) return getAddress('0xffffffffffffffffffffffffffffffffffffffff');
  if (r < 11) return getAddress(bytesToHex(Uint8Array.of(...new Uint8Array(19), rng.range(1, 255))));
  return getAddress(hexBytes(rng, 20));
}

function privateKey(rng) {
  const r = rng.int(1000);
  let k;
  if (r < 5) k = 1n;
  else if (r < 10) k = SECP256K1_N - 1n;
  else {
    do k = rng.bits(256);
    while (k === 0n || k >= SECP256K1_N);
  }
  return `0x${k.toString(16).padStart(64, '0')}`;
}

// Unicode text: ASCII with JSON-escaped characters, control characters, two-, three- and
// four-byte UTF-8 sequences. Never a lone surrogate, so the output is valid UTF-8.
function stringEdge(rng) {
  const r = rng.int(100);
  if (r < 10) return '';
  const n = r < 90 ? rng.range(1, 40) : rng.range(41, 300);
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = rng.int(100);
    let cp;
    if (c < 60) cp = rng.range(0x20, 0x7e);
    else if (c < 65) cp = rng.pick([0x22, 0x5c, 0x2f, 0x0a, 0x09, 0x0d, 0x00, 0x1f, 0x7f]);
    else if (c < 75) cp = rng.range(0x80, 0x7ff);
    else if (c < 88) cp = rng.pick([rng.range(0x800, 0xd7ff), rng.range(0xe000, 0xfffd)]);
    else cp = rng.range(0x10000, 0x10ffff);
    s += String.fromCodePoint(cp);
  }
  return s;
}

function decimal(v) {
  return BigInt(v).toString(10);
}

// ---------------------------------------------------------------------------------------------
// kind "transaction"

const TX_VARIANTS = ['legacy', 'legacy_eip155', 'eip2930', 'eip1559', 'eip4844', 'eip7702'];
const TX_TYPE_NUMBER = { legacy: 0, legacy_eip155: 0, eip2930: 1, eip1559: 2, eip4844: 3, eip7702: 4 };

// Nonces and gas limits are uint64 in the protocol; viem takes a number or a bigint.
function u64Field(rng, max = MAX_U64) {
  let v = uintEdge(rng, 64);
  if (v > max) v = max;
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

// EIP-2681: a transaction nonce is at most 2^64 - 2 (2^64 - 1 makes the transaction invalid).
function txNonce(rng) {
  return u64Field(rng, MAX_U64 - 1n);
}

function accessListEdge(rng) {
  if (rng.chance(0.4)) return [];
  const n = rng.range(1, 3);
  const list = [];
  for (let i = 0; i < n; i++) {
    const keys = [];
    const k = rng.int(4);
    for (let j = 0; j < k; j++) keys.push(rng.chance(0.1) ? `0x${'00'.repeat(32)}` : hexBytes(rng, 32));
    list.push({ address: addressEdge(rng), storageKeys: keys });
  }
  return list;
}

function sigJson(sig, v) {
  return { y_parity: sig.yParity, r: sig.r, s: sig.s, v: decimal(v) };
}

async function genTransaction(rng, sub) {
  const variant = TX_VARIANTS[sub % TX_VARIANTS.length];
  const key = privateKey(rng);
  const account = privateKeyToAccount(key);
  const tx = { type: variant.startsWith('legacy') ? 'legacy' : variant };
  const canCreate = variant === 'legacy' || variant === 'legacy_eip155' || variant === 'eip2930' || variant === 'eip1559';

  if (variant !== 'legacy') tx.chainId = chainIdEdge(rng);
  tx.nonce = txNonce(rng);
  if (variant === 'legacy' || variant === 'legacy_eip155' || variant === 'eip2930') {
    tx.gasPrice = uintEdge(rng, 256);
  } else {
    tx.maxFeePerGas = uintEdge(rng, 256);
    const tip = uintEdge(rng, 256);
    tx.maxPriorityFeePerGas = rng.chance(0.1) ? tx.maxFeePerGas : tip % (tx.maxFeePerGas + 1n);
  }
  tx.gas = BigInt(u64Field(rng));
  tx.to = canCreate && rng.chance(0.12) ? null : addressEdge(rng);
  tx.value = uintEdge(rng, 256);
  tx.data = dataEdge(rng);
  if (variant !== 'legacy' && variant !== 'legacy_eip155') tx.accessList = accessListEdge(rng);
  if (variant === 'eip4844') {
    tx.maxFeePerBlobGas = uintEdge(rng, 256);
    const n = rng.range(1, 6);
    tx.blobVersionedHashes = [];
    for (let i = 0; i < n; i++) tx.blobVersionedHashes.push(bytesToHex(Uint8Array.of(1, ...rng.bytes(31))));
  }
  const authorities = [];
  if (variant === 'eip7702') {
    const n = rng.int(4);
    tx.authorizationList = [];
    for (let i = 0; i < n; i++) {
      const authKey = privateKey(rng);
      const r = rng.int(100);
      // EIP-7702: chain_id 0 means "valid on any chain"; chain_id is a uint256, nonce a uint64.
      const chainId = r < 25 ? 0 : r < 60 ? tx.chainId : r < 80 ? chainIdEdge(rng) : uintEdge(rng, 256);
      const auth = await signAuthorization({
        address: addressEdge(rng),
        chainId,
        nonce: u64Field(rng),
        privateKey: authKey,
      });
      const authority = privateKeyToAddress(authKey);
      const recovered = await recoverAuthorizationAddress({ authorization: auth });
      if (recovered !== authority) throw new Error(`viem disagrees with itself on an authority: ${recovered} ${authority}`);
      tx.authorizationList.push(auth);
      authorities.push({ authority, signing_hash: hashAuthorization(auth) });
    }
  }

  const unsigned = serializeTransaction(tx);
  const signingHash = keccak256(unsigned);
  const sig = await sign({ hash: signingHash, privateKey: key });
  const signed = await account.signTransaction(tx);
  if (serializeTransaction(tx, sig) !== signed) throw new Error('viem signTransaction differs from sign + serialize');
  // (recoverTransactionAddress would re-parse the transaction, which viem cannot do for nonces or
  // chain ids past 2^53; recover from the signing hash instead.)
  const from = await recoverAddress({ hash: signingHash, signature: sig });
  if (from !== account.address) throw new Error(`viem recovers ${from}, key is ${account.address}`);

  let v = BigInt(sig.yParity);
  if (variant === 'legacy') v = 27n + v;
  else if (variant === 'legacy_eip155') v = BigInt(tx.chainId) * 2n + 35n + v;

  const fields = {};
  fields.chain_id = variant === 'legacy' ? null : decimal(tx.chainId);
  fields.nonce = decimal(tx.nonce);
  if ('gasPrice' in tx) fields.gas_price = decimal(tx.gasPrice);
  if ('maxFeePerGas' in tx) {
    fields.max_priority_fee_per_gas = decimal(tx.maxPriorityFeePerGas);
    fields.max_fee_per_gas = decimal(tx.maxFeePerGas);
  }
  fields.gas = decimal(tx.gas);
  fields.to = tx.to;
  fields.value = decimal(tx.value);
  fields.data = tx.data;
  if ('accessList' in tx) {
    fields.access_list = tx.accessList.map((e) => ({ address: e.address, storage_keys: e.storageKeys }));
  }
  if (variant === 'eip4844') {
    fields.max_fee_per_blob_gas = decimal(tx.maxFeePerBlobGas);
    fields.blob_versioned_hashes = tx.blobVersionedHashes;
  }
  if (variant === 'eip7702') {
    fields.authorization_list = tx.authorizationList.map((a, i) => ({
      chain_id: decimal(a.chainId),
      address: a.address,
      nonce: decimal(a.nonce),
      y_parity: a.yParity,
      r: a.r,
      s: a.s,
      signing_hash: authorities[i].signing_hash,
      authority: authorities[i].authority,
    }));
  }

  return {
    tx_type: TX_TYPE_NUMBER[variant],
    eip155: variant === 'legacy_eip155',
    private_key: key,
    fields,
    unsigned,
    signing_hash: signingHash,
    signature: sigJson(sig, v),
    signed,
    hash: keccak256(signed),
    from: account.address,
  };
}

// ---------------------------------------------------------------------------------------------
// ABI types and values, shared by "abi" and "typed_data".
//
// A type is { t: 'uint'|'int', bits } | { t: 'address'|'bool'|'bytes'|'string' }
// | { t: 'bytesN', n } | { t: 'array', of, len (null = dynamic) } | { t: 'tuple', comps }.

const UINT_BITS = Array.from({ length: 32 }, (_, i) => 8 * (i + 1));

function atomicType(rng) {
  const r = rng.int(100);
  if (r < 22) return { t: 'uint', bits: rng.pick(UINT_BITS) };
  if (r < 40) return { t: 'int', bits: rng.pick(UINT_BITS) };
  if (r < 52) return { t: 'address' };
  if (r < 60) return { t: 'bool' };
  if (r < 76) return { t: 'bytesN', n: rng.range(1, 32) };
  if (r < 88) return { t: 'bytes' };
  return { t: 'string' };
}

function canonical(type) {
  switch (type.t) {
    case 'uint':
    case 'int':
      return `${type.t}${type.bits}`;
    case 'bytesN':
      return `bytes${type.n}`;
    case 'array':
      return `${canonical(type.of)}[${type.len ?? ''}]`;
    case 'tuple':
      return `(${type.comps.map(canonical).join(',')})`;
    default:
      return type.t;
  }
}

// tupleDepth counts enclosing tuples (at most 3 levels of tuple), arrayDepth enclosing arrays.
function abiType(rng, tupleDepth, arrayDepth) {
  const r = rng.int(100);
  if (r < 20 && arrayDepth < 2) {
    const of = abiType(rng, tupleDepth, arrayDepth + 1);
    return { t: 'array', of, len: rng.chance(0.55) ? null : rng.range(1, 3) };
  }
  if (r < 34 && tupleDepth < 3) {
    const n = rng.range(1, 4);
    const comps = [];
    for (let i = 0; i < n; i++) comps.push(abiType(rng, tupleDepth + 1, arrayDepth));
    return { t: 'tuple', comps };
  }
  return atomicType(rng);
}

// viem's AbiParameter for a type: a tuple (or array of tuples) names its base 'tuple' and lists
// its components; unnamed components make viem take the tuple's value as an array.
function toAbiParameter(type) {
  let suffix = '';
  let base = type;
  while (base.t === 'array') {
    suffix = `[${base.len ?? ''}]${suffix}`;
    base = base.of;
  }
  if (base.t === 'tuple') return { type: `tuple${suffix}`, components: base.comps.map(toAbiParameter) };
  return { type: canonical(type) };
}

// Returns [viemValue, jsonValue].
function abiValue(rng, type) {
  switch (type.t) {
    case 'uint': {
      const v = uintEdge(rng, type.bits);
      return [v, decimal(v)];
    }
    case 'int': {
      const v = intEdge(rng, type.bits);
      return [v, decimal(v)];
    }
    case 'address': {
      const a = addressEdge(rng);
      return [a, a];
    }
    case 'bool': {
      const b = rng.chance(0.5);
      return [b, b];
    }
    case 'bytesN': {
      const r = rng.int(10);
      const bytes = r === 0 ? new Uint8Array(type.n) : r === 1 ? new Uint8Array(type.n).fill(0xff) : rng.bytes(type.n);
      const h = bytesToHex(bytes);
      return [h, h];
    }
    case 'bytes': {
      const h = dataEdge(rng, { allowHuge: false });
      return [h, h];
    }
    case 'string': {
      const s = stringEdge(rng);
      return [s, s];
    }
    case 'array': {
      const n = type.len ?? rng.pick([0, 0, 1, 1, 2, 3]);
      const v = [];
      const j = [];
      for (let i = 0; i < n; i++) {
        const [a, b] = abiValue(rng, type.of);
        v.push(a);
        j.push(b);
      }
      return [v, j];
    }
    case 'tuple': {
      const v = [];
      const j = [];
      for (const c of type.comps) {
        const [a, b] = abiValue(rng, c);
        v.push(a);
        j.push(b);
      }
      return [v, j];
    }
    default:
      throw new Error(`abiValue: ${type.t}`);
  }
}

// ---------------------------------------------------------------------------------------------
// kind "abi"

function genAbi(rng) {
  const r = rng.int(100);
  const n = r < 3 ? 0 : r < 30 ? 1 : rng.range(2, 6);
  const types = [];
  for (let i = 0; i < n; i++) types.push(abiType(rng, 0, 0));
  const params = types.map(toAbiParameter);
  const values = [];
  const json = [];
  for (const t of types) {
    const [v, j] = abiValue(rng, t);
    values.push(v);
    json.push(j);
  }
  return {
    types: types.map(canonical),
    values: json,
    encoded: encodeAbiParameters(params, values),
  };
}

// ---------------------------------------------------------------------------------------------
// kind "typed_data" (EIP-712, eth_signTypedData_v4 JSON)

const STRUCT_NAMES = ['Mail', 'Person', 'Asset', 'Order', 'Leg', 'Fee', 'Permit', 'Call', 'Wallet', 'Group',
  'zeta', 'alpha', 'Order_Item', 'Item', 'Z', 'a', 'B2', 'b', 'Transfer', 'TransferDetails'];
const FIELD_NAMES = ['to', 'from', 'amount', 'value', 'data', 'nonce', 'deadline', 'owner', 'spender', 'name',
  'contents', 'items', 'wallets', 'id', 'flag', 'salt', 'memo', 'x', 'y_1', 'Z'];

class TypedDataBuilder {
  constructor(rng) {
    this.rng = rng;
    this.types = {};
    this.done = []; // struct names whose definitions are complete (safe to reference: no cycle)
    this.used = new Set();
  }

  freshName() {
    for (;;) {
      const base = this.rng.pick(STRUCT_NAMES);
      const name = this.used.has(base) ? `${base}${this.rng.int(100)}` : base;
      if (!this.used.has(name)) {
        this.used.add(name);
        return name;
      }
    }
  }

  // Returns a struct name, defining it (and anything it references) in this.types.
  struct(depth) {
    const name = this.freshName();
    const rng = this.rng;
    const nfields = rng.chance(0.02) ? 0 : rng.range(1, 6);
    const fields = [];
    const names = new Set();
    for (let i = 0; i < nfields; i++) {
      let fname = rng.pick(FIELD_NAMES);
      while (names.has(fname)) fname = `${fname}${rng.int(10)}`;
      names.add(fname);
      fields.push({ name: fname, type: this.fieldType(depth) });
    }
    this.types[name] = fields;
    this.done.push(name);
    return name;
  }

  fieldType(depth) {
    const rng = this.rng;
    const r = rng.int(100);
    const structRef = () => {
      if (this.done.length > 0 && rng.chance(0.3)) return this.rng.pick(this.done);
      return this.struct(depth + 1);
    };
    const canNest = depth < 3;
    if (r < 55 || !canNest) {
      const base = canonical(atomicType(rng));
      if (r < 40 || !canNest) return base;
      return `${base}[${rng.chance(0.6) ? '' : rng.range(1, 3)}]${rng.chance(0.1) ? '[]' : ''}`;
    }
    if (r < 80) return structRef();
    return `${structRef()}[${rng.chance(0.6) ? '' : rng.range(1, 3)}]${rng.chance(0.08) ? `[${rng.chance(0.5) ? '' : 2}]` : ''}`;
  }

  // Returns [viemValue, jsonValue] for a field type string.
  value(type) {
    const rng = this.rng;
    const m = type.match(/^(.*)\[([0-9]*)\]$/);
    if (m) {
      const n = m[2] === '' ? rng.pick([0, 0, 1, 1, 2, 3]) : Number(m[2]);
      const v = [];
      const j = [];
      for (let i = 0; i < n; i++) {
        const [a, b] = this.value(m[1]);
        v.push(a);
        j.push(b);
      }
      return [v, j];
    }
    if (this.types[type] !== undefined) {
      const v = {};
      const j = {};
      for (const f of this.types[type]) [v[f.name], j[f.name]] = this.value(f.type);
      return [v, j];
    }
    return abiValue(rng, parseAtomic(type));
  }
}

function parseAtomic(type) {
  let m = type.match(/^(u?int)([0-9]+)$/);
  if (m) return { t: m[1], bits: Number(m[2]) };
  m = type.match(/^bytes([0-9]+)$/);
  if (m) return { t: 'bytesN', n: Number(m[1]) };
  return { t: type };
}

function domainEdge(rng) {
  const domain = {};
  const json = {};
  if (rng.chance(0.6)) domain.name = json.name = stringEdge(rng);
  if (rng.chance(0.5)) domain.version = json.version = rng.chance(0.7) ? rng.pick(['1', '2', '1.0.0', '']) : stringEdge(rng);
  if (rng.chance(0.6)) {
    domain.chainId = rng.chance(0.7) ? BigInt(chainIdEdge(rng)) : uintEdge(rng, 256);
    json.chainId = decimal(domain.chainId);
  }
  if (rng.chance(0.6)) domain.verifyingContract = json.verifyingContract = addressEdge(rng);
  if (rng.chance(0.25)) domain.salt = json.salt = hexBytes(rng, 32);
  return [domain, json];
}

function genTypedData(rng) {
  const b = new TypedDataBuilder(rng);
  const primaryType = b.struct(0);
  const [domain, domainJson] = domainEdge(rng);
  const [message, messageJson] = b.value(primaryType);
  const types = { EIP712Domain: getTypesForEIP712Domain({ domain }) };
  for (const name of Object.keys(b.types)) types[name] = b.types[name];
  const digest = hashTypedData({ domain, types, primaryType, message });
  return {
    typed_data: { types, primaryType, domain: domainJson, message: messageJson },
    domain_separator: hashDomain({ domain, types }),
    struct_hash: hashStruct({ data: message, primaryType, types }),
    digest,
  };
}

// ---------------------------------------------------------------------------------------------
// kind "safe_tx"

const SAFE_VERSIONS = ['1.1.1', '1.2.0', '1.3.0', '1.4.1', '1.5.0'];
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
const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';

// Safe's domain: EIP712Domain(address verifyingContract) up to 1.2.0, and
// EIP712Domain(uint256 chainId,address verifyingContract) from 1.3.0 on. No name, no version.
function safeDomainTypes(version) {
  const withChainId = version !== '1.1.1' && version !== '1.2.0';
  return withChainId
    ? [{ name: 'chainId', type: 'uint256' }, { name: 'verifyingContract', type: 'address' }]
    : [{ name: 'verifyingContract', type: 'address' }];
}

function safeTxHash(version, chainId, safe, tx) {
  const domainTypes = safeDomainTypes(version);
  const domain = domainTypes.length === 2 ? { chainId, verifyingContract: safe } : { verifyingContract: safe };
  const types = { EIP712Domain: domainTypes, SafeTx: SAFE_TX_TYPE };
  return {
    domain_separator: hashDomain({ domain, types }),
    safe_tx_hash: hashTypedData({ domain, types, primaryType: 'SafeTx', message: tx }),
  };
}

function smallOrEdge(rng, bits) {
  return rng.chance(0.5) ? BigInt(rng.int(500000)) : uintEdge(rng, bits);
}

function genSafeTx(rng, sub) {
  const version = SAFE_VERSIONS[sub % SAFE_VERSIONS.length];
  const chainId = rng.chance(0.6) ? BigInt(chainIdEdge(rng)) : uintEdge(rng, 256);
  const safe = addressEdge(rng);
  const tx = {
    to: rng.chance(0.1) ? safe : addressEdge(rng),
    value: uintEdge(rng, 256),
    data: dataEdge(rng, { allowHuge: false }),
    operation: rng.int(2),
    safeTxGas: smallOrEdge(rng, 256),
    baseGas: smallOrEdge(rng, 256),
    gasPrice: rng.chance(0.6) ? 0n : uintEdge(rng, 256),
    gasToken: rng.chance(0.7) ? ZERO_ADDRESS : addressEdge(rng),
    refundReceiver: rng.chance(0.7) ? ZERO_ADDRESS : addressEdge(rng),
    nonce: smallOrEdge(rng, 256),
  };
  const hashes = safeTxHash(version, chainId, safe, tx);
  return {
    version,
    chain_id: decimal(chainId),
    safe_address: safe,
    tx: {
      to: tx.to,
      value: decimal(tx.value),
      data: tx.data,
      operation: tx.operation,
      safe_tx_gas: decimal(tx.safeTxGas),
      base_gas: decimal(tx.baseGas),
      gas_price: decimal(tx.gasPrice),
      gas_token: tx.gasToken,
      refund_receiver: tx.refundReceiver,
      nonce: decimal(tx.nonce),
    },
    ...hashes,
  };
}

// ---------------------------------------------------------------------------------------------
// kind "multisend"

const MULTISEND_ABI = [{
  type: 'function',
  name: 'multiSend',
  stateMutability: 'payable',
  inputs: [{ name: 'transactions', type: 'bytes' }],
  outputs: [],
}];

function genMultiSend(rng) {
  const n = rng.range(1, 12);
  const items = [];
  const packed = [];
  for (let i = 0; i < n; i++) {
    const item = {
      operation: rng.chance(0.8) ? 0 : 1,
      to: addressEdge(rng),
      value: rng.chance(0.5) ? 0n : uintEdge(rng, 256),
      data: rng.chance(0.3) ? '0x' : dataEdge(rng, { allowHuge: false }),
    };
    packed.push(encodePacked(['uint8', 'address', 'uint256', 'uint256', 'bytes'],
      [item.operation, item.to, item.value, BigInt(size(item.data)), item.data]));
    items.push({ operation: item.operation, to: item.to, value: decimal(item.value), data: item.data });
  }
  const transactions = concat(packed);
  return {
    items,
    transactions,
    calldata: encodeFunctionData({ abi: MULTISEND_ABI, functionName: 'multiSend', args: [transactions] }),
  };
}

// ---------------------------------------------------------------------------------------------
// Driver

// Share of each kind in a run; with the default count of 10,000 every kind gets at least 1,000.
const KIND_SHARES = [
  ['transaction', 0.35],
  ['abi', 0.2],
  ['typed_data', 0.2],
  ['safe_tx', 0.125],
  ['multisend', 0.125],
];
const KIND_TAG = { transaction: 1, abi: 2, typed_data: 3, safe_tx: 4, multisend: 5 };

function schedule(seed, count) {
  const plan = [];
  let assigned = 0;
  for (const [kind, share] of KIND_SHARES) {
    const n = Math.floor(count * share);
    for (let i = 0; i < n; i++) plan.push(kind);
    assigned += n;
  }
  for (let i = 0; assigned < count; i++, assigned++) plan.push(KIND_SHARES[i % KIND_SHARES.length][0]);
  const rng = new Rng(seed % 0x100000000, Math.floor(seed / 0x100000000), 0x5c4ed);
  return rng.shuffle(plan);
}

async function generateCase(seed, index, kind, sub) {
  // Each case has its own stream, so one case can be regenerated without the ones before it.
  const rng = new Rng(seed % 0x100000000, Math.floor(seed / 0x100000000), KIND_TAG[kind], index);
  const head = { kind, id: `${seed}/${index}` };
  switch (kind) {
    case 'transaction':
      return { ...head, ...(await genTransaction(rng, sub)) };
    case 'abi':
      return { ...head, ...genAbi(rng) };
    case 'typed_data':
      return { ...head, ...genTypedData(rng) };
    case 'safe_tx':
      return { ...head, ...genSafeTx(rng, sub) };
    case 'multisend':
      return { ...head, ...genMultiSend(rng) };
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = process.hrtime.bigint();
  const plan = schedule(opts.seed, opts.count);
  const fd = opts.out === '-' ? 1 : openSync(opts.out, 'w');
  const perKind = {};
  let buffer = [];
  let bufferedChars = 0;
  const flush = () => {
    if (buffer.length === 0) return;
    writeSync(fd, buffer.join(''));
    buffer = [];
    bufferedChars = 0;
  };
  for (let i = 0; i < plan.length; i++) {
    const kind = plan[i];
    const sub = perKind[kind] ?? 0;
    perKind[kind] = sub + 1;
    const line = `${JSON.stringify(await generateCase(opts.seed, i, kind, sub))}\n`;
    buffer.push(line);
    bufferedChars += line.length;
    if (bufferedChars > 1 << 20) flush();
  }
  flush();
  if (fd !== 1) closeSync(fd);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const summary = KIND_SHARES.map(([k]) => `${k}=${perKind[k] ?? 0}`).join(' ');
  process.stderr.write(`gen_differential: ${plan.length} cases (${summary}) seed ${opts.seed} in ${seconds.toFixed(1)} s\n`);
}

main().catch((err) => {
  process.stderr.write(`gen_differential: ${err.stack ?? err}\n`);
  process.exit(1);
});

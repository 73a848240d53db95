// Ethereum transactions, types 0 to 4. Field layouts: EIP-155 (legacy replay protection), EIP-2718
// (typed envelope), EIP-2930, EIP-1559, EIP-4844, EIP-7702. Signature rules: EIP-2 (low s) and the
// secp256k1 scalar range; EIP-2681 bounds the nonce.
//
// Speed: the decoder reads every byte once, from views. The signing hash is computed over slices of
// the input (the unsigned fields are contiguous in the signed encoding, and a canonical input's
// slices are exactly what the encoder would write), so nothing is re-encoded to be hashed; the only
// allocations are the output's own vectors.
#include "policy/codec/transaction.hpp"

#include <array>
#include <limits>
#include <string>

#include "policy/codec/keccak.hpp"
#include "policy/codec/rlp.hpp"
#include "policy/codec/secp256k1.hpp"

namespace txguard::codec {

namespace {

using rlp::Item;

constexpr std::size_t kMaxFields = 14;  // a signed EIP-4844 transaction
constexpr std::uint64_t kMaxNonce = std::numeric_limits<std::uint64_t>::max();  // excluded, EIP-2681
// EIP-7702: the authorization message is MAGIC || rlp([chain_id, address, nonce]).
constexpr std::uint8_t kAuthorizationMagic = 0x05;

struct FieldCounts {
  std::size_t unsigned_count;
  std::size_t signed_count;
};

constexpr FieldCounts field_counts(TxnType type) {
  switch (type) {
    case TxnType::kLegacy: return {6, 9};
    case TxnType::kAccessList: return {8, 11};
    case TxnType::kDynamicFee: return {9, 12};
    case TxnType::kBlob: return {11, 14};
    case TxnType::kSetCode: return {10, 13};
  }
  return {0, 0};
}

// An RLP header in a stack buffer, so that a hash over [header, slice...] allocates nothing.
struct Header {
  std::array<std::uint8_t, 9> bytes{};
  std::size_t size = 0;

  Header(bool is_list, std::size_t payload_size) {
    if (payload_size < 56) {
      bytes[0] = static_cast<std::uint8_t>((is_list ? 0xc0 : 0x80) + payload_size);
      size = 1;
      return;
    }
    const std::size_t length_of_length = rlp::header_size(payload_size) - 1;
    bytes[0] = static_cast<std::uint8_t>((is_list ? 0xf7 : 0xb7) + length_of_length);
    for (std::size_t i = 0; i < length_of_length; ++i) {
      bytes[1 + i] = static_cast<std::uint8_t>(payload_size >> (8 * (length_of_length - 1 - i)));
    }
    size = 1 + length_of_length;
  }
  ByteView view() const noexcept { return {bytes.data(), size}; }
};

// The canonical encoding of a uint64 in a stack buffer.
struct EncodedU64 {
  std::array<std::uint8_t, 9> bytes{};
  std::size_t size = 0;

  explicit EncodedU64(std::uint64_t value) {
    if (value != 0 && value < 0x80) {
      bytes[0] = static_cast<std::uint8_t>(value);
      size = 1;
      return;
    }
    std::size_t length = 0;
    for (std::uint64_t n = value; n != 0; n >>= 8) ++length;
    bytes[0] = static_cast<std::uint8_t>(0x80 + length);
    for (std::size_t i = 0; i < length; ++i) bytes[1 + i] = static_cast<std::uint8_t>(value >> (8 * (length - 1 - i)));
    size = 1 + length;
  }
  ByteView view() const noexcept { return {bytes.data(), size}; }
};

// The encoded items first..last (inclusive) of one list, as one contiguous view of the input.
ByteView span_of(const Item& first, const Item& last) {
  const std::uint8_t* begin = first.encoded().data();
  const std::uint8_t* end = last.encoded().data() + last.encoded_size();
  return {begin, static_cast<std::size_t>(end - begin)};
}

bool is_empty_string(const Item& item) { return !item.is_list && item.payload.empty(); }

// Reads fields into the output, keeping the first error. Each method returns false on error, so a
// decoder reads as a chain of `&&`.
class FieldReader {
 public:
  std::optional<DecodeError> error;

  template <class T>
  bool take(Decoded<T>&& result, T& out) {
    if (!result) return fail_with(std::move(result.error()));
    out = std::move(*result);
    return true;
  }

  bool fail_with(DecodeError e) {
    error = std::move(e);
    return false;
  }
  bool fail_with(DecodeErrc code, std::size_t offset, std::string detail) {
    return fail_with(DecodeError{code, offset, {}, std::move(detail)});
  }

  bool u64(const Item& item, std::uint64_t& out) { return take(rlp::decode_u64(item), out); }
  bool u256(const Item& item, U256& out) { return take(rlp::decode_u256(item), out); }

  bool nonce(const Item& item, std::uint64_t& out) {
    if (!u64(item, out)) return false;
    if (out == kMaxNonce) return fail_with(DecodeErrc::kInvalidField, item.offset, "nonce 2^64-1 (EIP-2681)");
    return true;
  }

  bool data(const Item& item, Bytes& out) {
    ByteView view;
    if (!take(rlp::decode_bytes(item), view)) return false;
    out.assign(view.begin(), view.end());
    return true;
  }

  // `to`: the empty string is contract creation, else exactly 20 bytes.
  bool to(const Item& item, TxnType type, std::optional<Address>& out) {
    if (item.is_list) return fail_with(DecodeErrc::kUnexpectedList, item.offset, "expected `to`");
    if (item.payload.empty()) {
      // EIP-4844 and EIP-7702 have no creation form: their `to` is an address, not an optional one.
      if (type == TxnType::kBlob || type == TxnType::kSetCode) {
        return fail_with(DecodeErrc::kMissingField, item.offset, "this transaction type requires `to`");
      }
      out.reset();
      return true;
    }
    Address address;
    if (!take(rlp::decode_address(item), address)) return false;
    out = address;
    return true;
  }

  // EIP-2930: [[address, [storageKey, ...]], ...]
  bool access_list(const Item& item, std::vector<AccessListEntry>& out) {
    rlp::ListReader entries;
    if (!take(rlp::list_items(item), entries)) return false;
    out.reserve(item.payload.size() / 23);  // the smallest entry, [address, []], is 23 bytes
    while (!entries.done()) {
      Item entry;
      if (!take(entries.next(), entry)) return false;
      std::array<Item, 2> parts;
      std::size_t count = 0;
      if (!take(rlp::split_list(entry, parts), count)) return false;
      if (count != 2) {
        return fail_with(DecodeErrc::kWrongFieldCount, entry.offset, "access-list entry is [address, storageKeys]");
      }
      AccessListEntry& decoded = out.emplace_back();
      if (!take(rlp::decode_address(parts[0]), decoded.address)) return false;
      if (!hashes(parts[1], decoded.storage_keys)) return false;
    }
    return true;
  }

  // A list of 32-byte values (storage keys, blob versioned hashes).
  bool hashes(const Item& item, std::vector<Hash32>& out) {
    rlp::ListReader reader;
    if (!take(rlp::list_items(item), reader)) return false;
    out.reserve(item.payload.size() / 33);  // exact when every entry is valid
    while (!reader.done()) {
      Item entry;
      if (!take(reader.next(), entry)) return false;
      if (!take(rlp::decode_hash(entry), out.emplace_back())) return false;
    }
    return true;
  }

  // EIP-7702: [[chain_id, address, nonce, y_parity, r, s], ...]
  bool authorization_list(const Item& item, bool recover, std::vector<Authorization>& out) {
    rlp::ListReader reader;
    if (!take(rlp::list_items(item), reader)) return false;
    out.reserve(item.payload.size() / 30);  // the smallest tuple is about 30 bytes
    while (!reader.done()) {
      Item tuple;
      if (!take(reader.next(), tuple)) return false;
      std::array<Item, 6> f;
      std::size_t count = 0;
      if (!take(rlp::split_list(tuple, f), count)) return false;
      if (count != f.size()) {
        return fail_with(DecodeErrc::kWrongFieldCount, tuple.offset,
                         "authorization is [chain_id, address, nonce, y_parity, r, s]");
      }
      Authorization& a = out.emplace_back();
      std::uint64_t y_parity = 0;
      // Widths as go-ethereum's Authorization struct decodes them (uint256, address, uint64, uint8,
      // uint256, uint256): a wider integer fails the transaction's decoding, not just this tuple.
      if (!u256(f[0], a.chain_id) || !take(rlp::decode_address(f[1]), a.address) || !u64(f[2], a.nonce) ||
          !u64(f[3], y_parity) || !take(rlp::decode_word(f[4]), a.r) || !take(rlp::decode_word(f[5]), a.s)) {
        return false;
      }
      if (y_parity > 0xff) return fail_with(DecodeErrc::kOverflow, f[3].offset, "y_parity wider than a byte");
      a.y_parity = static_cast<std::uint8_t>(y_parity);
      judge_authorization(f, recover, a);
    }
    return true;
  }

 private:
  // A bad authorization signature does not fail the transaction: the chain skips the tuple
  // (EIP-7702), so it is flagged here and the tuple kept for the policy to see.
  static void judge_authorization(const std::array<Item, 6>& f, bool recover, Authorization& a) {
    if (a.y_parity > 1) {
      a.authority_error = DecodeErrc::kInvalidV;
    } else if (!is_in_scalar_range(a.r) || !is_in_scalar_range(a.s)) {
      a.authority_error = DecodeErrc::kInvalidSignature;
    } else if (!is_low_s(a.s)) {
      a.authority_error = DecodeErrc::kHighS;  // EIP-7702 requires s <= n/2 like EIP-2
    }
    if (a.authority_error || !recover) return;
    const ByteView signed_fields = span_of(f[0], f[2]);
    const Header header(true, signed_fields.size());
    const std::uint8_t magic = kAuthorizationMagic;
    const Hash32 digest = keccak256({ByteView(&magic, 1), header.view(), signed_fields});
    auto authority = recover_address(digest, a.r, a.s, a.y_parity, SPolicy::kLowSOnly);
    if (authority) {
      a.authority = *authority;
    } else {
      a.authority_error = authority.error().code;
    }
  }
};

// The secp256k1 range of r and s, and EIP-2's low s. Offsets point at the r or s item.
Decoded<void> check_signature(const TxnSignature& sig, const Item& r_item, const Item& s_item) {
  if (!is_in_scalar_range(sig.r)) return fail(DecodeErrc::kInvalidSignature, r_item.offset, {}, "r outside [1, n-1]");
  if (!is_in_scalar_range(sig.s)) return fail(DecodeErrc::kInvalidSignature, s_item.offset, {}, "s outside [1, n-1]");
  if (!is_low_s(sig.s)) return fail(DecodeErrc::kHighS, s_item.offset, {}, "s > n/2 (EIP-2)");
  return {};
}

Decoded<void> check_chain(const TxnDecodeOptions& options, std::uint64_t chain_id, const Item& where) {
  if (options.expected_chain_id && *options.expected_chain_id != chain_id) {
    return fail(DecodeErrc::kInvalidField, where.offset, {},
                "chain id " + std::to_string(chain_id) + ", expected " + std::to_string(*options.expected_chain_id));
  }
  return {};
}

Decoded<std::size_t> split_fields(const Item& list, TxnType type, TxnForm form, std::array<Item, kMaxFields>& f) {
  const FieldCounts counts = field_counts(type);
  auto count = rlp::split_list(list, std::span<Item>(f.data(), counts.signed_count));
  if (!count) return count;
  const bool is_signed_count = *count == counts.signed_count;
  const bool is_unsigned_count = *count == counts.unsigned_count;
  bool ok = false;
  switch (form) {
    case TxnForm::kAny: ok = is_signed_count || is_unsigned_count; break;
    case TxnForm::kSigned: ok = is_signed_count; break;
    // The unsigned EIP-155 form [.., chainId, 0, 0] has as many fields as a signed legacy list.
    case TxnForm::kUnsigned: ok = is_unsigned_count || (type == TxnType::kLegacy && is_signed_count); break;
  }
  if (!ok) {
    return fail(DecodeErrc::kWrongFieldCount, list.offset, {},
                "transaction list has " + std::to_string(*count) + " fields; unsigned " +
                    std::to_string(counts.unsigned_count) + ", signed " + std::to_string(counts.signed_count));
  }
  return count;
}

Decoded<Transaction> decode_legacy(ByteView raw, const Item& list, const TxnDecodeOptions& options) {
  std::array<Item, kMaxFields> f;
  auto count = split_fields(list, TxnType::kLegacy, options.form, f);
  if (!count) return std::unexpected(std::move(count.error()));

  Transaction txn;
  txn.type = TxnType::kLegacy;
  FieldReader rd;
  if (!rd.nonce(f[0], txn.nonce) || !rd.u256(f[1], txn.gas_price) || !rd.u64(f[2], txn.gas_limit) ||
      !rd.to(f[3], txn.type, txn.to) || !rd.u256(f[4], txn.value) || !rd.data(f[5], txn.data)) {
    return std::unexpected(std::move(*rd.error));
  }
  if (*count == 6) {
    txn.signing_hash = keccak256(raw);
    return txn;
  }

  // Nine fields: [.., chainId, 0, 0] unsigned (EIP-155's signing payload) or [.., v, r, s] signed.
  const bool zero_rs = is_empty_string(f[7]) && is_empty_string(f[8]);
  const bool is_unsigned = options.form == TxnForm::kUnsigned || (options.form == TxnForm::kAny && zero_rs);
  if (is_unsigned) {
    if (!zero_rs) return fail(DecodeErrc::kInvalidField, f[7].offset, {}, "unsigned EIP-155 form must end in 0, 0");
    std::uint64_t chain_id = 0;
    if (!rd.u64(f[6], chain_id)) return std::unexpected(std::move(*rd.error));
    if (chain_id == 0) return fail(DecodeErrc::kInvalidField, f[6].offset, {}, "EIP-155 chain id 0");
    if (auto ok = check_chain(options, chain_id, f[6]); !ok) return std::unexpected(std::move(ok.error()));
    txn.chain_id = chain_id;
    txn.signing_hash = keccak256(raw);
    return txn;
  }

  TxnSignature sig;
  if (!rd.u256(f[6], sig.v) || !rd.take(rlp::decode_word(f[7]), sig.r) || !rd.take(rlp::decode_word(f[8]), sig.s)) {
    return std::unexpected(std::move(*rd.error));
  }
  // EIP-155: v = chainId * 2 + 35 + yParity, with chainId >= 1; before it, v = 27 + yParity.
  if (sig.v == 27 || sig.v == 28) {
    sig.y_parity = static_cast<std::uint8_t>(sig.v == 28 ? 1 : 0);
  } else if (sig.v >= 37) {
    const U256 t = sig.v - 35;
    const auto chain_id = to_u64(t >> 1);
    if (!chain_id) return fail(DecodeErrc::kInvalidV, f[6].offset, {}, "EIP-155 chain id above 2^64-1");
    sig.y_parity = static_cast<std::uint8_t>((t & 1) == 1 ? 1 : 0);
    txn.chain_id = *chain_id;
    if (auto ok = check_chain(options, *chain_id, f[6]); !ok) return std::unexpected(std::move(ok.error()));
  } else {
    return fail(DecodeErrc::kInvalidV, f[6].offset, {}, "legacy v must be 27, 28 or chainId*2+35/36 with chainId >= 1");
  }
  if (auto ok = check_signature(sig, f[7], f[8]); !ok) return std::unexpected(std::move(ok.error()));

  // The signing payload is rlp([nonce, gasPrice, gas, to, value, data]) before EIP-155, and
  // rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0]) with it.
  const ByteView fields = span_of(f[0], f[5]);
  if (txn.chain_id) {
    const EncodedU64 chain(*txn.chain_id);
    static constexpr std::array<std::uint8_t, 2> kZeroZero{0x80, 0x80};
    const Header header(true, fields.size() + chain.size + kZeroZero.size());
    txn.signing_hash = keccak256({header.view(), fields, chain.view(), ByteView(kZeroZero)});
  } else {
    const Header header(true, fields.size());
    txn.signing_hash = keccak256({header.view(), fields});
  }
  txn.hash = keccak256(raw);
  if (options.recover_sender) {
    auto from = recover_address(txn.signing_hash, sig.r, sig.s, sig.y_parity, SPolicy::kLowSOnly);
    if (!from) return fail(from.error().code, f[7].offset, {}, from.error().detail);
    txn.from = *from;
  }
  txn.signature = sig;
  return txn;
}

Decoded<Transaction> decode_typed(ByteView raw, TxnType type, const Item& list, const TxnDecodeOptions& options) {
  std::array<Item, kMaxFields> f;
  auto count = split_fields(list, type, options.form, f);
  if (!count) return std::unexpected(std::move(count.error()));
  const FieldCounts counts = field_counts(type);

  Transaction txn;
  txn.type = type;
  FieldReader rd;
  std::uint64_t chain_id = 0;
  if (!rd.u64(f[0], chain_id) || !rd.nonce(f[1], txn.nonce)) return std::unexpected(std::move(*rd.error));
  txn.chain_id = chain_id;
  if (auto ok = check_chain(options, chain_id, f[0]); !ok) return std::unexpected(std::move(ok.error()));

  // EIP-2930 has one gas price; EIP-1559 and later replace it with two fee caps.
  std::size_t i = 2;
  bool ok = true;
  if (type == TxnType::kAccessList) {
    ok = rd.u256(f[i++], txn.gas_price);
  } else {
    ok = rd.u256(f[i], txn.max_priority_fee_per_gas) && rd.u256(f[i + 1], txn.max_fee_per_gas);
    i += 2;
  }
  ok = ok && rd.u64(f[i], txn.gas_limit) && rd.to(f[i + 1], type, txn.to) && rd.u256(f[i + 2], txn.value) &&
       rd.data(f[i + 3], txn.data) && rd.access_list(f[i + 4], txn.access_list);
  i += 5;
  if (ok && type == TxnType::kBlob) {
    ok = rd.u256(f[i], txn.max_fee_per_blob_gas) && rd.hashes(f[i + 1], txn.blob_versioned_hashes);
    i += 2;
  } else if (ok && type == TxnType::kSetCode) {
    ok = rd.authorization_list(f[i], options.recover_sender, txn.authorization_list);
    i += 1;
  }
  if (!ok) return std::unexpected(std::move(*rd.error));

  if (*count == counts.unsigned_count) {
    txn.signing_hash = keccak256(raw);
    return txn;
  }

  TxnSignature sig;
  std::uint64_t y_parity = 0;
  if (!rd.u64(f[i], y_parity) || !rd.take(rlp::decode_word(f[i + 1]), sig.r) ||
      !rd.take(rlp::decode_word(f[i + 2]), sig.s)) {
    return std::unexpected(std::move(*rd.error));
  }
  if (y_parity > 1) return fail(DecodeErrc::kInvalidV, f[i].offset, {}, "yParity must be 0 or 1");
  sig.y_parity = static_cast<std::uint8_t>(y_parity);
  sig.v = y_parity;
  if (auto good = check_signature(sig, f[i + 1], f[i + 2]); !good) return std::unexpected(std::move(good.error()));

  // EIP-2718: the signing payload is type || rlp(fields without yParity, r, s).
  const ByteView fields = span_of(f[0], f[i - 1]);
  const Header header(true, fields.size());
  const std::uint8_t type_byte = raw[0];
  txn.signing_hash = keccak256({ByteView(&type_byte, 1), header.view(), fields});
  txn.hash = keccak256(raw);
  if (options.recover_sender) {
    auto from = recover_address(txn.signing_hash, sig.r, sig.s, sig.y_parity, SPolicy::kLowSOnly);
    if (!from) return fail(from.error().code, f[i + 1].offset, {}, from.error().detail);
    txn.from = *from;
  }
  txn.signature = sig;
  return txn;
}

void append_address(Bytes& out, const std::optional<Address>& address) {
  if (address) {
    rlp::append_bytes(out, address->view());
  } else {
    rlp::append_bytes(out, {});
  }
}

// Appends the list whose payload `fill` writes. The payload is built in a scratch buffer and copied
// once: encoding is not on the hot path, decoding is.
template <class Fill>
void append_list(Bytes& out, Fill&& fill) {
  Bytes payload;
  fill(payload);
  rlp::append_header(out, true, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
}

void append_access_list(Bytes& out, const std::vector<AccessListEntry>& access_list) {
  append_list(out, [&](Bytes& entries) {
    for (const AccessListEntry& entry : access_list) {
      append_list(entries, [&](Bytes& e) {
        rlp::append_bytes(e, entry.address.view());
        append_list(e, [&](Bytes& keys) {
          for (const Hash32& key : entry.storage_keys) rlp::append_bytes(keys, key);
        });
      });
    }
  });
}

void append_authorization_fields(Bytes& out, const Authorization& a) {
  rlp::append_uint(out, a.chain_id);
  rlp::append_bytes(out, a.address.view());
  rlp::append_uint(out, a.nonce);
}

Bytes encode(const Transaction& txn, bool with_signature) {
  Bytes payload;
  payload.reserve(txn.data.size() + 160);
  if (txn.type == TxnType::kLegacy) {
    rlp::append_uint(payload, txn.nonce);
    rlp::append_uint(payload, txn.gas_price);
    rlp::append_uint(payload, txn.gas_limit);
    append_address(payload, txn.to);
    rlp::append_uint(payload, txn.value);
    rlp::append_bytes(payload, txn.data);
    if (with_signature) {
      const std::uint8_t y = txn.signature->y_parity;
      const U256 v = txn.chain_id ? U256(*txn.chain_id) * 2 + 35 + y : U256(27 + y);
      rlp::append_uint(payload, v);
      rlp::append_uint_be(payload, txn.signature->r);
      rlp::append_uint_be(payload, txn.signature->s);
    } else if (txn.chain_id) {
      rlp::append_uint(payload, *txn.chain_id);
      rlp::append_uint(payload, std::uint64_t{0});
      rlp::append_uint(payload, std::uint64_t{0});
    }
    return rlp::encode_list_payload(payload);
  }

  rlp::append_uint(payload, txn.chain_id.value_or(0));
  rlp::append_uint(payload, txn.nonce);
  if (txn.type == TxnType::kAccessList) {
    rlp::append_uint(payload, txn.gas_price);
  } else {
    rlp::append_uint(payload, txn.max_priority_fee_per_gas);
    rlp::append_uint(payload, txn.max_fee_per_gas);
  }
  rlp::append_uint(payload, txn.gas_limit);
  append_address(payload, txn.to);
  rlp::append_uint(payload, txn.value);
  rlp::append_bytes(payload, txn.data);
  append_access_list(payload, txn.access_list);
  if (txn.type == TxnType::kBlob) {
    rlp::append_uint(payload, txn.max_fee_per_blob_gas);
    append_list(payload, [&](Bytes& hashes) {
      for (const Hash32& h : txn.blob_versioned_hashes) rlp::append_bytes(hashes, h);
    });
  } else if (txn.type == TxnType::kSetCode) {
    append_list(payload, [&](Bytes& tuples) {
      for (const Authorization& a : txn.authorization_list) {
        append_list(tuples, [&](Bytes& t) {
          append_authorization_fields(t, a);
          rlp::append_uint(t, std::uint64_t{a.y_parity});
          rlp::append_uint_be(t, a.r);
          rlp::append_uint_be(t, a.s);
        });
      }
    });
  }
  if (with_signature) {
    rlp::append_uint(payload, std::uint64_t{txn.signature->y_parity});
    rlp::append_uint_be(payload, txn.signature->r);
    rlp::append_uint_be(payload, txn.signature->s);
  }
  Bytes out;
  out.reserve(1 + rlp::header_size(payload.size()) + payload.size());
  out.push_back(static_cast<std::uint8_t>(txn.type));
  rlp::append_header(out, true, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

}  // namespace

Decoded<Transaction> decode_transaction(ByteView raw, const TxnDecodeOptions& options) {
  if (raw.empty()) return fail(DecodeErrc::kInputTooShort, 0, {}, "empty transaction");
  const std::uint8_t first = raw[0];
  // EIP-2718: a first byte in [0xc0, 0xfe] starts a legacy list; [0x00, 0x7f] is a type byte.
  if (first >= 0xc0) {
    auto list = rlp::decode_item(raw, 0);
    if (!list) return std::unexpected(std::move(list.error()));
    return decode_legacy(raw, *list, options);
  }
  if (first >= 0x80) {
    return fail(DecodeErrc::kUnexpectedString, 0, {}, "a transaction is an RLP list or a type byte and a list");
  }
  if (first < 0x01 || first > 0x04) {
    return fail(DecodeErrc::kUnsupportedTxnType, 0, {}, "transaction type " + std::to_string(first));
  }
  auto list = rlp::decode_item(raw.subspan(1), 1);
  if (!list) return std::unexpected(std::move(list.error()));
  if (!list->is_list) return fail(DecodeErrc::kUnexpectedString, 1, {}, "typed transaction payload must be a list");
  return decode_typed(raw, static_cast<TxnType>(first), *list, options);
}

Bytes encode_transaction(const Transaction& txn) { return encode(txn, txn.signature.has_value()); }

Bytes encode_unsigned_transaction(const Transaction& txn) { return encode(txn, false); }

Hash32 signing_hash(const Transaction& txn) { return keccak256(encode(txn, false)); }

Hash32 authorization_signing_hash(const Authorization& authorization) {
  Bytes out{kAuthorizationMagic};
  append_list(out, [&](Bytes& fields) { append_authorization_fields(fields, authorization); });
  return keccak256(out);
}

}  // namespace txguard::codec

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/rlp.hpp"
#include "policy/codec/secp256k1.hpp"
#include "policy/codec/transaction.hpp"
#include "policy/codec/u256.hpp"

using namespace txguard::codec;

namespace {

Bytes b(std::string_view hex) { return from_hex(hex).value(); }
Hash32 h32(std::string_view hex) { return from_hex_fixed<32>(hex).value(); }
Address addr(std::string_view text) { return parse_address(text).value(); }
Bytes cat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// The public Hardhat/Anvil development key #0 (never a real key).
const SecretKey kKey(h32("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"));
const Address kSender = addr("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
// secp256k1's group order n, and n/2 rounded down (the largest low s).
const U256 kN = parse_u256("0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141").value();
const U256 kHalfN = kN >> 1;

const TxnType kAllTypes[] = {TxnType::kLegacy, TxnType::kAccessList, TxnType::kDynamicFee, TxnType::kBlob,
                             TxnType::kSetCode};

TxnDecodeOptions with_form(TxnForm form) {
  TxnDecodeOptions options;
  options.form = form;
  return options;
}

Authorization signed_authorization(std::uint64_t chain_id, const Address& delegate, std::uint64_t nonce) {
  Authorization a;
  a.chain_id = chain_id;
  a.address = delegate;
  a.nonce = nonce;
  const auto sig = sign_digest(authorization_signing_hash(a), kKey).value();
  a.y_parity = sig.recovery_id;
  a.r = sig.r;
  a.s = sig.s;
  return a;
}

// An unsigned transaction of `type` with every field of that type set to something non-trivial.
Transaction sample(TxnType type) {
  Transaction t;
  t.type = type;
  t.chain_id = 1;
  t.nonce = 7;
  t.gas_limit = 90000;
  t.to = addr("0x3535353535353535353535353535353535353535");
  t.value = U256(1000000000000000000ULL);
  t.data = b("0xa9059cbb000000000000000000000000d8da6bf26964af9d7eed9e03e53415d37aa96045");
  if (type == TxnType::kLegacy || type == TxnType::kAccessList) {
    t.gas_price = U256(20000000000ULL);
  } else {
    t.max_priority_fee_per_gas = U256(1000000000ULL);
    t.max_fee_per_gas = U256(30000000000ULL);
  }
  if (type != TxnType::kLegacy) {
    t.access_list = {{addr("0xde0b295669a9fd93d5f28d9ec85e40f4cb697bae"),
                      {h32("0x0000000000000000000000000000000000000000000000000000000000000003"),
                       h32("0x0000000000000000000000000000000000000000000000000000000000000007")}},
                     {addr("0xbb9bc244d798123fde783fcc1c72d3bb8c189413"), {}}};
  }
  if (type == TxnType::kBlob) {
    t.max_fee_per_blob_gas = 3;
    t.blob_versioned_hashes = {h32("0x01a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8"),
                               h32("0x0100000000000000000000000000000000000000000000000000000000000001")};
  }
  if (type == TxnType::kSetCode) {
    t.authorization_list = {signed_authorization(1, addr("0x000000009b1d0af20d8c6d0a44e162d11f9b8f00"), 8),
                            signed_authorization(0, Address{}, 9)};
  }
  return t;
}

Transaction sign(Transaction t) {
  const auto sig = sign_digest(signing_hash(t), kKey).value();
  t.signature = TxnSignature{0, sig.recovery_id, sig.r, sig.s};
  return t;
}

// A transaction split into its envelope type and its top-level list's encoded fields, so that one
// field can be replaced by a hand-made (non-canonical, wrong) encoding.
struct Fields {
  std::optional<std::uint8_t> type;
  std::vector<Bytes> items;

  Bytes raw() const {
    Bytes out = rlp::encode_list(items);
    if (type) out.insert(out.begin(), *type);
    return out;
  }
  // Offset of item `i` in raw().
  std::size_t offset(std::size_t i) const {
    std::size_t payload = 0;
    for (const Bytes& item : items) payload += item.size();
    std::size_t at = (type ? 1 : 0) + rlp::header_size(payload);
    for (std::size_t k = 0; k < i; ++k) at += items[k].size();
    return at;
  }
};

Fields fields_of(ByteView raw) {
  Fields f;
  ByteView list = raw;
  if (raw[0] < 0x80) {
    f.type = raw[0];
    list = raw.subspan(1);
  }
  auto reader = rlp::list_items(rlp::decode_item(list).value()).value();
  while (!reader.done()) {
    const ByteView encoded = reader.next().value().encoded();
    f.items.emplace_back(encoded.begin(), encoded.end());
  }
  return f;
}

Fields signed_fields(TxnType type) { return fields_of(encode_transaction(sign(sample(type)))); }

// Indices of the integer fields in each type's signed list.
std::vector<std::size_t> integer_fields(TxnType type) {
  switch (type) {
    case TxnType::kLegacy: return {0, 1, 2, 4, 6, 7, 8};
    case TxnType::kAccessList: return {0, 1, 2, 3, 5, 8, 9, 10};
    case TxnType::kDynamicFee: return {0, 1, 2, 3, 4, 6, 9, 10, 11};
    case TxnType::kBlob: return {0, 1, 2, 3, 4, 6, 9, 11, 12, 13};
    case TxnType::kSetCode: return {0, 1, 2, 3, 4, 6, 10, 11, 12};
  }
  return {};
}
std::size_t to_index(TxnType type) { return type == TxnType::kLegacy ? 3 : type == TxnType::kAccessList ? 4 : 5; }
std::size_t nonce_index(TxnType type) { return type == TxnType::kLegacy ? 0 : 1; }

DecodeError error_of(ByteView raw, const TxnDecodeOptions& options = {}) {
  auto txn = decode_transaction(raw, options);
  REQUIRE_MESSAGE(!txn.has_value(), "decoded although invalid: " << to_hex(raw));
  return txn.error();
}

Bytes word_bytes(const U256& value) { return rlp::encode_uint(value); }

}  // namespace

TEST_SUITE("transaction") {
  TEST_CASE("decodes and re-encodes a signed transaction of every type") {
    for (const TxnType type : kAllTypes) {
      CAPTURE(static_cast<int>(type));
      const Transaction original = sign(sample(type));
      const Bytes raw = encode_transaction(original);
      auto txn = decode_transaction(raw, with_form(TxnForm::kSigned));
      REQUIRE_MESSAGE(txn.has_value(), txn.error().message());
      CHECK(txn->type == type);
      CHECK(txn->chain_id == original.chain_id);
      CHECK(txn->nonce == original.nonce);
      CHECK(txn->gas_price == original.gas_price);
      CHECK(txn->max_fee_per_gas == original.max_fee_per_gas);
      CHECK(txn->max_priority_fee_per_gas == original.max_priority_fee_per_gas);
      CHECK(txn->gas_limit == original.gas_limit);
      CHECK(txn->to == original.to);
      CHECK(txn->value == original.value);
      CHECK(txn->data == original.data);
      CHECK(txn->access_list == original.access_list);
      CHECK(txn->max_fee_per_blob_gas == original.max_fee_per_blob_gas);
      CHECK(txn->blob_versioned_hashes == original.blob_versioned_hashes);
      REQUIRE(txn->authorization_list.size() == original.authorization_list.size());
      for (const Authorization& a : txn->authorization_list) CHECK(a.authority == kSender);
      CHECK(txn->signing_hash == signing_hash(original));
      CHECK(txn->hash == keccak256(raw));
      CHECK(txn->from == kSender);
      CHECK(txn->signature->r == original.signature->r);
      CHECK(txn->signature->s == original.signature->s);
      CHECK(encode_transaction(*txn) == raw);
    }
  }

  TEST_CASE("reproduces EIP-155's own example: signing payload, signing hash, signed bytes") {
    Transaction t;
    t.nonce = 9;
    t.gas_price = U256(20000000000ULL);
    t.gas_limit = 21000;
    t.to = addr("0x3535353535353535353535353535353535353535");
    t.value = U256(1000000000000000000ULL);
    t.chain_id = 1;
    CHECK(encode_unsigned_transaction(t) ==
          b("0xec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080"));
    CHECK(to_hex(signing_hash(t)) == "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
    const Bytes signed_raw = b(
        "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939"
        "bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297f"
        "b1966a3b6d83");
    auto txn = decode_transaction(signed_raw);
    REQUIRE(txn.has_value());
    CHECK(txn->signature->v == 37);
    CHECK(txn->chain_id == 1u);
    CHECK(to_hex(txn->signing_hash) == "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
    const SecretKey key(h32("0x4646464646464646464646464646464646464646464646464646464646464646"));
    CHECK(txn->from == address_of(key));
    CHECK(encode_transaction(*txn) == signed_raw);
  }

  TEST_CASE("decodes the unsigned forms: legacy 6 and 9 fields, typed without signature") {
    for (const TxnType type : kAllTypes) {
      CAPTURE(static_cast<int>(type));
      const Transaction t = sample(type);
      const Bytes raw = encode_transaction(t);
      for (const TxnForm form : {TxnForm::kAny, TxnForm::kUnsigned}) {
        auto txn = decode_transaction(raw, with_form(form));
        REQUIRE_MESSAGE(txn.has_value(), txn.error().message());
        CHECK(txn->signing_hash == keccak256(raw));
        CHECK(txn->signing_hash == signing_hash(t));
        CHECK(!txn->signature.has_value());
        CHECK(!txn->hash.has_value());
        CHECK(!txn->from.has_value());
        CHECK(encode_transaction(*txn) == raw);
      }
    }
    Transaction pre155 = sample(TxnType::kLegacy);
    pre155.chain_id.reset();
    const Bytes six = encode_transaction(pre155);
    CHECK(fields_of(six).items.size() == 6);
    auto txn = decode_transaction(six);
    REQUIRE(txn.has_value());
    CHECK(!txn->chain_id.has_value());
    CHECK(encode_transaction(*txn) == six);
    CHECK(fields_of(encode_transaction(sample(TxnType::kLegacy))).items.size() == 9);
  }

  TEST_CASE("reads a legacy 9-field list with r = s = 0 as the unsigned EIP-155 form unless signed is required") {
    const Bytes raw = encode_transaction(sample(TxnType::kLegacy));
    auto any = decode_transaction(raw);
    REQUIRE(any.has_value());
    CHECK(!any->signature.has_value());
    CHECK(any->chain_id == 1u);
    const DecodeError e = error_of(raw, with_form(TxnForm::kSigned));
    CHECK(e.code == DecodeErrc::kInvalidV);  // v = 1 is neither 27/28 nor >= 37
  }

  TEST_CASE("an empty `to` is contract creation") {
    for (const TxnType type : {TxnType::kLegacy, TxnType::kAccessList, TxnType::kDynamicFee}) {
      Transaction t = sample(type);
      t.to.reset();
      const Bytes raw = encode_transaction(sign(t));
      CHECK(fields_of(raw).items[to_index(type)] == b("80"));
      auto txn = decode_transaction(raw);
      REQUIRE(txn.has_value());
      CHECK(!txn->to.has_value());
      CHECK(txn->from == kSender);
    }
  }

  TEST_CASE("accepts boundary values: nonce 2^64-2, gas 2^64-1, chain id 2^64-1, s = n/2, v = 37 and 38") {
    Transaction t = sample(TxnType::kLegacy);
    t.nonce = 0xfffffffffffffffeULL;
    t.gas_limit = 0xffffffffffffffffULL;
    t.chain_id = 0xffffffffffffffffULL;
    t.value = ~U256(0);
    const Transaction signed_txn = sign(t);
    const Bytes raw = encode_transaction(signed_txn);
    auto txn = decode_transaction(raw);
    REQUIRE_MESSAGE(txn.has_value(), txn.error().message());
    CHECK(txn->chain_id == 0xffffffffffffffffULL);
    CHECK(txn->signature->v == U256(0xffffffffffffffffULL) * 2 + 35 + signed_txn.signature->y_parity);
    CHECK(txn->from == kSender);
    CHECK(encode_transaction(*txn) == raw);

    // s = n/2 is still low; recovery yields some key (not ours: s was changed).
    Fields f = signed_fields(TxnType::kDynamicFee);
    f.items[11] = word_bytes(kHalfN);
    auto half = decode_transaction(f.raw());
    REQUIRE_MESSAGE(half.has_value(), half.error().message());
    CHECK(half->from.has_value());
    CHECK(half->from != kSender);

    for (const int y : {0, 1}) {  // chain 1: v = 37, 38
      Transaction one = sample(TxnType::kLegacy);
      one.chain_id = 1;
      Transaction s1 = sign(one);
      s1.signature->y_parity = static_cast<std::uint8_t>(y);
      auto decoded = decode_transaction(encode_transaction(s1));
      REQUIRE(decoded.has_value());
      CHECK(decoded->signature->v == 37 + y);
    }
  }

  TEST_CASE("recover_sender = false leaves `from` and authorities empty but still judges the signature") {
    TxnDecodeOptions no_recovery;
    no_recovery.recover_sender = false;
    const Bytes raw = encode_transaction(sign(sample(TxnType::kSetCode)));
    auto txn = decode_transaction(raw, no_recovery);
    REQUIRE(txn.has_value());
    CHECK(!txn->from.has_value());
    CHECK(txn->hash == keccak256(raw));
    for (const Authorization& a : txn->authorization_list) {
      CHECK(!a.authority.has_value());
      CHECK(!a.authority_error.has_value());
    }
    Fields f = fields_of(raw);
    f.items[12] = word_bytes(kN - U256(1));
    CHECK(error_of(f.raw(), no_recovery).code == DecodeErrc::kHighS);
  }

  TEST_CASE("EIP-7702: an authorization with a bad signature is kept, flagged, without an authority") {
    Transaction t = sample(TxnType::kSetCode);
    Authorization good = t.authorization_list[0];
    Authorization bad_parity = good;
    bad_parity.y_parity = 2;
    Authorization high_s = good;
    high_s.s = u256_to_be32(kN - u256_from_be(good.s));
    Authorization zero_r = good;
    zero_r.r = Hash32{};
    Authorization s_is_n = good;
    s_is_n.s = u256_to_be32(kN);
    Authorization not_on_curve = good;  // x = 5 is not the x coordinate of a secp256k1 point
    not_on_curve.r = u256_to_be32(U256(5));
    t.authorization_list = {good, bad_parity, high_s, zero_r, s_is_n, not_on_curve};
    const Bytes raw = encode_transaction(sign(t));
    auto txn = decode_transaction(raw);
    REQUIRE_MESSAGE(txn.has_value(), txn.error().message());
    CHECK(txn->from == kSender);
    const auto& list = txn->authorization_list;
    REQUIRE(list.size() == 6);
    CHECK(list[0].authority == kSender);
    CHECK(!list[0].authority_error.has_value());
    const std::optional<DecodeErrc> expected[] = {std::nullopt, DecodeErrc::kInvalidV, DecodeErrc::kHighS,
                                                  DecodeErrc::kInvalidSignature, DecodeErrc::kInvalidSignature,
                                                  DecodeErrc::kInvalidSignature};
    for (std::size_t i = 1; i < list.size(); ++i) {
      CAPTURE(i);
      CHECK(!list[i].authority.has_value());
      CHECK(list[i].authority_error == expected[i]);
    }
    CHECK(encode_transaction(*txn) == raw);
  }

  TEST_CASE("expected_chain_id accepts the bound chain and unbound pre-EIP-155 transactions") {
    TxnDecodeOptions chain1;
    chain1.expected_chain_id = 1;
    for (const TxnType type : kAllTypes) CHECK(decode_transaction(encode_transaction(sign(sample(type))), chain1));
    Transaction pre155 = sample(TxnType::kLegacy);
    pre155.chain_id.reset();
    auto txn = decode_transaction(encode_transaction(sign(pre155)), chain1);
    REQUIRE(txn.has_value());
    CHECK(txn->signature->v == 27 + txn->signature->y_parity);
    CHECK(txn->from == kSender);
  }

  // ---- Negative cases ----

  TEST_CASE("rejects leading zeros in every integer field of every type") {
    for (const TxnType type : kAllTypes) {
      const Fields f = signed_fields(type);
      for (const std::size_t i : integer_fields(type)) {
        CAPTURE(static_cast<int>(type));
        CAPTURE(i);
        Fields bad = f;
        const ByteView payload = rlp::decode(f.items[i]).value().payload;
        const Bytes padded = cat({b("00"), payload});
        bad.items[i] = rlp::encode_bytes(padded);
        const DecodeError e = error_of(bad.raw());
        CHECK(e.code == DecodeErrc::kLeadingZero);
        CHECK(e.offset == bad.offset(i));
      }
    }
  }

  TEST_CASE("rejects long-form headers used for short lengths") {
    for (const TxnType type : kAllTypes) {
      CAPTURE(static_cast<int>(type));
      Fields f = signed_fields(type);
      const std::size_t i = to_index(type);
      const ByteView address = rlp::decode(f.items[i]).value().payload;
      f.items[i] = cat({b("b814"), address});  // 20 bytes announced in the long form
      const DecodeError e = error_of(f.raw());
      CHECK(e.code == DecodeErrc::kNonCanonicalSize);
      CHECK(e.offset == f.offset(i));
    }
    // A short unsigned transaction whose top list uses the long form.
    Transaction small;
    small.to.reset();
    const Bytes raw = encode_transaction(small);
    REQUIRE(raw.size() < 56);
    const Bytes long_form = cat({b("f8"), Bytes{static_cast<std::uint8_t>(raw.size() - 1)}, ByteView(raw).subspan(1)});
    CHECK(error_of(long_form).code == DecodeErrc::kNonCanonicalSize);
    CHECK(decode_transaction(raw).has_value());
  }

  TEST_CASE("rejects a single byte below 0x80 wrapped in a string header") {
    for (const TxnType type : kAllTypes) {
      Fields f = signed_fields(type);
      const std::size_t i = nonce_index(type);  // nonce 7
      f.items[i] = b("8107");
      const DecodeError e = error_of(f.raw());
      CHECK(e.code == DecodeErrc::kNonCanonicalSingleByte);
      CHECK(e.offset == f.offset(i));
    }
  }

  TEST_CASE("rejects trailing bytes after the transaction") {
    for (const TxnType type : kAllTypes) {
      const Bytes raw = encode_transaction(sign(sample(type)));
      for (const char* extra : {"00", "80", "c0"}) {
        const DecodeError e = error_of(cat({raw, b(extra)}));
        CHECK(e.code == DecodeErrc::kTrailingBytes);
        CHECK(e.offset == raw.size());
      }
    }
  }

  TEST_CASE("rejects a transaction truncated at every byte") {
    for (const TxnType type : kAllTypes) {
      CAPTURE(static_cast<int>(type));
      const Bytes raw = encode_transaction(sign(sample(type)));
      for (std::size_t cut = 0; cut < raw.size(); ++cut) {
        CAPTURE(cut);
        auto txn = decode_transaction(ByteView(raw).first(cut));
        REQUIRE_FALSE(txn.has_value());
        CHECK(txn.error().code == DecodeErrc::kInputTooShort);
        CHECK(txn.error().offset <= cut);
      }
    }
  }

  TEST_CASE("rejects wrong field counts for each type and form") {
    for (const TxnType type : kAllTypes) {
      CAPTURE(static_cast<int>(type));
      const Fields f = signed_fields(type);
      Fields fewer = f;
      fewer.items.pop_back();
      CHECK(error_of(fewer.raw()).code == DecodeErrc::kWrongFieldCount);
      Fields more = f;
      more.items.push_back(b("80"));
      CHECK(error_of(more.raw()).code == DecodeErrc::kWrongFieldCount);
      // A signed encoding where only unsigned ones are wanted, and the other way round.
      CHECK(error_of(f.raw(), with_form(TxnForm::kUnsigned)).code ==
            (type == TxnType::kLegacy ? DecodeErrc::kInvalidField : DecodeErrc::kWrongFieldCount));
      Transaction unsigned_txn = sample(type);
      if (type == TxnType::kLegacy) unsigned_txn.chain_id.reset();  // the 6-field form
      CHECK(error_of(encode_transaction(unsigned_txn), with_form(TxnForm::kSigned)).code ==
            DecodeErrc::kWrongFieldCount);
    }
    CHECK(error_of(b("c0")).code == DecodeErrc::kWrongFieldCount);
    CHECK(error_of(b("02c0")).code == DecodeErrc::kWrongFieldCount);
  }

  TEST_CASE("rejects unknown type bytes, strings for transactions and empty input") {
    const Bytes body = rlp::encode_list(signed_fields(TxnType::kDynamicFee).items);
    for (const std::uint8_t type : std::initializer_list<std::uint8_t>{0x00, 0x05, 0x7f}) {
      const DecodeError e = error_of(cat({Bytes{type}, body}));
      CHECK(e.code == DecodeErrc::kUnsupportedTxnType);
      CHECK(e.offset == 0);
    }
    CHECK(error_of(b("")).code == DecodeErrc::kInputTooShort);
    CHECK(error_of(b("02")).code == DecodeErrc::kInputTooShort);
    CHECK(error_of(b("80")).code == DecodeErrc::kUnexpectedString);
    CHECK(error_of(rlp::encode_bytes(body)).code == DecodeErrc::kUnexpectedString);  // RLPTransactionGivenAsArray
    const DecodeError typed_string = error_of(cat({b("02"), rlp::encode_bytes(body)}));
    CHECK(typed_string.code == DecodeErrc::kUnexpectedString);
    CHECK(typed_string.offset == 1);
    // Type 4 with a type-2 body has the wrong number of fields.
    CHECK(error_of(cat({b("04"), body})).code == DecodeErrc::kWrongFieldCount);
  }

  TEST_CASE("rejects a list where an integer, address or data is expected") {
    for (const TxnType type : kAllTypes) {
      const Fields f = signed_fields(type);
      const std::size_t data_index = to_index(type) + 2;
      for (const std::size_t i : {nonce_index(type), to_index(type), data_index, f.items.size() - 1}) {
        CAPTURE(static_cast<int>(type));
        CAPTURE(i);
        Fields bad = f;
        bad.items[i] = rlp::encode_list(std::vector<Bytes>{f.items[i]});
        const DecodeError e = error_of(bad.raw());
        CHECK(e.code == DecodeErrc::kUnexpectedList);
        CHECK(e.offset == bad.offset(i));
      }
    }
  }

  TEST_CASE("rejects high s (EIP-2) in the transaction signature") {
    for (const TxnType type : kAllTypes) {
      Fields f = signed_fields(type);
      const std::size_t s = f.items.size() - 1;
      const U256 low = rlp::decode_u256(rlp::decode(f.items[s]).value()).value();
      f.items[s] = word_bytes(kN - low);  // the same signature's high twin
      DecodeError e = error_of(f.raw());
      CHECK(e.code == DecodeErrc::kHighS);
      CHECK(e.offset == f.offset(s));
      f.items[s] = word_bytes(kHalfN + 1);
      CHECK(error_of(f.raw()).code == DecodeErrc::kHighS);
    }
  }

  TEST_CASE("rejects r or s of 0, n or above") {
    for (const TxnType type : kAllTypes) {
      const Fields f = signed_fields(type);
      const std::size_t r = f.items.size() - 2;
      const std::size_t s = f.items.size() - 1;
      for (const auto& [index, value] : std::vector<std::pair<std::size_t, U256>>{
               {r, U256(0)}, {s, U256(0)}, {r, kN}, {s, kN}, {r, kN + 1}, {r, ~U256(0)}}) {
        CAPTURE(static_cast<int>(type));
        CAPTURE(index);
        Fields bad = f;
        bad.items[index] = word_bytes(value);
        const DecodeError e = error_of(bad.raw());
        CHECK(e.code == DecodeErrc::kInvalidSignature);
        CHECK(e.offset == bad.offset(index));
      }
      // A 33-byte r is too wide before it is out of range.
      Fields wide = f;
      wide.items[r] = rlp::encode_bytes(Bytes(33, 0x01));
      CHECK(error_of(wide.raw()).code == DecodeErrc::kOverflow);
    }
  }

  TEST_CASE("rejects a signature from which no key recovers") {
    Fields f = signed_fields(TxnType::kDynamicFee);
    f.items[10] = word_bytes(U256(5));  // r = 5: no curve point has x = 5
    const DecodeError e = error_of(f.raw());
    CHECK(e.code == DecodeErrc::kInvalidSignature);
    CHECK(e.offset == f.offset(10));
  }

  TEST_CASE("rejects legacy v outside 27, 28 and chainId*2+35/36 with chainId >= 1") {
    const Fields f = signed_fields(TxnType::kLegacy);
    const U256 too_big_chain = (U256(1) << 64) * 2 + 35;  // chain id 2^64
    for (const U256& v : {U256(0), U256(1), U256(26), U256(29), U256(30), U256(34), U256(35), U256(36),
                          too_big_chain}) {
      CAPTURE(to_decimal(v));
      Fields bad = f;
      bad.items[6] = rlp::encode_uint(v);
      const DecodeError e = error_of(bad.raw(), with_form(TxnForm::kSigned));
      CHECK(e.code == DecodeErrc::kInvalidV);
      CHECK(e.offset == bad.offset(6));
    }
  }

  TEST_CASE("rejects typed yParity other than 0 or 1") {
    for (const TxnType type : kAllTypes) {
      if (type == TxnType::kLegacy) continue;
      Fields f = signed_fields(type);
      const std::size_t y = f.items.size() - 3;
      for (const std::uint64_t value : {2ULL, 27ULL, 0x100ULL}) {
        f.items[y] = rlp::encode_uint(value);
        const DecodeError e = error_of(f.raw());
        CHECK(e.code == DecodeErrc::kInvalidV);
        CHECK(e.offset == f.offset(y));
      }
    }
  }

  TEST_CASE("rejects `to` of any length other than 0 or 20") {
    for (const TxnType type : kAllTypes) {
      const Fields f = signed_fields(type);
      const std::size_t i = to_index(type);
      for (const std::size_t size : {1u, 19u, 21u, 32u}) {
        Fields bad = f;
        bad.items[i] = rlp::encode_bytes(Bytes(size, 0x35));
        const DecodeError e = error_of(bad.raw());
        CHECK(e.code == DecodeErrc::kWrongLength);
        CHECK(e.offset == bad.offset(i));
      }
    }
  }

  TEST_CASE("rejects blob and set-code transactions without `to`") {
    for (const TxnType type : {TxnType::kBlob, TxnType::kSetCode}) {
      Fields f = signed_fields(type);
      f.items[5] = b("80");
      const DecodeError e = error_of(f.raw());
      CHECK(e.code == DecodeErrc::kMissingField);
      CHECK(e.offset == f.offset(5));
      Transaction t = sample(type);
      t.to.reset();
      CHECK(error_of(encode_transaction(t)).code == DecodeErrc::kMissingField);
    }
  }

  TEST_CASE("rejects nonce 2^64-1 (EIP-2681) and integers wider than their field") {
    for (const TxnType type : kAllTypes) {
      const Fields f = signed_fields(type);
      const std::size_t nonce = nonce_index(type);
      Fields max_nonce = f;
      max_nonce.items[nonce] = rlp::encode_uint(0xffffffffffffffffULL);
      CHECK(error_of(max_nonce.raw()).code == DecodeErrc::kInvalidField);
      Fields wide_nonce = f;
      wide_nonce.items[nonce] = rlp::encode_uint(U256(1) << 64);
      CHECK(error_of(wide_nonce.raw()).code == DecodeErrc::kOverflow);
      Fields wide_gas = f;
      const std::size_t gas = to_index(type) - 1;
      wide_gas.items[gas] = rlp::encode_uint(U256(1) << 64);
      CHECK(error_of(wide_gas.raw()).code == DecodeErrc::kOverflow);
      Fields wide_value = f;
      wide_value.items[to_index(type) + 1] = rlp::encode_bytes(Bytes(33, 0xff));
      CHECK(error_of(wide_value.raw()).code == DecodeErrc::kOverflow);
      if (type != TxnType::kLegacy) {
        Fields wide_chain = f;
        wide_chain.items[0] = rlp::encode_uint(U256(1) << 64);
        CHECK(error_of(wide_chain.raw()).code == DecodeErrc::kOverflow);
      }
    }
  }

  TEST_CASE("rejects a chain id other than the expected one") {
    TxnDecodeOptions chain5;
    chain5.expected_chain_id = 5;
    for (const TxnType type : kAllTypes) {
      const Bytes raw = encode_transaction(sign(sample(type)));
      const DecodeError e = error_of(raw, chain5);
      CHECK(e.code == DecodeErrc::kInvalidField);
      CHECK(e.offset == fields_of(raw).offset(type == TxnType::kLegacy ? 6 : 0));
      const Bytes unsigned_raw = encode_transaction(sample(type));
      CHECK(error_of(unsigned_raw, chain5).code == DecodeErrc::kInvalidField);
    }
  }

  TEST_CASE("rejects unsigned EIP-155 forms with chain id 0 or a non-zero r or s") {
    Fields f = fields_of(encode_transaction(sample(TxnType::kLegacy)));
    Fields zero_chain = f;
    zero_chain.items[6] = b("80");
    CHECK(error_of(zero_chain.raw()).code == DecodeErrc::kInvalidField);
    Fields nonzero_s = f;
    nonzero_s.items[8] = b("01");
    const DecodeError e = error_of(nonzero_s.raw(), with_form(TxnForm::kUnsigned));
    CHECK(e.code == DecodeErrc::kInvalidField);
    CHECK(e.offset == nonzero_s.offset(7));
  }

  TEST_CASE("rejects malformed access lists") {
    const Fields f = signed_fields(TxnType::kDynamicFee);
    const std::size_t al = 8;
    const Bytes key = rlp::encode_bytes(Bytes(32, 0x01));
    const Bytes address = rlp::encode_bytes(Bytes(20, 0x02));
    const std::vector<std::pair<Bytes, DecodeErrc>> cases{
        {b("80"), DecodeErrc::kUnexpectedString},  // a string instead of the list
        {rlp::encode_list(std::vector<Bytes>{rlp::encode_list(std::vector<Bytes>{address})}),
         DecodeErrc::kWrongFieldCount},
        {rlp::encode_list(std::vector<Bytes>{rlp::encode_list(std::vector<Bytes>{address, b("c0"), b("c0")})}),
         DecodeErrc::kWrongFieldCount},
        {rlp::encode_list(std::vector<Bytes>{
             rlp::encode_list(std::vector<Bytes>{rlp::encode_bytes(Bytes(21, 0x02)), b("c0")})}),
         DecodeErrc::kWrongLength},
        {rlp::encode_list(std::vector<Bytes>{rlp::encode_list(
             std::vector<Bytes>{address, rlp::encode_list(std::vector<Bytes>{rlp::encode_bytes(Bytes(31, 1))})})}),
         DecodeErrc::kWrongLength},
        {rlp::encode_list(std::vector<Bytes>{rlp::encode_list(std::vector<Bytes>{address, key})}),
         DecodeErrc::kUnexpectedString},  // storage keys given as one key, not a list
        {rlp::encode_list(std::vector<Bytes>{address}), DecodeErrc::kUnexpectedString},  // entry not a list
    };
    for (const auto& [encoded, code] : cases) {
      CAPTURE(to_hex(encoded));
      Fields bad = f;
      bad.items[al] = encoded;
      CHECK(error_of(bad.raw()).code == code);
    }
  }

  TEST_CASE("rejects malformed blob hash and authorization lists") {
    Fields blob = signed_fields(TxnType::kBlob);
    blob.items[10] = rlp::encode_list(std::vector<Bytes>{rlp::encode_bytes(Bytes(31, 1))});
    CHECK(error_of(blob.raw()).code == DecodeErrc::kWrongLength);
    blob.items[10] = b("80");
    CHECK(error_of(blob.raw()).code == DecodeErrc::kUnexpectedString);

    const Fields f = signed_fields(TxnType::kSetCode);
    const std::size_t auth = 9;
    const Authorization a = sample(TxnType::kSetCode).authorization_list[0];
    auto tuple = [&](std::vector<Bytes> fields) { return rlp::encode_list(std::vector<Bytes>{rlp::encode_list(fields)}); };
    const Bytes chain = rlp::encode_uint(a.chain_id), address = rlp::encode_bytes(a.address.view()),
                nonce = rlp::encode_uint(a.nonce), y = rlp::encode_uint(std::uint64_t{a.y_parity});
    Bytes r, s;
    rlp::append_uint_be(r, a.r);
    rlp::append_uint_be(s, a.s);
    const std::vector<std::pair<Bytes, DecodeErrc>> cases{
        {tuple({chain, address, nonce, y, r}), DecodeErrc::kWrongFieldCount},
        {tuple({chain, address, nonce, y, r, s, s}), DecodeErrc::kWrongFieldCount},
        {tuple({chain, rlp::encode_bytes(Bytes(19, 1)), nonce, y, r, s}), DecodeErrc::kWrongLength},
        {tuple({chain, address, rlp::encode_uint(U256(1) << 64), y, r, s}), DecodeErrc::kOverflow},
        {tuple({chain, address, nonce, rlp::encode_uint(std::uint64_t{256}), r, s}), DecodeErrc::kOverflow},
        {tuple({rlp::encode_bytes(Bytes(33, 1)), address, nonce, y, r, s}), DecodeErrc::kOverflow},
        {tuple({chain, address, nonce, b("00"), r, s}), DecodeErrc::kLeadingZero},
        {tuple({chain, address, nonce, y, rlp::encode_bytes(cat({b("00"), ByteView(r).subspan(1)})), s}),
         DecodeErrc::kLeadingZero},
        {rlp::encode_list(std::vector<Bytes>{chain}), DecodeErrc::kUnexpectedString},
        {b("80"), DecodeErrc::kUnexpectedString},
    };
    for (const auto& [encoded, code] : cases) {
      CAPTURE(to_hex(encoded));
      Fields bad = f;
      bad.items[auth] = encoded;
      CHECK(error_of(bad.raw()).code == code);
    }
  }
}

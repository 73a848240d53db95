#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "policy/codec/keccak.hpp"
#include "policy/codec/safe.hpp"
#include "policy/codec/secp256k1.hpp"

using namespace txguard::codec;
using nlohmann::json;

namespace {

Address addr(std::string_view text) { return parse_address(text).value(); }
Hash32 h32(std::string_view hex) { return from_hex_fixed<32>(hex).value(); }
const SecretKey kKeyA(h32("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"));
const SecretKey kKeyB(h32("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"));

json sample_request() {
  return json{{"to", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
              {"value", "1000000000000000000"},
              {"data", "0x"},
              {"operation", 0},
              {"safeTxGas", "0"},
              {"baseGas", 0},
              {"gasPrice", "0"},
              {"gasToken", "0x0000000000000000000000000000000000000000"},
              {"refundReceiver", "0x0000000000000000000000000000000000000000"},
              {"nonce", 7},
              {"chainId", 1},
              {"safe", "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4"},
              {"safeVersion", "1.4.1"}};
}

void check_request_error(const json& request, DecodeErrc code, std::string_view where) {
  auto r = parse_safe_tx_request(request);
  REQUIRE(!r);
  CHECK(r.error().code == code);
  CHECK(r.error().where == where);
}

Bytes rsv(const Hash32& digest, const SecretKey& key, std::uint8_t v_offset) {
  auto sig = sign_digest(digest, key).value().to_rsv(v_offset);
  return Bytes(sig.begin(), sig.end());
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

TEST_SUITE("safe") {
  TEST_CASE("the domain and SafeTx typehashes are the keccak of their type strings") {
    SafeDomain legacy{SafeVersion::k1_1_1, 0, addr("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4")};
    Bytes enc;
    const Hash32 th = keccak256(view(std::string("EIP712Domain(address verifyingContract)")));
    enc.insert(enc.end(), th.begin(), th.end());
    const Hash32 w = address_to_word(legacy.safe);
    enc.insert(enc.end(), w.begin(), w.end());
    CHECK(safe_domain_separator(legacy) == keccak256(enc));
    CHECK(to_hex(keccak256(view(std::string(
              "SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,"
              "uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)")))) ==
          "0xbb8310d486368db6bd6f849402fdd73ad53d316b5a4b2644ad6efe0f941286d8");
  }

  TEST_CASE("Safe before 1.3.0 hashes without chainId, so the hash is the same on every chain") {
    SafeTx tx;
    tx.to = addr("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    tx.value = 5;
    for (SafeVersion v : {SafeVersion::k1_1_1, SafeVersion::k1_2_0}) {
      SafeDomain mainnet{v, 1, addr("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4")};
      SafeDomain other = mainnet;
      other.chain_id = 137;
      CHECK(safe_tx_hash(tx, mainnet) == safe_tx_hash(tx, other));
    }
    for (SafeVersion v : {SafeVersion::k1_3_0, SafeVersion::k1_4_1, SafeVersion::k1_5_0}) {
      SafeDomain mainnet{v, 1, addr("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4")};
      SafeDomain other = mainnet;
      other.chain_id = 137;
      CHECK(safe_tx_hash(tx, mainnet) != safe_tx_hash(tx, other));
    }
  }

  TEST_CASE("every SafeTx field changes the hash") {
    SafeTx base;
    base.to = addr("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    SafeDomain d{SafeVersion::k1_4_1, 1, addr("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4")};
    const Hash32 h = safe_tx_hash(base, d);
    std::vector<SafeTx> variants(10, base);
    variants[0].to.bytes[19] ^= 1;
    variants[1].value = 1;
    variants[2].data = {0x00};
    variants[3].operation = Operation::kDelegateCall;
    variants[4].safe_tx_gas = 1;
    variants[5].base_gas = 1;
    variants[6].gas_price = 1;
    variants[7].gas_token.bytes[19] = 1;
    variants[8].refund_receiver.bytes[19] = 1;
    variants[9].nonce = 1;
    for (const auto& v : variants) CHECK(safe_tx_hash(v, d) != h);
    SafeDomain other_safe = d;
    other_safe.safe.bytes[0] ^= 1;
    CHECK(safe_tx_hash(base, other_safe) != h);
  }

  TEST_CASE("safe versions parse only when txguard knows their domain") {
    CHECK(parse_safe_version("1.1.1").value() == SafeVersion::k1_1_1);
    CHECK(parse_safe_version("v1.3.0").value() == SafeVersion::k1_3_0);
    CHECK(parse_safe_version("1.3.0+L2").value() == SafeVersion::k1_3_0);
    CHECK(parse_safe_version("1.5.0").value() == SafeVersion::k1_5_0);
    for (const char* bad : {"", "1.0.0", "1.4.0", "1.4", "2.0.0", "1.1.1 ", "latest"}) {
      CAPTURE(bad);
      CHECK(parse_safe_version(bad).error().code == DecodeErrc::kUnknownSafeVersion);
    }
  }

  TEST_CASE("a Safe Transaction Service request parses with its field names") {
    auto r = parse_safe_tx_request(sample_request());
    REQUIRE(r.has_value());
    CHECK(r->tx.value == U256("1000000000000000000"));
    CHECK(r->tx.nonce == 7);
    CHECK(r->tx.data.empty());
    CHECK(r->domain.version == SafeVersion::k1_4_1);
    CHECK(r->domain.chain_id == 1);
    CHECK(!r->claimed_hash.has_value());
    json with_null = sample_request();
    with_null["data"] = nullptr;
    CHECK(parse_safe_tx_request(with_null).has_value());
    json without = sample_request();
    without.erase("data");
    CHECK(parse_safe_tx_request(without).has_value());
  }

  TEST_CASE("a Safe request missing a field names it") {
    for (const char* field : {"to", "value", "operation", "safeTxGas", "baseGas", "gasPrice", "gasToken",
                              "refundReceiver", "nonce", "chainId", "safe", "safeVersion"}) {
      CAPTURE(field);
      json r = sample_request();
      r.erase(field);
      check_request_error(r, DecodeErrc::kMissingField, std::string("$.") + field);
    }
  }

  TEST_CASE("a Safe request with a bad value names the field") {
    json r = sample_request();
    r["operation"] = 2;
    check_request_error(r, DecodeErrc::kInvalidField, "$.operation");
    r = sample_request();
    r["value"] = -1;
    check_request_error(r, DecodeErrc::kInvalidNumber, "$.value");
    r = sample_request();
    r["value"] = 1.5;
    check_request_error(r, DecodeErrc::kInvalidNumber, "$.value");
    r = sample_request();
    r["nonce"] = "0x1" + std::string(64, '0');
    check_request_error(r, DecodeErrc::kOverflow, "$.nonce");
    r = sample_request();
    r["to"] = "0x70997970C51812dc3A010C7d01b50e0d17dc79c8";  // checksum broken by one letter
    check_request_error(r, DecodeErrc::kBadChecksum, "$.to");
    r = sample_request();
    r["data"] = "abcd";
    check_request_error(r, DecodeErrc::kInvalidHex, "$.data");
    r = sample_request();
    r["data"] = "0xabc";
    check_request_error(r, DecodeErrc::kOddLength, "$.data");
    r = sample_request();
    r["safeVersion"] = "1.0.0";
    check_request_error(r, DecodeErrc::kUnknownSafeVersion, "$.safeVersion");
    r = sample_request();
    r["safeTxHash"] = "0x1234";
    check_request_error(r, DecodeErrc::kWrongLength, "$.safeTxHash");
    check_request_error(json::array(), DecodeErrc::kInvalidJson, "$");
  }

  TEST_CASE("a Safe request with an unknown field is refused rather than ignored") {
    json r = sample_request();
    r["delegate"] = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    check_request_error(r, DecodeErrc::kInvalidField, "$.delegate");
  }

  TEST_CASE("safeTxHash and contractTransactionHash must agree when both are given") {
    json r = sample_request();
    r["safeTxHash"] = "0x" + std::string(64, '1');
    r["contractTransactionHash"] = "0x" + std::string(64, '2');
    check_request_error(r, DecodeErrc::kInvalidField, "$.contractTransactionHash");
    r["contractTransactionHash"] = "0x" + std::string(64, '1');
    CHECK(parse_safe_tx_request(r)->claimed_hash == h32("0x" + std::string(64, '1')));
  }

  TEST_CASE("ECDSA and eth_sign owner signatures recover their owners") {
    const Hash32 hash = keccak256(view(std::string("safe tx")));
    static constexpr std::string_view kPrefix = "\x19" "Ethereum Signed Message:\n32";
    const Hash32 prefixed = keccak256({ByteView(reinterpret_cast<const std::uint8_t*>(kPrefix.data()), kPrefix.size()), ByteView(hash)});
    Address a = address_of(kKeyA).value(), b = address_of(kKeyB).value();
    const bool a_first = a < b;
    Bytes sig_a = rsv(hash, kKeyA, 27);
    Bytes sig_b = rsv(prefixed, kKeyB, 31);
    Bytes blob = a_first ? concat({sig_a, sig_b}) : concat({sig_b, sig_a});
    auto parsed = parse_safe_signatures(blob, hash);
    REQUIRE(parsed.has_value());
    REQUIRE(parsed->items.size() == 2);
    CHECK(parsed->strictly_ascending);
    const auto& ia = parsed->items[a_first ? 0 : 1];
    const auto& ib = parsed->items[a_first ? 1 : 0];
    CHECK(ia.kind == SafeSignatureKind::kEcdsa);
    CHECK(ia.owner == a);
    CHECK(ib.kind == SafeSignatureKind::kEthSign);
    CHECK(ib.owner == b);
    // Without the hash the owners of ECDSA items stay unknown.
    auto unknown = parse_safe_signatures(blob, std::nullopt);
    REQUIRE(unknown.has_value());
    CHECK(!unknown->items[0].owner.has_value());
  }

  TEST_CASE("signatures out of owner order or duplicated are flagged") {
    const Hash32 hash = keccak256(view(std::string("order")));
    Address a = address_of(kKeyA).value(), b = address_of(kKeyB).value();
    Bytes sig_a = rsv(hash, kKeyA, 27), sig_b = rsv(hash, kKeyB, 27);
    Bytes wrong = a < b ? concat({sig_b, sig_a}) : concat({sig_a, sig_b});
    CHECK(!parse_safe_signatures(wrong, hash)->strictly_ascending);
    CHECK(!parse_safe_signatures(concat({sig_a, sig_a}), hash)->strictly_ascending);
  }

  TEST_CASE("approved-hash and contract signatures take the owner from r") {
    Bytes approved(65, 0);
    approved[31] = 0x11;
    approved[64] = 1;
    // Contract signature pointing at a dynamic part right after the two static items.
    Bytes contract(65, 0);
    contract[31] = 0x22;
    contract[63] = 130;  // s = offset 130
    contract[64] = 0;
    Bytes dynamic(32, 0);
    dynamic[31] = 3;
    dynamic.insert(dynamic.end(), {0xaa, 0xbb, 0xcc});
    auto parsed = parse_safe_signatures(concat({approved, contract, dynamic}), std::nullopt);
    REQUIRE(parsed.has_value());
    REQUIRE(parsed->items.size() == 2);
    CHECK(parsed->items[0].kind == SafeSignatureKind::kApprovedHash);
    CHECK(parsed->items[0].owner->bytes[19] == 0x11);
    CHECK(parsed->items[1].kind == SafeSignatureKind::kContract);
    CHECK(parsed->items[1].contract_signature == Bytes{0xaa, 0xbb, 0xcc});
    CHECK(parsed->strictly_ascending);
  }

  TEST_CASE("malformed signature blobs are rejected with the offending offset") {
    const Hash32 hash = keccak256(view(std::string("bad")));
    Bytes good = rsv(hash, kKeyA, 27);
    Bytes short_blob(good.begin(), good.end() - 1);
    CHECK(parse_safe_signatures(short_blob, hash).error().code == DecodeErrc::kTrailingBytes);
    Bytes extra = concat({good, Bytes{0x00}});
    auto e = parse_safe_signatures(extra, hash);
    CHECK(e.error().code == DecodeErrc::kTrailingBytes);
    CHECK(e.error().offset == 65);
    for (int vi : {2, 26, 29, 30, 33, 255}) {
      const auto v = static_cast<std::uint8_t>(vi);
      Bytes bad_v = good;
      bad_v[64] = v;
      auto r = parse_safe_signatures(bad_v, hash);
      CAPTURE(int(v));
      CHECK(r.error().code == DecodeErrc::kInvalidV);
      CHECK(r.error().offset == 64);
    }
    Bytes zero_r = good;
    std::fill(zero_r.begin(), zero_r.begin() + 32, 0);
    CHECK(parse_safe_signatures(zero_r, hash).error().code == DecodeErrc::kInvalidSignature);
    Bytes dirty_owner(65, 0);
    dirty_owner[0] = 1;
    dirty_owner[64] = 1;
    CHECK(parse_safe_signatures(dirty_owner, hash).error().code == DecodeErrc::kDirtyPadding);
  }

  TEST_CASE("contract signature offsets must stay inside the blob and after the static part") {
    auto contract_at = [](std::uint8_t offset) {
      Bytes c(65, 0);
      c[31] = 0x22;
      c[63] = offset;
      return c;
    };
    Bytes len_word(32, 0);
    len_word[31] = 1;
    CHECK(parse_safe_signatures(concat({contract_at(200), len_word, Bytes{0x01}}), std::nullopt).error().code ==
          DecodeErrc::kOffsetOutOfRange);
    CHECK(parse_safe_signatures(concat({contract_at(10), len_word, Bytes{0x01}}), std::nullopt).error().code ==
          DecodeErrc::kOffsetOutOfRange);
    Bytes too_long(32, 0);
    too_long[31] = 9;
    CHECK(parse_safe_signatures(concat({contract_at(65), too_long, Bytes{0x01}}), std::nullopt).error().code ==
          DecodeErrc::kInputTooShort);
    Bytes huge(32, 0xff);
    CHECK(parse_safe_signatures(concat({contract_at(65), huge}), std::nullopt).error().code == DecodeErrc::kInputTooShort);
  }

  TEST_CASE("MultiSend batches round-trip through the packed encoding") {
    const Bytes data1 = {0xa9, 0x05, 0x9c, 0xbb, 0x01};
    std::vector<MultiSendItem> items(3);
    items[0].to = addr("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    items[0].value = 42;
    items[1].operation = Operation::kDelegateCall;
    items[1].to = addr("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4");
    items[1].data = data1;
    items[2].value = ~U256(0);
    const Bytes packed = encode_multisend(items);
    CHECK(packed.size() == 3 * 85 + data1.size());
    auto parsed = parse_multisend(packed, 100);
    REQUIRE(parsed.has_value());
    REQUIRE(parsed->size() == 3);
    CHECK((*parsed)[0].value == 42);
    CHECK((*parsed)[0].offset == 100);
    CHECK((*parsed)[1].operation == Operation::kDelegateCall);
    CHECK(Bytes((*parsed)[1].data.begin(), (*parsed)[1].data.end()) == data1);
    CHECK((*parsed)[2].value == ~U256(0));
    CHECK((*parsed)[2].offset == 100 + 85 + 85 + data1.size());
    CHECK(parse_multisend(ByteView{})->empty());
  }

  TEST_CASE("MultiSend rejects truncated items, bad operations and runaway lengths") {
    std::vector<MultiSendItem> items(1);
    const Bytes data = {1, 2, 3};
    items[0].data = data;
    const Bytes packed = encode_multisend(items);
    for (std::size_t cut = 1; cut < packed.size(); ++cut) {
      CAPTURE(cut);
      auto r = parse_multisend(ByteView(packed).first(cut));
      CHECK(r.error().code == DecodeErrc::kInputTooShort);
    }
    Bytes bad_op = packed;
    bad_op[0] = 2;
    CHECK(parse_multisend(bad_op).error().code == DecodeErrc::kInvalidField);
    Bytes huge = packed;
    std::fill(huge.begin() + 53, huge.begin() + 85, 0xff);
    CHECK(parse_multisend(huge).error().code == DecodeErrc::kOverflow);
    Bytes many;
    std::vector<MultiSendItem> five(5);
    many = encode_multisend(five);
    CHECK(parse_multisend(many, 0, 4).error().code == DecodeErrc::kTooDeep);
    CHECK(parse_multisend(many, 0, 5).has_value());
  }

  TEST_CASE("canonical libraries are known per version, and 1.1.1 has no MultiSendCallOnly") {
    CHECK(canonical_library_addresses(SafeVersion::k1_4_1, SafeLibrary::kMultiSendCallOnly) ==
          std::vector<Address>{addr("0x9641d764fc13c8B624c04430C7356C1C7C8102e2")});
    CHECK(canonical_library_addresses(SafeVersion::k1_3_0, SafeLibrary::kMultiSendCallOnly).size() == 2);
    CHECK(canonical_library_addresses(SafeVersion::k1_1_1, SafeLibrary::kMultiSendCallOnly).empty());
    CHECK(identify_safe_library(addr("0xA83c336B20401Af773B6219BA5027174338D1836")) == SafeLibrary::kMultiSendCallOnly);
    CHECK(identify_safe_library(addr("0x96221423681A6d52E184D440a8eFCEbB105C7242")) == std::nullopt);
  }
}

// Wormhole VAA v1 layout, token bridge transfers and guardian set upgrades, against the real mainnet
// VAAs in fixtures/wormhole/wormhole-vaa-vectors.json (signatures are checked in
// tests/policy/validator_sets_test.cpp; here only the layout and the digest).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "policy/codec/vaa.hpp"
#include "tests/support/wormhole.hpp"

using namespace txguard::codec;
using nlohmann::json;

namespace {

const json& vectors() { return txguard::test::wormhole_vectors(); }
const json& vector(std::string_view id) { return txguard::test::wormhole_vector(id); }

Bytes bytes_of(const json& v) { return txguard::test::vaa_bytes(v); }

Vaa decoded(std::string_view id) {
  auto vaa = decode_vaa(bytes_of(vector(id)));
  REQUIRE(vaa);
  return *vaa;
}

Bytes sei() { return bytes_of(vector("mainnet-token-transfer-sei-gs4")); }

void check_error(const Decoded<Vaa>& r, DecodeErrc code, std::size_t offset, std::string_view detail) {
  REQUIRE(!r);
  CHECK(r.error().code == code);
  CHECK(r.error().offset == offset);
  CHECK(r.error().detail == detail);
}

}  // namespace

TEST_SUITE("vaa") {

TEST_CASE("decodes every real mainnet VAA: digest, header, body fields and signer indices") {
  int real = 0;
  for (const auto& v : vectors()["vectors"]) {
    if (!v["expected_valid"].get<bool>()) continue;
    ++real;
    CAPTURE(v["id"].get<std::string>());
    const Bytes input = bytes_of(v);
    auto vaa = decode_vaa(input);
    REQUIRE(vaa);
    CHECK(vaa->version == 1);
    CHECK(vaa->guardian_set_index == v["guardian_set_index"].get<std::uint32_t>());
    CHECK(to_hex(vaa->digest) == v["digest"].get<std::string>());
    CHECK(vaa->body.emitter_chain == v["emitter_chain"].get<std::uint16_t>());
    CHECK(to_hex(vaa->body.emitter_address) == v["emitter_address"].get<std::string>());
    CHECK(std::to_string(vaa->body.sequence) == v["sequence"].get<std::string>());
    CHECK(vaa->body.timestamp == v["timestamp"].get<std::uint32_t>());
    CHECK(vaa->body.nonce == v["nonce"].get<std::uint32_t>());
    CHECK(vaa->body.consistency_level == v["consistency_level"].get<std::uint8_t>());
    std::vector<int> indices;
    for (const auto& s : vaa->signatures) indices.push_back(s.guardian_index);
    CHECK(indices == v["signer_indices"].get<std::vector<int>>());
    CHECK(vaa_body_digest(vaa->body) == vaa->digest);
    CHECK(encode_vaa(*vaa) == input);
  }
  CHECK(real == 16);
}

TEST_CASE("the digest is keccak256(keccak256(body)) and excludes version, set index and signatures") {
  Bytes a = sei();
  auto first = decode_vaa(a);
  REQUIRE(first);
  a[0] = 2;     // version
  a[4] ^= 1;    // guardian set index
  a[7] ^= 0xff; // first byte of r of signature 0
  auto second = decode_vaa(a);
  REQUIRE(second);
  CHECK(second->digest == first->digest);
  CHECK(second->version == 2);
  CHECK(second->guardian_set_index == first->guardian_set_index + 1);
}

TEST_CASE("a version byte other than 1 is returned as read, for the verifier to reject") {
  for (int version_value : {0, 2, 255}) {
    const auto version = static_cast<std::uint8_t>(version_value);
    Bytes input = sei();
    input[0] = version;
    auto vaa = decode_vaa(input);
    REQUIRE(vaa);
    CHECK(vaa->version == version);
    CHECK(encode_vaa(*vaa) == input);
  }
}

TEST_CASE("rejects a header shorter than 6 bytes") {
  const Bytes input = sei();
  for (std::size_t n = 0; n < 6; ++n) {
    CAPTURE(n);
    check_error(decode_vaa(ByteView(input.data(), n)), DecodeErrc::kInputTooShort, 0, "truncated header");
  }
}

TEST_CASE("rejects a VAA cut inside signature k, at the offset where signature k starts") {
  const Bytes input = sei();
  for (std::size_t k : {0u, 5u, 12u}) {
    const std::size_t start = 6 + 66 * k;
    CAPTURE(k);
    check_error(decode_vaa(ByteView(input.data(), start)), DecodeErrc::kInputTooShort, start,
                "truncated signature " + std::to_string(k));
    check_error(decode_vaa(ByteView(input.data(), start + 65)), DecodeErrc::kInputTooShort, start,
                "truncated signature " + std::to_string(k));
  }
}

TEST_CASE("rejects the fixture's VAA truncated inside the sixth signature") {
  const auto& v = vector("tampered-truncated-inside-signatures");
  CHECK(v["expected_reason"] == "parse: truncated signature 5");
  check_error(decode_vaa(bytes_of(v)), DecodeErrc::kInputTooShort, 6 + 66 * 5, "truncated signature 5");
}

TEST_CASE("rejects a body shorter than its 51-byte header, and accepts exactly 51 (empty payload)") {
  const Bytes input = sei();
  const std::size_t body = 6 + 66 * 13;
  check_error(decode_vaa(ByteView(input.data(), body)), DecodeErrc::kInputTooShort, body, "truncated body");
  check_error(decode_vaa(ByteView(input.data(), body + 50)), DecodeErrc::kInputTooShort, body, "truncated body");
  auto exact = decode_vaa(ByteView(input.data(), body + 51));
  REQUIRE(exact);
  CHECK(exact->body.payload.empty());
  CHECK(exact->body.sequence == 29310);
}

TEST_CASE("a zero-signature VAA decodes (the verifier refuses it for want of a quorum)") {
  auto vaa = decode_vaa(bytes_of(vector("tampered-zero-signatures")));
  REQUIRE(vaa);
  CHECK(vaa->signatures.empty());
  CHECK(to_hex(vaa->digest) == "0x5f086f6b61901438fea765f38b7a032d04e558b01cde650e9a3dbe38590d853d");
}

TEST_CASE("decodes the Sei token bridge transfer (type 1)") {
  const Vaa vaa = decoded("mainnet-token-transfer-sei-gs4");
  auto t = decode_token_transfer(vaa.body.payload);
  REQUIRE(t);
  CHECK(t->payload_type == 1);
  CHECK(to_decimal(t->amount) == "166185");
  CHECK(t->token_chain == 2);
  CHECK(to_hex(t->token_address) == "0x0000000000000000000000002260fac5e5542a773aa44fbcfedf7c193bc2c599");
  CHECK(t->to_chain == 21);
  CHECK(to_hex(t->to) == "0x909e3b6ac4e96956b55800429ea2d214ff94d69fce2fe1520a903fc96e2b4a79");
  CHECK(t->fee == 0);
  CHECK(!t->from_address);
  CHECK(encode_token_transfer(*t) == vaa.body.payload);
  const json j = decoded_payload_json(vaa.body);
  CHECK(j["type"] == "token-transfer");
  CHECK(j["amount"] == "166185");
  CHECK(j["fee"] == "0");
}

TEST_CASE("decodes the Sui transfer's amount beyond 2^32") {
  auto t = decode_token_transfer(decoded("mainnet-token-transfer-sui-gs4").body.payload);
  REQUIRE(t);
  CHECK(to_decimal(t->amount) == "200000000000");
  CHECK(t->to_chain == 16);
}

TEST_CASE("decodes a transfer with payload (type 3) with its sender and payload") {
  Bytes payload = decoded("mainnet-token-transfer-sei-gs4").body.payload;
  payload[0] = 3;
  payload.insert(payload.end(), {0xca, 0xfe});
  auto t = decode_token_transfer(payload);
  REQUIRE(t);
  CHECK(t->payload_type == 3);
  REQUIRE(t->from_address);
  CHECK(t->payload == Bytes{0xca, 0xfe});
  CHECK(encode_token_transfer(*t) == payload);
  VaaBody body;
  body.payload = payload;
  CHECK(decoded_payload_json(body)["type"] == "token-transfer-with-payload");
  CHECK(decoded_payload_json(body)["payload"] == "0xcafe");
}

TEST_CASE("rejects the gateway relayer's 62-byte type 3 payload as a truncated transfer") {
  // The vector's payload starts with 0x03 but is not a token bridge TransferWithPayload (133+ bytes).
  const Vaa vaa = decoded("mainnet-transfer-with-payload-solana-gs4");
  REQUIRE(vaa.body.payload.size() == 62);
  auto t = decode_token_transfer(vaa.body.payload);
  REQUIRE(!t);
  CHECK(t.error().code == DecodeErrc::kInputTooShort);
  CHECK(decoded_payload_json(vaa.body)["type"] == "unknown");
}

TEST_CASE("rejects a transfer of another payload type (2 = attestation, 0, 4)") {
  for (const char* id : {"mainnet-attestation-ethereum-gs2", "mainnet-ethereum-gs3-verify-vaa-shim", "mainnet-solana-emitter-gs4-large"}) {
    CAPTURE(id);
    auto t = decode_token_transfer(decoded(id).body.payload);
    REQUIRE(!t);
    CHECK(t.error().code == DecodeErrc::kInvalidField);
    CHECK(t.error().offset == 0);
  }
  CHECK(decoded_payload_json(decoded("mainnet-attestation-ethereum-gs2").body)["type"] == "unknown");
}

TEST_CASE("rejects a type 1 transfer of 132 or 134 bytes; type 3 needs at least 133") {
  Bytes payload = decoded("mainnet-token-transfer-sei-gs4").body.payload;
  REQUIRE(payload.size() == 133);
  auto short_one = decode_token_transfer(ByteView(payload.data(), 132));
  REQUIRE(!short_one);
  CHECK(short_one.error().code == DecodeErrc::kInputTooShort);
  payload.push_back(0);
  auto long_one = decode_token_transfer(payload);
  REQUIRE(!long_one);
  CHECK(long_one.error().code == DecodeErrc::kTrailingBytes);
  CHECK(long_one.error().offset == 133);
  payload[0] = 3;
  payload.pop_back();
  auto type3 = decode_token_transfer(payload);
  REQUIRE(type3);
  CHECK(type3->payload.empty());
  auto type3_short = decode_token_transfer(ByteView(payload.data(), 132));
  CHECK(!type3_short);
  CHECK(!decode_token_transfer(ByteView{}));
}

TEST_CASE("decodes the guardian set upgrade that installed set 1 from the genesis key") {
  const Vaa vaa = decoded("mainnet-guardian-set-upgrade-gs1");
  auto up = decode_guardian_set_upgrade(vaa.body.payload);
  REQUIRE(up);
  CHECK(up->chain == 0);
  CHECK(up->new_index == 1);
  REQUIRE(up->keys.size() == 19);
  CHECK(to_checksum(up->keys[0]) == "0x58CC3AE5C097b213cE3c81979e1B9f9570746AA5");
  CHECK(encode_guardian_set_upgrade(*up) == vaa.body.payload);
  const json j = decoded_payload_json(vaa.body);
  CHECK(j["type"] == "guardian-set-upgrade");
  CHECK(j["new_index"] == 1);
  CHECK(j["keys"].size() == 19);
}

TEST_CASE("rejects a governance payload of another module or action") {
  CHECK(decode_guardian_set_upgrade(decoded("mainnet-register-chain-tokenbridge-gs3").body.payload).error().offset == 0);
  Bytes payload = decoded("mainnet-guardian-set-upgrade-gs2").body.payload;
  payload[32] = 1;
  auto wrong_action = decode_guardian_set_upgrade(payload);
  REQUIRE(!wrong_action);
  CHECK(wrong_action.error().code == DecodeErrc::kInvalidField);
  CHECK(wrong_action.error().offset == 32);
  payload[32] = 2;
  payload[31] = 'f';
  CHECK(decode_guardian_set_upgrade(payload).error().code == DecodeErrc::kInvalidField);
}

TEST_CASE("rejects a guardian set upgrade with no keys, a truncated key list or trailing bytes") {
  GuardianSetUpgrade up{0, 5, {parse_address("0x58CC3AE5C097b213cE3c81979e1B9f9570746AA5").value()}};
  Bytes payload = encode_guardian_set_upgrade(up);
  REQUIRE(payload.size() == 60);
  REQUIRE(decode_guardian_set_upgrade(payload));
  auto truncated = decode_guardian_set_upgrade(ByteView(payload.data(), 59));
  REQUIRE(!truncated);
  CHECK(truncated.error().code == DecodeErrc::kInputTooShort);
  payload.push_back(0);
  auto trailing = decode_guardian_set_upgrade(payload);
  REQUIRE(!trailing);
  CHECK(trailing.error().code == DecodeErrc::kTrailingBytes);
  CHECK(trailing.error().offset == 60);
  auto empty = decode_guardian_set_upgrade(encode_guardian_set_upgrade(GuardianSetUpgrade{0, 5, {}}));
  REQUIRE(!empty);
  CHECK(empty.error().code == DecodeErrc::kInvalidField);
  CHECK(empty.error().offset == 39);
  CHECK(!decode_guardian_set_upgrade(ByteView(payload.data(), 39)));
}

TEST_CASE("JSON forms: u64 sequence as a decimal string, hex bytes, an unknown payload as hex") {
  const Vaa vaa = decoded("mainnet-guardian-set-upgrade-gs4");
  const json j = to_json(vaa);
  CHECK(j["body"]["sequence"] == "18252082506122526004");
  CHECK(j["digest"] == "0xeedbfdc99a5c4da5f84b5a40efe5f607d58f9db4bcb9be079f0d2834bae52efd");
  CHECK(j["signatures"].size() == 13);
  CHECK(j["version"] == 1);
  VaaBody body = vaa.body;
  body.payload = {0xde, 0xad};
  const json unknown = decoded_payload_json(body);
  CHECK(unknown["type"] == "unknown");
  CHECK(unknown["hex"] == "0xdead");
}

}  // TEST_SUITE

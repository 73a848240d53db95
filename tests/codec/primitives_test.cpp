#include <doctest/doctest.h>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/secp256k1.hpp"
#include "policy/codec/u256.hpp"

using namespace txguard::codec;

namespace {
Hash32 h32(std::string_view hex) { return from_hex_fixed<32>(hex).value(); }
}  // namespace

TEST_SUITE("primitives") {
  TEST_CASE("hex round-trips with and without 0x prefix") {
    CHECK(to_hex(from_hex("0xDeadBeef").value()) == "0xdeadbeef");
    CHECK(to_hex(from_hex("deadbeef").value()) == "0xdeadbeef");
    CHECK(from_hex("0x").value().empty());
    CHECK(from_hex("").value().empty());
  }

  TEST_CASE("hex rejects odd digit counts and non-hex characters with their offset") {
    CHECK(from_hex("0xabc").error().code == DecodeErrc::kOddLength);
    auto bad = from_hex("0xabzd");
    REQUIRE(!bad);
    CHECK(bad.error().code == DecodeErrc::kInvalidHex);
    CHECK(bad.error().offset == 4);
    CHECK(from_hex("0x 1").error().code == DecodeErrc::kInvalidHex);
    CHECK(from_hex("x0").error().code == DecodeErrc::kInvalidHex);
  }

  TEST_CASE("fixed hex requires the exact size") {
    CHECK(from_hex_fixed<4>("0x01020304").has_value());
    CHECK(from_hex_fixed<4>("0x010203").error().code == DecodeErrc::kWrongLength);
    CHECK(from_hex_fixed<4>("0x0102030405").error().code == DecodeErrc::kWrongLength);
  }

  TEST_CASE("keccak256 uses the original Keccak padding, not SHA3-256") {
    // Keccak-256("") differs from SHA3-256("") = a7ffc6f8...
    CHECK(to_hex(keccak256(ByteView{})) == "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    CHECK(to_hex(keccak256(view(std::string("transfer(address,uint256)")))).substr(0, 10) == "0xa9059cbb");
    const std::string a = "hello ", b = "world";
    CHECK(keccak256({view(a), view(b)}) == keccak256(view(std::string("hello world"))));
  }

  TEST_CASE("EIP-55 checksums match the EIP's own examples") {
    for (const char* text : {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                             "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
      auto a = parse_address(text);
      REQUIRE(a.has_value());
      CHECK(to_checksum(*a) == text);
    }
  }

  TEST_CASE("addresses in a single case are accepted without a checksum") {
    CHECK(parse_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").has_value());
    CHECK(parse_address("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED").has_value());
    CHECK(parse_address("0X5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").has_value());
  }

  TEST_CASE("a mixed-case address with a wrong checksum is an error, not silently accepted") {
    auto a = parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD");
    REQUIRE(!a);
    CHECK(a.error().code == DecodeErrc::kBadChecksum);
  }

  TEST_CASE("addresses of the wrong size or without 0x are rejected") {
    CHECK(parse_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea").error().code == DecodeErrc::kWrongLength);
    CHECK(parse_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed00").error().code == DecodeErrc::kWrongLength);
    CHECK(parse_address("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").error().code == DecodeErrc::kInvalidHex);
    CHECK(parse_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg").error().code == DecodeErrc::kInvalidHex);
    CHECK(parse_address("").error().code == DecodeErrc::kInvalidHex);
  }

  TEST_CASE("u256 parses decimal and hex up to 2^256-1") {
    CHECK(to_decimal(parse_u256("0").value()) == "0");
    CHECK(to_decimal(parse_u256("0x0").value()) == "0");
    CHECK(to_decimal(parse_u256("0xff").value()) == "255");
    const std::string max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    CHECK(to_decimal(parse_u256(max).value()) == max);
    CHECK(to_hex_quantity(parse_u256(max).value()) == "0x" + std::string(64, 'f'));
    CHECK(to_hex_quantity(parse_u256("0x" + std::string(64, 'F')).value()) == "0x" + std::string(64, 'f'));
  }

  TEST_CASE("u256 overflow at 2^256 is an error") {
    CHECK(parse_u256("115792089237316195423570985008687907853269984665640564039457584007913129639936").error().code ==
          DecodeErrc::kOverflow);
    CHECK(parse_u256("0x1" + std::string(64, '0')).error().code == DecodeErrc::kOverflow);
  }

  TEST_CASE("u256 rejects signs, spaces, empty digits and foreign characters") {
    for (const char* bad : {"", "0x", "-1", "+1", " 1", "1 ", "1e3", "0xg", "12a", "0b101"}) {
      CAPTURE(bad);
      CHECK(!parse_u256(bad).has_value());
    }
  }

  TEST_CASE("u256 checked arithmetic throws instead of wrapping") {
    const U256 max = ~U256(0);
    CHECK_THROWS_AS(max + 1, std::overflow_error);
    CHECK(to_u64(U256(42)) == std::optional<std::uint64_t>(42));
    CHECK(!to_u64(U256(1) << 64).has_value());
  }

  TEST_CASE("u256 checked add and mul answer nothing on overflow instead of throwing") {
    const U256 max = ~U256(0);
    const U256 half = max / 2;  // 2^255 - 1
    CHECK(checked_add(max, 0) == std::optional<U256>(max));
    CHECK(checked_add(max - 1, 1) == std::optional<U256>(max));
    CHECK(!checked_add(max, 1).has_value());
    CHECK(!checked_add(1, max).has_value());
    CHECK(!checked_add(max, max).has_value());
    CHECK(checked_add(half, half + 1) == std::optional<U256>(max));
    CHECK(!checked_add(half + 1, half + 1).has_value());
    CHECK(checked_mul(max, 1) == std::optional<U256>(max));
    CHECK(checked_mul(max, 0) == std::optional<U256>(U256(0)));
    CHECK(checked_mul(0, max) == std::optional<U256>(U256(0)));
    CHECK(checked_mul(half, 2) == std::optional<U256>(max - 1));
    CHECK(!checked_mul(half + 1, 2).has_value());
    CHECK(!checked_mul(2, half + 1).has_value());
    CHECK(!checked_mul(max, max).has_value());
    CHECK(checked_mul(U256(1) << 128, (U256(1) << 128) - 1) == std::optional<U256>(max - ((U256(1) << 128) - 1)));
    CHECK(!checked_mul(U256(1) << 128, U256(1) << 128).has_value());
  }

  TEST_CASE("u256 big-endian forms are minimal for RLP and 32 bytes for ABI") {
    CHECK(u256_to_be_min(U256(0)).empty());
    CHECK(to_hex(u256_to_be_min(U256(0x0100))) == "0x0100");
    CHECK(to_hex(u256_to_be32(U256(1))) == "0x" + std::string(63, '0') + "1");
    const std::uint8_t be[] = {0x00, 0x01, 0x02};
    CHECK(u256_from_be(be) == U256(0x0102));
  }

  TEST_CASE("signing is RFC 6979 deterministic, low-s, and recovers to the key's address") {
    // Hardhat/anvil test account #0.
    SecretKey key(h32("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"));
    REQUIRE(key.is_valid());
    CHECK(to_checksum(address_of(key).value()) == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    const Hash32 digest = keccak256(view(std::string("txguard")));
    auto sig1 = sign_digest(digest, key).value();
    auto sig2 = sign_digest(digest, key).value();
    CHECK(sig1.r == sig2.r);
    CHECK(sig1.s == sig2.s);
    CHECK(is_low_s(sig1.s));
    CHECK(recover_address(digest, sig1.r, sig1.s, sig1.recovery_id).value() == address_of(key).value());
    CHECK(sig1.to_rsv(27)[64] == 27 + sig1.recovery_id);
  }

  TEST_CASE("invalid secret keys (zero, n, above n) cannot sign") {
    CHECK(!SecretKey(Hash32{}).is_valid());
    CHECK(!SecretKey(h32("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")).is_valid());
    CHECK(!SecretKey(h32("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")).is_valid());
    CHECK(SecretKey(h32("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140")).is_valid());
    CHECK(!sign_digest(Hash32{}, SecretKey(Hash32{})).has_value());
  }

  TEST_CASE("recovery rejects r or s of zero or at least n, high s, and recovery ids above 1") {
    SecretKey key(h32("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"));
    const Hash32 digest = keccak256(view(std::string("x")));
    auto sig = sign_digest(digest, key).value();
    const Hash32 n = h32("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
    CHECK(recover_address(digest, Hash32{}, sig.s, sig.recovery_id).error().code == DecodeErrc::kInvalidSignature);
    CHECK(recover_address(digest, sig.r, Hash32{}, sig.recovery_id).error().code == DecodeErrc::kInvalidSignature);
    CHECK(recover_address(digest, n, sig.s, sig.recovery_id).error().code == DecodeErrc::kInvalidSignature);
    CHECK(recover_address(digest, sig.r, n, sig.recovery_id).error().code == DecodeErrc::kInvalidSignature);
    CHECK(recover_address(digest, sig.r, sig.s, 2).error().code == DecodeErrc::kInvalidV);
    // s' = n - s is the high-s twin of a valid signature: rejected under EIP-2, accepted (and
    // recovering the same key with the flipped recovery id) where the caller allows any s.
    U256 high = u256_from_be(n) - u256_from_be(sig.s);
    const Hash32 s_high = u256_to_be32(high);
    CHECK(recover_address(digest, sig.r, s_high, sig.recovery_id ^ 1).error().code == DecodeErrc::kHighS);
    CHECK(recover_address(digest, sig.r, s_high, sig.recovery_id ^ 1, SPolicy::kAnyS).value() == address_of(key).value());
  }
}

// Unsigned 256-bit integers (Boost.Multiprecision, checked: arithmetic overflow throws
// std::overflow_error instead of wrapping, so a bug can never turn a large amount into a small one).
#pragma once

#include <boost/multiprecision/cpp_int.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "policy/codec/bytes.hpp"

namespace txguard::codec {

using U256 = boost::multiprecision::number<boost::multiprecision::cpp_int_backend<
    256, 256, boost::multiprecision::unsigned_magnitude, boost::multiprecision::checked, void>>;

/// Parses a decimal ("12345") or 0x-prefixed hex ("0x3039") unsigned integer. No sign, no spaces,
/// no empty digits. Leading zeros are accepted in text (JSON producers emit "0x00"). Fails with
/// kInvalidNumber or kOverflow (more than 2^256-1); offset is the index of the offending character.
Decoded<U256> parse_u256(std::string_view text);

/// Big-endian bytes (at most 32; fewer is fine, leading zeros allowed) to a U256. Precondition:
/// bytes.size() <= 32.
U256 u256_from_be(ByteView bytes);
/// Exactly 32 big-endian bytes.
Hash32 u256_to_be32(const U256& value);
/// The shortest big-endian form, empty for zero (the RLP integer form).
Bytes u256_to_be_min(const U256& value);
/// Decimal digits, "0" for zero.
std::string to_decimal(const U256& value);
/// 0x-prefixed minimal lower-case hex, "0x0" for zero (the JSON-RPC quantity form).
std::string to_hex_quantity(const U256& value);
/// The value as uint64_t if it fits.
std::optional<std::uint64_t> to_u64(const U256& value);

/// a + b, or nothing when the sum exceeds 2^256-1. Pure, never throws: for arithmetic on values that
/// come from outside (a client's fee, an upstream's base fee), where U256's own operators would throw
/// std::overflow_error.
[[nodiscard]] std::optional<U256> checked_add(const U256& a, const U256& b) noexcept;
/// a * b, or nothing when the product exceeds 2^256-1. Pure, never throws.
[[nodiscard]] std::optional<U256> checked_mul(const U256& a, const U256& b) noexcept;

}  // namespace txguard::codec

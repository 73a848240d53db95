#include "policy/codec/u256.hpp"

#include <algorithm>

namespace txguard::codec {

Decoded<U256> parse_u256(std::string_view text) {
  if (text.empty()) return fail(DecodeErrc::kInvalidNumber, 0, {}, "empty");
  U256 value = 0;
  const bool hex = text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const std::size_t start = hex ? 2 : 0;
  if (start == text.size()) return fail(DecodeErrc::kInvalidNumber, start, {}, "no digits");
  static const U256 kMax = ~U256(0);
  const unsigned base = hex ? 16u : 10u;
  for (std::size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    unsigned digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (hex && c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else if (hex && c >= 'A' && c <= 'F') {
      digit = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return fail(DecodeErrc::kInvalidNumber, i);
    }
    if (value > (kMax - digit) / base) return fail(DecodeErrc::kOverflow, i, {}, "exceeds 2^256-1");
    value = value * base + digit;
  }
  return value;
}

U256 u256_from_be(ByteView bytes) {
  U256 value = 0;
  if (!bytes.empty()) {
    boost::multiprecision::import_bits(value, bytes.begin(), bytes.end(), 8, true);
  }
  return value;
}

Hash32 u256_to_be32(const U256& value) {
  Hash32 out{};
  Bytes min = u256_to_be_min(value);
  std::copy(min.begin(), min.end(), out.begin() + static_cast<std::ptrdiff_t>(32 - min.size()));
  return out;
}

Bytes u256_to_be_min(const U256& value) {
  Bytes out;
  if (value == 0) return out;
  out.reserve(32);
  boost::multiprecision::export_bits(value, std::back_inserter(out), 8, true);
  return out;
}

std::string to_decimal(const U256& value) { return value.str(); }

std::string to_hex_quantity(const U256& value) {
  if (value == 0) return "0x0";
  const std::string hex = to_hex_bare(u256_to_be_min(value));
  std::string out = "0x";
  out.append(hex, hex.find_first_not_of('0'));
  return out;
}

std::optional<std::uint64_t> to_u64(const U256& value) {
  if (value > std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
  return value.convert_to<std::uint64_t>();
}

// Both compare before computing, so neither reaches the backend's overflow check (which throws).
std::optional<U256> checked_add(const U256& a, const U256& b) noexcept {
  static const U256 kMax = ~U256(0);
  if (a > kMax - b) return std::nullopt;
  return a + b;
}

std::optional<U256> checked_mul(const U256& a, const U256& b) noexcept {
  static const U256 kMax = ~U256(0);
  if (a == 0 || b == 0) return U256(0);
  if (a > kMax / b) return std::nullopt;
  return a * b;
}

}  // namespace txguard::codec

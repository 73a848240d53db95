#include "policy/codec/address.hpp"

#include <algorithm>

#include "policy/codec/keccak.hpp"

namespace txguard::codec {

bool Address::is_zero() const noexcept {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

Decoded<Address> parse_address(std::string_view text) {
  if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return fail(DecodeErrc::kInvalidHex, 0, {}, "address must start with 0x");
  }
  const std::string_view digits = text.substr(2);
  if (digits.size() != 40) return fail(DecodeErrc::kWrongLength, 0, {}, "address must have 40 hex digits");
  auto raw = from_hex(digits);
  if (!raw) {
    DecodeError e = raw.error();
    e.offset += 2;
    return std::unexpected(e);
  }
  Address out;
  std::copy(raw->begin(), raw->end(), out.bytes.begin());
  const bool has_lower = std::any_of(digits.begin(), digits.end(), [](char c) { return c >= 'a' && c <= 'f'; });
  const bool has_upper = std::any_of(digits.begin(), digits.end(), [](char c) { return c >= 'A' && c <= 'F'; });
  // EIP-55: a mixed-case address is a claim that its case encodes the checksum; hold it to that.
  if (has_lower && has_upper && to_checksum(out).substr(2) != digits) {
    return fail(DecodeErrc::kBadChecksum, 0, {}, "mixed-case address fails its EIP-55 checksum");
  }
  return out;
}

std::string to_checksum(const Address& address) {
  const std::string lower = to_hex_bare(address.view());
  const Hash32 hash = keccak256(view(lower));
  std::string out = "0x";
  out.reserve(42);
  for (std::size_t i = 0; i < lower.size(); ++i) {
    char c = lower[i];
    const std::uint8_t nibble = (i % 2 == 0) ? (hash[i / 2] >> 4) : (hash[i / 2] & 0x0f);
    if (c >= 'a' && nibble >= 8) c = static_cast<char>(c - 'a' + 'A');
    out.push_back(c);
  }
  return out;
}

Address address_from_word(const Hash32& word) {
  Address out;
  std::copy(word.begin() + 12, word.end(), out.bytes.begin());
  return out;
}

Hash32 address_to_word(const Address& address) {
  Hash32 out{};
  std::copy(address.bytes.begin(), address.bytes.end(), out.begin() + 12);
  return out;
}

}  // namespace txguard::codec

// 20-byte Ethereum addresses and EIP-55 mixed-case checksums.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "policy/codec/bytes.hpp"

namespace txguard::codec {

struct Address {
  std::array<std::uint8_t, 20> bytes{};

  auto operator<=>(const Address&) const = default;
  bool is_zero() const noexcept;
  ByteView view() const noexcept { return {bytes.data(), bytes.size()}; }
};

/// Parses "0x" + 40 hex digits. All-lower-case and all-upper-case digits are accepted unchecked;
/// any mixed-case address must carry a correct EIP-55 checksum, else kBadChecksum. The 0x prefix is
/// required (kInvalidHex without it); other sizes give kWrongLength.
Decoded<Address> parse_address(std::string_view text);

/// The EIP-55 checksummed form, "0x" + 40 mixed-case digits.
std::string to_checksum(const Address& address);

/// The address held in the low 20 bytes of a 32-byte word (no check of the high bytes).
Address address_from_word(const Hash32& word);
/// The 32-byte word with the address right-aligned (ABI encoding).
Hash32 address_to_word(const Address& address);

}  // namespace txguard::codec

template <>
struct std::hash<txguard::codec::Address> {
  std::size_t operator()(const txguard::codec::Address& a) const noexcept {
    std::size_t h = 0;
    for (std::size_t i = 0; i < sizeof(std::size_t); ++i) h = (h << 8) | a.bytes[12 + i];
    return h;
  }
};

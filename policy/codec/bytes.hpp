// Byte containers and strict hex.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/codec/error.hpp"

namespace txguard::codec {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;
using Hash32 = std::array<std::uint8_t, 32>;

/// Lower-case hex with a 0x prefix ("0x" for empty input).
std::string to_hex(ByteView bytes);
/// Lower-case hex without prefix.
std::string to_hex_bare(ByteView bytes);

/// Parses hex digits, with or without a 0x/0X prefix, either case. Fails with kOddLength for an odd
/// number of digits and kInvalidHex (offset = index of the bad character in `text`) otherwise.
Decoded<Bytes> from_hex(std::string_view text);

/// Parses exactly N bytes of hex (prefix optional). kWrongLength if the size differs.
template <std::size_t N>
Decoded<std::array<std::uint8_t, N>> from_hex_fixed(std::string_view text) {
  auto bytes = from_hex(text);
  if (!bytes) return std::unexpected(bytes.error());
  if (bytes->size() != N) return fail(DecodeErrc::kWrongLength, 0, {}, "expected " + std::to_string(N) + " bytes");
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = (*bytes)[i];
  return out;
}

inline ByteView view(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace txguard::codec

#include "policy/codec/bytes.hpp"

namespace txguard::codec {
namespace {

constexpr char kDigits[] = "0123456789abcdef";

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string to_hex_bare(ByteView bytes) {
  std::string out;
  out.resize(bytes.size() * 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0x0f];
  }
  return out;
}

std::string to_hex(ByteView bytes) { return "0x" + to_hex_bare(bytes); }

Decoded<Bytes> from_hex(std::string_view text) {
  std::size_t start = 0;
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) start = 2;
  const std::size_t digits = text.size() - start;
  if (digits % 2 != 0) return fail(DecodeErrc::kOddLength, text.size());
  Bytes out(digits / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(text[start + 2 * i]);
    const int lo = hex_value(text[start + 2 * i + 1]);
    if (hi < 0) return fail(DecodeErrc::kInvalidHex, start + 2 * i);
    if (lo < 0) return fail(DecodeErrc::kInvalidHex, start + 2 * i + 1);
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

}  // namespace txguard::codec

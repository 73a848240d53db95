#include "policy/codec/json_value.hpp"

namespace txguard::codec {
namespace {

std::unexpected<DecodeError> at(const std::string& path, DecodeErrc code, std::string detail) {
  return fail(code, 0, path, std::move(detail));
}

}  // namespace

std::string json_path(const std::string& parent, std::string_view key) {
  std::string out = parent;
  out += '.';
  out += key;
  return out;
}

std::string json_path(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

Decoded<U256> json_u256(const nlohmann::json& value, const std::string& path) {
  if (value.is_number_unsigned()) return U256(value.get<std::uint64_t>());
  if (value.is_number_integer()) {
    const auto v = value.get<std::int64_t>();
    if (v < 0) return at(path, DecodeErrc::kInvalidNumber, "negative");
    return U256(static_cast<std::uint64_t>(v));
  }
  if (value.is_number_float()) return at(path, DecodeErrc::kInvalidNumber, "not an integer; use a decimal string");
  if (!value.is_string()) return at(path, DecodeErrc::kInvalidNumber, "expected an integer or a numeric string");
  auto parsed = parse_u256(value.get_ref<const std::string&>());
  if (!parsed) return at(path, parsed.error().code, "expected a decimal or 0x-hex unsigned integer");
  return parsed;
}

Decoded<Address> json_address(const nlohmann::json& value, const std::string& path) {
  if (!value.is_string()) return at(path, DecodeErrc::kInvalidField, "expected an address string");
  auto parsed = parse_address(value.get_ref<const std::string&>());
  if (!parsed) return at(path, parsed.error().code, parsed.error().detail);
  return parsed;
}

Decoded<Bytes> json_bytes(const nlohmann::json& value, const std::string& path) {
  if (!value.is_string()) return at(path, DecodeErrc::kInvalidField, "expected a 0x-prefixed hex string");
  const auto& text = value.get_ref<const std::string&>();
  if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return at(path, DecodeErrc::kInvalidHex, "expected a 0x-prefixed hex string");
  }
  auto parsed = from_hex(text);
  if (!parsed) return at(path, parsed.error().code, "at character " + std::to_string(parsed.error().offset));
  return parsed;
}

Decoded<Hash32> json_hash32(const nlohmann::json& value, const std::string& path) {
  auto bytes = json_bytes(value, path);
  if (!bytes) return std::unexpected(bytes.error());
  if (bytes->size() != 32) return at(path, DecodeErrc::kWrongLength, "expected 32 bytes");
  Hash32 out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

}  // namespace txguard::codec

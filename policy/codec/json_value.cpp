#include "policy/codec/json_value.hpp"

#include <unordered_set>
#include <vector>

namespace txguard::codec {
namespace {

std::unexpected<DecodeError> at(const std::string& path, DecodeErrc code, std::string detail) {
  return fail(code, 0, path, std::move(detail));
}

// The SAX pass: stops at the first problem and knows its path.
class StrictJsonScan {
 public:
  using Json = nlohmann::json;
  explicit StrictJsonScan(std::size_t max_depth) : max_depth_(max_depth) {}

  bool null() { return value_done(); }
  bool boolean(bool) { return value_done(); }
  bool number_integer(Json::number_integer_t) { return value_done(); }
  bool number_unsigned(Json::number_unsigned_t) { return value_done(); }
  bool number_float(Json::number_float_t, const Json::string_t&) { return value_done(); }
  bool string(Json::string_t&) { return value_done(); }
  bool binary(Json::binary_t&) { return value_done(); }
  bool start_object(std::size_t) { return open(false); }
  bool start_array(std::size_t) { return open(true); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(Json::string_t& key) {
    Frame& top = frames_.back();
    top.key = key;
    if (!top.keys.insert(key).second) {
      error_ = DecodeError{DecodeErrc::kInvalidJson, 0, path(), "duplicate object key"};
      return false;
    }
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const Json::exception& e) {
    error_ = DecodeError{DecodeErrc::kInvalidJson, position, {}, e.what()};
    return false;
  }

  const std::optional<DecodeError>& error() const { return error_; }

 private:
  struct Frame {
    bool is_array = false;
    std::size_t index = 0;
    std::string key;
    std::unordered_set<std::string> keys;
  };

  bool open(bool is_array) {
    if (frames_.size() >= max_depth_) {
      error_ = DecodeError{DecodeErrc::kTooDeep, 0, path(), "JSON nesting deeper than " + std::to_string(max_depth_)};
      return false;
    }
    frames_.push_back(Frame{is_array, 0, {}, {}});
    return true;
  }
  bool close() {
    frames_.pop_back();
    return value_done();
  }
  bool value_done() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
    return true;
  }
  std::string path() const {
    std::string out = "$";
    for (const Frame& f : frames_) out = f.is_array ? json_path(out, f.index) : json_path(out, f.key);
    return out;
  }

  std::size_t max_depth_;
  std::vector<Frame> frames_;
  std::optional<DecodeError> error_;
};

}  // namespace

Decoded<nlohmann::json> parse_json_strict(std::string_view text, std::size_t max_depth, bool allow_comments) {
  StrictJsonScan scan(max_depth);
  const bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &scan, nlohmann::json::input_format_t::json,
                                            true, allow_comments);
  if (scan.error()) return std::unexpected(*scan.error());
  if (!ok) return fail(DecodeErrc::kInvalidJson, 0, "$", "does not parse");
  nlohmann::json out = nlohmann::json::parse(text.begin(), text.end(), nullptr, false, allow_comments);
  if (out.is_discarded()) return fail(DecodeErrc::kInvalidJson, 0, "$", "does not parse");
  return out;
}

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

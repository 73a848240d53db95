// Event signatures and strict log decoding. Section names cite the Solidity ABI specification
// (docs/abi-spec.rst, "Events" and "Encoding of Indexed Event Parameters").
#include "policy/codec/event_log.hpp"

#include <set>
#include <utility>

#include "policy/codec/keccak.hpp"

namespace txguard::codec {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

// Index of the first character that breaks [A-Za-z_$][A-Za-z0-9_$]*, or npos when `text` is an
// identifier. An empty text fails at 0.
std::size_t identifier_error(std::string_view text) {
  if (text.empty() || !is_ident_start(text[0])) return 0;
  for (std::size_t i = 1; i < text.size(); ++i) {
    if (!is_ident_char(text[i])) return i;
  }
  return std::string_view::npos;
}

std::unexpected<DecodeError> bad_signature(std::size_t offset, std::string detail) {
  return fail(DecodeErrc::kInvalidAbiType, offset, {}, std::move(detail));
}

// "Encoding of Indexed Event Parameters": value types are stored in the topic as their ABI word;
// everything else (bytes, string, arrays, structs) as the keccak256 of a special encoding.
bool is_value_type(const AbiType& type) {
  switch (type.kind()) {
    case AbiType::Kind::kUint:
    case AbiType::Kind::kInt:
    case AbiType::Kind::kAddress:
    case AbiType::Kind::kBool:
    case AbiType::Kind::kFixedBytes:
      return true;
    default:
      return false;
  }
}

// One input "type [indexed] name" starting at `base` in the whole text.
Decoded<EventInput> parse_input(std::string_view part, std::size_t base) {
  if (part.empty()) return bad_signature(base, "an empty input");
  std::vector<std::pair<std::string_view, std::size_t>> tokens;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= part.size(); ++i) {
    if (i == part.size() || part[i] == ' ') {
      if (i == start) return bad_signature(base + i, "expected a single space between the type, 'indexed' and the name");
      tokens.emplace_back(part.substr(start, i - start), base + start);
      start = i + 1;
    }
  }
  if (tokens.size() < 2) return bad_signature(base + part.size(), "every input needs a type and a name");
  if (tokens.size() > 3) return bad_signature(tokens[3].second, "unexpected text after the input's name");
  if (tokens.size() == 3 && tokens[1].first != "indexed") {
    return bad_signature(tokens[1].second, "expected 'indexed' between the type and the name");
  }
  auto type = parse_abi_type(tokens[0].first);
  if (!type) {
    DecodeError e = type.error();
    e.offset += tokens[0].second;
    return std::unexpected(std::move(e));
  }
  const auto [name, name_at] = tokens.back();
  if (name == "indexed") return bad_signature(name_at, "the input has no name");
  if (const auto at = identifier_error(name); at != std::string_view::npos) {
    return bad_signature(name_at + at, "an input name is an identifier");
  }
  return EventInput{std::string(name), std::move(*type), tokens.size() == 3};
}

Hash32 topic_of(const std::string& canonical_text) { return keccak256(view(canonical_text)); }

}  // namespace

Decoded<EventSpec> parse_event_signature(std::string_view text) {
  const std::size_t open = text.find('(');
  if (open == std::string_view::npos) return bad_signature(text.size(), "expected Name(inputs)");
  if (const auto at = identifier_error(text.substr(0, open)); at != std::string_view::npos) {
    return bad_signature(at, "the event name is an identifier");
  }
  if (text.back() != ')') return bad_signature(text.size() - 1, "expected ')' at the end");
  const std::size_t inner_begin = open + 1;
  const std::string_view inner = text.substr(inner_begin, text.size() - 1 - inner_begin);

  EventSpec spec;
  spec.name = std::string(text.substr(0, open));
  if (!inner.empty()) {
    // Split at the commas outside any tuple type. Parentheses are counted only to find those commas;
    // parse_abi_type checks each type fully.
    std::size_t depth = 0, part_begin = 0;
    std::vector<std::pair<std::string_view, std::size_t>> parts;
    for (std::size_t i = 0; i <= inner.size(); ++i) {
      const char c = i < inner.size() ? inner[i] : ',';
      if (c == '(') {
        ++depth;
      } else if (c == ')') {
        if (depth == 0) return bad_signature(inner_begin + i, "unbalanced ')'");
        --depth;
      } else if (c == ',' && depth == 0) {
        parts.emplace_back(inner.substr(part_begin, i - part_begin), inner_begin + part_begin);
        part_begin = i + 1;
      }
    }
    if (depth != 0) return bad_signature(text.size() - 1, "unbalanced '('");
    std::set<std::string, std::less<>> names;
    std::size_t indexed = 0;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      auto [part, at] = parts[k];
      // One space after a comma is the common human spelling ("address a, uint256 b").
      if (k > 0 && !part.empty() && part.front() == ' ') {
        part.remove_prefix(1);
        ++at;
      }
      auto input = parse_input(part, at);
      if (!input) return std::unexpected(std::move(input.error()));
      if (!names.insert(input->name).second) {
        return bad_signature(at, "two inputs are named '" + input->name + "'");
      }
      if (input->indexed && ++indexed > kMaxIndexedInputs) {
        return bad_signature(at, "more than 3 indexed inputs");
      }
      spec.inputs.push_back(std::move(*input));
    }
  }
  std::vector<AbiType> types;
  types.reserve(spec.inputs.size());
  for (const auto& input : spec.inputs) types.push_back(input.type);
  spec.canonical = canonical_signature(spec.name, types);
  spec.topic0 = topic_of(spec.canonical);
  return spec;
}

std::string to_string(const EventSpec& spec) {
  std::string out = spec.name + "(";
  for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
    if (i > 0) out += ',';
    out += canonical(spec.inputs[i].type);
    if (spec.inputs[i].indexed) out += " indexed";
    out += ' ';
    out += spec.inputs[i].name;
  }
  return out + ")";
}

Decoded<std::vector<AbiValue>> decode_event_values(const EventSpec& spec, std::span<const Hash32> topics,
                                                   ByteView data) {
  std::vector<AbiType> data_types;
  std::size_t indexed = 0;
  for (const auto& input : spec.inputs) {
    if (input.indexed) {
      ++indexed;
    } else {
      data_types.push_back(input.type);
    }
  }
  if (topics.size() != 1 + indexed) {
    return fail(DecodeErrc::kWrongFieldCount, 0, "topics",
                "expected " + std::to_string(1 + indexed) + " topics for " + spec.canonical + ", got " +
                    std::to_string(topics.size()));
  }
  if (topics[0] != spec.topic0) {
    return fail(DecodeErrc::kInvalidField, 0, "topics[0]", "not the signature of " + spec.canonical);
  }
  auto decoded = abi_decode(data_types, data);
  if (!decoded) {
    DecodeError e = decoded.error();
    e.detail = "byte " + std::to_string(e.offset) + (e.detail.empty() ? "" : ": " + e.detail);
    e.where = "data";
    return std::unexpected(std::move(e));
  }
  // Solidity never appends to a log's data, so unlike calldata, extra bytes have no innocent reading.
  if (!decoded->trailing.empty()) {
    return fail(DecodeErrc::kTrailingBytes, decoded->consumed, "data",
                std::to_string(decoded->trailing.size()) + " bytes after the non-indexed inputs");
  }

  std::vector<AbiValue> values;
  values.reserve(spec.inputs.size());
  std::size_t next_topic = 1, next_data = 0;
  for (const auto& input : spec.inputs) {
    if (!input.indexed) {
      values.push_back(std::move(decoded->values[next_data++]));
      continue;
    }
    const std::size_t k = next_topic++;
    const Hash32& topic = topics[k];
    if (!is_value_type(input.type)) {
      values.push_back(AbiValue::bytes(Bytes(topic.begin(), topic.end())));
      continue;
    }
    // The strict ABI decoder of a single word applies exactly the padding rules of a topic.
    const AbiType one[] = {input.type};
    auto word = abi_decode(one, ByteView(topic));
    if (!word) {
      DecodeError e = word.error();
      e.offset += 32 * k;
      e.where = "topics[" + std::to_string(k) + "]";
      if (e.detail.empty()) e.detail = "input '" + input.name + "'";
      return std::unexpected(std::move(e));
    }
    values.push_back(std::move(word->values[0]));
  }
  return values;
}

Decoded<nlohmann::json> decode_event_log(const EventSpec& spec, std::span<const Hash32> topics, ByteView data) {
  auto values = decode_event_values(spec, topics, data);
  if (!values) return std::unexpected(std::move(values.error()));
  nlohmann::json out = nlohmann::json::object();
  for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
    const auto& input = spec.inputs[i];
    if (input.indexed && !is_value_type(input.type)) {
      const Bytes* hash = (*values)[i].get_if<Bytes>();
      out[input.name] = nlohmann::json{{"hash", to_hex(*hash)}};
    } else {
      // Decoded values always match their type, so to_json cannot throw here.
      out[input.name] = to_json(input.type, (*values)[i]);
    }
  }
  return out;
}

}  // namespace txguard::codec

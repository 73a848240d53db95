// EIP-712 (https://eips.ethereum.org/EIPS/eip-712) as eth_signTypedData_v4 uses it. The contract and
// the strictness choices are in eip712.hpp; this file says why each check is where it is.
#include "policy/codec/eip712.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <unordered_set>
#include <utility>

#include "policy/codec/address.hpp"
#include "policy/codec/json_value.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/u256.hpp"

namespace txguard::codec {

using Json = nlohmann::json;

namespace {

// 2^53 - 1 (JavaScript's Number.MAX_SAFE_INTEGER): the largest magnitude every JSON producer, including
// a browser wallet, is sure to have carried exactly.
constexpr std::uint64_t kMaxSafeJsonInteger = (std::uint64_t{1} << 53) - 1;
constexpr std::string_view kDomainType = "EIP712Domain";

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Solidity identifiers: type and field names end up inside the encodeType string, so anything that could
// alter its punctuation ("(", ",", " ", "[") must be kept out.
bool is_identifier(std::string_view s) {
  if (s.empty() || !is_ident_start(s.front())) return false;
  return std::all_of(s.begin() + 1, s.end(), [](char c) { return is_ident_start(c) || is_digit(c); });
}

// A non-empty decimal without leading zeros, at most 10 digits (enough for every width and for 2^32-1).
std::optional<std::uint64_t> parse_canonical_decimal(std::string_view s) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s.front() == '0')) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

void append_index(std::string& path, std::size_t i) {
  path += '[';
  path += std::to_string(i);
  path += ']';
}

// ".name" for identifiers, ["..."] (JSON-escaped) for anything else, so that a hostile key cannot make
// a path that looks like another one.
void append_key(std::string& path, std::string_view key) {
  if (is_identifier(key)) {
    path += '.';
    path += key;
    return;
  }
  path += '[';
  path += Json(std::string(key)).dump(-1, ' ', false, Json::error_handler_t::replace);
  path += ']';
}

std::string join_key(std::string_view base, std::string_view key) {
  std::string out(base);
  append_key(out, key);
  return out;
}

// A primitive's own error (e.g. from parse_address, with a byte offset into the string) moved to the
// JSON path of the value that carried it.
std::unexpected<DecodeError> at_path(const DecodeError& inner, const std::string& path, std::string_view what) {
  std::string detail(what);
  if (!inner.detail.empty()) {
    detail += ": ";
    detail += inner.detail;
  }
  return fail(inner.code, inner.offset, path, std::move(detail));
}

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. JSON text parsed by
// nlohmann is already valid, but a value built in code need not be, and an EIP-712 string is hashed as
// its UTF-8 bytes: invalid bytes have no text a reviewer could have been shown.
bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<std::uint8_t>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if (b0 < 0x80) {
      ++i;
      continue;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1Fu, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0Fu, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<std::uint8_t>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Types

// Builds an Eip712Types. A class (befriended by Eip712Types) so that the resolved representation can
// stay private to the codec.
class Eip712TypesBuilder {
 public:
  using Kind = Eip712Types::Kind;
  using FieldType = Eip712Types::FieldType;
  using StructType = Eip712Types::StructType;

  static Decoded<Eip712Types> build(const Json& types, std::string_view path);

 private:
  // The atomic types of EIP-712 ("Definition of typed structured data"), spelled exactly as in
  // encodeType. Widths are canonical decimals (ethers requires match === String(width)).
  static std::optional<FieldType> parse_atomic(std::string_view base) {
    FieldType t;
    if (base == "address") return t.kind = Kind::kAddress, t;
    if (base == "bool") return t.kind = Kind::kBool, t;
    if (base == "bytes") return t.kind = Kind::kBytes, t;
    if (base == "string") return t.kind = Kind::kString, t;
    const bool is_uint = base.starts_with("uint");
    if (is_uint || base.starts_with("int")) {
      const auto bits = parse_canonical_decimal(base.substr(is_uint ? 4 : 3));
      if (!bits || *bits == 0 || *bits > 256 || *bits % 8 != 0) return std::nullopt;
      t.kind = is_uint ? Kind::kUint : Kind::kInt;
      t.width = static_cast<std::uint16_t>(*bits);
      return t;
    }
    if (base.starts_with("bytes")) {
      const auto n = parse_canonical_decimal(base.substr(5));
      if (!n || *n == 0 || *n > 32) return std::nullopt;
      t.kind = Kind::kFixedBytes;
      t.width = static_cast<std::uint16_t>(*n);
      return t;
    }
    return std::nullopt;
  }

  // Names that look like Solidity elementary types without being valid EIP-712 ones ("uint", "int",
  // "uint7", "bytes0", "bytes33", "byte", "fixed128x18", "function"). Wallets disagree on them (ethers
  // rewrites "uint" to "uint256", eth-sig-util does not), and a struct may not take such a name.
  static bool is_reserved(std::string_view name) {
    if (parse_atomic(name)) return true;
    if (name == "byte" || name == "function") return true;
    for (std::string_view prefix : {"uint", "int", "bytes", "ufixed", "fixed"}) {
      if (!name.starts_with(prefix)) continue;
      const std::string_view rest = name.substr(prefix.size());
      if (std::all_of(rest.begin(), rest.end(), [](char c) { return is_digit(c) || c == 'x'; })) return true;
    }
    return false;
  }

  static Decoded<FieldType> parse_field_type(std::string_view text, const std::vector<StructType>& structs,
                                             const std::string& path);
  static Decoded<void> check_cycles(const std::vector<StructType>& structs, std::string_view path);
  static Decoded<void> compute_type_strings(std::vector<StructType>& structs, std::string_view path);
};

Decoded<Eip712Types::FieldType> Eip712TypesBuilder::parse_field_type(std::string_view text,
                                                                      const std::vector<StructType>& structs,
                                                                      const std::string& path) {
  const std::size_t bracket = std::min(text.find('['), text.size());
  const std::string_view base = text.substr(0, bracket);
  FieldType out;
  // Array suffixes: "[]" or "[k]", left to right; "T[2][]" is a dynamic array of T[2].
  for (std::size_t i = bracket; i < text.size();) {
    const std::size_t close = text.find(']', i);
    if (text[i] != '[' || close == std::string_view::npos) {
      return fail(DecodeErrc::kInvalidAbiType, 0, path, "malformed array suffix in \"" + std::string(text) + "\"");
    }
    const std::string_view digits = text.substr(i + 1, close - i - 1);
    if (digits.empty()) {
      out.dims.push_back(0);
    } else {
      const auto k = parse_canonical_decimal(digits);
      if (!k || *k == 0 || *k > std::numeric_limits<std::uint32_t>::max()) {
        return fail(DecodeErrc::kInvalidAbiType, 0, path,
                    "array length must be 1 to 2^32-1 without leading zeros in \"" + std::string(text) + "\"");
      }
      out.dims.push_back(static_cast<std::uint32_t>(*k));
    }
    if (out.dims.size() > kEip712MaxDepth) {
      return fail(DecodeErrc::kTooDeep, 0, path, "more than " + std::to_string(kEip712MaxDepth) + " array dimensions");
    }
    i = close + 1;
  }
  if (auto atomic = parse_atomic(base)) {
    atomic->dims = std::move(out.dims);
    return std::move(*atomic);
  }
  if (!is_identifier(base) || is_reserved(base)) {
    return fail(DecodeErrc::kInvalidAbiType, 0, path, "\"" + std::string(text) + "\" is not a valid EIP-712 type");
  }
  const auto it = std::lower_bound(structs.begin(), structs.end(), base,
                                   [](const StructType& s, std::string_view n) { return s.name < n; });
  if (it == structs.end() || it->name != base) {
    return fail(DecodeErrc::kUnknownType, 0, path, "type \"" + std::string(base) + "\" is not defined");
  }
  out.kind = Kind::kStruct;
  out.struct_index = static_cast<std::size_t>(it - structs.begin());
  return out;
}

// A cycle of struct references in which every step is mandatory (a direct member or a fixed-size array
// of at least one element) demands an infinitely deep value: no message can match it, and a wallet that
// tried would recurse forever. A dynamic array anywhere on the way can be empty, which ends the
// recursion (EIP-712 permits such recursive types, e.g. a tree of Person with Person[] children).
Decoded<void> Eip712TypesBuilder::check_cycles(const std::vector<StructType>& structs, std::string_view path) {
  enum : std::uint8_t { kWhite, kGray, kBlack };
  std::vector<std::uint8_t> color(structs.size(), kWhite);
  struct Frame {
    std::size_t node;
    std::size_t next_field;
  };
  std::vector<Frame> stack;
  for (std::size_t root = 0; root < structs.size(); ++root) {
    if (color[root] != kWhite) continue;
    stack.push_back({root, 0});
    color[root] = kGray;
    while (!stack.empty()) {
      Frame& top = stack.back();
      const StructType& s = structs[top.node];
      if (top.next_field == s.field_types.size()) {
        color[top.node] = kBlack;
        stack.pop_back();
        continue;
      }
      const std::size_t field = top.next_field++;
      const FieldType& ft = s.field_types[field];
      const bool mandatory = ft.kind == Kind::kStruct &&
                             std::none_of(ft.dims.begin(), ft.dims.end(), [](std::uint32_t d) { return d == 0; });
      if (!mandatory) continue;
      const std::size_t next = ft.struct_index;
      if (color[next] == kGray) {
        std::string cycle;
        const auto from = std::find_if(stack.begin(), stack.end(), [&](const Frame& f) { return f.node == next; });
        for (auto it = from; it != stack.end(); ++it) cycle += structs[it->node].name + " -> ";
        cycle += structs[next].name;
        std::string where(path);
        append_key(where, s.name);
        append_index(where, field);
        where += ".type";
        return fail(DecodeErrc::kInvalidAbiType, 0, std::move(where),
                    "recursive type cycle " + cycle + " cannot terminate (no dynamic array on the way)");
      }
      if (color[next] == kWhite) {
        color[next] = kGray;
        stack.push_back({next, 0});
      }
    }
  }
  return {};
}

// encodeType (EIP-712): "the set of referenced struct types is collected, sorted by name and appended
// to the encoding", transitively and through arrays, without the type itself. Names are identifiers
// (ASCII), so byte order is the order ethers and eth-sig-util get from JavaScript's sort().
Decoded<void> Eip712TypesBuilder::compute_type_strings(std::vector<StructType>& structs, std::string_view path) {
  std::vector<std::string> signatures;
  signatures.reserve(structs.size());
  for (const StructType& s : structs) {
    std::string sig = s.name + "(";
    for (std::size_t i = 0; i < s.fields.size(); ++i) {
      if (i != 0) sig += ',';
      sig += s.fields[i].type;
      sig += ' ';
      sig += s.fields[i].name;
    }
    sig += ')';
    signatures.push_back(std::move(sig));
  }
  // Every type visited costs at least its signature's length in the output, so charging the budget per
  // visit bounds the traversal work as well as the strings (a chain of n types costs O(n^2)).
  std::size_t budget = 0;
  std::vector<char> seen(structs.size(), 0);
  std::vector<std::size_t> deps;
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < structs.size(); ++i) {
    deps.clear();
    todo.assign(1, i);
    seen[i] = 1;
    budget += signatures[i].size();
    while (!todo.empty() && budget <= kEip712MaxTypeStringBytes) {
      const std::size_t n = todo.back();
      todo.pop_back();
      for (const FieldType& ft : structs[n].field_types) {
        if (ft.kind != Kind::kStruct || seen[ft.struct_index] != 0) continue;
        seen[ft.struct_index] = 1;
        deps.push_back(ft.struct_index);
        todo.push_back(ft.struct_index);
        budget += signatures[ft.struct_index].size();
      }
    }
    seen[i] = 0;
    for (std::size_t d : deps) seen[d] = 0;
    if (budget > kEip712MaxTypeStringBytes) {
      return fail(DecodeErrc::kTooDeep, 0, std::string(path),
                  "encodeType strings exceed " + std::to_string(kEip712MaxTypeStringBytes) + " bytes");
    }
    std::sort(deps.begin(), deps.end());  // structs are sorted by name, so index order is name order
    std::string encoded = signatures[i];
    for (std::size_t d : deps) encoded += signatures[d];
    structs[i].type_hash = keccak256(view(encoded));
    structs[i].encoded_type = std::move(encoded);
  }
  return {};
}

Decoded<Eip712Types> Eip712TypesBuilder::build(const Json& types, std::string_view path) {
  if (!types.is_object()) return fail(DecodeErrc::kInvalidJson, 0, std::string(path), "types must be a JSON object");
  std::vector<StructType> structs;
  structs.reserve(types.size());
  // nlohmann::json objects are std::map: iteration is in ascending key order, which is the order the
  // lookups and encodeType rely on.
  for (const auto& [name, definition] : types.items()) {
    if (!is_identifier(name) || is_reserved(name)) {
      return fail(DecodeErrc::kInvalidAbiType, 0, join_key(path, name),
                  "a struct type name must be an identifier that is not an atomic type");
    }
    structs.push_back(StructType{name, {}, {}, {}, {}});
  }
  for (StructType& s : structs) {
    const Json& definition = types.find(s.name).value();
    std::string where = join_key(path, s.name);
    if (!definition.is_array()) {
      return fail(DecodeErrc::kInvalidJson, 0, where, "a struct type must be an array of {name, type}");
    }
    std::unordered_set<std::string_view> names;
    for (std::size_t i = 0; i < definition.size(); ++i) {
      const Json& field = definition[i];
      std::string at = where;
      append_index(at, i);
      if (!field.is_object()) return fail(DecodeErrc::kInvalidJson, 0, at, "a field must be a {name, type} object");
      for (const auto& [key, unused] : field.items()) {
        if (key != "name" && key != "type") {
          return fail(DecodeErrc::kInvalidField, 0, join_key(at, key), "a field has only \"name\" and \"type\"");
        }
      }
      const auto name_it = field.find("name");
      const auto type_it = field.find("type");
      if (name_it == field.end()) return fail(DecodeErrc::kMissingField, 0, at + ".name");
      if (type_it == field.end()) return fail(DecodeErrc::kMissingField, 0, at + ".type");
      const auto* name = name_it->get_ptr<const std::string*>();
      const auto* type = type_it->get_ptr<const std::string*>();
      if (name == nullptr) return fail(DecodeErrc::kInvalidJson, 0, at + ".name", "must be a string");
      if (type == nullptr) return fail(DecodeErrc::kInvalidJson, 0, at + ".type", "must be a string");
      if (!is_identifier(*name)) {
        return fail(DecodeErrc::kInvalidAbiType, 0, at + ".name", "a field name must be an identifier");
      }
      if (!names.insert(*name).second) {
        return fail(DecodeErrc::kInvalidAbiType, 0, at + ".name", "duplicate field name \"" + *name + "\"");
      }
      auto parsed = parse_field_type(*type, structs, at + ".type");
      if (!parsed) return std::unexpected(std::move(parsed.error()));
      s.fields.push_back(Eip712Field{*name, *type});
      s.field_types.push_back(std::move(*parsed));
    }
  }
  if (auto ok = check_cycles(structs, path); !ok) return std::unexpected(std::move(ok.error()));
  if (auto ok = compute_type_strings(structs, path); !ok) return std::unexpected(std::move(ok.error()));
  Eip712Types out;
  out.structs_ = std::move(structs);
  return out;
}

Decoded<Eip712Types> Eip712Types::parse(const Json& types, std::string_view path) {
  return Eip712TypesBuilder::build(types, path);
}

const Eip712Types::StructType* Eip712Types::find(std::string_view type_name) const noexcept {
  const auto it = std::lower_bound(structs_.begin(), structs_.end(), type_name,
                                   [](const StructType& s, std::string_view n) { return s.name < n; });
  return (it != structs_.end() && it->name == type_name) ? &*it : nullptr;
}

bool Eip712Types::contains(std::string_view type_name) const noexcept { return find(type_name) != nullptr; }

const std::vector<Eip712Field>* Eip712Types::fields(std::string_view type_name) const noexcept {
  const StructType* s = find(type_name);
  return s != nullptr ? &s->fields : nullptr;
}

std::vector<std::string_view> Eip712Types::names() const {
  std::vector<std::string_view> out;
  out.reserve(structs_.size());
  for (const StructType& s : structs_) out.emplace_back(s.name);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Values

// encodeData (EIP-712 "Definition of encodeData"): every member becomes one 32-byte word. The path is
// one string grown and shrunk as the walk goes, so a successful hash allocates no path strings.
class Eip712Encoder {
 public:
  using Kind = Eip712Types::Kind;
  using FieldType = Eip712Types::FieldType;
  using StructType = Eip712Types::StructType;

  explicit Eip712Encoder(const Eip712Types& types) : types_(types) {}

  static const StructType* lookup(const Eip712Types& types, std::string_view name) noexcept {
    return types.find(name);
  }

  // typeHash || encodeData(value), appended to `out`.
  Decoded<void> encode_struct(const StructType& type, const Json& value, std::string& path, std::size_t depth,
                              Bytes& out) {
    if (auto ok = enter(path, depth); !ok) return ok;
    if (!value.is_object()) return fail(DecodeErrc::kInvalidJson, 0, path, "expected an object for " + type.name);
    // Exactly the declared members: an undeclared one is not signed but could be displayed.
    if (value.size() > type.fields.size()) {
      for (const auto& [key, unused] : value.items()) {
        const bool declared = std::any_of(type.fields.begin(), type.fields.end(),
                                          [&](const Eip712Field& f) { return f.name == key; });
        if (!declared) {
          return fail(DecodeErrc::kInvalidField, 0, join_key(path, key), "not a member of " + type.name);
        }
      }
    }
    out.reserve(out.size() + 32 * (type.fields.size() + 1));
    out.insert(out.end(), type.type_hash.begin(), type.type_hash.end());
    for (std::size_t i = 0; i < type.fields.size(); ++i) {
      const std::size_t mark = path.size();
      path += '.';
      path += type.fields[i].name;
      const auto member = value.find(std::string_view(type.fields[i].name));
      if (member == value.end()) return fail(DecodeErrc::kMissingField, 0, path, "required by " + type.name);
      auto word = encode_value(type.field_types[i], type.field_types[i].dims.size(), *member, path, depth);
      if (!word) return std::unexpected(std::move(word.error()));
      out.insert(out.end(), word->begin(), word->end());
      path.resize(mark);
    }
    return {};
  }

  Decoded<Hash32> hash_struct(const StructType& type, const Json& value, std::string& path, std::size_t depth) {
    Bytes buffer;
    if (auto ok = encode_struct(type, value, path, depth, buffer); !ok) return std::unexpected(std::move(ok.error()));
    return keccak256(buffer);
  }

 private:
  Decoded<void> enter(const std::string& path, std::size_t depth) {
    if (depth > kEip712MaxDepth) {
      return fail(DecodeErrc::kTooDeep, 0, path, "nesting deeper than " + std::to_string(kEip712MaxDepth));
    }
    if (++nodes_ > kEip712MaxValueNodes) {
      return fail(DecodeErrc::kTooDeep, 0, path, "more than " + std::to_string(kEip712MaxValueNodes) + " values");
    }
    return {};
  }

  // The word for `value` of type `type` with only its first `dims` array suffixes applied.
  Decoded<Hash32> encode_value(const FieldType& type, std::size_t dims, const Json& value, std::string& path,
                               std::size_t depth) {
    if (dims > 0) return encode_array(type, dims, value, path, depth);
    if (type.kind == Kind::kStruct) return hash_struct(types_.structs_[type.struct_index], value, path, depth + 1);
    if (auto ok = enter(path, depth); !ok) return std::unexpected(std::move(ok.error()));
    switch (type.kind) {
      case Kind::kStruct: break;
      case Kind::kUint:
      case Kind::kInt: return encode_integer(type, value, path);
      case Kind::kAddress: return encode_address(value, path);
      case Kind::kBool: return encode_bool(value, path);
      case Kind::kFixedBytes: return encode_fixed_bytes(type.width, value, path);
      case Kind::kBytes: return encode_bytes(value, path);
      case Kind::kString: return encode_string(value, path);
    }
    return fail(DecodeErrc::kInvalidAbiType, 0, path, "unhandled type kind");
  }

  // Arrays: "keccak256 hash of the concatenated encodeData of their contents"; the outermost dimension
  // is the last suffix.
  Decoded<Hash32> encode_array(const FieldType& type, std::size_t dims, const Json& value, std::string& path,
                               std::size_t depth) {
    if (auto ok = enter(path, depth + 1); !ok) return std::unexpected(std::move(ok.error()));
    if (!value.is_array()) return fail(DecodeErrc::kInvalidJson, 0, path, "expected an array");
    const std::uint32_t fixed = type.dims[dims - 1];
    if (fixed != 0 && value.size() != fixed) {
      return fail(DecodeErrc::kWrongLength, 0, path,
                  "expected " + std::to_string(fixed) + " elements, got " + std::to_string(value.size()));
    }
    Bytes buffer;
    buffer.reserve(32 * value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
      const std::size_t mark = path.size();
      append_index(path, i);
      auto word = encode_value(type, dims - 1, value[i], path, depth + 1);
      if (!word) return std::unexpected(std::move(word.error()));
      buffer.insert(buffer.end(), word->begin(), word->end());
      path.resize(mark);
    }
    return keccak256(buffer);
  }

  static const std::string* string_or_null(const Json& value) { return value.get_ptr<const std::string*>(); }

  // intN / uintN as a 256-bit word, two's complement for negatives (Solidity abi.encode semantics).
  static Decoded<Hash32> encode_integer(const FieldType& type, const Json& value, const std::string& path) {
    const bool is_signed = type.kind == Kind::kInt;
    // Built only for an error message: this runs for every integer of every SafeTx.
    const auto type_name = [&] { return (is_signed ? "int" : "uint") + std::to_string(type.width); };
    bool negative = false;
    U256 magnitude = 0;
    if (value.is_number_float()) {
      return fail(DecodeErrc::kInvalidNumber, 0, path,
                  "a JSON number with a fraction, an exponent or beyond 64 bits is ambiguous; use a string");
    } else if (const auto* u = value.get_ptr<const Json::number_unsigned_t*>()) {
      if (*u > kMaxSafeJsonInteger) {
        return fail(DecodeErrc::kInvalidNumber, 0, path, "a JSON number above 2^53-1 is ambiguous; use a string");
      }
      magnitude = *u;
    } else if (const auto* i = value.get_ptr<const Json::number_integer_t*>()) {
      const std::uint64_t abs = *i < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(*i) : static_cast<std::uint64_t>(*i);
      if (abs > kMaxSafeJsonInteger) {
        return fail(DecodeErrc::kInvalidNumber, 0, path, "a JSON number beyond 2^53-1 is ambiguous; use a string");
      }
      negative = *i < 0;
      magnitude = abs;
    } else if (const std::string* text = string_or_null(value)) {
      std::string_view digits = *text;
      if (digits.starts_with('-')) {
        digits.remove_prefix(1);
        negative = true;
        if (digits.starts_with("0x") || digits.starts_with("0X")) {
          return fail(DecodeErrc::kInvalidNumber, 0, path, "a negative number must be decimal");
        }
      }
      auto parsed = parse_u256(digits);
      if (!parsed) return at_path(parsed.error(), path, "not a decimal or 0x-hex integer for " + type_name());
      magnitude = *parsed;
      if (negative && magnitude == 0) return fail(DecodeErrc::kInvalidNumber, 0, path, "negative zero");
    } else {
      return fail(DecodeErrc::kInvalidJson, 0, path, "expected a number or a numeric string for " + type_name());
    }
    // Range of the declared width, as ethers checks it: [0, 2^N-1] or [-2^(N-1), 2^(N-1)-1].
    const unsigned value_bits = is_signed ? type.width - 1u : type.width;
    if (negative && !is_signed) return fail(DecodeErrc::kOverflow, 0, path, "negative value for " + type_name());
    const U256 excess = negative ? U256(magnitude - 1) : magnitude;
    if (value_bits < 256 && excess != 0 && boost::multiprecision::msb(excess) >= value_bits) {
      return fail(DecodeErrc::kOverflow, 0, path, "out of range for " + type_name());
    }
    Hash32 word = u256_to_be32(magnitude);
    if (negative) {
      for (auto& b : word) b = static_cast<std::uint8_t>(~b);
      for (std::size_t k = word.size(); k-- > 0;) {
        if (++word[k] != 0) break;
      }
    }
    return word;
  }

  static Decoded<Hash32> encode_address(const Json& value, const std::string& path) {
    const std::string* text = string_or_null(value);
    if (text == nullptr) return fail(DecodeErrc::kInvalidJson, 0, path, "expected a string for address");
    auto address = parse_address(*text);
    if (!address) return at_path(address.error(), path, "invalid address");
    return address_to_word(*address);
  }

  static Decoded<Hash32> encode_bool(const Json& value, const std::string& path) {
    const bool* b = value.get_ptr<const bool*>();
    if (b == nullptr) return fail(DecodeErrc::kInvalidJson, 0, path, "expected true or false for bool");
    Hash32 word{};
    word[31] = *b ? 1 : 0;
    return word;
  }

  // "0x"-prefixed hex, the only form every wallet reads the same way (ethers' getBytes requires it).
  static Decoded<Bytes> hex_value(const Json& value, const std::string& path, std::string_view type_name) {
    const std::string* text = string_or_null(value);
    if (text == nullptr) return fail(DecodeErrc::kInvalidJson, 0, path, "expected a 0x hex string for " + std::string(type_name));
    if (!text->starts_with("0x")) return fail(DecodeErrc::kInvalidHex, 0, path, "must start with 0x");
    auto bytes = from_hex(*text);
    if (!bytes) return at_path(bytes.error(), path, "invalid hex");
    return bytes;
  }

  // bytesN: exactly N bytes, left-aligned in the word (ethers v6 and viem reject any other size).
  static Decoded<Hash32> encode_fixed_bytes(std::uint16_t width, const Json& value, const std::string& path) {
    auto bytes = hex_value(value, path, "bytesN");
    if (!bytes) return std::unexpected(std::move(bytes.error()));
    if (bytes->size() != width) {
      return fail(DecodeErrc::kWrongLength, 0, path,
                  "expected " + std::to_string(width) + " bytes for bytes" + std::to_string(width) + ", got " +
                      std::to_string(bytes->size()));
    }
    Hash32 word{};
    std::copy(bytes->begin(), bytes->end(), word.begin());
    return word;
  }

  static Decoded<Hash32> encode_bytes(const Json& value, const std::string& path) {
    auto bytes = hex_value(value, path, "bytes");
    if (!bytes) return std::unexpected(std::move(bytes.error()));
    return keccak256(*bytes);
  }

  static Decoded<Hash32> encode_string(const Json& value, const std::string& path) {
    const std::string* text = string_or_null(value);
    if (text == nullptr) return fail(DecodeErrc::kInvalidJson, 0, path, "expected a string");
    if (!is_valid_utf8(*text)) return fail(DecodeErrc::kInvalidField, 0, path, "not valid UTF-8");
    return keccak256(view(*text));
  }

  const Eip712Types& types_;
  std::size_t nodes_ = 0;
};

Decoded<std::string> encode_type(const Eip712Types& types, std::string_view type_name) {
  const auto* s = Eip712Encoder::lookup(types, type_name);
  if (s == nullptr) return fail(DecodeErrc::kUnknownType, 0, std::string(type_name), "not a defined struct type");
  return s->encoded_type;
}

Decoded<Hash32> type_hash(const Eip712Types& types, std::string_view type_name) {
  const auto* s = Eip712Encoder::lookup(types, type_name);
  if (s == nullptr) return fail(DecodeErrc::kUnknownType, 0, std::string(type_name), "not a defined struct type");
  return s->type_hash;
}

Decoded<Bytes> encode_data(const Eip712Types& types, std::string_view type_name, const Json& value,
                           std::string_view path) {
  const auto* s = Eip712Encoder::lookup(types, type_name);
  if (s == nullptr) return fail(DecodeErrc::kUnknownType, 0, std::string(path), "\"" + std::string(type_name) + "\" is not defined");
  Eip712Encoder encoder(types);
  std::string where(path);
  Bytes out;
  if (auto ok = encoder.encode_struct(*s, value, where, 1, out); !ok) return std::unexpected(std::move(ok.error()));
  return out;
}

Decoded<Hash32> hash_struct(const Eip712Types& types, std::string_view type_name, const Json& value,
                            std::string_view path) {
  const auto* s = Eip712Encoder::lookup(types, type_name);
  if (s == nullptr) return fail(DecodeErrc::kUnknownType, 0, std::string(path), "\"" + std::string(type_name) + "\" is not defined");
  Eip712Encoder encoder(types);
  std::string where(path);
  return encoder.hash_struct(*s, value, where, 1);
}

Hash32 eip712_digest(const Hash32& domain_separator, const std::optional<Hash32>& message_hash) {
  static constexpr std::array<std::uint8_t, 2> kPrefix{0x19, 0x01};  // EIP-191 version 0x01
  if (!message_hash) return keccak256({ByteView(kPrefix), ByteView(domain_separator)});
  return keccak256({ByteView(kPrefix), ByteView(domain_separator), ByteView(*message_hash)});
}

// ---------------------------------------------------------------------------------------------------
// Requests

namespace {

// The EIP712Domain members EIP-712 defines, with the only type each may have.
constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kDomainFields{{
    {"name", "string"},
    {"version", "string"},
    {"chainId", "uint256"},
    {"verifyingContract", "address"},
    {"salt", "bytes32"},
}};

Decoded<void> check_domain_type(const Eip712Types& types) {
  const auto* fields = types.fields(kDomainType);
  if (fields == nullptr) {
    return fail(DecodeErrc::kMissingField, 0, "$.types.EIP712Domain", "eth_signTypedData_v4 requires the domain type");
  }
  for (std::size_t i = 0; i < fields->size(); ++i) {
    const Eip712Field& f = (*fields)[i];
    std::string at = "$.types.EIP712Domain";
    append_index(at, i);
    const auto known = std::find_if(kDomainFields.begin(), kDomainFields.end(),
                                    [&](const auto& d) { return d.first == f.name; });
    if (known == kDomainFields.end()) {
      return fail(DecodeErrc::kInvalidField, 0, at + ".name",
                  "\"" + f.name + "\" is not an EIP-712 domain field (name, version, chainId, verifyingContract, salt)");
    }
    if (f.type != known->second) {
      return fail(DecodeErrc::kInvalidField, 0, at + ".type",
                  "domain field " + f.name + " must have type " + std::string(known->second));
    }
  }
  return {};
}

}  // namespace

Decoded<TypedData> parse_typed_data(const Json& request) {
  if (!request.is_object()) return fail(DecodeErrc::kInvalidJson, 0, "$", "expected a JSON object");
  for (const auto& [key, unused] : request.items()) {
    if (key != "types" && key != "primaryType" && key != "domain" && key != "message") {
      return fail(DecodeErrc::kInvalidField, 0, join_key("$", key),
                  "not a member of an eth_signTypedData_v4 request (types, primaryType, domain, message)");
    }
  }
  const auto types_it = request.find("types");
  const auto primary_it = request.find("primaryType");
  const auto domain_it = request.find("domain");
  const auto message_it = request.find("message");
  if (types_it == request.end()) return fail(DecodeErrc::kMissingField, 0, "$.types");
  if (primary_it == request.end()) return fail(DecodeErrc::kMissingField, 0, "$.primaryType");
  if (domain_it == request.end()) return fail(DecodeErrc::kMissingField, 0, "$.domain");
  if (message_it == request.end()) return fail(DecodeErrc::kMissingField, 0, "$.message");

  auto types = Eip712Types::parse(*types_it, "$.types");
  if (!types) return std::unexpected(std::move(types.error()));
  if (auto ok = check_domain_type(*types); !ok) return std::unexpected(std::move(ok.error()));

  const std::string* primary = primary_it->get_ptr<const std::string*>();
  if (primary == nullptr) return fail(DecodeErrc::kInvalidJson, 0, "$.primaryType", "must be a string");
  const auto* primary_type = Eip712Encoder::lookup(*types, *primary);
  if (primary_type == nullptr) {
    return fail(DecodeErrc::kUnknownType, 0, "$.primaryType", "\"" + *primary + "\" is not defined in types");
  }

  Eip712Encoder encoder(*types);
  std::string path = "$.domain";
  auto domain_separator = encoder.hash_struct(*Eip712Encoder::lookup(*types, kDomainType), *domain_it, path, 1);
  if (!domain_separator) return std::unexpected(std::move(domain_separator.error()));

  std::optional<Hash32> message_hash;
  if (*primary == kDomainType) {
    // eth-sig-util's eip712Hash signs only the domain then: keep the message empty so nothing unsigned
    // can be displayed as if it were part of the request.
    if (!message_it->is_object() || !message_it->empty()) {
      return fail(DecodeErrc::kInvalidField, 0, "$.message",
                  "must be {} when primaryType is EIP712Domain (the message is not signed)");
    }
  } else {
    path = "$.message";
    auto hashed = encoder.hash_struct(*primary_type, *message_it, path, 1);
    if (!hashed) return std::unexpected(std::move(hashed.error()));
    message_hash = *hashed;
  }

  TypedData out{std::move(*types), *primary, *domain_it, *message_it, *domain_separator, message_hash, {}};
  out.digest = eip712_digest(out.domain_separator, out.message_hash);
  return out;
}

Decoded<TypedData> parse_typed_data(std::string_view json_text) {
  // Syntax, duplicate keys and depth are checked on the text before any DOM exists: nlohmann keeps the
  // last of two equal keys, another parser may keep the first, so a request with duplicates can mean
  // two things.
  auto request = parse_json_strict(json_text, kEip712MaxJsonDepth);
  if (!request) return std::unexpected(std::move(request.error()));
  return parse_typed_data(*request);
}

}  // namespace txguard::codec

// Strict ABI decoding and standard encoding. Section names cite the Solidity ABI specification
// (docs/abi-spec.rst, "Formal Specification of the Encoding" and "Strict Encoding Mode").
#include "policy/codec/abi.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>

namespace txguard::codec {
namespace {

constexpr std::size_t kWord = 32;

bool valid_int_bits(unsigned bits) { return bits >= 8 && bits <= 256 && bits % 8 == 0; }

// ----------------------------------------------------------------------------------------------
// UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. Returns the index of
// the first byte of the first invalid sequence, or bytes.size() when the whole input is valid.
std::size_t first_invalid_utf8(ByteView bytes) {
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  while (i < n) {
    const std::uint8_t b = bytes[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra = 0;
    std::uint8_t lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (b >= 0xc2 && b <= 0xdf) {
      extra = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      extra = 2;
      if (b == 0xe0) lo = 0xa0;  // overlong
      if (b == 0xed) hi = 0x9f;  // UTF-16 surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      extra = 3;
      if (b == 0xf0) lo = 0x90;  // overlong
      if (b == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return i;
    }
    if (n - i <= extra) return i;
    if (bytes[i + 1] < lo || bytes[i + 1] > hi) return i;
    for (std::size_t k = 2; k <= extra; ++k) {
      if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return i;
    }
    i += extra + 1;
  }
  return n;
}

bool is_valid_utf8(std::string_view text) {
  const ByteView bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  return first_invalid_utf8(bytes) == bytes.size();
}

// ----------------------------------------------------------------------------------------------
// Type strings.

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Decimal digits, non-empty, without leading zeros.
bool canonical_digits(std::string_view digits) {
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return false;
  return std::all_of(digits.begin(), digits.end(), is_digit);
}

// The value of canonical digits if it is at most `limit`; nullopt when malformed or above it.
std::optional<std::size_t> parse_size(std::string_view digits, std::size_t limit) {
  if (!canonical_digits(digits)) return std::nullopt;
  std::size_t value = 0;
  for (char c : digits) {
    const auto d = static_cast<std::size_t>(c - '0');
    if (value > (limit - d) / 10) return std::nullopt;
    value = value * 10 + d;
  }
  return value;
}

// Checked builders: the factories throw on what the parsers must report as errors.
Decoded<AbiType> checked_array(AbiType element, std::optional<std::size_t> length, std::size_t offset,
                               std::string where) {
  if (element.depth() + 1 > kMaxAbiDepth) {
    return fail(DecodeErrc::kTooDeep, offset, std::move(where), "type nested deeper than " + std::to_string(kMaxAbiDepth));
  }
  if (!length) return AbiType::array(std::move(element));
  if (*length > kMaxAbiStaticSize / element.head_size()) {
    return fail(DecodeErrc::kOverflow, offset, std::move(where), "fixed array too large");
  }
  return AbiType::fixed_array(std::move(element), *length);
}

Decoded<AbiType> checked_tuple(std::vector<AbiType> components, std::vector<std::string> names, std::size_t offset,
                               std::string where) {
  std::size_t depth = 0;
  std::size_t head = 0;
  for (const auto& c : components) {
    depth = std::max(depth, c.depth());
    head += c.head_size();  // each <= kMaxAbiStaticSize: no overflow for any realistic count
    if (head > kMaxAbiStaticSize) return fail(DecodeErrc::kOverflow, offset, where, "tuple too large");
  }
  if (depth + 1 > kMaxAbiDepth) {
    return fail(DecodeErrc::kTooDeep, offset, std::move(where), "type nested deeper than " + std::to_string(kMaxAbiDepth));
  }
  return AbiType::tuple(std::move(components), std::move(names));
}

// Recursive descent over canonical type strings. With `json_syntax`, the ABI JSON aliases "uint" and
// "int" are accepted and tuples are not (JSON spells them with "components").
class TypeParser {
 public:
  TypeParser(std::string_view text, bool json_syntax, std::string where)
      : text_(text), json_syntax_(json_syntax), where_(std::move(where)) {}

  std::size_t pos() const { return pos_; }
  bool at_end() const { return pos_ == text_.size(); }

  Decoded<AbiType> type(std::size_t nesting) {
    if (nesting > kMaxAbiDepth) return error(DecodeErrc::kTooDeep, "type nested deeper than " + std::to_string(kMaxAbiDepth));
    const bool is_tuple = !json_syntax_ && (peek('(') || text_.substr(pos_).starts_with("tuple("));
    auto base = is_tuple ? tuple(nesting) : elementary();
    if (!base) return base;
    return suffixes(std::move(*base));
  }

  // "(" type ("," type)* ")", or "()" when allowed (an empty parameter list).
  Decoded<std::vector<AbiType>> list(std::size_t nesting, bool allow_empty) {
    if (!peek('(')) return error(DecodeErrc::kInvalidAbiType, "expected '('");
    const std::size_t open = pos_++;
    std::vector<AbiType> out;
    if (peek(')')) {
      if (!allow_empty) {
        pos_ = open;
        return error(DecodeErrc::kInvalidAbiType, "empty tuple");
      }
      ++pos_;
      return out;
    }
    for (;;) {
      auto t = type(nesting);
      if (!t) return std::unexpected(t.error());
      out.push_back(std::move(*t));
      if (peek(',')) {
        ++pos_;
        continue;
      }
      if (peek(')')) {
        ++pos_;
        return out;
      }
      return error(DecodeErrc::kInvalidAbiType, "expected ',' or ')'");
    }
  }

  // Zero or more "[]" / "[k]".
  Decoded<AbiType> suffixes(AbiType base) {
    while (peek('[')) {
      const std::size_t open = pos_++;
      std::optional<std::size_t> length;
      if (!peek(']')) {
        const std::size_t digits_start = pos_;
        while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
        const std::string_view digits = text_.substr(digits_start, pos_ - digits_start);
        if (!canonical_digits(digits) || digits == "0") {
          pos_ = digits_start;
          return error(DecodeErrc::kInvalidAbiType, "array length must be 1 or more, without leading zeros");
        }
        length = parse_size(digits, kMaxAbiStaticSize);
        if (!length) {
          pos_ = digits_start;
          return error(DecodeErrc::kOverflow, "fixed array too large");
        }
      }
      if (!peek(']')) return error(DecodeErrc::kInvalidAbiType, "expected ']'");
      ++pos_;
      auto next = checked_array(std::move(base), length, open, where_);
      if (!next) return next;
      base = std::move(*next);
    }
    return base;
  }

 private:
  bool peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  std::unexpected<DecodeError> error(DecodeErrc code, std::string detail) const {
    return fail(code, pos_, where_, std::move(detail));
  }

  // "(" ... ")" or "tuple(" ... ")".
  Decoded<AbiType> tuple(std::size_t nesting) {
    const std::size_t start = pos_;
    if (!peek('(')) pos_ += 5;
    auto components = list(nesting + 1, /*allow_empty=*/false);
    if (!components) return std::unexpected(components.error());
    return checked_tuple(std::move(*components), {}, start, where_);
  }

  Decoded<AbiType> elementary() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && ((text_[pos_] >= 'a' && text_[pos_] <= 'z') || is_digit(text_[pos_]))) ++pos_;
    const std::string_view word = text_.substr(start, pos_ - start);
    auto bad = [&](std::string detail) {
      pos_ = start;
      return error(DecodeErrc::kInvalidAbiType, std::move(detail));
    };
    if (word.empty()) return bad("expected a type");
    if (word == "address") return AbiType::address();
    if (word == "bool") return AbiType::boolean();
    if (word == "string") return AbiType::string();
    if (word == "bytes") return AbiType::bytes();
    if (json_syntax_ && word == "uint") return AbiType::uint(256);
    if (json_syntax_ && word == "int") return AbiType::sint(256);
    auto sized = [&](std::string_view prefix) -> std::optional<std::size_t> {
      if (!word.starts_with(prefix)) return std::nullopt;
      return parse_size(word.substr(prefix.size()), 256);
    };
    if (word.starts_with("bytes")) {
      const auto n = sized("bytes");
      if (!n || *n < 1 || *n > 32) return bad("bytesN needs N in 1..32");
      return AbiType::fixed_bytes(static_cast<unsigned>(*n));
    }
    if (word.starts_with("uint")) {
      const auto n = sized("uint");
      if (!n || !valid_int_bits(static_cast<unsigned>(*n))) return bad("uintN needs N in 8..256, a multiple of 8");
      return AbiType::uint(static_cast<unsigned>(*n));
    }
    if (word.starts_with("int")) {
      const auto n = sized("int");
      if (!n || !valid_int_bits(static_cast<unsigned>(*n))) return bad("intN needs N in 8..256, a multiple of 8");
      return AbiType::sint(static_cast<unsigned>(*n));
    }
    return bad("unknown type '" + std::string(word) + "'");
  }

  std::string_view text_;
  bool json_syntax_;
  std::string where_;
  std::size_t pos_ = 0;
};

Decoded<AbiType> type_from_json(const nlohmann::json& param, const std::string& path, std::size_t nesting) {
  if (nesting > kMaxAbiDepth) {
    return fail(DecodeErrc::kTooDeep, 0, path, "type nested deeper than " + std::to_string(kMaxAbiDepth));
  }
  if (!param.is_object()) return fail(DecodeErrc::kInvalidJson, 0, path, "a parameter must be an object");
  const auto type_it = param.find("type");
  if (type_it == param.end() || !type_it->is_string()) {
    return fail(DecodeErrc::kInvalidJson, 0, path + ".type", "missing or not a string");
  }
  const std::string& text = type_it->get_ref<const std::string&>();
  const auto components_it = param.find("components");
  const std::string type_path = path + ".type";

  // abi-spec "Handling tuple types": "tuple" followed by array suffixes, with the members in
  // "components".
  if (text.starts_with("tuple")) {
    const std::string components_path = path + ".components";
    if (components_it == param.end() || !components_it->is_array()) {
      return fail(DecodeErrc::kInvalidJson, 0, components_path, "a tuple needs a components array");
    }
    if (components_it->empty()) return fail(DecodeErrc::kInvalidAbiType, 0, components_path, "empty tuple");
    std::vector<AbiType> components;
    std::vector<std::string> names;
    components.reserve(components_it->size());
    names.reserve(components_it->size());
    for (std::size_t i = 0; i < components_it->size(); ++i) {
      const auto& member = (*components_it)[i];
      const std::string member_path = components_path + "[" + std::to_string(i) + "]";
      auto t = type_from_json(member, member_path, nesting + 1);
      if (!t) return t;
      std::string name;
      const auto name_it = member.find("name");
      if (name_it != member.end()) {
        if (!name_it->is_string()) return fail(DecodeErrc::kInvalidJson, 0, member_path + ".name", "not a string");
        name = name_it->get<std::string>();
      }
      components.push_back(std::move(*t));
      names.push_back(std::move(name));
    }
    auto base = checked_tuple(std::move(components), std::move(names), 0, path);
    if (!base) return base;
    TypeParser parser(std::string_view(text).substr(5), true, type_path);
    auto full = parser.suffixes(std::move(*base));
    if (!full) {
      full.error().offset += 5;
      return full;
    }
    if (!parser.at_end()) {
      return fail(DecodeErrc::kInvalidAbiType, 5 + parser.pos(), type_path, "only array suffixes may follow 'tuple'");
    }
    return full;
  }

  if (components_it != param.end()) {
    return fail(DecodeErrc::kInvalidJson, 0, path + ".components", "components on a non-tuple type");
  }
  TypeParser parser(text, true, type_path);
  auto t = parser.type(nesting);
  if (!t) return t;
  if (!parser.at_end()) return fail(DecodeErrc::kInvalidAbiType, parser.pos(), type_path, "unexpected character");
  return t;
}

// ----------------------------------------------------------------------------------------------
// Decoding.

// The types of a sequence: a tuple's components, or `count` copies of an array's element.
struct Sequence {
  std::span<const AbiType> types;
  std::size_t count;
  const AbiType& at(std::size_t i) const { return types.size() == 1 ? types[0] : types[i]; }
};

class Decoder {
 public:
  explicit Decoder(ByteView data) : data_(data) {}

  struct Piece {
    AbiValue value;
    std::size_t end;  // one past the last byte of this value's encoding
  };

  // Decodes the values of `seq` whose head starts at `base`; returns the end of the last tail (the
  // end of the head when nothing is dynamic). Offsets are relative to `base` (abi-spec: "measured
  // from the start of the value encoding").
  Decoded<std::size_t> sequence(const Sequence& seq, std::size_t base, std::size_t depth, AbiValue::List& out) {
    // A homogeneous count * head_size was bounded by the caller (by the bytes left for T[], by
    // kMaxAbiStaticSize for T[k]); a tuple's head was bounded when its type was built.
    std::size_t head_size = 0;
    if (seq.types.size() == 1) {
      head_size = seq.count * seq.types[0].head_size();
    } else {
      for (const auto& t : seq.types) head_size += t.head_size();
    }
    const std::size_t head_end = base + head_size;
    if (head_end <= data_.size()) out.reserve(seq.count);
    std::size_t tail = head_end;
    std::size_t pos = base;
    for (std::size_t i = 0; i < seq.count; ++i) {
      const AbiType& type = seq.at(i);
      if (!type.is_dynamic()) {
        auto piece = value_at(type, pos, depth + 1);
        if (!piece) return std::unexpected(piece.error());
        out.push_back(std::move(piece->value));
        pos += type.head_size();
        continue;
      }
      auto word = read_word(pos);
      if (!word) return std::unexpected(word.error());
      const U256 offset = u256_from_be(ByteView(*word, kWord));
      // abi-spec "Strict Encoding Mode": offsets as small as possible without overlap, no gaps; so
      // the only acceptable offset is the end of the previous tail. When it is that one and the
      // data ends there, the input is truncated (kInputTooShort from the read below).
      if (offset != U256(tail - base)) {
        if (offset > U256(data_.size() - base)) {
          return fail(DecodeErrc::kOffsetOutOfRange, pos, {}, "offset points past the end of the data");
        }
        const std::size_t target = base + static_cast<std::size_t>(offset);
        if (target < head_end) {
          return fail(DecodeErrc::kOffsetOutOfRange, pos, {}, "offset points back into the head");
        }
        if (data_.size() - target < kWord) {
          return fail(DecodeErrc::kOffsetOutOfRange, pos, {}, "offset leaves no room for a value");
        }
        return fail(DecodeErrc::kNonCanonicalOffset, pos, {},
                    "offset " + std::to_string(target - base) + ", the standard encoding has " + std::to_string(tail - base));
      }
      auto piece = value_at(type, tail, depth + 1);
      if (!piece) return std::unexpected(piece.error());
      out.push_back(std::move(piece->value));
      tail = piece->end;
      pos += kWord;
    }
    return tail;
  }

  // The value of `type` whose encoding starts at `pos`: inline for a static type, the tail for a
  // dynamic one.
  Decoded<Piece> value_at(const AbiType& type, std::size_t pos, std::size_t depth) {
    if (depth > kMaxAbiDepth) return fail(DecodeErrc::kTooDeep, pos, {}, "value nested too deep");
    switch (type.kind()) {
      case AbiType::Kind::kUint: {
        auto w = read_word(pos);
        if (!w) return std::unexpected(w.error());
        const std::size_t pad = kWord - type.bits() / 8;
        if (auto bad = first_nonzero(*w, 0, pad)) return dirty(pos + *bad, "uint" + std::to_string(type.bits()));
        return Piece{AbiValue::uint(u256_from_be(ByteView(*w, kWord))), pos + kWord};
      }
      case AbiType::Kind::kInt: {
        auto w = read_word(pos);
        if (!w) return std::unexpected(w.error());
        // Sign extension: the pad bytes repeat the sign bit of the N-bit value.
        const std::size_t pad = kWord - type.bits() / 8;
        const std::uint8_t fill = ((*w)[pad] & 0x80) != 0 ? 0xff : 0x00;
        for (std::size_t i = 0; i < pad; ++i) {
          if ((*w)[i] != fill) return dirty(pos + i, "int" + std::to_string(type.bits()) + " is not sign-extended");
        }
        return Piece{AbiValue::sint(AbiSigned::from_twos_complement(u256_from_be(ByteView(*w, kWord)))), pos + kWord};
      }
      case AbiType::Kind::kAddress: {
        auto w = read_word(pos);
        if (!w) return std::unexpected(w.error());
        if (auto bad = first_nonzero(*w, 0, 12)) return dirty(pos + *bad, "address");
        Hash32 word{};
        std::copy_n(*w, kWord, word.begin());
        return Piece{AbiValue::address(address_from_word(word)), pos + kWord};
      }
      case AbiType::Kind::kBool: {
        auto w = read_word(pos);
        if (!w) return std::unexpected(w.error());
        if (auto bad = first_nonzero(*w, 0, kWord - 1)) return dirty(pos + *bad, "bool");
        if ((*w)[kWord - 1] > 1) return fail(DecodeErrc::kInvalidBool, pos + kWord - 1, {}, "bool must be 0 or 1");
        return Piece{AbiValue::boolean((*w)[kWord - 1] == 1), pos + kWord};
      }
      case AbiType::Kind::kFixedBytes: {
        auto w = read_word(pos);
        if (!w) return std::unexpected(w.error());
        const std::size_t n = type.fixed_size();
        if (auto bad = first_nonzero(*w, n, kWord)) return dirty(pos + *bad, "bytes" + std::to_string(n));
        return Piece{AbiValue::bytes(Bytes(*w, *w + n)), pos + kWord};
      }
      case AbiType::Kind::kBytes:
      case AbiType::Kind::kString: return byte_string(type, pos);
      case AbiType::Kind::kArray: {
        auto w = read_word(pos);
        if (!w) return std::unexpected(w.error());
        const U256 count = u256_from_be(ByteView(*w, kWord));
        // Every element takes at least one word of head: bound the count by the bytes left before
        // multiplying or allocating (a count of 2^255 stops here).
        const std::size_t room = (data_.size() - pos - kWord) / type.element().head_size();
        if (count > U256(room)) {
          return fail(DecodeErrc::kInputTooShort, pos, {}, "array count exceeds the remaining data");
        }
        AbiValue::List items;
        auto end = sequence(Sequence{std::span<const AbiType>(&type.element(), 1), static_cast<std::size_t>(count)},
                            pos + kWord, depth, items);
        if (!end) return std::unexpected(end.error());
        return Piece{AbiValue::list(std::move(items)), *end};
      }
      case AbiType::Kind::kFixedArray: {
        AbiValue::List items;
        auto end = sequence(Sequence{std::span<const AbiType>(&type.element(), 1), type.length()}, pos, depth, items);
        if (!end) return std::unexpected(end.error());
        return Piece{AbiValue::list(std::move(items)), *end};
      }
      case AbiType::Kind::kTuple: {
        AbiValue::List items;
        auto end = sequence(Sequence{type.components(), type.components().size()}, pos, depth, items);
        if (!end) return std::unexpected(end.error());
        return Piece{AbiValue::list(std::move(items)), *end};
      }
    }
    return fail(DecodeErrc::kInvalidAbiType, pos, {}, "unknown type kind");
  }

 private:
  // A pointer to the 32 bytes at `pos`, or kInputTooShort.
  Decoded<const std::uint8_t*> read_word(std::size_t pos) const {
    if (pos > data_.size() || data_.size() - pos < kWord) {
      return fail(DecodeErrc::kInputTooShort, std::min(pos, data_.size()), {}, "the data ends inside a 32-byte word");
    }
    return data_.data() + pos;
  }

  static std::optional<std::size_t> first_nonzero(const std::uint8_t* word, std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      if (word[i] != 0) return i;
    }
    return std::nullopt;
  }

  static std::unexpected<DecodeError> dirty(std::size_t offset, std::string what) {
    return fail(DecodeErrc::kDirtyPadding, offset, {}, "non-zero padding in " + what);
  }

  // abi-spec: bytes = enc(k) || the k bytes right-padded with zeros to a multiple of 32; string is
  // the same over its UTF-8 bytes.
  Decoded<Piece> byte_string(const AbiType& type, std::size_t pos) {
    auto w = read_word(pos);
    if (!w) return std::unexpected(w.error());
    const U256 length = u256_from_be(ByteView(*w, kWord));
    const std::size_t start = pos + kWord;
    const std::size_t left = data_.size() - start;
    if (length > U256(left)) return fail(DecodeErrc::kInputTooShort, pos, {}, "length exceeds the remaining data");
    const auto n = static_cast<std::size_t>(length);
    const std::size_t padded = (n + kWord - 1) / kWord * kWord;
    if (padded > left) return fail(DecodeErrc::kInputTooShort, start + n, {}, "the padding after the contents is missing");
    const ByteView contents = data_.subspan(start, n);
    for (std::size_t i = n; i < padded; ++i) {
      if (data_[start + i] != 0) return dirty(start + i, type.kind() == AbiType::Kind::kString ? "string" : "bytes");
    }
    if (type.kind() == AbiType::Kind::kBytes) {
      return Piece{AbiValue::bytes(Bytes(contents.begin(), contents.end())), start + padded};
    }
    const std::size_t bad = first_invalid_utf8(contents);
    if (bad != contents.size()) return fail(DecodeErrc::kInvalidField, start + bad, {}, "string is not valid UTF-8");
    return Piece{AbiValue::string(std::string(contents.begin(), contents.end())), start + padded};
  }

  ByteView data_;
};

// ----------------------------------------------------------------------------------------------
// Values and encoding.

bool fits_signed(const AbiSigned& v, unsigned bits) {
  if (bits == 256) return true;
  // The top 257 - N bits must all equal the sign bit.
  const U256 top = v.twos_complement() >> (bits - 1);
  if (!v.negative()) return top == 0;
  const U256 all_ones = (U256(1) << (257 - bits)) - 1;
  return top == all_ones;
}

bool matches(const AbiType& type, const AbiValue& value) {
  using K = AbiType::Kind;
  switch (type.kind()) {
    case K::kUint: {
      const auto* v = value.get_if<U256>();
      return v != nullptr && (type.bits() == 256 || (*v >> type.bits()) == 0);
    }
    case K::kInt: {
      const auto* v = value.get_if<AbiSigned>();
      return v != nullptr && fits_signed(*v, type.bits());
    }
    case K::kAddress: return value.get_if<Address>() != nullptr;
    case K::kBool: return value.get_if<bool>() != nullptr;
    case K::kFixedBytes: {
      const auto* v = value.get_if<Bytes>();
      return v != nullptr && v->size() == type.fixed_size();
    }
    case K::kBytes: return value.get_if<Bytes>() != nullptr;
    case K::kString: {
      const auto* v = value.get_if<std::string>();
      return v != nullptr && is_valid_utf8(*v);
    }
    case K::kArray:
    case K::kFixedArray: {
      const auto* v = value.get_if<AbiValue::List>();
      if (v == nullptr || (type.kind() == K::kFixedArray && v->size() != type.length())) return false;
      return std::all_of(v->begin(), v->end(), [&](const AbiValue& e) { return matches(type.element(), e); });
    }
    case K::kTuple: {
      const auto* v = value.get_if<AbiValue::List>();
      if (v == nullptr || v->size() != type.components().size()) return false;
      for (std::size_t i = 0; i < v->size(); ++i) {
        if (!matches(type.components()[i], (*v)[i])) return false;
      }
      return true;
    }
  }
  return false;
}

void put_word(std::uint8_t* dst, const U256& value) {
  const Hash32 w = u256_to_be32(value);
  std::copy(w.begin(), w.end(), dst);
}

class Encoder {
 public:
  // Appends the encoding of a sequence (head, then tails in order: the strict-mode layout).
  static void sequence(const Sequence& seq, std::span<const AbiValue> values, Bytes& out) {
    std::size_t head_size = 0;
    for (std::size_t i = 0; i < seq.count; ++i) head_size += seq.at(i).head_size();
    const std::size_t start = out.size();
    out.resize(start + head_size, 0);
    std::size_t pos = start;
    for (std::size_t i = 0; i < seq.count; ++i) {
      const AbiType& type = seq.at(i);
      if (type.is_dynamic()) {
        put_word(out.data() + pos, U256(out.size() - start));
        tail(type, values[i], out);
      } else {
        put_static(type, values[i], out.data() + pos);
      }
      pos += type.head_size();
    }
  }

 private:
  // A static value written in place (type.head_size() bytes, already zeroed).
  static void put_static(const AbiType& type, const AbiValue& value, std::uint8_t* dst) {
    using K = AbiType::Kind;
    switch (type.kind()) {
      case K::kUint: put_word(dst, *value.get_if<U256>()); return;
      case K::kInt: put_word(dst, value.get_if<AbiSigned>()->twos_complement()); return;
      case K::kAddress: {
        const Hash32 w = address_to_word(*value.get_if<Address>());
        std::copy(w.begin(), w.end(), dst);
        return;
      }
      case K::kBool: dst[kWord - 1] = *value.get_if<bool>() ? 1 : 0; return;
      case K::kFixedBytes: {
        const Bytes& b = *value.get_if<Bytes>();
        std::copy(b.begin(), b.end(), dst);
        return;
      }
      case K::kFixedArray: {
        const auto& items = *value.get_if<AbiValue::List>();
        for (std::size_t i = 0; i < items.size(); ++i) put_static(type.element(), items[i], dst + i * type.element().head_size());
        return;
      }
      case K::kTuple: {
        const auto& items = *value.get_if<AbiValue::List>();
        std::size_t at = 0;
        for (std::size_t i = 0; i < items.size(); ++i) {
          put_static(type.components()[i], items[i], dst + at);
          at += type.components()[i].head_size();
        }
        return;
      }
      case K::kBytes:
      case K::kString:
      case K::kArray: break;
    }
    throw std::logic_error("put_static called with a dynamic type");
  }

  // The tail of a dynamic value, appended.
  static void tail(const AbiType& type, const AbiValue& value, Bytes& out) {
    using K = AbiType::Kind;
    switch (type.kind()) {
      case K::kBytes:
      case K::kString: {
        ByteView contents;
        if (type.kind() == K::kBytes) {
          contents = *value.get_if<Bytes>();
        } else {
          const std::string& s = *value.get_if<std::string>();
          contents = ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
        }
        const std::size_t at = out.size();
        const std::size_t padded = (contents.size() + kWord - 1) / kWord * kWord;
        out.resize(at + kWord + padded, 0);
        put_word(out.data() + at, U256(contents.size()));
        std::copy(contents.begin(), contents.end(), out.begin() + static_cast<std::ptrdiff_t>(at + kWord));
        return;
      }
      case K::kArray: {
        const auto& items = *value.get_if<AbiValue::List>();
        const std::size_t at = out.size();
        out.resize(at + kWord, 0);
        put_word(out.data() + at, U256(items.size()));
        sequence(Sequence{std::span<const AbiType>(&type.element(), 1), items.size()}, items, out);
        return;
      }
      case K::kFixedArray: {
        const auto& items = *value.get_if<AbiValue::List>();
        sequence(Sequence{std::span<const AbiType>(&type.element(), 1), items.size()}, items, out);
        return;
      }
      case K::kTuple: {
        const auto& items = *value.get_if<AbiValue::List>();
        sequence(Sequence{type.components(), items.size()}, items, out);
        return;
      }
      case K::kUint:
      case K::kInt:
      case K::kAddress:
      case K::kBool:
      case K::kFixedBytes: break;
    }
    throw std::logic_error("tail called with a static type");
  }
};

bool use_object(const AbiType& tuple) {
  const auto names = tuple.names();
  if (names.empty()) return false;
  std::set<std::string_view> seen;
  for (const auto& n : names) {
    if (n.empty() || !seen.insert(n).second) return false;
  }
  return true;
}

nlohmann::json json_of(const AbiType& type, const AbiValue& value) {
  using K = AbiType::Kind;
  switch (type.kind()) {
    case K::kUint: return to_decimal(*value.get_if<U256>());
    case K::kInt: {
      const auto& v = *value.get_if<AbiSigned>();
      return (v.negative() ? "-" : "") + to_decimal(v.magnitude());
    }
    case K::kAddress: return to_checksum(*value.get_if<Address>());
    case K::kBool: return *value.get_if<bool>();
    case K::kFixedBytes:
    case K::kBytes: return to_hex(*value.get_if<Bytes>());
    case K::kString: return *value.get_if<std::string>();
    case K::kArray:
    case K::kFixedArray: {
      auto out = nlohmann::json::array();
      for (const auto& item : *value.get_if<AbiValue::List>()) out.push_back(json_of(type.element(), item));
      return out;
    }
    case K::kTuple: {
      const auto& items = *value.get_if<AbiValue::List>();
      if (use_object(type)) {
        auto out = nlohmann::json::object();
        for (std::size_t i = 0; i < items.size(); ++i) out[type.names()[i]] = json_of(type.components()[i], items[i]);
        return out;
      }
      auto out = nlohmann::json::array();
      for (std::size_t i = 0; i < items.size(); ++i) out.push_back(json_of(type.components()[i], items[i]));
      return out;
    }
  }
  return nullptr;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// AbiType

AbiType AbiType::uint(unsigned bits) {
  if (!valid_int_bits(bits)) throw std::invalid_argument("uintN needs N in 8..256, a multiple of 8");
  return AbiType(Kind::kUint, bits);
}

AbiType AbiType::sint(unsigned bits) {
  if (!valid_int_bits(bits)) throw std::invalid_argument("intN needs N in 8..256, a multiple of 8");
  return AbiType(Kind::kInt, bits);
}

AbiType AbiType::address() { return AbiType(Kind::kAddress, 0); }
AbiType AbiType::boolean() { return AbiType(Kind::kBool, 0); }

AbiType AbiType::fixed_bytes(unsigned size) {
  if (size < 1 || size > 32) throw std::invalid_argument("bytesN needs N in 1..32");
  return AbiType(Kind::kFixedBytes, size);
}

AbiType AbiType::bytes() {
  AbiType t(Kind::kBytes, 0);
  t.dynamic_ = true;
  return t;
}

AbiType AbiType::string() {
  AbiType t(Kind::kString, 0);
  t.dynamic_ = true;
  return t;
}

AbiType AbiType::array(AbiType element) {
  AbiType t(Kind::kArray, 0);
  t.children_.push_back(std::move(element));
  t.finish();
  return t;
}

AbiType AbiType::fixed_array(AbiType element, std::size_t length) {
  if (length == 0) throw std::invalid_argument("T[k] needs k >= 1");
  AbiType t(Kind::kFixedArray, 0);
  t.length_ = length;
  t.children_.push_back(std::move(element));
  t.finish();
  return t;
}

AbiType AbiType::tuple(std::vector<AbiType> components, std::vector<std::string> names) {
  if (components.empty()) throw std::invalid_argument("a tuple needs at least one component");
  if (!names.empty() && names.size() != components.size()) {
    throw std::invalid_argument("tuple names must be empty or one per component");
  }
  AbiType t(Kind::kTuple, 0);
  t.children_ = std::move(components);
  t.names_ = std::move(names);
  t.finish();
  return t;
}

void AbiType::finish() {
  std::size_t child_depth = 0;
  bool any_dynamic = false;
  std::size_t inner_head = 0;  // the head of this array's or tuple's own sequence
  for (const auto& c : children_) {
    child_depth = std::max(child_depth, c.depth_);
    any_dynamic = any_dynamic || c.dynamic_;
    if (kind_ == Kind::kTuple) {
      inner_head += c.head_size_;
      if (inner_head > kMaxAbiStaticSize) throw std::length_error("ABI tuple larger than kMaxAbiStaticSize");
    }
  }
  depth_ = child_depth + 1;
  if (depth_ > kMaxAbiDepth) throw std::length_error("ABI type nested deeper than kMaxAbiDepth");
  switch (kind_) {
    case Kind::kArray: dynamic_ = true; break;
    case Kind::kFixedArray:
      if (length_ > kMaxAbiStaticSize / children_[0].head_size_) {
        throw std::length_error("ABI fixed array larger than kMaxAbiStaticSize");
      }
      inner_head = length_ * children_[0].head_size_;
      dynamic_ = any_dynamic;
      break;
    case Kind::kTuple: dynamic_ = any_dynamic; break;
    default: break;
  }
  head_size_ = dynamic_ ? kWord : inner_head;
}

const AbiType& AbiType::element() const {
  if (kind_ != Kind::kArray && kind_ != Kind::kFixedArray) throw std::logic_error("element() of a non-array ABI type");
  return children_[0];
}

std::string canonical(const AbiType& type) {
  using K = AbiType::Kind;
  switch (type.kind()) {
    case K::kUint: return "uint" + std::to_string(type.bits());
    case K::kInt: return "int" + std::to_string(type.bits());
    case K::kAddress: return "address";
    case K::kBool: return "bool";
    case K::kFixedBytes: return "bytes" + std::to_string(type.fixed_size());
    case K::kBytes: return "bytes";
    case K::kString: return "string";
    case K::kArray: return canonical(type.element()) + "[]";
    case K::kFixedArray: return canonical(type.element()) + "[" + std::to_string(type.length()) + "]";
    case K::kTuple: {
      std::string out = "(";
      for (std::size_t i = 0; i < type.components().size(); ++i) {
        if (i > 0) out += ',';
        out += canonical(type.components()[i]);
      }
      return out + ")";
    }
  }
  return {};
}

std::string canonical_signature(std::string_view name, std::span<const AbiType> inputs) {
  std::string out(name);
  out += '(';
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (i > 0) out += ',';
    out += canonical(inputs[i]);
  }
  return out + ")";
}

Decoded<AbiType> parse_abi_type(std::string_view text) {
  TypeParser parser(text, false, {});
  auto t = parser.type(0);
  if (!t) return t;
  if (!parser.at_end()) return fail(DecodeErrc::kInvalidAbiType, parser.pos(), {}, "unexpected character");
  return t;
}

Decoded<AbiSignature> parse_abi_signature(std::string_view text) {
  std::size_t i = 0;
  if (text.empty() || !is_ident_start(text[0])) return fail(DecodeErrc::kInvalidAbiType, 0, {}, "expected a function name");
  while (i < text.size() && is_ident_char(text[i])) ++i;
  AbiSignature out{std::string(text.substr(0, i)), {}};
  TypeParser parser(text.substr(i), false, {});
  auto inputs = parser.list(0, /*allow_empty=*/true);
  if (!inputs) {
    inputs.error().offset += i;
    return std::unexpected(inputs.error());
  }
  if (!parser.at_end()) return fail(DecodeErrc::kInvalidAbiType, i + parser.pos(), {}, "unexpected character");
  out.inputs = std::move(*inputs);
  return out;
}

Decoded<AbiType> abi_type_from_json(const nlohmann::json& param, std::string_view path) {
  return type_from_json(param, std::string(path), 0);
}

// ------------------------------------------------------------------------------------------------
// AbiSigned

AbiSigned AbiSigned::from_twos_complement(const U256& twos) {
  AbiSigned out;
  out.twos_ = twos;
  out.negative_ = boost::multiprecision::bit_test(twos, 255);
  return out;
}

AbiSigned AbiSigned::from_magnitude(const U256& magnitude, bool negative) {
  const U256 half = U256(1) << 255;
  if (!negative || magnitude == 0) {
    if (magnitude >= half) throw std::overflow_error("value does not fit int256");
    return from_twos_complement(magnitude);
  }
  if (magnitude > half) throw std::overflow_error("value does not fit int256");
  return from_twos_complement(~(magnitude - 1));
}

AbiSigned AbiSigned::from_int64(std::int64_t value) {
  if (value >= 0) return from_magnitude(U256(static_cast<std::uint64_t>(value)), false);
  // -(value + 1) cannot overflow, even for INT64_MIN.
  const auto magnitude = static_cast<std::uint64_t>(-(value + 1)) + 1;
  return from_magnitude(U256(magnitude), true);
}

U256 AbiSigned::magnitude() const {
  if (!negative_) return twos_;
  return U256(~twos_) + 1;
}

// ------------------------------------------------------------------------------------------------
// Decoding, encoding, JSON

Decoded<AbiDecoded> abi_decode(std::span<const AbiType> types, ByteView data) {
  Decoder decoder(data);
  AbiDecoded out;
  auto end = decoder.sequence(Sequence{types, types.size()}, 0, 0, out.values);
  if (!end) return std::unexpected(end.error());
  out.consumed = *end;
  out.trailing = data.subspan(*end);
  return out;
}

bool abi_value_matches(const AbiType& type, const AbiValue& value) { return matches(type, value); }

Bytes abi_encode(std::span<const AbiType> types, std::span<const AbiValue> values) {
  if (types.size() != values.size()) throw std::invalid_argument("abi_encode: one value per type");
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (!matches(types[i], values[i])) {
      throw std::invalid_argument("abi_encode: value " + std::to_string(i) + " does not match " + canonical(types[i]));
    }
  }
  Bytes out;
  Encoder::sequence(Sequence{types, types.size()}, values, out);
  return out;
}

nlohmann::json to_json(const AbiType& type, const AbiValue& value) {
  if (!matches(type, value)) throw std::invalid_argument("to_json: value does not match " + canonical(type));
  return json_of(type, value);
}

}  // namespace txguard::codec

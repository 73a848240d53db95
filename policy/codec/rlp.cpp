// Canonical RLP. The rules follow the Yellow Paper, appendix B, and the strict readers of
// go-ethereum (rlp/decode.go: ErrCanonSize, ErrCanonInt, ErrNonCanonicalSize) and evmone
// (test/state/rlp_decode.hpp): an encoding is accepted only if the encoder would have produced it.
#include "policy/codec/rlp.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <string>

namespace txguard::codec::rlp {

namespace {

static_assert(sizeof(std::size_t) >= 8, "RLP lengths of up to 8 bytes must fit in size_t");

constexpr std::uint8_t kShortString = 0x80;
constexpr std::uint8_t kLongString = 0xb7;
constexpr std::uint8_t kShortList = 0xc0;
constexpr std::uint8_t kLongList = 0xf7;
constexpr std::size_t kShortLimit = 56;

// No object in memory can be larger than PTRDIFF_MAX bytes; a length beyond that is not a short
// input but a number that cannot be a size at all.
constexpr std::uint64_t kMaxLength = static_cast<std::uint64_t>(std::numeric_limits<std::ptrdiff_t>::max());

// Reads a long-form length of `length_of_length` bytes that follows the header byte. The caller
// has checked that the bytes are there.
Decoded<std::size_t> read_long_length(ByteView input, std::size_t length_of_length, std::size_t base_offset) {
  // A length with a leading zero byte has a shorter form (Yellow Paper: BE(x) has no leading zeros).
  if (input[1] == 0) {
    return fail(DecodeErrc::kNonCanonicalSize, base_offset, {}, "length has a leading zero byte");
  }
  std::uint64_t length = 0;
  for (std::size_t i = 0; i < length_of_length; ++i) length = (length << 8) | input[1 + i];
  if (length > kMaxLength) return fail(DecodeErrc::kOverflow, base_offset, {}, "length beyond any input");
  // Lengths below 56 must use the one-byte form.
  if (length < kShortLimit) {
    return fail(DecodeErrc::kNonCanonicalSize, base_offset, {}, "long form for a length below 56");
  }
  return static_cast<std::size_t>(length);
}

Decoded<void> validate_at(const Item& item, std::size_t depth_left) {
  if (!item.is_list) return {};
  if (depth_left == 0) return fail(DecodeErrc::kTooDeep, item.offset, {}, "lists nested too deeply");
  ByteView rest = item.payload;
  std::size_t offset = item.payload_offset();
  while (!rest.empty()) {
    auto child = read_item(rest, offset);
    if (!child) return std::unexpected(std::move(child.error()));
    if (auto ok = validate_at(*child, depth_left - 1); !ok) return ok;
    const std::size_t used = child->encoded_size();
    rest = rest.subspan(used);
    offset += used;
  }
  return {};
}

// Strips the leading zero bytes of a big-endian integer.
ByteView minimal_be(ByteView be) {
  std::size_t first = 0;
  while (first < be.size() && be[first] == 0) ++first;
  return be.subspan(first);
}

// Checks the canonical-integer rules shared by every integer width.
Decoded<ByteView> integer_payload(const Item& item, std::size_t max_bytes) {
  if (item.is_list) return fail(DecodeErrc::kUnexpectedList, item.offset, {}, "expected an integer");
  const ByteView bytes = item.payload;
  // Leading zeros first: 0x00 followed by 32 bytes is a non-canonical 256-bit value rather than an
  // overflowing one. 0x00 alone is a leading zero too: zero is encoded as the empty string, 0x80.
  if (!bytes.empty() && bytes[0] == 0) {
    return fail(DecodeErrc::kLeadingZero, item.offset, {}, "integer with a leading zero byte");
  }
  if (bytes.size() > max_bytes) {
    return fail(DecodeErrc::kOverflow, item.offset, {}, "integer longer than " + std::to_string(max_bytes) + " bytes");
  }
  return bytes;
}

}  // namespace

Decoded<Item> read_item(ByteView input, std::size_t base_offset) {
  if (input.empty()) return fail(DecodeErrc::kInputTooShort, base_offset, {}, "expected an RLP item");
  const std::uint8_t prefix = input[0];
  const std::size_t available = input.size() - 1;  // bytes after the header byte
  if (prefix < kShortString) return Item{false, input.first(1), base_offset, 0};

  const bool is_list = prefix >= kShortList;
  const std::uint8_t short_base = is_list ? kShortList : kShortString;
  const std::uint8_t long_base = is_list ? kLongList : kLongString;
  if (prefix <= long_base) {
    const std::size_t length = static_cast<std::size_t>(prefix - short_base);
    if (length > available) return fail(DecodeErrc::kInputTooShort, base_offset, {}, "item runs past its input");
    // A single byte below 0x80 is its own encoding and must not carry a header.
    if (!is_list && length == 1 && input[1] < kShortString) {
      return fail(DecodeErrc::kNonCanonicalSingleByte, base_offset, {}, "single byte below 0x80 with a header");
    }
    return Item{is_list, input.subspan(1, length), base_offset, 1};
  }
  const std::size_t length_of_length = static_cast<std::size_t>(prefix - long_base);  // 1..8
  if (length_of_length > available) {
    return fail(DecodeErrc::kInputTooShort, base_offset, {}, "length runs past its input");
  }
  auto length = read_long_length(input, length_of_length, base_offset);
  if (!length) return std::unexpected(std::move(length.error()));
  // Compared against what is left, never added to an offset first: no overflow is possible.
  if (*length > available - length_of_length) {
    return fail(DecodeErrc::kInputTooShort, base_offset, {}, "item runs past its input");
  }
  const std::size_t header = 1 + length_of_length;
  return Item{is_list, input.subspan(header, *length), base_offset, header};
}

Decoded<Item> decode_item(ByteView input, std::size_t base_offset) {
  auto item = read_item(input, base_offset);
  if (!item) return item;
  if (item->encoded_size() != input.size()) {
    return fail(DecodeErrc::kTrailingBytes, base_offset + item->encoded_size(), {}, "bytes after the RLP item");
  }
  return item;
}

Decoded<void> validate(const Item& item, std::size_t max_depth) { return validate_at(item, max_depth); }

Decoded<Item> decode(ByteView input, std::size_t max_depth) {
  auto item = decode_item(input);
  if (!item) return item;
  if (auto ok = validate(*item, max_depth); !ok) return std::unexpected(std::move(ok.error()));
  return item;
}

Decoded<Item> ListReader::next() {
  if (rest_.empty()) return fail(DecodeErrc::kWrongFieldCount, offset_, {}, "list has fewer items than expected");
  auto item = read_item(rest_, offset_);
  if (!item) return item;
  const std::size_t used = item->encoded_size();
  rest_ = rest_.subspan(used);
  offset_ += used;
  return item;
}

Decoded<ListReader> list_items(const Item& item) {
  if (!item.is_list) return fail(DecodeErrc::kUnexpectedString, item.offset, {}, "expected a list");
  return ListReader(item.payload, item.payload_offset());
}

Decoded<std::size_t> split_list(const Item& list, std::span<Item> out) {
  auto reader = list_items(list);
  if (!reader) return std::unexpected(std::move(reader.error()));
  std::size_t count = 0;
  while (!reader->done()) {
    if (count == out.size()) {
      return fail(DecodeErrc::kWrongFieldCount, reader->offset(), {},
                  "list has more than " + std::to_string(out.size()) + " items");
    }
    auto item = reader->next();
    if (!item) return std::unexpected(std::move(item.error()));
    out[count++] = *item;
  }
  return count;
}

Decoded<ByteView> decode_bytes(const Item& item) {
  if (item.is_list) return fail(DecodeErrc::kUnexpectedList, item.offset, {}, "expected a byte string");
  return item.payload;
}

Decoded<U256> decode_u256(const Item& item) {
  auto bytes = integer_payload(item, 32);
  if (!bytes) return std::unexpected(std::move(bytes.error()));
  return u256_from_be(*bytes);
}

Decoded<std::uint64_t> decode_u64(const Item& item) {
  auto bytes = integer_payload(item, 8);
  if (!bytes) return std::unexpected(std::move(bytes.error()));
  std::uint64_t value = 0;
  for (const std::uint8_t b : *bytes) value = (value << 8) | b;
  return value;
}

Decoded<Hash32> decode_word(const Item& item) {
  auto bytes = integer_payload(item, 32);
  if (!bytes) return std::unexpected(std::move(bytes.error()));
  Hash32 word{};
  std::copy(bytes->begin(), bytes->end(), word.end() - static_cast<std::ptrdiff_t>(bytes->size()));
  return word;
}

Decoded<Address> decode_address(const Item& item) {
  if (item.is_list) return fail(DecodeErrc::kUnexpectedList, item.offset, {}, "expected an address");
  if (item.payload.size() != 20) {
    return fail(DecodeErrc::kWrongLength, item.offset, {},
                "address of " + std::to_string(item.payload.size()) + " bytes, expected 20");
  }
  Address address;
  std::copy(item.payload.begin(), item.payload.end(), address.bytes.begin());
  return address;
}

Decoded<Hash32> decode_hash(const Item& item) {
  if (item.is_list) return fail(DecodeErrc::kUnexpectedList, item.offset, {}, "expected a 32-byte hash");
  if (item.payload.size() != 32) {
    return fail(DecodeErrc::kWrongLength, item.offset, {},
                "hash of " + std::to_string(item.payload.size()) + " bytes, expected 32");
  }
  Hash32 hash{};
  std::copy(item.payload.begin(), item.payload.end(), hash.begin());
  return hash;
}

std::size_t header_size(std::size_t payload_size) noexcept {
  if (payload_size < kShortLimit) return 1;
  std::size_t length_of_length = 0;
  for (std::size_t n = payload_size; n != 0; n >>= 8) ++length_of_length;
  return 1 + length_of_length;
}

void append_header(Bytes& out, bool is_list, std::size_t payload_size) {
  const std::uint8_t short_base = is_list ? kShortList : kShortString;
  const std::uint8_t long_base = is_list ? kLongList : kLongString;
  if (payload_size < kShortLimit) {
    out.push_back(static_cast<std::uint8_t>(short_base + payload_size));
    return;
  }
  const std::size_t length_of_length = header_size(payload_size) - 1;
  out.push_back(static_cast<std::uint8_t>(long_base + length_of_length));
  for (std::size_t i = length_of_length; i-- > 0;) {
    out.push_back(static_cast<std::uint8_t>(payload_size >> (8 * i)));
  }
}

void append_bytes(Bytes& out, ByteView bytes) {
  if (bytes.size() == 1 && bytes[0] < kShortString) {
    out.push_back(bytes[0]);
    return;
  }
  append_header(out, false, bytes.size());
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void append_uint(Bytes& out, std::uint64_t value) {
  std::array<std::uint8_t, 8> be{};
  for (std::size_t i = 0; i < be.size(); ++i) be[i] = static_cast<std::uint8_t>(value >> (8 * (7 - i)));
  append_bytes(out, minimal_be(be));
}

void append_uint(Bytes& out, const U256& value) {
  // export_bits writes the significant bytes only (one zero byte for zero), at most 32.
  std::array<std::uint8_t, 32> be{};
  std::uint8_t* end = boost::multiprecision::export_bits(value, be.data(), 8, true);
  append_uint_be(out, ByteView(be.data(), static_cast<std::size_t>(end - be.data())));
}

void append_uint_be(Bytes& out, ByteView big_endian) { append_bytes(out, minimal_be(big_endian)); }

Bytes encode_bytes(ByteView bytes) {
  Bytes out;
  out.reserve(bytes.size() + 9);
  append_bytes(out, bytes);
  return out;
}

Bytes encode_uint(std::uint64_t value) {
  Bytes out;
  append_uint(out, value);
  return out;
}

Bytes encode_uint(const U256& value) {
  Bytes out;
  append_uint(out, value);
  return out;
}

Bytes encode_list(std::span<const Bytes> encoded_items) {
  std::size_t payload = 0;
  for (const Bytes& item : encoded_items) payload += item.size();
  Bytes out;
  out.reserve(header_size(payload) + payload);
  append_header(out, true, payload);
  for (const Bytes& item : encoded_items) out.insert(out.end(), item.begin(), item.end());
  return out;
}

Bytes encode_list_payload(ByteView payload) {
  Bytes out;
  out.reserve(header_size(payload.size()) + payload.size());
  append_header(out, true, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

}  // namespace txguard::codec::rlp

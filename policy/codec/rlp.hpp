// Canonical RLP (Ethereum Yellow Paper, appendix B): a zero-copy reader and an encoder.
//
// The reader accepts only the one canonical encoding of every value, because two encodings of the
// same transaction must never be seen as two different things (a policy that screens one byte string
// and a node that executes another is the attack). It rejects:
//   - a single byte below 0x80 wrapped in a string header (0x81 0x05)       -> kNonCanonicalSingleByte
//   - a long-form header for a length below 56, or a length with a leading zero byte -> kNonCanonicalSize
//   - integers with leading zero bytes (0x00 for zero included: zero is the empty string) -> kLeadingZero
//   - bytes after the top-level item                                          -> kTrailingBytes
//   - an item that runs past its input or its enclosing list                  -> kInputTooShort
//   - a length prefix too large to be the size of anything in memory          -> kOverflow
//   - nesting deeper than the caller's bound                                  -> kTooDeep
// Every error carries the byte offset, in the outermost input, of the item (header byte) at fault.
//
// Items are views: they point into the caller's input and are valid only while it lives. Reading
// allocates nothing. All functions are pure and thread-safe; none throws on bad input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/error.hpp"
#include "policy/codec/u256.hpp"

namespace txguard::codec::rlp {

/// The default bound on list nesting for decode() and validate(). A top-level list is depth 1.
inline constexpr std::size_t kMaxDepth = 64;

/// One RLP item inside a larger input.
struct Item {
  /// True for a list, false for a byte string.
  bool is_list = false;
  /// The payload without the header: a string's bytes, or a list's concatenated encoded items.
  /// For a single byte below 0x80 (its own encoding) the payload is that byte.
  ByteView payload;
  /// Offset of the item's first byte in the outermost input.
  std::size_t offset = 0;
  /// Size of the header: 0 for a single byte below 0x80, 1 for short forms, 1 + length-of-length.
  std::size_t header_size = 0;

  std::size_t payload_offset() const noexcept { return offset + header_size; }
  std::size_t encoded_size() const noexcept { return header_size + payload.size(); }
  /// The item's full encoding (header and payload), a view of the input.
  ByteView encoded() const noexcept { return {payload.data() - header_size, encoded_size()}; }
};

/// Reads the one item that starts at input[0]; bytes after it are left alone (the caller sees how
/// many were consumed from item.encoded_size()). Checks the header only, not a list's contents.
/// `base_offset` is input[0]'s offset in the outermost input, for error reporting.
/// Fails with kInputTooShort, kNonCanonicalSize, kNonCanonicalSingleByte, kOverflow.
Decoded<Item> read_item(ByteView input, std::size_t base_offset = 0);

/// Exactly one item spanning the whole of `input` (kTrailingBytes otherwise). Shallow: a list's
/// items are checked when they are read (ListReader), so a decoder that walks a known structure
/// reads every byte once.
Decoded<Item> decode_item(ByteView input, std::size_t base_offset = 0);

/// Checks every item nested in `item` (canonical headers, exact fit inside each list) down to
/// `max_depth` levels of lists, counting `item` itself as depth 1 if it is a list.
Decoded<void> validate(const Item& item, std::size_t max_depth = kMaxDepth);

/// decode_item() followed by validate(): the whole input is one canonical RLP tree.
Decoded<Item> decode(ByteView input, std::size_t max_depth = kMaxDepth);

/// Reads a list's items one by one. Cheap to copy; holds views into the input.
class ListReader {
 public:
  /// An empty reader (done() is true); list_items() makes useful ones.
  ListReader() = default;
  /// True when every item of the list has been read.
  bool done() const noexcept { return rest_.empty(); }
  /// The next item. Fails with the read_item() errors (an item that overruns the list is
  /// kInputTooShort), or kWrongFieldCount when the list has no more items.
  Decoded<Item> next();
  /// Offset of the next item (or of the list's end) in the outermost input.
  std::size_t offset() const noexcept { return offset_; }

 private:
  friend Decoded<ListReader> list_items(const Item& item);
  ListReader(ByteView rest, std::size_t offset) : rest_(rest), offset_(offset) {}
  ByteView rest_;
  std::size_t offset_ = 0;
};

/// A reader over the items of `item`; kUnexpectedString if it is a string.
Decoded<ListReader> list_items(const Item& item);

/// Reads the items of a list into `out` (no allocation) and returns how many there were. Fails with
/// kUnexpectedString if `list` is a string, kWrongFieldCount (at the first extra item) if the list
/// has more than out.size() items, or the read_item() errors. Nested lists are not descended into.
Decoded<std::size_t> split_list(const Item& list, std::span<Item> out);

// Typed views of string items. Each fails with kUnexpectedList when given a list, at item.offset.

/// A byte string's payload.
Decoded<ByteView> decode_bytes(const Item& item);
/// An unsigned integer of at most 32 bytes: kOverflow if longer, kLeadingZero if it starts with 0.
Decoded<U256> decode_u256(const Item& item);
/// An unsigned integer of at most 8 bytes: kOverflow if longer, kLeadingZero if it starts with 0.
Decoded<std::uint64_t> decode_u64(const Item& item);
/// An integer of at most 32 bytes (as decode_u256) returned as a 32-byte big-endian word, the form
/// signatures use (r, s).
Decoded<Hash32> decode_word(const Item& item);
/// Exactly 20 bytes (kWrongLength otherwise).
Decoded<Address> decode_address(const Item& item);
/// Exactly 32 bytes (kWrongLength otherwise).
Decoded<Hash32> decode_hash(const Item& item);

// Encoder. The append_* functions write the canonical encoding at the end of `out`; the encode_*
// functions return it. They never fail.

/// Size of the header for a string or list payload of `payload_size` bytes (a single byte < 0x80
/// as a string has no header; that case is handled by append_bytes, not here).
std::size_t header_size(std::size_t payload_size) noexcept;
/// A string or list header announcing `payload_size` bytes of payload.
void append_header(Bytes& out, bool is_list, std::size_t payload_size);
/// A byte string.
void append_bytes(Bytes& out, ByteView bytes);
/// An unsigned integer, big-endian without leading zeros (zero is the empty string).
void append_uint(Bytes& out, std::uint64_t value);
void append_uint(Bytes& out, const U256& value);
/// An unsigned integer given as big-endian bytes of any width; leading zero bytes are dropped.
void append_uint_be(Bytes& out, ByteView big_endian);

Bytes encode_bytes(ByteView bytes);
Bytes encode_uint(std::uint64_t value);
Bytes encode_uint(const U256& value);
/// A list of already-encoded items (each a complete RLP encoding).
Bytes encode_list(std::span<const Bytes> encoded_items);
/// A list whose payload (the concatenated encoded items) is given as one piece.
Bytes encode_list_payload(ByteView payload);

}  // namespace txguard::codec::rlp

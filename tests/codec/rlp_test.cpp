#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "policy/codec/bytes.hpp"
#include "policy/codec/rlp.hpp"

using namespace txguard::codec;

namespace {

Bytes b(std::string_view hex) { return from_hex(hex).value(); }
Bytes repeat(std::uint8_t byte, std::size_t count) { return Bytes(count, byte); }
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Re-encodes a decoded tree with the encoder: the canonical bytes of what was read.
Bytes reencode(const rlp::Item& item) {
  if (!item.is_list) return rlp::encode_bytes(item.payload);
  std::vector<Bytes> children;
  auto reader = rlp::list_items(item).value();
  while (!reader.done()) children.push_back(reencode(reader.next().value()));
  return rlp::encode_list(children);
}

DecodeErrc error_of(ByteView input) {
  auto item = rlp::decode(input);
  REQUIRE_FALSE(item.has_value());
  return item.error().code;
}

std::size_t offset_of(ByteView input) {
  auto item = rlp::decode(input);
  REQUIRE_FALSE(item.has_value());
  return item.error().offset;
}

// [depth] nested lists around an empty list: c1 c1 ... c0 (depth + 1 list levels in all).
Bytes nested(std::size_t depth) {
  Bytes inner = b("c0");
  for (std::size_t i = 0; i < depth; ++i) inner = rlp::encode_list_payload(inner);
  return inner;
}

}  // namespace

TEST_SUITE("rlp") {
  TEST_CASE("encodes the Yellow Paper and wiki examples") {
    CHECK(rlp::encode_bytes(view(std::string("dog"))) == b("83646f67"));
    CHECK(rlp::encode_list(std::vector<Bytes>{rlp::encode_bytes(view(std::string("cat"))),
                                              rlp::encode_bytes(view(std::string("dog")))}) ==
          b("c88363617483646f67"));
    CHECK(rlp::encode_bytes({}) == b("80"));
    CHECK(rlp::encode_list(std::vector<Bytes>{}) == b("c0"));
    CHECK(rlp::encode_uint(std::uint64_t{0}) == b("80"));
    CHECK(rlp::encode_uint(std::uint64_t{15}) == b("0f"));
    CHECK(rlp::encode_uint(std::uint64_t{127}) == b("7f"));
    CHECK(rlp::encode_uint(std::uint64_t{128}) == b("8180"));
    CHECK(rlp::encode_uint(std::uint64_t{1024}) == b("820400"));
    CHECK(rlp::encode_uint(U256(1024)) == b("820400"));
    CHECK(rlp::encode_uint(U256(0)) == b("80"));
    CHECK(rlp::encode_bytes(b("00")) == b("00"));
    // The set-theoretic representation of three: [ [], [[]], [ [], [[]] ] ].
    const Bytes empty = b("c0");
    const Bytes one = rlp::encode_list(std::vector<Bytes>{empty});
    const Bytes two = rlp::encode_list(std::vector<Bytes>{empty, one});
    CHECK(rlp::encode_list(std::vector<Bytes>{empty, one, two}) == b("c7c0c1c0c3c0c1c0"));
    const std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
    REQUIRE(lorem.size() == 56);
    CHECK(rlp::encode_bytes(view(lorem)) == cat({b("b838"), Bytes(lorem.begin(), lorem.end())}));
  }

  TEST_CASE("decodes and re-encodes strings and lists at every length boundary") {
    for (const std::size_t length : {0u, 1u, 2u, 55u, 56u, 57u, 255u, 256u, 65535u, 65536u}) {
      CAPTURE(length);
      const Bytes s = rlp::encode_bytes(repeat(0xab, length));
      auto item = rlp::decode(s);
      REQUIRE(item.has_value());
      CHECK(!item->is_list);
      CHECK(item->payload.size() == length);
      CHECK(item->encoded_size() == s.size());
      CHECK(rlp::header_size(length) == item->header_size);

      const Bytes l = rlp::encode_list_payload(repeat(0x01, length));  // `length` one-byte items
      auto list = rlp::decode(l);
      REQUIRE(list.has_value());
      CHECK(list->is_list);
      CHECK(list->payload.size() == length);
      CHECK(reencode(*list) == l);
    }
    for (const std::uint8_t byte : std::initializer_list<std::uint8_t>{0x00, 0x01, 0x7f}) {  // a single byte below 0x80 is itself
      const Bytes single{byte};
      auto item = rlp::decode(single);
      REQUIRE(item.has_value());
      CHECK(item->header_size == 0);
      CHECK(item->payload.size() == 1);
      CHECK(item->payload[0] == byte);
    }
    const Bytes high_bytes = b("8180");
    auto high = rlp::decode(high_bytes);
    REQUIRE(high.has_value());
    CHECK(high->payload[0] == 0x80);
  }

  TEST_CASE("reads integers at their width limits into uint64 and U256") {
    CHECK(rlp::decode_u64(rlp::decode(b("80")).value()).value() == 0);
    CHECK(rlp::decode_u64(rlp::decode(b("7f")).value()).value() == 127);
    CHECK(rlp::decode_u64(rlp::decode(b("8180")).value()).value() == 128);
    CHECK(rlp::decode_u64(rlp::decode(b("88ffffffffffffffff")).value()).value() == 0xffffffffffffffffULL);
    const Bytes max256 = cat({b("a0"), repeat(0xff, 32)});
    CHECK(rlp::decode_u256(rlp::decode(max256).value()).value() == ~U256(0));
    CHECK(rlp::decode_u256(rlp::decode(b("820400")).value()).value() == 1024);
    CHECK(rlp::encode_uint(~U256(0)) == max256);
    const Hash32 word = rlp::decode_word(rlp::decode(b("820400")).value()).value();
    CHECK(to_hex(word) == "0x" + std::string(60, '0') + "0400");
    CHECK(rlp::decode_word(rlp::decode(b("80")).value()).value() == Hash32{});
  }

  TEST_CASE("iterates a list's items with offsets in the outermost input") {
    // [ "cat", [ 1, "" ], 0x7f ]
    const Bytes fixed = rlp::encode_list(std::vector<Bytes>{
        rlp::encode_bytes(view(std::string("cat"))),
        rlp::encode_list(std::vector<Bytes>{rlp::encode_uint(std::uint64_t{1}), rlp::encode_bytes({})}),
        rlp::encode_uint(std::uint64_t{0x7f})});
    REQUIRE(fixed == b("c883636174c201807f"));
    auto top = rlp::decode(fixed);
    REQUIRE(top.has_value());
    auto reader = rlp::list_items(*top).value();
    auto first = reader.next().value();
    CHECK(first.offset == 1);
    CHECK(first.payload_offset() == 2);
    CHECK(first.encoded().size() == 4);
    auto second = reader.next().value();
    CHECK(second.is_list);
    CHECK(second.offset == 5);
    auto inner = rlp::list_items(second).value();
    CHECK(inner.next().value().offset == 6);
    CHECK(inner.next().value().offset == 7);
    CHECK(inner.done());
    auto third = reader.next().value();
    CHECK(third.offset == 8);
    CHECK(reader.done());
    CHECK(reader.offset() == fixed.size());
    std::array<rlp::Item, 3> items;
    CHECK(rlp::split_list(*top, items).value() == 3);
    CHECK(items[2].payload[0] == 0x7f);
    // A base offset shifts every reported offset (an item inside a typed-transaction envelope).
    auto shifted = rlp::decode_item(fixed, 1).value();
    CHECK(rlp::list_items(shifted).value().next().value().offset == 2);
  }

  TEST_CASE("fixed-size decoders accept exactly 20-byte addresses and 32-byte hashes") {
    const Bytes address = cat({b("94"), repeat(0x11, 20)});
    CHECK(rlp::decode_address(rlp::decode(address).value()).value().bytes[19] == 0x11);
    const Bytes hash = cat({b("a0"), repeat(0x22, 32)});
    CHECK(rlp::decode_hash(rlp::decode(hash).value()).value()[0] == 0x22);
    // Fixed-size values keep their leading zeros: they are byte strings, not integers.
    const Bytes zero_address = cat({b("94"), repeat(0x00, 20)});
    CHECK(rlp::decode_address(rlp::decode(zero_address).value()).value().is_zero());
  }

  TEST_CASE("nesting up to the bound is accepted") {
    CHECK(rlp::decode(nested(rlp::kMaxDepth - 1)).has_value());  // kMaxDepth list levels
    CHECK(rlp::decode(nested(3), 4).has_value());
  }

  TEST_CASE("rejects RLP integers with leading zeros") {
    // 0x00 is not zero (zero is 0x80); 0x8200 01 is 1 with a leading zero byte.
    for (const char* hex : {"00", "820001", "83000100", "8800ffffffffffffff"}) {
      CAPTURE(hex);
      const Bytes bytes = b(hex);
      const auto item = rlp::decode(bytes).value();
      CHECK(rlp::decode_u64(item).error().code == DecodeErrc::kLeadingZero);
      CHECK(rlp::decode_u256(item).error().code == DecodeErrc::kLeadingZero);
      CHECK(rlp::decode_word(item).error().code == DecodeErrc::kLeadingZero);
    }
    // 0x00 followed by 32 bytes: a leading zero, not an overflow.
    const Bytes wide_bytes = cat({b("a1"), b("00"), repeat(0xff, 32)});
    const auto wide = rlp::decode(wide_bytes).value();
    CHECK(rlp::decode_u256(wide).error().code == DecodeErrc::kLeadingZero);
  }

  TEST_CASE("rejects a single byte below 0x80 wrapped in a string header") {
    CHECK(error_of(b("8100")) == DecodeErrc::kNonCanonicalSingleByte);
    CHECK(error_of(b("817f")) == DecodeErrc::kNonCanonicalSingleByte);
    CHECK(error_of(b("c28105")) == DecodeErrc::kNonCanonicalSingleByte);
    CHECK(offset_of(b("c28105")) == 1);
    CHECK(rlp::decode(b("8180")).has_value());  // 0x80 needs its header
  }

  TEST_CASE("rejects long-form headers for lengths that fit the short form") {
    // String of 55 bytes: 0xb7 + payload; 0xb8 0x37 is the long form of the same.
    CHECK(error_of(cat({b("b837"), repeat(0xaa, 55)})) == DecodeErrc::kNonCanonicalSize);
    CHECK(error_of(cat({b("b800")})) == DecodeErrc::kNonCanonicalSize);
    CHECK(error_of(cat({b("b801"), b("aa")})) == DecodeErrc::kNonCanonicalSize);
    CHECK(error_of(cat({b("f837"), repeat(0x01, 55)})) == DecodeErrc::kNonCanonicalSize);
    CHECK(error_of(b("f800")) == DecodeErrc::kNonCanonicalSize);
    // 56 is the first length that needs the long form.
    CHECK(rlp::decode(cat({b("b838"), repeat(0xaa, 56)})).has_value());
    CHECK(rlp::decode(cat({b("f838"), repeat(0x01, 56)})).has_value());
  }

  TEST_CASE("rejects long-form lengths with leading zero bytes") {
    CHECK(error_of(cat({b("b90038"), repeat(0xaa, 56)})) == DecodeErrc::kNonCanonicalSize);
    CHECK(error_of(cat({b("f90038"), repeat(0x01, 56)})) == DecodeErrc::kNonCanonicalSize);
    CHECK(error_of(cat({b("ba000100"), repeat(0xaa, 256)})) == DecodeErrc::kNonCanonicalSize);
    CHECK(rlp::decode(cat({b("b90100"), repeat(0xaa, 256)})).has_value());
  }

  TEST_CASE("rejects trailing bytes after the top item") {
    CHECK(error_of(b("8000")) == DecodeErrc::kTrailingBytes);
    CHECK(offset_of(b("8000")) == 1);
    CHECK(error_of(b("c0c0")) == DecodeErrc::kTrailingBytes);
    CHECK(error_of(b("83646f6767")) == DecodeErrc::kTrailingBytes);
    CHECK(offset_of(b("83646f6767")) == 4);
    CHECK(rlp::decode_item(b("0101")).error().code == DecodeErrc::kTrailingBytes);
    // read_item leaves them to the caller instead.
    CHECK(rlp::read_item(b("0101")).value().encoded_size() == 1);
  }

  TEST_CASE("rejects input truncated at every byte") {
    // A tree with short and long strings and lists: every proper prefix must fail, never read past.
    const Bytes whole = rlp::encode_list(std::vector<Bytes>{
        rlp::encode_bytes(repeat(0x61, 60)), rlp::encode_uint(std::uint64_t{1024}),
        rlp::encode_list(std::vector<Bytes>{rlp::encode_bytes(repeat(0x62, 3)), rlp::encode_list_payload({})}),
        rlp::encode_uint(std::uint64_t{5})});
    REQUIRE(rlp::decode(whole).has_value());
    for (std::size_t cut = 0; cut < whole.size(); ++cut) {
      CAPTURE(cut);
      const Bytes prefix(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(cut));
      auto item = rlp::decode(prefix);
      REQUIRE_FALSE(item.has_value());
      CHECK(item.error().code == DecodeErrc::kInputTooShort);
      CHECK(item.error().offset <= cut);
    }
  }

  TEST_CASE("rejects items that overrun their enclosing list") {
    // Outer list of 5 bytes holds an inner list of 2 whose string item claims 3.
    CHECK(error_of(b("c5c283616263")) == DecodeErrc::kInputTooShort);
    CHECK(offset_of(b("c5c283616263")) == 2);
    // The same inner list read alone, with the bytes it lacks present after it in the input: the
    // item still may not borrow them.
    const Bytes inner_bytes = b("c283616263");
    const auto inner = rlp::read_item(inner_bytes).value();
    REQUIRE(inner.payload.size() == 2);
    std::array<rlp::Item, 2> items;
    CHECK(rlp::split_list(inner, items).error().code == DecodeErrc::kInputTooShort);
    CHECK(rlp::validate(inner).error().code == DecodeErrc::kInputTooShort);
  }

  TEST_CASE("rejects lengths that cannot be a size and lengths past the input") {
    CHECK(error_of(b("bfffffffffffffffff")) == DecodeErrc::kOverflow);
    CHECK(error_of(b("ffffffffffffffffff")) == DecodeErrc::kOverflow);
    CHECK(error_of(b("bf7fffffffffffffff")) == DecodeErrc::kInputTooShort);  // PTRDIFF_MAX: a size, too big
    CHECK(error_of(b("bb7fffffff")) == DecodeErrc::kInputTooShort);
    CHECK(error_of(b("ff0f00000000000000")) == DecodeErrc::kInputTooShort);
    CHECK(error_of(b("b9")) == DecodeErrc::kInputTooShort);   // length-of-length past the input
    CHECK(error_of(b("b901")) == DecodeErrc::kInputTooShort);
    CHECK(error_of(b("")) == DecodeErrc::kInputTooShort);
    CHECK(error_of(b("83646f")) == DecodeErrc::kInputTooShort);
  }

  TEST_CASE("rejects nesting deeper than the bound") {
    CHECK(error_of(nested(rlp::kMaxDepth)) == DecodeErrc::kTooDeep);
    CHECK(rlp::decode(nested(4), 4).error().code == DecodeErrc::kTooDeep);
    CHECK(rlp::decode(nested(0), 0).error().code == DecodeErrc::kTooDeep);
    CHECK(rlp::decode(b("80"), 0).has_value());  // a string has no depth
    // A thousand levels are refused without recursing that deep.
    CHECK(error_of(nested(1000)) == DecodeErrc::kTooDeep);
  }

  TEST_CASE("rejects a list where a string is expected and a string where a list is expected") {
    const Bytes list_bytes = b("c180");
    const auto list = rlp::decode(list_bytes).value();
    CHECK(rlp::decode_u64(list).error().code == DecodeErrc::kUnexpectedList);
    CHECK(rlp::decode_u256(list).error().code == DecodeErrc::kUnexpectedList);
    CHECK(rlp::decode_word(list).error().code == DecodeErrc::kUnexpectedList);
    CHECK(rlp::decode_bytes(list).error().code == DecodeErrc::kUnexpectedList);
    CHECK(rlp::decode_address(list).error().code == DecodeErrc::kUnexpectedList);
    CHECK(rlp::decode_hash(list).error().code == DecodeErrc::kUnexpectedList);
    const Bytes string_bytes = b("8180");
    const auto string = rlp::decode(string_bytes).value();
    CHECK(rlp::list_items(string).error().code == DecodeErrc::kUnexpectedString);
    std::array<rlp::Item, 1> items;
    CHECK(rlp::split_list(string, items).error().code == DecodeErrc::kUnexpectedString);
  }

  TEST_CASE("rejects integers one byte wider than their type") {
    const Bytes nine_bytes = b("89010000000000000000");
    const auto nine = rlp::decode(nine_bytes).value();
    CHECK(rlp::decode_u64(nine).error().code == DecodeErrc::kOverflow);
    CHECK(rlp::decode_u256(nine).value() == (U256(1) << 64));
    const Bytes thirty_three_bytes = cat({b("a1"), repeat(0x01, 33)});
    const auto thirty_three = rlp::decode(thirty_three_bytes).value();
    CHECK(rlp::decode_u256(thirty_three).error().code == DecodeErrc::kOverflow);
    CHECK(rlp::decode_word(thirty_three).error().code == DecodeErrc::kOverflow);
  }

  TEST_CASE("rejects addresses and hashes one byte short or long") {
    for (const std::size_t size : {0u, 19u, 21u}) {
      const Bytes bytes = rlp::encode_bytes(repeat(0x11, size));
      const auto item = rlp::decode(bytes).value();
      CHECK(rlp::decode_address(item).error().code == DecodeErrc::kWrongLength);
    }
    for (const std::size_t size : {0u, 31u, 33u}) {
      const Bytes bytes = rlp::encode_bytes(repeat(0x11, size));
      const auto item = rlp::decode(bytes).value();
      CHECK(rlp::decode_hash(item).error().code == DecodeErrc::kWrongLength);
    }
  }

  TEST_CASE("rejects reading past the end of a list") {
    const Bytes list_bytes = b("c20102");
    const auto list = rlp::decode(list_bytes).value();
    std::array<rlp::Item, 1> one;
    auto split = rlp::split_list(list, one);
    REQUIRE_FALSE(split.has_value());
    CHECK(split.error().code == DecodeErrc::kWrongFieldCount);
    CHECK(split.error().offset == 2);  // the first extra item
    auto reader = rlp::list_items(list).value();
    CHECK(reader.next().has_value());
    CHECK(reader.next().has_value());
    CHECK(reader.next().error().code == DecodeErrc::kWrongFieldCount);
    CHECK(rlp::ListReader().next().error().code == DecodeErrc::kWrongFieldCount);
  }
}

#include <doctest/doctest.h>

#include "tests/support/fixtures.hpp"

#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/abi.hpp"
#include "policy/codec/keccak.hpp"

using namespace txguard::codec;

namespace {

using txguard::test::load_fixture;

Bytes hex(std::string_view text) { return from_hex(text).value(); }

// A 32-byte word: `digits` right-aligned (numbers) or left-aligned (bytesN, bytes contents).
std::string word(std::string_view digits) { return std::string(64 - digits.size(), '0') + std::string(digits); }
std::string left(std::string_view digits) { return std::string(digits) + std::string(64 - digits.size(), '0'); }

AbiType type(std::string_view text) {
  auto t = parse_abi_type(text);
  REQUIRE_MESSAGE(t.has_value(), text);
  return *t;
}

std::vector<AbiType> types(std::initializer_list<std::string_view> texts) {
  std::vector<AbiType> out;
  for (auto t : texts) out.push_back(type(t));
  return out;
}

// The error of decoding `data` (hex) as `ts`; fails the test if it decodes.
DecodeError decode_error(const std::vector<AbiType>& ts, const Bytes& data) {
  auto r = abi_decode(ts, data);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

void check_rejected(const std::vector<AbiType>& ts, const std::string& hex_data, DecodeErrc code, std::size_t offset) {
  const auto error = decode_error(ts, hex(hex_data));
  CHECK_MESSAGE(error.code == code, error.message());
  CHECK_MESSAGE(error.offset == offset, error.message());
}

Bytes encode(const std::vector<AbiType>& ts, std::vector<AbiValue> values) { return abi_encode(ts, values); }

// Deterministic random values of any type, biased towards boundaries.
class ValueGenerator {
 public:
  explicit ValueGenerator(std::uint64_t seed) : rng_(seed) {}

  AbiValue value(const AbiType& t) {
    using K = AbiType::Kind;
    switch (t.kind()) {
      case K::kUint: return AbiValue::uint(u256_from_be(ByteView(random_word(t.bits() / 8, false).data(), 32)));
      case K::kInt: {
        return AbiValue::sint(AbiSigned::from_twos_complement(u256_from_be(ByteView(random_word(t.bits() / 8, true).data(), 32))));
      }
      case K::kAddress: {
        Address a;
        for (auto& b : a.bytes) b = byte();
        return AbiValue::address(a);
      }
      case K::kBool: return AbiValue::boolean(rng_() % 2 == 0);
      case K::kFixedBytes: return AbiValue::bytes(random_bytes(t.fixed_size()));
      case K::kBytes: {
        static constexpr std::size_t kLengths[] = {0, 1, 31, 32, 33, 64, 65, 100};
        return AbiValue::bytes(random_bytes(kLengths[rng_() % std::size(kLengths)]));
      }
      case K::kString: {
        static constexpr const char* kPieces[] = {"", "a", "dave", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                                   "0123456789abcdef0123456789abcdef"};
        std::string s;
        const auto n = rng_() % 5;
        for (std::uint64_t i = 0; i < n; ++i) s += kPieces[rng_() % std::size(kPieces)];
        return AbiValue::string(s);
      }
      case K::kArray: {
        AbiValue::List items;
        const auto n = rng_() % 4;
        for (std::uint64_t i = 0; i < n; ++i) items.push_back(value(t.element()));
        return AbiValue::list(std::move(items));
      }
      case K::kFixedArray: {
        AbiValue::List items;
        for (std::size_t i = 0; i < t.length(); ++i) items.push_back(value(t.element()));
        return AbiValue::list(std::move(items));
      }
      case K::kTuple: {
        AbiValue::List items;
        for (const auto& c : t.components()) items.push_back(value(c));
        return AbiValue::list(std::move(items));
      }
    }
    FAIL("unknown kind");
    return AbiValue::boolean(false);
  }

 private:
  std::uint8_t byte() { return static_cast<std::uint8_t>(rng_()); }

  Bytes random_bytes(std::size_t n) {
    Bytes out(n);
    for (auto& b : out) b = byte();
    return out;
  }

  // A word holding an n-byte integer: zero-extended, or sign-extended when `sign_extend`.
  std::array<std::uint8_t, 32> random_word(std::size_t n, bool sign_extend) {
    std::array<std::uint8_t, 32> w{};
    const auto mode = rng_() % 6;
    for (std::size_t i = 32 - n; i < 32; ++i) {
      w[i] = mode == 0 ? 0x00 : mode == 1 ? 0xff : byte();  // 0, all ones (max / -1), random
    }
    if (mode == 2) w[32 - n] = 0x80;  // most negative intN, or 2^(N-1) for uintN
    if (mode == 3) w[32 - n] = 0x7f;
    if (sign_extend && (w[32 - n] & 0x80) != 0) {
      for (std::size_t i = 0; i < 32 - n; ++i) w[i] = 0xff;
    }
    return w;
  }

  std::mt19937_64 rng_;
};

std::vector<std::string> every_elementary_type() {
  std::vector<std::string> out = {"address", "bool", "bytes", "string"};
  for (unsigned n = 8; n <= 256; n += 8) {
    out.push_back("uint" + std::to_string(n));
    out.push_back("int" + std::to_string(n));
  }
  for (unsigned n = 1; n <= 32; ++n) out.push_back("bytes" + std::to_string(n));
  return out;
}

}  // namespace

TEST_SUITE("abi") {
  // ---------------------------------------------------------------------------------------------
  // Vectors and round-trips.

  TEST_CASE("decodes the Solidity ABI spec examples to their exact values and re-encodes them") {
    const auto fixture = load_fixture("abi/solidity-abi-spec-examples.json");
    std::size_t passed = 0;
    for (const auto& v : fixture["vectors"]) {
      const std::string signature = v["signature"];
      CAPTURE(signature);
      auto sig = parse_abi_signature(signature);
      REQUIRE(sig.has_value());
      CHECK(canonical_signature(sig->name, sig->inputs) == signature);
      const Bytes calldata = hex(v["calldata"].get<std::string>());
      const Hash32 h = keccak256(view(signature));
      CHECK(to_hex(ByteView(h.data(), 4)) == v["selector"].get<std::string>());
      REQUIRE(calldata.size() >= 4);
      CHECK(to_hex(ByteView(calldata.data(), 4)) == v["selector"].get<std::string>());
      const ByteView args(calldata.data() + 4, calldata.size() - 4);
      auto decoded = abi_decode(sig->inputs, args);
      REQUIRE_MESSAGE(decoded.has_value(), decoded.error().message());
      CHECK(decoded->consumed == args.size());
      CHECK(decoded->trailing.empty());
      auto json = nlohmann::json::array();
      for (std::size_t i = 0; i < sig->inputs.size(); ++i) json.push_back(to_json(sig->inputs[i], decoded->values[i]));
      CHECK(json == v["args"]);
      CHECK(abi_encode(sig->inputs, decoded->values) == Bytes(args.begin(), args.end()));
      ++passed;
    }
    CHECK(passed == 5);
  }

  TEST_CASE("round-trips random values of every elementary type alone and in combinations") {
    ValueGenerator gen(0xab1);
    std::vector<std::vector<AbiType>> lists;
    for (const auto& t : every_elementary_type()) {
      lists.push_back({type(t)});
      lists.push_back({type(t + "[]")});
      lists.push_back({type(t + "[2]")});
      lists.push_back({type("(" + t + ",bool)")});
    }
    for (auto text : {"uint256[][]", "bytes32[3][]", "string[][2]", "(address,uint256)[]", "(uint8,bytes)",
                      "(uint256[],(string,bytes32)[2])[]", "((bytes)[])[1]", "(bytes,(string[],int8)[])[2][]",
                      "((uint256,address),bytes32)[3]"}) {
      lists.push_back({type(text)});
    }
    lists.push_back(types({"bytes", "uint256", "string[]", "(bool,bytes)", "address"}));
    lists.push_back(types({"uint8", "int16", "bytes7", "bytes", "bool[3]", "string"}));
    std::size_t round_trips = 0;
    for (const auto& ts : lists) {
      for (int i = 0; i < 12; ++i) {
        std::vector<AbiValue> values;
        for (const auto& t : ts) values.push_back(gen.value(t));
        const Bytes encoded = abi_encode(ts, values);
        CHECK(encoded.size() % 32 == 0);
        auto decoded = abi_decode(ts, encoded);
        REQUIRE_MESSAGE(decoded.has_value(), (canonical_signature("f", ts) + ": " + decoded.error().message()));
        CHECK(decoded->values == values);
        CHECK(decoded->consumed == encoded.size());
        CHECK(decoded->trailing.empty());
        CHECK(abi_encode(ts, decoded->values) == encoded);
        ++round_trips;
      }
    }
    CHECK(round_trips == lists.size() * 12);
  }

  TEST_CASE("integers round-trip at their boundaries") {
    const U256 max256 = ~U256(0);
    const auto uint8 = types({"uint8"});
    CHECK(encode(uint8, {AbiValue::uint(255)}) == hex(word("ff")));
    CHECK(abi_decode(uint8, hex(word("ff")))->values[0] == AbiValue::uint(255));
    const auto uint256 = types({"uint256"});
    CHECK(encode(uint256, {AbiValue::uint(max256)}) == hex(std::string(64, 'f')));
    const auto int8 = types({"int8"});
    CHECK(encode(int8, {AbiValue::sint(AbiSigned::from_int64(-128))}) == hex(std::string(62, 'f') + "80"));
    CHECK(encode(int8, {AbiValue::sint(AbiSigned::from_int64(127))}) == hex(word("7f")));
    CHECK(encode(int8, {AbiValue::sint(AbiSigned::from_int64(-1))}) == hex(std::string(64, 'f')));
    auto minus_one = abi_decode(int8, hex(std::string(64, 'f')));
    REQUIRE(minus_one.has_value());
    const auto* v = minus_one->values[0].get_if<AbiSigned>();
    REQUIRE(v != nullptr);
    CHECK(v->negative());
    CHECK(v->magnitude() == 1);
    CHECK(to_json(type("int8"), minus_one->values[0]) == "-1");
    const auto int256 = types({"int256"});
    const auto min256 = AbiSigned::from_magnitude(U256(1) << 255, true);
    CHECK(encode(int256, {AbiValue::sint(min256)}) == hex("8" + std::string(63, '0')));
    CHECK(to_json(type("int256"), AbiValue::sint(min256)) ==
          "-57896044618658097711785492504343953926634992332820282019728792003956564819968");
    CHECK(AbiSigned::from_int64(INT64_MIN).magnitude() == U256(9223372036854775808ULL));
  }

  TEST_CASE("bytes after the arguments are reported as trailing, not rejected") {
    const auto ts = types({"uint256", "bytes"});
    const std::string canonical_hex = word("1") + word("40") + word("2") + left("abcd");
    auto exact = abi_decode(ts, hex(canonical_hex));
    REQUIRE(exact.has_value());
    CHECK(exact->trailing.empty());
    for (const std::string& extra : std::vector<std::string>{"00", "deadbeef", word("0"), word("ff") + word("ff")}) {
      const Bytes data = hex(canonical_hex + extra);
      auto r = abi_decode(ts, data);
      REQUIRE(r.has_value());
      CHECK(r->consumed == 128);
      CHECK(r->trailing.size() == data.size() - 128);
      CHECK(r->trailing.data() == data.data() + 128);
      CHECK(r->values == exact->values);
    }
  }

  TEST_CASE("an empty type list consumes nothing and reports all data as trailing") {
    auto r = abi_decode({}, hex("01020304"));
    REQUIRE(r.has_value());
    CHECK(r->values.empty());
    CHECK(r->consumed == 0);
    CHECK(r->trailing.size() == 4);
    CHECK(abi_encode({}, {}).empty());
  }

  // ---------------------------------------------------------------------------------------------
  // Types.

  TEST_CASE("canonical type strings round-trip through the parser") {
    for (const auto& t : every_elementary_type()) CHECK(canonical(type(t)) == t);
    for (auto text : {"uint256[]", "(address,uint256)[]", "bytes32[3][]", "uint8[1][2][3]", "(uint8,bytes)",
                      "((uint256,address)[],string)[2]", "(bool)"}) {
      CHECK(canonical(type(text)) == text);
    }
    CHECK(canonical(type("tuple(uint8,bytes)")) == "(uint8,bytes)");
    CHECK(canonical(type("tuple(tuple(bool),uint8)[]")) == "((bool),uint8)[]");
    auto sig = parse_abi_signature("f()");
    REQUIRE(sig.has_value());
    CHECK(sig->name == "f");
    CHECK(sig->inputs.empty());
  }

  TEST_CASE("types know whether they are dynamic and how much head they take") {
    CHECK_FALSE(type("uint256[3]").is_dynamic());
    CHECK(type("uint256[3]").head_size() == 96);
    CHECK(type("(uint8,bytes32[2])").head_size() == 96);
    CHECK(type("(uint8,bytes)").is_dynamic());
    CHECK(type("(uint8,bytes)").head_size() == 32);
    CHECK(type("bytes32[3][]").is_dynamic());
    CHECK(type("string[2]").is_dynamic());
    CHECK(type("uint8[1][2][3]").head_size() == 192);
    CHECK(type("uint8[1][2][3]").depth() == 4);
  }

  TEST_CASE("rejects type strings that are not canonical") {
    struct Case {
      const char* text;
      DecodeErrc code;
      std::size_t offset;
    };
    const Case cases[] = {
        {"uint", DecodeErrc::kInvalidAbiType, 0},        // alias: only in ABI JSON
        {"int", DecodeErrc::kInvalidAbiType, 0},
        {"uint0", DecodeErrc::kInvalidAbiType, 0},
        {"uint7", DecodeErrc::kInvalidAbiType, 0},
        {"uint264", DecodeErrc::kInvalidAbiType, 0},
        {"uint08", DecodeErrc::kInvalidAbiType, 0},
        {"int257", DecodeErrc::kInvalidAbiType, 0},
        {"bytes0", DecodeErrc::kInvalidAbiType, 0},
        {"bytes33", DecodeErrc::kInvalidAbiType, 0},
        {"bytes01", DecodeErrc::kInvalidAbiType, 0},
        {"byte", DecodeErrc::kInvalidAbiType, 0},
        {"fixed128x18", DecodeErrc::kInvalidAbiType, 0},
        {"function", DecodeErrc::kInvalidAbiType, 0},
        {"Uint256", DecodeErrc::kInvalidAbiType, 0},
        {"", DecodeErrc::kInvalidAbiType, 0},
        {" uint256", DecodeErrc::kInvalidAbiType, 0},
        {"uint256 ", DecodeErrc::kInvalidAbiType, 7},
        {"uint256[0]", DecodeErrc::kInvalidAbiType, 8},
        {"uint256[01]", DecodeErrc::kInvalidAbiType, 8},
        {"uint256[-1]", DecodeErrc::kInvalidAbiType, 8},
        {"uint256[", DecodeErrc::kInvalidAbiType, 8},
        {"uint256]", DecodeErrc::kInvalidAbiType, 7},
        {"uint256[2", DecodeErrc::kInvalidAbiType, 9},
        {"()", DecodeErrc::kInvalidAbiType, 0},
        {"tuple()", DecodeErrc::kInvalidAbiType, 5},
        {"(uint256", DecodeErrc::kInvalidAbiType, 8},
        {"(uint256,)", DecodeErrc::kInvalidAbiType, 9},
        {"(uint256 a)", DecodeErrc::kInvalidAbiType, 8},
        {"(uint256, bool)", DecodeErrc::kInvalidAbiType, 9},
        {"(uint256))", DecodeErrc::kInvalidAbiType, 9},
        {"tuple", DecodeErrc::kInvalidAbiType, 0},
        {"address payable", DecodeErrc::kInvalidAbiType, 7},
    };
    for (const auto& c : cases) {
      CAPTURE(c.text);
      auto r = parse_abi_type(c.text);
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().code == c.code);
      CHECK(r.error().offset == c.offset);
    }
    for (auto text : {"transfer(address,uint)", "transfer (address)", "1f()", "f(", "f()x", "f(uint256,)", ""}) {
      CAPTURE(text);
      CHECK(parse_abi_signature(text).error().code == DecodeErrc::kInvalidAbiType);
    }
  }

  TEST_CASE("rejects types nested deeper than kMaxAbiDepth, accepts exactly the bound") {
    std::string arrays = "uint8";
    for (std::size_t i = 1; i < kMaxAbiDepth; ++i) arrays += "[]";
    CHECK(type(arrays).depth() == kMaxAbiDepth);
    CHECK(parse_abi_type(arrays + "[]").error().code == DecodeErrc::kTooDeep);
    std::string tuples = "uint8";
    for (std::size_t i = 1; i < kMaxAbiDepth; ++i) tuples = "(" + tuples + ")";
    CHECK(type(tuples).depth() == kMaxAbiDepth);
    CHECK(parse_abi_type("(" + tuples + ")").error().code == DecodeErrc::kTooDeep);
    // Far deeper than the bound: must fail without exhausting the stack.
    CHECK(parse_abi_type(std::string(100000, '(') + "uint8" + std::string(100000, ')')).error().code == DecodeErrc::kTooDeep);
    nlohmann::json deep = {{"type", "uint8"}};
    for (int i = 0; i < 40; ++i) deep = {{"type", "tuple"}, {"components", nlohmann::json::array({deep})}};
    CHECK(abi_type_from_json(deep).error().code == DecodeErrc::kTooDeep);
    CHECK_THROWS_AS(AbiType::array(type(arrays)), std::length_error);
  }

  TEST_CASE("rejects fixed arrays larger than kMaxAbiStaticSize, accepts exactly the bound") {
    const std::size_t max_words = kMaxAbiStaticSize / 32;
    CHECK(type("uint256[" + std::to_string(max_words) + "]").head_size() == kMaxAbiStaticSize);
    auto over = parse_abi_type("uint256[" + std::to_string(max_words + 1) + "]");
    REQUIRE_FALSE(over.has_value());
    CHECK(over.error().code == DecodeErrc::kOverflow);
    CHECK(parse_abi_type("uint256[2][" + std::to_string(max_words) + "]").error().code == DecodeErrc::kOverflow);
    CHECK(parse_abi_type("bytes[99999999999999999999999]").error().code == DecodeErrc::kOverflow);
    // A dynamic element takes one word of head per element: bounded the same way.
    CHECK(parse_abi_type("bytes[" + std::to_string(max_words + 1) + "]").error().code == DecodeErrc::kOverflow);
  }

  TEST_CASE("ABI JSON parameters accept the uint and int aliases and tuples with named components") {
    auto t = abi_type_from_json(nlohmann::json::parse(R"j({"name":"x","type":"uint","internalType":"uint256"})j"));
    REQUIRE(t.has_value());
    CHECK(canonical(*t) == "uint256");
    CHECK(canonical(abi_type_from_json(nlohmann::json::parse(R"j({"type":"int[2][]"})j")).value()) == "int256[2][]");
    auto tuple = abi_type_from_json(nlohmann::json::parse(R"j({
      "name": "orders", "type": "tuple[2][]",
      "components": [
        {"name": "token", "type": "address"},
        {"name": "legs", "type": "tuple[]", "components": [{"name": "amount", "type": "uint"}, {"name": "memo", "type": "string"}]}
      ]})j"));
    REQUIRE_MESSAGE(tuple.has_value(), tuple.error().message());
    CHECK(canonical(*tuple) == "(address,(uint256,string)[])[2][]");
    const AbiType& order = tuple->element().element();
    REQUIRE(order.names().size() == 2);
    CHECK(order.names()[0] == "token");
    CHECK(order.names()[1] == "legs");
    CHECK(order.components()[1].element().names()[1] == "memo");
  }

  TEST_CASE("ABI JSON parameter errors name the JSON path") {
    struct Case {
      const char* json;
      DecodeErrc code;
      const char* where;
    };
    const Case cases[] = {
        {R"j("uint256")j", DecodeErrc::kInvalidJson, "$"},
        {R"j({"name":"a"})j", DecodeErrc::kInvalidJson, "$.type"},
        {R"j({"type":7})j", DecodeErrc::kInvalidJson, "$.type"},
        {R"j({"type":"uint257"})j", DecodeErrc::kInvalidAbiType, "$.type"},
        {R"j({"type":"(uint256,bool)"})j", DecodeErrc::kInvalidAbiType, "$.type"},
        {R"j({"type":"uint256","components":[]})j", DecodeErrc::kInvalidJson, "$.components"},
        {R"j({"type":"tuple"})j", DecodeErrc::kInvalidJson, "$.components"},
        {R"j({"type":"tuple","components":{}})j", DecodeErrc::kInvalidJson, "$.components"},
        {R"j({"type":"tuple","components":[]})j", DecodeErrc::kInvalidAbiType, "$.components"},
        {R"j({"type":"tuple","components":[{"type":"bool"},{"type":"uint9"}]})j", DecodeErrc::kInvalidAbiType, "$.components[1].type"},
        {R"j({"type":"tuple","components":[{"type":"bool","name":3}]})j", DecodeErrc::kInvalidJson, "$.components[0].name"},
        {R"j({"type":"tuple(bool)","components":[{"type":"bool"}]})j", DecodeErrc::kInvalidAbiType, "$.type"},
        {R"j({"type":"tuple[0]","components":[{"type":"bool"}]})j", DecodeErrc::kInvalidAbiType, "$.type"},
        {R"j({"type":"tuples","components":[{"type":"bool"}]})j", DecodeErrc::kInvalidAbiType, "$.type"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.json);
      auto r = abi_type_from_json(nlohmann::json::parse(c.json));
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().code == c.code);
      CHECK(r.error().where == c.where);
    }
    auto nested = abi_type_from_json(nlohmann::json::parse(R"j({"type":"bool[]x"})j"), "$[3].inputs[1]");
    CHECK(nested.error().where == "$[3].inputs[1].type");
    CHECK(nested.error().offset == 6);
  }

  // ---------------------------------------------------------------------------------------------
  // Offsets.

  TEST_CASE("rejects an offset that points past the end of the data") {
    const auto ts = types({"bytes"});
    // Canonical: offset 0x20, length 1, one padded word (96 bytes).
    const std::string tail = word("1") + left("aa");
    check_rejected(ts, word("60") + tail, DecodeErrc::kOffsetOutOfRange, 0);   // = size: nothing there
    check_rejected(ts, word("61") + tail, DecodeErrc::kOffsetOutOfRange, 0);   // one past the end
    check_rejected(ts, word("41") + tail, DecodeErrc::kOffsetOutOfRange, 0);   // no room for a length word
    check_rejected(ts, std::string(64, 'f') + tail, DecodeErrc::kOffsetOutOfRange, 0);
    check_rejected(ts, "8" + std::string(63, '0') + tail, DecodeErrc::kOffsetOutOfRange, 0);
    // Nested: an element offset inside an array is relative to the array's contents.
    const auto nested = types({"bytes[]"});
    check_rejected(nested, word("20") + word("1") + word("1000") + word("0"), DecodeErrc::kOffsetOutOfRange, 64);
  }

  TEST_CASE("rejects an offset that points back into its own head") {
    const auto ts = types({"uint256", "bytes"});
    const std::string tail = word("1") + left("aa");
    check_rejected(ts, word("5") + word("0") + tail, DecodeErrc::kOffsetOutOfRange, 32);
    check_rejected(ts, word("5") + word("20") + tail, DecodeErrc::kOffsetOutOfRange, 32);
    check_rejected(ts, word("5") + word("3f") + tail, DecodeErrc::kOffsetOutOfRange, 32);
    // Inside a tuple, offsets are relative to the tuple: 0x20 is inside the tuple's two-word head.
    const auto tuple = types({"(uint8,bytes)"});
    check_rejected(tuple, word("20") + word("7") + word("20") + tail, DecodeErrc::kOffsetOutOfRange, 64);
  }

  TEST_CASE("rejects in-range offsets that are not where the standard encoder puts the tail") {
    const auto ts = types({"bytes"});
    const std::string tail = word("1") + left("aa");
    // Not a multiple of 32, with a gap byte before the tail: in range but not canonical.
    check_rejected(ts, word("21") + "00" + tail, DecodeErrc::kNonCanonicalOffset, 0);
    // A whole-word gap between head and tail.
    check_rejected(ts, word("40") + word("0") + tail, DecodeErrc::kNonCanonicalOffset, 0);
    // Two arguments sharing one tail: a lenient decoder reads the same bytes twice.
    const auto two = types({"bytes", "bytes"});
    check_rejected(two, word("40") + word("40") + tail, DecodeErrc::kNonCanonicalOffset, 32);
    // Tails swapped: both in range, both non-overlapping, but not in head order.
    const std::string tail_b = word("1") + left("bb");
    check_rejected(two, word("80") + word("40") + tail + tail_b, DecodeErrc::kNonCanonicalOffset, 0);
    // The canonical forms of the same values decode.
    CHECK(abi_decode(two, hex(word("40") + word("80") + tail + tail_b)).has_value());
    CHECK(abi_decode(ts, hex(word("20") + tail)).has_value());
  }

  // ---------------------------------------------------------------------------------------------
  // Lengths.

  TEST_CASE("rejects lengths and counts beyond the data before allocating") {
    const std::string huge[] = {"8" + std::string(63, '0'), std::string(64, 'f'), word("10000000000000000"),
                                word("100000000")};
    for (const auto& len : huge) {
      CAPTURE(len);
      check_rejected(types({"bytes"}), word("20") + len + word("0"), DecodeErrc::kInputTooShort, 32);
      check_rejected(types({"string"}), word("20") + len + word("0"), DecodeErrc::kInputTooShort, 32);
      check_rejected(types({"uint256[]"}), word("20") + len + word("0"), DecodeErrc::kInputTooShort, 32);
      check_rejected(types({"bytes[]"}), word("20") + len + word("0"), DecodeErrc::kInputTooShort, 32);
      check_rejected(types({"uint256[3][]"}), word("20") + len + word("0"), DecodeErrc::kInputTooShort, 32);
    }
    // Boundaries: a length one more than the remaining bytes fails, exactly the remaining decodes.
    check_rejected(types({"bytes"}), word("20") + word("21") + word("0"), DecodeErrc::kInputTooShort, 32);
    CHECK(abi_decode(types({"bytes"}), hex(word("20") + word("20") + word("0"))).has_value());
    check_rejected(types({"uint256[]"}), word("20") + word("2") + word("0"), DecodeErrc::kInputTooShort, 32);
    CHECK(abi_decode(types({"uint256[]"}), hex(word("20") + word("1") + word("0"))).has_value());
    // Every element of uint256[3][] takes 96 bytes: 2 elements need 192.
    check_rejected(types({"uint256[3][]"}), word("20") + word("2") + std::string(64 * 5, '0'), DecodeErrc::kInputTooShort, 32);
    // A length inside the data but whose padding is missing.
    check_rejected(types({"bytes"}), word("20") + word("1") + "aa", DecodeErrc::kInputTooShort, 65);
  }

  TEST_CASE("rejects input truncated at every byte") {
    const auto fixture = load_fixture("abi/solidity-abi-spec-examples.json");
    std::size_t prefixes = 0;
    for (const auto& v : fixture["vectors"]) {
      const auto sig = parse_abi_signature(v["signature"].get<std::string>()).value();
      const Bytes calldata = hex(v["calldata"].get<std::string>());
      const Bytes args(calldata.begin() + 4, calldata.end());
      for (std::size_t n = 0; n < args.size(); ++n) {
        CAPTURE(n);
        auto r = abi_decode(sig.inputs, ByteView(args.data(), n));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == DecodeErrc::kInputTooShort);
        CHECK(r.error().offset <= n);
        ++prefixes;
      }
    }
    CHECK(prefixes == 68 - 4 + 68 - 4 + 292 - 4 + 292 - 4 + 644 - 4);
  }

  // ---------------------------------------------------------------------------------------------
  // Padding and value domains.

  TEST_CASE("rejects dirty padding in address and bool words") {
    const std::string addr = "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
    CHECK(abi_decode(types({"address"}), hex(word(addr))).has_value());
    check_rejected(types({"address"}), word("01" + addr), DecodeErrc::kDirtyPadding, 11);
    check_rejected(types({"address"}), "01" + word(addr).substr(2), DecodeErrc::kDirtyPadding, 0);
    check_rejected(types({"bool"}), word("0101"), DecodeErrc::kDirtyPadding, 30);
    check_rejected(types({"bool"}), "80" + word("1").substr(2), DecodeErrc::kDirtyPadding, 0);
  }

  TEST_CASE("rejects bool words other than 0 and 1") {
    CHECK(abi_decode(types({"bool"}), hex(word("0")))->values[0] == AbiValue::boolean(false));
    CHECK(abi_decode(types({"bool"}), hex(word("1")))->values[0] == AbiValue::boolean(true));
    check_rejected(types({"bool"}), word("2"), DecodeErrc::kInvalidBool, 31);
    check_rejected(types({"bool"}), word("ff"), DecodeErrc::kInvalidBool, 31);
    check_rejected(types({"uint256", "bool"}), word("0") + word("2"), DecodeErrc::kInvalidBool, 63);
  }

  TEST_CASE("rejects non-zero high bytes in every uintN below 256") {
    for (unsigned n = 8; n < 256; n += 8) {
      CAPTURE(n);
      const std::size_t pad = 32 - n / 8;
      const std::string max = std::string(n / 4, 'f');
      CHECK(abi_decode(types({"uint" + std::to_string(n)}), hex(word(max))).has_value());
      check_rejected(types({"uint" + std::to_string(n)}), word("1" + max), DecodeErrc::kDirtyPadding, pad - 1);
    }
    CHECK(abi_decode(types({"uint256"}), hex(std::string(64, 'f'))).has_value());
  }

  TEST_CASE("rejects intN words that are not the sign extension of their low N bits") {
    for (unsigned n = 8; n < 256; n += 8) {
      CAPTURE(n);
      const std::string t = "int" + std::to_string(n);
      const std::size_t pad = 32 - n / 8;
      const std::string low_max = "7" + std::string(n / 4 - 1, 'f');  // 2^(N-1) - 1
      const std::string low_min = "8" + std::string(n / 4 - 1, '0');  // -2^(N-1) when sign-extended
      CHECK(abi_decode(types({t}), hex(word(low_max))).has_value());
      CHECK(abi_decode(types({t}), hex(std::string(pad * 2, 'f') + low_min)).has_value());
      // A positive value with 0xff above it, a negative value with 0x00 above it, a single flipped byte.
      check_rejected(types({t}), std::string(pad * 2, 'f') + low_max, DecodeErrc::kDirtyPadding, 0);
      check_rejected(types({t}), word(low_min), DecodeErrc::kDirtyPadding, 0);
      check_rejected(types({t}), std::string(pad * 2 - 2, 'f') + "fe" + low_min, DecodeErrc::kDirtyPadding, pad - 1);
    }
  }

  TEST_CASE("rejects non-zero bytes after every bytesN value") {
    for (unsigned n = 1; n < 32; ++n) {
      CAPTURE(n);
      const std::string t = "bytes" + std::to_string(n);
      const std::string value(n * 2, 'a');
      CHECK(abi_decode(types({t}), hex(left(value))).has_value());
      check_rejected(types({t}), left(value + "01"), DecodeErrc::kDirtyPadding, n);
      check_rejected(types({t}), left(value).substr(0, 62) + "01", DecodeErrc::kDirtyPadding, 31);
    }
    CHECK(abi_decode(types({"bytes32"}), hex(std::string(64, 'f'))).has_value());
  }

  TEST_CASE("rejects non-zero padding after bytes and string contents") {
    for (const char* t : {"bytes", "string"}) {
      CAPTURE(t);
      CHECK(abi_decode(types({t}), hex(word("20") + word("3") + left("616263"))).has_value());
      check_rejected(types({t}), word("20") + word("3") + left("61626301"), DecodeErrc::kDirtyPadding, 67);
      check_rejected(types({t}), word("20") + word("3") + left("616263").substr(0, 62) + "01", DecodeErrc::kDirtyPadding, 95);
      // 32 bytes of contents need no padding; 33 need a whole word more, all zero but the first byte.
      CHECK(abi_decode(types({t}), hex(word("20") + word("20") + std::string(64, '6'))).has_value());
      check_rejected(types({t}), word("20") + word("21") + std::string(64, '6') + left("6601"), DecodeErrc::kDirtyPadding, 97);
    }
  }

  TEST_CASE("rejects strings that are not valid UTF-8 and accepts all valid sequence lengths") {
    auto string_data = [](const std::string& contents_hex) {
      const std::size_t n = contents_hex.size() / 2;
      std::string padded = contents_hex + std::string((32 - n % 32) % 32 * 2, '0');
      return word("20") + word(to_hex_bare(u256_to_be_min(U256(n)))) + padded;
    };
    for (const char* ok : {"61", "c3a9", "e282ac", "f09f9880", "f48fbfbf", "efbfbf"}) {
      CAPTURE(ok);
      CHECK(abi_decode(types({"string"}), hex(string_data(ok))).has_value());
    }
    const char* bad[] = {"ff", "80", "c0af", "c1bf", "e08080", "eda080", "f08f8080", "f4908080", "f5808080",
                         "e282", "c3", "61c3"};
    for (const char* b : bad) {
      CAPTURE(b);
      const auto error = decode_error(types({"string"}), hex(string_data(b)));
      CHECK(error.code == DecodeErrc::kInvalidField);
    }
    // The offset names the first byte of the bad sequence.
    CHECK(decode_error(types({"string"}), hex(string_data("61c3"))).offset == 65);
    // The same bytes are fine as `bytes`.
    CHECK(abi_decode(types({"bytes"}), hex(string_data("ff"))).has_value());
  }

  TEST_CASE("decoding work is bounded: a small input claiming huge arrays fails at once") {
    // uint256[][] with an outer count of 2^32 in 96 bytes of data.
    check_rejected(types({"uint256[][]"}), word("20") + word("100000000") + word("0"), DecodeErrc::kInputTooShort, 32);
    // bytes[] whose one element claims 2^255 bytes.
    check_rejected(types({"bytes[]"}), word("20") + word("1") + word("20") + "8" + std::string(63, '0'),
                   DecodeErrc::kInputTooShort, 96);
  }

  // ---------------------------------------------------------------------------------------------
  // Encoder preconditions and JSON.

  TEST_CASE("the encoder refuses values that do not match their types") {
    struct Case {
      const char* type;
      AbiValue value;
    };
    Address a;
    const Case cases[] = {
        {"uint8", AbiValue::uint(256)},
        {"uint248", AbiValue::uint(U256(1) << 248)},
        {"int8", AbiValue::sint(AbiSigned::from_int64(128))},
        {"int8", AbiValue::sint(AbiSigned::from_int64(-129))},
        {"int16", AbiValue::sint(AbiSigned::from_int64(-32769))},
        {"uint256", AbiValue::sint(AbiSigned::from_int64(1))},
        {"bytes3", AbiValue::bytes(Bytes{1, 2, 3, 4})},
        {"bytes3", AbiValue::bytes(Bytes{1, 2})},
        {"address", AbiValue::bytes(Bytes(20, 0))},
        {"bool", AbiValue::uint(1)},
        {"string", AbiValue::string("\xff")},
        {"string", AbiValue::bytes(Bytes{})},
        {"uint8[2]", AbiValue::list({AbiValue::uint(1)})},
        {"uint8[]", AbiValue::list({AbiValue::uint(1), AbiValue::uint(300)})},
        {"(address,bool)", AbiValue::list({AbiValue::address(a)})},
        {"(address,bool)", AbiValue::list({AbiValue::boolean(true), AbiValue::address(a)})},
    };
    for (const auto& c : cases) {
      CAPTURE(c.type);
      const auto t = type(c.type);
      CHECK_FALSE(abi_value_matches(t, c.value));
      CHECK_THROWS_AS(abi_encode(std::vector<AbiType>{t}, std::vector<AbiValue>{c.value}), std::invalid_argument);
      CHECK_THROWS_AS(to_json(t, c.value), std::invalid_argument);
    }
    CHECK_THROWS_AS(abi_encode(types({"uint8", "uint8"}), std::vector<AbiValue>{AbiValue::uint(1)}), std::invalid_argument);
    // The boundaries themselves fit.
    CHECK(abi_value_matches(type("uint8"), AbiValue::uint(255)));
    CHECK(abi_value_matches(type("int8"), AbiValue::sint(AbiSigned::from_int64(-128))));
    CHECK(abi_value_matches(type("int16"), AbiValue::sint(AbiSigned::from_int64(-32768))));
  }

  TEST_CASE("AbiSigned refuses magnitudes beyond int256") {
    const U256 half = U256(1) << 255;
    CHECK_THROWS_AS(AbiSigned::from_magnitude(half, false), std::overflow_error);
    CHECK_THROWS_AS(AbiSigned::from_magnitude(half + 1, true), std::overflow_error);
    CHECK(AbiSigned::from_magnitude(half - 1, false).twos_complement() == half - 1);
    CHECK(AbiSigned::from_magnitude(half, true).twos_complement() == half);
    CHECK_FALSE(AbiSigned::from_magnitude(0, true).negative());
  }

  TEST_CASE("to_json renders the documented stable form") {
    const auto addr = parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").value();
    CHECK(to_json(type("address"), AbiValue::address(addr)) == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
    CHECK(to_json(type("uint256"), AbiValue::uint(0)) == "0");
    CHECK(to_json(type("int64"), AbiValue::sint(AbiSigned::from_int64(-5))) == "-5");
    CHECK(to_json(type("bool"), AbiValue::boolean(true)) == true);
    CHECK(to_json(type("bytes"), AbiValue::bytes({})) == "0x");
    CHECK(to_json(type("bytes2"), AbiValue::bytes({0xAB, 0x01})) == "0xab01");
    CHECK(to_json(type("string"), AbiValue::string("\xe2\x82\xac")) == "\xe2\x82\xac");
    const auto pair = AbiValue::list({AbiValue::address(addr), AbiValue::uint(7)});
    const auto named = AbiType::tuple({AbiType::address(), AbiType::uint(256)}, {"to", "amount"});
    CHECK(to_json(named, pair) == nlohmann::json{{"to", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}, {"amount", "7"}});
    // Unnamed, partly named or ambiguously named components give an array.
    const auto expected_array = nlohmann::json::array({"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "7"});
    CHECK(to_json(AbiType::tuple({AbiType::address(), AbiType::uint(256)}), pair) == expected_array);
    CHECK(to_json(AbiType::tuple({AbiType::address(), AbiType::uint(256)}, {"to", ""}), pair) == expected_array);
    CHECK(to_json(AbiType::tuple({AbiType::address(), AbiType::uint(256)}, {"x", "x"}), pair) == expected_array);
    CHECK(to_json(type("uint8[2]"), AbiValue::list({AbiValue::uint(1), AbiValue::uint(2)})) ==
          nlohmann::json::array({"1", "2"}));
  }

  TEST_CASE("type factories refuse impossible types") {
    CHECK_THROWS_AS(AbiType::uint(7), std::invalid_argument);
    CHECK_THROWS_AS(AbiType::uint(264), std::invalid_argument);
    CHECK_THROWS_AS(AbiType::sint(0), std::invalid_argument);
    CHECK_THROWS_AS(AbiType::fixed_bytes(0), std::invalid_argument);
    CHECK_THROWS_AS(AbiType::fixed_bytes(33), std::invalid_argument);
    CHECK_THROWS_AS(AbiType::fixed_array(AbiType::boolean(), 0), std::invalid_argument);
    CHECK_THROWS_AS(AbiType::tuple({}), std::invalid_argument);
    CHECK_THROWS_AS(AbiType::tuple({AbiType::boolean()}, {"a", "b"}), std::invalid_argument);
    CHECK_THROWS_AS(AbiType::fixed_array(AbiType::uint(256), kMaxAbiStaticSize), std::length_error);
    CHECK(AbiType::fixed_array(AbiType::uint(256), kMaxAbiStaticSize / 32).head_size() == kMaxAbiStaticSize);
  }
}

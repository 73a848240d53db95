// EIP-712 rules, one per test case: what is accepted and encoded how, and every way a request is
// rejected, with the code and the JSON path of the problem.
#include <doctest/doctest.h>

#include <array>
#include <string>

#include <nlohmann/json.hpp>

#include "policy/codec/eip712.hpp"
#include "policy/codec/keccak.hpp"

using namespace txguard::codec;
using nlohmann::json;

namespace {

// The EIP-712 example request (assets/eip-712/Example.js).
json mail() {
  return json::parse(R"({
    "types": {
      "EIP712Domain": [
        {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
      "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
      "Mail": [{"name": "from", "type": "Person"}, {"name": "to", "type": "Person"}, {"name": "contents", "type": "string"}]
    },
    "primaryType": "Mail",
    "domain": {"name": "Ether Mail", "version": "1", "chainId": 1,
               "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
    "message": {
      "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
      "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
      "contents": "Hello, Bob!"
    }
  })");
}

constexpr const char* kMailDigest = "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2";

json field(const std::string& name, const std::string& type) { return json{{"name", name}, {"type", type}}; }

// A request whose primary type T has the single member `x` of `type`, with value `value`.
json one_field(const std::string& type, const json& value) {
  json types = json::object();
  types["EIP712Domain"] = json::array();
  types["T"] = json::array({field("x", type)});
  json message = json::object();
  message["x"] = value;
  return json{{"types", types}, {"primaryType", "T"}, {"domain", json::object()}, {"message", message}};
}

// The 32-byte word encodeData gives `value` as a member of `type`.
Decoded<Hash32> word_of(const std::string& type, const json& value) {
  const json request = one_field(type, value);
  auto types = Eip712Types::parse(request["types"]);
  REQUIRE(types.has_value());
  auto encoded = encode_data(*types, "T", request["message"], "$.message");
  if (!encoded) return std::unexpected(encoded.error());
  REQUIRE(encoded->size() == 64);
  Hash32 word{};
  std::copy(encoded->begin() + 32, encoded->end(), word.begin());
  return word;
}

Hash32 h32(std::string_view hex) { return from_hex_fixed<32>(hex).value(); }
Hash32 keccak_text(const std::string& s) { return keccak256(view(s)); }
Hash32 keccak_words(std::initializer_list<Hash32> words) {
  Bytes all;
  for (const Hash32& w : words) all.insert(all.end(), w.begin(), w.end());
  return keccak256(all);
}
Hash32 small_word(std::uint8_t v) {
  Hash32 w{};
  w[31] = v;
  return w;
}

void check_rejected(const json& request, DecodeErrc code, std::string_view where) {
  auto typed = parse_typed_data(request);
  REQUIRE_FALSE(typed.has_value());
  CAPTURE(typed.error().message());
  CHECK(to_string(typed.error().code) == to_string(code));
  CHECK(typed.error().where == where);
}

void check_value_rejected(const std::string& type, const json& value, DecodeErrc code) {
  CAPTURE(type);
  CAPTURE(value.dump());
  check_rejected(one_field(type, value), code, "$.message.x");
}

void check_type_rejected(const std::string& type, DecodeErrc code) {
  CAPTURE(type);
  check_rejected(one_field(type, 0), code, "$.types.T[0].type");
}

const std::string kUint256Max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
const std::string kInt256Min = "-57896044618658097711785492504343953926634992332820282019728792003956564819968";
const std::string kInt256Max = "57896044618658097711785492504343953926634992332820282019728792003956564819967";

}  // namespace

TEST_SUITE("eip712") {
  // ---- accepted, and encoded as the EIP says

  TEST_CASE("encodeType lists the primary type first, then its dependencies by name, through arrays") {
    json types = json::object();
    types["Zoo"] = json::array({field("b", "Bird[]"), field("a", "Ant[2]"), field("n", "uint256")});
    types["Bird"] = json::array({field("egg", "Egg"), field("peer", "Ant")});
    types["Egg"] = json::array({field("size", "uint8")});
    types["Ant"] = json::array({field("legs", "uint8")});
    types["Unused"] = json::array({field("x", "bool")});
    auto parsed = Eip712Types::parse(types);
    REQUIRE(parsed.has_value());
    CHECK(encode_type(*parsed, "Zoo").value() ==
          "Zoo(Bird[] b,Ant[2] a,uint256 n)Ant(uint8 legs)Bird(Egg egg,Ant peer)Egg(uint8 size)");
    CHECK(encode_type(*parsed, "Bird").value() == "Bird(Egg egg,Ant peer)Ant(uint8 legs)Egg(uint8 size)");
    CHECK(encode_type(*parsed, "Egg").value() == "Egg(uint8 size)");
    CHECK(type_hash(*parsed, "Zoo").value() == keccak_text(encode_type(*parsed, "Zoo").value()));
    CHECK(parsed->contains("Unused"));
    CHECK(parsed->names().size() == 5);
    REQUIRE(parsed->fields("Bird") != nullptr);
    CHECK(parsed->fields("Bird")->at(1) == Eip712Field{"peer", "Ant"});
  }

  TEST_CASE("a type that refers to itself through a dynamic array is accepted and hashed") {
    json types = json::object();
    types["Person"] = json::array({field("name", "string"), field("children", "Person[]")});
    auto parsed = Eip712Types::parse(types);
    REQUIRE(parsed.has_value());
    CHECK(encode_type(*parsed, "Person").value() == "Person(string name,Person[] children)");
    const json value = json::parse(R"({"name": "a", "children": [{"name": "b", "children": []}]})");
    const Hash32 th = keccak_text("Person(string name,Person[] children)");
    const Hash32 leaf = keccak_words({th, keccak_text("b"), keccak256(ByteView{})});
    const Hash32 root = keccak_words({th, keccak_text("a"), keccak_words({leaf})});
    CHECK(hash_struct(*parsed, "Person", value).value() == root);
  }

  TEST_CASE("integers at the edges of their width are accepted") {
    Hash32 ff{};
    ff.fill(0xff);
    CHECK(word_of("uint8", 0).value() == small_word(0));
    CHECK(word_of("uint8", 255).value() == small_word(255));
    CHECK(word_of("uint8", "255").value() == small_word(255));
    CHECK(word_of("uint8", "0xff").value() == small_word(255));
    CHECK(word_of("int8", 127).value() == small_word(127));
    Hash32 minus128 = ff;
    minus128[31] = 0x80;
    CHECK(word_of("int8", -128).value() == minus128);
    CHECK(word_of("int8", "-128").value() == minus128);
    CHECK(word_of("int8", -1).value() == ff);
    CHECK(word_of("uint256", kUint256Max).value() == ff);
    CHECK(word_of("uint256", "0x" + std::string(64, 'f')).value() == ff);
    CHECK(word_of("int256", kInt256Min).value() ==
          h32("0x8000000000000000000000000000000000000000000000000000000000000000"));
    CHECK(word_of("int256", kInt256Max).value() ==
          h32("0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"));
    CHECK(word_of("uint16", "0x00ff").value() == small_word(255));  // leading zeros do not change the value
  }

  TEST_CASE("JSON integers up to 2^53-1 in magnitude are accepted") {
    CHECK(word_of("uint64", 9007199254740991).value() == h32("0x000000000000000000000000000000000000000000000000001fffffffffffff"));
    CHECK(word_of("int64", -9007199254740991).value() == h32("0xffffffffffffffffffffffffffffffffffffffffffffffffffe0000000000001"));
  }

  TEST_CASE("bytesN takes exactly N bytes, left-aligned; bytes and string are hashed") {
    CHECK(word_of("bytes1", "0xab").value() == h32("0xab00000000000000000000000000000000000000000000000000000000000000"));
    CHECK(word_of("bytes32", "0x" + std::string(64, '1')).value() == h32("0x" + std::string(64, '1')));
    CHECK(word_of("bytes", "0x").value() == keccak256(ByteView{}));
    CHECK(word_of("bytes", "0xDEADbeef").value() == keccak256(from_hex("deadbeef").value()));
    CHECK(word_of("string", "").value() == keccak256(ByteView{}));
    CHECK(word_of("string", "h\xc3\xa9llo \xf0\x9f\x9a\x80").value() == keccak_text("h\xc3\xa9llo \xf0\x9f\x9a\x80"));
    CHECK(word_of("bool", true).value() == small_word(1));
    CHECK(word_of("bool", false).value() == small_word(0));
  }

  TEST_CASE("addresses are accepted in one case or with a valid EIP-55 checksum") {
    const Hash32 expected = h32("0x000000000000000000000000cd2a3d9f938e13cd947ec05abc7fe734df8dd826");
    CHECK(word_of("address", "0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826").value() == expected);
    CHECK(word_of("address", "0xCD2A3D9F938E13CD947EC05ABC7FE734DF8DD826").value() == expected);
    CHECK(word_of("address", "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826").value() == expected);
  }

  TEST_CASE("nested arrays hash each level, the last suffix being the outermost") {
    const json value = json::parse("[[1, 2], [3, 4], [5, 6]]");
    const Hash32 expected = keccak_words({keccak_words({small_word(1), small_word(2)}),
                                          keccak_words({small_word(3), small_word(4)}),
                                          keccak_words({small_word(5), small_word(6)})});
    CHECK(word_of("uint8[2][]", value).value() == expected);
    CHECK(word_of("uint8[2][3]", value).value() == expected);
    CHECK(word_of("uint8[][3]", value).value() == expected);
    CHECK(word_of("bool[]", json::array()).value() == keccak256(ByteView{}));
  }

  TEST_CASE("primaryType EIP712Domain signs the domain separator alone") {
    json request = mail();
    request["primaryType"] = "EIP712Domain";
    request["message"] = json::object();
    auto typed = parse_typed_data(request);
    REQUIRE(typed.has_value());
    CHECK_FALSE(typed->message_hash.has_value());
    const std::array<std::uint8_t, 2> prefix{0x19, 0x01};
    CHECK(typed->digest == keccak256({ByteView(prefix), ByteView(typed->domain_separator)}));
    CHECK(to_hex(typed->domain_separator) == "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f");
  }

  TEST_CASE("domain fields may be any subset in any order, including none") {
    json request = mail();
    request["types"]["EIP712Domain"] = json::array({field("verifyingContract", "address"), field("chainId", "uint256")});
    request["domain"] = json{{"chainId", "0x1"}, {"verifyingContract", "0xcccccccccccccccccccccccccccccccccccccccc"}};
    auto reordered = parse_typed_data(request);
    REQUIRE(reordered.has_value());
    CHECK(type_hash(reordered->types, "EIP712Domain").value() ==
          keccak_text("EIP712Domain(address verifyingContract,uint256 chainId)"));
    request["types"]["EIP712Domain"] = json::array();
    request["domain"] = json::object();
    auto empty = parse_typed_data(request);
    REQUIRE(empty.has_value());
    CHECK(empty->domain_separator == keccak_words({keccak_text("EIP712Domain()")}));
  }

  TEST_CASE("the text and the JSON value of a request give the same digest") {
    auto from_value = parse_typed_data(mail());
    auto from_text = parse_typed_data(std::string_view(mail().dump(2)));
    REQUIRE(from_value.has_value());
    REQUIRE(from_text.has_value());
    CHECK(to_hex(from_value->digest) == kMailDigest);
    CHECK(from_text->digest == from_value->digest);
    CHECK(from_text->domain == mail()["domain"]);
  }

  TEST_CASE("identifiers may use _ and $ and types that nothing uses are still allowed") {
    json request = mail();
    request["types"]["$Odd_Name"] = json::array({field("_x$", "bytes3[1]")});
    auto typed = parse_typed_data(request);
    REQUIRE(typed.has_value());
    CHECK(to_hex(typed->digest) == kMailDigest);
  }

  // ---- integers

  TEST_CASE("rejects integers just outside their width") {
    check_value_rejected("uint8", 256, DecodeErrc::kOverflow);
    check_value_rejected("uint8", "256", DecodeErrc::kOverflow);
    check_value_rejected("uint8", "0x100", DecodeErrc::kOverflow);
    check_value_rejected("uint8", -1, DecodeErrc::kOverflow);
    check_value_rejected("uint256", "-1", DecodeErrc::kOverflow);
    check_value_rejected("int8", -129, DecodeErrc::kOverflow);
    check_value_rejected("int8", "-129", DecodeErrc::kOverflow);
    check_value_rejected("int8", 128, DecodeErrc::kOverflow);
    check_value_rejected("int8", "0xff", DecodeErrc::kOverflow);
    check_value_rejected("int256", "-57896044618658097711785492504343953926634992332820282019728792003956564819969",
                         DecodeErrc::kOverflow);
    check_value_rejected("int256", "57896044618658097711785492504343953926634992332820282019728792003956564819968",
                         DecodeErrc::kOverflow);
    check_value_rejected("uint256", "115792089237316195423570985008687907853269984665640564039457584007913129639936",
                         DecodeErrc::kOverflow);
  }

  TEST_CASE("rejects JSON numbers that a JavaScript producer may have rounded") {
    check_value_rejected("uint256", 9007199254740992, DecodeErrc::kInvalidNumber);
    check_value_rejected("int256", -9007199254740992, DecodeErrc::kInvalidNumber);
    check_value_rejected("uint256", 1.5, DecodeErrc::kInvalidNumber);
    check_value_rejected("uint256", 1.0, DecodeErrc::kInvalidNumber);
    check_value_rejected("uint256", 18446744073709551615ULL, DecodeErrc::kInvalidNumber);
    check_rejected(json::parse(R"({"types": {"EIP712Domain": [], "T": [{"name": "x", "type": "uint256"}]},
                                   "primaryType": "T", "domain": {}, "message": {"x": 1e3}})"),
                   DecodeErrc::kInvalidNumber, "$.message.x");
  }

  TEST_CASE("rejects strings that are not canonical integers") {
    for (const char* text : {"", "abc", " 1", "1 ", "+1", "1.0", "1e3", "0x", "-0x1", "--1", "-", "0xg1", "١"}) {
      check_value_rejected("uint256", text, DecodeErrc::kInvalidNumber);
    }
    check_value_rejected("int256", "-0", DecodeErrc::kInvalidNumber);
  }

  TEST_CASE("rejects a JSON value of the wrong kind for an integer") {
    check_value_rejected("uint256", true, DecodeErrc::kInvalidJson);
    check_value_rejected("uint256", nullptr, DecodeErrc::kInvalidJson);
    check_value_rejected("uint256", json::array({1}), DecodeErrc::kInvalidJson);
    check_value_rejected("uint256", json::object(), DecodeErrc::kInvalidJson);
  }

  // ---- bytes, strings, addresses, bools

  TEST_CASE("rejects bytesN of any other length than N") {
    check_value_rejected("bytes32", "0x" + std::string(62, 'a'), DecodeErrc::kWrongLength);
    check_value_rejected("bytes32", "0x" + std::string(66, 'a'), DecodeErrc::kWrongLength);
    check_value_rejected("bytes1", "0x", DecodeErrc::kWrongLength);
    check_value_rejected("bytes4", "0x01", DecodeErrc::kWrongLength);
  }

  TEST_CASE("rejects hex without 0x, with odd length or with non-hex characters") {
    check_value_rejected("bytes", "deadbeef", DecodeErrc::kInvalidHex);
    check_value_rejected("bytes", "0Xdeadbeef", DecodeErrc::kInvalidHex);
    check_value_rejected("bytes", "0xabc", DecodeErrc::kOddLength);
    check_value_rejected("bytes", "0xzz", DecodeErrc::kInvalidHex);
    check_value_rejected("bytes", "hello", DecodeErrc::kInvalidHex);
    check_value_rejected("bytes2", "0x0g01", DecodeErrc::kInvalidHex);
    check_value_rejected("bytes", json::array({1, 2}), DecodeErrc::kInvalidJson);
    check_value_rejected("bytes32", 0, DecodeErrc::kInvalidJson);
  }

  TEST_CASE("rejects addresses with a bad checksum, a wrong length or no 0x") {
    check_value_rejected("address", "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD827", DecodeErrc::kBadChecksum);
    check_value_rejected("address", "0xCd2a3d9F938E13CD947Ec05AbC7FE734Df8DD826", DecodeErrc::kBadChecksum);
    check_value_rejected("address", "0xcd2a3d9f938e13cd947ec05abc7fe734df8dd8", DecodeErrc::kWrongLength);
    check_value_rejected("address", "0xcd2a3d9f938e13cd947ec05abc7fe734df8dd82600", DecodeErrc::kWrongLength);
    check_value_rejected("address", "cd2a3d9f938e13cd947ec05abc7fe734df8dd826", DecodeErrc::kInvalidHex);
    check_value_rejected("address", "vitalik.eth", DecodeErrc::kInvalidHex);
    check_value_rejected("address", 1, DecodeErrc::kInvalidJson);
  }

  TEST_CASE("rejects anything but true and false for bool, and non-strings for string") {
    check_value_rejected("bool", "true", DecodeErrc::kInvalidJson);
    check_value_rejected("bool", 1, DecodeErrc::kInvalidJson);
    check_value_rejected("bool", nullptr, DecodeErrc::kInvalidJson);
    check_value_rejected("string", 5, DecodeErrc::kInvalidJson);
    check_value_rejected("string", json::array(), DecodeErrc::kInvalidJson);
  }

  TEST_CASE("rejects a string that is not valid UTF-8") {
    check_value_rejected("string", std::string("\xff"), DecodeErrc::kInvalidField);
    check_value_rejected("string", std::string("\xc0\xaf"), DecodeErrc::kInvalidField);      // overlong "/"
    check_value_rejected("string", std::string("\xed\xa0\x80"), DecodeErrc::kInvalidField);  // a surrogate
    check_value_rejected("string", std::string("\xe2\x82"), DecodeErrc::kInvalidField);      // truncated
  }

  // ---- structs and arrays

  TEST_CASE("rejects a missing member with its path") {
    json request = mail();
    request["message"].erase("contents");
    check_rejected(request, DecodeErrc::kMissingField, "$.message.contents");
    request = mail();
    request["message"]["from"].erase("wallet");
    check_rejected(request, DecodeErrc::kMissingField, "$.message.from.wallet");
    request = mail();
    request["domain"].erase("chainId");
    check_rejected(request, DecodeErrc::kMissingField, "$.domain.chainId");
  }

  TEST_CASE("rejects a member that the type does not declare") {
    json request = mail();
    request["message"]["cc"] = "Eve";
    check_rejected(request, DecodeErrc::kInvalidField, "$.message.cc");
    request = mail();
    request["message"]["to"]["x y"] = 1;
    check_rejected(request, DecodeErrc::kInvalidField, "$.message.to[\"x y\"]");
    request = mail();
    request["domain"]["salt"] = "0x" + std::string(64, '0');
    check_rejected(request, DecodeErrc::kInvalidField, "$.domain.salt");
  }

  TEST_CASE("rejects a struct value that is not an object") {
    json request = mail();
    request["message"]["to"] = json::array({"Bob", "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"});
    check_rejected(request, DecodeErrc::kInvalidJson, "$.message.to");
    request = mail();
    request["message"] = "hello";
    check_rejected(request, DecodeErrc::kInvalidJson, "$.message");
    request = mail();
    request["domain"] = json::array();
    check_rejected(request, DecodeErrc::kInvalidJson, "$.domain");
  }

  TEST_CASE("rejects a fixed-size array of the wrong length, at any level") {
    check_value_rejected("uint8[2]", json::array({1}), DecodeErrc::kWrongLength);
    check_value_rejected("uint8[2]", json::array({1, 2, 3}), DecodeErrc::kWrongLength);
    check_value_rejected("uint8[]", 5, DecodeErrc::kInvalidJson);
    check_rejected(one_field("uint8[2][]", json::parse("[[1, 2], [3]]")), DecodeErrc::kWrongLength, "$.message.x[1]");
    check_rejected(one_field("uint8[][2]", json::parse("[[1, 2], [300]]")), DecodeErrc::kOverflow,
                   "$.message.x[1][0]");
  }

  TEST_CASE("reports errors inside arrays of structs with the element's path") {
    json request = mail();
    request["types"]["Mail"][1] = field("to", "Person[]");
    request["message"]["to"] = json::array({request["message"]["from"], {{"name", "Bob"}, {"wallet", "0x12"}}});
    check_rejected(request, DecodeErrc::kWrongLength, "$.message.to[1].wallet");
  }

  // ---- types

  TEST_CASE("rejects a reference to an undefined type") {
    json request = mail();
    request["types"]["Mail"][1] = field("to", "Persn");
    check_rejected(request, DecodeErrc::kUnknownType, "$.types.Mail[1].type");
    request["types"]["Mail"][1] = field("to", "Persn[2][]");
    check_rejected(request, DecodeErrc::kUnknownType, "$.types.Mail[1].type");
    request = mail();
    request["primaryType"] = "Letter";
    check_rejected(request, DecodeErrc::kUnknownType, "$.primaryType");
    request["primaryType"] = "uint256";
    check_rejected(request, DecodeErrc::kUnknownType, "$.primaryType");
  }

  TEST_CASE("rejects malformed and non-canonical type names") {
    for (const char* type : {"uint", "int", "uint7", "uint0", "uint264", "uint08", "int257", "bytes0", "bytes33", "bytes01",
                             "byte", "function", "fixed128x18", "ufixed", "", " uint256", "uint256 ", "Uint256x",
                             "uint256[", "uint256]", "uint256[0]", "uint256[01]", "uint256[-1]", "uint256[ 2]",
                             "uint256[]x", "uint256[4294967296]", "uint256[99999999999]", "tuple(uint256)", "a.b"}) {
      const DecodeErrc expected = std::string_view(type) == "Uint256x" ? DecodeErrc::kUnknownType
                                                                      : DecodeErrc::kInvalidAbiType;
      check_type_rejected(type, expected);
    }
    auto max_len = Eip712Types::parse(json{{"T", json::array({field("x", "uint8[4294967295]")})}});
    CHECK(max_len.has_value());
  }

  TEST_CASE("rejects struct names that are not identifiers or that shadow atomic types") {
    for (const char* name : {"uint256", "address", "bytes32", "string", "bool", "bytes", "uint", "bytes64", "int7",
                             "My Type", "", "1Type", "Mail(uint256 a)"}) {
      CAPTURE(name);
      json request = mail();
      request["types"][name] = json::array({field("a", "bool")});
      auto typed = parse_typed_data(request);
      REQUIRE_FALSE(typed.has_value());
      CHECK(typed.error().code == DecodeErrc::kInvalidAbiType);
      CHECK(typed.error().where.starts_with("$.types"));
    }
  }

  TEST_CASE("rejects duplicate and malformed field names") {
    json request = mail();
    request["types"]["Mail"].push_back(field("to", "string"));
    check_rejected(request, DecodeErrc::kInvalidAbiType, "$.types.Mail[3].name");
    request = mail();
    request["types"]["Mail"][2] = field("con tents", "string");
    check_rejected(request, DecodeErrc::kInvalidAbiType, "$.types.Mail[2].name");
    request["types"]["Mail"][2] = field("", "string");
    check_rejected(request, DecodeErrc::kInvalidAbiType, "$.types.Mail[2].name");
  }

  TEST_CASE("rejects field definitions of the wrong shape") {
    json request = mail();
    request["types"]["Mail"][2]["indexed"] = true;
    check_rejected(request, DecodeErrc::kInvalidField, "$.types.Mail[2].indexed");
    request = mail();
    request["types"]["Mail"][2].erase("type");
    check_rejected(request, DecodeErrc::kMissingField, "$.types.Mail[2].type");
    request = mail();
    request["types"]["Mail"][2].erase("name");
    check_rejected(request, DecodeErrc::kMissingField, "$.types.Mail[2].name");
    request = mail();
    request["types"]["Mail"][2]["type"] = 7;
    check_rejected(request, DecodeErrc::kInvalidJson, "$.types.Mail[2].type");
    request = mail();
    request["types"]["Mail"][2] = "string contents";
    check_rejected(request, DecodeErrc::kInvalidJson, "$.types.Mail[2]");
    request = mail();
    request["types"]["Mail"] = json::object();
    check_rejected(request, DecodeErrc::kInvalidJson, "$.types.Mail");
    request = mail();
    request["types"] = json::array();
    check_rejected(request, DecodeErrc::kInvalidJson, "$.types");
  }

  TEST_CASE("rejects recursive types that no finite value can satisfy") {
    const auto check_cycle = [](const json& types) {
      CAPTURE(types.dump());
      auto parsed = Eip712Types::parse(types);
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error().code == DecodeErrc::kInvalidAbiType);
      CHECK(parsed.error().where.ends_with("].type"));
    };
    check_cycle(json{{"A", json::array({field("a", "A")})}});
    check_cycle(json{{"A", json::array({field("a", "A[2]")})}});
    check_cycle(json{{"A", json::array({field("b", "B")})}, {"B", json::array({field("a", "A[1][3]")})}});
    check_cycle(json{{"A", json::array({field("x", "uint8"), field("b", "B")})},
                     {"B", json::array({field("c", "C")})},
                     {"C", json::array({field("a", "A")})}});
    // A dynamic array anywhere on the way lets the recursion end.
    CHECK(Eip712Types::parse(json{{"A", json::array({field("b", "B")})}, {"B", json::array({field("a", "A[2][]")})}})
              .has_value());
  }

  // ---- the envelope and the domain

  TEST_CASE("rejects a request missing one of its four members or carrying another") {
    for (const char* member : {"types", "primaryType", "domain", "message"}) {
      json request = mail();
      request.erase(member);
      check_rejected(request, DecodeErrc::kMissingField, std::string("$.") + member);
    }
    json request = mail();
    request["signature"] = "0x";
    check_rejected(request, DecodeErrc::kInvalidField, "$.signature");
    request = mail();
    request["primaryType"] = json::array({"Mail"});
    check_rejected(request, DecodeErrc::kInvalidJson, "$.primaryType");
    check_rejected(json::array(), DecodeErrc::kInvalidJson, "$");
  }

  TEST_CASE("rejects a request without EIP712Domain or with a non-standard domain type") {
    json request = mail();
    request["types"].erase("EIP712Domain");
    check_rejected(request, DecodeErrc::kMissingField, "$.types.EIP712Domain");
    request = mail();
    request["types"]["EIP712Domain"][2] = field("chainId", "uint64");
    check_rejected(request, DecodeErrc::kInvalidField, "$.types.EIP712Domain[2].type");
    request = mail();
    request["types"]["EIP712Domain"].push_back(field("owner", "address"));
    check_rejected(request, DecodeErrc::kInvalidField, "$.types.EIP712Domain[4].name");
    request = mail();
    request["types"]["EIP712Domain"][3] = field("verifyingContract", "string");
    check_rejected(request, DecodeErrc::kInvalidField, "$.types.EIP712Domain[3].type");
  }

  TEST_CASE("rejects domain values that do not match the domain type") {
    json request = mail();
    request["domain"]["chainId"] = "one";
    check_rejected(request, DecodeErrc::kInvalidNumber, "$.domain.chainId");
    request = mail();
    request["domain"]["chainId"] = -1;
    check_rejected(request, DecodeErrc::kOverflow, "$.domain.chainId");
    request = mail();
    request["domain"]["verifyingContract"] = "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccc";
    check_rejected(request, DecodeErrc::kBadChecksum, "$.domain.verifyingContract");
    request = mail();
    request["domain"]["name"] = 1;
    check_rejected(request, DecodeErrc::kInvalidJson, "$.domain.name");
  }

  TEST_CASE("rejects a non-empty message when primaryType is EIP712Domain") {
    json request = mail();
    request["primaryType"] = "EIP712Domain";
    check_rejected(request, DecodeErrc::kInvalidField, "$.message");
    request["message"] = json::array();
    check_rejected(request, DecodeErrc::kInvalidField, "$.message");
  }

  TEST_CASE("encode_type, type_hash and hash_struct reject an undefined type name") {
    auto typed = parse_typed_data(mail());
    REQUIRE(typed.has_value());
    CHECK(encode_type(typed->types, "Letter").error().code == DecodeErrc::kUnknownType);
    CHECK(type_hash(typed->types, "Person[]").error().code == DecodeErrc::kUnknownType);
    CHECK(hash_struct(typed->types, "string", json("x")).error().code == DecodeErrc::kUnknownType);
    CHECK(encode_data(typed->types, "", json::object()).error().code == DecodeErrc::kUnknownType);
  }

  // ---- bounds

  TEST_CASE("rejects values nested deeper than kEip712MaxDepth") {
    json types = json::object();
    types["Node"] = json::array({field("kids", "Node[]")});
    auto parsed = Eip712Types::parse(types);
    REQUIRE(parsed.has_value());
    // Each level is a struct and an array: two levels of depth.
    const auto nest = [](std::size_t levels) {
      json value = json{{"kids", json::array()}};
      for (std::size_t i = 0; i < levels; ++i) value = json{{"kids", json::array({value})}};
      return value;
    };
    CHECK(hash_struct(*parsed, "Node", nest(kEip712MaxDepth / 2 - 1)).has_value());
    auto deep = hash_struct(*parsed, "Node", nest(kEip712MaxDepth / 2 + 1));
    REQUIRE_FALSE(deep.has_value());
    CHECK(deep.error().code == DecodeErrc::kTooDeep);
  }

  TEST_CASE("rejects types with more array dimensions than kEip712MaxDepth") {
    std::string type = "uint8";
    for (std::size_t i = 0; i < kEip712MaxDepth; ++i) type += "[]";
    CHECK(Eip712Types::parse(json{{"T", json::array({field("x", type)})}}).has_value());
    check_type_rejected(type + "[]", DecodeErrc::kTooDeep);
  }

  TEST_CASE("rejects type sets whose encodeType strings exceed the work bound") {
    // A chain T0 -> T1 -> ... -> Tn-1: encodeType of Ti lists all later types, O(n^2) bytes in total.
    const auto chain = [](std::size_t n) {
      json types = json::object();
      for (std::size_t i = 0; i < n; ++i) {
        const std::string next = i + 1 < n ? "T" + std::to_string(i + 1) : "uint8";
        types["T" + std::to_string(i)] = json::array({field("a", next)});
      }
      return types;
    };
    CHECK(Eip712Types::parse(chain(100)).has_value());
    auto big = Eip712Types::parse(chain(1000));
    REQUIRE_FALSE(big.has_value());
    CHECK(big.error().code == DecodeErrc::kTooDeep);
    CHECK(big.error().where == "$.types");
  }

  TEST_CASE("rejects messages with more than kEip712MaxValueNodes values") {
    auto parsed = Eip712Types::parse(json{{"T", json::array({field("x", "bool[]")})}});
    REQUIRE(parsed.has_value());
    json ok_value = json{{"x", json::array()}};
    ok_value["x"].get_ref<json::array_t&>().assign(1000, true);
    CHECK(hash_struct(*parsed, "T", ok_value).has_value());
    json value = json{{"x", json::array()}};
    value["x"].get_ref<json::array_t&>().assign(kEip712MaxValueNodes, true);
    auto result = hash_struct(*parsed, "T", value);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == DecodeErrc::kTooDeep);
  }

  // ---- JSON text

  TEST_CASE("rejects duplicate keys in the JSON text, with the key's path") {
    const std::string text = mail().dump();
    std::string dup = text;
    dup.replace(dup.find("\"contents\":"), 0, "\"contents\":\"Pay Eve\",");
    auto typed = parse_typed_data(std::string_view(dup));
    REQUIRE_FALSE(typed.has_value());
    CHECK(typed.error().code == DecodeErrc::kInvalidJson);
    CHECK(typed.error().where == "$.message.contents");
    std::string dup_type = text;
    dup_type.replace(dup_type.find("\"Person\":"), 0, "\"Person\":[],");
    typed = parse_typed_data(std::string_view(dup_type));
    REQUIRE_FALSE(typed.has_value());
    CHECK(typed.error().where == "$.types.Person");
  }

  TEST_CASE("rejects malformed JSON text with the byte offset") {
    for (std::string_view text : {"", "{", "{\"types\": }", "{} x", "{\"a\":1,}", "nul", "{\"a\":\"\xff\"}"}) {
      CAPTURE(text);
      auto typed = parse_typed_data(text);
      REQUIRE_FALSE(typed.has_value());
      CHECK(typed.error().code == DecodeErrc::kInvalidJson);
      CHECK(typed.error().where.empty());
    }
    CHECK(parse_typed_data(std::string_view("{\"types\": }")).error().offset == 11);
  }

  TEST_CASE("rejects JSON text nested deeper than kEip712MaxJsonDepth before building it") {
    std::string deep = "{\"message\":";
    for (std::size_t i = 0; i < kEip712MaxJsonDepth; ++i) deep += '[';
    auto typed = parse_typed_data(std::string_view(deep));
    REQUIRE_FALSE(typed.has_value());
    CHECK(typed.error().code == DecodeErrc::kTooDeep);
    CHECK(typed.error().where.starts_with("$.message[0][0]"));
  }
}

#include <doctest/doctest.h>

#include "tests/support/fixtures.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/abi.hpp"
#include "policy/codec/abi_registry.hpp"
#include "policy/codec/keccak.hpp"

using namespace txguard::codec;

namespace {

using txguard::test::load_fixture;

Bytes hex(std::string_view text) { return from_hex(text).value(); }
std::string word(std::string_view digits) { return std::string(64 - digits.size(), '0') + std::string(digits); }
std::string selector_hex(const Selector& s) { return to_hex(ByteView(s.data(), s.size())); }
Selector selector(std::string_view hex_text) { return from_hex_fixed<4>(hex_text).value(); }

const AbiFunction& builtin_function(std::string_view signature, std::string_view tag) {
  for (const AbiFunction* f : FunctionRegistry::builtin().functions()) {
    if (f->signature == signature && f->interface_tag == tag) return *f;
  }
  FAIL("no built-in " << signature << " tagged " << tag);
  throw std::logic_error("unreachable");
}

std::vector<std::string> tags_of(const std::vector<const AbiFunction*>& fs) {
  std::vector<std::string> out;
  for (const auto* f : fs) out.push_back(f->interface_tag);
  return out;
}

const Address kAlice = parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").value();
const Address kBob = parse_address("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359").value();

}  // namespace

TEST_SUITE("abi_registry") {
  // ---------------------------------------------------------------------------------------------
  // The built-in set.

  TEST_CASE("every built-in selector is keccak256 of its canonical signature") {
    const auto all = FunctionRegistry::builtin().functions();
    REQUIRE(all.size() == 47);
    for (const AbiFunction* f : all) {
      CAPTURE(f->signature);
      const Hash32 h = keccak256(view(f->signature));
      CHECK(f->selector == Selector{h[0], h[1], h[2], h[3]});
      auto parsed = parse_abi_signature(f->signature);
      REQUIRE(parsed.has_value());
      CHECK(parsed->name == f->name);
      CHECK(canonical_signature(f->name, f->input_types) == f->signature);
      CHECK(f->input_names.size() == f->input_types.size());
      CHECK(std::none_of(f->input_names.begin(), f->input_names.end(), [](const std::string& n) { return n.empty(); }));
    }
  }

  TEST_CASE("built-in selectors match the published values") {
    const auto fixture = load_fixture("abi/builtin-selectors.json");
    std::size_t checked = 0;
    for (const auto& [tag, entries] : fixture["interfaces"].items()) {
      for (const auto& e : entries) {
        const std::string signature = e["signature"];
        CAPTURE(signature);
        const AbiFunction& f = builtin_function(signature, tag);
        CHECK(selector_hex(f.selector) == e["selector"].get<std::string>());
        ++checked;
      }
    }
    CHECK(checked == 29);
  }

  TEST_CASE("every state-changing Safe singleton function in safe-facts.json is built in with its selector") {
    const auto facts = load_fixture("safe/safe-facts.json");
    std::set<std::string> seen;
    for (const auto& [contract, entry] : facts["selectors"].items()) {
      const bool singleton = contract.ends_with(" GnosisSafe") || contract.ends_with(" GnosisSafeL2") || contract.ends_with(" Safe");
      if (!singleton) continue;
      for (const auto& f : entry["functions"]) {
        // Views change nothing; isValidSignature (1.1.1, category "other") is an EIP-1271 check.
        if (f["stateMutability"] == "view" || f["category"] == "other") continue;
        const std::string signature = f["signature"];
        CAPTURE(contract);
        CAPTURE(signature);
        CHECK(selector_hex(builtin_function(signature, "safe").selector) == f["selector"].get<std::string>());
        seen.insert(signature);
      }
    }
    CHECK(seen.size() == 18);
    const auto& multisend = facts["multisend"]["function"];
    CHECK(selector_hex(builtin_function(multisend["signature"].get<std::string>(), "multisend").selector) ==
          multisend["selector"].get<std::string>());
  }

  TEST_CASE("a selector shared across interfaces keeps every candidate") {
    const auto& reg = FunctionRegistry::builtin();
    CHECK(tags_of(reg.lookup(selector("0x23b872dd"))) == std::vector<std::string>{"erc20", "erc721"});
    CHECK(tags_of(reg.lookup(selector("0x095ea7b3"))) == std::vector<std::string>{"erc20", "erc721"});
    CHECK(tags_of(reg.lookup(selector("0xa22cb465"))) == std::vector<std::string>{"erc721", "erc1155"});
    CHECK(tags_of(reg.lookup(selector("0xa9059cbb"))) == std::vector<std::string>{"erc20"});
    CHECK(reg.lookup(selector("0x00000000")).empty());
  }

  // ---------------------------------------------------------------------------------------------
  // decode_call.

  TEST_CASE("decode_call reports every candidate that decodes and never picks one") {
    const auto& erc20 = builtin_function("transferFrom(address,address,uint256)", "erc20");
    const Bytes calldata = encode_call(erc20, std::vector<AbiValue>{AbiValue::address(kAlice), AbiValue::address(kBob),
                                                                     AbiValue::uint(1000)});
    CHECK(selector_hex(Selector{calldata[0], calldata[1], calldata[2], calldata[3]}) == "0x23b872dd");
    auto call = decode_call(FunctionRegistry::builtin(), calldata);
    REQUIRE(call.has_value());
    CHECK(call->kind == DecodedCall::Kind::kCall);
    REQUIRE(call->matches.size() == 2);
    CHECK(call->unique_match() == nullptr);
    CHECK(call->matches[0].function->interface_tag == "erc20");
    CHECK(call->matches[1].function->interface_tag == "erc721");
    CHECK(args_to_json(*call->matches[0].function, call->matches[0].args) ==
          nlohmann::json{{"from", to_checksum(kAlice)}, {"to", to_checksum(kBob)}, {"value", "1000"}});
    CHECK(args_to_json(*call->matches[1].function, call->matches[1].args) ==
          nlohmann::json{{"from", to_checksum(kAlice)}, {"to", to_checksum(kBob)}, {"tokenId", "1000"}});
    CHECK(call->rejected.empty());
  }

  TEST_CASE("a selector with one candidate gives a unique match") {
    const auto& transfer = builtin_function("transfer(address,uint256)", "erc20");
    const Bytes calldata = encode_call(transfer, std::vector<AbiValue>{AbiValue::address(kBob), AbiValue::uint(5)});
    CHECK(to_hex(calldata) == "0xa9059cbb" + word(to_hex_bare(kBob.view())) + word("5"));
    auto call = decode_call(FunctionRegistry::builtin(), calldata);
    REQUIRE(call.has_value());
    REQUIRE(call->unique_match() != nullptr);
    CHECK(call->unique_match()->function == &transfer);
    CHECK(call->unique_match()->consumed == calldata.size());
    CHECK(call->unique_match()->trailing.empty());
  }

  TEST_CASE("empty calldata is a plain value transfer, not a call") {
    auto call = decode_call(FunctionRegistry::builtin(), ByteView{});
    REQUIRE(call.has_value());
    CHECK(call->kind == DecodedCall::Kind::kValueTransfer);
    CHECK(call->matches.empty());
    CHECK(call->unique_match() == nullptr);
  }

  TEST_CASE("calldata of 1 to 3 bytes has no selector and is an error") {
    for (const char* data : {"0xa9", "0xa905", "0xa9059c"}) {
      CAPTURE(data);
      auto call = decode_call(FunctionRegistry::builtin(), hex(data));
      REQUIRE_FALSE(call.has_value());
      CHECK(call.error().code == DecodeErrc::kInputTooShort);
    }
    CHECK(decode_call(FunctionRegistry::builtin(), hex("0xd0e30db0")).has_value());  // deposit(): 4 bytes exactly
  }

  TEST_CASE("an unknown selector is reported unknown and nothing is decoded") {
    for (const char* data : {"0x12345678", "0x00000000" , "0xa9059cbc0000"}) {
      CAPTURE(data);
      auto call = decode_call(FunctionRegistry::builtin(), hex(data));
      REQUIRE(call.has_value());
      CHECK(call->kind == DecodedCall::Kind::kUnknownSelector);
      CHECK(call->matches.empty());
      CHECK(call->rejected.empty());
    }
    auto call = decode_call(FunctionRegistry::builtin(), hex("0x12345678"));
    CHECK(selector_hex(call->selector) == "0x12345678");
  }

  TEST_CASE("a known selector whose arguments do not decode is an error at the calldata offset") {
    const std::string to = word(to_hex_bare(kBob.view()));
    struct Case {
      std::string data;
      DecodeErrc code;
      std::size_t offset;
    };
    const Case cases[] = {
        {"0xa9059cbb" + to, DecodeErrc::kInputTooShort, 36},                        // amount missing
        {"0xa9059cbb" + to + word("5").substr(0, 62), DecodeErrc::kInputTooShort, 36},
        {"0xa9059cbb" + ("01" + to.substr(2)) + word("5"), DecodeErrc::kDirtyPadding, 4},
        {"0xa22cb465" + to + word("2"), DecodeErrc::kInvalidBool, 67},               // setApprovalForAll(_, 2)
        {"0x8d80ff0a" + word("40") + word("0") + word("0"), DecodeErrc::kNonCanonicalOffset, 4},  // multiSend, gap
        {"0x8d80ff0a" + word("40") + word("0"), DecodeErrc::kOffsetOutOfRange, 4},
        {"0x8d80ff0a" + word("20") + word("ffffffff"), DecodeErrc::kInputTooShort, 36},
    };
    for (const auto& c : cases) {
      CAPTURE(c.data);
      auto call = decode_call(FunctionRegistry::builtin(), hex(c.data));
      REQUIRE_FALSE(call.has_value());
      CHECK(call.error().code == c.code);
      CHECK(call.error().offset == c.offset);
    }
  }

  TEST_CASE("bytes after the arguments are reported as trailing for each match") {
    const auto& transfer = builtin_function("transfer(address,uint256)", "erc20");
    Bytes calldata = encode_call(transfer, std::vector<AbiValue>{AbiValue::address(kBob), AbiValue::uint(5)});
    const std::size_t exact = calldata.size();
    for (const std::uint8_t b : std::vector<std::uint8_t>{0xde, 0xad, 0xbe, 0xef}) calldata.push_back(b);
    auto call = decode_call(FunctionRegistry::builtin(), calldata);
    REQUIRE(call.has_value());
    REQUIRE(call->unique_match() != nullptr);
    CHECK(call->unique_match()->consumed == exact);
    CHECK(to_hex(call->unique_match()->trailing) == "0xdeadbeef");
  }

  TEST_CASE("candidates that share a selector but do not decode are listed as rejected") {
    // burn(uint256) and collate_propagate_storage(bytes16) share 0x42966c68 (the proxy selector
    // clash example): a uint256 with non-zero low bytes is not a valid bytes16.
    FunctionRegistry reg;
    REQUIRE(reg.add_signature("burn(uint256)", "operator", {"amount"}).has_value());
    REQUIRE(reg.add_signature("collate_propagate_storage(bytes16)", "operator").has_value());
    REQUIRE(reg.lookup(selector("0x42966c68")).size() == 2);
    auto call = decode_call(reg, hex("0x42966c68" + word("64")));
    REQUIRE(call.has_value());
    REQUIRE(call->unique_match() != nullptr);
    CHECK(call->unique_match()->function->signature == "burn(uint256)");
    REQUIRE(call->rejected.size() == 1);
    CHECK(call->rejected[0].function->signature == "collate_propagate_storage(bytes16)");
    CHECK(call->rejected[0].error.code == DecodeErrc::kDirtyPadding);
    CHECK(call->rejected[0].error.offset == 4 + 31);
    // A word that is valid as both decodes as both.
    auto both = decode_call(reg, hex("0x42966c68" + std::string(32, 'a') + std::string(32, '0')));
    REQUIRE(both.has_value());
    CHECK(both->matches.size() == 2);
  }

  TEST_CASE("Safe execTransaction wrapping a MultiSend decodes level by level") {
    const auto& multisend = builtin_function("multiSend(bytes)", "multisend");
    const auto& exec = builtin_function(
        "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)", "safe");
    const Bytes packed = hex("00" + to_hex_bare(kBob.view()) + word("0") + word("0"));
    const Bytes inner = encode_call(multisend, std::vector<AbiValue>{AbiValue::bytes(packed)});
    const Bytes signatures(65, 0x11);
    const Bytes outer = encode_call(
        exec, std::vector<AbiValue>{AbiValue::address(kAlice), AbiValue::uint(0), AbiValue::bytes(inner), AbiValue::uint(1),
                                    AbiValue::uint(0), AbiValue::uint(0), AbiValue::uint(0), AbiValue::address(Address{}),
                                    AbiValue::address(Address{}), AbiValue::bytes(signatures)});
    auto call = decode_call(FunctionRegistry::builtin(), outer);
    REQUIRE(call.has_value());
    REQUIRE(call->unique_match() != nullptr);
    const auto& args = call->unique_match()->args;
    CHECK(args[3] == AbiValue::uint(1));  // operation: DELEGATECALL
    const Bytes* data = args[2].get_if<Bytes>();
    REQUIRE(data != nullptr);
    auto nested = decode_call(FunctionRegistry::builtin(), *data);
    REQUIRE(nested.has_value());
    REQUIRE(nested->unique_match() != nullptr);
    CHECK(nested->unique_match()->function == &multisend);
    CHECK(*nested->unique_match()->args[0].get_if<Bytes>() == packed);
    const auto json = args_to_json(exec, args);
    CHECK(json["operation"] == "1");
    CHECK(json["signatures"] == to_hex(signatures));
  }

  TEST_CASE("Permit2 permit decodes to named nested structs") {
    const auto& permit = builtin_function("permit(address,((address,uint160,uint48,uint48),address,uint256),bytes)", "permit2");
    const AbiValue details = AbiValue::list({AbiValue::address(kBob), AbiValue::uint((U256(1) << 160) - 1),
                                             AbiValue::uint(1700000000), AbiValue::uint(3)});
    const AbiValue single = AbiValue::list({details, AbiValue::address(kAlice), AbiValue::uint(1700003600)});
    const Bytes calldata =
        encode_call(permit, std::vector<AbiValue>{AbiValue::address(kAlice), single, AbiValue::bytes(Bytes(65, 0x22))});
    auto call = decode_call(FunctionRegistry::builtin(), calldata);
    REQUIRE(call.has_value());
    REQUIRE(call->unique_match() != nullptr);
    const auto json = args_to_json(permit, call->unique_match()->args);
    CHECK(json["permitSingle"]["spender"] == to_checksum(kAlice));
    CHECK(json["permitSingle"]["details"]["token"] == to_checksum(kBob));
    CHECK(json["permitSingle"]["details"]["amount"] == "1461501637330902918203684832716283019655932542975");
    CHECK(json["permitSingle"]["details"]["nonce"] == "3");
    CHECK(json["permitSingle"]["sigDeadline"] == "1700003600");
  }

  // ---------------------------------------------------------------------------------------------
  // Operator ABIs.

  TEST_CASE("add_abi_json adds functions and skips events, errors, constructor, fallback and receive") {
    FunctionRegistry reg;
    auto added = reg.add_abi_json(load_fixture("abi/operator-treasury.json"), "operator");
    REQUIRE_MESSAGE(added.has_value(), added.error().message());
    CHECK(*added == 5);
    std::vector<std::string> signatures;
    for (const auto* f : reg.functions()) {
      signatures.push_back(f->signature);
      CHECK(f->interface_tag == "operator");
    }
    CHECK(signatures == std::vector<std::string>{"withdraw(address,address,uint256)",
                                                 "withdraw((address,address,uint256,string)[],uint64)",
                                                 "setLimits(uint128[3],int256,bytes32)", "pause()", "limits()"});
    // Adding the same ABI again under the same tag adds nothing; under another tag it adds all.
    CHECK(reg.add_abi_json(load_fixture("abi/operator-treasury.json"), "operator").value() == 0);
    CHECK(reg.add_abi_json(load_fixture("abi/operator-treasury.json"), "other").value() == 5);
    CHECK(reg.size() == 10);
  }

  TEST_CASE("calls to an operator ABI decode with its component names") {
    FunctionRegistry reg;
    REQUIRE(reg.add_abi_json(load_fixture("abi/operator-treasury.json"), "operator").has_value());
    const AbiFunction* withdraw = reg.functions()[1];
    REQUIRE(withdraw->input_names == std::vector<std::string>{"orders", "deadline"});
    const AbiValue order = AbiValue::list({AbiValue::address(kBob), AbiValue::address(kAlice), AbiValue::uint(42),
                                           AbiValue::string("payroll \xe2\x82\xac")});
    const Bytes calldata =
        encode_call(*withdraw, std::vector<AbiValue>{AbiValue::list({order, order}), AbiValue::uint(1700000000)});
    auto call = decode_call(reg, calldata);
    REQUIRE(call.has_value());
    REQUIRE(call->unique_match() != nullptr);
    const auto json = args_to_json(*withdraw, call->unique_match()->args);
    REQUIRE(json["orders"].size() == 2);
    CHECK(json["orders"][1]["memo"] == "payroll \xe2\x82\xac");
    CHECK(json["orders"][0]["amount"] == "42");
    CHECK(json["deadline"] == "1700000000");
    // setLimits has an unnamed input: its arguments render as an array.
    const AbiFunction* set_limits = reg.functions()[2];
    const Bytes limits_call = encode_call(
        *set_limits, std::vector<AbiValue>{AbiValue::list({AbiValue::uint(1), AbiValue::uint(2), AbiValue::uint(3)}),
                                           AbiValue::sint(AbiSigned::from_int64(-7)), AbiValue::bytes(Bytes(32, 0))});
    auto limits = decode_call(reg, limits_call);
    REQUIRE(limits.has_value());
    CHECK(args_to_json(*set_limits, limits->unique_match()->args) ==
          nlohmann::json::array({nlohmann::json::array({"1", "2", "3"}), "-7", to_hex(Bytes(32, 0))}));
  }

  TEST_CASE("add_abi_json errors name the JSON path and add nothing") {
    struct Case {
      const char* abi;
      DecodeErrc code;
      const char* where;
    };
    const Case cases[] = {
        {R"j({"type":"function"})j", DecodeErrc::kInvalidJson, "$"},
        {R"j([{"type":"function","name":"ok","inputs":[]}, 7])j", DecodeErrc::kInvalidJson, "$[1]"},
        {R"j([{"type":3,"name":"f","inputs":[]}])j", DecodeErrc::kInvalidJson, "$[0].type"},
        {R"j([{"type":"method","name":"f","inputs":[]}])j", DecodeErrc::kInvalidJson, "$[0].type"},
        {R"j([{"type":"function","inputs":[]}])j", DecodeErrc::kInvalidJson, "$[0].name"},
        {R"j([{"type":"function","name":"","inputs":[]}])j", DecodeErrc::kInvalidJson, "$[0].name"},
        {R"j([{"type":"function","name":"f(x)","inputs":[]}])j", DecodeErrc::kInvalidJson, "$[0].name"},
        {R"j([{"type":"function","name":"f"}])j", DecodeErrc::kInvalidJson, "$[0].inputs"},
        {R"j([{"type":"function","name":"f","inputs":{}}])j", DecodeErrc::kInvalidJson, "$[0].inputs"},
        {R"j([{"type":"event","name":"E","inputs":[]},{"type":"function","name":"f","inputs":[{"type":"address"},{"type":"uint9"}]}])j",
         DecodeErrc::kInvalidAbiType, "$[1].inputs[1].type"},
        {R"j([{"type":"function","name":"f","inputs":[{"type":"address","name":1}]}])j", DecodeErrc::kInvalidJson,
         "$[0].inputs[0].name"},
        {R"j([{"type":"function","name":"f","inputs":[{"type":"tuple[]"}]}])j", DecodeErrc::kInvalidJson,
         "$[0].inputs[0].components"},
        {R"j([{"type":"function","name":"f","inputs":[{"type":"tuple","components":[{"type":"bool"},{"type":"fixed"}]}]}])j",
         DecodeErrc::kInvalidAbiType, "$[0].inputs[0].components[1].type"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.abi);
      FunctionRegistry reg;
      auto r = reg.add_abi_json(nlohmann::json::parse(c.abi), "operator");
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().code == c.code);
      CHECK(r.error().where == c.where);
      CHECK(reg.size() == 0);
    }
    FunctionRegistry reg;
    CHECK(reg.add_abi_json(nlohmann::json::array(), "").error().code == DecodeErrc::kInvalidField);
    CHECK(reg.add_signature("f(uint256)", "").error().code == DecodeErrc::kInvalidField);
    CHECK(reg.add_signature("f(uint256)", "operator", {"a", "b"}).error().code == DecodeErrc::kInvalidField);
    CHECK(reg.add_signature("f(uint)", "operator").error().code == DecodeErrc::kInvalidAbiType);
    CHECK(reg.size() == 0);
  }

  TEST_CASE("extending a copy of the built-in registry leaves the original untouched") {
    FunctionRegistry reg = FunctionRegistry::builtin();
    const std::size_t before = FunctionRegistry::builtin().size();
    REQUIRE(reg.add_signature("transfer(address,uint256)", "operator").has_value());
    CHECK(reg.size() == before + 1);
    CHECK(FunctionRegistry::builtin().size() == before);
    CHECK(tags_of(reg.lookup(selector("0xa9059cbb"))) == std::vector<std::string>{"erc20", "operator"});
    // Adding the same signature under the same tag returns the existing entry.
    auto again = reg.add_signature("transfer(address,uint256)", "operator");
    REQUIRE(again.has_value());
    CHECK(reg.size() == before + 1);
    CHECK(*again == reg.lookup(selector("0xa9059cbb"))[1]);
  }

  // ---------------------------------------------------------------------------------------------
  // Real encoder output.

  TEST_CASE("real mainnet calldata decodes under the strict canonical rules and re-encodes exactly") {
    FunctionRegistry reg = FunctionRegistry::builtin();
    const auto signatures = load_fixture("abi/mainnet-signatures.json");
    for (const auto& f : signatures["functions"]) {
      const std::string signature = f["signature"];
      CAPTURE(signature);
      CHECK(selector_hex(selector_of(signature)) == f["selector"].get<std::string>());
      REQUIRE(reg.add_signature(signature, "mainnet").has_value());
    }
    // Dapps append tags after the arguments (OpenSea's 0x360c6ebe, 1inch's and 0x's affiliate data,
    // MetaMask's and SeaDrop's suffixes): Solidity ignores them, decode_call reports them.
    const auto calls = load_fixture("abi/mainnet-calldata.json");
    std::size_t decoded = 0, unknown = 0, with_trailing = 0, opensea_tags = 0;
    for (const auto& c : calls["calls"]) {
      const std::string hash = c["hash"];
      CAPTURE(hash);
      const Bytes calldata = hex(c["calldata"].get<std::string>());
      auto call = decode_call(reg, calldata);
      REQUIRE_MESSAGE(call.has_value(), call.error().message());
      if (call->kind == DecodedCall::Kind::kUnknownSelector) {
        ++unknown;
        continue;
      }
      REQUIRE(!call->matches.empty());
      for (const auto& m : call->matches) {
        CHECK(m.consumed + m.trailing.size() == calldata.size());
        const Bytes covered(calldata.begin(), calldata.begin() + static_cast<std::ptrdiff_t>(m.consumed));
        CHECK(encode_call(*m.function, m.args) == covered);
        CHECK_NOTHROW((void)args_to_json(*m.function, m.args).dump());
      }
      if (!call->matches[0].trailing.empty()) ++with_trailing;
      if (to_hex(call->matches[0].trailing).ends_with("360c6ebe")) ++opensea_tags;
      ++decoded;
    }
    CHECK(decoded == 54);
    CHECK(with_trailing == 9);
    CHECK(opensea_tags == 3);
    CHECK(unknown == 24);
  }
}

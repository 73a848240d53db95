#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <map>

#include <nlohmann/json.hpp>

#include "policy/codec/bytes.hpp"
#include "policy/document.hpp"
#include "policy/prices.hpp"
#include "policy/units.hpp"
#include "tests/support/paths.hpp"

using namespace txguard::policy;
using nlohmann::json;

namespace {

const std::string kMinimal = R"({
  // a comment
  "txguard_policy": 1,
  "name": "minimal",
  /* block comment */
  "wallets": {"hot": {"chain": 1, "address": "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4", "kind": "safe",
                      "safe_version": "1.4.1"}},
  "rules": [{"id": "nothing", "effect": "deny"}]
})";

FileReader files(std::map<std::string, std::string> contents) {
  return [contents = std::move(contents)](const std::string& path) -> std::expected<std::string, std::string> {
    auto it = contents.find(path);
    if (it == contents.end()) return std::unexpected(std::string("No such file or directory"));
    return it->second;
  };
}

const FileReader kNoFiles = files({});

json minimal() { return json::parse(kMinimal, nullptr, true, true); }

/// The problems of a document that must not load.
std::vector<PolicyProblem> problems(const json& doc, const FileReader& read = kNoFiles) {
  auto p = load_policy(doc.dump(), read);
  REQUIRE_FALSE_MESSAGE(p.has_value(), "loaded: " << doc.dump());
  REQUIRE_FALSE(p.error().empty());
  return p.error();
}

/// True when some problem is at `path` and mentions `words`.
bool reports(const std::vector<PolicyProblem>& ps, std::string_view path, std::string_view words) {
  for (const auto& p : ps) {
    if (p.path == path && p.message().find(words) != std::string::npos) return true;
  }
  std::string all;
  for (const auto& p : ps) all += "  " + p.message() + "\n";
  MESSAGE("problems were:\n" << all);
  return false;
}

std::string read_source(const std::string& relative) {
  std::ifstream in(txguard::test::source_dir() + "/" + relative, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing " << relative);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_SUITE("policy document") {
  TEST_CASE("a minimal policy with comments loads and its hash ignores comments, white space and key order") {
    auto a = load_policy(kMinimal, kNoFiles);
    REQUIRE(a.has_value());
    CHECK(a->name == "minimal");
    REQUIRE(a->wallets.size() == 1);
    CHECK(a->wallets[0].safe_version == txguard::codec::SafeVersion::k1_4_1);
    const std::string reordered = R"({"rules": [{"effect": "deny", "id": "nothing"}], "name": "minimal",
      "wallets": {"hot": {"safe_version": "1.4.1", "kind": "safe", "chain": 1,
                          "address": "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4"}}, "txguard_policy": 1})";
    auto b = load_policy(reordered, kNoFiles);
    REQUIRE(b.has_value());
    CHECK(a->hash == b->hash);
  }

  TEST_CASE("any change of meaning changes the hash") {
    json doc = minimal();
    doc["rules"][0]["effect"] = "allow";
    auto a = load_policy(kMinimal, kNoFiles);
    auto b = load_policy(doc.dump(), kNoFiles);
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    CHECK(a->hash != b->hash);
  }

  TEST_CASE("refuses another format version, and a missing one") {
    json doc = minimal();
    doc["txguard_policy"] = 2;
    CHECK(reports(problems(doc), "$.txguard_policy", "format 1"));
    doc.erase("txguard_policy");
    CHECK(reports(problems(doc), "$.txguard_policy", "missing"));
  }

  TEST_CASE("refuses an unknown field anywhere, naming its path and the allowed fields") {
    json doc = minimal();
    doc["rules"][0]["match"] = {{"ammount", {{">", "1"}}}};
    CHECK(reports(problems(doc), "$.rules[0].match.ammount", "amount"));
    json top = minimal();
    top["rule"] = json::array();
    CHECK(reports(problems(top), "$.rule", "unknown field"));
  }

  TEST_CASE("refuses JSON numbers with fractions: amounts are decimal strings") {
    json doc = minimal();
    doc["assets"] = {{"USDC", {{"chain", 1}, {"address", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"}, {"decimals", 6}}}};
    doc["rules"][0]["match"] = {{"amount", {{">", 1.5}}}};
    CHECK(reports(problems(doc), "$.rules[0].match.amount.>", "decimal strings"));
  }

  TEST_CASE("refuses duplicate keys and malformed JSON with where it is") {
    CHECK(reports(problems(json()), "$", "a policy is a JSON object"));
    auto dup = load_policy(R"({"txguard_policy": 1, "txguard_policy": 1})", kNoFiles);
    REQUIRE_FALSE(dup.has_value());
    CHECK(dup.error()[0].path == "$.txguard_policy");
    auto bad = load_policy(R"({"txguard_policy": 1,)", kNoFiles);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error()[0].problem.find("not valid JSON at byte") != std::string::npos);
  }

  TEST_CASE("refuses a rule naming an undeclared asset, list, wallet, limit or approver, with the fix") {
    json doc = minimal();
    doc["rules"] = json::array({{{"id", "a"}, {"match", {{"asset", "USDT"}}}, {"effect", "allow"}},
                                {{"id", "b"}, {"match", {{"counterparty", "cold"}}}, {"effect", "allow"}},
                                {{"id", "c"}, {"match", {{"wallet", "cold"}}}, {"effect", "allow"}},
                                {{"id", "d"}, {"effect", "allow"}, {"limits", "daily"}},
                                {{"id", "e"}, {"effect", "hold"}, {"hold", {{"approvers", {"mallory"}}}}}});
    const auto ps = problems(doc);
    CHECK(reports(ps, "$.rules[0].match.asset", "declare it under $.assets"));
    CHECK(reports(ps, "$.rules[1].match.counterparty", "unknown list"));
    CHECK(reports(ps, "$.rules[2].match.wallet", "unknown wallet"));
    CHECK(reports(ps, "$.rules[3].limits", "unknown limit"));
    CHECK(reports(ps, "$.rules[4].hold.approvers[0]", "unknown approver"));
  }

  TEST_CASE("refuses two rules with one id, a Safe without its version, and a bad kind") {
    json doc = minimal();
    doc["rules"].push_back({{"id", "nothing"}, {"effect", "allow"}});
    CHECK(reports(problems(doc), "$.rules[1].id", "used twice"));
    json nover = minimal();
    nover["wallets"]["hot"].erase("safe_version");
    CHECK(reports(problems(nover), "$.wallets.hot.safe_version", "pin the Safe's version"));
    json kind = minimal();
    kind["wallets"]["hot"]["kind"] = "multisig";
    CHECK(reports(problems(kind), "$.wallets.hot.kind", "\"safe\" or \"account\""));
    json version = minimal();
    version["wallets"]["hot"]["safe_version"] = "1.4.0";
    CHECK(reports(problems(version), "$.wallets.hot.safe_version", "unknown Safe version"));
  }

  TEST_CASE("a message condition loads as text, prefix or hash, one or an array") {
    json doc = minimal();
    const std::string hash = "0x" + std::string(62, '0') + "aB";
    doc["rules"] = json::array({{{"id", "a"}, {"match", {{"message", {{"text", "hello"}}}}}, {"effect", "allow"}},
                                {{"id", "b"},
                                 {"match", {{"message", json::array({{{"prefix", "Sign in to "}}, {{"hash", hash}}})}}},
                                 {"effect", "deny"}}});
    auto p = load_policy(doc.dump(), kNoFiles);
    REQUIRE(p.has_value());
    REQUIRE(p->rules[0].match.messages.size() == 1);
    CHECK(p->rules[0].match.messages[0].kind == MessageCondition::Kind::kText);
    CHECK(p->rules[0].match.messages[0].bytes == txguard::codec::Bytes{'h', 'e', 'l', 'l', 'o'});
    REQUIRE(p->rules[1].match.messages.size() == 2);
    CHECK(p->rules[1].match.messages[0].kind == MessageCondition::Kind::kPrefix);
    CHECK(p->rules[1].match.messages[1].kind == MessageCondition::Kind::kHash);
    CHECK(p->rules[1].match.messages[1].hash[31] == 0xab);
    // The condition is part of the policy's meaning.
    json other = doc;
    other["rules"][0]["match"]["message"]["text"] = "hellO";
    auto q = load_policy(other.dump(), kNoFiles);
    REQUIRE(q.has_value());
    CHECK(q->hash != p->hash);
  }

  TEST_CASE("refuses a message condition that is not exactly one of text, prefix or hash, naming its path") {
    const auto refused = [](json condition, std::string_view path, std::string_view words) {
      json doc = minimal();
      doc["rules"][0]["match"] = {{"message", std::move(condition)}};
      return reports(problems(doc), path, words);
    };
    CHECK(refused("hello", "$.rules[0].match.message", "exactly one of"));
    CHECK(refused(json::object(), "$.rules[0].match.message", "exactly one of"));
    CHECK(refused({{"text", "a"}, {"prefix", "a"}}, "$.rules[0].match.message", "exactly one of"));
    CHECK(refused(json::array(), "$.rules[0].match.message", "an empty array"));
    CHECK(refused(json::array({{{"text", "ok"}}, 7}), "$.rules[0].match.message[1]", "exactly one of"));
    CHECK(refused({{"regex", ".*"}}, "$.rules[0].match.message.regex", "unknown message condition"));
    CHECK(refused({{"Text", "a"}}, "$.rules[0].match.message.Text", "use text, prefix or hash"));
    CHECK(refused({{"text", ""}}, "$.rules[0].match.message.text", "an empty text"));
    CHECK(refused({{"prefix", ""}}, "$.rules[0].match.message.prefix", "matches every message"));
    CHECK(refused({{"text", 5}}, "$.rules[0].match.message.text", "expected a string"));
    CHECK(refused({{"prefix", json::array({"a"})}}, "$.rules[0].match.message.prefix", "expected a string"));
    CHECK(refused({{"hash", "0x1234"}}, "$.rules[0].match.message.hash", "64 hex digits"));
    CHECK(refused({{"hash", std::string(64, 'a')}}, "$.rules[0].match.message.hash", "64 hex digits"));
    CHECK(refused({{"hash", "0x" + std::string(63, 'a') + "g"}}, "$.rules[0].match.message.hash", "64 hex digits"));
    CHECK(refused({{"hash", "0x" + std::string(66, 'a')}}, "$.rules[0].match.message.hash", "64 hex digits"));
    CHECK(refused({{"hash", 1}}, "$.rules[0].match.message.hash", "expected a string"));
  }

  TEST_CASE("refuses a bad address with the EIP-55 hint") {
    json doc = minimal();
    doc["wallets"]["hot"]["address"] = "0x1db92e2eebc8e0c075a02bea49a2935bcd2dfcF4";
    CHECK(reports(problems(doc), "$.wallets.hot.address", "EIP-55"));
  }

  TEST_CASE("refuses holds that could never be released or whose quorum is impossible") {
    json doc = minimal();
    doc["approvers"] = {{"alice", {{"address", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}}},
                        {"bob", {{"address", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"}}}};
    doc["rules"] = json::array({{{"id", "h"}, {"effect", "hold"}, {"hold", {{"approvers", {"alice", "bob"}}, {"quorum", 3}}}},
                                {{"id", "i"}, {"effect", "hold"}, {"hold", {{"approvers", {"alice"}}, {"delay", "2h"}, {"expires", "1h"}}}},
                                {{"id", "j"}, {"effect", "hold"}},
                                {{"id", "k"}, {"effect", "allow"}, {"hold", {{"approvers", {"alice"}}}}},
                                {{"id", "l"}, {"effect", "hold"}, {"hold", {{"approvers", {"alice", "alice"}}}}}});
    const auto ps = problems(doc);
    CHECK(reports(ps, "$.rules[0].hold.quorum", "from 1 to the number of approvers (2)"));
    CHECK(reports(ps, "$.rules[1].hold.expires", "never be released"));
    CHECK(reports(ps, "$.rules[2].hold", "missing"));
    CHECK(reports(ps, "$.rules[3].hold", "only a hold rule"));
    CHECK(reports(ps, "$.rules[4].hold.approvers[1]", "listed twice"));
  }

  TEST_CASE("refuses two approvers with one key") {
    json doc = minimal();
    doc["approvers"] = {{"alice", {{"address", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}}},
                        {"bob", {{"address", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"}}}};
    CHECK(reports(problems(doc), "$.approvers.bob.address", "same address"));
  }

  TEST_CASE("refuses limits without exactly one kind and one maximum, and amounts finer than the asset") {
    json doc = minimal();
    doc["assets"] = {{"USDC", {{"chain", 1}, {"address", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"}, {"decimals", 6}}}};
    doc["limits"] = {{"both", {{"window", "1h"}, {"bucket", {{"refill_per_second", "1"}}}, {"max_usd", "1"}}},
                     {"none", {{"window", "1h"}}},
                     {"fine", {{"window", "1h"}, {"max", "0.0000001"}, {"asset", "USDC"}}},
                     {"zero", {{"window", "0s"}, {"max_usd", "1"}}},
                     {"scope", {{"window", "1h"}, {"max_usd", "1"}, {"per", {"planet"}}}}};
    doc["rules"] = json::array({{{"id", "a"}, {"match", {{"asset", "USDC"}, {"amount", {{">", "0.0000001"}}}}}, {"effect", "deny"}}});
    const auto ps = problems(doc);
    CHECK(reports(ps, "$.limits.both", "exactly one of \"window\""));
    CHECK(reports(ps, "$.limits.none", "exactly one of max_usd"));
    CHECK(reports(ps, "$.limits.fine.max", "more than 6 digits"));
    CHECK(reports(ps, "$.limits.zero.window", "zero duration"));
    CHECK(reports(ps, "$.limits.scope.per[0]", "unknown scope"));
    CHECK(reports(ps, "$.rules[0].match.amount", "more decimals than USDC"));
  }

  TEST_CASE("refuses lifts on deny rules and unknown protections") {
    json doc = minimal();
    doc["rules"] = json::array({{{"id", "a"}, {"effect", "deny"}, {"lifts", "gas-refund"}},
                                {{"id", "b"}, {"effect", "allow"}, {"lifts", "everything"}},
                                {{"id", "c"}, {"effect", "deny"}, {"limits", json::array()}}});
    const auto ps = problems(doc);
    CHECK(reports(ps, "$.rules[0].lifts", "lifts nothing"));
    CHECK(reports(ps, "$.rules[1].lifts", "unknown protection"));
    CHECK(reports(ps, "$.rules[2].limits", "consumes nothing"));
  }

  TEST_CASE("lists load from files in every format, and a bad line stops loading naming the file and line") {
    json doc = minimal();
    doc["lists"] = {{"a", {{"file", "a.list"}}}, {"b", {{"file", "b.json"}}}, {"c", {{"file", "c.csv"}, {"column", "addr"}}}};
    const FileReader read = files({{"a.list", "# comment\n0x098B716B8Aaf21512996dC57EB0615e2383E2f96\n"},
                                   {"b.json", R"(["0x098B716B8Aaf21512996dC57EB0615e2383E2f96"])"},
                                   {"c.csv", "name,addr\nx,0x098B716B8Aaf21512996dC57EB0615e2383E2f96\n"}});
    auto p = load_policy(doc.dump(), read);
    REQUIRE(p.has_value());
    REQUIRE(p->lists.size() == 3);
    CHECK(p->lists[0].hash == p->lists[1].hash);
    CHECK(p->lists[1].hash == p->lists[2].hash);

    const FileReader bad = files({{"a.list", "0x098B716B8Aaf21512996dC57EB0615e2383E2f96\nnot-an-address!\n"},
                                  {"b.json", "[]"},
                                  {"c.csv", "addr\n"}});
    CHECK(reports(problems(doc, bad), "$.lists.a.file", "line 2"));
    json missing = minimal();
    missing["lists"] = {{"a", {{"file", "nowhere.list"}}}};
    CHECK(reports(problems(missing), "$.lists.a.file", "cannot read \"nowhere.list\""));
  }

  TEST_CASE("the shipped example policies load with their lists") {
    for (const char* name : {"deploy/examples/hot-wallet.policy.json", "deploy/examples/cold-wallet.policy.json"}) {
      CAPTURE(name);
      const FileReader read = [](const std::string& path) -> std::expected<std::string, std::string> {
        std::ifstream in(txguard::test::source_dir() + "/deploy/examples/" + path, std::ios::binary);
        if (!in) return std::unexpected(std::string("cannot open"));
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      };
      auto p = load_policy(read_source(name), read);
      if (!p) {
        for (const auto& problem : p.error()) MESSAGE(problem.message());
      }
      REQUIRE(p.has_value());
      CHECK_FALSE(p->rules.empty());
    }
  }
}

TEST_SUITE("policy units") {
  TEST_CASE("decimals are exact and refuse signs, exponents and stray points") {
    CHECK(to_scaled(parse_decimal("1500.25").value(), 6).value() == txguard::codec::U256(1'500'250'000));
    CHECK(to_scaled(parse_decimal("1.500000").value(), 3).value() == txguard::codec::U256(1500));
    CHECK_FALSE(to_scaled(parse_decimal("1.0001").value(), 3).has_value());
    for (const char* bad : {"", "-1", "+1", "1e5", ".5", "5.", "1.2.3", " 1", "0x10", "1,5"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_decimal(bad).has_value());
    }
    CHECK(format_scaled(txguard::codec::U256(1'500'250'000), 6) == "1500.25");
    CHECK(format_scaled(txguard::codec::U256(5), 6) == "0.000005");
    CHECK(format_scaled(txguard::codec::U256(0), 6) == "0");
  }

  TEST_CASE("durations") {
    CHECK(parse_duration("15m").value() == 900'000);
    CHECK(parse_duration("1h30m").value() == 5'400'000);
    CHECK(parse_duration("500ms").value() == 500);
    CHECK(parse_duration("1d").value() == 86'400'000);
    for (const char* bad : {"", "15", "m", "-1h", "1y", "1h 30m", "99999999999999999999d"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_duration(bad).has_value());
    }
  }

  TEST_CASE("times are UTC: RFC 3339 with Z or unix milliseconds") {
    CHECK(parse_time("2026-11-22T10:00:00Z").value() == 1'795'341'600'000);
    CHECK(parse_time("2026-11-22T10:00:00.250Z").value() == 1'795'341'600'250);
    CHECK(parse_time("1795341600000").value() == 1'795'341'600'000);
    CHECK(parse_time("2024-02-29T00:00:00Z").has_value());
    CHECK(format_time(1'795'341'600'250) == "2026-11-22T10:00:00.250Z");
    for (const char* bad : {"2026-11-22T10:00:00+01:00", "2026-11-22 10:00:00Z", "2023-02-29T00:00:00Z",
                            "2026-13-01T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T10:00:00.0001Z", "0x10"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_time(bad).has_value());
    }
  }

  TEST_CASE("USD values round up to the micro-dollar and saturate") {
    // 1 wei at 3000 USD/ETH is 3e-15 USD: rounds up to 1 micro-dollar, never down to 0.
    CHECK(usd_micro(1, 18, parse_decimal("3000").value()) == txguard::codec::U256(1));
    CHECK(usd_micro(txguard::codec::U256("1000000000000000000"), 18, parse_decimal("3012.55").value()) ==
          txguard::codec::U256(3'012'550'000));
    CHECK(usd_micro(0, 18, parse_decimal("3000").value()) == txguard::codec::U256(0));
    CHECK(usd_micro(~txguard::codec::U256(0), 0, parse_decimal("2").value()) == ~txguard::codec::U256(0));
  }

  TEST_CASE("a prices file refuses unknown fields, untimed prices and non-UTC times") {
    auto ok = parse_price_table(R"({"prices": {"ETH": {"usd": "3000.5", "at": "2026-11-22T10:00:00Z"}}})");
    REQUIRE(ok.has_value());
    CHECK(ok->prices.at("ETH").at_ms == 1'795'341'600'000);
    CHECK(parse_price_table(R"({"prices": {"ETH": {"usd": "3000"}}})").error().find("$.prices.ETH.at") == 0);
    CHECK(parse_price_table(R"({"prices": {"ETH": {"usd": 3000.5, "at": 1}}})").error().find("$.prices.ETH.usd") == 0);
    CHECK(parse_price_table(R"({"prices": {"ETH": {"usd": "1", "at": 1, "src": "x"}}})").error().find("unknown field") != std::string::npos);
    CHECK(parse_price_table(R"({"prices": {}, "extra": 1})").error().find("$.extra") == 0);
    CHECK(parse_price_table(R"({"prices": {"ETH": {"usd": "1", "at": "2026-11-22T10:00:00+02:00"}}})").has_value() == false);
  }
}

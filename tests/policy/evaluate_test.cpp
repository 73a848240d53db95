#include <doctest/doctest.h>

#include "tests/support/builders.hpp"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "policy/codec/abi.hpp"
#include "policy/codec/abi_registry.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/document.hpp"
#include "policy/evaluate.hpp"

using namespace txguard::policy;
using namespace txguard::codec;
using txguard::test::addr;
using txguard::test::erc20_approve;
using txguard::test::erc20_transfer;
using txguard::test::intent_of;
using txguard::test::multisend_call;
using txguard::test::safe_request;
using nlohmann::json;

namespace {

const Address kSafe = addr("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4");
const Address kOps = addr("0x90F79bf6EB2c4f870365E785982E1f101E93b906");
const Address kUsdc = addr("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
const Address kUnknownToken = addr("0x6B175474E89094C44Da98b954EedeAC495271d0F");
const Address kAlice = addr("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
const Address kBob = addr("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
const Address kCarol = addr("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65");
const Address kCold = addr("0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc");
const Address kCustomer = addr("0x976EA74026E726554dB657fA54763abd0C3a0aa9");
const Address kCustomer2 = addr("0x14dC79964da2C08b23698B3D3cc7Ca32193d9955");
const Address kRouter = addr("0xE592427A0AEce92De3Edee1F18E0157C05861564");
// On the OFAC SDN list (Lazarus Group), fixtures/sanctions/ofac/sanctioned_addresses_ETH.txt.
const Address kSanctioned = addr("0x098B716B8Aaf21512996dC57EB0615e2383E2f96");
const Address kMultiSendCallOnly141 = addr("0x9641d764fc13c8B624c04430C7356C1C7C8102e2");
const Address kMultiSend141 = addr("0x38869bf66a61cF6bDB996A6aE40D5853Fd43B526");
const Address kAttacker = addr("0x96221423681A6d52E184D440a8eFCEbB105C7242");  // Bybit's malicious implementation
const U256 kMax = ~U256(0);
const U256 kUsdcUnit = 1'000'000;
const U256 kEther = U256("1000000000000000000");
constexpr TimeMs kNow = 1'795'341'600'000;  // 2026-11-22T10:00:00Z

std::string cs(const Address& a) { return to_checksum(a); }

/// The base policy every test starts from; tests replace "rules" or add to it.
json base_policy() {
  return json{
      {"txguard_policy", 1},
      {"name", "test"},
      {"chains", {{"ethereum", {{"id", 1}}}}},
      {"assets",
       {{"ETH", {{"chain", "ethereum"}, {"native", true}, {"decimals", 18}}},
        {"USDC", {{"chain", "ethereum"}, {"address", cs(kUsdc)}, {"decimals", 6}}}}},
      {"prices", {{"fixed", {{"USDC", "1"}}}, {"max_age", "15m"}}},
      {"lists",
       {{"sanctioned", {{"addresses", {cs(kSanctioned)}}}},
        {"cold", {{"addresses", {cs(kCold)}}}},
        {"spenders", {{"addresses", {cs(kRouter)}}}}}},
      {"approvers",
       {{"alice", {{"address", cs(kAlice)}}}, {"bob", {{"address", cs(kBob)}}}, {"carol", {{"address", cs(kCarol)}}}}},
      {"wallets",
       {{"hot", {{"chain", "ethereum"}, {"address", cs(kSafe)}, {"kind", "safe"}, {"safe_version", "1.4.1"}}},
        {"ops", {{"chain", 1}, {"address", cs(kOps)}, {"kind", "account"}}}}},
      {"limits",
       {{"daily-usd", {{"window", "24h"}, {"max_usd", "100000"}, {"per", {"wallet"}}}},
        {"dest-daily-usd", {{"window", "24h"}, {"max_usd", "60000"}, {"per", {"wallet", "destination"}}}}}},
      {"rules",
       json::array({
           {{"id", "deny-sanctioned"}, {"match", {{"any_address", "sanctioned"}}}, {"effect", "deny"},
            {"reason", "sanctioned-address"}},
           {{"id", "sweep-to-cold"}, {"match", {{"leg", "transfer"}, {"counterparty", "cold"}}}, {"effect", "allow"}},
           {{"id", "large-withdrawal"},
            {"match", {{"leg", "transfer"}, {"usd", {{">", "50000"}}}}},
            {"effect", "hold"},
            {"hold", {{"approvers", {"alice", "bob", "carol"}}, {"quorum", 2}, {"delay", "10m"}, {"expires", "24h"}}},
            {"limits", {"daily-usd"}}},
           {{"id", "withdrawals"},
            {"match", {{"leg", "transfer"}, {"asset", {"ETH", "USDC"}}}},
            {"effect", "allow"},
            {"limits", {"daily-usd", "dest-daily-usd"}}},
           {{"id", "approve-router"},
            {"match", {{"leg", "grant"}, {"grant", "approve"}, {"counterparty", "spenders"}}},
            {"effect", "allow"}},
       })}};
}

Policy load(const json& doc) {
  auto p = load_policy(doc.dump(), [](const std::string& path) -> std::expected<std::string, std::string> {
    return std::unexpected("no file " + path);
  });
  if (!p) {
    std::string all;
    for (const auto& problem : p.error()) all += problem.message() + "\n";
    FAIL("policy does not load:\n" << all);
  }
  return *p;
}

Decision judge(const Policy& policy, const Intent& intent, const StateView& state, const PriceTable& prices = {},
               TimeMs now = kNow, std::string requester = "ops-bot") {
  EvalInput in{&intent, std::move(requester), now, "d-1"};
  auto d = evaluate(policy, in, prices, state);
  REQUIRE_MESSAGE(d.has_value(), d.error().message());
  return *d;
}

Decision judge(const Policy& policy, const Intent& intent) {
  EmptyStateView empty;
  return judge(policy, intent, empty);
}

Intent safe_intent(const Address& to, Bytes data, Operation op = Operation::kCall, U256 value = 0,
                   SafeVersion version = SafeVersion::k1_4_1) {
  return intent_of(safe_request(kSafe, to, std::move(data), op, std::move(value), version));
}

Intent usdc_to(const Address& to, const U256& units) { return safe_intent(kUsdc, erc20_transfer(to, units)); }

bool has_reason(const Decision& d, std::string_view code) {
  return std::any_of(d.reasons.begin(), d.reasons.end(), [&](const Reason& r) { return r.code == code; });
}

const Reason& reason_of(const Decision& d, std::string_view code) {
  for (const auto& r : d.reasons) {
    if (r.code == code) return r;
  }
  FAIL("no reason " << code << " in " << to_json(d).dump());
  throw std::logic_error("unreachable");
}

json with_rules(json doc, json rules) {
  doc["rules"] = std::move(rules);
  return doc;
}

// A state view with fixed window sums, counting reads.
class FixedState final : public StateView {
 public:
  explicit FixedState(U256 sum) : sum_(std::move(sum)) {}
  StateResult<U256> window_sum(const LedgerKey&, TimeMs) const override { return sum_; }
  StateResult<std::optional<BucketState>> bucket(const LedgerKey&) const override { return std::nullopt; }

 private:
  U256 sum_;
};

class FailingState final : public StateView {
 public:
  StateResult<U256> window_sum(const LedgerKey&, TimeMs) const override {
    return std::unexpected(StateError{StateErrc::kUnavailable, "locked"});
  }
  StateResult<std::optional<BucketState>> bucket(const LedgerKey&) const override {
    return std::unexpected(StateError{StateErrc::kUnavailable, "locked"});
  }
};

}  // namespace

TEST_SUITE("evaluate: the attacks") {
  TEST_CASE("Bybit: a DELEGATECALL to an unknown contract's transfer(address,uint256) is denied naming the DELEGATECALL") {
    const Policy policy = load(base_policy());
    // Even a rule allowing every transfer and call does not lift the protection.
    const Policy permissive = load(with_rules(base_policy(), json::array({{{"id", "anything"}, {"effect", "allow"}}})));
    const Intent intent = safe_intent(kAttacker, erc20_transfer(kAttacker, 0), Operation::kDelegateCall);
    for (const Policy* p : {&policy, &permissive}) {
      const Decision d = judge(*p, intent);
      CHECK(d.verdict == Verdict::kDeny);
      const Reason& r = reason_of(d, "unsafe-delegatecall");
      CHECK(r.message.find("DELEGATECALL") != std::string::npos);
      REQUIRE(r.address);
      CHECK(*r.address == kAttacker);
      CHECK(d.effects.empty());
    }
  }

  TEST_CASE("a MultiSend batch hiding a transfer to a sanctioned address among harmless items is denied naming the address") {
    const Policy policy = load(base_policy());
    const std::vector<txguard::test::BatchItem> items = {
        {Operation::kCall, kUsdc, 0, erc20_transfer(kCustomer, 10 * kUsdcUnit)},
        {Operation::kCall, kCustomer2, kEther / 100, {}},
        {Operation::kCall, kUsdc, 0, erc20_transfer(kSanctioned, 5 * kUsdcUnit)},
        {Operation::kCall, kUsdc, 0, erc20_transfer(kCustomer2, 3 * kUsdcUnit)},
    };
    const Decision d = judge(policy, safe_intent(kMultiSendCallOnly141, multisend_call(items), Operation::kDelegateCall));
    CHECK(d.verdict == Verdict::kDeny);
    const Reason& r = reason_of(d, "sanctioned-address");
    REQUIRE(r.address);
    CHECK(*r.address == kSanctioned);
    CHECK(r.message.find(cs(kSanctioned)) != std::string::npos);
    CHECK(d.rule == "deny-sanctioned");
  }

  TEST_CASE("the same batch without the sanctioned item is allowed: the MultiSendCallOnly DELEGATECALL is a container") {
    const Policy policy = load(base_policy());
    const std::vector<txguard::test::BatchItem> items = {
        {Operation::kCall, kUsdc, 0, erc20_transfer(kCustomer, 10 * kUsdcUnit)},
        {Operation::kCall, kUsdc, 0, erc20_transfer(kCustomer2, 3 * kUsdcUnit)},
    };
    const Decision d = judge(policy, safe_intent(kMultiSendCallOnly141, multisend_call(items), Operation::kDelegateCall));
    CHECK_MESSAGE(d.verdict == Verdict::kAllow, to_json(d).dump());
    CHECK(d.legs.size() == 2);
  }

  TEST_CASE("a batch through MultiSend (which can itself DELEGATECALL) is denied as an unsafe DELEGATECALL") {
    const Policy policy = load(base_policy());
    const std::vector<txguard::test::BatchItem> items = {{Operation::kCall, kUsdc, 0, erc20_transfer(kCustomer, 10 * kUsdcUnit)}};
    const Decision d = judge(policy, safe_intent(kMultiSend141, multisend_call(items), Operation::kDelegateCall));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "unsafe-delegatecall"));
  }

  TEST_CASE("MultiSendCallOnly of another Safe version is not the wallet's container") {
    json doc = base_policy();
    doc["wallets"]["hot"]["safe_version"] = "1.3.0";
    const Policy policy = load(doc);
    const std::vector<txguard::test::BatchItem> items = {{Operation::kCall, kUsdc, 0, erc20_transfer(kCustomer, 10 * kUsdcUnit)}};
    const Decision d = judge(policy, safe_intent(kMultiSendCallOnly141, multisend_call(items), Operation::kDelegateCall,
                                                 0, SafeVersion::k1_3_0));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "unsafe-delegatecall"));
  }

  TEST_CASE("an unlimited approve is denied even to a listed spender unless the rule lifts unlimited-approval") {
    const Policy policy = load(base_policy());
    const Decision unlimited = judge(policy, safe_intent(kUsdc, erc20_approve(kRouter, kMax)));
    CHECK(unlimited.verdict == Verdict::kDeny);
    CHECK(has_reason(unlimited, "unlimited-approval"));
    const Decision bounded = judge(policy, safe_intent(kUsdc, erc20_approve(kRouter, 1000 * kUsdcUnit)));
    CHECK(bounded.verdict == Verdict::kAllow);

    json doc = base_policy();
    doc["rules"][4]["lifts"] = "unlimited-approval";
    const Decision lifted = judge(load(doc), safe_intent(kUsdc, erc20_approve(kRouter, kMax)));
    CHECK(lifted.verdict == Verdict::kAllow);
    CHECK(lifted.rule == "approve-router");
  }

  TEST_CASE("an approve to an unknown spender is denied with no-matching-rule") {
    const Decision d = judge(load(base_policy()), safe_intent(kUsdc, erc20_approve(kAttacker, 1000 * kUsdcUnit)));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "no-matching-rule"));
  }

  TEST_CASE("a Permit2 signature to an unknown spender is denied") {
    const json typed = {
        {"types",
         {{"EIP712Domain", {{{"name", "name"}, {"type", "string"}}, {{"name", "chainId"}, {"type", "uint256"}}, {{"name", "verifyingContract"}, {"type", "address"}}}},
          {"PermitSingle", {{{"name", "details"}, {"type", "PermitDetails"}}, {{"name", "spender"}, {"type", "address"}}, {{"name", "sigDeadline"}, {"type", "uint256"}}}},
          {"PermitDetails", {{{"name", "token"}, {"type", "address"}}, {{"name", "amount"}, {"type", "uint160"}}, {{"name", "expiration"}, {"type", "uint48"}}, {{"name", "nonce"}, {"type", "uint48"}}}}}},
        {"primaryType", "PermitSingle"},
        {"domain", {{"name", "Permit2"}, {"chainId", "1"}, {"verifyingContract", "0x000000000022D473030F116dDEE9F6B43aC78BA3"}}},
        {"message",
         {{"details", {{"token", cs(kUsdc)}, {"amount", "1461501637330902918203684832716283019655932542975"}, {"expiration", "1800000000"}, {"nonce", "0"}}},
          {"spender", cs(kAttacker)},
          {"sigDeadline", "1800000000"}}}};
    auto parsed = parse_typed_data(typed);
    REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message());
    IntentContext ctx;
    ctx.signer = kOps;
    auto intent = intent_from_typed_data(*parsed, ctx);
    REQUIRE(intent.has_value());
    const Decision d = judge(load(base_policy()), *intent);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "unlimited-approval"));
  }
}

TEST_SUITE("evaluate: protections") {
  TEST_CASE("adding an owner is a configuration change, denied unless lifted") {
    const AbiValue args[] = {AbiValue::address(kAttacker), AbiValue::uint(1)};
    const Bytes data = encode_call(txguard::test::builtin_function("addOwnerWithThreshold(address,uint256)", "safe"), args);
    const Decision d = judge(load(base_policy()), safe_intent(kSafe, data));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "safe-configuration-change"));

    json rules = json::array({{{"id", "rotate"}, {"match", {{"leg", "configuration-change"}}}, {"effect", "hold"},
                               {"hold", {{"approvers", {"alice", "bob"}}, {"quorum", 2}}}, {"lifts", "safe-configuration-change"}}});
    const Decision held = judge(load(with_rules(base_policy(), rules)), safe_intent(kSafe, data));
    CHECK(held.verdict == Verdict::kHold);
  }

  TEST_CASE("an unknown selector is denied; a rule naming the call and lifting it allows it") {
    const Bytes data = from_hex("0xdeadbeef0000000000000000000000000000000000000000000000000000000000000001").value();
    const Decision d = judge(load(base_policy()), safe_intent(kRouter, data));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "unknown-selector"));
    json rules = json::array({{{"id", "router"}, {"match", {{"leg", "call"}, {"target", cs(kRouter)}, {"function", "0xdeadbeef"}}},
                               {"effect", "allow"}, {"lifts", "unknown-selector"}}});
    CHECK(judge(load(with_rules(base_policy(), rules)), safe_intent(kRouter, data)).verdict == Verdict::kAllow);
    // The same rule without "lifts" does not allow it.
    rules[0].erase("lifts");
    CHECK(judge(load(with_rules(base_policy(), rules)), safe_intent(kRouter, data)).verdict == Verdict::kDeny);
  }

  TEST_CASE("a Safe transaction that pays its relayer is denied as a gas refund") {
    auto r = safe_request(kSafe, kUsdc, erc20_transfer(kCustomer, kUsdcUnit));
    r.tx.gas_price = 1;
    r.tx.safe_tx_gas = 100000;
    const Decision d = judge(load(base_policy()), intent_of(r));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "gas-refund"));
  }

  TEST_CASE("contract creation is denied") {
    const Intent intent = intent_of(txguard::test::transaction(kOps, std::nullopt, from_hex("0x6000").value()));
    const Decision d = judge(load(base_policy()), intent);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "contract-creation"));
  }

  TEST_CASE("an EIP-7702 delegation is denied") {
    auto t = txguard::test::transaction(kOps, kOps, {});
    t.type = TxnType::kSetCode;
    Authorization auth;
    auth.chain_id = 1;
    auth.address = kAttacker;
    auth.authority = kOps;
    t.authorization_list.push_back(auth);
    const Decision d = judge(load(base_policy()), intent_of(t));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "eip7702-delegation"));
  }

  TEST_CASE("calldata that does not decode is denied even by a rule that lifts everything") {
    // transfer(address,uint256) with a truncated argument.
    Bytes data = erc20_transfer(kCustomer, 1);
    data.resize(20);
    json rules = json::array({{{"id", "anything"}, {"effect", "allow"},
                               {"lifts", {"unsafe-delegatecall", "safe-configuration-change", "unknown-selector", "gas-refund",
                                          "contract-creation", "eip7702-delegation", "unlimited-approval"}}}});
    const Decision d = judge(load(with_rules(base_policy(), rules)), safe_intent(kUsdc, data));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "undecodable-call"));
  }
}

TEST_SUITE("evaluate: matching") {
  TEST_CASE("first match wins and no match denies") {
    json rules = json::array({
        {{"id", "deny-usdc"}, {"match", {{"asset", "USDC"}}}, {"effect", "deny"}},
        {{"id", "allow-all"}, {"match", {{"leg", "transfer"}}}, {"effect", "allow"}},
    });
    const Policy p = load(with_rules(base_policy(), rules));
    CHECK(judge(p, usdc_to(kCustomer, 1)).rule == "deny-usdc");
    CHECK(judge(p, safe_intent(kCustomer, {}, Operation::kCall, 1)).verdict == Verdict::kAllow);
    const Policy none = load(with_rules(base_policy(), json::array({{{"id", "eth-only"}, {"match", {{"asset", "ETH"}}}, {"effect", "allow"}}})));
    const Decision d = judge(none, usdc_to(kCustomer, 1));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "no-matching-rule"));
    CHECK(d.rule.empty());
  }

  TEST_CASE("amount comparisons are exact at the boundary, in whole units of the asset") {
    json rules = json::array({{{"id", "small"}, {"match", {{"asset", "USDC"}, {"amount", {{"<=", "1000.5"}}}}}, {"effect", "allow"}}});
    const Policy p = load(with_rules(base_policy(), rules));
    CHECK(judge(p, usdc_to(kCustomer, U256(1'000'500'000))).verdict == Verdict::kAllow);
    CHECK(judge(p, usdc_to(kCustomer, U256(1'000'500'001))).verdict == Verdict::kDeny);
    CHECK(judge(p, usdc_to(kCustomer, U256(1'000'499'999))).verdict == Verdict::kAllow);
  }

  TEST_CASE("an amount condition on an undeclared token never lets an allow rule match, and always a deny rule") {
    json rules = json::array({{{"id", "small"}, {"match", {{"amount", {{"<", "10"}}}}}, {"effect", "allow"}}});
    const Intent unknown_token = safe_intent(kUnknownToken, erc20_transfer(kCustomer, 1));
    CHECK(judge(load(with_rules(base_policy(), rules)), unknown_token).verdict == Verdict::kDeny);
    json deny = json::array({{{"id", "big"}, {"match", {{"amount", {{">", "10"}}}}}, {"effect", "deny"}},
                             {{"id", "rest"}, {"effect", "allow"}}});
    const Decision d = judge(load(with_rules(base_policy(), deny)), unknown_token);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(d.rule == "big");
  }

  TEST_CASE("counterparty in a list, not in a list, and unknown") {
    json rules = json::array({{{"id", "to-cold"}, {"match", {{"counterparty", "cold"}}}, {"effect", "allow"}},
                              {{"id", "not-cold"}, {"match", {{"counterparty_not", {"cold", cs(kCustomer2)}}}}, {"effect", "hold"},
                               {"hold", {{"approvers", {"alice"}}}}}});
    const Policy p = load(with_rules(base_policy(), rules));
    CHECK(judge(p, usdc_to(kCold, 1)).verdict == Verdict::kAllow);
    CHECK(judge(p, usdc_to(kCustomer, 1)).verdict == Verdict::kHold);
    CHECK(judge(p, usdc_to(kCustomer2, 1)).verdict == Verdict::kDeny);
  }

  TEST_CASE("list matching ignores the case of an EVM address") {
    json doc = base_policy();
    std::string lower = "0x" + to_hex(kCold.view()).substr(2);
    doc["lists"]["cold"]["addresses"] = {lower};
    CHECK(judge(load(doc), usdc_to(kCold, 1)).rule == "sweep-to-cold");
  }

  TEST_CASE("a personal message is denied unless a rule allows the message request kind") {
    IntentContext context;
    context.signer = kOps;
    context.chain_id = U256(1);
    const Bytes text = {'h', 'i'};
    const Intent message = intent_from_message(text, context);
    const Decision none = judge(load(base_policy()), message);
    CHECK(none.verdict == Verdict::kDeny);
    REQUIRE(none.legs.size() == 1);
    CHECK(none.legs[0].leg.kind == LegKind::kMessage);
    json rules = json::array({{{"id", "sign-in"}, {"match", {{"request", "message"}, {"wallet", "ops"}}}, {"effect", "allow"}}});
    CHECK(judge(load(with_rules(base_policy(), rules)), message).verdict == Verdict::kAllow);
    rules = json::array({{{"id", "typed"}, {"match", {{"request", "typed-data"}}}, {"effect", "allow"}}});
    CHECK(judge(load(with_rules(base_policy(), rules)), message).verdict == Verdict::kDeny);
    rules = json::array({{{"id", "sign-in"}, {"match", {{"request", "message"}, {"wallet", "hot"}}}, {"effect", "allow"}}});
    CHECK(judge(load(with_rules(base_policy(), rules)), message).verdict == Verdict::kDeny);
  }

  TEST_CASE("function by signature or selector, target, operation and depth") {
    const Bytes data = erc20_transfer(kCustomer, 5);
    const auto verdict = [&](json match) {
      json rules = json::array({{{"id", "r"}, {"match", match}, {"effect", "allow"}}});
      return judge(load(with_rules(base_policy(), rules)), safe_intent(kUsdc, data)).verdict;
    };
    CHECK(verdict({{"function", "transfer(address,uint256)"}}) == Verdict::kAllow);
    CHECK(verdict({{"function", "0xa9059cbb"}}) == Verdict::kAllow);
    CHECK(verdict({{"function", "approve(address,uint256)"}}) == Verdict::kDeny);
    CHECK(verdict({{"target", cs(kUsdc)}}) == Verdict::kAllow);
    CHECK(verdict({{"target", cs(kUnknownToken)}}) == Verdict::kDeny);
    CHECK(verdict({{"operation", "call"}}) == Verdict::kAllow);
    CHECK(verdict({{"operation", "delegatecall"}}) == Verdict::kDeny);
    CHECK(verdict({{"depth", {{"<=", "0"}}}}) == Verdict::kAllow);
    CHECK(verdict({{"depth", {{">", "0"}}}}) == Verdict::kDeny);
    CHECK(verdict({{"request", "safe-transaction"}}) == Verdict::kAllow);
    CHECK(verdict({{"request", "transaction"}}) == Verdict::kDeny);
    CHECK(verdict({{"wallet", "hot"}}) == Verdict::kAllow);
    CHECK(verdict({{"wallet", "ops"}}) == Verdict::kDeny);
    CHECK(verdict({{"chain", 1}}) == Verdict::kAllow);
    CHECK(verdict({{"chain", 5}}) == Verdict::kDeny);
  }

  TEST_CASE("decoded parameters: ==, !=, <, >, in and not_in, by name") {
    const auto verdict = [&](json params, const U256& amount = 5) {
      json rules = json::array({{{"id", "r"}, {"match", {{"params", params}}}, {"effect", "allow"}}});
      return judge(load(with_rules(base_policy(), rules)), usdc_to(kCustomer, amount)).verdict;
    };
    const std::string lower_customer = "0x" + to_hex(kCustomer.view()).substr(2);
    CHECK(verdict({{"to", {{"==", lower_customer}}}}) == Verdict::kAllow);
    CHECK(verdict({{"to", {{"!=", cs(kCustomer)}}}}) == Verdict::kDeny);
    CHECK(verdict({{"value", {{"<", "6"}}}}) == Verdict::kAllow);
    CHECK(verdict({{"value", {{"<", "5"}}}}) == Verdict::kDeny);
    CHECK(verdict({{"value", {{">", "4"}}}}) == Verdict::kAllow);
    CHECK(verdict({{"value", {{"==", "5"}}}}) == Verdict::kAllow);
    CHECK(verdict({{"to", {{"in", "cold"}}}}) == Verdict::kDeny);
    CHECK(verdict({{"to", {{"not_in", "cold"}}}}) == Verdict::kAllow);
    CHECK(verdict({{"to", {{"in", json::array({cs(kCustomer), cs(kCold)})}}}}) == Verdict::kAllow);
    // A parameter the function does not have is unknown: it never lets an allow rule match.
    CHECK(verdict({{"spender", {{"==", cs(kCustomer)}}}}) == Verdict::kDeny);
    // < on an address is unknown too.
    CHECK(verdict({{"to", {{"<", "5"}}}}) == Verdict::kDeny);
  }

  TEST_CASE("requester") {
    json rules = json::array({{{"id", "r"}, {"match", {{"requester", {"treasury", "ops-bot"}}}}, {"effect", "allow"}}});
    const Policy p = load(with_rules(base_policy(), rules));
    EmptyStateView empty;
    CHECK(judge(p, usdc_to(kCustomer, 1), empty, {}, kNow, "ops-bot").verdict == Verdict::kAllow);
    CHECK(judge(p, usdc_to(kCustomer, 1), empty, {}, kNow, "intern").verdict == Verdict::kDeny);
  }

  TEST_CASE("a deny rule on any address in a list covers every address the request touches") {
    // The sanctioned address is only an argument of an approve, not a transfer's counterparty.
    const Decision d = judge(load(base_policy()), safe_intent(kUsdc, erc20_approve(kSanctioned, 1)));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(reason_of(d, "sanctioned-address").address == kSanctioned);
  }
}

TEST_SUITE("evaluate: wallets") {
  TEST_CASE("a request for an undeclared wallet is denied") {
    const Intent intent = intent_of(safe_request(kCustomer, kUsdc, erc20_transfer(kCold, 1)));
    const Decision d = judge(load(base_policy()), intent);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "unknown-wallet"));
  }

  TEST_CASE("a request for a declared wallet on another chain is denied") {
    const Intent intent = intent_of(safe_request(kSafe, kUsdc, erc20_transfer(kCold, 1), Operation::kCall, 0,
                                                 SafeVersion::k1_4_1, 10));
    const Decision d = judge(load(base_policy()), intent);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "chain-mismatch"));
  }

  TEST_CASE("a Safe request hashed for another Safe version than the pinned one is denied") {
    const Intent intent = safe_intent(kUsdc, erc20_transfer(kCold, 1), Operation::kCall, 0, SafeVersion::k1_3_0);
    const Decision d = judge(load(base_policy()), intent);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "safe-version-mismatch"));
  }

  TEST_CASE("a transaction from a declared account is judged by the rules") {
    const Intent intent = intent_of(txguard::test::transaction(kOps, kUsdc, erc20_transfer(kCold, 1)));
    json doc = base_policy();
    doc["rules"].push_back({{"id", "gas"}, {"match", {{"leg", "fee"}}}, {"effect", "allow"}});
    const Decision d = judge(load(doc), intent);
    CHECK(d.verdict == Verdict::kAllow);
    REQUIRE(d.legs.size() == 2);
    CHECK(d.legs[0].rule == "gas");
    CHECK(d.legs[1].rule == "sweep-to-cold");
  }

  TEST_CASE("an account transaction's most it can pay for gas is a fee leg: without a rule for it, nothing is signed") {
    // 100,000 gas x 30 gwei.
    const Intent intent = intent_of(txguard::test::transaction(kOps, kUsdc, erc20_transfer(kCold, 1)));
    const Decision d = judge(load(base_policy()), intent);
    CHECK(d.verdict == Verdict::kDeny);
    REQUIRE_FALSE(d.legs.empty());
    CHECK(d.legs[0].leg.kind == LegKind::kFee);
    CHECK(d.legs[0].leg.amount == U256("3000000000000000"));
    CHECK(reason_of(d, "no-matching-rule").message.find("fee of at most 3000000000000000 ETH") != std::string::npos);
    // A Safe transaction pays no gas from the Safe (the executor does): no fee leg.
    const Decision safe = judge(load(base_policy()), usdc_to(kCold, 1));
    CHECK(std::none_of(safe.legs.begin(), safe.legs.end(), [](const LegDecision& l) { return l.leg.kind == LegKind::kFee; }));
  }

  TEST_CASE("the fee counts as native spend in the limits it is judged under") {
    json doc = base_policy();
    doc["limits"]["eth-daily"] = {{"window", "24h"}, {"max", "0.004"}, {"asset", "ETH"}, {"per", {"wallet"}}};
    doc["rules"].push_back({{"id", "gas"}, {"match", {{"leg", "fee"}}}, {"effect", "allow"}, {"limits", {"eth-daily"}}});
    doc["rules"][3]["limits"] = {"eth-daily"};  // withdrawals: ETH sent counts in the same window
    const Policy p = load(doc);
    auto prices = parse_price_table(json{{"prices", {{"ETH", {{"usd", "3000"}, {"at", kNow}}}}}}.dump());
    REQUIRE(prices.has_value());
    EmptyStateView empty;
    // 0.003 ETH of gas and 0.001 ETH of value fit in 0.004 ETH; with 0.002 ETH of value they do not.
    CHECK(judge(p, intent_of(txguard::test::transaction(kOps, kCustomer, {}, U256(1'000'000'000'000'000ULL))), empty,
                *prices).verdict == Verdict::kAllow);
    const Decision over =
        judge(p, intent_of(txguard::test::transaction(kOps, kCustomer, {}, U256(2'000'000'000'000'000ULL))), empty, *prices);
    CHECK(over.verdict == Verdict::kDeny);
    CHECK(has_reason(over, "limit-exceeded"));
    // In USD: 0.003 ETH at 3,000 USD is 9 USD of the daily-usd window.
    json usd = base_policy();
    usd["rules"].push_back({{"id", "gas"}, {"match", {{"leg", "fee"}, {"usd", {{"<=", "10"}}}}}, {"effect", "allow"}, {"limits", {"daily-usd"}}});
    const Decision priced = judge(load(usd), intent_of(txguard::test::transaction(kOps, kUsdc, erc20_transfer(kCold, 1))), empty, *prices);
    CHECK(priced.verdict == Verdict::kAllow);
    REQUIRE(priced.legs[0].usd_micro.has_value());
    CHECK(*priced.legs[0].usd_micro == U256(9'000'000));
    // 10,000 gwei per gas is 3,000 USD of gas: over the rule's 10 USD, no rule allows it.
    auto dear = txguard::test::transaction(kOps, kUsdc, erc20_transfer(kCold, 1));
    dear.max_fee_per_gas = U256(10'000'000'000'000ULL);
    CHECK(judge(load(usd), intent_of(dear), empty, *prices).verdict == Verdict::kDeny);
  }

  TEST_CASE("a blob transaction's fee includes its blob gas; a fee beyond 2^256 is judged unbounded, never wrapped") {
    auto blob = txguard::test::transaction(kOps, kCustomer, {});
    blob.type = TxnType::kBlob;
    blob.blob_versioned_hashes.resize(2);
    blob.max_fee_per_blob_gas = 1'000'000'000ULL;
    const Decision d = judge(load(base_policy()), intent_of(blob));
    REQUIRE_FALSE(d.legs.empty());
    // 100,000 x 30 gwei + 2 x 131,072 x 1 gwei.
    CHECK(d.legs[0].leg.amount == U256("3262144000000000"));
    auto legacy = txguard::test::transaction(kOps, kCustomer, {});
    legacy.type = TxnType::kLegacy;
    legacy.gas_price = kMax;
    const Decision huge = judge(load(base_policy()), intent_of(legacy));
    REQUIRE_FALSE(huge.legs.empty());
    CHECK(huge.legs[0].leg.amount == kMax);
    CHECK(huge.verdict == Verdict::kDeny);
  }
}

TEST_SUITE("evaluate: USD prices") {
  PriceTable eth_price(const std::string& usd, TimeMs at) {
    auto t = parse_price_table(json{{"prices", {{"ETH", {{"usd", usd}, {"at", at}}}}}}.dump());
    REQUIRE(t.has_value());
    return *t;
  }

  TEST_CASE("a USD condition uses the price table and fixed prices") {
    const Policy p = load(base_policy());
    EmptyStateView empty;
    // 20 ETH at 3000 = 60,000 USD > 50,000: held.
    const Intent eth = safe_intent(kCustomer, {}, Operation::kCall, 20 * kEther);
    const Decision d = judge(p, eth, empty, eth_price("3000", kNow - 60'000));
    CHECK(d.verdict == Verdict::kHold);
    REQUIRE(d.legs.size() == 1);
    CHECK(d.legs[0].usd_micro == U256(60'000'000'000));
    // USDC has a fixed price of 1.
    CHECK(judge(p, usdc_to(kCustomer, 50'001 * kUsdcUnit)).verdict == Verdict::kHold);
    CHECK(judge(p, usdc_to(kCustomer, 50'000 * kUsdcUnit)).verdict == Verdict::kAllow);
  }

  TEST_CASE("a missing or stale price never lets a USD rule pass") {
    const Policy p = load(base_policy());
    EmptyStateView empty;
    const Intent eth = safe_intent(kCustomer, {}, Operation::kCall, kEther);
    const Decision missing = judge(p, eth, empty, PriceTable{});
    CHECK(missing.verdict == Verdict::kDeny);
    CHECK(has_reason(missing, "price-unavailable"));
    CHECK(missing.effects.empty());
    const Decision stale = judge(p, eth, empty, eth_price("3000", kNow - 16 * 60'000));
    CHECK(stale.verdict == Verdict::kDeny);
    CHECK(has_reason(stale, "price-unavailable"));
    const Decision fresh = judge(p, eth, empty, eth_price("3000", kNow - 14 * 60'000));
    CHECK(fresh.verdict == Verdict::kAllow);
    // With only an allow rule that has a USD limit, a missing price denies.
    json rules = json::array({{{"id", "w"}, {"match", {{"leg", "transfer"}}}, {"effect", "allow"}, {"limits", "daily-usd"}}});
    const Decision denied = judge(load(with_rules(base_policy(), rules)), eth, empty, PriceTable{});
    CHECK(denied.verdict == Verdict::kDeny);
    CHECK(has_reason(denied, "price-unavailable"));
  }

  TEST_CASE("a price dated in the future is refused: it would never go stale") {
    const Policy p = load(base_policy());
    EmptyStateView empty;
    const Intent eth = safe_intent(kCustomer, {}, Operation::kCall, kEther);
    const Decision ahead = judge(p, eth, empty, eth_price("3000", kNow + 61'000));
    CHECK(ahead.verdict == Verdict::kDeny);
    CHECK(has_reason(ahead, "price-unavailable"));
    const Decision far_ahead = judge(p, eth, empty, eth_price("3000", kNow + 365LL * 86'400'000));
    CHECK(far_ahead.verdict == Verdict::kDeny);
    // A feed's clock a little ahead of the guard's (up to a minute) still counts.
    CHECK(judge(p, eth, empty, eth_price("3000", kNow + 60'000)).verdict == Verdict::kAllow);
  }

  TEST_CASE("a deny rule whose USD condition cannot be computed matches") {
    json rules = json::array({{{"id", "big"}, {"match", {{"usd", {{">", "10"}}}}}, {"effect", "deny"}},
                              {{"id", "rest"}, {"effect", "allow"}}});
    EmptyStateView empty;
    const Decision d = judge(load(with_rules(base_policy(), rules)), safe_intent(kCustomer, {}, Operation::kCall, 1), empty,
                             PriceTable{});
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(d.rule == "big");
  }

  TEST_CASE("prices.when_missing can hold instead of deny") {
    json doc = with_rules(base_policy(), json::array({{{"id", "w"}, {"match", {{"usd", {{"<", "1000"}}}}}, {"effect", "allow"}}}));
    doc["prices"]["when_missing"] = {{"hold", {{"approvers", {"alice", "bob"}}, {"quorum", 1}}}};
    EmptyStateView empty;
    const Decision d = judge(load(doc), safe_intent(kCustomer, {}, Operation::kCall, kEther), empty, PriceTable{});
    CHECK(d.verdict == Verdict::kHold);
    REQUIRE(d.holds.size() == 1);
    CHECK(d.holds[0].rule == "prices.when_missing");
    CHECK(has_reason(d, "price-unavailable"));
  }
}

TEST_SUITE("evaluate: limits and holds") {
  TEST_CASE("a held request carries its approvers, quorum, delay and expiry and reserves its amount") {
    const Decision d = judge(load(base_policy()), usdc_to(kCustomer, 55'000 * kUsdcUnit));
    CHECK(d.verdict == Verdict::kHold);
    REQUIRE(d.holds.size() == 1);
    CHECK(d.holds[0].approvers == std::vector<std::string>{"alice", "bob", "carol"});
    CHECK(d.holds[0].quorum == 2);
    CHECK(d.holds[0].not_before_ms == kNow + 600'000);
    CHECK(d.holds[0].expires_at_ms == kNow + 86'400'000);
    REQUIRE(d.effects.size() == 1);
    const auto* reserve = std::get_if<Reserve>(&d.effects[0]);
    REQUIRE(reserve);
    CHECK(reserve->amount == U256(55'000'000'000));
    CHECK(reserve->expires_ms == kNow + 86'400'000);
  }

  TEST_CASE("an allowed request debits every limit of its rule, adding up legs of one ledger first") {
    const std::vector<txguard::test::BatchItem> items = {
        {Operation::kCall, kUsdc, 0, erc20_transfer(kCustomer, 30'000 * kUsdcUnit)},
        {Operation::kCall, kUsdc, 0, erc20_transfer(kCustomer, 30'000 * kUsdcUnit)},
    };
    const Intent batch = safe_intent(kMultiSendCallOnly141, multisend_call(items), Operation::kDelegateCall);
    // Each leg alone fits the 60,000 per-destination limit with 1 USD used; together they do not.
    FixedState used(U256(1'000'000));
    const Decision d = judge(load(base_policy()), batch, used);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "limit-exceeded"));
    CHECK(d.effects.empty());
    FixedState none(U256(0));
    const Decision ok = judge(load(base_policy()), batch, none);
    CHECK(ok.verdict == Verdict::kAllow);
    CHECK(ok.effects.size() == 2);  // one debit per ledger: daily-usd, dest-daily-usd
  }

  TEST_CASE("a denied request reads no limits and consumes nothing") {
    FixedState used(U256(0));
    const Decision d = judge(load(base_policy()), usdc_to(kSanctioned, 1));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(d.inputs.reads.empty());
    CHECK(d.effects.empty());
  }

  TEST_CASE("a state store failure is an error, not a decision") {
    FailingState failing;
    EvalInput in{nullptr, "ops-bot", kNow, "d"};
    const Intent intent = usdc_to(kCustomer, 1);
    in.intent = &intent;
    auto d = evaluate(load(base_policy()), in, {}, failing);
    REQUIRE_FALSE(d.has_value());
    CHECK(d.error().code == StateErrc::kUnavailable);
  }

  TEST_CASE("the same inputs give the same decision, and the recorded inputs replay it") {
    const Policy p = load(base_policy());
    FixedState state(U256(7'000'000));
    const Intent intent = usdc_to(kCustomer, 100 * kUsdcUnit);
    const Decision a = judge(p, intent, state);
    const Decision b = judge(p, intent, state);
    CHECK(to_json(a) == to_json(b));
    CHECK(a.effects == b.effects);
    ReplayStateView replay(a.inputs);
    const Decision c = judge(p, intent, replay);
    CHECK(to_json(c) == to_json(a));
    CHECK(c.effects == a.effects);
  }

  TEST_CASE("a count bucket scoped per requester") {
    json doc = base_policy();
    doc["limits"]["burst"] = {{"bucket", {{"refill_per_second", "0.5"}}}, {"max_count", 2}, {"per", "requester"}};
    doc["rules"] = json::array({{{"id", "w"}, {"match", {{"leg", "transfer"}}}, {"effect", "allow"}, {"limits", "burst"}}});
    const Policy p = load(doc);
    const std::vector<txguard::test::BatchItem> three = {
        {Operation::kCall, kUsdc, 0, erc20_transfer(kCustomer, 1)},
        {Operation::kCall, kUsdc, 0, erc20_transfer(kCustomer, 2)},
        {Operation::kCall, kUsdc, 0, erc20_transfer(kCustomer, 3)},
    };
    const Intent batch3 = safe_intent(kMultiSendCallOnly141, multisend_call(three), Operation::kDelegateCall);
    const Intent batch2 = safe_intent(kMultiSendCallOnly141, multisend_call(std::vector<txguard::test::BatchItem>(three.begin(), three.begin() + 2)), Operation::kDelegateCall);
    EmptyStateView empty;
    CHECK(judge(p, batch3, empty).verdict == Verdict::kDeny);
    const Decision d = judge(p, batch2, empty);
    CHECK(d.verdict == Verdict::kAllow);
    REQUIRE(d.limits.size() == 1);
    CHECK(d.limits[0].scope == "requester=ops-bot");
  }
}

TEST_SUITE("evaluate: limit scopes") {
  TEST_CASE("each scope component separates ledgers: wallet, asset, destination, rule, requester") {
    json doc = base_policy();
    doc["limits"] = {{"all", {{"window", "1h"}, {"max_usd", "100"}, {"per", {"wallet", "asset", "destination", "rule", "requester"}}}},
                     {"global", {{"window", "1h"}, {"max_count", 5}}},
                     {"usdc-units", {{"window", "1h"}, {"max", "2.5"}, {"asset", "USDC"}}}};
    doc["rules"] = json::array({{{"id", "w"}, {"match", {{"leg", "transfer"}}}, {"effect", "allow"},
                                 {"limits", {"all", "global", "usdc-units"}}}});
    const Policy p = load(doc);
    const Decision d = judge(p, usdc_to(kCustomer, 2 * kUsdcUnit));
    REQUIRE(d.limits.size() == 3);
    std::map<std::string, LimitUse> by;
    for (const auto& l : d.limits) by[l.limit] = l;
    CHECK(by["all"].scope == "wallet=0x" + to_hex(kSafe.view()).substr(2) + ";asset=usdc;dest=0x" +
                                 to_hex(kCustomer.view()).substr(2) + ";rule=w;requester=ops-bot");
    CHECK(by["all"].amount == U256(2'000'000));  // micro-USD
    CHECK(by["global"].scope == "*");
    CHECK(by["global"].amount == U256(1000));    // one leg, in thousandths
    CHECK(by["usdc-units"].amount == U256(2'000'000));
    // 2.5 USDC is the unit limit: 2.5 passes, 2.500001 does not.
    CHECK(judge(p, usdc_to(kCustomer, 2'500'000)).verdict == Verdict::kAllow);
    CHECK(judge(p, usdc_to(kCustomer, 2'500'001)).verdict == Verdict::kDeny);
    // An ETH transfer does not count in the USDC-unit limit.
    EmptyStateView empty;
    auto prices = parse_price_table(R"({"prices": {"ETH": {"usd": "1", "at": 1795341600000}}})").value();
    const Decision eth = judge(p, safe_intent(kCustomer, {}, Operation::kCall, kEther), empty, prices);
    CHECK(eth.limits.size() == 2);
  }
}

TEST_SUITE("evaluate: legs") {
  TEST_CASE("a native transfer with calldata is a transfer leg and a call leg") {
    const Bytes deposit = encode_call(txguard::test::builtin_function("deposit()", "weth"), std::span<const AbiValue>{});
    const auto legs = legs_of(safe_intent(kUnknownToken, deposit, Operation::kCall, kEther), load(base_policy()));
    REQUIRE(legs.size() == 2);
    CHECK(legs[0].kind == LegKind::kTransfer);
    CHECK(legs[1].kind == LegKind::kCall);
  }

  TEST_CASE("a token transfer explains its call") {
    const auto legs = legs_of(usdc_to(kCustomer, 1), load(base_policy()));
    REQUIRE(legs.size() == 1);
    CHECK(legs[0].kind == LegKind::kTransfer);
    CHECK(legs[0].asset == std::optional<std::size_t>(1));
    CHECK(legs[0].counterparty == kCustomer);
  }

  TEST_CASE("typed data that is neither a permit nor a Safe transaction is one message leg, denied by default") {
    const json typed = {{"types", {{"EIP712Domain", {{{"name", "name"}, {"type", "string"}}}}, {"Mail", {{{"name", "text"}, {"type", "string"}}}}}},
                        {"primaryType", "Mail"},
                        {"domain", {{"name", "x"}}},
                        {"message", {{"text", "hello"}}}};
    IntentContext ctx;
    ctx.signer = kOps;
    ctx.chain_id = 1;
    auto intent = intent_from_typed_data(parse_typed_data(typed).value(), ctx);
    REQUIRE(intent.has_value());
    const Decision d = judge(load(base_policy()), *intent);
    REQUIRE(d.legs.size() == 1);
    CHECK(d.legs[0].leg.kind == LegKind::kMessage);
    CHECK(d.verdict == Verdict::kDeny);
    json rules = json::array({{{"id", "msgs"}, {"match", {{"leg", "message"}}}, {"effect", "allow"}}});
    CHECK(judge(load(with_rules(base_policy(), rules)), *intent).verdict == Verdict::kAllow);
  }
}

namespace {

Intent message_intent(const Bytes& message) {
  IntentContext context;
  context.signer = kOps;
  context.chain_id = U256(1);
  return intent_from_message(message, context);
}

Bytes text_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

json allow_messages(json match = json::object()) {
  match["leg"] = "message";
  return json::array({{{"id", "messages"}, {"match", std::move(match)}, {"effect", "allow"}}});
}

// eth_signTypedData_v4 of a Safe's EIP-1271 message (CompatibilityFallbackHandler's SafeMessage).
Intent safe_message_intent(const Address& safe, const Bytes& inner) {
  const json typed = {{"types",
                       {{"EIP712Domain", {{{"name", "chainId"}, {"type", "uint256"}}, {{"name", "verifyingContract"}, {"type", "address"}}}},
                        {"SafeMessage", {{{"name", "message"}, {"type", "bytes"}}}}}},
                      {"primaryType", "SafeMessage"},
                      {"domain", {{"chainId", 1}, {"verifyingContract", cs(safe)}}},
                      {"message", {{"message", to_hex(inner)}}}};
  IntentContext ctx;
  ctx.signer = kOps;
  ctx.chain_id = 1;
  auto intent = intent_from_typed_data(parse_typed_data(typed).value(), ctx);
  REQUIRE(intent.has_value());
  return *intent;
}

}  // namespace

TEST_SUITE("evaluate: messages") {
  TEST_CASE("personal_sign of a 32-byte message is refused as a possible Safe hash, even when a rule allows every message") {
    // The attack of issue 13 item 4: a Safe takes eth_sign of its safeTxHash (v + 4) as an owner's
    // signature. The hash of a Safe transaction this policy would deny:
    const SafeTxRequest denied = safe_request(kSafe, kUsdc, erc20_transfer(kSanctioned, 1));
    const Hash32 safe_tx = safe_tx_hash(denied.tx, denied.domain);
    const Policy everything = load(with_rules(base_policy(), allow_messages()));
    for (const Bytes& message : {Bytes(safe_tx.begin(), safe_tx.end()), Bytes(32, 0x41)}) {
      const Decision d = judge(everything, message_intent(message));
      CHECK(d.verdict == Verdict::kDeny);
      CHECK(d.rule.empty());
      CHECK(has_reason(d, "message-is-a-hash"));
      CHECK(d.legs.empty());
      CHECK(d.effects.empty());
    }
    // Not even a rule naming the message by its exact content or hash lets it through.
    const Bytes ascii(32, 0x41);  // 32 bytes of text are 32 bytes all the same
    const Policy exact = load(with_rules(base_policy(), allow_messages({{"message", {{"text", std::string(32, 'A')}}}})));
    CHECK(has_reason(judge(exact, message_intent(ascii)), "message-is-a-hash"));
    const Policy by_hash = load(with_rules(base_policy(), allow_messages({{"message", {{"hash", to_hex(keccak256(ascii))}}}})));
    CHECK(has_reason(judge(by_hash, message_intent(ascii)), "message-is-a-hash"));
  }

  TEST_CASE("a message of 31 or 33 bytes is a message like any other: the 32-byte refusal is exact") {
    const Policy everything = load(with_rules(base_policy(), allow_messages()));
    CHECK(judge(everything, message_intent(Bytes(31, 0x41))).verdict == Verdict::kAllow);
    CHECK(judge(everything, message_intent(Bytes(33, 0x41))).verdict == Verdict::kAllow);
    CHECK(judge(everything, message_intent(Bytes{})).verdict == Verdict::kAllow);
    CHECK(message_is_opaque_hash(Bytes(32, 0)));
    CHECK_FALSE(message_is_opaque_hash(Bytes(31, 0)));
    CHECK_FALSE(message_is_opaque_hash(Bytes(33, 0)));
  }

  TEST_CASE("a 66-byte message beginning 0x1901 is refused as an EIP-712 digest preimage; other 66-byte messages are judged") {
    const Policy everything = load(with_rules(base_policy(), allow_messages()));
    Bytes preimage(66, 0x22);
    preimage[0] = 0x19;
    preimage[1] = 0x01;
    const Decision d = judge(everything, message_intent(preimage));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "message-is-a-hash"));
    Bytes other = preimage;
    other[1] = 0x00;
    CHECK(judge(everything, message_intent(other)).verdict == Verdict::kAllow);
    preimage.push_back(0);
    CHECK(judge(everything, message_intent(preimage)).verdict == Verdict::kAllow);
  }

  TEST_CASE("a message rule with exact text allows that text and nothing else") {
    const Policy p = load(with_rules(base_policy(), allow_messages({{"message", {{"text", "Sign in to example.com"}}}})));
    CHECK(judge(p, message_intent(text_bytes("Sign in to example.com"))).verdict == Verdict::kAllow);
    for (std::string_view other : {"Sign in to example.com ", "sign in to example.com", "Sign in to example.co",
                                   "Sign in to example.com\nand transfer everything"}) {
      const Decision d = judge(p, message_intent(text_bytes(other)));
      CHECK(d.verdict == Verdict::kDeny);
      CHECK(has_reason(d, "no-matching-rule"));
    }
  }

  TEST_CASE("a message rule with a prefix allows messages that begin with it, byte for byte") {
    const Policy p = load(with_rules(base_policy(), allow_messages({{"message", {{"prefix", "Sign in to example.com"}}}})));
    CHECK(judge(p, message_intent(text_bytes("Sign in to example.com"))).verdict == Verdict::kAllow);
    CHECK(judge(p, message_intent(text_bytes("Sign in to example.com\nNonce: 8f2a"))).verdict == Verdict::kAllow);
    for (std::string_view other : {"Sign in to example.co", "sign in to example.com", " Sign in to example.com",
                                   "Please Sign in to example.com", ""}) {
      CHECK(judge(p, message_intent(text_bytes(other))).verdict == Verdict::kDeny);
    }
  }

  TEST_CASE("a message rule with a hash matches keccak256 of the raw message bytes, not the EIP-191 digest") {
    const Bytes message = text_bytes("I accept the terms of service, v3");
    const Policy raw = load(with_rules(base_policy(), allow_messages({{"message", {{"hash", to_hex(keccak256(message))}}}})));
    CHECK(judge(raw, message_intent(message)).verdict == Verdict::kAllow);
    CHECK(judge(raw, message_intent(text_bytes("I accept the terms of service, v4"))).verdict == Verdict::kDeny);
    const Policy eip191 =
        load(with_rules(base_policy(), allow_messages({{"message", {{"hash", to_hex(personal_message_digest(message))}}}})));
    CHECK(judge(eip191, message_intent(message)).verdict == Verdict::kDeny);
  }

  TEST_CASE("several message conditions: any one is enough; each still has to hold for the message") {
    const Policy p = load(with_rules(base_policy(), allow_messages({{"message", json::array({{{"text", "a"}}, {{"prefix", "Login "}}})}})));
    CHECK(judge(p, message_intent(text_bytes("a"))).verdict == Verdict::kAllow);
    CHECK(judge(p, message_intent(text_bytes("Login 42"))).verdict == Verdict::kAllow);
    CHECK(judge(p, message_intent(text_bytes("b"))).verdict == Verdict::kDeny);
  }

  TEST_CASE("a message condition does not hold for a transfer: a deny rule on message content denies no transfer") {
    json rules = json::array({{{"id", "no-scam"}, {"match", {{"message", {{"prefix", "Transfer"}}}}}, {"effect", "deny"}}});
    const json base = base_policy();
    for (const auto& r : base.at("rules")) rules.push_back(r);
    const Policy p = load(with_rules(base_policy(), rules));
    CHECK(judge(p, usdc_to(kCustomer, 5)).verdict == Verdict::kAllow);
    const Decision scam = judge(p, message_intent(text_bytes("Transfer all funds")));
    CHECK(scam.verdict == Verdict::kDeny);
    CHECK(scam.rule == "no-scam");
    // An allow rule with a message condition allows no transfer either.
    const Policy only_messages = load(with_rules(base_policy(), json::array({{{"id", "m"}, {"match", {{"message", {{"prefix", "x"}}}}}, {"effect", "allow"}}})));
    CHECK(judge(only_messages, usdc_to(kCustomer, 5)).verdict == Verdict::kDeny);
  }

  TEST_CASE("a message condition on typed data whose content is not bytes never allows it and always lets a deny rule match") {
    const json typed = {{"types", {{"EIP712Domain", {{{"name", "name"}, {"type", "string"}}}}, {"Mail", {{{"name", "text"}, {"type", "string"}}}}}},
                        {"primaryType", "Mail"},
                        {"domain", {{"name", "x"}}},
                        {"message", {{"text", "Sign in"}}}};
    IntentContext ctx;
    ctx.signer = kOps;
    ctx.chain_id = 1;
    auto intent = intent_from_typed_data(parse_typed_data(typed).value(), ctx);
    REQUIRE(intent.has_value());
    CHECK(judge(load(with_rules(base_policy(), allow_messages({{"message", {{"prefix", "Sign in"}}}}))), *intent).verdict == Verdict::kDeny);
    json rules = json::array({{{"id", "deny-sign-in"}, {"match", {{"message", {{"prefix", "Sign in"}}}}}, {"effect", "deny"}}});
    rules.push_back(allow_messages()[0]);
    const Decision d = judge(load(with_rules(base_policy(), rules)), *intent);
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(d.rule == "deny-sign-in");
  }

  TEST_CASE("a Safe's SafeMessage typed data is judged as a message of that Safe, never of the signer") {
    const Intent intent = safe_message_intent(kSafe, text_bytes("Sign in to example.com"));
    CHECK(intent.wallet == kSafe);
    REQUIRE(intent.message.has_value());
    CHECK(*intent.message == text_bytes("Sign in to example.com"));
    // A rule for the guard's own account does not let the Safe vouch for anything.
    const Policy ops_only = load(with_rules(base_policy(), allow_messages({{"wallet", "ops"}})));
    const Decision as_ops = judge(ops_only, intent);
    CHECK(as_ops.verdict == Verdict::kDeny);
    CHECK(as_ops.wallet == std::optional<std::string>("hot"));
    // The Safe's own rule, on the inner message's content, does.
    const Policy hot = load(with_rules(base_policy(), allow_messages({{"wallet", "hot"}, {"message", {{"prefix", "Sign in to "}}}})));
    CHECK(judge(hot, intent).verdict == Verdict::kAllow);
    CHECK(judge(hot, safe_message_intent(kSafe, text_bytes("Transfer everything"))).verdict == Verdict::kDeny);
    // A SafeMessage of a Safe the policy does not declare: unknown wallet.
    CHECK(has_reason(judge(hot, safe_message_intent(kCold, text_bytes("Sign in to example.com"))), "unknown-wallet"));
  }

  TEST_CASE("a SafeMessage whose inner message is 32 bytes is refused as a hash, even when the Safe's messages are allowed") {
    const Policy hot = load(with_rules(base_policy(), allow_messages({{"wallet", "hot"}})));
    const SafeTxRequest denied = safe_request(kSafe, kUsdc, erc20_transfer(kSanctioned, 1));
    const Hash32 h = safe_tx_hash(denied.tx, denied.domain);
    const Decision d = judge(hot, safe_message_intent(kSafe, Bytes(h.begin(), h.end())));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "message-is-a-hash"));
    CHECK(judge(hot, safe_message_intent(kSafe, text_bytes("gm"))).verdict == Verdict::kAllow);
  }
}

namespace {

const AbiFunction& builtin(std::string_view signature) {
  for (const AbiFunction* f : FunctionRegistry::builtin().lookup(selector_of(signature))) {
    if (f->signature == signature) return *f;
  }
  FAIL("no built-in function " << signature);
  throw std::logic_error("unreachable");
}

// execTransaction(...) of `inner` with one packed 65-byte signature.
Bytes exec_transaction(const SafeTx& inner, const Bytes& signature) {
  const AbiValue args[] = {AbiValue::address(inner.to), AbiValue::uint(inner.value), AbiValue::bytes(inner.data),
                           AbiValue::uint(inner.operation == Operation::kCall ? 0 : 1), AbiValue::uint(0), AbiValue::uint(0),
                           AbiValue::uint(0), AbiValue::address(Address{}), AbiValue::address(Address{}),
                           AbiValue::bytes(signature)};
  return encode_call(builtin("execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"), args);
}

// A v = 1 Safe signature: r = the owner, s = 0 (approved hash, or msg.sender).
Bytes approved_hash_signature(const Address& owner) {
  Bytes sig(65, 0);
  std::copy(owner.view().begin(), owner.view().end(), sig.begin() + 12);
  sig[64] = 1;
  return sig;
}

json allow_everything() {
  return json::array({{{"id", "everything"},
                       {"effect", "allow"},
                       {"lifts", {"unsafe-delegatecall", "safe-configuration-change", "unknown-selector", "gas-refund",
                                  "contract-creation", "eip7702-delegation", "unlimited-approval"}}}});
}

}  // namespace

TEST_SUITE("evaluate: owner approvals outside the Safe route") {
  TEST_CASE("a transaction calling approveHash on a Safe is refused as an owner's approval of a hash, whatever the rules say") {
    const Hash32 h = safe_tx_hash(safe_request(kSafe, kUsdc, erc20_transfer(kSanctioned, 1)).tx,
                                  safe_request(kSafe, kUsdc, erc20_transfer(kSanctioned, 1)).domain);
    const AbiValue args[] = {AbiValue::bytes(Bytes(h.begin(), h.end()))};
    const Bytes data = encode_call(builtin("approveHash(bytes32)"), args);
    const Decision d = judge(load(with_rules(base_policy(), allow_everything())), intent_of(txguard::test::transaction(kOps, kSafe, data)));
    CHECK(d.verdict == Verdict::kDeny);
    CHECK(has_reason(d, "safe-hash-approval"));
    // Through a Safe transaction of another Safe too (a Safe that owns a Safe).
    const Decision nested = judge(load(with_rules(base_policy(), allow_everything())), safe_intent(kCold, data));
    CHECK(has_reason(nested, "safe-hash-approval"));
  }

  TEST_CASE("an execTransaction sent by an owner naming itself in a v = 1 signature is refused as that owner's approval") {
    SafeTx inner;
    inner.to = kUsdc;
    inner.data = erc20_transfer(kCustomer, 1);
    const Policy p = load(with_rules(base_policy(), allow_everything()));
    const Decision own = judge(p, intent_of(txguard::test::transaction(kOps, kSafe, exec_transaction(inner, approved_hash_signature(kOps)))));
    CHECK(own.verdict == Verdict::kDeny);
    CHECK(has_reason(own, "safe-hash-approval"));
    // Relaying a Safe transaction signed by someone else is not the sender's approval.
    const Decision relay = judge(p, intent_of(txguard::test::transaction(kOps, kSafe, exec_transaction(inner, approved_hash_signature(kAlice)))));
    CHECK_FALSE(has_reason(relay, "safe-hash-approval"));
    CHECK(relay.verdict == Verdict::kAllow);
  }
}

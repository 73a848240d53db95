// policy::judge_request, the one entry point that decides a signing request, driven directly: the order
// of once only, pauses, the request to lift a pause and the rules, without a database or a service.
#include <doctest/doctest.h>

#include "tests/support/builders.hpp"

#include <nlohmann/json.hpp>

#include "policy/judge.hpp"

using namespace txguard::policy;
using namespace txguard::codec;
using txguard::test::addr;
using txguard::test::intent_of;
using txguard::test::safe_request;
using nlohmann::json;

namespace {

const Address kSafe = addr("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4");
const Address kCustomer = addr("0x976EA74026E726554dB657fA54763abd0C3a0aa9");
const Address kAlice = addr("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
constexpr TimeMs kNow = 1'795'341'600'000;  // 2026-11-22T10:00:00Z

Policy load(bool with_unpause) {
  json doc = {{"txguard_policy", 1},
              {"name", "judge"},
              {"chains", {{"ethereum", {{"id", 1}}}}},
              {"assets", {{"ETH", {{"chain", "ethereum"}, {"native", true}, {"decimals", 18}}}}},
              {"prices", {{"fixed", {{"ETH", "3000"}}}}},
              {"approvers", {{"alice", {{"address", to_checksum(kAlice)}}}}},
              {"wallets", {{"hot", {{"chain", "ethereum"}, {"address", to_checksum(kSafe)}, {"kind", "safe"}, {"safe_version", "1.4.1"}}}}},
              {"rules", json::array({{{"id", "pay"}, {"match", {{"leg", "transfer"}}}, {"effect", "allow"}}})}};
  if (with_unpause) doc["bridges"] = {{"unpause", {{"approvers", {"alice"}}, {"quorum", 1}, {"expires", "2h"}}}};
  auto p = load_policy(doc.dump(), [](const std::string&) -> std::expected<std::string, std::string> {
    return std::unexpected(std::string("no file"));
  });
  REQUIRE(p.has_value());
  return *p;
}

struct Judged {
  Intent intent = intent_of(safe_request(kSafe, kCustomer, {}, Operation::kCall, U256(1)));
  RequestToJudge request;
  Judged() {
    request.intent = &intent;
    request.requester = "ops";
    request.now_ms = kNow;
    request.decision_id = "d-1";
  }
  Judgement run(const Policy& policy) {
    EmptyStateView empty;
    auto j = judge_request(policy, PriceTable{}, request, empty);
    REQUIRE(j.has_value());
    return *j;
  }
};

std::vector<std::string> codes(const Decision& d) {
  std::vector<std::string> out;
  for (const auto& r : d.reasons) out.push_back(r.code);
  return out;
}

}  // namespace

TEST_SUITE("judge") {
  TEST_CASE("the rules decide a request nothing else stops") {
    Judged j;
    const Judgement out = j.run(load(false));
    CHECK(out.decision.verdict == Verdict::kAllow);
    CHECK(out.rules_judged);
    CHECK_FALSE(out.deferred);
  }

  TEST_CASE("once only comes first: a nonce another live request holds is refused, whatever else holds") {
    Judged j;
    j.request.claim = NonceClaim{"1", "0x1db9", "5"};
    j.request.holder = ClaimHolder{"d-0", "allowed"};
    j.request.pauses.push_back(PauseInForce{"*", kNow - 1});
    const Judgement out = j.run(load(false));
    CHECK(out.decision.verdict == Verdict::kDeny);
    CHECK(codes(out.decision) == std::vector<std::string>{"nonce-already-signed"});
    CHECK(out.decision.reasons.front().message.find("request d-0 (allowed)") != std::string::npos);
    CHECK_FALSE(out.rules_judged);
  }

  TEST_CASE("a pause of everything refuses a signing request, but an evaluation without effects is judged") {
    Judged j;
    j.request.pauses.push_back(PauseInForce{"*", kNow - 1});
    CHECK(codes(j.run(load(false)).decision) == std::vector<std::string>{"all-paused"});
    j.request.evaluate_only = true;
    CHECK(j.run(load(false)).decision.verdict == Verdict::kAllow);
    // A route's pause is not a pause of everything.
    Judged route;
    route.request.pauses.push_back(PauseInForce{"wormhole-eth", kNow - 1});
    CHECK(route.run(load(false)).decision.verdict == Verdict::kAllow);
  }

  TEST_CASE("a request to lift a pause is held for the unpause approvers, and refused when it cannot be") {
    Judged j;
    j.request.unpause_scope = "*";
    CHECK(codes(j.run(load(true)).decision) == std::vector<std::string>{"not-paused"});
    j.request.pauses.push_back(PauseInForce{"*", kNow - 60'000});
    const Judgement held = j.run(load(true));
    CHECK(held.decision.verdict == Verdict::kHold);
    CHECK(held.decision.rule == "bridges.unpause");
    REQUIRE(held.decision.holds.size() == 1);
    CHECK(held.decision.holds[0].approvers == std::vector<std::string>{"alice"});
    CHECK(held.decision.holds[0].expires_at_ms == kNow + 7'200'000);
    CHECK(codes(j.run(load(false)).decision) == std::vector<std::string>{"no-unpause-approvers"});
  }

  TEST_CASE("a pause covers every held request but the unpause; a route's pause only that route's releases") {
    const std::vector<PauseInForce> everything = {{"*", 1}};
    const std::vector<PauseInForce> route = {{"wormhole-eth", 1}};
    CHECK(pause_covering(everything, false, "") == "*");
    CHECK(pause_covering(everything, false, "wormhole-eth") == "*");
    CHECK_FALSE(pause_covering(everything, true, "").has_value());
    CHECK(pause_covering(route, false, "wormhole-eth") == "wormhole-eth");
    CHECK_FALSE(pause_covering(route, false, "other-route").has_value());
    CHECK_FALSE(pause_covering(route, false, "").has_value());
    CHECK_FALSE(pause_covering({}, false, "wormhole-eth").has_value());
  }

  TEST_CASE("the permit to co-sign comes only with an allowed decision that is not an evaluation") {
    Judged j;
    j.request.digest[0] = 0xab;
    const Judgement allowed = j.run(load(false));
    REQUIRE(allowed.permit.has_value());
    CHECK(allowed.permit->digest() == j.request.digest);
    j.request.evaluate_only = true;
    CHECK_FALSE(j.run(load(false)).permit.has_value());
    Judged paused;
    paused.request.pauses.push_back(PauseInForce{"*", kNow - 1});
    CHECK_FALSE(paused.run(load(false)).permit.has_value());
    Judged taken;
    taken.request.claim = NonceClaim{"1", "0x1db9", "5"};
    taken.request.holder = ClaimHolder{"d-0", "pending"};
    CHECK_FALSE(taken.run(load(false)).permit.has_value());
  }

  TEST_CASE("a held request is released with a permit once approved, unless a pause covers it; the unpause never") {
    const Policy policy = load(true);
    const std::vector<HoldRequirement> holds = {hold_requirement(policy, *policy.bridges.unpause, "r", kNow)};
    const std::vector<Approval> none;
    const std::vector<Approval> alice = {Approval{"alice", ApprovalVerdict::kApprove, {}, kNow}};
    Hash32 digest{};
    digest[0] = 0xcd;
    const std::vector<PauseInForce> nothing;
    const std::vector<PauseInForce> everything = {{"*", kNow - 1}};
    CHECK_FALSE(judge_hold_release(holds, none, kNow, nothing, false, "", digest).permit.has_value());
    const HoldRelease released = judge_hold_release(holds, alice, kNow, nothing, false, "", digest);
    REQUIRE(released.permit.has_value());
    CHECK(released.permit->digest() == digest);
    const HoldRelease waiting = judge_hold_release(holds, alice, kNow, everything, false, "", digest);
    CHECK_FALSE(waiting.permit.has_value());
    CHECK(waiting.paused_by == "*");
    CHECK(waiting.status.state == HoldState::kApproved);
    const HoldRelease lifting = judge_hold_release(holds, alice, kNow, everything, true, "", digest);
    CHECK_FALSE(lifting.permit.has_value());
    CHECK_FALSE(lifting.paused_by.has_value());
    CHECK(lifting.status.state == HoldState::kApproved);
  }
}

#include <doctest/doctest.h>

#include "policy/holds.hpp"

using namespace txguard::policy;

namespace {

constexpr TimeMs kDecided = 1'795'341'600'000;

HoldRequirement two_of_three(bool reject_denies = true) {
  HoldRequirement h;
  h.rule = "large-withdrawal";
  h.approvers = {"alice", "bob", "carol"};
  h.quorum = 2;
  h.not_before_ms = kDecided + 3'600'000;
  h.expires_at_ms = kDecided + 86'400'000;
  h.reject_denies = reject_denies;
  return h;
}

Approval approve(std::string who) { return Approval{std::move(who), ApprovalVerdict::kApprove, {}, kDecided}; }
Approval reject(std::string who) { return Approval{std::move(who), ApprovalVerdict::kReject, {}, kDecided}; }

}  // namespace

TEST_SUITE("holds") {
  TEST_CASE("a quorum of eligible approvals releases the hold once the delay has passed") {
    const HoldRequirement h[] = {two_of_three()};
    const Approval two[] = {approve("alice"), approve("carol")};
    CHECK(hold_status(h, two, kDecided + 3'600'000).state == HoldState::kApproved);
    // One millisecond before the delay ends: still pending, ready_at says when.
    const HoldStatus early = hold_status(h, two, kDecided + 3'599'999);
    CHECK(early.state == HoldState::kPending);
    CHECK(early.ready_at_ms == kDecided + 3'600'000);
  }

  TEST_CASE("one approval short of the quorum stays pending") {
    const HoldRequirement h[] = {two_of_three()};
    const Approval one[] = {approve("alice")};
    const HoldStatus s = hold_status(h, one, kDecided + 7'200'000);
    CHECK(s.state == HoldState::kPending);
    CHECK(s.why.find("1 of 2") != std::string::npos);
  }

  TEST_CASE("an approver counts once and an ineligible approver not at all") {
    const HoldRequirement h[] = {two_of_three()};
    const Approval twice[] = {approve("alice"), approve("alice"), approve("mallory")};
    CHECK(hold_status(h, twice, kDecided + 7'200'000).state == HoldState::kPending);
  }

  TEST_CASE("a rejection denies at once when the rule says so") {
    const HoldRequirement h[] = {two_of_three(true)};
    const Approval mixed[] = {approve("alice"), approve("bob"), reject("carol")};
    const HoldStatus s = hold_status(h, mixed, kDecided + 7'200'000);
    CHECK(s.state == HoldState::kRejected);
    CHECK(s.why.find("carol") != std::string::npos);
  }

  TEST_CASE("with rejections counted, the hold is rejected only when the quorum is out of reach") {
    const HoldRequirement h[] = {two_of_three(false)};
    const Approval one_no[] = {reject("carol")};
    CHECK(hold_status(h, one_no, kDecided + 7'200'000).state == HoldState::kPending);
    const Approval one_no_two_yes[] = {reject("carol"), approve("alice"), approve("bob")};
    CHECK(hold_status(h, one_no_two_yes, kDecided + 7'200'000).state == HoldState::kApproved);
    const Approval two_no[] = {reject("carol"), reject("bob")};
    CHECK(hold_status(h, two_no, kDecided + 7'200'000).state == HoldState::kRejected);
  }

  TEST_CASE("a hold expires at its expiry, even with a quorum that came too late") {
    const HoldRequirement h[] = {two_of_three()};
    const Approval none[] = {approve("alice")};
    CHECK(hold_status(h, std::span<const Approval>(none, 1), kDecided + 86'399'999).state == HoldState::kPending);
    CHECK(hold_status(h, std::span<const Approval>(none, 1), kDecided + 86'400'000).state == HoldState::kExpired);
  }

  TEST_CASE("every requirement must be met: two hold rules need both quorums") {
    HoldRequirement a = two_of_three();
    HoldRequirement b;
    b.rule = "prices.when_missing";
    b.approvers = {"dave"};
    b.quorum = 1;
    b.not_before_ms = kDecided;
    b.expires_at_ms = kDecided + 86'400'000;
    const HoldRequirement both[] = {a, b};
    const Approval only_a[] = {approve("alice"), approve("bob")};
    CHECK(hold_status(both, only_a, kDecided + 7'200'000).state == HoldState::kPending);
    const Approval all[] = {approve("alice"), approve("bob"), approve("dave")};
    CHECK(hold_status(both, all, kDecided + 7'200'000).state == HoldState::kApproved);
    CHECK(eligible_approvers(both) == std::vector<std::string>{"alice", "bob", "carol", "dave"});
  }

  TEST_CASE("no requirements can never be approved") {
    CHECK(hold_status({}, {}, kDecided).state == HoldState::kRejected);
  }
}

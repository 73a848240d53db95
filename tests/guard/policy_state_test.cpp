// The policy evaluator on the real SQLite state store, end to end, the way the server runs it: one
// request = evaluate() inside StateStore::transact(), applying exactly the decision's effects. Proves
// that a large withdrawal split into many small ones, or sent by many connections at once, stops at
// the window; that a denied request consumes nothing; and that a held request reserves its amount
// until it is approved (commit) or rejected (release).
#include <doctest/doctest.h>
#include <stdlib.h>

#include "tests/support/test_database.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/builders.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/store/sql_state_store.hpp"
#include "policy/document.hpp"
#include "policy/evaluate.hpp"

using namespace txguard::policy;
using namespace txguard::store;
using namespace txguard::codec;
using txguard::test::addr;
using txguard::test::erc20_transfer;
using txguard::test::intent_of;
using txguard::test::multisend_call;
using txguard::test::safe_request;
using nlohmann::json;

namespace {

constexpr TimeMs kT0 = 1'795'341'600'000;  // 2026-11-22T10:00:00Z; fixed instants only, no wall clock
constexpr TimeMs kMinute = 60'000;
constexpr TimeMs kHour = 60 * kMinute;
constexpr TimeMs kDay = 24 * kHour;

const Address kSafe = addr("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4");
const Address kUsdc = addr("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
const Address kCustomer = addr("0x976EA74026E726554dB657fA54763abd0C3a0aa9");
const Address kAlice = addr("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
const Address kBob = addr("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
// On the OFAC SDN list (Lazarus Group), fixtures/sanctions/ofac/sanctioned_addresses_ETH.txt.
const Address kSanctioned = addr("0x098B716B8Aaf21512996dC57EB0615e2383E2f96");
const Address kMultiSendCallOnly141 = addr("0x9641d764fc13c8B624c04430C7356C1C7C8102e2");

/// `whole` USD as micro-dollars. USDC has 6 decimals and a fixed price of 1, so this is also the
/// amount in USDC base units.
U256 usd(std::uint64_t whole) { return U256(whole) * 1'000'000; }

const U256 kLimit = usd(100'000);

// The ledger the policy's daily-usd limit (per wallet) is kept in.
LedgerKey daily_key() {
  ScopeParts parts;
  parts.wallet = kSafe;
  return LedgerKey{"daily-usd", ScopeKey::make(parts)};
}

std::string cs(const Address& a) { return to_checksum(a); }

/// The i-th of many distinct plain destinations (digits only, so no EIP-55 case to get wrong).
Address destination(int i) {
  const std::string suffix = (i < 10 ? "0" : "") + std::to_string(i);
  return addr("0x1" + std::string(37, '0') + suffix);
}

/// A 24 h window of 100,000 USD per wallet; sanctioned addresses denied; USDC transfers allowed
/// within the window. `with_hold` adds a hold rule for transfers above 50,000 USD, charged to the
/// same window (so a held request reserves its amount).
json policy_doc(bool with_hold = false) {
  json rules = json::array({
      {{"id", "deny-sanctioned"}, {"match", {{"any_address", "sanctioned"}}}, {"effect", "deny"},
       {"reason", "sanctioned-address"}},
      {{"id", "withdrawals"}, {"match", {{"leg", "transfer"}, {"asset", "USDC"}}}, {"effect", "allow"},
       {"limits", {"daily-usd"}}},
  });
  if (with_hold) {
    rules.insert(rules.begin() + 1,
                 json{{"id", "large-withdrawal"},
                      {"match", {{"leg", "transfer"}, {"asset", "USDC"}, {"usd", {{">", "50000"}}}}},
                      {"effect", "hold"},
                      {"hold", {{"approvers", {"alice", "bob"}}, {"quorum", 1}, {"delay", "10m"}, {"expires", "1h"}}},
                      {"limits", {"daily-usd"}}});
  }
  return json{{"txguard_policy", 1},
              {"name", "policy-state-test"},
              {"chains", {{"ethereum", {{"id", 1}}}}},
              {"assets", {{"USDC", {{"chain", "ethereum"}, {"address", cs(kUsdc)}, {"decimals", 6}}}}},
              {"prices", {{"fixed", {{"USDC", "1"}}}, {"max_age", "15m"}}},
              {"lists", {{"sanctioned", {{"addresses", {cs(kSanctioned)}}}}}},
              {"approvers", {{"alice", {{"address", cs(kAlice)}}}, {"bob", {{"address", cs(kBob)}}}}},
              {"wallets",
               {{"hot", {{"chain", "ethereum"}, {"address", cs(kSafe)}, {"kind", "safe"}, {"safe_version", "1.4.1"}}}}},
              {"limits", {{"daily-usd", {{"window", "24h"}, {"max_usd", "100000"}, {"per", {"wallet"}}}}}},
              {"rules", rules}};
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

Intent usdc_to(const Address& to, const U256& units) {
  return intent_of(safe_request(kSafe, kUsdc, erc20_transfer(to, units)));
}

using TempDir = txguard::test::TempDir;

// Options with a lock timeout, and whether to run the integrity check at open.
DatabaseOptions waiting(std::chrono::milliseconds lock_timeout, bool check_integrity) {
  DatabaseOptions options;
  options.lock_timeout = lock_timeout;
  options.check_integrity = check_integrity;
  return options;
}

std::unique_ptr<SqlStateStore> open_ok(const txguard::test::TestDatabase& db, DatabaseOptions options = {}) {
  auto store = SqlStateStore::open(db.name, db.options(options));
  if (!store) FAIL("open failed: " << store.error().message());
  return std::move(*store);
}

const PriceTable kNoPriceFile{};  // USDC's price is fixed in the policy

struct Outcome {
  StateResult<Effects> applied;
  Decision decision;
};

// One request exactly as the server handles it: evaluate inside the write transaction and apply the
// decision's effects. No doctest assertions here: it also runs on the racing threads.
Outcome submit(StateStore& store, const Policy& policy, const Intent& intent, TimeMs now, std::string decision_id) {
  const EvalInput input{&intent, "ops-bot", now, std::move(decision_id)};
  Decision decision;
  auto applied = store.transact([&](const StateView& view) -> StateResult<Effects> {
    auto d = evaluate(policy, input, kNoPriceFile, view);
    if (!d) return std::unexpected(d.error());
    decision = *d;
    return d->effects;
  });
  return {std::move(applied), std::move(decision)};
}

// submit() on the test thread: the transaction must succeed and apply exactly the decision's effects.
Decision judged(StateStore& store, const Policy& policy, const Intent& intent, TimeMs now, std::string decision_id) {
  Outcome out = submit(store, policy, intent, now, std::move(decision_id));
  REQUIRE_MESSAGE(out.applied.has_value(), out.applied.error().message());
  CHECK(*out.applied == out.decision.effects);
  return std::move(out.decision);
}

// The daily-usd window's sum at `now` (debits and pending reservations dated after now - 24 h), read
// through a transaction that applies nothing.
U256 window_used(StateStore& store, TimeMs now) {
  U256 sum = 0;
  auto applied = store.transact([&](const StateView& view) -> StateResult<Effects> {
    auto s = view.window_sum(daily_key(), now - kDay);
    if (!s) return std::unexpected(s.error());
    sum = *s;
    return Effects{};
  });
  REQUIRE_MESSAGE(applied.has_value(), applied.error().message());
  CHECK(applied->empty());
  return sum;
}

const Reason* find_reason(const Decision& d, std::string_view code) {
  for (const auto& r : d.reasons) {
    if (r.code == code) return &r;
  }
  return nullptr;
}

// A request denied by the daily-usd limit: the reason names the limit, the limit check says what was
// used and what was left, and nothing is applied.
void check_denied_by_limit(const Decision& d, const U256& used_before, const U256& headroom) {
  CHECK(d.verdict == Verdict::kDeny);
  const Reason* r = find_reason(d, reason::kLimitExceeded);
  REQUIRE_MESSAGE(r != nullptr, to_json(d).dump());
  CHECK(r->message.find("daily-usd") != std::string::npos);
  REQUIRE(d.limits.size() == 1);
  CHECK(d.limits[0].limit == "daily-usd");
  CHECK(d.limits[0].scope == daily_key().scope.text);
  CHECK_FALSE(d.limits[0].allowed);
  CHECK(d.limits[0].used == used_before);
  CHECK(d.limits[0].headroom == headroom);
  CHECK(d.effects.empty());
  CHECK(d.holds.empty());
}

// An allowed request: one debit of `amount` on the daily-usd ledger at `now`.
void check_debited(const Decision& d, const U256& amount, TimeMs now) {
  CHECK_MESSAGE(d.verdict == Verdict::kAllow, to_json(d).dump());
  CHECK(d.reasons.empty());
  REQUIRE(d.effects.size() == 1);
  const auto* debit = std::get_if<Debit>(&d.effects[0]);
  REQUIRE(debit != nullptr);
  CHECK(debit->key == daily_key());
  CHECK(debit->amount == amount);
  CHECK(debit->at_ms == now);
}

// A held request: one window reservation of `amount` on the daily-usd ledger at `now`, named after
// the decision, expiring with the hold (1 h). Returns the reservation id.
std::string check_reserved(const Decision& d, const U256& amount, TimeMs now) {
  CHECK_MESSAGE(d.verdict == Verdict::kHold, to_json(d).dump());
  CHECK(d.rule == "large-withdrawal");
  REQUIRE(d.holds.size() == 1);
  CHECK(d.holds[0].expires_at_ms == now + kHour);
  REQUIRE(d.effects.size() == 1);
  const auto* reserve = std::get_if<Reserve>(&d.effects[0]);
  REQUIRE(reserve != nullptr);
  CHECK(reserve->key == daily_key());
  CHECK(reserve->kind == ReservationKind::kWindow);
  CHECK(reserve->amount == amount);
  CHECK(reserve->at_ms == now);
  CHECK(reserve->expires_ms == now + kHour);
  CHECK(reserve->id.starts_with(d.decision_id));
  return reserve->id;
}

}  // namespace

TEST_SUITE("policy with a SQLite state store") {

TEST_CASE("a large withdrawal split into many small ones stops at the daily window") {
  const Policy policy = load(policy_doc());
  TempDir dir{"txguard-policy-state"};
  const auto state_db = txguard::test::test_database(dir, "state.db");
  auto store = open_ok(state_db);

  // 20 x 9,000 USD to 20 different destinations, 10 minutes apart: 180,000 asked, 100,000 allowed.
  int allowed = 0;
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    const TimeMs at = kT0 + i * 10 * kMinute;
    const Decision d = judged(*store, policy, usdc_to(destination(i), usd(9'000)), at, "split-" + std::to_string(i));
    if (i < 11) {
      check_debited(d, usd(9'000), at);
      ++allowed;
    } else {
      check_denied_by_limit(d, usd(99'000), usd(1'000));
      CHECK(d.rule == "withdrawals");
      CHECK(d.reasons.size() == 1);
    }
  }
  CHECK(allowed == 11);
  const TimeMs last = kT0 + 200 * kMinute;
  CHECK(window_used(*store, last) == usd(99'000));

  // Exactly up to the limit passes; one base unit more does not.
  check_debited(judged(*store, policy, usdc_to(destination(20), usd(1'000)), last, "top-up"), usd(1'000), last);
  CHECK(window_used(*store, last) == kLimit);
  check_denied_by_limit(judged(*store, policy, usdc_to(destination(21), 1), last + 1, "one-unit"), kLimit, 0);
  CHECK(window_used(*store, last + 1) == kLimit);

  // The first debit (kT0) counts until kT0 + 24 h - 1 ms and stops counting at exactly kT0 + 24 h.
  check_denied_by_limit(judged(*store, policy, usdc_to(destination(22), 1), kT0 + kDay - 1, "day-minus-1ms"), kLimit, 0);
  check_denied_by_limit(judged(*store, policy, usdc_to(destination(22), usd(9'000) + 1), kT0 + kDay, "day-plus-unit"),
                        usd(91'000), usd(9'000));
  CHECK(window_used(*store, kT0 + kDay) == usd(91'000));
  check_debited(judged(*store, policy, usdc_to(destination(23), usd(9'000)), kT0 + kDay + 1, "day-plus-1ms"), usd(9'000),
                kT0 + kDay + 1);
  // Full again: the second debit (kT0 + 10 min) still counts until kT0 + 24 h + 10 min.
  check_denied_by_limit(judged(*store, policy, usdc_to(destination(24), 1), kT0 + kDay + 10 * kMinute - 1, "again"),
                        kLimit, 0);
  CHECK(window_used(*store, kT0 + kDay + 10 * kMinute) == usd(91'000));
}

TEST_CASE("eight threads racing one window on one SQLite file never overshoot it") {
  const Policy policy = load(policy_doc());
  TempDir dir{"txguard-policy-state"};
  const txguard::test::TestDatabase path = txguard::test::test_database(dir, "state.db");
  { auto create = open_ok(path); }
  constexpr int kThreads = 8;
  constexpr int kRequests = 50;  // 8 x 50 x 1,000 USD = 400,000 USD asked against 100,000
  // One connection per thread on the same file, as separate server processes would have.
  std::vector<std::unique_ptr<SqlStateStore>> stores;
  for (int t = 0; t < kThreads; ++t) stores.push_back(open_ok(path, waiting(std::chrono::seconds(60), false)));
  std::vector<Intent> intents;
  for (int t = 0; t < kThreads; ++t) intents.push_back(usdc_to(destination(t), usd(1'000)));

  struct Result {
    std::optional<StateErrc> error;
    Verdict verdict = Verdict::kDeny;
    bool limit_reason = false;
    std::size_t reasons = 0;
    std::size_t limit_checks = 0;
    U256 used;                  // what the decision saw already in the window
    U256 debited;               // sum of the debits applied
    std::size_t effects = 0;
    bool applied_is_decided = false;
  };
  std::vector<std::vector<Result>> results(kThreads);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const auto ti = static_cast<std::size_t>(t);
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kRequests; ++i) {
        Outcome out = submit(*stores[ti], policy, intents[ti], kT0 + i,
                             "race-" + std::to_string(t) + "-" + std::to_string(i));
        Result r;
        if (!out.applied) {
          r.error = out.applied.error().code;
          results[ti].push_back(std::move(r));
          continue;
        }
        const Decision& d = out.decision;
        r.verdict = d.verdict;
        r.limit_reason = find_reason(d, reason::kLimitExceeded) != nullptr;
        r.reasons = d.reasons.size();
        r.limit_checks = d.limits.size();
        if (!d.limits.empty()) r.used = d.limits[0].used;
        for (const Effect& e : *out.applied) {
          if (const auto* debit = std::get_if<Debit>(&e); debit && debit->key == daily_key()) r.debited += debit->amount;
        }
        r.effects = out.applied->size();
        r.applied_is_decided = *out.applied == d.effects;
        results[ti].push_back(std::move(r));
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();

  int allowed = 0;
  int denied = 0;
  int unavailable = 0;
  int other_errors = 0;
  int other_verdicts = 0;
  U256 total;
  std::vector<U256> seen_before_allowed;
  for (const auto& per_thread : results) {
    REQUIRE(per_thread.size() == static_cast<std::size_t>(kRequests));
    for (const Result& r : per_thread) {
      if (r.error) {
        (*r.error == StateErrc::kUnavailable ? unavailable : other_errors) += 1;
        continue;
      }
      CHECK(r.applied_is_decided);
      CHECK(r.limit_checks == 1);
      if (r.verdict == Verdict::kAllow) {
        ++allowed;
        CHECK(r.effects == 1);
        CHECK(r.debited == usd(1'000));
        CHECK(r.reasons == 0);
        CHECK(r.used + r.debited <= kLimit);  // each grant fit what was already committed
        seen_before_allowed.push_back(r.used);
        total += r.debited;
      } else if (r.verdict == Verdict::kDeny) {
        ++denied;
        CHECK(r.limit_reason);
        CHECK(r.reasons == 1);
        CHECK(r.effects == 0);
        CHECK(r.used == kLimit);  // only ever denied once the window was full
      } else {
        ++other_verdicts;
      }
    }
  }
  CHECK(unavailable == 0);  // the lock timeout is generous; a timeout would be fail-closed, not an overshoot
  CHECK(other_errors == 0);
  CHECK(other_verdicts == 0);
  CHECK(total <= kLimit);
  CHECK(allowed + unavailable == 100);
  CHECK(allowed == 100);
  CHECK(denied == kThreads * kRequests - 100 - unavailable);
  // Serialized: the allowed requests saw 0, 1,000, ..., 99,000 already used, each exactly once.
  std::sort(seen_before_allowed.begin(), seen_before_allowed.end());
  std::vector<U256> expected;
  for (std::uint64_t k = 0; k < 100; ++k) expected.push_back(usd(1'000 * k));
  CHECK(seen_before_allowed == expected);

  stores.clear();
  auto fresh = open_ok(path);
  CHECK(window_used(*fresh, kT0 + kRequests) == kLimit);
}

TEST_CASE("a denied request consumes nothing from the store") {
  const Policy policy = load(policy_doc());
  TempDir dir{"txguard-policy-state"};
  const auto state_db = txguard::test::test_database(dir, "state.db");
  auto store = open_ok(state_db);

  // Denied by a rule: no limit is even read, nothing is written.
  const Decision sanctioned = judged(*store, policy, usdc_to(kSanctioned, usd(1'000)), kT0, "sanctioned");
  CHECK(sanctioned.verdict == Verdict::kDeny);
  const Reason* r = find_reason(sanctioned, "sanctioned-address");
  REQUIRE(r != nullptr);
  REQUIRE(r->address.has_value());
  CHECK(*r->address == kSanctioned);
  CHECK(sanctioned.effects.empty());
  CHECK(sanctioned.inputs.reads.empty());
  CHECK(sanctioned.limits.empty());
  CHECK(window_used(*store, kT0) == 0);

  // A batch whose clean leg alone would be allowed, denied for its sanctioned leg: the clean leg
  // consumes nothing either.
  const std::vector<txguard::test::BatchItem> items = {
      {Operation::kCall, kUsdc, 0, erc20_transfer(kCustomer, usd(10'000))},
      {Operation::kCall, kUsdc, 0, erc20_transfer(kSanctioned, 1)},
  };
  const Intent batch =
      intent_of(safe_request(kSafe, kMultiSendCallOnly141, multisend_call(items), Operation::kDelegateCall));
  const Decision mixed = judged(*store, policy, batch, kT0 + 1, "mixed-batch");
  CHECK(mixed.verdict == Verdict::kDeny);
  CHECK(find_reason(mixed, "sanctioned-address") != nullptr);
  CHECK(mixed.effects.empty());
  CHECK(window_used(*store, kT0 + 1) == 0);

  // Denied by the limit: it reads the window but writes nothing, however often it is retried.
  check_debited(judged(*store, policy, usdc_to(kCustomer, usd(60'000)), kT0 + 2, "first"), usd(60'000), kT0 + 2);
  for (int i = 0; i < 5; ++i) {
    const Decision over = judged(*store, policy, usdc_to(kCustomer, usd(40'000) + 1), kT0 + 3 + i, "over-" + std::to_string(i));
    check_denied_by_limit(over, usd(60'000), usd(40'000));
    CHECK(over.inputs.reads.size() == 1);
    CHECK(window_used(*store, kT0 + 3 + i) == usd(60'000));
  }
  // The denied attempts left the whole headroom: exactly the rest still passes.
  check_debited(judged(*store, policy, usdc_to(kCustomer, usd(40'000)), kT0 + 10, "rest"), usd(40'000), kT0 + 10);
  CHECK(window_used(*store, kT0 + 10) == kLimit);

  // With the window full, a sanctioned request is still denied by its rule, not charged or counted.
  const Decision again = judged(*store, policy, usdc_to(kSanctioned, 1), kT0 + 11, "sanctioned-again");
  CHECK(again.verdict == Verdict::kDeny);
  CHECK(find_reason(again, "sanctioned-address") != nullptr);
  CHECK(find_reason(again, reason::kLimitExceeded) == nullptr);
  CHECK(window_used(*store, kT0 + 11) == kLimit);
}

TEST_CASE("a held request reserves its amount until approved or released") {
  const Policy policy = load(policy_doc(true));
  TempDir dir{"txguard-policy-state"};

  // The hold threshold: 50,000 USD is allowed (a debit), one base unit more is held (a reservation).
  {
    const auto threshold_db = txguard::test::test_database(dir, "threshold.db");
    auto store = open_ok(threshold_db);
    const Decision above = judged(*store, policy, usdc_to(kCustomer, usd(50'000) + 1), kT0, "above");
    const std::string id = check_reserved(above, usd(50'000) + 1, kT0);
    REQUIRE(store->release_reservation(id, kT0 + 1).has_value());
    const Decision at = judged(*store, policy, usdc_to(kCustomer, usd(50'000)), kT0 + 2, "at");
    check_debited(at, usd(50'000), kT0 + 2);
    CHECK(at.rule == "withdrawals");
  }

  const auto state_db = txguard::test::test_database(dir, "state.db");

  auto store = open_ok(state_db);
  // A held request's reservation counts against the window for a following allowed request.
  const std::string first = check_reserved(judged(*store, policy, usdc_to(kCustomer, usd(60'000)), kT0, "h-1"),
                                           usd(60'000), kT0);
  CHECK(window_used(*store, kT0) == usd(60'000));
  check_denied_by_limit(judged(*store, policy, usdc_to(kCustomer, usd(40'000) + 1), kT0 + 1, "after-hold"), usd(60'000),
                        usd(40'000));

  // Rejected: releasing it gives the room back, and a settled reservation cannot be settled again.
  REQUIRE(store->release_reservation(first, kT0 + 2).has_value());
  CHECK(window_used(*store, kT0 + 2) == 0);
  auto released_twice = store->release_reservation(first, kT0 + 2);
  REQUIRE_FALSE(released_twice.has_value());
  CHECK(released_twice.error().code == StateErrc::kNotFound);
  auto committed_after_release = store->commit_reservation(first);
  REQUIRE_FALSE(committed_after_release.has_value());
  CHECK(committed_after_release.error().code == StateErrc::kNotFound);
  CHECK(window_used(*store, kT0 + 2) == 0);
  check_debited(judged(*store, policy, usdc_to(kCustomer, usd(40'000) + 1), kT0 + 3, "after-release"), usd(40'000) + 1,
                kT0 + 3);

  // A held request that does not fit the window is denied and reserves nothing.
  check_denied_by_limit(judged(*store, policy, usdc_to(kCustomer, usd(60'000)), kT0 + 4, "hold-too-big"), usd(40'000) + 1,
                        usd(59'999) + 999'999);
  CHECK(window_used(*store, kT0 + 4) == usd(40'000) + 1);

  // Approved: the reservation becomes a debit at the request's time and keeps counting.
  const U256 rest = kLimit - (usd(40'000) + 1);
  const std::string second = check_reserved(judged(*store, policy, usdc_to(kCustomer, rest), kT0 + 5, "h-2"), rest, kT0 + 5);
  CHECK(window_used(*store, kT0 + 5) == kLimit);
  check_denied_by_limit(judged(*store, policy, usdc_to(kCustomer, 1), kT0 + 6, "while-pending"), kLimit, 0);
  REQUIRE(store->commit_reservation(second).has_value());
  CHECK(window_used(*store, kT0 + 7) == kLimit);
  check_denied_by_limit(judged(*store, policy, usdc_to(kCustomer, 1), kT0 + 8, "after-commit"), kLimit, 0);
  auto committed_twice = store->commit_reservation(second);
  REQUIRE_FALSE(committed_twice.has_value());
  CHECK(committed_twice.error().code == StateErrc::kNotFound);
  auto released_after_commit = store->release_reservation(second, kT0 + 9);
  REQUIRE_FALSE(released_after_commit.has_value());
  CHECK(released_after_commit.error().code == StateErrc::kNotFound);
  CHECK(window_used(*store, kT0 + 9) == kLimit);  // a late rejection cannot undo an approval
  // The committed debit is dated at the held request (kT0 + 5), not at its approval.
  CHECK(window_used(*store, kT0 + 5 + kDay - 1) == rest);
  CHECK(window_used(*store, kT0 + 5 + kDay) == 0);

  // Expired: expire_reservations releases a lapsed hold at its expiry and not a millisecond before.
  const TimeMs t1 = kT0 + 2 * kDay;
  const std::string third = check_reserved(judged(*store, policy, usdc_to(kCustomer, usd(70'000)), t1, "h-3"),
                                           usd(70'000), t1);
  auto early = store->expire_reservations(t1 + kHour - 1);
  REQUIRE(early.has_value());
  CHECK(*early == 0);
  check_denied_by_limit(judged(*store, policy, usdc_to(kCustomer, usd(30'000) + 1), t1 + kHour - 1, "before-expiry"),
                        usd(70'000), usd(30'000));
  auto expired = store->expire_reservations(t1 + kHour);
  REQUIRE(expired.has_value());
  CHECK(*expired == 1);
  CHECK(window_used(*store, t1 + kHour) == 0);
  auto commit_expired = store->commit_reservation(third);
  REQUIRE_FALSE(commit_expired.has_value());
  CHECK(commit_expired.error().code == StateErrc::kNotFound);
  check_debited(judged(*store, policy, usdc_to(kCustomer, usd(30'000) + 1), t1 + kHour, "after-expiry"), usd(30'000) + 1,
                t1 + kHour);
}

}  // TEST_SUITE

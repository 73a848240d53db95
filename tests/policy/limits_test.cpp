// Sliding windows, token buckets, scope keys and the recording/replay views, against an in-memory
// StateView that applies effects the way a store must.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "policy/limits.hpp"

using namespace txguard::policy;
using txguard::codec::Address;
using txguard::codec::parse_address;

namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;  // an arbitrary fixed instant; no wall clock anywhere
constexpr TimeMs kHour = 3'600'000;
constexpr TimeMs kDay = 24 * kHour;

// A minimal in-memory store: a list of dated entries per ledger, bucket levels, pending
// reservations. apply() follows the effect semantics documented in limits.hpp.
class MemoryState final : public StateView {
 public:
  StateResult<U256> window_sum(const LedgerKey& key, TimeMs after_ms) const override {
    ++reads;
    U256 sum = 0;
    for (const auto& [k, at, amount] : entries_) {
      if (k == key && at > after_ms) sum += amount;
    }
    for (const auto& [id, r] : reservations_) {
      if (r.kind == ReservationKind::kWindow && r.key == key && r.at_ms > after_ms) sum += r.amount;
    }
    return sum;
  }
  StateResult<std::optional<BucketState>> bucket(const LedgerKey& key) const override {
    ++reads;
    auto it = buckets_.find(key);
    if (it == buckets_.end()) return std::optional<BucketState>{};
    return std::optional<BucketState>{it->second.state};
  }
  void apply(const Effects& effects) {
    for (const Effect& e : effects) {
      if (const auto* d = std::get_if<Debit>(&e)) entries_.emplace_back(d->key, d->at_ms, d->amount);
      if (const auto* b = std::get_if<BucketSet>(&e)) buckets_.insert_or_assign(b->key, *b);
      if (const auto* r = std::get_if<Reserve>(&e)) reservations_.emplace(r->id, *r);
      if (const auto* c = std::get_if<CommitReservation>(&e)) {
        const Reserve r = reservations_.at(c->id);
        reservations_.erase(c->id);
        if (r.kind == ReservationKind::kWindow) entries_.emplace_back(r.key, r.at_ms, r.amount);
      }
      if (const auto* x = std::get_if<ReleaseReservation>(&e)) {
        const Reserve r = reservations_.at(x->id);
        reservations_.erase(x->id);
        if (r.kind == ReservationKind::kBucket) {
          const BucketSet& b = buckets_.at(r.key);
          buckets_.insert_or_assign(r.key, BucketSet{r.key, refund(b.limit, b.state, r.amount, x->at_ms), b.limit});
        }
      }
    }
  }
  mutable int reads = 0;

 private:
  std::vector<std::tuple<LedgerKey, TimeMs, U256>> entries_;
  std::map<LedgerKey, BucketSet> buckets_;
  std::map<std::string, Reserve> reservations_;
};

class FailingState final : public StateView {
 public:
  StateResult<U256> window_sum(const LedgerKey&, TimeMs) const override {
    return std::unexpected(StateError{StateErrc::kUnavailable, "locked"});
  }
  StateResult<std::optional<BucketState>> bucket(const LedgerKey&) const override {
    return std::unexpected(StateError{StateErrc::kIo, "disk"});
  }
};

const LedgerKey kKey{"withdrawals/daily", ScopeKey::make({.wallet = std::nullopt, .asset = "usdc", .destination = std::nullopt, .rule = std::nullopt, .requester = std::nullopt})};

// Checks and, when allowed, applies: the shape of one evaluation inside a transaction.
bool spend_window(MemoryState& s, const SlidingWindow& w, const U256& amount, TimeMs at) {
  auto check = check_window(w, kKey, amount, at, s);
  REQUIRE(check.has_value());
  if (check->allowed) s.apply(check->effects);
  return check->allowed;
}
bool spend_bucket(MemoryState& s, const TokenBucket& b, const U256& amount, TimeMs at) {
  auto check = check_bucket(b, kKey, amount, at, s);
  REQUIRE(check.has_value());
  if (check->allowed) s.apply(check->effects);
  return check->allowed;
}

}  // namespace

TEST_SUITE("limits") {

TEST_CASE("a window debit counts at exactly duration-1 ms later and not at exactly duration ms") {
  MemoryState s;
  const SlidingWindow w{kDay, 100};
  REQUIRE(spend_window(s, w, 100, kT0));
  CHECK_FALSE(spend_window(s, w, 1, kT0 + kDay - 1));  // still inside (now - duration, now]
  CHECK(spend_window(s, w, 100, kT0 + kDay));           // left the window exactly at t + duration
}

TEST_CASE("an amount equal to the remaining headroom passes and one unit more fails") {
  MemoryState s;
  const SlidingWindow w{kHour, 1000};
  REQUIRE(spend_window(s, w, 400, kT0));
  auto over = check_window(w, kKey, 601, kT0 + 1, s);
  REQUIRE(over.has_value());
  CHECK_FALSE(over->allowed);
  CHECK(over->headroom == 600);
  CHECK(over->used == 400);
  CHECK(over->effects.empty());
  auto exact = check_window(w, kKey, 600, kT0 + 1, s);
  REQUIRE(exact.has_value());
  CHECK(exact->allowed);
  REQUIRE(exact->effects.size() == 1);
  CHECK(std::get<Debit>(exact->effects[0]) == Debit{kKey, 600, kT0 + 1});
}

TEST_CASE("a large amount split into many small ones stops at the window") {
  MemoryState s;
  const SlidingWindow w{kDay, 1'000'000};  // e.g. one million micro-USD per day
  U256 taken = 0;
  int refused = 0;
  for (int i = 0; i < 500; ++i) {  // 500 x 7,000 = 3.5 million requested within one day
    if (spend_window(s, w, 7'000, kT0 + i * 60'000)) {
      taken += 7'000;
    } else {
      ++refused;
    }
  }
  CHECK(taken == 994'000);  // 142 whole pieces fit; the 143rd would exceed
  CHECK(refused == 500 - 142);
}

TEST_CASE("a fixed-midnight bypass does not work: the limit holds across any 24h span") {
  MemoryState s;
  const SlidingWindow w{kDay, 100};
  const TimeMs midnight = 1'700'006'400'000;  // a UTC midnight (divisible by 86,400,000)
  REQUIRE(midnight % kDay == 0);
  REQUIRE(spend_window(s, w, 100, midnight - 1));
  CHECK_FALSE(spend_window(s, w, 1, midnight + 1));
}

TEST_CASE("denied window requests consume nothing") {
  MemoryState s;
  const SlidingWindow w{kHour, 10};
  for (int i = 0; i < 20; ++i) CHECK_FALSE(spend_window(s, w, 11, kT0 + i));
  CHECK(spend_window(s, w, 10, kT0 + 30));
}

TEST_CASE("an amount that would overflow 256 bits in the sum is refused, not thrown") {
  MemoryState s;
  const SlidingWindow w{kHour, std::numeric_limits<U256>::max()};
  REQUIRE(spend_window(s, w, std::numeric_limits<U256>::max() - 5, kT0));
  CHECK_FALSE(spend_window(s, w, 6, kT0 + 1));
  CHECK(spend_window(s, w, 5, kT0 + 1));
}

TEST_CASE("a window lowered below its usage has zero headroom, not a negative one") {
  MemoryState s;
  REQUIRE(spend_window(s, SlidingWindow{kHour, 100}, 80, kT0));
  auto check = check_window(SlidingWindow{kHour, 50}, kKey, 1, kT0 + 1, s);
  REQUIRE(check.has_value());
  CHECK_FALSE(check->allowed);
  CHECK(check->headroom == 0);
}

TEST_CASE("a window of zero or negative duration is an invalid limit") {
  MemoryState s;
  auto zero = check_window(SlidingWindow{0, 100}, kKey, 1, kT0, s);
  REQUIRE_FALSE(zero.has_value());
  CHECK(zero.error().code == StateErrc::kInvalidLimit);
  CHECK_FALSE(check_window(SlidingWindow{-5, 100}, kKey, 1, kT0, s).has_value());
  CHECK(s.reads == 0);
}

TEST_CASE("a state read failure is returned, never an allow") {
  FailingState s;
  auto w = check_window(SlidingWindow{kHour, 100}, kKey, 1, kT0, s);
  REQUIRE_FALSE(w.has_value());
  CHECK(w.error().code == StateErrc::kUnavailable);
  auto b = check_bucket(TokenBucket{10, 1}, kKey, 1, kT0, s);
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error().code == StateErrc::kIo);
}

TEST_CASE("window reservations count while pending and stop counting when released") {
  MemoryState s;
  const SlidingWindow w{kDay, 100};
  auto held = check_window(w, kKey, 70, kT0, s, ReserveAs{"d1", kT0 + kHour});
  REQUIRE(held.has_value());
  REQUIRE(held->allowed);
  REQUIRE(std::holds_alternative<Reserve>(held->effects.at(0)));
  s.apply(held->effects);
  CHECK_FALSE(spend_window(s, w, 31, kT0 + 1));  // the pending 70 counts
  s.apply({ReleaseReservation{"d1", kT0 + 2}});
  CHECK(spend_window(s, w, 100, kT0 + 3));
}

TEST_CASE("a committed window reservation becomes a debit at its original time") {
  MemoryState s;
  const SlidingWindow w{kDay, 100};
  auto held = check_window(w, kKey, 60, kT0, s, ReserveAs{"d1", kT0 + kHour});
  REQUIRE(held.has_value());
  s.apply(held->effects);
  s.apply({CommitReservation{"d1"}});
  CHECK_FALSE(spend_window(s, w, 41, kT0 + kDay - 1));  // still counted until t0 + day
  CHECK(spend_window(s, w, 100, kT0 + kDay));           // dated t0, not the approval time
}

TEST_CASE("a full bucket allows its capacity and then refuses one more unit") {
  MemoryState s;
  const TokenBucket b{100, 1};
  CHECK(spend_bucket(s, b, 100, kT0));
  CHECK_FALSE(spend_bucket(s, b, 1, kT0));
}

TEST_CASE("a debit above capacity is always refused, even on a full bucket") {
  MemoryState s;
  const TokenBucket b{100, 1'000'000};
  auto check = check_bucket(b, kKey, 101, kT0, s);
  REQUIRE(check.has_value());
  CHECK_FALSE(check->allowed);
  CHECK(check->headroom == 100);
  CHECK_FALSE(spend_bucket(s, b, 101, kT0 + 10 * kDay));
}

TEST_CASE("a bucket refills by rate times elapsed milliseconds and not before") {
  MemoryState s;
  const TokenBucket b{100, 2};  // 2 tokens per second
  REQUIRE(spend_bucket(s, b, 100, kT0));
  CHECK_FALSE(spend_bucket(s, b, 10, kT0 + 4'999));  // 9.998 tokens
  CHECK(spend_bucket(s, b, 10, kT0 + 5'000));        // exactly 10
}

TEST_CASE("frequent small checks lose no refill to rounding") {
  MemoryState s;
  const TokenBucket b{10, 1};  // 1 token per second, checked every 300 ms
  REQUIRE(spend_bucket(s, b, 10, kT0));
  for (int i = 1; i <= 10; ++i) CHECK_FALSE(spend_bucket(s, b, 4, kT0 + i * 300));
  CHECK(spend_bucket(s, b, 3, kT0 + 3'000));  // 3 tokens by t0 + 3 s, denied checks took nothing
}

TEST_CASE("a bucket never refills above its capacity") {
  MemoryState s;
  const TokenBucket b{100, 1000};
  REQUIRE(spend_bucket(s, b, 50, kT0));
  auto check = check_bucket(b, kKey, 1, kT0 + kDay, s);
  REQUIRE(check.has_value());
  CHECK(check->headroom == 100);
  CHECK_FALSE(spend_bucket(s, b, 101, kT0 + kDay));
}

TEST_CASE("a bucket with zero refill never refills") {
  MemoryState s;
  const TokenBucket b{5, 0};
  REQUIRE(spend_bucket(s, b, 5, kT0));
  CHECK_FALSE(spend_bucket(s, b, 1, kT0 + 365 * kDay));
}

TEST_CASE("a bucket whose clock goes backwards credits nothing twice") {
  MemoryState s;
  const TokenBucket b{10, 1};
  REQUIRE(spend_bucket(s, b, 10, kT0));
  CHECK_FALSE(spend_bucket(s, b, 1, kT0 - 5'000));  // earlier time: no refill
  REQUIRE(spend_bucket(s, b, 1, kT0 + 1'000));
  CHECK_FALSE(spend_bucket(s, b, 1, kT0 + 1'500));  // only 0.5 more since t0 + 1 s
}

TEST_CASE("a bucket with a huge refill rate fills without overflow") {
  MemoryState s;
  const TokenBucket b{1'000'000, std::numeric_limits<U256>::max()};
  REQUIRE(spend_bucket(s, b, 1'000'000, kT0));
  CHECK(spend_bucket(s, b, 1'000'000, kT0 + 1));
  CHECK_FALSE(spend_bucket(s, b, 1, kT0 + 1));
}

TEST_CASE("a bucket capacity whose milli-token form overflows is an invalid limit") {
  MemoryState s;
  auto check = check_bucket(TokenBucket{std::numeric_limits<U256>::max() / 999, 1}, kKey, 1, kT0, s);
  REQUIRE_FALSE(check.has_value());
  CHECK(check.error().code == StateErrc::kInvalidLimit);
}

TEST_CASE("bucket reservations take tokens while pending and refund them when released") {
  MemoryState s;
  const TokenBucket b{100, 0};
  auto held = check_bucket(b, kKey, 80, kT0, s, ReserveAs{"h1", kT0 + kHour});
  REQUIRE(held.has_value());
  REQUIRE(held->allowed);
  REQUIRE(held->effects.size() == 2);
  s.apply(held->effects);
  CHECK_FALSE(spend_bucket(s, b, 21, kT0 + 1));
  s.apply({ReleaseReservation{"h1", kT0 + 2}});
  CHECK(spend_bucket(s, b, 100, kT0 + 3));
}

TEST_CASE("a bucket refund is capped at capacity and keeps fractional tokens") {
  const TokenBucket b{5, 0};
  CHECK(refund(b, BucketState{3'500, kT0}, 1, kT0) == BucketState{4'500, kT0});
  CHECK(refund(b, BucketState{3'500, kT0}, 2, kT0) == BucketState{5'000, kT0});
  CHECK(refund(b, BucketState{3'500, kT0}, std::numeric_limits<U256>::max(), kT0) == BucketState{5'000, kT0});
}

TEST_CASE("scope keys are canonical: addresses lower-cased, components in a fixed order") {
  const Address wallet = parse_address("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4").value();
  const Address dest = parse_address("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48").value();
  const ScopeKey key = ScopeKey::make({.wallet = wallet, .asset = "USDC", .destination = dest,
                                       .rule = "Hot wallet", .requester = "alice@ops"});
  CHECK(key.text ==
        "wallet=0x1db92e2eebc8e0c075a02bea49a2935bcd2dfcf4;asset=usdc;"
        "dest=0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48;rule=Hot%20wallet;requester=alice%40ops");
  CHECK(ScopeKey::make({}).text == "*");
}

TEST_CASE("scope key text cannot forge another component") {
  const ScopeKey forged = ScopeKey::make({.wallet = std::nullopt, .asset = "eth;rule=x", .destination = std::nullopt, .rule = std::nullopt, .requester = std::nullopt});
  const ScopeKey real = ScopeKey::make({.wallet = std::nullopt, .asset = "eth", .destination = std::nullopt, .rule = "x", .requester = std::nullopt});
  CHECK(forged != real);
  CHECK(forged.text == "asset=eth%3Brule%3Dx");
  // rule and requester are case-sensitive, asset is not
  CHECK(ScopeKey::make({.wallet = std::nullopt, .asset = std::nullopt, .destination = std::nullopt, .rule = "A", .requester = std::nullopt}) !=
        ScopeKey::make({.wallet = std::nullopt, .asset = std::nullopt, .destination = std::nullopt, .rule = "a", .requester = std::nullopt}));
  CHECK(ScopeKey::make({.wallet = std::nullopt, .asset = "A", .destination = std::nullopt, .rule = std::nullopt, .requester = std::nullopt}) ==
        ScopeKey::make({.wallet = std::nullopt, .asset = "a", .destination = std::nullopt, .rule = std::nullopt, .requester = std::nullopt}));
}

TEST_CASE("recorded state inputs replay the same decision without the store") {
  MemoryState s;
  const SlidingWindow w{kHour, 100};
  const TokenBucket b{50, 1};
  REQUIRE(spend_window(s, w, 30, kT0));
  REQUIRE(spend_bucket(s, b, 20, kT0));
  StateInputs inputs;
  RecordingStateView recording(s, inputs);
  auto live_w = check_window(w, kKey, 70, kT0 + 10, recording);
  auto live_b = check_bucket(b, kKey, 30, kT0 + 10, recording);
  REQUIRE(live_w.has_value());
  REQUIRE(live_b.has_value());
  CHECK(inputs.reads.size() == 2);

  ReplayStateView replay(inputs);
  auto again_w = check_window(w, kKey, 70, kT0 + 10, replay);
  auto again_b = check_bucket(b, kKey, 30, kT0 + 10, replay);
  REQUIRE(again_w.has_value());
  REQUIRE(again_b.has_value());
  CHECK(again_w->allowed == live_w->allowed);
  CHECK(again_w->effects == live_w->effects);
  CHECK(again_b->effects == live_b->effects);
}

TEST_CASE("replay refuses a question the recording did not answer") {
  StateInputs inputs;
  inputs.reads.emplace_back(WindowRead{kKey, kT0 - kHour, 5});
  ReplayStateView replay(inputs);
  auto other_time = check_window(SlidingWindow{kHour, 100}, kKey, 1, kT0 + 1, replay);
  REQUIRE_FALSE(other_time.has_value());
  CHECK(other_time.error().code == StateErrc::kMissingInput);
  auto bucket = check_bucket(TokenBucket{10, 1}, kKey, 1, kT0, replay);
  REQUIRE_FALSE(bucket.has_value());
  CHECK(bucket.error().code == StateErrc::kMissingInput);
  auto same = check_window(SlidingWindow{kHour, 100}, kKey, 1, kT0, replay);
  REQUIRE(same.has_value());
  CHECK(same->used == 5);
}

}  // TEST_SUITE

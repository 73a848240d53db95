// Velocity limits: exact sliding windows and token buckets, checked against a StateView, returning
// the state effects to apply instead of applying them.
//
// Amounts are U256 in the limit's unit: token base units, USD in micro-dollars, or a count (each
// request an amount of 1). Time is unix milliseconds passed in by the caller.
//
// How a caller uses this (the evaluator, inside StateStore::transact):
//   1. Add up the amounts per LedgerKey first: a check does not see effects that have not been
//      applied yet, so checking two legs of one request against the same ledger separately would
//      let each pass on its own.
//   2. Call check_window / check_bucket for each (limit, scope) that applies, through a
//      RecordingStateView so the inputs are logged.
//   3. If every check allows, return the concatenation of their effects; if any denies, return
//      none of them. A denied request consumes nothing.
//   4. A held request passes `reserve`: its amount is reserved (counted against the limit while
//      pending) instead of debited; approving it emits CommitReservation, rejecting or expiring it
//      ReleaseReservation.
//
// Pure: no I/O, no clock, no floating point; everything is integer arithmetic on U256 and int64.
// Thread safety: the functions are reentrant; the value types are plain data.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "policy/state_view.hpp"

namespace txguard::policy {

/// The sum of the amounts debited or reserved in (now - duration_ms, now], plus the new amount, must
/// be <= max. Exact: every debit is kept with its own millisecond timestamp until it leaves the
/// window, so there is no bucket edge to exploit (a daily limit that resets at midnight would let an
/// attacker take twice the limit across midnight). A debit at t stops counting at exactly
/// t + duration_ms. Valid when duration_ms >= 1.
struct SlidingWindow {
  TimeMs duration_ms = 0;
  U256 max;
  bool operator==(const SlidingWindow&) const = default;
};

/// tokens = min(capacity, tokens + elapsed * refill_per_second); a debit needs tokens >= amount.
/// Kept in milli-tokens with elapsed time in whole milliseconds, so refill is exact in integers
/// (1 token/s refills 1 milli-token per ms; nothing is lost to rounding however often it is
/// checked). A bucket never debited is full. An amount above capacity is always refused. Valid when
/// capacity * 1000 fits in 256 bits.
struct TokenBucket {
  U256 capacity;
  U256 refill_per_second;
  bool operator==(const TokenBucket&) const = default;
};

/// Why a limit definition cannot be used, or nullopt when it is valid.
std::optional<StateError> validate(const SlidingWindow& limit);
std::optional<StateError> validate(const TokenBucket& limit);

/// Effects: what evaluation asks the store to do, applied atomically with the checks that produced
/// them. They are plain data so the decision log can record and replay them.
///
/// Record `amount` against the window ledger `key` at `at_ms`.
struct Debit {
  LedgerKey key;
  U256 amount;
  TimeMs at_ms = 0;
  bool operator==(const Debit&) const = default;
};
/// Store `state` as the bucket's new level. `limit` is stored with it so that releasing a reserved
/// bucket amount can refund it correctly later.
struct BucketSet {
  LedgerKey key;
  BucketState state;
  TokenBucket limit;
  bool operator==(const BucketSet&) const = default;
};
enum class ReservationKind { kWindow = 1, kBucket = 2 };
/// Hold `amount` for a pending request. A window reservation counts in window_sum like a debit dated
/// `at_ms` until it is committed (it becomes that debit) or released (it disappears). A bucket
/// reservation comes with the BucketSet that already took its tokens; releasing it refunds them.
/// `expires_ms` is when StateStore::expire_reservations may release it.
struct Reserve {
  std::string id;
  LedgerKey key;
  ReservationKind kind = ReservationKind::kWindow;
  U256 amount;
  TimeMs at_ms = 0;
  TimeMs expires_ms = 0;
  bool operator==(const Reserve&) const = default;
};
/// The held request was approved: its reservation becomes a debit at its original time.
struct CommitReservation {
  std::string id;
  auto operator<=>(const CommitReservation&) const = default;
};
/// The held request was rejected or expired at `at_ms`: its reservation stops counting.
struct ReleaseReservation {
  std::string id;
  TimeMs at_ms = 0;
  auto operator<=>(const ReleaseReservation&) const = default;
};
using Effect = std::variant<Debit, BucketSet, Reserve, CommitReservation, ReleaseReservation>;
using Effects = std::vector<Effect>;

/// Reserve instead of debiting: the id (unique per reservation, e.g. the decision id plus the
/// ledger) and when the hold expires.
struct ReserveAs {
  std::string id;
  TimeMs expires_ms = 0;
};

struct LimitCheck {
  bool allowed = false;
  /// Window: the sum already in the window. Bucket: capacity minus the tokens available now.
  U256 used;
  /// The largest amount that would pass now (0 when the limit is already exhausted or exceeded).
  U256 headroom;
  /// What to apply if the request goes ahead; empty when not allowed.
  Effects effects;
};

/// The first timestamp excluded from a window ending at `now_ms` (now - duration), saturating at the
/// smallest TimeMs. Debits dated > the result count.
TimeMs window_after(const SlidingWindow& limit, TimeMs now_ms) noexcept;

/// Checks `amount` against the window. Reads view.window_sum(key, window_after(limit, now_ms)) once.
/// Allowed iff used + amount <= max (computed without overflow). Effects when allowed: one Debit at
/// now_ms, or one Reserve (kind kWindow) when `reserve` is given. Fails with kInvalidLimit or with the
/// view's error.
StateResult<LimitCheck> check_window(const SlidingWindow& limit, const LedgerKey& key, const U256& amount,
                                     TimeMs now_ms, const StateView& view,
                                     const std::optional<ReserveAs>& reserve = std::nullopt);

/// The bucket's level at `now_ms` after refill. A missing state is a full bucket. If the clock went
/// backwards (now_ms < updated_ms) nothing is refilled and updated_ms is kept, so the same interval
/// is never credited twice.
BucketState refill(const TokenBucket& limit, const std::optional<BucketState>& state, TimeMs now_ms);

/// Checks `amount` against the bucket. Reads view.bucket(key) once. Allowed iff amount <= capacity
/// and amount * 1000 <= the refilled level. Effects when allowed: a BucketSet with the level reduced
/// by the amount, plus a Reserve (kind kBucket) when `reserve` is given. Fails with kInvalidLimit or
/// with the view's error.
StateResult<LimitCheck> check_bucket(const TokenBucket& limit, const LedgerKey& key, const U256& amount,
                                     TimeMs now_ms, const StateView& view,
                                     const std::optional<ReserveAs>& reserve = std::nullopt);

/// The level after giving back `amount` tokens at `now_ms` (refill first, then add, capped at
/// capacity). Used by stores to release a bucket reservation.
BucketState refund(const TokenBucket& limit, const std::optional<BucketState>& state, const U256& amount,
                   TimeMs now_ms);

}  // namespace txguard::policy

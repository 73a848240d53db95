// Sliding windows and token buckets (see limits.hpp for the contracts).
//
// The window is exact rather than bucketed: Ronin's post-hack daily limit reset at midnight UTC, which
// lets an attacker take twice the limit across midnight; Wormhole's Governor uses a sliding 24-hour
// window for the same reason. The bucket follows Chainlink CCIP's rate limiter
// (tokens = min(capacity, tokens + elapsed * rate); a transfer above capacity is always refused),
// with time in milliseconds and the level in milli-tokens so integer refill loses nothing.
//
// U256 is checked: an overflow would throw. Every subtraction below is guarded by a comparison and
// every product is bounded first, so no input reaches an exception.
#include "policy/limits.hpp"

#include <limits>

namespace txguard::policy {

namespace {

const U256 kMilli = 1000;
// The largest capacity whose milli-token form fits in 256 bits.
const U256 kMaxCapacity = std::numeric_limits<U256>::max() / kMilli;

StateError invalid(std::string detail) { return StateError{StateErrc::kInvalidLimit, std::move(detail)}; }

}  // namespace

std::optional<StateError> validate(const SlidingWindow& limit) {
  if (limit.duration_ms < 1) return invalid("sliding window duration must be at least 1 ms");
  return std::nullopt;
}

std::optional<StateError> validate(const TokenBucket& limit) {
  if (limit.capacity > kMaxCapacity) return invalid("token bucket capacity above (2^256-1)/1000");
  return std::nullopt;
}

TimeMs window_after(const SlidingWindow& limit, TimeMs now_ms) noexcept {
  constexpr TimeMs kMin = std::numeric_limits<TimeMs>::min();
  if (limit.duration_ms > 0 && now_ms < kMin + limit.duration_ms) return kMin;
  return now_ms - limit.duration_ms;
}

StateResult<LimitCheck> check_window(const SlidingWindow& limit, const LedgerKey& key, const U256& amount,
                                     TimeMs now_ms, const StateView& view,
                                     const std::optional<ReserveAs>& reserve) {
  if (auto error = validate(limit)) return std::unexpected(std::move(*error));
  auto used = view.window_sum(key, window_after(limit, now_ms));
  if (!used) return std::unexpected(std::move(used.error()));

  LimitCheck check;
  check.used = *used;
  // A limit lowered below what is already in the window leaves no headroom (not a negative one).
  check.headroom = check.used < limit.max ? U256(limit.max - check.used) : U256(0);
  check.allowed = amount <= check.headroom;
  if (!check.allowed) return check;
  if (reserve) {
    check.effects.emplace_back(
        Reserve{reserve->id, key, ReservationKind::kWindow, amount, now_ms, reserve->expires_ms});
  } else {
    check.effects.emplace_back(Debit{key, amount, now_ms});
  }
  return check;
}

BucketState refill(const TokenBucket& limit, const std::optional<BucketState>& state, TimeMs now_ms) {
  const U256 full = limit.capacity * kMilli;
  if (!state) return BucketState{full, now_ms};
  if (now_ms <= state->updated_ms) {
    // Clock went backwards (or no time passed): credit nothing, keep the later timestamp so the
    // interval up to it is not credited again.
    return BucketState{state->milli_tokens < full ? state->milli_tokens : full, state->updated_ms};
  }
  if (state->milli_tokens >= full) return BucketState{full, now_ms};
  const U256 missing = full - state->milli_tokens;
  // elapsed_ms * rate (milli-tokens per ms == tokens per s) reaches `missing` iff
  // elapsed_ms >= ceil(missing / rate); compare first so the product below cannot overflow.
  const U256 elapsed = static_cast<std::uint64_t>(now_ms - state->updated_ms);
  if (limit.refill_per_second == 0) return BucketState{state->milli_tokens, now_ms};
  const U256 needed_ms = missing / limit.refill_per_second + (missing % limit.refill_per_second != 0 ? 1 : 0);
  if (elapsed >= needed_ms) return BucketState{full, now_ms};
  return BucketState{state->milli_tokens + elapsed * limit.refill_per_second, now_ms};
}

StateResult<LimitCheck> check_bucket(const TokenBucket& limit, const LedgerKey& key, const U256& amount,
                                     TimeMs now_ms, const StateView& view,
                                     const std::optional<ReserveAs>& reserve) {
  if (auto error = validate(limit)) return std::unexpected(std::move(*error));
  auto stored = view.bucket(key);
  if (!stored) return std::unexpected(std::move(stored.error()));

  const BucketState level = refill(limit, *stored, now_ms);
  const U256 available = level.milli_tokens / kMilli;
  LimitCheck check;
  check.used = limit.capacity - available;
  check.headroom = available;
  // available <= capacity always, so amount <= available also enforces amount <= capacity.
  check.allowed = amount <= available;
  if (!check.allowed) return check;
  check.effects.emplace_back(BucketSet{key, BucketState{level.milli_tokens - amount * kMilli, level.updated_ms}, limit});
  if (reserve) {
    check.effects.emplace_back(
        Reserve{reserve->id, key, ReservationKind::kBucket, amount, now_ms, reserve->expires_ms});
  }
  return check;
}

BucketState refund(const TokenBucket& limit, const std::optional<BucketState>& state, const U256& amount,
                   TimeMs now_ms) {
  BucketState level = refill(limit, state, now_ms);
  const U256 full = limit.capacity * kMilli;
  const U256 missing = full - level.milli_tokens;
  if (amount > kMaxCapacity || amount * kMilli >= missing) {
    level.milli_tokens = full;
  } else {
    level.milli_tokens += amount * kMilli;
  }
  return level;
}

}  // namespace txguard::policy

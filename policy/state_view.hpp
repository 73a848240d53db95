// The read-only view of velocity state (sliding-window ledgers and token buckets) that policy
// evaluation sees, the errors reading it can produce, and the record of every value it read.
//
// Evaluation is a pure function of (intent, policy, state view, time). To make it replayable by an
// auditor without the database, evaluation reads state only through a RecordingStateView, which
// writes each answer into StateInputs; the decision log stores those inputs, and ReplayStateView
// answers the same questions from them later. The model is evmone's test/state/state_view.hpp: a
// handful of virtual getters, no iteration, no writes.
//
// Keys: state is kept per LedgerKey = (limit id, scope). Two limits never share a ledger even when
// their scope is the same, because their units differ (token units, micro-USD, counts).
//
// Thread safety: a StateView is used by one evaluation at a time; implementations need not be
// thread-safe. The view a store hands to evaluation is valid only during that call.
#pragma once

#include <compare>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "policy/codec/address.hpp"
#include "policy/codec/u256.hpp"

namespace txguard::policy {

using codec::U256;

/// Time as unix milliseconds (UTC). Everything that decides uses this integer; nothing reads a clock.
using TimeMs = std::int64_t;

enum class StateErrc {
  kUnavailable,    // the store could not be reached or locked in time (SQLITE_BUSY after retries)
  kIo,             // the store failed to read or write (disk full, I/O error, any other failure)
  kCorrupt,        // the database file is damaged or is not a database at all
  kForeign,        // a valid database that is not a txguard state store (or of a newer schema)
  kInvalidLimit,   // a limit definition that cannot be evaluated (zero duration, capacity too large)
  kNotFound,       // a reservation id that does not exist (or is no longer pending)
  kDuplicate,      // a reservation id that already exists
  kMissingInput,   // replay asked a question that the recorded state inputs do not answer
};

/// Stable kebab-case name of a code, e.g. "unavailable".
std::string_view to_string(StateErrc code) noexcept;

struct StateError {
  StateErrc code;
  /// What failed, for a human (includes the SQLite message where there is one).
  std::string detail;
  /// "<code>: <detail>".
  std::string message() const;
};

template <typename T>
using StateResult = std::expected<T, StateError>;

/// A canonical, stable scope string. It is stored in the database and in decision logs and replayed,
/// so its format never changes: the present components in this fixed order, separated by ';':
///   wallet=0x<40 lower-case hex>;asset=<text>;dest=0x<40 lower-case hex>;rule=<text>;requester=<text>
/// Text components are percent-encoded: every byte outside [A-Za-z0-9._:-] becomes %XX (upper-case
/// hex), so ';' and '=' can never forge a component. Asset text is lower-cased first (so "0xA0b8..."
/// and "0xa0b8..." are one asset); rule and requester are case-sensitive. An empty ScopeParts gives
/// the global scope "*".
struct ScopeParts {
  std::optional<codec::Address> wallet;
  std::optional<std::string> asset;  // "eth", a token address, "usdc@1"...: the policy's asset name
  std::optional<codec::Address> destination;
  std::optional<std::string> rule;
  std::optional<std::string> requester;
};

struct ScopeKey {
  std::string text;

  /// Builds the canonical key. Total: every ScopeParts has exactly one key and distinct parts give
  /// distinct keys.
  static ScopeKey make(const ScopeParts& parts);

  auto operator<=>(const ScopeKey&) const = default;
};

/// The key of one ledger: which limit (its stable id in the policy, e.g. "withdrawals/daily-usd")
/// and which scope it is counted in.
struct LedgerKey {
  std::string limit_id;
  ScopeKey scope;

  auto operator<=>(const LedgerKey&) const = default;
};

/// A token bucket's stored level. `milli_tokens` is the level in thousandths of a token so that
/// refill by the millisecond is exact in integers (rate per second * elapsed ms = milli-tokens).
struct BucketState {
  U256 milli_tokens;
  TimeMs updated_ms = 0;

  bool operator==(const BucketState&) const = default;
};

/// Read-only state. Every method may fail (the store is a database); evaluation must then fail
/// closed (the service answers 503 and signs nothing).
class StateView {
 public:
  virtual ~StateView() = default;

  /// The sum of all debits and all pending reservations of `key` dated strictly after `after_ms`.
  /// There is no upper bound: an entry dated after the caller's "now" (the clock moved backwards)
  /// still counts, which can only make a limit stricter.
  virtual StateResult<U256> window_sum(const LedgerKey& key, TimeMs after_ms) const = 0;

  /// The stored bucket level, or nullopt when the bucket was never debited (it is then full).
  virtual StateResult<std::optional<BucketState>> bucket(const LedgerKey& key) const = 0;
};

/// One answered question, as recorded for replay.
struct WindowRead {
  LedgerKey key;
  TimeMs after_ms = 0;
  U256 sum;
  bool operator==(const WindowRead&) const = default;
};
struct BucketRead {
  LedgerKey key;
  std::optional<BucketState> state;
  bool operator==(const BucketRead&) const = default;
};
using StateRead = std::variant<WindowRead, BucketRead>;

/// Every value an evaluation read, in the order it was read.
struct StateInputs {
  std::vector<StateRead> reads;
  bool operator==(const StateInputs&) const = default;
};

/// Forwards to another view and appends each successful answer to `inputs`. Errors are forwarded and
/// not recorded. Holds references: `inner` and `inputs` must outlive it.
class RecordingStateView final : public StateView {
 public:
  RecordingStateView(const StateView& inner, StateInputs& inputs) : inner_(inner), inputs_(inputs) {}
  StateResult<U256> window_sum(const LedgerKey& key, TimeMs after_ms) const override;
  StateResult<std::optional<BucketState>> bucket(const LedgerKey& key) const override;

 private:
  const StateView& inner_;
  StateInputs& inputs_;
};

/// Answers from recorded inputs only (the auditor's replay). A question that was not recorded, with
/// the same key and the same `after_ms`, fails with kMissingInput: a replay that asks something new
/// is not the same evaluation. Holds a reference: `inputs` must outlive it.
class ReplayStateView final : public StateView {
 public:
  explicit ReplayStateView(const StateInputs& inputs) : inputs_(inputs) {}
  StateResult<U256> window_sum(const LedgerKey& key, TimeMs after_ms) const override;
  StateResult<std::optional<BucketState>> bucket(const LedgerKey& key) const override;

 private:
  const StateInputs& inputs_;
};

}  // namespace txguard::policy

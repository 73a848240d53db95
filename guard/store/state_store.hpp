// The persistent velocity state behind policy::StateView: window ledgers, token buckets and pending
// reservations, with atomic check-and-apply.
//
// Backend-neutral: SqlStateStore implements it on any SqlConnection (SQLite or PostgreSQL); transact
// runs inside the connection's write transaction, which excludes every other writer of the database.
//
// Failure model: every method returns errors as values (policy::StateError). The caller treats any
// error as "state unknown": it answers 503 and signs nothing. Nothing here throws on a database error.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "guard/store/sql.hpp"
#include "policy/limits.hpp"
#include "policy/state_view.hpp"

namespace txguard::store {

using policy::Effects;
using policy::StateError;
using policy::StateResult;
using policy::TimeMs;

/// The transaction handle given to extra work run inside transact() (the decision log appends its
/// record here so that the record and the state effects commit or fail together): the store's
/// connection, inside its write transaction. Do not begin, commit or roll back on it.
class Tx {
 public:
  explicit Tx(SqlConnection& connection) : connection_(connection) {}
  SqlConnection& connection() const noexcept { return connection_; }

 private:
  SqlConnection& connection_;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  /// Reads state and returns the effects to apply; runs inside the write transaction. Return an
  /// error to abort (nothing is applied).
  using Body = std::function<StateResult<Effects>(const policy::StateView&)>;
  /// Extra work in the same transaction, run after the effects are applied and before COMMIT.
  /// Returning an error rolls everything back, including the effects.
  using Extra = std::function<StateResult<void>(Tx&)>;

  /// Runs `body` inside ONE write transaction that excludes every other writer of the same store,
  /// applies the effects it returns, runs `extra` (if set), and commits. So check-and-debit is
  /// atomic: two concurrent transactions never both pass a limit only one fits. Returns the applied
  /// effects. When the write lock cannot be taken within the store's lock timeout it fails with
  /// kUnavailable without running `body`. On any error nothing is applied. `body` runs at most once
  /// per call. Effects that cannot be applied (a Reserve whose id exists: kDuplicate; a
  /// Commit/ReleaseReservation whose id is not pending: kNotFound) abort the transaction.
  virtual StateResult<Effects> transact(const Body& body, const Extra& extra = {}) = 0;

  /// One step of a batch: `body` reads state (and may read the backend through the Tx) and returns
  /// the effects to apply; then `extra` runs. `result` receives the applied effects or the error.
  struct Step {
    std::function<StateResult<Effects>(const policy::StateView&, Tx&)> body;
    Extra extra;
    StateResult<Effects> result = Effects{};
  };
  /// Group commit: runs every step in order inside ONE write transaction, each in its own savepoint.
  /// A step sees the effects of the steps before it. A step whose body, effects or extra fail is
  /// rolled back alone (its `result` holds the error) and the batch goes on. One durable COMMIT for
  /// all. Returns an error (and every step's result is set to it, nothing applied) when the write
  /// lock cannot be taken or the COMMIT fails; then no step may be treated as done.
  virtual StateResult<void> transact_batch(std::span<Step> steps) = 0;

  /// Convenience wrappers, each one transaction applying one effect.
  /// The held request was approved: the reservation becomes a debit at its original time.
  virtual StateResult<void> commit_reservation(const std::string& id) = 0;
  /// The held request was rejected (or expired) at `now_ms`: the reservation stops counting; a bucket
  /// reservation refunds its tokens.
  virtual StateResult<void> release_reservation(const std::string& id, TimeMs now_ms) = 0;
  /// Releases every pending reservation with expires_ms <= now_ms; returns how many. Pending
  /// reservations count until released, so call this before evaluating (late expiry is fail-closed:
  /// it can only make limits stricter).
  virtual StateResult<std::uint64_t> expire_reservations(TimeMs now_ms) = 0;
  /// Deletes window debits dated <= before_ms (pass now minus the longest window in the policy;
  /// debits that old no longer count in any window). Returns how many were deleted. Afterwards
  /// window_sum is exact for every after_ms >= before_ms; earlier window starts are unspecified.
  /// May run as several short transactions so that a large backlog does not block limit checks.
  virtual StateResult<std::uint64_t> prune(TimeMs before_ms) = 0;
};

}  // namespace txguard::store

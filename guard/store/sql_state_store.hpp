// StateStore on a SqlConnection (see state_store.hpp for the contract): the same code on SQLite and
// on PostgreSQL.
//
// Durability and concurrency are the connection's (sql.hpp): every transact() is one write
// transaction that excludes every other writer of the database, so check-and-apply is serialized
// across threads, processes and (on PostgreSQL) replicas; a commit that returned is durable.
//
// Tables (created with the rest of the database by schema.hpp, which versions them): ledgers(limit id, scope) -> integer id; debits(ledger, at_ms, amount) with a
// covering index on (ledger, at_ms, amount); debit_minutes(ledger, minute, total), the running sum of
// each ledger's debits per UTC minute, maintained in the same transaction as every debit;
// buckets(ledger, level, updated_ms, capacity, rate); reservations(id, ledger, kind, amount, at_ms,
// expires_ms). Amounts are minimal big-endian byte strings summed in 256-bit arithmetic in C++. The
// state identity is SQLite's application_id 0x54584753 "TXGS" with user_version, or the table
// state_meta on PostgreSQL; both carry the schema version (schema.hpp).
//
// Window sums stay exact and cheap: the minutes that lie wholly inside the window are read from
// debit_minutes, and only the partial minute at the window's start is read row by row, so a 24 h
// window costs at most 1,440 totals plus one minute of debits however busy the scope. (The plain
// indexed range SUM was the baseline: about 125 ns per row, so a scope with 100,000 debits a day
// cost ~12 ms per check; bench/limits_bench.cpp prints both regimes.)
//
// open() creates an empty database at the current schema version (schema.hpp) and refuses, with a
// clear error: a file that is not SQLite or is damaged (kCorrupt), a database of another application
// (kForeign), a txguard database of a newer schema (kForeign). It accepts an older txguard schema
// (replay and eval read them); the service's start-up refuses one and names txguard db migrate.
//
// Thread safety: one instance must be used by one thread at a time. Use one instance per thread.
#pragma once

#include <memory>
#include <string>

#include "guard/store/sql.hpp"
#include "guard/store/state_store.hpp"

namespace txguard::store {

class SqlStateStore final : public StateStore {
 public:
  /// Opens or creates the store in `database` (a SQLite file path or a postgresql:// URL).
  static StateResult<std::unique_ptr<SqlStateStore>> open(const std::string& database,
                                                          const DatabaseOptions& options = {});
  /// Creates or checks the store's tables on `connection` and keeps it.
  static StateResult<std::unique_ptr<SqlStateStore>> open(std::unique_ptr<SqlConnection> connection);
  ~SqlStateStore() override;
  SqlStateStore(const SqlStateStore&) = delete;
  SqlStateStore& operator=(const SqlStateStore&) = delete;

  /// Which backend the store is on (for status pages and tests; no caller branches on it).
  SqlBackend backend() const noexcept;

  StateResult<Effects> transact(const Body& body, const Extra& extra = {}) override;
  StateResult<void> transact_batch(std::span<Step> steps) override;
  StateResult<void> commit_reservation(const std::string& id) override;
  StateResult<void> release_reservation(const std::string& id, TimeMs now_ms) override;
  StateResult<std::uint64_t> expire_reservations(TimeMs now_ms) override;
  StateResult<std::uint64_t> prune(TimeMs before_ms) override;

  class Impl;

 private:
  explicit SqlStateStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace txguard::store

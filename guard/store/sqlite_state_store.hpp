// StateStore on one SQLite file (see state_store.hpp for the contract).
//
// Durability: WAL journal with synchronous=FULL, so a transaction that returned success survives a
// crash or power loss. Concurrency: each SqliteStateStore is one connection; any number of them, in
// any number of threads or processes, may open the same file. transact() takes the database write
// lock up front (BEGIN IMMEDIATE), so check-and-apply is serialized per database file; a connection
// that cannot get the lock retries with a bounded exponential backoff (0.25 ms doubling to 20 ms,
// jittered) until `lock_timeout`, then fails with kUnavailable.
//
// Schema (user_version 1, application_id 0x54584753 "TXGS"): ledgers(limit id, scope) -> integer id;
// debits(ledger, at_ms, amount) with a covering index on (ledger, at_ms, amount); debit_minutes(ledger,
// minute, total), the running sum of each ledger's debits per UTC minute, maintained in the same
// transaction as every debit; buckets(ledger, level, updated_ms, capacity, rate); reservations(id,
// ledger, kind, amount, at_ms, expires_ms). Amounts are minimal big-endian BLOBs summed in 256-bit
// arithmetic in C++.
//
// Window sums stay exact and cheap: the minutes that lie wholly inside the window are read from
// debit_minutes, and only the partial minute at the window's start is read row by row, so a 24 h
// window costs at most 1,440 totals plus one minute of debits however busy the scope. (The plain
// indexed range SUM was the baseline: about 125 ns per row, so a scope with 100,000 debits a day
// cost ~12 ms per check; bench/limits_bench.cpp prints both regimes.)
//
// open() refuses, with a clear error: a file that is not SQLite or is damaged (kCorrupt, also when
// PRAGMA quick_check fails), a SQLite database of another application or with tables but no
// txguard identity (kForeign), a txguard store of a newer schema (kForeign).
//
// Thread safety: one instance must be used by one thread at a time. Use one instance per thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "guard/store/state_store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace txguard::store {

struct SqliteOptions {
  /// How long transact() (and open()) wait for the write lock before failing with kUnavailable.
  std::chrono::milliseconds lock_timeout{2000};
  /// Run PRAGMA quick_check at open (O(database size); a few seconds at most for large stores).
  bool check_integrity = true;
  /// false: commits are not synced to disk (synchronous=OFF). Only for scratch databases (replay):
  /// a crash may lose or corrupt them.
  bool durable = true;
};

/// The transaction handle SqliteStateStore passes to Extra work: the open connection, inside the
/// write transaction. Do not BEGIN, COMMIT or ROLLBACK on it.
class SqliteTx final : public Tx {
 public:
  explicit SqliteTx(sqlite3* db) : db_(db) {}
  sqlite3* db() const noexcept { return db_; }

 private:
  sqlite3* db_;
};

class SqliteStateStore final : public StateStore {
 public:
  /// Opens or creates the store at `path` (a file path; the -wal and -shm files live beside it).
  static StateResult<std::unique_ptr<SqliteStateStore>> open(const std::string& path,
                                                             const SqliteOptions& options = {});
  ~SqliteStateStore() override;
  SqliteStateStore(const SqliteStateStore&) = delete;
  SqliteStateStore& operator=(const SqliteStateStore&) = delete;

  StateResult<Effects> transact(const Body& body, const Extra& extra = {}) override;
  StateResult<void> transact_batch(std::span<Step> steps) override;
  StateResult<void> commit_reservation(const std::string& id) override;
  StateResult<void> release_reservation(const std::string& id, TimeMs now_ms) override;
  StateResult<std::uint64_t> expire_reservations(TimeMs now_ms) override;
  StateResult<std::uint64_t> prune(TimeMs before_ms) override;

  class Impl;

 private:
  explicit SqliteStateStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace txguard::store

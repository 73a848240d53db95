// SQLite implementation of the state store (contract in state_store.hpp / sqlite_state_store.hpp).
//
// Why BEGIN IMMEDIATE: a DEFERRED transaction takes a read snapshot first and upgrades to a write
// lock at the first write; two connections can then both read the same window sum and one fails to
// upgrade (SQLITE_BUSY_SNAPSHOT) only after deciding. Taking the write lock before the first read
// makes the read and the write one serial step per database (https://sqlite.org/lang_transaction.html).
// Why our own retry loop rather than sqlite3_busy_timeout: it bounds the total wait exactly, adds
// jitter so eight waiting connections do not wake in lock-step, and makes "could not lock" a distinct
// kUnavailable that the service turns into 503.
// Why WAL + synchronous=FULL: in WAL mode synchronous=NORMAL may lose the last transactions on power
// loss; FULL syncs the WAL at every commit (https://sqlite.org/pragma.html#pragma_synchronous).
#include "guard/store/sqlite_state_store.hpp"

#include <sqlite3.h>

#include <limits>
#include <map>
#include <random>
#include <thread>

namespace txguard::store {

using policy::BucketState;
using policy::LedgerKey;
using policy::ReservationKind;
using policy::StateErrc;
using policy::U256;

namespace {

constexpr int kSchemaVersion = 1;
constexpr int kApplicationId = 0x54584753;  // "TXGS"

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE ledgers(
  id INTEGER PRIMARY KEY,
  limit_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  UNIQUE(limit_id, scope));
CREATE TABLE debits(
  ledger INTEGER NOT NULL REFERENCES ledgers(id),
  at_ms INTEGER NOT NULL,
  amount BLOB NOT NULL);
CREATE INDEX debits_by_ledger_time ON debits(ledger, at_ms, amount);
CREATE TABLE debit_minutes(
  ledger INTEGER NOT NULL REFERENCES ledgers(id),
  minute INTEGER NOT NULL,
  total BLOB NOT NULL,
  PRIMARY KEY(ledger, minute)) WITHOUT ROWID;
CREATE TABLE buckets(
  ledger INTEGER PRIMARY KEY REFERENCES ledgers(id),
  milli_tokens BLOB NOT NULL,
  updated_ms INTEGER NOT NULL,
  capacity BLOB NOT NULL,
  refill_per_second BLOB NOT NULL);
CREATE TABLE reservations(
  id TEXT PRIMARY KEY,
  ledger INTEGER NOT NULL REFERENCES ledgers(id),
  kind INTEGER NOT NULL,
  amount BLOB NOT NULL,
  at_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL);
CREATE INDEX reservations_by_ledger_time ON reservations(ledger, at_ms);
CREATE INDEX reservations_by_expiry ON reservations(expires_ms);
)sql";

StateErrc code_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return StateErrc::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return StateErrc::kCorrupt;
    default: return StateErrc::kIo;
  }
}

StateError sql_error(sqlite3* db, int rc, std::string_view what) {
  std::string detail(what);
  detail += ": ";
  detail += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  detail += " (sqlite code ";
  detail += std::to_string(rc);
  detail += ')';
  return StateError{code_of(rc), std::move(detail)};
}

std::unexpected<StateError> fail(StateErrc code, std::string detail) {
  return std::unexpected(StateError{code, std::move(detail)});
}

// Adds without wrapping: a stored total above 2^256-1 can only come from a damaged database, and
// saturating makes every limit refuse rather than throw.
void add_saturating(U256& sum, const U256& amount) {
  const U256 room = std::numeric_limits<U256>::max() - sum;
  sum = amount > room ? std::numeric_limits<U256>::max() : U256(sum + amount);
}

constexpr TimeMs kMinuteMs = 60'000;
constexpr long kPruneBatch = 10'000;

// The minute containing t (floor division, also for times before 1970).
std::int64_t minute_of(TimeMs t) {
  return t / kMinuteMs - ((t % kMinuteMs) < 0 ? 1 : 0);
}

// A prepared statement with RAII finalize; prepared once per connection and reset after each use.
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(stmt_); }
  sqlite3_stmt*& raw() { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

class SqliteStateStore::Impl {
 public:
  Impl(sqlite3* db, SqliteOptions options) : db_(db), options_(options), jitter_(std::random_device{}()) {}
  ~Impl() {
    statements_.clear();
    sqlite3_close_v2(db_);
  }

  sqlite3* db() const { return db_; }

  // Runs SQL with no results (several statements allowed).
  StateResult<void> exec(const char* sql, std::string_view what) {
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return std::unexpected(sql_error(db_, rc, what));
    return {};
  }

  StateResult<std::int64_t> pragma_int(const char* sql) {
    auto stmt = prepare(sql);
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = *stmt;
    const int rc = sqlite3_step(s);
    std::int64_t value = 0;
    if (rc == SQLITE_ROW) value = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW) return std::unexpected(sql_error(db_, rc, sql));
    return value;
  }

  StateResult<sqlite3_stmt*> prepare(const char* sql) {
    Stmt& slot = statements_[sql];
    if (slot.raw() == nullptr) {
      const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot.raw(), nullptr);
      if (rc != SQLITE_OK) {
        statements_.erase(sql);
        return std::unexpected(sql_error(db_, rc, "prepare"));
      }
    }
    return slot.raw();
  }

  // Takes the write lock, retrying SQLITE_BUSY with jittered exponential backoff until the deadline.
  StateResult<void> begin() {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + options_.lock_timeout;
    std::chrono::microseconds delay{250};
    for (;;) {
      const int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) return {};
      if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) {
        return std::unexpected(sql_error(db_, rc, "BEGIN IMMEDIATE"));
      }
      const auto now = Clock::now();
      if (now >= deadline) {
        return fail(StateErrc::kUnavailable, "could not lock the state database within " +
                                                 std::to_string(options_.lock_timeout.count()) + " ms");
      }
      std::uniform_int_distribution<long> spread(delay.count() / 2, delay.count());
      auto sleep = std::chrono::microseconds(spread(jitter_));
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
      std::this_thread::sleep_for(sleep < left ? sleep : left);
      delay = std::min(delay * 2, std::chrono::microseconds{20'000});
    }
  }

  void rollback() { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

  StateResult<void> commit() {
    const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      auto error = sql_error(db_, rc, "COMMIT");
      if (sqlite3_get_autocommit(db_) == 0) rollback();
      return std::unexpected(std::move(error));
    }
    return {};
  }

  // --- reads -------------------------------------------------------------------------------------

  // The ledger's id, or 0 when it does not exist (SQLite rowids of these tables start at 1).
  StateResult<std::int64_t> find_ledger(const LedgerKey& key) {
    auto stmt = prepare("SELECT id FROM ledgers WHERE limit_id = ?1 AND scope = ?2");
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = *stmt;
    bind_text(s, 1, key.limit_id);
    bind_text(s, 2, key.scope.text);
    const int rc = sqlite3_step(s);
    std::int64_t id = 0;
    if (rc == SQLITE_ROW) id = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "find ledger"));
    return id;
  }

  StateResult<std::int64_t> ledger(const LedgerKey& key) {
    auto found = find_ledger(key);
    if (!found || *found != 0) return found;
    auto stmt = prepare("INSERT INTO ledgers(limit_id, scope) VALUES (?1, ?2)");
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = *stmt;
    bind_text(s, 1, key.limit_id);
    bind_text(s, 2, key.scope.text);
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "insert ledger"));
    return sqlite3_last_insert_rowid(db_);
  }

  StateResult<U256> window_sum(const LedgerKey& key, TimeMs after_ms) {
    auto id = find_ledger(key);
    if (!id) return std::unexpected(id.error());
    if (*id == 0) return U256(0);
    // Exact sum from per-minute totals: whole minutes that start after after_ms come from
    // debit_minutes (at most one row per minute), the partial minute at the window's start comes from
    // the individual debits, so the result equals a row-by-row sum while a busy 24 h window reads at
    // most 1,440 totals plus one minute of rows.
    const std::int64_t first_full = minute_of(after_ms) + 1;
    const TimeMs edge_end = first_full > std::numeric_limits<TimeMs>::max() / kMinuteMs
                                ? std::numeric_limits<TimeMs>::max()
                                : first_full * kMinuteMs;
    struct Part {
      const char* sql;
      std::int64_t a;
      std::int64_t b;
    };
    const Part parts[] = {
        {"SELECT amount FROM debits WHERE ledger = ?1 AND at_ms > ?2 AND at_ms < ?3", after_ms, edge_end},
        {"SELECT total FROM debit_minutes WHERE ledger = ?1 AND minute >= ?2", first_full, 0},
        {"SELECT amount FROM reservations WHERE ledger = ?1 AND at_ms > ?2 AND kind = 1", after_ms, 0},
    };
    U256 sum = 0;
    for (const Part& part : parts) {
      auto stmt = prepare(part.sql);
      if (!stmt) return std::unexpected(stmt.error());
      sqlite3_stmt* s = *stmt;
      sqlite3_bind_int64(s, 1, *id);
      sqlite3_bind_int64(s, 2, part.a);
      if (sqlite3_bind_parameter_count(s) >= 3) sqlite3_bind_int64(s, 3, part.b);
      int rc = 0;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        auto amount = column_u256(s, 0);
        if (!amount) {
          sqlite3_reset(s);
          return std::unexpected(amount.error());
        }
        add_saturating(sum, *amount);
      }
      sqlite3_reset(s);
      if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "window sum"));
    }
    return sum;
  }

  struct BucketRow {
    BucketState state;
    policy::TokenBucket limit;
  };

  StateResult<std::optional<BucketRow>> bucket_row(std::int64_t ledger_id) {
    auto stmt = prepare(
        "SELECT milli_tokens, updated_ms, capacity, refill_per_second FROM buckets WHERE ledger = ?1");
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = *stmt;
    sqlite3_bind_int64(s, 1, ledger_id);
    const int rc = sqlite3_step(s);
    std::optional<BucketRow> row;
    StateResult<void> bad{};
    if (rc == SQLITE_ROW) {
      auto level = column_u256(s, 0);
      auto capacity = column_u256(s, 2);
      auto rate = column_u256(s, 3);
      if (!level || !capacity || !rate) {
        bad = fail(StateErrc::kCorrupt, "bucket row with a malformed amount");
      } else {
        row = BucketRow{BucketState{*level, sqlite3_column_int64(s, 1)}, policy::TokenBucket{*capacity, *rate}};
      }
    }
    sqlite3_reset(s);
    if (!bad) return std::unexpected(bad.error());
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "read bucket"));
    return row;
  }

  StateResult<std::optional<BucketState>> bucket(const LedgerKey& key) {
    auto id = find_ledger(key);
    if (!id) return std::unexpected(id.error());
    if (*id == 0) return std::optional<BucketState>{};
    auto row = bucket_row(*id);
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<BucketState>{};
    return std::optional<BucketState>{(*row)->state};
  }

  // --- writes (inside a transaction) -------------------------------------------------------------

  StateResult<void> apply(const policy::Effect& effect) {
    return std::visit([this](const auto& e) { return apply_one(e); }, effect);
  }

  StateResult<void> apply_one(const policy::Debit& debit) {
    auto id = ledger(debit.key);
    if (!id) return std::unexpected(id.error());
    return insert_debit(*id, debit.at_ms, debit.amount);
  }

  StateResult<void> apply_one(const policy::BucketSet& set) {
    auto id = ledger(set.key);
    if (!id) return std::unexpected(id.error());
    return write_bucket(*id, set.state, set.limit);
  }

  StateResult<void> apply_one(const policy::Reserve& reserve) {
    auto id = ledger(reserve.key);
    if (!id) return std::unexpected(id.error());
    auto stmt = prepare(
        "INSERT INTO reservations(id, ledger, kind, amount, at_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = *stmt;
    bind_text(s, 1, reserve.id);
    sqlite3_bind_int64(s, 2, *id);
    sqlite3_bind_int(s, 3, static_cast<int>(reserve.kind));
    bind_u256(s, 4, reserve.amount);
    sqlite3_bind_int64(s, 5, reserve.at_ms);
    sqlite3_bind_int64(s, 6, reserve.expires_ms);
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return fail(StateErrc::kDuplicate, "reservation " + reserve.id + " exists");
    if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "insert reservation"));
    return {};
  }

  struct ReservationRow {
    std::int64_t ledger;
    ReservationKind kind;
    U256 amount;
    TimeMs at_ms;
  };

  StateResult<ReservationRow> take_reservation(const std::string& id) {
    auto stmt = prepare("DELETE FROM reservations WHERE id = ?1 RETURNING ledger, kind, amount, at_ms");
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = *stmt;
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    std::optional<ReservationRow> row;
    bool malformed = false;
    if (rc == SQLITE_ROW) {
      auto amount = column_u256(s, 2);
      const int kind = sqlite3_column_int(s, 1);
      if (!amount || (kind != 1 && kind != 2)) {
        malformed = true;
      } else {
        row = ReservationRow{sqlite3_column_int64(s, 0), static_cast<ReservationKind>(kind), *amount,
                             sqlite3_column_int64(s, 3)};
      }
      rc = sqlite3_step(s);  // run the DELETE to completion
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "take reservation"));
    if (malformed) return fail(StateErrc::kCorrupt, "reservation " + id + " is malformed");
    if (!row) return fail(StateErrc::kNotFound, "no pending reservation " + id);
    return *row;
  }

  StateResult<void> apply_one(const policy::CommitReservation& commit) {
    auto row = take_reservation(commit.id);
    if (!row) return std::unexpected(row.error());
    // A bucket reservation already took its tokens; committing only stops it being refundable.
    if (row->kind == ReservationKind::kWindow) return insert_debit(row->ledger, row->at_ms, row->amount);
    return {};
  }

  StateResult<void> apply_one(const policy::ReleaseReservation& release) {
    auto row = take_reservation(release.id);
    if (!row) return std::unexpected(row.error());
    if (row->kind == ReservationKind::kWindow) return {};
    auto bucket = bucket_row(row->ledger);
    if (!bucket) return std::unexpected(bucket.error());
    if (!*bucket) return fail(StateErrc::kCorrupt, "bucket reservation " + release.id + " without its bucket");
    const auto& [state, limit] = **bucket;
    return write_bucket(row->ledger, policy::refund(limit, state, row->amount, release.at_ms), limit);
  }

  StateResult<void> insert_debit(std::int64_t ledger_id, TimeMs at_ms, const U256& amount) {
    auto stmt = prepare("INSERT INTO debits(ledger, at_ms, amount) VALUES (?1, ?2, ?3)");
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = *stmt;
    sqlite3_bind_int64(s, 1, ledger_id);
    sqlite3_bind_int64(s, 2, at_ms);
    bind_u256(s, 3, amount);
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "insert debit"));
    return add_to_minute(ledger_id, minute_of(at_ms), amount);
  }

  // Keeps debit_minutes equal to the sum of debits per (ledger, minute). U256 has no SQL addition,
  // so read, add in C++, write back (inside the caller's write transaction, so no lost update).
  StateResult<void> add_to_minute(std::int64_t ledger_id, std::int64_t minute, const U256& amount) {
    auto read = prepare("SELECT total FROM debit_minutes WHERE ledger = ?1 AND minute = ?2");
    if (!read) return std::unexpected(read.error());
    sqlite3_stmt* r = *read;
    sqlite3_bind_int64(r, 1, ledger_id);
    sqlite3_bind_int64(r, 2, minute);
    int rc = sqlite3_step(r);
    U256 total = 0;
    StateResult<U256> old = U256(0);
    if (rc == SQLITE_ROW) old = column_u256(r, 0);
    sqlite3_reset(r);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "read minute total"));
    if (!old) return std::unexpected(old.error());
    total = *old;
    add_saturating(total, amount);
    auto write = prepare("INSERT OR REPLACE INTO debit_minutes(ledger, minute, total) VALUES (?1, ?2, ?3)");
    if (!write) return std::unexpected(write.error());
    sqlite3_stmt* w = *write;
    sqlite3_bind_int64(w, 1, ledger_id);
    sqlite3_bind_int64(w, 2, minute);
    bind_u256(w, 3, total);
    rc = sqlite3_step(w);
    sqlite3_reset(w);
    if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "write minute total"));
    return {};
  }

  StateResult<void> write_bucket(std::int64_t ledger_id, const BucketState& state, const policy::TokenBucket& limit) {
    auto stmt = prepare(
        "INSERT OR REPLACE INTO buckets(ledger, milli_tokens, updated_ms, capacity, refill_per_second) "
        "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = *stmt;
    sqlite3_bind_int64(s, 1, ledger_id);
    bind_u256(s, 2, state.milli_tokens);
    sqlite3_bind_int64(s, 3, state.updated_ms);
    bind_u256(s, 4, limit.capacity);
    bind_u256(s, 5, limit.refill_per_second);
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "write bucket"));
    return {};
  }

  // Runs `work` inside BEGIN IMMEDIATE ... COMMIT; rolls back on any error or exception.
  template <typename T, typename Work>
  StateResult<T> in_transaction(Work&& work) {
    if (auto locked = begin(); !locked) return std::unexpected(locked.error());
    StateResult<T> result = fail(StateErrc::kIo, "transaction body did not run");
    try {
      result = work();
    } catch (const std::exception& e) {
      result = fail(StateErrc::kIo, std::string("exception inside the state transaction: ") + e.what());
    } catch (...) {
      result = fail(StateErrc::kIo, "unknown exception inside the state transaction");
    }
    if (!result) {
      rollback();
      return result;
    }
    if (auto committed = commit(); !committed) return std::unexpected(committed.error());
    return result;
  }

  StateResult<std::uint64_t> changes_of(const char* sql, std::int64_t value, std::string_view what) {
    auto stmt = prepare(sql);
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = *stmt;
    sqlite3_bind_int64(s, 1, value);
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, what));
    return static_cast<std::uint64_t>(sqlite3_changes64(db_));
  }

  StateResult<std::vector<std::string>> expired_ids(TimeMs now_ms) {
    auto stmt = prepare("SELECT id FROM reservations WHERE expires_ms <= ?1");
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = *stmt;
    sqlite3_bind_int64(s, 1, now_ms);
    std::vector<std::string> ids;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(s, 0);
      ids.emplace_back(reinterpret_cast<const char*>(text), static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "list expired reservations"));
    return ids;
  }

 private:
  static void bind_text(sqlite3_stmt* s, int index, const std::string& text) {
    sqlite3_bind_text64(s, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  }
  // Minimal big-endian bytes; zero is a zero-length BLOB (bound as an empty blob, not NULL).
  static void bind_u256(sqlite3_stmt* s, int index, const U256& value) {
    const codec::Bytes bytes = codec::u256_to_be_min(value);
    sqlite3_bind_blob64(s, index, bytes.empty() ? "" : static_cast<const void*>(bytes.data()), bytes.size(),
                        SQLITE_TRANSIENT);
  }
  static StateResult<U256> column_u256(sqlite3_stmt* s, int column) {
    if (sqlite3_column_type(s, column) != SQLITE_BLOB) return fail(StateErrc::kCorrupt, "amount is not a BLOB");
    const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, column));
    const auto size = static_cast<std::size_t>(sqlite3_column_bytes(s, column));
    if (size > 32) return fail(StateErrc::kCorrupt, "amount longer than 32 bytes");
    if (size == 0) return U256(0);
    return codec::u256_from_be(codec::ByteView(data, size));
  }

  sqlite3* db_;
  SqliteOptions options_;
  std::minstd_rand jitter_;
  std::map<std::string_view, Stmt> statements_;  // keys are string literals
};

namespace {

class SqliteView final : public policy::StateView {
 public:
  explicit SqliteView(SqliteStateStore::Impl& impl) : impl_(impl) {}
  StateResult<U256> window_sum(const LedgerKey& key, TimeMs after_ms) const override {
    return impl_.window_sum(key, after_ms);
  }
  StateResult<std::optional<BucketState>> bucket(const LedgerKey& key) const override { return impl_.bucket(key); }

 private:
  SqliteStateStore::Impl& impl_;
};

StateResult<void> set_up(SqliteStateStore::Impl& impl, const SqliteOptions& options) {
  sqlite3* db = impl.db();
  // Identify the file before changing anything in it: a foreign database is left untouched.
  auto app_id = impl.pragma_int("PRAGMA application_id");
  if (!app_id) {
    auto error = app_id.error();
    if (error.code == StateErrc::kCorrupt) error.detail = "not a txguard state database: " + error.detail;
    return std::unexpected(error);
  }
  auto version = impl.pragma_int("PRAGMA user_version");
  if (!version) return std::unexpected(version.error());
  if (*app_id == 0) {
    auto tables = impl.pragma_int("SELECT count(*) FROM sqlite_schema");
    if (!tables) return std::unexpected(tables.error());
    if (*tables != 0 || *version != 0) {
      return fail(StateErrc::kForeign, "not a txguard state database: a SQLite database of another application");
    }
  } else if (*app_id != kApplicationId) {
    return fail(StateErrc::kForeign, "not a txguard state database: application_id " + std::to_string(*app_id));
  } else if (*version > kSchemaVersion) {
    return fail(StateErrc::kForeign, "state database schema " + std::to_string(*version) +
                                         " is newer than this txguard (" + std::to_string(kSchemaVersion) + ")");
  }

  auto mode_stmt = impl.prepare("PRAGMA journal_mode=WAL");
  if (!mode_stmt) return std::unexpected(mode_stmt.error());
  {
    sqlite3_stmt* s = *mode_stmt;
    const int rc = sqlite3_step(s);
    std::string mode;
    if (rc == SQLITE_ROW) mode = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    if (rc != SQLITE_ROW) return std::unexpected(sql_error(db, rc, "PRAGMA journal_mode=WAL"));
    if (mode != "wal") return fail(StateErrc::kIo, "the state database cannot use WAL (journal_mode " + mode + ")");
  }
  // A scratch store (replay) need not survive a crash; every other store syncs each commit.
  if (auto ok = impl.exec(options.durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF", "PRAGMA synchronous");
      !ok) {
    return ok;
  }

  // Create or migrate under the write lock, re-reading the version: another connection may have
  // created the schema between our first look and now.
  auto migrated = impl.in_transaction<void>([&]() -> StateResult<void> {
    auto now_version = impl.pragma_int("PRAGMA user_version");
    if (!now_version) return std::unexpected(now_version.error());
    if (*now_version == 0) {
      if (auto ok = impl.exec(kSchemaV1, "create schema"); !ok) return ok;
      const std::string stamp = "PRAGMA application_id=" + std::to_string(kApplicationId) +
                                "; PRAGMA user_version=" + std::to_string(kSchemaVersion);
      if (auto ok = impl.exec(stamp.c_str(), "stamp schema"); !ok) return ok;
    }
    // Future versions migrate here, one step at a time: if (*now_version == 1) { ...; user_version=2 }
    return {};
  });
  if (!migrated) return migrated;

  if (options.check_integrity) {
    auto stmt = impl.prepare("PRAGMA quick_check");
    if (!stmt) return std::unexpected(stmt.error());
    sqlite3_stmt* s = *stmt;
    const int rc = sqlite3_step(s);
    std::string verdict;
    if (rc == SQLITE_ROW) verdict = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    if (rc != SQLITE_ROW) return std::unexpected(sql_error(db, rc, "PRAGMA quick_check"));
    if (verdict != "ok") return fail(StateErrc::kCorrupt, "state database failed quick_check: " + verdict);
  }
  return {};
}

}  // namespace

StateResult<std::unique_ptr<SqliteStateStore>> SqliteStateStore::open(const std::string& path,
                                                                       const SqliteOptions& options) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    auto error = sql_error(db, rc, "open " + path);
    sqlite3_close_v2(db);
    return std::unexpected(std::move(error));
  }
  auto impl = std::make_unique<Impl>(db, options);
  sqlite3_extended_result_codes(db, 1);
  // Set-up statements (journal mode change, first read) wait for other connections through
  // SQLite's busy handler; transactions after this use Impl::begin()'s own bounded retry.
  sqlite3_busy_timeout(db, static_cast<int>(options.lock_timeout.count()));
  if (auto ok = set_up(*impl, options); !ok) return std::unexpected(ok.error());
  sqlite3_busy_timeout(db, 0);
  return std::unique_ptr<SqliteStateStore>(new SqliteStateStore(std::move(impl)));
}

SqliteStateStore::SqliteStateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStateStore::~SqliteStateStore() = default;

StateResult<Effects> SqliteStateStore::transact(const Body& body, const Extra& extra) {
  return impl_->in_transaction<Effects>([&]() -> StateResult<Effects> {
    SqliteView view(*impl_);
    auto effects = body(view);
    if (!effects) return effects;
    for (const policy::Effect& effect : *effects) {
      if (auto ok = impl_->apply(effect); !ok) return std::unexpected(ok.error());
    }
    if (extra) {
      SqliteTx tx(impl_->db());
      if (auto ok = extra(tx); !ok) return std::unexpected(ok.error());
    }
    return effects;
  });
}

// Savepoints nest inside the BEGIN IMMEDIATE transaction (https://sqlite.org/lang_savepoint.html):
// ROLLBACK TO undoes one step's writes and keeps the transaction (and the write lock) open.
StateResult<void> SqliteStateStore::transact_batch(std::span<Step> steps) {
  sqlite3* db = impl_->db();
  const auto exec = [db](const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); };
  auto done = impl_->in_transaction<void>([&]() -> StateResult<void> {
    SqliteView view(*impl_);
    SqliteTx tx(db);
    for (Step& step : steps) {
      if (const int rc = exec("SAVEPOINT step"); rc != SQLITE_OK) return std::unexpected(sql_error(db, rc, "SAVEPOINT"));
      StateResult<Effects> result = fail(StateErrc::kIo, "step did not run");
      try {
        result = step.body(view, tx);
        if (result) {
          for (const policy::Effect& effect : *result) {
            if (auto ok = impl_->apply(effect); !ok) {
              result = std::unexpected(ok.error());
              break;
            }
          }
        }
        if (result && step.extra) {
          if (auto ok = step.extra(tx); !ok) result = std::unexpected(ok.error());
        }
      } catch (const std::exception& e) {
        result = fail(StateErrc::kIo, std::string("exception inside a batch step: ") + e.what());
      }
      if (!result) {
        if (const int rc = exec("ROLLBACK TO step"); rc != SQLITE_OK) return std::unexpected(sql_error(db, rc, "ROLLBACK TO"));
      }
      if (const int rc = exec("RELEASE step"); rc != SQLITE_OK) return std::unexpected(sql_error(db, rc, "RELEASE"));
      step.result = std::move(result);
    }
    return {};
  });
  if (!done) {
    for (Step& step : steps) step.result = std::unexpected(done.error());
  }
  return done;
}

StateResult<void> SqliteStateStore::commit_reservation(const std::string& id) {
  return impl_->in_transaction<void>([&] { return impl_->apply(policy::CommitReservation{id}); });
}

StateResult<void> SqliteStateStore::release_reservation(const std::string& id, TimeMs now_ms) {
  return impl_->in_transaction<void>([&] { return impl_->apply(policy::ReleaseReservation{id, now_ms}); });
}

StateResult<std::uint64_t> SqliteStateStore::expire_reservations(TimeMs now_ms) {
  return impl_->in_transaction<std::uint64_t>([&]() -> StateResult<std::uint64_t> {
    auto ids = impl_->expired_ids(now_ms);
    if (!ids) return std::unexpected(ids.error());
    for (const std::string& id : *ids) {
      if (auto ok = impl_->apply(policy::ReleaseReservation{id, now_ms}); !ok) return std::unexpected(ok.error());
    }
    return static_cast<std::uint64_t>(ids->size());
  });
}

// Deletes in transactions of kPruneBatch rows so that a large backlog never holds the write lock
// (and so every limit check) for long. A minute total goes once its whole minute is <= before_ms; a
// partial minute's total stays, which is exact for every window that starts at or after before_ms.
StateResult<std::uint64_t> SqliteStateStore::prune(TimeMs before_ms) {
  std::uint64_t deleted = 0;
  for (;;) {
    auto batch = impl_->in_transaction<std::uint64_t>([&] {
      return impl_->changes_of(
          "DELETE FROM debits WHERE rowid IN (SELECT rowid FROM debits WHERE ledger IN (SELECT id FROM ledgers) "
          "AND at_ms <= ?1 LIMIT 10000)",
          before_ms, "prune debits");
    });
    if (!batch) return batch;
    deleted += *batch;
    if (*batch < static_cast<std::uint64_t>(kPruneBatch)) break;
  }
  const TimeMs after = before_ms == std::numeric_limits<TimeMs>::max() ? before_ms : before_ms + 1;
  auto minutes = impl_->in_transaction<std::uint64_t>([&] {
    return impl_->changes_of("DELETE FROM debit_minutes WHERE ledger IN (SELECT id FROM ledgers) AND minute < ?1",
                             minute_of(after), "prune minute totals");
  });
  if (!minutes) return std::unexpected(minutes.error());
  return deleted;
}

}  // namespace txguard::store

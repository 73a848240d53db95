// The state store on a SqlConnection (contract in state_store.hpp / sql_state_store.hpp).
#include "guard/store/sql_state_store.hpp"

#include <chrono>
#include <limits>

#include "guard/store/schema.hpp"

namespace txguard::store {

using policy::BucketState;
using policy::LedgerKey;
using policy::ReservationKind;
using policy::U256;

namespace {


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
constexpr std::uint64_t kPruneBatch = 10'000;

// The minute containing t (floor division, also for times before 1970).
std::int64_t minute_of(TimeMs t) {
  return t / kMinuteMs - ((t % kMinuteMs) < 0 ? 1 : 0);
}

StateResult<U256> u256_of(const SqlRow& row, int column) {
  auto bytes = row.blob(column);
  if (!bytes || row.is_null(column)) return fail(StateErrc::kCorrupt, "amount is not a byte string");
  if (bytes->size() > 32) return fail(StateErrc::kCorrupt, "amount longer than 32 bytes");
  if (bytes->empty()) return U256(0);
  return codec::u256_from_be(*bytes);
}

// One integer result (a count, a PRAGMA); 0 when the statement returns no row.
StateResult<std::int64_t> single_integer(SqlConnection& c, std::string_view sql,
                                         std::initializer_list<SqlParam> params = {}) {
  std::int64_t value = 0;
  auto ran = c.run(sql, params, [&](const SqlRow& row) -> StateResult<void> {
    value = row.integer(0).value_or(0);
    return {};
  });
  if (!ran) return std::unexpected(ran.error());
  return value;
}

}  // namespace

class SqlStateStore::Impl {
 public:
  explicit Impl(std::unique_ptr<SqlConnection> connection) : c_(std::move(connection)) {}

  SqlConnection& connection() const { return *c_; }

  // --- reads -------------------------------------------------------------------------------------

  // The ledger's id, or 0 when it does not exist (ids start at 1 on both backends).
  StateResult<std::int64_t> find_ledger(const LedgerKey& key) {
    return single_integer(*c_, "SELECT id FROM ledgers WHERE limit_id = ?1 AND scope = ?2",
                          {std::string_view(key.limit_id), std::string_view(key.scope.text)});
  }

  StateResult<std::int64_t> ledger(const LedgerKey& key) {
    auto found = find_ledger(key);
    if (!found || *found != 0) return found;
    auto id = single_integer(*c_, "INSERT INTO ledgers(limit_id, scope) VALUES (?1, ?2) RETURNING id",
                             {std::string_view(key.limit_id), std::string_view(key.scope.text)});
    if (id && *id == 0) return fail(StateErrc::kIo, "inserting a ledger returned no id");
    return id;
  }

  // Sums an amount column over the rows of one statement.
  StateResult<void> add_amounts(std::string_view sql, std::initializer_list<SqlParam> params, U256& sum) {
    auto ran = c_->run(sql, params, [&](const SqlRow& row) -> StateResult<void> {
      auto amount = u256_of(row, 0);
      if (!amount) return std::unexpected(amount.error());
      add_saturating(sum, *amount);
      return {};
    });
    if (!ran) return std::unexpected(ran.error());
    return {};
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
    U256 sum = 0;
    if (auto ok = add_amounts("SELECT amount FROM debits WHERE ledger = ?1 AND at_ms > ?2 AND at_ms < ?3",
                              {*id, after_ms, edge_end}, sum);
        !ok) {
      return std::unexpected(ok.error());
    }
    if (auto ok = add_amounts("SELECT total FROM debit_minutes WHERE ledger = ?1 AND minute >= ?2", {*id, first_full},
                              sum);
        !ok) {
      return std::unexpected(ok.error());
    }
    if (auto ok = add_amounts("SELECT amount FROM reservations WHERE ledger = ?1 AND at_ms > ?2 AND kind = 1",
                              {*id, after_ms}, sum);
        !ok) {
      return std::unexpected(ok.error());
    }
    return sum;
  }

  struct BucketRow {
    BucketState state;
    policy::TokenBucket limit;
  };

  StateResult<std::optional<BucketRow>> bucket_row(std::int64_t ledger_id) {
    std::optional<BucketRow> found;
    auto ran = c_->run("SELECT milli_tokens, updated_ms, capacity, refill_per_second FROM buckets WHERE ledger = ?1",
                       {ledger_id}, [&](const SqlRow& row) -> StateResult<void> {
                         auto level = u256_of(row, 0);
                         auto capacity = u256_of(row, 2);
                         auto rate = u256_of(row, 3);
                         auto updated = row.integer(1);
                         if (!level || !capacity || !rate || !updated) {
                           return fail(StateErrc::kCorrupt, "bucket row with a malformed amount");
                         }
                         found = BucketRow{BucketState{*level, *updated}, policy::TokenBucket{*capacity, *rate}};
                         return {};
                       });
    if (!ran) return std::unexpected(ran.error());
    return found;
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
    const codec::Bytes amount = codec::u256_to_be_min(reserve.amount);
    auto ran = c_->run(
        "INSERT INTO reservations(id, ledger, kind, amount, at_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        {std::string_view(reserve.id), *id, static_cast<std::int64_t>(reserve.kind), SqlBlob{amount}, reserve.at_ms,
         reserve.expires_ms});
    if (!ran) {
      if (ran.error().code == StateErrc::kDuplicate) return fail(StateErrc::kDuplicate, "reservation " + reserve.id + " exists");
      return std::unexpected(ran.error());
    }
    return {};
  }

  struct ReservationRow {
    std::int64_t ledger;
    ReservationKind kind;
    U256 amount;
    TimeMs at_ms;
  };

  StateResult<ReservationRow> take_reservation(const std::string& id) {
    std::optional<ReservationRow> taken;
    auto ran = c_->run("DELETE FROM reservations WHERE id = ?1 RETURNING ledger, kind, amount, at_ms",
                       {std::string_view(id)}, [&](const SqlRow& row) -> StateResult<void> {
                         auto amount = u256_of(row, 2);
                         const auto kind = row.integer(1);
                         const auto ledger_id = row.integer(0);
                         const auto at = row.integer(3);
                         if (!amount || !kind || (*kind != 1 && *kind != 2) || !ledger_id || !at) {
                           return fail(StateErrc::kCorrupt, "reservation " + id + " is malformed");
                         }
                         taken = ReservationRow{*ledger_id, static_cast<ReservationKind>(*kind), *amount, *at};
                         return {};
                       });
    if (!ran) return std::unexpected(ran.error());
    if (!taken) return fail(StateErrc::kNotFound, "no pending reservation " + id);
    return *taken;
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
    const codec::Bytes bytes = codec::u256_to_be_min(amount);
    auto ran = c_->run("INSERT INTO debits(ledger, at_ms, amount) VALUES (?1, ?2, ?3)",
                       {ledger_id, at_ms, SqlBlob{bytes}});
    if (!ran) return std::unexpected(ran.error());
    return add_to_minute(ledger_id, minute_of(at_ms), amount);
  }

  // Keeps debit_minutes equal to the sum of debits per (ledger, minute). U256 has no SQL addition,
  // so read, add in C++, write back (inside the caller's write transaction, so no lost update).
  StateResult<void> add_to_minute(std::int64_t ledger_id, std::int64_t minute, const U256& amount) {
    U256 total = 0;
    if (auto ok = add_amounts("SELECT total FROM debit_minutes WHERE ledger = ?1 AND minute = ?2", {ledger_id, minute},
                              total);
        !ok) {
      return ok;
    }
    add_saturating(total, amount);
    const codec::Bytes bytes = codec::u256_to_be_min(total);
    auto ran = c_->run(
        "INSERT INTO debit_minutes(ledger, minute, total) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(ledger, minute) DO UPDATE SET total = excluded.total",
        {ledger_id, minute, SqlBlob{bytes}});
    if (!ran) return std::unexpected(ran.error());
    return {};
  }

  StateResult<void> write_bucket(std::int64_t ledger_id, const BucketState& state, const policy::TokenBucket& limit) {
    const codec::Bytes level = codec::u256_to_be_min(state.milli_tokens);
    const codec::Bytes capacity = codec::u256_to_be_min(limit.capacity);
    const codec::Bytes rate = codec::u256_to_be_min(limit.refill_per_second);
    auto ran = c_->run(
        "INSERT INTO buckets(ledger, milli_tokens, updated_ms, capacity, refill_per_second) "
        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(ledger) DO UPDATE SET milli_tokens = excluded.milli_tokens, "
        "updated_ms = excluded.updated_ms, capacity = excluded.capacity, refill_per_second = excluded.refill_per_second",
        {ledger_id, SqlBlob{level}, state.updated_ms, SqlBlob{capacity}, SqlBlob{rate}});
    if (!ran) return std::unexpected(ran.error());
    return {};
  }

  // Runs `work` inside one write transaction; rolls back on any error or exception.
  template <typename T, typename Work>
  StateResult<T> in_transaction(Work&& work) {
    if (auto locked = c_->begin_write(); !locked) return std::unexpected(locked.error());
    StateResult<T> result = fail(StateErrc::kIo, "transaction body did not run");
    try {
      result = work();
    } catch (const std::exception& e) {
      result = fail(StateErrc::kIo, std::string("exception inside the state transaction: ") + e.what());
    } catch (...) {
      result = fail(StateErrc::kIo, "unknown exception inside the state transaction");
    }
    if (!result) {
      c_->rollback();
      return result;
    }
    if (auto committed = c_->commit(); !committed) return std::unexpected(committed.error());
    return result;
  }

  StateResult<std::vector<std::string>> expired_ids(TimeMs now_ms) {
    std::vector<std::string> ids;
    auto ran = c_->run("SELECT id FROM reservations WHERE expires_ms <= ?1", {now_ms},
                       [&](const SqlRow& row) -> StateResult<void> {
                         ids.push_back(row.text(0));
                         return {};
                       });
    if (!ran) return std::unexpected(ran.error());
    return ids;
  }

  // Creates the schema (an empty database: at the current version, schema.hpp), or checks that the
  // one there is txguard's and not newer, under the write lock (another replica or process may create
  // it at the same moment). An older version is accepted here: start-up (Pipeline::start) is what
  // refuses it and names txguard db migrate.
  StateResult<void> install() {
    return in_transaction<void>([&]() -> StateResult<void> {
      auto status = inspect_schema(*c_);
      if (!status) return std::unexpected(status.error());
      if (status->version == kForeignSchema) return fail(StateErrc::kForeign, status->detail);
      if (status->version > kCurrentSchemaVersion) {
        return fail(StateErrc::kForeign, "state database schema " + std::to_string(status->version) +
                                             " is newer than this txguard (" + std::to_string(kCurrentSchemaVersion) +
                                             ")");
      }
      if (status->version == 0) {
        const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        auto created = migrate_in_transaction(*c_, static_cast<TimeMs>(now));
        if (!created) return std::unexpected(created.error());
      }
      return {};
    });
  }

 private:
  std::unique_ptr<SqlConnection> c_;
};

namespace {

class SqlView final : public policy::StateView {
 public:
  explicit SqlView(SqlStateStore::Impl& impl) : impl_(impl) {}
  StateResult<U256> window_sum(const LedgerKey& key, TimeMs after_ms) const override {
    return impl_.window_sum(key, after_ms);
  }
  StateResult<std::optional<BucketState>> bucket(const LedgerKey& key) const override { return impl_.bucket(key); }

 private:
  SqlStateStore::Impl& impl_;
};

}  // namespace

StateResult<std::unique_ptr<SqlStateStore>> SqlStateStore::open(const std::string& database,
                                                                 const DatabaseOptions& options) {
  auto connection = open_database(database, options);
  if (!connection) return std::unexpected(connection.error());
  return open(std::move(*connection));
}

StateResult<std::unique_ptr<SqlStateStore>> SqlStateStore::open(std::unique_ptr<SqlConnection> connection) {
  auto impl = std::make_unique<Impl>(std::move(connection));
  if (auto ok = impl->install(); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<SqlStateStore>(new SqlStateStore(std::move(impl)));
}

SqlStateStore::SqlStateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqlStateStore::~SqlStateStore() = default;

SqlBackend SqlStateStore::backend() const noexcept { return impl_->connection().backend(); }

StateResult<Effects> SqlStateStore::transact(const Body& body, const Extra& extra) {
  return impl_->in_transaction<Effects>([&]() -> StateResult<Effects> {
    SqlView view(*impl_);
    auto effects = body(view);
    if (!effects) return effects;
    for (const policy::Effect& effect : *effects) {
      if (auto ok = impl_->apply(effect); !ok) return std::unexpected(ok.error());
    }
    if (extra) {
      Tx tx(impl_->connection());
      if (auto ok = extra(tx); !ok) return std::unexpected(ok.error());
    }
    return effects;
  });
}

// Savepoints nest inside the write transaction: ROLLBACK TO undoes one step's writes (and, on
// PostgreSQL, clears the failed state a refused statement leaves) and keeps the transaction and its
// lock open.
StateResult<void> SqlStateStore::transact_batch(std::span<Step> steps) {
  SqlConnection& c = impl_->connection();
  auto done = impl_->in_transaction<void>([&]() -> StateResult<void> {
    SqlView view(*impl_);
    Tx tx(c);
    for (Step& step : steps) {
      if (auto ok = c.savepoint("step"); !ok) return ok;
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
        // A lost connection fails the whole batch: nothing of it is committed.
        if (result.error().code == StateErrc::kUnavailable) return std::unexpected(result.error());
        if (auto ok = c.rollback_to_savepoint("step"); !ok) return ok;
      } else if (auto ok = c.release_savepoint("step"); !ok) {
        return ok;
      }
      step.result = std::move(result);
    }
    return {};
  });
  if (!done) {
    for (Step& step : steps) step.result = std::unexpected(done.error());
  }
  return done;
}

StateResult<void> SqlStateStore::commit_reservation(const std::string& id) {
  return impl_->in_transaction<void>([&] { return impl_->apply(policy::CommitReservation{id}); });
}

StateResult<void> SqlStateStore::release_reservation(const std::string& id, TimeMs now_ms) {
  return impl_->in_transaction<void>([&] { return impl_->apply(policy::ReleaseReservation{id, now_ms}); });
}

StateResult<std::uint64_t> SqlStateStore::expire_reservations(TimeMs now_ms) {
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
// debits has no key of its own: SQLite's rowid and PostgreSQL's ctid name a row for the batch ("ledger
// IN (SELECT id FROM ledgers)" lets the (ledger, at_ms) index serve the range).
StateResult<std::uint64_t> SqlStateStore::prune(TimeMs before_ms) {
  SqlConnection& c = impl_->connection();
  const char* prune_debits =
      c.backend() == SqlBackend::kSqlite
          ? "DELETE FROM debits WHERE rowid IN (SELECT rowid FROM debits WHERE ledger IN (SELECT id FROM ledgers) "
            "AND at_ms <= ?1 LIMIT 10000)"
          : "DELETE FROM debits WHERE ctid = ANY(ARRAY(SELECT ctid FROM debits WHERE ledger IN (SELECT id FROM ledgers) "
            "AND at_ms <= ?1 LIMIT 10000))";
  std::uint64_t deleted = 0;
  for (;;) {
    auto batch = impl_->in_transaction<std::uint64_t>([&] { return c.run(prune_debits, {before_ms}); });
    if (!batch) return batch;
    deleted += *batch;
    if (*batch < kPruneBatch) break;
  }
  const TimeMs after = before_ms == std::numeric_limits<TimeMs>::max() ? before_ms : before_ms + 1;
  auto minutes = impl_->in_transaction<std::uint64_t>(
      [&] { return c.run("DELETE FROM debit_minutes WHERE ledger IN (SELECT id FROM ledgers) AND minute < ?1", {minute_of(after)}); });
  if (!minutes) return std::unexpected(minutes.error());
  return deleted;
}

}  // namespace txguard::store

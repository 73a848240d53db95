// SQLite implementation of SqlConnection (contract in sql.hpp and sqlite_connection.hpp).
//
// Why BEGIN IMMEDIATE: a DEFERRED transaction takes a read snapshot first and upgrades to a write
// lock at the first write; two connections can then both read the same window sum and one fails to
// upgrade (SQLITE_BUSY_SNAPSHOT) only after deciding. Taking the write lock before the first read
// makes the read and the write one serial step per database (https://sqlite.org/lang_transaction.html).
// Why our own retry loop rather than sqlite3_busy_timeout: it bounds the total wait exactly, adds
// jitter so eight waiting connections do not wake in lock-step, and makes "could not lock" a distinct
// kUnavailable that the service turns into 503.
#include "guard/store/sqlite_connection.hpp"

#include <sqlite3.h>

#include <map>
#include <random>
#include <thread>

namespace txguard::store {

namespace {

StateErrc code_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return StateErrc::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return StateErrc::kCorrupt;
    case SQLITE_CONSTRAINT:
      return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ? StateErrc::kDuplicate
                                                                                 : StateErrc::kIo;
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

class SqliteRow final : public SqlRow {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : s_(s) {}
  int columns() const noexcept override { return sqlite3_column_count(s_); }
  bool is_null(int column) const noexcept override { return sqlite3_column_type(s_, column) == SQLITE_NULL; }
  std::optional<std::int64_t> integer(int column) const noexcept override {
    if (sqlite3_column_type(s_, column) != SQLITE_INTEGER) return std::nullopt;
    return sqlite3_column_int64(s_, column);
  }
  std::string text(int column) const override {
    const unsigned char* p = sqlite3_column_text(s_, column);
    if (p == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s_, column)));
  }
  std::optional<codec::Bytes> blob(int column) const override {
    const int type = sqlite3_column_type(s_, column);
    if (type == SQLITE_NULL) return codec::Bytes{};
    if (type != SQLITE_BLOB) return std::nullopt;
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s_, column));
    const auto n = static_cast<std::size_t>(sqlite3_column_bytes(s_, column));
    return p == nullptr ? codec::Bytes{} : codec::Bytes(p, p + n);
  }

 private:
  sqlite3_stmt* s_;
};

class SqliteConnection final : public SqlConnection {
 public:
  SqliteConnection(sqlite3* db, const DatabaseOptions& options)
      : db_(db), lock_timeout_(options.lock_timeout), jitter_(std::random_device{}()) {}
  ~SqliteConnection() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  sqlite3* db() const noexcept { return db_; }

  SqlBackend backend() const noexcept override { return SqlBackend::kSqlite; }

  StateResult<void> exec_script(std::string_view sql) override {
    const std::string text(sql);
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
      std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
      sqlite3_free(message);
      return fail(code_of(sqlite3_extended_errcode(db_)), "SQL script failed: " + detail);
    }
    return {};
  }

  StateResult<std::uint64_t> run(std::string_view sql, std::span<const SqlParam> params,
                                 const SqlRowFn& on_row) override {
    auto prepared = prepare(sql);
    if (!prepared) return std::unexpected(prepared.error());
    sqlite3_stmt* s = *prepared;
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{s};
    int index = 1;
    for (const SqlParam& param : params) {
      int rc = SQLITE_OK;
      if (const auto* i = std::get_if<std::int64_t>(&param)) {
        rc = sqlite3_bind_int64(s, index, *i);
      } else if (const auto* t = std::get_if<std::string_view>(&param)) {
        rc = sqlite3_bind_text64(s, index, t->data(), t->size(), SQLITE_STATIC, SQLITE_UTF8);
      } else if (const auto* b = std::get_if<SqlBlob>(&param)) {
        // An empty byte string is an empty BLOB, not NULL.
        static constexpr std::uint8_t kNothing = 0;
        rc = sqlite3_bind_blob64(s, index, b->bytes.empty() ? &kNothing : b->bytes.data(), b->bytes.size(),
                                 SQLITE_STATIC);
      } else {
        rc = sqlite3_bind_null(s, index);
      }
      if (rc != SQLITE_OK) return std::unexpected(sql_error(db_, rc, "bind a parameter"));
      ++index;
    }
    std::uint64_t rows = 0;
    for (;;) {
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return std::unexpected(sql_error(db_, rc, statement_name(sql)));
      ++rows;
      if (on_row) {
        SqliteRow row(s);
        if (auto ok = on_row(row); !ok) return std::unexpected(ok.error());
      }
    }
    if (sqlite3_column_count(s) == 0) return static_cast<std::uint64_t>(sqlite3_changes64(db_));
    return rows;
  }

  StateResult<void> begin_write() override {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + lock_timeout_;
    std::chrono::microseconds delay{250};
    for (;;) {
      const int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) return {};
      if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) {
        return std::unexpected(sql_error(db_, rc, "BEGIN IMMEDIATE"));
      }
      const auto now = Clock::now();
      if (now >= deadline) {
        return fail(StateErrc::kUnavailable,
                    "could not lock the database within " + std::to_string(lock_timeout_.count()) + " ms");
      }
      std::uniform_int_distribution<long> spread(delay.count() / 2, delay.count());
      const auto sleep = std::chrono::microseconds(spread(jitter_));
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
      std::this_thread::sleep_for(sleep < left ? sleep : left);
      delay = std::min(delay * 2, std::chrono::microseconds{20'000});
    }
  }

  StateResult<void> begin_read() override {
    const int rc = sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return std::unexpected(sql_error(db_, rc, "BEGIN"));
    return {};
  }

  StateResult<void> commit() override {
    const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      auto error = sql_error(db_, rc, "COMMIT");
      rollback();
      return std::unexpected(std::move(error));
    }
    return {};
  }

  void rollback() noexcept override {
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  // Statements are cached by their text for the connection's life (SQLITE_PREPARE_PERSISTENT).
  StateResult<sqlite3_stmt*> prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) return std::unexpected(sql_error(db_, rc, "prepare " + statement_name(sql)));
    statements_.emplace(std::string(sql), stmt);
    return stmt;
  }

 private:
  // The statement's first words, for error messages (never its parameters).
  static std::string statement_name(std::string_view sql) {
    return std::string(sql.substr(0, std::min<std::size_t>(sql.size(), 48)));
  }

  sqlite3* db_;
  std::chrono::milliseconds lock_timeout_;
  std::minstd_rand jitter_;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
};

// One integer from a PRAGMA or a count.
StateResult<std::int64_t> single_integer(SqliteConnection& c, std::string_view sql) {
  std::int64_t value = 0;
  auto ran = c.run(sql, {}, [&](const SqlRow& row) -> StateResult<void> {
    value = row.integer(0).value_or(0);
    return {};
  });
  if (!ran) return std::unexpected(ran.error());
  return value;
}

StateResult<std::string> single_text(SqliteConnection& c, std::string_view sql) {
  std::string value;
  auto ran = c.run(sql, {}, [&](const SqlRow& row) -> StateResult<void> {
    value = row.text(0);
    return {};
  });
  if (!ran) return std::unexpected(ran.error());
  return value;
}

StateResult<void> set_up(SqliteConnection& c, const DatabaseOptions& options) {
  // Identify the file before changing anything in it: a foreign database is left untouched.
  auto app_id = single_integer(c, "PRAGMA application_id");
  if (!app_id) {
    auto error = app_id.error();
    if (error.code == StateErrc::kCorrupt) error.detail = "not a txguard database: " + error.detail;
    return std::unexpected(error);
  }
  if (*app_id == 0) {
    auto tables = single_integer(c, "SELECT count(*) FROM sqlite_schema");
    if (!tables) return std::unexpected(tables.error());
    auto version = single_integer(c, "PRAGMA user_version");
    if (!version) return std::unexpected(version.error());
    if (*tables != 0 || *version != 0) {
      return fail(StateErrc::kForeign, "not a txguard database: a SQLite database of another application");
    }
  } else if (*app_id != kSqliteApplicationId) {
    return fail(StateErrc::kForeign, "not a txguard database: application_id " + std::to_string(*app_id));
  }
  auto mode = single_text(c, "PRAGMA journal_mode=WAL");
  if (!mode) return std::unexpected(mode.error());
  if (*mode != "wal") return fail(StateErrc::kIo, "the database cannot use WAL (journal_mode " + *mode + ")");
  // A scratch database (replay) need not survive a crash; every other one syncs each commit.
  if (auto ok = c.exec_script(options.durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF"); !ok) return ok;
  if (options.check_integrity) {
    auto verdict = single_text(c, "PRAGMA quick_check");
    if (!verdict) return std::unexpected(verdict.error());
    if (*verdict != "ok") return fail(StateErrc::kCorrupt, "the database failed quick_check: " + *verdict);
  }
  return {};
}

}  // namespace

StateResult<std::unique_ptr<SqlConnection>> open_sqlite(const std::string& path, const DatabaseOptions& options) {
  sqlite3* db = nullptr;
  const int flags = (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    auto error = sql_error(db, rc, "open " + path + (options.read_only ? " for reading" : ""));
    sqlite3_close_v2(db);
    return std::unexpected(std::move(error));
  }
  auto connection = std::make_unique<SqliteConnection>(db, options);
  sqlite3_extended_result_codes(db, 1);
  // Set-up statements, and every statement of a reader, wait for other connections through SQLite's
  // busy handler; write transactions use begin_write()'s own bounded retry.
  sqlite3_busy_timeout(db, static_cast<int>(options.lock_timeout.count()));
  if (!options.read_only) {
    if (auto ok = set_up(*connection, options); !ok) return std::unexpected(ok.error());
    sqlite3_busy_timeout(db, 0);
  }
  return std::unique_ptr<SqlConnection>(std::move(connection));
}

}  // namespace txguard::store

// The one SQL surface the stores are written against, so that the velocity state, the decision log
// and the bridge state are the same code on SQLite (the embedded default) and on PostgreSQL (several
// replicas on one database). Nothing outside guard/store/ sees which backend it talks to.
//
// Each backend uses one toolkit: SQLite's C API (sqlite_connection.cpp) and libpq
// (postgres_connection.cpp). SQL is written once, in the common subset of both dialects:
//   - parameters are numbered ?1, ?2, ... (the PostgreSQL backend rewrites them to $1, $2, ...);
//   - integers are 64-bit (BIGINT on PostgreSQL), byte strings are BLOB (rewritten to BYTEA), text is
//     TEXT; "INSERT ... ON CONFLICT ... DO NOTHING / DO UPDATE" and "RETURNING" instead of
//     "INSERT OR IGNORE / OR REPLACE" and last_insert_rowid();
//   - a parameter whose type the statement does not fix (SELECT ?1, ?1 + 1) is written
//     CAST(?1 AS BIGINT) / CAST(?1 AS TEXT).
// Schema scripts (exec_script) get the same rewriting of types; a backend-specific statement (PRAGMA)
// stays in that backend's file.
//
// Failure model: no method throws on a database error; every error is a policy::StateError value:
//   kUnavailable  the database could not be reached, the connection was lost, the write lock was not
//                 taken in time, or it refused for a reason that a retry may cure (serialization
//                 failure, shutdown in progress); the service answers 503 and signs nothing;
//   kDuplicate    a UNIQUE or PRIMARY KEY constraint refused the write;
//   kCorrupt      the database is damaged or is not a database;
//   kIo           anything else (a bug in a statement, a full disk).
// After any error inside a transaction the caller rolls back (to its savepoint or the whole
// transaction); on PostgreSQL a failed statement poisons the transaction until then.
//
// Thread safety: a connection is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "policy/codec/bytes.hpp"
#include "policy/state_view.hpp"

namespace txguard::store {

using policy::StateErrc;
using policy::StateError;
using policy::StateResult;

enum class SqlBackend { kSqlite, kPostgres };
std::string_view to_string(SqlBackend backend) noexcept;

/// A byte-string parameter (bound as BLOB / BYTEA). The bytes must outlive the call.
struct SqlBlob {
  std::span<const std::uint8_t> bytes;
};
/// One parameter: NULL, a 64-bit integer, text, or bytes. Text and bytes are views: they must outlive
/// the call.
using SqlParam = std::variant<std::nullptr_t, std::int64_t, std::string_view, SqlBlob>;

/// One result row, valid only inside the row callback. Columns count from 0.
class SqlRow {
 public:
  virtual ~SqlRow() = default;
  virtual int columns() const noexcept = 0;
  virtual bool is_null(int column) const noexcept = 0;
  /// The column as a 64-bit integer; nullopt when it is NULL or not an integer.
  virtual std::optional<std::int64_t> integer(int column) const noexcept = 0;
  /// The column as text ("" when NULL).
  virtual std::string text(int column) const = 0;
  /// The column as bytes (empty when NULL); nullopt when the stored value is not a byte string the
  /// backend can decode.
  virtual std::optional<codec::Bytes> blob(int column) const = 0;
};

/// Called once per result row; an error stops the statement and is returned by run().
using SqlRowFn = std::function<StateResult<void>(const SqlRow&)>;

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;

  virtual SqlBackend backend() const noexcept = 0;

  /// Runs one or more statements with no parameters and no results (schema scripts, SAVEPOINT ...),
  /// after rewriting types for the backend.
  virtual StateResult<void> exec_script(std::string_view sql) = 0;

  /// Runs one statement with numbered parameters ?1..?N, prepared once per connection and cached by
  /// its text; calls `on_row` for each result row (when set). Returns the number of rows the
  /// statement changed (INSERT, UPDATE, DELETE without RETURNING) or the number of rows it returned.
  virtual StateResult<std::uint64_t> run(std::string_view sql, std::span<const SqlParam> params,
                                         const SqlRowFn& on_row = {}) = 0;
  StateResult<std::uint64_t> run(std::string_view sql, std::initializer_list<SqlParam> params,
                                 const SqlRowFn& on_row = {}) {
    return run(sql, std::span<const SqlParam>(params.begin(), params.size()), on_row);
  }

  /// Begins a write transaction that excludes every other writer of the same database (every
  /// connection, thread, process and host): SQLite takes the database's write lock (BEGIN
  /// IMMEDIATE), PostgreSQL a transaction-level advisory lock. Waits at most the connection's lock
  /// timeout, then fails with kUnavailable. A lost connection is re-established here (kUnavailable
  /// when that fails). So check-then-write inside one write transaction is atomic across replicas.
  virtual StateResult<void> begin_write() = 0;
  /// Begins a read-only transaction that sees one consistent snapshot.
  virtual StateResult<void> begin_read() = 0;
  /// Commits; success means durable (SQLite: synchronous=FULL; PostgreSQL: synchronous_commit on).
  /// On failure the transaction is rolled back.
  virtual StateResult<void> commit() = 0;
  /// Rolls the transaction back; harmless when none is open or the connection is lost.
  virtual void rollback() noexcept = 0;
  /// Savepoints inside a transaction (names are identifiers chosen by the caller).
  StateResult<void> savepoint(std::string_view name) { return exec_script(std::string("SAVEPOINT ") += name); }
  StateResult<void> release_savepoint(std::string_view name) {
    return exec_script(std::string("RELEASE SAVEPOINT ") += name);
  }
  StateResult<void> rollback_to_savepoint(std::string_view name) {
    auto rolled = exec_script(std::string("ROLLBACK TO SAVEPOINT ") += name);
    if (!rolled) return rolled;
    return release_savepoint(name);
  }
};

/// Options shared by both backends.
struct DatabaseOptions {
  /// How long begin_write() waits for the write lock before failing with kUnavailable.
  std::chrono::milliseconds lock_timeout{2000};
  /// SQLite: run PRAGMA quick_check at open (O(database size)).
  bool check_integrity = true;
  /// false: commits are not synced to disk. Only for scratch databases (replay): a crash may lose or
  /// damage them.
  bool durable = true;
  /// Open for reading only (SQLite: SQLITE_OPEN_READONLY; PostgreSQL: default_transaction_read_only).
  bool read_only = false;
  /// PostgreSQL: the password, when the server asks for one (never taken from the URL, the command
  /// line or a log). Empty: libpq's own sources (a .pgpass file, peer or certificate authentication).
  std::string password;
};

/// A schema script written for SQLite made fit for `backend`: on PostgreSQL "INTEGER PRIMARY KEY"
/// (SQLite's rowid alias, numbered by the database when not given) becomes an identity column and
/// "WITHOUT ROWID" goes; the connection then rewrites the remaining types.
std::string portable_schema(SqlBackend backend, std::string_view sqlite_script);

/// True when `database` names a PostgreSQL database ("postgresql://..." or "postgres://...") rather
/// than a SQLite file path.
bool is_postgres_url(std::string_view database) noexcept;

/// The database named by the configuration: a file path opens SQLite, a postgresql:// URL opens
/// PostgreSQL. A URL that carries a password is refused (kIo, naming the configuration's
/// database_password_file / database_password_env instead): URLs end up in logs and status pages.
StateResult<std::unique_ptr<SqlConnection>> open_database(const std::string& database, const DatabaseOptions& options);

/// What is wrong with a PostgreSQL URL for a co-signer, or nullopt: a password in it (URLs end up in
/// logs and process listings; the password belongs in a file or a variable), or a server off loopback
/// without sslmode=verify-full or verify-ca (libpq's default, prefer, lets a man in the middle read
/// every decision and impersonate the server).
std::optional<std::string> postgres_url_problem(std::string_view url);

/// `database` fit for a log line or an error: a PostgreSQL URL without user information or query
/// parameters' values; a file path as it is.
std::string redact_database(std::string_view database);

}  // namespace txguard::store

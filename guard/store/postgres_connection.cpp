// SqlConnection on PostgreSQL through libpq (contract in sql.hpp and postgres_connection.hpp).
#include "guard/store/postgres_connection.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace txguard::store {
namespace {

struct PgConnFree {
  void operator()(PGconn* conn) const noexcept { PQfinish(conn); }
};
struct PgResultFree {
  void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnFree>;
using PgResultPtr = std::unique_ptr<PGresult, PgResultFree>;

// The one advisory-lock key every txguard writer of a database takes ("TXGS" and 1): one key, so all
// writers are serialized exactly as SQLite's BEGIN IMMEDIATE serializes them.
constexpr std::int64_t kWriteLockKey = 0x5458475300000001;

// pg_type.h is a server header (postgresql-server-dev); the OID of bytea is fixed in the catalog.
constexpr Oid kByteaOid = 17;
constexpr Oid kBoolOid = 16;

// How much of a statement an error message quotes: enough to tell which statement failed.
constexpr std::size_t kQuotedSqlChars = 80;

std::unexpected<StateError> fail(StateErrc code, std::string detail) {
  return std::unexpected(StateError{code, std::move(detail)});
}

bool is_ident_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$';
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

// The SQL written once for both backends, in PostgreSQL's dialect: ?N -> $N (with_params) and the
// types BLOB -> BYTEA, INTEGER -> BIGINT (SQLite's INTEGER is 64-bit; PostgreSQL's is 32-bit). Only
// outside string literals, quoted identifiers and comments, so a '?1' or 'INTEGER' in data is left
// alone. A bare "?" (no number) is left as it is: PostgreSQL then refuses the statement.
std::string rewrite_sql(std::string_view sql, bool with_params) {
  std::string out;
  out.reserve(sql.size() + 16);
  std::size_t i = 0;
  const std::size_t n = sql.size();
  while (i < n) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      // A literal or quoted identifier; a doubled quote is an escaped quote and stays inside.
      std::size_t j = i + 1;
      while (j < n) {
        if (sql[j] == c) {
          if (j + 1 < n && sql[j + 1] == c) {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      const std::size_t end = j < n ? j + 1 : n;
      out.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      const std::size_t end = sql.find('\n', i);
      const std::size_t stop = end == std::string_view::npos ? n : end;
      out.append(sql.substr(i, stop - i));
      i = stop;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      const std::size_t end = sql.find("*/", i + 2);
      const std::size_t stop = end == std::string_view::npos ? n : end + 2;
      out.append(sql.substr(i, stop - i));
      i = stop;
    } else if (with_params && c == '?' && i + 1 < n && is_digit(sql[i + 1])) {
      out.push_back('$');
      ++i;
      while (i < n && is_digit(sql[i])) out.push_back(sql[i++]);
    } else if (is_ident_char(c) && !is_digit(c)) {
      std::size_t j = i;
      while (j < n && is_ident_char(sql[j])) ++j;
      const std::string_view word = sql.substr(i, j - i);
      if (iequals(word, "BLOB")) {
        out.append("BYTEA");
      } else if (iequals(word, "INTEGER")) {
        out.append("BIGINT");
      } else {
        out.append(word);
      }
      i = j;
    } else if (is_digit(c)) {
      // A number (or the digits of 1e5): copied whole so that its tail is never read as a word.
      std::size_t j = i;
      while (j < n && is_ident_char(sql[j])) ++j;
      out.append(sql.substr(i, j - i));
      i = j;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

std::string quote_sql(std::string_view sql) {
  std::string quoted;
  for (char c : sql.substr(0, kQuotedSqlChars)) quoted.push_back(c == '\n' || c == '\t' ? ' ' : c);
  if (sql.size() > kQuotedSqlChars) quoted += "...";
  return quoted;
}

std::string_view trim_trailing_space(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

bool strict_int64(std::string_view text, std::int64_t& value) noexcept {
  if (text.empty()) return false;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, value);
  return ec == std::errc{} && end == last;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// bytea in its text output format "hex" (the session sets bytea_output = hex): "\x" then two hex
// digits per byte.
std::optional<codec::Bytes> decode_bytea_hex(std::string_view text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) return std::nullopt;
  codec::Bytes bytes;
  bytes.reserve((text.size() - 2) / 2);
  for (std::size_t i = 2; i < text.size(); i += 2) {
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return bytes;
}

class PgRow final : public SqlRow {
 public:
  PgRow(const PGresult* result, int row) noexcept : result_(result), row_(row) {}

  int columns() const noexcept override { return PQnfields(result_); }
  bool is_null(int column) const noexcept override {
    return !in_range(column) || PQgetisnull(result_, row_, column) != 0;
  }
  std::optional<std::int64_t> integer(int column) const noexcept override {
    if (is_null(column)) return std::nullopt;
    // A comparison or EXISTS is boolean on PostgreSQL and 0/1 on SQLite: read as 0/1 on both.
    if (PQftype(result_, column) == kBoolOid) {
      const std::string_view flag = view(column);
      if (flag == "t") return 1;
      if (flag == "f") return 0;
      return std::nullopt;
    }
    std::int64_t value = 0;
    if (!strict_int64(view(column), value)) return std::nullopt;
    return value;
  }
  std::string text(int column) const override {
    if (is_null(column)) return {};
    return std::string(view(column));
  }
  std::optional<codec::Bytes> blob(int column) const override {
    if (is_null(column)) return codec::Bytes{};
    // Only bytea columns hold bytes; text read as bytes would be a statement written for SQLite's
    // loose typing, which PostgreSQL would answer differently elsewhere.
    if (PQftype(result_, column) != kByteaOid) return std::nullopt;
    return decode_bytea_hex(view(column));
  }

 private:
  bool in_range(int column) const noexcept { return column >= 0 && column < PQnfields(result_); }
  std::string_view view(int column) const noexcept {
    const int length = PQgetlength(result_, row_, column);
    return {PQgetvalue(result_, row_, column), static_cast<std::size_t>(length)};
  }

  const PGresult* result_;
  int row_;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
};

std::string_view sqlstate_of(const PGresult* result) noexcept {
  if (result == nullptr) return {};
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  return state == nullptr ? std::string_view{} : std::string_view(state);
}

// The connection went away with the statement: the server is shutting down or the link broke.
bool is_connection_loss_state(std::string_view state) noexcept {
  return state == "57P01" || state == "57P02" || state == "57P03" || state.starts_with("08");
}

StateErrc code_of_sqlstate(std::string_view state) noexcept {
  if (state == "23505") return StateErrc::kDuplicate;
  if (state == "XX001" || state == "XX002") return StateErrc::kCorrupt;
  // A full disk is the caller's kIo (sql.hpp); the other resource shortages (too many connections,
  // out of memory) pass.
  if (state == "53100") return StateErrc::kIo;
  // What a retry may cure: serialization failure, deadlock, lock timeout, a statement timeout,
  // shutdown in progress, a broken connection, resources short for now.
  if (state == "40001" || state == "40P01" || state == "55P03" || state == "57014" ||
      is_connection_loss_state(state) || state.starts_with("53")) {
    return StateErrc::kUnavailable;
  }
  // 25006 (a write in a read-only transaction) and everything else: a bug or a misconfiguration.
  return StateErrc::kIo;
}

// libpq does not put the password in its messages; this holds even if one day it did. (Too short a
// password would match ordinary words; such a password is a problem of its own.)
std::string scrub_password(std::string text, const std::string& password) {
  if (password.size() < 4) return text;
  for (std::size_t at = text.find(password); at != std::string::npos; at = text.find(password, at)) {
    text.replace(at, password.size(), "[password]");
  }
  return text;
}

class PostgresConnection final : public SqlConnection {
 public:
  PostgresConnection(PgConnPtr conn, DatabaseOptions options) : conn_(std::move(conn)), options_(std::move(options)) {}

  SqlBackend backend() const noexcept override { return SqlBackend::kPostgres; }

  StateResult<void> configure_session() {
    // Every session setting the contract depends on, made again after every reconnect.
    std::string settings = "SET client_min_messages = warning; SET bytea_output = hex; ";
    settings += options_.durable ? "SET synchronous_commit = on; " : "SET synchronous_commit = off; ";
    // lock_timeout 0 would mean "wait forever" on PostgreSQL: the shortest wait is 1 ms.
    const auto lock_ms = std::max<std::chrono::milliseconds::rep>(options_.lock_timeout.count(), 1);
    settings += "SET lock_timeout = '" + std::to_string(lock_ms) + "ms'; ";
    if (options_.read_only) settings += "SET default_transaction_read_only = on; ";
    PgResultPtr result(PQexec(conn_.get(), settings.c_str()));
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) return fail_with("configuring the PostgreSQL session", result.get());
    return {};
  }

  StateResult<void> exec_script(std::string_view sql) override {
    if (auto ready = ensure_connected(); !ready) return ready;
    const std::string rewritten = rewrite_sql(sql, /*with_params=*/false);
    PgResultPtr result(PQexec(conn_.get(), rewritten.c_str()));
    const ExecStatusType status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
      return fail_with("script \"" + quote_sql(sql) + "\"", result.get());
    }
    return {};
  }

  StateResult<std::uint64_t> run(std::string_view sql, std::span<const SqlParam> params,
                                 const SqlRowFn& on_row) override {
    if (auto ready = ensure_connected(); !ready) return std::unexpected(std::move(ready.error()));
    auto name = prepared(sql);
    if (!name) return std::unexpected(std::move(name.error()));
    if (params.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      return fail(StateErrc::kIo, "statement \"" + quote_sql(sql) + "\": too many parameters");
    }

    // Integers and text go in text format with the type the server inferred; bytes in binary format
    // so they arrive exactly (0x00 included) without escaping. Text must be NUL-terminated for libpq,
    // hence the copies.
    static constexpr char kEmpty = 0;
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<int> lengths(params.size(), 0);
    std::vector<int> formats(params.size(), 0);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const SqlParam& param = params[i];
      if (const auto* integer = std::get_if<std::int64_t>(&param)) {
        texts[i] = std::to_string(*integer);
        values[i] = texts[i].c_str();
      } else if (const auto* text = std::get_if<std::string_view>(&param)) {
        if (text->find('\0') != std::string_view::npos) {
          return fail(StateErrc::kIo, "statement \"" + quote_sql(sql) + "\": parameter ?" + std::to_string(i + 1) +
                                          " is text with a NUL byte, which PostgreSQL text cannot hold");
        }
        texts[i] = std::string(*text);
        values[i] = texts[i].c_str();
      } else if (const auto* blob = std::get_if<SqlBlob>(&param)) {
        if (blob->bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
          return fail(StateErrc::kIo, "statement \"" + quote_sql(sql) + "\": a byte parameter over 2 GiB");
        }
        // A null pointer would be SQL NULL: an empty byte string points at a real (empty) buffer.
        values[i] = blob->bytes.empty() ? &kEmpty : reinterpret_cast<const char*>(blob->bytes.data());
        lengths[i] = static_cast<int>(blob->bytes.size());
        formats[i] = 1;
      }
    }

    PgResultPtr result(PQexecPrepared(conn_.get(), name->c_str(), static_cast<int>(params.size()), values.data(),
                                      lengths.data(), formats.data(), /*resultFormat=*/0));
    const ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_COMMAND_OK) {
      std::uint64_t changed = 0;
      const std::string_view tuples = PQcmdTuples(result.get());
      if (!tuples.empty()) std::from_chars(tuples.data(), tuples.data() + tuples.size(), changed);
      return changed;
    }
    if (status != PGRES_TUPLES_OK) return fail_with("statement \"" + quote_sql(sql) + "\"", result.get());
    const int rows = PQntuples(result.get());
    if (on_row) {
      for (int row = 0; row < rows; ++row) {
        auto handled = on_row(PgRow(result.get(), row));
        if (!handled) return std::unexpected(std::move(handled.error()));
      }
    }
    return static_cast<std::uint64_t>(rows);
  }

  StateResult<void> begin_write() override {
    if (options_.read_only) return fail(StateErrc::kIo, "begin a write transaction: the connection is read-only");
    // Read committed (the default) under the lock: every statement then sees all that writers
    // committed before the lock was granted, so check-then-write is atomic across replicas.
    return begin("BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kWriteLockKey) + ")",
                 "begin a write transaction");
  }

  StateResult<void> begin_read() override {
    return begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin a read transaction");
  }

  StateResult<void> commit() override {
    if (!in_transaction_) return fail(StateErrc::kIo, "commit: no transaction is open");
    PgResultPtr result(PQexec(conn_.get(), "COMMIT"));
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      // A connection lost during COMMIT leaves its outcome unknown to us: kUnavailable, and nothing
      // that depends on it is released.
      auto error = fail_with("commit", result.get());
      rollback();
      return error;
    }
    // COMMIT of a transaction in which a statement failed is accepted by the server and answered
    // "ROLLBACK": nothing was written.
    if (std::string_view(PQcmdStatus(result.get())) != "COMMIT") {
      rollback();
      return fail(StateErrc::kIo, "commit: the transaction was rolled back (a statement in it had failed)");
    }
    in_transaction_ = false;
    return {};
  }

  void rollback() noexcept override {
    in_transaction_ = false;
    if (PQstatus(conn_.get()) != CONNECTION_OK) return;
    if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) return;
    PgResultPtr result(PQexec(conn_.get(), "ROLLBACK"));
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) note_failure(result.get());
  }

 private:
  StateResult<void> begin(const std::string& sql, std::string_view what) {
    if (in_transaction_) return fail(StateErrc::kIo, std::string(what) + ": a transaction is already open");
    // A connection found dead at BEGIN had nothing of this transaction on it, so it is re-established
    // and BEGIN tried once more: a replica whose database restarted serves the next request at once.
    for (int attempt = 0;; ++attempt) {
      if (auto ready = ensure_connected(); !ready) return ready;
      PgResultPtr result(PQexec(conn_.get(), sql.c_str()));
      const ExecStatusType status = PQresultStatus(result.get());
      if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        in_transaction_ = true;
        return {};
      }
      auto error = fail_with(what, result.get());
      if (PQstatus(conn_.get()) == CONNECTION_OK && PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
        PgResultPtr ignored(PQexec(conn_.get(), "ROLLBACK"));
      }
      if (!needs_reconnect_ || attempt > 0) return error;
    }
  }

  // Before a statement outside a transaction (or a BEGIN): a lost connection is re-established, the
  // session configured again and the prepared statements forgotten (they lived in the old session).
  // Inside a transaction a lost connection is never replaced: the transaction, and the write lock
  // with it, is gone, and what follows must fail until the caller rolls back.
  StateResult<void> ensure_connected() {
    const bool lost = needs_reconnect_ || PQstatus(conn_.get()) != CONNECTION_OK;
    if (!lost) return {};
    if (in_transaction_) return fail(StateErrc::kUnavailable, "the PostgreSQL connection was lost in a transaction");
    prepared_.clear();
    PQreset(conn_.get());
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      needs_reconnect_ = true;
      return fail(StateErrc::kUnavailable, "reconnecting to PostgreSQL: " + connection_message());
    }
    needs_reconnect_ = false;
    if (auto configured = configure_session(); !configured) {
      needs_reconnect_ = true;
      return configured;
    }
    return {};
  }

  StateResult<std::string> prepared(std::string_view sql) {
    if (auto found = prepared_.find(sql); found != prepared_.end()) return found->second;
    std::string name = "txguard_" + std::to_string(++statement_counter_);
    const std::string rewritten = rewrite_sql(sql, /*with_params=*/true);
    // No parameter types: the server infers each from its use (sql.hpp: CAST where it cannot).
    PgResultPtr result(PQprepare(conn_.get(), name.c_str(), rewritten.c_str(), 0, nullptr));
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      return fail_with("preparing \"" + quote_sql(sql) + "\"", result.get());
    }
    prepared_.emplace(std::string(sql), name);
    return name;
  }

  void note_failure(const PGresult* result) noexcept {
    if (PQstatus(conn_.get()) != CONNECTION_OK || is_connection_loss_state(sqlstate_of(result))) {
      needs_reconnect_ = true;
    }
  }

  std::unexpected<StateError> fail_with(std::string_view what, const PGresult* result) {
    note_failure(result);
    const std::string_view state = sqlstate_of(result);
    // Whatever the server said last, a statement that lost its connection may pass on a retry.
    const StateErrc code = needs_reconnect_ ? StateErrc::kUnavailable : code_of_sqlstate(state);
    std::string detail(what);
    detail += ": ";
    const char* primary = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    if (primary != nullptr) {
      detail += primary;
    } else {
      detail += connection_message();
    }
    if (!state.empty()) {
      detail += " (SQLSTATE ";
      detail += state;
      detail += ")";
    }
    return fail(code, scrub(std::move(detail)));
  }

  std::string connection_message() const {
    const std::string_view message = trim_trailing_space(PQerrorMessage(conn_.get()));
    return scrub(message.empty() ? std::string("no message from libpq") : std::string(message));
  }

  std::string scrub(std::string text) const { return scrub_password(std::move(text), options_.password); }

  PgConnPtr conn_;
  DatabaseOptions options_;
  std::unordered_map<std::string, std::string, StringHash, std::equal_to<>> prepared_;
  std::uint64_t statement_counter_ = 0;
  bool in_transaction_ = false;
  bool needs_reconnect_ = false;
};

// Session notices (NOTICE, WARNING) are not errors and must not reach stderr; errors come back as
// results.
void drop_notice(void* /*arg*/, const char* /*message*/) {}

}  // namespace

StateResult<std::unique_ptr<SqlConnection>> open_postgres(std::string_view url, const DatabaseOptions& options) {
  if (!url.starts_with("postgresql://") && !url.starts_with("postgres://")) {
    return fail(StateErrc::kIo, "a PostgreSQL database is named by a postgresql:// URL");
  }
  const std::string url_text(url);

  // The URL is checked with libpq's own parser, so a password anywhere in it (user:password@ or
  // ?password=) is found. Neither the URL nor libpq's parse message is quoted: either may hold it.
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url_text.c_str(), &parse_error);
  if (parsed == nullptr) {
    PQfreemem(parse_error);
    return fail(StateErrc::kIo, "the database URL is not a valid PostgreSQL URL");
  }
  bool has_password = false;
  for (const PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
    if (std::string_view(option->keyword) == "password" && option->val != nullptr && option->val[0] != '\0') {
      has_password = true;
    }
  }
  PQconninfoFree(parsed);
  if (has_password) {
    return fail(StateErrc::kIo,
                "the database URL carries a password; URLs end up in logs: remove it from the URL and set "
                "database_password_file or database_password_env instead");
  }

  // Defaults first, so that the URL's own settings win; the password last. A database that vanishes
  // from the network without closing the connection (a partition, a failover that leaves the old
  // host silent) is noticed by TCP keepalives and tcp_user_timeout within about 15 s instead of the
  // kernel's retransmission timeout of many minutes: the call fails kUnavailable and the next one
  // reconnects.
  std::vector<const char*> keywords{"application_name", "connect_timeout",     "keepalives",       "keepalives_idle",
                                    "keepalives_interval", "keepalives_count", "tcp_user_timeout", "dbname"};
  std::vector<const char*> values{"txguard", "5", "1", "10", "3", "2", "15000", url_text.c_str()};
  if (!options.password.empty()) {
    keywords.push_back("password");
    values.push_back(options.password.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  PgConnPtr conn(PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1));
  if (!conn) return fail(StateErrc::kUnavailable, "connecting to PostgreSQL: out of memory");
  PQsetNoticeProcessor(conn.get(), drop_notice, nullptr);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return fail(StateErrc::kUnavailable,
                "connecting to PostgreSQL: " +
                    scrub_password(std::string(trim_trailing_space(PQerrorMessage(conn.get()))), options.password));
  }
  auto connection = std::make_unique<PostgresConnection>(std::move(conn), options);
  if (auto configured = connection->configure_session(); !configured) return std::unexpected(configured.error());
  return std::unique_ptr<SqlConnection>(std::move(connection));
}

}  // namespace txguard::store

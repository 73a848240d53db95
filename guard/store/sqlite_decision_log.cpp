#include "guard/store/sqlite_decision_log.hpp"

#include <array>
#include <cstring>

namespace txguard::store {

using policy::StateErrc;
using policy::TimeMs;

namespace {

constexpr int kLogSchemaVersion = 1;

// The partial unique index is the database's own guard of "once only": even a bug in the pipeline
// cannot commit two live rows for one (chain, account, nonce).
constexpr const char* kLogSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS log_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_records(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests(
  decision_id TEXT PRIMARY KEY,
  request_key BLOB NOT NULL,
  kind TEXT NOT NULL,
  requester TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  status TEXT NOT NULL,
  decision TEXT NOT NULL,
  holds TEXT NOT NULL,
  approvals TEXT NOT NULL,
  signature BLOB,
  payload TEXT NOT NULL,
  chain TEXT,
  account TEXT,
  nonce TEXT,
  expires_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS requests_by_key ON requests(request_key, at_ms);
CREATE INDEX IF NOT EXISTS requests_by_status ON requests(status, expires_ms);
CREATE UNIQUE INDEX IF NOT EXISTS requests_live_claim ON requests(chain, account, nonce)
  WHERE nonce IS NOT NULL AND status IN ('allowed', 'pending', 'approved');
)sql";

std::unexpected<policy::StateError> fail(StateErrc code, std::string detail) {
  return std::unexpected(policy::StateError{code, std::move(detail)});
}

policy::StateError sql_error(sqlite3* db, int rc, std::string_view what) {
  StateErrc code = StateErrc::kIo;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = StateErrc::kUnavailable; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: code = StateErrc::kCorrupt; break;
    case SQLITE_CONSTRAINT: code = StateErrc::kDuplicate; break;
    default: break;
  }
  return {code, std::string(what) + ": " + sqlite3_errmsg(db)};
}

std::string column_text(sqlite3_stmt* s, int i) {
  const unsigned char* text = sqlite3_column_text(s, i);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
}

void bind_text(sqlite3_stmt* s, int i, std::string_view text) {
  sqlite3_bind_text(s, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

void bind_blob(sqlite3_stmt* s, int i, codec::ByteView bytes) {
  sqlite3_bind_blob(s, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
}

// A row written with an empty decision reads it from its decision record: the decision JSON is written
// once per request (it is most of the bytes a decision adds to the WAL).
constexpr const char* kRowColumns =
    "decision_id, request_key, kind, requester, at_ms, status, "
    "COALESCE(NULLIF(decision, ''), (SELECT json_extract(body, '$.decision') FROM log_records "
    "WHERE log_records.id = requests.decision_id), ''), "
    "holds, approvals, signature, payload, chain, account, nonce, expires_ms";

// Reads the row at the statement's current position (columns in kRowColumns order).
StateResult<RequestRow> read_row(sqlite3_stmt* s) {
  RequestRow row;
  row.decision_id = column_text(s, 0);
  if (sqlite3_column_bytes(s, 1) != 32) return fail(StateErrc::kCorrupt, "request " + row.decision_id + ": bad request_key");
  std::memcpy(row.request_key.data(), sqlite3_column_blob(s, 1), 32);
  row.kind = column_text(s, 2);
  row.requester = column_text(s, 3);
  row.at_ms = sqlite3_column_int64(s, 4);
  auto status = parse_request_status(column_text(s, 5));
  if (!status) return fail(StateErrc::kCorrupt, "request " + row.decision_id + ": unknown status");
  row.status = *status;
  row.decision = column_text(s, 6);
  row.holds = column_text(s, 7);
  row.approvals = column_text(s, 8);
  if (sqlite3_column_type(s, 9) == SQLITE_BLOB) {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, 9));
    row.signature = codec::Bytes(p, p + sqlite3_column_bytes(s, 9));
  }
  row.payload = column_text(s, 10);
  if (sqlite3_column_type(s, 13) != SQLITE_NULL) {
    row.claim = Claim{column_text(s, 11), column_text(s, 12), column_text(s, 13)};
  }
  row.expires_ms = sqlite3_column_int64(s, 14);
  return row;
}

// Steps a statement to the end, collecting rows; always resets it.
StateResult<std::vector<RequestRow>> collect(sqlite3* db, sqlite3_stmt* s) {
  std::vector<RequestRow> out;
  for (;;) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      auto error = sql_error(db, rc, "read requests");
      sqlite3_reset(s);
      return std::unexpected(std::move(error));
    }
    auto row = read_row(s);
    if (!row) {
      sqlite3_reset(s);
      return std::unexpected(row.error());
    }
    out.push_back(std::move(*row));
  }
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return out;
}

StateResult<std::optional<RequestRow>> first(StateResult<std::vector<RequestRow>> rows) {
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<RequestRow>{};
  return std::optional<RequestRow>(std::move(rows->front()));
}

const std::string kSelectRows = std::string("SELECT ") + kRowColumns + " FROM requests ";

}  // namespace

std::string_view to_string(RequestStatus status) noexcept {
  switch (status) {
    case RequestStatus::kAllowed: return "allowed";
    case RequestStatus::kPending: return "pending";
    case RequestStatus::kApproved: return "approved";
    case RequestStatus::kRejected: return "rejected";
    case RequestStatus::kExpired: return "expired";
  }
  return "unknown";
}

std::optional<RequestStatus> parse_request_status(std::string_view text) noexcept {
  for (RequestStatus s : {RequestStatus::kAllowed, RequestStatus::kPending, RequestStatus::kApproved,
                          RequestStatus::kRejected, RequestStatus::kExpired}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

// --- writer --------------------------------------------------------------------------------------

DecisionLogWriter::~DecisionLogWriter() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
}

StateResult<sqlite3_stmt*> DecisionLogWriter::prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(sql_error(db_, rc, "prepare"));
  statements_.emplace(sql, stmt);
  return stmt;
}

StateResult<void> DecisionLogWriter::install() {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, kLogSchemaV1, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string detail = message ? message : "unknown error";
    sqlite3_free(message);
    return fail(StateErrc::kIo, "create the decision log tables: " + detail);
  }
  static constexpr const char* kVersion = "SELECT value FROM log_meta WHERE key = 'version'";
  auto stmt = prepare(kVersion);
  if (!stmt) return std::unexpected(stmt.error());
  const int step = sqlite3_step(*stmt);
  std::string version = step == SQLITE_ROW ? column_text(*stmt, 0) : std::string();
  sqlite3_reset(*stmt);
  if (step != SQLITE_ROW && step != SQLITE_DONE) return std::unexpected(sql_error(db_, step, "read log version"));
  if (version.empty()) {
    const std::string insert =
        "INSERT INTO log_meta(key, value) VALUES('version', '" + std::to_string(kLogSchemaVersion) + "')";
    if (const int irc = sqlite3_exec(db_, insert.c_str(), nullptr, nullptr, nullptr); irc != SQLITE_OK) {
      return std::unexpected(sql_error(db_, irc, "write log version"));
    }
  } else if (version != std::to_string(kLogSchemaVersion)) {
    return fail(StateErrc::kForeign, "decision log schema " + version + " is not " +
                                         std::to_string(kLogSchemaVersion) + ": written by another txguard version");
  }
  return {};
}

StateResult<std::int64_t> DecisionLogWriter::append(std::string_view kind, std::string_view id, TimeMs at_ms,
                                                    std::string_view body) {
  static constexpr const char* kSql = "INSERT INTO log_records(id, kind, at_ms, body) VALUES(?, ?, ?, ?)";
  auto stmt = prepare(kSql);
  if (!stmt) return std::unexpected(stmt.error());
  sqlite3_stmt* s = *stmt;
  bind_text(s, 1, id);
  bind_text(s, 2, kind);
  sqlite3_bind_int64(s, 3, at_ms);
  bind_text(s, 4, body);
  const int rc = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "append log record " + std::string(id)));
  return sqlite3_last_insert_rowid(db_);
}

StateResult<void> DecisionLogWriter::put(const RequestRow& row) {
  static constexpr const char* kSql =
      "INSERT OR REPLACE INTO requests(decision_id, request_key, kind, requester, at_ms, status, decision, holds, "
      "approvals, signature, payload, chain, account, nonce, expires_ms) "
      "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  auto stmt = prepare(kSql);
  if (!stmt) return std::unexpected(stmt.error());
  sqlite3_stmt* s = *stmt;
  bind_text(s, 1, row.decision_id);
  bind_blob(s, 2, row.request_key);
  bind_text(s, 3, row.kind);
  bind_text(s, 4, row.requester);
  sqlite3_bind_int64(s, 5, row.at_ms);
  bind_text(s, 6, to_string(row.status));
  bind_text(s, 7, row.decision);
  bind_text(s, 8, row.holds);
  bind_text(s, 9, row.approvals.empty() ? std::string_view("[]") : std::string_view(row.approvals));
  if (row.signature) bind_blob(s, 10, *row.signature);
  else sqlite3_bind_null(s, 10);
  bind_text(s, 11, row.payload);
  if (row.claim) {
    bind_text(s, 12, row.claim->chain);
    bind_text(s, 13, row.claim->account);
    bind_text(s, 14, row.claim->nonce);
  } else {
    sqlite3_bind_null(s, 12);
    sqlite3_bind_null(s, 13);
    sqlite3_bind_null(s, 14);
  }
  sqlite3_bind_int64(s, 15, row.expires_ms);
  const int rc = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "write request " + row.decision_id));
  return {};
}

StateResult<std::vector<RequestRow>> DecisionLogWriter::rows(sqlite3_stmt* stmt) { return collect(db_, stmt); }

StateResult<std::optional<RequestRow>> DecisionLogWriter::find_by_key(const codec::Hash32& key) {
  static const std::string sql = kSelectRows + "WHERE request_key = ? ORDER BY at_ms DESC, rowid DESC LIMIT 1";
  auto stmt = prepare(sql.c_str());
  if (!stmt) return std::unexpected(stmt.error());
  bind_blob(*stmt, 1, key);
  return first(rows(*stmt));
}

StateResult<std::optional<RequestRow>> DecisionLogWriter::find_claim(const Claim& claim) {
  static const std::string sql =
      kSelectRows + "WHERE chain = ? AND account = ? AND nonce = ? AND status IN ('allowed', 'pending', 'approved')";
  auto stmt = prepare(sql.c_str());
  if (!stmt) return std::unexpected(stmt.error());
  bind_text(*stmt, 1, claim.chain);
  bind_text(*stmt, 2, claim.account);
  bind_text(*stmt, 3, claim.nonce);
  return first(rows(*stmt));
}

StateResult<std::optional<RequestRow>> DecisionLogWriter::find(std::string_view decision_id) {
  static const std::string sql = kSelectRows + "WHERE decision_id = ?";
  auto stmt = prepare(sql.c_str());
  if (!stmt) return std::unexpected(stmt.error());
  bind_text(*stmt, 1, decision_id);
  return first(rows(*stmt));
}

StateResult<std::vector<RequestRow>> DecisionLogWriter::due(TimeMs now_ms) {
  static const std::string sql = kSelectRows + "WHERE status = 'pending' AND expires_ms <= ? ORDER BY expires_ms";
  auto stmt = prepare(sql.c_str());
  if (!stmt) return std::unexpected(stmt.error());
  sqlite3_bind_int64(*stmt, 1, now_ms);
  return rows(*stmt);
}

StateResult<std::int64_t> DecisionLogWriter::pending_count() {
  static constexpr const char* kSql = "SELECT count(*) FROM requests WHERE status = 'pending'";
  auto stmt = prepare(kSql);
  if (!stmt) return std::unexpected(stmt.error());
  const int rc = sqlite3_step(*stmt);
  const std::int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(*stmt, 0) : 0;
  sqlite3_reset(*stmt);
  if (rc != SQLITE_ROW) return std::unexpected(sql_error(db_, rc, "count pending"));
  return n;
}

// --- reader --------------------------------------------------------------------------------------

StateResult<std::unique_ptr<DecisionLogReader>> DecisionLogReader::open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    auto error = sql_error(db, rc, "open " + path + " for reading");
    sqlite3_close(db);
    return std::unexpected(std::move(error));
  }
  sqlite3_busy_timeout(db, 2000);
  return std::unique_ptr<DecisionLogReader>(new DecisionLogReader(db));
}

DecisionLogReader::~DecisionLogReader() { sqlite3_close(db_); }

namespace {

// A one-shot statement on the reader's connection.
class Query {
 public:
  Query(sqlite3* db, const std::string& sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr); }
  ~Query() { sqlite3_finalize(stmt_); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  StateResult<sqlite3_stmt*> get() const {
    if (rc_ != SQLITE_OK) return std::unexpected(sql_error(db_, rc_, "prepare"));
    return stmt_;
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

StateResult<std::vector<LogRecord>> collect_records(sqlite3* db, sqlite3_stmt* s) {
  std::vector<LogRecord> out;
  for (;;) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return std::unexpected(sql_error(db, rc, "read log records"));
    out.push_back(LogRecord{sqlite3_column_int64(s, 0), column_text(s, 1), column_text(s, 2),
                            sqlite3_column_int64(s, 3), column_text(s, 4)});
  }
  return out;
}

}  // namespace

StateResult<std::optional<LogRecord>> DecisionLogReader::record(std::string_view id) {
  std::lock_guard lock(mutex_);
  Query q(db_, "SELECT seq, id, kind, at_ms, body FROM log_records WHERE id = ?");
  auto s = q.get();
  if (!s) return std::unexpected(s.error());
  bind_text(*s, 1, id);
  auto records = collect_records(db_, *s);
  if (!records) return std::unexpected(records.error());
  if (records->empty()) return std::optional<LogRecord>{};
  return std::optional<LogRecord>(std::move(records->front()));
}

StateResult<std::vector<LogRecord>> DecisionLogReader::records_after(std::int64_t after, std::size_t limit) {
  std::lock_guard lock(mutex_);
  Query q(db_, "SELECT seq, id, kind, at_ms, body FROM log_records WHERE seq > ? ORDER BY seq LIMIT ?");
  auto s = q.get();
  if (!s) return std::unexpected(s.error());
  sqlite3_bind_int64(*s, 1, after);
  sqlite3_bind_int64(*s, 2, static_cast<std::int64_t>(limit));
  return collect_records(db_, *s);
}

StateResult<std::optional<RequestRow>> DecisionLogReader::request(std::string_view decision_id) {
  std::lock_guard lock(mutex_);
  Query q(db_, kSelectRows + "WHERE decision_id = ?");
  auto s = q.get();
  if (!s) return std::unexpected(s.error());
  bind_text(*s, 1, decision_id);
  return first(collect(db_, *s));
}

StateResult<std::vector<RequestRow>> DecisionLogReader::requests(std::optional<RequestStatus> status,
                                                                 std::size_t limit) {
  std::lock_guard lock(mutex_);
  Query q(db_, kSelectRows + (status ? "WHERE status = ? " : "") + "ORDER BY at_ms DESC, rowid DESC LIMIT ?");
  auto s = q.get();
  if (!s) return std::unexpected(s.error());
  int i = 1;
  if (status) bind_text(*s, i++, to_string(*status));
  sqlite3_bind_int64(*s, i, static_cast<std::int64_t>(limit));
  return collect(db_, *s);
}

}  // namespace txguard::store

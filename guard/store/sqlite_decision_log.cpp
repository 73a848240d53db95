#include "guard/store/sqlite_decision_log.hpp"

#include <cryptopp/sha.h>

#include <array>
#include <cstring>

#include "guard/store/merkle.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/secp256k1.hpp"

namespace txguard::store {

using policy::StateErrc;
using policy::TimeMs;

namespace {

constexpr int kLogSchemaVersion = 2;

// The partial unique index is the database's own guard of "once only": even a bug in the pipeline
// cannot commit two live rows for one (chain, account, nonce).
constexpr const char* kLogSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS log_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_records(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  body TEXT NOT NULL,
  leaf BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS log_nodes(
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY(level, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_heads(
  size INTEGER PRIMARY KEY,
  root BLOB NOT NULL,
  at_ms INTEGER NOT NULL,
  signature BLOB NOT NULL,
  signer BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
  hash BLOB PRIMARY KEY,
  kind TEXT NOT NULL,
  body BLOB NOT NULL) WITHOUT ROWID;
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

std::optional<codec::Hash32> column_hash(sqlite3_stmt* s, int i) {
  if (sqlite3_column_bytes(s, i) != 32) return std::nullopt;
  codec::Hash32 h{};
  std::memcpy(h.data(), sqlite3_column_blob(s, i), 32);
  return h;
}

codec::Bytes column_bytes(sqlite3_stmt* s, int i) {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s, i));
  return p == nullptr ? codec::Bytes{} : codec::Bytes(p, p + sqlite3_column_bytes(s, i));
}

// Steps a one-row statement: the value, nullopt when there is no row, or the error. Resets it.
template <typename F>
auto step_one(sqlite3* db, sqlite3_stmt* s, std::string_view what, F&& read)
    -> StateResult<std::optional<std::decay_t<decltype(*read(s))>>> {
  using T = std::decay_t<decltype(*read(s))>;
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return std::optional<T>{};
  }
  if (rc != SQLITE_ROW) {
    auto error = sql_error(db, rc, what);
    sqlite3_reset(s);
    return std::unexpected(std::move(error));
  }
  auto value = read(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (!value) return fail(StateErrc::kCorrupt, std::string(what) + ": malformed row");
  return std::optional<T>(std::move(*value));
}

std::optional<TreeHead> read_head(sqlite3_stmt* s) {
  TreeHead h;
  h.size = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
  auto root = column_hash(s, 1);
  if (!root) return std::nullopt;
  h.root = *root;
  h.at_ms = sqlite3_column_int64(s, 2);
  h.signature = column_bytes(s, 3);
  if (sqlite3_column_bytes(s, 4) != 20) return std::nullopt;
  std::memcpy(h.signer.bytes.data(), sqlite3_column_blob(s, 4), 20);
  return h;
}

std::optional<LogRecord> read_record(sqlite3_stmt* s) {
  LogRecord r{sqlite3_column_int64(s, 0), column_text(s, 1), column_text(s, 2), sqlite3_column_int64(s, 3),
              column_text(s, 4), {}};
  auto leaf = column_hash(s, 5);
  if (!leaf) return std::nullopt;
  r.leaf = *leaf;
  return r;
}

// The stored perfect subtree (level, index): level 0 is a record's leaf, higher levels log_nodes.
StateResult<codec::Hash32> stored_node(sqlite3* db, sqlite3_stmt* leaf_stmt, sqlite3_stmt* node_stmt, unsigned level,
                                       std::uint64_t index) {
  sqlite3_stmt* s = level == 0 ? leaf_stmt : node_stmt;
  if (level == 0) {
    sqlite3_bind_int64(s, 1, static_cast<std::int64_t>(index));
  } else {
    sqlite3_bind_int64(s, 1, level);
    sqlite3_bind_int64(s, 2, static_cast<std::int64_t>(index));
  }
  auto h = step_one(db, s, "read Merkle node", [](sqlite3_stmt* st) { return column_hash(st, 0); });
  if (!h) return std::unexpected(h.error());
  if (!*h) {
    return fail(StateErrc::kCorrupt, "Merkle node " + std::to_string(level) + "/" + std::to_string(index) + " is missing");
  }
  return **h;
}

std::optional<Document> read_document(sqlite3_stmt* s) {
  auto hash = column_hash(s, 0);
  if (!hash) return std::nullopt;
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s, 2));
  return Document{*hash, column_text(s, 1), p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, 2)))};
}

constexpr const char* kLeafSql = "SELECT leaf FROM log_records WHERE seq = ?";
constexpr const char* kNodeSql = "SELECT hash FROM log_nodes WHERE level = ? AND idx = ?";
constexpr const char* kRecordColumns = "SELECT seq, id, kind, at_ms, body, leaf FROM log_records ";
constexpr const char* kHeadColumns = "SELECT size, root, at_ms, signature, signer FROM log_heads ";

// A Merkle node reader over two prepared statements; errors keep their StateError.
struct NodeSource {
  sqlite3* db;
  sqlite3_stmt* leaf;
  sqlite3_stmt* node;
  std::optional<policy::StateError> error;
  MerkleNodeReader reader() {
    return [this](unsigned level, std::uint64_t index) -> std::expected<codec::Hash32, std::string> {
      auto h = stored_node(db, leaf, node, level, index);
      if (!h) {
        error = h.error();
        return std::unexpected(h.error().message());
      }
      return *h;
    };
  }
  template <typename T>
  StateResult<T> result(std::expected<T, std::string> r) {
    if (r) return std::move(*r);
    if (error) return std::unexpected(*error);
    return fail(StateErrc::kNotFound, r.error());
  }
};

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

codec::Hash32 tree_head_digest(std::uint64_t size, TimeMs at_ms, const codec::Hash32& root) {
  static constexpr std::string_view kDomain = "txguard tree head v1";
  codec::Bytes message(kDomain.begin(), kDomain.end());
  const auto put64 = [&](std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) message.push_back(static_cast<std::uint8_t>(v >> shift));
  };
  put64(size);
  put64(static_cast<std::uint64_t>(at_ms));
  message.insert(message.end(), root.begin(), root.end());
  return codec::keccak256(message);
}

nlohmann::json to_json(const TreeHead& head) {
  return {{"size", head.size},
          {"root", codec::to_hex(head.root)},
          {"at_ms", head.at_ms},
          {"signature", codec::to_hex(head.signature)},
          {"signer", codec::to_checksum(head.signer)}};
}

std::optional<TreeHead> tree_head_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  const auto size = j.find("size");
  const auto root = j.find("root");
  const auto at = j.find("at_ms");
  const auto sig = j.find("signature");
  const auto signer = j.find("signer");
  if (size == j.end() || !size->is_number_unsigned() || root == j.end() || !root->is_string() || at == j.end() ||
      !at->is_number_integer() || sig == j.end() || !sig->is_string() || signer == j.end() || !signer->is_string()) {
    return std::nullopt;
  }
  TreeHead h;
  h.size = size->get<std::uint64_t>();
  h.at_ms = at->get<TimeMs>();
  auto r = codec::from_hex_fixed<32>(root->get<std::string>());
  auto s = codec::from_hex(sig->get<std::string>());
  auto a = codec::parse_address(signer->get<std::string>());
  if (!r || !s || !a) return std::nullopt;
  h.root = *r;
  h.signature = std::move(*s);
  h.signer = *a;
  return h;
}

codec::Hash32 document_hash(std::string_view body) {
  codec::Hash32 out{};
  CryptoPP::SHA256().CalculateDigest(out.data(), reinterpret_cast<const CryptoPP::byte*>(body.data()), body.size());
  return out;
}

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
  } else if (version == "1") {
    return fail(StateErrc::kForeign,
                "decision log schema 1 was written by a txguard before the tamper-evident log (schema 2): its "
                "records have no Merkle leaves; keep that file as an archive and start on a new database");
  } else if (version != std::to_string(kLogSchemaVersion)) {
    return fail(StateErrc::kForeign, "decision log schema " + version + " is not " +
                                         std::to_string(kLogSchemaVersion) + ": written by another txguard version");
  }
  return {};
}

StateResult<LogRecord> DecisionLogWriter::append(std::string_view kind, std::string_view id, TimeMs at_ms,
                                                 nlohmann::json fields) {
  static constexpr const char* kLast = "SELECT seq, leaf FROM log_records ORDER BY seq DESC LIMIT 1";
  auto last_stmt = prepare(kLast);
  if (!last_stmt) return std::unexpected(last_stmt.error());
  auto last = step_one(db_, *last_stmt, "read the last log record", [](sqlite3_stmt* st) {
    auto leaf = column_hash(st, 1);
    return leaf ? std::optional(std::pair(sqlite3_column_int64(st, 0), *leaf)) : std::nullopt;
  });
  if (!last) return std::unexpected(last.error());
  LogRecord record;
  record.seq = *last ? (*last)->first + 1 : 0;
  const codec::Hash32 prev = *last ? (*last)->second : codec::Hash32{};
  record.id = std::string(id);
  record.kind = std::string(kind);
  record.at_ms = at_ms;
  fields["kind"] = kind;
  fields["id"] = id;
  fields["at_ms"] = at_ms;
  fields["index"] = record.seq;
  fields["prev"] = codec::to_hex(prev);
  try {
    record.body = fields.dump();
  } catch (const nlohmann::json::exception& e) {
    // Invalid UTF-8 in a field: the caller escapes client bytes first, so this is a bug upstream; the
    // job fails (nothing of it is committed) instead of the exception ending the sequencer.
    return fail(StateErrc::kIo, std::string("record ") + std::string(id) + " cannot be written as JSON: " + e.what());
  }
  record.leaf = merkle_leaf_hash(codec::ByteView(reinterpret_cast<const std::uint8_t*>(record.body.data()),
                                                 record.body.size()));

  static constexpr const char* kSql = "INSERT INTO log_records(seq, id, kind, at_ms, body, leaf) VALUES(?, ?, ?, ?, ?, ?)";
  auto stmt = prepare(kSql);
  if (!stmt) return std::unexpected(stmt.error());
  sqlite3_stmt* s = *stmt;
  sqlite3_bind_int64(s, 1, record.seq);
  bind_text(s, 2, id);
  bind_text(s, 3, kind);
  sqlite3_bind_int64(s, 4, at_ms);
  bind_text(s, 5, record.body);
  bind_blob(s, 6, record.leaf);
  const int rc = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "append log record " + std::string(id)));

  // Store every perfect subtree this leaf completes: while the node is a right child, its parent is
  // complete (RFC 9162 trees are built from perfect subtrees of the leaves in order).
  auto leaf_stmt = prepare(kLeafSql);
  auto node_stmt = prepare(kNodeSql);
  auto insert_stmt = prepare("INSERT INTO log_nodes(level, idx, hash) VALUES(?, ?, ?)");
  if (!leaf_stmt || !node_stmt || !insert_stmt) return std::unexpected(policy::StateError{StateErrc::kIo, "prepare"});
  auto index = static_cast<std::uint64_t>(record.seq);
  codec::Hash32 hash = record.leaf;
  for (unsigned level = 0; (index & 1U) == 1U; ++level) {
    auto left = stored_node(db_, *leaf_stmt, *node_stmt, level, index - 1);
    if (!left) return std::unexpected(left.error());
    hash = merkle_node_hash(*left, hash);
    index >>= 1U;
    sqlite3_bind_int64(*insert_stmt, 1, level + 1);
    sqlite3_bind_int64(*insert_stmt, 2, static_cast<std::int64_t>(index));
    bind_blob(*insert_stmt, 3, hash);
    const int irc = sqlite3_step(*insert_stmt);
    sqlite3_reset(*insert_stmt);
    sqlite3_clear_bindings(*insert_stmt);
    if (irc != SQLITE_DONE) return std::unexpected(sql_error(db_, irc, "store Merkle node"));
  }
  return record;
}

StateResult<std::uint64_t> DecisionLogWriter::size() {
  auto stmt = prepare("SELECT COALESCE(MAX(seq) + 1, 0) FROM log_records");
  if (!stmt) return std::unexpected(stmt.error());
  auto n = step_one(db_, *stmt, "count log records",
                    [](sqlite3_stmt* st) { return std::optional(static_cast<std::uint64_t>(sqlite3_column_int64(st, 0))); });
  if (!n) return std::unexpected(n.error());
  return n->value_or(0);
}

StateResult<codec::Hash32> DecisionLogWriter::root(std::uint64_t size) {
  auto leaf_stmt = prepare(kLeafSql);
  auto node_stmt = prepare(kNodeSql);
  if (!leaf_stmt) return std::unexpected(leaf_stmt.error());
  if (!node_stmt) return std::unexpected(node_stmt.error());
  NodeSource source{db_, *leaf_stmt, *node_stmt, std::nullopt};
  return source.result(merkle_root(size, source.reader()));
}

StateResult<void> DecisionLogWriter::put_head(const TreeHead& head) {
  auto stmt = prepare("INSERT OR REPLACE INTO log_heads(size, root, at_ms, signature, signer) VALUES(?, ?, ?, ?, ?)");
  if (!stmt) return std::unexpected(stmt.error());
  sqlite3_bind_int64(*stmt, 1, static_cast<std::int64_t>(head.size));
  bind_blob(*stmt, 2, head.root);
  sqlite3_bind_int64(*stmt, 3, head.at_ms);
  bind_blob(*stmt, 4, head.signature);
  bind_blob(*stmt, 5, head.signer.view());
  const int rc = sqlite3_step(*stmt);
  sqlite3_reset(*stmt);
  sqlite3_clear_bindings(*stmt);
  if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "store tree head"));
  return {};
}

StateResult<std::optional<TreeHead>> DecisionLogWriter::last_head() {
  static const std::string sql = std::string(kHeadColumns) + "ORDER BY size DESC LIMIT 1";
  auto stmt = prepare(sql.c_str());
  if (!stmt) return std::unexpected(stmt.error());
  return step_one(db_, *stmt, "read tree head", read_head);
}

StateResult<codec::Hash32> DecisionLogWriter::put_document(std::string_view kind, std::string_view body) {
  const codec::Hash32 hash = document_hash(body);
  auto stmt = prepare("INSERT OR IGNORE INTO documents(hash, kind, body) VALUES(?, ?, ?)");
  if (!stmt) return std::unexpected(stmt.error());
  bind_blob(*stmt, 1, hash);
  bind_text(*stmt, 2, kind);
  sqlite3_bind_blob(*stmt, 3, body.data(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(*stmt);
  sqlite3_reset(*stmt);
  sqlite3_clear_bindings(*stmt);
  if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "store document"));
  return hash;
}

StateResult<void> DecisionLogWriter::put(const RequestRow& row) {
  static constexpr const char* kSql =
      // An update of the same decision, or a new row; never a REPLACE: on a conflict with the live-claim
      // index REPLACE would delete the other live row (and so its once-only claim) instead of refusing.
      "INSERT INTO requests(decision_id, request_key, kind, requester, at_ms, status, decision, holds, "
      "approvals, signature, payload, chain, account, nonce, expires_ms) "
      "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(decision_id) DO UPDATE SET request_key = excluded.request_key, kind = excluded.kind, "
      "requester = excluded.requester, at_ms = excluded.at_ms, status = excluded.status, decision = excluded.decision, "
      "holds = excluded.holds, approvals = excluded.approvals, signature = excluded.signature, "
      "payload = excluded.payload, chain = excluded.chain, account = excluded.account, nonce = excluded.nonce, "
      "expires_ms = excluded.expires_ms";
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

StateResult<std::vector<RequestRow>> DecisionLogWriter::pending() {
  static const std::string sql = kSelectRows + "WHERE status = 'pending' ORDER BY at_ms";
  auto stmt = prepare(sql.c_str());
  if (!stmt) return std::unexpected(stmt.error());
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
    auto r = read_record(s);
    if (!r) return fail(StateErrc::kCorrupt, "a log record's leaf hash is malformed");
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace

StateResult<std::optional<LogRecord>> DecisionLogReader::record(std::string_view id) {
  std::lock_guard lock(mutex_);
  Query q(db_, std::string(kRecordColumns) + "WHERE id = ?");
  auto s = q.get();
  if (!s) return std::unexpected(s.error());
  bind_text(*s, 1, id);
  auto records = collect_records(db_, *s);
  if (!records) return std::unexpected(records.error());
  if (records->empty()) return std::optional<LogRecord>{};
  return std::optional<LogRecord>(std::move(records->front()));
}

StateResult<std::vector<LogRecord>> DecisionLogReader::records_from(std::uint64_t from, std::size_t limit) {
  std::lock_guard lock(mutex_);
  Query q(db_, std::string(kRecordColumns) + "WHERE seq >= ? ORDER BY seq LIMIT ?");
  auto s = q.get();
  if (!s) return std::unexpected(s.error());
  sqlite3_bind_int64(*s, 1, static_cast<std::int64_t>(from));
  sqlite3_bind_int64(*s, 2, static_cast<std::int64_t>(limit));
  return collect_records(db_, *s);
}

StateResult<std::uint64_t> DecisionLogReader::size() {
  std::lock_guard lock(mutex_);
  return size_locked();
}

StateResult<std::uint64_t> DecisionLogReader::size_locked() {
  Query q(db_, "SELECT COALESCE(MAX(seq) + 1, 0) FROM log_records");
  auto s = q.get();
  if (!s) return std::unexpected(s.error());
  auto n = step_one(db_, *s, "count log records",
                    [](sqlite3_stmt* st) { return std::optional(static_cast<std::uint64_t>(sqlite3_column_int64(st, 0))); });
  if (!n) return std::unexpected(n.error());
  return n->value_or(0);
}

StateResult<std::vector<TreeHead>> DecisionLogReader::heads_after(std::uint64_t after_size, std::size_t limit) {
  std::lock_guard lock(mutex_);
  Query q(db_, std::string(kHeadColumns) + "WHERE size > ? ORDER BY size LIMIT ?");
  auto s = q.get();
  if (!s) return std::unexpected(s.error());
  sqlite3_bind_int64(*s, 1, static_cast<std::int64_t>(after_size));
  sqlite3_bind_int64(*s, 2, static_cast<std::int64_t>(limit));
  std::vector<TreeHead> out;
  for (;;) {
    const int rc = sqlite3_step(*s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return std::unexpected(sql_error(db_, rc, "read tree heads"));
    auto h = read_head(*s);
    if (!h) return fail(StateErrc::kCorrupt, "a tree head is malformed");
    out.push_back(std::move(*h));
  }
  return out;
}

StateResult<std::optional<TreeHead>> DecisionLogReader::last_head() {
  std::lock_guard lock(mutex_);
  Query q(db_, std::string(kHeadColumns) + "ORDER BY size DESC LIMIT 1");
  auto s = q.get();
  if (!s) return std::unexpected(s.error());
  return step_one(db_, *s, "read tree head", read_head);
}

// Proofs and roots read the committed tree through the reader's connection. A size beyond the log
// is kNotFound (checked first, so a missing node always means corruption).
template <typename T, typename F>
StateResult<T> DecisionLogReader::over_tree(std::uint64_t size, F&& compute) {
  std::lock_guard lock(mutex_);
  auto n = size_locked();
  if (!n) return std::unexpected(n.error());
  if (size > *n) return fail(StateErrc::kNotFound, "the log has " + std::to_string(*n) + " records, not " + std::to_string(size));
  Query leaf(db_, kLeafSql);
  Query node(db_, kNodeSql);
  auto l = leaf.get();
  auto x = node.get();
  if (!l) return std::unexpected(l.error());
  if (!x) return std::unexpected(x.error());
  NodeSource source{db_, *l, *x, std::nullopt};
  return source.result(compute(source.reader()));
}

StateResult<std::vector<codec::Hash32>> DecisionLogReader::inclusion_proof(std::uint64_t index, std::uint64_t size) {
  return over_tree<std::vector<codec::Hash32>>(
      size, [&](const MerkleNodeReader& nodes) { return merkle_inclusion_proof(index, size, nodes); });
}

StateResult<std::vector<codec::Hash32>> DecisionLogReader::consistency_proof(std::uint64_t size1, std::uint64_t size2) {
  return over_tree<std::vector<codec::Hash32>>(
      size2, [&](const MerkleNodeReader& nodes) { return merkle_consistency_proof(size1, size2, nodes); });
}

StateResult<codec::Hash32> DecisionLogReader::root(std::uint64_t size) {
  return over_tree<codec::Hash32>(size, [&](const MerkleNodeReader& nodes) { return merkle_root(size, nodes); });
}

StateResult<std::optional<Document>> DecisionLogReader::document(const codec::Hash32& hash) {
  std::lock_guard lock(mutex_);
  Query q(db_, "SELECT hash, kind, body FROM documents WHERE hash = ?");
  auto s = q.get();
  if (!s) return std::unexpected(s.error());
  bind_blob(*s, 1, hash);
  return step_one(db_, *s, "read document", read_document);
}

StateResult<std::vector<Document>> DecisionLogReader::documents_after(const std::optional<codec::Hash32>& after,
                                                                      std::size_t limit) {
  std::lock_guard lock(mutex_);
  Query q(db_, std::string("SELECT hash, kind, body FROM documents ") + (after ? "WHERE hash > ? " : "") +
                   "ORDER BY hash LIMIT ?");
  auto s = q.get();
  if (!s) return std::unexpected(s.error());
  int i = 1;
  if (after) bind_blob(*s, i++, *after);
  sqlite3_bind_int64(*s, i, static_cast<std::int64_t>(limit));
  std::vector<Document> out;
  for (;;) {
    const int rc = sqlite3_step(*s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return std::unexpected(sql_error(db_, rc, "read documents"));
    auto d = read_document(*s);
    if (!d) return fail(StateErrc::kCorrupt, "a document's hash is malformed");
    out.push_back(std::move(*d));
  }
  return out;
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

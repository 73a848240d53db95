#include "guard/store/decision_log.hpp"

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

std::unexpected<policy::StateError> fail(StateErrc code, std::string detail) {
  return std::unexpected(policy::StateError{code, std::move(detail)});
}

std::string_view text_of(codec::ByteView bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

codec::ByteView bytes_of(std::string_view text) {
  return codec::ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

std::optional<codec::Hash32> hash_of(const SqlRow& row, int column) {
  auto bytes = row.blob(column);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  codec::Hash32 h{};
  std::memcpy(h.data(), bytes->data(), 32);
  return h;
}

// Runs a statement expected to return at most one row; `read` turns the row into a value (nullopt:
// malformed, kCorrupt).
template <typename T, typename Read>
StateResult<std::optional<T>> one_row(SqlConnection& c, std::string_view sql, std::initializer_list<SqlParam> params,
                                      std::string_view what, Read&& read) {
  std::optional<T> value;
  auto ran = c.run(sql, params, [&](const SqlRow& row) -> StateResult<void> {
    auto v = read(row);
    if (!v) return fail(StateErrc::kCorrupt, std::string(what) + ": malformed row");
    value = std::move(*v);
    return {};
  });
  if (!ran) return std::unexpected(ran.error());
  return value;
}

template <typename T, typename Read>
StateResult<std::vector<T>> all_rows(SqlConnection& c, std::string_view sql, std::initializer_list<SqlParam> params,
                                     std::string_view what, Read&& read) {
  std::vector<T> out;
  auto ran = c.run(sql, params, [&](const SqlRow& row) -> StateResult<void> {
    auto v = read(row);
    if (!v) return fail(StateErrc::kCorrupt, std::string(what) + ": malformed row");
    out.push_back(std::move(*v));
    return {};
  });
  if (!ran) return std::unexpected(ran.error());
  return out;
}

std::optional<TreeHead> read_head(const SqlRow& row) {
  TreeHead h;
  const auto size = row.integer(0);
  const auto at = row.integer(2);
  auto root = hash_of(row, 1);
  auto signature = row.blob(3);
  auto signer = row.blob(4);
  if (!size || *size < 0 || !at || !root || !signature || !signer || signer->size() != 20) return std::nullopt;
  h.size = static_cast<std::uint64_t>(*size);
  h.root = *root;
  h.at_ms = *at;
  h.signature = std::move(*signature);
  std::memcpy(h.signer.bytes.data(), signer->data(), 20);
  return h;
}

std::optional<LogRecord> read_record(const SqlRow& row) {
  const auto seq = row.integer(0);
  const auto at = row.integer(3);
  auto leaf = hash_of(row, 5);
  if (!seq || !at || !leaf) return std::nullopt;
  return LogRecord{*seq, row.text(1), row.text(2), *at, row.text(4), *leaf};
}

std::optional<Document> read_document(const SqlRow& row) {
  auto hash = hash_of(row, 0);
  auto body = row.blob(2);
  if (!hash || !body) return std::nullopt;
  return Document{*hash, row.text(1), std::string(text_of(*body))};
}

// The stored perfect subtree (level, index): level 0 is a record's leaf, higher levels log_nodes.
StateResult<codec::Hash32> stored_node(SqlConnection& c, unsigned level, std::uint64_t index) {
  const auto i = static_cast<std::int64_t>(index);
  auto h = level == 0 ? one_row<codec::Hash32>(c, "SELECT leaf FROM log_records WHERE seq = ?1", {i},
                                               "read a Merkle leaf", [](const SqlRow& r) { return hash_of(r, 0); })
                      : one_row<codec::Hash32>(c, "SELECT hash FROM log_nodes WHERE level = ?1 AND idx = ?2",
                                               {static_cast<std::int64_t>(level), i}, "read a Merkle node",
                                               [](const SqlRow& r) { return hash_of(r, 0); });
  if (!h) return std::unexpected(h.error());
  if (!*h) {
    return fail(StateErrc::kCorrupt, "Merkle node " + std::to_string(level) + "/" + std::to_string(index) + " is missing");
  }
  return **h;
}

// A Merkle node reader over a connection; errors keep their StateError.
struct NodeSource {
  SqlConnection& c;
  std::optional<policy::StateError> error;
  MerkleNodeReader reader() {
    return [this](unsigned level, std::uint64_t index) -> std::expected<codec::Hash32, std::string> {
      auto h = stored_node(c, level, index);
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

constexpr std::string_view kRecordColumns = "SELECT seq, id, kind, at_ms, body, leaf FROM log_records ";
constexpr std::string_view kHeadColumns = "SELECT size, root, at_ms, signature, signer FROM log_heads ";

// A row written with an empty decision reads it from its decision record: the decision JSON is written
// once per request (it is most of the bytes a decision adds to the log). Rows of the same time are
// ordered by their decision record's index (the order they were first written).
std::string select_rows(SqlBackend backend, std::string_view rest) {
  const std::string_view member = backend == SqlBackend::kSqlite ? "json_extract(body, '$.decision')"
                                                                 : "(body::json -> 'decision')::text";
  std::string sql = "SELECT decision_id, request_key, kind, requester, at_ms, status, COALESCE(NULLIF(decision, ''), "
                    "(SELECT ";
  sql += member;
  sql += " FROM log_records WHERE log_records.id = requests.decision_id), ''), "
         "holds, approvals, signature, payload, chain, account, nonce, expires_ms FROM requests ";
  sql += rest;
  return sql;
}
constexpr std::string_view kNewestFirst =
    "ORDER BY at_ms DESC, (SELECT seq FROM log_records WHERE log_records.id = requests.decision_id) DESC ";

// Reads one requests row (columns in select_rows order).
StateResult<RequestRow> read_row(const SqlRow& r) {
  RequestRow row;
  row.decision_id = r.text(0);
  auto key = hash_of(r, 1);
  if (!key) return fail(StateErrc::kCorrupt, "request " + row.decision_id + ": bad request_key");
  row.request_key = *key;
  row.kind = r.text(2);
  row.requester = r.text(3);
  const auto at = r.integer(4);
  const auto expires = r.integer(14);
  if (!at || !expires) return fail(StateErrc::kCorrupt, "request " + row.decision_id + ": bad time");
  row.at_ms = *at;
  auto status = parse_request_status(r.text(5));
  if (!status) return fail(StateErrc::kCorrupt, "request " + row.decision_id + ": unknown status");
  row.status = *status;
  row.decision = r.text(6);
  row.holds = r.text(7);
  row.approvals = r.text(8);
  if (!r.is_null(9)) {
    auto signature = r.blob(9);
    if (!signature) return fail(StateErrc::kCorrupt, "request " + row.decision_id + ": bad signature");
    row.signature = std::move(*signature);
  }
  row.payload = r.text(10);
  if (!r.is_null(13)) row.claim = Claim{r.text(11), r.text(12), r.text(13)};
  row.expires_ms = *expires;
  return row;
}

StateResult<std::vector<RequestRow>> request_rows(SqlConnection& c, const std::string& sql,
                                                  std::initializer_list<SqlParam> params) {
  std::vector<RequestRow> out;
  auto ran = c.run(sql, params, [&](const SqlRow& r) -> StateResult<void> {
    auto row = read_row(r);
    if (!row) return std::unexpected(row.error());
    out.push_back(std::move(*row));
    return {};
  });
  if (!ran) return std::unexpected(ran.error());
  return out;
}

StateResult<std::optional<RequestRow>> first(StateResult<std::vector<RequestRow>> rows) {
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<RequestRow>{};
  return std::optional<RequestRow>(std::move(rows->front()));
}

// --- what the writer and the reader both read ----------------------------------------------------

StateResult<std::uint64_t> log_size(SqlConnection& c) {
  auto n = one_row<std::int64_t>(c, "SELECT COALESCE(MAX(seq) + 1, 0) FROM log_records", {}, "count log records",
                                 [](const SqlRow& r) { return r.integer(0); });
  if (!n) return std::unexpected(n.error());
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, n->value_or(0)));
}

StateResult<std::optional<TreeHead>> newest_head(SqlConnection& c) {
  static const std::string sql = std::string(kHeadColumns) + "ORDER BY size DESC LIMIT 1";
  return one_row<TreeHead>(c, sql, {}, "read the last tree head", read_head);
}

StateResult<std::optional<RequestRow>> request_by_id(SqlConnection& c, std::string_view decision_id) {
  return first(request_rows(c, select_rows(c.backend(), "WHERE decision_id = ?1"), {decision_id}));
}

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

StateResult<LogRecord> DecisionLogWriter::append(std::string_view kind, std::string_view id, TimeMs at_ms,
                                                 nlohmann::json fields) {
  auto last = one_row<std::pair<std::int64_t, codec::Hash32>>(
      c_, "SELECT seq, leaf FROM log_records ORDER BY seq DESC LIMIT 1", {}, "read the last log record",
      [](const SqlRow& r) -> std::optional<std::pair<std::int64_t, codec::Hash32>> {
        auto seq = r.integer(0);
        auto leaf = hash_of(r, 1);
        if (!seq || !leaf) return std::nullopt;
        return std::pair(*seq, *leaf);
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
  record.leaf = merkle_leaf_hash(bytes_of(record.body));

  auto inserted = c_.run("INSERT INTO log_records(seq, id, kind, at_ms, body, leaf) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                         {record.seq, id, kind, at_ms, std::string_view(record.body), SqlBlob{record.leaf}});
  if (!inserted) {
    auto error = inserted.error();
    error.detail = "append log record " + std::string(id) + ": " + error.detail;
    return std::unexpected(std::move(error));
  }

  // Store every perfect subtree this leaf completes: while the node is a right child, its parent is
  // complete (RFC 9162 trees are built from perfect subtrees of the leaves in order).
  auto index = static_cast<std::uint64_t>(record.seq);
  codec::Hash32 hash = record.leaf;
  for (unsigned level = 0; (index & 1U) == 1U; ++level) {
    auto left = stored_node(c_, level, index - 1);
    if (!left) return std::unexpected(left.error());
    hash = merkle_node_hash(*left, hash);
    index >>= 1U;
    auto node = c_.run("INSERT INTO log_nodes(level, idx, hash) VALUES(?1, ?2, ?3)",
                       {static_cast<std::int64_t>(level + 1), static_cast<std::int64_t>(index), SqlBlob{hash}});
    if (!node) return std::unexpected(node.error());
  }
  return record;
}

StateResult<std::uint64_t> DecisionLogWriter::size() { return log_size(c_); }

StateResult<codec::Hash32> DecisionLogWriter::root(std::uint64_t size) {
  NodeSource source{c_, std::nullopt};
  return source.result(merkle_root(size, source.reader()));
}

StateResult<void> DecisionLogWriter::put_head(const TreeHead& head) {
  auto ran = c_.run(
      // A head once signed stays: a second head of the same size is refused, never replaces it.
      "INSERT INTO log_heads(size, root, at_ms, signature, signer) VALUES(?1, ?2, ?3, ?4, ?5)",
      {static_cast<std::int64_t>(head.size), SqlBlob{head.root}, head.at_ms, SqlBlob{head.signature},
       SqlBlob{head.signer.view()}});
  if (!ran) return std::unexpected(ran.error());
  return {};
}

StateResult<std::optional<TreeHead>> DecisionLogWriter::last_head() { return newest_head(c_); }

StateResult<codec::Hash32> DecisionLogWriter::put_document(std::string_view kind, std::string_view body) {
  const codec::Hash32 hash = document_hash(body);
  auto ran = c_.run("INSERT INTO documents(hash, kind, body) VALUES(?1, ?2, ?3) ON CONFLICT(hash) DO NOTHING",
                    {SqlBlob{hash}, kind, SqlBlob{bytes_of(body)}});
  if (!ran) return std::unexpected(ran.error());
  return hash;
}

StateResult<void> DecisionLogWriter::put(const RequestRow& row) {
  // An update of the same decision, or a new row; never a REPLACE: on a conflict with the live-claim
  // index REPLACE would delete the other live row (and so its once-only claim) instead of refusing.
  static constexpr std::string_view kSql =
      "INSERT INTO requests(decision_id, request_key, kind, requester, at_ms, status, decision, holds, "
      "approvals, signature, payload, chain, account, nonce, expires_ms) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
      "ON CONFLICT(decision_id) DO UPDATE SET request_key = excluded.request_key, kind = excluded.kind, "
      "requester = excluded.requester, at_ms = excluded.at_ms, status = excluded.status, decision = excluded.decision, "
      "holds = excluded.holds, approvals = excluded.approvals, signature = excluded.signature, "
      "payload = excluded.payload, chain = excluded.chain, account = excluded.account, nonce = excluded.nonce, "
      "expires_ms = excluded.expires_ms";
  const SqlParam none = nullptr;
  const SqlParam signature = row.signature ? SqlParam(SqlBlob{*row.signature}) : none;
  const SqlParam chain = row.claim ? SqlParam(std::string_view(row.claim->chain)) : none;
  const SqlParam account = row.claim ? SqlParam(std::string_view(row.claim->account)) : none;
  const SqlParam nonce = row.claim ? SqlParam(std::string_view(row.claim->nonce)) : none;
  auto ran = c_.run(kSql, {std::string_view(row.decision_id), SqlBlob{row.request_key}, std::string_view(row.kind),
                           std::string_view(row.requester), row.at_ms, to_string(row.status),
                           std::string_view(row.decision), std::string_view(row.holds),
                           row.approvals.empty() ? std::string_view("[]") : std::string_view(row.approvals), signature,
                           std::string_view(row.payload), chain, account, nonce, row.expires_ms});
  if (!ran) {
    auto error = ran.error();
    error.detail = "write request " + row.decision_id + ": " + error.detail;
    return std::unexpected(std::move(error));
  }
  return {};
}

StateResult<std::optional<RequestRow>> DecisionLogWriter::find_by_key(const codec::Hash32& key) {
  static const std::string sql[2] = {
      select_rows(SqlBackend::kSqlite, std::string("WHERE request_key = ?1 ") + std::string(kNewestFirst) + "LIMIT 1"),
      select_rows(SqlBackend::kPostgres, std::string("WHERE request_key = ?1 ") + std::string(kNewestFirst) + "LIMIT 1")};
  return first(request_rows(c_, sql[static_cast<int>(c_.backend())], {SqlBlob{key}}));
}

StateResult<std::optional<RequestRow>> DecisionLogWriter::find_claim(const Claim& claim) {
  static const std::string sql[2] = {
      select_rows(SqlBackend::kSqlite, "WHERE chain = ?1 AND account = ?2 AND nonce = ?3 AND status IN ('allowed', "
                                       "'pending', 'approved')"),
      select_rows(SqlBackend::kPostgres, "WHERE chain = ?1 AND account = ?2 AND nonce = ?3 AND status IN ('allowed', "
                                         "'pending', 'approved')")};
  return first(request_rows(c_, sql[static_cast<int>(c_.backend())],
                            {std::string_view(claim.chain), std::string_view(claim.account), std::string_view(claim.nonce)}));
}

StateResult<std::optional<RequestRow>> DecisionLogWriter::find(std::string_view decision_id) {
  return request_by_id(c_, decision_id);
}

StateResult<std::vector<RequestRow>> DecisionLogWriter::due(TimeMs now_ms) {
  return request_rows(c_, select_rows(c_.backend(), "WHERE status = 'pending' AND expires_ms <= ?1 ORDER BY expires_ms"),
                      {now_ms});
}

StateResult<std::vector<RequestRow>> DecisionLogWriter::pending() {
  return request_rows(c_, select_rows(c_.backend(), "WHERE status = 'pending' ORDER BY at_ms"), {});
}

StateResult<std::int64_t> DecisionLogWriter::pending_count() {
  auto n = one_row<std::int64_t>(c_, "SELECT count(*) FROM requests WHERE status = 'pending'", {}, "count pending",
                                 [](const SqlRow& r) { return r.integer(0); });
  if (!n) return std::unexpected(n.error());
  return n->value_or(0);
}

// --- reader --------------------------------------------------------------------------------------

StateResult<std::unique_ptr<DecisionLogReader>> DecisionLogReader::open(const std::string& database,
                                                                        const DatabaseOptions& options) {
  DatabaseOptions reading = options;
  reading.read_only = true;
  auto connection = open_database(database, reading);
  if (!connection) return std::unexpected(connection.error());
  return std::unique_ptr<DecisionLogReader>(new DecisionLogReader(std::move(*connection)));
}

DecisionLogReader::DecisionLogReader(std::unique_ptr<SqlConnection> connection) : c_(std::move(connection)) {}
DecisionLogReader::~DecisionLogReader() = default;

StateResult<void> DecisionLogReader::ping() {
  std::lock_guard lock(mutex_);
  if (auto begun = c_->begin_read(); !begun) return begun;
  auto ran = c_->run("SELECT 1", {});
  c_->rollback();
  if (!ran) return std::unexpected(ran.error());
  return {};
}

StateResult<std::optional<LogRecord>> DecisionLogReader::record(std::string_view id) {
  std::lock_guard lock(mutex_);
  static const std::string sql = std::string(kRecordColumns) + "WHERE id = ?1";
  return one_row<LogRecord>(*c_, sql, {id}, "read a log record", read_record);
}

StateResult<std::vector<LogRecord>> DecisionLogReader::records_from(std::uint64_t from, std::size_t limit) {
  std::lock_guard lock(mutex_);
  static const std::string sql = std::string(kRecordColumns) + "WHERE seq >= ?1 ORDER BY seq LIMIT ?2";
  return all_rows<LogRecord>(*c_, sql, {static_cast<std::int64_t>(from), static_cast<std::int64_t>(limit)},
                             "read log records", read_record);
}

StateResult<std::uint64_t> DecisionLogReader::size() {
  std::lock_guard lock(mutex_);
  return size_locked();
}

StateResult<std::uint64_t> DecisionLogReader::size_locked() { return log_size(*c_); }

StateResult<std::vector<TreeHead>> DecisionLogReader::heads_after(std::uint64_t after_size, std::size_t limit) {
  std::lock_guard lock(mutex_);
  static const std::string sql = std::string(kHeadColumns) + "WHERE size > ?1 ORDER BY size LIMIT ?2";
  return all_rows<TreeHead>(*c_, sql, {static_cast<std::int64_t>(after_size), static_cast<std::int64_t>(limit)},
                            "read tree heads", read_head);
}

StateResult<std::optional<TreeHead>> DecisionLogReader::last_head() {
  std::lock_guard lock(mutex_);
  return newest_head(*c_);
}

// Proofs and roots read the committed tree through the reader's connection. A size beyond the log
// is kNotFound (checked first, so a missing node always means corruption; the tree is append-only,
// so nodes of a size once seen never change).
template <typename T, typename F>
StateResult<T> DecisionLogReader::over_tree(std::uint64_t size, F&& compute) {
  std::lock_guard lock(mutex_);
  auto n = size_locked();
  if (!n) return std::unexpected(n.error());
  if (size > *n) return fail(StateErrc::kNotFound, "the log has " + std::to_string(*n) + " records, not " + std::to_string(size));
  NodeSource source{*c_, std::nullopt};
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
  return one_row<Document>(*c_, "SELECT hash, kind, body FROM documents WHERE hash = ?1", {SqlBlob{hash}},
                           "read a document", read_document);
}

StateResult<std::vector<Document>> DecisionLogReader::documents_after(const std::optional<codec::Hash32>& after,
                                                                      std::size_t limit) {
  std::lock_guard lock(mutex_);
  const auto n = static_cast<std::int64_t>(limit);
  if (after) {
    return all_rows<Document>(*c_, "SELECT hash, kind, body FROM documents WHERE hash > ?1 ORDER BY hash LIMIT ?2",
                              {SqlBlob{*after}, n}, "read documents", read_document);
  }
  return all_rows<Document>(*c_, "SELECT hash, kind, body FROM documents ORDER BY hash LIMIT ?1", {n},
                            "read documents", read_document);
}

StateResult<std::optional<RequestRow>> DecisionLogReader::request(std::string_view decision_id) {
  std::lock_guard lock(mutex_);
  return request_by_id(*c_, decision_id);
}

StateResult<std::vector<RequestRow>> DecisionLogReader::requests(std::optional<RequestStatus> status,
                                                                 std::size_t limit) {
  std::lock_guard lock(mutex_);
  const auto n = static_cast<std::int64_t>(limit);
  if (status) {
    return request_rows(*c_, select_rows(c_->backend(), std::string("WHERE status = ?1 ") + std::string(kNewestFirst) + "LIMIT ?2"),
                        {to_string(*status), n});
  }
  return request_rows(*c_, select_rows(c_->backend(), std::string(kNewestFirst) + "LIMIT ?1"), {n});
}

}  // namespace txguard::store

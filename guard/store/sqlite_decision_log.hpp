// The decision log and the signing requests, in the same SQLite file as the velocity state, so that a
// decision, its state effects and (when allowed) its signature commit in ONE transaction: nothing is
// released that is not durably recorded, and no debit exists without its decision.
//
// Tables (created by install(); user_version of the state schema is untouched, these tables carry
// their own version in log_meta):
//   log_records(seq INTEGER PRIMARY KEY, id TEXT UNIQUE, kind TEXT, at_ms INTEGER, body TEXT)
//     append-only; `body` is the record's canonical JSON (sorted keys, no spaces); seq is its index.
//     kinds: "decision", "approval", "release", "rejection", "expiry", "refusal".
//   requests(decision_id PK, request_key BLOB, kind, requester, at_ms, status, decision, holds,
//            approvals, signature, payload, chain, account, nonce, expires_ms)
//     one row per request that was allowed or held (denials are only logged): the idempotency index
//     (request_key = the digest to be signed) and the once-only claims: at most one row per
//     (chain, account, nonce) whose status is allowed, pending or approved (a partial UNIQUE index
//     enforces it in the database as well as in the pipeline).
//
// Writer: used inside StateStore transactions on the store's own connection (SqliteTx); it caches its
// prepared statements, so make one per connection. Reader: its own read-only connection (WAL readers
// see the last committed state and never block the writer); thread-safe (serialised internally).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "guard/store/sqlite_state_store.hpp"
#include "policy/codec/bytes.hpp"

namespace txguard::store {

enum class RequestStatus { kAllowed, kPending, kApproved, kRejected, kExpired };
std::string_view to_string(RequestStatus status) noexcept;
std::optional<RequestStatus> parse_request_status(std::string_view text) noexcept;

/// Once-only key: what an account may sign once per nonce. Canonical text forms: chain and nonce in
/// decimal, account lower-case 0x hex.
struct Claim {
  std::string chain;
  std::string account;
  std::string nonce;
};

struct RequestRow {
  std::string decision_id;
  codec::Hash32 request_key{};  // the digest to be signed (safeTxHash, transaction signing hash, ...)
  std::string kind;             // "safe", "transaction", "typed-data", "message"
  std::string requester;
  policy::TimeMs at_ms = 0;
  RequestStatus status = RequestStatus::kPending;
  std::string decision;         // the decision JSON (text); written empty, it is read back from the
                                // "decision" member of the log record whose id is decision_id
  std::string holds;            // the hold requirements JSON (text), "" when not held
  std::string approvals;        // JSON array (text) of recorded approvals
  std::optional<codec::Bytes> signature;  // 65 bytes once signed
  std::string payload;          // what was signed, for the requester (JSON text: request body)
  std::optional<Claim> claim;
  policy::TimeMs expires_ms = 0;  // pending holds: when they expire
};

struct LogRecord {
  std::int64_t seq = 0;
  std::string id;
  std::string kind;
  policy::TimeMs at_ms = 0;
  std::string body;
};

class DecisionLogWriter {
 public:
  explicit DecisionLogWriter(sqlite3* db) : db_(db) {}
  ~DecisionLogWriter();
  DecisionLogWriter(const DecisionLogWriter&) = delete;
  DecisionLogWriter& operator=(const DecisionLogWriter&) = delete;

  /// Creates the tables if missing; call inside a write transaction. Refuses a newer log schema.
  StateResult<void> install();
  /// Appends a record; returns its seq. kDuplicate when the id exists.
  StateResult<std::int64_t> append(std::string_view kind, std::string_view id, policy::TimeMs at_ms,
                                   std::string_view body);
  /// Inserts or replaces the row of row.decision_id. kDuplicate when another live row holds its claim.
  StateResult<void> put(const RequestRow& row);
  /// The newest row whose request_key is `key`.
  StateResult<std::optional<RequestRow>> find_by_key(const codec::Hash32& key);
  /// The live (allowed, pending or approved) row holding `claim`.
  StateResult<std::optional<RequestRow>> find_claim(const Claim& claim);
  StateResult<std::optional<RequestRow>> find(std::string_view decision_id);
  /// Pending rows with expires_ms <= now_ms.
  StateResult<std::vector<RequestRow>> due(policy::TimeMs now_ms);
  /// How many rows are pending.
  StateResult<std::int64_t> pending_count();

 private:
  StateResult<sqlite3_stmt*> prepare(const char* sql);
  StateResult<std::vector<RequestRow>> rows(sqlite3_stmt* stmt);

  sqlite3* db_;
  std::map<const char*, sqlite3_stmt*> statements_;
};

class DecisionLogReader {
 public:
  static StateResult<std::unique_ptr<DecisionLogReader>> open(const std::string& path);
  ~DecisionLogReader();
  DecisionLogReader(const DecisionLogReader&) = delete;
  DecisionLogReader& operator=(const DecisionLogReader&) = delete;

  StateResult<std::optional<LogRecord>> record(std::string_view id);
  /// Records with seq > after, in order, at most `limit`.
  StateResult<std::vector<LogRecord>> records_after(std::int64_t after, std::size_t limit);
  StateResult<std::optional<RequestRow>> request(std::string_view decision_id);
  /// Rows by status (all when empty), newest first, at most `limit`.
  StateResult<std::vector<RequestRow>> requests(std::optional<RequestStatus> status, std::size_t limit);

 private:
  explicit DecisionLogReader(sqlite3* db) : db_(db) {}
  std::mutex mutex_;
  sqlite3* db_;
};

}  // namespace txguard::store

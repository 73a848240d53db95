// The decision log and the signing requests, in the same database as the velocity state, so that a
// decision, its state effects and (when allowed) its signature commit in ONE transaction: nothing is
// released that is not durably recorded, and no debit exists without its decision.
//
// The log is tamper-evident (RFC 9162, Certificate Transparency v2 style): every record is a leaf of a
// Merkle tree (leaf hash SHA-256(0x00 || record bytes)), and the pipeline signs tree heads (size, root,
// time) with a dedicated log key. Each record also names its position ("index", from 0) and the leaf
// hash of the record before it ("prev"), so a verifier can say WHICH record was altered, deleted or
// moved, not only that the root differs.
//
// Tables (created and versioned by the database's schema, schema.hpp; the log also keeps its own
// version in log_meta, now 2):
//   log_records(seq INTEGER PRIMARY KEY = the record's index, id TEXT UNIQUE, kind, at_ms, body, leaf)
//     append-only; `body` is the record's canonical JSON (sorted keys, no white space, no floats);
//     `leaf` its Merkle leaf hash. kinds: "decision", "approval", "release", "rejection", "expiry",
//     "refusal".
//   log_nodes(level, idx, hash): every perfect, aligned subtree of 2^level leaves (level >= 1) once it
//     is complete, so roots and proofs take O(log n) reads.
//   log_heads(size PRIMARY KEY, root, at_ms, signature, signer): the signed tree heads.
//   documents(hash PRIMARY KEY = SHA-256 of body, kind, body): policies, list files, price tables and
//     policy sets the records refer to, stored once.
//   requests(decision_id PK, request_key BLOB, kind, requester, at_ms, status, decision, holds,
//            approvals, signature, payload, chain, account, nonce, expires_ms)
//     one row per request that was allowed or held (denials are only logged): the idempotency index
//     (request_key = the digest to be signed) and the once-only claims: at most one row per
//     (chain, account, nonce) whose status is allowed, pending or approved (a partial UNIQUE index
//     enforces it in the database as well as in the pipeline).
//
// Backend-neutral (sql.hpp): the same statements on SQLite and PostgreSQL. On PostgreSQL several
// replicas append to one log: every append runs inside a write transaction, which excludes every
// other writer of the database, so the log stays one linear sequence whatever replica appended.
//
// Writer: used inside StateStore transactions on the store's own connection (Tx::connection()). It
// keeps no state of its own between calls (the last record's index and leaf are read from the
// table), so a rolled-back savepoint, or another replica's append, leaves nothing stale behind.
// Reader: its own read-only connection (readers see the last committed state and never block the
// writer); thread-safe (serialised internally).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/store/sql_state_store.hpp"
#include "policy/codec/bytes.hpp"

namespace txguard::store {

enum class RequestStatus { kAllowed, kPending, kApproved, kRejected, kExpired };
std::string_view to_string(RequestStatus status) noexcept;
std::optional<RequestStatus> parse_request_status(std::string_view text) noexcept;

/// Once-only key: what an account may sign once per nonce. Canonical text forms: chain and nonce in
/// decimal, account lower-case 0x hex.
/// The chain of a claim that holds on every chain: a Safe 1.1.1 or 1.2.0 transaction, whose hash (and so
/// whose signature) does not depend on the chain.
inline constexpr std::string_view kAnyChain = "*";

struct Claim {
  std::string chain;  // decimal chain id, or kAnyChain
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
  std::int64_t seq = 0;   // the record's index in the log (its Merkle leaf index), from 0
  std::string id;
  std::string kind;
  policy::TimeMs at_ms = 0;
  std::string body;       // canonical JSON
  codec::Hash32 leaf{};   // merkle_leaf_hash(body)
};

/// A signed tree head: the log had `size` records whose Merkle root was `root` at `at_ms`.
struct TreeHead {
  std::uint64_t size = 0;
  codec::Hash32 root{};
  policy::TimeMs at_ms = 0;
  codec::Bytes signature;   // 65 bytes r || s || v over tree_head_digest()
  codec::Address signer{};  // the log key's address
};

/// What the log key signs: keccak256("txguard tree head v1" || size as 8 bytes big-endian || at_ms as
/// 8 bytes big-endian two's complement || root). The domain string keeps a head signature from ever
/// being valid as a transaction or Safe signature (those digests are keccak256 of RLP or EIP-712
/// data, which never start with this text).
codec::Hash32 tree_head_digest(std::uint64_t size, policy::TimeMs at_ms, const codec::Hash32& root);
/// The head as JSON: {"size", "root", "at_ms", "signature", "signer"} (hex, EIP-55 signer).
nlohmann::json to_json(const TreeHead& head);
/// Reads a head written by to_json; nullopt when a field is missing or malformed.
std::optional<TreeHead> tree_head_from_json(const nlohmann::json& j);

/// A stored document: SHA-256 of the body is its name.
struct Document {
  codec::Hash32 hash{};
  std::string kind;  // "policy", "file", "prices", "policy-set"
  std::string body;
};
codec::Hash32 document_hash(std::string_view body);

class DecisionLogWriter {
 public:
  /// Uses `connection` (not owned) inside the caller's write transaction.
  explicit DecisionLogWriter(SqlConnection& connection) : c_(connection) {}
  DecisionLogWriter(const DecisionLogWriter&) = delete;
  DecisionLogWriter& operator=(const DecisionLogWriter&) = delete;

  /// Appends a record: `fields` (an object) gets "kind", "id", "at_ms", "index" and "prev" set, is
  /// written as canonical JSON, and becomes the next Merkle leaf (the completed subtrees are stored
  /// with it). Returns the record. kDuplicate when the id exists.
  StateResult<LogRecord> append(std::string_view kind, std::string_view id, policy::TimeMs at_ms,
                                nlohmann::json fields);
  /// How many records the log has.
  StateResult<std::uint64_t> size();
  /// The Merkle root of the first `size` records (size <= size()).
  StateResult<codec::Hash32> root(std::uint64_t size);
  /// Stores a signed tree head; kDuplicate when a head of that size exists (a signed head is never
  /// replaced).
  StateResult<void> put_head(const TreeHead& head);
  StateResult<std::optional<TreeHead>> last_head();
  /// Stores a document under document_hash(body) unless it is there; returns the hash.
  StateResult<codec::Hash32> put_document(std::string_view kind, std::string_view body);
  /// Inserts or replaces the row of row.decision_id. kDuplicate when another live row holds its claim.
  StateResult<void> put(const RequestRow& row);
  /// The newest row whose request_key is `key`.
  StateResult<std::optional<RequestRow>> find_by_key(const codec::Hash32& key);
  /// The live (allowed, pending or approved) row holding `claim`.
  StateResult<std::optional<RequestRow>> find_claim(const Claim& claim);
  StateResult<std::optional<RequestRow>> find(std::string_view decision_id);
  /// Pending rows with expires_ms <= now_ms.
  /// Every pending request (holds not yet released, rejected or expired), oldest first.
  StateResult<std::vector<RequestRow>> pending();
  StateResult<std::vector<RequestRow>> due(policy::TimeMs now_ms);
  /// How many rows are pending.
  StateResult<std::int64_t> pending_count();

 private:
  SqlConnection& c_;
};

class DecisionLogReader {
 public:
  /// Opens `database` (a SQLite file path or a postgresql:// URL) for reading.
  static StateResult<std::unique_ptr<DecisionLogReader>> open(const std::string& database,
                                                              const DatabaseOptions& options = {});
  ~DecisionLogReader();
  DecisionLogReader(const DecisionLogReader&) = delete;
  DecisionLogReader& operator=(const DecisionLogReader&) = delete;

  /// Whether the database answers now: a read transaction begun and ended (a lost connection is
  /// re-established here). For readiness checks.
  StateResult<void> ping();
  StateResult<std::optional<LogRecord>> record(std::string_view id);
  /// Records with index >= from, in order, at most `limit`.
  StateResult<std::vector<LogRecord>> records_from(std::uint64_t from, std::size_t limit);
  /// How many records the log has (committed).
  StateResult<std::uint64_t> size();
  /// Signed tree heads with size > after_size, by size, at most `limit`.
  StateResult<std::vector<TreeHead>> heads_after(std::uint64_t after_size, std::size_t limit);
  StateResult<std::optional<TreeHead>> last_head();
  /// RFC 9162 inclusion proof of record `index` in the tree of the first `size` records, and
  /// consistency proof between the trees of sizes size1 <= size2. kNotFound when a size is beyond the
  /// log or an index is not below the size.
  StateResult<std::vector<codec::Hash32>> inclusion_proof(std::uint64_t index, std::uint64_t size);
  StateResult<std::vector<codec::Hash32>> consistency_proof(std::uint64_t size1, std::uint64_t size2);
  StateResult<codec::Hash32> root(std::uint64_t size);
  StateResult<std::optional<Document>> document(const codec::Hash32& hash);
  /// Documents with hash > after (all when nullopt), by hash, at most `limit`.
  StateResult<std::vector<Document>> documents_after(const std::optional<codec::Hash32>& after, std::size_t limit);
  StateResult<std::optional<RequestRow>> request(std::string_view decision_id);
  /// Rows by status (all when empty), newest first, at most `limit`.
  StateResult<std::vector<RequestRow>> requests(std::optional<RequestStatus> status, std::size_t limit);

 private:
  explicit DecisionLogReader(std::unique_ptr<SqlConnection> connection);
  StateResult<std::uint64_t> size_locked();
  template <typename T, typename F>
  StateResult<T> over_tree(std::uint64_t size, F&& compute);
  std::mutex mutex_;
  std::unique_ptr<SqlConnection> c_;
};

}  // namespace txguard::store

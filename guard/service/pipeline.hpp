// The signing pipeline: evaluate -> sign (only on allow) -> record durably -> release.
//
// One sequencer thread owns the database connection. Jobs (signing requests, evaluations, approvals,
// refusals) queue up; the sequencer takes everything queued (up to a batch bound), runs the jobs in
// order inside ONE write transaction (each in its own savepoint, so one failing job rolls back alone),
// and commits once: group commit, one fsync for the whole batch. Only after the COMMIT returns are the
// outcomes handed back; if it fails, every job of the batch answers "unavailable" and no signature
// leaves the process. So:
//   - log before release: a signature is released only when its decision record (which contains it)
//     is durable;
//   - once only: a (chain, account, nonce) with a live (allowed, pending or approved) request refuses
//     a request with another digest ("nonce-already-signed"), checked in the same serial order as
//     every write, and enforced again by a UNIQUE index;
//   - idempotent retries: a request whose digest already has a live or final request row gets that
//     row's decision (and signature) back, without evaluating or debiting again;
//   - check-and-debit is atomic per request, and requests are judged in arrival order.
//
// A batch runs in stages, one function per job kind, each inside the batch's transaction: settle the
// due holds (expiries; releases whose quorum and delay are met and no pause covers), then each job in
// arrival order (a signing request: gather its inputs, judge with policy::judge_request, sign only with
// the policy::SigningPermit the judge returns, record), then the tree head. Every decision is made by
// the pure judge in policy/judge.hpp; this file gathers its inputs and applies its outputs.
//
// Callbacks run on the sequencer thread after the commit; they must be quick (post elsewhere).
//
// Thread safety: submit_* may be called from any thread.
#pragma once

#include <array>
#include <chrono>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/store/bridge_state.hpp"
#include "guard/store/decision_log.hpp"
#include "guard/store/sql_state_store.hpp"
#include "policy/approval.hpp"
#include "policy/bridge.hpp"
#include "policy/codec/intent.hpp"
#include "policy/codec/transaction.hpp"
#include "policy/document.hpp"
#include "policy/evaluate.hpp"
#include "policy/holds.hpp"
#include "policy/judge.hpp"
#include "policy/prices.hpp"
#include "signers/signer.hpp"

namespace txguard::service {

using policy::TimeMs;
using Signature = std::array<std::uint8_t, 65>;

/// What the guard is asked to sign. kBridgeRelease: a Safe transaction that releases a bridge
/// withdrawal, judged with its attestation and the source chain's deposit (policy/bridge.hpp) before
/// the policy's rules. kUnpause: a request to lift an emergency pause; nothing is signed, approvers
/// release it.
enum class SignKind { kSafe, kTransaction, kTypedData, kMessage, kBridgeRelease, kUnpause };
/// "safe", "transaction", "typed-data", "message", "bridge-release", "unpause"
std::string_view to_string(SignKind kind) noexcept;

/// The bridge part of a kBridgeRelease request: the claim, and what txguard's own endpoints observed
/// on the source chain (recorded in the request's payload, so a replay needs no RPC).
struct BridgeRelease {
  policy::ReleaseClaim claim;
  policy::SourceFacts source;
};

/// A decoded request, ready to be judged.
struct SigningRequest {
  SignKind kind = SignKind::kSafe;
  std::string requester;                        // the authenticated client
  codec::Intent intent;
  codec::Hash32 digest{};                       // what the guard signs
  std::optional<store::Claim> claim;            // once-only key (Safe: chain, Safe, nonce; EOA: chain, from, nonce)
  nlohmann::json payload;                       // the request as the guard read it (recorded)
  std::optional<codec::Transaction> transaction;  // kTransaction: to assemble the signed transaction
  std::optional<BridgeRelease> bridge;            // kBridgeRelease
  std::string unpause_scope;                      // kUnpause: a route name or "*"
};

/// The state of a request in the pipeline's answer.
enum class Status {
  kAllowed,      // signed (signature set)
  kDenied,
  kPending,      // held, waiting for approvals
  kApproved,     // held, approved, signed (signature set)
  kRejected,
  kExpired,
  kUnavailable,  // the state or the signer failed: nothing signed; retry later (503)
  kDeferred,     // a bridge release whose source chain could not be confirmed yet: nothing signed,
                 // nothing recorded as taken; ask again later
};
std::string_view to_string(Status status) noexcept;

struct Outcome {
  Status status = Status::kUnavailable;
  std::string decision_id;
  nlohmann::json decision;                    // the decision JSON (with "id")
  std::optional<Signature> signature;
  std::optional<std::string> signed_transaction;  // kTransaction: the signed raw transaction (0x hex)
  nlohmann::json hold;                        // held requests: requirements, approvals, status
  bool replayed = false;                      // answered from the log (a retry)
  std::string error;                          // kUnavailable: why (no secrets)
  std::vector<std::string> reason_codes;      // the decision's reason codes, in order
  std::string rule;
};

/// The result of an approve/reject submission.
struct ApprovalOutcome {
  enum class Code { kAccepted, kNotFound, kNotPending, kRefused, kUnavailable } code = Code::kUnavailable;
  std::string error;    // kRefused: the ApprovalErrc name and detail; kNotPending: the status
  Outcome request;      // the request after the approval (status pending/approved/rejected/...)
};

struct PipelineOptions {
  std::string database;                  // SQLite file or postgresql:// URL (state + decision log)
  std::string database_password;         // PostgreSQL password ("" : libpq's own sources); never logged
  std::size_t max_batch = 1024;          // jobs per transaction
  /// How long a batch waits for the database write lock before its jobs answer "unavailable".
  std::chrono::milliseconds lock_timeout{2000};
  std::function<TimeMs()> clock;         // default: the system clock
  /// The dedicated log key that signs tree heads. Without one no head is signed (replay only: the
  /// service refuses to start without a log key).
  std::shared_ptr<const signers::Signer> log_signer;
  /// A tree head is signed at the end of the first batch after which the log has grown by at least
  /// head_every_records since the last head, or when it has grown and head_every has passed (the
  /// sequencer wakes up for it), and at stop().
  std::uint64_t head_every_records = 1000;
  std::chrono::milliseconds head_every{60'000};
  /// false: no sequencer thread; the caller runs batches with run_batch() (replay).
  bool sequencer = true;
  /// false: the database does not sync its commits (SQLite synchronous=OFF, PostgreSQL
  /// synchronous_commit=off): a scratch database for replay.
  bool durable = true;
  /// Jobs waiting for the sequencer. A signing request, evaluation or approval that arrives when
  /// max_queue are waiting is answered at once with kUnavailable ("the sequencer queue is full"),
  /// nothing signed; a single refusal record is queued only while fewer than max_queue / 2 wait (so
  /// refusals never take the room of signing requests; record_refusal says when it was not queued).
  /// Pauses (the emergency brake) and refusal summaries are always queued.
  std::size_t max_queue = 10'000;
};

/// The documents a policy set is built from, as they were read: the decision log stores them so that
/// an export is self-contained and a replay judges with exactly these bytes.
struct PolicySources {
  std::string policy;                         // the policy file's text
  std::map<std::string, std::string> files;   // every file the policy read (lists), by its path as written
  std::optional<std::string> prices;          // the price table's text, when there is one
};

/// The policy and its inputs; swapped as a whole. A shadow policy is evaluated beside the policy for
/// every signing request, against the same state, and recorded in the decision; it never decides.
struct PolicySet {
  policy::Policy policy;
  policy::PriceTable prices;
  PolicySources sources;
  std::optional<policy::Policy> shadow;
  policy::PriceTable shadow_prices;
  std::optional<PolicySources> shadow_sources;
};

/// Builds a policy set from its documents (list paths resolve through `files`). Fails with one line
/// per problem ("policy: $.rules[0]...: ...", "shadow prices: ...").
std::expected<PolicySet, std::vector<std::string>> build_policy_set(PolicySources sources,
                                                                    std::optional<PolicySources> shadow);

class Pipeline {
 public:
  /// Opens the database (state store + decision log tables) and starts the sequencer.
  static std::expected<std::unique_ptr<Pipeline>, std::string> start(const PipelineOptions& options,
                                                                    std::shared_ptr<const PolicySet> policy,
                                                                    std::shared_ptr<const signers::Signer> signer);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  using Done = std::function<void(Outcome)>;
  using ApprovalDone = std::function<void(ApprovalOutcome)>;

  /// Judges, and when allowed signs, a request (see the file comment).
  void sign(SigningRequest request, Done done);
  /// Judges a request against the current state without effects, without signing or recording.
  void evaluate(SigningRequest request, Done done);
  /// An approver's verdict on a held request: `signature` over policy::approval_digest(request
  /// digest, decision id, verdict).
  /// `by` is the authenticated client that submitted it: the approval counts only when that client
  /// is bound to the approver whose key signed it and is not the requester (policy::check_submitter).
  /// While a pause covers the request, the approval is recorded but the release waits for the unpause.
  void approve(std::string decision_id, policy::ApprovalVerdict verdict, codec::Bytes signature,
               policy::Submitter by, ApprovalDone done);
  /// Records a refused request (authentication, role, rate) in the log. Fire and forget. Returns
  /// false when it was not queued (the queue is at max_queue / 2, or the pipeline stopped): the
  /// caller must account for it another way (the service counts it into a summary). `summary`: a
  /// record that stands for many refusals ("refusals-suppressed"); it is queued whatever the queue
  /// holds (the service writes at most one per address per interval).
  bool record_refusal(nlohmann::json refusal, bool summary = false);
  /// Pauses bridge releases of `scope` (a route name, or "*": every signing request) at once: the
  /// pause is committed (and logged) before `done` is called. `done` gets the pauses in force, or an
  /// error (no secret in it).
  using PauseDone = std::function<void(std::expected<nlohmann::json, std::string>)>;
  void pause(std::string scope, std::string by, std::string reason, PauseDone done);
  /// The pauses in force and the supply totals (a read on its own connection).
  std::expected<nlohmann::json, std::string> bridge_status();

  /// Stops taking jobs, finishes the queued ones (committing them), signs a last tree head, joins
  /// the sequencer.
  void stop();

  struct SignJob {
    SigningRequest request;
    bool evaluate_only = false;
    Done done;
    std::string id;  // the decision id to use (replay); empty: a new one
  };
  struct ApproveJob {
    std::string decision_id;
    policy::ApprovalVerdict verdict;
    codec::Bytes signature;
    ApprovalDone done;
    /// Who submitted it. Replay of a log written before clients were bound to approvers has none: the
    /// recorded approval was accepted then, and only its signature is checked again.
    std::optional<policy::Submitter> by;
  };
  struct RefusalJob {
    nlohmann::json refusal;
    std::string id;  // the record id to use (replay); empty: a new one
  };
  struct PauseJob {
    std::string scope;
    std::string by;
    std::string reason;
    PauseDone done;
    std::string id;  // the record id to use (replay); empty: a new one
  };
  using Job = std::variant<SignJob, ApproveJob, RefusalJob, PauseJob>;
  /// Runs `jobs` as one batch at `now` on the caller's thread, exactly as the sequencer would (hold
  /// expiry first, then the jobs in order, one transaction), and calls their callbacks. Only for a
  /// pipeline started with sequencer = false (replay). Returns false when the batch did not commit.
  bool run_batch(std::vector<Job>& jobs, TimeMs now);
  /// Signs a tree head now if the log grew since the last one (used by stop(); replay never signs).
  void sign_head_now();
  /// Replaces the policy set and stores its documents. Only for a pipeline started with
  /// sequencer = false (replay: each group of records is judged by the set it names).
  policy::StateResult<void> set_policy(std::shared_ptr<const PolicySet> set);

  /// SHA-256 of the policy-set document the decisions refer to ("policy_set" in each record).
  const codec::Hash32& policy_set_hash() const noexcept { return policy_set_hash_; }

  const PolicySet& policy() const noexcept { return *policy_; }
  const signers::Signer& signer() const noexcept { return *signer_; }
  /// Pending holds right now (after the last commit).
  std::int64_t pending_holds() const noexcept { return pending_.load(); }
  /// Whether the last batch failed because the database was unavailable (cleared by the next commit).
  bool database_failed() const noexcept { return database_failed_.load(); }
  /// Batches committed and jobs processed (for metrics).
  std::uint64_t batches() const noexcept { return batches_.load(); }
  /// Where the sequencer's time went, in seconds since start, by stage: "settle" (due holds), "gather"
  /// (reads a signing request's decision needs), "judge" (policy::judge_request), "sign", "record" (the
  /// decision record and rows), "other" (approvals, pauses, refusals, tree heads) and "commit" (the
  /// batch's COMMIT and fsync). For /metrics and the benchmark.
  std::vector<std::pair<std::string, double>> stage_seconds() const;
  /// A read-only view of the decision log (its own connection).
  store::DecisionLogReader& reader() noexcept { return *reader_; }
  /// The outcome of a stored request row (GET /v1/holds/{id}).
  static Outcome outcome_of(const store::RequestRow& row, bool replayed);

 private:
  Pipeline(PipelineOptions options, std::shared_ptr<const PolicySet> policy,
           std::shared_ptr<const signers::Signer> signer);
  /// Queues a job unless `bound` (default: options_.max_queue) jobs are waiting or the pipeline
  /// stopped; then answers it at once (nothing signed) and returns false.
  bool enqueue(Job job, std::optional<std::size_t> bound = std::nullopt);
  void run();
  /// One batch in one write transaction. `clock_under_lock`: the batch's time is the clock read once
  /// the lock is held (the sequencer), else exactly `now` (run_batch: replay's recorded times).
  bool process(std::vector<Job>& jobs, TimeMs now, bool force_head, bool clock_under_lock);
  // The stages of a batch, one per job kind, each run inside the batch's transaction (process()).
  std::string next_id();
  policy::StateResult<policy::Effects> settle_due_holds(TimeMs now, std::int64_t& settled);
  policy::StateResult<policy::Effects> sign_step(SignJob& signing, const PolicySet& ps, const policy::StateView& view,
                                                 TimeMs now, Outcome& out, std::int64_t& pending_delta);
  policy::StateResult<policy::Effects> approve_step(ApproveJob& job, const PolicySet& ps, TimeMs now,
                                                    ApprovalOutcome& res, std::int64_t& pending_delta);
  policy::StateResult<policy::Effects> pause_step(PauseJob& job, TimeMs now);
  policy::StateResult<policy::Effects> refusal_step(RefusalJob& job, TimeMs now);
  policy::StateResult<policy::Effects> head_step(TimeMs now, bool force_head, std::optional<store::TreeHead>& new_head);
  policy::StateResult<void> store_documents();
  policy::StateResult<void> release_hold(store::RequestRow& row, const policy::SigningPermit& permit,
                                         const nlohmann::json& reservations, TimeMs now, policy::Effects& effects);

  PipelineOptions options_;
  std::shared_ptr<const PolicySet> policy_;
  std::shared_ptr<const signers::Signer> signer_;
  std::unique_ptr<store::SqlStateStore> store_;
  std::unique_ptr<store::DecisionLogWriter> writer_;
  std::unique_ptr<store::DecisionLogReader> reader_;
  std::unique_ptr<store::BridgeStateStore> bridge_;         // on the writer's connection
  std::unique_ptr<store::BridgeStateStore> bridge_reader_;  // its own read-only connection
  std::mutex bridge_reader_mutex_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread thread_;
  enum Stage : std::size_t { kSettle, kGather, kJudge, kSign, kRecord, kOther, kCommit, kStageCount };
  std::array<std::atomic<std::uint64_t>, kStageCount> stage_ns_{};
  void add_stage_time(Stage stage, std::chrono::steady_clock::duration d) noexcept;
  std::atomic<std::int64_t> pending_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<bool> database_failed_{false};
  std::uint64_t sequence_ = 0;   // decision ids: <random prefix>-<sequence>
  std::string id_prefix_;
  codec::Hash32 policy_set_hash_{};
  std::optional<store::TreeHead> last_head_;  // the sequencer's (or run_batch caller's) own
  TimeMs last_head_at_ = 0;
  bool stopped_ = false;
};

}  // namespace txguard::service

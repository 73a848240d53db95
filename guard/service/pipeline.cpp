#include "guard/service/pipeline.hpp"

#include <chrono>
#include <random>

#include "policy/codec/address.hpp"
#include "policy/codec/u256.hpp"
#include "policy/units.hpp"

namespace txguard::service {

namespace {

using nlohmann::json;
using policy::StateErrc;
using policy::StateError;
using policy::StateResult;

// The reason a request is refused when its (chain, account, nonce) already has another digest.
constexpr std::string_view kNonceAlreadySigned = "nonce-already-signed";

TimeMs system_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string hex_of(codec::ByteView bytes) { return codec::to_hex(bytes); }

Status status_of(store::RequestStatus s) {
  switch (s) {
    case store::RequestStatus::kAllowed: return Status::kAllowed;
    case store::RequestStatus::kPending: return Status::kPending;
    case store::RequestStatus::kApproved: return Status::kApproved;
    case store::RequestStatus::kRejected: return Status::kRejected;
    case store::RequestStatus::kExpired: return Status::kExpired;
  }
  return Status::kUnavailable;
}

std::vector<std::string> reason_codes_of(const json& decision) {
  std::vector<std::string> out;
  if (decision.contains("reasons")) {
    for (const auto& r : decision.at("reasons")) out.push_back(r.value("code", ""));
  }
  return out;
}

// Hold requirements and reservations, as stored with a held request.
json hold_record(const policy::Decision& d) {
  json requirements = json::array();
  for (const auto& h : d.holds) {
    requirements.push_back({{"rule", h.rule},
                            {"approvers", h.approvers},
                            {"quorum", h.quorum},
                            {"not_before_ms", h.not_before_ms},
                            {"expires_at_ms", h.expires_at_ms},
                            {"reject_denies", h.reject_denies}});
  }
  json reservations = json::array();
  for (const auto& e : d.effects) {
    if (const auto* r = std::get_if<policy::Reserve>(&e)) reservations.push_back(r->id);
  }
  return {{"requirements", requirements}, {"reservations", reservations}};
}

std::vector<policy::HoldRequirement> requirements_of(const json& hold) {
  std::vector<policy::HoldRequirement> out;
  for (const auto& r : hold.at("requirements")) {
    policy::HoldRequirement h;
    h.rule = r.at("rule").get<std::string>();
    h.approvers = r.at("approvers").get<std::vector<std::string>>();
    h.quorum = r.at("quorum").get<std::size_t>();
    h.not_before_ms = r.at("not_before_ms").get<TimeMs>();
    h.expires_at_ms = r.at("expires_at_ms").get<TimeMs>();
    h.reject_denies = r.at("reject_denies").get<bool>();
    out.push_back(std::move(h));
  }
  return out;
}

json approval_json(const policy::Approval& a) {
  return {{"approver", a.approver},
          {"verdict", to_string(a.verdict)},
          {"signature", hex_of(a.signature)},
          {"at_ms", a.at_ms}};
}

std::vector<policy::Approval> approvals_of(const json& list) {
  std::vector<policy::Approval> out;
  for (const auto& a : list) {
    policy::Approval x;
    x.approver = a.at("approver").get<std::string>();
    x.verdict = a.at("verdict").get<std::string>() == "approve" ? policy::ApprovalVerdict::kApprove
                                                                : policy::ApprovalVerdict::kReject;
    auto sig = codec::from_hex(a.at("signature").get<std::string>());
    if (sig) x.signature = std::move(*sig);
    x.at_ms = a.at("at_ms").get<std::int64_t>();
    out.push_back(std::move(x));
  }
  return out;
}

// The signed transaction (0x hex) for a transaction request and a 65-byte r||s||v (v 27/28).
std::string signed_transaction(codec::Transaction txn, const Signature& sig) {
  codec::TxnSignature s;
  std::copy(sig.begin(), sig.begin() + 32, s.r.begin());
  std::copy(sig.begin() + 32, sig.begin() + 64, s.s.begin());
  s.y_parity = static_cast<std::uint8_t>(sig[64] - 27);
  txn.signature = s;
  return hex_of(codec::encode_transaction(txn));
}

StateError signer_failure(const signers::SignerError& e) {
  return StateError{StateErrc::kIo, "signer " + e.message()};
}

}  // namespace

std::string_view to_string(SignKind kind) noexcept {
  switch (kind) {
    case SignKind::kSafe: return "safe";
    case SignKind::kTransaction: return "transaction";
    case SignKind::kTypedData: return "typed-data";
    case SignKind::kMessage: return "message";
  }
  return "unknown";
}

std::string_view to_string(Status status) noexcept {
  switch (status) {
    case Status::kAllowed: return "allowed";
    case Status::kDenied: return "denied";
    case Status::kPending: return "pending";
    case Status::kApproved: return "approved";
    case Status::kRejected: return "rejected";
    case Status::kExpired: return "expired";
    case Status::kUnavailable: return "unavailable";
  }
  return "unknown";
}

Outcome Pipeline::outcome_of(const store::RequestRow& row, bool replayed) {
  Outcome out;
  out.status = status_of(row.status);
  out.decision_id = row.decision_id;
  out.decision = json::parse(row.decision, nullptr, false);
  out.reason_codes = reason_codes_of(out.decision);
  out.rule = out.decision.is_object() && out.decision.at("rule").is_string() ? out.decision.at("rule").get<std::string>()
                                                                             : std::string();
  out.replayed = replayed;
  if (row.signature && row.signature->size() == 65) {
    Signature sig{};
    std::copy(row.signature->begin(), row.signature->end(), sig.begin());
    out.signature = sig;
  }
  if (!row.payload.empty()) {
    const json payload = json::parse(row.payload, nullptr, false);
    if (payload.is_object() && payload.contains("signed_transaction")) {
      out.signed_transaction = payload.at("signed_transaction").get<std::string>();
    }
  }
  if (!row.holds.empty()) {
    json hold = json::parse(row.holds, nullptr, false);
    json approvals = json::parse(row.approvals.empty() ? "[]" : row.approvals, nullptr, false);
    json summary = json::array();
    for (const auto& a : approvals) summary.push_back({{"approver", a.value("approver", "")},
                                                       {"verdict", a.value("verdict", "")},
                                                       {"at_ms", a.value("at_ms", std::int64_t{0})}});
    // The summary of every requirement: who may approve, the largest quorum, the earliest expiry.
    json requirements = hold.value("requirements", json::array());
    std::vector<std::string> approvers;
    std::size_t quorum = 0;
    for (const auto& r : requirements) {
      quorum = std::max(quorum, r.value("quorum", std::size_t{0}));
      for (const auto& a : r.value("approvers", json::array())) {
        if (std::find(approvers.begin(), approvers.end(), a.get<std::string>()) == approvers.end()) {
          approvers.push_back(a.get<std::string>());
        }
      }
    }
    out.hold = {{"id", row.decision_id},
                {"status", to_string(row.status)},
                {"requester", row.requester},
                {"quorum", quorum},
                {"approvers", approvers},
                {"expires_at", policy::format_time(row.expires_ms)},
                {"requirements", requirements},
                {"approvals", summary},
                {"expires_at_ms", row.expires_ms},
                {"request_hash", hex_of(row.request_key)}};
  }
  return out;
}

Pipeline::Pipeline(PipelineOptions options, std::shared_ptr<const PolicySet> policy,
                   std::shared_ptr<const signers::Signer> signer)
    : options_(std::move(options)), policy_(std::move(policy)), signer_(std::move(signer)) {
  if (!options_.clock) options_.clock = system_now;
  std::random_device rd;
  char prefix[24];
  std::snprintf(prefix, sizeof prefix, "%08x%08x", rd(), rd());
  id_prefix_ = prefix;
}

std::expected<std::unique_ptr<Pipeline>, std::string> Pipeline::start(const PipelineOptions& options,
                                                                       std::shared_ptr<const PolicySet> policy,
                                                                       std::shared_ptr<const signers::Signer> signer) {
  std::unique_ptr<Pipeline> p(new Pipeline(options, std::move(policy), std::move(signer)));
  store::SqliteOptions sqlite_options;
  sqlite_options.lock_timeout = options.lock_timeout;
  auto store = store::SqliteStateStore::open(options.database, sqlite_options);
  if (!store) return std::unexpected("database " + options.database + ": " + store.error().message());
  p->store_ = std::move(*store);
  // The decision log tables live in the same file; install them in a transaction of the store's own
  // connection (the writer keeps that connection for every batch).
  auto installed = p->store_->transact([](const policy::StateView&) { return StateResult<policy::Effects>{}; },
                                       [&](store::Tx& tx) -> StateResult<void> {
                                         auto& sqlite_tx = static_cast<store::SqliteTx&>(tx);
                                         p->writer_ = std::make_unique<store::DecisionLogWriter>(sqlite_tx.db());
                                         return p->writer_->install();
                                       });
  if (!installed) return std::unexpected("database " + options.database + ": " + installed.error().message());
  auto reader = store::DecisionLogReader::open(options.database);
  if (!reader) return std::unexpected("database " + options.database + ": " + reader.error().message());
  p->reader_ = std::move(*reader);
  auto pending = p->reader_->requests(store::RequestStatus::kPending, 1'000'000);
  if (pending) p->pending_ = static_cast<std::int64_t>(pending->size());
  p->thread_ = std::thread([raw = p.get()] { raw->run(); });
  return p;
}

Pipeline::~Pipeline() { stop(); }

void Pipeline::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Pipeline::enqueue(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(job));
      wake_.notify_one();
      return;
    }
  }
  // Stopped: answer at once, nothing signed.
  std::visit(
      [](auto& j) {
        using T = std::decay_t<decltype(j)>;
        if constexpr (std::is_same_v<T, SignJob>) {
          Outcome o;
          o.error = "shutting down";
          j.done(std::move(o));
        } else if constexpr (std::is_same_v<T, ApproveJob>) {
          ApprovalOutcome o;
          o.error = "shutting down";
          j.done(std::move(o));
        }
      },
      job);
}

void Pipeline::sign(SigningRequest request, Done done) { enqueue(SignJob{std::move(request), false, std::move(done)}); }

void Pipeline::evaluate(SigningRequest request, Done done) {
  enqueue(SignJob{std::move(request), true, std::move(done)});
}

void Pipeline::approve(std::string decision_id, policy::ApprovalVerdict verdict, codec::Bytes signature,
                       ApprovalDone done) {
  enqueue(ApproveJob{std::move(decision_id), verdict, std::move(signature), std::move(done)});
}

void Pipeline::record_refusal(json refusal) { enqueue(RefusalJob{std::move(refusal)}); }

void Pipeline::run() {
  std::vector<Job> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    process(batch);
    batch.clear();
  }
}

void Pipeline::process(std::vector<Job>& jobs) {
  const TimeMs now = options_.clock();
  const std::shared_ptr<const PolicySet> snapshot = policy_;
  const PolicySet& ps = *snapshot;
  store::DecisionLogWriter& w = *writer_;
  using Step = store::StateStore::Step;
  std::vector<Step> steps;
  steps.reserve(jobs.size() + 1);
  std::vector<Outcome> outcomes(jobs.size());
  std::vector<ApprovalOutcome> approvals(jobs.size());
  std::int64_t pending_delta = 0;
  std::vector<std::int64_t> pending_deltas(jobs.size(), 0);

  const auto next_id = [this] { return id_prefix_ + "-" + std::to_string(++sequence_); };

  // Holds whose time ran out expire before anything is judged: their reservations stop counting.
  std::int64_t expired_count = 0;
  steps.push_back(Step{[&](const policy::StateView&, store::Tx&) -> StateResult<policy::Effects> {
                         auto due = w.due(now);
                         if (!due) return std::unexpected(due.error());
                         policy::Effects effects;
                         for (auto& row : *due) {
                           row.status = store::RequestStatus::kExpired;
                           const json hold = json::parse(row.holds, nullptr, false);
                           if (hold.is_object()) {
                             for (const auto& id : hold.value("reservations", json::array())) {
                               effects.push_back(policy::ReleaseReservation{id.get<std::string>(), now});
                             }
                           }
                           row.decision.clear();  // read back from its log record
                           if (auto ok = w.put(row); !ok) return std::unexpected(ok.error());
                           const json record = {{"kind", "expiry"}, {"decision_id", row.decision_id}, {"at_ms", now}};
                           if (auto ok = w.append("expiry", row.decision_id + "/expiry", now, record.dump()); !ok) {
                             return std::unexpected(ok.error());
                           }
                           ++expired_count;
                         }
                         return effects;
                       },
                       {}});

  for (std::size_t i = 0; i < jobs.size(); ++i) {
    Outcome& out = outcomes[i];
    if (auto* job = std::get_if<SignJob>(&jobs[i])) {
      steps.push_back(Step{[&, job, i](const policy::StateView& view, store::Tx&) -> StateResult<policy::Effects> {
                             const SigningRequest& req = job->request;
                             if (!job->evaluate_only) {
                               // A retry: the same digest already decided (and not since expired).
                               auto existing = w.find_by_key(req.digest);
                               if (!existing) return std::unexpected(existing.error());
                               if (*existing && (*existing)->status != store::RequestStatus::kExpired) {
                                 out = outcome_of(**existing, true);
                                 return policy::Effects{};
                               }
                             }
                             const std::string id = next_id();
                             policy::Decision decision;
                             std::optional<policy::Decision> judged;
                             std::optional<store::RequestRow> holder;
                             if (req.claim) {
                               auto h = w.find_claim(*req.claim);
                               if (!h) return std::unexpected(h.error());
                               holder = std::move(*h);
                             }
                             if (holder) {
                               // Once only: never a second digest for one (chain, account, nonce).
                               decision.verdict = policy::Verdict::kDeny;
                               decision.decision_id = id;
                               decision.requester = req.requester;
                               decision.at_ms = now;
                               decision.policy_name = ps.policy.name;
                               decision.policy_hash = ps.policy.hash;
                               decision.reasons.push_back(policy::Reason{
                                   std::string(kNonceAlreadySigned),
                                   "nonce " + req.claim->nonce + " of " + req.claim->account + " on chain " +
                                       req.claim->chain + " is already taken by request " + holder->decision_id +
                                       " (" + std::string(store::to_string(holder->status)) + ") with another hash",
                                   std::nullopt, {}, std::nullopt});
                             } else {
                               const policy::EvalInput input{&req.intent, req.requester, now, id};
                               auto d = policy::evaluate(ps.policy, input, ps.prices, view);
                               if (!d) return std::unexpected(d.error());
                               decision = std::move(*d);
                             }
                             json decision_json = policy::to_json(decision);
                             decision_json["id"] = id;
                             out.decision_id = id;
                             out.decision = decision_json;
                             out.reason_codes = reason_codes_of(decision_json);
                             out.rule = decision.rule;
                             out.status = decision.verdict == policy::Verdict::kAllow  ? Status::kAllowed
                                          : decision.verdict == policy::Verdict::kHold ? Status::kPending
                                                                                       : Status::kDenied;
                             if (job->evaluate_only) return policy::Effects{};

                             json record = {{"kind", "decision"},
                                            {"id", id},
                                            {"at_ms", now},
                                            {"requester", req.requester},
                                            {"request", {{"kind", to_string(req.kind)},
                                                         {"digest", hex_of(req.digest)},
                                                         {"payload", req.payload}}},
                                            {"decision", decision_json}};
                             store::RequestRow row;
                             row.decision_id = id;
                             row.request_key = req.digest;
                             row.kind = std::string(to_string(req.kind));
                             row.requester = req.requester;
                             row.at_ms = now;
                             // The decision text lives in the log record; the row reads it from there.
                             row.decision.clear();
                             row.claim = req.claim;
                             json payload = {{"request", req.payload}};
                             if (decision.verdict == policy::Verdict::kAllow) {
                               auto sig = signer_->sign_digest(req.digest);
                               if (!sig) return std::unexpected(signer_failure(sig.error()));
                               out.signature = *sig;
                               record["signature"] = hex_of(*sig);
                               row.signature = codec::Bytes(sig->begin(), sig->end());
                               row.status = store::RequestStatus::kAllowed;
                               if (req.transaction) {
                                 out.signed_transaction = signed_transaction(*req.transaction, *sig);
                                 payload["signed_transaction"] = *out.signed_transaction;
                                 record["signed_transaction"] = *out.signed_transaction;
                               }
                             } else if (decision.verdict == policy::Verdict::kHold) {
                               row.status = store::RequestStatus::kPending;
                               const json hold = hold_record(decision);
                               row.holds = hold.dump();
                               row.approvals = "[]";
                               TimeMs expires = std::numeric_limits<TimeMs>::max();
                               for (const auto& h : decision.holds) expires = std::min(expires, h.expires_at_ms);
                               row.expires_ms = expires;
                               record["hold"] = hold;
                             }
                             row.payload = payload.dump();
                             if (auto ok = w.append("decision", id, now, record.dump()); !ok) {
                               return std::unexpected(ok.error());
                             }
                             if (decision.verdict != policy::Verdict::kDeny) {
                               if (auto ok = w.put(row); !ok) return std::unexpected(ok.error());
                               if (decision.verdict == policy::Verdict::kHold) {
                                 out = outcome_of(row, false);
                                 out.decision = decision_json;
                                 out.reason_codes = reason_codes_of(decision_json);
                                 out.rule = decision.rule;
                                 pending_deltas[i] = 1;
                               }
                             }
                             return decision.effects;
                           },
                           {}});
    } else if (auto* approval = std::get_if<ApproveJob>(&jobs[i])) {
      ApprovalOutcome& res = approvals[i];
      steps.push_back(Step{[&, approval, i](const policy::StateView&, store::Tx&) -> StateResult<policy::Effects> {
                             auto found = w.find(approval->decision_id);
                             if (!found) return std::unexpected(found.error());
                             if (!*found || (*found)->holds.empty()) {
                               res.code = ApprovalOutcome::Code::kNotFound;
                               return policy::Effects{};
                             }
                             store::RequestRow row = std::move(**found);
                             if (row.status != store::RequestStatus::kPending) {
                               res.code = ApprovalOutcome::Code::kNotPending;
                               res.error = "the request is " + std::string(store::to_string(row.status));
                               res.request = outcome_of(row, true);
                               return policy::Effects{};
                             }
                             const json hold = json::parse(row.holds);
                             const auto requirements = requirements_of(hold);
                             std::vector<policy::Approval> already = approvals_of(json::parse(row.approvals));
                             std::vector<policy::Approver> eligible;
                             for (const auto& name : policy::eligible_approvers(requirements)) {
                               for (const auto& a : ps.policy.approvers) {
                                 if (a.name == name) eligible.push_back(policy::Approver{a.name, a.address});
                               }
                             }
                             auto accepted = policy::verify_approval(row.request_key, row.decision_id, approval->verdict,
                                                                     approval->signature, eligible, row.requester,
                                                                     already, now);
                             if (!accepted) {
                               res.code = ApprovalOutcome::Code::kRefused;
                               res.error = accepted.error().message();
                               res.request = outcome_of(row, true);
                               return policy::Effects{};
                             }
                             already.push_back(*accepted);
                             json list = json::array();
                             for (const auto& a : already) list.push_back(approval_json(a));
                             row.approvals = list.dump();
                             const json approval_record = {{"kind", "approval"},
                                                           {"decision_id", row.decision_id},
                                                           {"at_ms", now},
                                                           {"approval", approval_json(*accepted)},
                                                           {"request_hash", hex_of(row.request_key)}};
                             if (auto ok = w.append("approval", row.decision_id + "/approval/" + accepted->approver, now,
                                                    approval_record.dump());
                                 !ok) {
                               return std::unexpected(ok.error());
                             }
                             const policy::HoldStatus status = policy::hold_status(requirements, already, now);
                             policy::Effects effects;
                             const auto reservations = hold.value("reservations", json::array());
                             if (status.state == policy::HoldState::kApproved) {
                               auto sig = signer_->sign_digest(row.request_key);
                               if (!sig) return std::unexpected(signer_failure(sig.error()));
                               row.signature = codec::Bytes(sig->begin(), sig->end());
                               row.status = store::RequestStatus::kApproved;
                               json payload = json::parse(row.payload, nullptr, false);
                               json release = {{"kind", "release"},
                                               {"decision_id", row.decision_id},
                                               {"at_ms", now},
                                               {"signature", hex_of(*sig)}};
                               if (payload.is_object() && payload.contains("request") &&
                                   payload.at("request").contains("transaction_hex")) {
                                 // An EOA transaction: assemble the signed raw transaction for the requester.
                                 auto raw = codec::from_hex(payload.at("request").at("transaction_hex").get<std::string>());
                                 if (raw) {
                                   auto txn = codec::decode_transaction(*raw);
                                   if (txn) {
                                     Signature s{};
                                     std::copy(sig->begin(), sig->end(), s.begin());
                                     payload["signed_transaction"] = signed_transaction(*txn, s);
                                     release["signed_transaction"] = payload["signed_transaction"];
                                     row.payload = payload.dump();
                                   }
                                 }
                               }
                               if (auto ok = w.append("release", row.decision_id + "/release", now, release.dump()); !ok) {
                                 return std::unexpected(ok.error());
                               }
                               for (const auto& id : reservations) effects.push_back(policy::CommitReservation{id.get<std::string>()});
                               pending_deltas[i] = -1;
                             } else if (status.state == policy::HoldState::kRejected ||
                                        status.state == policy::HoldState::kExpired) {
                               row.status = status.state == policy::HoldState::kRejected ? store::RequestStatus::kRejected
                                                                                         : store::RequestStatus::kExpired;
                               const json closing = {{"kind", "rejection"},
                                                     {"decision_id", row.decision_id},
                                                     {"at_ms", now},
                                                     {"state", to_string(status.state)},
                                                     {"why", status.why}};
                               if (auto ok = w.append("rejection", row.decision_id + "/closed", now, closing.dump()); !ok) {
                                 return std::unexpected(ok.error());
                               }
                               for (const auto& id : reservations) {
                                 effects.push_back(policy::ReleaseReservation{id.get<std::string>(), now});
                               }
                               pending_deltas[i] = -1;
                             }
                             const std::string decision_text = std::move(row.decision);
                             row.decision.clear();
                             if (auto ok = w.put(row); !ok) return std::unexpected(ok.error());
                             row.decision = decision_text;
                             res.code = ApprovalOutcome::Code::kAccepted;
                             res.request = outcome_of(row, false);
                             res.request.hold["why"] = status.why;
                             return effects;
                           },
                           {}});
    } else {
      auto* refusal = std::get_if<RefusalJob>(&jobs[i]);
      steps.push_back(Step{[&, refusal](const policy::StateView&, store::Tx&) -> StateResult<policy::Effects> {
                             const std::string id = next_id();
                             json record = refusal->refusal;
                             record["kind"] = "refusal";
                             record["id"] = id;
                             record["at_ms"] = now;
                             if (auto ok = w.append("refusal", id, now, record.dump()); !ok) {
                               return std::unexpected(ok.error());
                             }
                             return policy::Effects{};
                           },
                           {}});
    }
  }

  auto committed = store_->transact_batch(steps);
  if (committed) {
    batches_.fetch_add(1);
    if (steps[0].result) pending_delta -= expired_count;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (steps[i + 1].result) pending_delta += pending_deltas[i];
    }
    pending_ += pending_delta;
  }
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const StateResult<policy::Effects>& result = steps[i + 1].result;
    if (auto* job = std::get_if<SignJob>(&jobs[i])) {
      Outcome out = std::move(outcomes[i]);
      if (!result) {
        // Nothing of this request was committed: no signature leaves.
        out = Outcome{};
        out.status = Status::kUnavailable;
        out.error = result.error().message();
      }
      job->done(std::move(out));
    } else if (auto* approval = std::get_if<ApproveJob>(&jobs[i])) {
      ApprovalOutcome res = std::move(approvals[i]);
      if (!result) {
        res = ApprovalOutcome{};
        res.code = ApprovalOutcome::Code::kUnavailable;
        res.error = result.error().message();
      }
      approval->done(std::move(res));
    }
  }
}

}  // namespace txguard::service

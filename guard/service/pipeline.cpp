#include "guard/service/pipeline.hpp"

#include <chrono>
#include <limits>
#include <random>

#include "guard/store/schema.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/u256.hpp"
#include "policy/units.hpp"

namespace txguard::service {

namespace {

using nlohmann::json;
using policy::StateErrc;
using policy::StateError;
using policy::StateResult;


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

// The intent's hash: keccak256 of its canonical JSON (what the policy judged, in one value).
codec::Hash32 intent_hash(const codec::Intent& intent) {
  const std::string text = policy::canonical_json(codec::to_json(intent));
  return codec::keccak256(codec::ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

json pauses_json(const std::vector<store::BridgePause>& pauses) {
  json out = json::array();
  for (const auto& p : pauses) {
    out.push_back({{"scope", p.scope}, {"at_ms", p.at_ms}, {"at", policy::format_time(p.at_ms)}, {"by", p.by},
                   {"reason", p.reason}});
  }
  return out;
}

json supply_json(const std::vector<std::pair<std::pair<std::string, std::string>, store::BridgeSupply>>& supplies) {
  json out = json::array();
  for (const auto& [key, s] : supplies) {
    out.push_back({{"source_chain", key.first},
                   {"token", key.second},
                   {"deposited", codec::to_decimal(s.deposited)},
                   {"released", codec::to_decimal(s.released)}});
  }
  return out;
}

// The digest an unpause request is approved under: bound to the scope and to the very pause it lifts.
codec::Hash32 unpause_digest(const std::string& scope, TimeMs paused_at_ms) {
  const std::string text = "txguard unpause v1\n" + scope + "\n" + std::to_string(paused_at_ms);
  return codec::keccak256(codec::view(text));
}

std::vector<policy::PauseInForce> in_force(const std::vector<store::BridgePause>& pauses) {
  std::vector<policy::PauseInForce> out;
  for (const auto& p : pauses) out.push_back(policy::PauseInForce{p.scope, p.at_ms});
  return out;
}

// The bridge route of a held release (empty for any other request): a pause of that route covers it.
std::string route_of(const store::RequestRow& row) {
  if (row.kind != to_string(SignKind::kBridgeRelease)) return {};
  const json payload = json::parse(row.payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("request") || !payload.at("request").is_object()) return {};
  return payload.at("request").value("route", std::string());
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
    case SignKind::kBridgeRelease: return "bridge-release";
    case SignKind::kUnpause: return "unpause";
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
    case Status::kDeferred: return "deferred";
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

std::expected<PolicySet, std::vector<std::string>> build_policy_set(PolicySources sources,
                                                                    std::optional<PolicySources> shadow) {
  std::vector<std::string> problems;
  const auto load = [&problems](const PolicySources& src, const std::string& what, policy::Policy& policy_out,
                                policy::PriceTable& prices_out) {
    const policy::FileReader reader = [&src](const std::string& path) -> std::expected<std::string, std::string> {
      const auto it = src.files.find(path);
      if (it == src.files.end()) return std::unexpected(std::string("not among the files recorded with the policy"));
      return it->second;
    };
    auto loaded = policy::load_policy(src.policy, reader);
    if (!loaded) {
      for (const auto& problem : loaded.error()) problems.push_back(what + ": " + problem.message());
      return;
    }
    policy_out = std::move(*loaded);
    if (src.prices) {
      auto table = policy::parse_price_table(*src.prices);
      if (!table) {
        problems.push_back(what + " prices: " + table.error());
        return;
      }
      prices_out = std::move(*table);
    }
  };
  PolicySet set;
  load(sources, "policy", set.policy, set.prices);
  if (shadow) {
    set.shadow.emplace();
    load(*shadow, "shadow policy", *set.shadow, set.shadow_prices);
  }
  if (!problems.empty()) return std::unexpected(std::move(problems));
  set.sources = std::move(sources);
  set.shadow_sources = std::move(shadow);
  return set;
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
  store::DatabaseOptions database_options;
  database_options.lock_timeout = options.lock_timeout;
  database_options.durable = options.durable;
  database_options.password = options.database_password;
  const std::string named = "database " + store::redact_database(options.database) + ": ";
  // One schema version for the whole database: an empty one is created at the current version; an
  // older, newer or foreign one stops start-up here, naming what to run (guard/store/schema.hpp).
  store::DatabaseOptions schema_options = database_options;
  schema_options.check_integrity = false;  // the store's own connection checks, just below
  if (auto schema = store::ensure_current_schema(options.database, schema_options, p->options_.clock(),
                                                 "txguard db migrate --config FILE");
      !schema) {
    return std::unexpected(named + schema.error().message());
  }
  auto store = store::SqlStateStore::open(options.database, database_options);
  if (!store) return std::unexpected(named + store.error().message());
  p->store_ = std::move(*store);
  // The decision log and bridge tables live in the same database, created with it (schema.hpp); the
  // writer keeps the store's own connection for every batch.
  auto installed = p->store_->transact([](const policy::StateView&) { return StateResult<policy::Effects>{}; },
                                       [&](store::Tx& tx) -> StateResult<void> {
                                         p->writer_ = std::make_unique<store::DecisionLogWriter>(tx.connection());
                                         auto head = p->writer_->last_head();
                                         if (!head) return std::unexpected(head.error());
                                         p->last_head_ = *head;
                                         p->bridge_ = std::make_unique<store::BridgeStateStore>(tx.connection());
                                         return p->store_documents();
                                       });
  if (!installed) return std::unexpected(named + installed.error().message());
  p->last_head_at_ = p->last_head_ ? p->last_head_->at_ms : p->options_.clock();
  auto reader = store::DecisionLogReader::open(options.database, database_options);
  if (!reader) return std::unexpected(named + reader.error().message());
  p->reader_ = std::move(*reader);
  auto bridge_reader = store::BridgeStateStore::open_reader(options.database, database_options);
  if (!bridge_reader) return std::unexpected(named + bridge_reader.error().message());
  p->bridge_reader_ = std::move(*bridge_reader);
  auto pending = p->reader_->requests(store::RequestStatus::kPending, 1'000'000);
  if (pending) p->pending_ = static_cast<std::int64_t>(pending->size());
  if (options.sequencer) p->thread_ = std::thread([raw = p.get()] { raw->run(); });
  return p;
}

namespace {

// The policy-set document of one side (policy or shadow): the SHA-256 of each text it was built from.
StateResult<json> store_sources(store::DecisionLogWriter& w, const PolicySources& src) {
  auto policy_hash = w.put_document("policy", src.policy);
  if (!policy_hash) return std::unexpected(policy_hash.error());
  json files = json::object();
  for (const auto& [path, text] : src.files) {
    auto h = w.put_document("file", text);
    if (!h) return std::unexpected(h.error());
    files[path] = hex_of(*h);
  }
  json prices = nullptr;
  if (src.prices) {
    auto h = w.put_document("prices", *src.prices);
    if (!h) return std::unexpected(h.error());
    prices = hex_of(*h);
  }
  return json{{"policy", hex_of(*policy_hash)}, {"files", files}, {"prices", prices}};
}

}  // namespace

// Stores the documents the policy set was built from, and the policy-set document naming them; every
// decision record refers to that document's hash.
StateResult<void> Pipeline::store_documents() {
  auto main = store_sources(*writer_, policy_->sources);
  if (!main) return std::unexpected(main.error());
  json set = {{"format", 1}, {"policy", *main}, {"shadow", nullptr}};
  if (policy_->shadow_sources) {
    auto shadow = store_sources(*writer_, *policy_->shadow_sources);
    if (!shadow) return std::unexpected(shadow.error());
    set["shadow"] = *shadow;
  }
  auto hash = writer_->put_document("policy-set", set.dump());
  if (!hash) return std::unexpected(hash.error());
  policy_set_hash_ = *hash;
  return {};
}

Pipeline::~Pipeline() { stop(); }

void Pipeline::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    sign_head_now();
  } else if (!options_.sequencer && !stopped_) {
    sign_head_now();
  }
  stopped_ = true;
}

void Pipeline::sign_head_now() {
  if (!options_.log_signer || !writer_) return;
  std::vector<Job> none;
  process(none, options_.clock(), true, true);
}

bool Pipeline::run_batch(std::vector<Job>& jobs, TimeMs now) { return process(jobs, now, false, false); }

policy::StateResult<void> Pipeline::set_policy(std::shared_ptr<const PolicySet> set) {
  policy_ = std::move(set);
  auto stored = store_->transact([](const policy::StateView&) { return StateResult<policy::Effects>{}; },
                                 [this](store::Tx&) { return store_documents(); });
  if (!stored) return std::unexpected(stored.error());
  return {};
}

bool Pipeline::enqueue(Job job, std::optional<std::size_t> bound) {
  std::string why = "shutting down";
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      // Bounded, so that a flood costs a 503 instead of the memory of the process.
      if (queue_.size() < bound.value_or(options_.max_queue)) {
        queue_.push_back(std::move(job));
        wake_.notify_one();
        return true;
      }
      why = "the sequencer queue is full (" + std::to_string(queue_.size()) + " jobs waiting): retry later";
    }
  }
  // Stopped or full: answer at once, nothing signed.
  std::visit(
      [&why](auto& j) {
        using T = std::decay_t<decltype(j)>;
        if constexpr (std::is_same_v<T, SignJob>) {
          Outcome o;
          o.error = why;
          j.done(std::move(o));
        } else if constexpr (std::is_same_v<T, ApproveJob>) {
          ApprovalOutcome o;
          o.error = why;
          j.done(std::move(o));
        } else if constexpr (std::is_same_v<T, PauseJob>) {
          j.done(std::unexpected(why));
        }
      },
      job);
  return false;
}

void Pipeline::sign(SigningRequest request, Done done) { enqueue(SignJob{std::move(request), false, std::move(done), {}}); }

void Pipeline::evaluate(SigningRequest request, Done done) {
  enqueue(SignJob{std::move(request), true, std::move(done), {}});
}

void Pipeline::approve(std::string decision_id, policy::ApprovalVerdict verdict, codec::Bytes signature,
                       policy::Submitter by, ApprovalDone done) {
  enqueue(ApproveJob{std::move(decision_id), verdict, std::move(signature), std::move(done), std::move(by)});
}

bool Pipeline::record_refusal(json refusal, bool summary) {
  const std::size_t bound = summary ? std::numeric_limits<std::size_t>::max() : options_.max_queue / 2;
  return enqueue(RefusalJob{std::move(refusal), {}}, bound);
}

void Pipeline::pause(std::string scope, std::string by, std::string reason, PauseDone done) {
  // The emergency brake is never refused for a full queue.
  enqueue(PauseJob{std::move(scope), std::move(by), std::move(reason), std::move(done), {}},
          std::numeric_limits<std::size_t>::max());
}

std::expected<json, std::string> Pipeline::bridge_status() {
  std::lock_guard lock(bridge_reader_mutex_);
  auto pauses = bridge_reader_->pauses();
  if (!pauses) return std::unexpected(pauses.error().message());
  auto supplies = bridge_reader_->supplies();
  if (!supplies) return std::unexpected(supplies.error().message());
  return json{{"paused", pauses_json(*pauses)}, {"supply", supply_json(*supplies)}};
}

void Pipeline::run() {
  std::vector<Job> batch;
  for (;;) {
    bool woke = true;
    {
      std::unique_lock lock(mutex_);
      const auto ready = [&] { return stopping_ || !queue_.empty(); };
      if (options_.log_signer) {
        // Wake up at least every head interval: a quiet log still gets its tree head on time (and
        // held requests expire on time).
        woke = wake_.wait_for(lock, options_.head_every, ready);
      } else {
        wake_.wait(lock, ready);
      }
      if (queue_.empty() && stopping_) return;
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!batch.empty() || !woke) {
      // Nothing may end the sequencer (issue 13 item 2): a caller's callback that throws, or a bug
      // outside the batch's steps (those already turn exceptions into errors). Callers of this batch
      // not answered yet get the server's 503 at their response deadline.
      try {
        process(batch, options_.clock(), false, true);
      } catch (...) {
      }
    }
    batch.clear();
  }
}

// Signs a held request whose every quorum and delay is met, records the release and commits its
// reservations (`effects`). Runs inside the batch's transaction; the caller writes the row.
StateResult<void> Pipeline::release_hold(store::RequestRow& row, const policy::SigningPermit& permit,
                                         const json& reservations, TimeMs now, policy::Effects& effects) {
  auto sig = signer_->sign(permit);
  if (!sig) return std::unexpected(signer_failure(sig.error()));
  row.signature = codec::Bytes(sig->begin(), sig->end());
  row.status = store::RequestStatus::kApproved;
  json payload = json::parse(row.payload, nullptr, false);
  json release = {{"decision_id", row.decision_id},
                  {"signature", hex_of(*sig)},
                  {"signer", codec::to_checksum(signer_->address())}};
  if (payload.is_object() && payload.contains("request") && payload.at("request").contains("transaction_hex")) {
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
  if (auto ok = writer_->append("release", row.decision_id + "/release", now, std::move(release)); !ok) {
    return std::unexpected(ok.error());
  }
  for (const auto& id : reservations) effects.push_back(policy::CommitReservation{id.get<std::string>()});
  return {};
}

void Pipeline::add_stage_time(Stage stage, std::chrono::steady_clock::duration d) noexcept {
  stage_ns_[stage].fetch_add(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()),
                             std::memory_order_relaxed);
}

std::vector<std::pair<std::string, double>> Pipeline::stage_seconds() const {
  static constexpr const char* kNames[kStageCount] = {"settle", "gather", "judge", "sign", "record", "other", "commit"};
  std::vector<std::pair<std::string, double>> out;
  for (std::size_t i = 0; i < kStageCount; ++i) {
    out.emplace_back(kNames[i], static_cast<double>(stage_ns_[i].load(std::memory_order_relaxed)) / 1e9);
  }
  return out;
}

std::string Pipeline::next_id() { return id_prefix_ + "-" + std::to_string(++sequence_); }

// Holds whose time ran out expire before anything is judged (their reservations stop counting), and
// held requests whose every quorum and delay is met are released, unless a pause covers them.
// `settled` counts the requests no longer pending.
StateResult<policy::Effects> Pipeline::settle_due_holds(const TimeMs now, std::int64_t& settled) {
  store::DecisionLogWriter& w = *writer_;
  auto due = w.due(now);
  if (!due) return std::unexpected(due.error());
  policy::Effects effects;
  for (auto& row : *due) {
    row.status = store::RequestStatus::kExpired;
    if (row.kind == to_string(SignKind::kBridgeRelease)) {
      // The deposit was not released: its key is free again.
      if (auto ok = bridge_->drop_release(row.decision_id); !ok) return std::unexpected(ok.error());
    }
    const json hold = json::parse(row.holds, nullptr, false);
    if (hold.is_object()) {
      for (const auto& id : hold.value("reservations", json::array())) {
        effects.push_back(policy::ReleaseReservation{id.get<std::string>(), now});
      }
    }
    row.decision.clear();  // read back from its log record
    if (auto ok = w.put(row); !ok) return std::unexpected(ok.error());
    if (auto ok = w.append("expiry", row.decision_id + "/expiry", now, json{{"decision_id", row.decision_id}}); !ok) {
      return std::unexpected(ok.error());
    }
    ++settled;
  }
  // Holds whose every quorum is met and whose delay has now passed are released
  // (a hold by time alone, or approvals that came before the delay ended); the
  // requester's retry then gets the signature.
  if (pending_.load() > settled) {
    auto pending = w.pending();
    if (!pending) return std::unexpected(pending.error());
    // Nothing is released while a pause covers it: the release waits for the unpause.
    auto pauses = bridge_->pauses();
    if (!pauses) return std::unexpected(pauses.error());
    const auto pauses_in_force = in_force(*pauses);
    for (auto& row : *pending) {
      if (row.kind == to_string(SignKind::kUnpause)) continue;  // lifted by approvals only
      const json hold = json::parse(row.holds, nullptr, false);
      if (!hold.is_object()) continue;
      const policy::HoldRelease release =
          policy::judge_hold_release(requirements_of(hold), approvals_of(json::parse(row.approvals)), now,
                                     pauses_in_force, false, route_of(row), row.request_key);
      if (!release.permit) continue;
      auto released = release_hold(row, *release.permit, hold.value("reservations", json::array()), now, effects);
      if (!released) return std::unexpected(released.error());
      row.decision.clear();  // read back from its log record
      if (auto ok = w.put(row); !ok) return std::unexpected(ok.error());
      ++settled;  // no longer pending
    }
  }
  return effects;
}

// One signing request (or evaluation): gather, judge (policy::judge_request), sign on allow, record.
StateResult<policy::Effects> Pipeline::sign_step(SignJob& signing, const PolicySet& ps, const policy::StateView& view,
                                                 const TimeMs now, Outcome& out, std::int64_t& pending_delta) {
  store::DecisionLogWriter& w = *writer_;
  SignJob* job = &signing;
  SigningRequest& req = job->request;
  // Where this request's time goes (stage_seconds): gather, judge, sign, and the rest is the record.
  using Clock = std::chrono::steady_clock;
  struct Timing {
    Pipeline& pipeline;
    Clock::time_point started = Clock::now();
    Clock::duration gather{}, judge{}, sign{};
    ~Timing() {
      pipeline.add_stage_time(kGather, gather);
      pipeline.add_stage_time(kJudge, judge);
      pipeline.add_stage_time(kSign, sign);
      pipeline.add_stage_time(kRecord, Clock::now() - started - gather - judge - sign);
    }
  } timing{*this};
  // Emergency pauses in force (read in this transaction: a pause committed
  // before this batch stops it).
  auto pauses = bridge_->pauses();
  if (!pauses) return std::unexpected(pauses.error());
  const auto paused_at = [&](const std::string& scope) -> std::optional<TimeMs> {
    for (const auto& p : *pauses) {
      if (p.scope == scope) return p.at_ms;
    }
    return std::nullopt;
  };
  if (req.kind == SignKind::kUnpause) {
    // Bound to the pause it lifts: approvals of an earlier pause's unpause
    // cannot lift a later one.
    req.digest = unpause_digest(req.unpause_scope, paused_at(req.unpause_scope).value_or(0));
  }
  if (!job->evaluate_only) {
    // A retry: the same digest already decided (and not since expired).
    auto existing = w.find_by_key(req.digest);
    if (!existing) return std::unexpected(existing.error());
    // (An unpause whose request was rejected may be asked for again.)
    if (*existing && (*existing)->status != store::RequestStatus::kExpired &&
        !(req.kind == SignKind::kUnpause && (*existing)->status == store::RequestStatus::kRejected)) {
      out = outcome_of(**existing, true);
      return policy::Effects{};
    }
  }
  const std::string id = job->id.empty() ? next_id() : job->id;
  // Gather what the decision reads; judge_request decides.
  policy::RequestToJudge input;
  input.digest = req.digest;
  input.intent = &req.intent;
  input.requester = req.requester;
  input.now_ms = now;
  input.decision_id = id;
  input.evaluate_only = job->evaluate_only;
  for (const auto& p : *pauses) input.pauses.push_back(policy::PauseInForce{p.scope, p.at_ms});
  if (req.claim) {
    input.claim = policy::NonceClaim{req.claim->chain, req.claim->account, req.claim->nonce};
    auto h = w.find_claim(*req.claim);
    if (!h) return std::unexpected(h.error());
    if (*h) input.holder = policy::ClaimHolder{(*h)->decision_id, std::string(store::to_string((*h)->status))};
  }
  if (req.kind == SignKind::kUnpause) input.unpause_scope = req.unpause_scope;
  json bridge_state;
  if (req.bridge) {
    const policy::ReleaseClaim& claim = req.bridge->claim;
    const policy::RouteSpec& route = ps.policy.bridges.routes.at(claim.route);
    const policy::ReleaseKey key = policy::release_key(route, claim.attestation);
    policy::BridgeState& state = input.bridge_state;
    auto prior = bridge_->release(key.text);
    if (!prior) return std::unexpected(prior.error());
    if (*prior) state.prior = policy::BridgeState::Prior{(*prior)->digest, (*prior)->decision_id};
    std::string source_token;
    for (const auto& t : route.tokens) {
      const auto& asset = ps.policy.assets[t.asset];
      if (asset.address && *asset.address == claim.attestation.token) source_token = codec::to_checksum(t.source);
    }
    const std::string chain = codec::to_decimal(route.source_chain);
    auto supply = bridge_->supply(chain, source_token);
    if (!supply) return std::unexpected(supply.error());
    state.deposited = supply->deposited;
    state.released = supply->released;
    auto known = bridge_->deposit_known(key.text);
    if (!known) return std::unexpected(known.error());
    state.deposit_known = *known;
    input.release = &claim;
    input.source = &req.bridge->source;
    bridge_state = {
        {"route_paused", paused_at(route.name).has_value()},
        {"prior",
         *prior ? json{{"decision_id", (*prior)->decision_id}, {"digest", hex_of((*prior)->digest)}} : json(nullptr)},
        {"deposited", codec::to_decimal(state.deposited)},
        {"released", codec::to_decimal(state.released)},
        {"deposit_known", state.deposit_known}};
  }
  const auto judge_started = Clock::now();
  timing.gather = judge_started - timing.started;
  auto judged = policy::judge_request(ps.policy, ps.prices, input, view);
  timing.judge = Clock::now() - judge_started;
  if (!judged) return std::unexpected(judged.error());
  policy::Decision& decision = judged->decision;
  const std::optional<policy::BridgeJudgement>& judgement = judged->bridge;
  const bool deferred = judged->deferred;
  const bool evaluated = judged->rules_judged;
  json decision_json = policy::to_json(decision);
  decision_json["id"] = id;
  if (judgement) decision_json["bridge"] = policy::to_json(*judgement);
  out.decision_id = id;
  out.decision = decision_json;
  out.reason_codes = reason_codes_of(decision_json);
  out.rule = decision.rule;
  out.status = deferred                                      ? Status::kDeferred
               : decision.verdict == policy::Verdict::kAllow ? Status::kAllowed
               : decision.verdict == policy::Verdict::kHold  ? Status::kPending
                                                             : Status::kDenied;
  if (job->evaluate_only) return policy::Effects{};

  // What an auditor needs to judge it again: the request as read, what
  // it means (the intent's hash), which documents judged it, the state it
  // read and its effects (in the decision), and the shadow's verdict.
  json record = {{"requester", req.requester},
                 {"request", {{"kind", to_string(req.kind)}, {"digest", hex_of(req.digest)}, {"payload", req.payload}}},
                 {"intent_hash", hex_of(intent_hash(req.intent))},
                 {"policy_set", hex_of(policy_set_hash_)},
                 {"signer", codec::to_checksum(signer_->address())},
                 {"decision", decision_json}};
  if (judgement) record["bridge_state"] = bridge_state;
  if (ps.shadow && evaluated) {
    const policy::EvalInput shadow_input{&req.intent, req.requester, now, id};
    auto shadow = policy::evaluate(*ps.shadow, shadow_input, ps.shadow_prices, view);
    if (!shadow) return std::unexpected(shadow.error());
    record["shadow"] = policy::to_json(*shadow);
  }
  if (deferred) {
    // Recorded (with what the source showed), but nothing is taken: the
    // requester asks again once the source chain has confirmed.
    if (auto ok = w.append("decision", id, now, std::move(record)); !ok) {
      return std::unexpected(ok.error());
    }
    return policy::Effects{};
  }
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
    // Only the judge's permit reaches the co-signing key.
    if (!judged->permit) return std::unexpected(StateError{StateErrc::kIo, "an allowed decision without a permit"});
    const auto sign_started = Clock::now();
    auto sig = signer_->sign(*judged->permit);
    timing.sign = Clock::now() - sign_started;
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
  if (auto ok = w.append("decision", id, now, std::move(record)); !ok) {
    return std::unexpected(ok.error());
  }
  if (decision.verdict != policy::Verdict::kDeny) {
    if (judgement) {
      // Once only: the release key and the attested digest are committed in
      // this batch, before the signature leaves (a held release takes the key
      // too, and gives it back if the hold is rejected or expires).
      const policy::ReleaseClaim& claim = req.bridge->claim;
      const policy::RouteSpec& route = ps.policy.bridges.routes.at(claim.route);
      const std::string chain = codec::to_decimal(route.source_chain);
      const std::string token = codec::to_checksum(route.tokens.at(judgement->token.value()).source);
      if (auto ok = bridge_->put_deposit(judgement->key.text, chain, token, claim.attestation.amount, now); !ok) {
        return std::unexpected(ok.error());
      }
      store::BridgeRelease release{judgement->key.text,      route.name, judgement->key.digest, id, chain, token,
                                   claim.attestation.amount, now};
      if (auto ok = bridge_->put_release(release); !ok) return std::unexpected(ok.error());
    }
    if (auto ok = w.put(row); !ok) return std::unexpected(ok.error());
    if (decision.verdict == policy::Verdict::kHold) {
      out = outcome_of(row, false);
      out.decision = decision_json;
      out.reason_codes = reason_codes_of(decision_json);
      out.rule = decision.rule;
      pending_delta = 1;
    }
  }
  return decision.effects;
}

// An approver's verdict on a held request: verified, bound to its client, recorded; the release (or
// the lifting of a pause) when it completes the quorum, unless a pause covers the request.
StateResult<policy::Effects> Pipeline::approve_step(ApproveJob& job, const PolicySet& ps, const TimeMs now,
                                                    ApprovalOutcome& res, std::int64_t& pending_delta) {
  store::DecisionLogWriter& w = *writer_;
  ApproveJob* approval = &job;
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
  auto accepted = policy::verify_approval(row.request_key, row.decision_id, approval->verdict, approval->signature,
                                          eligible, row.requester, already, now);
  if (accepted && approval->by) {
    if (auto bound = policy::check_submitter(*accepted, *approval->by, row.requester); !bound) {
      accepted = std::unexpected(bound.error());
    }
  }
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
  json approval_record = {{"decision_id", row.decision_id},
                          {"approval", approval_json(*accepted)},
                          {"request_hash", hex_of(row.request_key)}};
  if (approval->by) {
    approval_record["by"] = {{"client", approval->by->client},
                             {"approver", approval->by->approver ? json(*approval->by->approver) : json(nullptr)}};
  }
  if (auto ok =
          w.append("approval", row.decision_id + "/approval/" + accepted->approver, now, std::move(approval_record));
      !ok) {
    return std::unexpected(ok.error());
  }
  auto pauses = bridge_->pauses();
  if (!pauses) return std::unexpected(pauses.error());
  const bool lifts_a_pause = row.kind == to_string(SignKind::kUnpause);
  const policy::HoldRelease release = policy::judge_hold_release(requirements, already, now, in_force(*pauses),
                                                                 lifts_a_pause, route_of(row), row.request_key);
  const policy::HoldStatus& status = release.status;
  policy::Effects effects;
  std::string paused_why;
  const auto reservations = hold.value("reservations", json::array());
  if (status.state == policy::HoldState::kApproved && lifts_a_pause) {
    // Lifting a pause signs nothing: the approvers' quorum lifts it.
    const json payload = json::parse(row.payload, nullptr, false);
    const std::string scope = payload.is_object() && payload.contains("request")
                                  ? payload["request"].value("scope", std::string())
                                  : std::string();
    auto lifted = bridge_->unpause(scope);
    if (!lifted) return std::unexpected(lifted.error());
    row.status = store::RequestStatus::kApproved;
    if (auto ok = w.append("unpause", row.decision_id + "/unpause", now,
                           json{{"decision_id", row.decision_id}, {"scope", scope}, {"lifted", *lifted}});
        !ok) {
      return std::unexpected(ok.error());
    }
    pending_delta = -1;
  } else if (status.state == policy::HoldState::kApproved) {
    // The quorum is met; the release waits while a pause covers the request
    // (the first batch after the unpause releases it).
    if (release.paused_by) {
      paused_why = "approved; the release waits for the pause of \"" + *release.paused_by + "\" to be lifted";
    } else if (release.permit) {
      auto released = release_hold(row, *release.permit, reservations, now, effects);
      if (!released) return std::unexpected(released.error());
      pending_delta = -1;
    }
  } else if (status.state == policy::HoldState::kRejected || status.state == policy::HoldState::kExpired) {
    row.status =
        status.state == policy::HoldState::kRejected ? store::RequestStatus::kRejected : store::RequestStatus::kExpired;
    json closing = {{"decision_id", row.decision_id}, {"state", to_string(status.state)}, {"why", status.why}};
    if (auto ok = w.append("rejection", row.decision_id + "/closed", now, std::move(closing)); !ok) {
      return std::unexpected(ok.error());
    }
    for (const auto& id : reservations) {
      effects.push_back(policy::ReleaseReservation{id.get<std::string>(), now});
    }
    if (row.kind == to_string(SignKind::kBridgeRelease)) {
      if (auto ok = bridge_->drop_release(row.decision_id); !ok) return std::unexpected(ok.error());
    }
    pending_delta = -1;
  }
  const std::string decision_text = std::move(row.decision);
  row.decision.clear();
  if (auto ok = w.put(row); !ok) return std::unexpected(ok.error());
  row.decision = decision_text;
  res.code = ApprovalOutcome::Code::kAccepted;
  res.request = outcome_of(row, false);
  res.request.hold["why"] = paused_why.empty() ? status.why : paused_why;
  return effects;
}

// An emergency pause, committed and logged.
StateResult<policy::Effects> Pipeline::pause_step(PauseJob& job, const TimeMs now) {
  store::DecisionLogWriter& w = *writer_;
  PauseJob* pause = &job;
  const std::string id = pause->id.empty() ? next_id() : pause->id;
  if (auto ok = bridge_->pause(store::BridgePause{pause->scope, now, pause->by, pause->reason}); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = w.append("pause", id, now, json{{"scope", pause->scope}, {"by", pause->by}, {"reason", pause->reason}});
      !ok) {
    return std::unexpected(ok.error());
  }
  return policy::Effects{};
}

// A refused request (authentication, role, rate), or a summary of many.
StateResult<policy::Effects> Pipeline::refusal_step(RefusalJob& job, const TimeMs now) {
  store::DecisionLogWriter& w = *writer_;
  RefusalJob* refusal = &job;
  const std::string id = refusal->id.empty() ? next_id() : refusal->id;
  json record = refusal->refusal;
  for (const char* own : {"kind", "id", "at_ms", "index", "prev"}) record.erase(own);
  if (auto ok = w.append("refusal", id, now, std::move(record)); !ok) {
    return std::unexpected(ok.error());
  }
  return policy::Effects{};
}

// The tree head, last in the batch's transaction: it covers every record the batch wrote.
StateResult<policy::Effects> Pipeline::head_step(const TimeMs now, const bool force_head,
                                                 std::optional<store::TreeHead>& new_head) {
  store::DecisionLogWriter& w = *writer_;
  auto size = w.size();
  if (!size) return std::unexpected(size.error());
  // The newest head as the database has it: replicas sharing the database sign heads in turn (each
  // inside its write transaction), so this process's own last head may be older.
  auto stored = w.last_head();
  if (!stored) return std::unexpected(stored.error());
  if (*stored && (!last_head_ || (*stored)->size > last_head_->size)) {
    last_head_ = *stored;
    last_head_at_ = (*stored)->at_ms;
  }
  const std::uint64_t signed_size = last_head_ ? last_head_->size : 0;
  if (*size == 0 || *size <= signed_size) return policy::Effects{};
  const bool due = force_head || *size - signed_size >= options_.head_every_records ||
                   now - last_head_at_ >= options_.head_every.count();
  if (!due) return policy::Effects{};
  auto root = w.root(*size);
  if (!root) return std::unexpected(root.error());
  store::TreeHead head;
  head.size = *size;
  head.root = *root;
  // Never before the head it follows (a replica's clock may run behind another's).
  head.at_ms = last_head_ ? std::max(now, last_head_->at_ms) : now;
  head.signer = options_.log_signer->address();
  auto sig = options_.log_signer->sign_digest(store::tree_head_digest(head.size, head.at_ms, head.root));
  if (!sig) return std::unexpected(signer_failure(sig.error()));
  head.signature.assign(sig->begin(), sig->end());
  if (auto ok = w.put_head(head); !ok) return std::unexpected(ok.error());
  new_head = std::move(head);
  return policy::Effects{};
}

namespace {

// What a client is told when its job did not commit: the kind of failure, without the database's own
// words when those come from the connection (they name the database host and port).
std::string client_message(const policy::StateError& error) {
  switch (error.code) {
    case policy::StateErrc::kUnavailable: return "the database is unavailable or busy; retry";
    case policy::StateErrc::kIo:
    case policy::StateErrc::kCorrupt: return "the decision could not be recorded (" + std::string(policy::to_string(error.code)) + ")";
    default: return error.message();
  }
}

}  // namespace

bool Pipeline::process(std::vector<Job>& jobs, const TimeMs requested_now, const bool force_head,
                       const bool clock_under_lock) {
  // The batch's time. The sequencer reads the clock once the write lock is held (in the first step):
  // a replica that waited for another's batch must not record, or sign a tree head, at a time before
  // the batch that went first.
  TimeMs now = requested_now;
  const std::shared_ptr<const PolicySet> snapshot = policy_;
  const PolicySet& ps = *snapshot;
  using Step = store::StateStore::Step;
  std::vector<Step> steps;
  steps.reserve(jobs.size() + 1);
  std::vector<Outcome> outcomes(jobs.size());
  std::vector<ApprovalOutcome> approvals(jobs.size());
  std::int64_t pending_delta = 0;
  std::vector<std::int64_t> pending_deltas(jobs.size(), 0);

  // Due holds first (expiries, and releases whose quorum and delay are met), then the jobs in order,
  // then the tree head.
  std::int64_t expired_count = 0;
  using Clock = std::chrono::steady_clock;
  Clock::duration in_steps{};
  // Runs a stage and adds its time to `stage` (sign_step accounts for its own sub-stages).
  const auto timed = [&](std::optional<Stage> stage, auto&& body) {
    const auto started = Clock::now();
    auto result = body();
    const auto took = Clock::now() - started;
    in_steps += took;
    if (stage) add_stage_time(*stage, took);
    return result;
  };
  steps.push_back(Step{[&](const policy::StateView&, store::Tx&) {
                         if (clock_under_lock) now = std::max(now, options_.clock());
                         return timed(kSettle, [&] { return settle_due_holds(now, expired_count); });
                       },
                       {}});

  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (auto* job = std::get_if<SignJob>(&jobs[i])) {
      steps.push_back(Step{[&, job, i](const policy::StateView& view, store::Tx&) {
                             return timed(std::nullopt, [&] {
                               return sign_step(*job, ps, view, now, outcomes[i], pending_deltas[i]);
                             });
                           },
                           {}});
    } else if (auto* approval = std::get_if<ApproveJob>(&jobs[i])) {
      steps.push_back(Step{[&, approval, i](const policy::StateView&, store::Tx&) {
                             return timed(kOther, [&] {
                               return approve_step(*approval, ps, now, approvals[i], pending_deltas[i]);
                             });
                           },
                           {}});
    } else if (auto* pause = std::get_if<PauseJob>(&jobs[i])) {
      steps.push_back(Step{[&, pause](const policy::StateView&, store::Tx&) {
                             return timed(kOther, [&] { return pause_step(*pause, now); });
                           },
                           {}});
    } else {
      auto* refusal = std::get_if<RefusalJob>(&jobs[i]);
      steps.push_back(Step{[&, refusal](const policy::StateView&, store::Tx&) {
                             return timed(kOther, [&] { return refusal_step(*refusal, now); });
                           },
                           {}});
    }
  }

  // The tree head, last in the same transaction: it covers every record this batch wrote.
  std::optional<store::TreeHead> new_head;
  if (options_.log_signer) {
    steps.push_back(Step{[&](const policy::StateView&, store::Tx&) {
                           return timed(kOther, [&] { return head_step(now, force_head, new_head); });
                         },
                         {}});
  }

  const auto batch_started = Clock::now();
  auto committed = store_->transact_batch(steps);
  add_stage_time(kCommit, Clock::now() - batch_started - in_steps);  // BEGIN, savepoints, COMMIT and fsync
  database_failed_ = !committed && committed.error().code == policy::StateErrc::kUnavailable;
  if (committed) {
    if (new_head && steps.back().result) {
      last_head_ = std::move(new_head);
      last_head_at_ = last_head_->at_ms;
    }
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
        out.error = client_message(result.error());
      }
      job->done(std::move(out));
    } else if (auto* approval = std::get_if<ApproveJob>(&jobs[i])) {
      ApprovalOutcome res = std::move(approvals[i]);
      if (!result) {
        res = ApprovalOutcome{};
        res.code = ApprovalOutcome::Code::kUnavailable;
        res.error = client_message(result.error());
      }
      approval->done(std::move(res));
    } else if (auto* pause = std::get_if<PauseJob>(&jobs[i])) {
      if (!result) {
        pause->done(std::unexpected(result.error().message()));
      } else if (pause->done) {
        // Committed: read back what is in force now.
        auto pauses = bridge_->pauses();
        if (!pauses) pause->done(std::unexpected(pauses.error().message()));
        else pause->done(json{{"paused", pauses_json(*pauses)}});
      }
    }
  }
  return committed.has_value();
}

}  // namespace txguard::service

#include "guard/audit/replay.hpp"

#include <deque>
#include <filesystem>
#include <fstream>
#include <random>

#include "guard/service/requests.hpp"
#include "guard/store/decision_log.hpp"
#include "policy/approval.hpp"
#include "signers/keystore.hpp"

namespace txguard::audit {

namespace fs = std::filesystem;
using nlohmann::json;
using service::Pipeline;

std::string Judgement::text() const {
  std::string out = verdict;
  if (!rule.empty()) out += " " + rule;
  if (!reasons.empty()) {
    out += " [";
    for (std::size_t i = 0; i < reasons.size(); ++i) out += (i ? ", " : "") + reasons[i];
    out += "]";
  }
  return out;
}

json Judgement::to_json() const { return {{"verdict", verdict}, {"rule", rule}, {"reasons", reasons}}; }

namespace {

Judgement judgement_of(const json& record) {
  Judgement j;
  const json& d = record.contains("decision") ? record.at("decision") : json::object();
  j.verdict = d.value("verdict", "none");
  if (d.contains("rule") && d.at("rule").is_string()) j.rule = d.at("rule").get<std::string>();
  if (d.contains("reasons")) {
    for (const auto& r : d.at("reasons")) j.reasons.push_back(r.value("code", ""));
  }
  return j;
}

// The first member path at which two JSON values differ ("$.decision.state_inputs[0].window.sum").
std::string first_difference(const json& a, const json& b, const std::string& path) {
  if (a.type() != b.type()) return path;
  if (a.is_object()) {
    for (const auto& [k, v] : a.items()) {
      if (!b.contains(k)) return path + "." + k;
      if (v != b.at(k)) return first_difference(v, b.at(k), path + "." + k);
    }
    for (const auto& [k, v] : b.items()) {
      if (!a.contains(k)) return path + "." + k;
    }
    return path;
  }
  if (a.is_array()) {
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      if (a[i] != b[i]) return first_difference(a[i], b[i], path + "[" + std::to_string(i) + "]");
    }
    return path + "[" + std::to_string(std::min(a.size(), b.size())) + "]";
  }
  return path;
}

// The co-signer during a replay: it cannot sign (the key is not in the export), so it hands out the
// signatures the log recorded, in order, each only after checking that it recovers to the recorded
// signer over the digest the replay computed.
class RecordedSigner final : public signers::Signer {
 public:
  codec::Address address() const override { return address_; }
  std::expected<std::array<std::uint8_t, 65>, signers::SignerError> sign_digest(const codec::Hash32& digest) const override {
    if (queue_.empty()) {
      return std::unexpected(signers::SignerError{signers::SignerErrc::kRejected, "the log recorded no signature here"});
    }
    codec::Bytes sig = std::move(queue_.front());
    queue_.pop_front();
    auto signer = policy::recover_approval_signer(digest, sig);
    if (sig.size() != 65 || !signer || *signer != address_) {
      return std::unexpected(signers::SignerError{
          signers::SignerErrc::kInternal, "the recorded signature does not recover to " + codec::to_checksum(address_) +
                                              " over the replayed digest " + codec::to_hex(digest)});
    }
    std::array<std::uint8_t, 65> out{};
    std::copy(sig.begin(), sig.end(), out.begin());
    return out;
  }
  void expect(codec::Address address, std::deque<codec::Bytes> signatures) {
    address_ = address;
    queue_ = std::move(signatures);
  }

 private:
  codec::Address address_{};
  mutable std::deque<codec::Bytes> queue_;
};

struct Document {
  std::string kind;
  std::string body;
};

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& base) {
    std::random_device rd;
    const fs::path root = base.empty() ? fs::temp_directory_path() : fs::path(base);
    path_ = root / ("txguard-replay-" + std::to_string(rd()) + std::to_string(rd()));
    std::error_code ec;
    fs::create_directories(path_, ec);
    if (ec) error_ = "scratch directory " + path_.string() + ": " + ec.message();
  }
  const std::string& error() const { return error_; }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  std::string error_;
};

class Replayer {
 public:
  Replayer(fs::path dir, const ReplayOptions& options, const Progress& progress)
      : dir_(std::move(dir)), options_(options), progress_(progress), scratch_(options.scratch_dir) {}

  std::expected<ReplayReport, std::string> run() {
    if (!scratch_.error().empty()) return std::unexpected(scratch_.error());
    if (auto ok = load_documents(); !ok) return std::unexpected(ok.error());
    {
      std::ifstream m(dir_ / kManifestFile, std::ios::binary);
      const json manifest = json::parse(m, nullptr, false);
      if (!manifest.is_object() || manifest.value("format", "") != kExportFormat) {
        return std::unexpected((dir_ / kManifestFile).string() + ": not a " + std::string(kExportFormat) + " manifest");
      }
      total_ = manifest.value("records", std::uint64_t{0});
    }
    std::ifstream in(dir_ / kRecordsFile, std::ios::binary);
    if (!in) return std::unexpected((dir_ / kRecordsFile).string() + ": cannot open");
    std::vector<json> group;
    std::string set_of_group;
    std::string line;
    while (std::getline(in, line)) {
      json record = json::parse(line, nullptr, false);
      if (!record.is_object() || !record.contains("at_ms") || !record.at("at_ms").is_number_integer()) {
        return std::unexpected("record " + std::to_string(report_.records) +
                               " is not a log record (run txguard log verify first)");
      }
      ++report_.records;
      const std::string set = record.value("policy_set", "");
      const bool same_time = !group.empty() && group.front().at("at_ms") == record.at("at_ms");
      const bool same_set = set.empty() || set_of_group.empty() || set == set_of_group;
      if (!group.empty() && !(same_time && same_set)) {
        if (auto ok = replay_group(group, set_of_group); !ok) return std::unexpected(ok.error());
        group.clear();
        set_of_group.clear();
      }
      if (!set.empty()) set_of_group = set;
      group.push_back(std::move(record));
      if (progress_ && (report_.records % 1024) == 0) progress_(report_.records, total_);
    }
    if (!group.empty()) {
      if (auto ok = replay_group(group, set_of_group); !ok) return std::unexpected(ok.error());
    }
    // Records before any decision, in a log that never judged anything: nothing to judge them by.
    for (const auto& early : early_) report_.reproduced += early.size();
    if (progress_) progress_(report_.records, total_);
    return std::move(report_);
  }

 private:
  std::expected<void, std::string> load_documents() {
    std::ifstream in(dir_ / kDocumentsFile, std::ios::binary);
    if (!in) return std::unexpected((dir_ / kDocumentsFile).string() + ": cannot open");
    std::string line;
    while (std::getline(in, line)) {
      const json d = json::parse(line, nullptr, false);
      if (!d.is_object() || !d.contains("hash") || !d.contains("body") || !d.at("body").is_string()) {
        return std::unexpected((dir_ / kDocumentsFile).string() + ": a line is not a document");
      }
      const std::string& body = d.at("body").get_ref<const std::string&>();
      // Content-addressed: a document is only ever used under the hash of its body.
      documents_[codec::to_hex(store::document_hash(body))] = Document{d.value("kind", ""), body};
    }
    return {};
  }

  std::expected<service::PolicySources, std::string> sources_of(const json& side) const {
    const auto text = [this](const json& hash) -> std::expected<std::string, std::string> {
      if (!hash.is_string()) return std::unexpected(std::string("a document reference is not a hash"));
      const auto it = documents_.find(hash.get<std::string>());
      if (it == documents_.end()) return std::unexpected("document " + hash.get<std::string>() + " is not in the export");
      return it->second.body;
    };
    service::PolicySources out;
    auto policy = text(side.value("policy", json()));
    if (!policy) return std::unexpected(policy.error());
    out.policy = std::move(*policy);
    const json files = side.value("files", json::object());
    for (const auto& [path, hash] : files.items()) {
      auto file = text(hash);
      if (!file) return std::unexpected(file.error());
      out.files[path] = std::move(*file);
    }
    if (side.contains("prices") && !side.at("prices").is_null()) {
      auto prices = text(side.at("prices"));
      if (!prices) return std::unexpected(prices.error());
      out.prices = std::move(*prices);
    }
    return out;
  }

  // The policy set a record names, as recorded, or (what-if) the what-if policy with the recorded
  // prices.
  std::expected<std::shared_ptr<const service::PolicySet>, std::string> policy_set(const std::string& hash) {
    if (auto it = sets_.find(hash); it != sets_.end()) return it->second;
    const auto doc = documents_.find(hash);
    if (doc == documents_.end() || doc->second.kind != "policy-set") {
      return std::unexpected("policy set " + hash + " is not in the export");
    }
    const json set = json::parse(doc->second.body, nullptr, false);
    if (!set.is_object() || !set.contains("policy")) return std::unexpected("policy set " + hash + " is malformed");
    auto main = sources_of(set.at("policy"));
    if (!main) return std::unexpected("policy set " + hash + ": " + main.error());
    std::optional<service::PolicySources> shadow;
    if (options_.what_if) {
      service::PolicySources what_if = *options_.what_if;
      what_if.prices = main->prices;
      main = std::move(what_if);
    } else if (set.contains("shadow") && !set.at("shadow").is_null()) {
      auto s = sources_of(set.at("shadow"));
      if (!s) return std::unexpected("policy set " + hash + ": shadow: " + s.error());
      shadow = std::move(*s);
    }
    auto built = service::build_policy_set(std::move(*main), std::move(shadow));
    if (!built) return std::unexpected("policy set " + hash + ": " + built.error().front());
    auto shared = std::make_shared<const service::PolicySet>(std::move(*built));
    sets_.clear();  // one set at a time: memory stays flat however many the log has
    sets_[hash] = shared;
    return shared;
  }

  std::expected<void, std::string> start(const std::shared_ptr<const service::PolicySet>& set) {
    service::PipelineOptions options;
    options.database = (scratch_.path() / "replay.db").string();
    options.sequencer = false;
    options.durable = false;
    options.max_batch = std::numeric_limits<std::size_t>::max();
    std::shared_ptr<const signers::Signer> signer = recorded_;
    if (options_.what_if) {
      auto key = signers::KeystoreSigner::from_key(signers::generate_secret_key());
      if (!key) return std::unexpected(std::string("what-if: no scratch key"));
      signer = std::make_shared<signers::KeystoreSigner>(std::move(*key));
    }
    auto p = Pipeline::start(options, set, signer);
    if (!p) return std::unexpected("scratch database: " + p.error());
    pipeline_ = std::move(*p);
    current_set_ = set;
    return {};
  }

  void mismatch(const json& record, std::string what, std::optional<std::uint64_t> index = std::nullopt) {
    ++report_.mismatched;
    if (report_.mismatches.size() < options_.keep) {
      report_.mismatches.push_back(
          Mismatch{index.value_or(record.value("index", std::uint64_t{0})), record.value("id", ""), std::move(what)});
    }
  }

  std::expected<void, std::string> replay_group(std::vector<json>& group, const std::string& set_hash) {
    if (!set_hash.empty()) {
      auto set = policy_set(set_hash);
      if (!set) {
        for (const auto& r : group) mismatch(r, "cannot be judged again: " + set.error());
        return {};
      }
      if (!pipeline_) {
        if (auto ok = start(*set); !ok) return ok;
        // What came before the first decision (refusals, pauses) is replayed first, at its own time:
        // a pause in force before anything was judged must refuse the replayed requests too.
        auto early = std::move(early_);
        early_.clear();
        for (auto& g : early) {
          if (auto ok = replay_group(g, ""); !ok) return ok;
        }
      } else if (*set != current_set_) {
        if (auto ok = pipeline_->set_policy(*set); !ok) return std::unexpected("scratch database: " + ok.error().message());
        current_set_ = *set;
      }
    }
    if (!pipeline_) {
      // No policy set named yet: kept until the first decision names one.
      early_.push_back(group);
      return {};
    }
    const auto time = group.front().at("at_ms").get<policy::TimeMs>();
    std::vector<Pipeline::Job> jobs;
    std::deque<codec::Bytes> signatures;
    std::optional<codec::Address> signer;
    for (const json& r : group) {
      const std::string kind = r.value("kind", "");
      if (r.contains("signer") && r.at("signer").is_string()) {
        if (auto a = codec::parse_address(r.at("signer").get<std::string>())) signer = *a;
      }
      if ((kind == "decision" || kind == "release") && r.contains("signature")) {
        if (auto sig = codec::from_hex(r.at("signature").get<std::string>())) signatures.push_back(std::move(*sig));
      }
      if (kind == "decision") {
        ++report_.decisions;
        const json& request = r.value("request", json::object());
        auto decoded = service::recorded_request(request.value("kind", ""), request.value("payload", json()),
                                                 current_set_->policy, r.value("requester", ""));
        if (!decoded) {
          mismatch(r, "the recorded request does not decode again: " + decoded.error().message);
          continue;
        }
        jobs.emplace_back(Pipeline::SignJob{std::move(*decoded), false, [](service::Outcome) {}, r.value("id", "")});
      } else if (kind == "approval") {
        const json& a = r.value("approval", json::object());
        auto sig = codec::from_hex(a.value("signature", ""));
        std::optional<policy::Submitter> by;
        if (r.contains("by") && r.at("by").is_object()) {
          const json& b = r.at("by");
          by = policy::Submitter{b.value("client", ""), std::nullopt};
          if (b.contains("approver") && b.at("approver").is_string()) by->approver = b.at("approver").get<std::string>();
        }
        jobs.emplace_back(Pipeline::ApproveJob{
            r.value("decision_id", ""),
            a.value("verdict", "") == "approve" ? policy::ApprovalVerdict::kApprove : policy::ApprovalVerdict::kReject,
            sig ? std::move(*sig) : codec::Bytes{}, [](service::ApprovalOutcome) {}, std::move(by)});
      } else if (kind == "pause") {
        jobs.emplace_back(Pipeline::PauseJob{r.value("scope", ""), r.value("by", ""), r.value("reason", ""),
                                             [](std::expected<json, std::string>) {}, r.value("id", "")});
      } else if (kind == "refusal") {
        json refusal = r;
        for (const char* own : {"kind", "id", "at_ms", "index", "prev"}) refusal.erase(own);
        jobs.emplace_back(Pipeline::RefusalJob{std::move(refusal), r.value("id", "")});
      }
    }
    if (!options_.what_if) recorded_->expect(signer.value_or(codec::Address{}), std::move(signatures));
    if (!pipeline_->run_batch(jobs, time)) return std::unexpected(std::string("the scratch database failed to commit"));

    auto produced = pipeline_->reader().records_from(produced_, std::numeric_limits<std::uint32_t>::max());
    if (!produced) return std::unexpected("scratch database: " + produced.error().message());
    produced_ += produced->size();
    std::map<std::string, json> made;
    for (const auto& p : *produced) {
      json body = json::parse(p.body);
      body.erase("index");
      body.erase("prev");
      made.emplace(p.id, std::move(body));
    }
    if (options_.what_if) return compare_what_if(group, made);
    for (json& r : group) {
      const std::string id = r.value("id", "");
      const auto it = made.find(id);
      if (it == made.end()) {
        if (r.value("kind", "") == "decision" || r.value("kind", "") == "release") {
          mismatch(r, "not reproduced: the replay made no " + r.value("kind", "") + " record " + id +
                          " (recorded " + judgement_of(r).text() + ")");
        } else {
          mismatch(r, "not reproduced: the replay made no " + r.value("kind", "") + " record " + id);
        }
        continue;
      }
      const auto index = r.value("index", std::uint64_t{0});
      r.erase("index");
      r.erase("prev");
      if (r == it->second) {
        ++report_.reproduced;
      } else if (r.value("kind", "") == "decision" && judgement_of(r) != judgement_of(it->second)) {
        mismatch(r, "recorded " + judgement_of(r).text() + ", replayed " + judgement_of(it->second).text(), index);
      } else {
        mismatch(r, "differs at " + first_difference(r, it->second, "$"), index);
      }
      made.erase(it);
    }
    for (const auto& [id, body] : made) {
      mismatch(body, "the replay made a " + body.value("kind", "") + " record the log does not have");
    }
    return {};
  }

  std::expected<void, std::string> compare_what_if(const std::vector<json>& group, const std::map<std::string, json>& made) {
    for (const json& r : group) {
      if (r.value("kind", "") != "decision") continue;
      const Judgement recorded = judgement_of(r);
      const auto it = made.find(r.value("id", ""));
      Judgement what_if;
      if (it == made.end()) {
        what_if.verdict = "none";
        what_if.reasons.push_back("answered-as-retry");
      } else {
        what_if = judgement_of(it->second);
      }
      if (recorded == what_if) continue;
      ++report_.changed;
      ++report_.changes_by_kind[{recorded, what_if}];
      if (report_.changes.size() < options_.keep) {
        report_.changes.push_back(Change{r.value("index", std::uint64_t{0}), r.value("id", ""),
                                         r.at("at_ms").get<policy::TimeMs>(), r.value("requester", ""), recorded, what_if});
      }
    }
    return {};
  }

  fs::path dir_;
  const ReplayOptions& options_;
  const Progress& progress_;
  ScratchDir scratch_;
  ReplayReport report_;
  std::uint64_t total_ = 0;
  std::map<std::string, Document> documents_;
  std::map<std::string, std::shared_ptr<const service::PolicySet>> sets_;
  std::shared_ptr<RecordedSigner> recorded_ = std::make_shared<RecordedSigner>();
  std::unique_ptr<Pipeline> pipeline_;
  std::vector<std::vector<json>> early_;  // groups before the first decision
  std::shared_ptr<const service::PolicySet> current_set_;
  std::uint64_t produced_ = 0;
};

}  // namespace

std::expected<ReplayReport, std::string> replay_export(const std::string& dir, const ReplayOptions& options,
                                                       const Progress& progress) {
  if (!fs::is_directory(dir)) return std::unexpected(dir + ": not a directory");
  try {
    return Replayer(dir, options, progress).run();
  } catch (const std::exception& e) {
    // A malformed record member (nlohmann .at/.get on the wrong shape): the export is not well-formed.
    return std::unexpected(std::string("the export is malformed (run txguard log verify first): ") + e.what());
  }
}

}  // namespace txguard::audit

#include "guard/audit/verify.hpp"

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "guard/store/merkle.hpp"
#include "guard/store/decision_log.hpp"
#include "policy/approval.hpp"

namespace txguard::audit {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string hex(const codec::Hash32& h) { return codec::to_hex(h); }

// One line of a JSON Lines file that must be canonical: the parsed value, or why not.
std::expected<json, std::string> canonical_line(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded()) return std::unexpected(std::string("is not JSON"));
  if (!j.is_object()) return std::unexpected(std::string("is not a JSON object"));
  if (j.dump() != line) return std::unexpected(std::string("is not in canonical form (sorted keys, no white space)"));
  return j;
}

// The "index" member of a record line, if it has one.
std::optional<std::uint64_t> index_of(const std::string& line) {
  const json j = json::parse(line, nullptr, false);
  if (!j.is_object() || !j.contains("index") || !j.at("index").is_number_unsigned()) return std::nullopt;
  return j.at("index").get<std::uint64_t>();
}

class Verifier {
 public:
  Verifier(fs::path dir, const std::optional<codec::Address>& key, const Progress& progress)
      : dir_(std::move(dir)), progress_(progress) {
    report_.log_key = key;
    report_.key_pinned = key.has_value();
  }

  std::expected<VerifyReport, std::string> run() {
    for (auto name : {kManifestFile, kRecordsFile, kHeadsFile, kDocumentsFile}) {
      if (!fs::exists(dir_ / name)) {
        return std::unexpected((dir_ / name).string() + ": missing (an export has " + std::string(kManifestFile) + ", " +
                               std::string(kRecordsFile) + ", " + std::string(kHeadsFile) + " and " +
                               std::string(kDocumentsFile) + ")");
      }
    }
    if (!manifest() || !documents()) return report_;
    heads_.open(dir_ / kHeadsFile, std::ios::binary);
    records();
    return report_;
  }

 private:
  bool problem(std::string where, std::string what, std::optional<std::uint64_t> record = std::nullopt) {
    if (!report_.problem) report_.problem = VerifyProblem{std::move(where), std::move(what), record};
    return false;
  }

  bool manifest() {
    std::ifstream in(dir_ / kManifestFile, std::ios::binary);
    const json m = json::parse(in, nullptr, false);
    if (!m.is_object() || m.value("format", "") != kExportFormat || !m.contains("records") ||
        !m.at("records").is_number_unsigned()) {
      return problem(std::string(kManifestFile), "not a " + std::string(kExportFormat) + " manifest");
    }
    expected_records_ = m.at("records").get<std::uint64_t>();
    return true;
  }

  bool documents() {
    std::ifstream in(dir_ / kDocumentsFile, std::ios::binary);
    std::string line;
    for (std::uint64_t n = 1; std::getline(in, line); ++n) {
      const std::string where = std::string(kDocumentsFile) + " line " + std::to_string(n);
      const json d = json::parse(line, nullptr, false);
      if (!d.is_object() || !d.contains("hash") || !d.contains("body") || !d.at("body").is_string() ||
          !d.at("hash").is_string()) {
        return problem(where, "is not a document {hash, kind, body}");
      }
      const std::string& body = d.at("body").get_ref<const std::string&>();
      const std::string computed = hex(store::document_hash(body));
      if (computed != d.at("hash").get<std::string>()) {
        return problem(where, "document " + d.at("hash").get<std::string>() + " was changed: its body hashes to " + computed);
      }
      documents_.insert(computed);
      ++report_.documents;
    }
    return true;
  }

  // The next head from heads.jsonl, checked on its own (signature, key, order); nullopt at the end or
  // after a problem.
  std::optional<store::TreeHead> next_head() {
    std::string line;
    if (report_.problem || !std::getline(heads_, line)) return std::nullopt;
    const std::uint64_t n = report_.heads;
    const std::string where = "tree head " + std::to_string(n);
    auto head = store::tree_head_from_json(json::parse(line, nullptr, false));
    if (!head) {
      problem(where, "is not a tree head {size, root, at_ms, signature, signer}");
      return std::nullopt;
    }
    const std::string at = where + " (size " + std::to_string(head->size) + ")";
    auto signer = policy::recover_approval_signer(store::tree_head_digest(head->size, head->at_ms, head->root),
                                                  head->signature);
    if (!signer || *signer != head->signer) {
      problem(at, "its signature does not recover to its signer " + codec::to_checksum(head->signer) +
                      (signer ? " (it recovers to " + codec::to_checksum(*signer) + ")" : ""));
      return std::nullopt;
    }
    if (!report_.log_key) report_.log_key = head->signer;
    if (head->signer != *report_.log_key) {
      problem(at, "is signed by " + codec::to_checksum(head->signer) + ", not the log key " +
                      codec::to_checksum(*report_.log_key) + (report_.key_pinned ? " (pinned)" : " (that signed the first head)"));
      return std::nullopt;
    }
    if (last_head_ && (head->size <= last_head_->size || head->at_ms < last_head_->at_ms)) {
      problem(at, "does not follow tree head " + std::to_string(n - 1) + " (size " + std::to_string(last_head_->size) +
                      "): heads must grow in size and never go back in time");
      return std::nullopt;
    }
    ++report_.heads;
    return head;
  }

  // Checks every head of size `size` (the tree of the records before index `size`) against the
  // recomputed tree.
  bool heads_at(std::uint64_t size) {
    while (true) {
      if (!pending_head_) pending_head_ = next_head();
      if (report_.problem) return false;
      if (!pending_head_ || pending_head_->size > size) return true;
      const store::TreeHead& h = *pending_head_;
      if (h.size < size) {
        return problem("tree head " + std::to_string(report_.heads - 1) + " (size " + std::to_string(h.size) + ")",
                       "is out of order");
      }
      if (tree_.root() != h.root) {
        const std::uint64_t from = last_head_ ? last_head_->size : 0;
        return problem("tree head " + std::to_string(report_.heads - 1) + " (size " + std::to_string(h.size) + ")",
                       "does not match the records: the root of records 0.." + std::to_string(size - 1) + " is " +
                           hex(tree_.root()) + ", the head signed " + hex(h.root) + "; a record from " +
                           std::to_string(from) + " to " + std::to_string(size - 1) + " was changed (the last one, " +
                           std::to_string(size - 1) + ", when the chain of prev links holds)",
                       size - 1);
      }
      last_head_ = pending_head_;
      pending_head_.reset();
      report_.signed_size = h.size;
    }
  }

  void records() {
    std::ifstream in(dir_ / kRecordsFile, std::ios::binary);
    std::string line;
    std::uint64_t i = 0;
    codec::Hash32 prev_leaf{};          // leaf of record i-1
    std::optional<std::uint64_t> broken;  // a record whose prev link failed, waiting for the next record
    codec::Hash32 broken_leaf{};
    for (; std::getline(in, line); ++i) {
      const std::string where = "record " + std::to_string(i);
      auto j = canonical_line(line);
      if (!j) {
        problem(where, "was changed: the line " + j.error(), i);
        return;
      }
      const auto index = j->find("index");
      const auto prev = j->find("prev");
      if (index == j->end() || !index->is_number_unsigned() || prev == j->end() || !prev->is_string() ||
          !j->contains("kind") || !j->contains("id") || !j->contains("at_ms")) {
        problem(where, "is not a log record (it needs index, prev, kind, id and at_ms)", i);
        return;
      }
      const auto n = index->get<std::uint64_t>();
      if (n > i) {
        // Record i is not here: moved further down (swapped) or gone (deleted). The next line tells.
        std::string next;
        const bool swapped = std::getline(in, next) && index_of(next) == i;
        if (swapped) {
          problem(where, "is out of place: record " + std::to_string(n) + " stands at position " + std::to_string(i) +
                             " and record " + std::to_string(i) + " after it (the two were swapped)",
                  i);
        } else {
          problem(where, "is missing: the record at this position is record " + std::to_string(n) +
                             (n == i + 1 ? " (record " + std::to_string(i) + " was deleted)"
                                         : " (records " + std::to_string(i) + ".." + std::to_string(n - 1) + " were deleted)"),
                  i);
        }
        return;
      }
      if (n < i) {
        problem(where, "is out of place: record " + std::to_string(n) + " stands at position " + std::to_string(i) +
                           " (records were swapped, moved or duplicated)",
                i);
        return;
      }
      const codec::Hash32 leaf =
          store::merkle_leaf_hash(codec::ByteView(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
      const bool linked = prev->get<std::string>() == hex(prev_leaf);
      if (broken) {
        // Record i-1's link failed. If record i holds record i-1's hash, record i-1 itself is intact and
        // the record before it was changed; otherwise record i-1 was changed (its own prev link).
        if (prev->get<std::string>() == hex(broken_leaf)) {
          problem("record " + std::to_string(*broken - 1),
                  "was changed: its hash is not the one record " + std::to_string(*broken) +
                      " recorded as prev (and record " + std::to_string(i) + " confirms record " +
                      std::to_string(*broken) + ")",
                  *broken - 1);
        } else {
          problem("record " + std::to_string(*broken),
                  "was changed: its prev link does not match record " + std::to_string(*broken - 1), *broken);
        }
        return;
      }
      if (!linked) {
        broken = i;
        broken_leaf = leaf;
      } else if (!heads_at(i)) {
        return;
      }
      if (!broken && !policy_sets(*j, i)) return;
      tree_.append(leaf);
      prev_leaf = leaf;
      if (progress_ && (i % 4096) == 0) progress_(i, expected_records_);
    }
    if (broken) {
      problem("record " + std::to_string(*broken),
              "was changed, or record " + std::to_string(*broken - 1) + " was: its prev link does not match record " +
                  std::to_string(*broken - 1) + " (it is the last record, so no later record tells which)",
              *broken);
      return;
    }
    report_.records = i;
    if (progress_) progress_(i, expected_records_);
    if (!heads_at(i)) return;
    if (pending_head_ || (pending_head_ = next_head())) {
      problem("tree head " + std::to_string(report_.heads - 1) + " (size " + std::to_string(pending_head_->size) + ")",
              "covers " + std::to_string(pending_head_->size) + " records but the export has " + std::to_string(i) +
                  ": records " + std::to_string(i) + ".." + std::to_string(pending_head_->size - 1) +
                  " are missing (the log was truncated)",
              i);
      return;
    }
    if (report_.problem) return;
    if (i != expected_records_) {
      problem(std::string(kManifestFile), "says " + std::to_string(expected_records_) + " records; the export has " +
                                              std::to_string(i));
    }
  }

  // A decision record's policy set (and the documents it names) must be in the export.
  bool policy_sets(const json& record, std::uint64_t i) {
    const auto set = record.find("policy_set");
    if (set == record.end()) return true;
    if (!set->is_string() || !documents_.contains(set->get<std::string>())) {
      return problem("record " + std::to_string(i), "names policy set " + set->dump() + ", which the export does not hold", i);
    }
    return true;
  }

  fs::path dir_;
  const Progress& progress_;
  VerifyReport report_;
  std::uint64_t expected_records_ = 0;
  std::set<std::string> documents_;
  std::ifstream heads_;
  std::optional<store::TreeHead> pending_head_;
  std::optional<store::TreeHead> last_head_;
  store::MerkleAccumulator tree_;
};

}  // namespace

std::expected<VerifyReport, std::string> verify_export(const std::string& dir,
                                                       const std::optional<codec::Address>& expected_key,
                                                       const Progress& progress) {
  if (!fs::is_directory(dir)) return std::unexpected(dir + ": not a directory");
  return Verifier(dir, expected_key, progress).run();
}

}  // namespace txguard::audit

// Replay of a log export (export.hpp): every decision judged again, in order, from the recorded
// requests, by the recorded policy documents, against a state rebuilt from the replayed decisions
// themselves; and the what-if: the same requests judged by another policy.
//
// How: a scratch database (a temporary directory, not synced) and the service's own pipeline
// (sequencer = false). The records are taken in groups of equal time; each group is one batch at
// that time, exactly as the sequencer ran it: held requests due at that time expire first, then the
// group's inputs run in order: signing requests ("decision" records: the request is decoded again
// from its recorded bytes, so the intent and the digest are recomputed, not trusted), approvals
// ("approval" records: the approver's signature is verified again) and refusals. The outputs
// (decisions with their state inputs and effects, approvals, releases, rejections, expiries) must
// equal the recorded records, field for field (all but "index" and "prev", which verify checks).
// Signatures cannot be made again without the key: the recorded ones are used, after checking that
// each recovers to the recorded signer over the replayed digest.
//
// Memory does not grow with the log: records are streamed, state lives in the scratch database, and
// only the documents (policies, lists, prices) are held.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/audit/export.hpp"
#include "guard/service/pipeline.hpp"

namespace txguard::audit {

/// A verdict in short: what the report compares.
struct Judgement {
  std::string verdict;               // "allow", "deny", "hold"; "none" when no decision was made
  std::string rule;                  // "" when none
  std::vector<std::string> reasons;  // reason codes, in order
  auto operator<=>(const Judgement&) const = default;
  std::string text() const;          // "deny withdrawal [limit-exceeded]"
  nlohmann::json to_json() const;
};

/// A record the replay did not reproduce.
struct Mismatch {
  std::uint64_t index = 0;
  std::string id;
  std::string what;  // "recorded allow withdrawal, replayed deny ... [limit-exceeded]", or the first differing field
};

/// One request the what-if policy decides differently.
struct Change {
  std::uint64_t index = 0;
  std::string id;
  policy::TimeMs at_ms = 0;
  std::string requester;
  Judgement recorded;
  Judgement what_if;
};

struct ReplayOptions {
  /// The what-if: this policy instead of the recorded ones (with the recorded price tables).
  std::optional<service::PolicySources> what_if;
  /// Where the scratch database goes (a fresh directory under it, removed after); default: the
  /// system's temporary directory.
  std::string scratch_dir;
  /// How many mismatches / changes to keep in the report (all are counted).
  std::size_t keep = 10'000;
};

struct ReplayReport {
  std::uint64_t records = 0;
  std::uint64_t decisions = 0;        // decision records replayed
  std::uint64_t reproduced = 0;       // records reproduced exactly (replay mode)
  std::uint64_t mismatched = 0;       // records not reproduced
  std::vector<Mismatch> mismatches;   // the first `keep`
  // What-if:
  std::uint64_t changed = 0;
  std::map<std::pair<Judgement, Judgement>, std::uint64_t> changes_by_kind;  // (recorded, what-if) -> count
  std::vector<Change> changes;        // the first `keep`
};

/// Replays the export in `dir` (see the file comment). Fails (unexpected) only when the export or the
/// scratch database cannot be used at all; everything that does not reproduce is in the report.
std::expected<ReplayReport, std::string> replay_export(const std::string& dir, const ReplayOptions& options,
                                                       const Progress& progress = {});

}  // namespace txguard::audit

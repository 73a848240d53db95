// Offline verification of a log export (export.hpp): no database, no network, no trust in the
// operator beyond the log key the auditor pins.
//
// What is checked, in one streaming pass (memory does not grow with the log):
//   - every record line is canonical JSON (re-serialising it gives the same bytes), names its own
//     position ("index") and the leaf hash of the record before it ("prev");
//   - the Merkle tree (RFC 9162) is recomputed from the records; every tree head's root must equal the
//     recomputed root at its size, so each head is consistent with the next (they extend one tree);
//   - every tree head's signature recovers to its signer, and every signer is the log key (pinned with
//     `expected_key`, else the key of the first head, which the report names so it can be compared);
//   - heads grow strictly in size, never cover more records than the export has, and their times do
//     not go backwards;
//   - every document's hash is the SHA-256 of its body, and every policy set a record names is there.
//
// The first problem is located: which record (or head) and what is wrong with it. A changed record
// breaks the link the next record holds ("prev"), so the record is named exactly; a record whose
// successor is also rewritten is caught by the first tree head over it and named by the range that
// head covers.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>

#include "guard/audit/export.hpp"
#include "policy/codec/address.hpp"

namespace txguard::audit {

struct VerifyProblem {
  std::string where;   // "record 41", "tree head 3 (size 2000)", "documents.jsonl line 2", "manifest.json"
  std::string what;    // what is wrong, for a human
  std::optional<std::uint64_t> record;  // the record index it names, when it names one
};

struct VerifyReport {
  std::uint64_t records = 0;
  std::uint64_t heads = 0;
  std::uint64_t documents = 0;
  std::optional<codec::Address> log_key;   // the key the heads were checked against
  bool key_pinned = false;                 // true when the caller gave it
  std::uint64_t signed_size = 0;           // records covered by the last valid head
  std::optional<VerifyProblem> problem;    // the first problem; none: verified
  bool ok() const noexcept { return !problem; }
};

/// Verifies the export in `dir`. Fails (unexpected) only when the export cannot be read at all (no
/// directory, a missing file); everything wrong inside it is a problem in the report.
std::expected<VerifyReport, std::string> verify_export(const std::string& dir,
                                                       const std::optional<codec::Address>& expected_key,
                                                       const Progress& progress = {});

}  // namespace txguard::audit

// A decision log export: a directory an auditor can verify and replay without the operator, the
// database or the network.
//
//   DIR/records.jsonl    every record, in index order, one per line, byte for byte as stored (each
//                        line is the canonical JSON whose SHA-256(0x00 || line) is its Merkle leaf)
//   DIR/heads.jsonl      every signed tree head covering the exported records, by size
//   DIR/documents.jsonl  every document the records refer to: {"hash", "kind", "body"}, by hash
//   DIR/manifest.json    written last: {"format", "records", "heads", "documents", "log_key"}; an
//                        export without it is incomplete
//
// Export streams (pages of records), so its memory does not grow with the log. It exports the records
// committed when it starts (later ones belong to the next export) and the heads up to that size; it
// can run while the server writes (the log is append-only and read through its own connection).
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <string>

#include "guard/store/sql.hpp"
#include "policy/codec/address.hpp"

namespace txguard::audit {

inline constexpr std::string_view kExportFormat = "txguard-log-export-1";
inline constexpr std::string_view kRecordsFile = "records.jsonl";
inline constexpr std::string_view kHeadsFile = "heads.jsonl";
inline constexpr std::string_view kDocumentsFile = "documents.jsonl";
inline constexpr std::string_view kManifestFile = "manifest.json";

/// Called now and then with (done, total) records: drives a progress bar.
using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct ExportSummary {
  std::uint64_t records = 0;
  std::uint64_t heads = 0;
  std::uint64_t documents = 0;
  std::optional<codec::Address> log_key;  // the signer of the last head
};

/// Exports the log in `database` (a txguard SQLite file or a postgresql:// URL; `options` carries the
/// PostgreSQL password) to `out_dir`, which must not exist or be empty. Fails with one line saying
/// what (nothing is left half-written under a name that looks complete: the manifest is written
/// last).
std::expected<ExportSummary, std::string> export_log(const std::string& database, const std::string& out_dir,
                                                     const Progress& progress = {},
                                                     const store::DatabaseOptions& options = {});

}  // namespace txguard::audit

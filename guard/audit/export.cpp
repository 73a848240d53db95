#include "guard/audit/export.hpp"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "guard/store/decision_log.hpp"

namespace txguard::audit {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::size_t kPage = 4096;

}  // namespace

std::expected<ExportSummary, std::string> export_log(const std::string& database, const std::string& out_dir,
                                                     const Progress& progress, const store::DatabaseOptions& options) {
  const std::string named = store::redact_database(database);
  if (!store::is_postgres_url(database) && !fs::exists(database)) return std::unexpected(named + ": no such database");
  std::error_code ec;
  if (fs::exists(out_dir) && !fs::is_empty(out_dir, ec)) return std::unexpected(out_dir + ": exists and is not empty");
  fs::create_directories(out_dir, ec);
  if (ec) return std::unexpected(out_dir + ": " + ec.message());
  auto opened = store::DecisionLogReader::open(database, options);
  if (!opened) return std::unexpected(named + ": " + opened.error().message());
  store::DecisionLogReader& reader = **opened;
  // A log written by a txguard before the tamper-evident format has no leaves to export.
  auto size = reader.size();
  if (!size) return std::unexpected(named + ": " + size.error().message());

  const fs::path dir(out_dir);
  const auto open_out = [&](std::string_view name) { return std::ofstream(dir / name, std::ios::binary | std::ios::trunc); };
  ExportSummary summary;

  std::ofstream records = open_out(kRecordsFile);
  for (std::uint64_t from = 0; from < *size;) {
    auto page = reader.records_from(from, static_cast<std::size_t>(std::min<std::uint64_t>(kPage, *size - from)));
    if (!page) return std::unexpected("read records: " + page.error().message());
    if (page->empty()) break;
    for (const auto& r : *page) records << r.body << '\n';
    from += page->size();
    summary.records = from;
    if (progress) progress(from, *size);
  }
  records.flush();
  if (!records) return std::unexpected((dir / kRecordsFile).string() + ": write failed");

  std::ofstream heads = open_out(kHeadsFile);
  for (std::uint64_t after = 0;;) {
    auto page = reader.heads_after(after, kPage);
    if (!page) return std::unexpected("read tree heads: " + page.error().message());
    bool more = false;
    for (const auto& h : *page) {
      if (h.size > *size) break;
      heads << store::to_json(h).dump() << '\n';
      ++summary.heads;
      summary.log_key = h.signer;
      after = h.size;
      more = true;
    }
    if (!more || page->size() < kPage) break;
  }
  heads.flush();
  if (!heads) return std::unexpected((dir / kHeadsFile).string() + ": write failed");

  std::ofstream documents = open_out(kDocumentsFile);
  std::optional<codec::Hash32> after;
  for (;;) {
    auto page = reader.documents_after(after, 64);
    if (!page) return std::unexpected("read documents: " + page.error().message());
    for (const auto& d : *page) {
      try {
        documents << json{{"hash", codec::to_hex(d.hash)}, {"kind", d.kind}, {"body", d.body}}.dump() << '\n';
      } catch (const json::exception&) {
        return std::unexpected("document " + codec::to_hex(d.hash) + " is not UTF-8 text and cannot be exported");
      }
      ++summary.documents;
      after = d.hash;
    }
    if (page->size() < 64) break;
  }
  documents.flush();
  if (!documents) return std::unexpected((dir / kDocumentsFile).string() + ": write failed");

  json manifest = {{"format", kExportFormat},
                   {"records", summary.records},
                   {"heads", summary.heads},
                   {"documents", summary.documents},
                   {"log_key", summary.log_key ? json(codec::to_checksum(*summary.log_key)) : json(nullptr)}};
  std::ofstream m = open_out(kManifestFile);
  m << manifest.dump(2) << '\n';
  m.flush();
  if (!m) return std::unexpected((dir / kManifestFile).string() + ": write failed");
  return summary;
}

}  // namespace txguard::audit

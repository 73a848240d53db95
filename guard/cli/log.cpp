// txguard log export | verify, and txguard replay: the auditor's commands (guard/audit).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "guard/audit/export.hpp"
#include "guard/audit/replay.hpp"
#include "guard/audit/verify.hpp"
#include "guard/cli/cli.hpp"
#include "guard/service/config.hpp"

namespace txguard::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kLogUsage =
    "usage: txguard log export (--config FILE | --database FILE) --out DIR\n"
    "       txguard log verify DIR [--key ADDRESS] [--json]\n"
    "\n"
    "export: writes the decision log (records, signed tree heads, and the policies, lists and price\n"
    "tables the records refer to) to DIR, which must be new or empty; streaming, safe while the server\n"
    "runs (it exports the records committed when it starts).\n"
    "\n"
    "verify: checks an export offline: every record's place and link to the one before it, the Merkle\n"
    "tree (RFC 9162) against every signed tree head, every head's signature by the log key (pin it with\n"
    "--key; otherwise the first head's signer is trusted and printed), and every document's hash. On\n"
    "failure it names the first bad record or head and what is wrong with it.\n"
    "\n"
    "exit status: 0 verified, 10 the export is not intact (the problem is printed), 64 usage error,\n"
    "65 the configuration is unusable, 66 a file or directory that cannot be read, 73 DIR not empty.\n";

constexpr std::string_view kReplayUsage =
    "usage: txguard replay DIR [--policy FILE] [--json] [--scratch DIR]\n"
    "\n"
    "Judges every request of a log export (txguard log export) again, in order, with the recorded\n"
    "policies, lists and prices, rebuilding the velocity state from the replayed decisions, and reports\n"
    "every record that does not come out the same (there must be none).\n"
    "\n"
    "--policy FILE: the what-if. The same requests judged by FILE (with the prices recorded at the time):\n"
    "which would be decided differently, counted by recorded and new verdict, rule and reasons, and\n"
    "listed. --json prints the report as JSON instead of tables. --scratch: where the temporary replay\n"
    "database goes (default: the system's temporary directory; it needs about as much free space as\n"
    "the guard's database, some 5 KB per decision, and is removed afterwards).\n"
    "\n"
    "exit status: 0 every record reproduced (or the what-if ran), 10 some did not, 64 usage error,\n"
    "65 the what-if policy has problems, 66 the export cannot be read.\n";

int usage(std::string_view usage_text, const std::string& why) {
  std::fprintf(stderr, "txguard: %s\n%s", why.c_str(), usage_text.data());
  return kExitUsage;
}

// A progress bar on standard error, only when it is a terminal; at most ten updates a second.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label) : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) == 1) {}
  ~ProgressBar() { finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  audit::Progress callback() {
    if (!enabled_) return {};
    return [this](std::uint64_t done, std::uint64_t total) { update(done, total); };
  }
  void finish() {
    if (enabled_ && drawn_) std::fputs("\r\033[K", stderr);
    drawn_ = false;
  }

 private:
  void update(std::uint64_t done, std::uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done < total) return;
    last_ = now;
    drawn_ = true;
    constexpr int kWidth = 30;
    const double fraction = total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(kWidth - filled), '.');
    const double seconds = std::chrono::duration<double>(now - started_).count();
    std::fprintf(stderr, "\r%s [%s] %3d%% %llu/%llu records %.1f s\033[K", label_.c_str(), bar.c_str(),
                 static_cast<int>(fraction * 100), static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total), seconds);
  }
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

int run_export(Args args) {
  std::optional<std::string> config_path, database, out;
  store::DatabaseOptions database_options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::optional<std::string>* target = nullptr;
    if (args[i] == "--config") target = &config_path;
    else if (args[i] == "--database") target = &database;
    else if (args[i] == "--out") target = &out;
    if (target == nullptr || i + 1 >= args.size()) {
      return usage(kLogUsage, "log export: unexpected '" + std::string(args[i]) + "'");
    }
    *target = std::string(args[++i]);
  }
  if (!out || config_path.has_value() == database.has_value()) {
    return usage(kLogUsage, "log export needs --out DIR and one of --config FILE or --database FILE");
  }
  if (config_path) {
    auto text = read_file(*config_path);
    if (!text) {
      std::fprintf(stderr, "txguard log export: %s: %s\n", config_path->c_str(), text.error().c_str());
      return kExitNoInput;
    }
    auto config = service::parse_config(*text, fs::path(*config_path).parent_path().string());
    if (!config) {
      for (const auto& p : config.error()) std::fprintf(stderr, "%s: %s\n", config_path->c_str(), p.c_str());
      return kExitDataErr;
    }
    database = config->database;
    auto password = read_database_password(config->database_password_file, config->database_password_env);
    if (!password) {
      std::fprintf(stderr, "txguard log export: %s: %s\n", config_path->c_str(), password.error().c_str());
      return kExitDataErr;
    }
    database_options.password = std::move(*password);
  }
  std::error_code ec;
  if (fs::exists(*out) && !fs::is_empty(*out, ec)) {
    std::fprintf(stderr, "txguard log export: %s exists and is not empty\n", out->c_str());
    return kExitCantCreate;
  }
  ProgressBar bar("export");
  auto summary = audit::export_log(*database, *out, bar.callback(), database_options);
  bar.finish();
  if (!summary) {
    std::fprintf(stderr, "txguard log export: %s\n", summary.error().c_str());
    return store::is_postgres_url(*database) || fs::exists(*database) ? kExitSoftware : kExitNoInput;
  }
  std::printf("exported %llu records, %llu tree heads, %llu documents to %s\n",
              static_cast<unsigned long long>(summary->records), static_cast<unsigned long long>(summary->heads),
              static_cast<unsigned long long>(summary->documents), out->c_str());
  if (summary->log_key) std::printf("log key: %s\n", codec::to_checksum(*summary->log_key).c_str());
  return kExitOk;
}

int run_verify(Args args) {
  std::optional<std::string> dir;
  std::optional<codec::Address> key;
  bool as_json = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--key" && i + 1 < args.size()) {
      auto a = codec::parse_address(args[++i]);
      if (!a) return usage(kLogUsage, "log verify: --key: " + a.error().message());
      key = *a;
    } else if (args[i] == "--json") {
      as_json = true;
    } else if (!dir && !args[i].starts_with("-")) {
      dir = std::string(args[i]);
    } else {
      return usage(kLogUsage, "log verify: unexpected '" + std::string(args[i]) + "'");
    }
  }
  if (!dir) return usage(kLogUsage, "log verify needs the export's DIR");
  ProgressBar bar("verify");
  auto report = audit::verify_export(*dir, key, bar.callback());
  bar.finish();
  if (!report) {
    std::fprintf(stderr, "txguard log verify: %s\n", report.error().c_str());
    return kExitNoInput;
  }
  const auto key_text = report->log_key ? codec::to_checksum(*report->log_key) : std::string("(no tree head)");
  if (as_json) {
    json out = {{"verified", report->ok()},
                {"records", report->records},
                {"heads", report->heads},
                {"documents", report->documents},
                {"signed_size", report->signed_size},
                {"log_key", report->log_key ? json(key_text) : json(nullptr)},
                {"key_pinned", report->key_pinned}};
    if (report->problem) {
      out["problem"] = {{"where", report->problem->where}, {"what", report->problem->what}};
      if (report->problem->record) out["problem"]["record"] = *report->problem->record;
    }
    std::cout << out.dump(2) << '\n';
  } else if (report->ok()) {
    std::printf("verified: %llu records, %llu signed tree heads, %llu documents\n",
                static_cast<unsigned long long>(report->records), static_cast<unsigned long long>(report->heads),
                static_cast<unsigned long long>(report->documents));
    std::printf("log key: %s%s\n", key_text.c_str(),
                report->key_pinned ? " (pinned)" : " (from the first tree head: compare it with the key you hold)");
    if (report->signed_size < report->records) {
      std::printf("unsigned tail: records %llu..%llu are not under a signed tree head yet\n",
                  static_cast<unsigned long long>(report->signed_size),
                  static_cast<unsigned long long>(report->records - 1));
    }
  } else {
    std::printf("NOT INTACT: %s %s\n", report->problem->where.c_str(), report->problem->what.c_str());
  }
  return report->ok() ? kExitOk : kExitDeny;
}

}  // namespace

int run_log(Args args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kLogUsage.data(), args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  const Args rest(args.data() + 1, args.size() - 1);
  if (args[0] == "export") return run_export(rest);
  if (args[0] == "verify") return run_verify(rest);
  return usage(kLogUsage, "log: unknown subcommand '" + std::string(args[0]) + "'");
}

int run_replay(Args args) {
  std::optional<std::string> dir, policy_path;
  audit::ReplayOptions options;
  bool as_json = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kReplayUsage.data(), stdout);
      return kExitOk;
    }
    if (args[i] == "--policy" && i + 1 < args.size()) {
      policy_path = std::string(args[++i]);
    } else if (args[i] == "--scratch" && i + 1 < args.size()) {
      options.scratch_dir = std::string(args[++i]);
    } else if (args[i] == "--json") {
      as_json = true;
    } else if (!dir && !args[i].starts_with("-")) {
      dir = std::string(args[i]);
    } else {
      return usage(kReplayUsage, "replay: unexpected '" + std::string(args[i]) + "'");
    }
  }
  if (!dir) return usage(kReplayUsage, "replay needs the export's DIR");
  if (policy_path) {
    PolicyTexts texts;
    auto loaded = load_policy_file(*policy_path, "replay", &texts);
    if (!loaded) return loaded.error();
    options.what_if = service::PolicySources{std::move(texts.policy), std::move(texts.files), std::nullopt};
  }
  ProgressBar bar(policy_path ? "what-if" : "replay");
  auto report = audit::replay_export(*dir, options, bar.callback());
  bar.finish();
  if (!report) {
    std::fprintf(stderr, "txguard replay: %s\n", report.error().c_str());
    return kExitNoInput;
  }
  const auto n = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
  if (policy_path) {
    if (as_json) {
      json groups = json::array();
      for (const auto& [pair, count] : report->changes_by_kind) {
        groups.push_back({{"recorded", pair.first.to_json()}, {"what_if", pair.second.to_json()}, {"count", count}});
      }
      json requests = json::array();
      for (const auto& c : report->changes) {
        requests.push_back({{"index", c.index},
                            {"id", c.id},
                            {"at_ms", c.at_ms},
                            {"requester", c.requester},
                            {"recorded", c.recorded.to_json()},
                            {"what_if", c.what_if.to_json()}});
      }
      std::cout << json{{"policy", *policy_path},
                        {"records", report->records},
                        {"decisions", report->decisions},
                        {"changed", report->changed},
                        {"by_outcome", groups},
                        {"requests", requests},
                        {"requests_truncated", report->changes.size() < report->changed}}
                       .dump(2)
                << '\n';
      return kExitOk;
    }
    std::printf("what-if %s: %llu of %llu decisions would be decided differently\n", policy_path->c_str(),
                n(report->changed), n(report->decisions));
    if (report->changed == 0) return kExitOk;
    std::printf("\n%8s  %-44s  %s\n", "count", "recorded", "what-if");
    for (const auto& [pair, count] : report->changes_by_kind) {
      std::printf("%8llu  %-44s  %s\n", n(count), pair.first.text().c_str(), pair.second.text().c_str());
    }
    std::printf("\n%8s  %-28s  %-14s  %-44s  %s\n", "index", "decision", "requester", "recorded", "what-if");
    for (const auto& c : report->changes) {
      std::printf("%8llu  %-28s  %-14s  %-44s  %s\n", n(c.index), c.id.c_str(), c.requester.c_str(),
                  c.recorded.text().c_str(), c.what_if.text().c_str());
    }
    if (report->changes.size() < report->changed) std::printf("(first %zu listed)\n", report->changes.size());
    return kExitOk;
  }
  if (as_json) {
    json list = json::array();
    for (const auto& m : report->mismatches) list.push_back({{"index", m.index}, {"id", m.id}, {"what", m.what}});
    std::cout << json{{"records", report->records},
                      {"decisions", report->decisions},
                      {"reproduced", report->reproduced},
                      {"mismatched", report->mismatched},
                      {"mismatches", list}}
                     .dump(2)
              << '\n';
  } else if (report->mismatched == 0) {
    std::printf("replayed %llu records (%llu decisions): every one reproduced\n", n(report->records), n(report->decisions));
  } else {
    std::printf("replayed %llu records (%llu decisions): %llu NOT reproduced\n", n(report->records),
                n(report->decisions), n(report->mismatched));
    for (const auto& m : report->mismatches) std::printf("  record %llu %s: %s\n", n(m.index), m.id.c_str(), m.what.c_str());
  }
  return report->mismatched == 0 ? kExitOk : kExitDeny;
}

}  // namespace txguard::cli

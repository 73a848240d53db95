// The auditor's tools at scale: a real decision log of N decisions (default 1,000,000) made in-process
// by the service's own pipeline, then `txguard log export`, `txguard log verify` and `txguard replay`
// run on it as child processes (the binary of this build by default), each timed with its peak
// resident memory (wait4 ru_maxrss). The same is done first on a log of N/10 decisions, and the peak
// memory of both sizes is printed side by side: export, verify and replay stream, so it must not grow
// with the log. Exits 1 if a command fails (its output is printed), in particular if replay does not
// reproduce every record. Not a test: it never fails on a timing.
//
// The log: one Safe hot wallet, ~500 Safe transactions per batch, one batch per simulated second,
// USDC and ETH transfers to 1,000 customers in turn, under a policy with fixed prices, a sanctions
// list, a daily USD window per wallet, a 10-minute USD window per wallet and destination (which a few
// "whale" customers exceed), and a hold for transfers above $50,000 (of which a third are approved by
// two approvers, a third rejected, a third left to expire). Requests are decoded from their JSON
// bodies exactly as POST /v1/safe/cosign does (decode_safe_request); every allowed one is signed.
//
//   txguard_bench_log [decisions=1000000] [txguard binary]
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <expected>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/service/pipeline.hpp"
#include "guard/service/requests.hpp"
#include "policy/approval.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/secp256k1.hpp"
#include "signers/keystore.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using namespace txguard;

constexpr service::TimeMs kT0 = 1'795'341'600'000;  // 2026-11-22T10:00:00Z
constexpr std::uint64_t kBatch = 500;                // signing requests per batch (one simulated second)
constexpr std::uint64_t kCustomers = 1000;
constexpr std::uint64_t kHoldEvery = 2000;           // one $60,000 transfer (held) per this many requests
constexpr std::uint64_t kSanctionedEvery = 1000;     // one transfer to a sanctioned address per this many

// Anvil's standard test accounts (public test keys): the guard, and two approvers.
constexpr const char* kGuardKey = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
constexpr const char* kAliceKey = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
constexpr const char* kBobKey = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
constexpr const char* kSafe = "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4";
constexpr const char* kUsdc = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48";
constexpr const char* kSanctioned[] = {"0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
                                       "0x96221423681A6d52E184D440a8eFCEbB105C7242"};

codec::SecretKey key_of(const char* hex) { return codec::SecretKey(*codec::from_hex_fixed<32>(hex)); }
std::string checksum_of_key(const char* hex) { return codec::to_checksum(*codec::address_of(key_of(hex))); }

double mb(double kb) { return kb / 1024.0; }
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string policy_text() {
  const json policy = {
      {"txguard_policy", 1},
      {"name", "log-bench"},
      {"chains", {{"ethereum", {{"id", 1}}}}},
      {"assets",
       {{"ETH", {{"chain", "ethereum"}, {"native", true}, {"decimals", 18}}},
        {"USDC", {{"chain", "ethereum"}, {"address", kUsdc}, {"decimals", 6}}}}},
      {"prices", {{"fixed", {{"USDC", "1"}, {"ETH", "3000"}}}}},
      {"lists", {{"sanctioned", {{"addresses", {kSanctioned[0], kSanctioned[1]}}}}}},
      {"approvers",
       {{"alice", {{"address", checksum_of_key(kAliceKey)}}}, {"bob", {{"address", checksum_of_key(kBobKey)}}}}},
      {"wallets",
       {{"hot", {{"chain", "ethereum"}, {"address", kSafe}, {"kind", "safe"}, {"safe_version", "1.4.1"}}}}},
      {"limits",
       {{"daily-usd", {{"window", "24h"}, {"max_usd", "1000000000"}, {"per", {"wallet"}}}},
        {"per-customer", {{"window", "10m"}, {"max_usd", "20000"}, {"per", {"wallet", "destination"}}}}}},
      {"rules",
       json::array({{{"id", "deny-sanctioned"}, {"match", {{"any_address", "sanctioned"}}}, {"effect", "deny"},
                     {"reason", "sanctioned-address"}},
                    {{"id", "large"},
                     {"match", {{"leg", "transfer"}, {"usd", {{">", "50000"}}}}},
                     {"effect", "hold"},
                     {"hold", {{"approvers", {"alice", "bob"}}, {"quorum", 2}, {"expires", "30s"}, {"reject", "deny"}}},
                     {"limits", {"daily-usd"}}},
                    {{"id", "withdrawal"}, {"match", {{"leg", "transfer"}}}, {"effect", "allow"},
                     {"limits", {"daily-usd", "per-customer"}}}})}};
  return policy.dump(2);
}

// Customer c's address: the last 20 bytes of keccak256("customer" || c), so addresses look real.
std::string customer(std::uint64_t c) {
  const std::string seed = "customer-" + std::to_string(c);
  const codec::Hash32 h = codec::keccak256(codec::ByteView(reinterpret_cast<const std::uint8_t*>(seed.data()), seed.size()));
  codec::Address a;
  std::copy(h.begin() + 12, h.end(), a.bytes.begin());
  return codec::to_checksum(a);
}

json safe_body(const std::string& to, const std::string& value, const std::string& data, std::uint64_t nonce) {
  return {{"chainId", 1},
          {"safe", kSafe},
          {"to", to},
          {"value", value},
          {"data", data},
          {"operation", 0},
          {"safeTxGas", "0"},
          {"baseGas", "0"},
          {"gasPrice", "0"},
          {"gasToken", "0x0000000000000000000000000000000000000000"},
          {"refundReceiver", "0x0000000000000000000000000000000000000000"},
          {"nonce", nonce}};
}

json usdc_body(const std::string& to, std::uint64_t usd, std::uint64_t nonce) {
  char amount[72];
  std::snprintf(amount, sizeof amount, "%064" PRIx64, usd * 1'000'000);
  // transfer(address,uint256): selector a9059cbb, the address word, the amount word.
  const std::string data = "0xa9059cbb000000000000000000000000" + codec::to_hex(codec::parse_address(to)->view()).substr(2) + amount;
  return safe_body(kUsdc, "0", data, nonce);
}

json eth_body(const std::string& to, std::uint64_t usd, std::uint64_t nonce) {
  return safe_body(to, std::to_string(usd * 1'000'000'000'000'000ULL / 3), "0x", nonce);  // usd / 3000 ETH in wei
}

// Request i of the log: mostly small transfers; "whale" customers (every 50th) send enough that their
// 10-minute window runs out; every kSanctionedEvery-th goes to a sanctioned address, every
// kHoldEvery-th is $60,000 (held).
json request_body(std::uint64_t i) {
  const std::uint64_t c = i % kCustomers;
  const std::uint64_t mix = (i * 2654435761ULL) >> 7;  // a cheap deterministic scramble
  if (i % kSanctionedEvery == 7) return usdc_body(kSanctioned[(i / kSanctionedEvery) % 2], 5 + mix % 50, i);
  if (i % kHoldEvery == kHoldEvery / 2) return usdc_body(customer(c), 60'000, i);
  const std::uint64_t usd = c % 50 == 7 ? 1000 + mix % 2000 : 5 + mix % 50;
  return i % 4 == 1 ? eth_body(customer(c), usd, i) : usdc_body(customer(c), usd, i);
}

struct Tally {
  std::uint64_t decisions = 0;
  std::map<std::string, std::uint64_t> outcomes;  // "allowed", "denied sanctioned-address", ...
  std::uint64_t approvals = 0;
  std::string failure;
};

struct HeldRequest {
  std::string decision_id;
  codec::Hash32 digest{};
  std::uint64_t ordinal = 0;
};

codec::Bytes approval_signature(const char* approver, const HeldRequest& held, policy::ApprovalVerdict verdict) {
  const auto digest = policy::approval_digest(held.digest, held.decision_id, verdict);
  auto sig = codec::sign_digest(digest, key_of(approver));
  if (!sig) std::abort();
  const auto rsv = sig->to_rsv(27);
  return codec::Bytes(rsv.begin(), rsv.end());
}

std::shared_ptr<const signers::Signer> signer_for(const codec::SecretKey& key) {
  auto s = signers::KeystoreSigner::from_key(key);
  if (!s) std::abort();
  return std::make_shared<signers::KeystoreSigner>(std::move(*s));
}

// Makes the log of `n` decisions in `database`. Returns the tally.
std::expected<Tally, std::string> generate(const std::string& database, std::uint64_t n) {
  auto set = service::build_policy_set(service::PolicySources{policy_text(), {}, std::nullopt}, std::nullopt);
  if (!set) {
    std::string why;
    for (const auto& p : set.error()) why += p + "\n";
    return std::unexpected("policy: " + why);
  }
  auto policy_set = std::make_shared<const service::PolicySet>(std::move(*set));
  codec::Hash32 log_key{};
  log_key[31] = 10;
  auto now = std::make_shared<service::TimeMs>(kT0);
  service::PipelineOptions options;
  options.database = database;
  options.sequencer = false;
  options.durable = false;
  options.log_signer = signer_for(codec::SecretKey(log_key));
  options.head_every_records = 1000;
  options.clock = [now] { return *now; };
  auto started = service::Pipeline::start(options, policy_set, signer_for(key_of(kGuardKey)));
  if (!started) return std::unexpected(started.error());
  service::Pipeline& pipeline = **started;

  Tally tally;
  std::vector<HeldRequest> held;      // decided in the last batch, to approve or reject in this one
  std::vector<HeldRequest> just_held;
  std::uint64_t holds = 0;
  for (std::uint64_t first = 0; first < n; first += kBatch) {
    std::vector<service::Pipeline::Job> jobs;
    for (const HeldRequest& h : held) {
      const auto record = [&tally](service::ApprovalOutcome o) {
        ++tally.approvals;
        if (o.code != service::ApprovalOutcome::Code::kAccepted && tally.failure.empty()) {
          tally.failure = "an approval was not accepted: " + o.error;
        }
        if (o.request.status != service::Status::kPending) ++tally.outcomes["hold " + std::string(service::to_string(o.request.status))];
      };
      if (h.ordinal % 3 == 0) {
        jobs.emplace_back(service::Pipeline::ApproveJob{h.decision_id, policy::ApprovalVerdict::kApprove,
                                                        approval_signature(kAliceKey, h, policy::ApprovalVerdict::kApprove), record,
                                                        policy::Submitter{"alice", "alice"}});
        jobs.emplace_back(service::Pipeline::ApproveJob{h.decision_id, policy::ApprovalVerdict::kApprove,
                                                        approval_signature(kBobKey, h, policy::ApprovalVerdict::kApprove), record,
                                                        policy::Submitter{"bob", "bob"}});
      } else if (h.ordinal % 3 == 1) {
        jobs.emplace_back(service::Pipeline::ApproveJob{h.decision_id, policy::ApprovalVerdict::kReject,
                                                        approval_signature(kAliceKey, h, policy::ApprovalVerdict::kReject), record,
                                                        policy::Submitter{"alice", "alice"}});
      }
    }
    held.clear();
    for (std::uint64_t i = first; i < std::min(n, first + kBatch); ++i) {
      auto request = service::decode_safe_request(request_body(i).dump(), policy_set->policy, "ops");
      if (!request) return std::unexpected("request " + std::to_string(i) + ": " + request.error().message);
      const codec::Hash32 digest = request->digest;
      jobs.emplace_back(service::Pipeline::SignJob{
          std::move(*request), false,
          [&tally, &just_held, &holds, digest](service::Outcome o) {
            ++tally.decisions;
            std::string what(o.status == service::Status::kPending ? "held" : service::to_string(o.status));
            if (o.status == service::Status::kDenied) {
              for (const auto& r : o.reason_codes) what += " " + r;
            }
            ++tally.outcomes[what];
            if (o.status == service::Status::kPending) just_held.push_back({o.decision_id, digest, holds++});
            if (o.status == service::Status::kUnavailable && tally.failure.empty()) tally.failure = "unavailable: " + o.error;
          },
          {}});
    }
    if (!pipeline.run_batch(jobs, *now)) return std::unexpected("the batch at " + std::to_string(first) + " did not commit");
    if (!tally.failure.empty()) return std::unexpected(tally.failure);
    held.swap(just_held);
    *now += 1000;
  }
  pipeline.sign_head_now();
  pipeline.stop();
  return tally;
}

struct Child {
  int exit_code = -1;  // -1: killed by a signal or not started
  double seconds = 0;
  long peak_rss_kb = 0;
  std::string output;
};

// Runs `binary args...` with standard output and error in `log`, and waits for it (wait4: its own
// peak resident set).
Child run(const std::string& binary, std::vector<std::string> args, const fs::path& log) {
  Child child;
  args.insert(args.begin(), binary);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  const auto start = Clock::now();
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    child.output = "cannot start " + binary + ": " + std::strerror(spawned);
    return child;
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  child.seconds = seconds_since(start);
  child.peak_rss_kb = usage.ru_maxrss;  // kilobytes on Linux
  if (WIFEXITED(status)) child.exit_code = WEXITSTATUS(status);
  std::ifstream in(log);
  std::ostringstream text;
  text << in.rdbuf();
  child.output = text.str();
  return child;
}

std::uintmax_t tree_size(const fs::path& dir) {
  std::uintmax_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

struct SizeResult {
  std::uint64_t decisions = 0;
  std::uint64_t records = 0;
  long peak_kb[3] = {0, 0, 0};  // export, verify, replay
};

// Generates a log of `n` decisions under `dir`, exports, verifies and replays it. nullopt: a command
// failed (printed).
std::optional<SizeResult> run_size(const std::string& binary, const fs::path& dir, std::uint64_t n) {
  const fs::path database = dir / "txguard.db";
  const fs::path out = dir / "export";
  std::printf("\n%" PRIu64 " decisions (%" PRIu64 " batches of %" PRIu64 ", one per simulated second)\n", n,
              (n + kBatch - 1) / kBatch, kBatch);
  const auto gen_start = Clock::now();
  auto tally = generate(database.string(), n);
  const double gen_s = seconds_since(gen_start);
  if (!tally) {
    std::printf("  generation FAILED: %s\n", tally.error().c_str());
    return std::nullopt;
  }
  std::uintmax_t db_bytes = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) db_bytes += e.file_size();
  }
  std::printf("  generate  %.1f s, %.0f decisions/s in-process (run_batch, durable=false: synchronous=OFF, "
              "no fsync; the service runs synchronous=FULL), database %.1f MB\n",
              gen_s, static_cast<double>(tally->decisions) / gen_s, static_cast<double>(db_bytes) / 1e6);
  std::printf("            outcomes:");
  for (const auto& [what, count] : tally->outcomes) std::printf(" %s %" PRIu64 ";", what.c_str(), count);
  std::printf(" (%" PRIu64 " approval records)\n", tally->approvals);

  SizeResult result;
  result.decisions = tally->decisions;
  const struct {
    const char* label;
    std::vector<std::string> args;
  } commands[] = {{"export", {"log", "export", "--database", database.string(), "--out", out.string()}},
                  {"verify", {"log", "verify", out.string()}},
                  {"replay", {"replay", out.string()}}};
  for (int c = 0; c < 3; ++c) {
    const Child child = run(binary, commands[c].args, dir / (std::string(commands[c].label) + ".out"));
    if (c == 0) {
      std::ifstream in(out / "manifest.json");
      const json manifest = json::parse(in, nullptr, false);
      if (manifest.is_object() && manifest.contains("records") && manifest["records"].is_number_unsigned()) {
        result.records = manifest["records"].get<std::uint64_t>();
      }
    }
    std::printf("  %-8s  %7.1f s  %9.0f records/s  peak RSS %7.1f MB  exit %d: %s\n", commands[c].label, child.seconds,
                static_cast<double>(result.records) / child.seconds, mb(static_cast<double>(child.peak_rss_kb)),
                child.exit_code, first_line(child.output).c_str());
    if (child.exit_code != 0) {
      std::printf("  %s FAILED (exit %d); `txguard", commands[c].label, child.exit_code);
      for (const auto& a : commands[c].args) std::printf(" %s", a.c_str());
      std::printf("` printed:\n%s\n", child.output.c_str());
      return std::nullopt;
    }
    if (c == 0) {
      std::printf("            export %.1f MB on disk (%.0f bytes/record): %" PRIu64 " records for %" PRIu64 " decisions\n",
                  static_cast<double>(tree_size(out)) / 1e6,
                  result.records == 0 ? 0.0 : static_cast<double>(tree_size(out)) / static_cast<double>(result.records),
                  result.records, result.decisions);
    }
    result.peak_kb[c] = child.peak_rss_kb;
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const std::string binary = argc > 2 ? argv[2] : TXGUARD_BINARY;
  if (n < 10) {
    std::fprintf(stderr, "usage: txguard_bench_log [decisions>=10, default 1000000] [txguard binary]\n");
    return 64;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each line as it is printed, also into a file
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/txguard-bench-log-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::fprintf(stderr, "cannot create a directory from %s\n", pattern.c_str());
    return 1;
  }
  const fs::path root = pattern;
  std::printf("txguard decision log benchmark: %s on logs of %" PRIu64 " and %" PRIu64
              " decisions (Safe USDC/ETH transfers to %" PRIu64 " customers; fixed prices, sanctions list, daily "
              "USD window per wallet, 10-minute USD window per destination, holds above $50,000), tree head every "
              "1000 records, in %s\n",
              binary.c_str(), n / 10, n, kCustomers, root.c_str());

  std::optional<SizeResult> results[2];
  const std::uint64_t sizes[2] = {n / 10, n};
  for (int s = 0; s < 2; ++s) {
    const fs::path dir = root / std::to_string(sizes[s]);
    fs::create_directories(dir);
    results[s] = run_size(binary, dir, sizes[s]);
    if (!results[s]) {
      std::printf("\nleft in %s for inspection\n", root.c_str());
      return 1;
    }
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }

  const double ratio_records = static_cast<double>(results[1]->records) / static_cast<double>(results[0]->records);
  std::printf("\npeak RSS by log size (streaming: it should not grow with the log, which grew %.1fx)\n", ratio_records);
  std::printf("  %-8s  %14" PRIu64 "  %14" PRIu64 "  %6s\n", "records", results[0]->records, results[1]->records, "ratio");
  const char* labels[] = {"export", "verify", "replay"};
  for (int c = 0; c < 3; ++c) {
    const double small = static_cast<double>(results[0]->peak_kb[c]);
    const double large = static_cast<double>(results[1]->peak_kb[c]);
    std::printf("  %-8s  %11.1f MB  %11.1f MB  %6.2f\n", labels[c], mb(small), mb(large), small > 0 ? large / small : 0.0);
  }
  std::error_code ignored;
  fs::remove_all(root, ignored);
  return 0;
}

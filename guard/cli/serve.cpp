// txguard serve: the co-signer service. txguard token new: a client token and its digest.
#include <openssl/rand.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "guard/cli/cli.hpp"
#include "guard/http/server.hpp"
#include "guard/service/config.hpp"
#include "guard/service/pipeline.hpp"
#include "guard/service/service.hpp"
#include "guard/store/schema.hpp"
#include "guard/store/sql.hpp"
#include "policy/codec/address.hpp"
#include "policy/document.hpp"
#include "policy/prices.hpp"
#include "signers/keystore.hpp"
#include "signers/secure_memory.hpp"

namespace txguard::cli {
namespace {

namespace fs = std::filesystem;
using service::LogLevel;

constexpr std::string_view kServeUsage =
    "usage: txguard serve --config FILE\n"
    "\n"
    "Runs the co-signer: REST (/v1/safe/cosign, /v1/evaluate, /v1/holds, /v1/decisions), JSON-RPC\n"
    "(/rpc), /healthz, /readyz and /metrics, as the configuration file says (see README.md,\n"
    "\"Configuration\"). Start-up checks everything first and stops, naming the field or file, when\n"
    "the configuration, the policy, its lists or prices, the database or the keystore is not right.\n"
    "The keystore's passphrase comes from the file or environment variable the configuration names,\n"
    "never from the command line. SIGTERM or SIGINT: stop accepting, finish the requests in flight,\n"
    "commit the decision log, exit 0.\n"
    "\n"
    "exit status: 0 after a clean shutdown, 64 usage error, 65 bad configuration or policy, 66 a file\n"
    "that cannot be read, 69 the address cannot be bound or TLS material is unusable, 75 the database\n"
    "is unavailable, 78 the database's schema is older (run: txguard db migrate --config FILE) or newer\n"
    "than this txguard, or not txguard's.\n";

constexpr std::string_view kTokenUsage =
    "usage: txguard token new\n"
    "\n"
    "Prints a new random client token (32 bytes from the OS's CSPRNG, hex) and its SHA-256, the value a\n"
    "client's \"token_sha256\" holds in the configuration. Give the token to the client only; the\n"
    "configuration never holds it.\n";

constexpr int kExitUnavailable = 69;
constexpr std::size_t kMaxSecretBytes = 4096;

class Logger {
 public:
  explicit Logger(LogLevel level) : level_(level) {}
  void operator()(LogLevel level, const std::string& line) {
    if (level > level_) return;
    static constexpr const char* kNames[] = {"error", "warn", "info", "debug"};
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::lock_guard lock(mutex_);
    std::fprintf(stderr, "%s.%03dZ %s %s\n", stamp, static_cast<int>(ms), kNames[static_cast<int>(level)], line.c_str());
  }

 private:
  LogLevel level_;
  std::mutex mutex_;
};

// The keystore passphrase from the configured file (one line, final newline dropped) or variable.
// `taken`: passphrases already taken from the environment at start-up (two keys may name one variable).
// `file_field` and `env_field` name the two fields in messages.
std::expected<std::string, std::string> read_passphrase(const service::KeystoreConfig& k, const std::string& path,
                                                        std::map<std::string, std::string>& taken,
                                                        const std::string& file_field = ".passphrase_file",
                                                        const std::string& env_field = ".passphrase_env") {
  std::string out;
  if (k.passphrase_env) {
    // Read once and removed, its bytes overwritten where /proc/PID/environ shows them.
    if (!taken.contains(*k.passphrase_env)) {
      auto value = signers::take_environment_secret(*k.passphrase_env);
      if (!value) return std::unexpected(path + env_field + ": " + *k.passphrase_env + " is not set");
      taken[*k.passphrase_env] = std::move(*value);
      signers::wipe(*value);
    }
    out = taken.at(*k.passphrase_env);
  } else {
    auto text = read_file(*k.passphrase_file);
    if (!text) return std::unexpected(path + file_field + ": " + *k.passphrase_file + ": " + text.error());
    out = std::move(*text);
    signers::wipe(*text);
    if (out.size() > kMaxSecretBytes) {
      signers::wipe(out);
      return std::unexpected(path + file_field + ": " + *k.passphrase_file + " is not a passphrase file (too large)");
    }
    if (out.ends_with('\n')) out.pop_back();
    if (out.ends_with('\r')) out.pop_back();
  }
  if (out.empty()) return std::unexpected(path + (k.passphrase_env ? env_field : file_field) + ": empty secret refused");
  return out;
}

}  // namespace

std::expected<std::string, std::string> read_database_password(const std::optional<std::string>& file,
                                                               const std::optional<std::string>& env) {
  if (!file && !env) return std::string();
  service::KeystoreConfig source;  // the same reading rules as a keystore passphrase
  source.passphrase_file = file;
  source.passphrase_env = env;
  std::map<std::string, std::string> taken;
  auto password = read_passphrase(source, "$", taken, ".database_password_file", ".database_password_env");
  for (auto& [name, value] : taken) signers::wipe(value);
  return password;
}

namespace {

// A key, passphrase or database file that group or others can read (or write) stops start-up: the
// co-signing key is only as safe as its keystore's passphrase, and the database holds every decision.
std::optional<std::string> exposed_file(const std::string& path, const std::string& field) {
  // systemd's credentials (LoadCredential=) are readable by this service alone whatever their mode bits
  // say (newer systemd grants the service user an ACL on a root-owned 0440 file).
  if (const char* credentials = std::getenv("CREDENTIALS_DIRECTORY"); credentials != nullptr && *credentials != '\0') {
    const std::string dir = std::string(credentials) + "/";
    if (path.starts_with(dir) && path.find("/../") == std::string::npos) return std::nullopt;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;  // a missing file is reported where it is read
  const unsigned mode = static_cast<unsigned>(st.st_mode) & 07777u;
  if ((mode & 077u) == 0) return std::nullopt;
  char octal[8];
  std::snprintf(octal, sizeof octal, "%04o", mode);
  return field + ": " + path + " is open to group or others (mode " + octal + "); fix: chmod 600 " + path;
}

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "txguard serve: %s\n", message.c_str());
  return code;
}

}  // namespace

int run_token(Args args) {
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(kTokenUsage.data(), stdout);
    return kExitOk;
  }
  if (args.size() != 1 || args[0] != "new") {
    std::fputs(kTokenUsage.data(), stderr);
    return kExitUsage;
  }
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    std::fputs("txguard token: the OS random generator failed\n", stderr);
    return kExitSoftware;
  }
  std::string token = "txg_" + codec::to_hex(codec::ByteView(bytes.data(), bytes.size())).substr(2);
  std::printf("token: %s\nsha256: %s\n", token.c_str(), codec::to_hex(service::token_digest(token)).substr(2).c_str());
  signers::wipe(token);
  return kExitOk;
}

int run_serve(Args args) {
  std::optional<std::string> config_path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kServeUsage.data(), stdout);
      return kExitOk;
    }
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_path = std::string(args[++i]);
      continue;
    }
    std::fprintf(stderr, "txguard serve: unknown argument '%.*s'\n%s", static_cast<int>(args[i].size()), args[i].data(),
                 kServeUsage.data());
    return kExitUsage;
  }
  if (!config_path) {
    std::fputs(kServeUsage.data(), stderr);
    return kExitUsage;
  }

  // Configuration.
  auto config_text = read_file(*config_path);
  if (!config_text) return fail(kExitNoInput, *config_path + ": " + config_text.error());
  auto config = service::parse_config(*config_text, fs::path(*config_path).parent_path().string());
  if (!config) {
    for (const auto& problem : config.error()) std::fprintf(stderr, "%s: %s\n", config_path->c_str(), problem.c_str());
    return fail(kExitDataErr, *config_path + ": " + std::to_string(config.error().size()) + " problem(s)");
  }
  Logger logger(config->log_level);
  // What txguard creates (the database, its journal, the port file) is the owner's alone.
  ::umask(077);
  {
    std::vector<std::string> exposed;
    const auto check = [&](const std::optional<std::string>& path, const std::string& field) {
      if (!path) return;
      if (auto problem = exposed_file(*path, field)) exposed.push_back(std::move(*problem));
    };
    check(config->keystore.file, "$.keystore.file");
    check(config->keystore.passphrase_file, "$.keystore.passphrase_file");
    check(config->decision_log.key.file, "$.decision_log.key.file");
    check(config->decision_log.key.passphrase_file, "$.decision_log.key.passphrase_file");
    check(config->database_password_file, "$.database_password_file");
    if (!store::is_postgres_url(config->database)) {
      check(config->database, "$.database");
      for (const char* suffix : {"-wal", "-shm", "-journal"}) check(config->database + suffix, "$.database");
    }
    if (!exposed.empty()) {
      for (const auto& problem : exposed) std::fprintf(stderr, "%s: %s\n", config_path->c_str(), problem.c_str());
      return fail(kExitDataErr, *config_path + ": " + std::to_string(exposed.size()) + " file(s) open to group or others");
    }
  }

  // Policy, lists and prices: refused exactly as `txguard policy check` and `txguard eval` refuse them,
  // then built again from the texts read, exactly as a replay of the decision log rebuilds them.
  const auto read_sources = [](const std::string& path, const std::optional<std::string>& prices_path)
      -> std::expected<service::PolicySources, int> {
    PolicyTexts texts;
    auto loaded = load_policy_file(path, "serve", &texts);
    if (!loaded) return std::unexpected(loaded.error());
    service::PolicySources sources{std::move(texts.policy), std::move(texts.files), std::nullopt};
    auto prices = load_prices(*loaded, path, prices_path, "serve", &sources.prices);
    if (!prices) return std::unexpected(prices.error());
    return sources;
  };
  auto sources = read_sources(config->policy_file, config->prices_file);
  if (!sources) return sources.error();
  std::optional<service::PolicySources> shadow_sources;
  if (config->shadow_policy_file) {
    auto shadow = read_sources(*config->shadow_policy_file, std::nullopt);
    if (!shadow) return shadow.error();
    shadow_sources = std::move(*shadow);
  }
  auto built = service::build_policy_set(std::move(*sources), std::move(shadow_sources));
  if (!built) {
    for (const auto& problem : built.error()) std::fprintf(stderr, "txguard serve: %s\n", problem.c_str());
    return kExitDataErr;
  }
  auto set = std::make_shared<service::PolicySet>(std::move(*built));
  // Every client bound to an approver names one the policy declares.
  for (std::size_t i = 0; i < config->clients.size(); ++i) {
    const auto& bound = config->clients[i].approver;
    if (!bound) continue;
    const auto& approvers = set->policy.approvers;
    if (std::none_of(approvers.begin(), approvers.end(), [&](const auto& a) { return a.name == *bound; })) {
      return fail(kExitDataErr, *config_path + ": $.clients[" + std::to_string(i) + "].approver: \"" + *bound +
                                    "\" is not an approver of the policy " + set->policy.name);
    }
  }

  // The co-signing key and the log key (two different keys: a head signature is never a co-signature).
  std::map<std::string, std::string> taken_env;
  struct WipeTaken {
    std::map<std::string, std::string>& secrets;
    ~WipeTaken() {
      for (auto& [name, value] : secrets) signers::wipe(value);
    }
  } wipe_taken{taken_env};
  const auto open_key = [&taken_env](const service::KeystoreConfig& k,
                                     const std::string& path) -> std::expected<std::shared_ptr<signers::KeystoreSigner>, int> {
    auto keystore_text = read_file(k.file);
    if (!keystore_text) return std::unexpected(fail(kExitNoInput, path + ".file: " + k.file + ": " + keystore_text.error()));
    auto passphrase = read_passphrase(k, path, taken_env);
    if (!passphrase) {
      return std::unexpected(
          fail(passphrase.error().find("not set") != std::string::npos ? kExitUsage : kExitDataErr, passphrase.error()));
    }
    auto key = signers::KeystoreSigner::open(*keystore_text, *passphrase);
    signers::wipe(*passphrase);
    if (!key) return std::unexpected(fail(kExitDataErr, path + ".file: " + k.file + ": " + key.error().message()));
    return std::make_shared<signers::KeystoreSigner>(std::move(*key));
  };
  auto signer_key = open_key(config->keystore, "$.keystore");
  if (!signer_key) return signer_key.error();
  auto signer = std::move(*signer_key);
  auto log_key = open_key(config->decision_log.key, "$.decision_log.key");
  if (!log_key) return log_key.error();
  if ((*log_key)->address() == signer->address()) {
    return fail(kExitDataErr, "$.decision_log.key: the log key must not be the co-signing key (" +
                                  codec::to_checksum(signer->address()) + "): make one with txguard keys new");
  }

  // Database and pipeline.
  service::PipelineOptions popts;
  popts.database = config->database;
  {
    auto password = read_database_password(config->database_password_file, config->database_password_env);
    if (!password) return fail(kExitDataErr, password.error());
    popts.database_password = std::move(*password);
    signers::wipe(*password);
  }
  popts.log_signer = *log_key;
  popts.head_every_records = config->decision_log.head_every_records;
  popts.head_every = std::chrono::seconds(config->decision_log.head_every_seconds);
  popts.max_queue = config->limits.max_queue;
  {
    // The schema first: an empty database is created at the current version; an older or newer one
    // stops start-up naming what to run (exit 78: retrying will not help).
    store::DatabaseOptions schema_options;
    schema_options.password = popts.database_password;
    schema_options.check_integrity = false;  // the pipeline's store checks at its own open
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto schema = store::ensure_current_schema(popts.database, schema_options, now,
                                               "txguard db migrate --config " + *config_path);
    signers::wipe(schema_options.password);
    if (!schema) {
      return fail(schema.error().code == policy::StateErrc::kForeign ? kExitConfig : kExitTempFail,
                  "database " + store::redact_database(popts.database) + ": " + schema.error().message());
    }
  }
  auto pipeline = service::Pipeline::start(popts, set, signer);
  if (!pipeline) return fail(kExitTempFail, pipeline.error());

  service::ServiceOptions sopts;
  sopts.clients = config->clients;
  sopts.requests_per_second = config->limits.requests_per_second;
  sopts.burst = config->limits.burst;
  sopts.refusals_per_second = config->limits.refusals_per_second;
  sopts.refusals_burst = config->limits.refusals_burst;
  sopts.upstream = config->upstream;
  sopts.bridge_rpc = config->bridge.rpc;
  sopts.bridge_timeout = std::chrono::milliseconds(config->bridge.timeout_ms);
  for (const auto chain : config->bridge.single_source_chains) {
    sopts.warnings.push_back("bridge.rpc." + std::to_string(chain) +
                             ": deposits are confirmed by a single source (accept_single_source)");
    logger(LogLevel::kWarn, sopts.warnings.back());
  }
  sopts.log = [&logger](LogLevel level, const std::string& line) { logger(level, line); };
  auto svc = service::Service::create(sopts, **pipeline);
  if (!svc) return fail(kExitDataErr, svc.error());

  // Signals are taken by sigwait on this thread only: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  http::ServerOptions hopts;
  hopts.host = config->host;
  hopts.port = config->port;
  hopts.max_body_bytes = config->limits.max_body_bytes;
  hopts.max_connections = config->limits.max_connections;
  hopts.max_connections_per_address = config->limits.max_connections_per_address;
  hopts.header_timeout = std::chrono::milliseconds(config->limits.header_timeout_ms);
  hopts.body_timeout = std::chrono::milliseconds(config->limits.request_timeout_ms);
  hopts.response_timeout = std::chrono::milliseconds(config->limits.request_timeout_ms);
  hopts.threads = config->threads;
  if (config->tls) {
    hopts.tls = http::TlsOptions{config->tls->cert_file, config->tls->key_file, config->tls->client_ca_file,
                                 config->tls->require_client_cert};
  }
  auto server = http::Server::start(hopts, **svc);
  if (!server) return fail(kExitUnavailable, server.error());
  const std::string scheme = (*server)->tls() ? "https" : "http";
  const std::string url = scheme + "://" + (config->host.find(':') != std::string::npos ? "[" + config->host + "]" : config->host) +
                          ":" + std::to_string((*server)->port());
  if (config->port_file) {
    std::ofstream out(*config->port_file, std::ios::trunc);
    out << (*server)->port() << '\n';
    if (!out) logger(LogLevel::kWarn, "could not write the port file " + *config->port_file);
  }
  if (!config->tls && config->insecure_plaintext) {
    logger(LogLevel::kWarn, "insecure_plaintext: serving plain HTTP on " + config->host +
                                ": bearer tokens and requests cross the network in clear");
  }
  (*svc)->set_ready(true);
  logger(LogLevel::kInfo, "policy " + set->policy.name + " " + codec::to_hex(set->policy.hash) + ", signer " +
                              codec::to_checksum(signer->address()) + ", database " +
                              store::redact_database(config->database));
  std::fprintf(stderr, "txguard: listening on %s\n", url.c_str());
  std::fflush(stderr);

  int received = 0;
  sigwait(&signals, &received);
  logger(LogLevel::kInfo, std::string("shutting down (") + (received == SIGTERM ? "SIGTERM" : "SIGINT") + ")");
  (*svc)->set_ready(false);
  (*server)->stop(std::chrono::milliseconds(10'000));
  (*svc)->flush_refusals();  // the refusals still counted in summaries, before the log closes
  (*pipeline)->stop();
  logger(LogLevel::kInfo, "stopped");
  return kExitOk;
}

}  // namespace txguard::cli

// The co-signing throughput of `txguard serve`, end to end over HTTP, next to two references measured
// the same way in the same run. txguard: a real server process (the release binary, the demo
// hot-wallet policy with the OFAC and FBI lists loaded, SQLite with the durable decision log on: WAL,
// synchronous=FULL, group commit). The peer: what a team would write instead, Node + ethers in two
// processes (tests/js/bench/naive_signer.mjs: parse, hash the SafeTx, sign; no policy, no log). The
// limit: our own minimal Beast server (txguard_bench_limit_server: parse, hash, sign with txguard's
// codec and libsecp256k1 on every core; no policy, no log). Each is driven alone by the same load
// generator: N keep-alive connections (default 32) posting the same distinct Safe USDC withdrawals,
// one warm-up second, then the measured seconds. Prints co-signatures per second, p50/p99/max latency
// as the client sees it, how busy the load generator's one thread was (near 100% of a core: the
// client, not the server, bounded the figure), the ratios txguard/peer and txguard/limit, the
// issue-14 goals reached or not, the raw libsecp256k1 signing rate measured in the same run (the
// bound no co-signer can beat per core), and txguard's peak resident memory (VmHWM). A reference that cannot run (no node, no
// tests/js/node_modules, no limit server binary) prints "skipped: ..." and the others still run.
// Not a test: it never fails on a timing.
//
// With TXGUARD_BENCH_POSTGRES naming a PostgreSQL server's description (what
// `tests/tools/test_postgres.sh start FILE` writes: port=, user=, password=), txguard is measured again
// on PostgreSQL as 1, 2 and 3 replicas (one configuration, each replica its own process and port, one
// fresh database; the connections spread evenly over the replicas).
//
//   txguard_bench_server [seconds=10] [connections=32] [txguard binary]
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/service/config.hpp"
#include "guard/store/sql.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/json_value.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/safe.hpp"
#include "policy/codec/secp256k1.hpp"
#include "signers/keystore.hpp"

extern char** environ;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using namespace txguard;

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  // txguard serve refuses key and passphrase files that group or others can read.
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

// libsecp256k1 signatures per second on one core (RFC 6979, as the keystore signer does).
double raw_sign_rate(double seconds) {
  codec::Hash32 k{};
  k[31] = 7;
  const codec::SecretKey key(k);
  codec::Hash32 digest{};
  std::uint64_t n = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    for (int i = 0; i < 100; ++i) {
      digest[0] = static_cast<std::uint8_t>(n);
      digest[1] = static_cast<std::uint8_t>(n >> 8);
      auto sig = codec::sign_digest(digest, key);
      if (!sig) std::abort();
      ++n;
    }
  }
  return static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - start).count();
}

std::string cosign_body(std::uint64_t nonce) {
  // 0.01 USDC to one of 64 customers: far below every limit of the demo policy, so each is allowed.
  char data[160];
  std::snprintf(data, sizeof data,
                "0xa9059cbb000000000000000000000000%040llx0000000000000000000000000000000000000000000000000000000000002710",
                static_cast<unsigned long long>(0x1000 + nonce % 64));
  json body = {{"chainId", 1},
               {"safe", "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4"},
               {"to", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"},
               {"value", "0"},
               {"data", data},
               {"operation", 0},
               {"safeTxGas", "0"},
               {"baseGas", "0"},
               {"gasPrice", "0"},
               {"gasToken", "0x0000000000000000000000000000000000000000"},
               {"refundReceiver", "0x0000000000000000000000000000000000000000"},
               {"nonce", nonce}};
  return body.dump();
}

struct Load {
  asio::io_context io;
  std::vector<asio::ip::tcp::endpoint> endpoints;  // connection i goes to endpoints[i % size]
  std::string token;
  Clock::time_point measure_from, stop_at;
  std::uint64_t next_nonce = 0;
  std::vector<double> latencies_ms;
  std::uint64_t ok = 0, failed = 0;
  std::string first_failure;
};

// One keep-alive connection posting one request after another.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Load& load, std::size_t index) : load_(load), stream_(load.io), index_(index) {}
  void start() {
    stream_.async_connect(load_.endpoints[index_ % load_.endpoints.size()], [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail(ec.message());
      self->send();
    });
  }

 private:
  void send() {
    if (Clock::now() >= load_.stop_at) return;
    request_ = {http::verb::post, "/v1/safe/cosign", 11};
    request_.set(http::field::host, "127.0.0.1");
    request_.set(http::field::authorization, "Bearer " + load_.token);
    request_.set(http::field::content_type, "application/json");
    request_.body() = cosign_body(load_.next_nonce++);
    request_.prepare_payload();
    sent_ = Clock::now();
    http::async_write(stream_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->fail(ec.message());
      self->response_ = {};
      http::async_read(self->stream_, self->buffer_, self->response_, [self](beast::error_code rec, std::size_t) {
        if (rec) return self->fail(rec.message());
        const auto done = Clock::now();
        if (self->response_.result_int() == 200 && self->response_.body().find("\"signature\"") != std::string::npos) {
          if (self->sent_ >= self->load_.measure_from) {
            ++self->load_.ok;
            self->load_.latencies_ms.push_back(std::chrono::duration<double, std::milli>(done - self->sent_).count());
          }
        } else {
          ++self->load_.failed;
          if (self->load_.first_failure.empty()) {
            self->load_.first_failure = std::to_string(self->response_.result_int()) + " " + self->response_.body().substr(0, 300);
          }
        }
        self->send();
      });
    });
  }
  void fail(const std::string& what) {
    ++load_.failed;
    if (load_.first_failure.empty()) load_.first_failure = what;
  }

  Load& load_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  Clock::time_point sent_;
  std::size_t index_;
};

// What one server did under the load: only requests sent after the warm-up second count.
struct Figures {
  double rate = 0;  // co-signatures per second
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  std::uint64_t ok = 0, failed = 0, sent = 0;
  double client_cpu = 0;  // the load generator's CPU time over the wall time: near 1 means it bounded the rate
  std::string first_failure;
};

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// The one load generator every server gets: `connections` keep-alive connections on one client
// thread, posting cosign_body(0), cosign_body(1), ... for one warm-up second and then `seconds`;
// with several ports (replicas) the connections are spread over them evenly.
Figures drive(const std::vector<std::uint16_t>& ports, const std::string& token, double seconds, int connections) {
  Load load;
  for (const std::uint16_t port : ports) load.endpoints.emplace_back(asio::ip::make_address("127.0.0.1"), port);
  load.token = token;
  load.measure_from = Clock::now() + std::chrono::seconds(1);
  load.stop_at = load.measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  const double cpu_start = thread_cpu_seconds();
  const auto wall_start = Clock::now();
  for (int i = 0; i < connections; ++i) std::make_shared<Connection>(load, static_cast<std::size_t>(i))->start();
  load.io.run();
  const double wall = std::chrono::duration<double>(Clock::now() - wall_start).count();
  std::sort(load.latencies_ms.begin(), load.latencies_ms.end());
  const auto pct = [&](double p) {
    if (load.latencies_ms.empty()) return 0.0;
    return load.latencies_ms[std::min(load.latencies_ms.size() - 1, static_cast<std::size_t>(p * static_cast<double>(load.latencies_ms.size())))];
  };
  Figures f;
  f.rate = static_cast<double>(load.ok) / seconds;
  f.p50_ms = pct(0.50);
  f.p99_ms = pct(0.99);
  f.max_ms = load.latencies_ms.empty() ? 0.0 : load.latencies_ms.back();
  f.ok = load.ok;
  f.failed = load.failed;
  f.sent = load.next_nonce;
  f.client_cpu = wall > 0 ? (thread_cpu_seconds() - cpu_start) / wall : 0.0;
  f.first_failure = std::move(load.first_failure);
  return f;
}

void print_figures(const char* label, const Figures& f) {
  std::printf("  %-9s %.0f co-signatures/s (%llu signed, %llu failed), p50 %.2f ms, p99 %.2f ms, max %.2f ms; "
              "load generator busy %.0f%% of one core\n",
              label, f.rate, static_cast<unsigned long long>(f.ok), static_cast<unsigned long long>(f.failed), f.p50_ms, f.p99_ms,
              f.max_ms, 100.0 * f.client_cpu);
  if (!f.first_failure.empty()) std::printf("            first failure: %s\n", f.first_failure.c_str());
}

long status_kb(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::strtol(line.c_str() + std::strlen(field) + 1, nullptr, 10);
  }
  return -1;
}

std::string get(const asio::ip::tcp::endpoint& endpoint, const std::string& target, const std::string& token) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(endpoint);
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, "Bearer " + token);
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return res.body();
}

// The "signature" of one co-signing answer, or what came back instead.
std::string post_signature(std::uint16_t port, const std::string& token, const std::string& body) {
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.connect({asio::ip::make_address("127.0.0.1"), port});
    http::request<http::string_body> req{http::verb::post, "/v1/safe/cosign", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::authorization, "Bearer " + token);
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    auto answer = json::parse(res.body(), nullptr, false);
    if (res.result_int() == 200 && answer.is_object() && answer.contains("signature") && answer.at("signature").is_string()) {
      return answer.at("signature").get<std::string>();
    }
    return "(" + std::to_string(res.result_int()) + " " + res.body().substr(0, 200) + ")";
  } catch (const std::exception& e) {
    return std::string("(") + e.what() + ")";
  }
}

// The signature every server must answer for `body`: the SafeTx hash under the demo policy's pinned
// Safe version, signed with `key` (RFC 6979, so every correct signer produces the same bytes).
std::string expected_signature(const std::string& body, const codec::SecretKey& key) {
  auto parsed = codec::parse_json_strict(body);
  if (!parsed) return "(" + parsed.error().message() + ")";
  (*parsed)["safeVersion"] = "1.4.1";
  auto request = codec::parse_safe_tx_request(*parsed);
  if (!request) return "(" + request.error().message() + ")";
  auto sig = codec::sign_digest(codec::safe_tx_hash(request->tx, request->domain), key);
  if (!sig) return "(invalid key)";
  return codec::to_hex(sig->to_rsv(27));
}

double metric(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

bool executable(const std::string& path) { return !path.empty() && access(path.c_str(), X_OK) == 0; }

// Starts a child process with this process's environment; 0 if it could not be started.
pid_t spawn(std::vector<std::string> args) {
  std::vector<char*> argv_child;
  for (auto& a : args) argv_child.push_back(a.data());
  argv_child.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, args.front().c_str(), nullptr, nullptr, argv_child.data(), environ) != 0) return 0;
  return pid;
}

// The port a child wrote to `port_file`, or nullopt if it exited or did not write one in time.
std::optional<std::uint16_t> wait_for_port(pid_t pid, const std::filesystem::path& port_file, int* exit_status) {
  for (int i = 0; i < 1000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::ifstream in(port_file);
    int p = 0;
    if (in >> p && p > 0 && p < 65536) return static_cast<std::uint16_t>(p);
    if (waitpid(pid, exit_status, WNOHANG) == pid) return std::nullopt;
  }
  kill(pid, SIGKILL);
  waitpid(pid, exit_status, 0);
  return std::nullopt;
}

void stop(pid_t pid) {
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "did not write its port in time";
}

// A reference server measured like txguard: started, checked on one SafeTx, driven, stopped.
struct Reference {
  std::optional<Figures> figures;  // empty when skipped
  std::string skipped;             // why
  std::string signature;           // its answer to the check request
};

Reference run_reference(const char* label, const std::vector<std::string>& command, const std::filesystem::path& port_file,
                        const std::string& token, const std::string& check_body, double seconds, int connections) {
  Reference r;
  const pid_t pid = spawn(command);
  if (pid == 0) {
    r.skipped = "cannot start " + command.front();
    return r;
  }
  int status = 0;
  const auto port = wait_for_port(pid, port_file, &status);
  if (!port) {
    r.skipped = std::string(label) + " " + describe_exit(status) + " before listening";
    return r;
  }
  r.signature = post_signature(*port, token, check_body);
  r.figures = drive({*port}, token, seconds, connections);
  stop(pid);
  return r;
}

// txguard on PostgreSQL as `replicas` processes on one fresh database: their combined figures and
// how many commits they made, or why it could not run.
struct ReplicaRun {
  std::optional<Figures> figures;
  std::string skipped;
  double batches = 0;
};

ReplicaRun run_replicas(const std::string& binary, const std::filesystem::path& dir, json config,
                        const std::map<std::string, std::string>& server, int replicas, const std::string& token,
                        const std::string& auditor, double seconds, int connections) {
  ReplicaRun run;
  const std::string base = "postgresql://" + server.at("user") + "@127.0.0.1:" + server.at("port") + "/";
  const std::string name = "txguard_bench_" + std::to_string(getpid()) + "_" + std::to_string(replicas);
  store::DatabaseOptions admin_options;
  admin_options.password = server.at("password");
  auto admin = store::open_database(base + "postgres", admin_options);
  if (!admin) {
    run.skipped = "cannot reach the PostgreSQL server: " + admin.error().message();
    return run;
  }
  if (auto created = (*admin)->exec_script("CREATE DATABASE " + name); !created) {
    run.skipped = "CREATE DATABASE: " + created.error().message();
    return run;
  }
  ::setenv("TXGUARD_BENCH_DB_PASSWORD", server.at("password").c_str(), 1);
  config["database"] = base + name;
  config["database_password_env"] = "TXGUARD_BENCH_DB_PASSWORD";
  std::vector<pid_t> pids;
  std::vector<std::uint16_t> ports;
  for (int i = 0; i < replicas; ++i) {
    const std::string tag = "pg" + std::to_string(replicas) + "-" + std::to_string(i);
    config["port_file"] = tag + ".port";
    write(dir / (tag + ".json"), config.dump(1));
    const pid_t pid = spawn({binary, "serve", "--config", (dir / (tag + ".json")).string()});
    int status = 0;
    const auto port = pid == 0 ? std::nullopt : wait_for_port(pid, dir / (tag + ".port"), &status);
    if (!port) {
      run.skipped = "replica " + std::to_string(i) + " " + describe_exit(status) + " before listening";
      break;
    }
    pids.push_back(pid);
    ports.push_back(*port);
  }
  if (run.skipped.empty()) {
    run.figures = drive(ports, token, seconds, connections);
    for (const std::uint16_t port : ports) {
      run.batches += metric(get({asio::ip::make_address("127.0.0.1"), port}, "/metrics", auditor), "txguard_batches_total");
    }
  }
  for (const pid_t pid : pids) stop(pid);
  (void)(*admin)->exec_script("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  return run;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 10.0;
  const int connections = argc > 2 ? std::atoi(argv[2]) : 32;
  const std::string binary = argc > 3 ? argv[3] : TXGUARD_BINARY;
  if (!(seconds > 0) || connections < 1) {
    std::fprintf(stderr, "usage: txguard_bench_server [seconds > 0] [connections >= 1] [txguard binary]\n");
    return 2;
  }

  char pattern[] = "/tmp/txguard-bench-server-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return 1;
  const std::filesystem::path dir = pattern;
  codec::Hash32 k{};
  k[31] = 9;
  const codec::SecretKey guard_key(k);
  write(dir / "guard.json", signers::encrypt_keystore(guard_key, "bench-pass", signers::KdfParams::scrypt_light()));
  write(dir / "pw", "bench-pass\n");
  // The references sign with the same key, so the check below can compare the three answers byte for byte.
  write(dir / "signer.key", codec::to_hex(k) + "\n");
  codec::Hash32 log_k{};
  log_k[31] = 10;
  write(dir / "log.json", signers::encrypt_keystore(codec::SecretKey(log_k), "bench-pass", signers::KdfParams::scrypt_light()));
  const std::string token = "bench-token";
  const std::string auditor = "bench-auditor";
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  write(dir / "prices.json", std::string("{\"prices\": {\"ETH\": {\"usd\": \"3000\", \"at\": \"") + when + "\"}}}");
  json config = {{"listen", "127.0.0.1:0"},
                 {"port_file", "port"},
                 {"clients", json::array()},
                 {"policy", std::string(TXGUARD_SOURCE_DIR) + "/deploy/examples/hot-wallet.policy.json"},
                 {"prices", "prices.json"},
                 {"database", "txguard.db"},
                 {"keystore", {{"file", "guard.json"}, {"passphrase_file", "pw"}}},
                 {"decision_log", {{"key", {{"file", "log.json"}, {"passphrase_file", "pw"}}}}},
                 {"limits", {{"requests_per_second", 1e7}, {"burst", 1e7}}},
                 {"log", {{"level", "warn"}}}};
  const auto digest = [](const std::string& t) { return codec::to_hex(service::token_digest(t)).substr(2); };
  config["clients"].push_back({{"name", "bench"}, {"token_sha256", digest(token)}, {"role", "requester"}});
  config["clients"].push_back({{"name", "audit"}, {"token_sha256", digest(auditor)}, {"role", "auditor"}});
  write(dir / "config.json", config.dump(1));

  const unsigned cores = std::thread::hardware_concurrency();
  std::printf("txguard serve benchmark: %d keep-alive connections, %.0f s each after 1 s warm-up, demo hot-wallet policy "
              "(OFAC + FBI lists), SQLite WAL synchronous=FULL, %u hardware threads\n",
              connections, seconds, cores);
  const double sign_rate = raw_sign_rate(2.0);
  std::printf("  baseline  libsecp256k1 sign (RFC 6979), one core, this run: %.0f signatures/s\n", sign_rate);

  // One SafeTx at a nonce the load never reaches: every server must answer the same signature.
  const std::string check_body = cosign_body(1'000'000'000);
  const std::string expected = expected_signature(check_body, guard_key);

  // 1. txguard serve.
  const pid_t pid = spawn({binary, "serve", "--config", (dir / "config.json").string()});
  if (pid == 0) {
    std::fprintf(stderr, "cannot start %s\n", binary.c_str());
    return 1;
  }
  int txguard_status = 0;
  const auto port = wait_for_port(pid, dir / "port", &txguard_status);
  if (!port) {
    std::fprintf(stderr, "the server did not start: %s\n", describe_exit(txguard_status).c_str());
    return 1;
  }
  const long idle_rss_kb = status_kb(pid, "VmRSS:");
  const std::string txguard_signature = post_signature(*port, token, check_body);
  const Figures txguard = drive({*port}, token, seconds, connections);
  const std::string metrics = get({asio::ip::make_address("127.0.0.1"), *port}, "/metrics", auditor);
  const double batches = metric(metrics, "txguard_batches_total");
  const long peak_kb = status_kb(pid, "VmHWM:");
  stop(pid);
  print_figures("txguard", txguard);
  std::printf("            %.2f of one core's raw signing rate; %.1f decisions per group commit (%.0f commits); "
              "resident %.1f MB at start, peak %.1f MB\n",
              txguard.rate / sign_rate, batches > 0 ? static_cast<double>(txguard.sent + 1) / batches : 0.0, batches,
              static_cast<double>(idle_rss_kb) / 1024.0, static_cast<double>(peak_kb) / 1024.0);
  {
    // Where the sequencer's time went (txguard_stage_seconds_total), as shares of the whole.
    std::vector<std::pair<std::string, double>> stages;
    double total = 0;
    std::istringstream in(metrics);
    std::string line;
    const std::string prefix = "txguard_stage_seconds_total{stage=\"";
    while (std::getline(in, line)) {
      if (line.rfind(prefix, 0) != 0) continue;
      const auto close = line.find("\"} ", prefix.size());
      if (close == std::string::npos) continue;
      const double spent = std::stod(line.substr(close + 3));
      stages.emplace_back(line.substr(prefix.size(), close - prefix.size()), spent);
      total += spent;
    }
    if (total > 0) {
      std::printf("            sequencer time by stage:");
      for (const auto& [stage, spent] : stages) std::printf(" %s %.0f%%", stage.c_str(), 100.0 * spent / total);
      std::printf(" (%.2f s busy of %.1f s)\n", total, seconds + 1.0);
    }
  }
  std::fflush(stdout);

  // 2. The peer: Node + ethers, two worker processes, found the way the tests find them.
  Reference peer;
  const std::string node = TXGUARD_NODE;
  const std::filesystem::path js = std::filesystem::path(TXGUARD_SOURCE_DIR) / "tests" / "js";
  const std::filesystem::path ethers_package = js / "node_modules" / "ethers" / "package.json";
  std::string peer_name = "Node + ethers";
  if (!executable(node)) {
    peer.skipped = "node not found (configure looks for `node` on PATH: install Node >= 20 and reconfigure)";
  } else if (!std::filesystem::exists(ethers_package)) {
    peer.skipped = ethers_package.string() + " is missing (run `cd tests/js && npm ci`)";
  } else {
    auto package = json::parse(read_text(ethers_package), nullptr, false);
    if (package.is_object() && package.contains("version") && package.at("version").is_string()) {
      peer_name = "Node + ethers " + package.at("version").get<std::string>();
    }
    peer = run_reference("node", {node, (js / "bench" / "naive_signer.mjs").string(), (dir / "peer-port").string(),
                                  (dir / "signer.key").string(), "2"},
                         dir / "peer-port", token, check_body, seconds, connections);
  }
  if (peer.figures) {
    print_figures("peer", *peer.figures);
    std::printf("            %s, 2 worker processes (node:cluster): parse, hash the SafeTx, sign; no policy, no log\n",
                peer_name.c_str());
  } else {
    std::printf("  peer      skipped: %s\n", peer.skipped.c_str());
  }
  std::fflush(stdout);

  // 3. The limit: our own Beast server that only parses, hashes and signs, on every core.
  Reference limit;
  const std::string limit_binary = TXGUARD_BENCH_LIMIT_SERVER;
  if (!executable(limit_binary)) {
    limit.skipped = limit_binary + " is missing (build the target txguard_bench_limit_server)";
  } else {
    limit = run_reference("txguard_bench_limit_server",
                          {limit_binary, (dir / "limit-port").string(), (dir / "signer.key").string()},
                          dir / "limit-port", token, check_body, seconds, connections);
  }
  if (limit.figures) {
    print_figures("limit", *limit.figures);
    std::printf("            Beast + txguard codec + libsecp256k1, %u threads: parse, hash the SafeTx, sign; no policy, no log\n",
                std::max(1U, cores));
  } else {
    std::printf("  limit     skipped: %s\n", limit.skipped.c_str());
  }

  // The three must have signed the same thing, or the comparison is void.
  std::string check = txguard_signature == expected ? "txguard" : "txguard DIFFERS " + txguard_signature;
  if (peer.figures) check += peer.signature == expected ? ", peer" : ", peer DIFFERS " + peer.signature;
  if (limit.figures) check += limit.signature == expected ? ", limit" : ", limit DIFFERS " + limit.signature;
  std::printf("  check     one SafeTx, expected signature %s...: %s\n", expected.substr(0, 18).c_str(), check.c_str());

  // Ratios and the goals of issue 14 (on 2 cores): >= 10,000/s, >= 3x the peer, within 2x of the limit, p99 < 10 ms.
  const auto ratio = [&](const Reference& r) -> std::optional<double> {
    if (!r.figures || r.figures->rate <= 0) return std::nullopt;
    return txguard.rate / r.figures->rate;
  };
  const auto peer_ratio = ratio(peer);
  const auto limit_ratio = ratio(limit);
  const auto ratio_text = [](const std::optional<double>& r) {
    char text[32];
    if (!r) return std::string("n/a");
    std::snprintf(text, sizeof text, "%.2f", *r);
    return std::string(text);
  };
  std::printf("  ratios    txguard/peer %s, txguard/limit %s\n", ratio_text(peer_ratio).c_str(), ratio_text(limit_ratio).c_str());
  const auto reached = [](bool yes) { return yes ? "reached" : "not reached"; };
  char goals[512];
  std::snprintf(goals, sizeof goals,
                ">= 10000/s %s (%.0f/s); >= 3x peer %s (txguard/peer %s); within 2x of limit %s (limit/txguard %s); "
                "p99 < 10 ms %s (%.2f ms)",
                reached(txguard.rate >= 10'000), txguard.rate,
                peer_ratio ? reached(*peer_ratio >= 3.0) : "unknown, peer skipped", ratio_text(peer_ratio).c_str(),
                limit_ratio ? reached(*limit_ratio >= 0.5) : "unknown, limit skipped",
                ratio_text(limit_ratio && *limit_ratio > 0 ? std::optional<double>(1.0 / *limit_ratio) : std::nullopt).c_str(),
                reached(txguard.ok > 0 && txguard.p99_ms < 10.0), txguard.p99_ms);
  std::printf("  goals     %s\n", goals);

  // 4. txguard on PostgreSQL, 1, 2 and 3 replicas on one database.
  if (const char* described = std::getenv("TXGUARD_BENCH_POSTGRES"); described != nullptr && *described != '\0') {
    std::map<std::string, std::string> server;
    std::istringstream lines(read_text(described));
    for (std::string line; std::getline(lines, line);) {
      if (const auto eq = line.find('='); eq != std::string::npos) server[line.substr(0, eq)] = line.substr(eq + 1);
    }
    if (!server.contains("port") || !server.contains("user") || !server.contains("password")) {
      std::printf("  postgres  skipped: %s does not describe a server (port=, user=, password=)\n", described);
    } else {
      for (int replicas = 1; replicas <= 3; ++replicas) {
        const ReplicaRun run = run_replicas(binary, dir, config, server, replicas, token, auditor, seconds, connections);
        char label[16];
        std::snprintf(label, sizeof label, "pg x%d", replicas);
        if (!run.figures) {
          std::printf("  %-9s skipped: %s\n", label, run.skipped.c_str());
          continue;
        }
        print_figures(label, *run.figures);
        std::printf("            PostgreSQL 15 (synchronous_commit on), %d replica process(es) on one database; "
                    "%.1f decisions per commit; %.2f of txguard on SQLite\n",
                    replicas, run.batches > 0 ? static_cast<double>(run.figures->sent) / run.batches : 0.0,
                    txguard.rate > 0 ? run.figures->rate / txguard.rate : 0.0);
        std::fflush(stdout);
      }
    }
  }

  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return 0;
}

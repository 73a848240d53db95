// The co-signing throughput of `txguard serve`, end to end over HTTP: a real server process (the
// release binary, the demo hot-wallet policy with the OFAC and FBI lists loaded, SQLite with the
// durable decision log on: WAL, synchronous=FULL, group commit) driven by N keep-alive connections
// (default 32) posting distinct Safe USDC withdrawals to /v1/safe/cosign. Prints co-signatures per
// second, p50/p99/max latency as the client sees it, the raw libsecp256k1 signing rate measured in
// the same run on the same machine (the bound no co-signer can beat per core), and the server's peak
// resident memory (VmHWM). Not a test: it never fails on a timing.
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
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/service/config.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/keccak.hpp"
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
  asio::ip::tcp::endpoint endpoint;
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
  explicit Connection(Load& load) : load_(load), stream_(load.io) {}
  void start() {
    stream_.async_connect(load_.endpoint, [self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        ++self->load_.failed;
        return;
      }
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
};

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

double metric(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 10.0;
  const int connections = argc > 2 ? std::atoi(argv[2]) : 32;
  const std::string binary = argc > 3 ? argv[3] : TXGUARD_BINARY;

  char pattern[] = "/tmp/txguard-bench-server-XXXXXX";
  if (mkdtemp(pattern) == nullptr) return 1;
  const std::filesystem::path dir = pattern;
  codec::Hash32 k{};
  k[31] = 9;
  write(dir / "guard.json", signers::encrypt_keystore(codec::SecretKey(k), "bench-pass", signers::KdfParams::scrypt_light()));
  write(dir / "pw", "bench-pass\n");
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

  const std::string config_path = (dir / "config.json").string();
  std::vector<std::string> args = {binary, "serve", "--config", config_path};
  std::vector<char*> argv_child;
  for (auto& a : args) argv_child.push_back(a.data());
  argv_child.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv_child.data(), environ) != 0) {
    std::fprintf(stderr, "cannot start %s\n", binary.c_str());
    return 1;
  }
  std::uint16_t port = 0;
  for (int i = 0; i < 300 && port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::ifstream in(dir / "port");
    int p = 0;
    if (in >> p) port = static_cast<std::uint16_t>(p);
  }
  if (port == 0) {
    std::fprintf(stderr, "the server did not start\n");
    kill(pid, SIGKILL);
    return 1;
  }
  const long idle_rss_kb = status_kb(pid, "VmRSS:");

  std::printf("txguard serve benchmark: %d keep-alive connections, %.0f s, demo hot-wallet policy (OFAC + FBI lists), "
              "SQLite WAL synchronous=FULL, %u hardware threads\n",
              connections, seconds, std::thread::hardware_concurrency());
  const double sign_rate = raw_sign_rate(2.0);
  std::printf("  baseline  libsecp256k1 sign (RFC 6979), one core, this run: %.0f signatures/s\n", sign_rate);

  Load load;
  load.endpoint = {asio::ip::make_address("127.0.0.1"), port};
  load.token = token;
  load.measure_from = Clock::now() + std::chrono::seconds(1);
  load.stop_at = load.measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (int i = 0; i < connections; ++i) std::make_shared<Connection>(load)->start();
  load.io.run();
  const double elapsed = seconds;
  std::sort(load.latencies_ms.begin(), load.latencies_ms.end());
  const auto pct = [&](double p) {
    if (load.latencies_ms.empty()) return 0.0;
    return load.latencies_ms[std::min(load.latencies_ms.size() - 1, static_cast<std::size_t>(p * static_cast<double>(load.latencies_ms.size())))];
  };
  const double rate = static_cast<double>(load.ok) / elapsed;
  const std::string metrics = get(load.endpoint, "/metrics", auditor);
  const double batches = metric(metrics, "txguard_batches_total");
  const long peak_kb = status_kb(pid, "VmHWM:");
  std::printf("  cosign    %.0f co-signatures/s (%llu signed, %llu failed), p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", rate,
              static_cast<unsigned long long>(load.ok), static_cast<unsigned long long>(load.failed), pct(0.50), pct(0.99),
              load.latencies_ms.empty() ? 0.0 : load.latencies_ms.back());
  std::printf("  ratio     %.2f of one core's raw signing rate; %.1f decisions per group commit (%.0f commits)\n",
              rate / sign_rate, batches > 0 ? static_cast<double>(load.next_nonce) / batches : 0.0, batches);
  std::printf("  memory    server resident %.1f MB at start, peak %.1f MB\n", static_cast<double>(idle_rss_kb) / 1024.0,
              static_cast<double>(peak_kb) / 1024.0);
  if (!load.first_failure.empty()) std::printf("  first failure: %s\n", load.first_failure.c_str());

  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return 0;
}

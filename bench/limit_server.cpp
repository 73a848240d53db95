// The limit reference of txguard_bench_server: the least a Safe co-signer can do per request on this
// machine with txguard's own parts. A Boost.Beast HTTP/1.1 server on 127.0.0.1 with keep-alive that,
// for every POST, parses the JSON body strictly (codec::parse_json_strict), decodes the Safe
// transaction (codec::parse_safe_tx_request, the version pinned as the demo policy pins it), computes
// its EIP-712 safeTxHash (codec::safe_tx_hash) and signs it with libsecp256k1 (codec::sign_digest),
// answering {"signature": "0x" r s v}. One io_context run by as many threads as the machine has cores.
//
// What it is NOT: a co-signer. No policy, no lists, no once-only claim, no limits, no decision log,
// no database, no fsync, no authentication, no body limit or deadline. It exists only to be measured
// next to `txguard serve`; never expose it.
//
//   txguard_bench_limit_server <port file> <key file (64 hex digits)> [threads = hardware threads]
//
// Listens on 127.0.0.1 on a free port and writes that port to <port file> once it accepts.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/bytes.hpp"
#include "policy/codec/json_value.hpp"
#include "policy/codec/safe.hpp"
#include "policy/codec/secp256k1.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;
using namespace txguard;

// The version hot-wallet.policy.json pins for its Safe; txguard fills it the same way when the
// request does not name one.
constexpr std::string_view kPinnedSafeVersion = "1.4.1";
constexpr std::size_t kMaxJsonDepth = 64;  // as guard/service

struct Answer {
  http::status status = http::status::ok;
  std::string body;
};

Answer error_answer(const std::string& message) {
  return {http::status::bad_request, json{{"error", message}}.dump()};
}

// Parse, hash, sign: the whole per-request work of the limit.
Answer cosign(std::string_view body, const codec::SecretKey& key) {
  auto parsed = codec::parse_json_strict(body, kMaxJsonDepth);
  if (!parsed) return error_answer(parsed.error().message());
  if (!parsed->is_object()) return error_answer("$: expected a JSON object (a Safe transaction)");
  if (!parsed->contains("safeVersion")) (*parsed)["safeVersion"] = std::string(kPinnedSafeVersion);
  auto request = codec::parse_safe_tx_request(*parsed);
  if (!request) return error_answer(request.error().message());
  const codec::Hash32 hash = codec::safe_tx_hash(request->tx, request->domain);
  const auto signature = codec::sign_digest(hash, key);
  if (!signature) return {http::status::service_unavailable, json{{"error", "signing failed"}}.dump()};
  return {http::status::ok, json{{"signature", codec::to_hex(signature->to_rsv(27))}}.dump()};
}

// One keep-alive connection: read a request, answer it, read the next. Only one operation is in
// flight per session, so the session needs no strand although several threads run the io_context.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::ip::tcp::socket socket, const codec::SecretKey& key) : stream_(std::move(socket)), key_(key) {}
  void start() { read(); }

 private:
  void read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;  // closed by the client, or a malformed request: drop the connection
      self->answer();
    });
  }

  void answer() {
    Answer a = request_.method() == http::verb::post ? cosign(request_.body(), key_)
                                                     : Answer{http::status::method_not_allowed, "{}"};
    response_ = {a.status, request_.version()};
    response_.set(http::field::content_type, "application/json");
    response_.keep_alive(request_.keep_alive());
    response_.body() = std::move(a.body);
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec || !self->response_.keep_alive()) return;
      self->read();
    });
  }

  beast::tcp_stream stream_;
  const codec::SecretKey& key_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void accept(asio::ip::tcp::acceptor& acceptor, const codec::SecretKey& key) {
  acceptor.async_accept([&acceptor, &key](beast::error_code ec, asio::ip::tcp::socket socket) {
    if (!ec) {
      socket.set_option(asio::ip::tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket), key)->start();
    }
    accept(acceptor, key);
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: txguard_bench_limit_server <port file> <key file> [threads]\n");
    return 2;
  }
  const std::filesystem::path port_file = argv[1];
  std::string key_hex;
  std::ifstream(argv[2]) >> key_hex;
  auto key_bytes = codec::from_hex_fixed<32>(key_hex);
  if (!key_bytes) {
    std::fprintf(stderr, "%s: expected 32 bytes of hex\n", argv[2]);
    return 2;
  }
  const codec::SecretKey key(*key_bytes);
  if (!key.is_valid()) {
    std::fprintf(stderr, "%s: not a valid secp256k1 key\n", argv[2]);
    return 2;
  }
  const unsigned hardware = std::max(1U, std::thread::hardware_concurrency());
  const unsigned threads = argc > 3 ? static_cast<unsigned>(std::max(1, std::atoi(argv[3]))) : hardware;

  asio::io_context io(static_cast<int>(threads));
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  accept(acceptor, key);
  {
    const std::filesystem::path partial = port_file.string() + ".partial";
    std::ofstream(partial) << acceptor.local_endpoint().port() << '\n';
    std::filesystem::rename(partial, port_file);
  }
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  return 0;
}

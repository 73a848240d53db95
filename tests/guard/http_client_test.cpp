// The JSON-RPC upstream client (guard/http/client.hpp) against txguard's own server on 127.0.0.1:
// answers, keep-alive reuse and reconnection, errors for closed ports, timeouts, non-2xx answers,
// oversized responses and unusable URLs, and HTTPS with certificates made at test time.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "tests/support/temp_dir.hpp"
#include "guard/http/client.hpp"
#include "guard/http/server.hpp"
#include "tests/support/tls_material.hpp"

namespace {

using namespace std::chrono_literals;
using txguard::http::Client;
using txguard::http::ClientOptions;
using txguard::http::Handler;
using txguard::http::Request;
using txguard::http::Respond;
using txguard::http::Response;
using txguard::http::Server;
using txguard::http::ServerOptions;
using txguard::http::TlsOptions;
using Clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

/// /rpc echoes the body; /never parks the Respond; /status?code=N answers N; /big answers 2 KiB.
class UpstreamHandler final : public Handler {
 public:
  void handle(Request request, Respond respond) override {
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    Response r;
    if (request.path == "/never") {
      std::lock_guard lock(mutex_);
      parked_.push_back(std::move(respond));
      return;
    }
    if (request.path == "/status") {
      r.status = static_cast<unsigned>(std::stoul(request.query.substr(request.query.find('=') + 1)));
      r.body = R"({"error":"node says no"})";
    } else if (request.path == "/big") {
      r.body = std::string(2048, 'b');
    } else {
      r.body = request.body;
    }
    respond(std::move(r));
  }

  std::vector<Request> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::mutex mutex_;
  std::vector<Request> requests_;
  std::vector<Respond> parked_;
};

using TempDir = txguard::test::TempDir;

std::unique_ptr<Server> start(Handler& handler, ServerOptions o = {}) {
  auto server = Server::start(o, handler);
  REQUIRE_MESSAGE(server.has_value(), (server.has_value() ? std::string() : server.error()));
  return std::move(*server);
}

std::unique_ptr<Client> client(const std::string& url, ms timeout = 2s) {
  auto c = Client::create(url, timeout);
  REQUIRE_MESSAGE(c.has_value(), (c.has_value() ? std::string() : c.error()));
  return std::move(*c);
}

std::string base(const Server& server) { return "http://127.0.0.1:" + std::to_string(server.port()); }

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
std::uint16_t closed_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

ms since(Clock::time_point t) { return std::chrono::duration_cast<ms>(Clock::now() - t); }

}  // namespace

TEST_SUITE("http") {

TEST_CASE("http client: posts JSON and returns the body of a 2xx answer") {
  UpstreamHandler handler;
  auto server = start(handler);
  auto c = client(base(*server) + "/rpc?key=1");
  CHECK(c->url() == base(*server) + "/rpc?key=1");
  const std::string body = R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]})";
  const auto r = c->post_json(body);
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error()));
  CHECK(*r == body);
  const auto requests = handler.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].target == "/rpc?key=1");
  CHECK(requests[0].header("content-type") == "application/json");
  CHECK(requests[0].header("host") == "127.0.0.1:" + std::to_string(server->port()));
}

TEST_CASE("http client: without a path posts to /") {
  UpstreamHandler handler;
  auto server = start(handler);
  auto c = client(base(*server));
  REQUIRE(c->post_json("{}").has_value());
  REQUIRE(handler.requests().size() == 1);
  CHECK(handler.requests()[0].target == "/");
}

TEST_CASE("http client: reuses one keep-alive connection") {
  UpstreamHandler handler;
  auto server = start(handler);
  auto c = client(base(*server) + "/rpc");
  for (int i = 0; i < 4; ++i) {
    const auto r = c->post_json("[" + std::to_string(i) + "]");
    REQUIRE(r.has_value());
    CHECK(*r == "[" + std::to_string(i) + "]");
  }
  const auto requests = handler.requests();
  REQUIRE(requests.size() == 4);
  for (const auto& req : requests) CHECK(req.peer == requests[0].peer);
  CHECK(server->connections() == 1);
}

TEST_CASE("http client: reconnects after the server closed an idle keep-alive connection") {
  UpstreamHandler handler;
  ServerOptions o;
  o.idle_timeout = 100ms;
  auto server = start(handler, o);
  auto c = client(base(*server) + "/rpc");
  REQUIRE(c->post_json("1").has_value());
  REQUIRE(server->connections() == 1);
  const auto t0 = Clock::now();
  while (server->connections() != 0 && since(t0) < 2s) std::this_thread::sleep_for(10ms);
  REQUIRE(server->connections() == 0);
  const auto r = c->post_json("2");
  REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error()));
  CHECK(*r == "2");
  const auto requests = handler.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].peer != requests[1].peer);
}

TEST_CASE("http client: reports a closed port as a connect failure") {
  auto c = client("http://127.0.0.1:" + std::to_string(closed_port()) + "/", 2s);
  const auto t0 = Clock::now();
  const auto r = c->post_json("{}");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().find("connect") != std::string::npos);
  CHECK(since(t0) < 1000ms);
}

TEST_CASE("http client: times out when the server never answers") {
  UpstreamHandler handler;
  auto server = start(handler);
  auto c = client(base(*server) + "/never", 200ms);
  const auto t0 = Clock::now();
  const auto r = c->post_json("{}");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().find("timeout") != std::string::npos);
  CHECK(since(t0) >= 190ms);
  CHECK(since(t0) < 2000ms);
  // The timed-out connection is not reused: the next call opens a fresh one and times out alike.
  const auto again = c->post_json("{}");
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().find("timeout") != std::string::npos);
}

TEST_CASE("http client: reports a non-2xx answer with its status and the start of its body") {
  UpstreamHandler handler;
  auto server = start(handler);
  for (const unsigned status : {199u, 300u, 404u, 500u, 503u}) {
    CAPTURE(status);
    auto c = client(base(*server) + "/status?code=" + std::to_string(status));
    const auto r = c->post_json("{}");
    if (status == 199u) {  // the server turns a non-final status into 500
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error().find("HTTP 500") != std::string::npos);
      continue;
    }
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().find("HTTP " + std::to_string(status)) != std::string::npos);
    if (status != 300u) CHECK(r.error().find("node says no") != std::string::npos);
  }
  for (const unsigned status : {200u, 204u, 299u}) {
    CAPTURE(status);
    auto c = client(base(*server) + "/status?code=" + std::to_string(status));
    CHECK(c->post_json("{}").has_value());
  }
}

TEST_CASE("http client: refuses a response larger than max_response_bytes") {
  UpstreamHandler handler;
  auto server = start(handler);
  ClientOptions small;
  small.max_response_bytes = 2047;
  auto refuses = Client::create(base(*server) + "/big", small);
  REQUIRE(refuses.has_value());
  const auto r = (*refuses)->post_json("{}");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().find("2047") != std::string::npos);
  small.max_response_bytes = 2048;
  auto accepts = Client::create(base(*server) + "/big", small);
  REQUIRE(accepts.has_value());
  const auto ok = (*accepts)->post_json("{}");
  REQUIRE(ok.has_value());
  CHECK(ok->size() == 2048);
}

TEST_CASE("http client: is safe to use from several threads at once") {
  UpstreamHandler handler;
  auto server = start(handler);
  auto c = client(base(*server) + "/rpc");
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::vector<std::string> failures;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const std::string body = std::to_string(t * 100 + i);
        const auto r = c->post_json(body);
        if (!r || *r != body) {
          std::lock_guard lock(mutex);
          failures.push_back(r ? "wrong body " + *r : r.error());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures.empty());
  CHECK(handler.requests().size() == 20);
}

TEST_CASE("http client: rejects URLs it cannot use") {
  for (const std::string url :
       {"", "127.0.0.1:8545", "ftp://127.0.0.1/", "ws://127.0.0.1:8545", "http://", "http:///path", "http://:8545",
        "http://user:pw@127.0.0.1:8545", "http://127.0.0.1:0", "http://127.0.0.1:65536", "http://127.0.0.1:85a",
        "http://127.0.0.1:", "http://127.0.0.1/#frag", "http://[::1", "http://[nothex]:80", "http://[::1]x",
        "http://127.0.0.1/a b", "http://127.0.0.1/\n"}) {
    CAPTURE(url);
    CHECK_FALSE(Client::create(url).has_value());
  }
  CHECK_FALSE(Client::create("http://127.0.0.1:8545", 0ms).has_value());
  for (const std::string url : {"http://127.0.0.1:8545", "HTTP://127.0.0.1:1/rpc", "http://localhost", "https://localhost:65535/x?y=1",
                                "http://[::1]:8545/path", "http://127.0.0.1?q"}) {
    CAPTURE(url);
    CHECK(Client::create(url).has_value());
  }
}

TEST_CASE("http client: speaks HTTPS to a server whose CA it is given, and only then") {
  TempDir dir{"txguard-http-client"};
  const auto tls = txguard::test::make_tls_material(dir.path.string());
  UpstreamHandler handler;
  ServerOptions o;
  o.tls = TlsOptions{tls.server_cert, tls.server_key, std::nullopt, false};
  auto server = start(handler, o);
  const std::string port = std::to_string(server->port());

  ClientOptions trusted;
  trusted.ca_file = tls.ca_cert;
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    CAPTURE(host);
    auto c = Client::create("https://" + host + ":" + port + "/rpc", trusted);
    REQUIRE(c.has_value());
    const auto r = (*c)->post_json("[1]");
    REQUIRE_MESSAGE(r.has_value(), (r ? std::string() : r.error()));
    CHECK(*r == "[1]");
  }

  ClientOptions other;
  other.ca_file = tls.other_ca_cert;
  auto untrusted = Client::create("https://127.0.0.1:" + port + "/rpc", other);
  REQUIRE(untrusted.has_value());
  const auto refused = (*untrusted)->post_json("[1]");
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().find("TLS") != std::string::npos);

  auto plain = client("http://127.0.0.1:" + port + "/rpc", 1s);
  CHECK_FALSE(plain->post_json("[1]").has_value());
  CHECK(handler.requests().size() == 2);
}

TEST_CASE("http client: presents a client certificate to an mTLS upstream") {
  TempDir dir{"txguard-http-client"};
  const auto tls = txguard::test::make_tls_material(dir.path.string());
  UpstreamHandler handler;
  ServerOptions o;
  o.tls = TlsOptions{tls.server_cert, tls.server_key, tls.ca_cert, true};
  auto server = start(handler, o);
  const std::string url = "https://localhost:" + std::to_string(server->port()) + "/rpc";

  ClientOptions with_cert;
  with_cert.ca_file = tls.ca_cert;
  with_cert.cert_file = tls.client_cert;
  with_cert.key_file = tls.client_key;
  auto c = Client::create(url, with_cert);
  REQUIRE_MESSAGE(c.has_value(), (c ? std::string() : c.error()));
  REQUIRE((*c)->post_json("{}").has_value());
  REQUIRE(handler.requests().size() == 1);
  CHECK(handler.requests()[0].client_cert.has_value());

  ClientOptions without = with_cert;
  without.cert_file.reset();
  without.key_file.reset();
  auto anonymous = Client::create(url, without);
  REQUIRE(anonymous.has_value());
  CHECK_FALSE((*anonymous)->post_json("{}").has_value());
  CHECK(handler.requests().size() == 1);
}

TEST_CASE("http client: TLS material that cannot be used is an error naming the file") {
  TempDir dir{"txguard-http-client"};
  const auto tls = txguard::test::make_tls_material(dir.path.string());
  const std::string missing = dir.file("missing.pem");
  ClientOptions o;
  o.ca_file = missing;
  auto no_ca = Client::create("https://127.0.0.1:1/", o);
  REQUIRE_FALSE(no_ca.has_value());
  CHECK(no_ca.error().find(missing) != std::string::npos);

  o.ca_file = tls.ca_cert;
  o.cert_file = tls.client_cert;
  auto no_key = Client::create("https://127.0.0.1:1/", o);
  CHECK_FALSE(no_key.has_value());
  o.key_file = tls.server_key;  // not the client certificate's key
  auto wrong_key = Client::create("https://127.0.0.1:1/", o);
  REQUIRE_FALSE(wrong_key.has_value());
  CHECK(wrong_key.error().find(tls.server_key) != std::string::npos);
}

}  // TEST_SUITE

// The HTTP transport (guard/http/server.hpp) over real sockets on 127.0.0.1, port 0: keep-alive and
// pipelining, every bound (body, header, header/body/idle/response deadlines, connections), the JSON
// error shape, handler failures, graceful stop, and TLS/mTLS with certificates made at test time.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tests/support/temp_dir.hpp"
#include "guard/http/server.hpp"
#include "tests/support/http_test_client.hpp"
#include "tests/support/tls_material.hpp"

namespace {

using namespace std::chrono_literals;
using txguard::http::Handler;
using txguard::http::Request;
using txguard::http::Respond;
using txguard::http::Response;
using txguard::http::Server;
using txguard::http::ServerOptions;
using txguard::http::TlsOptions;
using txguard::test::RawConnection;
using txguard::test::RawResponse;
using txguard::test::RawTlsOptions;
using Clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

/// Routes: /echo (body back, method/path/query in headers), /later?ms=N (answers from another
/// thread after N ms), /never (parks the Respond), /throw, /answer-then-throw, /twice,
/// /status?code=N, /inject (hostile extra headers). /guarded/...: judged from the header, 401 without
/// an Authorization header (authorize_header), else as /echo.
class TestHandler final : public Handler {
 public:
  ~TestHandler() override {
    for (auto& t : threads_) t.join();
  }

  std::optional<Response> authorize_header(const Request& head) override {
    ++headers_judged_;
    if (!head.path.starts_with("/guarded") || head.header("authorization")) return std::nullopt;
    Response r;
    r.status = 401;
    r.body = R"({"error":{"code":"unauthenticated","message":"a token is required"}})";
    return r;
  }
  std::atomic<int> headers_judged_{0};

  void handle(Request request, Respond respond) override {
    const std::string path = request.path;
    const std::string query = request.query;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    seen_.notify_all();
    if (path == "/echo" || path.starts_with("/guarded")) {
      Response r;
      r.body = request.body;
      r.headers = {{"X-Method", request.method}, {"X-Path", request.path}, {"X-Query", request.query}};
      respond(std::move(r));
    } else if (path == "/later") {
      const auto delay = ms{std::stoi(query.substr(query.find('=') + 1))};
      std::lock_guard lock(mutex_);
      threads_.emplace_back([respond = std::move(respond), delay] {
        std::this_thread::sleep_for(delay);
        Response r;
        r.body = "\"later\"";
        respond(std::move(r));
      });
    } else if (path == "/never") {
      std::lock_guard lock(mutex_);
      parked_.push_back(std::move(respond));
    } else if (path == "/throw") {
      throw std::runtime_error("handler failed");
    } else if (path == "/answer-then-throw") {
      Response r;
      r.body = "\"answered\"";
      respond(std::move(r));
      throw std::runtime_error("handler failed after answering");
    } else if (path == "/twice") {
      Response first;
      first.body = "\"first\"";
      respond(std::move(first));
      Response second;
      second.body = "\"second\"";
      respond(std::move(second));
    } else if (path == "/status") {
      Response r;
      r.status = static_cast<unsigned>(std::stoul(query.substr(query.find('=') + 1)));
      r.body = "{}";
      respond(std::move(r));
    } else if (path == "/inject") {
      Response r;
      r.content_type = "text/plain\r\nX-Injected: ct";
      r.body = "ok";
      r.headers = {{"X-Bad", "a\r\nX-Injected: yes"}, {"Bad Name", "v"}, {"Content-Length", "999"},
                   {"Connection", "close"}, {"X-Good", "fine"}};
      respond(std::move(r));
    } else {
      Response r;
      r.status = 404;
      r.body = R"({"error":{"code":"not-found","message":"no route"}})";
      respond(std::move(r));
    }
  }

  std::vector<Request> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  bool wait_for_requests(std::size_t n, ms timeout) {
    std::unique_lock lock(mutex_);
    return seen_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
  }

  std::vector<Respond> take_parked() {
    std::lock_guard lock(mutex_);
    return std::move(parked_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable seen_;
  std::vector<Request> requests_;
  std::vector<Respond> parked_;
  std::vector<std::thread> threads_;
};

using TempDir = txguard::test::TempDir;

ServerOptions options() {
  ServerOptions o;
  o.header_timeout = 2s;
  o.body_timeout = 2s;
  o.response_timeout = 2s;
  o.idle_timeout = 2s;
  o.write_timeout = 2s;
  return o;
}

std::unique_ptr<Server> start(const ServerOptions& o, Handler& handler) {
  auto server = Server::start(o, handler);
  REQUIRE_MESSAGE(server.has_value(), (server.has_value() ? std::string() : server.error()));
  return std::move(*server);
}

std::unique_ptr<RawConnection> connect(const Server& server) {
  auto c = RawConnection::connect(server.port());
  REQUIRE(c != nullptr);
  return c;
}

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

std::string post(const std::string& target, const std::string& body, const std::string& extra = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         extra + "\r\n" + body;
}

/// The response is the transport's JSON error with this status and code.
void check_error(const std::optional<RawResponse>& r, unsigned status, const std::string& code) {
  REQUIRE(r.has_value());
  CHECK(r->status == status);
  CHECK(r->header("content-type") == "application/json");
  CHECK(r->header("server") == "txguard");
  const auto json = nlohmann::json::parse(r->body, nullptr, false);
  REQUIRE_MESSAGE(json.is_object(), r->body);
  CHECK(json["error"]["code"] == code);
  CHECK(json["error"]["message"].is_string());
  CHECK_FALSE(json["error"]["message"].get<std::string>().empty());
}

/// Polls `condition` every 5 ms for up to `timeout`.
template <class F>
bool eventually(F condition, ms timeout = 2s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

ms since(Clock::time_point t) { return std::chrono::duration_cast<ms>(Clock::now() - t); }

std::string fingerprint_of(const std::string& pem_file) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(pem_file.c_str(), "r"), &BIO_free);
  REQUIRE(bio != nullptr);
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  REQUIRE(cert != nullptr);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned len = 0;
  REQUIRE(X509_digest(cert.get(), EVP_sha256(), md.data(), &len) == 1);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return hex;
}

/// A TLS request that the server refuses: the handshake fails, or (TLS 1.3, where the client
/// finishes first) the connection fails before any response.
bool tls_refused(std::uint16_t port, const RawTlsOptions& tls) {
  auto c = RawConnection::connect_tls(port, tls);
  if (!c) return true;
  return !c->request(get("/echo"), 2s).has_value();
}

}  // namespace

TEST_SUITE("http") {

// --- requests and responses ----------------------------------------------------------------------

TEST_CASE("http server: passes method, target, path, query, headers in order, body and peer to the handler") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  const auto r = c->request(
      "POST /echo?a=1&b=%20 HTTP/1.1\r\nHost: example\r\nX-Custom: One\r\nx-custom: two\r\n"
      "Content-Type: application/json\r\nContent-Length: 4\r\n\r\nbody");
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(r->body == "body");
  CHECK(r->header("server") == "txguard");
  CHECK(r->header("content-type") == "application/json");
  CHECK(r->header("x-method") == "POST");
  CHECK(r->header("x-query") == "a=1&b=%20");
  CHECK(r->keep_alive);

  const auto requests = handler.requests();
  REQUIRE(requests.size() == 1);
  const Request& req = requests[0];
  CHECK(req.method == "POST");
  CHECK(req.target == "/echo?a=1&b=%20");
  CHECK(req.path == "/echo");
  CHECK(req.query == "a=1&b=%20");
  REQUIRE(req.headers.size() == 5);
  CHECK(req.headers[0] == std::pair<std::string, std::string>{"host", "example"});
  CHECK(req.headers[1] == std::pair<std::string, std::string>{"x-custom", "One"});
  CHECK(req.headers[2] == std::pair<std::string, std::string>{"x-custom", "two"});
  CHECK(req.header("x-custom") == "One");
  CHECK(req.header("content-type") == "application/json");
  CHECK_FALSE(req.header("X-Custom").has_value());  // names are matched lower-case
  CHECK_FALSE(req.header("missing").has_value());
  CHECK(req.body == "body");
  CHECK(req.peer.starts_with("127.0.0.1:"));
  CHECK(req.peer != "127.0.0.1:" + std::to_string(server->port()));
  CHECK_FALSE(req.tls);
  CHECK_FALSE(req.client_cert.has_value());
  CHECK(req.version == 11);
}

TEST_CASE("http server: a target without a query has an empty query") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  REQUIRE(c->request(get("/echo")).has_value());
  REQUIRE(c->request(get("/echo?")).has_value());
  const auto requests = handler.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].path == "/echo");
  CHECK(requests[0].query.empty());
  CHECK(requests[1].path == "/echo");
  CHECK(requests[1].query.empty());
  CHECK(requests[1].target == "/echo?");
}

TEST_CASE("http server: serves several requests on one keep-alive connection") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  for (int i = 0; i < 5; ++i) {
    const auto r = c->request(post("/echo", "n" + std::to_string(i)));
    REQUIRE(r.has_value());
    CHECK(r->body == "n" + std::to_string(i));
    CHECK(r->keep_alive);
  }
  const auto requests = handler.requests();
  REQUIRE(requests.size() == 5);
  for (const auto& req : requests) CHECK(req.peer == requests[0].peer);
  CHECK(server->connections() == 1);
}

TEST_CASE("http server: answers pipelined requests one at a time, in order") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  // The first answer comes late from another thread; the next two would be instant.
  REQUIRE(c->send(get("/later?ms=150") + post("/echo", "two") + post("/echo", "three")));
  const auto first = c->read_response();
  const auto second = c->read_response();
  const auto third = c->read_response();
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  REQUIRE(third.has_value());
  CHECK(first->body == "\"later\"");
  CHECK(second->body == "two");
  CHECK(third->body == "three");
  const auto requests = handler.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].path == "/later");
  CHECK(requests[2].body == "three");
}

TEST_CASE("http server: answers from another thread, later") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  const auto t0 = Clock::now();
  const auto r = c->request(get("/later?ms=100"));
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(r->body == "\"later\"");
  CHECK(since(t0) >= 90ms);
}

TEST_CASE("http server: HTTP/1.0 is served and closed unless it asks for keep-alive") {
  TestHandler handler;
  auto server = start(options(), handler);
  {
    auto c = connect(*server);
    const auto r = c->request("GET /echo HTTP/1.0\r\n\r\n");
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
    CHECK_FALSE(r->keep_alive);
    CHECK(c->closed_within(2s));
  }
  {
    auto c = connect(*server);
    const auto r1 = c->request("GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    REQUIRE(r1.has_value());
    CHECK(r1->keep_alive);
    const auto r2 = c->request("GET /echo HTTP/1.0\r\n\r\n");
    REQUIRE(r2.has_value());
    CHECK(r2->status == 200);
  }
  REQUIRE(handler.requests().size() == 3);
  CHECK(handler.requests()[0].version == 10);
}

TEST_CASE("http server: Connection: close is honoured after the response") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  const auto r = c->request(get("/echo", "Connection: close\r\n"));
  REQUIRE(r.has_value());
  CHECK_FALSE(r->keep_alive);
  CHECK(c->closed_within(2s));
}

TEST_CASE("http server: answers Expect: 100-continue before reading the body") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  REQUIRE(c->send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  const auto interim = c->read_response();
  REQUIRE(interim.has_value());
  CHECK(interim->status == 100);
  REQUIRE(c->send("hello"));
  const auto r = c->read_response();
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(r->body == "hello");
}

TEST_CASE("http server: drops hostile response headers and sets framing itself") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  const auto r = c->request(get("/inject"));
  REQUIRE(r.has_value());
  CHECK(r->body == "ok");
  CHECK(r->header("x-good") == "fine");
  CHECK(r->header("x-bad").empty());
  CHECK(r->header("x-injected").empty());
  CHECK(r->header("content-length") == "2");
  CHECK(r->header("content-type").empty());
  CHECK(r->keep_alive);  // the handler cannot set Connection
}

TEST_CASE("http server: parses a request split at every byte") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  const std::string request = post("/echo?q=1", "{\"k\":1}", "X-A: b\r\n");
  for (std::size_t cut = 1; cut < request.size(); ++cut) {
    CAPTURE(cut);
    REQUIRE(c->send(request.substr(0, cut)));
    std::this_thread::sleep_for(1ms);
    REQUIRE(c->send(request.substr(cut)));
    const auto r = c->read_response();
    REQUIRE(r.has_value());
    CHECK(r->body == "{\"k\":1}");
  }
  const auto requests = handler.requests();
  REQUIRE(requests.size() == request.size() - 1);
  for (const auto& req : requests) {
    CHECK(req.query == "q=1");
    CHECK(req.header("x-a") == "b");
  }
}

TEST_CASE("http server: a HEAD response announces the length without a body, and a 204 has neither") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  REQUIRE(c->send("HEAD /status?code=200 HTTP/1.1\r\nHost: t\r\n\r\n"));
  const auto head = c->read_response(2s, true);
  REQUIRE(head.has_value());
  CHECK(head->header("content-length") == "2");
  CHECK(head->body.empty());
  const auto no_content = c->request(get("/status?code=204"));
  REQUIRE(no_content.has_value());
  CHECK(no_content->status == 204);
  CHECK(no_content->header("content-length").empty());
  CHECK(no_content->body.empty());
  // Framing held: the next response on the connection is the next request's.
  const auto next = c->request(post("/echo", "after"));
  REQUIRE(next.has_value());
  CHECK(next->body == "after");
}

TEST_CASE("http server: serves many connections at once") {
  TestHandler handler;
  auto server = start(options(), handler);
  constexpr int kClients = 16;
  constexpr int kRequests = 5;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      auto c = RawConnection::connect(server->port());
      if (!c) return;
      for (int i = 0; i < kRequests; ++i) {
        const std::string body = std::to_string(t) + "/" + std::to_string(i);
        const auto r = c->request(post("/echo", body));
        if (r && r->body == body) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == kClients * kRequests);
}

// --- handler failures ----------------------------------------------------------------------------

TEST_CASE("http server: a handler that throws is answered with 500 internal and the connection lives on") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  check_error(c->request(get("/throw")), 500, "internal");
  const auto next = c->request(post("/echo", "still here"));
  REQUIRE(next.has_value());
  CHECK(next->body == "still here");
}

TEST_CASE("http server: an answer given before the handler threw stands") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  const auto r = c->request(get("/answer-then-throw"));
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(r->body == "\"answered\"");
  const auto next = c->request(post("/echo", "x"));
  REQUIRE(next.has_value());
  CHECK(next->body == "x");
}

TEST_CASE("http server: a second respond() is dropped") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  const auto r = c->request(get("/twice"));
  REQUIRE(r.has_value());
  CHECK(r->body == "\"first\"");
  const auto next = c->request(post("/echo", "third"));
  REQUIRE(next.has_value());
  CHECK(next->body == "third");
}

TEST_CASE("http server: a response status outside 200..599 becomes 500 internal") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  check_error(c->request(get("/status?code=199")), 500, "internal");
  check_error(c->request(get("/status?code=600")), 500, "internal");
  check_error(c->request(get("/status?code=0")), 500, "internal");
  const auto low = c->request(get("/status?code=200"));
  REQUIRE(low.has_value());
  CHECK(low->status == 200);
  const auto high = c->request(get("/status?code=599"));
  REQUIRE(high.has_value());
  CHECK(high->status == 599);
}

TEST_CASE("http server: a handler that does not respond in time gets 503 timeout, and its late answer is dropped") {
  TestHandler handler;
  auto o = options();
  o.response_timeout = 200ms;
  auto server = start(o, handler);
  auto c = connect(*server);
  const auto t0 = Clock::now();
  check_error(c->request(get("/never")), 503, "timeout");
  CHECK(since(t0) >= 190ms);
  auto parked = handler.take_parked();
  REQUIRE(parked.size() == 1);
  Response late;
  late.body = "\"late\"";
  parked[0](late);  // after the timeout: dropped
  parked[0](late);  // twice: still dropped
  const auto next = c->request(post("/echo", "fresh"));
  REQUIRE(next.has_value());
  CHECK(next->body == "fresh");

  // A request parked on a connection that is then closed, answered after the server is gone.
  auto d = connect(*server);
  REQUIRE(d->send(get("/never")));
  REQUIRE(handler.wait_for_requests(3, 2s));
  d.reset();
  server.reset();
  parked = handler.take_parked();
  REQUIRE(parked.size() == 1);
  parked[0](late);
}

TEST_CASE("http server: an answer racing the response timeout yields exactly one response per request") {
  TestHandler handler;
  auto o = options();
  o.response_timeout = 20ms;
  auto server = start(o, handler);
  auto c = connect(*server);
  int answered = 0;
  int timed_out = 0;
  for (int i = 0; i < 30; ++i) {
    // Answers land just before, at or just after the deadline.
    const auto r = c->request(get("/later?ms=" + std::to_string(15 + i % 10)));
    REQUIRE(r.has_value());
    if (r->status == 200) {
      CHECK(r->body == "\"later\"");
      ++answered;
    } else {
      check_error(r, 503, "timeout");
      ++timed_out;
    }
    const auto marker = c->request(post("/echo", "marker" + std::to_string(i)));
    REQUIRE(marker.has_value());
    CHECK(marker->body == "marker" + std::to_string(i));
  }
  CHECK(answered + timed_out == 30);
}

// --- bounds --------------------------------------------------------------------------------------

TEST_CASE("http server: refuses a body one byte over max_body_bytes with 413 and accepts one at the limit") {
  TestHandler handler;
  auto o = options();
  o.max_body_bytes = 100;
  auto server = start(o, handler);
  {
    auto c = connect(*server);
    const auto r = c->request(post("/echo", std::string(100, 'a')));
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
    CHECK(r->body.size() == 100);
  }
  {
    auto c = connect(*server);
    // Only the header is sent: the declared length alone is refused.
    const auto r = c->request("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n");
    check_error(r, 413, "body-too-large");
    CHECK_FALSE(r->keep_alive);
    CHECK(c->closed_within(2s));
  }
  {
    auto c = connect(*server);
    check_error(c->request(post("/echo", std::string(101, 'a'))), 413, "body-too-large");
    CHECK(c->closed_within(2s));
  }
  CHECK(handler.requests().size() == 1);
}

TEST_CASE("http server: refuses a chunked body that grows over max_body_bytes with 413") {
  TestHandler handler;
  auto o = options();
  o.max_body_bytes = 100;
  auto server = start(o, handler);
  const std::string head = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  {
    auto c = connect(*server);
    const auto r = c->request(head + "3c\r\n" + std::string(60, 'a') + "\r\n28\r\n" + std::string(40, 'b') + "\r\n0\r\n\r\n");
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
    CHECK(r->body == std::string(60, 'a') + std::string(40, 'b'));
  }
  {
    auto c = connect(*server);
    const auto r = c->request(head + "3c\r\n" + std::string(60, 'a') + "\r\n29\r\n" + std::string(41, 'b') + "\r\n0\r\n\r\n");
    check_error(r, 413, "body-too-large");
    CHECK(c->closed_within(2s));
  }
  {
    auto c = connect(*server);  // one huge declared chunk
    check_error(c->request(head + "ffffffff\r\n"), 413, "body-too-large");
  }
  CHECK(handler.requests().size() == 1);
}

TEST_CASE("http server: refuses a header one byte over max_header_bytes with 431 and accepts one at the limit") {
  TestHandler handler;
  auto o = options();
  o.max_header_bytes = 512;
  auto server = start(o, handler);
  // A header of exactly `size` bytes, including the request line and the final empty line.
  const auto request_of_size = [](std::size_t size) {
    const std::string start = "GET /echo HTTP/1.1\r\nHost: t\r\nX-Pad: ";
    const std::string end = "\r\n\r\n";
    return start + std::string(size - start.size() - end.size(), 'p') + end;
  };
  {
    auto c = connect(*server);
    const auto r = c->request(request_of_size(512));
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
  }
  {
    auto c = connect(*server);
    check_error(c->request(request_of_size(513)), 431, "header-too-large");
    CHECK(c->closed_within(2s));
  }
  {
    auto c = connect(*server);  // a header that never ends
    REQUIRE(c->send("GET /echo HTTP/1.1\r\nHost: t\r\n"));
    check_error(c->request(std::string(600, 'x')), 431, "header-too-large");
  }
  CHECK(handler.requests().size() == 1);
}

TEST_CASE("http server: answers malformed HTTP with 400 bad-request and closes") {
  TestHandler handler;
  auto server = start(options(), handler);
  const std::vector<std::string> malformed = {
      "garbage\r\n\r\n",
      std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11),  // a TLS ClientHello
      "GET\r\n\r\n",
      "GET /\r\n\r\n",
      "GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n",
      "GET / HTTX/1.1\r\nHost: t\r\n\r\n",
      "GET / HTTP/2.0\r\nHost: t\r\n\r\n",
      "GET / HTTP/0.9\r\nHost: t\r\n\r\n",
      "GET /a\x01 HTTP/1.1\r\nHost: t\r\n\r\n",
      "GET / HTTP/1.1\nHost: t\n\n",
      "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
      "GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\nabc",
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc",
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n",
  };
  for (const auto& bytes : malformed) {
    CAPTURE(bytes);
    auto c = connect(*server);
    const auto r = c->request(bytes);
    check_error(r, 400, "bad-request");
    if (r) CHECK_FALSE(r->keep_alive);
    CHECK(c->closed_within(2s));
  }
  CHECK(handler.requests().empty());
}

TEST_CASE("http server: closes a connection whose header does not arrive within header_timeout (slowloris)") {
  TestHandler handler;
  auto o = options();
  o.header_timeout = 200ms;
  auto server = start(o, handler);
  auto c = connect(*server);
  const auto t0 = Clock::now();
  REQUIRE(c->send("GET /echo HTTP/1.1\r\nHost: t\r\nX-Slow: "));
  check_error(c->read_response(3s), 408, "timeout");
  CHECK(c->closed_within(2s));
  CHECK(since(t0) >= 190ms);
  CHECK(since(t0) < 2000ms);
  CHECK(handler.requests().empty());
}

TEST_CASE("http server: the header deadline holds however slowly the bytes trickle in") {
  TestHandler handler;
  auto o = options();
  o.header_timeout = 300ms;
  auto server = start(o, handler);
  auto c = connect(*server);
  const auto t0 = Clock::now();
  REQUIRE(c->send("GET /echo HTTP/1.1\r\nHost: t\r\nX-Slow: "));
  while (since(t0) < 700ms) {  // one byte every 50 ms, past the deadline
    c->send("x", 200ms);
    std::this_thread::sleep_for(50ms);
  }
  check_error(c->read_response(2s), 408, "timeout");
  CHECK(c->closed_within(2s));
  CHECK(handler.requests().empty());
}

TEST_CASE("http server: closes a connection that sends nothing within header_timeout, without a response") {
  TestHandler handler;
  auto o = options();
  o.header_timeout = 200ms;
  auto server = start(o, handler);
  auto c = connect(*server);
  const auto t0 = Clock::now();
  CHECK(c->closed_within(3s));
  CHECK(since(t0) >= 190ms);
  CHECK(c->received().empty());
  CHECK(eventually([&] { return server->connections() == 0; }));
}

TEST_CASE("http server: answers 408 when the body does not arrive within body_timeout") {
  TestHandler handler;
  auto o = options();
  o.body_timeout = 200ms;
  auto server = start(o, handler);
  auto c = connect(*server);
  const auto t0 = Clock::now();
  REQUIRE(c->send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"));
  check_error(c->read_response(3s), 408, "timeout");
  CHECK(c->closed_within(2s));
  CHECK(since(t0) >= 190ms);
  CHECK(handler.requests().empty());
}

TEST_CASE("http server: closes an idle keep-alive connection after idle_timeout") {
  TestHandler handler;
  auto o = options();
  o.idle_timeout = 200ms;
  auto server = start(o, handler);
  auto c = connect(*server);
  REQUIRE(c->request(get("/echo")).has_value());
  const auto t0 = Clock::now();
  CHECK(c->closed_within(3s));
  CHECK(since(t0) >= 190ms);
  CHECK(c->received().empty());
}

TEST_CASE("http server: a keep-alive connection used within idle_timeout stays open") {
  TestHandler handler;
  auto o = options();
  o.idle_timeout = 300ms;
  auto server = start(o, handler);
  auto c = connect(*server);
  for (int i = 0; i < 4; ++i) {  // 4 x 150 ms: longer than idle_timeout in total
    REQUIRE(c->request(get("/echo")).has_value());
    std::this_thread::sleep_for(150ms);
  }
  CHECK(handler.requests().size() == 4);
}

TEST_CASE("http server: refuses connections beyond max_connections and admits again when one closes") {
  TestHandler handler;
  auto o = options();
  o.max_connections = 2;
  auto server = start(o, handler);
  auto a = connect(*server);
  auto b = connect(*server);
  REQUIRE(eventually([&] { return server->connections() == 2; }));

  auto extra = RawConnection::connect(server->port());
  if (extra) {  // the kernel accepted it; the server answers 503 and closes
    check_error(extra->read_response(2s), 503, "unavailable");
    CHECK(extra->closed_within(2s));
  }
  CHECK(server->connections() == 2);
  REQUIRE(a->request(get("/echo")).has_value());

  a.reset();
  REQUIRE(eventually([&] { return server->connections() == 1; }));
  auto d = connect(*server);
  const auto r = d->request(get("/echo"));
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(handler.requests().size() == 2);
}

TEST_CASE("http server: a client over its per-address connection cap is refused while others are served") {
  TestHandler handler;
  auto o = options();
  o.max_connections = 100;
  o.max_connections_per_address = 2;
  auto server = start(o, handler);
  auto a = RawConnection::connect(server->port(), "127.0.0.1");
  auto b = RawConnection::connect(server->port(), "127.0.0.1");
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  REQUIRE(eventually([&] { return server->connections() == 2; }));

  // A third idle socket from the same address is refused at once...
  auto extra = RawConnection::connect(server->port(), "127.0.0.1");
  if (extra) {
    check_error(extra->read_response(2s), 503, "unavailable");
    CHECK(extra->closed_within(2s));
  }
  // ...while another address is served, though the global cap is far from reached.
  auto other = RawConnection::connect(server->port(), "127.0.0.2");
  REQUIRE(other != nullptr);
  const auto r = other->request(get("/echo"));
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(a->request(get("/echo")).has_value());

  // A slot freed is a slot for that address again.
  b.reset();
  REQUIRE(eventually([&] { return server->connections() == 2; }));
  auto again = RawConnection::connect(server->port(), "127.0.0.1");
  REQUIRE(again != nullptr);
  const auto r2 = again->request(get("/echo"));
  REQUIRE(r2.has_value());
  CHECK(r2->status == 200);
}

TEST_CASE("http server: per-address limits count an IPv4 address, the /64 of an IPv6 address, and a mapped IPv4 as IPv4") {
  using txguard::http::peer_address_key;
  CHECK(peer_address_key("10.0.0.7:5555") == "10.0.0.7");
  CHECK(peer_address_key("[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:443") == "2001:db8:1:2::/64");
  CHECK(peer_address_key("[2001:db8:1:2::1]:1") == peer_address_key("[2001:db8:1:2:ffff::9]:2"));
  CHECK(peer_address_key("[::ffff:192.0.2.1]:80") == "192.0.2.1");
  CHECK(peer_address_key("not an address") == "not an address");
}

TEST_CASE("http server: an unauthenticated request is answered 401 before its body is read") {
  TestHandler handler;
  auto o = options();
  o.body_timeout = 5s;
  auto server = start(o, handler);
  auto c = connect(*server);
  // A header announcing a body far over max_body_bytes, and no body: the 401 comes at once, neither a
  // 100 Continue, nor a 413 for the size it claims, nor a 408 for the body that never comes.
  const auto started = Clock::now();
  REQUIRE(c->send("POST /guarded HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000000000\r\nExpect: 100-continue\r\n\r\n"));
  const auto r = c->read_response(3s);
  REQUIRE(r.has_value());
  CHECK(r->status == 401);
  CHECK(since(started) < 2s);  // not the 5 s body timeout
  CHECK_FALSE(r->keep_alive);
  CHECK(c->closed_within(3s));
  CHECK(handler.requests().empty());  // handle() never saw it
  CHECK(handler.headers_judged_ == 1);

  // With a token the same header goes on to the body limit; a small body is read and handled.
  auto d = connect(*server);
  check_error(d->request("POST /guarded HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer t\r\nContent-Length: 1000000000000\r\n\r\n"),
              413, "body-too-large");
  auto e = connect(*server);
  const auto ok = e->request(post("/guarded", "hello", "Authorization: Bearer t\r\n"));
  REQUIRE(ok.has_value());
  CHECK(ok->status == 200);
  CHECK(ok->body == "hello");
  // A refused request without a body keeps its connection.
  const auto bare = e->request(get("/guarded"));
  REQUIRE(bare.has_value());
  CHECK(bare->status == 401);
  CHECK(bare->keep_alive);
}

// --- stop ----------------------------------------------------------------------------------------

TEST_CASE("http server: stop lets an in-flight request finish and refuses new connections") {
  TestHandler handler;
  auto server = start(options(), handler);
  const auto port = server->port();
  auto c = connect(*server);
  REQUIRE(c->send(get("/later?ms=400")));
  REQUIRE(handler.wait_for_requests(1, 2s));

  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server->stop(5s);
    stopped = true;
  });
  const bool refused = eventually([&] { return RawConnection::connect(port) == nullptr; }, 1s);
  const auto r = c->read_response(3s);
  stopper.join();
  CHECK(refused);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(r->body == "\"later\"");
  CHECK_FALSE(r->keep_alive);
  CHECK(c->closed_within(2s));
  CHECK(stopped);
  CHECK(RawConnection::connect(port) == nullptr);
}

TEST_CASE("http server: stop closes idle connections at once and is idempotent") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  REQUIRE(c->request(get("/echo")).has_value());
  auto silent = connect(*server);
  const auto t0 = Clock::now();
  server->stop(5s);
  CHECK(since(t0) < 1000ms);
  CHECK(c->closed_within(1s));
  CHECK(silent->closed_within(1s));
  server->stop(5s);
  CHECK(server->connections() == 0);
}

TEST_CASE("http server: stop gives up on a handler that never answers after the grace period") {
  TestHandler handler;
  auto server = start(options(), handler);
  auto c = connect(*server);
  REQUIRE(c->send(get("/never")));
  REQUIRE(handler.wait_for_requests(1, 2s));
  const auto t0 = Clock::now();
  server->stop(200ms);
  CHECK(since(t0) >= 190ms);
  CHECK(since(t0) < 2000ms);
  CHECK(c->closed_within(1s));
  CHECK(c->received().empty());
  auto parked = handler.take_parked();
  REQUIRE(parked.size() == 1);
  parked[0](Response{});  // after stop: dropped
}

TEST_CASE("http server: start refuses bad options with a message that names the problem") {
  TestHandler handler;
  auto o = options();
  o.host = "not-an-ip";
  auto bad_host = Server::start(o, handler);
  REQUIRE_FALSE(bad_host.has_value());
  CHECK(bad_host.error().find("not-an-ip") != std::string::npos);

  o = options();
  o.max_connections = 0;
  CHECK_FALSE(Server::start(o, handler).has_value());

  o = options();
  o.max_header_bytes = 0;
  CHECK_FALSE(Server::start(o, handler).has_value());

  auto first = start(options(), handler);
  o = options();
  o.port = first->port();
  auto taken = Server::start(o, handler);
  REQUIRE_FALSE(taken.has_value());
  CHECK(taken.error().find("127.0.0.1:" + std::to_string(first->port())) != std::string::npos);
}

// --- TLS -----------------------------------------------------------------------------------------

TEST_CASE("http server: serves HTTPS with a certificate made at test time") {
  TempDir dir{"txguard-http-server"};
  const auto tls = txguard::test::make_tls_material(dir.path.string());
  TestHandler handler;
  auto o = options();
  o.tls = TlsOptions{tls.server_cert, tls.server_key, std::nullopt, false};
  auto server = start(o, handler);
  CHECK(server->tls());
  auto c = RawConnection::connect_tls(server->port(), {tls.ca_cert, std::nullopt, std::nullopt});
  REQUIRE(c != nullptr);
  CHECK(SSL_version(c->ssl()) >= TLS1_2_VERSION);
  for (int i = 0; i < 3; ++i) {
    const auto r = c->request(post("/echo", "secret" + std::to_string(i)));
    REQUIRE(r.has_value());
    CHECK(r->body == "secret" + std::to_string(i));
  }
  const auto requests = handler.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].tls);
  CHECK_FALSE(requests[0].client_cert.has_value());
  // Without client_ca_file no certificate is asked for, so one that is offered is not reported.
  auto with_cert = RawConnection::connect_tls(server->port(), {tls.ca_cert, tls.client_cert, tls.client_key});
  REQUIRE(with_cert != nullptr);
  REQUIRE(with_cert->request(get("/echo")).has_value());
  CHECK_FALSE(handler.requests().back().client_cert.has_value());
}

TEST_CASE("http server: a TLS client that does not trust the server's CA fails the handshake") {
  TempDir dir{"txguard-http-server"};
  const auto tls = txguard::test::make_tls_material(dir.path.string());
  TestHandler handler;
  auto o = options();
  o.tls = TlsOptions{tls.server_cert, tls.server_key, std::nullopt, false};
  auto server = start(o, handler);
  CHECK(RawConnection::connect_tls(server->port(), {tls.other_ca_cert, std::nullopt, std::nullopt}) == nullptr);
  CHECK(handler.requests().empty());
}

TEST_CASE("http server: mTLS accepts a client certificate from the CA and exposes its subject and fingerprint") {
  TempDir dir{"txguard-http-server"};
  const auto tls = txguard::test::make_tls_material(dir.path.string());
  TestHandler handler;
  auto o = options();
  o.tls = TlsOptions{tls.server_cert, tls.server_key, tls.ca_cert, true};
  auto server = start(o, handler);
  auto c = RawConnection::connect_tls(server->port(), {tls.ca_cert, tls.client_cert, tls.client_key});
  REQUIRE(c != nullptr);
  const auto r = c->request(get("/echo"));
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  const auto requests = handler.requests();
  REQUIRE(requests.size() == 1);
  REQUIRE(requests[0].client_cert.has_value());
  CHECK(requests[0].client_cert->subject == tls.client_subject);
  CHECK(requests[0].client_cert->sha256_fingerprint == fingerprint_of(tls.client_cert));
  CHECK(requests[0].client_cert->sha256_fingerprint.size() == 64);
}

TEST_CASE("http server: mTLS with require_client_cert refuses a client without a certificate") {
  TempDir dir{"txguard-http-server"};
  const auto tls = txguard::test::make_tls_material(dir.path.string());
  TestHandler handler;
  auto o = options();
  o.tls = TlsOptions{tls.server_cert, tls.server_key, tls.ca_cert, true};
  auto server = start(o, handler);
  CHECK(tls_refused(server->port(), {tls.ca_cert, std::nullopt, std::nullopt}));
  CHECK(handler.requests().empty());
}

TEST_CASE("http server: mTLS refuses a client certificate from another CA, required or not") {
  TempDir dir{"txguard-http-server"};
  const auto tls = txguard::test::make_tls_material(dir.path.string());
  for (const bool required : {true, false}) {
    CAPTURE(required);
    TestHandler handler;
    auto o = options();
    o.tls = TlsOptions{tls.server_cert, tls.server_key, tls.ca_cert, required};
    auto server = start(o, handler);
    CHECK(tls_refused(server->port(), {tls.ca_cert, tls.other_client_cert, tls.other_client_key}));
    CHECK(handler.requests().empty());
  }
}

TEST_CASE("http server: optional mTLS serves a client without a certificate, with no client_cert") {
  TempDir dir{"txguard-http-server"};
  const auto tls = txguard::test::make_tls_material(dir.path.string());
  TestHandler handler;
  auto o = options();
  o.tls = TlsOptions{tls.server_cert, tls.server_key, tls.ca_cert, false};
  auto server = start(o, handler);
  auto anonymous = RawConnection::connect_tls(server->port(), {tls.ca_cert, std::nullopt, std::nullopt});
  REQUIRE(anonymous != nullptr);
  REQUIRE(anonymous->request(get("/echo")).has_value());
  auto known = RawConnection::connect_tls(server->port(), {tls.ca_cert, tls.client_cert, tls.client_key});
  REQUIRE(known != nullptr);
  REQUIRE(known->request(get("/echo")).has_value());
  const auto requests = handler.requests();
  REQUIRE(requests.size() == 2);
  CHECK_FALSE(requests[0].client_cert.has_value());
  REQUIRE(requests[1].client_cert.has_value());
  CHECK(requests[1].client_cert->subject == tls.client_subject);
}

TEST_CASE("http server: plain HTTP to a TLS port fails fast") {
  TempDir dir{"txguard-http-server"};
  const auto tls = txguard::test::make_tls_material(dir.path.string());
  TestHandler handler;
  auto o = options();
  o.tls = TlsOptions{tls.server_cert, tls.server_key, std::nullopt, false};
  auto server = start(o, handler);
  auto c = connect(*server);
  const auto t0 = Clock::now();
  REQUIRE(c->send(get("/echo")));
  CHECK(c->closed_within(2s));
  CHECK(since(t0) < 1000ms);
  CHECK(c->received().find("HTTP/1.1") == std::string::npos);
  CHECK(handler.requests().empty());
}

TEST_CASE("http server: a TLS connection that never starts the handshake is closed within header_timeout") {
  TempDir dir{"txguard-http-server"};
  const auto tls = txguard::test::make_tls_material(dir.path.string());
  TestHandler handler;
  auto o = options();
  o.header_timeout = 200ms;
  o.tls = TlsOptions{tls.server_cert, tls.server_key, std::nullopt, false};
  auto server = start(o, handler);
  auto c = connect(*server);
  const auto t0 = Clock::now();
  CHECK(c->closed_within(3s));
  CHECK(since(t0) >= 190ms);
}

TEST_CASE("http server: TLS material that cannot be used is an error naming the file") {
  TempDir dir{"txguard-http-server"};
  const auto tls = txguard::test::make_tls_material(dir.path.string());
  const std::string garbage = dir.file("garbage.pem");
  {
    std::FILE* f = std::fopen(garbage.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n", f);
    std::fclose(f);
  }
  const std::string missing = dir.file("missing.pem");
  TestHandler handler;
  const auto error_of = [&](TlsOptions t) {
    auto o = options();
    o.tls = std::move(t);
    auto s = Server::start(o, handler);
    REQUIRE_FALSE(s.has_value());
    return s.error();
  };
  const auto names = [](const std::string& error, const std::string& file) {
    CAPTURE(error);
    CHECK(error.find(file) != std::string::npos);
  };
  names(error_of({missing, tls.server_key, std::nullopt, false}), missing);
  names(error_of({garbage, tls.server_key, std::nullopt, false}), garbage);
  names(error_of({dir.path, tls.server_key, std::nullopt, false}), dir.path);
  names(error_of({tls.server_cert, missing, std::nullopt, false}), missing);
  names(error_of({tls.server_cert, garbage, std::nullopt, false}), garbage);
  names(error_of({tls.server_cert, tls.client_key, std::nullopt, false}), tls.client_key);  // key of another cert
  names(error_of({tls.server_cert, tls.server_key, missing, true}), missing);
  names(error_of({tls.server_cert, tls.server_key, garbage, true}), garbage);
  CHECK(error_of({tls.server_cert, tls.server_key, std::nullopt, true}).find("client CA") != std::string::npos);
  CHECK(error_of({missing, tls.server_key, std::nullopt, false}).find("cannot open") != std::string::npos);
}

}  // TEST_SUITE

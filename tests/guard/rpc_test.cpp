// JSON-RPC at /rpc against hostile input (issue 13, items 2 and 11): a client's maximal fee, an
// upstream node that answers what no node should (a real HTTP server on 127.0.0.1 whose answers each
// test chooses), an exception inside a task, error texts that could carry the upstream's URL, and the
// rate a batch costs. Real parts: the pipeline on a temporary SQLite database, a keystore signer, the
// service and txguard's own HTTP server as the upstream.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include <nlohmann/json.hpp>

#include "guard/http/server.hpp"
#include "guard/service/pipeline.hpp"
#include "guard/service/requests.hpp"
#include "guard/service/rpc.hpp"
#include "guard/service/service.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/transaction.hpp"
#include "policy/codec/u256.hpp"
#include "signers/keystore.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/policy_sets.hpp"
#include "tests/support/accounts.hpp"
#include "tests/support/temp_dir.hpp"

using namespace txguard;
using namespace txguard::service;
using nlohmann::json;
using test::cs;

namespace {

constexpr TimeMs kT0 = 1'795'341'600'000;  // 2026-11-22T10:00:00Z
const std::string kMax = "0x" + std::string(64, 'f');  // 2^256-1
const codec::Address kGuard = test::address_of_key(test::kGuardKey);

/// An upstream node that answers each method with the body the test chose (default: a plausible
/// node), and remembers which methods it was asked.
class Upstream final : public http::Handler {
 public:
  Upstream() {
    auto s = http::Server::start(http::ServerOptions{}, *this);
    REQUIRE_MESSAGE(s.has_value(), (s ? std::string() : s.error()));
    server_ = std::move(*s);
  }
  ~Upstream() override { server_->stop(std::chrono::milliseconds{500}); }

  /// Where the guard is told the node is: the path and query stand for a provider's API key.
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/v3/SECRETKEY?apikey=SECRET2"; }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  /// The whole HTTP body to answer `method` with.
  void answer_raw(const std::string& method, std::string body) {
    std::lock_guard lock(mutex_);
    raw_[method] = std::move(body);
  }
  /// A JSON-RPC result for `method`.
  void answer(const std::string& method, const json& result) {
    answer_raw(method, json{{"jsonrpc", "2.0"}, {"id", 1}, {"result", result}}.dump());
  }
  /// An HTTP status (and body) for every call.
  void fail_with(unsigned status, std::string body) {
    std::lock_guard lock(mutex_);
    status_ = status;
    status_body_ = std::move(body);
  }
  std::vector<std::string> asked() {
    std::lock_guard lock(mutex_);
    return asked_;
  }
  bool was_asked(const std::string& method) {
    const auto a = asked();
    return std::find(a.begin(), a.end(), method) != a.end();
  }

  void handle(http::Request request, http::Respond respond) override {
    const json call = json::parse(request.body, nullptr, false);
    const std::string method = call.is_object() ? call.value("method", "") : "";
    http::Response r;
    std::lock_guard lock(mutex_);
    asked_.push_back(method);
    if (status_ != 0) {
      r.status = status_;
      r.body = status_body_;
      return respond(std::move(r));
    }
    if (const auto it = raw_.find(method); it != raw_.end()) {
      r.body = it->second;
      return respond(std::move(r));
    }
    json result = nullptr;
    if (method == "eth_getTransactionCount") result = "0x0";
    else if (method == "eth_maxPriorityFeePerGas") result = "0x3b9aca00";
    else if (method == "eth_getBlockByNumber") result = {{"number", "0x10"}, {"baseFeePerGas", "0x3b9aca00"}};
    else if (method == "eth_gasPrice") result = "0x77359400";
    else if (method == "eth_estimateGas") result = "0x5208";
    else if (method == "eth_blockNumber") result = "0x10";
    else if (method == "eth_sendRawTransaction") {
      auto raw = codec::from_hex(call.at("params").at(0).get<std::string>());
      result = raw ? json(codec::to_hex(codec::keccak256(*raw))) : json(nullptr);
    }
    r.body = json{{"jsonrpc", "2.0"}, {"id", call.is_object() ? call.value("id", json(1)) : json(1)}, {"result", result}}.dump();
    respond(std::move(r));
  }

 private:
  std::unique_ptr<http::Server> server_;
  std::mutex mutex_;
  std::map<std::string, std::string> raw_;
  unsigned status_ = 0;
  std::string status_body_;
  std::vector<std::string> asked_;
};

json policy_doc() {
  return json{{"txguard_policy", 1},
              {"name", "rpc-test"},
              {"chains", {{"ethereum", {{"id", 1}}}}},
              {"assets", {{"ETH", {{"chain", "ethereum"}, {"native", true}, {"decimals", 18}}}}},
              {"prices", {{"fixed", {{"ETH", "3000"}}}}},
              {"wallets", {{"guard", {{"chain", "ethereum"}, {"address", cs(kGuard)}, {"kind", "account"}}}}},
              {"rules", json::array({{{"id", "pay"}, {"match", {{"leg", "transfer"}}}, {"effect", "allow"}},
                                     {{"id", "gas"}, {"match", {{"leg", "fee"}}}, {"effect", "allow"}}})}};
}

struct Answer {
  unsigned status = 0;
  json body;
  std::string text;
};

// The guard: pipeline + service, its only upstream being `upstream_url` for chain 1.
struct Guard {
  test::TempDir dir{"txguard-rpc"};
  test::TestDatabase db = test::test_database(dir);
  std::atomic<TimeMs> now{kT0};
  std::shared_ptr<signers::KeystoreSigner> signer;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<Service> service;

  explicit Guard(const std::string& upstream_url, double rate = 1000, double burst = 2000) {
    auto s = signers::KeystoreSigner::from_key(test::key(test::kGuardKey));
    REQUIRE(s.has_value());
    signer = std::make_shared<signers::KeystoreSigner>(std::move(*s));
    PipelineOptions options;
    options.database = db.name;
    options.database_password = db.password;
    options.clock = [this] { return now.load(); };
    auto p = Pipeline::start(options, test::policy_set_of(policy_doc()), signer);
    REQUIRE_MESSAGE(p.has_value(), (p ? "" : p.error()));
    pipeline = std::move(*p);
    ServiceOptions so;
    so.clients.push_back(ClientConfig{"ops", token_digest("token-ops"), Role::kRequester, std::nullopt});
    so.clients.push_back(ClientConfig{"audit", token_digest("token-audit"), Role::kAuditor, std::nullopt});
    so.requests_per_second = rate;
    so.burst = burst;
    so.upstream = {{"1", upstream_url}};
    so.clock = [this] { return now.load(); };
    auto created = Service::create(so, *pipeline);
    REQUIRE_MESSAGE(created.has_value(), (created ? "" : created.error()));
    service = std::move(*created);
    service->set_ready(true);
  }

  Answer call(const std::string& method, const std::string& target, const std::string& body,
              const std::string& client = "ops") {
    http::Request r;
    r.method = method;
    r.target = target;
    r.path = target;
    r.body = body;
    r.peer = "127.0.0.1:1";
    r.headers.push_back({"authorization", "Bearer token-" + client});
    std::promise<http::Response> promise;
    auto future = promise.get_future();
    service->handle(std::move(r), [&promise](http::Response response) { promise.set_value(std::move(response)); });
    REQUIRE(future.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    const http::Response response = future.get();
    return Answer{response.status, json::parse(response.body, nullptr, false), response.body};
  }
  Answer rpc(const std::string& method, const json& params, const json& id = 1) {
    return call("POST", "/rpc/1", json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump());
  }
  /// How many records the decision log holds: a signature is always recorded first.
  std::uint64_t log_size() {
    const Answer a = call("GET", "/v1/log/head", "", "audit");
    REQUIRE(a.status == 200);
    return a.body.at("size").get<std::uint64_t>();
  }
};

/// A transaction from the guard with everything but what the test leaves out.
json transfer(std::uint64_t nonce) {
  return {{"from", cs(kGuard)}, {"to", cs(test::kCustomerAccount)}, {"value", "0x1"}, {"gas", "0x5208"},
          {"maxFeePerGas", "0x77359400"}, {"maxPriorityFeePerGas", "0x3b9aca00"}, {"nonce", "0x" + std::to_string(nonce)}};
}

int error_code(const Answer& a) {
  REQUIRE_MESSAGE(a.body.is_object(), a.text);
  REQUIRE_MESSAGE(a.body.contains("error"), a.text);
  return a.body.at("error").at("code").get<int>();
}

/// A port on 127.0.0.1 that nothing listens on.
std::uint16_t closed_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

/// A "node" that accepts connections and closes each without answering.
class Hangup {
 public:
  Hangup() : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] {
      while (!stop_) {
        boost::system::error_code ec;
        boost::asio::ip::tcp::socket socket(ioc_);
        acceptor_.accept(socket, ec);
        if (ec || stop_) return;
        char buffer[4096];
        socket.read_some(boost::asio::buffer(buffer), ec);
        socket.close(ec);
      }
    });
  }
  ~Hangup() {
    stop_ = true;
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket poke(ioc_);
    poke.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v3/SECRETKEY?apikey=SECRET2"; }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

TEST_SUITE("rpc") {
  TEST_CASE("a maximal priority fee without a fee cap is refused as invalid params, and the co-signer keeps serving") {
    Upstream node;
    Guard g(node.url());
    for (const char* method : {"eth_signTransaction", "eth_sendTransaction"}) {
      json tx = transfer(0);
      tx.erase("maxFeePerGas");
      tx["maxPriorityFeePerGas"] = kMax;
      const Answer a = g.rpc(method, json::array({tx}));
      CHECK(error_code(a) == -32602);
      CHECK(a.body.at("error").at("message").get<std::string>().find("maxPriorityFeePerGas") != std::string::npos);
    }
    CHECK_FALSE(node.was_asked("eth_sendRawTransaction"));
    // Still serving: the chain, and a transaction whose fees are filled from the node.
    CHECK(g.rpc("eth_chainId", json::array()).body.at("result") == "0x1");
    json tx = transfer(0);
    tx.erase("maxFeePerGas");
    tx.erase("maxPriorityFeePerGas");
    const Answer ok = g.rpc("eth_signTransaction", json::array({tx}));
    REQUIRE_MESSAGE(ok.body.contains("result"), ok.text);
    auto raw = codec::from_hex(ok.body.at("result").get<std::string>());
    REQUIRE(raw.has_value());
    auto decoded = codec::decode_transaction(*raw);
    REQUIRE(decoded.has_value());
    CHECK(decoded->from == kGuard);
    // 2 x the node's base fee (1 gwei) + its tip (1 gwei).
    CHECK(decoded->max_fee_per_gas == codec::U256(3'000'000'000ULL));
  }

  TEST_CASE("maximal fees and gas given by the client are judged, and the co-signer keeps serving") {
    Upstream node;
    Guard g(node.url());
    json dynamic = transfer(0);
    dynamic["gas"] = "0xffffffffffffffff";
    dynamic["maxFeePerGas"] = kMax;
    dynamic["maxPriorityFeePerGas"] = kMax;
    json legacy = transfer(1);
    legacy.erase("maxFeePerGas");
    legacy.erase("maxPriorityFeePerGas");
    legacy["gas"] = "0xffffffffffffffff";
    legacy["gasPrice"] = kMax;
    legacy["value"] = kMax;
    for (const json& tx : {dynamic, legacy}) {
      const Answer a = g.rpc("eth_signTransaction", json::array({tx}));
      REQUIRE_MESSAGE(a.body.is_object(), a.text);
      CHECK_MESSAGE((a.body.contains("result") || a.body.contains("error")), a.text);
    }
    CHECK(g.rpc("eth_chainId", json::array()).body.at("result") == "0x1");
  }

  TEST_CASE("a hostile upstream's huge baseFeePerGas answers unavailable, nothing signed") {
    Upstream node;
    Guard g(node.url());
    json tx = transfer(0);
    tx.erase("maxFeePerGas");
    tx.erase("maxPriorityFeePerGas");
    const std::uint64_t before = g.log_size();
    // 2^256-1 and 2^255: 2 x baseFeePerGas overflows; 2^255-1 with the node's tip 2: the sum does.
    for (const std::string& base : {kMax, "0x8" + std::string(63, '0'), "0x7" + std::string(63, 'f')}) {
      node.answer("eth_getBlockByNumber", {{"number", "0x10"}, {"baseFeePerGas", base}});
      node.answer("eth_maxPriorityFeePerGas", "0x2");
      for (const char* method : {"eth_signTransaction", "eth_sendTransaction"}) {
        const Answer a = g.rpc(method, json::array({tx}));
        CHECK_MESSAGE(error_code(a) == -32603, a.text);
        CHECK(a.body.at("error").at("message").get<std::string>().find("nothing was signed") != std::string::npos);
        CHECK(a.body.at("error").at("data").at("error").get<std::string>().find("upstream for chain 1") != std::string::npos);
      }
    }
    CHECK(g.log_size() == before);
    CHECK_FALSE(node.was_asked("eth_sendRawTransaction"));
    CHECK(g.rpc("eth_chainId", json::array()).body.at("result") == "0x1");
  }

  TEST_CASE("every upstream answer is read strictly: a wrong type or an oversized number answers unavailable, nothing signed") {
    Upstream node;
    Guard g(node.url());
    json bare = transfer(0);
    for (const char* key : {"nonce", "gas", "maxFeePerGas", "maxPriorityFeePerGas"}) bare.erase(key);
    const std::uint64_t before = g.log_size();
    const std::vector<std::pair<std::string, json>> lies = {
        {"eth_getTransactionCount", "0x10000000000000000"},  // 2^64: no nonce
        {"eth_getTransactionCount", 5},
        {"eth_getTransactionCount", json::object()},
        {"eth_getBlockByNumber", "latest"},
        {"eth_getBlockByNumber", {{"baseFeePerGas", 7}}},
        {"eth_getBlockByNumber", {{"baseFeePerGas", "0x1" + std::string(64, '0')}}},  // 2^256
        {"eth_maxPriorityFeePerGas", json::array()},
        {"eth_estimateGas", "0x10000000000000000"},
        {"eth_estimateGas", nullptr},
    };
    for (const auto& [method, result] : lies) {
      CAPTURE(method);
      CAPTURE(result.dump());
      Upstream fresh;
      Guard h(fresh.url());
      fresh.answer(method, result);
      const Answer a = h.rpc("eth_sendTransaction", json::array({bare}));
      CHECK_MESSAGE(error_code(a) == -32603, a.text);
      CHECK_FALSE(fresh.was_asked("eth_sendRawTransaction"));
    }
    // Legacy fees: a gasPrice that is not a quantity.
    node.answer("eth_getBlockByNumber", {{"number", "0x10"}});
    node.answer("eth_gasPrice", {{"wei", 1}});
    CHECK(error_code(g.rpc("eth_signTransaction", json::array({bare}))) == -32603);
    // A malformed error object (message not a string) is not passed through as it is.
    node.answer_raw("eth_getTransactionCount", R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":5}})");
    CHECK(error_code(g.rpc("eth_signTransaction", json::array({bare}))) == -32603);
    CHECK(g.log_size() == before);
    // A node that answers another hash than the signed transaction's is not believed.
    node.answer("eth_sendRawTransaction", "0x" + std::string(64, '1'));
    const Answer lied = g.rpc("eth_sendTransaction", json::array({transfer(0)}));
    CHECK(error_code(lied) == -32603);
    CHECK(lied.body.at("error").at("data").at("hash").is_string());
  }

  TEST_CASE("an exception in a pool task answers the caller") {
    Upstream node;
    Guard g(node.url());
    std::map<std::string, std::shared_ptr<http::Client>> upstreams;
    boost::asio::thread_pool pool(2);
    RpcHandler handler(*g.pipeline, upstreams, pool);
    const auto ask = [&](const json& tx, std::function<void(const json&)> on_decision) {
      std::promise<std::string> promise;
      auto future = promise.get_future();
      handler.handle(json{{"jsonrpc", "2.0"}, {"id", 7}, {"method", "eth_signTransaction"}, {"params", {tx}}}.dump(),
                     "ops", "1", [&promise](http::Response r) { promise.set_value(r.body); }, std::move(on_decision));
      REQUIRE(future.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
      return json::parse(future.get());
    };
    // The decision callback throws (as a broken metrics sink would): the call is answered.
    const json failed = ask(transfer(0), [](const json&) { throw std::runtime_error("metrics sink broke"); });
    CHECK(failed.at("id") == 7);
    CHECK(failed.at("error").at("code") == -32603);
    CHECK(failed.at("error").at("data").at("error") == "metrics sink broke");
    // The pool and the pipeline keep serving; the decision made stands (a retry gets it again).
    const json again = ask(transfer(0), [](const json&) {});
    CHECK(again.contains("result"));
    const json next = ask(transfer(1), [](const json&) {});
    CHECK(next.contains("result"));
    pool.join();
  }

  TEST_CASE("a pipeline callback that throws does not end the sequencer: the next request is answered") {
    Upstream node;
    Guard g(node.url());
    const auto request = [&](std::uint64_t nonce) {
      auto txn = transaction_from_rpc(transfer(nonce), kGuard, 1);
      REQUIRE(txn.has_value());
      auto r = transaction_request(*txn, g.pipeline->policy().policy, "ops", kGuard);
      REQUIRE(r.has_value());
      return std::move(*r);
    };
    std::promise<void> thrown;
    g.pipeline->sign(request(0), [&thrown](Outcome) {
      thrown.set_value();
      throw std::runtime_error("a caller's callback broke");
    });
    REQUIRE(thrown.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    std::promise<Status> next;
    g.pipeline->sign(request(1), [&next](Outcome o) { next.set_value(o.status); });
    auto status = next.get_future();
    REQUIRE(status.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    CHECK(status.get() == Status::kAllowed);
  }

  TEST_CASE("an upstream URL never appears in a JSON-RPC error") {
    const auto clean = [](const Answer& a, const std::string& host_port) {
      CHECK_MESSAGE(a.text.find("SECRET") == std::string::npos, a.text);
      CHECK_MESSAGE(a.text.find(host_port) == std::string::npos, a.text);
      CHECK_MESSAGE(a.text.find("/v3/") == std::string::npos, a.text);
    };
    json bare = transfer(0);
    bare.erase("nonce");
    {  // nothing listens
      const std::uint16_t port = closed_port();
      Guard g("http://127.0.0.1:" + std::to_string(port) + "/v3/SECRETKEY?apikey=SECRET2");
      for (const Answer& a : {g.rpc("eth_blockNumber", json::array()), g.rpc("eth_sendTransaction", json::array({bare}))}) {
        CHECK(error_code(a) == -32603);
        CHECK(a.body.at("error").at("message").get<std::string>().find("upstream for chain 1") != std::string::npos);
        clean(a, "127.0.0.1:" + std::to_string(port));
      }
    }
    {  // the node hangs up without answering
      Hangup node;
      Guard g(node.url());
      const Answer a = g.rpc("eth_blockNumber", json::array());
      CHECK(error_code(a) == -32603);
      clean(a, node.url().substr(7, node.url().find('/', 7) - 7));
    }
    {  // the node answers HTTP 502, then an error that quotes the URL back
      Upstream node;
      Guard g(node.url());
      node.fail_with(502, "bad gateway \xff\xfe");
      Answer a = g.rpc("eth_blockNumber", json::array());
      CHECK(error_code(a) == -32603);
      clean(a, node.host_port());
      node.fail_with(0, "");
      node.answer_raw("eth_blockNumber", json{{"jsonrpc", "2.0"}, {"id", 1},
                                              {"error", {{"code", -32000}, {"message", "rate limited on " + node.url()}}}}.dump());
      a = g.rpc("eth_blockNumber", json::array());
      CHECK(error_code(a) == -32000);
      clean(a, node.host_port());
    }
  }

  TEST_CASE("an upstream URL never appears in a start-up error") {
    ServiceOptions so;
    so.upstream = {{"1", "http://127.0.0.1:99999/v3/SECRETKEY?apikey=SECRET2"}};
    test::TempDir dir{"txguard-rpc"};
    auto s = signers::KeystoreSigner::from_key(test::key(test::kGuardKey));
    REQUIRE(s.has_value());
    PipelineOptions options;
    const auto db = test::test_database(dir);
    options.database = db.name;
    options.database_password = db.password;
    auto p = Pipeline::start(options, test::policy_set_of(policy_doc()), std::make_shared<signers::KeystoreSigner>(std::move(*s)));
    REQUIRE(p.has_value());
    auto created = Service::create(so, **p);
    REQUIRE_FALSE(created.has_value());
    CHECK(created.error().find("upstream 1") != std::string::npos);
    CHECK(created.error().find("SECRET") == std::string::npos);
  }

  TEST_CASE("each call of a batch costs one rate token") {
    Upstream node;
    Guard g(node.url(), 0.001, 3);
    json batch = json::array();
    for (int i = 0; i < 5; ++i) batch.push_back({{"jsonrpc", "2.0"}, {"id", i}, {"method", "eth_chainId"}});
    const Answer a = g.call("POST", "/rpc/1", batch.dump());
    REQUIRE_MESSAGE(a.body.is_array(), a.text);
    REQUIRE(a.body.size() == 5);
    for (std::size_t i = 0; i < 3; ++i) CHECK(a.body.at(i).at("result") == "0x1");
    for (std::size_t i = 3; i < 5; ++i) {
      CHECK(a.body.at(i).at("id") == i);
      CHECK(a.body.at(i).at("error").at("code") == -32005);
    }
    // The budget is spent: the next request is refused at the door.
    CHECK(g.call("POST", "/rpc/1", batch.at(0).dump()).status == 429);
  }

  TEST_CASE("a batch of more than 100 calls is refused whole, before any call runs") {
    Upstream node;
    Guard g(node.url());
    json batch = json::array();
    for (int i = 0; i < 101; ++i) batch.push_back({{"jsonrpc", "2.0"}, {"id", i}, {"method", "eth_blockNumber"}});
    const Answer a = g.call("POST", "/rpc/1", batch.dump());
    CHECK(error_code(a) == -32600);
    CHECK_FALSE(node.was_asked("eth_blockNumber"));
    batch.erase(batch.size() - 1);
    const Answer ok = g.call("POST", "/rpc/1", batch.dump());
    REQUIRE(ok.body.is_array());
    CHECK(ok.body.size() == 100);
  }
}

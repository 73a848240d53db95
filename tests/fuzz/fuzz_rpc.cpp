// Fuzz target for the JSON-RPC surface (POST /rpc/1 through Service::handle) with a hostile upstream:
// a real HTTP server on 127.0.0.1 (port 0) inside this binary answers the guard's upstream calls with
// what the input chose. The guard is real: the pipeline on a temporary SQLite database, a keystore
// signer with anvil's public test key 3, a policy that allows transfers from the guard's account.
//
// Input: seven fields separated by '\n'. Fields 0-5 are the upstream's answers to
// eth_getTransactionCount, eth_maxPriorityFeePerGas, eth_getBlockByNumber, eth_gasPrice,
// eth_estimateGas and eth_sendRawTransaction (and field 0 also to every forwarded read method):
//   empty              a plausible node's answer;
//   starts with '='    the rest is the whole HTTP body (a JSON-RPC error object, or broken JSON);
//   starts with '!'    HTTP 500 with the rest as the body;
//   anything else      {"jsonrpc":"2.0","id":1,"result":<the field>} (the field need not be JSON).
// Field 6 (the rest, newlines included) is the client's HTTP body: a call, a batch, or anything.
// Invariants, whatever the input:
//   - the process survives and every request is answered (within 60 s);
//   - the answer is JSON-RPC: an object or an array of objects, each with a result or an error whose
//     code is an integer and message a string (or a non-JSON-RPC status from the front door);
//   - no answer names the upstream's URL, host:port or the key in its path;
//   - a signed transaction returned by eth_signTransaction is from the guard, on chain 1.
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/http/server.hpp"
#include "guard/service/pipeline.hpp"
#include "guard/service/service.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/transaction.hpp"
#include "signers/keystore.hpp"

using namespace txguard;
using nlohmann::json;

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

constexpr const char* kGuardKey = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
constexpr std::array<const char*, 6> kMethods = {"eth_getTransactionCount", "eth_maxPriorityFeePerGas",
                                                 "eth_getBlockByNumber",    "eth_gasPrice",
                                                 "eth_estimateGas",         "eth_sendRawTransaction"};

/// The upstream node: answers from the fields of the input being run.
class HostileUpstream final : public http::Handler {
 public:
  void set(std::vector<std::string> fields) {
    std::lock_guard lock(mutex_);
    fields_ = std::move(fields);
  }

  void handle(http::Request request, http::Respond respond) override {
    const json call = json::parse(request.body, nullptr, false);
    const std::string method =
        call.is_object() && call.contains("method") && call.at("method").is_string() ? call.at("method").get<std::string>() : "";
    std::string field;
    {
      std::lock_guard lock(mutex_);
      std::size_t index = 0;  // forwarded read methods get field 0
      for (std::size_t i = 0; i < kMethods.size(); ++i) {
        if (method == kMethods[i]) index = i;
      }
      if (index < fields_.size()) field = fields_[index];
    }
    http::Response r;
    if (field.empty()) {
      r.body = json{{"jsonrpc", "2.0"}, {"id", 1}, {"result", plausible(method, call)}}.dump();
    } else if (field.front() == '=') {
      r.body = field.substr(1);
    } else if (field.front() == '!') {
      r.status = 500;
      r.body = field.substr(1);
    } else {
      r.body = R"({"jsonrpc":"2.0","id":1,"result":)" + field + "}";
    }
    respond(std::move(r));
  }

 private:
  static json plausible(const std::string& method, const json& call) {
    if (method == "eth_getTransactionCount") return "0x0";
    if (method == "eth_maxPriorityFeePerGas") return "0x3b9aca00";
    if (method == "eth_getBlockByNumber") return {{"number", "0x10"}, {"baseFeePerGas", "0x3b9aca00"}};
    if (method == "eth_gasPrice") return "0x77359400";
    if (method == "eth_estimateGas") return "0x5208";
    if (method == "eth_sendRawTransaction") {
      const json& params = call.at("params");
      if (params.is_array() && !params.empty() && params.at(0).is_string()) {
        if (auto raw = codec::from_hex(params.at(0).get<std::string>())) return codec::to_hex(codec::keccak256(*raw));
      }
    }
    return "0x1";
  }

  std::mutex mutex_;
  std::vector<std::string> fields_;
};

/// One guard for the whole run (starting a pipeline per input would dominate the time).
struct World {
  std::filesystem::path dir;
  HostileUpstream upstream;
  std::unique_ptr<http::Server> server;
  std::string url;
  std::string host_port;
  std::shared_ptr<signers::KeystoreSigner> signer;
  std::unique_ptr<service::Pipeline> pipeline;
  std::unique_ptr<service::Service> guard;

  World() {
    std::string pattern = (std::filesystem::temp_directory_path() / "txguard-fuzz-rpc-XXXXXX").string();
    require(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    auto s = http::Server::start(http::ServerOptions{}, upstream);
    require(s.has_value());
    server = std::move(*s);
    host_port = "127.0.0.1:" + std::to_string(server->port());
    url = "http://" + host_port + "/v3/SECRETKEY";

    auto key = codec::from_hex_fixed<32>(kGuardKey);
    require(key.has_value());
    auto k = signers::KeystoreSigner::from_key(codec::SecretKey(*key));
    require(k.has_value());
    signer = std::make_shared<signers::KeystoreSigner>(std::move(*k));
    const std::string guard_address = codec::to_checksum(signer->address());
    const std::string policy = R"({"txguard_policy": 1, "name": "fuzz-rpc",
      "chains": {"ethereum": {"id": 1}},
      "assets": {"ETH": {"chain": "ethereum", "native": true, "decimals": 18}},
      "prices": {"fixed": {"ETH": "3000"}},
      "wallets": {"guard": {"chain": "ethereum", "address": ")" + guard_address + R"(", "kind": "account"}},
      "rules": [{"id": "pay", "match": {"leg": "transfer"}, "effect": "allow"},
                {"id": "gas", "match": {"leg": "fee"}, "effect": "allow"}]})";
    auto loaded = policy::load_policy(policy, [](const std::string&) -> std::expected<std::string, std::string> {
      return std::unexpected(std::string("no files"));
    });
    require(loaded.has_value());
    auto set = std::make_shared<service::PolicySet>();
    set->policy = std::move(*loaded);
    service::PipelineOptions options;
    options.database = (dir / "txguard.db").string();
    options.durable = false;
    options.clock = [] { return service::TimeMs{1'795'341'600'000}; };
    auto p = service::Pipeline::start(options, set, signer);
    require(p.has_value());
    pipeline = std::move(*p);

    service::ServiceOptions so;
    so.clients.push_back(service::ClientConfig{"ops", service::token_digest("token-ops"), service::Role::kRequester, std::nullopt});
    so.requests_per_second = 1e9;
    so.burst = 1e9;
    so.upstream = {{"1", url}};
    so.workers = 2;
    so.clock = [] { return service::TimeMs{1'795'341'600'000}; };
    auto created = service::Service::create(so, *pipeline);
    require(created.has_value());
    guard = std::move(*created);
  }

  ~World() {
    guard.reset();
    pipeline->stop();
    pipeline.reset();
    server->stop(std::chrono::milliseconds{200});
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

World& world() {
  static World w;
  return w;
}

void check_call_answer(const json& answer) {
  require(answer.is_object());
  const bool result = answer.contains("result");
  const bool error = answer.contains("error");
  require(result != error);
  if (error) {
    const json& e = answer.at("error");
    require(e.is_object() && e.contains("code") && e.at("code").is_number_integer());
    require(e.contains("message") && e.at("message").is_string());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> fields;
  std::size_t at = 0;
  while (fields.size() < kMethods.size()) {
    const std::size_t end = input.find('\n', at);
    if (end == std::string_view::npos) break;
    fields.emplace_back(input.substr(at, end - at));
    at = end + 1;
  }
  if (fields.size() < kMethods.size()) {
    // Too few fields: the whole input is the client's body, the node plausible.
    fields.clear();
    at = 0;
  }
  const std::string body(input.substr(at));
  w.upstream.set(fields);

  http::Request r;
  r.method = "POST";
  r.target = r.path = "/rpc/1";
  r.body = body;
  r.peer = "127.0.0.1:1";
  r.headers.push_back({"authorization", "Bearer token-ops"});
  auto promise = std::make_shared<std::promise<http::Response>>();
  auto future = promise->get_future();
  w.guard->handle(std::move(r), [promise](http::Response response) { promise->set_value(std::move(response)); });
  require(future.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  const http::Response response = future.get();

  require(response.body.find(w.host_port) == std::string::npos);
  require(response.body.find("SECRETKEY") == std::string::npos);
  const json answer = json::parse(response.body, nullptr, false);
  require(!answer.is_discarded());
  if (response.status != 200) {
    // The front door's own refusals (400 for a malformed request) are not JSON-RPC.
    require(response.status >= 400 && response.status < 500 && answer.is_object() && answer.contains("error"));
    return 0;
  }
  if (answer.is_array()) {
    require(!answer.empty());
    for (const json& a : answer) check_call_answer(a);
    return 0;
  }
  check_call_answer(answer);

  // A signed transaction is the guard's, on this endpoint's chain.
  const json call = json::parse(body, nullptr, false);
  if (answer.contains("result") && call.is_object() && call.value("method", json()) == "eth_signTransaction") {
    require(answer.at("result").is_string());
    auto raw = codec::from_hex(answer.at("result").get<std::string>());
    require(raw.has_value());
    auto txn = codec::decode_transaction(*raw);
    require(txn.has_value());
    require(txn->from == w.signer->address());
    require(txn->chain_id == 1u);
  }
  return 0;
}

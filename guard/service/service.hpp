// The guard's HTTP front door: authentication, roles, rate limits, the REST routes and JSON-RPC, on
// top of the Pipeline. Independent of the socket: handle() takes a parsed request and answers through
// a callback, so tests drive it without a server (and the server drives it without knowing routes).
//
// Every request is: authenticate (bearer token; 401 otherwise) -> rate (429) -> role (403) -> parse
// and decode (400 with the JSON path of what is wrong) -> pipeline (evaluate, sign on allow, record,
// release) -> respond. Refusals before judgement (401, 403) are recorded in the decision log. The
// complete contract of each route is in deploy/openapi.yaml and the README.
//
// Thread safety: handle() may be called from any number of threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/http/server.hpp"
#include "guard/service/auth.hpp"
#include "guard/service/config.hpp"
#include "guard/service/metrics.hpp"
#include "guard/service/pipeline.hpp"

namespace txguard::service {

struct ServiceOptions {
  std::vector<ClientConfig> clients;
  double requests_per_second = 1000;
  double burst = 2000;
  std::map<std::string, std::string> upstream;  // chain id (decimal) -> JSON-RPC URL
  /// Bridge source chains: chain id -> txguard's own JSON-RPC endpoints (all must agree).
  std::map<std::uint64_t, std::vector<std::string>> bridge_rpc;
  std::chrono::milliseconds bridge_timeout{5000};
  std::size_t workers = 2;                      // threads for upstream calls
  std::function<TimeMs()> clock;                // default: the system clock
  /// Where the service logs (one line each; never a token, key or body). Default: nowhere.
  std::function<void(LogLevel, const std::string&)> log;
};

/// The routes, for the OpenAPI check: method and path template.
struct Route {
  std::string method;
  std::string path;
};
const std::vector<Route>& routes();

class Service final : public http::Handler {
 public:
  /// Fails when an upstream URL cannot be used.
  static std::expected<std::unique_ptr<Service>, std::string> create(ServiceOptions options, Pipeline& pipeline);
  ~Service() override;

  void handle(http::Request request, http::Respond respond) override;

  /// /readyz answers 503 until set (after start-up) and after shutdown begins.
  void set_ready(bool ready) noexcept;
  Metrics& metrics() noexcept;

  class Impl;

 private:
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace txguard::service

// The guard's HTTP front door: authentication, roles, rate limits, the REST routes and JSON-RPC, on
// top of the Pipeline. Independent of the socket: handle() takes a parsed request and answers through
// a callback, so tests drive it without a server (and the server drives it without knowing routes).
//
// Every request is: authenticate (bearer token, and the client certificate when the client is bound
// to one; 401 otherwise) -> rate (429) -> role (403) -> parse and decode (400 with the JSON path of
// what is wrong) -> pipeline (evaluate, sign on allow, record, release) -> respond. The route and the
// authentication are judged from the header alone (authorize_header), so an unauthenticated request
// is answered before its body is read. /healthz needs no token; /readyz without a token says only
// whether the service is ready, with a token (any role) also the policy and the signer.
//
// Refusals before judgement (401, 403) are recorded in the decision log, per remote address within
// refusals_per_second / refusals_burst one record each; beyond that, a request without a valid token
// is answered 429 (its address is over its refusal rate) and every refusal is counted into one
// "refusals-suppressed" record per address per refusal_summary_every (reason, peer, count, reasons,
// first_at_ms, last_at_ms), so the log accounts for every refusal at a bounded cost. Client bytes
// (path, method) are recorded with every byte outside printable ASCII, and the backslash, written
// as \xNN, so any path can be recorded. The complete contract of each route is in guard/openapi.json
// and the README.
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
  /// What a client's /readyz lists under "warnings": risks the configuration accepted in so many words
  /// (a bridge source chain confirmed by one source).
  std::vector<std::string> warnings;
  std::size_t workers = 2;                      // threads for upstream calls
  std::function<TimeMs()> clock;                // default: the system clock
  /// Per remote address: refusals recorded one by one (sustained rate and burst); beyond, counted
  /// into a summary record written every refusal_summary_every (and at flush_refusals()).
  double refusals_per_second = 5;
  double refusals_burst = 20;
  std::chrono::milliseconds refusal_summary_every{10'000};
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

  /// Judges the route and the authentication from the header alone: 404/405, 401 (429 for an address
  /// over its refusal rate), before any of the body is read. Nothing when the request may go on.
  std::optional<http::Response> authorize_header(const http::Request& head) override;
  void handle(http::Request request, http::Respond respond) override;
  /// Records every refusal summary now (at shutdown: after the server stopped, before the pipeline).
  void flush_refusals();

  /// /readyz answers 503 until set (after start-up) and after shutdown begins.
  void set_ready(bool ready) noexcept;
  Metrics& metrics() noexcept;

  class Impl;

 private:
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace txguard::service

#include "guard/service/service.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <charconv>
#include <chrono>
#include <mutex>

#include "guard/http/client.hpp"
#include "guard/service/rpc.hpp"
#include "guard/service/source_observer.hpp"
#include "policy/codec/event_log.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/json_value.hpp"
#include "policy/codec/safe.hpp"
#include "policy/codec/u256.hpp"

namespace txguard::service {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxJsonDepth = 64;

TimeMs system_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

http::Response json_response(unsigned status, const json& body) {
  http::Response r;
  r.status = status;
  // A client's bytes in a message must never turn an answer into an exception: invalid UTF-8 is
  // replaced (U+FFFD) rather than thrown on.
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

// Client bytes (path, method) as text that any JSON record or log line can hold: printable ASCII as
// is, every other byte and the backslash as \xNN (so the text is unambiguous and invalid UTF-8, CR, LF
// or NUL cannot break a record or forge a log line); at most kMaxClientText bytes of input.
constexpr std::size_t kMaxClientText = 1024;
std::string client_text(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  const std::string_view shown = bytes.substr(0, kMaxClientText);
  out.reserve(shown.size());
  for (const char c : shown) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  if (bytes.size() > shown.size()) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

http::Response error_response(unsigned status, std::string_view code, const std::string& message) {
  return json_response(status, {{"error", {{"code", code}, {"message", message}}}});
}

// Splits "/v1/holds/abc/approve" into its segments.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const std::size_t end = path.find('/', i);
    out.push_back(path.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
    if (end == std::string_view::npos) break;
    i = end;
  }
  return out;
}

// A decimal count without sign, leading '+' or trailing junk.
std::optional<std::uint64_t> parse_count(std::string_view text) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

std::optional<std::string> query_value(std::string_view query, std::string_view key) {
  std::size_t i = 0;
  while (i <= query.size()) {
    std::size_t end = query.find('&', i);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(i, end - i);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    i = end + 1;
  }
  return std::nullopt;
}

// Runs `task` on `pool`; whatever it throws answers 500 (nothing signed) instead of ending the process.
void post_guarded(boost::asio::thread_pool& pool, http::Respond respond, std::function<void()> task) {
  boost::asio::post(pool, [respond = std::move(respond), task = std::move(task)] {
    try {
      task();
    } catch (...) {
      try {
        respond(error_response(500, "internal", "internal error: nothing was signed"));
      } catch (...) {  // the server's response deadline answers
      }
    }
  });
}

// Decision ids are [0-9a-f-]; anything else in a path segment is not one of ours.
bool plausible_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-')) return false;
  }
  return true;
}

}  // namespace

const std::vector<Route>& routes() {
  static const std::vector<Route> kRoutes = {
      {"GET", "/healthz"},
      {"GET", "/readyz"},
      {"GET", "/metrics"},
      {"POST", "/v1/safe/cosign"},
      {"POST", "/v1/evaluate"},
      {"GET", "/v1/holds"},
      {"GET", "/v1/holds/{id}"},
      {"POST", "/v1/holds/{id}/approve"},
      {"POST", "/v1/holds/{id}/reject"},
      {"GET", "/v1/decisions"},
      {"GET", "/v1/decisions/{id}"},
      {"GET", "/v1/log/head"},
      {"GET", "/v1/log/heads"},
      {"GET", "/v1/log/proof/inclusion"},
      {"GET", "/v1/log/proof/consistency"},
      {"GET", "/v1/log/documents/{hash}"},
      {"POST", "/v1/bridge/release"},
      {"POST", "/v1/bridge/pause"},
      {"POST", "/v1/bridge/unpause"},
      {"GET", "/v1/bridge/status"},
      {"POST", "/rpc"},
      {"POST", "/rpc/{chainId}"},
  };
  return kRoutes;
}

// The route template a path is served by ("other" when none): the metrics label, never an id.
std::string route_of(std::string_view path, const std::vector<std::string_view>& parts) {
  std::string route(path);
  if (parts.size() >= 2 && parts[0] == "v1" && (parts[1] == "holds" || parts[1] == "decisions")) {
    route = "/v1/" + std::string(parts[1]) + (parts.size() > 2 ? "/{id}" : "") + (parts.size() > 3 ? "/" + std::string(parts[3]) : "");
  } else if (parts.size() == 4 && parts[0] == "v1" && parts[1] == "log" && parts[2] == "documents") {
    route = "/v1/log/documents/{hash}";
  } else if (parts.size() == 2 && parts[0] == "rpc") {
    route = "/rpc/{chainId}";
  }
  for (const auto& r : routes()) {
    if (r.path == route) return route;
  }
  return "other";
}

class Service::Impl {
 public:
  Impl(ServiceOptions options, Pipeline& pipeline)
      : options_(std::move(options)),
        pipeline_(pipeline),
        auth_(options_.clients),
        rate_(options_.requests_per_second, options_.burst),
        refusals_(options_.refusals_per_second, options_.refusals_burst),
        pool_(options_.workers == 0 ? 1 : options_.workers),
        summary_timer_(pool_),
        rpc_(pipeline, upstreams_, pool_) {
    if (!options_.clock) options_.clock = system_now;
    schedule_summaries();
  }

  ~Impl() {
    {
      std::lock_guard lock(summary_mutex_);
      stopping_ = true;
      summary_timer_.cancel();
    }
    pool_.join();
  }

  /// Writes the refusal summaries due now (all of them with `all`); those the pipeline does not take
  /// (it stopped) stay counted.
  void flush_refusals(bool all) {
    const TimeMs now = options_.clock();
    auto due = refusals_.take(now, all ? 0 : std::max<TimeMs>(1, options_.refusal_summary_every.count()));
    std::vector<RefusalCounter::Summary> kept;
    for (auto& s : due) {
      json reasons = json::object();
      for (const auto& [reason, n] : s.reasons) reasons[reason] = n;
      json record = {{"reason", "refusals-suppressed"}, {"peer", client_text(s.address)}, {"count", s.count},
                     {"reasons", reasons},           {"first_at_ms", s.first_ms},      {"last_at_ms", s.last_ms}};
      if (!pipeline_.record_refusal(std::move(record), /*summary=*/true)) {
        kept.push_back(std::move(s));
        continue;
      }
      log(LogLevel::kWarn, "refused " + std::to_string(s.count) + " more requests from " + client_text(s.address) +
                               " beyond its refusal rate: recorded as one refusals-suppressed record");
    }
    if (!kept.empty()) refusals_.restore(std::move(kept));
  }

  std::expected<std::optional<Client>, http::Response> admit(const http::Request& request, const std::string& route);

  std::expected<void, std::string> connect_upstreams() {
    for (const auto& [chain, url] : options_.upstream) {
      auto client = http::Client::create(url);
      if (!client) return std::unexpected("upstream " + chain + ": " + client.error());
      upstreams_[chain] = std::shared_ptr<http::Client>(std::move(*client));
    }
    rpc_.set_default_chain(default_chain());
    auto observer = SourceObserver::create(options_.bridge_rpc, options_.bridge_timeout);
    if (!observer) return std::unexpected("bridge.rpc: " + observer.error());
    observer_ = std::move(*observer);
    return {};
  }

  void handle(http::Request request, http::Respond respond);

  std::atomic<bool> ready_{false};
  Metrics metrics_;

  // Whether the database answers, for /readyz. One request probes at a time, at most every 500 ms;
  // the others take the last answer: a flood of /readyz (it needs no token) costs the database nothing
  // more, and during a network partition only one I/O thread waits on the probe's connect timeout. The
  // last answer is taken only while it agrees with the last batch (which failed on the database, or
  // committed); otherwise the request probes at once.
  bool database_answers() {
    using Clock = std::chrono::steady_clock;
    const auto now = Clock::now().time_since_epoch().count();
    constexpr auto kFresh = std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(500)).count();
    const bool fresh = probed_at_.load() != 0 && now - probed_at_.load() < kFresh;
    if (fresh && database_ok_.load() == !pipeline_.database_failed()) return database_ok_.load();
    std::unique_lock probing(probe_mutex_, std::try_to_lock);
    if (!probing.owns_lock()) return database_ok_.load();
    const bool ok = pipeline_.reader().ping().has_value();
    database_ok_ = ok;
    probed_at_ = Clock::now().time_since_epoch().count();
    return ok;
  }
  std::mutex probe_mutex_;
  std::atomic<bool> database_ok_{false};
  std::atomic<std::chrono::steady_clock::rep> probed_at_{0};

 private:
  // Summaries are written from the pool every second (their age is judged on options_.clock).
  void schedule_summaries() {
    std::lock_guard lock(summary_mutex_);
    if (stopping_) return;
    summary_timer_.expires_after(std::chrono::seconds(1));
    summary_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      try {
        flush_refusals(false);
      } catch (...) {  // out of memory for a summary: it stays counted, try again next time
      }
      schedule_summaries();
    });
  }

  // The chain /rpc serves without a chain id in the path: the only upstream, else the chain of the
  // policy's account wallet for the guard's key.
  std::string default_chain() const {
    if (options_.upstream.size() == 1) return options_.upstream.begin()->first;
    const codec::Address me = pipeline_.signer().address();
    for (const auto& w : pipeline_.policy().policy.wallets) {
      if (!w.safe && w.address == me) return codec::to_decimal(w.chain_id);
    }
    return {};
  }

  void log(LogLevel level, const std::string& line) const {
    if (options_.log) options_.log(level, line);
  }

  // A refusal before judgement (401, 403): counted, and recorded alone while its address is within
  // its refusal rate, else counted into the address's summary. An unauthenticated request from an
  // address over its rate is answered 429 instead of 401.
  http::Response refuse(const http::Request& request, const std::optional<Client>& client, std::string_view reason,
                        unsigned status, const std::string& message) {
    metrics_.refusal(std::string(reason));
    const std::string address = http::peer_address_key(request.peer);
    const TimeMs now = options_.clock();
    const bool within_rate = refusals_.admit(address, reason, now);
    bool recorded = false;
    if (within_rate) {
      json record = {{"reason", reason},
                     {"method", client_text(request.method)},
                     {"path", client_text(request.path)},
                     {"peer", client_text(request.peer)}};
      if (client) record["client"] = client->name;
      if (request.client_cert) record["client_cert"] = request.client_cert->sha256_fingerprint;
      recorded = pipeline_.record_refusal(std::move(record));
      // The queue has no room for it: it still counts, in the summary.
      if (!recorded) refusals_.count(address, reason, now);
    }
    if (recorded) {
      log(LogLevel::kWarn, "refused " + client_text(request.method) + " " + client_text(request.path) + " from " +
                               client_text(request.peer) + ": " + std::string(reason));
    } else {
      metrics_.refusal_summarized();
    }
    if (!within_rate && status == 401) {
      http::Response r = error_response(429, "rate-limited", "too many refused requests from this address; slow down");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    return error_response(status, status == 401 ? "unauthenticated" : status == 429 ? "rate-limited" : "forbidden",
                          message);
  }

  bool require(const Client& client, std::initializer_list<Role> roles, const http::Request& request,
               const http::Respond& respond) {
    for (Role r : roles) {
      if (role_allows(client.role, r)) return true;
    }
    std::string names;
    for (Role r : roles) names += (names.empty() ? "" : " or ") + std::string(to_string(r));
    respond(refuse(request, client, "forbidden", 403,
                   "client '" + client.name + "' has role " + std::string(to_string(client.role)) + "; this needs " + names));
    return false;
  }

  void cosign(const http::Request& request, const Client& client, const http::Respond& respond);
  void evaluate(const http::Request& request, const Client& client, const http::Respond& respond);
  void holds(const http::Request& request, const Client& client, const http::Respond& respond);
  void hold(const std::string& id, const Client& client, const http::Respond& respond);
  void decide_hold(const http::Request& request, const Client& client, const std::string& id,
                   policy::ApprovalVerdict verdict, const http::Respond& respond);
  void decisions(const http::Request& request, const std::vector<std::string_view>& parts,
                 const http::Respond& respond);
  void log(const http::Request& request, const std::string& route, const std::vector<std::string_view>& parts,
           const http::Respond& respond);
  void bridge_release(const http::Request& request, const Client& client, const http::Respond& respond);
  void bridge_pause(const http::Request& request, const Client& client, bool lift, const http::Respond& respond);
  void bridge_status(const http::Respond& respond);

  ServiceOptions options_;
  std::unique_ptr<SourceObserver> observer_;
  Pipeline& pipeline_;
  Authenticator auth_;
  RateLimiter rate_;
  RefusalCounter refusals_;
  std::map<std::string, std::shared_ptr<http::Client>> upstreams_;
  boost::asio::thread_pool pool_;
  std::mutex summary_mutex_;  // guards summary_timer_ and stopping_
  boost::asio::steady_timer summary_timer_;
  bool stopping_ = false;
  RpcHandler rpc_;
};

// --- responses for a pipeline outcome ------------------------------------------------------------

namespace {

json hold_object(const Outcome& o) {
  json hold = o.hold;
  auto hash = codec::from_hex_fixed<32>(hold.value("request_hash", ""));
  if (hash && o.status == Status::kPending) {
    hold["approval"] = policy::approval_typed_data(*hash, o.decision_id, policy::ApprovalVerdict::kApprove);
  }
  return hold;
}

http::Response safe_response(const Outcome& o, const codec::Hash32& safe_tx_hash, const codec::Address& signer) {
  json body = {{"decision", o.decision}, {"safeTxHash", codec::to_hex(safe_tx_hash)}, {"status", to_string(o.status)}};
  if (o.replayed) body["replayed"] = true;
  switch (o.status) {
    case Status::kAllowed:
    case Status::kApproved:
      body["signature"] = codec::to_hex(*o.signature);
      body["signer"] = codec::to_checksum(signer);
      if (o.hold.is_object()) body["hold"] = hold_object(o);
      return json_response(200, body);
    case Status::kPending:
      body["hold"] = hold_object(o);
      return json_response(202, body);
    case Status::kDenied:
    case Status::kRejected:
    case Status::kExpired: {
      std::string codes;
      for (const auto& c : o.reason_codes) codes += (codes.empty() ? "" : ", ") + c;
      std::string message = o.status == Status::kDenied ? "denied by policy" : "the hold was " + std::string(to_string(o.status));
      if (!codes.empty()) message += ": " + codes;
      body["error"] = {{"code", o.status == Status::kDenied ? "denied" : std::string(to_string(o.status))},
                       {"message", message}};
      if (o.hold.is_object()) body["hold"] = hold_object(o);
      return json_response(403, body);
    }
    case Status::kDeferred: {
      std::string codes;
      for (const auto& c : o.reason_codes) codes += (codes.empty() ? "" : ", ") + c;
      body["error"] = {{"code", "deferred"},
                       {"message", "nothing was signed: the source chain has not confirmed the deposit yet (" + codes +
                                       "); ask again later"}};
      return json_response(202, body);
    }
    case Status::kUnavailable: break;
  }
  return error_response(503, "unavailable", "nothing was signed: " + o.error);
}

}  // namespace

// --- routes --------------------------------------------------------------------------------------

// The front door, judged from the header alone (and again, identically, in handle()): the route and
// method (404, 405), then who is asking (401, or 429 for an address over its refusal rate). /healthz
// needs no token, nor /readyz without one. A refusal is recorded once: a request refused here never
// reaches handle(), and one let through is let through again.
std::expected<std::optional<Client>, http::Response> Service::Impl::admit(const http::Request& request,
                                                                           const std::string& route) {
  if (route == "other") return std::unexpected(error_response(404, "not-found", "no route " + client_text(request.path)));
  bool known = false;
  for (const auto& r : routes()) known = known || (r.path == route && r.method == request.method);
  if (!known) {
    return std::unexpected(error_response(405, "method-not-allowed", client_text(request.method) + " is not allowed on " +
                                                                         client_text(request.path)));
  }
  const auto authorization = request.header("authorization");
  if (route == "/healthz" || (route == "/readyz" && !authorization)) return std::optional<Client>();
  std::optional<std::string_view> cert;
  if (request.client_cert) cert = request.client_cert->sha256_fingerprint;
  auto client = auth_.authenticate_request(authorization, cert);
  if (!client) {
    // One message for every failed token, bound or not: the answer does not tell a stolen token's
    // holder that it is valid elsewhere (the log has the precise reason).
    return std::unexpected(refuse(request, std::nullopt, client.error(), 401,
                                  authorization ? "the bearer token is not valid (for this connection's client certificate)"
                                                : "an Authorization: Bearer <token> header is required"));
  }
  return std::optional<Client>(std::move(*client));
}

void Service::Impl::handle(http::Request request, http::Respond respond_raw) {
  const auto started = Clock::now();
  const std::vector<std::string_view> parts = segments(request.path);
  const std::string route = route_of(request.path, parts);
  http::Respond respond = [this, route, started, respond_raw = std::move(respond_raw)](http::Response r) {
    metrics_.request(route, r.status, std::chrono::duration<double>(Clock::now() - started).count());
    respond_raw(std::move(r));
  };
  auto admitted = admit(request, route);
  if (!admitted) return respond(std::move(admitted.error()));

  if (route == "/healthz") return respond(json_response(200, {{"status", "ok"}}));
  if (route == "/readyz") {
    if (!ready_) return respond(error_response(503, "unavailable", "not ready"));
    // Not ready while the database does not answer: nothing could be recorded, so nothing is signed.
    if (!database_answers()) {
      return respond(error_response(503, "unavailable", "database unavailable"));
    }
    // What runs (policy, signer) is for clients only; anyone may learn whether it is ready.
    if (!*admitted) return respond(json_response(200, {{"status", "ready"}}));
    return respond(json_response(200, {{"status", "ready"},
                                      {"policy", pipeline_.policy().policy.name},
                                      {"policy_hash", codec::to_hex(pipeline_.policy().policy.hash)},
                                      {"signer", codec::to_checksum(pipeline_.signer().address())},
                                      {"warnings", options_.warnings}}));
  }

  const std::optional<Client>& client = *admitted;
  if (!client) return respond(error_response(500, "internal", "internal error"));  // admit() always names one here
  if (!rate_.allow(client->name, options_.clock())) {
    // Recorded like every refusal (alone within the address's refusal rate, else in its summary).
    return respond(refuse(request, client, "rate-limited", 429, "client '" + client->name + "' is over its request rate"));
  }

  try {
    if (route == "/metrics") {
      if (!require(*client, {Role::kAuditor}, request, respond)) return;
      http::Response r;
      r.content_type = "text/plain; version=0.0.4";
      r.body = metrics_.render(pipeline_.pending_holds(), pipeline_.batches()) +
               render_stage_seconds(pipeline_.stage_seconds());
      return respond(std::move(r));
    }
    if (route == "/v1/safe/cosign") {
      if (!require(*client, {Role::kRequester}, request, respond)) return;
      return cosign(request, *client, respond);
    }
    if (route == "/v1/evaluate") {
      if (!require(*client, {Role::kRequester}, request, respond)) return;
      return evaluate(request, *client, respond);
    }
    if (route == "/rpc" || route == "/rpc/{chainId}") {
      if (!require(*client, {Role::kRequester}, request, respond)) return;
      const std::string chain = parts.size() == 2 ? std::string(parts[1]) : std::string();
      // Each call of a batch costs one request token (the request itself paid for the first).
      return rpc_.handle(request.body, client->name, chain, respond,
                         [this](const json& decision) { metrics_.decision(decision); },
                         [this, name = client->name, address = http::peer_address_key(request.peer)] {
                           if (rate_.allow(name, options_.clock())) return true;
                           // A batch call over the rate: counted into its address's refusal summary.
                           metrics_.refusal("rate-limited");
                           refusals_.count(address, "rate-limited", options_.clock());
                           metrics_.refusal_summarized();
                           return false;
                         });
    }
    if (route == "/v1/holds") {
      if (!require(*client, {Role::kApprover, Role::kRequester}, request, respond)) return;
      return holds(request, *client, respond);
    }
    if (route == "/v1/holds/{id}") {
      if (!require(*client, {Role::kApprover, Role::kRequester, Role::kAuditor}, request, respond)) return;
      return hold(std::string(parts[2]), *client, respond);
    }
    if (route == "/v1/holds/{id}/approve" || route == "/v1/holds/{id}/reject") {
      if (!require(*client, {Role::kApprover}, request, respond)) return;
      return decide_hold(request, *client, std::string(parts[2]),
                         parts[3] == "approve" ? policy::ApprovalVerdict::kApprove : policy::ApprovalVerdict::kReject,
                         respond);
    }
    if (route == "/v1/decisions" || route == "/v1/decisions/{id}") {
      if (!require(*client, {Role::kAuditor}, request, respond)) return;
      return decisions(request, parts, respond);
    }
    if (route == "/v1/bridge/release") {
      if (!require(*client, {Role::kRequester}, request, respond)) return;
      return bridge_release(request, *client, respond);
    }
    if (route == "/v1/bridge/pause" || route == "/v1/bridge/unpause") {
      if (!require(*client, {Role::kAdmin}, request, respond)) return;
      return bridge_pause(request, *client, route == "/v1/bridge/unpause", respond);
    }
    if (route == "/v1/bridge/status") {
      if (!require(*client, {Role::kAuditor, Role::kRequester, Role::kApprover}, request, respond)) return;
      return bridge_status(respond);
    }
    if (route.starts_with("/v1/log/")) {
      if (!require(*client, {Role::kAuditor}, request, respond)) return;
      return log(request, route, parts, respond);
    }
  } catch (const std::exception& e) {
    // nlohmann .at()/.get() on a value of the wrong shape: the client's mistake.
    return respond(error_response(400, "bad-request", std::string("malformed request: ") + e.what()));
  }
  respond(error_response(404, "not-found", "no route " + client_text(request.path)));
}

void Service::Impl::cosign(const http::Request& request, const Client& client, const http::Respond& respond) {
  auto decoded = decode_safe_request(request.body, pipeline_.policy().policy, client.name);
  if (!decoded) return respond(error_response(decoded.error().status, decoded.error().code, decoded.error().message));
  const codec::Hash32 hash = decoded->digest;
  const codec::Address signer = pipeline_.signer().address();
  pipeline_.sign(std::move(*decoded), [this, respond, hash, signer](Outcome o) {
    if (o.status != Status::kUnavailable && !o.replayed) metrics_.decision(o.decision);
    respond(safe_response(o, hash, signer));
  });
}

void Service::Impl::evaluate(const http::Request& request, const Client& client, const http::Respond& respond) {
  auto decoded = decode_evaluation(request.body, pipeline_.policy().policy, client.name, pipeline_.signer().address());
  if (!decoded) return respond(error_response(decoded.error().status, decoded.error().code, decoded.error().message));
  pipeline_.evaluate(std::move(*decoded), [respond](Outcome o) {
    if (o.status == Status::kUnavailable) return respond(error_response(503, "unavailable", o.error));
    respond(json_response(200, {{"decision", o.decision}}));
  });
}

void Service::Impl::holds(const http::Request& request, const Client& client, const http::Respond& respond) {
  std::optional<store::RequestStatus> status = store::RequestStatus::kPending;
  if (auto s = query_value(request.query, "status")) {
    if (*s == "all") status.reset();
    else if (auto parsed = store::parse_request_status(*s)) status = *parsed;
    else return respond(error_response(400, "bad-request", "status must be pending, approved, rejected, expired, allowed or all"));
  }
  auto rows = pipeline_.reader().requests(status, 1000);
  if (!rows) return respond(error_response(503, "unavailable", rows.error().message()));
  json list = json::array();
  for (const auto& row : *rows) {
    if (row.holds.empty()) continue;
    // A requester sees its own requests only.
    if (client.role == Role::kRequester && row.requester != client.name) continue;
    const Outcome o = Pipeline::outcome_of(row, false);
    json h = hold_object(o);
    h["decision"] = o.decision;
    list.push_back(std::move(h));
  }
  respond(json_response(200, {{"holds", list}}));
}

void Service::Impl::hold(const std::string& id, const Client& client, const http::Respond& respond) {
  if (!plausible_id(id)) return respond(error_response(404, "not-found", "no hold " + id));
  auto row = pipeline_.reader().request(id);
  if (!row) return respond(error_response(503, "unavailable", row.error().message()));
  if (!*row || (*row)->holds.empty() || (client.role == Role::kRequester && (*row)->requester != client.name)) {
    return respond(error_response(404, "not-found", "no hold " + id));
  }
  const Outcome o = Pipeline::outcome_of(**row, false);
  json h = hold_object(o);
  h["decision"] = o.decision;
  // Once approved, the signature is part of the hold for whoever may read it (it is in the log too).
  if (o.signature) {
    h["signature"] = codec::to_hex(*o.signature);
    h["signer"] = codec::to_checksum(pipeline_.signer().address());
    if (o.signed_transaction) h["signed_transaction"] = *o.signed_transaction;
  }
  respond(json_response(200, h));
}

void Service::Impl::decide_hold(const http::Request& request, const Client& client, const std::string& id,
                                policy::ApprovalVerdict verdict, const http::Respond& respond) {
  if (!plausible_id(id)) return respond(error_response(404, "not-found", "no hold " + id));
  auto body = codec::parse_json_strict(request.body, kMaxJsonDepth);
  if (!body) return respond(error_response(400, "bad-request", body.error().message()));
  if (!body->is_object() || !body->contains("signature") || !body->at("signature").is_string()) {
    return respond(error_response(400, "bad-request", "$.signature: required, the approver's 65-byte EIP-712 signature (0x hex)"));
  }
  for (const auto& [key, value] : body->items()) {
    if (key != "signature") return respond(error_response(400, "bad-request", "$." + key + ": unknown field"));
  }
  auto signature = codec::from_hex(body->at("signature").get<std::string>());
  if (!signature) return respond(error_response(400, "bad-request", "$.signature: " + signature.error().message()));
  pipeline_.approve(id, verdict, std::move(*signature), policy::Submitter{client.name, client.approver},
                    [respond](ApprovalOutcome res) {
    using Code = ApprovalOutcome::Code;
    switch (res.code) {
      case Code::kAccepted: {
        json h = hold_object(res.request);
        h["decision"] = res.request.decision;
        return respond(json_response(200, h));
      }
      case Code::kNotFound: return respond(error_response(404, "not-found", "no held request with this id"));
      case Code::kNotPending: return respond(error_response(409, "conflict", "the hold is not pending: " + res.error));
      case Code::kRefused: {
        // An approver who already gave a verdict conflicts with the recorded one; anything else is a
        // bad signature for this hold.
        const std::string code = res.error.substr(0, res.error.find(':'));
        if (code == "duplicate") return respond(error_response(409, "conflict", "approval refused: " + res.error));
        // The signature is good, but this client may not carry it.
        if (code == "self-approval" || code == "not-bound") {
          return respond(error_response(403, code, "approval refused: " + res.error));
        }
        return respond(error_response(400, code, "approval refused: " + res.error));
      }
      case Code::kUnavailable: return respond(error_response(503, "unavailable", res.error));
    }
  });
}

void Service::Impl::decisions(const http::Request& request, const std::vector<std::string_view>& parts,
                              const http::Respond& respond) {
  const auto parse_record = [](const store::LogRecord& r) {
    json body = json::parse(r.body, nullptr, false);
    return json{{"index", r.seq}, {"id", r.id},         {"kind", r.kind},
                {"at_ms", r.at_ms}, {"leaf", codec::to_hex(r.leaf)}, {"record", body}};
  };
  if (parts.size() == 3) {
    auto record = pipeline_.reader().record(parts[2]);
    if (!record) return respond(error_response(503, "unavailable", record.error().message()));
    if (!*record) return respond(error_response(404, "not-found", "no decision " + client_text(parts[2])));
    return respond(json_response(200, parse_record(**record)));
  }
  std::uint64_t from = 0;
  std::size_t limit = 100;
  if (auto a = query_value(request.query, "from")) {
    auto n = parse_count(*a);
    if (!n) return respond(error_response(400, "bad-request", "from must be a record index (0 or more)"));
    from = *n;
  }
  if (auto l = query_value(request.query, "limit")) {
    const auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
    if (ec != std::errc() || end != l->data() + l->size() || limit == 0 || limit > 1000) {
      return respond(error_response(400, "bad-request", "limit must be from 1 to 1000"));
    }
  }
  auto records = pipeline_.reader().records_from(from, limit);
  if (!records) return respond(error_response(503, "unavailable", records.error().message()));
  json list = json::array();
  for (const auto& r : *records) list.push_back(parse_record(r));
  json body = {{"decisions", list}};
  body["next"] = records->empty() ? from : static_cast<std::uint64_t>(records->back().seq) + 1;
  respond(json_response(200, body));
}

// The auditor's view of the tamper-evident log: signed tree heads, RFC 9162 inclusion and consistency
// proofs, and the documents (policies, lists, prices) records refer to.
void Service::Impl::log(const http::Request& request, const std::string& route,
                        const std::vector<std::string_view>& parts, const http::Respond& respond) {
  store::DecisionLogReader& reader = pipeline_.reader();
  const auto unavailable = [&](const policy::StateError& e) {
    if (e.code == policy::StateErrc::kNotFound) return respond(error_response(404, "not-found", e.detail));
    respond(error_response(503, "unavailable", e.message()));
  };
  const auto number = [&](const char* key, bool required) -> std::expected<std::optional<std::uint64_t>, std::string> {
    auto v = query_value(request.query, key);
    if (!v) {
      if (required) return std::unexpected(std::string(key) + " is required");
      return std::optional<std::uint64_t>{};
    }
    auto n = parse_count(*v);
    if (!n) return std::unexpected(std::string(key) + " must be a whole number (0 or more)");
    return std::optional<std::uint64_t>(*n);
  };
  const auto hashes = [](const std::vector<codec::Hash32>& proof) {
    json out = json::array();
    for (const auto& h : proof) out.push_back(codec::to_hex(h));
    return out;
  };
  auto size = reader.size();
  if (!size) return unavailable(size.error());

  if (route == "/v1/log/head") {
    auto head = reader.last_head();
    if (!head) return unavailable(head.error());
    json body = {{"size", *size}, {"head", *head ? store::to_json(**head) : json(nullptr)}};
    return respond(json_response(200, body));
  }
  if (route == "/v1/log/heads") {
    auto after = number("after", false);
    auto limit = number("limit", false);
    if (!after) return respond(error_response(400, "bad-request", after.error()));
    if (!limit) return respond(error_response(400, "bad-request", limit.error()));
    const std::uint64_t n = limit->value_or(100);
    if (n == 0 || n > 1000) return respond(error_response(400, "bad-request", "limit must be from 1 to 1000"));
    auto heads = reader.heads_after(after->value_or(0), n);
    if (!heads) return unavailable(heads.error());
    json list = json::array();
    for (const auto& h : *heads) list.push_back(store::to_json(h));
    return respond(json_response(200, {{"heads", list}, {"size", *size}}));
  }
  if (route == "/v1/log/proof/inclusion") {
    // By record id or by index; the tree size defaults to the latest signed head (what an auditor
    // holds), else the whole log.
    std::uint64_t index = 0;
    if (auto id = query_value(request.query, "id")) {
      auto record = reader.record(*id);
      if (!record) return unavailable(record.error());
      if (!*record) return respond(error_response(404, "not-found", "no record " + client_text(*id)));
      index = static_cast<std::uint64_t>((*record)->seq);
    } else {
      auto i = number("index", true);
      if (!i) return respond(error_response(400, "bad-request", "give id=RECORD_ID or index=N: " + i.error()));
      index = **i;
    }
    auto tree = number("size", false);
    if (!tree) return respond(error_response(400, "bad-request", tree.error()));
    std::uint64_t tree_size = *size;
    if (*tree) {
      tree_size = **tree;
    } else {
      auto head = reader.last_head();
      if (!head) return unavailable(head.error());
      if (*head && (*head)->size > index) tree_size = (*head)->size;
    }
    if (index >= tree_size) {
      return respond(error_response(400, "bad-request", "index " + std::to_string(index) + " is not below the tree size " +
                                                            std::to_string(tree_size)));
    }
    auto proof = reader.inclusion_proof(index, tree_size);
    if (!proof) return unavailable(proof.error());
    auto root = reader.root(tree_size);
    if (!root) return unavailable(root.error());
    auto record = reader.records_from(index, 1);
    if (!record) return unavailable(record.error());
    if (record->empty()) return respond(error_response(404, "not-found", "no record at index " + std::to_string(index)));
    return respond(json_response(200, {{"index", index},
                                      {"size", tree_size},
                                      {"leaf", codec::to_hex(record->front().leaf)},
                                      {"id", record->front().id},
                                      {"root", codec::to_hex(*root)},
                                      {"proof", hashes(*proof)}}));
  }
  if (route == "/v1/log/proof/consistency") {
    auto first = number("first", true);
    auto second = number("second", false);
    if (!first) return respond(error_response(400, "bad-request", first.error()));
    if (!second) return respond(error_response(400, "bad-request", second.error()));
    const std::uint64_t size1 = **first;
    const std::uint64_t size2 = second->value_or(*size);
    if (size1 == 0 || size1 > size2) {
      return respond(error_response(400, "bad-request", "need 0 < first <= second (second defaults to the log size)"));
    }
    auto proof = reader.consistency_proof(size1, size2);
    if (!proof) return unavailable(proof.error());
    auto root1 = reader.root(size1);
    if (!root1) return unavailable(root1.error());
    auto root2 = reader.root(size2);
    if (!root2) return unavailable(root2.error());
    return respond(json_response(200, {{"first", size1},
                                      {"second", size2},
                                      {"first_root", codec::to_hex(*root1)},
                                      {"second_root", codec::to_hex(*root2)},
                                      {"proof", hashes(*proof)}}));
  }
  // /v1/log/documents/{hash}
  auto hash = codec::from_hex_fixed<32>(parts[3]);
  if (!hash) return respond(error_response(400, "bad-request", "a document is named by its SHA-256 (0x + 64 hex digits)"));
  auto document = reader.document(*hash);
  if (!document) return unavailable(document.error());
  if (!*document) return respond(error_response(404, "not-found", "no document " + std::string(parts[3])));
  respond(json_response(200, {{"hash", codec::to_hex((*document)->hash)}, {"kind", (*document)->kind}, {"body", (*document)->body}}));
}

// --- Service -------------------------------------------------------------------------------------

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Service::~Service() = default;

void Service::Impl::bridge_release(const http::Request& request, const Client& client, const http::Respond& respond) {
  auto decoded = decode_bridge_release(request.body, pipeline_.policy().policy, client.name);
  if (!decoded) return respond(error_response(decoded.error().status, decoded.error().code, decoded.error().message));
  // Asking the source chain blocks on the network: on the worker pool, never on the I/O threads.
  auto shared = std::make_shared<SigningRequest>(std::move(*decoded));
  post_guarded(pool_, respond, [this, shared, respond] {
    SigningRequest& req = *shared;
    const auto& policy = pipeline_.policy().policy;
    const policy::RouteSpec& route = policy.bridges.routes.at(req.bridge->claim.route);
    const policy::WithdrawalAttestation& a = req.bridge->claim.attestation;
    json observation;
    auto event = codec::parse_event_signature(route.deposit.event);
    const auto chain = codec::to_u64(route.source_chain);
    const auto log_index = codec::to_u64(a.log_index);
    if (!event || !chain || !log_index) {
      observation = {{"status", "not-found"},
                     {"reason", std::string(policy::bridge_reason::kDepositNotFound)},
                     {"detail", "the attested deposit cannot be looked up (log index or chain out of range)"},
                     {"event", nullptr},
                     {"receipt", nullptr}};
    } else {
      DepositQuery q;
      q.chain_id = *chain;
      q.tx_hash = a.source_tx_hash;
      q.log_index = *log_index;
      q.contract = route.deposit.contract;
      q.event = *event;
      q.confirmations = route.deposit.confirmations;
      q.finalized = route.deposit.finalized;
      observation = to_json(observer_->observe(q));
    }
    attach_observation(req, observation);
    const codec::Hash32 hash = req.digest;
    const codec::Address signer = pipeline_.signer().address();
    pipeline_.sign(std::move(req), [this, respond, hash, signer](Outcome o) {
      if (o.status != Status::kUnavailable && !o.replayed) metrics_.decision(o.decision);
      respond(safe_response(o, hash, signer));
    });
  });
}

void Service::Impl::bridge_pause(const http::Request& request, const Client& client, bool lift,
                                 const http::Respond& respond) {
  auto body = codec::parse_json_strict(request.body.empty() ? std::string_view("{}") : std::string_view(request.body),
                                       kMaxJsonDepth);
  if (!body || !body->is_object()) {
    return respond(error_response(400, "bad-request", body ? "$: expected an object" : body.error().message()));
  }
  for (const auto& [key, value] : body->items()) {
    if (key != "route" && key != "reason") return respond(error_response(400, "bad-request", "$." + key + ": unknown field"));
    if (!value.is_string()) return respond(error_response(400, "bad-request", "$." + key + ": expected a string"));
  }
  std::string scope = "*";
  if (body->contains("route")) {
    scope = body->at("route").get<std::string>();
    if (!pipeline_.policy().policy.bridges.find(scope)) {
      return respond(error_response(404, "unknown-route", "$.route: no route \"" + scope + "\" in the policy"));
    }
  }
  if (!lift) {
    const std::string reason = body->value("reason", std::string());
    if (reason.size() > 1000) return respond(error_response(400, "bad-request", "$.reason: at most 1000 characters"));
    log(LogLevel::kWarn, "bridge pause of \"" + scope + "\" by " + client.name);
    pipeline_.pause(scope, client.name, reason, [respond](std::expected<json, std::string> r) {
      if (!r) return respond(error_response(503, "unavailable", "the pause was not recorded: " + r.error()));
      respond(json_response(200, *r));
    });
    return;
  }
  pipeline_.sign(unpause_request(scope, client.name), [respond](Outcome o) {
    json answer = {{"id", o.decision_id}, {"status", to_string(o.status)}, {"decision", o.decision}};
    if (o.hold.is_object()) answer["hold"] = hold_object(o);
    if (o.status == Status::kPending || o.status == Status::kApproved) return respond(json_response(o.status == Status::kPending ? 202 : 200, answer));
    if (o.status == Status::kUnavailable) return respond(error_response(503, "unavailable", o.error));
    std::string codes;
    for (const auto& c : o.reason_codes) codes += (codes.empty() ? "" : ", ") + c;
    answer["error"] = {{"code", "refused"}, {"message", "unpause refused: " + codes}};
    respond(json_response(409, answer));
  });
}

void Service::Impl::bridge_status(const http::Respond& respond) {
  auto status = pipeline_.bridge_status();
  if (!status) return respond(error_response(503, "unavailable", status.error()));
  const auto& policy = pipeline_.policy().policy;
  const TimeMs now = options_.clock();
  json routes = json::object();
  for (const auto& r : policy.bridges.routes) {
    const auto& current = r.validators.current();
    json sets = json::array();
    for (const auto& set : r.validators.sets) {
      sets.push_back({{"index", set.index},
                      {"validators", set.validators.size()},
                      {"valid_from", policy::format_time(set.valid_from_ms)},
                      {"expires_at", set.expires_at_ms ? json(policy::format_time(*set.expires_at_ms)) : json(nullptr)},
                      {"usable", !policy::set_unusable(r.validators, set.index, now)}});
    }
    routes[r.name] = {{"kind", to_string(r.kind)},
                      {"source_chain", codec::to_decimal(r.source_chain)},
                      {"destination_chain", codec::to_decimal(r.destination_chain)},
                      {"wallet", policy.wallets[r.wallet].name},
                      {"current_set", current.index},
                      {"required_signatures", r.required_signatures(current.validators.size())},
                      {"min_operators", r.min_operators},
                      {"sets", sets}};
  }
  json body = *status;
  for (auto& [name, route] : routes.items()) {
    bool paused = false;
    for (const auto& p : body.at("paused")) paused = paused || p.at("scope") == name || p.at("scope") == "*";
    route["paused"] = paused;
  }
  body["routes"] = routes;
  respond(json_response(200, body));
}

std::expected<std::unique_ptr<Service>, std::string> Service::create(ServiceOptions options, Pipeline& pipeline) {
  auto impl = std::make_unique<Impl>(std::move(options), pipeline);
  if (auto ok = impl->connect_upstreams(); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<Service>(new Service(std::move(impl)));
}

void Service::handle(http::Request request, http::Respond respond) { impl_->handle(std::move(request), std::move(respond)); }

std::optional<http::Response> Service::authorize_header(const http::Request& head) {
  const auto started = Clock::now();
  const std::string route = route_of(head.path, segments(head.path));
  auto admitted = impl_->admit(head, route);
  if (admitted) return std::nullopt;
  impl_->metrics_.request(route, admitted.error().status, std::chrono::duration<double>(Clock::now() - started).count());
  return std::move(admitted.error());
}

void Service::flush_refusals() { impl_->flush_refusals(true); }
void Service::set_ready(bool ready) noexcept { impl_->ready_ = ready; }
Metrics& Service::metrics() noexcept { return impl_->metrics_; }

}  // namespace txguard::service

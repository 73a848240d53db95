#include "guard/service/config.hpp"

#include <arpa/inet.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <set>

#include "guard/store/sql.hpp"
#include "policy/codec/json_value.hpp"

namespace txguard::service {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class Checker {
 public:
  explicit Checker(std::string dir) : dir_(std::move(dir)) {}

  void problem(const std::string& path, const std::string& what) { problems_.push_back(path + ": " + what); }
  std::vector<std::string> take() { return std::move(problems_); }
  bool ok() const { return problems_.empty(); }

  // Refuses fields not in `known`.
  void only(const json& object, const std::string& path, std::initializer_list<std::string_view> known) {
    for (const auto& [key, value] : object.items()) {
      bool found = false;
      for (std::string_view k : known) found = found || k == key;
      if (!found) problem(path + "." + key, "unknown field");
    }
  }

  std::optional<std::string> string(const json& object, const std::string& path, const char* key, bool required) {
    if (!object.contains(key)) {
      if (required) problem(path + "." + key, "required");
      return std::nullopt;
    }
    const json& v = object.at(key);
    if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
      problem(path + "." + key, "expected a non-empty string");
      return std::nullopt;
    }
    return v.get<std::string>();
  }

  std::optional<std::string> file(const json& object, const std::string& path, const char* key, bool required) {
    auto s = string(object, path, key, required);
    if (!s) return std::nullopt;
    const fs::path p(*s);
    return (p.is_absolute() || dir_.empty() ? p : fs::path(dir_) / p).string();
  }

  template <typename T>
  std::optional<T> number(const json& object, const std::string& path, const char* key, T min, T max) {
    if (!object.contains(key)) return std::nullopt;
    const json& v = object.at(key);
    const bool integral = std::is_integral_v<T>;
    if (!v.is_number() || (integral && !v.is_number_integer())) {
      problem(path + "." + key, integral ? "expected an integer" : "expected a number");
      return std::nullopt;
    }
    const double d = v.get<double>();
    if (d < static_cast<double>(min) || d > static_cast<double>(max)) {
      problem(path + "." + key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return std::nullopt;
    }
    return v.get<T>();
  }

 private:
  std::string dir_;
  std::vector<std::string> problems_;
};

void parse_listen(Checker& c, const std::string& text, Config& out) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    c.problem("$.listen", "expected host:port, e.g. \"127.0.0.1:8545\"");
    return;
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535 || port.empty()) {
    c.problem("$.listen", "the port must be a number from 0 to 65535");
    return;
  }
  out.host = host;
  out.port = static_cast<std::uint16_t>(value);
}

KeystoreConfig keystore_config(Checker& c, const json& parent, const std::string& parent_path, const char* key) {
  KeystoreConfig out;
  const std::string path = parent_path + "." + key;
  if (!parent.contains(key)) {
    c.problem(path, "required: {file, passphrase_file | passphrase_env}");
  } else if (!parent.at(key).is_object()) {
    c.problem(path, "expected an object {file, passphrase_file | passphrase_env}");
  } else {
    const json& k = parent.at(key);
    c.only(k, path, {"file", "passphrase_file", "passphrase_env"});
    out.file = c.file(k, path, "file", true).value_or("");
    out.passphrase_file = c.file(k, path, "passphrase_file", false);
    out.passphrase_env = c.string(k, path, "passphrase_env", false);
    if (out.passphrase_file.has_value() == out.passphrase_env.has_value()) {
      c.problem(path, "give exactly one of passphrase_file or passphrase_env (never the passphrase itself)");
    }
  }
  return out;
}

// --- transport: TLS on the network, client certificates bound to clients ---------------------------

bool is_loopback(const std::string& host) {
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(AF_INET, host.c_str(), bytes.data()) == 1) return bytes[0] == 127;
  if (inet_pton(AF_INET6, host.c_str(), bytes.data()) == 1) {
    static constexpr std::array<unsigned char, 16> kLoopback6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const bool v4_mapped = std::all_of(bytes.begin(), bytes.begin() + 10, [](unsigned char b) { return b == 0; }) &&
                           bytes[10] == 0xff && bytes[11] == 0xff;
    return bytes == kLoopback6 || (v4_mapped && bytes[12] == 127);
  }
  return false;  // not an IP address: the server refuses it anyway
}

// "cert_sha256" of a client: 64 hex digits, colons between byte pairs allowed (openssl's form).
std::optional<codec::Hash32> client_cert_binding(Checker& c, const json& entry, const std::string& path) {
  auto text = c.string(entry, path, "cert_sha256", false);
  if (!text) return std::nullopt;
  std::string hex;
  for (char ch : *text) {
    if (ch != ':') hex += ch;
  }
  auto digest = codec::from_hex_fixed<32>(hex);
  if (!digest) {
    c.problem(path + ".cert_sha256", "expected the SHA-256 fingerprint of the client's certificate, 64 hex digits "
                                     "(openssl x509 -in client.crt -noout -fingerprint -sha256 prints it)");
    return std::nullopt;
  }
  return *digest;
}

// Tokens cross the network in clear without TLS; a certificate can only be bound to a client when
// client certificates are verified, and with required client certificates every client names its own
// (a certificate from the CA must not carry any client's token).
// "database": a SQLite file (relative to the config) or a postgresql:// URL, whose password comes
// from database_password_file or database_password_env, never from the URL.
void database_config(Checker& c, const json& root, Config& out) {
  const auto url = c.string(root, "$", "database", false);
  if (url && store::is_postgres_url(*url)) {
    out.database = *url;
    if (auto problem = store::postgres_url_problem(*url)) c.problem("$.database", *problem);
    out.database_password_file = c.file(root, "$", "database_password_file", false);
    out.database_password_env = c.string(root, "$", "database_password_env", false);
    if (out.database_password_file && out.database_password_env) {
      c.problem("$.database_password_file", "give at most one of database_password_file or database_password_env");
    }
    return;
  }
  out.database = c.file(root, "$", "database", true).value_or("");
  for (const char* key : {"database_password_file", "database_password_env"}) {
    if (root.contains(key)) c.problem(std::string("$.") + key, "only for a postgresql:// database");
  }
}

void check_transport(Checker& c, const json& root, Config& out) {
  if (root.contains("insecure_plaintext")) {
    if (!root.at("insecure_plaintext").is_boolean()) c.problem("$.insecure_plaintext", "expected true or false");
    else out.insecure_plaintext = root.at("insecure_plaintext").get<bool>();
  }
  if (root.contains("listen") && !out.tls && !out.insecure_plaintext && !is_loopback(out.host)) {
    c.problem("$.listen", "\"" + out.host + "\" is not a loopback address and there is no $.tls: bearer tokens would "
              "cross the network in clear. Add \"tls\": {\"cert\": \"server.crt\", \"key\": \"server.key\"}, listen on "
              "127.0.0.1, or write \"insecure_plaintext\": true to accept plain HTTP there");
  }
  const bool verified = out.tls && out.tls->client_ca_file;
  const bool required = out.tls && out.tls->require_client_cert;
  std::set<codec::Hash32> certs;
  for (std::size_t i = 0; i < out.clients.size(); ++i) {
    const ClientConfig& client = out.clients[i];
    const std::string path = "$.clients[" + std::to_string(i) + "].cert_sha256";
    if (client.cert_sha256) {
      if (!verified) c.problem(path, "needs $.tls.client_ca: a certificate is bound only when client certificates are verified");
      if (!certs.insert(*client.cert_sha256).second) c.problem(path, "two clients share one certificate");
    } else if (required) {
      c.problem(path, "required with $.tls.require_client_cert: write \"cert_sha256\": \"<fingerprint>\", the SHA-256 of "
                      "the certificate this client presents (openssl x509 -in client.crt -noout -fingerprint -sha256), "
                      "so that no other client's certificate can carry its token");
    }
  }
}

// The limits that protect the front door and the sequencer from one address's flood.
void parse_front_door_limits(Checker& c, const json& l, LimitsConfig& L) {
  L.max_connections_per_address =
      c.number<std::size_t>(l, "$.limits", "max_connections_per_address", 1, 100'000).value_or(L.max_connections_per_address);
  L.refusals_per_second = c.number<double>(l, "$.limits", "refusals_per_second", 0.001, 1e6).value_or(L.refusals_per_second);
  L.refusals_burst = c.number<double>(l, "$.limits", "refusals_burst", 1, 1e6).value_or(L.refusals_burst);
  L.max_queue = c.number<std::size_t>(l, "$.limits", "max_queue", 1, 10'000'000).value_or(L.max_queue);
}

}  // namespace

namespace {

// A bridge source endpoint as far as independence goes: whether it uses TLS, whether it is on this
// machine, and which source it is (its host; on loopback, its port too: each local node is its own).
struct Endpoint {
  bool tls = false;
  bool loopback = false;
  std::string source;
};

std::optional<Endpoint> parse_endpoint(const std::string& url) {
  Endpoint e;
  std::string_view rest(url);
  if (rest.starts_with("https://")) {
    e.tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string host;
  std::string port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      port = std::string(authority.substr(close + 2));
    }
  } else {
    const auto colon = authority.find(':');
    host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = std::string(authority.substr(colon + 1));
  }
  if (host.empty()) return std::nullopt;
  for (auto& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  e.loopback = host == "localhost" || host == "::1" || host.starts_with("127.");
  if (port.empty()) port = e.tls ? "443" : "80";
  e.source = e.loopback ? "loopback port " + port : host;
  return e;
}

}  // namespace

std::string_view to_string(Role role) noexcept {
  switch (role) {
    case Role::kRequester: return "requester";
    case Role::kApprover: return "approver";
    case Role::kAuditor: return "auditor";
    case Role::kAdmin: return "admin";
  }
  return "unknown";
}

std::optional<Role> parse_role(std::string_view text) noexcept {
  for (Role r : {Role::kRequester, Role::kApprover, Role::kAuditor, Role::kAdmin}) {
    if (to_string(r) == text) return r;
  }
  return std::nullopt;
}

codec::Hash32 token_digest(std::string_view token) {
  codec::Hash32 out{};
  unsigned int size = 0;
  EVP_Digest(token.data(), token.size(), out.data(), &size, EVP_sha256(), nullptr);
  return out;
}

std::expected<Config, std::vector<std::string>> parse_config(std::string_view text, const std::string& dir) {
  auto parsed = codec::parse_json_strict(text, 32, /*allow_comments=*/true);
  if (!parsed) return std::unexpected(std::vector<std::string>{"$: " + parsed.error().message()});
  const json& root = *parsed;
  if (!root.is_object()) return std::unexpected(std::vector<std::string>{"$: expected a JSON object"});
  Checker c(dir);
  Config out;
  c.only(root, "$", {"listen", "insecure_plaintext", "port_file", "tls", "clients", "policy", "prices", "shadow_policy",
                     "database", "database_password_file", "database_password_env", "keystore", "decision_log", "upstream", "bridge", "limits", "threads", "log"});

  if (auto listen = c.string(root, "$", "listen", true)) parse_listen(c, *listen, out);
  out.port_file = c.file(root, "$", "port_file", false);

  if (root.contains("tls")) {
    const json& t = root.at("tls");
    if (!t.is_object()) {
      c.problem("$.tls", "expected an object {cert, key, client_ca?, require_client_cert?}");
    } else {
      c.only(t, "$.tls", {"cert", "key", "client_ca", "require_client_cert"});
      TlsConfig tls;
      tls.cert_file = c.file(t, "$.tls", "cert", true).value_or("");
      tls.key_file = c.file(t, "$.tls", "key", true).value_or("");
      tls.client_ca_file = c.file(t, "$.tls", "client_ca", false);
      if (t.contains("require_client_cert")) {
        if (!t.at("require_client_cert").is_boolean()) c.problem("$.tls.require_client_cert", "expected true or false");
        else tls.require_client_cert = t.at("require_client_cert").get<bool>();
      }
      if (tls.require_client_cert && !tls.client_ca_file) {
        c.problem("$.tls.require_client_cert", "needs $.tls.client_ca: the CA that issues client certificates");
      }
      out.tls = std::move(tls);
    }
  }

  if (!root.contains("clients")) {
    c.problem("$.clients", "required: at least one client with a token");
  } else if (!root.at("clients").is_array() || root.at("clients").empty()) {
    c.problem("$.clients", "expected a non-empty array of {name, token_sha256, role}");
  } else {
    std::set<std::string> names;
    std::set<codec::Hash32> digests;
    std::set<std::string> approvers;
    std::size_t i = 0;
    for (const json& entry : root.at("clients")) {
      const std::string path = "$.clients[" + std::to_string(i++) + "]";
      if (!entry.is_object()) {
        c.problem(path, "expected an object {name, token_sha256, role}");
        continue;
      }
      c.only(entry, path, {"name", "token_sha256", "role", "approver", "cert_sha256"});
      ClientConfig client;
      client.name = c.string(entry, path, "name", true).value_or("");
      if (!client.name.empty() && !names.insert(client.name).second) c.problem(path + ".name", "duplicate client name");
      if (auto hex = c.string(entry, path, "token_sha256", true)) {
        auto digest = codec::from_hex_fixed<32>(*hex);
        if (!digest) {
          c.problem(path + ".token_sha256", "expected the 64 hex digits of SHA-256(token) (txguard token new prints it)");
        } else {
          client.token_sha256 = *digest;
          if (!digests.insert(*digest).second) c.problem(path + ".token_sha256", "two clients share one token");
        }
      }
      if (auto role = c.string(entry, path, "role", true)) {
        auto r = parse_role(*role);
        if (!r) c.problem(path + ".role", "expected requester, approver, auditor or admin");
        else client.role = *r;
      }
      // An approval counts only from the client bound to its approver: the binding is required for
      // the approver role (a config of the older form, without it, stops start-up here) and allowed
      // for admin; one approver, one client.
      client.approver = c.string(entry, path, "approver", false);
      if (client.approver) {
        if (client.role != Role::kApprover && client.role != Role::kAdmin) {
          c.problem(path + ".approver", "only an approver (or admin) client can be bound to a policy approver");
        } else if (!approvers.insert(*client.approver).second) {
          c.problem(path + ".approver", "approver \"" + *client.approver + "\" is already bound to another client");
        }
      } else if (client.role == Role::kApprover) {
        c.problem(path + ".approver",
                  "required for role approver: write \"approver\": \"<name>\", the policy approver (a key of the "
                  "policy's \"approvers\") whose key this client submits approvals for");
      }
      client.cert_sha256 = client_cert_binding(c, entry, path);
      out.clients.push_back(std::move(client));
    }
  }
  check_transport(c, root, out);

  out.policy_file = c.file(root, "$", "policy", true).value_or("");
  out.prices_file = c.file(root, "$", "prices", false);
  database_config(c, root, out);

  out.keystore = keystore_config(c, root, "$", "keystore");
  out.shadow_policy_file = c.file(root, "$", "shadow_policy", false);
  if (!root.contains("decision_log")) {
    c.problem("$.decision_log", "required: {key: {file, passphrase_file | passphrase_env}} (the dedicated log key "
                                "that signs tree heads: txguard keys new)");
  } else if (!root.at("decision_log").is_object()) {
    c.problem("$.decision_log", "expected an object {key, head_every_records, head_every_seconds}");
  } else {
    const json& d = root.at("decision_log");
    c.only(d, "$.decision_log", {"key", "head_every_records", "head_every_seconds"});
    out.decision_log.key = keystore_config(c, d, "$.decision_log", "key");
    if (auto n = c.number<std::uint64_t>(d, "$.decision_log", "head_every_records", 1, 1'000'000'000)) {
      out.decision_log.head_every_records = *n;
    }
    if (auto n = c.number<std::uint32_t>(d, "$.decision_log", "head_every_seconds", 1, 86'400)) {
      out.decision_log.head_every_seconds = *n;
    }
  }

  if (root.contains("upstream")) {
    const json& u = root.at("upstream");
    if (!u.is_object()) {
      c.problem("$.upstream", "expected an object: chain id -> JSON-RPC URL");
    } else {
      for (const auto& [chain, url] : u.items()) {
        const std::string path = "$.upstream." + chain;
        std::uint64_t id = 0;
        const auto [end, ec] = std::from_chars(chain.data(), chain.data() + chain.size(), id);
        if (ec != std::errc() || end != chain.data() + chain.size() || id == 0 || chain.front() == '0') {
          c.problem(path, "the key must be a chain id in decimal, e.g. \"1\"");
          continue;
        }
        if (!url.is_string() || !(url.get_ref<const std::string&>().starts_with("http://") ||
                                  url.get_ref<const std::string&>().starts_with("https://"))) {
          c.problem(path, "expected an http:// or https:// URL");
          continue;
        }
        out.upstream[chain] = url.get<std::string>();
      }
    }
  }

  if (root.contains("bridge")) {
    const json& b = root.at("bridge");
    if (!b.is_object()) {
      c.problem("$.bridge", "expected an object {\"rpc\": {chain id: [URL, ...]}, \"timeout_ms\": N}");
    } else {
      c.only(b, "$.bridge", {"rpc", "timeout_ms", "accept_single_source"});
      if (b.contains("accept_single_source")) {
        if (!b.at("accept_single_source").is_boolean()) c.problem("$.bridge.accept_single_source", "expected true or false");
        else out.bridge.accept_single_source = b.at("accept_single_source").get<bool>();
      }
      out.bridge.timeout_ms = c.number<std::uint32_t>(b, "$.bridge", "timeout_ms", 100, 120'000).value_or(out.bridge.timeout_ms);
      static const json kNone = json::object();
      const json& given = b.contains("rpc") ? b.at("rpc") : kNone;
      if (!given.is_object()) c.problem("$.bridge.rpc", "expected an object: source chain id -> [JSON-RPC URL, ...]");
      const json& rpc = given.is_object() ? given : kNone;
      for (const auto& [chain, urls] : rpc.items()) {
        const std::string path = "$.bridge.rpc." + chain;
        std::uint64_t id = 0;
        const auto [end, ec] = std::from_chars(chain.data(), chain.data() + chain.size(), id);
        if (ec != std::errc() || end != chain.data() + chain.size() || id == 0 || chain.front() == '0') {
          c.problem(path, "the key must be a chain id in decimal, e.g. \"1\"");
          continue;
        }
        if (!urls.is_array() || urls.empty()) {
          c.problem(path, "expected a non-empty array of http:// or https:// URLs (several: they must agree)");
          continue;
        }
        std::set<std::string> sources;
        bool all_valid = true;
        for (std::size_t i = 0; i < urls.size(); ++i) {
          const json& url = urls[i];
          const std::string at = path + "[" + std::to_string(i) + "]";
          const auto endpoint = url.is_string() ? parse_endpoint(url.get_ref<const std::string&>()) : std::nullopt;
          if (!endpoint) {
            c.problem(at, "expected an https:// URL (http:// only on a loopback address)");
            all_valid = false;
            continue;
          }
          if (!endpoint->tls && !endpoint->loopback) {
            // One network attacker who rewrites a plaintext receipt, plus a validator quorum, is the
            // Ronin case: a deposit that never happened, confirmed.
            c.problem(at, "plain http:// to a host that is not loopback: anyone on the path could forge the deposit it "
                          "confirms; write https://");
            all_valid = false;
            continue;
          }
          sources.insert(endpoint->source);
          out.bridge.rpc[id].push_back(url.get<std::string>());
        }
        if (all_valid && sources.size() < 2 && out.bridge.accept_single_source) out.bridge.single_source_chains.push_back(id);
        if (all_valid && sources.size() < 2 && !out.bridge.accept_single_source) {
          c.problem(path, "deposits on chain " + chain + " would be confirmed by one source (" + *sources.begin() +
                              ") alone: add an endpoint on another host (all must agree), or set "
                              "\"bridge\": {\"accept_single_source\": true} to accept that risk (/readyz reports it)");
        }
      }
    }
  }

  if (root.contains("limits")) {
    const json& l = root.at("limits");
    if (!l.is_object()) {
      c.problem("$.limits", "expected an object");
    } else {
      c.only(l, "$.limits", {"max_body_bytes", "max_connections", "requests_per_second", "burst", "header_timeout_ms",
                             "request_timeout_ms", "max_connections_per_address", "refusals_per_second",
                             "refusals_burst", "max_queue"});
      auto& L = out.limits;
      L.max_body_bytes = c.number<std::size_t>(l, "$.limits", "max_body_bytes", 1024, 64u << 20).value_or(L.max_body_bytes);
      L.max_connections = c.number<std::size_t>(l, "$.limits", "max_connections", 1, 100'000).value_or(L.max_connections);
      L.requests_per_second = c.number<double>(l, "$.limits", "requests_per_second", 0.001, 1e7).value_or(L.requests_per_second);
      // Without an explicit burst, a client may send two seconds' worth at once (at least one request).
      L.burst = c.number<double>(l, "$.limits", "burst", 1, 1e7).value_or(std::max(1.0, 2 * L.requests_per_second));
      L.header_timeout_ms = c.number<std::uint32_t>(l, "$.limits", "header_timeout_ms", 10, 600'000).value_or(L.header_timeout_ms);
      L.request_timeout_ms = c.number<std::uint32_t>(l, "$.limits", "request_timeout_ms", 10, 600'000).value_or(L.request_timeout_ms);
      parse_front_door_limits(c, l, L);
    }
  }
  out.threads = c.number<std::size_t>(root, "$", "threads", 1, 64).value_or(out.threads);

  if (root.contains("log")) {
    const json& l = root.at("log");
    if (!l.is_object()) {
      c.problem("$.log", "expected an object {level}");
    } else {
      c.only(l, "$.log", {"level"});
      if (auto level = c.string(l, "$.log", "level", false)) {
        if (*level == "error") out.log_level = LogLevel::kError;
        else if (*level == "warn") out.log_level = LogLevel::kWarn;
        else if (*level == "info") out.log_level = LogLevel::kInfo;
        else if (*level == "debug") out.log_level = LogLevel::kDebug;
        else c.problem("$.log.level", "expected error, warn, info or debug");
      }
    }
  }
  if (!c.ok()) return std::unexpected(c.take());
  return out;
}

}  // namespace txguard::service

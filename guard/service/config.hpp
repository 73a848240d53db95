// The service configuration file (JSON, comments allowed, unknown fields refused). Every problem is
// reported with the JSON path of the field and what to do, like the policy loader; a bad config stops
// start-up.
//
//   {
//     "listen": "127.0.0.1:8545",             // host:port (port 0: any free port); an address other than
//                                             // loopback (127.0.0.0/8, ::1) needs "tls", unless
//     "insecure_plaintext": false,            // true: serve plain HTTP there anyway (tokens in clear)
//     "port_file": "port.txt",                // optional: the bound port is written here when ready
//     "tls": {"cert": "server.crt", "key": "server.key",          // optional; PEM files
//             "client_ca": "ca.crt", "require_client_cert": true}, // optional mTLS
//     "clients": [{"name": "ops", "token_sha256": "<64 hex>", "role": "requester",
//                  "cert_sha256": "<64 hex>"},  // the client certificate this client's token must
//                                             // arrive with (SHA-256 of its DER; colons allowed, as
//                                             // openssl x509 -noout -fingerprint -sha256 prints it);
//                                             // needs tls.client_ca; required for every client when
//                                             // tls.require_client_cert is true
//                 {"name": "alice-laptop", "token_sha256": "<64 hex>", "role": "approver",
//                  "approver": "alice"}, ...],   // an approver client names the policy approver it is
//     "policy": "policy.json",
//     "prices": "prices.json",                // optional: overrides the policy's prices.file
//     "database": "txguard.db",               // or "postgresql://txguard@db.example:5432/txguard?sslmode=
//                                             // verify-full" (several replicas on one database); its
//     "database_password_file": "db-pw",      // password from a file or a variable, never the URL
//                                             // ("database_password_env": "NAME")
//     "keystore": {"file": "guard.json", "passphrase_file": "pw"} // or "passphrase_env": "NAME"
//     "decision_log": {"key": {"file": "log-key.json", "passphrase_file": "log-pw"}, // required: the
//                      "head_every_records": 1000, "head_every_seconds": 60},      // tree-head key
//     "shadow_policy": "candidate.json",      // optional: evaluated beside the policy, recorded only
//     "upstream": {"31337": "http://127.0.0.1:8545"},              // chain id -> JSON-RPC URL
//     "bridge": {"rpc": {"1": ["https://a.example", "https://b.example"]}, // source chain -> own endpoints
//                "timeout_ms": 5000,                 // https (http on loopback only), two hosts at least,
//                "accept_single_source": false},     // unless this says true (then /readyz says so)
//     "limits": {"max_body_bytes": 1048576, "max_connections": 1024, "requests_per_second": 1000,
//                "burst": 2000, "header_timeout_ms": 10000, "request_timeout_ms": 30000,
//                "max_connections_per_address": 64,  // open connections from one IPv4 address / IPv6 /64
//                "refusals_per_second": 5, "refusals_burst": 20, // per address: refusals (401, 403)
//                                             // recorded one by one; beyond, a request without a valid
//                                             // token is answered 429 before its body is read, and every
//                                             // refusal is counted into one "refusals-suppressed" record
//                                             // per address per 10 s
//                "max_queue": 10000},         // signing jobs waiting for the sequencer; beyond: 503
//     "threads": 2,
//     "log": {"level": "info"}                // error | warn | info | debug
//   }
//
// Relative paths are relative to the config file's directory. The passphrase itself is never in the
// config or on the command line: a file (mode 0600 advised) or an environment variable.
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/codec/bytes.hpp"

namespace txguard::service {

enum class Role { kRequester, kApprover, kAuditor, kAdmin };
std::string_view to_string(Role role) noexcept;
std::optional<Role> parse_role(std::string_view text) noexcept;

struct ClientConfig {
  std::string name;
  codec::Hash32 token_sha256{};
  Role role = Role::kRequester;
  /// The policy approver this client is ("approver": required for role approver, allowed for admin,
  /// one client per approver). An approval is accepted only from the client bound to the approver
  /// whose key signed it, and never from the client that made the request.
  std::optional<std::string> approver;
  /// The SHA-256 fingerprint of the verified client certificate this client's token must arrive
  /// with ("cert_sha256"); a token over a connection without it, or with another certificate, does
  /// not authenticate, and a connection with it carries no other client's token.
  std::optional<codec::Hash32> cert_sha256{};
};

struct TlsConfig {
  std::string cert_file;
  std::string key_file;
  std::optional<std::string> client_ca_file;
  bool require_client_cert = false;
};

struct KeystoreConfig {
  std::string file;
  std::optional<std::string> passphrase_file;
  std::optional<std::string> passphrase_env;
};

struct LimitsConfig {
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_connections = 1024;
  double requests_per_second = 1000;  // per client, sustained
  double burst = 2000;                // per client; default: 2 x requests_per_second (at least 1)
  std::uint32_t header_timeout_ms = 10'000;
  std::uint32_t request_timeout_ms = 30'000;
  std::size_t max_connections_per_address = 64;  // per IPv4 address or IPv6 /64
  double refusals_per_second = 5;                // per address: refusals recorded one by one
  double refusals_burst = 20;                    // per address
  std::size_t max_queue = 10'000;                // sequencer jobs waiting; beyond: 503
};

/// The decision log's tree heads: signed by a dedicated key (never the co-signing key) at least every
/// head_every_records records or head_every_seconds seconds (when the log grew), and at shutdown.
struct DecisionLogConfig {
  KeystoreConfig key;
  std::uint64_t head_every_records = 1000;
  std::uint32_t head_every_seconds = 60;
};

/// The bridge co-signer's own view of source chains: for each source chain id, the JSON-RPC endpoints
/// it asks for deposit receipts (all must agree; unreachable or disagreeing means no signature).
struct BridgeConfig {
  std::map<std::uint64_t, std::vector<std::string>> rpc;
  std::uint32_t timeout_ms = 5000;
  /// Endpoints must be https:// (http:// on loopback only) and, per source chain, on at least two
  /// hosts (loopback: two ports), so that no one host or network path confirms a deposit alone.
  /// true accepts one source per chain; /readyz says so.
  bool accept_single_source = false;
  /// The source chains that accept_single_source let through with one source (for /readyz).
  std::vector<std::uint64_t> single_source_chains;
};

enum class LogLevel { kError, kWarn, kInfo, kDebug };

struct Config {
  std::string path;  // the file it was read from
  std::string host = "127.0.0.1";
  std::uint16_t port = 8545;
  std::optional<std::string> port_file;
  std::optional<TlsConfig> tls;
  /// "insecure_plaintext": serve plain HTTP on an address other than loopback (refused otherwise).
  bool insecure_plaintext = false;
  std::vector<ClientConfig> clients;
  std::string policy_file;
  std::optional<std::string> prices_file;
  std::string database;  // a SQLite file path, or a postgresql:// URL (without a password)
  /// The PostgreSQL password: a file (one line) or an environment variable (read once and removed).
  std::optional<std::string> database_password_file;
  std::optional<std::string> database_password_env;
  KeystoreConfig keystore;
  DecisionLogConfig decision_log;
  std::optional<std::string> shadow_policy_file;
  std::map<std::string, std::string> upstream;  // chain id (decimal) -> URL
  BridgeConfig bridge;
  LimitsConfig limits;
  std::size_t threads = 2;
  LogLevel log_level = LogLevel::kInfo;
};

/// Parses config text. `dir` resolves relative paths (the config file's directory). Returns every
/// problem as "JSON-PATH: what is wrong" (never the first only).
std::expected<Config, std::vector<std::string>> parse_config(std::string_view text, const std::string& dir);

/// SHA-256 of a bearer token (what the config stores).
codec::Hash32 token_digest(std::string_view token);

}  // namespace txguard::service

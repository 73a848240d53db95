// Clients, bearer tokens and roles; per-client request rate.
//
// Tokens are stored as SHA-256 digests (config "token_sha256"); a presented token is hashed and
// compared with every client's digest in constant time (CRYPTO_memcmp, and no early exit), so
// neither the comparison nor the scan reveals how much of a token was right or which client it
// nearly matched.
//
// Roles: requester (sign, evaluate, JSON-RPC, its own holds), approver (holds, approve, reject),
// auditor (decisions, metrics), admin (everything).
//
// A client may be bound to its TLS client certificate (config "cert_sha256"): its token then
// authenticates only over a connection whose verified certificate is that one, and a connection with
// that certificate carries no other client's token (authenticate_request).
//
// Refusals are accounted per remote address (RefusalCounter): a few per second are recorded one by
// one, the rest are counted and recorded as one summary per address per interval, so a flood costs
// the decision log a bounded number of records and still accounts for every refusal.
//
// Thread safety: Authenticator is immutable after construction; RateLimiter and RefusalCounter
// serialise internally.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guard/service/config.hpp"

namespace txguard::service {

struct Client {
  std::string name;
  Role role = Role::kRequester;
  std::optional<std::string> approver;  // the policy approver this client is bound to (config "approver")
};

/// Whether `role` may do what `needed` may (admin may do everything).
bool role_allows(Role role, Role needed) noexcept;

class Authenticator {
 public:
  explicit Authenticator(std::vector<ClientConfig> clients) : clients_(std::move(clients)) {}

  /// The client whose token is `token`, or nothing.
  std::optional<Client> authenticate(std::string_view token) const;
  /// Parses "Bearer <token>" (scheme case-insensitive, one space) and authenticates.
  std::optional<Client> authenticate_header(std::optional<std::string_view> authorization) const;

  /// authenticate_header, then the certificate binding. `cert_sha256`: the fingerprint of the
  /// connection's verified client certificate (64 hex digits, as http::ClientCertificate has it), or
  /// nothing. Fails with the refusal's reason code: "missing-token", "unknown-token", or
  /// "certificate-mismatch" (the token's client is bound to another certificate or the connection
  /// has none, or the connection's certificate is bound to another client).
  std::expected<Client, std::string_view> authenticate_request(std::optional<std::string_view> authorization,
                                                               std::optional<std::string_view> cert_sha256) const;

 private:
  std::vector<ClientConfig> clients_;
};

/// A token bucket per client: `rate` requests per second sustained, `burst` at once.
class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  /// Takes one request from the client's bucket at `now_ms`; false when it is empty.
  bool allow(const std::string& client, std::int64_t now_ms);

 private:
  struct Bucket {
    double level = 0;
    std::int64_t at_ms = 0;
  };
  double rate_;
  double burst_;
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

/// Refusals per remote address (http::peer_address_key): within `per_second` (sustained) and `burst`,
/// each is recorded alone; beyond, each is counted into the address's summary, taken out later by
/// take(). At most `max_addresses` addresses are tracked at once (addresses whose bucket is full again
/// are forgotten first); beyond, refusals are counted under the address "*" (all others), so memory
/// stays bounded and nothing goes uncounted.
class RefusalCounter {
 public:
  RefusalCounter(double per_second, double burst, std::size_t max_addresses = 4096)
      : rate_(per_second), burst_(burst), max_addresses_(max_addresses) {}

  /// One refusal from `address` for `reason` at `now_ms`. True: within the address's rate, the
  /// caller records it alone. False: it has been counted into the address's summary.
  bool admit(const std::string& address, std::string_view reason, std::int64_t now_ms);
  /// Counts a refusal into the address's summary (e.g. its own record could not be queued).
  void count(const std::string& address, std::string_view reason, std::int64_t now_ms);

  struct Summary {
    std::string address;
    std::uint64_t count = 0;
    std::map<std::string, std::uint64_t> reasons;  // reason code -> refusals
    std::int64_t first_ms = 0;                     // the first and last refusal counted
    std::int64_t last_ms = 0;
  };
  /// Takes out the summaries whose first refusal is at least `age_ms` old at `now_ms` (0: all).
  std::vector<Summary> take(std::int64_t now_ms, std::int64_t age_ms);
  /// Puts back summaries that could not be recorded, merged with what was counted since.
  void restore(std::vector<Summary> summaries);

 private:
  struct Bucket {
    double level = 0;
    std::int64_t at_ms = 0;
  };
  void count_locked(const std::string& address, std::string_view reason, std::int64_t now_ms);
  double rate_;
  double burst_;
  std::size_t max_addresses_;
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
  std::map<std::string, Summary> summaries_;
};

}  // namespace txguard::service

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
// Thread safety: Authenticator is immutable after construction; RateLimiter serialises internally.
#pragma once

#include <cstdint>
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

}  // namespace txguard::service

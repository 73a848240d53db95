#include "guard/service/auth.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>

namespace txguard::service {

bool role_allows(Role role, Role needed) noexcept { return role == Role::kAdmin || role == needed; }

std::optional<Client> Authenticator::authenticate(std::string_view token) const {
  if (token.empty()) return std::nullopt;
  const codec::Hash32 digest = token_digest(token);
  std::optional<Client> found;
  // Compare with every client, without stopping at a match.
  for (const auto& c : clients_) {
    if (CRYPTO_memcmp(digest.data(), c.token_sha256.data(), digest.size()) == 0) found = Client{c.name, c.role, c.approver};
  }
  return found;
}

std::optional<Client> Authenticator::authenticate_header(std::optional<std::string_view> authorization) const {
  if (!authorization) return std::nullopt;
  const std::string_view value = *authorization;
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return std::nullopt;
  }
  return authenticate(value.substr(kScheme.size()));
}

bool RateLimiter::allow(const std::string& client, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = buckets_.try_emplace(client, Bucket{burst_, now_ms});
  Bucket& b = it->second;
  if (now_ms > b.at_ms) {
    b.level = std::min(burst_, b.level + rate_ * static_cast<double>(now_ms - b.at_ms) / 1000.0);
    b.at_ms = now_ms;
  }
  if (b.level < 1.0) return false;
  b.level -= 1.0;
  return true;
}

}  // namespace txguard::service

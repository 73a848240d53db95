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

std::expected<Client, std::string_view> Authenticator::authenticate_request(
    std::optional<std::string_view> authorization, std::optional<std::string_view> cert_sha256) const {
  if (!authorization) return std::unexpected(std::string_view("missing-token"));
  auto client = authenticate_header(authorization);
  if (!client) return std::unexpected(std::string_view("unknown-token"));
  std::optional<codec::Hash32> presented;
  if (cert_sha256) presented = codec::from_hex_fixed<32>(*cert_sha256).value_or(codec::Hash32{});
  for (const auto& c : clients_) {
    if (!c.cert_sha256) continue;
    const bool own = c.name == client->name;
    const bool matches = presented && *presented == *c.cert_sha256;
    // The token's client is bound to another certificate (or the connection has none), or the
    // connection's certificate belongs to another client: a stolen token does not work with any
    // certificate but its client's, and a client's certificate carries no one else's token.
    if (own != matches) return std::unexpected(std::string_view("certificate-mismatch"));
  }
  return std::move(*client);
}

bool RefusalCounter::admit(const std::string& address, std::string_view reason, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(address);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_addresses_) {
      // Forget the addresses whose bucket has filled up again: they are as if never seen.
      std::erase_if(buckets_, [&](const auto& entry) {
        const Bucket& b = entry.second;
        return b.level + rate_ * static_cast<double>(now_ms - b.at_ms) / 1000.0 >= burst_;
      });
    }
    if (buckets_.size() >= max_addresses_) {
      count_locked("*", reason, now_ms);
      return false;
    }
    it = buckets_.emplace(address, Bucket{burst_, now_ms}).first;
  }
  Bucket& b = it->second;
  if (now_ms > b.at_ms) {
    b.level = std::min(burst_, b.level + rate_ * static_cast<double>(now_ms - b.at_ms) / 1000.0);
    b.at_ms = now_ms;
  }
  if (b.level >= 1.0) {
    b.level -= 1.0;
    return true;
  }
  count_locked(summaries_.contains(address) || summaries_.size() < max_addresses_ ? address : "*", reason, now_ms);
  return false;
}

void RefusalCounter::count(const std::string& address, std::string_view reason, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  count_locked(summaries_.contains(address) || summaries_.size() < max_addresses_ ? address : "*", reason, now_ms);
}

void RefusalCounter::count_locked(const std::string& address, std::string_view reason, std::int64_t now_ms) {
  auto [it, fresh] = summaries_.try_emplace(address);
  Summary& s = it->second;
  if (fresh) {
    s.address = address;
    s.first_ms = now_ms;
  }
  ++s.count;
  ++s.reasons[std::string(reason)];
  s.last_ms = std::max(s.last_ms, now_ms);
}

std::vector<RefusalCounter::Summary> RefusalCounter::take(std::int64_t now_ms, std::int64_t age_ms) {
  std::vector<Summary> out;
  std::lock_guard lock(mutex_);
  for (auto it = summaries_.begin(); it != summaries_.end();) {
    if (age_ms == 0 || now_ms - it->second.first_ms >= age_ms) {
      out.push_back(std::move(it->second));
      it = summaries_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

void RefusalCounter::restore(std::vector<Summary> summaries) {
  std::lock_guard lock(mutex_);
  for (auto& s : summaries) {
    auto [it, fresh] = summaries_.try_emplace(s.address, s);
    if (fresh) continue;
    Summary& into = it->second;
    into.count += s.count;
    for (const auto& [reason, n] : s.reasons) into.reasons[reason] += n;
    into.first_ms = std::min(into.first_ms, s.first_ms);
    into.last_ms = std::max(into.last_ms, s.last_ms);
  }
}

}  // namespace txguard::service

// secp256k1 ECDSA as Ethereum uses it, over libsecp256k1: deterministic signing (RFC 6979) with a
// recovery id, public-key recovery, and the range checks Ethereum applies (r, s in [1, n-1], and
// EIP-2's s <= n/2 where the caller asks for it).
//
// Thread safety: every function may be called concurrently. The library context is created once,
// on first use, and is read-only afterwards.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"

namespace txguard::codec {

/// A 32-byte secret key that wipes itself when destroyed. Never print or log one.
class SecretKey {
 public:
  SecretKey() = default;
  explicit SecretKey(const Hash32& bytes) : bytes_(bytes) {}
  SecretKey(const SecretKey&) = default;
  SecretKey& operator=(const SecretKey&) = default;
  ~SecretKey();

  const Hash32& bytes() const noexcept { return bytes_; }
  /// True if 0 < key < n.
  bool is_valid() const noexcept;

 private:
  Hash32 bytes_{};
};

struct RecoverableSignature {
  Hash32 r{};
  Hash32 s{};
  std::uint8_t recovery_id = 0;  // 0 or 1 (libsecp256k1 never produces 2 or 3 for Ethereum use)

  /// r || s || v with v = recovery_id + v_offset (27 for Safe and personal signatures).
  std::array<std::uint8_t, 65> to_rsv(std::uint8_t v_offset) const noexcept;
};

enum class SPolicy { kLowSOnly, kAnyS };

/// Signs a 32-byte digest. The nonce is RFC 6979 (libsecp256k1's default), s is always low.
/// Returns nullopt only if the key is invalid.
std::optional<RecoverableSignature> sign_digest(const Hash32& digest, const SecretKey& key);

/// Recovers the signer's address. Fails with kInvalidSignature if r or s is outside [1, n-1] or no
/// key recovers, kInvalidV if recovery_id > 1, kHighS if s > n/2 and policy is kLowSOnly.
Decoded<Address> recover_address(const Hash32& digest, const Hash32& r, const Hash32& s,
                                 std::uint8_t recovery_id, SPolicy policy = SPolicy::kLowSOnly);

/// The address of a secret key, or nullopt if the key is invalid.
std::optional<Address> address_of(const SecretKey& key);

/// The address of an uncompressed public key (64 bytes x || y, without the 0x04 prefix).
Address address_from_pubkey64(ByteView xy);

/// True if s <= n/2.
bool is_low_s(const Hash32& s) noexcept;
/// True if 1 <= v <= n-1.
bool is_in_scalar_range(const Hash32& v) noexcept;

}  // namespace txguard::codec

// The Signer interface: what co-signing needs from a key backend (an encrypted keystore here; a
// remote signer or an HSM later). The pipeline calls sign_digest only after the policy allowed the
// request and the decision was logged; a backend knows nothing about policies.
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/judge.hpp"

namespace txguard::signers {

enum class SignerErrc {
  kUnavailable,  // the backend cannot sign now (remote signer down, device locked): answer 503
  kRejected,     // the backend refused this digest (a remote signer's own policy)
  kInternal,     // a broken invariant, e.g. a signature that does not recover to the signer's address
};

/// The stable kebab-case name of a code ("unavailable", "rejected", "internal").
std::string_view to_string(SignerErrc code) noexcept;

struct SignerError {
  SignerErrc code;
  /// Human detail; never contains key material.
  std::string detail;

  /// One line: "<code>: <detail>" (or just "<code>").
  std::string message() const;
};

/// What co-signing needs from a key backend. Implementations never log, print or return key bytes.
///
/// Thread safety: address() and sign_digest() are const and may be called from several threads at
/// once; an implementation that cannot allow that serialises internally.
class Signer {
 public:
  virtual ~Signer() = default;

  /// The Ethereum address of the key: the owner address the Safe knows.
  virtual codec::Address address() const = 0;

  /// Signs a 32-byte digest (RFC 6979 nonce, low s per EIP-2) and returns r || s || v with
  /// v = 27 + recovery id: Safe's ECDSA owner signature over the raw safeTxHash. The digest is
  /// signed as given (no EIP-191 prefix). Fails with a SignerError, never with a partial signature.
  virtual std::expected<std::array<std::uint8_t, 65>, SignerError> sign_digest(const codec::Hash32& digest) const = 0;

  /// Co-signs the digest a policy decision permitted (policy::SigningPermit: only the judge constructs
  /// one). The service co-signs through this alone; sign_digest is the backend's primitive.
  std::expected<std::array<std::uint8_t, 65>, SignerError> sign(const policy::SigningPermit& permit) const {
    return sign_digest(permit.digest());
  }

 protected:
  Signer() = default;
  Signer(const Signer&) = default;
  Signer(Signer&&) = default;
  Signer& operator=(const Signer&) = default;
  Signer& operator=(Signer&&) = default;
};

}  // namespace txguard::signers

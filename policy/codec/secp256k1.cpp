#include "policy/codec/secp256k1.hpp"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <cryptopp/misc.h>

#include "policy/codec/keccak.hpp"

namespace txguard::codec {
namespace {

// The group order n and n/2, big-endian.
constexpr Hash32 kOrder = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                           0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
                           0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
constexpr Hash32 kHalfOrder = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4,
                               0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

const secp256k1_context* context() {
  // Created once; signing and verification only read it afterwards, which libsecp256k1 documents as
  // safe from several threads.
  static const secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
  return ctx;
}

bool is_zero(const Hash32& v) noexcept {
  return std::all_of(v.begin(), v.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace

SecretKey::~SecretKey() { CryptoPP::SecureWipeBuffer(bytes_.data(), bytes_.size()); }

bool SecretKey::is_valid() const noexcept { return is_in_scalar_range(bytes_); }

std::array<std::uint8_t, 65> RecoverableSignature::to_rsv(std::uint8_t v_offset) const noexcept {
  std::array<std::uint8_t, 65> out{};
  std::copy(r.begin(), r.end(), out.begin());
  std::copy(s.begin(), s.end(), out.begin() + 32);
  out[64] = static_cast<std::uint8_t>(recovery_id + v_offset);
  return out;
}

bool is_low_s(const Hash32& s) noexcept { return s <= kHalfOrder; }

bool is_in_scalar_range(const Hash32& v) noexcept { return !is_zero(v) && v < kOrder; }

std::optional<RecoverableSignature> sign_digest(const Hash32& digest, const SecretKey& key) {
  if (!key.is_valid()) return std::nullopt;
  secp256k1_ecdsa_recoverable_signature sig;
  // nullptr noncefp selects RFC 6979, the same deterministic nonce viem, ethers and cast use.
  if (secp256k1_ecdsa_sign_recoverable(context(), &sig, digest.data(), key.bytes().data(), nullptr, nullptr) != 1) {
    return std::nullopt;
  }
  std::array<std::uint8_t, 64> compact{};
  int recid = 0;
  if (secp256k1_ecdsa_recoverable_signature_serialize_compact(context(), compact.data(), &recid, &sig) != 1) {
    return std::nullopt;
  }
  RecoverableSignature out;
  std::copy(compact.begin(), compact.begin() + 32, out.r.begin());
  std::copy(compact.begin() + 32, compact.end(), out.s.begin());
  out.recovery_id = static_cast<std::uint8_t>(recid);
  return out;
}

Decoded<Address> recover_address(const Hash32& digest, const Hash32& r, const Hash32& s,
                                 std::uint8_t recovery_id, SPolicy policy) {
  if (recovery_id > 1) return fail(DecodeErrc::kInvalidV, 0, {}, "recovery id must be 0 or 1");
  if (!is_in_scalar_range(r)) return fail(DecodeErrc::kInvalidSignature, 0, {}, "r out of range");
  if (!is_in_scalar_range(s)) return fail(DecodeErrc::kInvalidSignature, 0, {}, "s out of range");
  // EIP-2: transactions (and txguard's own signatures) must have s <= n/2.
  if (policy == SPolicy::kLowSOnly && !is_low_s(s)) return fail(DecodeErrc::kHighS, 0, {}, "s > n/2 (EIP-2)");
  std::array<std::uint8_t, 64> compact{};
  std::copy(r.begin(), r.end(), compact.begin());
  std::copy(s.begin(), s.end(), compact.begin() + 32);
  secp256k1_ecdsa_recoverable_signature sig;
  if (secp256k1_ecdsa_recoverable_signature_parse_compact(context(), &sig, compact.data(), recovery_id) != 1) {
    return fail(DecodeErrc::kInvalidSignature, 0, {}, "signature does not parse");
  }
  secp256k1_pubkey pubkey;
  if (secp256k1_ecdsa_recover(context(), &pubkey, &sig, digest.data()) != 1) {
    return fail(DecodeErrc::kInvalidSignature, 0, {}, "no public key recovers");
  }
  std::array<std::uint8_t, 65> uncompressed{};
  std::size_t len = uncompressed.size();
  if (secp256k1_ec_pubkey_serialize(context(), uncompressed.data(), &len, &pubkey, SECP256K1_EC_UNCOMPRESSED) != 1 ||
      len != 65) {
    return fail(DecodeErrc::kInvalidSignature, 0, {}, "public key does not serialize");
  }
  return address_from_pubkey64(ByteView(uncompressed).subspan(1));
}

std::optional<Address> address_of(const SecretKey& key) {
  if (!key.is_valid()) return std::nullopt;
  secp256k1_pubkey pubkey;
  if (secp256k1_ec_pubkey_create(context(), &pubkey, key.bytes().data()) != 1) return std::nullopt;
  std::array<std::uint8_t, 65> uncompressed{};
  std::size_t len = uncompressed.size();
  if (secp256k1_ec_pubkey_serialize(context(), uncompressed.data(), &len, &pubkey, SECP256K1_EC_UNCOMPRESSED) != 1) {
    return std::nullopt;
  }
  return address_from_pubkey64(ByteView(uncompressed).subspan(1));
}

Address address_from_pubkey64(ByteView xy) {
  const Hash32 hash = keccak256(xy);
  Address out;
  std::copy(hash.begin() + 12, hash.end(), out.bytes.begin());
  return out;
}

}  // namespace txguard::codec

// Encrypted keystores in the Web3 Secret Storage format, version 3: the JSON key files geth, ethers,
// MetaMask exports and foundry's `cast wallet` read and write.
//
//   key  = KDF(passphrase, salt)                 scrypt, or PBKDF2 with HMAC-SHA-256; 32 bytes
//   ciphertext = AES-128-CTR(key[0..16], iv, secret key)
//   mac  = keccak256(key[16..32] || ciphertext)   (the passphrase check)
//
// Only text in, text out: reading and writing files (atomically, mode 0600) is the caller's job
// (guard/cli/keys.cpp), so this module stays testable without a file system.
//
// The passphrase is used as the bytes given, like geth. ethers NFKC-normalises it first; the two agree
// whenever the passphrase is NFKC-stable (every ASCII passphrase is).
//
// Thread safety: every function is reentrant; a KeystoreSigner may be shared between threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/secp256k1.hpp"
#include "signers/secure_memory.hpp"
#include "signers/signer.hpp"

namespace txguard::signers {

enum class KeystoreErrc {
  kMalformed,        // not JSON, wrong shape, a field missing or of the wrong type or size (path in detail)
  kUnsupported,      // a version, cipher, kdf or prf this implementation does not do
  kWeakParams,       // KDF parameters below the floor, or so large that a hostile file could exhaust
                     // memory or CPU (see the bounds below)
  kWrongPassphrase,  // the MAC does not match: wrong passphrase, or ciphertext / MAC altered
  kAddressMismatch,  // the decrypted key's address is not the file's "address" field
  kIo,               // a file cannot be read or written (used by callers that do I/O)
  kExists,           // the output file already exists (callers never overwrite a keystore)
};

/// The stable kebab-case name: "malformed", "unsupported", "weak-params", "wrong-passphrase",
/// "address-mismatch", "io", "exists".
std::string_view to_string(KeystoreErrc code) noexcept;

struct KeystoreError {
  KeystoreErrc code;
  /// Where and what, e.g. "$.crypto.kdfparams.n: 3 is not a power of two". Never key material or
  /// the passphrase.
  std::string detail;

  /// One line: "<code>: <detail>".
  std::string message() const;
};

/// Bounds on KDF parameters. A keystore is attacker-supplied input to `txguard keys list/address`
/// and to start-up, so its parameters are checked before any work is done.
///
/// scrypt: n a power of two in [2^10, 2^20]; r, p >= 1; memory 128 * n * r <= 256 MiB (geth's
/// "standard" n = 2^18, r = 8 needs exactly that); work n * r * p <= 2^23 (four times geth standard).
/// The floor n = 2^10 is below geth's light setting (2^12) and only there so test keystores stay
/// cheap under sanitizers; anything lower protects nothing (geth's own test files use n = 2).
/// PBKDF2-HMAC-SHA256: c in [2^13, 2^23] iterations.
/// Both: salt of 16 to 1024 bytes; dklen exactly 32 (< 32 leaves no MAC key: kWeakParams; > 32 is
/// kUnsupported: no tool writes it).
inline constexpr std::uint64_t kMinScryptN = std::uint64_t{1} << 10;
inline constexpr std::uint64_t kMaxScryptN = std::uint64_t{1} << 20;
inline constexpr std::uint64_t kMaxScryptMemory = std::uint64_t{256} << 20;
inline constexpr std::uint64_t kMaxScryptWork = std::uint64_t{1} << 23;
inline constexpr std::uint64_t kMinPbkdf2Iterations = std::uint64_t{1} << 13;
inline constexpr std::uint64_t kMaxPbkdf2Iterations = std::uint64_t{1} << 23;
inline constexpr std::size_t kMinSaltBytes = 16;
inline constexpr std::size_t kMaxSaltBytes = 1024;
/// A keystore is about 500 bytes; larger text is refused before parsing (kMalformed).
inline constexpr std::size_t kMaxKeystoreBytes = 64 * 1024;

struct KdfParams {
  enum Kind { kScrypt, kPbkdf2 };
  Kind kind = kScrypt;
  std::uint64_t n = std::uint64_t{1} << 17;  // scrypt: CPU/memory cost, a power of two
  std::uint64_t r = 8;                       // scrypt: block size
  std::uint64_t p = 1;                       // scrypt: parallelisation
  std::uint64_t c = 262'144;                 // pbkdf2: iterations (the PRF is always HMAC-SHA256)
  std::uint64_t dklen = 32;                  // derived key length (both)

  /// n = 2^17, r = 8, p = 1: ethers' default (geth's "standard" is n = 2^18). About 128 MiB.
  static KdfParams scrypt_default() noexcept { return {}; }
  /// n = 2^12, r = 8, p = 1 (geth's light n): for development and tests only.
  static KdfParams scrypt_light() noexcept { return {kScrypt, std::uint64_t{1} << 12, 8, 1, 0, 32}; }
  /// c = 262144, as the Web3 Secret Storage test vector.
  static KdfParams pbkdf2_default() noexcept { return {kPbkdf2, 0, 0, 0, 262'144, 32}; }
  /// c = 2^13, the floor: for development and tests only.
  static KdfParams pbkdf2_light() noexcept { return {kPbkdf2, 0, 0, 0, kMinPbkdf2Iterations, 32}; }

  /// "scrypt n=131072 r=8 p=1" / "pbkdf2 c=262144 prf=hmac-sha256".
  std::string describe() const;
};

/// Checks `params` against the bounds above: kWeakParams naming the parameter, or nothing. Only
/// the fields of params.kind are looked at. Pure and cheap.
std::expected<void, KeystoreError> check_kdf_params(const KdfParams& params);

/// A V3 keystore parsed and checked but not decrypted: enough to list a directory of keystores or
/// show a file's address without its passphrase.
struct Keystore {
  std::optional<codec::Address> address;  // the "address" field, if present (it is not authenticated)
  std::string id;                          // the "id" field (a UUID), empty if absent
  KdfParams kdf;
  codec::Bytes salt;
  std::array<std::uint8_t, 16> iv{};
  codec::Hash32 ciphertext{};
  codec::Hash32 mac{};
};

/// Parses a V3 keystore (JSON text). Strict where a lax reader would let two tools disagree:
/// - JSON: well formed, no duplicate keys (kMalformed with the path); at most kMaxKeystoreBytes.
/// - Field names match case-insensitively, as geth (Go's encoding/json) and ethers do, so ethers'
///   "Crypto" is read; two names in one object that differ only in case are kMalformed.
/// - "version": the integer 3 (another integer is kUnsupported, a non-integer kMalformed).
/// - "crypto.cipher": "aes-128-ctr"; "crypto.kdf": "scrypt" or "pbkdf2"; "crypto.kdfparams.prf"
///   (pbkdf2): "hmac-sha256" (anything else kUnsupported; the values are case-sensitive as in geth).
/// - KDF numbers: non-negative JSON integers; then check_kdf_params (kWeakParams), including the salt.
/// - Hex fields (with or without 0x): iv 16 bytes, ciphertext 32 bytes (the secret key), mac 32
///   bytes, address 20 bytes (any case, no checksum check: geth writes lower case).
/// Unknown extra fields (ethers' "x-ethers") are ignored.
std::expected<Keystore, KeystoreError> parse_keystore(std::string_view json_text);

/// Decrypts a V3 keystore: parse_keystore, then the KDF, then MAC = keccak256(derived[16..32] ||
/// ciphertext) compared in constant time (kWrongPassphrase), then AES-128-CTR. The decrypted key
/// must be a valid secp256k1 key (else kMalformed) and, when the file has an "address" field, its
/// address must equal it (kAddressMismatch: someone edited the address of a file). Never throws on
/// bad input; the derived key and plaintext are wiped before returning.
std::expected<codec::SecretKey, KeystoreError> decrypt_keystore(std::string_view json_text, std::string_view passphrase);

/// Encrypts `key` with fresh random salt (32 bytes), IV and UUID from the operating system's RNG and
/// the given KDF parameters. The output is compact JSON in geth's shape and key order: "address"
/// (lower-case hex without 0x), "crypto" (cipher, cipherparams.iv, ciphertext, kdf, kdfparams, mac),
/// "id" (a UUID v4), "version" 3. It has no trailing newline.
/// Preconditions (a caller bug, not input): key.is_valid(), a non-empty passphrase and
/// check_kdf_params(params) passes; otherwise throws std::invalid_argument. Throws
/// std::runtime_error if the OS RNG fails.
std::string encrypt_keystore(const codec::SecretKey& key, std::string_view passphrase, const KdfParams& params);

/// A fresh secret key from the operating system's RNG (uniform over [1, n-1]: out-of-range draws are
/// redrawn). Throws std::runtime_error if the OS RNG fails.
codec::SecretKey generate_secret_key();

/// Overwrites a string that held a secret (a passphrase, a key file's text) so the bytes do not
/// linger in freed memory, then clears it.
void wipe(std::string& secret) noexcept;

/// A Signer holding a decrypted key in memory. The key is wiped on destruction (SecretKey wipes
/// itself). Move-only, so the key is not copied around by accident.
class KeystoreSigner final : public Signer {
 public:
  /// decrypt_keystore, then a signer for the key.
  static std::expected<KeystoreSigner, KeystoreError> open(std::string_view json_text, std::string_view passphrase);
  /// A signer for a key already in memory, copied into a locked page excluded from core dumps; kMalformed
  /// if the key is not in [1, n-1], kIo if the page cannot be locked (the locked-memory limit).
  static std::expected<KeystoreSigner, KeystoreError> from_key(const codec::SecretKey& key);

  KeystoreSigner(const KeystoreSigner&) = delete;
  KeystoreSigner& operator=(const KeystoreSigner&) = delete;
  KeystoreSigner(KeystoreSigner&& other) noexcept;
  KeystoreSigner& operator=(KeystoreSigner&& other) noexcept;
  ~KeystoreSigner() override;

  codec::Address address() const override { return address_; }
  /// Signs and then recovers the signature to this signer's address before returning it (a
  /// fault or a bug must not leave as a signature of someone else): kInternal if it does not.
  std::expected<std::array<std::uint8_t, 65>, SignerError> sign_digest(const codec::Hash32& digest) const override;

 private:
  KeystoreSigner(LockedPage page, const codec::SecretKey* key, const codec::Address& address)
      : page_(std::move(page)), key_(key), address_(address) {}

  // The key lives in a page of its own: locked in RAM, left out of core dumps and forks
  // (signers/secure_memory.hpp); key_ points into it.
  LockedPage page_;
  const codec::SecretKey* key_ = nullptr;
  codec::Address address_;
};

}  // namespace txguard::signers

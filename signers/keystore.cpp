// Web3 Secret Storage Definition, version 3
// (https://ethereum.org/en/developers/docs/data-structures-and-encoding/web3-secret-storage/), read
// the way geth (accounts/keystore/passphrase.go) and ethers (wallet/json-keystore.ts) read it, and
// written the way geth writes it.
#include "signers/keystore.hpp"

#include <new>

#include <cryptopp/aes.h>
#include <cryptopp/misc.h>
#include <cryptopp/modes.h>
#include <cryptopp/osrng.h>
#include <cryptopp/pwdbased.h>
#include <cryptopp/scrypt.h>
#include <cryptopp/secblock.h>
#include <cryptopp/sha.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "policy/codec/json_value.hpp"
#include "policy/codec/keccak.hpp"

namespace txguard::signers {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMacKeyOffset = 16;  // derived[16..32] keys the MAC, derived[0..16] the cipher
constexpr std::size_t kDerivedBytes = 32;
constexpr std::size_t kJsonDepth = 16;     // a keystore nests three deep; ethers' x-ethers adds none

std::unexpected<KeystoreError> fail(KeystoreErrc code, std::string detail) {
  return std::unexpected(KeystoreError{code, std::move(detail)});
}

bool same_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Field names match case-insensitively because both reference readers do (Go's encoding/json folds
// case; ethers' spelunk lower-cases), and ethers itself writes "Crypto". Two names that fold to the
// same one are refused: geth would take one and ethers the other.
std::expected<const Json*, KeystoreError> find(const Json& object, std::string_view name, const std::string& path) {
  const Json* found = nullptr;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (!same_ignoring_case(it.key(), name)) continue;
    if (found != nullptr) {
      return fail(KeystoreErrc::kMalformed, codec::json_path(path, name) + ": two fields named '" + std::string(name) +
                                                "' differ only in case; readers disagree on which one counts");
    }
    found = &it.value();
  }
  return found;
}

std::expected<const Json*, KeystoreError> require(const Json& object, std::string_view name, const std::string& path) {
  auto found = find(object, name, path);
  if (!found) return std::unexpected(found.error());
  if (*found == nullptr) return fail(KeystoreErrc::kMalformed, codec::json_path(path, name) + ": missing");
  return *found;
}

std::expected<const Json*, KeystoreError> require_object(const Json& object, std::string_view name, const std::string& path) {
  auto value = require(object, name, path);
  if (value && !(*value)->is_object()) return fail(KeystoreErrc::kMalformed, codec::json_path(path, name) + ": expected an object");
  return value;
}

std::expected<std::string, KeystoreError> require_string(const Json& object, std::string_view name, const std::string& path) {
  auto value = require(object, name, path);
  if (!value) return std::unexpected(value.error());
  if (!(*value)->is_string()) return fail(KeystoreErrc::kMalformed, codec::json_path(path, name) + ": expected a string");
  return (*value)->get<std::string>();
}

std::expected<std::uint64_t, KeystoreError> require_uint(const Json& object, std::string_view name, const std::string& path) {
  auto value = require(object, name, path);
  if (!value) return std::unexpected(value.error());
  // A float (1024.0) or a string ("1024") is refused: geth reads only JSON numbers, and a float
  // cannot be trusted to be an exact integer.
  if (!(*value)->is_number_unsigned()) {
    return fail(KeystoreErrc::kMalformed, codec::json_path(path, name) + ": expected a non-negative integer");
  }
  return (*value)->get<std::uint64_t>();
}

// Hex with or without 0x (geth writes none, some tools write it; ethers reads both).
std::expected<codec::Bytes, KeystoreError> hex_field(const std::string& text, const std::string& path) {
  auto bytes = codec::from_hex(text);
  if (!bytes) return fail(KeystoreErrc::kMalformed, path + ": not a hex string (" + std::string(codec::to_string(bytes.error().code)) + ")");
  return std::move(*bytes);
}

template <std::size_t N>
std::expected<std::array<std::uint8_t, N>, KeystoreError> hex_fixed(const std::string& text, const std::string& path) {
  auto bytes = hex_field(text, path);
  if (!bytes) return std::unexpected(bytes.error());
  if (bytes->size() != N) {
    return fail(KeystoreErrc::kMalformed, path + ": expected " + std::to_string(N) + " bytes, got " + std::to_string(bytes->size()));
  }
  std::array<std::uint8_t, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

template <std::size_t N>
std::expected<std::array<std::uint8_t, N>, KeystoreError> require_hex(const Json& object, std::string_view name, const std::string& path) {
  auto text = require_string(object, name, path);
  if (!text) return std::unexpected(text.error());
  return hex_fixed<N>(*text, codec::json_path(path, name));
}

// A value from the file, quoted for an error message: at most 32 characters, printable ASCII only,
// so a message stays one short line whatever the file holds.
std::string for_message(std::string_view value) {
  std::string out = "'";
  for (std::size_t i = 0; i < value.size() && i < 32; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    out += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
  }
  return out + (value.size() > 32 ? "...'" : "'");
}

bool is_power_of_two(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

const CryptoPP::byte* bytes_of(std::string_view text) { return reinterpret_cast<const CryptoPP::byte*>(text.data()); }

// The KDF: 32 bytes in a SecByteBlock, which zeroes itself when freed. Parameters are checked
// before this is reached; Crypto++ still validates them and may throw, which the callers catch.
CryptoPP::SecByteBlock derive(const KdfParams& params, codec::ByteView salt, std::string_view passphrase) {
  CryptoPP::SecByteBlock derived(kDerivedBytes);
  if (params.kind == KdfParams::kScrypt) {
    CryptoPP::Scrypt scrypt;
    scrypt.DeriveKey(derived.data(), derived.size(), bytes_of(passphrase), passphrase.size(), salt.data(), salt.size(),
                     params.n, params.r, params.p);
  } else {
    CryptoPP::PKCS5_PBKDF2_HMAC<CryptoPP::SHA256> pbkdf2;
    pbkdf2.DeriveKey(derived.data(), derived.size(), 0, bytes_of(passphrase), passphrase.size(), salt.data(), salt.size(),
                     static_cast<unsigned int>(params.c));
  }
  return derived;
}

codec::Hash32 mac_of(const CryptoPP::SecByteBlock& derived, const codec::Hash32& ciphertext) {
  return codec::keccak256({codec::ByteView(derived.data() + kMacKeyOffset, kDerivedBytes - kMacKeyOffset),
                           codec::ByteView(ciphertext.data(), ciphertext.size())});
}

// AES-128-CTR with the IV as the initial 128-bit big-endian counter (what geth's cipher.NewCTR and
// aes-js do); encryption and decryption are the same operation.
void aes_128_ctr(const CryptoPP::SecByteBlock& derived, const std::array<std::uint8_t, 16>& iv, const std::uint8_t* in,
                 std::uint8_t* out, std::size_t size) {
  CryptoPP::CTR_Mode<CryptoPP::AES>::Encryption ctr;
  ctr.SetKeyWithIV(derived.data(), 16, iv.data(), iv.size());
  ctr.ProcessData(out, in, size);
}

void random_bytes(std::uint8_t* out, std::size_t size) {
  try {
    CryptoPP::OS_GenerateRandomBlock(false, out, size);
  } catch (const CryptoPP::Exception& e) {
    throw std::runtime_error(std::string("the operating system's random number generator failed: ") + e.what());
  }
}

// RFC 9562 section 5.4: version 4 in the high nibble of byte 6, variant 10 in the top bits of byte 8.
std::string uuid_v4() {
  std::array<std::uint8_t, 16> b{};
  random_bytes(b.data(), b.size());
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  const std::string hex = codec::to_hex_bare(codec::ByteView(b.data(), b.size()));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" + hex.substr(20);
}

std::expected<KdfParams, KeystoreError> parse_kdf(const Json& crypto, const std::string& path, codec::Bytes& salt) {
  auto kdf_name = require_string(crypto, "kdf", path);
  if (!kdf_name) return std::unexpected(kdf_name.error());
  KdfParams params;
  if (*kdf_name == "scrypt") {
    params.kind = KdfParams::kScrypt;
  } else if (*kdf_name == "pbkdf2") {
    params.kind = KdfParams::kPbkdf2;
  } else {
    return fail(KeystoreErrc::kUnsupported, codec::json_path(path, "kdf") + ": " + for_message(*kdf_name) + " (supported: scrypt, pbkdf2)");
  }
  auto kdfparams = require_object(crypto, "kdfparams", path);
  if (!kdfparams) return std::unexpected(kdfparams.error());
  const Json& kp = **kdfparams;
  const std::string kp_path = codec::json_path(path, "kdfparams");
  if (params.kind == KdfParams::kScrypt) {
    for (auto [name, field] : {std::pair{"n", &params.n}, std::pair{"r", &params.r}, std::pair{"p", &params.p}}) {
      auto v = require_uint(kp, name, kp_path);
      if (!v) return std::unexpected(v.error());
      *field = *v;
    }
  } else {
    auto prf = require_string(kp, "prf", kp_path);
    if (!prf) return std::unexpected(prf.error());
    if (*prf != "hmac-sha256") {
      return fail(KeystoreErrc::kUnsupported, codec::json_path(kp_path, "prf") + ": " + for_message(*prf) + " (supported: hmac-sha256)");
    }
    auto c = require_uint(kp, "c", kp_path);
    if (!c) return std::unexpected(c.error());
    params.c = *c;
  }
  auto dklen = require_uint(kp, "dklen", kp_path);
  if (!dklen) return std::unexpected(dklen.error());
  params.dklen = *dklen;
  if (auto ok = check_kdf_params(params); !ok) {
    return fail(ok.error().code, kp_path + ": " + ok.error().detail);
  }
  auto salt_text = require_string(kp, "salt", kp_path);
  if (!salt_text) return std::unexpected(salt_text.error());
  auto salt_bytes = hex_field(*salt_text, codec::json_path(kp_path, "salt"));
  if (!salt_bytes) return std::unexpected(salt_bytes.error());
  if (salt_bytes->size() < kMinSaltBytes || salt_bytes->size() > kMaxSaltBytes) {
    return fail(KeystoreErrc::kWeakParams, codec::json_path(kp_path, "salt") + ": " + std::to_string(salt_bytes->size()) +
                                               " bytes, expected " + std::to_string(kMinSaltBytes) + " to " +
                                               std::to_string(kMaxSaltBytes));
  }
  salt = std::move(*salt_bytes);
  return params;
}

}  // namespace

std::string_view to_string(KeystoreErrc code) noexcept {
  switch (code) {
    case KeystoreErrc::kMalformed: return "malformed";
    case KeystoreErrc::kUnsupported: return "unsupported";
    case KeystoreErrc::kWeakParams: return "weak-params";
    case KeystoreErrc::kWrongPassphrase: return "wrong-passphrase";
    case KeystoreErrc::kAddressMismatch: return "address-mismatch";
    case KeystoreErrc::kIo: return "io";
    case KeystoreErrc::kExists: return "exists";
  }
  return "unknown-error";
}

std::string KeystoreError::message() const {
  std::string out(to_string(code));
  if (!detail.empty()) out += ": " + detail;
  return out;
}

std::string KdfParams::describe() const {
  if (kind == kScrypt) {
    return "scrypt n=" + std::to_string(n) + " r=" + std::to_string(r) + " p=" + std::to_string(p);
  }
  return "pbkdf2 c=" + std::to_string(c) + " prf=hmac-sha256";
}

std::expected<void, KeystoreError> check_kdf_params(const KdfParams& params) {
  if (params.dklen < kDerivedBytes) {
    return fail(KeystoreErrc::kWeakParams, "dklen " + std::to_string(params.dklen) + " leaves no MAC key (V3 needs 32)");
  }
  if (params.dklen > kDerivedBytes) {
    return fail(KeystoreErrc::kUnsupported, "dklen " + std::to_string(params.dklen) + " (V3 keystores use 32)");
  }
  if (params.kind == KdfParams::kPbkdf2) {
    if (params.c < kMinPbkdf2Iterations) {
      return fail(KeystoreErrc::kWeakParams, "c " + std::to_string(params.c) + " is below the floor of " + std::to_string(kMinPbkdf2Iterations));
    }
    if (params.c > kMaxPbkdf2Iterations) {
      return fail(KeystoreErrc::kWeakParams, "c " + std::to_string(params.c) + " is above the limit of " + std::to_string(kMaxPbkdf2Iterations));
    }
    return {};
  }
  if (!is_power_of_two(params.n)) return fail(KeystoreErrc::kWeakParams, "n " + std::to_string(params.n) + " is not a power of two");
  if (params.n < kMinScryptN) {
    return fail(KeystoreErrc::kWeakParams, "n " + std::to_string(params.n) + " is below the floor of " + std::to_string(kMinScryptN));
  }
  if (params.n > kMaxScryptN) {
    return fail(KeystoreErrc::kWeakParams, "n " + std::to_string(params.n) + " is above the limit of " + std::to_string(kMaxScryptN));
  }
  if (params.r == 0 || params.p == 0) return fail(KeystoreErrc::kWeakParams, "r and p must be at least 1");
  // Divisions rather than products, so a hostile r or p near 2^64 cannot overflow the check.
  if (params.r > kMaxScryptMemory / (128 * params.n)) {
    return fail(KeystoreErrc::kWeakParams, "n " + std::to_string(params.n) + " r " + std::to_string(params.r) +
                                               " needs more than " + std::to_string(kMaxScryptMemory >> 20) + " MiB");
  }
  if (params.p > kMaxScryptWork / (params.n * params.r)) {
    return fail(KeystoreErrc::kWeakParams, "n * r * p above the limit of " + std::to_string(kMaxScryptWork));
  }
  return {};
}

std::expected<Keystore, KeystoreError> parse_keystore(std::string_view json_text) {
  if (json_text.size() > kMaxKeystoreBytes) {
    return fail(KeystoreErrc::kMalformed, "$: " + std::to_string(json_text.size()) + " bytes, a keystore is at most " +
                                              std::to_string(kMaxKeystoreBytes));
  }
  auto parsed = codec::parse_json_strict(json_text, kJsonDepth);
  if (!parsed) {
    const codec::DecodeError& e = parsed.error();
    // nlohmann's syntax-error text quotes the token it read ("last read: '12345a'"): from a key or
    // passphrase file given by mistake that would print secret bytes. Report the offset only.
    if (e.code == codec::DecodeErrc::kInvalidJson && e.where.empty()) {
      return fail(KeystoreErrc::kMalformed, "not JSON: syntax error at byte " + std::to_string(e.offset));
    }
    return fail(KeystoreErrc::kMalformed, e.message());
  }
  const Json& root = *parsed;
  const std::string path = "$";
  if (!root.is_object()) return fail(KeystoreErrc::kMalformed, "$: expected an object");

  // The version first: a V1 or V2 file is "unsupported", not a list of missing fields.
  auto version = require(root, "version", path);
  if (!version) return std::unexpected(version.error());
  if (!(*version)->is_number_integer()) return fail(KeystoreErrc::kMalformed, "$.version: expected the integer 3");
  if (!(*version)->is_number_unsigned() || (*version)->get<std::uint64_t>() != 3) {
    return fail(KeystoreErrc::kUnsupported, "$.version: " + for_message((*version)->dump()) + " (only version 3 is supported)");
  }

  Keystore out;
  auto crypto = require_object(root, "crypto", path);
  if (!crypto) return std::unexpected(crypto.error());
  const std::string cpath = "$.crypto";
  auto cipher = require_string(**crypto, "cipher", cpath);
  if (!cipher) return std::unexpected(cipher.error());
  if (*cipher != "aes-128-ctr") {
    return fail(KeystoreErrc::kUnsupported, "$.crypto.cipher: " + for_message(*cipher) + " (supported: aes-128-ctr)");
  }
  auto kdf = parse_kdf(**crypto, cpath, out.salt);
  if (!kdf) return std::unexpected(kdf.error());
  out.kdf = *kdf;

  auto cipherparams = require_object(**crypto, "cipherparams", cpath);
  if (!cipherparams) return std::unexpected(cipherparams.error());
  auto iv = require_hex<16>(**cipherparams, "iv", "$.crypto.cipherparams");
  if (!iv) return std::unexpected(iv.error());
  out.iv = *iv;
  // Exactly the 32-byte key: geth also accepts shorter plaintexts and left-pads them, which would let
  // two files of different lengths decrypt to one key.
  auto ciphertext = require_hex<32>(**crypto, "ciphertext", cpath);
  if (!ciphertext) return std::unexpected(ciphertext.error());
  out.ciphertext = *ciphertext;
  auto mac = require_hex<32>(**crypto, "mac", cpath);
  if (!mac) return std::unexpected(mac.error());
  out.mac = *mac;

  auto address = find(root, "address", path);
  if (!address) return std::unexpected(address.error());
  if (*address != nullptr) {
    if (!(*address)->is_string()) return fail(KeystoreErrc::kMalformed, "$.address: expected a hex string");
    auto bytes = hex_fixed<20>((*address)->get<std::string>(), "$.address");
    if (!bytes) return std::unexpected(bytes.error());
    out.address = codec::Address{*bytes};
  }
  auto id = find(root, "id", path);
  if (!id) return std::unexpected(id.error());
  if (*id != nullptr) {
    if (!(*id)->is_string()) return fail(KeystoreErrc::kMalformed, "$.id: expected a string");
    out.id = (*id)->get<std::string>();
  }
  return out;
}

std::expected<codec::SecretKey, KeystoreError> decrypt_keystore(std::string_view json_text, std::string_view passphrase) {
  auto keystore = parse_keystore(json_text);
  if (!keystore) return std::unexpected(keystore.error());
  CryptoPP::SecByteBlock derived;
  try {
    derived = derive(keystore->kdf, keystore->salt, passphrase);
  } catch (const CryptoPP::Exception& e) {
    return fail(KeystoreErrc::kWeakParams, "$.crypto.kdfparams: rejected by the KDF: " + std::string(e.what()));
  }
  const codec::Hash32 mac = mac_of(derived, keystore->ciphertext);
  // Constant time, so the comparison does not tell an attacker how many MAC bytes matched.
  if (!CryptoPP::VerifyBufsEqual(mac.data(), keystore->mac.data(), mac.size())) {
    return fail(KeystoreErrc::kWrongPassphrase, "$.crypto.mac does not match: wrong passphrase, or the file was altered");
  }
  CryptoPP::SecByteBlock plain(keystore->ciphertext.size());
  aes_128_ctr(derived, keystore->iv, keystore->ciphertext.data(), plain.data(), plain.size());
  codec::Hash32 bytes{};
  std::copy(plain.begin(), plain.end(), bytes.begin());
  const codec::SecretKey key(bytes);
  CryptoPP::SecureWipeBuffer(bytes.data(), bytes.size());
  const auto address = codec::address_of(key);
  if (!address) return fail(KeystoreErrc::kMalformed, "$.crypto.ciphertext: the decrypted key is not a valid secp256k1 key");
  if (keystore->address && *keystore->address != *address) {
    return fail(KeystoreErrc::kAddressMismatch, "$.address is " + codec::to_checksum(*keystore->address) +
                                                    " but the key belongs to " + codec::to_checksum(*address));
  }
  return key;
}

std::string encrypt_keystore(const codec::SecretKey& key, std::string_view passphrase, const KdfParams& params) {
  const auto address = codec::address_of(key);
  if (!address) throw std::invalid_argument("encrypt_keystore: the key is not a valid secp256k1 secret key");
  if (passphrase.empty()) throw std::invalid_argument("encrypt_keystore: empty passphrase");
  if (auto ok = check_kdf_params(params); !ok) throw std::invalid_argument("encrypt_keystore: " + ok.error().message());

  codec::Bytes salt(32);
  random_bytes(salt.data(), salt.size());
  std::array<std::uint8_t, 16> iv{};
  random_bytes(iv.data(), iv.size());
  const CryptoPP::SecByteBlock derived = derive(params, salt, passphrase);
  codec::Hash32 ciphertext{};
  aes_128_ctr(derived, iv, key.bytes().data(), ciphertext.data(), ciphertext.size());
  const codec::Hash32 mac = mac_of(derived, ciphertext);

  Json kdfparams = Json::object();
  kdfparams["dklen"] = params.dklen;
  kdfparams["salt"] = codec::to_hex_bare(salt);
  if (params.kind == KdfParams::kScrypt) {
    kdfparams["n"] = params.n;
    kdfparams["r"] = params.r;
    kdfparams["p"] = params.p;
  } else {
    kdfparams["c"] = params.c;
    kdfparams["prf"] = "hmac-sha256";
  }
  Json out = Json::object();
  // Lower case without 0x, as geth writes it (and as ethers reads it).
  out["address"] = codec::to_hex_bare(address->view());
  out["crypto"] = Json{{"cipher", "aes-128-ctr"},
                       {"cipherparams", Json{{"iv", codec::to_hex_bare(iv)}}},
                       {"ciphertext", codec::to_hex_bare(ciphertext)},
                       {"kdf", params.kind == KdfParams::kScrypt ? "scrypt" : "pbkdf2"},
                       {"kdfparams", std::move(kdfparams)},
                       {"mac", codec::to_hex_bare(mac)}};
  out["id"] = uuid_v4();
  out["version"] = 3;
  return out.dump();
}

codec::SecretKey generate_secret_key() {
  for (;;) {
    codec::Hash32 bytes{};
    random_bytes(bytes.data(), bytes.size());
    const codec::SecretKey key(bytes);
    CryptoPP::SecureWipeBuffer(bytes.data(), bytes.size());
    // 0 or >= n: probability about 2^-128 per draw; redraw rather than reduce, which would bias.
    if (key.is_valid()) return key;
  }
}

void wipe(std::string& secret) noexcept {
  secret.resize(secret.capacity());
  CryptoPP::SecureWipeBuffer(reinterpret_cast<CryptoPP::byte*>(secret.data()), secret.size());
  secret.clear();
}

std::expected<KeystoreSigner, KeystoreError> KeystoreSigner::open(std::string_view json_text, std::string_view passphrase) {
  auto key = decrypt_keystore(json_text, passphrase);
  if (!key) return std::unexpected(key.error());
  return from_key(*key);
}

std::expected<KeystoreSigner, KeystoreError> KeystoreSigner::from_key(const codec::SecretKey& key) {
  const auto address = codec::address_of(key);
  if (!address) return fail(KeystoreErrc::kMalformed, "the key is not a valid secp256k1 secret key");
  auto page = LockedPage::allocate(sizeof(codec::SecretKey));
  if (!page) return fail(KeystoreErrc::kIo, "key memory: " + page.error());
  const codec::SecretKey* in_page = new (page->data()) codec::SecretKey(key);
  return KeystoreSigner(std::move(*page), in_page, *address);
}

KeystoreSigner::KeystoreSigner(KeystoreSigner&& other) noexcept
    : page_(std::move(other.page_)), key_(other.key_), address_(other.address_) {
  other.key_ = nullptr;
}

KeystoreSigner& KeystoreSigner::operator=(KeystoreSigner&& other) noexcept {
  if (this != &other) {
    if (key_ != nullptr) key_->~SecretKey();
    page_ = std::move(other.page_);
    key_ = other.key_;
    address_ = other.address_;
    other.key_ = nullptr;
  }
  return *this;
}

KeystoreSigner::~KeystoreSigner() {
  if (key_ != nullptr) key_->~SecretKey();  // then the page is wiped and unmapped
}

std::expected<std::array<std::uint8_t, 65>, SignerError> KeystoreSigner::sign_digest(const codec::Hash32& digest) const {
  if (key_ == nullptr) return std::unexpected(SignerError{SignerErrc::kInternal, "the signer holds no key (moved from)"});
  const auto signature = codec::sign_digest(digest, *key_);
  if (!signature) return std::unexpected(SignerError{SignerErrc::kInternal, "libsecp256k1 refused to sign with the key"});
  const auto signer = codec::recover_address(digest, signature->r, signature->s, signature->recovery_id);
  if (!signer || *signer != address_) {
    return std::unexpected(SignerError{SignerErrc::kInternal, "the signature does not recover to the signer's address"});
  }
  // Safe's checkSignatures reads v = 27/28 as an ECDSA signature over the raw hash (v = 0/1 would be
  // read as a contract signature or an approved hash).
  return signature->to_rsv(27);
}

}  // namespace txguard::signers

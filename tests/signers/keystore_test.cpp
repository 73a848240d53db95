#include "signers/keystore.hpp"

#include <doctest/doctest.h>

#include <cryptopp/scrypt.h>
#include <cryptopp/secblock.h>

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/keccak.hpp"
#include "tests/support/fixtures.hpp"

namespace {

using namespace txguard;
using namespace txguard::signers;
using nlohmann::json;

// fixtures/keystore/: written by tests/js/make_keystores.mjs with ethers 6.17.0 (see vectors.json).
constexpr const char* kLight = "keystore/ethers-scrypt-n1024.json";
constexpr const char* kPassphrase = "txguard test passphrase";
constexpr const char* kAnvilKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
constexpr const char* kAnvilAddress = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

codec::SecretKey key_from_hex(const std::string& hex) {
  auto bytes = codec::from_hex_fixed<32>(hex);
  REQUIRE(bytes);
  return codec::SecretKey(*bytes);
}

codec::Address address_of(const std::string& text) {
  auto address = codec::parse_address(text);
  REQUIRE(address);
  return *address;
}

json light_json() { return json::parse(test::read_fixture(kLight)); }

// Decrypts `text` with `passphrase` and requires failure with `code`, the detail containing `where`.
void check_refused(const std::string& text, KeystoreErrc code, const std::string& where,
                   const std::string& passphrase = kPassphrase) {
  auto key = decrypt_keystore(text, passphrase);
  REQUIRE_FALSE(key.has_value());
  CHECK_MESSAGE(key.error().code == code, key.error().message());
  CHECK_MESSAGE(key.error().detail.find(where) != std::string::npos, key.error().message());
}

std::string flip_hex_digit(std::string hex, std::size_t index) {
  hex[index] = hex[index] == '0' ? '1' : '0';
  return hex;
}

}  // namespace

TEST_SUITE("keystore") {

TEST_CASE("decrypts every ethers keystore and the Web3 Secret Storage PBKDF2 vector to its key and address") {
  const json index = test::load_fixture("keystore/vectors.json");
  int decrypted = 0;
  for (const auto& v : index["vectors"]) {
    // The one keystore with ethers' default n = 2^17 has its own case below (slow under sanitizers).
    if (v.value("n", 0) > 1024) continue;
    const std::string file = v["file"];
    CAPTURE(file);
    const std::string text = test::read_fixture("keystore/" + file);
    auto key = decrypt_keystore(text, v["passphrase"].get<std::string>());
    REQUIRE_MESSAGE(key.has_value(), key.error().message());
    CHECK(key->bytes() == key_from_hex(v["private_key"]).bytes());
    CHECK(codec::address_of(*key) == address_of(v["address"]));
    ++decrypted;
  }
  CHECK(decrypted == 4);
}

TEST_CASE("decrypts ethers' default scrypt parameters (n = 2^17, r = 8, p = 1)") {
  auto key = decrypt_keystore(test::read_fixture("keystore/ethers-scrypt-default.json"), kPassphrase);
  REQUIRE_MESSAGE(key.has_value(), key.error().message());
  CHECK(key->bytes() == key_from_hex(kAnvilKey).bytes());
}

TEST_CASE("reads a keystore's address and parameters without the passphrase") {
  auto ks = parse_keystore(test::read_fixture(kLight));
  REQUIRE_MESSAGE(ks.has_value(), ks.error().message());
  REQUIRE(ks->address.has_value());
  CHECK(*ks->address == address_of(kAnvilAddress));
  CHECK(ks->kdf.kind == KdfParams::kScrypt);
  CHECK(ks->kdf.describe() == "scrypt n=1024 r=8 p=1");
  CHECK(ks->salt.size() == 32);
  auto spec = parse_keystore(test::read_fixture("keystore/web3-spec-pbkdf2.json"));
  REQUIRE(spec.has_value());
  CHECK_FALSE(spec->address.has_value());
  CHECK(spec->kdf.describe() == "pbkdf2 c=262144 prf=hmac-sha256");
  CHECK(spec->id == "3198bc9c-6672-5ab3-d995-4942343ae5b6");
}

TEST_CASE("decrypt(encrypt(k)) == k for scrypt and PBKDF2, in geth's shape, with fresh salt, IV and id") {
  const codec::SecretKey key = key_from_hex(kAnvilKey);
  for (const KdfParams& params : {KdfParams::scrypt_light(), KdfParams::pbkdf2_light()}) {
    CAPTURE(params.describe());
    const std::string a = encrypt_keystore(key, "round trip", params);
    const std::string b = encrypt_keystore(key, "round trip", params);
    auto back = decrypt_keystore(a, "round trip");
    REQUIRE_MESSAGE(back.has_value(), back.error().message());
    CHECK(back->bytes() == key.bytes());
    CHECK(decrypt_keystore(a, "round trip!").error().code == KeystoreErrc::kWrongPassphrase);

    const json doc = json::parse(a);
    CHECK(doc["version"] == 3);
    CHECK(doc["address"] == "f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    CHECK(doc["crypto"]["cipher"] == "aes-128-ctr");
    CHECK(doc["crypto"]["kdfparams"]["dklen"] == 32);
    const std::string id = doc["id"];
    REQUIRE(id.size() == 36);
    CHECK(id[8] == '-');
    CHECK(id[14] == '4');
    CHECK(std::string("89ab").find(id[19]) != std::string::npos);
    const json other = json::parse(b);
    CHECK(other["id"] != doc["id"]);
    CHECK(other["crypto"]["kdfparams"]["salt"] != doc["crypto"]["kdfparams"]["salt"]);
    CHECK(other["crypto"]["cipherparams"]["iv"] != doc["crypto"]["cipherparams"]["iv"]);
    CHECK(other["crypto"]["ciphertext"] != doc["crypto"]["ciphertext"]);
  }
}

TEST_CASE("encrypt refuses an invalid key, an empty passphrase and weak parameters") {
  CHECK_THROWS_AS(encrypt_keystore(codec::SecretKey{}, "x", KdfParams::scrypt_light()), std::invalid_argument);
  CHECK_THROWS_AS(encrypt_keystore(key_from_hex(kAnvilKey), "", KdfParams::scrypt_light()), std::invalid_argument);
  KdfParams weak = KdfParams::scrypt_light();
  weak.n = 512;
  CHECK_THROWS_AS(encrypt_keystore(key_from_hex(kAnvilKey), "x", weak), std::invalid_argument);
}

TEST_CASE("generated keys are valid and distinct") {
  std::set<codec::Hash32> seen;
  for (int i = 0; i < 8; ++i) {
    const codec::SecretKey key = generate_secret_key();
    CHECK(key.is_valid());
    seen.insert(key.bytes());
  }
  CHECK(seen.size() == 8);
}

TEST_CASE("wipe empties a string that held a secret") {
  std::string secret = "a passphrase long enough to live on the heap, not in the small-string buffer";
  wipe(secret);
  CHECK(secret.empty());
}

TEST_CASE("the keystore signer reproduces the golden Safe owner signatures (v = 27/28)") {
  auto signer = KeystoreSigner::open(test::read_fixture(kLight), kPassphrase);
  REQUIRE_MESSAGE(signer.has_value(), signer.error().message());
  CHECK(signer->address() == address_of(kAnvilAddress));
  const json golden = test::load_fixture("golden/safe_signatures.json");
  const Signer& as_interface = *signer;
  int signed_cases = 0;
  for (const auto& c : golden["cases"]) {
    CAPTURE(c["name"].get<std::string>());
    auto digest = codec::from_hex_fixed<32>(c["safe_tx_hash"].get<std::string>());
    REQUIRE(digest);
    auto signature = as_interface.sign_digest(*digest);
    REQUIRE_MESSAGE(signature.has_value(), signature.error().message());
    CHECK(codec::to_hex(*signature) == c["signature"].get<std::string>());
    CHECK((signature->back() == 27 || signature->back() == 28));
    ++signed_cases;
  }
  CHECK(signed_cases == 9);
}

TEST_CASE("a keystore signer refuses the zero key and a wrong passphrase") {
  auto zero = KeystoreSigner::from_key(codec::SecretKey{});
  REQUIRE_FALSE(zero.has_value());
  CHECK(zero.error().code == KeystoreErrc::kMalformed);
  auto wrong = KeystoreSigner::open(test::read_fixture(kLight), "not the passphrase");
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.error().code == KeystoreErrc::kWrongPassphrase);
}

TEST_CASE("KDF parameter bounds hold at their edges") {
  const auto ok = [](KdfParams p) { return check_kdf_params(p).has_value(); };
  const auto code = [](KdfParams p) { return check_kdf_params(p).error().code; };
  KdfParams s = KdfParams::scrypt_light();
  CHECK(ok(KdfParams::scrypt_default()));
  CHECK(ok(KdfParams::pbkdf2_default()));
  s.n = 1024;
  CHECK(ok(s));
  s.n = 512;
  CHECK(code(s) == KeystoreErrc::kWeakParams);
  s.n = 1000;
  CHECK(code(s) == KeystoreErrc::kWeakParams);
  s.n = 0;
  CHECK(code(s) == KeystoreErrc::kWeakParams);
  s = KdfParams{KdfParams::kScrypt, std::uint64_t{1} << 20, 1, 1, 0, 32};
  CHECK(ok(s));
  s.n = std::uint64_t{1} << 21;
  CHECK(code(s) == KeystoreErrc::kWeakParams);
  // Memory 128 * n * r: geth's standard n = 2^18, r = 8 is exactly 256 MiB.
  s = KdfParams{KdfParams::kScrypt, std::uint64_t{1} << 18, 8, 1, 0, 32};
  CHECK(ok(s));
  s.r = 9;
  CHECK(code(s) == KeystoreErrc::kWeakParams);
  s.r = UINT64_MAX;
  CHECK(code(s) == KeystoreErrc::kWeakParams);
  s.r = 0;
  CHECK(code(s) == KeystoreErrc::kWeakParams);
  // Work n * r * p <= 2^23.
  s = KdfParams{KdfParams::kScrypt, 1024, 8, 1024, 0, 32};
  CHECK(ok(s));
  s.p = 1025;
  CHECK(code(s) == KeystoreErrc::kWeakParams);
  s.p = UINT64_MAX;
  CHECK(code(s) == KeystoreErrc::kWeakParams);
  s.p = 0;
  CHECK(code(s) == KeystoreErrc::kWeakParams);
  KdfParams p = KdfParams::pbkdf2_light();
  CHECK(ok(p));
  p.c = kMinPbkdf2Iterations - 1;
  CHECK(code(p) == KeystoreErrc::kWeakParams);
  p.c = kMaxPbkdf2Iterations;
  CHECK(ok(p));
  p.c = kMaxPbkdf2Iterations + 1;
  CHECK(code(p) == KeystoreErrc::kWeakParams);
  p = KdfParams::pbkdf2_light();
  p.dklen = 31;
  CHECK(code(p) == KeystoreErrc::kWeakParams);
  p.dklen = 33;
  CHECK(code(p) == KeystoreErrc::kUnsupported);
}

TEST_CASE("refuses a wrong passphrase") {
  check_refused(test::read_fixture(kLight), KeystoreErrc::kWrongPassphrase, "$.crypto.mac", "txguard test passphrasE");
  check_refused(test::read_fixture(kLight), KeystoreErrc::kWrongPassphrase, "$.crypto.mac", "");
}

TEST_CASE("refuses a keystore whose MAC, ciphertext or salt was altered") {
  for (std::size_t i : {0u, 63u}) {
    json doc = light_json();
    doc["Crypto"]["mac"] = flip_hex_digit(doc["Crypto"]["mac"], i);
    check_refused(doc.dump(), KeystoreErrc::kWrongPassphrase, "$.crypto.mac");
    doc = light_json();
    doc["Crypto"]["ciphertext"] = flip_hex_digit(doc["Crypto"]["ciphertext"], i);
    check_refused(doc.dump(), KeystoreErrc::kWrongPassphrase, "$.crypto.mac");
    doc = light_json();
    doc["Crypto"]["kdfparams"]["salt"] = flip_hex_digit(doc["Crypto"]["kdfparams"]["salt"], i);
    check_refused(doc.dump(), KeystoreErrc::kWrongPassphrase, "$.crypto.mac");
  }
}

TEST_CASE("an altered IV is caught only by the address field") {
  // V3's MAC covers the ciphertext, not the IV: a changed IV decrypts to another key with a valid
  // MAC. The "address" field (when present) is then the only check, which is why it is enforced.
  json doc = light_json();
  doc["Crypto"]["cipherparams"]["iv"] = flip_hex_digit(doc["Crypto"]["cipherparams"]["iv"], 31);
  check_refused(doc.dump(), KeystoreErrc::kAddressMismatch, "$.address");
  doc.erase("address");
  auto other = decrypt_keystore(doc.dump(), kPassphrase);
  REQUIRE(other.has_value());
  CHECK(other->bytes() != key_from_hex(kAnvilKey).bytes());
}

TEST_CASE("refuses an address field that is not the key's address") {
  json doc = light_json();
  doc["address"] = "70997970c51812dc3a010c7d01b50e0d17dc79c8";
  check_refused(doc.dump(), KeystoreErrc::kAddressMismatch, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
  doc["address"] = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb9226";
  check_refused(doc.dump(), KeystoreErrc::kMalformed, "$.address");
  doc["address"] = 42;
  check_refused(doc.dump(), KeystoreErrc::kMalformed, "$.address");
}

TEST_CASE("accepts an address field with 0x and in any case") {
  json doc = light_json();
  doc["address"] = "0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266";
  auto key = decrypt_keystore(doc.dump(), kPassphrase);
  REQUIRE_MESSAGE(key.has_value(), key.error().message());
  CHECK(key->bytes() == key_from_hex(kAnvilKey).bytes());
}

TEST_CASE("refuses ciphers, KDFs and PRFs other than aes-128-ctr, scrypt/pbkdf2 and hmac-sha256") {
  json doc = light_json();
  doc["Crypto"]["cipher"] = "aes-128-cbc";
  check_refused(doc.dump(), KeystoreErrc::kUnsupported, "$.crypto.cipher");
  doc = light_json();
  doc["Crypto"]["cipher"] = "AES-128-CTR";
  check_refused(doc.dump(), KeystoreErrc::kUnsupported, "$.crypto.cipher");
  doc = light_json();
  doc["Crypto"]["kdf"] = "argon2id";
  check_refused(doc.dump(), KeystoreErrc::kUnsupported, "$.crypto.kdf");
  json spec = json::parse(test::read_fixture("keystore/web3-spec-pbkdf2.json"));
  spec["crypto"]["kdfparams"]["prf"] = "hmac-sha512";
  check_refused(spec.dump(), KeystoreErrc::kUnsupported, "$.crypto.kdfparams.prf", "testpassword");
}

TEST_CASE("refuses versions other than the integer 3") {
  json doc = light_json();
  doc["version"] = 2;
  check_refused(doc.dump(), KeystoreErrc::kUnsupported, "$.version");
  doc["version"] = 4;
  check_refused(doc.dump(), KeystoreErrc::kUnsupported, "$.version");
  doc["version"] = -3;
  check_refused(doc.dump(), KeystoreErrc::kUnsupported, "$.version");
  doc["version"] = "3";
  check_refused(doc.dump(), KeystoreErrc::kMalformed, "$.version");
  doc["version"] = 3.0;
  check_refused(doc.dump(), KeystoreErrc::kMalformed, "$.version");
}

TEST_CASE("refuses scrypt parameters outside the bounds before deriving anything") {
  const auto with = [](const char* name, json value) {
    json doc = light_json();
    doc["Crypto"]["kdfparams"][name] = std::move(value);
    return doc.dump();
  };
  check_refused(with("n", 1000), KeystoreErrc::kWeakParams, "not a power of two");
  check_refused(with("n", 512), KeystoreErrc::kWeakParams, "below the floor");
  // 2^31 would need 256 GiB; it must be refused at once, not attempted.
  check_refused(with("n", std::uint64_t{1} << 31), KeystoreErrc::kWeakParams, "above the limit");
  check_refused(with("n", std::uint64_t{1} << 21), KeystoreErrc::kWeakParams, "above the limit");
  check_refused(with("r", 4096), KeystoreErrc::kWeakParams, "MiB");
  check_refused(with("p", 1u << 20), KeystoreErrc::kWeakParams, "n * r * p");
  check_refused(with("p", 0), KeystoreErrc::kWeakParams, "at least 1");
  check_refused(with("dklen", 16), KeystoreErrc::kWeakParams, "dklen");
  check_refused(with("dklen", 64), KeystoreErrc::kUnsupported, "dklen");
  check_refused(with("salt", "0011223344556677"), KeystoreErrc::kWeakParams, "$.crypto.kdfparams.salt");
  check_refused(with("n", "1024"), KeystoreErrc::kMalformed, "$.crypto.kdfparams.n");
  check_refused(with("n", -1024), KeystoreErrc::kMalformed, "$.crypto.kdfparams.n");
  check_refused(with("n", 1024.5), KeystoreErrc::kMalformed, "$.crypto.kdfparams.n");
}

TEST_CASE("refuses PBKDF2 iteration counts outside the bounds") {
  json spec = json::parse(test::read_fixture("keystore/web3-spec-pbkdf2.json"));
  spec["crypto"]["kdfparams"]["c"] = 1;
  check_refused(spec.dump(), KeystoreErrc::kWeakParams, "below the floor", "testpassword");
  spec["crypto"]["kdfparams"]["c"] = std::uint64_t{1} << 40;
  check_refused(spec.dump(), KeystoreErrc::kWeakParams, "above the limit", "testpassword");
}

TEST_CASE("refuses a keystore with a missing field and names its path") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> fields = {
      {{"version"}, "$.version"},
      {{"Crypto"}, "$.crypto"},
      {{"Crypto", "cipher"}, "$.crypto.cipher"},
      {{"Crypto", "ciphertext"}, "$.crypto.ciphertext"},
      {{"Crypto", "cipherparams"}, "$.crypto.cipherparams"},
      {{"Crypto", "cipherparams", "iv"}, "$.crypto.cipherparams.iv"},
      {{"Crypto", "kdf"}, "$.crypto.kdf"},
      {{"Crypto", "kdfparams"}, "$.crypto.kdfparams"},
      {{"Crypto", "kdfparams", "n"}, "$.crypto.kdfparams.n"},
      {{"Crypto", "kdfparams", "r"}, "$.crypto.kdfparams.r"},
      {{"Crypto", "kdfparams", "p"}, "$.crypto.kdfparams.p"},
      {{"Crypto", "kdfparams", "dklen"}, "$.crypto.kdfparams.dklen"},
      {{"Crypto", "kdfparams", "salt"}, "$.crypto.kdfparams.salt"},
      {{"Crypto", "mac"}, "$.crypto.mac"},
  };
  for (const auto& [steps, path] : fields) {
    CAPTURE(path);
    json doc = light_json();
    json* parent = &doc;
    for (std::size_t i = 0; i + 1 < steps.size(); ++i) parent = &(*parent)[steps[i]];
    parent->erase(steps.back());
    check_refused(doc.dump(), KeystoreErrc::kMalformed, path + ": missing");
  }
  json spec = json::parse(test::read_fixture("keystore/web3-spec-pbkdf2.json"));
  spec["crypto"]["kdfparams"].erase("c");
  check_refused(spec.dump(), KeystoreErrc::kMalformed, "$.crypto.kdfparams.c: missing", "testpassword");
  spec = json::parse(test::read_fixture("keystore/web3-spec-pbkdf2.json"));
  spec["crypto"]["kdfparams"].erase("prf");
  check_refused(spec.dump(), KeystoreErrc::kMalformed, "$.crypto.kdfparams.prf: missing", "testpassword");
}

TEST_CASE("refuses hex fields of the wrong size or not hex") {
  const auto with = [](std::vector<std::string> steps, json value) {
    json doc = light_json();
    json* parent = &doc;
    for (std::size_t i = 0; i + 1 < steps.size(); ++i) parent = &(*parent)[steps[i]];
    (*parent)[steps.back()] = std::move(value);
    return doc.dump();
  };
  const std::string ct = light_json()["Crypto"]["ciphertext"];
  // geth would left-pad a 31-byte plaintext into a key (its "31_byte_key" test); txguard does not.
  check_refused(with({"Crypto", "ciphertext"}, ct.substr(2)), KeystoreErrc::kMalformed, "expected 32 bytes, got 31");
  check_refused(with({"Crypto", "ciphertext"}, ct + "00"), KeystoreErrc::kMalformed, "expected 32 bytes, got 33");
  check_refused(with({"Crypto", "cipherparams", "iv"}, "00112233445566778899aabbccddee"), KeystoreErrc::kMalformed,
                "$.crypto.cipherparams.iv: expected 16 bytes");
  check_refused(with({"Crypto", "mac"}, std::string(64, 'g')), KeystoreErrc::kMalformed, "$.crypto.mac: not a hex string");
  check_refused(with({"Crypto", "mac"}, std::string(63, '0')), KeystoreErrc::kMalformed, "$.crypto.mac: not a hex string");
  check_refused(with({"Crypto", "mac"}, 5), KeystoreErrc::kMalformed, "$.crypto.mac: expected a string");
  check_refused(with({"Crypto", "kdfparams"}, "scrypt"), KeystoreErrc::kMalformed, "$.crypto.kdfparams: expected an object");
}

TEST_CASE("accepts hex fields with a 0x prefix") {
  json doc = light_json();
  for (const char* name : {"ciphertext", "mac"}) doc["Crypto"][name] = "0x" + doc["Crypto"][name].get<std::string>();
  auto key = decrypt_keystore(doc.dump(), kPassphrase);
  REQUIRE_MESSAGE(key.has_value(), key.error().message());
}

TEST_CASE("refuses text that is not a JSON keystore object") {
  check_refused("", KeystoreErrc::kMalformed, "not JSON");
  check_refused("{\"version\":3,", KeystoreErrc::kMalformed, "not JSON: syntax error at byte");
  check_refused("not json", KeystoreErrc::kMalformed, "not JSON");
  check_refused("[]", KeystoreErrc::kMalformed, "$: expected an object");
  check_refused(std::string(kMaxKeystoreBytes + 1, ' '), KeystoreErrc::kMalformed, "at most");
  check_refused(std::string(200, '[') + std::string(200, ']'), KeystoreErrc::kMalformed, "too-deep");
}

TEST_CASE("refuses duplicate keys, also when they differ only in case") {
  std::string text = test::read_fixture(kLight);
  // The same "version" twice: nlohmann would keep the last, another reader the first.
  const auto at = text.find("\"version\":3");
  REQUIRE(at != std::string::npos);
  check_refused(std::string(text).insert(at, "\"version\":2,"), KeystoreErrc::kMalformed, "duplicate");
  // ethers writes "Crypto"; a second "crypto" object makes the file mean two things.
  json doc = light_json();
  doc["crypto"] = doc["Crypto"];
  doc["crypto"]["kdfparams"]["salt"] = std::string(64, '0');
  check_refused(doc.dump(), KeystoreErrc::kMalformed, "differ only in case");
  doc = light_json();
  doc["Crypto"]["MAC"] = doc["Crypto"]["mac"];
  check_refused(doc.dump(), KeystoreErrc::kMalformed, "$.crypto.mac: two fields");
}

TEST_CASE("refuses a well-authenticated keystore whose plaintext is not a valid secp256k1 key") {
  // Built here with the same KDF and MAC as the format, around plaintexts 0 and the group order n:
  // only a deliberately crafted file can carry them, and it must not become a signer.
  json doc = light_json();
  const auto salt = codec::from_hex(doc["Crypto"]["kdfparams"]["salt"].get<std::string>());
  REQUIRE(salt);
  const std::string pass = kPassphrase;
  CryptoPP::SecByteBlock derived(32);
  CryptoPP::Scrypt().DeriveKey(derived.data(), derived.size(), reinterpret_cast<const CryptoPP::byte*>(pass.data()),
                               pass.size(), salt->data(), salt->size(), 1024, 8, 1);
  const auto ciphertext = codec::from_hex_fixed<32>(doc["Crypto"]["ciphertext"].get<std::string>());
  REQUIRE(ciphertext);
  const codec::Hash32 anvil = key_from_hex(kAnvilKey).bytes();
  const auto order = codec::from_hex_fixed<32>("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  REQUIRE(order);
  for (const codec::Hash32& plaintext : {codec::Hash32{}, *order}) {
    // CTR: ciphertext' = ciphertext ^ anvil ^ plaintext decrypts to plaintext.
    codec::Hash32 forged{};
    for (std::size_t i = 0; i < forged.size(); ++i) {
      forged[i] = static_cast<std::uint8_t>((*ciphertext)[i] ^ anvil[i] ^ plaintext[i]);
    }
    const codec::Hash32 mac = codec::keccak256({codec::ByteView(derived.data() + 16, 16), codec::ByteView(forged)});
    json bad = doc;
    bad["Crypto"]["ciphertext"] = codec::to_hex_bare(forged);
    bad["Crypto"]["mac"] = codec::to_hex_bare(mac);
    check_refused(bad.dump(), KeystoreErrc::kMalformed, "not a valid secp256k1 key");
  }
}

TEST_CASE("a raw key file given as a keystore is refused without quoting its bytes") {
  // nlohmann's own message would say "last read: '1234567890a'": key digits on a terminal.
  for (const std::string text : {"1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef",
                                 "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n"}) {
    auto key = decrypt_keystore(text, kPassphrase);
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().code == KeystoreErrc::kMalformed);
    CHECK_MESSAGE(key.error().message().find("1234") == std::string::npos, key.error().message());
    CHECK_MESSAGE(key.error().message().find("ac09") == std::string::npos, key.error().message());
  }
  json doc = light_json();
  doc["Crypto"]["cipher"] = std::string(100, 'x') + "\n";
  auto key = decrypt_keystore(doc.dump(), kPassphrase);
  REQUIRE_FALSE(key.has_value());
  CHECK(key.error().message().size() < 100);
  CHECK(key.error().message().find('\n') == std::string::npos);
}

TEST_CASE("error messages are one line with a stable code and never the passphrase") {
  auto wrong = decrypt_keystore(test::read_fixture(kLight), "hunter2-secret");
  REQUIRE_FALSE(wrong.has_value());
  const std::string message = wrong.error().message();
  CHECK(message.starts_with("wrong-passphrase: "));
  CHECK(message.find("hunter2") == std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
  CHECK(to_string(KeystoreErrc::kWeakParams) == "weak-params");
  CHECK(to_string(KeystoreErrc::kAddressMismatch) == "address-mismatch");
  CHECK(to_string(SignerErrc::kUnavailable) == "unavailable");
}

}  // TEST_SUITE

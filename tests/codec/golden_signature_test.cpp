// Golden Safe owner signatures: fixtures/golden/safe_signatures.json holds, for a fixed key (anvil's
// account #0) and nine fixed SafeTxs of Safe 1.1.1, 1.3.0 and 1.4.1, the safeTxHash and the owner
// signature r || s || v that viem and ethers produce (tests/js/sign_golden.mjs). txguard must produce
// the same hash and, with RFC 6979 nonces, the same signature byte for byte: a co-signer whose
// signatures differ from every wallet's for the same key would be signing something else.
#include <doctest/doctest.h>

#include <array>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/bytes.hpp"
#include "policy/codec/safe.hpp"
#include "policy/codec/secp256k1.hpp"
#include "tests/support/paths.hpp"

using namespace txguard::codec;
using nlohmann::json;

namespace {

constexpr std::size_t kGoldenCases = 9;

json load_golden() {
  std::ifstream in(txguard::test::fixtures_dir() + "/golden/safe_signatures.json");
  REQUIRE(in.is_open());
  return json::parse(in);
}

Hash32 h32(const json& j) { return from_hex_fixed<32>(j.get<std::string>()).value(); }
Address addr(const json& j) { return parse_address(j.get<std::string>()).value(); }
U256 u256(const json& j) { return parse_u256(j.get<std::string>()).value(); }

struct GoldenCase {
  std::string name;
  SafeTx tx;
  SafeDomain domain;
  Hash32 domain_separator{};
  Hash32 safe_tx_hash{};
  Address signer;
  std::string signature;  // viem's, 0x + 130 hex digits
  std::string signature_ethers;
  Hash32 r{};
  Hash32 s{};
  int v = 0;
};

std::vector<GoldenCase> golden_cases(const json& file) {
  std::vector<GoldenCase> out;
  for (const auto& c : file.at("cases")) {
    GoldenCase g;
    g.name = c.at("name").get<std::string>();
    const json& t = c.at("tx");
    g.tx.to = addr(t.at("to"));
    g.tx.value = u256(t.at("value"));
    g.tx.data = from_hex(t.at("data").get<std::string>()).value();
    g.tx.operation = t.at("operation").get<int>() == 0 ? Operation::kCall : Operation::kDelegateCall;
    g.tx.safe_tx_gas = u256(t.at("safe_tx_gas"));
    g.tx.base_gas = u256(t.at("base_gas"));
    g.tx.gas_price = u256(t.at("gas_price"));
    g.tx.gas_token = addr(t.at("gas_token"));
    g.tx.refund_receiver = addr(t.at("refund_receiver"));
    g.tx.nonce = u256(t.at("nonce"));
    g.domain = SafeDomain{parse_safe_version(c.at("version").get<std::string>()).value(), u256(c.at("chain_id")),
                          addr(c.at("safe_address"))};
    g.domain_separator = h32(c.at("domain_separator"));
    g.safe_tx_hash = h32(c.at("safe_tx_hash"));
    g.signer = addr(c.at("signer"));
    g.signature = c.at("signature").get<std::string>();
    g.signature_ethers = c.at("signature_ethers").get<std::string>();
    g.r = h32(c.at("r"));
    g.s = h32(c.at("s"));
    g.v = c.at("v").get<int>();
    out.push_back(std::move(g));
  }
  return out;
}

SecretKey golden_key(const json& file) { return SecretKey(h32(file.at("private_key"))); }

std::string rsv_hex(const Hash32& digest, const SecretKey& key) {
  const auto sig = sign_digest(digest, key);
  REQUIRE(sig.has_value());
  const auto rsv = sig->to_rsv(27);
  return to_hex(ByteView(rsv.data(), rsv.size()));
}

/// True when the fixture's signature of case `g` recovers the signer over `digest`.
bool golden_signature_recovers_signer(const GoldenCase& g, const Hash32& digest) {
  const auto recovered = recover_address(digest, g.r, g.s, static_cast<std::uint8_t>(g.v - 27));
  return recovered.has_value() && *recovered == g.signer;
}

}  // namespace

TEST_SUITE("golden_signatures") {
  TEST_CASE("the fixture has every case, signed by the key it names") {
    const json file = load_golden();
    const auto cases = golden_cases(file);
    CHECK(cases.size() == kGoldenCases);
    const auto signer = address_of(golden_key(file));
    REQUIRE(signer.has_value());
    CHECK(*signer == addr(file.at("signer")));
    for (const auto& g : cases) {
      CAPTURE(g.name);
      CHECK(g.signer == *signer);
    }
  }

  TEST_CASE("txguard's SafeTx hash and domain separator equal viem's") {
    const json file = load_golden();
    for (const auto& g : golden_cases(file)) {
      CAPTURE(g.name);
      CHECK(safe_domain_separator(g.domain) == g.domain_separator);
      CHECK(safe_tx_hash(g.tx, g.domain) == g.safe_tx_hash);
    }
  }

  TEST_CASE("the owner signature is viem's and ethers' byte for byte (RFC 6979, low s, v = 27 + recovery id)") {
    const json file = load_golden();
    const SecretKey key = golden_key(file);
    for (const auto& g : golden_cases(file)) {
      CAPTURE(g.name);
      const std::string ours = rsv_hex(safe_tx_hash(g.tx, g.domain), key);
      CHECK(ours == g.signature);
      CHECK(ours == g.signature_ethers);
      const auto sig = sign_digest(g.safe_tx_hash, key);
      REQUIRE(sig.has_value());
      CHECK(sig->r == g.r);
      CHECK(sig->s == g.s);
      CHECK(int{sig->recovery_id} + 27 == g.v);
      CHECK(is_low_s(sig->s));
    }
  }

  TEST_CASE("the golden signature recovers the signer from txguard's hash") {
    const json file = load_golden();
    for (const auto& g : golden_cases(file)) {
      CAPTURE(g.name);
      CHECK(golden_signature_recovers_signer(g, safe_tx_hash(g.tx, g.domain)));
    }
  }

  TEST_CASE("a nonce changed by one gives another hash, which the golden signature does not sign") {
    const json file = load_golden();
    const SecretKey key = golden_key(file);
    for (const auto& g : golden_cases(file)) {
      CAPTURE(g.name);
      for (const U256& nonce : {U256(g.tx.nonce + 1), g.tx.nonce == 0 ? U256(2) : U256(g.tx.nonce - 1)}) {
        SafeTx changed = g.tx;
        changed.nonce = nonce;
        const Hash32 hash = safe_tx_hash(changed, g.domain);
        CHECK(hash != g.safe_tx_hash);
        CHECK(rsv_hex(hash, key) != g.signature);
        CHECK_FALSE(golden_signature_recovers_signer(g, hash));
      }
    }
  }

  TEST_CASE("a Safe version across the chainId boundary gives another hash; within it the same hash") {
    // Safe 1.1.1 and 1.2.0 hash EIP712Domain(address verifyingContract); 1.3.0, 1.4.1 and 1.5.0 hash
    // EIP712Domain(uint256 chainId, address verifyingContract); the SafeTx type is the same in all
    // five. So a version change only changes the hash when it crosses that boundary, and an owner
    // signature for 1.3.0 is also valid for the same Safe at 1.4.1: a policy must pin the version.
    const json file = load_golden();
    const SecretKey key = golden_key(file);
    for (const auto& g : golden_cases(file)) {
      for (SafeVersion version : {SafeVersion::k1_1_1, SafeVersion::k1_2_0, SafeVersion::k1_3_0, SafeVersion::k1_4_1,
                                  SafeVersion::k1_5_0}) {
        CAPTURE(g.name);
        CAPTURE(to_string(version));
        SafeDomain changed = g.domain;
        changed.version = version;
        const Hash32 hash = safe_tx_hash(g.tx, changed);
        if (domain_has_chain_id(version) != domain_has_chain_id(g.domain.version)) {
          CHECK(hash != g.safe_tx_hash);
          CHECK(rsv_hex(hash, key) != g.signature);
          CHECK_FALSE(golden_signature_recovers_signer(g, hash));
        } else {
          CHECK(hash == g.safe_tx_hash);
          CHECK(rsv_hex(hash, key) == g.signature);
        }
      }
    }
  }

  TEST_CASE("a chain id changed by one changes the hash from Safe 1.3.0 on, and not before") {
    const json file = load_golden();
    for (const auto& g : golden_cases(file)) {
      CAPTURE(g.name);
      for (const U256& chain_id : {U256(g.domain.chain_id + 1), U256(g.domain.chain_id - 1)}) {
        SafeDomain changed = g.domain;
        changed.chain_id = chain_id;
        const Hash32 hash = safe_tx_hash(g.tx, changed);
        if (domain_has_chain_id(g.domain.version)) {
          CHECK(hash != g.safe_tx_hash);
          CHECK_FALSE(golden_signature_recovers_signer(g, hash));
        } else {
          CHECK(hash == g.safe_tx_hash);
        }
      }
    }
  }

  TEST_CASE("another Safe address, operation or calldata byte gives another hash") {
    const json file = load_golden();
    for (const auto& g : golden_cases(file)) {
      CAPTURE(g.name);
      SafeDomain other_safe = g.domain;
      other_safe.safe.bytes[19] ^= 0x01;
      CHECK(safe_tx_hash(g.tx, other_safe) != g.safe_tx_hash);

      SafeTx other_op = g.tx;
      other_op.operation = g.tx.operation == Operation::kCall ? Operation::kDelegateCall : Operation::kCall;
      CHECK(safe_tx_hash(other_op, g.domain) != g.safe_tx_hash);

      SafeTx other_data = g.tx;
      if (other_data.data.empty()) {
        other_data.data.push_back(0x00);
      } else {
        other_data.data.back() ^= 0x01;
      }
      CHECK(safe_tx_hash(other_data, g.domain) != g.safe_tx_hash);
    }
  }

  TEST_CASE("a golden signature with a flipped bit or the other recovery id does not recover the signer") {
    const json file = load_golden();
    for (const auto& g : golden_cases(file)) {
      CAPTURE(g.name);
      GoldenCase other_v = g;
      other_v.v = g.v == 27 ? 28 : 27;
      CHECK_FALSE(golden_signature_recovers_signer(other_v, g.safe_tx_hash));
      GoldenCase other_s = g;
      other_s.s[31] ^= 0x01;
      CHECK_FALSE(golden_signature_recovers_signer(other_s, g.safe_tx_hash));
      GoldenCase other_r = g;
      other_r.r[31] ^= 0x01;
      CHECK_FALSE(golden_signature_recovers_signer(other_r, g.safe_tx_hash));
    }
  }
}

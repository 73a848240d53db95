// Accounts and request bodies the guard tests share: anvil's public test keys (never real funds), the
// demo hot wallet (a Safe 1.4.1 on Ethereum), USDC, a customer, an OFAC-listed address and the Bybit
// attacker's contract, and the Safe transaction body of POST /v1/safe/cosign.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "policy/codec/address.hpp"
#include "policy/codec/secp256k1.hpp"
#include "tests/support/builders.hpp"

namespace txguard::test {

// Anvil's standard test accounts: 1 alice, 2 bob, 3 the guard, 4 carol.
inline const char* const kAliceKey = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
inline const char* const kBobKey = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
inline const char* const kGuardKey = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
inline const char* const kCarolKey = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";

inline const codec::Address kHotSafe = addr("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4");
inline const codec::Address kUsdcToken = addr("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
inline const codec::Address kCustomerAccount = addr("0x976EA74026E726554dB657fA54763abd0C3a0aa9");
inline const codec::Address kSanctionedAccount = addr("0x098B716B8Aaf21512996dC57EB0615e2383E2f96");
inline const codec::Address kBybitAttacker = addr("0x96221423681A6d52E184D440a8eFCEbB105C7242");

inline codec::SecretKey key(const char* hex) { return codec::SecretKey(*codec::from_hex_fixed<32>(hex)); }
inline codec::Address address_of_key(const char* hex) { return *codec::address_of(key(hex)); }
inline std::string cs(const codec::Address& a) { return codec::to_checksum(a); }

/// The Safe transaction body of POST /v1/safe/cosign (Safe Transaction Service field names).
inline nlohmann::json safe_tx_body(const codec::Address& safe, const codec::Address& to, const std::string& data,
                                   std::uint64_t nonce, int operation = 0, const std::string& value = "0") {
  return {{"chainId", 1},
          {"safe", cs(safe)},
          {"to", cs(to)},
          {"value", value},
          {"data", data},
          {"operation", operation},
          {"safeTxGas", "0"},
          {"baseGas", "0"},
          {"gasPrice", "0"},
          {"gasToken", "0x0000000000000000000000000000000000000000"},
          {"refundReceiver", "0x0000000000000000000000000000000000000000"},
          {"nonce", nonce}};
}

/// A USDC transfer of `whole_usdc` to `to` from the hot Safe.
inline nlohmann::json usdc_transfer_body(const codec::Address& to, std::uint64_t whole_usdc, std::uint64_t nonce) {
  return safe_tx_body(kHotSafe, kUsdcToken, codec::to_hex(erc20_transfer(to, codec::U256(whole_usdc) * 1'000'000)), nonce);
}

}  // namespace txguard::test

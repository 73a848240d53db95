// Building requests for tests: addresses, calldata of well-known functions, Safe requests,
// transactions, and their intents. Header-only; every test binary may include it.
#pragma once

#include <doctest/doctest.h>

#include <span>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "policy/codec/abi_registry.hpp"
#include "policy/codec/intent.hpp"
#include "policy/codec/safe.hpp"
#include "policy/codec/transaction.hpp"

namespace txguard::test {

inline codec::Address addr(std::string_view text) { return codec::parse_address(text).value(); }

/// The built-in function with this canonical signature and interface tag.
inline const codec::AbiFunction& builtin_function(std::string_view signature, std::string_view tag) {
  const auto sel = codec::selector_of(signature);
  for (const codec::AbiFunction* f : codec::FunctionRegistry::builtin().lookup(sel)) {
    if (f->signature == signature && f->interface_tag == tag) return *f;
  }
  FAIL("no built-in function " << signature);
  throw std::logic_error("unreachable");
}

inline codec::Bytes erc20_transfer(const codec::Address& to, const codec::U256& amount) {
  const codec::AbiValue args[] = {codec::AbiValue::address(to), codec::AbiValue::uint(amount)};
  return codec::encode_call(builtin_function("transfer(address,uint256)", "erc20"), args);
}

inline codec::Bytes erc20_approve(const codec::Address& spender, const codec::U256& amount) {
  const codec::AbiValue args[] = {codec::AbiValue::address(spender), codec::AbiValue::uint(amount)};
  return codec::encode_call(builtin_function("approve(address,uint256)", "erc20"), args);
}

inline codec::Bytes multisend_call(std::span<const codec::MultiSendItem> items) {
  const codec::AbiValue args[] = {codec::AbiValue::bytes(codec::encode_multisend(items))};
  return codec::encode_call(builtin_function("multiSend(bytes)", "multisend"), args);
}

/// A batch item that owns its calldata (MultiSendItem only views it).
struct BatchItem {
  codec::Operation operation = codec::Operation::kCall;
  codec::Address to;
  codec::U256 value;
  codec::Bytes data;
};

inline codec::Bytes multisend_call(const std::vector<BatchItem>& items) {
  std::vector<codec::MultiSendItem> views;
  for (const auto& item : items) views.push_back({item.operation, item.to, item.value, item.data});
  return multisend_call(std::span<const codec::MultiSendItem>(views));
}

/// A Safe transaction request (nonce 5) for `safe` on `chain_id`.
inline codec::SafeTxRequest safe_request(const codec::Address& safe, const codec::Address& to, codec::Bytes data,
                                         codec::Operation op = codec::Operation::kCall, codec::U256 value = 0,
                                         codec::SafeVersion version = codec::SafeVersion::k1_4_1,
                                         std::uint64_t chain_id = 1) {
  codec::SafeTxRequest r;
  r.tx.to = to;
  r.tx.data = std::move(data);
  r.tx.operation = op;
  r.tx.value = std::move(value);
  r.tx.nonce = 5;
  r.domain = codec::SafeDomain{version, chain_id, safe};
  return r;
}

inline codec::Intent intent_of(const codec::SafeTxRequest& r, const codec::IntentContext& ctx = {}) {
  auto intent = codec::intent_from_safe_request(r, ctx);
  REQUIRE_MESSAGE(intent.has_value(), intent.error().message());
  return *intent;
}

/// An EIP-1559 transaction from `from` (as if its signature had been recovered).
inline codec::Transaction transaction(const codec::Address& from, std::optional<codec::Address> to, codec::Bytes data,
                                      codec::U256 value = 0, std::uint64_t chain_id = 1) {
  codec::Transaction t;
  t.type = codec::TxnType::kDynamicFee;
  t.chain_id = chain_id;
  t.nonce = 7;
  t.max_fee_per_gas = 30'000'000'000ULL;
  t.gas_limit = 100'000;
  t.to = to;
  t.value = std::move(value);
  t.data = std::move(data);
  t.from = from;
  return t;
}

inline codec::Intent intent_of(const codec::Transaction& t, const codec::IntentContext& ctx = {}) {
  auto intent = codec::intent_from_transaction(t, ctx);
  REQUIRE_MESSAGE(intent.has_value(), intent.error().message());
  return *intent;
}

}  // namespace txguard::test

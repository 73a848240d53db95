// Decode throughput: how many requests per second txguard turns into an intent, for the two shapes
// that dominate a treasury's traffic. Printed next to baselines measured in the same run on the same
// machine (one secp256k1 public-key recovery, one Keccak-256 of the input) so that the figures can be
// compared across machines as ratios.
//
//   build/release/bench/txguard_bench_decode [seconds-per-case]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "policy/codec/abi_registry.hpp"
#include "policy/codec/intent.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/secp256k1.hpp"
#include "policy/codec/transaction.hpp"

using namespace txguard::codec;

namespace {

Address addr(std::string_view text) { return parse_address(text).value(); }
Hash32 h32(std::string_view hex) { return from_hex_fixed<32>(hex).value(); }

const AbiFunction& builtin(std::string_view signature) {
  for (const AbiFunction* f : FunctionRegistry::builtin().lookup(selector_of(signature))) {
    if (f->signature == signature) return *f;
  }
  std::fprintf(stderr, "missing built-in %.*s\n", static_cast<int>(signature.size()), signature.data());
  std::exit(70);
}

Bytes sign_txn(Transaction txn, const SecretKey& key) {
  const auto sig = sign_digest(signing_hash(txn), key).value();
  txn.signature = TxnSignature{U256(sig.recovery_id), sig.recovery_id, sig.r, sig.s};
  return encode_transaction(txn);
}

struct Result {
  double per_second;
  std::size_t iterations;
};

Result measure(double seconds, const std::function<void()>& body) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < 100; ++i) body();  // warm caches and the lazily built registry
  std::size_t iterations = 0;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  auto now = start;
  while (now < deadline) {
    for (int i = 0; i < 64; ++i) body();
    iterations += 64;
    now = Clock::now();
  }
  const double elapsed = std::chrono::duration<double>(now - start).count();
  return {static_cast<double>(iterations) / elapsed, iterations};
}

volatile std::size_t g_sink = 0;  // keeps results observable so the work is not optimized away

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  const SecretKey sender(h32("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"));
  const SecretKey owner_a(h32("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"));
  const SecretKey owner_b(h32("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"));
  const Address token = addr("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
  const Address safe = addr("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4");
  const Address multisend_call_only = addr("0x9641d764fc13c8B624c04430C7356C1C7C8102e2");

  // 1. An EIP-1559 ERC-20 transfer, signed.
  Transaction transfer;
  transfer.type = TxnType::kDynamicFee;
  transfer.chain_id = 1;
  transfer.nonce = 133692;
  transfer.max_priority_fee_per_gas = U256("7594000000");
  transfer.max_fee_per_gas = U256("18196518932");
  transfer.gas_limit = 65000;
  transfer.to = token;
  {
    const AbiValue args[] = {AbiValue::address(addr("0xde77E98e58DBb7E77e253C090843508eEcB3D74D")),
                             AbiValue::uint(U256("45300000000000000000"))};
    transfer.data = encode_call(builtin("transfer(address,uint256)"), args);
  }
  const Bytes transfer_raw = sign_txn(transfer, sender);

  // 2. An EIP-1559 transaction calling Safe.execTransaction with a 10-item MultiSendCallOnly batch of
  //    ERC-20 transfers, signed by two owners.
  std::vector<Bytes> item_data(10);
  std::vector<MultiSendItem> items(10);
  for (std::size_t i = 0; i < items.size(); ++i) {
    Address to;
    to.bytes[19] = static_cast<std::uint8_t>(i + 1);
    const AbiValue args[] = {AbiValue::address(to), AbiValue::uint(U256(1000 + i))};
    item_data[i] = encode_call(builtin("transfer(address,uint256)"), args);
    items[i].to = token;
    items[i].data = item_data[i];
  }
  SafeTx batch;
  batch.to = multisend_call_only;
  batch.operation = Operation::kDelegateCall;
  batch.nonce = 42;
  {
    const AbiValue args[] = {AbiValue::bytes(encode_multisend(items))};
    batch.data = encode_call(builtin("multiSend(bytes)"), args);
  }
  const Hash32 batch_hash = safe_tx_hash(batch, SafeDomain{SafeVersion::k1_4_1, 1, safe});
  Bytes signatures;
  {
    auto sa = sign_digest(batch_hash, owner_a).value().to_rsv(27);
    auto sb = sign_digest(batch_hash, owner_b).value().to_rsv(27);
    const bool a_first = address_of(owner_a).value() < address_of(owner_b).value();
    signatures.insert(signatures.end(), (a_first ? sa : sb).begin(), (a_first ? sa : sb).end());
    signatures.insert(signatures.end(), (a_first ? sb : sa).begin(), (a_first ? sb : sa).end());
  }
  Transaction exec = transfer;
  exec.to = safe;
  exec.gas_limit = 500000;
  {
    const AbiValue args[] = {AbiValue::address(batch.to), AbiValue::uint(0), AbiValue::bytes(batch.data), AbiValue::uint(1),
                             AbiValue::uint(0), AbiValue::uint(0), AbiValue::uint(0), AbiValue::address(Address{}),
                             AbiValue::address(Address{}), AbiValue::bytes(signatures)};
    exec.data = encode_call(
        builtin("execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"), args);
  }
  const Bytes exec_raw = sign_txn(exec, sender);

  IntentContext with_safe;
  with_safe.safes[safe] = {SafeVersion::k1_4_1, U256(42)};
  with_safe.chain_id = U256(1);
  const IntentContext bare;
  TxnDecodeOptions recover;
  TxnDecodeOptions no_recover;
  no_recover.recover_sender = false;

  // Sanity: the cases decode to what they should, or the figures mean nothing.
  {
    auto t = decode_transaction(exec_raw, recover);
    auto intent = intent_from_transaction(*t, with_safe);
    if (!intent || intent->calls.size() != 12 || intent->transfers.size() != 10 ||
        !intent->safe_txs[0].signatures->items[1].owner) {
      std::fprintf(stderr, "benchmark input does not decode as expected\n");
      return 70;
    }
  }

  auto decode_case = [&](const Bytes& raw, const TxnDecodeOptions& options, const IntentContext& ctx) {
    return [&raw, &options, &ctx] {
      auto t = decode_transaction(raw, options);
      auto intent = intent_from_transaction(*t, ctx);
      g_sink = g_sink + intent->calls.size();
    };
  };

  std::printf("txguard decode benchmark (%.1f s per case, 1 thread)\n\n", seconds);
  const Hash32 probe = keccak256(transfer_raw);
  const auto probe_sig = sign_digest(probe, sender).value();
  const Result ecrecover = measure(seconds, [&] {
    auto a = recover_address(probe, probe_sig.r, probe_sig.s, probe_sig.recovery_id);
    g_sink = g_sink + a->bytes[0];
  });
  const Result keccak = measure(seconds, [&] { g_sink = g_sink + keccak256(exec_raw)[0]; });
  std::printf("baseline  secp256k1 recover (libsecp256k1)             %12.0f /s\n", ecrecover.per_second);
  std::printf("baseline  keccak256 of the %4zu-byte exec transaction   %12.0f /s\n\n", exec_raw.size(), keccak.per_second);

  struct Case {
    const char* name;
    Result result;
    int recoveries;
  };
  Case cases[] = {
      {"EIP-1559 ERC-20 transfer, sender recovered", measure(seconds, decode_case(transfer_raw, recover, bare)), 1},
      {"EIP-1559 ERC-20 transfer, no recovery", measure(seconds, decode_case(transfer_raw, no_recover, bare)), 0},
      {"Safe execTransaction + 10-item MultiSend, sender and 2 owners recovered",
       measure(seconds, decode_case(exec_raw, recover, with_safe)), 3},
      {"Safe execTransaction + 10-item MultiSend, no recovery", measure(seconds, decode_case(exec_raw, no_recover, bare)), 0},
  };
  std::printf("%-74s %12s %10s\n", "case (raw bytes -> decoded transaction -> intent)", "decodes/s", "x recover");
  for (const auto& c : cases) {
    std::printf("%-74s %12.0f %10.2f\n", c.name, c.result.per_second, c.result.per_second / ecrecover.per_second);
  }
  std::printf("\n'x recover' is decodes per second divided by secp256k1 recoveries per second in this run.\n");
  return g_sink == 0 ? 1 : 0;
}

// Bridge checks: how many Wormhole VAAs (a real mainnet token transfer, 13 of 19 guardian
// signatures) and how many txguard withdrawal attestations (5 validator signatures, the whole
// judge_release) are verified per second, next to one secp256k1 public-key recovery measured in the
// same run, so the figures compare across machines as ratios. The expected ratios are about 1/13 and
// 1/5 of the baseline: signature recovery is the whole cost, everything else is noise.
//
//   build/release/bench/txguard_bench_bridge [seconds-per-case]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "policy/bridge.hpp"
#include "policy/codec/intent.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/secp256k1.hpp"
#include "policy/codec/vaa.hpp"
#include "policy/document.hpp"
#include "policy/validator_sets.hpp"

using namespace txguard;
using nlohmann::json;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(66);
  }
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

double measure(double seconds, const std::function<void()>& body) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < 20; ++i) body();
  std::size_t iterations = 0;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  auto now = start;
  while (now < deadline) {
    for (int i = 0; i < 16; ++i) body();
    iterations += 16;
    now = Clock::now();
  }
  return static_cast<double>(iterations) / std::chrono::duration<double>(now - start).count();
}

codec::SecretKey validator_key(int i) {
  return codec::SecretKey(codec::keccak256(codec::view("bench-validator-" + std::to_string(i))));
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  const std::string root = TXGUARD_SOURCE_DIR;

  // Baseline: one recovery.
  const codec::Hash32 digest = codec::keccak256(codec::view(std::string("txguard bench")));
  const auto sig = codec::sign_digest(digest, validator_key(0)).value();
  volatile bool sink = false;
  const double recover = measure(seconds, [&] {
    sink = codec::recover_address(digest, sig.r, sig.s, sig.recovery_id).has_value();
  });

  // A real mainnet VAA against the shipped guardian set history, at its own time.
  const json vectors = json::parse(slurp(root + "/fixtures/wormhole/wormhole-vaa-vectors.json"));
  std::string hex;
  for (const auto& v : vectors.at("vectors")) {
    if (v.at("id") == "mainnet-token-transfer-sui-gs4") hex = v.at("vaa_hex").get<std::string>();
  }
  const auto bytes = codec::from_hex(hex).value();
  const auto history = policy::load_validator_sets(slurp(root + "/deploy/bridges/wormhole-mainnet.sets.json")).value();
  const auto vaa = codec::decode_vaa(bytes).value();
  const policy::TimeMs at = static_cast<policy::TimeMs>(vaa.body.timestamp) * 1000;
  if (!policy::verify_vaa(vaa, history, at, {}).valid) {
    std::fprintf(stderr, "the benchmark VAA does not verify\n");
    return 70;
  }
  const double vaas = measure(seconds, [&] {
    auto decoded = codec::decode_vaa(bytes);
    sink = decoded && policy::verify_vaa(*decoded, history, at, {}).valid;
  });

  // A withdrawal attestation: 9 validators, 5 of 5 operators sign, the whole judgement.
  json validators = json::array();
  for (int i = 0; i < 9; ++i) {
    validators.push_back({{"address", codec::to_checksum(*codec::address_of(validator_key(i)))},
                          {"operator", "operator-" + std::to_string(i)}});
  }
  const std::string sets = json{{"txguard_validator_sets", 1}, {"name", "bench"}, {"times", "bench"}, {"overlap", "24h"},
                                {"governance", {{"chain", 1}, {"emitter", "0x0000000000000000000000000000000000000000000000000000000000000004"}}},
                                {"sets", json::array({{{"index", 0}, {"valid_from", "2020-01-01T00:00:00Z"}, {"validators", validators}}})}}
                               .dump();
  const std::string safe = "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4";
  const std::string token = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48";
  const json doc = {
      {"txguard_policy", 1}, {"name", "bench"},
      {"chains", {{"ethereum", {{"id", 1}}}, {"source", {{"id", 2020}}}}},
      {"assets", {{"USDC", {{"chain", "ethereum"}, {"address", token}, {"decimals", 6}}}}},
      {"approvers", {{"alice", {{"address", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}}}}},
      {"wallets", {{"release", {{"chain", "ethereum"}, {"address", safe}, {"kind", "safe"}, {"safe_version", "1.4.1"}}}}},
      {"rules", json::array({{{"id", "release"}, {"match", {{"wallet", "release"}}}, {"effect", "allow"}}})},
      {"bridges", {{"unpause", {{"approvers", {"alice"}}, {"quorum", 1}}},
                   {"routes", {{"r", {{"source", {{"chain", "source"}, {"contract", safe},
                                                  {"event", "Deposit(address indexed token,address indexed sender,address recipient,uint256 amount,uint256 destChainId,uint256 nonce)"}}},
                                      {"destination", {{"chain", "ethereum"}, {"wallet", "release"}, {"contract", safe}}},
                                      {"validators", {{"file", "v.json"}}},
                                      {"quorum", {{"signatures", 5}, {"operators", 5}}},
                                      {"tokens", json::array({{{"source", token}, {"asset", "USDC"}}})}}}}}}}};
  auto policy = policy::load_policy(doc.dump(), [&](const std::string&) -> std::expected<std::string, std::string> { return sets; });
  if (!policy) {
    std::fprintf(stderr, "bench policy: %s\n", policy.error().front().message().c_str());
    return 70;
  }
  policy::ReleaseClaim claim;
  claim.attestation.source_chain_id = 2020;
  claim.attestation.source_tx_hash = digest;
  claim.attestation.log_index = 2;
  claim.attestation.token = codec::parse_address(token).value();
  claim.attestation.amount = 1'000'000;
  claim.attestation.recipient = codec::parse_address("0x976EA74026E726554dB657fA54763abd0C3a0aa9").value();
  claim.attestation.destination_chain_id = 1;
  claim.attestation.nonce = 1;
  const auto att_digest = policy::withdrawal_attestation_digest(claim.attestation, 1, codec::parse_address(safe).value());
  for (int v : {0, 2, 4, 6, 8}) {
    const auto rsv = codec::sign_digest(att_digest, validator_key(v))->to_rsv(27);
    claim.signatures.emplace_back(rsv.begin(), rsv.end());
  }
  codec::SafeTxRequest request;
  request.tx.to = claim.attestation.token;
  {
    codec::Bytes data = {0xa9, 0x05, 0x9c, 0xbb};
    const auto to = codec::address_to_word(claim.attestation.recipient);
    const auto amount = codec::u256_to_be32(claim.attestation.amount);
    data.insert(data.end(), to.begin(), to.end());
    data.insert(data.end(), amount.begin(), amount.end());
    request.tx.data = data;
  }
  request.tx.nonce = 5;
  request.domain = codec::SafeDomain{codec::SafeVersion::k1_4_1, 1, codec::parse_address(safe).value()};
  const auto intent = codec::intent_from_safe_request(request).value();
  const policy::SourceFacts source{"deposit-confirmed", "",
                                   json{{"token", token}, {"sender", safe}, {"recipient", codec::to_checksum(claim.attestation.recipient)},
                                        {"amount", "1000000"}, {"destChainId", "1"}, {"nonce", "1"}}};
  const auto judged = policy::judge_release(*policy, claim, intent, source, {}, 1'767'225'600'000);
  if (judged.outcome != policy::BridgeJudgement::Outcome::kPass) {
    std::fprintf(stderr, "the benchmark release does not pass: %s\n", judged.reasons.front().code.c_str());
    return 70;
  }
  const double releases = measure(seconds, [&] {
    sink = policy::judge_release(*policy, claim, intent, source, {}, 1'767'225'600'000).outcome ==
           policy::BridgeJudgement::Outcome::kPass;
  });
  (void)sink;

  std::printf("%-58s %12s %10s\n", "case", "per second", "vs recover");
  std::printf("%-58s %12.0f %10s\n", "baseline: one secp256k1 public-key recovery", recover, "1");
  std::printf("%-58s %12.0f %10.3f\n", "Wormhole VAA, 13 of 19 guardians (decode + verify_vaa)", vaas, vaas / recover);
  std::printf("%-58s %12.0f %10.3f\n", "withdrawal attestation, 5 of 9 (the whole judge_release)", releases, releases / recover);
  return 0;
}

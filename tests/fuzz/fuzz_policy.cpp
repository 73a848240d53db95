// Fuzz target for the policy loader (policy/document.hpp) and, on every policy that loads, the
// evaluator (policy/evaluate.hpp) over a fixed set of requests.
//
// Input: policy text (JSON with comments). Files the policy names all read as one small list.
// Invariants checked, whatever the input:
//   - loading never throws or crashes; a refusal has at least one problem, each with a JSON path
//     starting with "$" and a non-empty description;
//   - a loaded policy loads again to the same hash (loading is deterministic);
//   - evaluating never throws; a denied decision has no effects and no holds; a held one has holds;
//     every leg has a verdict no more permissive than the request's (one denied leg denies it);
//   - evaluating twice gives the same decision.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "policy/codec/abi_registry.hpp"
#include "policy/codec/intent.hpp"
#include "policy/codec/safe.hpp"
#include "policy/document.hpp"
#include "policy/evaluate.hpp"

using namespace txguard;
using namespace txguard::policy;

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

std::expected<std::string, std::string> any_file(const std::string&) {
  return std::string("0x098B716B8Aaf21512996dC57EB0615e2383E2f96\n0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc\n");
}

codec::Address addr(std::string_view text) { return *codec::parse_address(text); }

// Requests for every wallet the policy declares: a USDC transfer, an ETH transfer, an unlimited
// approve, and a DELEGATECALL.
std::vector<codec::Intent> requests(const Policy& p) {
  std::vector<codec::Intent> out;
  const codec::Address usdc = addr("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
  const codec::Address to = addr("0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc");
  const auto& registry = codec::FunctionRegistry::builtin();
  const auto encode = [&](std::string_view sig, std::vector<codec::AbiValue> args) {
    for (const auto* f : registry.lookup(codec::selector_of(sig))) {
      if (f->signature == sig) return codec::encode_call(*f, args);
    }
    std::abort();
  };
  for (const auto& w : p.wallets) {
    if (!w.safe || !w.safe_version || w.chain_id > 1'000'000'000) continue;
    const auto chain = static_cast<std::uint64_t>(w.chain_id);
    for (int kind = 0; kind < 4; ++kind) {
      codec::SafeTxRequest r;
      r.domain = codec::SafeDomain{*w.safe_version, chain, w.address};
      r.tx.nonce = 1;
      if (kind == 0) {
        r.tx.to = usdc;
        r.tx.data = encode("transfer(address,uint256)", {codec::AbiValue::address(to), codec::AbiValue::uint(1'000'000)});
      } else if (kind == 1) {
        r.tx.to = to;
        r.tx.value = codec::U256("1000000000000000000");
      } else if (kind == 2) {
        r.tx.to = usdc;
        r.tx.data = encode("approve(address,uint256)", {codec::AbiValue::address(to), codec::AbiValue::uint(~codec::U256(0))});
      } else {
        r.tx.to = to;
        r.tx.operation = codec::Operation::kDelegateCall;
      }
      auto intent = codec::intent_from_safe_request(r, p.intent_context());
      if (intent) out.push_back(std::move(*intent));
    }
  }
  return out;
}

int rank(Verdict v) { return v == Verdict::kAllow ? 0 : v == Verdict::kHold ? 1 : 2; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto loaded = load_policy(text, any_file);
  if (!loaded) {
    require(!loaded.error().empty());
    for (const auto& problem : loaded.error()) {
      require(problem.path.starts_with("$"));
      require(!problem.problem.empty());
    }
    return 0;
  }
  auto again = load_policy(text, any_file);
  require(again.has_value() && again->hash == loaded->hash);

  EmptyStateView empty;
  PriceTable prices;
  for (const auto& intent : requests(*loaded)) {
    EvalInput in{&intent, "fuzz", 1'795'341'600'000, "fuzz-1"};
    auto d = evaluate(*loaded, in, prices, empty);
    require(d.has_value());
    if (d->verdict == Verdict::kDeny) require(d->effects.empty() && d->holds.empty());
    if (d->verdict == Verdict::kHold) require(!d->holds.empty());
    for (const auto& leg : d->legs) require(rank(leg.verdict) <= rank(d->verdict));
    auto d2 = evaluate(*loaded, in, prices, empty);
    require(d2.has_value() && to_json(*d2) == to_json(*d) && d2->effects == d->effects);
  }
  return 0;
}

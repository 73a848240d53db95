// Policy evaluation throughput: evaluations per second of the hot-wallet example
// (deploy/examples/hot-wallet.policy.json) with its two list files replaced by synthetic
// 10,000-address lists, against a SQLite state store holding the velocity state of 1,000,000 past
// decisions over the last 24 hours. Each figure is printed next to the same request evaluated
// against an EmptyStateView in the same run (pure rule evaluation, no state), as a ratio, because
// absolute rates move with the machine's load. Not a test: it never fails on a timing. It exits 70
// only when its own setup is wrong (a request that should be allowed is not), since the figures
// would then measure something else.
//
// The figures, per request (a USDC transfer, an ETH transfer, a MultiSendCallOnly batch of 10 USDC
// transfers, a transfer to a listed sanctioned address):
//   baseline      evaluate() against EmptyStateView;
//   check+debit   evaluate() inside StateStore::transact returning the decision's effects: the real
//                 path, one write transaction with an fsync per evaluation;
//   check only    evaluate() inside transact returning no effects: the state reads without the commit;
//   denied        the sanctioned transfer inside transact (denied before any limit is read).
//
// The history: every past decision was an allowed customer withdrawal, so it debited the policy's
// four USD ledgers (hourly and daily per wallet, hourly and daily per wallet and destination), i.e.
// four Debit rows per decision, to one of 10,000 customers, evenly spread over the last 24 h. The
// policy allows 1,000,000 USD a day per wallet, so 1,000,000 decisions a day average 0.50 USD
// (0.01 to 0.99); the requests measured move 1 to 10 USD so that the benchmark's own debits stay far
// from every limit (every verdict is counted and printed: a limit-exceeded denial would show).
//
//   build/release/bench/txguard_bench_policy [seconds-per-figure=3] [decisions=1000000] [dir]
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <expected>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "guard/store/sql_state_store.hpp"
#include "policy/codec/abi_registry.hpp"
#include "policy/codec/intent.hpp"
#include "policy/codec/safe.hpp"
#include "policy/document.hpp"
#include "policy/evaluate.hpp"
#include "policy/prices.hpp"

using namespace txguard::policy;
using namespace txguard::store;
using txguard::codec::AbiFunction;
using txguard::codec::AbiValue;
using txguard::codec::Address;
using txguard::codec::Bytes;
using txguard::codec::Intent;
using txguard::codec::MultiSendItem;
using txguard::codec::Operation;
using txguard::codec::SafeTxRequest;
using txguard::codec::SafeVersion;

namespace {

using Clock = std::chrono::steady_clock;

constexpr TimeMs kHour = 3'600'000;
constexpr TimeMs kDay = 24 * kHour;
constexpr TimeMs kNow = 1'795'341'600'000;  // 2026-11-22T10:00:00Z, the benchmark's "now"
constexpr std::size_t kListSize = 10'000;
constexpr std::size_t kCustomers = 10'000;
constexpr std::size_t kBatchItems = 10;
constexpr std::size_t kFillBatch = 10'000;  // Debit effects per fill transaction
const std::string kRequester = "withdrawal-service";

Address addr(std::string_view text) { return txguard::codec::parse_address(text).value(); }

const Address kSafe = addr("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4");
const Address kUsdc = addr("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
const Address kMultiSendCallOnly141 = addr("0x9641d764fc13c8B624c04430C7356C1C7C8102e2");
const U256 kUsdcUnit = 1'000'000;
const U256 kEther = U256("1000000000000000000");

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::exit(70);
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // kilobytes on Linux
}

std::uintmax_t size_of(const std::filesystem::path& p) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(p, ec);
  return ec ? 0 : size;
}

// `count` distinct pseudo-random EVM addresses, the same for the same seed on every run.
std::vector<Address> random_addresses(std::uint64_t seed, std::size_t count) {
  std::mt19937_64 rng(seed);
  std::vector<Address> out;
  out.reserve(count);
  while (out.size() < count) {
    Address a;
    for (std::size_t i = 0; i < a.bytes.size(); i += 4) {
      const auto word = rng();
      for (std::size_t j = 0; j < 4 && i + j < a.bytes.size(); ++j) {
        a.bytes[i + j] = static_cast<std::uint8_t>(word >> (8 * j));
      }
    }
    out.push_back(a);
  }
  return out;
}

// txguard's plain-lines list format: one 0x address per line.
std::string plain_list(const std::vector<Address>& addresses) {
  std::string text;
  text.reserve(addresses.size() * 43);
  for (const auto& a : addresses) text += txguard::codec::to_hex(a.bytes) + "\n";
  return text;
}

const AbiFunction& builtin(std::string_view signature, std::string_view tag) {
  for (const AbiFunction* f :
       txguard::codec::FunctionRegistry::builtin().lookup(txguard::codec::selector_of(signature))) {
    if (f->signature == signature && f->interface_tag == tag) return *f;
  }
  die("missing built-in " + std::string(signature));
}

Bytes erc20_transfer(const Address& to, const U256& amount) {
  const AbiValue args[] = {AbiValue::address(to), AbiValue::uint(amount)};
  return txguard::codec::encode_call(builtin("transfer(address,uint256)", "erc20"), args);
}

Bytes multisend_call(std::span<const MultiSendItem> items) {
  const AbiValue args[] = {AbiValue::bytes(txguard::codec::encode_multisend(items))};
  return txguard::codec::encode_call(builtin("multiSend(bytes)", "multisend"), args);
}

// A Safe 1.4.1 transaction of the hot wallet on chain 1, turned into its intent.
Intent safe_intent(const Policy& policy, const Address& to, Bytes data, Operation op, U256 value) {
  SafeTxRequest r;
  r.tx.to = to;
  r.tx.data = std::move(data);
  r.tx.operation = op;
  r.tx.value = std::move(value);
  r.tx.nonce = 5;
  r.domain = txguard::codec::SafeDomain{SafeVersion::k1_4_1, 1, kSafe};
  auto intent = txguard::codec::intent_from_safe_request(r, policy.intent_context());
  if (!intent) die("intent: " + intent.error().message());
  return std::move(*intent);
}

std::expected<std::string, std::string> read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected("cannot open " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Request {
  std::string name;
  Intent intent;
  Verdict expected;
};

struct Tally {
  std::size_t allow = 0, deny = 0, hold = 0, effects = 0;
  void add(const Decision& d) {
    switch (d.verdict) {
      case Verdict::kAllow:
        ++allow;
        break;
      case Verdict::kDeny:
        ++deny;
        break;
      case Verdict::kHold:
        ++hold;
        break;
    }
    effects += d.effects.size();
  }
  std::size_t count(Verdict v) const { return v == Verdict::kAllow ? allow : v == Verdict::kDeny ? deny : hold; }
};

struct Result {
  double per_second = 0;
  std::size_t iterations = 0;
  Tally tally;
};

// Runs `evaluate_once` (which must add its decision to the tally) until `seconds` have passed.
Result measure(double seconds, const std::function<void(Tally&)>& evaluate_once) {
  Result r;
  Tally warmup;
  for (int i = 0; i < 10; ++i) evaluate_once(warmup);
  const auto start = Clock::now();
  while (seconds_since(start) < seconds) {
    evaluate_once(r.tally);
    ++r.iterations;
  }
  r.per_second = static_cast<double>(r.iterations) / seconds_since(start);
  return r;
}

void print_row(const std::string& label, const Request& request, const Result& r, double baseline) {
  const std::size_t expected = r.tally.count(request.expected);
  std::printf("%-34s %10.0f /s %8.3f   %zu %s, %zu effects%s\n", label.c_str(), r.per_second, r.per_second / baseline,
              expected, std::string(to_string(request.expected)).c_str(), r.tally.effects,
              expected == r.iterations ? "" : "  <-- UNEXPECTED VERDICTS");
  if (expected != r.iterations) {
    std::printf("    allow %zu, deny %zu, hold %zu\n", r.tally.allow, r.tally.deny, r.tally.hold);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const long decisions = argc > 2 ? std::atol(argv[2]) : 1'000'000;
  std::string pattern = (argc > 3 ? std::filesystem::path(argv[3]) : std::filesystem::temp_directory_path()) /
                        "txguard-policy-bench-XXXXXX";
  if (seconds <= 0 || decisions < 0) die("usage: txguard_bench_policy [seconds-per-figure] [decisions] [dir]");

  // 1. The policy, with both list files served as synthetic 10,000-address lists.
  const std::filesystem::path examples = std::filesystem::path(TXGUARD_SOURCE_DIR) / "deploy" / "examples";
  const std::vector<Address> ofac = random_addresses(1, kListSize);
  const std::vector<Address> dprk = random_addresses(2, kListSize);
  const std::vector<Address> customers = random_addresses(3, kCustomers);
  const std::string ofac_text = plain_list(ofac);
  const std::string dprk_text = plain_list(dprk);
  const FileReader reader = [&](const std::string& path) -> std::expected<std::string, std::string> {
    if (path == "../lists/ofac-sdn-eth.list") return ofac_text;
    if (path == "../lists/fbi-dprk.list") return dprk_text;
    return read_text(examples / path);
  };
  auto policy_text = read_text(examples / "hot-wallet.policy.json");
  if (!policy_text) die(policy_text.error());
  const auto load_start = Clock::now();
  auto loaded = load_policy(*policy_text, reader);
  if (!loaded) {
    std::string all = "policy does not load:";
    for (const auto& problem : loaded.error()) all += "\n  " + problem.message();
    die(all);
  }
  const Policy& policy = *loaded;
  const double load_s = seconds_since(load_start);
  for (const char* name : {"ofac-sanctioned", "dprk-attributed"}) {
    const NamedList* list = policy.find_list(name);
    if (list == nullptr || list->list.size() != kListSize) die(std::string("list not loaded: ") + name);
  }
  for (const auto& c : customers) {
    if (policy.find_list("ofac-sanctioned")->list.contains(c) ||
        policy.find_list("dprk-attributed")->list.contains(c)) {
      die("a synthetic customer is on a synthetic list; change the seeds");
    }
  }
  std::printf("policy %s: 2 lists of %zu addresses, loaded in %.0f ms\n", policy.name.c_str(), kListSize, load_s * 1e3);

  auto prices = parse_price_table(R"({"prices": {"ETH": {"usd": "3000", "at": )" + std::to_string(kNow) + "}}}");
  if (!prices) die("prices: " + prices.error());

  // 2. The requests, built once: decoding is measured by txguard_bench_decode.
  std::vector<MultiSendItem> items;
  std::vector<Bytes> item_data;
  for (std::size_t i = 0; i < kBatchItems; ++i) item_data.push_back(erc20_transfer(customers[100 + i], kUsdcUnit));
  for (const auto& data : item_data) items.push_back({Operation::kCall, kUsdc, 0, data});
  const std::vector<Request> requests = {
      {"a: USDC transfer of 1 USDC to a customer",
       safe_intent(policy, kUsdc, erc20_transfer(customers[17], kUsdcUnit), Operation::kCall, 0), Verdict::kAllow},
      {"b: ETH transfer of 0.0005 ETH (1.50 USD)",
       safe_intent(policy, customers[42], {}, Operation::kCall, kEther / 2000), Verdict::kAllow},
      {"c: MultiSendCallOnly batch of 10 USDC transfers",
       safe_intent(policy, kMultiSendCallOnly141, multisend_call(items), Operation::kDelegateCall, 0), Verdict::kAllow},
      {"d: USDC transfer to a listed sanctioned address",
       safe_intent(policy, kUsdc, erc20_transfer(ofac[kListSize / 2], kUsdcUnit), Operation::kCall, 0), Verdict::kDeny},
  };

  // Ledger keys exactly as the evaluator builds them (policy/evaluate.cpp, apply_limits).
  std::vector<LedgerKey> wallet_keys;
  std::vector<std::vector<LedgerKey>> dest_keys(customers.size());
  for (const auto& spec : policy.limits) {
    if (spec.per_destination) {
      for (std::size_t c = 0; c < customers.size(); ++c) {
        dest_keys[c].push_back({spec.name, ScopeKey::make({.wallet = kSafe,
                                                           .asset = std::nullopt,
                                                           .destination = customers[c],
                                                           .rule = std::nullopt,
                                                           .requester = std::nullopt})});
      }
    } else {
      wallet_keys.push_back({spec.name, ScopeKey::make({.wallet = kSafe,
                                                        .asset = std::nullopt,
                                                        .destination = std::nullopt,
                                                        .rule = std::nullopt,
                                                        .requester = std::nullopt})});
    }
  }
  std::size_t next_id = 0;
  auto input_for = [&](const Request& r) {
    return EvalInput{&r.intent, kRequester, kNow, "bench-" + std::to_string(next_id++)};
  };

  // Every request judged once against empty state, so a wrong setup is caught before any timing.
  const EmptyStateView empty;
  for (const auto& r : requests) {
    auto d = evaluate(policy, input_for(r), *prices, empty);
    if (!d) die("evaluate: " + d.error().message());
    std::printf("  %-50s %s (rule %s, %zu legs, %zu ledgers)\n", r.name.c_str(),
                std::string(to_string(d->verdict)).c_str(), d->rule.c_str(), d->legs.size(), d->limits.size());
    if (d->verdict != r.expected) die("unexpected verdict for " + r.name + ":\n" + to_json(*d).dump(2));
  }
  // The history must land in the ledgers the evaluator reads: request a's ledgers are the wallet's and
  // its customer's.
  {
    auto d = evaluate(policy, input_for(requests[0]), *prices, empty);
    std::vector<LedgerKey> expected = wallet_keys;
    expected.insert(expected.end(), dest_keys[17].begin(), dest_keys[17].end());
    std::vector<LedgerKey> read;
    for (const auto& use : d->limits) read.push_back({use.limit, ScopeKey{use.scope}});
    std::sort(expected.begin(), expected.end());
    std::sort(read.begin(), read.end());
    if (read != expected) die("the benchmark's ledger keys are not the evaluator's:\n" + to_json(*d).dump(2));
  }

  // 3. The state store: `decisions` past withdrawals, each debiting the four USD ledgers.
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 70;
  }
  const std::filesystem::path dir = pattern;
  const std::string path = (dir / "state.db").string();
  auto opened = SqlStateStore::open(path);
  if (!opened) die("open: " + opened.error().message());
  SqlStateStore& store = **opened;

  std::minstd_rand rng(42);
  std::uniform_int_distribution<std::size_t> pick_customer(0, customers.size() - 1);
  std::uniform_int_distribution<std::uint64_t> pick_micro_usd(10'000, 990'000);
  const auto fill_start = Clock::now();
  std::size_t debits = 0;
  Effects batch;
  auto flush = [&] {
    auto ok = store.transact([&](const StateView&) -> StateResult<Effects> { return std::move(batch); });
    if (!ok) die("fill: " + ok.error().message());
    batch.clear();
  };
  for (long i = 0; i < decisions; ++i) {
    const TimeMs at = kNow - kDay + 1 + (kDay - 1) * i / decisions;  // inside (now - 24 h, now)
    const U256 amount(pick_micro_usd(rng));
    const std::size_t c = pick_customer(rng);
    for (const auto& key : wallet_keys) batch.emplace_back(Debit{key, amount, at});
    for (const auto& key : dest_keys[c]) batch.emplace_back(Debit{key, amount, at});
    debits += wallet_keys.size() + dest_keys[c].size();
    if (batch.size() >= kFillBatch) flush();
  }
  if (!batch.empty()) flush();
  const double fill_s = seconds_since(fill_start);
  std::printf(
      "state: %ld past decisions (%zu debits on %zu ledgers, %zu customers) over the last 24 h, "
      "filled in %.1f s (%.0f debits/s); %.1f MB (+ %.1f MB WAL)\n",
      decisions, debits, wallet_keys.size() + customers.size() * dest_keys[0].size(), customers.size(), fill_s,
      static_cast<double>(debits) / fill_s, static_cast<double>(size_of(path)) / 1e6,
      static_cast<double>(size_of(path + "-wal")) / 1e6);

  // What request c reads from the filled store (its ledgers already hold the history).
  {
    std::optional<Decision> decision;
    auto ok = store.transact([&](const StateView& view) -> StateResult<Effects> {
      auto d = evaluate(policy, input_for(requests[2]), *prices, view);
      if (!d) return std::unexpected(d.error());
      decision = std::move(*d);
      return Effects{};
    });
    if (!ok) die("transact: " + ok.error().message());
    if (decision->verdict != Verdict::kAllow)
      die("c is not allowed on the filled store:\n" + to_json(*decision).dump(2));
    std::printf("request c on the filled store: %s, %zu ledgers read, e.g.\n",
                std::string(to_string(decision->verdict)).c_str(), decision->limits.size());
    std::set<std::string> shown;  // the wallet's ledgers and one customer's
    for (const auto& use : decision->limits) {
      const bool per_dest = use.scope.find("dest=") != std::string::npos;
      if (per_dest && !shown.insert(use.limit).second) continue;
      std::printf("  %-20s %-60s used %s micro-USD\n", use.limit.c_str(), use.scope.c_str(),
                  txguard::codec::to_decimal(use.used).c_str());
    }
  }

  // 4. The figures.
  std::printf("\n%-34s %13s %8s   %s\n", "figure: request", "evaluations", "ratio", "verdicts, effects");
  std::printf(
      "(ratio: per the same request's baseline; effects: Debit effects the decisions returned, applied only by "
      "check+debit)\n");
  std::vector<double> baselines;
  for (const auto& r : requests) {
    const Result res = measure(seconds, [&](Tally& tally) {
      auto d = evaluate(policy, input_for(r), *prices, empty);
      if (!d) die("evaluate: " + d.error().message());
      tally.add(*d);
    });
    baselines.push_back(res.per_second);
    print_row("baseline, EmptyStateView: " + r.name.substr(0, 1), r, res, res.per_second);
  }

  // The real path: evaluate inside the write transaction and apply the decision's effects.
  auto in_transaction = [&](const Request& r, bool apply) {
    return measure(seconds, [&](Tally& tally) {
      std::optional<Decision> decision;
      auto ok = store.transact([&](const StateView& view) -> StateResult<Effects> {
        auto d = evaluate(policy, input_for(r), *prices, view);
        if (!d) return std::unexpected(d.error());
        decision = std::move(*d);
        return apply ? decision->effects : Effects{};
      });
      if (!ok) die("transact: " + ok.error().message());
      tally.add(*decision);
    });
  };
  for (std::size_t i = 0; i < 3; ++i) {
    print_row("check+debit, fsync: " + requests[i].name.substr(0, 1), requests[i], in_transaction(requests[i], true),
              baselines[i]);
  }
  for (std::size_t i = 0; i < 3; ++i) {
    print_row("check only, no commit: " + requests[i].name.substr(0, 1), requests[i],
              in_transaction(requests[i], false), baselines[i]);
  }
  print_row("denied in transact: " + requests[3].name.substr(0, 1), requests[3], in_transaction(requests[3], true),
            baselines[3]);

  std::printf("\npeak RSS: %.1f MB\n", static_cast<double>(peak_rss_kb()) / 1024.0);
  opened->reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return 0;
}

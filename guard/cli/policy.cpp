// txguard policy check: validate a policy file and print its hash.
// txguard eval: judge one request with a policy, print the decision.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "guard/cli/cli.hpp"
#include "guard/service/requests.hpp"
#include "policy/codec/json_value.hpp"
#include "guard/store/sql_state_store.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/document.hpp"
#include "policy/evaluate.hpp"
#include "policy/prices.hpp"
#include "policy/units.hpp"

namespace txguard::cli {
namespace {

namespace fs = std::filesystem;
using policy::Policy;

constexpr std::string_view kPolicyUsage =
    "usage: txguard policy check FILE\n"
    "\n"
    "Validates a policy file and the list files it names. Prints the policy's name, its canonical hash\n"
    "(recorded with every decision) and the hash and size of each list as JSON. Every problem is\n"
    "reported on its own line as FILE: JSON-PATH: what is wrong; fix: what to do.\n"
    "Paths in the policy (lists, prices) are relative to the policy file's directory.\n"
    "\n"
    "exit status: 0 valid, 64 usage error, 65 the policy has problems, 66 it cannot be read.\n";

constexpr std::string_view kEvalUsage =
    "usage: txguard eval --policy FILE --request FILE [options]\n"
    "\n"
    "Judges one signing request with a policy and prints the decision as JSON: the verdict, the rule,\n"
    "every leg with its verdict, the reasons (stable codes), holds, limits read and the policy, list\n"
    "and price hashes. Nothing is signed.\n"
    "The request is a raw transaction (0x-hex), a Safe transaction (JSON: to, value, data, operation,\n"
    "safeTxGas, baseGas, gasPrice, gasToken, refundReceiver, nonce, chainId, safe, safeVersion) or\n"
    "eth_signTypedData_v4 JSON; given literally, as a file, or on standard input (-).\n"
    "\n"
    "options:\n"
    "  --state DB         velocity state (windows, buckets, reservations) from this SQLite store; the\n"
    "                     decision's effects are applied to it (debits, reservations) unless --dry-run\n"
    "  --dry-run          with --state: read the state, change nothing\n"
    "  --at TIME          evaluate at this time (RFC 3339 UTC or unix ms); default: now\n"
    "  --requester NAME   the requesting client's name (default \"cli\")\n"
    "  --prices FILE      the price table (default: the policy's prices.file)\n"
    "  --shadow FILE      also evaluate this policy, without effects, and print its decision as \"shadow\"\n"
    "  --signer ADDR      the account that signs (typed data, unsigned transactions)\n"
    "  --decision-id ID   names the decision and its reservations (default: eval-<time>-<random>)\n"
    "\n"
    "exit status: 0 allow, 10 deny, 11 hold, 64 usage error, 65 bad policy or request, 66 a file that\n"
    "cannot be read or a state store that is not one, 75 the state store is unavailable or failed\n"
    "(nothing was changed).\n";

int usage(std::string_view command, const std::string& message) {
  std::fprintf(stderr, "txguard %.*s: %s\n(run 'txguard %.*s --help' for usage)\n", static_cast<int>(command.size()),
               command.data(), message.c_str(), static_cast<int>(command.size()), command.data());
  return kExitUsage;
}

/// Reads files named by the policy relative to its directory.
policy::FileReader reader_for(const std::string& policy_path) {
  const fs::path dir = fs::path(policy_path).parent_path();
  return [dir](const std::string& path) {
    const fs::path p(path);
    return read_file((p.is_absolute() ? p : dir / p).string());
  };
}

}  // namespace

/// Loads a policy file, printing every problem as "FILE: PATH: problem; fix: ...". Returns the exit
/// code on failure.
std::expected<Policy, int> load_policy_file(const std::string& path, std::string_view command, PolicyTexts* texts) {
  auto text = read_file(path);
  if (!text) {
    std::fprintf(stderr, "txguard %.*s: %s: %s\n", static_cast<int>(command.size()), command.data(), path.c_str(),
                 text.error().c_str());
    return std::unexpected(kExitNoInput);
  }
  policy::FileReader reader = reader_for(path);
  if (texts != nullptr) {
    texts->policy = *text;
    texts->files.clear();
    reader = [inner = std::move(reader), texts](const std::string& file) {
      auto read = inner(file);
      if (read) texts->files[file] = *read;
      return read;
    };
  }
  auto loaded = policy::load_policy(*text, reader);
  if (!loaded) {
    for (const auto& problem : loaded.error()) std::fprintf(stderr, "%s: %s\n", path.c_str(), problem.message().c_str());
    std::fprintf(stderr, "txguard %.*s: %s: %zu problem%s\n", static_cast<int>(command.size()), command.data(),
                 path.c_str(), loaded.error().size(), loaded.error().size() == 1 ? "" : "s");
    return std::unexpected(kExitDataErr);
  }
  return std::move(*loaded);
}

/// The price table from `explicit_path`, else the policy's prices.file, else empty.
std::expected<policy::PriceTable, int> load_prices(const Policy& p, const std::string& policy_path,
                                                   const std::optional<std::string>& explicit_path,
                                                   std::string_view command, std::optional<std::string>* text_out) {
  std::optional<std::string> path = explicit_path;
  if (!path && p.prices.file) {
    const fs::path f(*p.prices.file);
    path = (f.is_absolute() ? f : fs::path(policy_path).parent_path() / f).string();
  }
  if (!path) return policy::PriceTable{};
  auto text = read_file(*path);
  if (!text) {
    std::fprintf(stderr, "txguard %.*s: prices %s: %s\n", static_cast<int>(command.size()), command.data(),
                 path->c_str(), text.error().c_str());
    return std::unexpected(kExitNoInput);
  }
  if (text_out != nullptr) *text_out = *text;
  auto table = policy::parse_price_table(*text);
  if (!table) {
    std::fprintf(stderr, "txguard %.*s: prices %s: %s\n", static_cast<int>(command.size()), command.data(),
                 path->c_str(), table.error().c_str());
    return std::unexpected(kExitDataErr);
  }
  return std::move(*table);
}

int run_policy(Args args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kPolicyUsage.data(), args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] != "check") return usage("policy", "unknown subcommand '" + std::string(args[0]) + "'");
  if (args.size() != 2) return usage("policy", "check needs exactly one FILE");
  const std::string path(args[1]);
  auto loaded = load_policy_file(path, "policy check");
  if (!loaded) return loaded.error();
  nlohmann::json out = policy::summary_json(*loaded);
  out["file"] = path;
  std::cout << out.dump(2) << '\n';
  return kExitOk;
}

int run_eval(Args args) {
  std::optional<std::string> policy_path, request_arg, state_path, prices_path, shadow_path, decision_id;
  std::optional<policy::TimeMs> at;
  std::string requester = "cli";
  bool dry_run = false;
  std::optional<codec::Address> signer;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return std::string(args[++i]);
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kEvalUsage.data(), stdout);
      return kExitOk;
    }
    std::optional<std::string>* target = nullptr;
    if (a == "--policy") target = &policy_path;
    else if (a == "--request") target = &request_arg;
    else if (a == "--state") target = &state_path;
    else if (a == "--prices") target = &prices_path;
    else if (a == "--shadow") target = &shadow_path;
    else if (a == "--decision-id") target = &decision_id;
    if (target) {
      *target = value();
      if (!*target) return usage("eval", std::string(a) + " needs a value");
      continue;
    }
    if (a == "--dry-run") {
      dry_run = true;
    } else if (a == "--requester") {
      auto v = value();
      if (!v || v->empty()) return usage("eval", "--requester needs a name");
      requester = *v;
    } else if (a == "--at") {
      auto v = value();
      if (!v) return usage("eval", "--at needs a time");
      auto t = policy::parse_time(*v);
      if (!t) return usage("eval", "--at: " + t.error());
      at = *t;
    } else if (a == "--signer") {
      auto v = value();
      if (!v) return usage("eval", "--signer needs an address");
      auto parsed = codec::parse_address(*v);
      if (!parsed) return usage("eval", "--signer: " + parsed.error().message());
      signer = *parsed;
    } else {
      return usage("eval", "unknown argument '" + std::string(a) + "'");
    }
  }
  if (!policy_path) return usage("eval", "--policy FILE is required");
  if (!request_arg) return usage("eval", "--request FILE is required");
  if (dry_run && !state_path) return usage("eval", "--dry-run only makes sense with --state");

  auto loaded = load_policy_file(*policy_path, "eval");
  if (!loaded) return loaded.error();
  const Policy& policy = *loaded;
  auto prices = load_prices(policy, *policy_path, prices_path, "eval");
  if (!prices) return prices.error();
  std::optional<Policy> shadow;
  if (shadow_path) {
    auto s = load_policy_file(*shadow_path, "eval");
    if (!s) return s.error();
    shadow = std::move(*s);
  }

  auto text = read_input(std::string_view(*request_arg), "eval");
  if (!text) return kExitNoInput;
  codec::IntentContext context = policy.intent_context();
  context.signer = signer;
  auto intent = decode_request(*text, context);
  if (!intent) {
    std::fprintf(stderr, "txguard eval: request: %s\n", intent.error().c_str());
    return kExitDataErr;
  }
  // Typed data is read exactly as the service reads it: a SafeTx is that Safe's transaction (POST
  // /v1/safe/cosign's picture, the pinned version), a SafeMessage that Safe's message.
  if (intent->kind == codec::RequestKind::kTypedData) {
    auto object = codec::parse_json_strict(*text, 64);
    if (!object) {
      std::fprintf(stderr, "txguard eval: request: %s\n", object.error().message().c_str());
      return kExitDataErr;
    }
    auto as_safe = service::typed_data_request(*object, policy, requester, signer.value_or(codec::Address{}), std::nullopt);
    if (!as_safe) {
      std::fprintf(stderr, "txguard eval: request: %s\n", as_safe.error().message.c_str());
      return kExitDataErr;
    }
    intent = std::move(as_safe->intent);
  }

  const policy::TimeMs now =
      at.value_or(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                      .count());
  // Reservations are named after the decision: two runs at the same --at must not collide.
  if (!decision_id) {
    std::random_device rd;
    char suffix[9];
    std::snprintf(suffix, sizeof suffix, "%08x", rd());
    decision_id = "eval-" + std::to_string(now) + "-" + suffix;
  }
  policy::EvalInput input{&*intent, requester, now, *decision_id};

  std::optional<policy::PriceTable> shadow_prices;
  if (shadow) {
    auto sp = load_prices(*shadow, *shadow_path, prices_path, "eval");
    if (!sp) return sp.error();
    shadow_prices = std::move(*sp);
  }

  std::optional<policy::Decision> decision;
  std::optional<policy::Decision> shadow_decision;
  // The shadow policy sees the same state and its effects are never applied.
  const auto judge = [&](const policy::StateView& view) -> policy::StateResult<policy::Effects> {
    auto d = policy::evaluate(policy, input, *prices, view);
    if (!d) return std::unexpected(d.error());
    decision = std::move(*d);
    if (shadow) {
      auto s = policy::evaluate(*shadow, input, *shadow_prices, view);
      if (!s) return std::unexpected(s.error());
      shadow_decision = std::move(*s);
    }
    return dry_run ? policy::Effects{} : decision->effects;
  };
  if (state_path) {
    auto store = store::SqlStateStore::open(*state_path);
    if (!store) {
      std::fprintf(stderr, "txguard eval: state %s: %s\n", store::redact_database(*state_path).c_str(), store.error().message().c_str());
      return store.error().code == policy::StateErrc::kUnavailable ? kExitTempFail : kExitDataErr;
    }
    // Expired holds stop counting before the limits are read (fail-closed otherwise, never open).
    if (!dry_run) {
      if (auto expired = (*store)->expire_reservations(now); !expired) {
        std::fprintf(stderr, "txguard eval: state %s: %s\n", store::redact_database(*state_path).c_str(), expired.error().message().c_str());
        return kExitTempFail;
      }
    }
    auto applied = (*store)->transact(judge);
    if (!applied) {
      std::fprintf(stderr, "txguard eval: state %s: %s\n", store::redact_database(*state_path).c_str(), applied.error().message().c_str());
      const auto code = applied.error().code;
      return code == policy::StateErrc::kUnavailable || code == policy::StateErrc::kIo ? kExitTempFail : kExitDataErr;
    }
  } else {
    const policy::EmptyStateView empty;
    if (!judge(empty)) return kExitSoftware;  // an empty view never fails
  }

  nlohmann::json out = policy::to_json(*decision);
  if (shadow_decision) out["shadow"] = policy::to_json(*shadow_decision);
  std::cout << out.dump(2) << '\n';
  switch (decision->verdict) {
    case policy::Verdict::kAllow: return kExitOk;
    case policy::Verdict::kDeny: return kExitDeny;
    case policy::Verdict::kHold: return kExitHold;
  }
  return kExitSoftware;
}

}  // namespace txguard::cli

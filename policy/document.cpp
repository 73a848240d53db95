#include "policy/document.hpp"

#include <algorithm>
#include <set>
#include <unordered_set>

#include "policy/codec/abi.hpp"
#include "policy/codec/abi_registry.hpp"
#include "policy/codec/event_log.hpp"
#include "policy/codec/json_value.hpp"
#include "policy/codec/keccak.hpp"

namespace txguard::policy {

using codec::Address;
using Json = nlohmann::json;

std::string PolicyProblem::message() const {
  std::string out = path + ": " + problem;
  if (!fix.empty()) out += "; fix: " + fix;
  return out;
}

std::string_view to_string(Protection p) noexcept {
  switch (p) {
    case Protection::kUnsafeDelegateCall: return "unsafe-delegatecall";
    case Protection::kSafeConfigurationChange: return "safe-configuration-change";
    case Protection::kUnknownSelector: return "unknown-selector";
    case Protection::kGasRefund: return "gas-refund";
    case Protection::kContractCreation: return "contract-creation";
    case Protection::kEip7702Delegation: return "eip7702-delegation";
    case Protection::kUnlimitedApproval: return "unlimited-approval";
  }
  return "unknown";
}

std::optional<Protection> parse_protection(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kProtectionCount; ++i) {
    const auto p = static_cast<Protection>(i);
    if (to_string(p) == name) return p;
  }
  return std::nullopt;
}

std::string_view to_string(RuleEffect e) noexcept {
  switch (e) {
    case RuleEffect::kAllow: return "allow";
    case RuleEffect::kDeny: return "deny";
    case RuleEffect::kHold: return "hold";
  }
  return "unknown";
}

std::string_view to_string(LegKind k) noexcept {
  switch (k) {
    case LegKind::kTransfer: return "transfer";
    case LegKind::kGrant: return "grant";
    case LegKind::kConfigurationChange: return "configuration-change";
    case LegKind::kCall: return "call";
    case LegKind::kMessage: return "message";
    case LegKind::kFee: return "fee";
  }
  return "unknown";
}

std::string_view to_string(CompareOp op) noexcept {
  switch (op) {
    case CompareOp::kEq: return "==";
    case CompareOp::kNe: return "!=";
    case CompareOp::kLt: return "<";
    case CompareOp::kLe: return "<=";
    case CompareOp::kGt: return ">";
    case CompareOp::kGe: return ">=";
  }
  return "?";
}

const NamedList* Policy::find_list(std::string_view list_name) const noexcept {
  for (const auto& l : lists) {
    if (l.name == list_name) return &l;
  }
  return nullptr;
}

const WalletSpec* Policy::find_wallet(const U256& chain_id, const Address& address) const noexcept {
  for (const auto& w : wallets) {
    if (w.chain_id == chain_id && w.address == address) return &w;
  }
  return nullptr;
}

std::optional<std::size_t> Policy::find_asset(const U256& chain_id, const std::optional<Address>& token) const noexcept {
  for (std::size_t i = 0; i < assets.size(); ++i) {
    if (assets[i].chain_id == chain_id && assets[i].address == token) return i;
  }
  return std::nullopt;
}

codec::IntentContext Policy::intent_context() const {
  codec::IntentContext context;
  for (const auto& w : wallets) {
    if (w.safe && w.safe_version) context.safes[w.address] = codec::IntentContext::KnownSafe{*w.safe_version, std::nullopt};
  }
  return context;
}

std::optional<std::size_t> BridgesSpec::find(std::string_view route) const noexcept {
  for (std::size_t i = 0; i < routes.size(); ++i) {
    if (routes[i].name == route) return i;
  }
  return std::nullopt;
}

TimeMs Policy::longest_window_ms() const noexcept {
  TimeMs out = 0;
  for (const auto& l : limits) {
    if (l.window) out = std::max(out, l.window->duration_ms);
  }
  return out;
}

std::string canonical_json(const Json& document) { return document.dump(); }

namespace {

constexpr std::size_t kMaxNameLength = 64;

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  const auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  };
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), ok);
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

template <class Named>
std::string names_of(const std::vector<Named>& items) {
  if (items.empty()) return "(none declared)";
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item.name;
  }
  return out;
}

class Loader {
 public:
  explicit Loader(const FileReader& read) : read_(read) {}

  std::expected<Policy, std::vector<PolicyProblem>> load(std::string_view text) {
    auto json = codec::parse_json_strict(text, 64, true);
    if (!json) {
      const auto& e = json.error();
      std::string where = e.where.empty() ? "$" : e.where;
      std::string what = e.where.empty() ? "not valid JSON at byte " + std::to_string(e.offset) + ": " + e.detail
                                         : e.detail;
      return std::unexpected(std::vector<PolicyProblem>{
          {where, what, "write JSON (comments // and /* */ are allowed; every key once)"}});
    }
    const Json& doc = *json;
    if (!doc.is_object()) {
      problem("$", "a policy is a JSON object", "start the file with {\"txguard_policy\": 1, ...}");
      return std::unexpected(problems_);
    }
    reject_floats(doc, "$");
    fields(doc, "$", {"txguard_policy", "name", "description", "chains", "assets", "prices", "lists", "approvers",
                      "wallets", "limits", "rules", "bridges"},
           {"txguard_policy", "name", "wallets", "rules"});
    if (doc.contains("txguard_policy") &&
        !(doc["txguard_policy"].is_number_integer() && doc["txguard_policy"].get<std::int64_t>() == kPolicyFormat)) {
      problem("$.txguard_policy", "format version " + doc["txguard_policy"].dump() + " is not supported",
              "this txguard reads format 1: \"txguard_policy\": 1");
    }
    if (doc.contains("name")) p_.name = string_at(doc["name"], "$.name").value_or("");
    if (doc.contains("chains")) load_chains(doc["chains"]);
    if (doc.contains("assets")) load_assets(doc["assets"]);
    if (doc.contains("lists")) load_lists(doc["lists"]);
    if (doc.contains("approvers")) load_approvers(doc["approvers"]);
    if (doc.contains("prices")) load_prices(doc["prices"]);
    if (doc.contains("wallets")) load_wallets(doc["wallets"]);
    if (doc.contains("limits")) load_limits(doc["limits"]);
    if (doc.contains("rules")) load_rules(doc["rules"]);
    if (doc.contains("bridges")) load_bridges(doc["bridges"]);
    if (!problems_.empty()) return std::unexpected(problems_);
    p_.hash = codec::keccak256(codec::view(canonical_json(doc)));
    return std::move(p_);
  }

 private:
  void problem(std::string path, std::string what, std::string fix = {}) {
    problems_.push_back({std::move(path), std::move(what), std::move(fix)});
  }

  void reject_floats(const Json& v, const std::string& path) {
    if (v.is_number_float()) {
      problem(path, "a number with a fraction or exponent (" + v.dump() + ")",
              "write amounts and prices as decimal strings, e.g. \"1500.25\": JSON numbers are not exact");
    } else if (v.is_object()) {
      for (const auto& [k, child] : v.items()) reject_floats(child, codec::json_path(path, k));
    } else if (v.is_array()) {
      for (std::size_t i = 0; i < v.size(); ++i) reject_floats(v[i], codec::json_path(path, i));
    }
  }

  /// Checks that `obj` is an object with only `allowed` keys and every `required` key.
  bool fields(const Json& obj, const std::string& path, std::initializer_list<std::string_view> allowed,
              std::initializer_list<std::string_view> required = {}) {
    if (!obj.is_object()) {
      problem(path, "expected an object, found " + std::string(obj.type_name()));
      return false;
    }
    bool ok = true;
    for (const auto& [k, v] : obj.items()) {
      (void)v;
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        problem(codec::json_path(path, k), "unknown field " + in_quotes(k), "remove it or use one of: " + list);
        ok = false;
      }
    }
    for (auto r : required) {
      if (!obj.contains(std::string(r))) {
        problem(codec::json_path(path, r), "missing", "add the required field " + in_quotes(r));
        ok = false;
      }
    }
    return ok;
  }

  std::optional<std::string> string_at(const Json& v, const std::string& path) {
    if (!v.is_string()) {
      problem(path, "expected a string, found " + std::string(v.type_name()));
      return std::nullopt;
    }
    return v.get<std::string>();
  }

  std::optional<std::string> name_at(const std::string& name, const std::string& path) {
    if (!valid_name(name)) {
      problem(path, "the name " + in_quotes(name) + " is not allowed",
              "use 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit");
      return std::nullopt;
    }
    return name;
  }

  std::optional<Decimal> decimal_at(const Json& v, const std::string& path) {
    if (v.is_number_unsigned()) return Decimal{U256(v.get<std::uint64_t>()), 0};
    if (!v.is_string()) {
      if (!v.is_number_float()) problem(path, "expected a decimal string such as \"1500.25\"");
      return std::nullopt;
    }
    auto d = parse_decimal(v.get_ref<const std::string&>());
    if (!d) {
      problem(path, d.error(), "write a non-negative decimal such as \"1500.25\"");
      return std::nullopt;
    }
    return *d;
  }

  std::optional<TimeMs> duration_at(const Json& v, const std::string& path, bool allow_zero) {
    auto s = string_at(v, path);
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d) {
      problem(path, d.error());
      return std::nullopt;
    }
    if (!allow_zero && *d == 0) {
      problem(path, "a zero duration", "give a positive duration such as \"1h\"");
      return std::nullopt;
    }
    return *d;
  }

  std::optional<Address> address_at(const Json& v, const std::string& path) {
    auto a = codec::json_address(v, path);
    if (!a) {
      problem(path, a.error().detail.empty() ? a.error().message() : a.error().detail,
              "write 0x and 40 hex digits (mixed case must be a valid EIP-55 checksum)");
      return std::nullopt;
    }
    return *a;
  }

  /// A chain given by declared name or by id.
  std::optional<U256> chain_at(const Json& v, const std::string& path) {
    if (v.is_number_unsigned()) return U256(v.get<std::uint64_t>());
    if (v.is_string()) {
      for (const auto& c : p_.chains) {
        if (c.name == v.get_ref<const std::string&>()) return c.id;
      }
    }
    problem(path, "unknown chain " + v.dump(),
            "use a chain id (1) or a name declared under $.chains: " + names_of(p_.chains));
    return std::nullopt;
  }

  template <class Named>
  std::optional<std::size_t> index_of(const std::vector<Named>& items, const Json& v, const std::string& path,
                                      std::string_view what, std::string_view section) {
    if (v.is_string()) {
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i].name == v.get_ref<const std::string&>()) return i;
      }
    }
    problem(path, "unknown " + std::string(what) + " " + v.dump(),
            "declare it under " + std::string(section) + ", or use one of: " + names_of(items));
    return std::nullopt;
  }

  /// A string or an array of strings/values.
  static std::vector<std::pair<const Json*, std::string>> one_or_many(const Json& v, const std::string& path) {
    std::vector<std::pair<const Json*, std::string>> out;
    if (v.is_array()) {
      for (std::size_t i = 0; i < v.size(); ++i) out.emplace_back(&v[i], codec::json_path(path, i));
    } else {
      out.emplace_back(&v, path);
    }
    return out;
  }

  void load_chains(const Json& v) {
    if (!v.is_object()) return problem("$.chains", "expected an object of name -> {\"id\": N}");
    for (const auto& [name, c] : v.items()) {
      const std::string path = "$.chains." + name;
      if (!name_at(name, path) || !fields(c, path, {"id"}, {"id"})) continue;
      if (!c["id"].is_number_unsigned() || c["id"].get<std::uint64_t>() == 0) {
        problem(path + ".id", "expected a positive chain id", "e.g. 1 for Ethereum mainnet");
        continue;
      }
      p_.chains.push_back({name, U256(c["id"].get<std::uint64_t>())});
    }
  }

  void load_assets(const Json& v) {
    if (!v.is_object()) return problem("$.assets", "expected an object of name -> asset");
    for (const auto& [name, a] : v.items()) {
      const std::string path = "$.assets." + name;
      if (!name_at(name, path) || !fields(a, path, {"chain", "address", "native", "decimals", "description"}, {"chain"}))
        continue;
      AssetSpec spec;
      spec.name = name;
      auto chain = chain_at(a["chain"], path + ".chain");
      if (!chain) continue;
      spec.chain_id = *chain;
      const bool native = a.contains("native") && a["native"] == true;
      if (a.contains("native") && !a["native"].is_boolean()) problem(path + ".native", "expected true or false");
      if (native == a.contains("address")) {
        problem(path, native ? "both native and an address" : "neither an address nor native",
                "a token has \"address\": \"0x...\"; the chain's own coin has \"native\": true");
        continue;
      }
      if (!native) {
        auto addr = address_at(a["address"], path + ".address");
        if (!addr) continue;
        spec.address = *addr;
      }
      if (a.contains("decimals")) {
        const Json& d = a["decimals"];
        if (!d.is_number_unsigned() || d.get<std::uint64_t>() > 77) {
          problem(path + ".decimals", "expected an integer from 0 to 77", "USDC has 6, ETH and most tokens 18");
          continue;
        }
        spec.decimals = static_cast<unsigned>(d.get<std::uint64_t>());
      } else if (!native) {
        problem(path + ".decimals", "missing", "give the token's decimals() (USDC 6, DAI 18): amounts depend on it");
        continue;
      }
      if (p_.find_asset(spec.chain_id, spec.address)) {
        problem(path, "the same token as another asset", "declare each (chain, address) once");
        continue;
      }
      p_.assets.push_back(std::move(spec));
    }
  }

  void load_prices(const Json& v) {
    if (!fields(v, "$.prices", {"fixed", "file", "max_age", "when_missing"})) return;
    if (v.contains("fixed")) {
      if (!v["fixed"].is_object()) {
        problem("$.prices.fixed", "expected an object of asset name -> decimal USD price");
      } else {
        for (const auto& [asset, price] : v["fixed"].items()) {
          const std::string path = "$.prices.fixed." + asset;
          auto index = index_of(p_.assets, Json(asset), path, "asset", "$.assets");
          auto d = decimal_at(price, path);
          if (index && d) p_.assets[*index].fixed_price = *d;
        }
      }
    }
    if (v.contains("file")) p_.prices.file = string_at(v["file"], "$.prices.file");
    if (v.contains("max_age")) {
      if (auto d = duration_at(v["max_age"], "$.prices.max_age", false)) p_.prices.max_age_ms = *d;
    }
    if (v.contains("when_missing")) {
      const Json& w = v["when_missing"];
      if (w == "deny") {
      } else if (w.is_object() && w.size() == 1 && w.contains("hold")) {
        p_.prices.hold_when_missing = hold_at(w["hold"], "$.prices.when_missing.hold");
      } else {
        problem("$.prices.when_missing", "expected \"deny\" or {\"hold\": {...}}",
                "a missing or stale price never lets a USD condition pass; choose to deny or to hold for approvers");
      }
    }
  }

  void load_lists(const Json& v) {
    if (!v.is_object()) return problem("$.lists", "expected an object of name -> {\"file\": ...} or {\"addresses\": [...]}");
    for (const auto& [name, l] : v.items()) {
      const std::string path = "$.lists." + name;
      if (!name_at(name, path) || !fields(l, path, {"file", "format", "column", "addresses", "description"})) continue;
      NamedList named;
      named.name = name;
      if (l.contains("file") == l.contains("addresses")) {
        problem(path, "a list needs exactly one of \"file\" and \"addresses\"");
        continue;
      }
      if (l.contains("addresses")) {
        const Json& a = l["addresses"];
        if (!a.is_array()) {
          problem(path + ".addresses", "expected an array of addresses");
          continue;
        }
        named.source = "inline";
        for (std::size_t i = 0; i < a.size(); ++i) {
          const std::string ipath = codec::json_path(path + ".addresses", i);
          if (!a[i].is_string()) {
            problem(ipath, "expected an address string");
            continue;
          }
          if (auto added = named.list.add(a[i].get_ref<const std::string&>()); !added) problem(ipath, added.error());
        }
        named.list.metadata.name = name;
        named.hash = named.list.content_hash();
        p_.lists.push_back(std::move(named));
        continue;
      }
      auto file = string_at(l["file"], path + ".file");
      if (!file) continue;
      std::string format = "list";
      if (l.contains("format")) format = string_at(l["format"], path + ".format").value_or("");
      else if (file->ends_with(".json")) format = "json";
      else if (file->ends_with(".csv")) format = "csv";
      auto text = read_(*file);
      if (!text) {
        problem(path + ".file", "cannot read " + in_quotes(*file) + ": " + text.error(),
                "check the path (relative to the policy file) and its permissions");
        continue;
      }
      Parsed<ParsedList> parsed = std::unexpected(ListError{ListErrc::kEmpty, 0, ""});
      if (format == "list" || format == "lines") {
        parsed = parse_list_file(*text);
      } else if (format == "json") {
        parsed = parse_json_list(*text);
      } else if (format == "csv") {
        if (!l.contains("column")) {
          problem(path + ".column", "missing", "name the CSV column that holds the addresses");
          continue;
        }
        parsed = parse_csv_list(*text, string_at(l["column"], path + ".column").value_or(""));
      } else {
        problem(path + ".format", "unknown format " + in_quotes(format), "use list, lines, json or csv");
        continue;
      }
      if (!parsed) {
        problem(path + ".file", in_quotes(*file) + ": " + parsed.error().message(),
                "correct that line, or regenerate the list with 'txguard lists import'");
        continue;
      }
      named.list = std::move(parsed->list);
      named.source = *file;
      named.hash = named.list.content_hash();
      p_.lists.push_back(std::move(named));
    }
  }

  void load_approvers(const Json& v) {
    if (!v.is_object()) return problem("$.approvers", "expected an object of name -> {\"address\": \"0x...\"}");
    std::set<Address> seen;
    for (const auto& [name, a] : v.items()) {
      const std::string path = "$.approvers." + name;
      if (!name_at(name, path) || !fields(a, path, {"address", "description"}, {"address"})) continue;
      auto addr = address_at(a["address"], path + ".address");
      if (!addr) continue;
      if (!seen.insert(*addr).second) {
        problem(path + ".address", "another approver has the same address",
                "give each approver their own key: one key counting twice would break the quorum");
        continue;
      }
      p_.approvers.push_back({name, *addr});
    }
  }

  std::optional<HoldSpec> hold_at(const Json& v, const std::string& path) {
    if (!fields(v, path, {"approvers", "quorum", "delay", "expires", "reject"})) return std::nullopt;
    HoldSpec spec;
    bool ok = true;
    if (!v.contains("approvers")) {
      // A hold by time alone (the Wormhole Governor's big-transfer delay): released once the delay has
      // passed, 24 hours unless given; it lapses a day after that unless "expires" says otherwise.
      if (v.contains("quorum") || v.contains("reject")) {
        problem(path + ".approvers", "missing", "name the approvers whose quorum releases it, or drop quorum and reject");
        return std::nullopt;
      }
      spec.quorum = 0;
      spec.delay_ms = 86'400'000;
      if (v.contains("delay")) {
        auto d = duration_at(v["delay"], path + ".delay", false);
        if (!d) return std::nullopt;
        spec.delay_ms = *d;
      }
      spec.expires_ms = spec.delay_ms + 86'400'000;
      if (v.contains("expires")) {
        auto d = duration_at(v["expires"], path + ".expires", false);
        if (!d) return std::nullopt;
        spec.expires_ms = *d;
      }
      if (spec.delay_ms >= spec.expires_ms) {
        problem(path + ".expires", "a hold that expires before its delay has passed could never be released",
                "make expires longer than delay");
        return std::nullopt;
      }
      return spec;
    }
    if (!v["approvers"].is_array() || v["approvers"].empty()) {
      problem(path + ".approvers", "expected a non-empty array of approver names",
              "or leave approvers out for a hold released by its delay alone");
      return std::nullopt;
    }
    std::set<std::size_t> seen;
    for (std::size_t i = 0; i < v["approvers"].size(); ++i) {
      auto index = index_of(p_.approvers, v["approvers"][i], codec::json_path(path + ".approvers", i), "approver",
                            "$.approvers");
      if (!index) ok = false;
      else if (!seen.insert(*index).second) {
        problem(codec::json_path(path + ".approvers", i), "listed twice", "name each approver once");
        ok = false;
      } else {
        spec.approvers.push_back(*index);
      }
    }
    if (v.contains("quorum")) {
      const Json& q = v["quorum"];
      if (!q.is_number_unsigned() || q.get<std::uint64_t>() == 0 || q.get<std::uint64_t>() > v["approvers"].size()) {
        problem(path + ".quorum", "expected an integer from 1 to the number of approvers (" +
                                      std::to_string(v["approvers"].size()) + ")");
        ok = false;
      } else {
        spec.quorum = static_cast<std::size_t>(q.get<std::uint64_t>());
      }
    }
    if (v.contains("delay")) {
      if (auto d = duration_at(v["delay"], path + ".delay", true)) spec.delay_ms = *d;
      else ok = false;
    }
    if (v.contains("expires")) {
      if (auto d = duration_at(v["expires"], path + ".expires", false)) spec.expires_ms = *d;
      else ok = false;
    }
    if (spec.delay_ms >= spec.expires_ms) {
      problem(path + ".expires", "a hold that expires before its delay has passed could never be released",
              "make expires longer than delay");
      ok = false;
    }
    if (v.contains("reject")) {
      if (v["reject"] == "deny") spec.reject_denies = true;
      else if (v["reject"] == "count") spec.reject_denies = false;
      else {
        problem(path + ".reject", "expected \"deny\" or \"count\"",
                "\"deny\": one rejection denies at once; \"count\": denied once the quorum can no longer be reached");
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return spec;
  }

  void load_wallets(const Json& v) {
    if (!v.is_object() || v.empty()) return problem("$.wallets", "expected an object of name -> wallet", "declare the wallets txguard co-signs for");
    for (const auto& [name, w] : v.items()) {
      const std::string path = "$.wallets." + name;
      if (!name_at(name, path) ||
          !fields(w, path, {"chain", "address", "kind", "safe_version", "description"}, {"chain", "address", "kind"}))
        continue;
      WalletSpec spec;
      spec.name = name;
      auto chain = chain_at(w["chain"], path + ".chain");
      auto addr = address_at(w["address"], path + ".address");
      if (!chain || !addr) continue;
      spec.chain_id = *chain;
      spec.address = *addr;
      if (w["kind"] == "safe") {
        spec.safe = true;
        if (!w.contains("safe_version")) {
          problem(path + ".safe_version", "missing",
                  "pin the Safe's version (\"1.4.1\"): versions share signature domains, so the version decides what is signed");
          continue;
        }
        auto version = string_at(w["safe_version"], path + ".safe_version");
        if (!version) continue;
        auto parsed = codec::parse_safe_version(*version);
        if (!parsed) {
          problem(path + ".safe_version", "unknown Safe version " + in_quotes(*version), "use 1.1.1, 1.2.0, 1.3.0, 1.4.1 or 1.5.0");
          continue;
        }
        spec.safe_version = *parsed;
      } else if (w["kind"] == "account") {
        if (w.contains("safe_version")) problem(path + ".safe_version", "an account has no Safe version", "remove it");
      } else {
        problem(path + ".kind", "expected \"safe\" or \"account\"");
        continue;
      }
      if (p_.find_wallet(spec.chain_id, spec.address)) {
        problem(path, "the same wallet as another entry", "declare each (chain, address) once");
        continue;
      }
      // A Safe before 1.3.0 has no chainId in its signing domain: one owner signature is valid on every
      // chain, so once-only cannot tell its chains apart (its nonces are claimed on all chains at once).
      if (spec.safe && spec.safe_version && !codec::domain_has_chain_id(*spec.safe_version)) {
        const auto twin = std::find_if(p_.wallets.begin(), p_.wallets.end(), [&](const WalletSpec& other) {
          return other.safe && other.address == spec.address && other.safe_version &&
                 !codec::domain_has_chain_id(*other.safe_version);
        });
        if (twin != p_.wallets.end()) {
          problem(path + ".chain",
                  "Safe " + codec::to_checksum(spec.address) + " is also declared as wallet " + in_quotes(twin->name) +
                      " on another chain; its version (" + std::string(codec::to_string(*spec.safe_version)) +
                      ") signs one hash valid on every chain",
                  "declare a Safe 1.1.1 or 1.2.0 on one chain only");
          continue;
        }
      }
      p_.wallets.push_back(std::move(spec));
    }
  }

  void load_limits(const Json& v) {
    if (!v.is_object()) return problem("$.limits", "expected an object of name -> limit");
    for (const auto& [name, l] : v.items()) {
      const std::string path = "$.limits." + name;
      if (!name_at(name, path) ||
          !fields(l, path, {"window", "bucket", "max_usd", "max", "asset", "max_count", "per", "description"}))
        continue;
      LimitSpec spec;
      spec.name = name;
      if (l.contains("window") == l.contains("bucket")) {
        problem(path, "a limit needs exactly one of \"window\" (a duration) and \"bucket\" ({\"refill_per_second\": ...})");
        continue;
      }
      const int maxes = int(l.contains("max_usd")) + int(l.contains("max")) + int(l.contains("max_count"));
      if (maxes != 1) {
        problem(path, "a limit needs exactly one of max_usd, max (with asset) and max_count");
        continue;
      }
      unsigned scale = 0;
      std::string max_key;
      if (l.contains("max_usd")) {
        spec.unit = LimitUnit::kUsd;
        scale = 6;
        max_key = "max_usd";
      } else if (l.contains("max")) {
        spec.unit = LimitUnit::kAsset;
        max_key = "max";
        if (!l.contains("asset")) {
          problem(path + ".asset", "missing", "a limit in token units names its asset");
          continue;
        }
        auto index = index_of(p_.assets, l["asset"], path + ".asset", "asset", "$.assets");
        if (!index) continue;
        spec.asset = *index;
        scale = p_.assets[*index].decimals;
      } else {
        spec.unit = LimitUnit::kCount;
        scale = 3;
        max_key = "max_count";
      }
      if (l.contains("asset") && spec.unit != LimitUnit::kAsset) {
        problem(path + ".asset", "only a limit with \"max\" counts one asset", "remove it, or use max");
        continue;
      }
      auto max_dec = decimal_at(l[max_key], path + "." + max_key);
      if (!max_dec) continue;
      auto max = to_scaled(*max_dec, scale);
      if (!max) {
        problem(path + "." + max_key, "the value " + max.error());
        continue;
      }
      spec.max_text = l[max_key].is_string() ? l[max_key].get<std::string>() : l[max_key].dump();
      if (l.contains("window")) {
        auto d = duration_at(l["window"], path + ".window", false);
        if (!d) continue;
        spec.window = SlidingWindow{*d, *max};
      } else {
        const Json& b = l["bucket"];
        if (!fields(b, path + ".bucket", {"refill_per_second"}, {"refill_per_second"})) continue;
        auto rate = decimal_at(b["refill_per_second"], path + ".bucket.refill_per_second");
        if (!rate) continue;
        auto scaled = to_scaled(*rate, scale);
        if (!scaled) {
          problem(path + ".bucket.refill_per_second", "the rate " + scaled.error());
          continue;
        }
        spec.bucket = TokenBucket{*max, *scaled};
        if (auto bad = validate(*spec.bucket)) {
          problem(path, bad->detail);
          continue;
        }
      }
      if (l.contains("per")) {
        for (const auto& [item, ipath] : one_or_many(l["per"], path + ".per")) {
          if (*item == "wallet") spec.per_wallet = true;
          else if (*item == "asset") spec.per_asset = true;
          else if (*item == "destination") spec.per_destination = true;
          else if (*item == "rule") spec.per_rule = true;
          else if (*item == "requester") spec.per_requester = true;
          else problem(ipath, "unknown scope " + item->dump(), "use wallet, asset, destination, rule or requester");
        }
      }
      p_.limits.push_back(std::move(spec));
    }
  }

  std::optional<NumberCondition> number_at(const Json& v, const std::string& path) {
    if (!v.is_object() || v.empty()) {
      problem(path, "expected comparisons such as {\">\": \"1000\", \"<=\": \"5000\"}");
      return std::nullopt;
    }
    NumberCondition out;
    for (const auto& [op, value] : v.items()) {
      const std::string opath = codec::json_path(path, op);
      std::optional<CompareOp> parsed;
      for (auto candidate : {CompareOp::kEq, CompareOp::kNe, CompareOp::kLt, CompareOp::kLe, CompareOp::kGt, CompareOp::kGe}) {
        if (to_string(candidate) == op) parsed = candidate;
      }
      if (!parsed) {
        problem(opath, "unknown comparison " + in_quotes(op), "use ==, !=, <, <=, > or >=");
        continue;
      }
      if (auto d = decimal_at(value, opath)) out.terms.emplace_back(*parsed, *d);
    }
    if (out.terms.size() != v.size()) return std::nullopt;
    return out;
  }

  std::optional<AddressSet> address_set_at(const Json& v, const std::string& path) {
    AddressSet out;
    bool ok = true;
    for (const auto& [item, ipath] : one_or_many(v, path)) {
      if (!item->is_string()) {
        problem(ipath, "expected an address or a list name");
        ok = false;
        continue;
      }
      const std::string& s = item->get_ref<const std::string&>();
      if (s.starts_with("0x") || s.starts_with("0X")) {
        if (auto a = address_at(*item, ipath)) out.addresses.push_back(*a);
        else ok = false;
      } else if (p_.find_list(s)) {
        out.lists.push_back(s);
      } else {
        problem(ipath, "unknown list " + in_quotes(s), "declare it under $.lists, or use one of: " + names_of(p_.lists));
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }

  void load_match(const Json& m, const std::string& path, Match& out) {
    if (!fields(m, path, {"chain", "wallet", "request", "leg", "grant", "asset", "amount", "usd", "counterparty",
                          "counterparty_not", "any_address", "target", "function", "params", "operation", "depth",
                          "requester", "message"}))
      return;
    if (m.contains("chain")) {
      for (const auto& [item, ipath] : one_or_many(m["chain"], path + ".chain")) {
        if (auto c = chain_at(*item, ipath)) out.chains.push_back(*c);
      }
    }
    if (m.contains("wallet")) {
      for (const auto& [item, ipath] : one_or_many(m["wallet"], path + ".wallet")) {
        if (auto w = index_of(p_.wallets, *item, ipath, "wallet", "$.wallets")) out.wallets.push_back(*w);
      }
    }
    if (m.contains("request")) {
      for (const auto& [item, ipath] : one_or_many(m["request"], path + ".request")) {
        if (*item == "transaction") out.requests.push_back(codec::RequestKind::kTransaction);
        else if (*item == "safe-transaction") out.requests.push_back(codec::RequestKind::kSafeTransaction);
        else if (*item == "typed-data") out.requests.push_back(codec::RequestKind::kTypedData);
        else if (*item == "message") out.requests.push_back(codec::RequestKind::kMessage);
        else problem(ipath, "unknown request kind " + item->dump(), "use transaction, safe-transaction, typed-data or message");
      }
    }
    if (m.contains("leg")) {
      for (const auto& [item, ipath] : one_or_many(m["leg"], path + ".leg")) {
        bool found = false;
        for (auto k : {LegKind::kTransfer, LegKind::kGrant, LegKind::kConfigurationChange, LegKind::kCall, LegKind::kMessage,
                       LegKind::kFee}) {
          if (*item == to_string(k)) {
            out.legs.push_back(k);
            found = true;
          }
        }
        if (!found) problem(ipath, "unknown leg kind " + item->dump(), "use transfer, grant, configuration-change, call, message or fee");
      }
    }
    if (m.contains("grant")) {
      for (const auto& [item, ipath] : one_or_many(m["grant"], path + ".grant")) {
        bool found = false;
        for (int k = 0; k <= static_cast<int>(codec::GrantKind::kSafeApproveHash); ++k) {
          const auto kind = static_cast<codec::GrantKind>(k);
          if (*item == codec::to_string(kind)) {
            out.grants.push_back(kind);
            found = true;
          }
        }
        if (!found) problem(ipath, "unknown grant kind " + item->dump(), "use approve, permit, permit2, set-approval-for-all, ...");
      }
    }
    if (m.contains("asset")) {
      for (const auto& [item, ipath] : one_or_many(m["asset"], path + ".asset")) {
        if (auto a = index_of(p_.assets, *item, ipath, "asset", "$.assets")) out.assets.push_back(*a);
      }
    }
    if (m.contains("amount")) {
      out.amount = number_at(m["amount"], path + ".amount");
      if (out.amount) {
        // Each threshold must be exact in every asset the rule can see.
        for (std::size_t i = 0; i < p_.assets.size(); ++i) {
          if (!out.assets.empty() && std::find(out.assets.begin(), out.assets.end(), i) == out.assets.end()) continue;
          for (const auto& [op, d] : out.amount->terms) {
            if (!to_scaled(d, p_.assets[i].decimals)) {
              problem(path + ".amount", "the amount " + format_scaled(d.digits, d.scale) + " has more decimals than " +
                                            p_.assets[i].name + " (" + std::to_string(p_.assets[i].decimals) + ")",
                      "round it, or restrict the rule with \"asset\"");
            }
          }
        }
      }
    }
    if (m.contains("usd")) {
      out.usd = number_at(m["usd"], path + ".usd");
      if (out.usd) {
        for (const auto& [op, d] : out.usd->terms) {
          if (!to_scaled(d, 6)) problem(path + ".usd", "more precise than a micro-dollar", "use at most 6 decimals");
        }
      }
    }
    if (m.contains("counterparty")) out.counterparty = address_set_at(m["counterparty"], path + ".counterparty");
    if (m.contains("counterparty_not")) out.counterparty_not = address_set_at(m["counterparty_not"], path + ".counterparty_not");
    if (m.contains("any_address")) out.any_address = address_set_at(m["any_address"], path + ".any_address");
    if (m.contains("target")) out.target = address_set_at(m["target"], path + ".target");
    if (m.contains("function")) {
      for (const auto& [item, ipath] : one_or_many(m["function"], path + ".function")) {
        auto s = string_at(*item, ipath);
        if (!s) continue;
        FunctionRef ref;
        if (s->starts_with("0x")) {
          auto sel = codec::from_hex_fixed<4>(*s);
          if (!sel) {
            problem(ipath, "a selector is 0x and 8 hex digits");
            continue;
          }
          ref.selector = *sel;
        } else if (auto sig = codec::parse_abi_signature(*s)) {
          ref.signature = codec::canonical_signature(sig->name, sig->inputs);
          ref.selector = codec::selector_of(ref.signature);
        } else {
          problem(ipath, "not a function signature: " + sig.error().message(),
                  "write the canonical signature, e.g. \"transfer(address,uint256)\", or a selector \"0xa9059cbb\"");
          continue;
        }
        out.functions.push_back(std::move(ref));
      }
    }
    if (m.contains("params")) load_params(m["params"], path + ".params", out);
    if (m.contains("operation")) {
      if (m["operation"] == "call") out.operation = codec::Operation::kCall;
      else if (m["operation"] == "delegatecall") out.operation = codec::Operation::kDelegateCall;
      else problem(path + ".operation", "expected \"call\" or \"delegatecall\"");
    }
    if (m.contains("depth")) out.depth = number_at(m["depth"], path + ".depth");
    if (m.contains("requester")) {
      for (const auto& [item, ipath] : one_or_many(m["requester"], path + ".requester")) {
        if (auto s = string_at(*item, ipath)) out.requesters.push_back(*s);
      }
    }
    if (m.contains("message")) load_message(m["message"], path + ".message", out);
  }

  void load_message(const Json& v, const std::string& path, Match& out) {
    if (v.is_array() && v.empty()) {
      return problem(path, "an empty array matches no message",
                     "write one condition {\"text\": ...}, {\"prefix\": ...} or {\"hash\": ...}, or an array of them");
    }
    for (const auto& [item, ipath] : one_or_many(v, path)) {
      if (!item->is_object() || item->size() != 1) {
        problem(ipath, "expected an object with exactly one of \"text\", \"prefix\" or \"hash\"",
                "e.g. {\"prefix\": \"Sign in to example.com\"}; several conditions go in an array");
        continue;
      }
      const std::string key = item->begin().key();
      const Json& value = item->begin().value();
      const std::string kpath = codec::json_path(ipath, key);
      MessageCondition c;
      if (key == "text" || key == "prefix") {
        auto s = string_at(value, kpath);
        if (!s) continue;
        if (s->empty()) {
          problem(kpath, key == "text" ? "an empty text" : "an empty prefix matches every message",
                  "write the text the message must " + std::string(key == "text" ? "be" : "begin with") +
                      ", or match every message with \"leg\": \"message\"");
          continue;
        }
        c.kind = key == "text" ? MessageCondition::Kind::kText : MessageCondition::Kind::kPrefix;
        c.bytes.assign(s->begin(), s->end());
      } else if (key == "hash") {
        auto s = string_at(value, kpath);
        if (!s) continue;
        auto h = codec::from_hex_fixed<32>(*s);
        if (!s->starts_with("0x") || !h) {
          problem(kpath, "a hash is 0x and 64 hex digits",
                  "write keccak256 of the message bytes (without the EIP-191 prefix), e.g. `cast keccak \"text\"`");
          continue;
        }
        c.kind = MessageCondition::Kind::kHash;
        c.hash = *h;
      } else {
        problem(kpath, "unknown message condition " + in_quotes(key), "use text, prefix or hash");
        continue;
      }
      out.messages.push_back(std::move(c));
    }
  }

  void load_params(const Json& v, const std::string& path, Match& out) {
    if (!v.is_object()) return problem(path, "expected an object of argument name -> conditions");
    for (const auto& [name, conds] : v.items()) {
      const std::string ppath = codec::json_path(path, name);
      if (!conds.is_object() || conds.empty()) {
        problem(ppath, "expected conditions such as {\"==\": \"0x...\"} or {\"in\": \"cold-wallets\"}");
        continue;
      }
      ParamCondition pc;
      pc.name = name;
      for (const auto& [op, value] : conds.items()) {
        const std::string opath = codec::json_path(ppath, op);
        if (op == "in" || op == "not_in") {
          AddressSet set;
          std::vector<std::string> values;
          for (const auto& [item, ipath] : one_or_many(value, opath)) {
            if (item->is_string() && p_.find_list(item->get_ref<const std::string&>())) {
              set.lists.push_back(item->get<std::string>());
            } else if (item->is_string()) {
              values.push_back(item->get<std::string>());
            } else if (item->is_number_unsigned() || item->is_boolean()) {
              values.push_back(item->is_boolean() ? item->dump() : item->dump());
            } else {
              problem(ipath, "expected a value or a list name");
            }
          }
          (op == "in" ? pc.in : pc.not_in) = set;
          (op == "in" ? pc.in_values : pc.not_in_values) = values;
          continue;
        }
        std::optional<CompareOp> parsed;
        for (auto candidate : {CompareOp::kEq, CompareOp::kNe, CompareOp::kLt, CompareOp::kLe, CompareOp::kGt, CompareOp::kGe}) {
          if (to_string(candidate) == op) parsed = candidate;
        }
        if (!parsed) {
          problem(opath, "unknown comparison " + in_quotes(op), "use ==, !=, <, <=, >, >=, in or not_in");
          continue;
        }
        std::string text;
        if (value.is_string()) text = value.get<std::string>();
        else if (value.is_number_unsigned() || value.is_boolean()) text = value.dump();
        else {
          problem(opath, "expected a string, an integer or a boolean");
          continue;
        }
        if (*parsed != CompareOp::kEq && *parsed != CompareOp::kNe) {
          auto d = parse_decimal(text);
          if (!d || d->scale != 0) {
            problem(opath, in_quotes(text) + " is not an integer", "< <= > >= compare integer arguments; write the integer in base units");
            continue;
          }
        }
        pc.terms.emplace_back(*parsed, text);
      }
      out.params.push_back(std::move(pc));
    }
  }

  void load_rules(const Json& v) {
    if (!v.is_array() || v.empty()) return problem("$.rules", "expected a non-empty array of rules", "a policy with no rules denies everything; write at least one");
    std::set<std::string> ids;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string path = codec::json_path("$.rules", i);
      const Json& r = v[i];
      if (!fields(r, path, {"id", "description", "match", "effect", "reason", "hold", "limits", "lifts"}, {"id", "effect"}))
        continue;
      Rule rule;
      auto id = string_at(r["id"], path + ".id");
      if (!id || !name_at(*id, path + ".id")) continue;
      if (!ids.insert(*id).second) {
        problem(path + ".id", "the rule id " + in_quotes(*id) + " is used twice", "give every rule its own id: decisions name it");
        continue;
      }
      rule.id = *id;
      if (r.contains("description")) rule.description = string_at(r["description"], path + ".description").value_or("");
      if (r["effect"] == "allow") rule.effect = RuleEffect::kAllow;
      else if (r["effect"] == "deny") rule.effect = RuleEffect::kDeny;
      else if (r["effect"] == "hold") rule.effect = RuleEffect::kHold;
      else {
        problem(path + ".effect", "expected \"allow\", \"deny\" or \"hold\"");
        continue;
      }
      if (r.contains("match")) load_match(r["match"], path + ".match", rule.match);
      if (r.contains("reason")) {
        auto reason = string_at(r["reason"], path + ".reason");
        if (rule.effect != RuleEffect::kDeny) problem(path + ".reason", "only a deny rule names a reason");
        else if (reason && name_at(*reason, path + ".reason")) rule.reason = *reason;
      }
      if (rule.effect == RuleEffect::kDeny && rule.reason.empty()) rule.reason = "denied-by-rule";
      if (rule.effect == RuleEffect::kHold) {
        if (!r.contains("hold")) problem(path + ".hold", "missing", "a hold rule says who approves: {\"approvers\": [...], \"quorum\": 2}");
        else rule.hold = hold_at(r["hold"], path + ".hold");
      } else if (r.contains("hold")) {
        problem(path + ".hold", "only a hold rule has approvers", "set \"effect\": \"hold\" or remove it");
      }
      if (r.contains("limits")) {
        if (rule.effect == RuleEffect::kDeny) problem(path + ".limits", "a deny rule consumes nothing", "remove the limits");
        for (const auto& [item, ipath] : one_or_many(r["limits"], path + ".limits")) {
          if (auto l = index_of(p_.limits, *item, ipath, "limit", "$.limits")) {
            const LimitSpec& spec = p_.limits[*l];
            if (spec.unit == LimitUnit::kAsset && !rule.match.assets.empty() &&
                std::find(rule.match.assets.begin(), rule.match.assets.end(), *spec.asset) == rule.match.assets.end()) {
              problem(ipath, "the limit counts " + p_.assets[*spec.asset].name + ", which this rule never matches",
                      "use a limit of an asset the rule matches, or a USD or count limit");
            }
            rule.limits.push_back(*l);
          }
        }
      }
      if (r.contains("lifts")) {
        if (rule.effect == RuleEffect::kDeny) problem(path + ".lifts", "a deny rule lifts nothing", "remove it");
        for (const auto& [item, ipath] : one_or_many(r["lifts"], path + ".lifts")) {
          auto p = item->is_string() ? parse_protection(item->get_ref<const std::string&>()) : std::nullopt;
          if (!p) {
            problem(ipath, "unknown protection " + item->dump(),
                    "use unsafe-delegatecall, safe-configuration-change, unknown-selector, gas-refund, contract-creation, "
                    "eip7702-delegation or unlimited-approval");
            continue;
          }
          rule.lifts.push_back(*p);
        }
      }
      p_.rules.push_back(std::move(rule));
    }
  }

  void load_bridges(const Json& v) {
    // Routes are optional: a pause of everything ("*") needs only its unpause approvers.
    if (!fields(v, "$.bridges", {"unpause", "routes"}, {"unpause"})) return;
    p_.bridges.unpause = hold_at(v["unpause"], "$.bridges.unpause");
    if (p_.bridges.unpause && p_.bridges.unpause->approvers.empty()) {
      problem("$.bridges.unpause.approvers", "missing", "lifting a pause needs an approver quorum: name the approvers");
      p_.bridges.unpause.reset();
    }
    if (!v.contains("routes")) return;
    const Json& routes = v["routes"];
    if (!routes.is_object() || routes.empty()) return problem("$.bridges.routes", "expected an object of name -> route");
    for (const auto& [name, r] : routes.items()) {
      const std::string path = "$.bridges.routes." + name;
      if (!name_at(name, path) ||
          !fields(r, path, {"kind", "description", "source", "destination", "release", "validators", "quorum", "tokens"},
                  {"source", "destination", "validators", "tokens"})) {
        continue;
      }
      RouteSpec route;
      route.name = name;
      if (r.contains("kind")) {
        const auto kind = string_at(r["kind"], path + ".kind").value_or("");
        if (kind == "wormhole") {
          // VAAs are verified (txguard vaa verify, policy/validator_sets.hpp), but a release paid
          // against a VAA is not judged yet: refuse the route rather than accept one that never signs.
          problem(path + ".kind", "releases against Wormhole VAAs are not supported yet",
                  "use kind \"attestation\" (txguard's EIP-712 withdrawal attestation); verify VAAs with txguard vaa verify");
        } else if (kind != "attestation") {
          problem(path + ".kind", "unknown kind " + in_quotes(kind), "use attestation");
        }
      }
      const Json& src = r["source"];
      const std::string spath = path + ".source";
      if (fields(src, spath, {"chain", "contract", "event", "fields", "confirmations", "finalized"}, {"chain", "contract", "event"})) {
        if (auto c = chain_at(src["chain"], spath + ".chain")) route.source_chain = *c;
        if (auto a = address_at(src["contract"], spath + ".contract")) route.deposit.contract = *a;
        if (auto e = string_at(src["event"], spath + ".event")) {
          route.deposit.event = *e;
          if (auto spec = codec::parse_event_signature(*e); !spec) {
            problem(spath + ".event", "the event signature does not parse: " + spec.error().message(),
                    "write it as Solidity declares it, with every parameter named, e.g. \"Deposit(address indexed token,"
                    "uint256 amount,address recipient,uint256 destChainId,uint256 nonce)\"");
          }
        }
        if (src.contains("confirmations")) {
          const Json& n = src["confirmations"];
          if (!n.is_number_unsigned() || n.get<std::uint64_t>() < 1) {
            problem(spath + ".confirmations", "expected a positive integer", "e.g. 12 (blocks on top of the deposit's, counting it)");
          } else {
            route.deposit.confirmations = n.get<std::uint64_t>();
          }
        }
        if (src.contains("finalized")) {
          if (!src["finalized"].is_boolean()) problem(spath + ".finalized", "expected true or false");
          else route.deposit.finalized = src["finalized"].get<bool>();
        }
        if (src.contains("fields")) {
          const Json& f = src["fields"];
          if (fields(f, spath + ".fields", {"token", "amount", "recipient", "destination", "nonce"})) {
            const auto set = [&](const char* key, std::string& out) {
              if (f.contains(key)) out = string_at(f[key], spath + ".fields." + key).value_or(out);
            };
            set("token", route.deposit.token_field);
            set("amount", route.deposit.amount_field);
            set("recipient", route.deposit.recipient_field);
            set("destination", route.deposit.destination_field);
            set("nonce", route.deposit.nonce_field);
          }
        }
      }
      const Json& dst = r["destination"];
      const std::string dpath = path + ".destination";
      if (fields(dst, dpath, {"chain", "wallet", "contract"}, {"chain", "wallet", "contract"})) {
        if (auto c = chain_at(dst["chain"], dpath + ".chain")) route.destination_chain = *c;
        if (auto w = index_of(p_.wallets, dst["wallet"], dpath + ".wallet", "wallet", "$.wallets")) {
          route.wallet = *w;
          if (!p_.wallets[*w].safe) problem(dpath + ".wallet", "the release wallet must be a Safe", "declare it with \"kind\": \"safe\"");
          if (p_.wallets[*w].chain_id != route.destination_chain) {
            problem(dpath + ".wallet", "the wallet is not on the destination chain");
          }
        }
        if (auto a = address_at(dst["contract"], dpath + ".contract")) route.destination_contract = *a;
      }
      if (r.contains("release")) {
        const Json& rel = r["release"];
        const std::string rpath = path + ".release";
        if (fields(rel, rpath, {"kind", "function", "token", "amount", "recipient"}, {"kind"})) {
          const auto kind = string_at(rel["kind"], rpath + ".kind").value_or("");
          if (kind == "call") {
            route.release.kind = ReleaseSpec::Kind::kCall;
            if (!rel.contains("function")) {
              problem(rpath + ".function", "missing", "name the release function with its parameter names, e.g. "
                                                      "\"release(address token,uint256 amount,address recipient,bytes32 id)\"");
            } else {
              route.release.function = string_at(rel["function"], rpath + ".function").value_or("");
            }
            const auto set = [&](const char* key, std::string& out) {
              if (rel.contains(key)) out = string_at(rel[key], rpath + "." + key).value_or(out);
            };
            set("token", route.release.token_param);
            set("amount", route.release.amount_param);
            set("recipient", route.release.recipient_param);
          } else if (kind != "transfer") {
            problem(rpath + ".kind", "unknown release kind " + in_quotes(kind), "use transfer or call");
          }
        }
      }
      const Json& val = r["validators"];
      if (fields(val, path + ".validators", {"file"}, {"file"})) {
        if (auto file = string_at(val["file"], path + ".validators.file")) {
          route.validators_file = *file;
          auto text = read_(*file);
          if (!text) {
            problem(path + ".validators.file", "cannot read " + in_quotes(*file) + ": " + text.error());
          } else if (auto sets = load_validator_sets(*text); !sets) {
            for (const auto& e : sets.error()) problem(path + ".validators.file", in_quotes(*file) + ": " + e);
          } else {
            route.validators = std::move(*sets);
          }
        }
      }
      if (r.contains("quorum")) {
        const Json& q = r["quorum"];
        if (fields(q, path + ".quorum", {"signatures", "operators"})) {
          if (q.contains("signatures")) {
            if (!q["signatures"].is_number_unsigned() || q["signatures"].get<std::uint64_t>() < 1) {
              problem(path + ".quorum.signatures", "expected a positive integer");
            } else {
              route.signatures = static_cast<std::size_t>(q["signatures"].get<std::uint64_t>());
            }
          }
          if (q.contains("operators")) {
            if (!q["operators"].is_number_unsigned()) problem(path + ".quorum.operators", "expected an integer");
            else route.min_operators = static_cast<std::size_t>(q["operators"].get<std::uint64_t>());
          }
        }
      }
      const Json& tokens = r["tokens"];
      if (!tokens.is_array() || tokens.empty()) {
        problem(path + ".tokens", "expected a non-empty array of {\"source\": \"0x...\", \"asset\": \"NAME\"}");
      } else {
        for (std::size_t i = 0; i < tokens.size(); ++i) {
          const std::string tpath = codec::json_path(path + ".tokens", i);
          if (!fields(tokens[i], tpath, {"source", "asset"}, {"source", "asset"})) continue;
          RouteToken t;
          auto a = address_at(tokens[i]["source"], tpath + ".source");
          auto asset = index_of(p_.assets, tokens[i]["asset"], tpath + ".asset", "asset", "$.assets");
          if (!a || !asset) continue;
          if (!p_.assets[*asset].address || p_.assets[*asset].chain_id != route.destination_chain) {
            problem(tpath + ".asset", "the asset must be a token on the destination chain");
            continue;
          }
          t.source = *a;
          t.asset = *asset;
          route.tokens.push_back(t);
        }
      }
      p_.bridges.routes.push_back(std::move(route));
    }
  }

  const FileReader& read_;
  Policy p_;
  std::vector<PolicyProblem> problems_;
};

}  // namespace

std::expected<Policy, std::vector<PolicyProblem>> load_policy(std::string_view text, const FileReader& read_file) {
  Loader loader(read_file);
  return loader.load(text);
}

nlohmann::json summary_json(const Policy& policy) {
  Json lists = Json::object();
  for (const auto& l : policy.lists) {
    lists[l.name] = {{"source", l.source}, {"entries", l.list.size()}, {"hash", codec::to_hex(l.hash)}};
  }
  Json wallets = Json::object();
  for (const auto& w : policy.wallets) {
    Json j = {{"chain_id", codec::to_decimal(w.chain_id)}, {"address", codec::to_checksum(w.address)},
              {"kind", w.safe ? "safe" : "account"}};
    if (w.safe_version) j["safe_version"] = codec::to_string(*w.safe_version);
    wallets[w.name] = j;
  }
  Json out = {{"name", policy.name},
             {"hash", codec::to_hex(policy.hash)},
             {"format", kPolicyFormat},
             {"wallets", wallets},
             {"lists", lists},
             {"rules", policy.rules.size()},
             {"limits", policy.limits.size()}};
  if (!policy.bridges.routes.empty()) {
    Json routes = Json::object();
    for (const auto& r : policy.bridges.routes) {
      const auto& current = r.validators.current();
      routes[r.name] = {{"source_chain", codec::to_decimal(r.source_chain)},
                        {"destination_chain", codec::to_decimal(r.destination_chain)},
                        {"wallet", policy.wallets[r.wallet].name},
                        {"validator_sets", r.validators.sets.size()},
                        {"current_set", current.index},
                        {"validators", current.validators.size()},
                        {"required_signatures", r.required_signatures(current.validators.size())},
                        {"min_operators", r.min_operators}};
    }
    out["bridges"] = routes;
  }
  return out;
}

}  // namespace txguard::policy

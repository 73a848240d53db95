// The policy document: what txguard co-signs, written by treasury teams, read by auditors.
//
// A policy is one JSON file (comments allowed: // and /* */). The README's "Policy language" section
// is the user's guide; this header is the contract. Top level:
//
//   txguard_policy  1 (the format version; anything else is refused)
//   name            text
//   chains          {"ethereum": {"id": 1}, ...}
//   assets          {"USDC": {"chain": "ethereum", "address": "0x...", "decimals": 6},
//                    "ETH":  {"chain": "ethereum", "native": true, "decimals": 18}}
//   prices          {"fixed": {"USDC": "1"}, "file": "prices.json", "max_age": "15m",
//                    "when_missing": "deny" | {"hold": <hold>}}
//   lists           {"sanctioned": {"file": "lists/ofac.list"}, "cold": {"addresses": ["0x..."]}}
//   approvers       {"alice": {"address": "0x..."}, ...}
//   wallets         {"hot": {"chain": "ethereum", "address": "0x...", "kind": "safe",
//                            "safe_version": "1.4.1"}, "ops": {..., "kind": "account"}}
//   limits          {"daily-usd": {"window": "24h", "max_usd": "1000000", "per": ["wallet"]},
//                    "burst": {"bucket": {"refill_per_second": "2"}, "max_count": 30}}
//   rules           [{"id": "...", "match": {...}, "effect": "allow" | "deny" | "hold", ...}, ...]
//   bridges         {"unpause": <hold>, "routes": {"ronin": <route>}}: bridge releases (policy/bridge.hpp;
//                   the README's "Bridge co-signing" section shows a route)
//
// Only `txguard_policy`, `name`, `wallets` and `rules` are required. Unknown fields are errors
// everywhere (a misspelt condition must never silently match everything).
//
// How a request is judged (policy/evaluate.hpp): the intent is split into legs (each transfer, each
// grant of rights, each configuration change, and each call that no transfer or grant explains);
// every leg takes the effect of the first rule that matches it; a leg no rule matches is denied.
// Protections (see Protection) deny a leg unless the rule that allows it lists the protection in
// "lifts".
//
// Pure: loading takes the document's text and a callback that returns the text of a file the
// document names (lists); it opens nothing itself. A loaded Policy is immutable and may be shared by
// threads.
#pragma once

#include <cstddef>
#include <expected>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/address_list.hpp"
#include "policy/bridge.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/intent.hpp"
#include "policy/codec/safe.hpp"
#include "policy/limits.hpp"
#include "policy/units.hpp"

namespace txguard::policy {

inline constexpr int kPolicyFormat = 1;

/// One problem found while loading: where it is and how to fix it.
struct PolicyProblem {
  std::string path;     // JSON path: "$.rules[3].match.asset"
  std::string problem;  // what is wrong: "unknown asset \"USDT\""
  std::string fix;      // what to do: "declare it under $.assets, or use one of: ETH, USDC"
  /// "<path>: <problem>; fix: <fix>" (without "; fix" when there is none).
  std::string message() const;
};

/// Returns the text of a file the policy names (a list file), as written in the policy; the caller
/// resolves relative paths (the CLI and server resolve them against the policy file's directory).
/// An error is a human-readable reason ("cannot open: No such file or directory").
using FileReader = std::function<std::expected<std::string, std::string>(const std::string& path)>;

/// Protections: what a leg is denied for unless the rule allowing it lifts it by name.
enum class Protection {
  kUnsafeDelegateCall,       // "unsafe-delegatecall": DELEGATECALL to anything but the canonical
                             //  MultiSendCallOnly of the wallet's Safe version
  kSafeConfigurationChange,  // "safe-configuration-change": owners, threshold, modules, guards,
                             //  fallback handler, master copy, approveHash
  kUnknownSelector,          // "unknown-selector": calldata whose function txguard does not know
  kGasRefund,                // "gas-refund": a Safe transaction paying its relayer (gasPrice > 0)
  kContractCreation,         // "contract-creation"
  kEip7702Delegation,        // "eip7702-delegation": an account's code replaced by a contract's
  kUnlimitedApproval,        // "unlimited-approval": an allowance of the maximum amount
};
inline constexpr std::size_t kProtectionCount = 7;
std::string_view to_string(Protection p) noexcept;
std::optional<Protection> parse_protection(std::string_view name) noexcept;

enum class RuleEffect { kAllow, kDeny, kHold };  // a rule's effect
std::string_view to_string(RuleEffect e) noexcept;  // "allow", "deny", "hold"

enum class LegKind { kTransfer, kGrant, kConfigurationChange, kCall, kMessage, kFee };
/// "transfer", "grant", "configuration-change", "call", "message" (typed data that is none of the
/// others: signed as is, allowed only by a rule that matches leg "message"), "fee" (the most a
/// transaction of the guard's own account can pay for gas: gas limit x max fee per gas (gas price
/// before EIP-1559), plus its blob gas; native coin leaving the account, so rules and limits see it).
std::string_view to_string(LegKind k) noexcept;

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };
std::string_view to_string(CompareOp op) noexcept;  // "==", "!=", "<", "<=", ">", ">="

/// Conditions on a number: all must hold. Values are exact decimals.
struct NumberCondition {
  std::vector<std::pair<CompareOp, Decimal>> terms;
};

/// A set of addresses named in a rule: literal addresses and named lists.
struct AddressSet {
  std::vector<codec::Address> addresses;
  std::vector<std::string> lists;  // names in Policy::lists
  bool empty() const noexcept { return addresses.empty() && lists.empty(); }
};

/// A condition on one decoded call argument (by input name, or by index "0", "1"...).
struct ParamCondition {
  std::string name;
  /// Comparisons: == and != compare addresses as addresses (any case), integers as integers, any
  /// other value as its exact JSON text; < <= > >= apply to integers only.
  std::vector<std::pair<CompareOp, std::string>> terms;
  /// "in" / "not_in": literal values and address lists.
  std::optional<AddressSet> in;
  std::vector<std::string> in_values;
  std::optional<AddressSet> not_in;
  std::vector<std::string> not_in_values;
};

/// A function named by selector ("0xa9059cbb") or canonical signature ("transfer(address,uint256)").
struct FunctionRef {
  codec::Selector selector{};
  std::string signature;  // canonical; empty when given by selector (any function with it matches)
};

/// A condition on the content of a message leg: the bytes that are signed (a personal_sign or
/// eth_sign message; the inner `message` of a Safe's EIP-1271 SafeMessage typed data). Written
///   {"text": "exact text"}     the message is exactly these UTF-8 bytes
///   {"prefix": "Sign in to "}  the message begins with these UTF-8 bytes (not empty)
///   {"hash": "0x<64 hex>"}     keccak256 of the message bytes (the raw bytes, before any EIP-191
///                              prefix: `cast keccak "text"`, viem `keccak256(toBytes(text))`)
/// exactly one key per condition; a rule's "message" is one condition or an array of them (any one
/// matching is enough). On a leg that is not a message it does not hold; on a message leg whose
/// content is not bytes (typed data that is neither a permit, a Safe transaction nor a SafeMessage)
/// it cannot be evaluated (see evaluate.hpp: never lets an allow rule match).
struct MessageCondition {
  enum class Kind { kText, kPrefix, kHash } kind = Kind::kText;
  codec::Bytes bytes;       // kText, kPrefix
  codec::Hash32 hash{};     // kHash
};

/// Every condition is optional; a rule matches a leg when all present conditions hold.
struct Match {
  std::vector<U256> chains;                  // chain ids
  std::vector<std::size_t> wallets;          // indices in Policy::wallets
  std::vector<codec::RequestKind> requests;
  std::vector<LegKind> legs;
  std::vector<codec::GrantKind> grants;      // grant legs of these kinds
  std::vector<std::size_t> assets;           // indices in Policy::assets
  std::optional<NumberCondition> amount;     // in whole units of the leg's asset
  std::optional<NumberCondition> usd;        // USD value of the leg
  std::optional<AddressSet> counterparty;    // the leg's counterparty is in the set
  std::optional<AddressSet> counterparty_not;// ... is not in the set (and is known)
  std::optional<AddressSet> any_address;     // any address the request touches is in the set
  std::optional<AddressSet> target;          // the call the leg comes from targets the set
  std::vector<FunctionRef> functions;
  std::vector<ParamCondition> params;
  std::optional<codec::Operation> operation;
  std::optional<NumberCondition> depth;
  std::vector<std::string> requesters;
  std::vector<MessageCondition> messages;    // any one holds (MessageCondition)
};

/// A hold: who must approve, how many, how long to wait at least, when it lapses.
/// A hold without approvers (quorum 0) is released by time alone, once its delay has passed.
struct HoldSpec {
  std::vector<std::size_t> approvers;  // indices in Policy::approvers; empty: released by its delay
  std::size_t quorum = 1;
  TimeMs delay_ms = 0;                  // earliest release after the decision
  TimeMs expires_ms = 86'400'000;       // the hold lapses (and its reservations are released)
  bool reject_denies = true;            // one rejection by an eligible approver denies at once
};

enum class LimitUnit { kUsd, kAsset, kCount };

/// A velocity limit. Ledger amounts: micro-USD (kUsd), base units of `asset` (kAsset), thousandths
/// of a leg (kCount, so that a bucket can refill a fraction of a leg per second).
struct LimitSpec {
  std::string name;                     // its id in ledgers and decisions
  LimitUnit unit = LimitUnit::kUsd;
  std::optional<std::size_t> asset;    // kAsset
  std::optional<SlidingWindow> window;  // exactly one of window and bucket
  std::optional<TokenBucket> bucket;
  bool per_wallet = false, per_asset = false, per_destination = false, per_rule = false, per_requester = false;
  std::string max_text;                 // as written, for messages
};

struct Rule {
  std::string id;
  std::string description;
  Match match;
  RuleEffect effect = RuleEffect::kDeny;
  std::string reason;                      // deny: the reason code reported (default "denied-by-rule")
  std::optional<HoldSpec> hold;            // effect hold
  std::vector<std::size_t> limits;         // indices in Policy::limits; allow and hold rules
  std::vector<Protection> lifts;           // allow and hold rules
};

struct ChainSpec {
  std::string name;
  U256 id;
};

struct AssetSpec {
  std::string name;
  U256 chain_id;
  std::optional<codec::Address> address;  // empty: the chain's native coin
  unsigned decimals = 18;
  std::optional<Decimal> fixed_price;     // prices.fixed
};

struct WalletSpec {
  std::string name;
  U256 chain_id;
  codec::Address address;
  bool safe = false;
  std::optional<codec::SafeVersion> safe_version;  // required for Safes
};

struct ApproverSpec {
  std::string name;
  codec::Address address;
};

struct NamedList {
  std::string name;
  AddressList list;
  std::string source;  // file path as written, or "inline"
  codec::Hash32 hash{};  // list.content_hash(), computed once at load
};

struct PriceSettings {
  std::optional<std::string> file;  // as written; the caller loads and refreshes it
  TimeMs max_age_ms = 15 * 60'000;
  std::optional<HoldSpec> hold_when_missing;  // empty: deny when a needed price is missing or stale
};

/// Bridge routes (policy/bridge.hpp) and who may lift an emergency pause.
struct BridgesSpec {
  std::vector<RouteSpec> routes;
  std::optional<HoldSpec> unpause;  // approvers and quorum that lift a pause (required with routes)
  /// The route's index by name.
  std::optional<std::size_t> find(std::string_view route) const noexcept;
};

struct Policy {
  std::string name;
  codec::Hash32 hash{};                 // keccak256 of the canonical JSON (see canonical_json)
  std::vector<ChainSpec> chains;
  std::vector<AssetSpec> assets;
  PriceSettings prices;
  std::vector<NamedList> lists;
  std::vector<ApproverSpec> approvers;
  std::vector<WalletSpec> wallets;
  std::vector<LimitSpec> limits;
  std::vector<Rule> rules;
  BridgesSpec bridges;

  const NamedList* find_list(std::string_view list_name) const noexcept;
  /// The declared wallet at (chain, address), if any.
  const WalletSpec* find_wallet(const U256& chain_id, const codec::Address& address) const noexcept;
  /// The asset at (chain, token address), or the native asset of the chain for nullopt.
  std::optional<std::size_t> find_asset(const U256& chain_id, const std::optional<codec::Address>& token) const noexcept;
  /// What the intent builder needs from the policy: the wallets' Safe versions.
  codec::IntentContext intent_context() const;
  /// The longest window of any limit (for pruning), 0 when there is none.
  TimeMs longest_window_ms() const noexcept;
};

/// The canonical form that is hashed: comments removed, object keys sorted, no white space, numbers
/// as written integers (floats are refused by the loader).
std::string canonical_json(const nlohmann::json& document);

/// Loads and validates a policy. Collects every problem it finds (not only the first); an empty
/// problem list is never returned as an error.
std::expected<Policy, std::vector<PolicyProblem>> load_policy(std::string_view text, const FileReader& read_file);

/// The policy as JSON for decisions and `txguard policy check`: name, hash, and the hash and size of
/// every list.
nlohmann::json summary_json(const Policy& policy);

}  // namespace txguard::policy

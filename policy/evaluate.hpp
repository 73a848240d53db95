// Policy evaluation: evaluate(intent, policy, prices, state, time) -> decision. Pure: it reads
// velocity state only through the StateView it is given (and records every value it read), takes
// time as an argument, and returns the state effects to apply instead of applying them. Given the
// same inputs it returns the same decision, which is what lets an auditor replay the decision log.
//
// How a request is judged:
//   1. A message (personal_sign, eth_sign, or the inner message of a Safe's SafeMessage typed data)
//      that is an opaque hash is denied whatever the rules say ("message-is-a-hash"; see
//      message_is_opaque_hash). So is any call of approveHash(bytes32) other than a Safe's call to
//      itself (an owner approving a hash on chain), and an execTransaction whose sender is one of
//      its v = 1 (approved-hash) signers (the sender's approval): "safe-hash-approval". A Safe
//      transaction is co-signed only through the Safe route. The request must be for a declared
//      wallet on its chain (reason
//      "unknown-wallet", "chain-mismatch"), and a Safe request must be for the wallet's pinned Safe
//      version ("safe-version-mismatch").
//   2. The intent is split into legs (Leg): every transfer, every grant of rights, every Safe
//      configuration change, and every call that no transfer or grant explains (a call whose
//      function txguard reads as a transfer or a grant is explained by it; a MultiSend batch and an
//      execTransaction are containers explained by what they contain; a DELEGATECALL to the wallet
//      version's canonical MultiSendCallOnly is such a container). Typed data that is none of these is
//      one "message" leg.
//   3. Each leg gets its protections (document.hpp, Protection). Calldata that does not decode denies
//      its leg ("undecodable-call") whatever the rules say: what cannot be seen cannot be approved.
//   4. Each leg takes the effect of the first rule that matches it. Conditions that cannot be
//      evaluated for the leg (an amount of an unknown token, a parameter the call does not have) are
//      unknown: an unknown condition never lets an allow rule match, and always lets a deny or hold
//      rule match. An allow or hold rule that does not lift every protection of the leg is passed over.
//      When an allow or hold rule matches but needs a USD value (a USD condition or USD limit) whose
//      price is missing or older than prices.max_age, the leg is denied ("price-unavailable") or held
//      for the approvers of prices.when_missing; a deny rule whose USD condition cannot be computed
//      matches. No match: deny
//      ("no-matching-rule", or the leg's protection codes).
//   5. The request is denied if any leg is denied, held if any leg is held, allowed otherwise.
//   6. For a request that is not denied, the limits of the rules that matched are checked: amounts
//      are first added up per ledger (limit + scope), then each ledger is checked once. A ledger over
//      its limit denies every leg charged to it ("limit-exceeded") and so the request. A denied request
//      has no effects; an allowed one debits; a held one reserves until its hold expires.
//
// Thread safety: evaluate() is reentrant; a Policy and a PriceTable may be shared by threads.
#pragma once

#include <cstddef>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/intent.hpp"
#include "policy/document.hpp"
#include "policy/limits.hpp"
#include "policy/prices.hpp"
#include "policy/state_view.hpp"

namespace txguard::policy {

enum class Verdict { kAllow, kDeny, kHold };
std::string_view to_string(Verdict v) noexcept;  // "allow", "deny", "hold"

/// Stable reason codes (kebab-case). Protections use their own names (to_string(Protection)).
namespace reason {
inline constexpr std::string_view kUnknownWallet = "unknown-wallet";
inline constexpr std::string_view kChainMismatch = "chain-mismatch";
inline constexpr std::string_view kSafeVersionMismatch = "safe-version-mismatch";
inline constexpr std::string_view kUndecodableCall = "undecodable-call";
inline constexpr std::string_view kNoMatchingRule = "no-matching-rule";
inline constexpr std::string_view kPriceUnavailable = "price-unavailable";
inline constexpr std::string_view kLimitExceeded = "limit-exceeded";
inline constexpr std::string_view kHoldRequired = "hold-required";
inline constexpr std::string_view kMessageIsAHash = "message-is-a-hash";
inline constexpr std::string_view kSafeHashApproval = "safe-hash-approval";
}  // namespace reason

/// True for message bytes that are a digest txguard cannot read, which no rule may let it sign:
/// exactly 32 bytes (a Safe accepts an owner's eth_sign, v > 30, over "\x19Ethereum Signed
/// Message:\n32" || safeTxHash, and its SafeMessage hashes the same way), or 66 bytes beginning
/// 0x19 0x01 (an EIP-712 digest's preimage: what a Safe hands an owner Safe's isValidSignature). Text
/// or hex makes no difference: what counts is the bytes that would be signed.
bool message_is_opaque_hash(codec::ByteView message) noexcept;

struct Leg {
  LegKind kind = LegKind::kCall;
  std::optional<std::size_t> transfer;  // index in Intent::transfers
  std::optional<std::size_t> grant;     // index in Intent::grants
  std::optional<std::size_t> call;      // index in Intent::calls the leg comes from
  std::optional<std::size_t> asset;     // index in Policy::assets, when the leg's asset is declared
  std::optional<codec::Address> token;  // the leg's token contract (empty: native coin or none)
  std::optional<U256> amount;           // base units (2^256-1 for unlimited / unbounded)
  std::optional<codec::Address> counterparty;  // recipient, grantee, or call target
  std::vector<Protection> protections;
  bool undecodable = false;
};

/// Splits an intent into legs, in a stable order (by call, then transfers, grants, the call itself).
/// `wallet` is the declared wallet of the request (for the MultiSendCallOnly container rule).
std::vector<Leg> legs_of(const codec::Intent& intent, const Policy& policy);

struct Reason {
  std::string code;
  std::string message;
  std::optional<std::size_t> leg;
  std::string rule;                        // the rule that gave it, if any
  std::optional<codec::Address> address;   // the address it is about (a listed counterparty...)
};

struct LegDecision {
  Leg leg;
  Verdict verdict = Verdict::kDeny;
  std::string rule;                // the deciding rule's id; empty when no rule decided
  std::string asset;               // the policy's name of the leg's asset, when declared
  std::optional<U256> usd_micro;   // the leg's USD value when it was computed
  std::vector<Reason> reasons;     // why it is denied or held (empty when allowed)
};

/// What must happen before a held request is released.
struct HoldRequirement {
  std::string rule;                   // the hold rule, or "prices.when_missing"
  std::vector<std::string> approvers; // eligible approver names
  std::size_t quorum = 1;
  TimeMs not_before_ms = 0;           // the decision time + delay
  TimeMs expires_at_ms = 0;           // the decision time + expires
  bool reject_denies = true;
};

/// One ledger checked.
struct LimitUse {
  std::string limit;
  std::string scope;
  U256 amount;     // this request's amount, in the ledger's unit
  U256 used;       // already used before this request
  U256 headroom;   // the most that could pass now
  bool allowed = false;
  std::vector<std::size_t> legs;
};

/// A price the evaluation used.
struct PriceUse {
  std::string asset;
  Decimal usd;
  TimeMs at_ms = 0;
  bool fixed = false;
};

/// What a hold rule asks of a request decided at `now_ms`: its approvers by name, quorum, earliest
/// release and expiry. The one HoldSpec -> HoldRequirement conversion (rules and the unpause hold).
HoldRequirement hold_requirement(const Policy& policy, const HoldSpec& spec, std::string rule, TimeMs now_ms);

struct EvalInput {
  const codec::Intent* intent = nullptr;
  std::string requester;     // the authenticated client's name
  TimeMs now_ms = 0;
  std::string decision_id;   // unique per decision; names reservations
};

struct Decision {
  Verdict verdict = Verdict::kDeny;
  std::string rule;                    // the deciding rule (first denied leg, else first held, else first allowed)
  std::vector<Reason> reasons;         // request-level and every leg's reasons, in leg order
  std::vector<LegDecision> legs;
  std::vector<HoldRequirement> holds;  // non-empty iff verdict is hold
  std::vector<LimitUse> limits;
  std::vector<PriceUse> prices;
  StateInputs inputs;                  // every state value read, for replay
  Effects effects;                     // to apply atomically with recording the decision
  std::optional<std::string> wallet;   // the declared wallet's name
  // Provenance (recorded, so an auditor knows exactly what judged the request).
  std::string policy_name;
  codec::Hash32 policy_hash{};
  std::map<std::string, codec::Hash32> list_hashes;
  codec::Hash32 prices_hash{};
  std::string requester;
  TimeMs at_ms = 0;
  std::string decision_id;
};

/// Evaluates. Fails only when the state view fails (the caller must then refuse: 503, nothing
/// signed).
std::expected<Decision, StateError> evaluate(const Policy& policy, const EvalInput& input, const PriceTable& prices,
                                             const StateView& state);

/// Every state value an evaluation read, as JSON (recorded in the decision log): an array, in read
/// order, of {"window": {"limit", "scope", "after_ms", "sum"}} and
/// {"bucket": {"limit", "scope", "state": null | {"milli_tokens", "updated_ms"}}}; amounts decimal.
nlohmann::json to_json(const StateInputs& inputs);
/// State effects as JSON, in order: {"debit": {...}}, {"bucket_set": {...}}, {"reserve": {...}},
/// {"commit_reservation": {"id"}}, {"release_reservation": {"id", "at_ms"}}.
nlohmann::json to_json(const Effects& effects);

/// The decision as JSON (stable field names; "state_inputs" and "effects" in full; amounts as decimal strings, USD as decimal dollars,
/// addresses EIP-55, times as unix ms and RFC 3339).
nlohmann::json to_json(const Decision& decision);

/// A StateView with nothing in it (every window empty, every bucket full): `txguard eval` without
/// --state, and shadow policies evaluated only for the record.
class EmptyStateView final : public StateView {
 public:
  StateResult<U256> window_sum(const LedgerKey&, TimeMs) const override { return U256(0); }
  StateResult<std::optional<BucketState>> bucket(const LedgerKey&) const override { return std::nullopt; }
};

}  // namespace txguard::policy

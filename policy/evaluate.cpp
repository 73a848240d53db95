#include "policy/evaluate.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "policy/codec/keccak.hpp"
#include "policy/codec/safe.hpp"

namespace txguard::policy {

using codec::Address;
using codec::Intent;
using Json = nlohmann::json;

std::string_view to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::kAllow: return "allow";
    case Verdict::kDeny: return "deny";
    case Verdict::kHold: return "hold";
  }
  return "unknown";
}

namespace {

const U256 kMaxU256 = ~U256(0);

bool is_container_delegatecall(const codec::Grant& g, const Intent& intent, const Policy& policy) {
  if (g.kind != codec::GrantKind::kDelegateCall || !g.grantee || !g.grantor || !intent.chain_id) return false;
  // The Safe doing the DELEGATECALL must be a declared Safe with a pinned version: only that version's
  // canonical MultiSendCallOnly is trusted (a batch of CALLs that cannot itself DELEGATECALL).
  const WalletSpec* w = policy.find_wallet(*intent.chain_id, *g.grantor);
  if (!w || !w->safe_version) return false;
  const auto allowed = codec::canonical_library_addresses(*w->safe_version, codec::SafeLibrary::kMultiSendCallOnly);
  return std::find(allowed.begin(), allowed.end(), *g.grantee) != allowed.end();
}

// Legs whose amount leaves the wallet: token and USD limits count them.
bool moves_value(LegKind kind) { return kind == LegKind::kTransfer || kind == LegKind::kFee; }

std::string short_address(const std::optional<Address>& a) { return a ? codec::to_checksum(*a) : "(unknown)"; }

// The most a transaction can pay for gas: gas limit x max fee per gas (the gas price for types 0 and 1),
// plus, for a blob transaction, its blob gas (131072 per blob) x max fee per blob gas. Saturates at
// 2^256-1: a fee that large is judged as unbounded, never wrapped.
U256 max_fee_of(const codec::Transaction& txn) {
  using Wide = boost::multiprecision::cpp_int;
  constexpr std::uint64_t kGasPerBlob = 131'072;
  const bool legacy_fees = txn.type == codec::TxnType::kLegacy || txn.type == codec::TxnType::kAccessList;
  Wide fee = Wide(txn.gas_limit) * Wide(legacy_fees ? txn.gas_price : txn.max_fee_per_gas);
  if (txn.type == codec::TxnType::kBlob) {
    fee += Wide(kGasPerBlob) * Wide(txn.blob_versioned_hashes.size()) * Wide(txn.max_fee_per_blob_gas);
  }
  if (fee > Wide(kMaxU256)) return kMaxU256;
  return U256(fee);
}

bool message_matches(const MessageCondition& c, const codec::Bytes& message) {
  switch (c.kind) {
    case MessageCondition::Kind::kText: return message == c.bytes;
    case MessageCondition::Kind::kPrefix:
      return message.size() >= c.bytes.size() && std::equal(c.bytes.begin(), c.bytes.end(), message.begin());
    case MessageCondition::Kind::kHash: return codec::keccak256(message) == c.hash;
  }
  return false;
}

}  // namespace

HoldRequirement hold_requirement(const Policy& policy, const HoldSpec& spec, std::string rule, TimeMs now_ms) {
  HoldRequirement h;
  h.rule = std::move(rule);
  for (const auto a : spec.approvers) h.approvers.push_back(policy.approvers[a].name);
  h.quorum = spec.quorum;
  h.not_before_ms = now_ms + spec.delay_ms;
  h.expires_at_ms = now_ms + spec.expires_ms;
  h.reject_denies = spec.reject_denies;
  return h;
}

bool message_is_opaque_hash(codec::ByteView message) noexcept {
  return message.size() == 32 || (message.size() == 66 && message[0] == 0x19 && message[1] == 0x01);
}

std::vector<Leg> legs_of(const Intent& intent, const Policy& policy) {
  const U256 chain = intent.chain_id.value_or(0);
  struct Keyed {
    std::size_t call;  // calls.size() for legs without a call (sorted first via +1 below)
    int order;
    std::size_t index;
    Leg leg;
  };
  std::vector<Keyed> keyed;
  std::vector<bool> explained(intent.calls.size(), false);
  std::vector<bool> container(intent.calls.size(), false);
  for (const auto& c : intent.calls) {
    if (c.parent && *c.parent < container.size()) container[*c.parent] = true;
  }
  const auto call_key = [&](std::optional<std::size_t> call) { return call ? *call + 1 : 0; };

  for (std::size_t i = 0; i < intent.transfers.size(); ++i) {
    const auto& t = intent.transfers[i];
    Leg leg;
    leg.kind = LegKind::kTransfer;
    leg.transfer = i;
    leg.call = t.call < intent.calls.size() ? std::optional<std::size_t>(t.call) : std::nullopt;
    leg.token = t.asset;
    leg.asset = policy.find_asset(chain, t.asset);
    leg.amount = t.unbounded ? kMaxU256 : t.amount;
    leg.counterparty = t.to;
    if (t.kind == codec::TransferKind::kGasRefund) leg.protections.push_back(Protection::kGasRefund);
    // A token transfer explains its call (the function is read as the transfer); native value with
    // calldata does not (the function does something besides receiving the value).
    if (leg.call && t.kind != codec::TransferKind::kGasRefund &&
        (t.kind != codec::TransferKind::kNative || intent.calls[*leg.call].data_size == 0)) {
      explained[*leg.call] = true;
    }
    keyed.push_back({call_key(leg.call), 0, i, std::move(leg)});
  }
  for (std::size_t i = 0; i < intent.grants.size(); ++i) {
    const auto& g = intent.grants[i];
    const std::optional<std::size_t> call =
        g.call && *g.call < intent.calls.size() ? g.call : std::nullopt;
    if (call) explained[*call] = true;
    if (is_container_delegatecall(g, intent, policy)) continue;
    Leg leg;
    leg.kind = codec::is_configuration_change(g.kind) ? LegKind::kConfigurationChange : LegKind::kGrant;
    leg.grant = i;
    leg.call = call;
    leg.token = g.asset;
    if (g.asset) leg.asset = policy.find_asset(chain, g.asset);
    if (g.unlimited) leg.amount = kMaxU256;
    else if (g.amount) leg.amount = g.amount;
    leg.counterparty = g.grantee;
    switch (g.kind) {
      case codec::GrantKind::kDelegateCall: leg.protections.push_back(Protection::kUnsafeDelegateCall); break;
      case codec::GrantKind::kDelegation: leg.protections.push_back(Protection::kEip7702Delegation); break;
      default:
        if (codec::is_configuration_change(g.kind)) leg.protections.push_back(Protection::kSafeConfigurationChange);
    }
    if (g.unlimited && !g.revocation) leg.protections.push_back(Protection::kUnlimitedApproval);
    keyed.push_back({call_key(call), 1, i, std::move(leg)});
  }
  for (std::size_t i = 0; i < intent.calls.size(); ++i) {
    const auto& c = intent.calls[i];
    const bool creation = !c.target;
    const bool suspicious = c.decode_error.has_value() || c.unknown_selector || creation;
    if (!suspicious && (explained[i] || container[i] || c.safe_tx)) continue;
    Leg leg;
    leg.kind = LegKind::kCall;
    leg.call = i;
    leg.counterparty = c.target;
    if (c.unknown_selector) leg.protections.push_back(Protection::kUnknownSelector);
    if (creation) leg.protections.push_back(Protection::kContractCreation);
    leg.undecodable = c.decode_error.has_value();
    keyed.push_back({i + 1, 2, i, std::move(leg)});
  }
  // A transaction of the guard's own account pays its gas in the native coin: a leg of its own, first.
  if (intent.kind == codec::RequestKind::kTransaction && intent.transaction) {
    Leg leg;
    leg.kind = LegKind::kFee;
    leg.asset = policy.find_asset(chain, std::nullopt);
    leg.amount = max_fee_of(*intent.transaction);
    keyed.push_back({0, 0, 0, std::move(leg)});
  }
  if (keyed.empty() && (intent.kind == codec::RequestKind::kTypedData || intent.kind == codec::RequestKind::kMessage)) {
    Leg leg;
    leg.kind = LegKind::kMessage;
    keyed.push_back({0, 3, 0, std::move(leg)});
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    return std::tie(a.call, a.order, a.index) < std::tie(b.call, b.order, b.index);
  });
  std::vector<Leg> out;
  out.reserve(keyed.size());
  for (auto& k : keyed) out.push_back(std::move(k.leg));
  return out;
}

namespace {

enum class Tri { kNo, kYes, kUnknown };

template <class Number>
bool compare(const Number& a, CompareOp op, const Number& b) {
  switch (op) {
    case CompareOp::kEq: return a == b;
    case CompareOp::kNe: return a != b;
    case CompareOp::kLt: return a < b;
    case CompareOp::kLe: return a <= b;
    case CompareOp::kGt: return a > b;
    case CompareOp::kGe: return a >= b;
  }
  return false;
}

// Signed integers from ABI JSON ("-5") compared exactly.
using BigInt = boost::multiprecision::cpp_int;
std::optional<BigInt> parse_integer(const std::string& text) {
  std::string_view t = text;
  const bool negative = t.starts_with('-');
  if (negative) t.remove_prefix(1);
  auto d = parse_decimal(t);
  if (!d || d->scale != 0) return std::nullopt;
  BigInt v(d->digits);
  return negative ? BigInt(-v) : v;
}

class Evaluator {
 public:
  Evaluator(const Policy& policy, const EvalInput& input, const PriceTable& prices, const StateView& state)
      : policy_(policy), input_(input), intent_(*input.intent), prices_(prices), state_(state) {}

  std::expected<Decision, StateError> run() {
    d_.policy_name = policy_.name;
    d_.policy_hash = policy_.hash;
    for (const auto& l : policy_.lists) d_.list_hashes[l.name] = l.hash;
    d_.prices_hash = prices_.hash;
    d_.requester = input_.requester;
    d_.at_ms = input_.now_ms;
    d_.decision_id = input_.decision_id;

    const bool opaque = refuse_opaque_message();
    const bool approval = refuse_owner_approvals();
    if (!check_wallet() || opaque || approval) return finish();
    const std::vector<Leg> legs = legs_of(intent_, policy_);
    for (std::size_t i = 0; i < legs.size(); ++i) d_.legs.push_back(judge(i, legs[i]));
    if (std::none_of(d_.legs.begin(), d_.legs.end(), [](const LegDecision& l) { return l.verdict == Verdict::kDeny; })) {
      if (auto ok = apply_limits(); !ok) return std::unexpected(ok.error());
    }
    return finish();
  }

 private:
  // ---- request level --------------------------------------------------------------------------
  // A Safe accepts an owner's eth_sign signature (v > 30) over "\x19Ethereum Signed Message:\n32" ||
  // hash, for its safeTxHash (execTransaction) and for its SafeMessage hash (EIP-1271), and an owner
  // Safe's EIP-1271 signature over the 66 bytes 0x1901 || domainSeparator || structHash of another
  // Safe's transaction. Such a message is a digest of something txguard cannot see: signing it would
  // approve, as a Safe owner, what the Safe route never judged. No rule can allow it.
  bool refuse_opaque_message() {
    if (!intent_.message || !message_is_opaque_hash(*intent_.message)) return false;
    const bool eip712 = intent_.message->size() == 66;
    d_.reasons.push_back({std::string(reason::kMessageIsAHash),
                          eip712 ? "the message is 0x1901 || domain separator || struct hash: an EIP-712 digest's "
                                   "preimage (a Safe transaction or message to approve as an owner Safe), not readable text"
                                 : "the message is 32 bytes: a hash (a Safe accepts an owner's eth_sign of its safeTxHash "
                                   "or SafeMessage hash as a signature), not readable text; nothing is signed",
                          std::nullopt, {}, intent_.wallet});
    return true;
  }

  // The other ways an owner approves a Safe transaction besides a signature: approveHash(hash) on
  // the Safe (a hash txguard cannot see), and execTransaction sent by the owner itself with a v = 1
  // signature naming it (the Safe counts msg.sender as approving). Through a transaction, neither is
  // judged as the Safe's transaction (its wallet's rules, its pinned version, its once-only nonce):
  // no rule can allow them; a Safe transaction is co-signed through the Safe route.
  bool refuse_owner_approvals() {
    bool refused = false;
    for (const auto& c : intent_.calls) {
      const bool self = c.from && c.target && *c.from == *c.target;
      if (c.operation == codec::Operation::kCall && !self && c.selector &&
          std::find(c.functions.begin(), c.functions.end(), "approveHash(bytes32)") != c.functions.end()) {
        d_.reasons.push_back({std::string(reason::kSafeHashApproval),
                              "approveHash on " + short_address(c.target) +
                                  " approves, as an owner, a Safe transaction hash txguard cannot see; co-sign the "
                                  "Safe transaction through the Safe route instead",
                              std::nullopt, {}, c.target});
        refused = true;
      }
      if (!c.safe_tx || !c.from || *c.safe_tx >= intent_.safe_txs.size()) continue;
      const auto& entry = intent_.safe_txs[*c.safe_tx];
      if (!entry.signatures) continue;
      for (const auto& sig : entry.signatures->items) {
        if (sig.kind == codec::SafeSignatureKind::kApprovedHash && sig.owner == c.from) {
          d_.reasons.push_back({std::string(reason::kSafeHashApproval),
                                "execTransaction on " + codec::to_checksum(entry.safe) + " sent by " +
                                    codec::to_checksum(*c.from) +
                                    " counts as that owner's approval (a v = 1 signature naming the sender); co-sign "
                                    "the Safe transaction through the Safe route instead",
                                std::nullopt, {}, entry.safe});
          refused = true;
        }
      }
    }
    return refused;
  }

  bool check_wallet() {
    auto deny = [&](std::string_view code, std::string message) {
      d_.reasons.push_back({std::string(code), std::move(message), std::nullopt, {}, intent_.wallet});
      return false;
    };
    if (!intent_.wallet) return deny(reason::kUnknownWallet, "the request does not say which account signs it");
    if (!intent_.chain_id) {
      return deny(reason::kChainMismatch,
                  "the request has no chain id (a legacy transaction without EIP-155 replays on every chain)");
    }
    wallet_ = policy_.find_wallet(*intent_.chain_id, *intent_.wallet);
    if (!wallet_) {
      for (const auto& w : policy_.wallets) {
        if (w.address == *intent_.wallet) {
          return deny(reason::kChainMismatch, "wallet " + w.name + " is declared on chain " + codec::to_decimal(w.chain_id) +
                                                   ", the request is for chain " + codec::to_decimal(*intent_.chain_id));
        }
      }
      return deny(reason::kUnknownWallet,
                  codec::to_checksum(*intent_.wallet) + " on chain " + codec::to_decimal(*intent_.chain_id) +
                      " is not a wallet of this policy");
    }
    d_.wallet = wallet_->name;
    if (intent_.kind == codec::RequestKind::kSafeTransaction) {
      if (!wallet_->safe) return deny(reason::kSafeVersionMismatch, "wallet " + wallet_->name + " is not a Safe");
      const auto& entry = intent_.safe_txs.front();
      if (entry.version != wallet_->safe_version) {
        return deny(reason::kSafeVersionMismatch,
                    "the request is for Safe " +
                        (entry.version ? std::string(codec::to_string(*entry.version)) : std::string("(no version)")) +
                        "; wallet " + wallet_->name + " is pinned to " + std::string(codec::to_string(*wallet_->safe_version)));
      }
    }
    return true;
  }

  // ---- price --------------------------------------------------------------------------------
  struct PriceLookup {
    const Decimal* usd = nullptr;
    std::string why;  // when missing
  };
  PriceLookup price_of(const Leg& leg) {
    if (!leg.asset) {
      return {nullptr, "the asset " + (leg.token ? codec::to_checksum(*leg.token) : std::string("(native)")) +
                           " is not declared in the policy, so it has no price"};
    }
    const AssetSpec& asset = policy_.assets[*leg.asset];
    if (asset.fixed_price) {
      note_price(asset.name, *asset.fixed_price, 0, true);
      return {&*asset.fixed_price, {}};
    }
    auto it = prices_.prices.find(asset.name);
    if (it == prices_.prices.end()) return {nullptr, "no price for " + asset.name + " in the price table"};
    // A price from the future would never go stale: beyond a clock skew it counts as missing.
    if (it->second.at_ms > input_.now_ms + kMaxPriceClockSkewMs) {
      return {nullptr, "the price of " + asset.name + " is dated " + format_time(it->second.at_ms) +
                           ", in the future: the price source's clock or the table is wrong"};
    }
    const TimeMs age = input_.now_ms - it->second.at_ms;
    if (age > policy_.prices.max_age_ms) {
      return {nullptr, "the price of " + asset.name + " is from " + format_time(it->second.at_ms) + ", older than " +
                           std::to_string(policy_.prices.max_age_ms / 1000) + " s"};
    }
    note_price(asset.name, it->second.usd, it->second.at_ms, false);
    return {&it->second.usd, {}};
  }

  void note_price(const std::string& asset, const Decimal& usd, TimeMs at, bool fixed) {
    for (const auto& p : d_.prices) {
      if (p.asset == asset) return;
    }
    d_.prices.push_back({asset, usd, at, fixed});
  }

  /// The leg's USD value in micro-dollars, or why it has none.
  std::expected<U256, std::string> usd_of(const Leg& leg) {
    if (!leg.amount) return std::unexpected(std::string("the leg has no amount"));
    auto price = price_of(leg);
    if (!price.usd) return std::unexpected(price.why);
    return usd_micro(*leg.amount, policy_.assets[*leg.asset].decimals, *price.usd);
  }

  // ---- matching -----------------------------------------------------------------------------
  bool in_set(const AddressSet& set, const Address& a, std::string* which) const {
    if (std::find(set.addresses.begin(), set.addresses.end(), a) != set.addresses.end()) {
      if (which) *which = "the rule's addresses";
      return true;
    }
    for (const auto& name : set.lists) {
      const NamedList* l = policy_.find_list(name);
      if (l && l->list.contains(a)) {
        if (which) *which = "list " + name;
        return true;
      }
    }
    return false;
  }

  const codec::Call* call_of(const Leg& leg) const { return leg.call ? &intent_.calls[*leg.call] : nullptr; }

  Tri match_param(const ParamCondition& pc, const codec::Call* call) const {
    if (!call || call->args.is_null()) return Tri::kUnknown;
    const Json* value = nullptr;
    if (call->args.is_object() && call->args.contains(pc.name)) value = &call->args[pc.name];
    else if (call->args.is_array()) {
      auto idx = parse_decimal(pc.name);
      if (idx && idx->scale == 0) {
        auto n = codec::to_u64(idx->digits);
        if (n && *n < call->args.size()) value = &call->args[static_cast<std::size_t>(*n)];
      }
    }
    if (!value) return Tri::kUnknown;
    const std::string text = value->is_string() ? value->get<std::string>() : value->dump();
    const auto address = codec::parse_address(text);
    const auto integer = parse_integer(text);
    for (const auto& [op, want] : pc.terms) {
      bool holds = false;
      if (op == CompareOp::kEq || op == CompareOp::kNe) {
        bool equal = text == want;
        if (address) {
          auto w = codec::parse_address(want);
          equal = w && *w == *address;
        } else if (integer) {
          auto w = parse_integer(want);
          equal = w && *w == *integer;
        }
        holds = op == CompareOp::kEq ? equal : !equal;
      } else {
        auto w = parse_integer(want);
        if (!integer || !w) return Tri::kUnknown;
        holds = compare(*integer, op, *w);
      }
      if (!holds) return Tri::kNo;
    }
    const auto member = [&](const std::optional<AddressSet>& set, const std::vector<std::string>& values) {
      if (address && set && in_set(*set, *address, nullptr)) return true;
      for (const auto& v : values) {
        if (v == text) return true;
        if (address) {
          if (auto w = codec::parse_address(v); w && *w == *address) return true;
        } else if (integer) {
          if (auto w = parse_integer(v); w && *w == *integer) return true;
        }
      }
      return false;
    };
    if ((pc.in || !pc.in_values.empty()) && !member(pc.in, pc.in_values)) return Tri::kNo;
    if ((pc.not_in || !pc.not_in_values.empty()) && member(pc.not_in, pc.not_in_values)) return Tri::kNo;
    return Tri::kYes;
  }

  struct RuleMatch {
    Tri result = Tri::kNo;
    bool needs_price = false;   // a USD condition whose price is missing
    std::string unknown;        // the first condition that could not be evaluated
    std::string price_why;
    std::optional<Address> address;  // the listed address that matched
    std::string address_source;
  };

  static void combine(RuleMatch& m, Tri t, std::string_view what) {
    if (t == Tri::kNo) m.result = Tri::kNo;
    else if (t == Tri::kUnknown && m.result != Tri::kNo) {
      m.result = Tri::kUnknown;
      if (m.unknown.empty()) m.unknown = std::string(what);
    }
  }

  RuleMatch match(const Rule& rule, const Leg& leg, std::optional<U256>& usd_cache) {
    const Match& mt = rule.match;
    RuleMatch m;
    m.result = Tri::kYes;
    const codec::Call* call = call_of(leg);
    const auto want = [&](bool ok) { return ok ? Tri::kYes : Tri::kNo; };

    if (!mt.chains.empty()) combine(m, want(std::find(mt.chains.begin(), mt.chains.end(), *intent_.chain_id) != mt.chains.end()), "chain");
    if (!mt.wallets.empty()) {
      const auto w = static_cast<std::size_t>(wallet_ - policy_.wallets.data());
      combine(m, want(std::find(mt.wallets.begin(), mt.wallets.end(), w) != mt.wallets.end()), "wallet");
    }
    if (!mt.requests.empty()) combine(m, want(std::find(mt.requests.begin(), mt.requests.end(), intent_.kind) != mt.requests.end()), "request");
    if (!mt.legs.empty()) combine(m, want(std::find(mt.legs.begin(), mt.legs.end(), leg.kind) != mt.legs.end()), "leg");
    if (!mt.requesters.empty()) {
      combine(m, want(std::find(mt.requesters.begin(), mt.requesters.end(), input_.requester) != mt.requesters.end()), "requester");
    }
    if (!mt.messages.empty()) {
      if (leg.kind != LegKind::kMessage) combine(m, Tri::kNo, "message");
      else if (!intent_.message) combine(m, Tri::kUnknown, "message");
      else combine(m, want(std::any_of(mt.messages.begin(), mt.messages.end(), [&](const MessageCondition& c) {
                     return message_matches(c, *intent_.message);
                   })),
                   "message");
    }
    if (m.result == Tri::kNo) return m;
    if (!mt.grants.empty()) {
      combine(m, want(leg.grant && std::find(mt.grants.begin(), mt.grants.end(), intent_.grants[*leg.grant].kind) != mt.grants.end()),
              "grant");
    }
    if (!mt.assets.empty()) combine(m, want(leg.asset && std::find(mt.assets.begin(), mt.assets.end(), *leg.asset) != mt.assets.end()), "asset");
    if (mt.operation) combine(m, call ? want(call->operation == *mt.operation) : Tri::kUnknown, "operation");
    if (mt.depth) {
      const U256 depth = call ? U256(call->depth) : U256(0);
      bool ok = true;
      for (const auto& [op, d] : mt.depth->terms) ok = ok && d.scale == 0 && compare(depth, op, d.digits);
      combine(m, want(ok), "depth");
    }
    if (!mt.functions.empty()) {
      bool ok = false;
      if (call && call->selector) {
        for (const auto& f : mt.functions) {
          if (f.selector != *call->selector) continue;
          if (f.signature.empty() ||
              std::find(call->functions.begin(), call->functions.end(), f.signature) != call->functions.end())
            ok = true;
        }
      }
      combine(m, want(ok), "function");
    }
    if (mt.target) {
      if (!call) combine(m, Tri::kUnknown, "target");
      else combine(m, want(call->target && in_set(*mt.target, *call->target, nullptr)), "target");
    }
    if (mt.counterparty) {
      std::string which;
      if (!leg.counterparty) combine(m, Tri::kUnknown, "counterparty");
      else if (in_set(*mt.counterparty, *leg.counterparty, &which)) {
        m.address = leg.counterparty;
        m.address_source = which;
      } else {
        combine(m, Tri::kNo, "counterparty");
      }
    }
    if (mt.counterparty_not) {
      if (!leg.counterparty) combine(m, Tri::kUnknown, "counterparty_not");
      else combine(m, want(!in_set(*mt.counterparty_not, *leg.counterparty, nullptr)), "counterparty_not");
    }
    if (mt.any_address) {
      bool found = false;
      for (const auto& a : intent_.addresses) {
        std::string which;
        if (in_set(*mt.any_address, a, &which)) {
          m.address = a;
          m.address_source = which;
          found = true;
          break;
        }
      }
      combine(m, want(found), "any_address");
    }
    for (const auto& pc : mt.params) combine(m, match_param(pc, call), "params." + pc.name);
    if (mt.amount) {
      if (!leg.amount || !leg.asset) {
        combine(m, Tri::kUnknown, "amount");
      } else {
        bool ok = true;
        for (const auto& [op, d] : mt.amount->terms) {
          auto threshold = to_scaled(d, policy_.assets[*leg.asset].decimals);
          ok = ok && threshold && compare(*leg.amount, op, *threshold);
        }
        combine(m, want(ok), "amount");
      }
    }
    if (m.result == Tri::kNo) return m;
    if (mt.usd) {
      if (!usd_cache) {
        auto usd = usd_of(leg);
        if (!usd) {
          m.needs_price = true;
          m.price_why = usd.error();
          return m;
        }
        usd_cache = *usd;
      }
      bool ok = true;
      for (const auto& [op, d] : mt.usd->terms) ok = ok && compare(*usd_cache, op, *to_scaled(d, 6));
      combine(m, want(ok), "usd");
    }
    return m;
  }

  bool lifts_all(const Rule& rule, const Leg& leg) const {
    return std::all_of(leg.protections.begin(), leg.protections.end(), [&](Protection p) {
      return std::find(rule.lifts.begin(), rule.lifts.end(), p) != rule.lifts.end();
    });
  }

  std::string describe(const Leg& leg) const {
    std::string out(to_string(leg.kind));
    if (leg.transfer) {
      const auto& t = intent_.transfers[*leg.transfer];
      out += " (" + std::string(codec::to_string(t.kind)) + ") of " + codec::to_decimal(t.amount) + " " +
             (leg.asset ? policy_.assets[*leg.asset].name : (t.asset ? codec::to_checksum(*t.asset) : std::string("native"))) +
             " to " + short_address(t.to);
    } else if (leg.grant) {
      out += " " + std::string(codec::to_string(intent_.grants[*leg.grant].kind)) + " to " + short_address(leg.counterparty);
    } else if (leg.kind == LegKind::kFee) {
      out += " of at most " + codec::to_decimal(leg.amount.value_or(0)) + " " +
             (leg.asset ? policy_.assets[*leg.asset].name : std::string("native")) + " (base units) for gas";
    } else if (leg.call) {
      const auto& c = intent_.calls[*leg.call];
      out += c.operation == codec::Operation::kDelegateCall ? " DELEGATECALL to " : " to ";
      out += short_address(c.target);
      if (!c.functions.empty()) out += " " + c.functions.front();
      else if (c.selector) out += " selector 0x" + codec::to_hex(*c.selector).substr(2);
    }
    if (leg.call) out += " at depth " + std::to_string(intent_.calls[*leg.call].depth);
    return out;
  }

  std::string protection_message(Protection p, const Leg& leg) const {
    switch (p) {
      case Protection::kUnsafeDelegateCall: {
        std::string canonical = "no MultiSendCallOnly";
        if (wallet_ && wallet_->safe_version) {
          canonical = "the canonical MultiSendCallOnly of Safe " + std::string(codec::to_string(*wallet_->safe_version));
        }
        return "DELEGATECALL to " + short_address(leg.counterparty) + ", which is not " + canonical +
               ": its code would run with the wallet's storage and could take the wallet over";
      }
      case Protection::kSafeConfigurationChange:
        return "changes the Safe's configuration (" + std::string(codec::to_string(intent_.grants[*leg.grant].kind)) + ")";
      case Protection::kUnknownSelector: return "calls a function txguard does not know: " + describe(leg);
      case Protection::kGasRefund: return "the Safe pays its relayer a gas refund (gasPrice > 0)";
      case Protection::kContractCreation: return "creates a contract";
      case Protection::kEip7702Delegation: return "replaces the account's code with " + short_address(leg.counterparty) + " (EIP-7702)";
      case Protection::kUnlimitedApproval: return "grants an unlimited allowance to " + short_address(leg.counterparty);
    }
    return {};
  }

  LegDecision judge(std::size_t index, const Leg& leg) {
    LegDecision out;
    out.leg = leg;
    if (leg.asset) out.asset = policy_.assets[*leg.asset].name;
    const auto reason = [&](std::string code, std::string message, std::string rule = {},
                            std::optional<Address> address = std::nullopt) {
      out.reasons.push_back({std::move(code), std::move(message), index, std::move(rule), address});
    };
    if (leg.undecodable) {
      const auto& c = intent_.calls[*leg.call];
      out.verdict = Verdict::kDeny;
      reason(std::string(reason::kUndecodableCall),
             describe(leg) + " does not decode (" + c.decode_error->message() + "): what cannot be read cannot be approved");
      return out;
    }
    std::optional<U256> usd;
    for (std::size_t r = 0; r < policy_.rules.size(); ++r) {
      const Rule& rule = policy_.rules[r];
      RuleMatch m = match(rule, leg, usd);
      if (m.result == Tri::kNo) continue;
      if (rule.effect == RuleEffect::kDeny) {
        out.verdict = Verdict::kDeny;
        out.rule = rule.id;
        std::string message = "rule " + rule.id + " denies " + describe(leg);
        if (m.address) message += ": " + codec::to_checksum(*m.address) + " is in " + m.address_source;
        if (m.needs_price) message += " (price unknown: " + m.price_why + ")";
        else if (m.result == Tri::kUnknown) message += " (condition " + m.unknown + " could not be evaluated)";
        reason(rule.reason, message, rule.id, m.address);
        return out;
      }
      if (!lifts_all(rule, leg)) continue;
      if (rule.effect == RuleEffect::kAllow && m.result == Tri::kUnknown && !m.needs_price) continue;
      // A USD limit also needs the price.
      bool usd_limit = false;
      for (auto l : rule.limits) usd_limit = usd_limit || (policy_.limits[l].unit == LimitUnit::kUsd && moves_value(leg.kind));
      if (usd_limit && !m.needs_price && !usd) {
        auto v = usd_of(leg);
        if (v) usd = *v;
        else {
          m.needs_price = true;
          m.price_why = v.error();
        }
      }
      out.usd_micro = usd;
      out.rule = rule.id;
      // A rule that would let the leg through (now, or once approved) never does so on a USD value it
      // cannot compute: prices.when_missing decides.
      if (m.needs_price) {
        if (policy_.prices.hold_when_missing) {
          out.verdict = Verdict::kHold;
          add_hold("prices.when_missing", *policy_.prices.hold_when_missing);
        } else {
          out.verdict = Verdict::kDeny;
        }
        reason(std::string(reason::kPriceUnavailable),
               "rule " + rule.id + " needs the USD value of " + describe(leg) + ": " + m.price_why);
        return out;
      }
      matched_rule_[index] = r;
      if (rule.effect == RuleEffect::kHold) {
        out.verdict = Verdict::kHold;
        add_hold(rule.id, *rule.hold);
        reason(std::string(reason::kHoldRequired), "rule " + rule.id + " holds " + describe(leg) + " for approval", rule.id);
        return out;
      }
      out.verdict = Verdict::kAllow;
      return out;
    }
    out.verdict = Verdict::kDeny;
    if (leg.protections.empty()) {
      reason(std::string(reason::kNoMatchingRule), "no rule allows " + describe(leg));
    } else {
      for (Protection p : leg.protections) reason(std::string(to_string(p)), protection_message(p, leg), {}, leg.counterparty);
    }
    return out;
  }

  void add_hold(const std::string& rule, const HoldSpec& spec) {
    for (const auto& h : d_.holds) {
      if (h.rule == rule) return;
    }
    d_.holds.push_back(hold_requirement(policy_, spec, rule, input_.now_ms));
  }

  // ---- limits -------------------------------------------------------------------------------
  std::expected<void, StateError> apply_limits() {
    struct Ledger {
      std::size_t limit;
      U256 amount;
      std::vector<std::size_t> legs;
    };
    std::map<LedgerKey, Ledger> ledgers;
    for (std::size_t i = 0; i < d_.legs.size(); ++i) {
      LegDecision& ld = d_.legs[i];
      auto it = matched_rule_.find(i);
      if (it == matched_rule_.end()) continue;
      const Rule& rule = policy_.rules[it->second];
      for (std::size_t l : rule.limits) {
        const LimitSpec& spec = policy_.limits[l];
        U256 amount;
        if (spec.unit == LimitUnit::kCount) {
          amount = 1000;
        } else if (!moves_value(ld.leg.kind)) {
          continue;  // token and USD limits count value moved (transfers, fees); grants and calls count in count limits
        } else if (spec.unit == LimitUnit::kAsset) {
          if (ld.leg.asset != spec.asset || !ld.leg.amount) continue;
          amount = *ld.leg.amount;
        } else {
          if (!ld.usd_micro) continue;  // judge() made sure a USD-limited transfer has its value
          amount = *ld.usd_micro;
        }
        ScopeParts parts;
        if (spec.per_wallet) parts.wallet = wallet_->address;
        if (spec.per_asset) {
          parts.asset = ld.leg.asset ? policy_.assets[*ld.leg.asset].name
                                     : (ld.leg.token ? codec::to_checksum(*ld.leg.token) : std::string("native"));
        }
        if (spec.per_destination) parts.destination = ld.leg.counterparty.value_or(Address{});
        if (spec.per_rule) parts.rule = rule.id;
        if (spec.per_requester) parts.requester = input_.requester;
        LedgerKey key{spec.name, ScopeKey::make(parts)};
        Ledger& ledger = ledgers.try_emplace(key, Ledger{l, U256(0), {}}).first->second;
        try {
          ledger.amount += amount;
        } catch (const std::overflow_error&) {
          ledger.amount = kMaxU256;
        }
        ledger.legs.push_back(i);
      }
    }
    if (ledgers.empty()) return {};
    const bool hold = std::any_of(d_.legs.begin(), d_.legs.end(), [](const LegDecision& l) { return l.verdict == Verdict::kHold; });
    TimeMs expires = input_.now_ms;
    for (const auto& h : d_.holds) expires = std::max(expires, h.expires_at_ms);
    RecordingStateView view(state_, d_.inputs);
    Effects effects;
    bool all_allowed = true;
    std::size_t n = 0;
    for (const auto& [key, ledger] : ledgers) {
      const LimitSpec& spec = policy_.limits[ledger.limit];
      std::optional<ReserveAs> reserve;
      if (hold) reserve = ReserveAs{input_.decision_id + "#" + std::to_string(n), expires};
      ++n;
      auto check = spec.window ? check_window(*spec.window, key, ledger.amount, input_.now_ms, view, reserve)
                               : check_bucket(*spec.bucket, key, ledger.amount, input_.now_ms, view, reserve);
      if (!check) return std::unexpected(check.error());
      d_.limits.push_back({spec.name, key.scope.text, ledger.amount, check->used, check->headroom, check->allowed, ledger.legs});
      if (check->allowed) {
        effects.insert(effects.end(), check->effects.begin(), check->effects.end());
        continue;
      }
      all_allowed = false;
      for (std::size_t i : ledger.legs) {
        LegDecision& ld = d_.legs[i];
        ld.verdict = Verdict::kDeny;
        ld.reasons.push_back({std::string(reason::kLimitExceeded),
                              "limit " + spec.name + " (" + spec.max_text + (spec.unit == LimitUnit::kUsd ? " USD" : "") +
                                  (spec.window ? " per window" : " bucket") + ", scope " + key.scope.text +
                                  ") has " + format_amount(spec, check->headroom) + " left; this request needs " +
                                  format_amount(spec, ledger.amount),
                              i, policy_.rules[matched_rule_[i]].id, std::nullopt});
      }
    }
    if (all_allowed) d_.effects = std::move(effects);
    return {};
  }

  std::string format_amount(const LimitSpec& spec, const U256& v) const {
    switch (spec.unit) {
      case LimitUnit::kUsd: return format_scaled(v, 6) + " USD";
      case LimitUnit::kAsset: return format_scaled(v, policy_.assets[*spec.asset].decimals) + " " + policy_.assets[*spec.asset].name;
      case LimitUnit::kCount: return format_scaled(v, 3) + " legs";
    }
    return {};
  }

  std::expected<Decision, StateError> finish() {
    bool deny = !d_.reasons.empty();  // request-level denials
    bool hold = false;
    for (const auto& l : d_.legs) {
      deny = deny || l.verdict == Verdict::kDeny;
      hold = hold || l.verdict == Verdict::kHold;
    }
    d_.verdict = deny ? Verdict::kDeny : hold ? Verdict::kHold : Verdict::kAllow;
    for (const auto& l : d_.legs) {
      if (l.verdict == d_.verdict && !l.rule.empty()) {
        d_.rule = l.rule;
        break;
      }
    }
    for (const auto& l : d_.legs) d_.reasons.insert(d_.reasons.end(), l.reasons.begin(), l.reasons.end());
    if (d_.verdict == Verdict::kDeny) {
      d_.effects.clear();
      d_.holds.clear();
      // Hold reasons of other legs are moot once the request is denied.
      std::erase_if(d_.reasons, [](const Reason& r) { return r.code == reason::kHoldRequired; });
    } else if (d_.verdict == Verdict::kAllow) {
      d_.holds.clear();
    }
    return std::move(d_);
  }

  const Policy& policy_;
  const EvalInput& input_;
  const Intent& intent_;
  const PriceTable& prices_;
  const StateView& state_;
  const WalletSpec* wallet_ = nullptr;
  std::map<std::size_t, std::size_t> matched_rule_;  // leg -> allow/hold rule
  Decision d_;
};

}  // namespace

std::expected<Decision, StateError> evaluate(const Policy& policy, const EvalInput& input, const PriceTable& prices,
                                             const StateView& state) {
  Evaluator e(policy, input, prices, state);
  return e.run();
}

namespace {

Json ledger_json(const LedgerKey& key) { return {{"limit", key.limit_id}, {"scope", key.scope.text}}; }

Json bucket_state_json(const BucketState& state) {
  return {{"milli_tokens", codec::to_decimal(state.milli_tokens)}, {"updated_ms", state.updated_ms}};
}

}  // namespace

Json to_json(const StateInputs& inputs) {
  Json out = Json::array();
  for (const StateRead& read : inputs.reads) {
    if (const auto* w = std::get_if<WindowRead>(&read)) {
      Json j = ledger_json(w->key);
      j["after_ms"] = w->after_ms;
      j["sum"] = codec::to_decimal(w->sum);
      out.push_back({{"window", std::move(j)}});
    } else {
      const auto& b = std::get<BucketRead>(read);
      Json j = ledger_json(b.key);
      j["state"] = b.state ? bucket_state_json(*b.state) : Json(nullptr);
      out.push_back({{"bucket", std::move(j)}});
    }
  }
  return out;
}

Json to_json(const Effects& effects) {
  Json out = Json::array();
  for (const Effect& effect : effects) {
    if (const auto* d = std::get_if<Debit>(&effect)) {
      Json j = ledger_json(d->key);
      j["amount"] = codec::to_decimal(d->amount);
      j["at_ms"] = d->at_ms;
      out.push_back({{"debit", std::move(j)}});
    } else if (const auto* b = std::get_if<BucketSet>(&effect)) {
      Json j = ledger_json(b->key);
      j["state"] = bucket_state_json(b->state);
      j["capacity"] = codec::to_decimal(b->limit.capacity);
      j["refill_per_second"] = codec::to_decimal(b->limit.refill_per_second);
      out.push_back({{"bucket_set", std::move(j)}});
    } else if (const auto* r = std::get_if<Reserve>(&effect)) {
      Json j = ledger_json(r->key);
      j["id"] = r->id;
      j["kind"] = r->kind == ReservationKind::kWindow ? "window" : "bucket";
      j["amount"] = codec::to_decimal(r->amount);
      j["at_ms"] = r->at_ms;
      j["expires_ms"] = r->expires_ms;
      out.push_back({{"reserve", std::move(j)}});
    } else if (const auto* c = std::get_if<CommitReservation>(&effect)) {
      out.push_back({{"commit_reservation", {{"id", c->id}}}});
    } else {
      const auto& x = std::get<ReleaseReservation>(effect);
      out.push_back({{"release_reservation", {{"id", x.id}, {"at_ms", x.at_ms}}}});
    }
  }
  return out;
}

Json to_json(const Decision& d) {
  Json reasons = Json::array();
  for (const auto& r : d.reasons) {
    Json j = {{"code", r.code}, {"message", r.message}};
    if (r.leg) j["leg"] = *r.leg;
    if (!r.rule.empty()) j["rule"] = r.rule;
    if (r.address) j["address"] = codec::to_checksum(*r.address);
    reasons.push_back(std::move(j));
  }
  Json holds = Json::array();
  for (const auto& h : d.holds) {
    holds.push_back({{"rule", h.rule},
                     {"approvers", h.approvers},
                     {"quorum", h.quorum},
                     {"not_before_ms", h.not_before_ms},
                     {"not_before", format_time(h.not_before_ms)},
                     {"expires_at_ms", h.expires_at_ms},
                     {"expires_at", format_time(h.expires_at_ms)},
                     {"reject", h.reject_denies ? "deny" : "count"}});
  }
  Json limits = Json::array();
  for (const auto& l : d.limits) {
    limits.push_back({{"limit", l.limit},
                      {"scope", l.scope},
                      {"amount", codec::to_decimal(l.amount)},
                      {"used", codec::to_decimal(l.used)},
                      {"headroom", codec::to_decimal(l.headroom)},
                      {"allowed", l.allowed},
                      {"legs", l.legs}});
  }
  Json prices = Json::array();
  for (const auto& p : d.prices) {
    Json j = {{"asset", p.asset}, {"usd", format_scaled(p.usd.digits, p.usd.scale)}, {"fixed", p.fixed}};
    if (!p.fixed) j["at_ms"] = p.at_ms;
    prices.push_back(std::move(j));
  }
  Json lists = Json::object();
  for (const auto& [name, hash] : d.list_hashes) lists[name] = codec::to_hex(hash);
  Json legs = Json::array();
  for (const auto& l : d.legs) {
    Json j = {{"kind", to_string(l.leg.kind)}, {"verdict", to_string(l.verdict)}};
    if (!l.rule.empty()) j["rule"] = l.rule;
    if (l.leg.transfer) j["transfer"] = *l.leg.transfer;
    if (l.leg.grant) j["grant"] = *l.leg.grant;
    if (l.leg.call) j["call"] = *l.leg.call;
    if (!l.asset.empty()) j["asset"] = l.asset;
    if (l.leg.token) j["token"] = codec::to_checksum(*l.leg.token);
    if (l.leg.amount) j["amount"] = codec::to_decimal(*l.leg.amount);
    if (l.usd_micro) j["usd"] = format_scaled(*l.usd_micro, 6);
    if (l.leg.counterparty) j["counterparty"] = codec::to_checksum(*l.leg.counterparty);
    if (!l.leg.protections.empty()) {
      Json p = Json::array();
      for (auto x : l.leg.protections) p.push_back(to_string(x));
      j["protections"] = p;
    }
    legs.push_back(std::move(j));
  }
  Json out = {{"verdict", to_string(d.verdict)},
              {"rule", d.rule.empty() ? Json(nullptr) : Json(d.rule)},
              {"reasons", reasons},
              {"legs", legs},
              {"holds", holds},
              {"limits", limits},
              {"prices", prices},
              {"policy", {{"name", d.policy_name}, {"hash", codec::to_hex(d.policy_hash)}}},
              {"lists", lists},
              {"prices_hash", codec::to_hex(d.prices_hash)},
              {"requester", d.requester},
              {"at_ms", d.at_ms},
              {"at", format_time(d.at_ms)},
              {"decision_id", d.decision_id},
              {"state_inputs", to_json(d.inputs)},
              {"effects", to_json(d.effects)}};
  if (d.wallet) out["wallet"] = *d.wallet;
  return out;
}

}  // namespace txguard::policy

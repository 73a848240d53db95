#include "policy/bridge.hpp"

#include <algorithm>
#include <set>

#include "policy/codec/abi.hpp"
#include "policy/codec/json_value.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/secp256k1.hpp"
#include "policy/document.hpp"

namespace txguard::policy {

namespace {

using codec::Address;
using codec::Hash32;
using nlohmann::json;

constexpr std::string_view kAttestationType =
    "WithdrawalAttestation(uint256 sourceChainId,bytes32 sourceTxHash,uint256 logIndex,address token,uint256 amount,"
    "address recipient,uint256 destinationChainId,uint256 nonce)";
constexpr std::string_view kDomainType =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
constexpr std::string_view kDomainName = "txguard bridge";
constexpr std::string_view kDomainVersion = "1";

Hash32 keccak_text(std::string_view text) {
  return codec::keccak256(codec::ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

codec::ByteView view_of(const Hash32& h) { return {h.data(), h.size()}; }

// EIP-712 domainSeparator = hashStruct(EIP712Domain{name, version, chainId, verifyingContract}).
Hash32 domain_separator(const U256& chain_id, const Address& verifying_contract) {
  const Hash32 type = keccak_text(kDomainType);
  const Hash32 name = keccak_text(kDomainName);
  const Hash32 version = keccak_text(kDomainVersion);
  const Hash32 chain = codec::u256_to_be32(chain_id);
  const Hash32 contract = codec::address_to_word(verifying_contract);
  return codec::keccak256({view_of(type), view_of(name), view_of(version), view_of(chain), view_of(contract)});
}

void add(BridgeJudgement& j, std::string_view code, std::string message) {
  j.reasons.push_back(BridgeReason{std::string(code), std::move(message)});
}

bool is_defer(std::string_view code) {
  return code == bridge_reason::kDepositUnconfirmed || code == bridge_reason::kSourceUnreachable ||
         code == bridge_reason::kSourceDisagree;
}

// A named parameter list "release(address token,uint256 amount,...)": the canonical function and the
// names of its inputs. Flat types only (what a release function takes).
struct NamedFunction {
  codec::AbiSignature signature;
  std::vector<std::string> names;
  codec::Selector selector{};
};

std::optional<NamedFunction> parse_named_function(std::string_view text) {
  const std::size_t open = text.find('(');
  if (open == std::string_view::npos || open == 0 || text.back() != ')') return std::nullopt;
  NamedFunction out;
  out.signature.name = std::string(text.substr(0, open));
  std::string_view params = text.substr(open + 1, text.size() - open - 2);
  while (!params.empty()) {
    const std::size_t comma = params.find(',');
    std::string_view item = params.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    const std::size_t space = item.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    auto type = codec::parse_abi_type(item.substr(0, space));
    if (!type) return std::nullopt;
    std::string_view name = item.substr(space + 1);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    if (name.empty() || name.find(' ') != std::string_view::npos) return std::nullopt;
    out.signature.inputs.push_back(std::move(*type));
    out.names.emplace_back(name);
    if (comma == std::string_view::npos) break;
    params.remove_prefix(comma + 1);
  }
  const Hash32 h = keccak_text(codec::canonical_signature(out.signature.name, out.signature.inputs));
  std::copy(h.begin(), h.begin() + 4, out.selector.begin());
  return out;
}

// The release must pay exactly the attested (token, amount, recipient) from the route's wallet on the
// destination chain, in one call, and nothing else: no second transfer, no grant, no gas refund.
void check_release(const Policy& policy, const RouteSpec& route, const WithdrawalAttestation& a,
                   const codec::Intent& intent, BridgeJudgement& j) {
  const WalletSpec& wallet = policy.wallets[route.wallet];
  std::vector<std::string> wrong;
  if (intent.kind != codec::RequestKind::kSafeTransaction) wrong.push_back("the release is not a Safe transaction");
  if (!intent.chain_id || *intent.chain_id != route.destination_chain) wrong.push_back("it is not on the destination chain");
  if (!intent.wallet || *intent.wallet != wallet.address) {
    wrong.push_back("it is not from the route's wallet " + wallet.name);
  }
  if (!intent.grants.empty()) wrong.push_back("it grants rights (" + std::string(codec::to_string(intent.grants[0].kind)) + ")");
  // Calls: the Safe's own execution of the transaction is calls[0]; a release is exactly one call.
  if (intent.calls.size() != 1) wrong.push_back("it makes " + std::to_string(intent.calls.size()) + " calls, not one");
  if (!intent.calls.empty()) {
    const codec::Call& call = intent.calls[0];
    if (call.operation != codec::Operation::kCall) wrong.push_back("it is a DELEGATECALL");
    if (call.value != 0) wrong.push_back("it sends native value");
    if (call.trailing_bytes != 0) wrong.push_back("its calldata has trailing bytes");
    if (call.decode_error) wrong.push_back("its calldata does not decode");
  }
  if (route.release.kind == ReleaseSpec::Kind::kTransfer) {
    const bool one = intent.transfers.size() == 1;
    const codec::Transfer* t = one ? &intent.transfers[0] : nullptr;
    if (!t) {
      wrong.push_back("it makes " + std::to_string(intent.transfers.size()) + " transfers, not one");
    } else {
      if (t->kind != codec::TransferKind::kErc20) wrong.push_back("its transfer is not an ERC-20 transfer");
      if (!t->asset || *t->asset != a.token) wrong.push_back("it pays another token");
      if (t->amount != a.amount) wrong.push_back("it pays " + codec::to_decimal(t->amount) + ", not " + codec::to_decimal(a.amount));
      if (!t->to || *t->to != a.recipient) wrong.push_back("it pays another recipient");
      if (t->from && *t->from != wallet.address) wrong.push_back("it pays from another account");
    }
  } else {
    const auto fn = parse_named_function(route.release.function);
    const codec::SafeTx* tx = intent.safe_txs.empty() ? nullptr : &intent.safe_txs[0].tx;
    if (!fn || !tx) {
      wrong.push_back("the release function cannot be read");
    } else if (tx->to != route.destination_contract) {
      wrong.push_back("it does not call the route's release contract");
    } else if (tx->data.size() < 4 || !std::equal(fn->selector.begin(), fn->selector.end(), tx->data.begin())) {
      wrong.push_back("it does not call " + route.release.function);
    } else {
      auto decoded = codec::abi_decode(fn->signature.inputs, codec::ByteView(tx->data.data() + 4, tx->data.size() - 4));
      if (!decoded || !decoded->trailing.empty()) {
        wrong.push_back("its arguments do not decode");
      } else {
        const auto arg = [&](const std::string& name) -> json {
          for (std::size_t i = 0; i < fn->names.size(); ++i) {
            if (fn->names[i] == name) return codec::to_json(fn->signature.inputs[i], decoded->values[i]);
          }
          return nullptr;
        };
        if (arg(route.release.token_param) != json(codec::to_checksum(a.token))) wrong.push_back("it releases another token");
        if (arg(route.release.amount_param) != json(codec::to_decimal(a.amount))) wrong.push_back("it releases another amount");
        if (arg(route.release.recipient_param) != json(codec::to_checksum(a.recipient))) {
          wrong.push_back("it releases to another recipient");
        }
      }
    }
    // Whatever the release contract does, the wallet itself must not move funds besides.
    if (!intent.transfers.empty()) wrong.push_back("it also moves funds from the wallet");
  }
  if (!wrong.empty()) {
    std::string message;
    for (const auto& w : wrong) message += (message.empty() ? "" : "; ") + w;
    add(j, bridge_reason::kReleaseMismatch, message);
  }
}

// The deposit the source chain shows must say what the attestation says.
void check_deposit(const RouteSpec& route, const WithdrawalAttestation& a, const SourceFacts& source,
                   BridgeJudgement& j) {
  if (source.status == "deposit-not-found") {
    add(j, bridge_reason::kDepositNotFound, source.detail.empty() ? "no such deposit on the source chain" : source.detail);
    return;
  }
  if (source.status != "deposit-confirmed") {
    const std::string_view code = source.status == "deposit-unconfirmed" ? bridge_reason::kDepositUnconfirmed
                                  : source.status == "source-disagree"   ? bridge_reason::kSourceDisagree
                                                                         : bridge_reason::kSourceUnreachable;
    add(j, code, source.detail.empty() ? std::string(code) : source.detail);
    return;
  }
  const DepositEventSpec& d = route.deposit;
  std::vector<std::string> wrong;
  const auto field = [&](const std::string& name) -> const json* {
    if (!source.event.is_object() || !source.event.contains(name)) return nullptr;
    return &source.event.at(name);
  };
  const auto address_field = [&](const std::string& name) -> std::optional<Address> {
    const json* v = field(name);
    if (!v || !v->is_string()) return std::nullopt;
    auto parsed = codec::parse_address(v->get<std::string>());
    if (!parsed) return std::nullopt;
    return *parsed;
  };
  const auto number_field = [&](const std::string& name) -> std::optional<U256> {
    const json* v = field(name);
    if (!v || !v->is_string()) return std::nullopt;
    auto parsed = codec::parse_u256(v->get<std::string>());
    if (!parsed) return std::nullopt;
    return *parsed;
  };
  const auto token = address_field(d.token_field);
  if (!token || !j.token || *token != route.tokens[*j.token].source) wrong.push_back("the deposit is of another token");
  if (number_field(d.amount_field) != std::optional<U256>(a.amount)) wrong.push_back("the deposit is of another amount");
  if (address_field(d.recipient_field) != std::optional<Address>(a.recipient)) wrong.push_back("the deposit is for another recipient");
  if (number_field(d.destination_field) != std::optional<U256>(a.destination_chain_id)) {
    wrong.push_back("the deposit is for another destination chain");
  }
  if (number_field(d.nonce_field) != std::optional<U256>(a.nonce)) wrong.push_back("the deposit has another nonce");
  if (!wrong.empty()) {
    std::string message;
    for (const auto& w : wrong) message += (message.empty() ? "" : "; ") + w;
    add(j, bridge_reason::kDepositMismatch, message);
  }
}

}  // namespace

std::string_view to_string(RouteKind kind) noexcept {
  return kind == RouteKind::kWormhole ? "wormhole" : "attestation";
}

Hash32 withdrawal_attestation_typehash() { return keccak_text(kAttestationType); }

Hash32 withdrawal_attestation_digest(const WithdrawalAttestation& a, const U256& destination_chain_id,
                                     const Address& verifying_contract) {
  const Hash32 type = withdrawal_attestation_typehash();
  const Hash32 f[8] = {codec::u256_to_be32(a.source_chain_id), a.source_tx_hash,
                       codec::u256_to_be32(a.log_index),       codec::address_to_word(a.token),
                       codec::u256_to_be32(a.amount),          codec::address_to_word(a.recipient),
                       codec::u256_to_be32(a.destination_chain_id), codec::u256_to_be32(a.nonce)};
  const Hash32 message = codec::keccak256({view_of(type), view_of(f[0]), view_of(f[1]), view_of(f[2]), view_of(f[3]),
                                          view_of(f[4]), view_of(f[5]), view_of(f[6]), view_of(f[7])});
  const Hash32 domain = domain_separator(destination_chain_id, verifying_contract);
  static constexpr std::uint8_t kPrefix[2] = {0x19, 0x01};
  return codec::keccak256({codec::ByteView(kPrefix, 2), view_of(domain), view_of(message)});
}

codec::Decoded<WithdrawalAttestation> attestation_from_json(const json& m, const std::string& path) {
  if (!m.is_object()) return codec::fail(codec::DecodeErrc::kInvalidJson, 0, path, "expected an object");
  static const std::set<std::string> kFields = {"sourceChainId", "sourceTxHash", "logIndex",          "token",
                                                "amount",        "recipient",    "destinationChainId", "nonce"};
  for (const auto& [k, v] : m.items()) {
    (void)v;
    if (!kFields.contains(k)) return codec::fail(codec::DecodeErrc::kInvalidField, 0, codec::json_path(path, k), "unknown field");
  }
  for (const auto& k : kFields) {
    if (!m.contains(k)) return codec::fail(codec::DecodeErrc::kMissingField, 0, codec::json_path(path, k), "missing");
  }
  WithdrawalAttestation a;
  const auto u = [&](const char* k, U256& out) -> std::optional<codec::DecodeError> {
    auto v = codec::json_u256(m.at(k), codec::json_path(path, k));
    if (!v) return v.error();
    out = *v;
    return std::nullopt;
  };
  const auto addr = [&](const char* k, Address& out) -> std::optional<codec::DecodeError> {
    auto v = codec::json_address(m.at(k), codec::json_path(path, k));
    if (!v) return v.error();
    out = *v;
    return std::nullopt;
  };
  if (auto e = u("sourceChainId", a.source_chain_id)) return std::unexpected(*e);
  auto tx = codec::json_hash32(m.at("sourceTxHash"), codec::json_path(path, "sourceTxHash"));
  if (!tx) return std::unexpected(tx.error());
  a.source_tx_hash = *tx;
  if (auto e = u("logIndex", a.log_index)) return std::unexpected(*e);
  if (auto e = addr("token", a.token)) return std::unexpected(*e);
  if (auto e = u("amount", a.amount)) return std::unexpected(*e);
  if (auto e = addr("recipient", a.recipient)) return std::unexpected(*e);
  if (auto e = u("destinationChainId", a.destination_chain_id)) return std::unexpected(*e);
  if (auto e = u("nonce", a.nonce)) return std::unexpected(*e);
  return a;
}

json to_json(const WithdrawalAttestation& a) {
  return {{"sourceChainId", codec::to_decimal(a.source_chain_id)},
          {"sourceTxHash", codec::to_hex(view_of(a.source_tx_hash))},
          {"logIndex", codec::to_decimal(a.log_index)},
          {"token", codec::to_checksum(a.token)},
          {"amount", codec::to_decimal(a.amount)},
          {"recipient", codec::to_checksum(a.recipient)},
          {"destinationChainId", codec::to_decimal(a.destination_chain_id)},
          {"nonce", codec::to_decimal(a.nonce)}};
}

ReleaseKey release_key(const RouteSpec& route, const WithdrawalAttestation& a) {
  ReleaseKey key;
  key.text = codec::to_decimal(a.source_chain_id) + ":" + codec::to_hex(view_of(a.source_tx_hash)) + ":" +
             codec::to_decimal(a.log_index);
  key.digest = withdrawal_attestation_digest(a, route.destination_chain, route.destination_contract);
  return key;
}

BridgeJudgement judge_release(const Policy& policy, const ReleaseClaim& claim, const codec::Intent& intent,
                              const SourceFacts& source, const BridgeState& state, TimeMs now_ms) {
  BridgeJudgement j;
  if (claim.route >= policy.bridges.routes.size()) {
    add(j, bridge_reason::kUnknownRoute, "no such route");
    j.outcome = BridgeJudgement::Outcome::kDeny;
    return j;
  }
  const RouteSpec& route = policy.bridges.routes[claim.route];
  const WithdrawalAttestation& a = claim.attestation;
  j.key = release_key(route, a);

  // 1. Emergency pause: nothing of the route (or nothing at all) is released.
  if (state.all_paused) add(j, bridge_reason::kAllPaused, "every release is paused");
  if (state.route_paused) add(j, bridge_reason::kRoutePaused, "route " + route.name + " is paused");

  // 2. The attestation is for this route.
  if (a.source_chain_id != route.source_chain) {
    add(j, bridge_reason::kWrongSource, "attested source chain " + codec::to_decimal(a.source_chain_id) + " is not " +
                                            codec::to_decimal(route.source_chain));
  }
  if (a.destination_chain_id != route.destination_chain) {
    add(j, bridge_reason::kWrongDestination, "attested destination chain " + codec::to_decimal(a.destination_chain_id) +
                                                 " is not " + codec::to_decimal(route.destination_chain));
  }
  for (std::size_t i = 0; i < route.tokens.size(); ++i) {
    const auto& asset = policy.assets[route.tokens[i].asset];
    if (asset.address && *asset.address == a.token) j.token = i;
  }
  if (!j.token) add(j, bridge_reason::kUnknownToken, "route " + route.name + " does not carry " + codec::to_checksum(a.token));

  // 3. Signed by a quorum of a usable set, with enough distinct operators. One bad signature fails it.
  if (auto unusable = set_unusable(route.validators, claim.validator_set, now_ms)) {
    add(j, *unusable, "validator set " + std::to_string(claim.validator_set) + " of route " + route.name);
  } else {
    const ValidatorSet& set = *route.validators.find(claim.validator_set);
    const std::size_t n = set.validators.size();
    j.required = route.required_signatures(n);
    std::set<std::size_t> members;
    std::set<std::string> operators;
    bool bad = false;
    for (std::size_t s = 0; s < claim.signatures.size(); ++s) {
      const codec::Bytes& sig = claim.signatures[s];
      const std::string which = "signature " + std::to_string(s);
      if (sig.size() != 65) {
        add(j, bridge_reason::kBadAttestation, which + " is " + std::to_string(sig.size()) + " bytes, not 65");
        bad = true;
        continue;
      }
      Hash32 r{}, sv{};
      std::copy(sig.begin(), sig.begin() + 32, r.begin());
      std::copy(sig.begin() + 32, sig.begin() + 64, sv.begin());
      const std::uint8_t v = sig[64];
      if (v != 0 && v != 1 && v != 27 && v != 28) {
        add(j, bridge_reason::kBadAttestation, which + " has v = " + std::to_string(v));
        bad = true;
        continue;
      }
      auto signer = codec::recover_address(j.key.digest, r, sv, static_cast<std::uint8_t>(v >= 27 ? v - 27 : v));
      if (!signer) {
        add(j, bridge_reason::kBadAttestation, which + ": " + signer.error().message());
        bad = true;
        continue;
      }
      std::optional<std::size_t> index;
      for (std::size_t k = 0; k < n; ++k) {
        if (set.validators[k].address == *signer) index = k;
      }
      if (!index) {
        add(j, bridge_reason::kUnknownSigner, which + " is by " + codec::to_checksum(*signer) + ", not a member of set " +
                                                  std::to_string(set.index));
        bad = true;
        continue;
      }
      if (!members.insert(*index).second) {
        add(j, bridge_reason::kDuplicateSigner, which + " repeats validator " + std::to_string(*index));
        bad = true;
        continue;
      }
      operators.insert(set.validators[*index].operator_name);
      j.signers.emplace_back(*index, *signer);
    }
    j.operators = operators.size();
    if (!bad) {
      if (members.size() < j.required) {
        add(j, "no-quorum", std::to_string(members.size()) + " of " + std::to_string(n) + " validators signed; " +
                                std::to_string(j.required) + " required");
      }
      if (operators.size() < route.min_operators) {
        add(j, "too-few-operators", "the signers belong to " + std::to_string(operators.size()) + " operators; " +
                                        std::to_string(route.min_operators) + " required");
      }
    }
  }

  // 4. The release pays exactly what was attested.
  check_release(policy, route, a, intent, j);

  // 5. The source chain shows that very deposit, confirmed.
  check_deposit(route, a, source, j);

  // 6. Once only.
  if (state.prior) {
    if (state.prior->digest == j.key.digest) {
      add(j, bridge_reason::kAlreadyReleased, "deposit " + j.key.text + " was released by " + state.prior->decision_id);
    } else {
      j.conflict = true;
      add(j, bridge_reason::kReleaseConflict, "deposit " + j.key.text + " was released by " + state.prior->decision_id +
                                                  " under another attested body: an alert");
    }
  }

  // 7. Supply: released never exceeds confirmed deposits of (source chain, token).
  if (source.status == "deposit-confirmed") {
    const U256 deposited = state.deposited + (state.deposit_known ? U256(0) : a.amount);
    if (state.released + a.amount > deposited) {
      add(j, bridge_reason::kSupplyExceeded, "released " + codec::to_decimal(state.released) + " + " +
                                                 codec::to_decimal(a.amount) + " would exceed confirmed deposits " +
                                                 codec::to_decimal(deposited));
    }
  }

  bool deny = false, defer = false;
  for (const auto& r : j.reasons) (is_defer(r.code) ? defer : deny) = true;
  j.outcome = deny ? BridgeJudgement::Outcome::kDeny
              : defer ? BridgeJudgement::Outcome::kDefer
                      : BridgeJudgement::Outcome::kPass;
  return j;
}

json to_json(const BridgeJudgement& j) {
  json reasons = json::array();
  for (const auto& r : j.reasons) reasons.push_back({{"code", r.code}, {"message", r.message}});
  json signers = json::array();
  for (const auto& [i, a] : j.signers) signers.push_back({{"index", i}, {"address", codec::to_checksum(a)}});
  return {{"outcome", j.outcome == BridgeJudgement::Outcome::kPass   ? "pass"
                      : j.outcome == BridgeJudgement::Outcome::kDefer ? "defer"
                                                                      : "deny"},
          {"reasons", reasons},
          {"signers", signers},
          {"operators", j.operators},
          {"required", j.required},
          {"release_key", j.key.text},
          {"attested_digest", codec::to_hex(view_of(j.key.digest))},
          {"conflict", j.conflict}};
}

}  // namespace txguard::policy

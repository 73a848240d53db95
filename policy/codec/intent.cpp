#include "policy/codec/intent.hpp"

#include <algorithm>
#include <set>

#include "policy/codec/json_value.hpp"
#include "policy/codec/keccak.hpp"

namespace txguard::codec {
namespace {

const U256& max_u256() {
  static const U256 kMax = ~U256(0);
  return kMax;
}
const U256& max_u160() {
  static const U256 kMax = (U256(1) << 160) - 1;
  return kMax;
}

// ---- Reading decoded ABI values ------------------------------------------------------------------

const AbiValue::List* as_list(const AbiValue& v) { return v.get_if<AbiValue::List>(); }
std::optional<Address> as_address(const AbiValue& v) {
  if (const auto* a = v.get_if<Address>()) return *a;
  return std::nullopt;
}
std::optional<U256> as_uint(const AbiValue& v) {
  if (const auto* u = v.get_if<U256>()) return *u;
  return std::nullopt;
}

/// Every address inside a decoded value, whatever its nesting.
void collect_addresses(const AbiValue& value, std::set<Address>& out) {
  if (const auto* a = value.get_if<Address>()) {
    out.insert(*a);
  } else if (const auto* list = as_list(value)) {
    for (const auto& item : *list) collect_addresses(item, out);
  }
}

// ---- Safe management functions -------------------------------------------------------------------

struct ConfigFunction {
  std::string_view signature;
  GrantKind kind;
};
constexpr ConfigFunction kConfigFunctions[] = {
    {"addOwnerWithThreshold(address,uint256)", GrantKind::kSafeAddOwner},
    {"removeOwner(address,address,uint256)", GrantKind::kSafeRemoveOwner},
    {"swapOwner(address,address,address)", GrantKind::kSafeSwapOwner},
    {"changeThreshold(uint256)", GrantKind::kSafeChangeThreshold},
    {"enableModule(address)", GrantKind::kSafeEnableModule},
    {"disableModule(address,address)", GrantKind::kSafeDisableModule},
    {"setGuard(address)", GrantKind::kSafeSetGuard},
    {"setModuleGuard(address)", GrantKind::kSafeSetModuleGuard},
    {"setFallbackHandler(address)", GrantKind::kSafeSetFallbackHandler},
    {"changeMasterCopy(address)", GrantKind::kSafeChangeMasterCopy},
    {"approveHash(bytes32)", GrantKind::kSafeApproveHash},
};

std::optional<GrantKind> config_kind(std::string_view signature) {
  for (const auto& f : kConfigFunctions) {
    if (f.signature == signature) return f.kind;
  }
  return std::nullopt;
}

// ---- The builder ---------------------------------------------------------------------------------

struct CallSpec {
  std::optional<std::size_t> parent;
  std::size_t depth = 0;
  CallVia via = CallVia::kTransaction;
  Operation operation = Operation::kCall;
  std::optional<Address> from;
  std::optional<Address> target;
  U256 value = 0;
  ByteView data;
};

class IntentBuilder {
 public:
  IntentBuilder(const IntentContext& context, Intent& out)
      : context_(context),
        registry_(context.registry != nullptr ? *context.registry : FunctionRegistry::builtin()),
        out_(out) {}

  /// Walks one call and everything it makes. Fails only on the nesting and size bounds.
  Decoded<std::size_t> walk(const CallSpec& spec) {
    if (spec.depth > context_.max_depth) return fail(DecodeErrc::kTooDeep, 0, {}, "calls nested too deeply");
    if (out_.calls.size() >= context_.max_calls) return fail(DecodeErrc::kTooDeep, 0, {}, "too many calls");
    const std::size_t index = out_.calls.size();
    out_.calls.emplace_back();
    {
      Call& call = out_.calls.back();
      call.parent = spec.parent;
      call.depth = spec.depth;
      call.via = spec.via;
      call.operation = spec.operation;
      call.from = spec.from;
      call.target = spec.target;
      call.value = spec.value;
      call.data_size = spec.data.size();
      if (spec.target) call.library = identify_safe_library(*spec.target);
    }
    note(spec.from);
    note(spec.target);

    // A DELEGATECALL carries no value (Safe's execute and MultiSend both drop it), so only CALLs
    // and creations move the native coin.
    if (spec.operation == Operation::kCall && spec.value > 0) {
      Transfer t;
      t.kind = TransferKind::kNative;
      t.amount = spec.value;
      t.from = spec.from;
      t.to = spec.target;
      t.call = index;
      out_.transfers.push_back(t);
    }
    if (spec.operation == Operation::kDelegateCall) {
      Grant g;
      g.kind = GrantKind::kDelegateCall;
      g.grantor = spec.from;
      g.grantee = spec.target;
      g.call = index;
      out_.grants.push_back(std::move(g));
    }
    // Creation code is not calldata: there is no function to decode.
    if (!spec.target || spec.data.empty()) return index;

    auto decoded = decode_call(registry_, spec.data);
    if (!decoded) {
      out_.calls[index].decode_error = decoded.error();
      if (spec.data.size() >= 4) {
        Selector sel{};
        std::copy(spec.data.begin(), spec.data.begin() + 4, sel.begin());
        out_.calls[index].selector = sel;
      }
      return index;
    }
    out_.calls[index].selector = decoded->selector;
    if (decoded->kind == DecodedCall::Kind::kUnknownSelector) {
      out_.calls[index].unknown_selector = true;
      return index;
    }
    if (decoded->kind != DecodedCall::Kind::kCall || decoded->matches.empty()) return index;

    {
      Call& call = out_.calls[index];
      for (const auto& m : decoded->matches) call.functions.push_back(m.function->signature);
      const CallMatch& first = decoded->matches.front();
      call.interface_tag = first.function->interface_tag;
      call.args = args_to_json(*first.function, first.args);
      call.trailing_bytes = first.trailing.size();
    }
    std::set<Address> arg_addresses;
    for (const auto& m : decoded->matches) {
      for (const auto& arg : m.args) collect_addresses(arg, arg_addresses);
    }
    for (const auto& a : arg_addresses) note(a);

    return interpret(index, spec, *decoded);
  }

  void note(const std::optional<Address>& a) {
    if (a) addresses_.insert(*a);
  }

  void finish() { out_.addresses.assign(addresses_.begin(), addresses_.end()); }

  /// Adds the SafeTx executed by `safe` (the request itself, or carried by call `via_call`) and walks
  /// its call. Returns the index of the SafeTx entry.
  Decoded<std::size_t> walk_safe_tx(SafeTxEntry entry, std::optional<std::size_t> via_call, std::size_t depth) {
    const std::size_t entry_index = out_.safe_txs.size();
    note(entry.safe);
    note(entry.tx.to);
    if (entry.signatures) {
      for (const auto& s : entry.signatures->items) note(s.owner);
    }
    if (entry.tx.gas_price > 0) {
      note(entry.tx.refund_receiver);
      if (!entry.tx.gas_token.is_zero()) note(entry.tx.gas_token);
    }
    const SafeTx tx = entry.tx;
    const Address safe = entry.safe;
    out_.safe_txs.push_back(std::move(entry));
    CallSpec spec;
    spec.parent = via_call;
    spec.depth = depth;
    spec.via = CallVia::kSafeTransaction;
    spec.operation = tx.operation;
    spec.from = safe;
    spec.target = tx.to;
    spec.value = tx.value;
    spec.data = out_.safe_txs.back().tx.data;
    auto call = walk(spec);
    if (!call) return std::unexpected(call.error());
    out_.safe_txs[entry_index].call = *call;
    if (via_call) out_.calls[*via_call].safe_tx = entry_index;
    // gasPrice > 0 makes the Safe pay whoever relays the transaction: (gasUsed + baseGas) * gasPrice
    // in gasToken (the native coin when zero), to refundReceiver (tx.origin when zero).
    if (tx.gas_price > 0) {
      Transfer t;
      t.kind = TransferKind::kGasRefund;
      if (!tx.gas_token.is_zero()) t.asset = tx.gas_token;
      t.from = safe;
      if (!tx.refund_receiver.is_zero()) t.to = tx.refund_receiver;
      t.call = *call;
      t.upper_bound = true;
      t.unbounded = tx.safe_tx_gas == 0;
      try {
        t.amount = (tx.safe_tx_gas + tx.base_gas) * tx.gas_price;
      } catch (const std::overflow_error&) {
        t.amount = max_u256();
        t.unbounded = true;
      }
      out_.transfers.push_back(t);
    }
    return entry_index;
  }

 private:
  Decoded<std::size_t> interpret(std::size_t index, const CallSpec& spec, const DecodedCall& decoded) {
    const CallMatch& m = decoded.matches.front();
    const AbiFunction& fn = *m.function;
    const auto& args = m.args;
    const Address target = *spec.target;
    const std::string& sig = fn.signature;
    const bool ambiguous = decoded.matches.size() > 1;

    auto transfer = [&](TransferKind kind, std::optional<Address> asset, std::optional<Address> from,
                         std::optional<Address> to, U256 amount, std::optional<U256> token_id = std::nullopt) {
      Transfer t;
      t.kind = kind;
      t.asset = asset;
      t.from = from;
      t.to = to;
      t.amount = std::move(amount);
      t.token_id = std::move(token_id);
      t.call = index;
      out_.transfers.push_back(std::move(t));
    };
    auto grant = [&](GrantKind kind, std::optional<Address> grantor, std::optional<Address> grantee,
                     std::optional<Address> asset, std::optional<U256> amount, bool unlimited, bool revocation) {
      Grant g;
      g.kind = kind;
      g.grantor = grantor;
      g.grantee = grantee;
      g.asset = asset;
      g.amount = std::move(amount);
      g.unlimited = unlimited;
      g.revocation = revocation;
      g.call = index;
      g.details = out_.calls[index].args;
      out_.grants.push_back(std::move(g));
    };

    // Safe configuration: a Safe calling its own management functions, or any DELEGATECALL running
    // them on the caller's storage.
    if (fn.interface_tag == "safe" && (spec.operation == Operation::kDelegateCall || spec.from == spec.target)) {
      if (auto kind = config_kind(sig)) {
        const std::optional<Address> safe = spec.from;
        switch (*kind) {
          case GrantKind::kSafeAddOwner:
            grant(*kind, safe, as_address(args[0]), std::nullopt, as_uint(args[1]), false, false);
            break;
          case GrantKind::kSafeRemoveOwner:
            grant(*kind, safe, as_address(args[1]), std::nullopt, as_uint(args[2]), false, true);
            break;
          case GrantKind::kSafeSwapOwner:
            grant(*kind, safe, as_address(args[2]), std::nullopt, std::nullopt, false, false);
            break;
          case GrantKind::kSafeChangeThreshold:
            grant(*kind, safe, std::nullopt, std::nullopt, as_uint(args[0]), false, false);
            break;
          case GrantKind::kSafeDisableModule:
            grant(*kind, safe, as_address(args[1]), std::nullopt, std::nullopt, false, true);
            break;
          case GrantKind::kSafeApproveHash:
            grant(*kind, safe, std::nullopt, std::nullopt, std::nullopt, false, false);
            break;
          default: {
            // enableModule, setGuard, setModuleGuard, setFallbackHandler, changeMasterCopy: one
            // address; setting the zero address removes a guard or handler.
            const auto who = as_address(args[0]);
            grant(*kind, safe, who, std::nullopt, std::nullopt, false,
                  *kind != GrantKind::kSafeEnableModule && who && who->is_zero());
          }
        }
        return index;
      }
    }
    if (fn.interface_tag == "multisend") return multisend(index, spec, args);
    // Under DELEGATECALL the target's code runs on the caller's storage: "transfer(address,uint256)"
    // there is whatever that code does (Bybit's overwrote the Safe's master copy), not a token
    // transfer. The DELEGATECALL grant is what describes it; reading the selector's usual meaning
    // would be a guess.
    if (spec.operation == Operation::kDelegateCall) return index;
    if (fn.interface_tag == "safe" && fn.name == "execTransaction") return nested_safe_tx(index, spec, args);

    if (sig == "transfer(address,uint256)") {
      transfer(TransferKind::kErc20, target, spec.from, as_address(args[0]), *as_uint(args[1]));
    } else if (sig == "transferFrom(address,address,uint256)" && fn.interface_tag != "permit2") {
      // ERC-20 and ERC-721 share this selector; only the asset's registration can tell them apart.
      const TransferKind kind = ambiguous ? TransferKind::kErc20OrErc721
                                          : (fn.interface_tag == "erc721" ? TransferKind::kErc721 : TransferKind::kErc20);
      const U256 amount = *as_uint(args[2]);
      transfer(kind, target, as_address(args[0]), as_address(args[1]),
               kind == TransferKind::kErc721 ? U256(1) : amount,
               kind == TransferKind::kErc20 ? std::nullopt : std::optional<U256>(amount));
    } else if (fn.interface_tag == "erc721" && fn.name == "safeTransferFrom") {
      transfer(TransferKind::kErc721, target, as_address(args[0]), as_address(args[1]), 1, as_uint(args[2]));
    } else if (fn.interface_tag == "erc1155" && fn.name == "safeTransferFrom") {
      transfer(TransferKind::kErc1155, target, as_address(args[0]), as_address(args[1]), *as_uint(args[3]),
               as_uint(args[2]));
    } else if (fn.interface_tag == "erc1155" && fn.name == "safeBatchTransferFrom") {
      const auto* ids = as_list(args[2]);
      const auto* amounts = as_list(args[3]);
      // Mismatched lengths revert in the token; still show every id that would move.
      for (std::size_t i = 0; ids && i < ids->size(); ++i) {
        const U256 amount = (amounts && i < amounts->size()) ? *as_uint((*amounts)[i]) : U256(0);
        transfer(TransferKind::kErc1155, target, as_address(args[0]), as_address(args[1]), amount, as_uint((*ids)[i]));
      }
    } else if (sig == "approve(address,uint256)") {
      const U256 amount = *as_uint(args[1]);
      grant(GrantKind::kApprove, spec.from, as_address(args[0]), target, amount, amount == max_u256(),
            !ambiguous && amount == 0);
    } else if (sig == "increaseAllowance(address,uint256)") {
      const U256 amount = *as_uint(args[1]);
      grant(GrantKind::kIncreaseAllowance, spec.from, as_address(args[0]), target, amount, amount == max_u256(), false);
    } else if (sig == "setApprovalForAll(address,bool)") {
      const bool approved = *args[1].get_if<bool>();
      grant(GrantKind::kSetApprovalForAll, spec.from, as_address(args[0]), target, std::nullopt, approved, !approved);
    } else if (fn.interface_tag == "weth" && fn.name == "withdraw") {
      // Unwrapping: the caller's WETH goes back to the WETH contract for the native coin.
      transfer(TransferKind::kErc20, target, spec.from, target, *as_uint(args[0]));
    } else if (fn.interface_tag == "erc2612" && fn.name == "permit") {
      const U256 amount = *as_uint(args[2]);
      grant(GrantKind::kPermit, as_address(args[0]), as_address(args[1]), target, amount, amount == max_u256(), false);
    } else if (fn.interface_tag == "permit2") {
      permit2_call(index, spec, fn, args, transfer, grant);
    }
    return index;
  }

  template <class TransferFn, class GrantFn>
  void permit2_call(std::size_t, const CallSpec& spec, const AbiFunction& fn, const std::vector<AbiValue>& args,
                    TransferFn& transfer, GrantFn& grant) {
    auto permit_details = [&](const AbiValue& details, std::optional<Address> owner, std::optional<Address> spender) {
      const auto* d = as_list(details);  // (token, amount, expiration, nonce)
      const U256 amount = *as_uint((*d)[1]);
      grant(GrantKind::kPermit2, owner, spender, as_address((*d)[0]), amount, amount == max_u160(), amount == 0);
    };
    auto signature_transfer = [&](const AbiValue& permitted, const AbiValue& details, std::optional<Address> owner) {
      const auto* p = as_list(permitted);  // (token, amount)
      const auto* d = as_list(details);    // (to, requestedAmount)
      transfer(TransferKind::kErc20, as_address((*p)[0]), owner, as_address((*d)[0]), *as_uint((*d)[1]));
    };
    if (fn.name == "approve") {
      const U256 amount = *as_uint(args[2]);
      grant(GrantKind::kPermit2, spec.from, as_address(args[1]), as_address(args[0]), amount, amount == max_u160(),
            amount == 0);
    } else if (fn.name == "permit") {
      const auto* permit = as_list(args[1]);  // (details | details[], spender, sigDeadline)
      const auto spender = as_address((*permit)[1]);
      if (const auto* batch = as_list((*permit)[0]); batch && !batch->empty() && as_list((*batch)[0])) {
        for (const auto& d : *batch) permit_details(d, as_address(args[0]), spender);
      } else if (batch && batch->size() == 4 && !as_list((*batch)[0])) {
        permit_details((*permit)[0], as_address(args[0]), spender);
      }
    } else if (fn.name == "transferFrom" && args.size() == 4) {
      transfer(TransferKind::kErc20, as_address(args[3]), as_address(args[0]), as_address(args[1]), *as_uint(args[2]));
    } else if (fn.name == "transferFrom" && args.size() == 1) {
      for (const auto& d : *as_list(args[0])) {  // (from, to, amount, token)
        const auto* t = as_list(d);
        transfer(TransferKind::kErc20, as_address((*t)[3]), as_address((*t)[0]), as_address((*t)[1]), *as_uint((*t)[2]));
      }
    } else if (fn.name == "permitTransferFrom" || fn.name == "permitWitnessTransferFrom") {
      const auto* permit = as_list(args[0]);  // (permitted | permitted[], nonce, deadline)
      const auto owner = as_address(args[2]);
      const AbiValue& permitted = (*permit)[0];
      if (const auto* list = as_list(permitted); list && !list->empty() && as_list((*list)[0])) {
        const auto* details = as_list(args[1]);
        for (std::size_t i = 0; i < list->size() && details && i < details->size(); ++i) {
          signature_transfer((*list)[i], (*details)[i], owner);
        }
      } else {
        signature_transfer(permitted, args[1], owner);
      }
    }
  }

  Decoded<std::size_t> nested_safe_tx(std::size_t index, const CallSpec& spec, const std::vector<AbiValue>& args) {
    // execTransaction(to, value, data, operation, safeTxGas, baseGas, gasPrice, gasToken,
    // refundReceiver, signatures): the target is a Safe executing its own SafeTx.
    SafeTxEntry entry;
    entry.safe = *spec.target;
    entry.call = index;
    const U256 op = *as_uint(args[3]);
    if (op > 1) {
      // Enum.Operation has two members; the Safe's ABI decoding reverts on any other value.
      out_.calls[index].decode_error = DecodeError{DecodeErrc::kInvalidField, 0, "operation", "must be 0 or 1"};
      return index;
    }
    entry.tx.to = *as_address(args[0]);
    entry.tx.value = *as_uint(args[1]);
    entry.tx.data = *args[2].get_if<Bytes>();
    entry.tx.operation = op == 0 ? Operation::kCall : Operation::kDelegateCall;
    entry.tx.safe_tx_gas = *as_uint(args[4]);
    entry.tx.base_gas = *as_uint(args[5]);
    entry.tx.gas_price = *as_uint(args[6]);
    entry.tx.gas_token = *as_address(args[7]);
    entry.tx.refund_receiver = *as_address(args[8]);
    const Bytes& signatures = *args[9].get_if<Bytes>();
    std::optional<Hash32> hash;
    if (auto known = context_.safes.find(entry.safe); known != context_.safes.end()) {
      entry.version = known->second.version;
      if (known->second.nonce && (context_.chain_id || !domain_has_chain_id(known->second.version))) {
        entry.tx.nonce = *known->second.nonce;
        SafeDomain domain{known->second.version, context_.chain_id.value_or(0), entry.safe};
        hash = safe_tx_hash(entry.tx, domain);
        entry.safe_tx_hash = hash;
      }
    }
    auto parsed = parse_safe_signatures(signatures, hash);
    if (parsed) {
      entry.signatures = std::move(*parsed);
    } else {
      out_.calls[index].decode_error = parsed.error();
    }
    auto walked = walk_safe_tx(std::move(entry), index, spec.depth + 1);
    if (!walked) return std::unexpected(walked.error());
    return index;
  }

  Decoded<std::size_t> multisend(std::size_t index, const CallSpec& spec, const std::vector<AbiValue>& args) {
    const Address target = *spec.target;
    const auto library = identify_safe_library(target);
    const bool canonical = library == SafeLibrary::kMultiSend || library == SafeLibrary::kMultiSendCallOnly;
    const bool configured =
        std::find(context_.extra_multisend.begin(), context_.extra_multisend.end(), target) != context_.extra_multisend.end();
    // Any contract can have a multiSend(bytes) function; only a known MultiSend executes its
    // argument as a batch, so only then is the batch what the call does.
    if (!canonical && !configured) return index;
    const Bytes& packed = *args[0].get_if<Bytes>();
    auto items = parse_multisend(packed);
    if (!items) {
      out_.calls[index].decode_error = items.error();
      return index;
    }
    for (const auto& item : *items) {
      CallSpec child;
      child.parent = index;
      child.depth = spec.depth + 1;
      child.via = CallVia::kMultiSend;
      child.operation = item.operation;
      // Reached by DELEGATECALL, MultiSend runs in the caller's context: its items are the caller's
      // calls. Reached by CALL, they are the MultiSend contract's own.
      child.from = spec.operation == Operation::kDelegateCall ? spec.from : std::optional<Address>(target);
      child.target = item.to;
      child.value = item.value;
      child.data = item.data;
      auto walked = walk(child);
      if (!walked) return std::unexpected(walked.error());
    }
    return index;
  }

  const IntentContext& context_;
  const FunctionRegistry& registry_;
  Intent& out_;
  std::set<Address> addresses_;
};

// ---- Typed data ------------------------------------------------------------------------------------

/// Every address-typed value in a typed-data value, found by walking it along its declared types.
void collect_typed_addresses(const Eip712Types& types, std::string_view type, const nlohmann::json& value,
                             std::set<Address>& out, std::size_t depth = 0) {
  if (depth > kEip712MaxDepth) return;  // parse_typed_data already bounded this
  if (type.ends_with("]")) {
    const auto open = type.rfind('[');
    if (open == std::string_view::npos || !value.is_array()) return;
    for (const auto& item : value) collect_typed_addresses(types, type.substr(0, open), item, out, depth + 1);
    return;
  }
  if (type == "address") {
    if (auto a = json_address(value, "$")) out.insert(*a);
    return;
  }
  const auto* fields = types.fields(type);
  if (fields == nullptr || !value.is_object()) return;
  for (const auto& f : *fields) {
    if (auto it = value.find(f.name); it != value.end()) collect_typed_addresses(types, f.type, *it, out, depth + 1);
  }
}

constexpr std::string_view kSafeTxType =
    "SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,"
    "uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)";
// CompatibilityFallbackHandler (Safe >= 1.3.0) and GnosisSafe 1.1.1/1.2.0 itself: EIP-1271 signatures
// of a Safe are owner signatures over this type in the Safe's own domain.
constexpr std::string_view kSafeMessageType = "SafeMessage(bytes message)";
constexpr std::string_view kPermitType =
    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)";

Decoded<SafeTx> safe_tx_from_message(const nlohmann::json& m) {
  SafeTx tx;
  auto to = json_address(m.at("to"), "$.message.to");
  auto data = json_bytes(m.at("data"), "$.message.data");
  auto gas_token = json_address(m.at("gasToken"), "$.message.gasToken");
  auto refund = json_address(m.at("refundReceiver"), "$.message.refundReceiver");
  if (!to) return std::unexpected(to.error());
  if (!data) return std::unexpected(data.error());
  if (!gas_token) return std::unexpected(gas_token.error());
  if (!refund) return std::unexpected(refund.error());
  tx.to = *to;
  tx.data = std::move(*data);
  tx.gas_token = *gas_token;
  tx.refund_receiver = *refund;
  struct Field {
    const char* name;
    U256* dst;
  };
  U256 op = 0;
  for (Field f : {Field{"value", &tx.value}, Field{"operation", &op}, Field{"safeTxGas", &tx.safe_tx_gas},
                  Field{"baseGas", &tx.base_gas}, Field{"gasPrice", &tx.gas_price}, Field{"nonce", &tx.nonce}}) {
    auto v = json_u256(m.at(f.name), json_path("$.message", f.name));
    if (!v) return std::unexpected(v.error());
    *f.dst = *v;
  }
  if (op > 1) return fail(DecodeErrc::kInvalidField, 0, "$.message.operation", "must be 0 or 1");
  tx.operation = op == 0 ? Operation::kCall : Operation::kDelegateCall;
  return tx;
}

}  // namespace

std::string_view to_string(RequestKind kind) noexcept {
  switch (kind) {
    case RequestKind::kTransaction: return "transaction";
    case RequestKind::kSafeTransaction: return "safe-transaction";
    case RequestKind::kTypedData: return "typed-data";
    case RequestKind::kMessage: return "message";
  }
  return "unknown";
}

std::string_view to_string(CallVia via) noexcept {
  switch (via) {
    case CallVia::kTransaction: return "transaction";
    case CallVia::kSafeTransaction: return "safe-transaction";
    case CallVia::kMultiSend: return "multisend";
  }
  return "unknown";
}

std::string_view to_string(TransferKind kind) noexcept {
  switch (kind) {
    case TransferKind::kNative: return "native";
    case TransferKind::kErc20: return "erc20";
    case TransferKind::kErc721: return "erc721";
    case TransferKind::kErc1155: return "erc1155";
    case TransferKind::kErc20OrErc721: return "erc20-or-erc721";
    case TransferKind::kGasRefund: return "gas-refund";
  }
  return "unknown";
}

std::string_view to_string(GrantKind kind) noexcept {
  switch (kind) {
    case GrantKind::kApprove: return "approve";
    case GrantKind::kIncreaseAllowance: return "increase-allowance";
    case GrantKind::kPermit: return "permit";
    case GrantKind::kPermit2: return "permit2";
    case GrantKind::kSetApprovalForAll: return "set-approval-for-all";
    case GrantKind::kDelegation: return "eip7702-delegation";
    case GrantKind::kDelegateCall: return "delegatecall";
    case GrantKind::kSafeAddOwner: return "safe-add-owner";
    case GrantKind::kSafeRemoveOwner: return "safe-remove-owner";
    case GrantKind::kSafeSwapOwner: return "safe-swap-owner";
    case GrantKind::kSafeChangeThreshold: return "safe-change-threshold";
    case GrantKind::kSafeEnableModule: return "safe-enable-module";
    case GrantKind::kSafeDisableModule: return "safe-disable-module";
    case GrantKind::kSafeSetGuard: return "safe-set-guard";
    case GrantKind::kSafeSetModuleGuard: return "safe-set-module-guard";
    case GrantKind::kSafeSetFallbackHandler: return "safe-set-fallback-handler";
    case GrantKind::kSafeChangeMasterCopy: return "safe-change-master-copy";
    case GrantKind::kSafeApproveHash: return "safe-approve-hash";
  }
  return "unknown";
}

bool is_configuration_change(GrantKind kind) noexcept {
  switch (kind) {
    case GrantKind::kSafeAddOwner:
    case GrantKind::kSafeRemoveOwner:
    case GrantKind::kSafeSwapOwner:
    case GrantKind::kSafeChangeThreshold:
    case GrantKind::kSafeEnableModule:
    case GrantKind::kSafeDisableModule:
    case GrantKind::kSafeSetGuard:
    case GrantKind::kSafeSetModuleGuard:
    case GrantKind::kSafeSetFallbackHandler:
    case GrantKind::kSafeChangeMasterCopy:
    case GrantKind::kSafeApproveHash:
      return true;
    default:
      return false;
  }
}

Decoded<Intent> intent_from_transaction(const Transaction& txn, const IntentContext& context) {
  Intent out;
  out.kind = RequestKind::kTransaction;
  if (txn.chain_id) out.chain_id = U256(*txn.chain_id);
  const std::optional<Address> sender = txn.from ? txn.from : context.signer;
  out.wallet = sender;
  // A SafeTx nested in the transaction is hashed for the chain the transaction is bound to.
  IntentContext nested = context;
  if (!nested.chain_id && txn.chain_id) nested.chain_id = U256(*txn.chain_id);
  IntentBuilder builder(nested, out);
  CallSpec spec;
  spec.from = sender;
  spec.target = txn.to;
  spec.value = txn.value;
  spec.data = txn.data;
  auto walked = builder.walk(spec);
  if (!walked) return std::unexpected(walked.error());
  for (const auto& entry : txn.access_list) builder.note(entry.address);
  for (const auto& auth : txn.authorization_list) {
    // EIP-7702: the authority's account takes `address`'s code, for every chain when chain_id is 0.
    Grant g;
    g.kind = GrantKind::kDelegation;
    g.grantor = auth.authority;
    g.grantee = auth.address;
    g.revocation = auth.address.is_zero();
    g.details = {{"chain_id", to_decimal(auth.chain_id)}, {"nonce", std::to_string(auth.nonce)}};
    if (auth.authority_error) g.details["authority_error"] = std::string(to_string(*auth.authority_error));
    out.grants.push_back(std::move(g));
    builder.note(auth.authority);
    builder.note(auth.address);
  }
  out.transaction = txn;
  builder.finish();
  return out;
}

Decoded<Intent> intent_from_safe_request(const SafeTxRequest& request, const IntentContext& context) {
  Intent out;
  out.kind = RequestKind::kSafeTransaction;
  out.chain_id = request.domain.chain_id;
  out.wallet = request.domain.safe;
  const Hash32 hash = safe_tx_hash(request.tx, request.domain);
  // What you see is what you sign: the hash is txguard's own; a client's claim must agree with it.
  if (request.claimed_hash && *request.claimed_hash != hash) {
    return fail(DecodeErrc::kInvalidField, 0, "$.safeTxHash",
                "differs from the hash of the fields (" + to_hex(hash) + ")");
  }
  SafeTxEntry entry;
  entry.safe = request.domain.safe;
  entry.tx = request.tx;
  entry.version = request.domain.version;
  entry.safe_tx_hash = hash;
  if (request.signatures) {
    auto sigs = parse_safe_signatures(*request.signatures, hash);
    if (!sigs) {
      DecodeError e = sigs.error();
      e.where = "$.signatures";
      return std::unexpected(e);
    }
    entry.signatures = std::move(*sigs);
  }
  IntentContext nested = context;
  if (!nested.chain_id) nested.chain_id = request.domain.chain_id;
  IntentBuilder builder(nested, out);
  auto walked = builder.walk_safe_tx(std::move(entry), std::nullopt, 0);
  if (!walked) return std::unexpected(walked.error());
  builder.finish();
  return out;
}

Decoded<Intent> intent_from_typed_data(const TypedData& typed_data, const IntentContext& context) {
  Intent out;
  out.kind = RequestKind::kTypedData;
  out.wallet = context.signer;
  out.chain_id = context.chain_id;
  const auto& domain = typed_data.domain;
  if (auto it = domain.find("chainId"); it != domain.end()) {
    if (auto c = json_u256(*it, "$.domain.chainId")) out.chain_id = *c;
  }
  std::optional<Address> verifying;
  if (auto it = domain.find("verifyingContract"); it != domain.end()) {
    if (auto a = json_address(*it, "$.domain.verifyingContract")) verifying = *a;
  }
  std::set<Address> addresses;
  collect_typed_addresses(typed_data.types, "EIP712Domain", domain, addresses);
  collect_typed_addresses(typed_data.types, typed_data.primary_type, typed_data.message, addresses);

  IntentContext nested = context;
  if (!nested.chain_id) nested.chain_id = out.chain_id;
  IntentBuilder builder(nested, out);
  for (const auto& a : addresses) builder.note(a);
  builder.note(context.signer);

  const auto encoded = encode_type(typed_data.types, typed_data.primary_type);
  const std::string_view type_string = encoded ? std::string_view(*encoded) : std::string_view();
  const auto& m = typed_data.message;
  const std::string domain_name = domain.contains("name") && domain.at("name").is_string() ? domain.at("name").get<std::string>() : "";

  if (type_string == kSafeTxType && verifying) {
    // A SafeTx signed through eth_signTypedData_v4: the same picture as a Safe transaction request.
    auto tx = safe_tx_from_message(m);
    if (!tx) return std::unexpected(tx.error());
    SafeTxEntry entry;
    entry.safe = *verifying;
    entry.tx = std::move(*tx);
    // The domain shape tells the version family (chainId from 1.3.0 on); the digest is the hash.
    entry.version = domain.contains("chainId") ? SafeVersion::k1_3_0 : SafeVersion::k1_1_1;
    entry.safe_tx_hash = typed_data.digest;
    out.wallet = *verifying;
    auto walked = builder.walk_safe_tx(std::move(entry), std::nullopt, 0);
    if (!walked) return std::unexpected(walked.error());
  } else if (type_string == kSafeMessageType && verifying) {
    // An EIP-1271 signature of the Safe: what it vouches for is the inner message, as that Safe.
    out.wallet = *verifying;
    if (auto inner = json_bytes(m.at("message"), "$.message.message")) out.message = std::move(*inner);
  } else if (type_string == kPermitType && verifying) {
    Grant g;
    g.kind = GrantKind::kPermit;
    g.asset = verifying;
    auto owner = json_address(m.at("owner"), "$.message.owner");
    auto spender = json_address(m.at("spender"), "$.message.spender");
    auto value = json_u256(m.at("value"), "$.message.value");
    if (owner) g.grantor = *owner;
    if (spender) g.grantee = *spender;
    if (value) {
      g.amount = *value;
      g.unlimited = *value == max_u256();
      g.revocation = *value == 0;
    }
    g.details = {{"nonce", m.at("nonce")}, {"deadline", m.at("deadline")}};
    out.grants.push_back(std::move(g));
  } else if (domain_name == "Permit2") {
    auto permit2_grant = [&](const nlohmann::json& token, const nlohmann::json& amount, const nlohmann::json& spender,
                             const nlohmann::json& details) {
      Grant g;
      g.kind = GrantKind::kPermit2;
      g.grantor = context.signer;
      if (auto a = json_address(token, "$")) g.asset = *a;
      if (auto s = json_address(spender, "$")) g.grantee = *s;
      if (auto v = json_u256(amount, "$")) {
        g.amount = *v;
        g.unlimited = *v >= max_u160();
        g.revocation = *v == 0;
      }
      g.details = details;
      out.grants.push_back(std::move(g));
    };
    const std::string& primary = typed_data.primary_type;
    if ((primary == "PermitSingle" || primary == "PermitBatch") && m.contains("details") && m.contains("spender")) {
      const auto& details = m.at("details");
      for (const auto& d : details.is_array() ? details : nlohmann::json::array({details})) {
        if (d.contains("token") && d.contains("amount")) {
          permit2_grant(d.at("token"), d.at("amount"), m.at("spender"),
                        {{"expiration", d.value("expiration", nlohmann::json())}, {"sigDeadline", m.value("sigDeadline", nlohmann::json())}});
        }
      }
    } else if (primary.starts_with("Permit") && primary.find("TransferFrom") != std::string::npos &&
               m.contains("permitted") && m.contains("spender")) {
      const auto& permitted = m.at("permitted");
      for (const auto& p : permitted.is_array() ? permitted : nlohmann::json::array({permitted})) {
        if (p.contains("token") && p.contains("amount")) {
          permit2_grant(p.at("token"), p.at("amount"), m.at("spender"),
                        {{"nonce", m.value("nonce", nlohmann::json())}, {"deadline", m.value("deadline", nlohmann::json())}});
        }
      }
    }
  }
  out.typed_data = typed_data;
  builder.finish();
  return out;
}

// ---- JSON ----------------------------------------------------------------------------------------

namespace {

nlohmann::json opt_address(const std::optional<Address>& a) {
  return a ? nlohmann::json(to_checksum(*a)) : nlohmann::json(nullptr);
}

nlohmann::json safe_tx_json(const SafeTxEntry& e) {
  nlohmann::json j = {
      {"safe", to_checksum(e.safe)},
      {"safe_version", e.version ? nlohmann::json(std::string(to_string(*e.version))) : nlohmann::json(nullptr)},
      {"safe_tx_hash", e.safe_tx_hash ? nlohmann::json(to_hex(*e.safe_tx_hash)) : nlohmann::json(nullptr)},
      {"to", to_checksum(e.tx.to)},
      {"value", to_decimal(e.tx.value)},
      {"data", to_hex(e.tx.data)},
      {"operation", static_cast<int>(e.tx.operation)},
      {"safe_tx_gas", to_decimal(e.tx.safe_tx_gas)},
      {"base_gas", to_decimal(e.tx.base_gas)},
      {"gas_price", to_decimal(e.tx.gas_price)},
      {"gas_token", to_checksum(e.tx.gas_token)},
      {"refund_receiver", to_checksum(e.tx.refund_receiver)},
      {"nonce", e.version && e.safe_tx_hash ? nlohmann::json(to_decimal(e.tx.nonce)) : nlohmann::json(nullptr)},
      {"call", e.call ? nlohmann::json(*e.call) : nlohmann::json(nullptr)},
  };
  if (e.signatures) {
    nlohmann::json sigs = nlohmann::json::array();
    for (const auto& s : e.signatures->items) {
      sigs.push_back({{"kind", to_string(s.kind)}, {"v", s.v}, {"owner", opt_address(s.owner)}, {"high_s", s.high_s}});
    }
    j["signatures"] = sigs;
    j["signatures_strictly_ascending"] = e.signatures->strictly_ascending;
  }
  return j;
}

}  // namespace

nlohmann::json to_json(const Intent& intent) {
  nlohmann::json j;
  j["kind"] = to_string(intent.kind);
  j["chain_id"] = intent.chain_id ? nlohmann::json(to_decimal(*intent.chain_id)) : nlohmann::json(nullptr);
  j["wallet"] = opt_address(intent.wallet);
  if (intent.transaction) {
    const Transaction& t = *intent.transaction;
    j["type"] = static_cast<int>(t.type);
    j["nonce"] = std::to_string(t.nonce);
    j["to"] = opt_address(t.to);
    j["value"] = to_decimal(t.value);
    j["gas_limit"] = std::to_string(t.gas_limit);
    if (t.type == TxnType::kLegacy || t.type == TxnType::kAccessList) {
      j["gas_price"] = to_decimal(t.gas_price);
    } else {
      j["max_fee_per_gas"] = to_decimal(t.max_fee_per_gas);
      j["max_priority_fee_per_gas"] = to_decimal(t.max_priority_fee_per_gas);
    }
    j["data"] = to_hex(t.data);
    j["signing_hash"] = to_hex(t.signing_hash);
    j["signed"] = t.signature.has_value();
    if (t.hash) j["hash"] = to_hex(*t.hash);
    if (t.from) j["from"] = to_checksum(*t.from);
    if (t.type != TxnType::kLegacy) {
      nlohmann::json al = nlohmann::json::array();
      for (const auto& e : t.access_list) {
        nlohmann::json keys = nlohmann::json::array();
        for (const auto& k : e.storage_keys) keys.push_back(to_hex(k));
        al.push_back({{"address", to_checksum(e.address)}, {"storage_keys", keys}});
      }
      j["access_list"] = al;
    }
    if (t.type == TxnType::kBlob) {
      j["max_fee_per_blob_gas"] = to_decimal(t.max_fee_per_blob_gas);
      nlohmann::json hashes = nlohmann::json::array();
      for (const auto& h : t.blob_versioned_hashes) hashes.push_back(to_hex(h));
      j["blob_versioned_hashes"] = hashes;
    }
    if (t.type == TxnType::kSetCode) {
      nlohmann::json auths = nlohmann::json::array();
      for (const auto& a : t.authorization_list) {
        auths.push_back({{"chain_id", to_decimal(a.chain_id)},
                         {"address", to_checksum(a.address)},
                         {"nonce", std::to_string(a.nonce)},
                         {"authority", opt_address(a.authority)},
                         {"authority_error", a.authority_error ? nlohmann::json(std::string(to_string(*a.authority_error)))
                                                               : nlohmann::json(nullptr)}});
      }
      j["authorization_list"] = auths;
    }
  }
  if (!intent.safe_txs.empty()) {
    j["safe_tx_hash"] = intent.safe_txs.front().safe_tx_hash ? nlohmann::json(to_hex(*intent.safe_txs.front().safe_tx_hash))
                                                             : nlohmann::json(nullptr);
    nlohmann::json all = nlohmann::json::array();
    for (const auto& e : intent.safe_txs) all.push_back(safe_tx_json(e));
    j["safe_transactions"] = all;
  }
  if (intent.message) j["message"] = to_hex(*intent.message);
  if (intent.typed_data) {
    const TypedData& td = *intent.typed_data;
    j["digest"] = to_hex(td.digest);
    j["domain_separator"] = to_hex(td.domain_separator);
    j["primary_type"] = td.primary_type;
    j["message_hash"] = td.message_hash ? nlohmann::json(to_hex(*td.message_hash)) : nlohmann::json(nullptr);
  }
  nlohmann::json calls = nlohmann::json::array();
  for (const auto& c : intent.calls) {
    nlohmann::json cj = {
        {"depth", c.depth},
        {"parent", c.parent ? nlohmann::json(*c.parent) : nlohmann::json(nullptr)},
        {"via", to_string(c.via)},
        {"operation", to_string(c.operation)},
        {"from", opt_address(c.from)},
        {"to", opt_address(c.target)},
        {"value", to_decimal(c.value)},
        {"data_size", c.data_size},
        {"selector", c.selector ? nlohmann::json(to_hex(*c.selector)) : nlohmann::json(nullptr)},
        {"functions", c.functions},
        {"interface", c.interface_tag.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.interface_tag)},
        {"args", c.args},
        {"unknown_selector", c.unknown_selector},
        {"trailing_bytes", c.trailing_bytes},
    };
    if (c.decode_error) cj["decode_error"] = c.decode_error->message();
    if (c.library) cj["safe_library"] = to_string(*c.library);
    if (c.safe_tx) cj["safe_transaction"] = *c.safe_tx;
    calls.push_back(std::move(cj));
  }
  j["calls"] = calls;
  nlohmann::json transfers = nlohmann::json::array();
  for (const auto& t : intent.transfers) {
    nlohmann::json tj = {{"kind", to_string(t.kind)}, {"asset", t.asset ? nlohmann::json(to_checksum(*t.asset)) : nlohmann::json("native")},
                         {"amount", to_decimal(t.amount)}, {"from", opt_address(t.from)}, {"to", opt_address(t.to)}, {"call", t.call}};
    if (t.token_id) tj["token_id"] = to_decimal(*t.token_id);
    if (t.upper_bound) tj["upper_bound"] = true;
    if (t.unbounded) tj["unbounded"] = true;
    transfers.push_back(std::move(tj));
  }
  j["transfers"] = transfers;
  nlohmann::json grants = nlohmann::json::array();
  for (const auto& g : intent.grants) {
    nlohmann::json gj = {{"kind", to_string(g.kind)},
                         {"grantor", opt_address(g.grantor)},
                         {"grantee", opt_address(g.grantee)},
                         {"asset", opt_address(g.asset)},
                         {"amount", g.amount ? nlohmann::json(to_decimal(*g.amount)) : nlohmann::json(nullptr)},
                         {"unlimited", g.unlimited},
                         {"revocation", g.revocation},
                         {"configuration_change", is_configuration_change(g.kind)},
                         {"call", g.call ? nlohmann::json(*g.call) : nlohmann::json(nullptr)}};
    if (!g.details.is_null()) gj["details"] = g.details;
    grants.push_back(std::move(gj));
  }
  j["grants"] = grants;
  nlohmann::json addresses = nlohmann::json::array();
  for (const auto& a : intent.addresses) addresses.push_back(to_checksum(a));
  j["addresses"] = addresses;
  return j;
}

Intent intent_from_message(ByteView message, const IntentContext& context) {
  Intent out;
  out.kind = RequestKind::kMessage;
  out.wallet = context.signer;
  out.chain_id = context.chain_id;
  out.message = Bytes(message.begin(), message.end());
  if (context.signer) out.addresses.push_back(*context.signer);
  return out;
}

// EIP-191 version 0x45 ("E"), as geth's accounts.TextHash.
Hash32 personal_message_digest(ByteView message) {
  const std::string prefix = std::string("\x19") + "Ethereum Signed Message:\n" + std::to_string(message.size());
  const auto* p = reinterpret_cast<const std::uint8_t*>(prefix.data());
  return keccak256({ByteView(p, prefix.size()), message});
}

}  // namespace txguard::codec

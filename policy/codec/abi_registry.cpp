// The built-in function set and calldata decoding. Signatures and parameter names are those of the
// standards and contracts named per group below; tests/codec/abi_registry_test.cpp checks every
// selector against keccak256 and against independently published values.
#include "policy/codec/abi_registry.hpp"

#include <set>
#include <stdexcept>
#include <utility>

#include "policy/codec/keccak.hpp"

namespace txguard::codec {
namespace {

std::uint32_t key_of(const Selector& s) {
  return (std::uint32_t{s[0]} << 24) | (std::uint32_t{s[1]} << 16) | (std::uint32_t{s[2]} << 8) | std::uint32_t{s[3]};
}

bool is_identifier(std::string_view name) {
  if (name.empty()) return false;
  auto start = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$'; };
  if (!start(name[0])) return false;
  for (char c : name) {
    if (!start(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

AbiFunction make_function(std::string name, std::vector<AbiType> types, std::vector<std::string> names,
                          std::string_view tag) {
  AbiFunction f;
  f.signature = canonical_signature(name, types);
  f.selector = selector_of(f.signature);
  f.name = std::move(name);
  f.input_types = std::move(types);
  f.input_names = std::move(names);
  f.interface_tag = std::string(tag);
  return f;
}

// One parameter of a built-in function.
struct Param {
  const char* name;
  AbiType type;
};

}  // namespace

FunctionRegistry FunctionRegistry::build_builtin() {
  FunctionRegistry registry;
  std::vector<AbiFunction> all;
  auto add = [&](std::string_view tag, const char* name, std::vector<Param> params) {
    std::vector<AbiType> types;
    std::vector<std::string> names;
    for (auto& p : params) {
      names.emplace_back(p.name);
      types.push_back(std::move(p.type));
    }
    all.push_back(make_function(name, std::move(types), std::move(names), tag));
  };
  const AbiType address = AbiType::address();
  const AbiType uint256 = AbiType::uint(256);
  const AbiType uint160 = AbiType::uint(160);
  const AbiType uint48 = AbiType::uint(48);
  const AbiType uint8 = AbiType::uint(8);
  const AbiType bytes32 = AbiType::fixed_bytes(32);
  const AbiType bytes = AbiType::bytes();
  const AbiType boolean = AbiType::boolean();

  // EIP-20 (parameter names as in OpenZeppelin; increase/decreaseAllowance are OpenZeppelin's
  // widely deployed extensions).
  add("erc20", "transfer", {{"to", address}, {"value", uint256}});
  add("erc20", "transferFrom", {{"from", address}, {"to", address}, {"value", uint256}});
  add("erc20", "approve", {{"spender", address}, {"value", uint256}});
  add("erc20", "increaseAllowance", {{"spender", address}, {"addedValue", uint256}});
  add("erc20", "decreaseAllowance", {{"spender", address}, {"subtractedValue", uint256}});

  // EIP-721. transferFrom and approve collide with ERC-20's signatures exactly.
  add("erc721", "safeTransferFrom", {{"from", address}, {"to", address}, {"tokenId", uint256}});
  add("erc721", "safeTransferFrom", {{"from", address}, {"to", address}, {"tokenId", uint256}, {"data", bytes}});
  add("erc721", "transferFrom", {{"from", address}, {"to", address}, {"tokenId", uint256}});
  add("erc721", "approve", {{"to", address}, {"tokenId", uint256}});
  add("erc721", "setApprovalForAll", {{"operator", address}, {"approved", boolean}});

  // EIP-1155. setApprovalForAll is the same signature as ERC-721's.
  add("erc1155", "safeTransferFrom",
      {{"from", address}, {"to", address}, {"id", uint256}, {"value", uint256}, {"data", bytes}});
  add("erc1155", "safeBatchTransferFrom",
      {{"from", address},
       {"to", address},
       {"ids", AbiType::array(uint256)},
       {"values", AbiType::array(uint256)},
       {"data", bytes}});
  add("erc1155", "setApprovalForAll", {{"operator", address}, {"approved", boolean}});

  // WETH9.
  add("weth", "deposit", {});
  add("weth", "withdraw", {{"wad", uint256}});

  // EIP-2612.
  add("erc2612", "permit",
      {{"owner", address},
       {"spender", address},
       {"value", uint256},
       {"deadline", uint256},
       {"v", uint8},
       {"r", bytes32},
       {"s", bytes32}});

  // Uniswap Permit2 as deployed at 0x000000000022D473030F116dDEE9F6B43aC78BA3
  // (src/interfaces/IAllowanceTransfer.sol and ISignatureTransfer.sol).
  const AbiType permit_details = AbiType::tuple({address, uint160, uint48, uint48}, {"token", "amount", "expiration", "nonce"});
  const AbiType permit_single =
      AbiType::tuple({permit_details, address, uint256}, {"details", "spender", "sigDeadline"});
  const AbiType permit_batch =
      AbiType::tuple({AbiType::array(permit_details), address, uint256}, {"details", "spender", "sigDeadline"});
  const AbiType allowance_transfer_details =
      AbiType::tuple({address, address, uint160, address}, {"from", "to", "amount", "token"});
  const AbiType token_spender_pair = AbiType::tuple({address, address}, {"token", "spender"});
  const AbiType token_permissions = AbiType::tuple({address, uint256}, {"token", "amount"});
  const AbiType permit_transfer_from =
      AbiType::tuple({token_permissions, uint256, uint256}, {"permitted", "nonce", "deadline"});
  const AbiType permit_batch_transfer_from =
      AbiType::tuple({AbiType::array(token_permissions), uint256, uint256}, {"permitted", "nonce", "deadline"});
  const AbiType signature_transfer_details = AbiType::tuple({address, uint256}, {"to", "requestedAmount"});
  add("permit2", "approve", {{"token", address}, {"spender", address}, {"amount", uint160}, {"expiration", uint48}});
  add("permit2", "permit", {{"owner", address}, {"permitSingle", permit_single}, {"signature", bytes}});
  add("permit2", "permit", {{"owner", address}, {"permitBatch", permit_batch}, {"signature", bytes}});
  add("permit2", "transferFrom", {{"from", address}, {"to", address}, {"amount", uint160}, {"token", address}});
  add("permit2", "transferFrom", {{"transferDetails", AbiType::array(allowance_transfer_details)}});
  add("permit2", "permitTransferFrom",
      {{"permit", permit_transfer_from},
       {"transferDetails", signature_transfer_details},
       {"owner", address},
       {"signature", bytes}});
  add("permit2", "permitTransferFrom",
      {{"permit", permit_batch_transfer_from},
       {"transferDetails", AbiType::array(signature_transfer_details)},
       {"owner", address},
       {"signature", bytes}});
  add("permit2", "permitWitnessTransferFrom",
      {{"permit", permit_transfer_from},
       {"transferDetails", signature_transfer_details},
       {"owner", address},
       {"witness", bytes32},
       {"witnessTypeString", AbiType::string()},
       {"signature", bytes}});
  add("permit2", "permitWitnessTransferFrom",
      {{"permit", permit_batch_transfer_from},
       {"transferDetails", AbiType::array(signature_transfer_details)},
       {"owner", address},
       {"witness", bytes32},
       {"witnessTypeString", AbiType::string()},
       {"signature", bytes}});
  add("permit2", "lockdown", {{"approvals", AbiType::array(token_spender_pair)}});
  add("permit2", "invalidateNonces", {{"token", address}, {"spender", address}, {"newNonce", uint48}});
  add("permit2", "invalidateUnorderedNonces", {{"wordPos", uint256}, {"mask", uint256}});

  // Safe singleton 1.1.1 to 1.5.0 (safe-smart-account: OwnerManager, ModuleManager, GuardManager,
  // FallbackManager, Safe / GnosisSafe); fixtures/safe/safe-facts.json lists the same selectors.
  add("safe", "addOwnerWithThreshold", {{"owner", address}, {"_threshold", uint256}});
  add("safe", "removeOwner", {{"prevOwner", address}, {"owner", address}, {"_threshold", uint256}});
  add("safe", "swapOwner", {{"prevOwner", address}, {"oldOwner", address}, {"newOwner", address}});
  add("safe", "changeThreshold", {{"_threshold", uint256}});
  add("safe", "enableModule", {{"module", address}});
  add("safe", "disableModule", {{"prevModule", address}, {"module", address}});
  add("safe", "setGuard", {{"guard", address}});
  add("safe", "setModuleGuard", {{"moduleGuard", address}});
  add("safe", "setFallbackHandler", {{"handler", address}});
  add("safe", "changeMasterCopy", {{"_masterCopy", address}});
  add("safe", "approveHash", {{"hashToApprove", bytes32}});
  add("safe", "setup",
      {{"_owners", AbiType::array(address)},
       {"_threshold", uint256},
       {"to", address},
       {"data", bytes},
       {"fallbackHandler", address},
       {"paymentToken", address},
       {"payment", uint256},
       {"paymentReceiver", address}});
  add("safe", "execTransaction",
      {{"to", address},
       {"value", uint256},
       {"data", bytes},
       {"operation", uint8},
       {"safeTxGas", uint256},
       {"baseGas", uint256},
       {"gasPrice", uint256},
       {"gasToken", address},
       {"refundReceiver", address},
       {"signatures", bytes}});
  add("safe", "execTransactionFromModule", {{"to", address}, {"value", uint256}, {"data", bytes}, {"operation", uint8}});
  add("safe", "execTransactionFromModuleReturnData",
      {{"to", address}, {"value", uint256}, {"data", bytes}, {"operation", uint8}});
  add("safe", "signMessage", {{"_data", bytes}});
  add("safe", "requiredTxGas", {{"to", address}, {"value", uint256}, {"data", bytes}, {"operation", uint8}});
  add("safe", "simulateAndRevert", {{"targetContract", address}, {"calldataPayload", bytes}});

  // Safe MultiSend / MultiSendCallOnly.
  add("multisend", "multiSend", {{"transactions", bytes}});

  for (auto& f : all) registry.insert(std::move(f));
  return registry;
}

Selector selector_of(std::string_view signature) {
  const Hash32 h = keccak256(ByteView(reinterpret_cast<const std::uint8_t*>(signature.data()), signature.size()));
  return {h[0], h[1], h[2], h[3]};
}

const FunctionRegistry& FunctionRegistry::builtin() {
  // A function-local static is initialised exactly once, thread-safely ([stmt.dcl]/3).
  static const FunctionRegistry registry = build_builtin();
  return registry;
}

const AbiFunction* FunctionRegistry::find(const AbiFunction& function) const {
  const auto it = by_selector_.find(key_of(function.selector));
  if (it == by_selector_.end()) return nullptr;
  for (std::size_t index : it->second) {
    const AbiFunction& f = functions_[index];
    if (f.signature == function.signature && f.interface_tag == function.interface_tag) return &f;
  }
  return nullptr;
}

const AbiFunction* FunctionRegistry::insert(AbiFunction function) {
  if (const AbiFunction* existing = find(function)) return existing;
  const std::uint32_t key = key_of(function.selector);
  functions_.push_back(std::move(function));
  by_selector_[key].push_back(functions_.size() - 1);
  return &functions_.back();
}

Decoded<const AbiFunction*> FunctionRegistry::add_signature(std::string_view signature, std::string_view interface_tag,
                                                            std::vector<std::string> input_names) {
  if (interface_tag.empty()) return fail(DecodeErrc::kInvalidField, 0, "interface_tag", "empty interface tag");
  auto parsed = parse_abi_signature(signature);
  if (!parsed) return std::unexpected(parsed.error());
  if (input_names.empty()) input_names.resize(parsed->inputs.size());
  if (input_names.size() != parsed->inputs.size()) {
    return fail(DecodeErrc::kInvalidField, 0, "input_names", "one name per input");
  }
  return insert(make_function(std::move(parsed->name), std::move(parsed->inputs), std::move(input_names), interface_tag));
}

Decoded<std::size_t> FunctionRegistry::add_abi_json(const nlohmann::json& abi, std::string_view interface_tag) {
  if (interface_tag.empty()) return fail(DecodeErrc::kInvalidField, 0, "interface_tag", "empty interface tag");
  if (!abi.is_array()) return fail(DecodeErrc::kInvalidJson, 0, "$", "an ABI is a JSON array");
  std::vector<AbiFunction> staged;
  for (std::size_t i = 0; i < abi.size(); ++i) {
    const auto& entry = abi[i];
    const std::string path = "$[" + std::to_string(i) + "]";
    if (!entry.is_object()) return fail(DecodeErrc::kInvalidJson, 0, path, "an ABI entry must be an object");
    std::string kind = "function";  // abi-spec "JSON": type "can be omitted, defaulting to function"
    if (const auto it = entry.find("type"); it != entry.end()) {
      if (!it->is_string()) return fail(DecodeErrc::kInvalidJson, 0, path + ".type", "not a string");
      kind = it->get<std::string>();
    }
    if (kind == "event" || kind == "error" || kind == "constructor" || kind == "fallback" || kind == "receive") continue;
    if (kind != "function") return fail(DecodeErrc::kInvalidJson, 0, path + ".type", "unknown ABI entry type '" + kind + "'");
    const auto name_it = entry.find("name");
    if (name_it == entry.end() || !name_it->is_string() || !is_identifier(name_it->get_ref<const std::string&>())) {
      return fail(DecodeErrc::kInvalidJson, 0, path + ".name", "a function needs an identifier name");
    }
    const auto inputs_it = entry.find("inputs");
    if (inputs_it == entry.end() || !inputs_it->is_array()) {
      return fail(DecodeErrc::kInvalidJson, 0, path + ".inputs", "a function needs an inputs array");
    }
    std::vector<AbiType> types;
    std::vector<std::string> names;
    for (std::size_t j = 0; j < inputs_it->size(); ++j) {
      const auto& input = (*inputs_it)[j];
      const std::string input_path = path + ".inputs[" + std::to_string(j) + "]";
      auto type = abi_type_from_json(input, input_path);
      if (!type) return std::unexpected(type.error());
      std::string input_name;
      if (const auto it = input.find("name"); it != input.end()) {
        if (!it->is_string()) return fail(DecodeErrc::kInvalidJson, 0, input_path + ".name", "not a string");
        input_name = it->get<std::string>();
      }
      types.push_back(std::move(*type));
      names.push_back(std::move(input_name));
    }
    staged.push_back(make_function(name_it->get<std::string>(), std::move(types), std::move(names), interface_tag));
  }
  std::size_t added = 0;
  for (auto& f : staged) {
    const std::size_t before = functions_.size();
    insert(std::move(f));
    if (functions_.size() != before) ++added;
  }
  return added;
}

std::vector<const AbiFunction*> FunctionRegistry::lookup(const Selector& selector) const {
  std::vector<const AbiFunction*> out;
  const auto it = by_selector_.find(key_of(selector));
  if (it == by_selector_.end()) return out;
  out.reserve(it->second.size());
  for (std::size_t index : it->second) out.push_back(&functions_[index]);
  return out;
}

std::vector<const AbiFunction*> FunctionRegistry::functions() const {
  std::vector<const AbiFunction*> out;
  out.reserve(functions_.size());
  for (const auto& f : functions_) out.push_back(&f);
  return out;
}

Decoded<DecodedCall> decode_call(const FunctionRegistry& registry, ByteView calldata) {
  DecodedCall out;
  if (calldata.empty()) return out;
  if (calldata.size() < 4) {
    return fail(DecodeErrc::kInputTooShort, 0, {},
                "calldata of " + std::to_string(calldata.size()) + " bytes has no whole 4-byte selector");
  }
  std::copy_n(calldata.begin(), 4, out.selector.begin());
  const auto candidates = registry.lookup(out.selector);
  if (candidates.empty()) {
    out.kind = DecodedCall::Kind::kUnknownSelector;
    return out;
  }
  const ByteView args = calldata.subspan(4);
  for (const AbiFunction* f : candidates) {
    auto decoded = abi_decode(f->input_types, args);
    if (decoded) {
      out.matches.push_back(CallMatch{f, std::move(decoded->values), 4 + decoded->consumed, decoded->trailing});
    } else {
      DecodeError error = decoded.error();
      error.offset += 4;
      out.rejected.push_back(CallRejection{f, std::move(error)});
    }
  }
  if (out.matches.empty()) {
    DecodeError error = out.rejected.front().error;
    error.detail = out.rejected.front().function->signature + ": " + error.detail;
    return std::unexpected(std::move(error));
  }
  out.kind = DecodedCall::Kind::kCall;
  return out;
}

Bytes encode_call(const AbiFunction& function, std::span<const AbiValue> args) {
  Bytes out(function.selector.begin(), function.selector.end());
  const Bytes encoded = abi_encode(function.input_types, args);
  out.insert(out.end(), encoded.begin(), encoded.end());
  return out;
}

nlohmann::json args_to_json(const AbiFunction& function, std::span<const AbiValue> args) {
  if (args.size() != function.input_types.size()) throw std::invalid_argument("args_to_json: one value per input");
  std::set<std::string_view> seen;
  bool named = true;
  for (const auto& n : function.input_names) {
    if (n.empty() || !seen.insert(n).second) named = false;
  }
  nlohmann::json out = named ? nlohmann::json::object() : nlohmann::json::array();
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto value = to_json(function.input_types[i], args[i]);
    if (named) {
      out[function.input_names[i]] = std::move(value);
    } else {
      out.push_back(std::move(value));
    }
  }
  return out;
}

}  // namespace txguard::codec

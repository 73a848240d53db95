// Known contract functions by 4-byte selector, and strict decoding of calldata against them.
//
// A selector is keccak256(signature)[0:4], so different functions can share one (ERC-20 and
// ERC-721 both have transferFrom(address,address,uint256) = 0x23b872dd and approve(address,uint256)
// = 0x095ea7b3, with different meanings). The registry keeps every candidate for a selector and
// decode_call reports every candidate whose strict decode succeeds: it never picks one. An unknown
// selector is reported as unknown, never guessed.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/abi.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/error.hpp"

namespace txguard::codec {

using Selector = std::array<std::uint8_t, 4>;

/// keccak256(signature)[0:4]. `signature` must already be canonical ("transfer(address,uint256)").
Selector selector_of(std::string_view signature);

struct AbiFunction {
  std::string name;                      // "transfer"
  std::string signature;                 // canonical: "transfer(address,uint256)"
  Selector selector{};                   // keccak256(signature)[0:4]
  std::vector<AbiType> input_types;      // in order
  std::vector<std::string> input_names;  // one per input, "" when unnamed
  /// Where the function comes from: "erc20", "erc721", "erc1155", "weth", "erc2612", "permit2",
  /// "safe", "multisend" for the built-in set; the caller's tag (e.g. "operator") for added ABIs.
  std::string interface_tag;
};

/// A set of functions indexed by selector. Copyable (copy builtin() to extend it). Const member
/// functions may run concurrently; the add_* functions must not run concurrently with anything else.
/// Pointers to functions stay valid until the registry is destroyed (adding never moves them).
class FunctionRegistry {
 public:
  FunctionRegistry() = default;

  /// The built-in set, built once on first use (thread-safe) and never modified:
  ///   erc20     transfer, transferFrom, approve, increaseAllowance, decreaseAllowance
  ///   erc721    safeTransferFrom (with and without data), transferFrom, approve, setApprovalForAll
  ///   erc1155   safeTransferFrom, safeBatchTransferFrom, setApprovalForAll
  ///   weth      deposit(), withdraw(uint256)
  ///   erc2612   permit(address,address,uint256,uint256,uint8,bytes32,bytes32)
  ///   permit2   Uniswap Permit2 (canonical deployment): approve, permit (PermitSingle, PermitBatch),
  ///             transferFrom (single, batch), permitTransferFrom (single, batch),
  ///             permitWitnessTransferFrom (single, batch), lockdown, invalidateNonces,
  ///             invalidateUnorderedNonces
  ///   safe      every state-changing function of the Safe singleton 1.1.1 to 1.5.0: owner, module,
  ///             guard and fallback-handler management, changeMasterCopy, approveHash, setup,
  ///             execTransaction, execTransactionFromModule(ReturnData), signMessage,
  ///             requiredTxGas, simulateAndRevert
  ///   multisend multiSend(bytes)
  static const FunctionRegistry& builtin();

  /// Adds the functions of a standard ABI JSON array (solc / ethers / viem): entries with
  /// "type": "function" (or no "type", which the spec defaults to function); events, errors,
  /// constructor, fallback and receive are skipped. Each function needs a "name" (an identifier)
  /// and an "inputs" array of parameter objects (see abi_type_from_json); "outputs" and
  /// "stateMutability" are ignored. A function whose signature is already registered under the
  /// same tag is skipped. `interface_tag` must be non-empty.
  /// Returns the number of functions added. All or nothing: on error nothing is added, and the error
  /// names the JSON path, e.g. kInvalidAbiType at "$[3].inputs[1].type", kInvalidJson at "$[0].name".
  Decoded<std::size_t> add_abi_json(const nlohmann::json& abi, std::string_view interface_tag);

  /// Adds one function from a canonical signature; `input_names` is empty or one per input. Returns
  /// the registered function (the existing one when the signature and tag are already present).
  /// Fails like parse_abi_signature, or kInvalidField for a wrong names count or an empty tag.
  Decoded<const AbiFunction*> add_signature(std::string_view signature, std::string_view interface_tag,
                                            std::vector<std::string> input_names = {});

  /// Every function with this selector, in insertion order (empty when unknown).
  std::vector<const AbiFunction*> lookup(const Selector& selector) const;
  /// Every function, in insertion order.
  std::vector<const AbiFunction*> functions() const;
  std::size_t size() const noexcept { return functions_.size(); }

 private:
  static FunctionRegistry build_builtin();
  const AbiFunction* insert(AbiFunction function);
  // The registered function with the same signature and tag, if any.
  const AbiFunction* find(const AbiFunction& function) const;

  std::deque<AbiFunction> functions_;
  std::unordered_map<std::uint32_t, std::vector<std::size_t>> by_selector_;
};

/// One candidate function whose strict decode of the arguments succeeded.
struct CallMatch {
  const AbiFunction* function = nullptr;
  std::vector<AbiValue> args;  // one per input
  std::size_t consumed = 0;    // bytes of calldata taken: 4 + the arguments' encoding
  ByteView trailing;           // calldata after the arguments: views the caller's buffer
};

/// A candidate whose selector matched but whose arguments did not decode.
struct CallRejection {
  const AbiFunction* function = nullptr;
  DecodeError error;  // offset into the calldata (selector included)
};

struct DecodedCall {
  enum class Kind : std::uint8_t {
    kValueTransfer,    // empty calldata: a plain transfer of value, no function
    kUnknownSelector,  // no registered function has this selector; nothing was decoded
    kCall,             // at least one candidate decoded
  };
  Kind kind = Kind::kValueTransfer;
  Selector selector{};                   // zero for kValueTransfer
  std::vector<CallMatch> matches;        // kCall: every candidate that decoded, registry order
  std::vector<CallRejection> rejected;   // candidates with this selector that did not decode

  /// The match when exactly one candidate decoded; nullptr otherwise (none, or an ambiguity the
  /// caller must resolve, e.g. by knowing whether the target is an ERC-20 or an ERC-721).
  const CallMatch* unique_match() const noexcept { return matches.size() == 1 ? &matches.front() : nullptr; }
};

/// Decodes calldata against the registry. Empty calldata is kValueTransfer. Fails with
/// kInputTooShort for 1 to 3 bytes (no whole selector), and, when the selector is known but no
/// candidate decodes, with the first candidate's error (offset into the calldata, detail naming
/// the signature). The result points into `registry` and views `calldata`: both must outlive it.
Decoded<DecodedCall> decode_call(const FunctionRegistry& registry, ByteView calldata);

/// Selector followed by abi_encode(function.input_types, args). Throws like abi_encode.
Bytes encode_call(const AbiFunction& function, std::span<const AbiValue> args);

/// The arguments as JSON: an object keyed by input name when every input has a non-empty, unique
/// name, else an array; each value as to_json(type, value). Throws like to_json.
nlohmann::json args_to_json(const AbiFunction& function, std::span<const AbiValue> args);

}  // namespace txguard::codec

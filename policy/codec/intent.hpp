// The normalized intent: one picture of what a signing request would do, whatever its kind.
//
// A raw transaction, a Safe transaction and EIP-712 typed data are each reduced to:
//   calls      every call it makes, outermost first, down to the last nested one (MultiSend batch
//              items, a Safe's execTransaction carried inside another call, and so on)
//   transfers  every movement of value: native value on a call, token transfers, the gas refund a
//              Safe pays to whoever relays its transaction
//   grants     every grant of rights: token approvals, permits, operator approvals, EIP-7702
//              delegations, changes of a Safe's owners, threshold, modules, guards, fallback handler or
//              master copy, and DELEGATECALL itself (it lends the caller's storage to foreign code)
//   addresses  every address the request touches anywhere
// The policy engine evaluates this structure and nothing else, so what it judges is what is signed.
//
// Nothing is guessed. An unknown selector is reported as unknown; a selector shared by several
// known functions (ERC-20 and ERC-721 transferFrom) lists every candidate that decodes; calldata that
// does not decode under its function is reported with the error. A nested piece that cannot be
// decoded never makes the whole request fail: it is recorded on its call (`decode_error`) so that a
// policy can deny it, which is how the policy fails closed.
//
// Thread safety: pure functions; an IntentContext may be shared between threads for reading.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/abi_registry.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/eip712.hpp"
#include "policy/codec/safe.hpp"
#include "policy/codec/transaction.hpp"
#include "policy/codec/u256.hpp"

namespace txguard::codec {

/// kMessage: an EIP-191 personal message (personal_sign, eth_sign), opaque bytes the signer vouches for.
enum class RequestKind { kTransaction, kSafeTransaction, kTypedData, kMessage };
/// "transaction", "safe-transaction", "typed-data", "message"
std::string_view to_string(RequestKind kind) noexcept;

/// How a call was reached.
enum class CallVia {
  kTransaction,      // the top-level call of a transaction
  kSafeTransaction,  // a SafeTx executed by a Safe
  kMultiSend,        // an item of a MultiSend / MultiSendCallOnly batch
};
std::string_view to_string(CallVia via) noexcept;  // "transaction", "safe-transaction", "multisend"

struct Call {
  std::optional<std::size_t> parent;  // index in Intent::calls of the call that makes this one
  std::size_t depth = 0;              // 0 for the outermost call
  CallVia via = CallVia::kTransaction;
  Operation operation = Operation::kCall;
  /// msg.sender (for DELEGATECALL, the account whose storage the code runs on); empty when unknown
  /// (an unsigned transaction without a known signer).
  std::optional<Address> from;
  std::optional<Address> target;      // empty: contract creation
  U256 value = 0;
  std::size_t data_size = 0;
  std::optional<Selector> selector;   // empty when data is shorter than 4 bytes
  /// Canonical signatures of every known function with this selector whose arguments decode.
  std::vector<std::string> functions;
  std::string interface_tag;          // of the first entry in `functions`
  /// Decoded arguments of the first entry in `functions` (abi to_json form), null otherwise.
  nlohmann::json args;
  bool unknown_selector = false;      // a selector no known function has
  std::optional<DecodeError> decode_error;  // calldata, batch or nested SafeTx that does not decode
  std::size_t trailing_bytes = 0;     // bytes after the decoded arguments
  std::optional<SafeLibrary> library; // when the target is a canonical Safe library
  std::optional<std::size_t> safe_tx; // index in Intent::safe_txs when this call executes a SafeTx
};

enum class TransferKind {
  kNative,         // ETH (the chain's native coin) sent with a call
  kErc20,          // transfer / transferFrom of an ERC-20 (or a token the registry cannot tell apart)
  kErc721,         // safeTransferFrom of an ERC-721
  kErc1155,        // safeTransferFrom / safeBatchTransferFrom of an ERC-1155
  kErc20OrErc721,  // transferFrom(address,address,uint256): the same selector in both standards
  kGasRefund,      // a Safe paying its relayer: gasPrice * gas in gasToken
};
std::string_view to_string(TransferKind kind) noexcept;

struct Transfer {
  TransferKind kind = TransferKind::kNative;
  std::optional<Address> asset;       // token contract; empty for the native coin
  U256 amount = 0;                    // token units (1 for an ERC-721 token)
  std::optional<U256> token_id;       // ERC-721 / ERC-1155
  std::optional<Address> from;        // empty when the sender is unknown
  std::optional<Address> to;          // empty: a gas refund to whoever submits the transaction
  std::size_t call = 0;               // index in Intent::calls
  /// Gas refunds: `amount` is the most the Safe can pay ((safeTxGas + baseGas) * gasPrice), and
  /// `unbounded` is set when safeTxGas is 0, where nothing bounds it.
  bool upper_bound = false;
  bool unbounded = false;
};

enum class GrantKind {
  kApprove,            // ERC-20 approve (or ERC-721 approve: same selector)
  kIncreaseAllowance,
  kPermit,             // ERC-2612 permit, signed (typed data) or submitted (call)
  kPermit2,            // Uniswap Permit2 allowance or signature transfer
  kSetApprovalForAll,  // ERC-721 / ERC-1155 operator
  kDelegation,         // EIP-7702: an EOA's code becomes another contract's
  kDelegateCall,       // a DELEGATECALL: foreign code runs with the caller's storage
  kSafeAddOwner,
  kSafeRemoveOwner,
  kSafeSwapOwner,
  kSafeChangeThreshold,
  kSafeEnableModule,
  kSafeDisableModule,
  kSafeSetGuard,
  kSafeSetModuleGuard,
  kSafeSetFallbackHandler,
  kSafeChangeMasterCopy,
  kSafeApproveHash,    // an owner approving, on chain, a Safe transaction hash it does not show
};
std::string_view to_string(GrantKind kind) noexcept;  // kebab-case, e.g. "safe-add-owner"
/// True for the kSafe* kinds: changes of who controls the wallet.
bool is_configuration_change(GrantKind kind) noexcept;

struct Grant {
  GrantKind kind = GrantKind::kApprove;
  std::optional<Address> grantor;   // whose rights: the token owner, the Safe, the EOA; empty if unknown
  std::optional<Address> grantee;   // spender, operator, owner added, module, guard, handler, delegate,
                                    // DELEGATECALL target
  std::optional<Address> asset;     // the token, for approvals and permits
  std::optional<U256> amount;       // allowance; the new threshold for kSafeChangeThreshold
  bool unlimited = false;           // the maximum of the amount's type (2^256-1, or 2^160-1 in Permit2)
  bool revocation = false;          // approve 0, approval-for-all false, owner removed, module disabled...
  std::optional<std::size_t> call;  // index in Intent::calls, when a call makes the grant
  nlohmann::json details;           // the other parameters (expiration, deadline, nonce, ...)
};

/// A Safe transaction inside the request (the request itself, or one carried by a call).
struct SafeTxEntry {
  Address safe;
  SafeTx tx;
  std::optional<SafeVersion> version;      // known from the request or the context
  std::optional<Hash32> safe_tx_hash;      // empty when the version or nonce is unknown
  std::optional<SafeSignatures> signatures;
  std::optional<std::size_t> call;         // the call that executes it, if any
};

/// What the intent builder knows besides the request itself.
struct IntentContext {
  /// Functions to decode calldata with; the built-in registry by default.
  const FunctionRegistry* registry = nullptr;
  /// Known Safes: their version, and when known their current nonce, so that a SafeTx carried inside
  /// an execTransaction call (whose calldata has no nonce) can be hashed and its signers recovered.
  struct KnownSafe {
    SafeVersion version = SafeVersion::k1_3_0;
    std::optional<U256> nonce;
  };
  std::map<Address, KnownSafe> safes;
  /// Chain id for typed data and Safe transactions nested in a transaction.
  std::optional<U256> chain_id;
  /// The account that signs (eth_signTypedData_v4's address): the grantor of a typed-data permit.
  std::optional<Address> signer;
  /// MultiSend contracts besides the canonical ones whose batches are expanded. A multiSend(bytes)
  /// call to any other address is a call to an unknown contract and its bytes are not trusted as
  /// a batch.
  std::vector<Address> extra_multisend;
  std::size_t max_depth = 16;   // nesting bound (kTooDeep beyond)
  std::size_t max_calls = 4096; // total calls bound (kTooDeep beyond)
};

struct Intent {
  RequestKind kind = RequestKind::kTransaction;
  std::optional<U256> chain_id;
  /// The account whose assets are at stake: the transaction's sender, the Safe, the typed-data signer.
  std::optional<Address> wallet;
  std::optional<Transaction> transaction;  // kTransaction
  std::vector<SafeTxEntry> safe_txs;       // kSafeTransaction: [0] is the request
  std::optional<TypedData> typed_data;     // kTypedData
  /// kMessage: the message bytes as signed (before the EIP-191 prefix). kTypedData of a Safe's
  /// SafeMessage (EIP-1271): the inner message the Safe would vouch for (wallet = that Safe).
  std::optional<Bytes> message;
  std::vector<Call> calls;
  std::vector<Transfer> transfers;
  std::vector<Grant> grants;
  std::vector<Address> addresses;          // sorted, unique
};

/// Builds the intent of a decoded transaction. Fails only with kTooDeep (nesting or call bounds).
Decoded<Intent> intent_from_transaction(const Transaction& txn, const IntentContext& context = {});
/// Builds the intent of a Safe transaction request; the SafeTx hash is computed from its fields.
/// A claimed hash that differs from the computed one fails with kInvalidField at "$.safeTxHash";
/// signatures that do not parse fail with their error.
Decoded<Intent> intent_from_safe_request(const SafeTxRequest& request, const IntentContext& context = {});
/// Builds the intent of typed data: a SafeTx message is expanded like a Safe transaction; ERC-2612
/// Permit and Permit2 messages become grants; a SafeMessage(bytes message) with a verifyingContract
/// (a Safe's EIP-1271 message) has that contract as its wallet and the inner bytes as `message`;
/// every address-typed value is in `addresses`.
Decoded<Intent> intent_from_typed_data(const TypedData& typed_data, const IntentContext& context = {});
/// Builds the intent of a personal message (EIP-191 version 0x45): kind kMessage, the signer as wallet,
/// the context's chain, no calls, transfers or grants. Never fails.
Intent intent_from_message(ByteView message, const IntentContext& context = {});
/// keccak256("\x19Ethereum Signed Message:\n" + decimal length + message): what personal_sign and
/// eth_sign (geth) sign.
Hash32 personal_message_digest(ByteView message);

/// The JSON form that `txguard decode` prints and the policy engine records. Stable field names:
/// kind, chain_id, wallet, calls, transfers, grants, addresses, and per kind: for transactions type,
/// nonce, to, value, signing_hash, hash, from (...); for Safe transactions safe_tx_hash; for typed data
/// digest; "message" (0x hex) when the intent carries message bytes. Numbers are decimal strings,
/// addresses EIP-55, bytes 0x hex.
nlohmann::json to_json(const Intent& intent);

}  // namespace txguard::codec

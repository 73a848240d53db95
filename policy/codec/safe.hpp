// Safe (ex-Gnosis Safe) transactions: the SafeTx struct, its EIP-712 hash for every Safe version
// txguard supports, the packed owner signatures of execTransaction, MultiSend batches, and the
// canonical library addresses per version.
//
// All functions are pure and thread-safe. Exact formats: fixtures/safe/safe-facts.json.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/u256.hpp"

namespace txguard::codec {

enum class SafeVersion { k1_1_1, k1_2_0, k1_3_0, k1_4_1, k1_5_0 };

/// "1.1.1", "1.2.0", "1.3.0", "1.4.1", "1.5.0" (an optional leading "v", and "+L2" suffix, are
/// accepted). Anything else is kUnknownSafeVersion: txguard refuses to hash for a version whose
/// domain it does not know.
Decoded<SafeVersion> parse_safe_version(std::string_view text);
std::string_view to_string(SafeVersion version) noexcept;
/// Safe < 1.3.0 hashes EIP712Domain(address verifyingContract): no chainId, so one signature is
/// valid on every chain where the Safe's address exists.
bool domain_has_chain_id(SafeVersion version) noexcept;

enum class Operation : std::uint8_t { kCall = 0, kDelegateCall = 1 };
std::string_view to_string(Operation op) noexcept;  // "CALL" / "DELEGATECALL"

struct SafeTx {
  Address to;
  U256 value = 0;
  Bytes data;
  Operation operation = Operation::kCall;
  U256 safe_tx_gas = 0;
  U256 base_gas = 0;
  U256 gas_price = 0;
  Address gas_token;
  Address refund_receiver;
  U256 nonce = 0;
};

struct SafeDomain {
  SafeVersion version = SafeVersion::k1_3_0;
  U256 chain_id = 0;  // ignored for versions without chainId in the domain
  Address safe;
};

Hash32 safe_domain_separator(const SafeDomain& domain);
/// hashStruct(SafeTx): keccak256(abi.encode(SAFE_TX_TYPEHASH, to, value, keccak256(data), operation,
/// safeTxGas, baseGas, gasPrice, gasToken, refundReceiver, nonce)).
Hash32 safe_tx_struct_hash(const SafeTx& tx);
/// keccak256(0x19 || 0x01 || domainSeparator || structHash): what owners sign.
Hash32 safe_tx_hash(const SafeTx& tx, const SafeDomain& domain);

/// A Safe transaction as a client submits it: the Safe Transaction Service field names (to, value,
/// data, operation, safeTxGas, baseGas, gasPrice, gasToken, refundReceiver, nonce) plus chainId, safe
/// and safeVersion. Optional: safeTxHash (or contractTransactionHash), a hash the client claims,
/// which txguard compares with its own; signatures, packed owner signatures to decode.
struct SafeTxRequest {
  SafeTx tx;
  SafeDomain domain;
  std::optional<Hash32> claimed_hash;
  std::optional<Bytes> signatures;
};

/// Parses a SafeTxRequest. Every field above is required except data (absent, null or "0x" is
/// empty), safeTxHash/contractTransactionHash and signatures. Integers are JSON non-negative
/// integers or decimal / 0x-hex strings; addresses are 0x-hex with EIP-55 enforced when mixed-case;
/// operation is 0 or 1. Unknown fields are rejected (kInvalidField): a field txguard ignores could be
/// one the client believes it is signing. Errors name the JSON path ("$.gasToken").
Decoded<SafeTxRequest> parse_safe_tx_request(const nlohmann::json& json);

// ---- Owner signatures (execTransaction's `signatures` bytes) -------------------------------------

enum class SafeSignatureKind {
  kContract,      // v = 0: EIP-1271; r = owner contract, s = offset of {len, data} in the blob
  kApprovedHash,  // v = 1: r = owner that approved the hash on chain (or is msg.sender)
  kEcdsa,         // v = 27/28: ECDSA over the raw safeTxHash
  kEthSign,       // v = 31/32: ECDSA over keccak256("\x19Ethereum Signed Message:\n32" || hash)
};
std::string_view to_string(SafeSignatureKind kind) noexcept;  // "contract", "approved-hash", "ecdsa", "eth-sign"

struct SafeSignature {
  SafeSignatureKind kind = SafeSignatureKind::kEcdsa;
  std::uint8_t v = 0;
  Hash32 r{};
  Hash32 s{};
  /// The owner: recovered for ECDSA kinds (when the hash is known), read from r for the others.
  std::optional<Address> owner;
  /// EIP-1271 signature bytes for kContract.
  Bytes contract_signature;
  /// True when s > n/2: Safe's ecrecover accepts it, but no honest signer produces one.
  bool high_s = false;
  std::size_t offset = 0;  // of this 65-byte item in the blob
};

struct SafeSignatures {
  std::vector<SafeSignature> items;
  /// Owners strictly ascending, as Safe requires (GS026 otherwise). False also for duplicates.
  bool strictly_ascending = true;
};

/// Splits and classifies the packed signatures. The static part is the run of 65-byte items up to
/// the first dynamic part referenced by a contract signature (or the end). With `hash` the ECDSA
/// owners are recovered (an item that does not recover fails the whole blob: kInvalidSignature);
/// without it they stay empty. Fails on a length that is not a multiple of 65 in the static part
/// (kTrailingBytes), v outside {0, 1, 27, 28, 31, 32} (kInvalidV), a contract signature offset or
/// length outside the blob (kOffsetOutOfRange / kInputTooShort), r of a v=0/1 item with non-zero
/// high bytes (kDirtyPadding). Offsets are relative to the blob plus `base_offset`.
Decoded<SafeSignatures> parse_safe_signatures(ByteView blob, const std::optional<Hash32>& hash,
                                              std::size_t base_offset = 0);

// ---- MultiSend ----------------------------------------------------------------------------------

inline constexpr std::array<std::uint8_t, 4> kMultiSendSelector = {0x8d, 0x80, 0xff, 0x0a};

struct MultiSendItem {
  Operation operation = Operation::kCall;
  Address to;
  U256 value = 0;
  ByteView data;           // a view into the packed input
  std::size_t offset = 0;  // of the item in the packed input, plus base_offset
};

/// Parses the packed `transactions` argument of multiSend(bytes): items of
/// uint8 operation | address to | uint256 value | uint256 dataLength | bytes data, concatenated.
/// Fails on an operation other than 0/1 (kInvalidField: MultiSend reverts on it), a truncated item
/// (kInputTooShort), a dataLength beyond the input (kOverflow if it cannot fit in memory at all).
/// More than `max_items` items is kTooDeep. An empty input is an empty batch.
Decoded<std::vector<MultiSendItem>> parse_multisend(ByteView packed, std::size_t base_offset = 0,
                                                    std::size_t max_items = 4096);
/// The packed form of a batch (the inverse of parse_multisend).
Bytes encode_multisend(std::span<const MultiSendItem> items);

// ---- Canonical deployments ----------------------------------------------------------------------

enum class SafeLibrary { kMultiSend, kMultiSendCallOnly, kSignMessageLib, kCreateCall };
std::string_view to_string(SafeLibrary library) noexcept;

/// The canonical (and eip155-variant) addresses of a Safe library for a Safe version, from
/// safe-deployments. Versions 1.1.1 and 1.2.0 have no MultiSendCallOnly or SignMessageLib of their
/// own; the list is then empty.
std::vector<Address> canonical_library_addresses(SafeVersion version, SafeLibrary library);
/// Which canonical library (of any version) an address is, if any.
std::optional<SafeLibrary> identify_safe_library(const Address& address);

}  // namespace txguard::codec

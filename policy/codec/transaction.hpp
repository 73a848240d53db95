// Ethereum transactions of types 0 to 4, signed and unsigned: decoding, encoding, signing hash.
//
//   type 0  legacy        rlp([nonce, gasPrice, gas, to, value, data, v, r, s])
//                         v = 27/28 (pre-EIP-155) or chainId*2 + 35/36 (EIP-155)
//   type 1  EIP-2930      0x01 || rlp([chainId, nonce, gasPrice, gas, to, value, data, accessList, yParity, r, s])
//   type 2  EIP-1559      0x02 || rlp([chainId, nonce, maxPriorityFee, maxFee, gas, to, value, data,
//                                      accessList, yParity, r, s])
//   type 3  EIP-4844      0x03 || rlp([chainId, nonce, maxPriorityFee, maxFee, gas, to, value, data,
//                                      accessList, maxFeePerBlobGas, blobVersionedHashes, yParity, r, s])
//   type 4  EIP-7702      0x04 || rlp([chainId, nonce, maxPriorityFee, maxFee, gas, to, value, data,
//                                      accessList, authorizationList, yParity, r, s])
//
// Unsigned forms: legacy is the 6-field list (no chain id) or the 9-field EIP-155 form
// [.., chainId, 0, 0]; a typed transaction is type || rlp(fields without yParity, r, s). The signing
// hash is keccak256 of the unsigned form.
//
// What the decoder judges: the encoding (canonical RLP, field counts and widths, see rlp.hpp) and the
// signature (r, s in [1, n-1], s <= n/2 per EIP-2, v / yParity in the allowed set, a sender that
// recovers). What it does not judge, because it needs chain state or fork rules: intrinsic gas,
// gas-limit caps, gasLimit * price overflow, maxPriorityFee <= maxFee, EIP-3860 init-code size,
// EIP-4844's "at least one blob" and blob hash version byte, EIP-7702's non-empty authorization list.
// Those are left to the policy.
//
// Thread safety: every function is pure and may be called concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/error.hpp"
#include "policy/codec/u256.hpp"

namespace txguard::codec {

enum class TxnType : std::uint8_t {
  kLegacy = 0,
  kAccessList = 1,  // EIP-2930
  kDynamicFee = 2,  // EIP-1559
  kBlob = 3,        // EIP-4844
  kSetCode = 4,     // EIP-7702
};

struct AccessListEntry {
  Address address;
  std::vector<Hash32> storage_keys;

  bool operator==(const AccessListEntry&) const = default;
};

/// One EIP-7702 authorization tuple [chain_id, address, nonce, y_parity, r, s]: the authority (the
/// EOA that signed it) lets its code be `address`'s code; chain_id 0 means every chain.
///
/// The chain skips an authorization whose signature is invalid instead of rejecting the whole
/// transaction (EIP-7702, "behavior"), so the decoder does too: such a tuple is kept, with
/// `authority` empty and `authority_error` saying why (kInvalidV for a y_parity other than 0/1,
/// kInvalidSignature for r or s outside [1, n-1] or no key recovering, kHighS for s > n/2).
/// A tuple that is badly *encoded* (wrong field count, a 21-byte address, an integer too wide for
/// its field: chain_id and r, s 32 bytes, nonce 8, y_parity 1) fails the whole transaction, as it
/// does on chain. A tuple without an authority delegates nothing on chain; it stays in the list so
/// that a policy can see and report it.
struct Authorization {
  U256 chain_id;
  Address address;
  std::uint64_t nonce = 0;
  std::uint8_t y_parity = 0;
  Hash32 r{};  // big-endian, as the integer read
  Hash32 s{};
  /// The signer, recovered from keccak256(0x05 || rlp([chain_id, address, nonce])). Empty if the
  /// signature is invalid (see authority_error) or recovery was not asked for.
  std::optional<Address> authority;
  /// Why the authority is empty when the signature was judged invalid; empty otherwise.
  std::optional<DecodeErrc> authority_error;

  bool operator==(const Authorization&) const = default;
};

struct TxnSignature {
  /// v as read from the encoding: legacy 27/28 or chainId*2 + 35/36; typed, the y_parity (0/1).
  /// Informational: encode_transaction() derives v from chain_id and y_parity.
  U256 v;
  std::uint8_t y_parity = 0;  // the recovery id, 0 or 1
  Hash32 r{};                 // big-endian
  Hash32 s{};

  bool operator==(const TxnSignature&) const = default;
};

struct Transaction {
  TxnType type = TxnType::kLegacy;
  /// Empty only for a pre-EIP-155 legacy transaction. Chain ids above 2^64-1 are rejected
  /// (kOverflow); 0 is not a valid EIP-155 chain id for a legacy transaction.
  std::optional<std::uint64_t> chain_id;
  /// Below 2^64-1 (EIP-2681): a nonce of 2^64-1 is kInvalidField.
  std::uint64_t nonce = 0;
  /// Types 0 and 1; zero for the others.
  U256 gas_price;
  /// Types 2, 3 and 4; zero for the others.
  U256 max_priority_fee_per_gas;
  U256 max_fee_per_gas;
  std::uint64_t gas_limit = 0;
  /// Empty: contract creation (encoded as the empty string). Types 3 and 4 require it.
  std::optional<Address> to;
  U256 value;
  Bytes data;
  /// Types 1 to 4.
  std::vector<AccessListEntry> access_list;
  /// Type 3.
  U256 max_fee_per_blob_gas;
  std::vector<Hash32> blob_versioned_hashes;
  /// Type 4.
  std::vector<Authorization> authorization_list;
  /// Present for a signed transaction.
  std::optional<TxnSignature> signature;

  // Computed by decode_transaction() (ignored by encode_transaction()).
  /// keccak256 of the unsigned form: what the sender signed.
  Hash32 signing_hash{};
  /// keccak256 of the signed encoding, the transaction hash; present when signed.
  std::optional<Hash32> hash;
  /// The recovered sender; present when signed and recovery was asked for.
  std::optional<Address> from;
};

/// Which encodings decode_transaction() accepts.
enum class TxnForm {
  /// Signed or unsigned. A legacy 9-field list whose r and s are both zero is read as the unsigned
  /// EIP-155 form [.., chainId, 0, 0], since that is what it is byte for byte.
  kAny,
  /// Signed only (a transaction for the network, eth_sendRawTransaction): an unsigned field count
  /// is kWrongFieldCount, and r = s = 0 is an invalid signature.
  kSigned,
  /// Unsigned only (a transaction to be signed): a signed field count is kWrongFieldCount.
  kUnsigned,
};

struct TxnDecodeOptions {
  /// Recover the sender (and each EIP-7702 authority) with secp256k1. The signature range checks
  /// are done either way; recovery is the expensive part (about 50 us).
  bool recover_sender = true;
  TxnForm form = TxnForm::kAny;
  /// When set, a transaction bound to another chain fails with kInvalidField (at the v field for
  /// legacy, the chainId field for typed). Pre-EIP-155 legacy transactions, bound to none, pass.
  std::optional<std::uint64_t> expected_chain_id;
};

/// Decodes one transaction: a legacy RLP list, or a type byte 0x01..0x04 followed by one RLP list.
/// The whole input must be that one transaction (kTrailingBytes otherwise); the EIP-4844 network
/// form with blobs, commitments and proofs is not accepted.
///
/// Fails with (offset = the first byte of the item at fault):
///   kInputTooShort           empty input, or an item that runs past its input or list
///   kUnsupportedTxnType      a type byte other than 1..4 (0x00 included)
///   kUnexpectedString        a string where the transaction list (or a nested list) belongs
///   kUnexpectedList          a list where an integer, address or data belongs
///   kWrongFieldCount         a list (transaction, access-list entry, authorization) of the wrong size
///   kLeadingZero, kNonCanonicalSize, kNonCanonicalSingleByte, kTrailingBytes, kOverflow (rlp.hpp)
///   kOverflow                an integer too wide for its field (nonce, gas, chainId: 8 bytes; 32 otherwise)
///   kWrongLength             `to` not 0 or 20 bytes, an access-list or authorization address not 20,
///                            a storage key or blob versioned hash not 32
///   kMissingField            a type 3 or 4 transaction without `to`
///   kInvalidField            nonce 2^64-1 (EIP-2681), chain id 0 in a legacy EIP-155 form, a chain id
///                            other than options.expected_chain_id, an unsigned EIP-155 form not
///                            ending in 0, 0
///   kInvalidV                legacy v not 27/28 or chainId*2+35/36 with 1 <= chainId < 2^64; typed
///                            yParity not 0/1
///   kInvalidSignature        r or s outside [1, n-1], or no public key recovers
///   kHighS                   s > n/2 (EIP-2)
/// On success the computed fields are set: signing_hash always, hash when signed, from when signed
/// and options.recover_sender.
Decoded<Transaction> decode_transaction(ByteView raw, const TxnDecodeOptions& options = {});

/// The canonical encoding: signed if `txn.signature` is present (legacy v derived from chain_id and
/// y_parity), else the unsigned form. Computed fields are ignored. decode_transaction() of the result
/// gives back the same fields for every transaction it could have produced.
Bytes encode_transaction(const Transaction& txn);

/// The unsigned encoding, whatever `txn.signature` holds.
Bytes encode_unsigned_transaction(const Transaction& txn);

/// keccak256 of the unsigned encoding: the digest the sender signs.
Hash32 signing_hash(const Transaction& txn);

/// The digest an EIP-7702 authority signs: keccak256(0x05 || rlp([chain_id, address, nonce])).
Hash32 authorization_signing_hash(const Authorization& authorization);

}  // namespace txguard::codec

// Solidity event logs: event signatures with indexed inputs, and the strict decoding of one log
// (topics + data) against such a signature (docs.soliditylang.org/en/latest/abi-spec.html, "Events").
//
// A log of a non-anonymous event carries topics[0] = keccak256 of the canonical signature
// "Name(type1,...,typeN)", then one topic per indexed input, in order; the non-indexed inputs are
// ABI-encoded as a tuple in the data. An indexed input of a value type (uintN, intN, address, bool,
// bytesN) is its 32-byte ABI word; an indexed input of any other type (bytes, string, arrays, tuples)
// is only the keccak256 of its encoding, which cannot be inverted: it is reported as {"hash": "0x.."}.
//
// Strict, for the same reason as the ABI decoder (policy/codec/abi.hpp): a log decodes to given values
// only when its bytes are exactly what the compiler emits for them. Dirty padding in a topic, trailing
// data after the non-indexed inputs, and the wrong number of topics are all errors.
//
// Thread safety: every function here is pure; EventSpec is a plain value.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/abi.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/error.hpp"

namespace txguard::codec {

/// Solidity allows at most three indexed inputs in a non-anonymous event (topics[0] is the signature).
inline constexpr std::size_t kMaxIndexedInputs = 3;

struct EventInput {
  std::string name;
  AbiType type;
  bool indexed = false;

  bool operator==(const EventInput&) const = default;
};

struct EventSpec {
  std::string name;
  std::vector<EventInput> inputs;
  /// keccak256(canonical).
  Hash32 topic0{};
  /// "Name(type1,...,typeN)" without names or "indexed".
  std::string canonical;

  bool operator==(const EventSpec&) const = default;
};

/// Parses a human-readable event signature:
///   Name(type1 [indexed] name1,type2 [indexed] name2,...)
/// e.g. "Deposit(address indexed token,address indexed sender,address recipient,uint256 amount)".
/// Name and input names are identifiers ([A-Za-z_$][A-Za-z0-9_$]*); types are canonical ABI type
/// strings as parse_abi_type accepts them (no "uint" alias, no spaces inside a type). Tokens are
/// separated by single spaces, and a single space may follow a comma; nothing else. Every input must
/// be named, names must be distinct (they key the decoded object), at most kMaxIndexedInputs are
/// indexed. "Name()" (no inputs) is allowed. Anonymous events are not supported: their logs carry no
/// signature topic, so nothing ties them to the event.
/// Fails with kInvalidAbiType (offset = index of the offending character in `text`, detail says
/// what), or the errors of parse_abi_type for a type (kTooDeep, kOverflow), with offsets into `text`.
/// Never throws.
Decoded<EventSpec> parse_event_signature(std::string_view text);

/// The signature text parse_event_signature reads, in its one spelling (single spaces, no space
/// after commas): parse_event_signature(to_string(spec)) == spec for every parsed spec.
std::string to_string(const EventSpec& spec);

/// Decodes one log into one value per input of `spec`, in declaration order: a value type read from
/// its topic, AbiValue::bytes(32-byte topic) for an indexed input of any other type (the hash), and
/// the non-indexed inputs from `data`. For callers that need the values rather than their JSON (and
/// the fuzz target, which re-encodes them). Errors as decode_event_log.
Decoded<std::vector<AbiValue>> decode_event_values(const EventSpec& spec, std::span<const Hash32> topics,
                                                   ByteView data);

/// Decodes one log as a JSON object {input name: value}, values in the form of abi.hpp's to_json
/// (addresses EIP-55, integers decimal strings, ...), an indexed input of a non-value type as
/// {"hash": "0x" + 64 lower-case hex digits}.
/// Fails (never throws):
///   kWrongFieldCount   topics.size() != 1 + the number of indexed inputs (where "topics");
///   kInvalidField      topics[0] != spec.topic0: another event (where "topics[0]");
///   kDirtyPadding, kInvalidBool   an indexed value-type topic that is not the canonical word of a
///                      value (non-zero high bytes of an address / bool / uintN<256, a bool other than
///                      0 or 1, an intN that is not sign-extended, non-zero bytes after a bytesN)
///                      (where "topics[i]", offset 32 * i + the byte in that topic);
///   any abi_decode error on the data (where "data", offset into data);
///   kTrailingBytes     data longer than the non-indexed inputs' encoding (where "data", offset
///                      = the first extra byte).
Decoded<nlohmann::json> decode_event_log(const EventSpec& spec, std::span<const Hash32> topics, ByteView data);

}  // namespace txguard::codec

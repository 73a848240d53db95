// EIP-712 typed structured data, as requested by eth_signTypedData_v4: the struct types, encodeType,
// typeHash, encodeData, hashStruct, the domain separator and the digest that is signed.
//
// Strict by design: every input that two wallets could hash differently, or that a reviewer could read
// differently from what is signed, is an error. The choices, each checked against ethers v6
// (TypedDataEncoder) and MetaMask's eth-sig-util (the reference for eth_signTypedData_v4):
// - Types. Names are identifiers ([A-Za-z_$][A-Za-z0-9_$]*). Atomic types are exactly uint8..uint256
//   and int8..int256 in steps of 8, bytes1..bytes32 (no leading zeros in the width), address, bool,
//   bytes, string. "uint"/"int" are rejected: ethers silently rewrites them to uint256/int256 while
//   eth-sig-util hashes them as written, so the two disagree on the digest. Array suffixes are "[]"
//   or "[k]" with 1 <= k < 2^32 written without leading zeros, nestable ("T[2][]" is a dynamic array
//   of T[2]). A struct may not be named like an atomic type. Duplicate field names, undefined types
//   and unknown keys in a field definition are errors. A struct may refer to itself only through a
//   dynamic array somewhere in the chain (a finite value exists); a cycle made only of direct or
//   fixed-size-array references can never terminate and is rejected. Types that the primary type does
//   not use are allowed (eth-sig-util ignores them) but still validated.
// - Values. Integers are JSON integers with |n| <= 2^53-1 (a float, an exponent or anything larger
//   may already have been rounded by a JavaScript producer, so it is ambiguous), or strings: decimal,
//   "0x" hex (a non-negative magnitude), or "-" decimal (intN only, not "-0"). Leading zeros in the
//   text are accepted: they do not change the value. Out of range for the declared width is kOverflow.
//   Addresses are "0x" + 40 hex digits, EIP-55 checked when mixed-case. bytesN is "0x" + exactly 2N
//   hex digits: ethers v6 and viem reject other lengths too, while eth-sig-util (through
//   ethereumjs-abi's setLengthRight) right-pads any value to 32 bytes without checking N, so a short
//   value is ambiguous. bytes is "0x" + an even number of hex digits. string is a JSON string
//   of valid UTF-8. bool is JSON true or false only. A struct value is a JSON object with exactly the
//   declared fields: a missing field is kMissingField, an extra one kInvalidField. A fixed-size array
//   of the wrong length is kWrongLength. A JSON value of the wrong kind is kInvalidJson.
// - Domain. types must define EIP712Domain, whose fields are any subset, in any order, of name
//   (string), version (string), chainId (uint256), verifyingContract (address) and salt (bytes32);
//   the domain value must match it exactly like any other struct value.
// - primaryType "EIP712Domain" signs keccak256(0x19 0x01 || domainSeparator) with no message hash
//   (eth-sig-util's eip712Hash, and the Ledger and Trezor keyrings); since nothing of the message is
//   signed, the message must then be the empty object, so that no unsigned content can be shown.
// - Errors carry the JSON path of the problem, e.g. "$.message.to" or "$.types.Mail[1].type".
//   Recursion is bounded by kEip712MaxDepth and the total work by kEip712MaxTypeStringBytes and
//   kEip712MaxValueNodes (kTooDeep).
//
// Thread safety: all functions are pure; Eip712Types and TypedData are immutable after construction
// and safe to share between threads for reading.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/bytes.hpp"
#include "policy/codec/error.hpp"

namespace txguard::codec {

/// Deepest nesting of struct and array values (one level per struct and per array dimension), and the
/// most array dimensions in one type. Seaport's bulk orders, the deepest known in use, need about 30.
inline constexpr std::size_t kEip712MaxDepth = 64;
/// Deepest JSON nesting accepted by the text overload of parse_typed_data (the value depth plus the
/// envelope).
inline constexpr std::size_t kEip712MaxJsonDepth = kEip712MaxDepth + 8;
/// Bound on the sum of the lengths of all encodeType strings of one set of types; it also bounds the
/// work of collecting each type's dependencies.
inline constexpr std::size_t kEip712MaxTypeStringBytes = std::size_t{1} << 20;
/// Bound on the number of JSON values visited by one encode_data / hash_struct / parse_typed_data.
inline constexpr std::size_t kEip712MaxValueNodes = std::size_t{1} << 20;

/// One member of a struct type, as declared: {"name": "wallet", "type": "address"}.
struct Eip712Field {
  std::string name;
  std::string type;

  bool operator==(const Eip712Field&) const = default;
};

/// A validated set of EIP-712 struct types with every encodeType string and typeHash computed once.
class Eip712Types {
 public:
  /// Parses and validates a `types` object ({"Mail": [{"name": ..., "type": ...}, ...], ...}).
  /// `path` is the JSON path of `types`, used in error locations. Does not require EIP712Domain (use
  /// parse_typed_data for a whole request). Fails with kInvalidJson (wrong shape), kInvalidAbiType
  /// (bad type or field name, duplicate field, non-terminating cycle), kUnknownType (undefined struct
  /// reference), kInvalidField (unknown key in a field definition), kTooDeep (work or depth bound).
  static Decoded<Eip712Types> parse(const nlohmann::json& types, std::string_view path = "$.types");

  /// Whether `type_name` is a defined struct type.
  bool contains(std::string_view type_name) const noexcept;
  /// The declared fields of a struct type in declaration order, or nullptr if it is not defined.
  const std::vector<Eip712Field>* fields(std::string_view type_name) const noexcept;
  /// The names of all defined struct types, in ascending byte order.
  std::vector<std::string_view> names() const;

 private:
  friend class Eip712TypesBuilder;  // eip712.cpp: validates and resolves the types
  friend class Eip712Encoder;       // eip712.cpp: encodeData over the resolved types

  enum class Kind : std::uint8_t { kUint, kInt, kAddress, kBool, kFixedBytes, kBytes, kString, kStruct };
  // A field type resolved once at parse time, so that hashing never re-parses a type string.
  struct FieldType {
    Kind kind = Kind::kBool;
    std::uint16_t width = 0;            // bits for kUint/kInt, bytes for kFixedBytes
    std::size_t struct_index = 0;       // index into structs_ for kStruct
    std::vector<std::uint32_t> dims;    // array suffixes left to right; 0 means dynamic ("[]")
  };
  struct StructType {
    std::string name;
    std::vector<Eip712Field> fields;
    std::vector<FieldType> field_types;
    std::string encoded_type;           // encodeType: this type, then its dependencies sorted by name
    Hash32 type_hash{};                 // keccak256(encoded_type)
  };

  const StructType* find(std::string_view type_name) const noexcept;

  std::vector<StructType> structs_;     // sorted by name
};

/// encodeType(type_name): "Mail(Person from,Person to,string contents)Person(string name,address wallet)".
/// kUnknownType if `type_name` is not a defined struct type.
Decoded<std::string> encode_type(const Eip712Types& types, std::string_view type_name);

/// typeHash = keccak256(encodeType(type_name)), precomputed. kUnknownType if not defined.
Decoded<Hash32> type_hash(const Eip712Types& types, std::string_view type_name);

/// typeHash || encodeData(value): 32 bytes per member after the type hash, what ethers'
/// TypedDataEncoder.encodeData returns for a struct. `path` is the JSON path of `value` for errors.
/// Fails as described at the top of this file.
Decoded<Bytes> encode_data(const Eip712Types& types, std::string_view type_name, const nlohmann::json& value,
                           std::string_view path = "$");

/// hashStruct(value) = keccak256(typeHash || encodeData(value)). Fails like encode_data.
Decoded<Hash32> hash_struct(const Eip712Types& types, std::string_view type_name, const nlohmann::json& value,
                            std::string_view path = "$");

/// keccak256(0x19 0x01 || domain_separator || message_hash), or keccak256(0x19 0x01 || domain_separator)
/// when there is no message hash (primaryType EIP712Domain).
Hash32 eip712_digest(const Hash32& domain_separator, const std::optional<Hash32>& message_hash);

/// A validated eth_signTypedData_v4 request and its hashes.
struct TypedData {
  Eip712Types types;
  std::string primary_type;
  nlohmann::json domain;                // as given
  nlohmann::json message;               // as given
  Hash32 domain_separator{};            // hashStruct("EIP712Domain", domain)
  std::optional<Hash32> message_hash;   // hashStruct(primary_type, message); empty for EIP712Domain
  Hash32 digest{};                      // what is signed
};

/// Validates {"types", "primaryType", "domain", "message"} (no other top-level key) and computes the
/// hashes. Never throws on bad input; fails with the codes listed for Eip712Types::parse and
/// encode_data, plus kMissingField / kInvalidJson / kInvalidField for the envelope, kUnknownType for
/// an undefined primaryType, kInvalidField for a bad EIP712Domain definition or a non-empty message
/// with primaryType EIP712Domain.
Decoded<TypedData> parse_typed_data(const nlohmann::json& request);

/// The same from JSON text. Also rejects, before building any JSON value: malformed JSON (kInvalidJson
/// with the byte offset), duplicate object keys anywhere (kInvalidJson at the key's path: a reviewer
/// and a signer could each pick a different copy), and nesting deeper than kEip712MaxJsonDepth
/// (kTooDeep).
Decoded<TypedData> parse_typed_data(std::string_view json_text);

}  // namespace txguard::codec

// The Solidity contract ABI: types, values, a strict decoder, the standard encoder, and a stable JSON
// view of decoded values (docs.soliditylang.org/en/latest/abi-spec.html).
//
// Canonical layout only. The decoder accepts exactly the bytes the standard encoder produces for
// the values it returns ("strict encoding mode" in the spec): every offset must be the one the
// encoder would write, i.e. the tails of a head follow it in order, with no gap, overlap, sharing or
// backward pointer. Why:
//   - What you see is what you sign: two different byte strings never decode to the same call, and
//     for every accepted input without trailing bytes, abi_encode(abi_decode(b)) == b.
//   - Lenient offsets let one tail be referenced many times, so a few hundred bytes could expand to
//     gigabytes of values; with canonical offsets every value owns its own bytes and decoding is
//     linear in the input.
//   - It rejects nothing real encoders produce: solc's encoder "always creates data in strict mode"
//     (abi-spec, "Strict Encoding Mode"), and ethers and viem write the same standard layout (the
//     mainnet calldata in tests/codec/abi_registry_test.cpp decodes under these rules).
// Bytes after the arguments are not an error (Solidity ignores them, and dapps append tags there:
// OpenSea's 0x360c6ebe, aggregators' affiliate data) but are reported, because an attacker can hide
// data there too.
//
// Thread safety: every function here is pure; AbiType and AbiValue are plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/error.hpp"
#include "policy/codec/u256.hpp"

namespace txguard::codec {

/// Nesting bound for types (a leaf has depth 1; each array level or tuple adds 1). Deeper type
/// strings or JSON are rejected with kTooDeep; decoding recursion follows the type, so it is bounded too.
inline constexpr std::size_t kMaxAbiDepth = 32;
/// Bound on the head size of one static type (e.g. uint256[k] takes 32*k bytes). Larger types are
/// rejected when parsed (kOverflow). 16 MiB is far above any transaction Ethereum clients relay.
inline constexpr std::size_t kMaxAbiStaticSize = std::size_t{1} << 24;

/// An ABI type: uintN/intN (N = 8..256 step 8), address, bool, bytesN (N = 1..32), bytes, string,
/// T[], T[k] (k >= 1) and tuples (T1,...,Tn) with n >= 1 and optional component names. Empty tuples
/// and zero-length fixed arrays are not representable (Solidity rejects them too), so every type
/// takes at least 32 bytes of head: that is what bounds the decoder's work by the input size.
/// fixed/ufixed and function are not supported.
class AbiType {
 public:
  enum class Kind : std::uint8_t {
    kUint, kInt, kAddress, kBool, kFixedBytes, kBytes, kString, kArray, kFixedArray, kTuple,
  };

  // Factories. They throw std::invalid_argument on an impossible type (uint7, bytes33, T[0], an
  // empty tuple, names of the wrong count) and std::length_error beyond kMaxAbiDepth or
  // kMaxAbiStaticSize: these are programming errors. Use the parsers below for untrusted text.
  static AbiType uint(unsigned bits);
  static AbiType sint(unsigned bits);
  static AbiType address();
  static AbiType boolean();
  static AbiType fixed_bytes(unsigned size);
  static AbiType bytes();
  static AbiType string();
  static AbiType array(AbiType element);
  static AbiType fixed_array(AbiType element, std::size_t length);
  /// `names` is empty (unnamed) or has one entry per component ("" for an unnamed one).
  static AbiType tuple(std::vector<AbiType> components, std::vector<std::string> names = {});

  Kind kind() const noexcept { return kind_; }
  /// N of uintN / intN; 0 otherwise.
  unsigned bits() const noexcept { return (kind_ == Kind::kUint || kind_ == Kind::kInt) ? width_ : 0; }
  /// N of bytesN; 0 otherwise.
  unsigned fixed_size() const noexcept { return kind_ == Kind::kFixedBytes ? width_ : 0; }
  /// k of T[k]; 0 otherwise.
  std::size_t length() const noexcept { return length_; }
  /// T of T[] or T[k]. Precondition: kind() is kArray or kFixedArray.
  const AbiType& element() const;
  /// The components of a tuple (empty for other kinds).
  std::span<const AbiType> components() const noexcept {
    return kind_ == Kind::kTuple ? std::span<const AbiType>(children_) : std::span<const AbiType>();
  }
  /// Component names of a tuple: empty, or one per component ("" when unnamed).
  std::span<const std::string> names() const noexcept { return names_; }

  /// bytes, string, T[], and any T[k] or tuple containing one of them.
  bool is_dynamic() const noexcept { return dynamic_; }
  /// Bytes this type takes in the head of its enclosing sequence: 32 for a dynamic type (its offset),
  /// the full inline size for a static one.
  std::size_t head_size() const noexcept { return head_size_; }
  std::size_t depth() const noexcept { return depth_; }

  /// Same structure and same component names.
  bool operator==(const AbiType&) const = default;

 private:
  AbiType(Kind kind, unsigned width) : kind_(kind), width_(width) {}
  void finish();

  Kind kind_;
  unsigned width_ = 0;
  std::size_t length_ = 0;
  std::size_t head_size_ = 32;
  std::size_t depth_ = 1;
  bool dynamic_ = false;
  std::vector<AbiType> children_;  // one element for arrays, the components for tuples
  std::vector<std::string> names_;
};

/// The canonical type string used in signatures: "uint256", "(address,uint256)[]", "bytes32[3][]".
/// Tuples are written with parentheses only, never "tuple(...)".
std::string canonical(const AbiType& type);
/// "name(type1,type2,...)", the preimage of a function selector.
std::string canonical_signature(std::string_view name, std::span<const AbiType> inputs);

/// Parses a canonical type string: exactly what canonical() writes, plus the "tuple(...)" spelling of
/// a tuple. No spaces, no names, no aliases ("uint" and "int" are not canonical in signatures), no
/// leading zeros in sizes or lengths. Fails with kInvalidAbiType (offset = index of the offending
/// character), kTooDeep, or kOverflow (a fixed array whose size passes kMaxAbiStaticSize).
Decoded<AbiType> parse_abi_type(std::string_view text);

struct AbiSignature {
  std::string name;
  std::vector<AbiType> inputs;
};
/// Parses a canonical function signature "name(type1,...)" (name: [A-Za-z_$][A-Za-z0-9_$]*). Same
/// errors as parse_abi_type.
Decoded<AbiSignature> parse_abi_signature(std::string_view text);

/// Builds a type from one ABI JSON parameter object as solc and ethers emit it:
/// {"name": "...", "type": "tuple[2][]", "components": [...]} ("internalType", "indexed" and other
/// members are ignored). Accepts the aliases "uint" (uint256) and "int" (int256), which ABI JSON
/// may contain. Tuples must be spelled "tuple" + array suffixes with "components"; "components" on a
/// non-tuple type is an error. Component names become the tuple's names().
/// Fails with kInvalidJson (wrong shape) or kInvalidAbiType / kTooDeep / kOverflow, with `where` the
/// JSON path of the offending member, e.g. "$[3].inputs[1].type" when `path` is "$[3].inputs[1]".
Decoded<AbiType> abi_type_from_json(const nlohmann::json& param, std::string_view path = "$");

/// A signed integer (intN): its 256-bit two's complement (sign-extended) and its sign.
class AbiSigned {
 public:
  AbiSigned() = default;
  /// From a 256-bit two's complement word; negative iff bit 255 is set.
  static AbiSigned from_twos_complement(const U256& twos);
  /// -magnitude when `negative` (magnitude <= 2^255), else magnitude (< 2^255). Throws
  /// std::overflow_error when the value does not fit int256.
  static AbiSigned from_magnitude(const U256& magnitude, bool negative);
  static AbiSigned from_int64(std::int64_t value);

  const U256& twos_complement() const noexcept { return twos_; }
  bool negative() const noexcept { return negative_; }
  /// |value| (2^255 for the most negative int256).
  U256 magnitude() const;

  bool operator==(const AbiSigned&) const = default;

 private:
  U256 twos_{0};
  bool negative_ = false;
};

/// A decoded (or to-be-encoded) value. The type says how to read it: U256 for uintN, AbiSigned for
/// intN, Address, bool, Bytes for both bytesN and bytes, std::string for string (valid UTF-8), and
/// List for arrays and tuples (elements or components in order).
class AbiValue {
 public:
  using List = std::vector<AbiValue>;
  using Storage = std::variant<U256, AbiSigned, Address, bool, Bytes, std::string, List>;

  static AbiValue uint(U256 value) { return AbiValue(Storage(std::in_place_type<U256>, std::move(value))); }
  static AbiValue sint(AbiSigned value) { return AbiValue(Storage(std::in_place_type<AbiSigned>, value)); }
  static AbiValue address(const Address& value) { return AbiValue(Storage(std::in_place_type<Address>, value)); }
  static AbiValue boolean(bool value) { return AbiValue(Storage(std::in_place_type<bool>, value)); }
  static AbiValue bytes(Bytes value) { return AbiValue(Storage(std::in_place_type<Bytes>, std::move(value))); }
  static AbiValue string(std::string value) {
    return AbiValue(Storage(std::in_place_type<std::string>, std::move(value)));
  }
  static AbiValue list(List values) { return AbiValue(Storage(std::in_place_type<List>, std::move(values))); }

  const Storage& storage() const noexcept { return storage_; }
  /// The alternative T, or nullptr when the value holds another one.
  template <class T>
  const T* get_if() const noexcept { return std::get_if<T>(&storage_); }

  bool operator==(const AbiValue&) const = default;

 private:
  explicit AbiValue(Storage storage) : storage_(std::move(storage)) {}
  Storage storage_;
};

struct AbiDecoded {
  std::vector<AbiValue> values;  // one per type
  std::size_t consumed = 0;      // bytes of `data` taken by the head and all tails
  ByteView trailing;             // data[consumed:]: views the caller's buffer, empty when none
};

/// Decodes `data` as the ABI encoding of the tuple `types` (function arguments without the selector,
/// or return data). Strict:
///   - kInputTooShort: the data ends inside a word, a length or array count exceeds what remains
///     (checked before any multiplication or allocation, so a count of 2^255 fails at once);
///   - kOffsetOutOfRange: an offset pointing past the end of the data or back into its own head;
///   - kNonCanonicalOffset: an offset in range but not where the standard encoder puts the tail;
///   - kDirtyPadding: non-zero high bytes in address / uintN<256 / bool words, an intN word that is
///     not the sign extension of its low N bits, non-zero bytes after a bytesN value or after the
///     contents of bytes / string;
///   - kInvalidBool: a bool word whose last byte is neither 0 nor 1;
///   - kInvalidField: a string that is not valid UTF-8 (wallets would each render it differently);
///   - kTooDeep: a type deeper than kMaxAbiDepth.
/// DecodeError::offset is the byte offset in `data` of the word (or byte) at fault. Never throws on
/// any input; work and memory are linear in data.size().
Decoded<AbiDecoded> abi_decode(std::span<const AbiType> types, ByteView data);

/// True when `value` has the shape `type` describes and fits it: uintN < 2^N, intN within
/// [-2^(N-1), 2^(N-1)), bytesN of exactly N bytes, strings valid UTF-8, T[k] with k elements,
/// tuples with one value per component.
bool abi_value_matches(const AbiType& type, const AbiValue& value);

/// The standard (strict-mode) encoding of `values` as the tuple `types`. Throws std::invalid_argument
/// when the counts differ or a value does not match its type (abi_value_matches): building a value
/// of the wrong shape is a programming error, not bad input.
Bytes abi_encode(std::span<const AbiType> types, std::span<const AbiValue> values);

/// The JSON form of a value, stable (a differential test against viem compares it):
///   uintN, intN      decimal string, "-" for negatives: "0", "123", "-5"
///   address          EIP-55 checksummed string
///   bool             JSON true / false
///   bytesN, bytes    "0x" + lower-case hex ("0x" when empty)
///   string           JSON string
///   T[], T[k]        JSON array
///   tuple            JSON object keyed by component name when every component has a non-empty,
///                    unique name; otherwise a JSON array
/// Throws std::invalid_argument when `value` does not match `type` (abi_value_matches).
nlohmann::json to_json(const AbiType& type, const AbiValue& value);

}  // namespace txguard::codec

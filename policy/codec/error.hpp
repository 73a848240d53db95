// Errors of the decoding core.
//
// Every decoder in policy/codec returns Decoded<T>: either the value or a DecodeError that says what
// is wrong (a stable kebab-case code) and where (a byte offset into the input, or a JSON path).
// Decoders never throw on bad input and never return a partially filled value.
#pragma once

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

namespace txguard::codec {

enum class DecodeErrc {
  // Text encodings.
  kInvalidHex,            // a character that is not a hex digit, or a missing 0x where required
  kOddLength,             // hex with an odd number of digits
  kBadChecksum,           // mixed-case address whose EIP-55 checksum does not match
  kInvalidNumber,         // not a decimal or 0x-hex unsigned integer
  kOverflow,              // a number or length that does not fit its type
  kWrongLength,           // a fixed-size value (address, hash) of the wrong size
  // Binary framing (RLP, ABI, packed formats).
  kInputTooShort,         // the input ends before the item it announces
  kTrailingBytes,         // bytes left after a complete item
  kLeadingZero,           // an integer encoded with leading zero bytes (non-canonical)
  kNonCanonicalSize,      // a length encoded in a longer form than needed
  kNonCanonicalSingleByte,// a single byte < 0x80 wrapped in a string header
  kUnexpectedList,        // a list where a string was expected
  kUnexpectedString,      // a string where a list was expected
  kWrongFieldCount,       // a list with the wrong number of fields
  kOffsetOutOfRange,      // an ABI offset pointing outside the data or backwards into the head
  kNonCanonicalOffset,    // an ABI offset in range but not where the standard encoder puts the tail
  kDirtyPadding,          // non-zero bytes in padding (ABI words, bool, address, uintN<256)
  kInvalidBool,           // an ABI bool word that is neither 0 nor 1
  kTooDeep,               // nesting beyond the decoder's bound
  // Transactions and signatures.
  kUnsupportedTxnType,    // a typed transaction with an unknown type byte
  kInvalidSignature,      // r or s out of [1, n-1], or no public key recovers
  kHighS,                 // s > n/2 (EIP-2)
  kInvalidV,              // a v / y_parity value outside the allowed set
  kMissingField,          // a required field absent
  kInvalidField,          // a field present with a value outside its domain
  // ABI types and typed data.
  kInvalidAbiType,        // an ABI type string that does not parse
  kUnknownType,           // a typed-data type that is referenced but not defined
  kInvalidJson,           // JSON that does not parse, or has the wrong shape
  kUnknownSafeVersion,    // a Safe version txguard does not know how to hash
};

/// The stable kebab-case name of an error code, e.g. "leading-zero". Never empty.
std::string_view to_string(DecodeErrc code) noexcept;

struct DecodeError {
  DecodeErrc code;
  /// Byte offset into the outermost input where the problem was found (binary inputs).
  std::size_t offset = 0;
  /// JSON path or field name where the problem was found (JSON inputs), e.g. "$.message.to".
  std::string where;
  /// Optional human detail; never contains secret material.
  std::string detail;

  /// One line: "<code> at byte <offset>" or "<code> at <where>", then ": <detail>" when present.
  std::string message() const;
};

template <class T>
using Decoded = std::expected<T, DecodeError>;

/// Shorthand for returning an error from a function that returns Decoded<T>.
inline std::unexpected<DecodeError> fail(DecodeErrc code, std::size_t offset = 0,
                                         std::string where = {}, std::string detail = {}) {
  return std::unexpected(DecodeError{code, offset, std::move(where), std::move(detail)});
}

}  // namespace txguard::codec

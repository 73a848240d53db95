#include "policy/codec/error.hpp"

namespace txguard::codec {

std::string_view to_string(DecodeErrc code) noexcept {
  switch (code) {
    case DecodeErrc::kInvalidHex: return "invalid-hex";
    case DecodeErrc::kOddLength: return "odd-length";
    case DecodeErrc::kBadChecksum: return "bad-checksum";
    case DecodeErrc::kInvalidNumber: return "invalid-number";
    case DecodeErrc::kOverflow: return "overflow";
    case DecodeErrc::kWrongLength: return "wrong-length";
    case DecodeErrc::kInputTooShort: return "input-too-short";
    case DecodeErrc::kTrailingBytes: return "trailing-bytes";
    case DecodeErrc::kLeadingZero: return "leading-zero";
    case DecodeErrc::kNonCanonicalSize: return "non-canonical-size";
    case DecodeErrc::kNonCanonicalSingleByte: return "non-canonical-single-byte";
    case DecodeErrc::kUnexpectedList: return "unexpected-list";
    case DecodeErrc::kUnexpectedString: return "unexpected-string";
    case DecodeErrc::kWrongFieldCount: return "wrong-field-count";
    case DecodeErrc::kOffsetOutOfRange: return "offset-out-of-range";
    case DecodeErrc::kNonCanonicalOffset: return "non-canonical-offset";
    case DecodeErrc::kDirtyPadding: return "dirty-padding";
    case DecodeErrc::kInvalidBool: return "invalid-bool";
    case DecodeErrc::kTooDeep: return "too-deep";
    case DecodeErrc::kUnsupportedTxnType: return "unsupported-transaction-type";
    case DecodeErrc::kInvalidSignature: return "invalid-signature";
    case DecodeErrc::kHighS: return "high-s";
    case DecodeErrc::kInvalidV: return "invalid-v";
    case DecodeErrc::kMissingField: return "missing-field";
    case DecodeErrc::kInvalidField: return "invalid-field";
    case DecodeErrc::kInvalidAbiType: return "invalid-abi-type";
    case DecodeErrc::kUnknownType: return "unknown-type";
    case DecodeErrc::kInvalidJson: return "invalid-json";
    case DecodeErrc::kUnknownSafeVersion: return "unknown-safe-version";
  }
  return "unknown-error";
}

std::string DecodeError::message() const {
  std::string out(to_string(code));
  if (!where.empty()) {
    out += " at ";
    out += where;
  } else {
    out += " at byte ";
    out += std::to_string(offset);
  }
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

}  // namespace txguard::codec

#include "signers/signer.hpp"

namespace txguard::signers {

std::string_view to_string(SignerErrc code) noexcept {
  switch (code) {
    case SignerErrc::kUnavailable: return "unavailable";
    case SignerErrc::kRejected: return "rejected";
    case SignerErrc::kInternal: return "internal";
  }
  return "unknown-error";
}

std::string SignerError::message() const {
  std::string out(to_string(code));
  if (!detail.empty()) out += ": " + detail;
  return out;
}

}  // namespace txguard::signers

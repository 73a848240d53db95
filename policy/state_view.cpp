// Scope keys and the recording/replaying views (see state_view.hpp for the contracts).
#include "policy/state_view.hpp"

#include <array>
#include <cctype>

namespace txguard::policy {

std::string_view to_string(StateErrc code) noexcept {
  switch (code) {
    case StateErrc::kUnavailable: return "unavailable";
    case StateErrc::kIo: return "io";
    case StateErrc::kCorrupt: return "corrupt";
    case StateErrc::kForeign: return "foreign";
    case StateErrc::kInvalidLimit: return "invalid-limit";
    case StateErrc::kNotFound: return "not-found";
    case StateErrc::kDuplicate: return "duplicate";
    case StateErrc::kMissingInput: return "missing-input";
  }
  return "unknown";
}

std::string StateError::message() const {
  std::string out(to_string(code));
  out += ": ";
  out += detail;
  return out;
}

namespace {

constexpr std::array<char, 16> kHexUpper = {'0', '1', '2', '3', '4', '5', '6', '7',
                                            '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'};

bool is_plain(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

// Percent-encoding makes the component alphabet disjoint from the separators ';' and '=', so the
// key is injective over ScopeParts: no text can pose as another component.
void append_text(std::string& out, std::string_view name, std::string_view text, bool lower) {
  if (!out.empty()) out += ';';
  out += name;
  out += '=';
  for (const char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (lower && c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    if (is_plain(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHexUpper[c >> 4];
      out += kHexUpper[c & 0x0f];
    }
  }
}

void append_address(std::string& out, std::string_view name, const codec::Address& address) {
  if (!out.empty()) out += ';';
  out += name;
  out += '=';
  out += codec::to_hex(address.view());
}

}  // namespace

ScopeKey ScopeKey::make(const ScopeParts& parts) {
  std::string out;
  if (parts.wallet) append_address(out, "wallet", *parts.wallet);
  if (parts.asset) append_text(out, "asset", *parts.asset, true);
  if (parts.destination) append_address(out, "dest", *parts.destination);
  if (parts.rule) append_text(out, "rule", *parts.rule, false);
  if (parts.requester) append_text(out, "requester", *parts.requester, false);
  if (out.empty()) out = "*";
  return ScopeKey{std::move(out)};
}

StateResult<U256> RecordingStateView::window_sum(const LedgerKey& key, TimeMs after_ms) const {
  auto sum = inner_.window_sum(key, after_ms);
  if (sum) inputs_.reads.emplace_back(WindowRead{key, after_ms, *sum});
  return sum;
}

StateResult<std::optional<BucketState>> RecordingStateView::bucket(const LedgerKey& key) const {
  auto state = inner_.bucket(key);
  if (state) inputs_.reads.emplace_back(BucketRead{key, *state});
  return state;
}

StateResult<U256> ReplayStateView::window_sum(const LedgerKey& key, TimeMs after_ms) const {
  for (const StateRead& read : inputs_.reads) {
    if (const auto* w = std::get_if<WindowRead>(&read); w && w->key == key && w->after_ms == after_ms) {
      return w->sum;
    }
  }
  return std::unexpected(StateError{StateErrc::kMissingInput,
                                    "no recorded window sum for " + key.limit_id + " @ " + key.scope.text});
}

StateResult<std::optional<BucketState>> ReplayStateView::bucket(const LedgerKey& key) const {
  for (const StateRead& read : inputs_.reads) {
    if (const auto* b = std::get_if<BucketRead>(&read); b && b->key == key) return b->state;
  }
  return std::unexpected(StateError{StateErrc::kMissingInput,
                                    "no recorded bucket for " + key.limit_id + " @ " + key.scope.text});
}

}  // namespace txguard::policy

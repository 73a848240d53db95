// Exact quantities in policy documents and price tables: decimal numbers, durations, timestamps.
//
// A policy never uses floating point. Amounts and prices are written as decimal strings ("1500.25")
// and kept as an integer with a scale (150025 with scale 2), so converting between token units,
// whole units and micro-dollars is exact integer arithmetic.
//
// Pure; every function is thread-safe and total (errors are returned, never thrown).
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "policy/codec/u256.hpp"
#include "policy/state_view.hpp"

namespace txguard::policy {

/// digits / 10^scale. Non-negative.
struct Decimal {
  U256 digits;
  unsigned scale = 0;
  bool operator==(const Decimal&) const = default;
};

/// Parses "123", "0.5", "1500.25". Refuses a sign, an exponent, a leading or trailing '.', white
/// space, more than 77 digits, and more than 36 digits after the point. The error says what is wrong.
std::expected<Decimal, std::string> parse_decimal(std::string_view text);

/// The decimal as an integer count of 10^-scale units: parse("1.5") at scale 6 is 1500000. Fails when
/// the decimal has more fractional digits than `scale` (it would be rounded) or does not fit 256 bits.
std::expected<U256, std::string> to_scaled(const Decimal& value, unsigned scale);

/// "1.5", "0.000001": the shortest exact text of `value` / 10^scale.
std::string format_scaled(const U256& value, unsigned scale);

/// Parses a duration: one or more <integer><unit> groups, unit one of ms, s, m, h, d ("15m", "1h30m",
/// "500ms"). Refuses negative, empty, unit-less and overflowing durations.
std::expected<TimeMs, std::string> parse_duration(std::string_view text);

/// Parses a time: unix milliseconds as a decimal integer, or RFC 3339 in UTC with a 'Z' suffix and
/// optional fractional seconds (at most millisecond precision): "2026-11-22T10:00:00Z",
/// "2026-11-22T10:00:00.250Z". Offsets other than Z are refused (a policy is read by auditors in one
/// time zone: UTC).
std::expected<TimeMs, std::string> parse_time(std::string_view text);

/// RFC 3339 UTC with milliseconds: "2026-11-22T10:00:00.000Z".
std::string format_time(TimeMs at_ms);

}  // namespace txguard::policy

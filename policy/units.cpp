#include "policy/units.hpp"

#include <array>
#include <limits>
#include <stdexcept>

namespace txguard::policy {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

U256 pow10(unsigned n) {
  U256 out = 1;
  for (unsigned i = 0; i < n; ++i) out *= 10;
  return out;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

Civil civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2 ? 1 : 0), m, d};
}

bool leap(std::int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
  static constexpr std::array<unsigned, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at text[pos...].
std::optional<unsigned> fixed_digits(std::string_view text, std::size_t pos, std::size_t n) {
  if (pos + n > text.size()) return std::nullopt;
  unsigned v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(text[i])) return std::nullopt;
    v = v * 10 + static_cast<unsigned>(text[i] - '0');
  }
  return v;
}

}  // namespace

std::expected<Decimal, std::string> parse_decimal(std::string_view text) {
  if (text.empty()) return std::unexpected("empty number");
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty()) return std::unexpected("'" + std::string(text) + "' needs a digit before the '.'");
  if (dot != std::string_view::npos && frac.empty())
    return std::unexpected("'" + std::string(text) + "' needs a digit after the '.'");
  for (std::string_view part : {whole, frac}) {
    for (char c : part) {
      if (!is_digit(c)) {
        return std::unexpected("'" + std::string(text) +
                               "' is not a plain decimal number (digits and at most one '.'; no sign, exponent or spaces)");
      }
    }
  }
  if (frac.size() > 36) return std::unexpected("'" + std::string(text) + "' has more than 36 digits after the '.'");
  if (whole.size() + frac.size() > 77) return std::unexpected("'" + std::string(text) + "' is too large");
  Decimal out;
  out.scale = static_cast<unsigned>(frac.size());
  try {
    for (std::string_view part : {whole, frac}) {
      for (char c : part) out.digits = out.digits * 10 + static_cast<unsigned>(c - '0');
    }
  } catch (const std::overflow_error&) {
    return std::unexpected("'" + std::string(text) + "' is too large");
  }
  return out;
}

std::expected<U256, std::string> to_scaled(const Decimal& value, unsigned scale) {
  if (value.scale > scale) {
    // Trailing zeros beyond the scale are exact: "1.500000" at scale 3 is fine.
    U256 d = value.digits;
    unsigned s = value.scale;
    while (s > scale && d % 10 == 0) {
      d /= 10;
      --s;
    }
    if (s > scale) return std::unexpected("has more than " + std::to_string(scale) + " digits after the '.'");
    return d;
  }
  try {
    return value.digits * pow10(scale - value.scale);
  } catch (const std::overflow_error&) {
    return std::unexpected("is too large");
  }
}

std::string format_scaled(const U256& value, unsigned scale) {
  std::string digits = codec::to_decimal(value);
  if (scale == 0) return digits;
  if (digits.size() <= scale) digits.insert(0, scale - digits.size() + 1, '0');
  std::string out = digits.substr(0, digits.size() - scale);
  std::string frac = digits.substr(digits.size() - scale);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  if (!frac.empty()) out += "." + frac;
  return out;
}

std::expected<TimeMs, std::string> parse_duration(std::string_view text) {
  if (text.empty()) return std::unexpected("empty duration");
  const auto bad = [&](std::string_view why) {
    return std::unexpected("'" + std::string(text) + "' " + std::string(why) +
                           " (write groups of <integer><unit>, unit ms, s, m, h or d: \"15m\", \"1h30m\")");
  };
  constexpr TimeMs kMax = std::numeric_limits<TimeMs>::max();
  TimeMs total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!is_digit(text[i])) return bad("is not a duration");
    TimeMs n = 0;
    while (i < text.size() && is_digit(text[i])) {
      const auto digit = static_cast<TimeMs>(text[i] - '0');
      if (n > (kMax - digit) / 10) return bad("is too long");
      n = n * 10 + digit;
      ++i;
    }
    std::string_view unit;
    const std::size_t start = i;
    while (i < text.size() && !is_digit(text[i])) ++i;
    unit = text.substr(start, i - start);
    TimeMs ms_per = 0;
    if (unit == "ms") ms_per = 1;
    else if (unit == "s") ms_per = 1000;
    else if (unit == "m") ms_per = 60'000;
    else if (unit == "h") ms_per = 3'600'000;
    else if (unit == "d") ms_per = 86'400'000;
    else return bad(unit.empty() ? "has a number without a unit" : "has an unknown unit");
    if (n > (kMax - total) / ms_per) return bad("is too long");
    total += n * ms_per;
  }
  return total;
}

std::expected<TimeMs, std::string> parse_time(std::string_view text) {
  if (!text.empty() && is_digit(text[0]) && text.find('-') == std::string_view::npos) {
    auto n = codec::parse_u256(text);
    if (!n || text.starts_with("0x")) return std::unexpected("'" + std::string(text) + "' is not unix milliseconds");
    auto v = codec::to_u64(*n);
    if (!v || *v > static_cast<std::uint64_t>(std::numeric_limits<TimeMs>::max()))
      return std::unexpected("'" + std::string(text) + "' is too large");
    return static_cast<TimeMs>(*v);
  }
  const auto bad = [&](std::string_view why) {
    return std::unexpected("'" + std::string(text) + "' " + std::string(why) +
                           " (write unix milliseconds or RFC 3339 UTC: \"2026-11-22T10:00:00Z\")");
  };
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  if (text.size() < 20) return bad("is not a time");
  auto y = fixed_digits(text, 0, 4), mo = fixed_digits(text, 5, 2), d = fixed_digits(text, 8, 2);
  auto h = fixed_digits(text, 11, 2), mi = fixed_digits(text, 14, 2), s = fixed_digits(text, 17, 2);
  if (!y || !mo || !d || !h || !mi || !s || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') ||
      text[13] != ':' || text[16] != ':')
    return bad("is not a time");
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > days_in_month(*y, *mo) || *h > 23 || *mi > 59 || *s > 59)
    return bad("is not a valid date and time");
  std::size_t pos = 19;
  unsigned ms = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      if (n < 3) ms = ms * 10 + static_cast<unsigned>(text[pos] - '0');
      else if (text[pos] != '0') return bad("is more precise than a millisecond");
      ++n;
      ++pos;
    }
    if (n == 0) return bad("has an empty fraction");
    for (std::size_t k = n; k < 3; ++k) ms *= 10;
  }
  if (pos + 1 != text.size() || (text[pos] != 'Z' && text[pos] != 'z')) return bad("is not in UTC ('Z')");
  const std::int64_t days = days_from_civil(*y, *mo, *d);
  return ((days * 24 + *h) * 60 + *mi) * 60'000 + static_cast<std::int64_t>(*s) * 1000 + ms;
}

std::string format_time(TimeMs at_ms) {
  std::int64_t days = at_ms / 86'400'000;
  std::int64_t rem = at_ms % 86'400'000;
  if (rem < 0) {
    rem += 86'400'000;
    --days;
  }
  const Civil c = civil_from_days(days);
  const auto pad = [](std::int64_t v, std::size_t width) {
    std::string digits = std::to_string(v < 0 ? -v : v);
    if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
    return v < 0 ? "-" + digits : digits;
  };
  return pad(c.year, 4) + "-" + pad(c.month, 2) + "-" + pad(c.day, 2) + "T" + pad(rem / 3'600'000, 2) + ":" +
         pad(rem / 60'000 % 60, 2) + ":" + pad(rem / 1000 % 60, 2) + "." + pad(rem % 1000, 3) + "Z";
}

}  // namespace txguard::policy

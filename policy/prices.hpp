// USD prices: the price table a policy's USD conditions and limits are evaluated with.
//
// A prices file is JSON written by whatever feed the operator trusts, refreshed while txguard runs:
//   {"prices": {"ETH":  {"usd": "3012.55", "at": "2026-11-22T10:00:00Z"},
//               "USDC": {"usd": "1.0001",  "at": 1795341600000}}}
// Keys are the policy's asset names; "usd" is the price of one whole unit as a decimal string; "at"
// is when the price was observed (RFC 3339 UTC or unix milliseconds). The policy says how old a price
// may be (prices.max_age); an older or absent price never lets a USD condition or limit pass, and
// neither does a price dated more than kMaxPriceClockSkewMs after the decision's time (it would never
// go stale).
//
// Every decision records the hash of the table it used, and the prices it read, so a replay uses
// the same prices.
//
// Pure; thread-safe for concurrent reads.
#pragma once

#include <expected>
#include <map>
#include <string>
#include <string_view>

#include "policy/codec/bytes.hpp"
#include "policy/units.hpp"

namespace txguard::policy {

/// How far a price's "at" may be ahead of the decision's time (the feed's clock and the guard's may
/// differ a little); further ahead, the price counts as missing.
inline constexpr TimeMs kMaxPriceClockSkewMs = 60'000;

struct Price {
  Decimal usd;        // per whole unit
  TimeMs at_ms = 0;   // when observed
  bool operator==(const Price&) const = default;
};

struct PriceTable {
  std::map<std::string, Price, std::less<>> prices;
  /// keccak256 of the canonical JSON of the file (keys sorted, no white space); zero for the empty
  /// table (no prices file).
  codec::Hash32 hash{};
};

/// Parses a prices file. Refuses unknown fields, duplicate keys, numbers that are not decimal strings
/// and times that are not UTC. The error names the JSON path: "$.prices.ETH.usd: ...".
std::expected<PriceTable, std::string> parse_price_table(std::string_view text);

/// The USD value of `amount` base units of an asset with `decimals` decimals at `price` per whole
/// unit, in micro-dollars, rounded UP (a rounding can only make a limit stricter), saturating at
/// 2^256-1.
U256 usd_micro(const U256& amount, unsigned decimals, const Decimal& price);

}  // namespace txguard::policy

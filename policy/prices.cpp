#include "policy/prices.hpp"

#include "policy/codec/json_value.hpp"
#include "policy/codec/keccak.hpp"

namespace txguard::policy {

using BigInt = boost::multiprecision::cpp_int;

std::expected<PriceTable, std::string> parse_price_table(std::string_view text) {
  auto json = codec::parse_json_strict(text, 8);
  if (!json) return std::unexpected(json.error().message());
  if (!json->is_object()) return std::unexpected("$: expected an object {\"prices\": {...}}");
  for (const auto& [key, value] : json->items()) {
    (void)value;
    if (key != "prices") return std::unexpected("$." + key + ": unknown field (the file has one field, \"prices\")");
  }
  if (!json->contains("prices") || !(*json)["prices"].is_object())
    return std::unexpected("$.prices: expected an object of asset name -> {\"usd\", \"at\"}");
  PriceTable table;
  for (const auto& [name, entry] : (*json)["prices"].items()) {
    const std::string path = "$.prices." + name;
    if (!entry.is_object()) return std::unexpected(path + ": expected {\"usd\": \"<decimal>\", \"at\": <time>}");
    Price price;
    bool have_usd = false, have_at = false;
    for (const auto& [field, v] : entry.items()) {
      if (field == "usd") {
        if (!v.is_string()) return std::unexpected(path + ".usd: expected a decimal string such as \"3012.55\"");
        auto d = parse_decimal(v.get_ref<const std::string&>());
        if (!d) return std::unexpected(path + ".usd: " + d.error());
        price.usd = *d;
        have_usd = true;
      } else if (field == "at") {
        std::expected<TimeMs, std::string> at = std::unexpected(std::string("expected a time"));
        if (v.is_string()) at = parse_time(v.get_ref<const std::string&>());
        else if (v.is_number_unsigned()) at = parse_time(std::to_string(v.get<std::uint64_t>()));
        else return std::unexpected(path + ".at: expected RFC 3339 UTC text or unix milliseconds");
        if (!at) return std::unexpected(path + ".at: " + at.error());
        price.at_ms = *at;
        have_at = true;
      } else {
        return std::unexpected(path + "." + field + ": unknown field (expected usd and at)");
      }
    }
    if (!have_usd) return std::unexpected(path + ".usd: missing");
    if (!have_at) return std::unexpected(path + ".at: missing (a price without a time cannot be checked for age)");
    table.prices.emplace(name, price);
  }
  table.hash = codec::keccak256(codec::view(json->dump()));
  return table;
}

U256 usd_micro(const U256& amount, unsigned decimals, const Decimal& price) {
  BigInt numerator = BigInt(amount) * BigInt(price.digits);
  BigInt scale = 1;
  // micro-dollars: * 10^6, / 10^decimals, / 10^price.scale
  const long exponent = static_cast<long>(decimals) + static_cast<long>(price.scale) - 6;
  if (exponent < 0) {
    for (long i = 0; i < -exponent; ++i) numerator *= 10;
  } else {
    for (long i = 0; i < exponent; ++i) scale *= 10;
  }
  BigInt quotient = numerator / scale;
  if (quotient * scale != numerator) ++quotient;
  const BigInt max = (BigInt(1) << 256) - 1;
  if (quotient > max) return U256(max);
  return U256(quotient);
}

}  // namespace txguard::policy

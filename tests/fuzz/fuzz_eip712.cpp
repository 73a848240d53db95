// Fuzz target for EIP-712: arbitrary bytes as eth_signTypedData_v4 JSON, through both overloads of
// parse_typed_data. Nothing may throw or crash, and an accepted request must hash the same way every
// time and by every route: from the JSON value, from the text, from its re-serialisation, and from
// its parts (encode_data, type_hash, eip712_digest).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "policy/codec/eip712.hpp"
#include "policy/codec/keccak.hpp"

using namespace txguard::codec;

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  const auto from_text = parse_typed_data(text);
  if (value.is_discarded()) {
    require(!from_text.has_value());  // the text overload never accepts what does not parse
    return 0;
  }
  const auto typed = parse_typed_data(value);
  // The text overload is the value overload plus checks on the text (duplicate keys, depth): it may
  // reject more, never accept more, and never hash differently.
  if (from_text) require(typed.has_value() && from_text->digest == typed->digest);
  if (!typed) return 0;
  if (!from_text) {
    require((from_text.error().code == DecodeErrc::kInvalidJson && !from_text.error().where.empty()) ||
            from_text.error().code == DecodeErrc::kTooDeep);
  }

  // Determinism.
  const auto again = parse_typed_data(value);
  require(again.has_value() && again->digest == typed->digest && again->domain_separator == typed->domain_separator);

  // The digest is made of its parts.
  require(typed->digest == eip712_digest(typed->domain_separator, typed->message_hash));
  require(typed->message_hash.has_value() == (typed->primary_type != "EIP712Domain"));
  const auto domain = hash_struct(typed->types, "EIP712Domain", typed->domain, "$.domain");
  require(domain.has_value() && *domain == typed->domain_separator);
  if (typed->message_hash) {
    const auto encoded = encode_data(typed->types, typed->primary_type, typed->message, "$.message");
    require(encoded.has_value() && encoded->size() % 32 == 0 && encoded->size() >= 32);
    require(keccak256(*encoded) == *typed->message_hash);
    const auto th = type_hash(typed->types, typed->primary_type);
    require(th.has_value() && std::equal(th->begin(), th->end(), encoded->begin()));
  }
  for (std::string_view name : typed->types.names()) {
    const auto encoded_type = encode_type(typed->types, name);
    const auto th = type_hash(typed->types, name);
    require(encoded_type.has_value() && th.has_value() && keccak256(view(*encoded_type)) == *th);
    require(encoded_type->starts_with(std::string(name) + "("));
  }

  // Re-serialised (an accepted request is shallow and valid UTF-8, so dump cannot fail), it gives the
  // same digest through the text overload.
  const std::string canonical = value.dump();
  const auto round_trip = parse_typed_data(std::string_view(canonical));
  require(round_trip.has_value() && round_trip->digest == typed->digest);
  return 0;
}

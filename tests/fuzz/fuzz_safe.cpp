// Fuzz target for the Safe decoders: MultiSend batches, packed owner signatures, and Safe
// Transaction Service JSON requests. The first byte picks the decoder.
#include <cstdint>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "policy/codec/keccak.hpp"
#include "policy/codec/safe.hpp"

using namespace txguard::codec;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ByteView input(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto batch = parse_multisend(input);
      // A batch that parses is exactly its own packed encoding: nothing hidden, nothing dropped.
      if (batch && encode_multisend(*batch) != Bytes(input.begin(), input.end())) std::abort();
      break;
    }
    case 1: {
      const Hash32 hash = keccak256(input);
      auto sigs = parse_safe_signatures(input, hash);
      if (sigs) {
        for (const auto& s : sigs->items) {
          if (!s.owner) std::abort();  // with the hash given, every item has an owner
        }
      }
      break;
    }
    default: {
      auto json = nlohmann::json::parse(input.begin(), input.end(), nullptr, false);
      if (json.is_discarded()) break;
      auto request = parse_safe_tx_request(json);
      if (request && safe_tx_hash(request->tx, request->domain) != safe_tx_hash(request->tx, request->domain)) std::abort();
      break;
    }
  }
  return 0;
}

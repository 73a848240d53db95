// Fuzz target for the Wormhole VAA decoder and the payload decoders. Invariants: a decoded VAA
// re-encodes to exactly the input (one encoding per value, nothing hidden) and its digest is the
// double Keccak of its body; a decoded transfer or guardian set upgrade re-encodes to its payload; a
// rejected input reports an offset inside it.
#include <cstdint>
#include <cstdlib>

#include "policy/codec/vaa.hpp"

using namespace txguard::codec;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView input(data, size);
  auto vaa = decode_vaa(input);
  if (!vaa) {
    if (vaa.error().offset > size) std::abort();
  } else {
    if (encode_vaa(*vaa) != Bytes(input.begin(), input.end())) std::abort();
    if (vaa_body_digest(vaa->body) != vaa->digest) std::abort();
    if (encode_vaa_body(vaa->body) != vaa->body_bytes) std::abort();
    (void)decoded_payload_json(vaa->body).dump();
  }
  // The payload decoders see the raw input too, so they are fuzzed on their own.
  if (auto t = decode_token_transfer(input)) {
    if (encode_token_transfer(*t) != Bytes(input.begin(), input.end())) std::abort();
  } else if (t.error().offset > size) {
    std::abort();
  }
  if (auto up = decode_guardian_set_upgrade(input)) {
    if (up->keys.empty()) std::abort();
    if (encode_guardian_set_upgrade(*up) != Bytes(input.begin(), input.end())) std::abort();
  } else if (up.error().offset > size) {
    std::abort();
  }
  return 0;
}

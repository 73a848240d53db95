// Fuzz target for the strict ABI decoder, the encoder and the type parser.
//
// Input: one mode byte, then the payload.
//   mode < 0xf0   the payload is decoded as the type list kTypeLists[mode % size]. When it decodes,
//                 re-encoding the values must give back exactly the bytes the decoder consumed (so
//                 the whole input when nothing trails): two different inputs never decode to the
//                 same values. Every value must match its type and render as JSON.
//   mode >= 0xf0  the payload is a type string (0xf0..0xf7) or a function signature (0xf8..0xff).
//                 When it parses, its canonical form must parse to the same type and be a fixed point.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "policy/codec/abi.hpp"

using namespace txguard::codec;

namespace {

const std::vector<std::vector<AbiType>>& type_lists() {
  static const std::vector<std::vector<AbiType>> lists = [] {
    const char* const signatures[] = {
        "sam(bytes,bool,uint256[])",                                       // the ABI spec's examples
        "f(uint256,uint32[],bytes10,bytes)",
        "g(uint256[][],string[])",
        "baz(uint32,bool)",
        "bar(bytes3[2])",
        "transfer(address,uint256)",
        "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)",
        "multiSend(bytes)",
        "permit(address,((address,uint160,uint48,uint48),address,uint256),bytes)",
        "permit(address,((address,uint160,uint48,uint48)[],address,uint256),bytes)",
        "f(int8,int256,uint8,bytes1,bytes32,address,bool)",
        "f((bytes,(string[],int8)[])[2][])",
        "f(string)",
        "f()",
        "permitWitnessTransferFrom(((address,uint256)[],uint256,uint256),(address,uint256)[],address,bytes32,string,bytes)",
        "safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)",
    };
    std::vector<std::vector<AbiType>> out;
    for (const char* s : signatures) {
      auto sig = parse_abi_signature(s);
      if (!sig) std::abort();
      out.push_back(std::move(sig->inputs));
    }
    return out;
  }();
  return lists;
}

void check_type_text(std::string_view text, bool signature) {
  if (signature) {
    auto sig = parse_abi_signature(text);
    if (!sig) return;
    const std::string canonical_text = canonical_signature(sig->name, sig->inputs);
    auto again = parse_abi_signature(canonical_text);
    if (!again || again->inputs != sig->inputs || again->name != sig->name) std::abort();
    return;
  }
  auto type = parse_abi_type(text);
  if (!type) return;
  const std::string canonical_text = canonical(*type);
  auto again = parse_abi_type(canonical_text);
  if (!again || *again != *type || canonical(*again) != canonical_text) std::abort();
  // Without the "tuple(" spelling, the canonical form is the only accepted one.
  if (text.find("tuple") == std::string_view::npos && canonical_text != text) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const ByteView payload(data + 1, size - 1);
  if (mode >= 0xf0) {
    check_type_text(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()), mode >= 0xf8);
    return 0;
  }
  const auto& lists = type_lists();
  const auto& types = lists[mode % lists.size()];
  auto decoded = abi_decode(types, payload);
  if (!decoded) return 0;
  if (decoded->values.size() != types.size()) std::abort();
  if (decoded->consumed > payload.size()) std::abort();
  if (decoded->consumed + decoded->trailing.size() != payload.size()) std::abort();
  if (decoded->trailing.data() != payload.data() + decoded->consumed) std::abort();
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (!abi_value_matches(types[i], decoded->values[i])) std::abort();
    (void)to_json(types[i], decoded->values[i]).dump();  // throws (and so crashes) on invalid UTF-8
  }
  const Bytes encoded = abi_encode(types, decoded->values);
  if (encoded.size() != decoded->consumed) std::abort();
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != payload[i]) std::abort();
  }
  return 0;
}

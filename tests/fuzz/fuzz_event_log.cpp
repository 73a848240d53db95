// Fuzz target for event signatures and strict log decoding (policy/codec/event_log.hpp).
//
// Input: one mode byte, then the payload.
//   mode < 0xf0   a log for the event kSignatures[mode % size]. Payload: one byte n (topic count is
//                 n % 5), a flag byte (bit 0: replace topics[0] by the event's topic0, so that the
//                 decoder gets past it), then n % 5 topics of 32 bytes (missing bytes are zero), then
//                 the data. When the log decodes: one value per input, every value-type input must
//                 re-encode to exactly its topic, every other indexed input must be its topic (the
//                 hash), the non-indexed values must re-encode to exactly the data (nothing trailing
//                 is accepted), and decode_event_log must agree and render as JSON.
//   mode >= 0xf0  the payload is an event signature text. When it parses, to_string must parse back
//                 to the same spec, its canonical form must be a canonical function signature of the
//                 same types, and topic0 must be keccak256 of it.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "policy/codec/event_log.hpp"
#include "policy/codec/keccak.hpp"

using namespace txguard::codec;

namespace {

const std::vector<EventSpec>& specs() {
  static const std::vector<EventSpec> list = [] {
    const char* const signatures[] = {
        "Deposit(address indexed token,address indexed sender,address recipient,uint256 amount,uint256 destChainId,"
        "uint256 nonce)",
        "Transfer(address indexed from,address indexed to,uint256 value)",
        "Approval(address indexed owner,address indexed spender,uint256 value)",
        "S(bool indexed flag,uint8 indexed level,int8 indexed delta)",
        "Named(string indexed name,(uint256,uint256) indexed pair,bytes payload)",
        "M(bytes32 indexed id,string memo,uint256[] xs)",
        "Ping()",
        "LogMessagePublished(address indexed sender,uint64 sequence,uint32 nonce,bytes payload,uint8 consistencyLevel)",
    };
    std::vector<EventSpec> out;
    for (const char* s : signatures) {
      auto spec = parse_event_signature(s);
      if (!spec) std::abort();
      out.push_back(std::move(*spec));
    }
    return out;
  }();
  return list;
}

bool is_value_type(const AbiType& type) {
  switch (type.kind()) {
    case AbiType::Kind::kUint:
    case AbiType::Kind::kInt:
    case AbiType::Kind::kAddress:
    case AbiType::Kind::kBool:
    case AbiType::Kind::kFixedBytes:
      return true;
    default:
      return false;
  }
}

void check_signature(std::string_view text) {
  auto spec = parse_event_signature(text);
  if (!spec) return;
  auto again = parse_event_signature(to_string(*spec));
  if (!again || *again != *spec) std::abort();
  auto as_function = parse_abi_signature(spec->canonical);
  if (!as_function || as_function->name != spec->name || as_function->inputs.size() != spec->inputs.size()) std::abort();
  for (std::size_t i = 0; i < spec->inputs.size(); ++i) {
    if (as_function->inputs[i] != spec->inputs[i].type) std::abort();
  }
  if (spec->topic0 != keccak256(view(spec->canonical))) std::abort();
  std::size_t indexed = 0;
  for (const auto& input : spec->inputs) indexed += input.indexed ? 1 : 0;
  if (indexed > kMaxIndexedInputs) std::abort();
}

void check_log(const EventSpec& spec, ByteView payload) {
  if (payload.size() < 2) return;
  const std::size_t count = payload[0] % 5;
  const bool fix_topic0 = (payload[1] & 1) != 0;
  payload = payload.subspan(2);
  std::vector<Hash32> topics(count);
  for (auto& topic : topics) {
    const std::size_t n = payload.size() < 32 ? payload.size() : 32;
    for (std::size_t i = 0; i < n; ++i) topic[i] = payload[i];
    payload = payload.subspan(n);
  }
  if (fix_topic0 && !topics.empty()) topics[0] = spec.topic0;
  const ByteView data = payload;

  auto values = decode_event_values(spec, topics, data);
  auto json = decode_event_log(spec, topics, data);
  if (values.has_value() != json.has_value()) std::abort();
  if (!values) return;
  if (values->size() != spec.inputs.size() || !json->is_object() || json->size() != spec.inputs.size()) std::abort();
  if (topics.empty() || topics[0] != spec.topic0) std::abort();
  std::vector<AbiType> data_types;
  std::vector<AbiValue> data_values;
  std::size_t next_topic = 1;
  for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
    const auto& input = spec.inputs[i];
    const AbiValue& value = (*values)[i];
    if (!input.indexed) {
      data_types.push_back(input.type);
      data_values.push_back(value);
      continue;
    }
    if (next_topic >= topics.size()) std::abort();
    const Hash32& topic = topics[next_topic++];
    Bytes expected;
    if (is_value_type(input.type)) {
      if (!abi_value_matches(input.type, value)) std::abort();
      const AbiType one[] = {input.type};
      const AbiValue v[] = {value};
      expected = abi_encode(one, v);
    } else {
      const Bytes* hash = value.get_if<Bytes>();
      if (hash == nullptr) std::abort();
      expected = *hash;
    }
    if (expected != Bytes(topic.begin(), topic.end())) std::abort();
  }
  if (next_topic != topics.size()) std::abort();
  const Bytes encoded = abi_encode(data_types, data_values);
  if (encoded != Bytes(data.begin(), data.end())) std::abort();
  (void)json->dump();  // throws (and so crashes) on invalid UTF-8
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const ByteView payload(data + 1, size - 1);
  if (mode >= 0xf0) {
    check_signature(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()));
    return 0;
  }
  const auto& list = specs();
  check_log(list[mode % list.size()], payload);
  return 0;
}

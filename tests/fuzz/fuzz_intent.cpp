// Fuzz target for the intent builder: whatever calldata a Safe transaction carries, building its
// intent never crashes, fails only on the documented bounds (too-deep), and yields a consistent
// picture (parents before children, every leg pointing at an existing call, addresses sorted and
// unique). The first byte picks how the rest is used:
//   0: the packed transactions of a multiSend(bytes) DELEGATECALLed to the canonical MultiSendCallOnly
//   1: raw calldata of a CALL from the Safe
//   2: the arguments of an execTransaction(...) call on another Safe
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "policy/codec/abi.hpp"
#include "policy/codec/abi_registry.hpp"
#include "policy/codec/intent.hpp"

using namespace txguard::codec;

namespace {

Address fixed_address(std::uint8_t tag) {
  Address a;
  a.bytes[0] = 0x5a;
  a.bytes[19] = tag;
  return a;
}

void check(const Intent& intent) {
  for (std::size_t i = 0; i < intent.calls.size(); ++i) {
    const auto& parent = intent.calls[i].parent;
    if (parent && *parent >= i) std::abort();
    if (intent.calls[i].safe_tx && *intent.calls[i].safe_tx >= intent.safe_txs.size()) std::abort();
  }
  for (const auto& t : intent.transfers) {
    if (t.call >= intent.calls.size()) std::abort();
  }
  for (const auto& g : intent.grants) {
    if (g.call && *g.call >= intent.calls.size()) std::abort();
  }
  if (!std::is_sorted(intent.addresses.begin(), intent.addresses.end()) ||
      std::adjacent_find(intent.addresses.begin(), intent.addresses.end()) != intent.addresses.end()) {
    std::abort();
  }
  (void)to_json(intent);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const ByteView rest(data + 1, size - 1);
  SafeTxRequest request;
  request.domain = SafeDomain{SafeVersion::k1_4_1, 1, fixed_address(1)};
  request.tx.nonce = 7;
  switch (data[0] % 3) {
    case 0: {
      request.tx.to = canonical_library_addresses(SafeVersion::k1_4_1, SafeLibrary::kMultiSendCallOnly).front();
      request.tx.operation = Operation::kDelegateCall;
      const AbiType types[] = {AbiType::bytes()};
      const AbiValue values[] = {AbiValue::bytes(Bytes(rest.begin(), rest.end()))};
      request.tx.data.assign(kMultiSendSelector.begin(), kMultiSendSelector.end());
      const Bytes args = abi_encode(types, values);
      request.tx.data.insert(request.tx.data.end(), args.begin(), args.end());
      break;
    }
    case 1:
      request.tx.to = fixed_address(2);
      request.tx.data.assign(rest.begin(), rest.end());
      break;
    default: {
      request.tx.to = fixed_address(3);
      const Selector exec = selector_of(
          "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)");
      request.tx.data.assign(exec.begin(), exec.end());
      request.tx.data.insert(request.tx.data.end(), rest.begin(), rest.end());
      break;
    }
  }
  IntentContext context;
  context.safes[fixed_address(3)] = {SafeVersion::k1_3_0, U256(1)};
  auto intent = intent_from_safe_request(request, context);
  if (!intent) {
    if (intent.error().code != DecodeErrc::kTooDeep) std::abort();
    return 0;
  }
  check(*intent);
  return 0;
}

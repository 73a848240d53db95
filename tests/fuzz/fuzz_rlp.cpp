// Fuzz target for the RLP reader. Invariants: a decoded tree re-encodes to exactly the input (the
// reader accepts one encoding per value, so nothing can hide in a second one); every integer view
// that decodes re-encodes to its item; a rejected input reports an offset inside it.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "policy/codec/rlp.hpp"

using namespace txguard::codec;

namespace {

Bytes reencode(const rlp::Item& item) {
  if (!item.is_list) {
    if (auto value = rlp::decode_u256(item)) {
      if (rlp::encode_uint(*value) != Bytes(item.encoded().begin(), item.encoded().end())) std::abort();
    }
    if (auto value = rlp::decode_u64(item)) {
      if (rlp::encode_uint(*value) != Bytes(item.encoded().begin(), item.encoded().end())) std::abort();
    }
    return rlp::encode_bytes(item.payload);
  }
  std::vector<Bytes> children;
  auto reader = rlp::list_items(item);
  if (!reader) std::abort();
  while (!reader->done()) {
    auto child = reader->next();
    if (!child) std::abort();  // decode() validated the whole tree
    children.push_back(reencode(*child));
  }
  return rlp::encode_list(children);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView input(data, size);
  auto item = rlp::decode(input);
  if (!item) {
    if (item.error().offset > size) std::abort();
    return 0;
  }
  if (item->encoded_size() != size) std::abort();
  if (reencode(*item) != Bytes(input.begin(), input.end())) std::abort();
  return 0;
}

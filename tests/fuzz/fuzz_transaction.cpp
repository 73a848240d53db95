// Fuzz target for the transaction decoder. Invariants: a transaction that decodes re-encodes to
// exactly the input bytes (so the screened fields are the executed ones); its computed hashes agree
// with the encoder's; a signed one has a sender; a rejected input reports an offset inside it.
#include <cstdint>
#include <cstdlib>

#include "policy/codec/keccak.hpp"
#include "policy/codec/transaction.hpp"

using namespace txguard::codec;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView input(data, size);
  auto txn = decode_transaction(input);
  if (!txn) {
    if (txn.error().offset > size) std::abort();
    return 0;
  }
  if (encode_transaction(*txn) != Bytes(input.begin(), input.end())) std::abort();
  if (signing_hash(*txn) != txn->signing_hash) std::abort();
  if (txn->signature.has_value() != txn->hash.has_value()) std::abort();
  if (txn->signature && (!txn->from || *txn->hash != keccak256(input))) std::abort();
  if (!txn->signature && txn->signing_hash != keccak256(input)) std::abort();
  // Without recovery the decoder accepts exactly the same input.
  TxnDecodeOptions no_recovery;
  no_recovery.recover_sender = false;
  auto again = decode_transaction(input, no_recovery);
  if (!again || again->signing_hash != txn->signing_hash || again->from) std::abort();
  return 0;
}

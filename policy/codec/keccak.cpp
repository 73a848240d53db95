#include "policy/codec/keccak.hpp"

#include <cryptopp/keccak.h>

namespace txguard::codec {

Hash32 keccak256(ByteView data) { return keccak256({data}); }

Hash32 keccak256(std::initializer_list<ByteView> pieces) {
  // CryptoPP::Keccak_256 implements the pre-standard padding Ethereum uses; CryptoPP::SHA3_256 would
  // give different digests.
  CryptoPP::Keccak_256 hasher;
  for (const ByteView piece : pieces) hasher.Update(piece.data(), piece.size());
  Hash32 out{};
  hasher.Final(out.data());
  return out;
}

}  // namespace txguard::codec

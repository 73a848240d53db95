// Keccak-256 as Ethereum uses it: the original Keccak padding (0x01), not FIPS-202 SHA3-256 (0x06).
#pragma once

#include "policy/codec/bytes.hpp"

namespace txguard::codec {

/// Keccak-256 of `data`. Pure, thread-safe.
Hash32 keccak256(ByteView data);

/// Keccak-256 over the concatenation of several pieces, without copying them together.
Hash32 keccak256(std::initializer_list<ByteView> pieces);

}  // namespace txguard::codec

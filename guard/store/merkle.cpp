// RFC 9162 (Certificate Transparency 2.0) section 2.1 Merkle trees over stored perfect subtrees.
//
// The RFC defines MTH, PATH and SUBPROOF recursively over D[start:end], splitting at k, the largest
// power of two smaller than n = end - start. Every range that recursion visits starts at a multiple
// of bit_ceil(n) (true for [0, size); the left part [start, start + k) then is perfect and aligned,
// and the right part [start + k, end) is no longer than k and starts at a multiple of k). Such a
// range's MTH folds, from the right, the perfect aligned subtrees named by the set bits of n (largest
// first): that is the same recursion unrolled, and it needs popcount(n) <= 64 stored nodes. The proof
// builders below walk the RFC recursion iteratively, so no input size can exhaust the stack.
#include "guard/store/merkle.hpp"

#include <cryptopp/sha.h>

#include <algorithm>
#include <array>
#include <bit>
#include <stdexcept>
#include <utility>

namespace txguard::store {
namespace {

// RFC 9162 2.1.1: leaves and interior nodes hash under different prefixes, so a leaf can never be
// passed off as a node (second-preimage resistance of the tree).
constexpr std::uint8_t kLeafPrefix = 0x00;
constexpr std::uint8_t kNodePrefix = 0x01;

// At most one perfect subtree per bit of a 64-bit size.
struct Pieces {
  std::array<Hash32, 64> hashes{};
  std::size_t count = 0;
};

// Reads the perfect aligned subtrees that [start, end) decomposes into, largest first.
// Precondition (met by every caller): start < end and start is a multiple of bit_ceil(end - start).
std::expected<Pieces, std::string> read_pieces(std::uint64_t start, std::uint64_t end, const MerkleNodeReader& nodes) {
  Pieces pieces;
  const std::uint64_t n = end - start;
  std::uint64_t offset = start;
  for (unsigned level = 64; level-- > 0;) {
    const std::uint64_t width = std::uint64_t{1} << level;
    if ((n & width) == 0) continue;
    auto hash = nodes(level, offset >> level);
    if (!hash) return std::unexpected(std::move(hash.error()));
    pieces.hashes[pieces.count++] = *hash;
    offset += width;
  }
  return pieces;
}

// MTH over consecutive pieces: MTH(D[a:b]) = HASH(0x01 || left || MTH(rest)) with the left piece the
// largest power of two below the range's size, i.e. a fold from the right.
Hash32 fold(std::span<const Hash32> pieces) {
  Hash32 acc = pieces.back();
  for (std::size_t i = pieces.size() - 1; i-- > 0;) acc = merkle_node_hash(pieces[i], acc);
  return acc;
}

// MTH(D[start:end]) for a range the RFC recursion visits (see read_pieces).
std::expected<Hash32, std::string> range_hash(std::uint64_t start, std::uint64_t end, const MerkleNodeReader& nodes) {
  auto pieces = read_pieces(start, end, nodes);
  if (!pieces) return std::unexpected(std::move(pieces.error()));
  return fold(std::span<const Hash32>(pieces->hashes.data(), pieces->count));
}

// k of RFC 9162 2.1.1: the largest power of two strictly smaller than n, for n >= 2.
std::uint64_t split_point(std::uint64_t n) { return std::bit_floor(n - 1); }

}  // namespace

Hash32 merkle_leaf_hash(codec::ByteView record) {
  CryptoPP::SHA256 sha;
  sha.Update(&kLeafPrefix, 1);
  if (!record.empty()) sha.Update(record.data(), record.size());
  Hash32 out{};
  sha.Final(out.data());
  return out;
}

Hash32 merkle_node_hash(const Hash32& left, const Hash32& right) {
  CryptoPP::SHA256 sha;
  sha.Update(&kNodePrefix, 1);
  sha.Update(left.data(), left.size());
  sha.Update(right.data(), right.size());
  Hash32 out{};
  sha.Final(out.data());
  return out;
}

Hash32 merkle_empty_root() {
  CryptoPP::SHA256 sha;
  Hash32 out{};
  sha.Final(out.data());
  return out;
}

std::expected<Hash32, std::string> merkle_root(std::uint64_t size, const MerkleNodeReader& nodes) {
  if (size == 0) return merkle_empty_root();
  return range_hash(0, size, nodes);
}

std::expected<std::vector<Hash32>, std::string> merkle_inclusion_proof(std::uint64_t leaf_index, std::uint64_t size,
                                                                        const MerkleNodeReader& nodes) {
  if (leaf_index >= size) {
    return std::unexpected("inclusion proof: leaf index " + std::to_string(leaf_index) + " is not below tree size " +
                           std::to_string(size));
  }
  // RFC 9162 2.1.3.1, top-down: PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) for m < k, else
  // PATH(m - k, D[k:n]) : MTH(D[0:k]). The siblings are found root first and listed leaf first.
  std::vector<Hash32> proof;
  std::uint64_t start = 0;
  std::uint64_t end = size;
  std::uint64_t m = leaf_index;
  while (end - start > 1) {
    const std::uint64_t k = split_point(end - start);
    std::expected<Hash32, std::string> sibling;
    if (m < k) {
      sibling = range_hash(start + k, end, nodes);
      end = start + k;
    } else {
      sibling = range_hash(start, start + k, nodes);
      start += k;
      m -= k;
    }
    if (!sibling) return std::unexpected(std::move(sibling.error()));
    proof.push_back(*sibling);
  }
  std::ranges::reverse(proof);
  return proof;
}

std::expected<std::vector<Hash32>, std::string> merkle_consistency_proof(std::uint64_t size1, std::uint64_t size2,
                                                                          const MerkleNodeReader& nodes) {
  if (size1 == 0) return std::unexpected(std::string("consistency proof: the first tree size is 0"));
  if (size1 > size2) {
    return std::unexpected("consistency proof: first tree size " + std::to_string(size1) +
                           " is larger than second tree size " + std::to_string(size2));
  }
  // RFC 9162 2.1.4.1, top-down: SUBPROOF(m, D[m], true) = {}, SUBPROOF(m, D[m], false) = {MTH(D[m])};
  // for m < n: m <= k gives SUBPROOF(m, D[0:k], b) : MTH(D[k:n]), else SUBPROOF(m - k, D[k:n], false) :
  // MTH(D[0:k]). m stays >= 1 and n shrinks each step, so the loop ends at m == n.
  std::vector<Hash32> proof;
  std::uint64_t start = 0;
  std::uint64_t end = size2;
  std::uint64_t m = size1;
  bool first_root_is_known = true;
  while (m != end - start) {
    const std::uint64_t k = split_point(end - start);
    std::expected<Hash32, std::string> hash;
    if (m <= k) {
      hash = range_hash(start + k, end, nodes);
      end = start + k;
    } else {
      hash = range_hash(start, start + k, nodes);
      start += k;
      m -= k;
      first_root_is_known = false;
    }
    if (!hash) return std::unexpected(std::move(hash.error()));
    proof.push_back(*hash);
  }
  if (!first_root_is_known) {
    auto hash = range_hash(start, end, nodes);
    if (!hash) return std::unexpected(std::move(hash.error()));
    proof.push_back(*hash);
  }
  std::ranges::reverse(proof);
  return proof;
}

bool merkle_verify_inclusion(std::uint64_t leaf_index, std::uint64_t size, const Hash32& leaf,
                             std::span<const Hash32> proof, const Hash32& root) noexcept {
  // RFC 9162 2.1.3.2, step by step.
  if (leaf_index >= size) return false;                  // 1
  std::uint64_t fn = leaf_index;                         // 2
  std::uint64_t sn = size - 1;
  Hash32 r = leaf;                                       // 3
  for (const Hash32& p : proof) {                        // 4
    if (sn == 0) return false;                           // 4a: the proof is too long
    if ((fn & 1) != 0 || fn == sn) {                     // 4b
      r = merkle_node_hash(p, r);
      while ((fn & 1) == 0 && fn != 0) {                 // until LSB(fn) is set or fn is 0
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = merkle_node_hash(r, p);
    }
    fn >>= 1;                                            // 4c
    sn >>= 1;
  }
  return sn == 0 && r == root;                           // 5: sn != 0 means the proof is too short
}

bool merkle_verify_consistency(std::uint64_t size1, std::uint64_t size2, const Hash32& root1, const Hash32& root2,
                               std::span<const Hash32> proof) noexcept {
  // The RFC algorithm assumes 0 < first < second. Equal sizes: the empty proof of SUBPROOF(m, D[m],
  // true) and identical roots. From 0: refused, see the header.
  if (size1 == 0 || size1 > size2) return false;
  if (size1 == size2) return proof.empty() && root1 == root2;

  // RFC 9162 2.1.4.2, step by step. Step 2 prepends first_hash when first is a power of two; `at`
  // indexes that extended path without copying it (so this function cannot fail to allocate).
  if (proof.empty()) return false;                       // 1
  const bool prepend = std::has_single_bit(size1);       // 2
  const std::size_t path_size = proof.size() + (prepend ? 1 : 0);
  const auto at = [&](std::size_t i) -> const Hash32& {
    if (prepend) return i == 0 ? root1 : proof[i - 1];
    return proof[i];
  };
  std::uint64_t fn = size1 - 1;                          // 3
  std::uint64_t sn = size2 - 1;
  while ((fn & 1) != 0) {                                // 4
    fn >>= 1;
    sn >>= 1;
  }
  Hash32 fr = at(0);                                     // 5
  Hash32 sr = at(0);
  for (std::size_t i = 1; i < path_size; ++i) {          // 6
    const Hash32& c = at(i);
    if (sn == 0) return false;                           // 6a: the proof is too long
    if ((fn & 1) != 0 || fn == sn) {                     // 6b
      fr = merkle_node_hash(c, fr);
      sr = merkle_node_hash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {                 // until LSB(fn) is set or fn is 0
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = merkle_node_hash(sr, c);
    }
    fn >>= 1;                                            // 6c
    sn >>= 1;
  }
  return fr == root1 && sr == root2 && sn == 0;          // 7
}

std::expected<MerkleAccumulator, std::string> MerkleAccumulator::resume(std::uint64_t size,
                                                                        const MerkleNodeReader& nodes) {
  MerkleAccumulator out;
  if (size == 0) return out;
  auto pieces = read_pieces(0, size, nodes);
  if (!pieces) return std::unexpected(std::move(pieces.error()));
  out.size_ = size;
  out.peaks_.assign(pieces->hashes.begin(), pieces->hashes.begin() + static_cast<std::ptrdiff_t>(pieces->count));
  return out;
}

std::vector<MerkleNode> MerkleAccumulator::append(const Hash32& leaf) {
  if (size_ == UINT64_MAX) throw std::length_error("MerkleAccumulator: 2^64 - 1 leaves");
  // Leaf n closes one perfect subtree per trailing one bit of n: each merges with the peak to its
  // left (the previous peak of that level), exactly like a binary counter's carry.
  std::vector<MerkleNode> completed;
  completed.push_back({0, size_, leaf});
  Hash32 hash = leaf;
  unsigned level = 0;
  std::uint64_t index = size_;
  while ((index & 1) != 0) {
    hash = merkle_node_hash(peaks_.back(), hash);
    peaks_.pop_back();
    ++level;
    index >>= 1;
    completed.push_back({level, index, hash});
  }
  peaks_.push_back(hash);
  ++size_;
  return completed;
}

Hash32 MerkleAccumulator::root() const {
  if (peaks_.empty()) return merkle_empty_root();
  return fold(peaks_);
}

}  // namespace txguard::store

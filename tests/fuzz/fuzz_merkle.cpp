// Fuzz target for the decision log's Merkle tree (guard/store/merkle.hpp).
//
// Input: leaf_index, size, size1, size2 (8 bytes each, little-endian), then 32-byte hashes: a leaf,
// a first root, a second root, and the rest as a proof; a short input reads as zero-padded.
// Invariants, whatever the input:
//   - both RFC 9162 verifiers run on the raw values without crashing, and refuse what they must
//     (leaf_index >= size; size1 == 0 or size1 > size2);
//   - over a tree of up to 64 leaves derived from the input, built by the accumulator and read back
//     only through the nodes it emitted: merkle_root equals the accumulator's root at each size used,
//     an inclusion proof and a consistency proof from the builders verify, and flipping one bit of
//     any proof element, of the leaf or of a root, or dropping or adding an element, makes them fail.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "guard/store/merkle.hpp"

using namespace txguard::store;

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

struct Input {
  std::span<const std::uint8_t> data;
  std::uint8_t at(std::size_t i) const { return i < data.size() ? data[i] : 0; }
  std::uint64_t u64(std::size_t offset) const {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < 8; ++i) value |= std::uint64_t{at(offset + i)} << (8 * i);
    return value;
  }
  Hash32 hash(std::size_t offset) const {
    Hash32 out{};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = at(offset + i);
    return out;
  }
};

constexpr std::size_t kHashesAt = 32;
constexpr std::uint64_t kMaxLeaves = 64;

Hash32 flipped(Hash32 hash, unsigned bit) {
  hash[bit / 8] = static_cast<std::uint8_t>(hash[bit / 8] ^ (1U << (bit % 8)));
  return hash;
}

// Every single-element corruption of a valid proof must be refused by `verifies`.
template <typename Verify>
void check_corruptions(const std::vector<Hash32>& proof, const Input& in, const Verify& verifies) {
  for (std::size_t i = 0; i < proof.size(); ++i) {
    std::vector<Hash32> bad = proof;
    bad[i] = flipped(bad[i], static_cast<unsigned>(in.at(i) + i * 29) % 256);
    require(!verifies(bad));
  }
  if (!proof.empty()) {
    require(!verifies(std::vector<Hash32>(proof.begin(), proof.end() - 1)));
    require(!verifies(std::vector<Hash32>(proof.begin() + 1, proof.end())));
  }
  std::vector<Hash32> longer = proof;
  longer.push_back(in.hash(kHashesAt));
  require(!verifies(longer));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Input in{std::span<const std::uint8_t>(data, size)};
  const std::uint64_t leaf_index = in.u64(0);
  const std::uint64_t tree_size = in.u64(8);
  const std::uint64_t size1 = in.u64(16);
  const std::uint64_t size2 = in.u64(24);
  const Hash32 leaf = in.hash(kHashesAt);
  const Hash32 root1 = in.hash(kHashesAt + 32);
  const Hash32 root2 = in.hash(kHashesAt + 64);
  std::vector<Hash32> raw_proof;
  for (std::size_t offset = kHashesAt + 96; offset < size; offset += 32) raw_proof.push_back(in.hash(offset));

  const bool included = merkle_verify_inclusion(leaf_index, tree_size, leaf, raw_proof, root1);
  if (leaf_index >= tree_size) require(!included);
  const bool consistent = merkle_verify_consistency(size1, size2, root1, root2, raw_proof);
  if (size1 == 0 || size1 > size2) require(!consistent);
  if (size1 == size2 && consistent) require(raw_proof.empty() && root1 == root2);

  // A tree of n leaves whose records are the input's tail plus the leaf number.
  const std::uint64_t n = tree_size % kMaxLeaves + 1;
  std::map<std::pair<unsigned, std::uint64_t>, Hash32> nodes;
  std::vector<Hash32> leaves;
  std::vector<Hash32> roots;
  MerkleAccumulator acc;
  roots.push_back(acc.root());
  require(roots[0] == merkle_empty_root());
  const auto tail = in.data.subspan(std::min(size, kHashesAt));
  std::vector<std::uint8_t> record(tail.begin(), tail.end());
  record.resize(record.size() + 1);
  for (std::uint64_t i = 0; i < n; ++i) {
    record.back() = static_cast<std::uint8_t>(i);
    leaves.push_back(merkle_leaf_hash(record));
    for (const MerkleNode& node : acc.append(leaves.back())) {
      require(nodes.emplace(std::pair{node.level, node.index}, node.hash).second);
    }
    roots.push_back(acc.root());
  }
  require(acc.size() == n);
  const MerkleNodeReader reader = [&](unsigned level, std::uint64_t index) -> std::expected<Hash32, std::string> {
    const auto it = nodes.find({level, index});
    if (it == nodes.end()) return std::unexpected(std::string("not stored"));
    return it->second;
  };

  const std::uint64_t m = leaf_index % n;
  const std::uint64_t s1 = size1 % n + 1;
  const std::uint64_t s2 = s1 + size2 % (n - s1 + 1);
  for (const std::uint64_t s : {n, s1, s2}) {
    auto root = merkle_root(s, reader);
    require(root.has_value() && *root == roots[s]);
  }

  auto inclusion = merkle_inclusion_proof(m, n, reader);
  require(inclusion.has_value());
  require(merkle_verify_inclusion(m, n, leaves[m], *inclusion, roots[n]));
  require(!merkle_verify_inclusion(m, n, flipped(leaves[m], in.at(1)), *inclusion, roots[n]));
  require(!merkle_verify_inclusion(m, n, leaves[m], *inclusion, flipped(roots[n], in.at(2))));
  check_corruptions(*inclusion, in, [&](const std::vector<Hash32>& proof) {
    return merkle_verify_inclusion(m, n, leaves[m], proof, roots[n]);
  });

  auto consistency = merkle_consistency_proof(s1, s2, reader);
  require(consistency.has_value());
  require(merkle_verify_consistency(s1, s2, roots[s1], roots[s2], *consistency));
  require(!merkle_verify_consistency(s1, s2, flipped(roots[s1], in.at(3)), roots[s2], *consistency));
  require(!merkle_verify_consistency(s1, s2, roots[s1], flipped(roots[s2], in.at(4)), *consistency));
  if (s1 == s2) {
    require(consistency->empty());
  } else {
    check_corruptions(*consistency, in, [&](const std::vector<Hash32>& proof) {
      return merkle_verify_consistency(s1, s2, roots[s1], roots[s2], proof);
    });
  }
  return 0;
}

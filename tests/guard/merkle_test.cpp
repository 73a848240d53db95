// The decision log's Merkle tree (RFC 9162 2.1): known answers from the Certificate Transparency
// reference tree, an exhaustive cross-check against the RFC's recursive definitions, the accumulator's
// emitted nodes, sizes near 2^64, and every way a proof can be wrong.
#include <doctest/doctest.h>

#include <bit>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "guard/store/merkle.hpp"
#include "policy/codec/bytes.hpp"

using namespace txguard;
using namespace txguard::store;
using codec::Bytes;

namespace {

Hash32 h(std::string_view hex) {
  auto parsed = codec::from_hex_fixed<32>(hex);
  REQUIRE(parsed.has_value());
  return *parsed;
}

Bytes b(std::string_view hex) {
  auto parsed = codec::from_hex(hex);
  REQUIRE(parsed.has_value());
  return *parsed;
}

// The 8-leaf test tree of the Certificate Transparency implementations (originally
// certificate-transparency's C++ merkle_tree_test.cc), copied from transparency-dev/merkle:
//   testonly/constants.go (commit 582a6ad190b6848f1d26f8bf08ddef29955d9db1): LeafInputs, NodeHashes,
//     RootHashes;
//   proof/verify_test.go (commit 02194e9afb6c1d95b5381350007963aa70fff472): inclusionProofs (there with
//     1-based leaf numbers; 0-based here), consistencyProofs;
//   testonly/reference_test.go (commit 141d627eab770a7e9a2514f46a8b6338e6d90874): TestRefInclusionProof,
//     TestRefConsistencyProof.
std::vector<Bytes> reference_leaves() {
  return {b(""), b("00"), b("10"), b("2021"), b("3031"), b("40414243"), b("5051525354555657"),
          b("606162636465666768696a6b6c6d6e6f")};
}

// NodeHashes()[level][index]: every perfect subtree of the 8-leaf tree.
std::vector<std::vector<Hash32>> reference_nodes() {
  return {{h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
           h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
           h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
           h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
           h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
           h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
           h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
           h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1")},
          {h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
           h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
           h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
           h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0")},
          {h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
           h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")},
          {h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")}};
}

// RootHashes()[size] for size 0..8.
std::vector<Hash32> reference_roots() {
  return {h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
          h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
          h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
          h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
          h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
          h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
          h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
          h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
          h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")};
}

struct InclusionVector {
  std::uint64_t index;
  std::uint64_t size;
  std::vector<Hash32> proof;
};

std::vector<InclusionVector> reference_inclusion_proofs() {
  return {
      {0, 1, {}},
      {0, 2, {h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7")}},
      {1, 2, {h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")}},
      {2, 3, {h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")}},
      {1, 5,
       {h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")}},
      {0, 8,
       {h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")}},
      {5, 8,
       {h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")}},
  };
}

struct ConsistencyVector {
  std::uint64_t size1;
  std::uint64_t size2;
  std::vector<Hash32> proof;
};

std::vector<ConsistencyVector> reference_consistency_proofs() {
  return {
      {1, 1, {}},
      {1, 8,
       {h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")}},
      {6, 8,
       {h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")}},
      {2, 5,
       {h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")}},
      {6, 7,
       {h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")}},
  };
}

// A hash no tree here produces (transparency-dev's sha256SomeHash).
Hash32 some_hash() { return h("abacaba000000000000000000000000000000000000000000060061e00123456"); }

// ---- The RFC's recursive definitions, written out naively (no stored nodes, no iteration). ----

std::size_t largest_power_of_two_below(std::size_t n) {
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash32 ref_root(std::span<const Hash32> d) {
  if (d.empty()) return merkle_empty_root();
  if (d.size() == 1) return d[0];
  const std::size_t k = largest_power_of_two_below(d.size());
  return merkle_node_hash(ref_root(d.first(k)), ref_root(d.subspan(k)));
}

std::vector<Hash32> ref_path(std::size_t m, std::span<const Hash32> d) {
  if (d.size() <= 1) return {};
  const std::size_t k = largest_power_of_two_below(d.size());
  std::vector<Hash32> out = m < k ? ref_path(m, d.first(k)) : ref_path(m - k, d.subspan(k));
  out.push_back(m < k ? ref_root(d.subspan(k)) : ref_root(d.first(k)));
  return out;
}

std::vector<Hash32> ref_subproof(std::size_t m, std::span<const Hash32> d, bool b) {
  if (m == d.size()) return b ? std::vector<Hash32>{} : std::vector<Hash32>{ref_root(d)};
  const std::size_t k = largest_power_of_two_below(d.size());
  std::vector<Hash32> out = m <= k ? ref_subproof(m, d.first(k), b) : ref_subproof(m - k, d.subspan(k), false);
  out.push_back(m <= k ? ref_root(d.subspan(k)) : ref_root(d.first(k)));
  return out;
}

// ---- A store fed only by what the accumulator emits. ----

using NodeKey = std::pair<unsigned, std::uint64_t>;

struct Tree {
  std::vector<Hash32> leaves;
  std::vector<Hash32> roots;  // roots[m] = accumulator root after m leaves
  std::map<NodeKey, Hash32> nodes;
  mutable std::size_t reads = 0;

  // A reader for the tree as it stood at `size` leaves: a node not yet emitted then is an error.
  MerkleNodeReader reader(std::uint64_t size) const {
    return [this, size](unsigned level, std::uint64_t index) -> std::expected<Hash32, std::string> {
      ++reads;
      if (level >= 64 || index >= (size >> level)) return std::unexpected(std::string("node past the tree size"));
      const auto it = nodes.find({level, index});
      if (it == nodes.end()) return std::unexpected(std::string("node not stored"));
      return it->second;
    };
  }
  MerkleNodeReader reader() const { return reader(leaves.size()); }
};

Tree build(std::span<const Hash32> leaves) {
  Tree tree;
  MerkleAccumulator acc;
  tree.roots.push_back(acc.root());
  for (const Hash32& leaf : leaves) {
    for (const MerkleNode& node : acc.append(leaf)) {
      REQUIRE(tree.nodes.emplace(NodeKey{node.level, node.index}, node.hash).second);
    }
    tree.leaves.push_back(leaf);
    tree.roots.push_back(acc.root());
  }
  return tree;
}

Tree build_reference() {
  std::vector<Hash32> leaves;
  for (const Bytes& record : reference_leaves()) leaves.push_back(merkle_leaf_hash(record));
  return build(leaves);
}

Tree build_numbered(std::size_t n) {
  std::vector<Hash32> leaves;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string record = "decision " + std::to_string(i);
    leaves.push_back(merkle_leaf_hash(codec::view(record)));
  }
  return build(leaves);
}

std::vector<Hash32> with_bit_flipped(std::vector<Hash32> proof, std::size_t element, unsigned bit) {
  proof[element][bit / 8] = static_cast<std::uint8_t>(proof[element][bit / 8] ^ (1U << (bit % 8)));
  return proof;
}

std::vector<Hash32> appended(std::vector<Hash32> proof, const Hash32& extra) {
  proof.push_back(extra);
  return proof;
}

std::vector<Hash32> prepended(std::vector<Hash32> proof, const Hash32& extra) {
  proof.insert(proof.begin(), extra);
  return proof;
}

std::vector<Hash32> without_last(std::vector<Hash32> proof) {
  proof.pop_back();
  return proof;
}

std::vector<Hash32> without_first(std::vector<Hash32> proof) {
  proof.erase(proof.begin());
  return proof;
}

std::vector<Hash32> inclusion_ok(const Tree& tree, std::uint64_t index, std::uint64_t size) {
  auto proof = merkle_inclusion_proof(index, size, tree.reader(size));
  REQUIRE_MESSAGE(proof.has_value(), proof.error());
  return *proof;
}

std::vector<Hash32> consistency_ok(const Tree& tree, std::uint64_t size1, std::uint64_t size2) {
  auto proof = merkle_consistency_proof(size1, size2, tree.reader(size2));
  REQUIRE_MESSAGE(proof.has_value(), proof.error());
  return *proof;
}

// A consistent tree of up to 2^64 - 1 leaves in which all leaves are the same except a few: every
// perfect subtree without a special leaf has a per-level hash, so any node is O(64 * specials) work.
struct SparseTree {
  std::vector<std::uint64_t> specials;
  std::vector<Hash32> uniform;  // uniform[level]: a perfect subtree of ordinary leaves

  explicit SparseTree(std::vector<std::uint64_t> special_leaves) : specials(std::move(special_leaves)) {
    uniform.push_back(merkle_leaf_hash(codec::view(std::string("ordinary"))));
    for (unsigned level = 1; level < 64; ++level) uniform.push_back(merkle_node_hash(uniform.back(), uniform.back()));
  }
  Hash32 leaf(std::uint64_t index) const {
    for (const std::uint64_t s : specials) {
      if (s == index) return merkle_leaf_hash(codec::view("special " + std::to_string(s)));
    }
    return uniform[0];
  }
  Hash32 node(unsigned level, std::uint64_t index) const {
    if (level == 0) return leaf(index);
    bool has_special = false;
    for (const std::uint64_t s : specials) has_special = has_special || (s >> level) == index;
    if (!has_special) return uniform[level];
    return merkle_node_hash(node(level - 1, 2 * index), node(level - 1, 2 * index + 1));
  }
  MerkleNodeReader reader() const {
    return [this](unsigned level, std::uint64_t index) -> std::expected<Hash32, std::string> {
      if (level >= 64) return std::unexpected(std::string("level out of range"));
      return node(level, index);
    };
  }
};

}  // namespace

TEST_SUITE("merkle") {

// ---- Known answers ----

TEST_CASE("merkle: leaf and node hashes carry the RFC 9162 domain-separation prefixes") {
  const auto nodes = reference_nodes();
  const auto leaves = reference_leaves();
  for (std::size_t i = 0; i < leaves.size(); ++i) CHECK(merkle_leaf_hash(leaves[i]) == nodes[0][i]);
  CHECK(merkle_node_hash(nodes[0][0], nodes[0][1]) == nodes[1][0]);
  CHECK(merkle_node_hash(nodes[1][0], nodes[1][1]) == nodes[2][0]);
  CHECK(merkle_empty_root() == h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  // The prefixes make a leaf and a node over the same bytes differ.
  Bytes concatenated(nodes[0][0].begin(), nodes[0][0].end());
  concatenated.insert(concatenated.end(), nodes[0][1].begin(), nodes[0][1].end());
  CHECK(merkle_leaf_hash(concatenated) != merkle_node_hash(nodes[0][0], nodes[0][1]));
}

TEST_CASE("merkle: roots of the reference tree equal the known roots for sizes 0 to 8") {
  const Tree tree = build_reference();
  const auto roots = reference_roots();
  for (std::uint64_t size = 0; size <= 8; ++size) {
    INFO("size " << size);
    auto root = merkle_root(size, tree.reader(size));
    REQUIRE(root.has_value());
    CHECK(*root == roots[size]);
    CHECK(tree.roots[size] == roots[size]);
  }
}

TEST_CASE("merkle: the accumulator emits exactly the known nodes of the reference tree") {
  const Tree tree = build_reference();
  const auto nodes = reference_nodes();
  std::size_t expected = 0;
  for (unsigned level = 0; level < nodes.size(); ++level) {
    for (std::uint64_t index = 0; index < nodes[level].size(); ++index) {
      ++expected;
      const auto it = tree.nodes.find({level, index});
      REQUIRE(it != tree.nodes.end());
      CHECK(it->second == nodes[level][index]);
    }
  }
  CHECK(tree.nodes.size() == expected);
}

TEST_CASE("merkle: inclusion proofs of the reference tree equal the known proofs and verify") {
  const Tree tree = build_reference();
  const auto roots = reference_roots();
  for (const auto& vector : reference_inclusion_proofs()) {
    INFO("leaf " << vector.index << " of " << vector.size);
    CHECK(inclusion_ok(tree, vector.index, vector.size) == vector.proof);
    CHECK(merkle_verify_inclusion(vector.index, vector.size, tree.leaves[vector.index], vector.proof,
                                  roots[vector.size]));
  }
}

TEST_CASE("merkle: consistency proofs of the reference tree equal the known proofs and verify") {
  const Tree tree = build_reference();
  const auto roots = reference_roots();
  for (const auto& vector : reference_consistency_proofs()) {
    INFO(vector.size1 << " -> " << vector.size2);
    CHECK(consistency_ok(tree, vector.size1, vector.size2) == vector.proof);
    CHECK(merkle_verify_consistency(vector.size1, vector.size2, roots[vector.size1], roots[vector.size2],
                                    vector.proof));
  }
}

// ---- Cross-checks ----

TEST_CASE("merkle: roots and proofs equal the RFC recursion for every size up to 70 and every index and size pair") {
  constexpr std::size_t kMax = 70;
  const Tree tree = build_numbered(kMax);
  const std::span<const Hash32> leaves(tree.leaves);
  for (std::size_t n = 1; n <= kMax; ++n) {
    const Hash32 root = ref_root(leaves.first(n));
    auto stored_root = merkle_root(n, tree.reader(n));
    REQUIRE(stored_root.has_value());
    CHECK(*stored_root == root);
    for (std::size_t m = 0; m < n; ++m) {
      const auto proof = inclusion_ok(tree, m, n);
      CHECK(proof == ref_path(m, leaves.first(n)));
      CHECK(merkle_verify_inclusion(m, n, leaves[m], proof, root));
    }
    for (std::size_t m = 1; m <= n; ++m) {
      const auto proof = consistency_ok(tree, m, n);
      CHECK(proof == ref_subproof(m, leaves.first(n), true));
      CHECK(merkle_verify_consistency(m, n, tree.roots[m], root, proof));
    }
  }
}

TEST_CASE("merkle: the accumulator's root equals merkle_root at every size and it emits each perfect subtree once") {
  constexpr std::size_t kMax = 70;
  const Tree tree = build_numbered(kMax);  // build() already requires each (level, index) to be new
  const std::span<const Hash32> leaves(tree.leaves);
  CHECK(tree.roots[0] == merkle_empty_root());
  for (std::size_t m = 1; m <= kMax; ++m) {
    CHECK(tree.roots[m] == ref_root(leaves.first(m)));
    auto root = merkle_root(m, tree.reader(m));  // reads only what was emitted by leaf m - 1
    REQUIRE(root.has_value());
    CHECK(*root == tree.roots[m]);
  }
  // Exactly the perfect aligned subtrees inside [0, 70), each with its RFC hash: no more, no fewer.
  std::size_t perfect = 0;
  for (unsigned level = 0; (std::uint64_t{1} << level) <= kMax; ++level) perfect += kMax >> level;
  CHECK(tree.nodes.size() == perfect);
  for (const auto& [key, hash] : tree.nodes) {
    const auto [level, index] = key;
    const std::size_t width = std::size_t{1} << level;
    REQUIRE((index + 1) * width <= kMax);
    CHECK(hash == ref_root(leaves.subspan(index * width, width)));
  }
}

TEST_CASE("merkle: append returns the completed subtrees level 0 first, each ending at the new leaf") {
  MerkleAccumulator acc;
  const Tree tree = build_numbered(16);
  for (std::uint64_t n = 0; n < 16; ++n) {
    const auto completed = acc.append(tree.leaves[n]);
    CHECK(acc.size() == n + 1);
    REQUIRE(completed.size() == 1 + static_cast<std::size_t>(std::countr_one(n)));
    CHECK(completed[0] == MerkleNode{0, n, tree.leaves[n]});
    for (unsigned level = 0; level < completed.size(); ++level) {
      CHECK(completed[level].level == level);
      CHECK(((completed[level].index + 1) << level) == n + 1);
    }
  }
}

TEST_CASE("merkle: an accumulator resumed from stored nodes continues the same tree") {
  const Tree tree = build_numbered(40);
  for (std::uint64_t size = 0; size <= 40; ++size) {
    INFO("resumed at " << size);
    auto acc = MerkleAccumulator::resume(size, tree.reader(size));
    REQUIRE(acc.has_value());
    CHECK(acc->size() == size);
    CHECK(acc->root() == tree.roots[size]);
    for (std::uint64_t n = size; n < 40; ++n) {
      for (const MerkleNode& node : acc->append(tree.leaves[n])) CHECK(tree.nodes.at({node.level, node.index}) == node.hash);
    }
    CHECK(acc->root() == tree.roots[40]);
  }
}

TEST_CASE("merkle: roots read popcount(size) nodes and proofs O(log size) nodes") {
  constexpr std::uint64_t kMax = 130;
  const Tree tree = build_numbered(kMax);
  for (std::uint64_t n = 1; n <= kMax; ++n) {
    const auto bound = 2 * static_cast<std::size_t>(std::bit_width(n)) + 1;
    tree.reads = 0;
    REQUIRE(merkle_root(n, tree.reader(n)).has_value());
    CHECK(tree.reads == static_cast<std::size_t>(std::popcount(n)));
    for (std::uint64_t m = 0; m < n; ++m) {
      tree.reads = 0;
      inclusion_ok(tree, m, n);
      CHECK(tree.reads <= bound);
    }
    for (std::uint64_t m = 1; m <= n; ++m) {
      tree.reads = 0;
      consistency_ok(tree, m, n);
      CHECK(tree.reads <= bound);
    }
  }
}

TEST_CASE("merkle: proofs for trees of up to 2^64 - 1 leaves verify without overflow") {
  constexpr std::uint64_t kTop = UINT64_MAX;
  constexpr std::uint64_t kHalf = std::uint64_t{1} << 63;
  const SparseTree tree({0, 5, kHalf - 1, kHalf, kHalf + 7, kTop - 2, kTop - 1});
  const auto reader = tree.reader();
  const auto root_at = [&](std::uint64_t size) {
    auto root = merkle_root(size, reader);
    REQUIRE(root.has_value());
    return *root;
  };
  const Hash32 top_root = root_at(kTop);
  for (const std::uint64_t index : {std::uint64_t{0}, std::uint64_t{5}, kHalf - 1, kHalf, kHalf + 7, kTop - 2, kTop - 1}) {
    INFO("leaf " << index);
    auto proof = merkle_inclusion_proof(index, kTop, reader);
    REQUIRE(proof.has_value());
    CHECK(proof->size() >= 63);
    CHECK(proof->size() <= 64);
    CHECK(merkle_verify_inclusion(index, kTop, tree.leaf(index), *proof, top_root));
    CHECK_FALSE(merkle_verify_inclusion(index, kTop, tree.leaf(index), with_bit_flipped(*proof, proof->size() - 1, 0),
                                        top_root));
  }
  for (const auto& [size1, size2] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{
           {1, kTop}, {kHalf, kHalf + 1}, {kHalf + 6, kTop}, {kTop - 1, kTop}, {6, kHalf}, {kHalf - 1, kTop - 2}}) {
    INFO(size1 << " -> " << size2);
    auto proof = merkle_consistency_proof(size1, size2, reader);
    REQUIRE(proof.has_value());
    CHECK(merkle_verify_consistency(size1, size2, root_at(size1), root_at(size2), *proof));
    CHECK_FALSE(merkle_verify_consistency(size1, size2, root_at(size1), root_at(size2),
                                          with_bit_flipped(*proof, proof->size() - 1, 255)));
  }
}

// ---- Inclusion: what must not verify ----

TEST_CASE("merkle: an inclusion proof with any one bit flipped does not verify") {
  const Tree tree = build_reference();
  for (const auto& vector : reference_inclusion_proofs()) {
    for (std::size_t element = 0; element < vector.proof.size(); ++element) {
      for (unsigned bit = 0; bit < 256; ++bit) {
        CHECK_FALSE(merkle_verify_inclusion(vector.index, vector.size, tree.leaves[vector.index],
                                            with_bit_flipped(vector.proof, element, bit), tree.roots[vector.size]));
      }
    }
  }
  // And in every tree up to 40 leaves, one bit per element.
  const Tree big = build_numbered(40);
  for (std::uint64_t n = 1; n <= 40; ++n) {
    for (std::uint64_t m = 0; m < n; ++m) {
      const auto proof = inclusion_ok(big, m, n);
      for (std::size_t element = 0; element < proof.size(); ++element) {
        const auto bit = static_cast<unsigned>((element * 37 + m) % 256);
        CHECK_FALSE(merkle_verify_inclusion(m, n, big.leaves[m], with_bit_flipped(proof, element, bit), big.roots[n]));
      }
    }
  }
}

TEST_CASE("merkle: an inclusion proof one hash too short or too long does not verify") {
  const Tree tree = build_numbered(40);
  for (std::uint64_t n = 1; n <= 40; ++n) {
    for (std::uint64_t m = 0; m < n; ++m) {
      INFO("leaf " << m << " of " << n);
      const auto proof = inclusion_ok(tree, m, n);
      const Hash32& leaf = tree.leaves[m];
      const Hash32& root = tree.roots[n];
      CHECK_FALSE(merkle_verify_inclusion(m, n, leaf, appended(proof, Hash32{}), root));
      CHECK_FALSE(merkle_verify_inclusion(m, n, leaf, appended(proof, root), root));
      CHECK_FALSE(merkle_verify_inclusion(m, n, leaf, prepended(proof, Hash32{}), root));
      CHECK_FALSE(merkle_verify_inclusion(m, n, leaf, prepended(proof, leaf), root));
      if (!proof.empty()) {
        CHECK_FALSE(merkle_verify_inclusion(m, n, leaf, without_last(proof), root));
        CHECK_FALSE(merkle_verify_inclusion(m, n, leaf, without_first(proof), root));
      }
    }
  }
}

TEST_CASE("merkle: an inclusion proof does not verify at any other leaf index of the same tree") {
  const Tree tree = build_numbered(33);
  for (std::uint64_t n = 1; n <= 33; ++n) {
    for (std::uint64_t m = 0; m < n; ++m) {
      const auto proof = inclusion_ok(tree, m, n);
      for (std::uint64_t other = 0; other < n; ++other) {
        if (other == m) continue;
        CHECK_FALSE(merkle_verify_inclusion(other, n, tree.leaves[m], proof, tree.roots[n]));
      }
      CHECK_FALSE(merkle_verify_inclusion(m - 1, n, tree.leaves[m], proof, tree.roots[n]));  // wraps at m == 0
      CHECK_FALSE(merkle_verify_inclusion(m ^ 2, n, tree.leaves[m], proof, tree.roots[n]));
    }
  }
}

TEST_CASE("merkle: an inclusion proof does not verify against the root of another tree size") {
  // The RFC verifier does not hash the size in: a path of the same shape can pass for another size
  // (leaf 0 of 5 and of 6 both go right three times). What it cannot do is match that size's root; the
  // signed tree head is what binds a root to its size.
  const Tree tree = build_numbered(24);
  for (std::uint64_t n = 1; n <= 24; ++n) {
    for (std::uint64_t m = 0; m < n; ++m) {
      const auto proof = inclusion_ok(tree, m, n);
      for (std::uint64_t other = 1; other <= 24; ++other) {
        if (other == n) continue;
        CHECK_FALSE(merkle_verify_inclusion(m, other, tree.leaves[m], proof, tree.roots[other]));
      }
    }
  }
  // transparency-dev's probes, with the true root of the proven size: size * 2 and size / 2.
  const Tree reference = build_reference();
  for (const auto& vector : reference_inclusion_proofs()) {
    CHECK_FALSE(merkle_verify_inclusion(vector.index, vector.size * 2, reference.leaves[vector.index], vector.proof,
                                        reference.roots[vector.size]));
    CHECK_FALSE(merkle_verify_inclusion(vector.index, vector.size / 2, reference.leaves[vector.index], vector.proof,
                                        reference.roots[vector.size]));
  }
}

TEST_CASE("merkle: an inclusion proof does not verify with a wrong leaf or root") {
  const Tree tree = build_reference();
  for (const auto& vector : reference_inclusion_proofs()) {
    const Hash32& leaf = tree.leaves[vector.index];
    const Hash32& root = tree.roots[vector.size];
    CHECK_FALSE(merkle_verify_inclusion(vector.index, vector.size, some_hash(), vector.proof, root));
    CHECK_FALSE(merkle_verify_inclusion(vector.index, vector.size, Hash32{}, vector.proof, root));
    CHECK_FALSE(merkle_verify_inclusion(vector.index, vector.size, leaf, vector.proof, merkle_empty_root()));
    CHECK_FALSE(merkle_verify_inclusion(vector.index, vector.size, leaf, vector.proof, some_hash()));
    CHECK_FALSE(merkle_verify_inclusion(vector.index, vector.size, root, vector.proof, leaf == root ? some_hash() : leaf));
    // SHA-256 of a record without the 0x00 leaf prefix (leaf 0's record is empty) is not its leaf hash.
    CHECK_FALSE(merkle_verify_inclusion(vector.index, vector.size, merkle_empty_root(), vector.proof, root));
  }
}

TEST_CASE("merkle: inclusion verification refuses leaf_index >= size and size 0") {
  const Tree tree = build_reference();
  CHECK_FALSE(merkle_verify_inclusion(0, 0, merkle_empty_root(), {}, merkle_empty_root()));
  CHECK_FALSE(merkle_verify_inclusion(0, 0, some_hash(), {}, some_hash()));
  CHECK_FALSE(merkle_verify_inclusion(1, 1, tree.leaves[0], {}, tree.roots[1]));
  CHECK_FALSE(merkle_verify_inclusion(2, 1, tree.leaves[0], {}, tree.roots[1]));
  CHECK_FALSE(merkle_verify_inclusion(8, 8, tree.leaves[7], inclusion_ok(tree, 7, 8), tree.roots[8]));
  CHECK_FALSE(merkle_verify_inclusion(UINT64_MAX, UINT64_MAX, tree.leaves[0], {}, tree.leaves[0]));
  CHECK_FALSE(merkle_verify_inclusion(UINT64_MAX, 8, tree.leaves[7], inclusion_ok(tree, 7, 8), tree.roots[8]));
  // The boundary on the valid side: the last leaf.
  CHECK(merkle_verify_inclusion(7, 8, tree.leaves[7], inclusion_ok(tree, 7, 8), tree.roots[8]));
  CHECK(merkle_verify_inclusion(0, 1, tree.leaves[0], {}, tree.roots[1]));
}

TEST_CASE("merkle: the inclusion proof builder refuses leaf_index >= size and size 0 with a message") {
  const Tree tree = build_reference();
  for (const auto& [index, size] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{
           {0, 0}, {1, 0}, {8, 8}, {9, 8}, {1, 1}, {UINT64_MAX, UINT64_MAX}, {UINT64_MAX, 0}}) {
    tree.reads = 0;
    auto proof = merkle_inclusion_proof(index, size, tree.reader());
    REQUIRE_FALSE(proof.has_value());
    CHECK(proof.error().find("leaf index") != std::string::npos);
    CHECK(tree.reads == 0);
  }
  CHECK(merkle_inclusion_proof(7, 8, tree.reader()).has_value());
}

// ---- Consistency: what must not verify ----

TEST_CASE("merkle: a consistency proof with any one bit flipped does not verify") {
  const Tree tree = build_reference();
  for (const auto& vector : reference_consistency_proofs()) {
    for (std::size_t element = 0; element < vector.proof.size(); ++element) {
      for (unsigned bit = 0; bit < 256; ++bit) {
        CHECK_FALSE(merkle_verify_consistency(vector.size1, vector.size2, tree.roots[vector.size1],
                                              tree.roots[vector.size2], with_bit_flipped(vector.proof, element, bit)));
      }
    }
  }
  const Tree big = build_numbered(40);
  for (std::uint64_t n = 2; n <= 40; ++n) {
    for (std::uint64_t m = 1; m < n; ++m) {
      const auto proof = consistency_ok(big, m, n);
      for (std::size_t element = 0; element < proof.size(); ++element) {
        const auto bit = static_cast<unsigned>((element * 41 + m) % 256);
        CHECK_FALSE(merkle_verify_consistency(m, n, big.roots[m], big.roots[n], with_bit_flipped(proof, element, bit)));
      }
    }
  }
}

TEST_CASE("merkle: a consistency proof one hash too short or too long does not verify") {
  const Tree tree = build_numbered(40);
  for (std::uint64_t n = 2; n <= 40; ++n) {
    for (std::uint64_t m = 1; m < n; ++m) {
      INFO(m << " -> " << n);
      const auto proof = consistency_ok(tree, m, n);
      const Hash32& root1 = tree.roots[m];
      const Hash32& root2 = tree.roots[n];
      CHECK_FALSE(merkle_verify_consistency(m, n, root1, root2, without_last(proof)));
      CHECK_FALSE(merkle_verify_consistency(m, n, root1, root2, without_first(proof)));
      CHECK_FALSE(merkle_verify_consistency(m, n, root1, root2, appended(proof, Hash32{})));
      CHECK_FALSE(merkle_verify_consistency(m, n, root1, root2, appended(proof, root1)));
      CHECK_FALSE(merkle_verify_consistency(m, n, root1, root2, appended(proof, root2)));
      CHECK_FALSE(merkle_verify_consistency(m, n, root1, root2, prepended(proof, Hash32{})));
      CHECK_FALSE(merkle_verify_consistency(m, n, root1, root2, prepended(proof, root1)));
      CHECK_FALSE(merkle_verify_consistency(m, n, root1, root2, prepended(proof, root2)));
      CHECK_FALSE(merkle_verify_consistency(m, n, root1, root2, prepended(proof, proof[0])));
    }
  }
}

TEST_CASE("merkle: a consistency proof does not verify with swapped or wrong roots") {
  const Tree tree = build_numbered(40);
  for (std::uint64_t n = 2; n <= 40; ++n) {
    for (std::uint64_t m = 1; m < n; ++m) {
      const auto proof = consistency_ok(tree, m, n);
      const Hash32& root1 = tree.roots[m];
      const Hash32& root2 = tree.roots[n];
      CHECK_FALSE(merkle_verify_consistency(m, n, root2, root1, proof));
      CHECK_FALSE(merkle_verify_consistency(m, n, some_hash(), root2, proof));
      CHECK_FALSE(merkle_verify_consistency(m, n, root1, some_hash(), proof));
      CHECK_FALSE(merkle_verify_consistency(m, n, root1, root1, proof));
      CHECK_FALSE(merkle_verify_consistency(m, n, tree.roots[m - 1], root2, proof));
      CHECK_FALSE(merkle_verify_consistency(m, n, root1, tree.roots[n - 1], proof));
    }
  }
}

TEST_CASE("merkle: a consistency proof does not verify at other sizes") {
  // transparency-dev's probes on the reference vectors: size1 - 1, size1 + 1, size1 ^ 2, size2 * 2,
  // size2 / 2, each with the original roots.
  const Tree tree = build_reference();
  for (const auto& vector : reference_consistency_proofs()) {
    if (vector.proof.empty()) continue;
    const std::uint64_t s1 = vector.size1;
    const std::uint64_t s2 = vector.size2;
    const Hash32& r1 = tree.roots[s1];
    const Hash32& r2 = tree.roots[s2];
    CHECK_FALSE(merkle_verify_consistency(s1 - 1, s2, r1, r2, vector.proof));
    CHECK_FALSE(merkle_verify_consistency(s1 + 1, s2, r1, r2, vector.proof));
    CHECK_FALSE(merkle_verify_consistency(s1 ^ 2, s2, r1, r2, vector.proof));
    CHECK_FALSE(merkle_verify_consistency(s1, s2 * 2, r1, r2, vector.proof));
    CHECK_FALSE(merkle_verify_consistency(s1, s2 / 2, r1, r2, vector.proof));
  }
  // And with the true roots of the claimed sizes, in every tree up to 24 leaves.
  const Tree big = build_numbered(24);
  for (std::uint64_t n = 2; n <= 24; ++n) {
    for (std::uint64_t m = 1; m < n; ++m) {
      const auto proof = consistency_ok(big, m, n);
      for (std::uint64_t other = 1; other <= 24; ++other) {
        if (other != m) CHECK_FALSE(merkle_verify_consistency(other, n, big.roots[other], big.roots[n], proof));
        if (other != n && other >= m) CHECK_FALSE(merkle_verify_consistency(m, other, big.roots[m], big.roots[other], proof));
      }
    }
  }
}

TEST_CASE("merkle: consistency verification refuses size1 > size2 and the empty proof for size1 < size2") {
  const Tree tree = build_reference();
  for (std::uint64_t n = 1; n <= 8; ++n) {
    for (std::uint64_t m = 1; m < n; ++m) {
      CHECK_FALSE(merkle_verify_consistency(m, n, tree.roots[m], tree.roots[n], {}));
      CHECK_FALSE(merkle_verify_consistency(n, m, tree.roots[n], tree.roots[m], consistency_ok(tree, m, n)));
      CHECK_FALSE(merkle_verify_consistency(n, m, tree.roots[n], tree.roots[m], {}));
    }
  }
  CHECK_FALSE(merkle_verify_consistency(2, 1, tree.roots[1], tree.roots[1], {}));
  CHECK_FALSE(merkle_verify_consistency(UINT64_MAX, UINT64_MAX - 1, some_hash(), some_hash(), {}));
}

TEST_CASE("merkle: consistency from the empty tree is neither built nor verified") {
  const Tree tree = build_reference();
  auto proof = merkle_consistency_proof(0, 8, tree.reader());
  REQUIRE_FALSE(proof.has_value());
  CHECK(proof.error().find("first tree size is 0") != std::string::npos);
  REQUIRE_FALSE(merkle_consistency_proof(0, 0, tree.reader()).has_value());
  CHECK_FALSE(merkle_verify_consistency(0, 8, merkle_empty_root(), tree.roots[8], {}));
  CHECK_FALSE(merkle_verify_consistency(0, 0, merkle_empty_root(), merkle_empty_root(), {}));
  CHECK_FALSE(merkle_verify_consistency(0, 1, merkle_empty_root(), tree.roots[1], {}));
  CHECK_FALSE(merkle_verify_consistency(0, 8, merkle_empty_root(), tree.roots[8], consistency_ok(tree, 1, 8)));
}

TEST_CASE("merkle: equal sizes are consistent only with the empty proof and identical roots") {
  const Tree tree = build_reference();
  for (std::uint64_t n = 1; n <= 8; ++n) {
    auto proof = merkle_consistency_proof(n, n, tree.reader(n));
    REQUIRE(proof.has_value());
    CHECK(proof->empty());
    CHECK(merkle_verify_consistency(n, n, tree.roots[n], tree.roots[n], {}));
    CHECK_FALSE(merkle_verify_consistency(n, n, tree.roots[n], tree.roots[n], std::vector<Hash32>{tree.roots[n]}));
    CHECK_FALSE(merkle_verify_consistency(n, n, tree.roots[n], tree.roots[n], std::vector<Hash32>{merkle_empty_root()}));
    CHECK_FALSE(merkle_verify_consistency(n, n, tree.roots[n], some_hash(), {}));
    CHECK_FALSE(merkle_verify_consistency(n, n, tree.roots[n], tree.roots[n - 1], {}));
  }
}

TEST_CASE("merkle: the consistency proof builder refuses size1 > size2 with a message") {
  const Tree tree = build_reference();
  for (const auto& [size1, size2] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{
           {2, 1}, {9, 8}, {8, 7}, {UINT64_MAX, UINT64_MAX - 1}, {1, 0}}) {
    tree.reads = 0;
    auto proof = merkle_consistency_proof(size1, size2, tree.reader());
    REQUIRE_FALSE(proof.has_value());
    CHECK(proof.error().find("larger than") != std::string::npos);
    CHECK(tree.reads == 0);
  }
}

// ---- A failing store ----

TEST_CASE("merkle: a failing node reader's error is passed through, never replaced by a hash") {
  const Tree tree = build_numbered(70);
  const auto good = tree.reader();
  // Fails at read number `fail_at` (counting from 0) with a message naming it.
  const auto failing = [&](std::size_t fail_at) {
    auto count = std::make_shared<std::size_t>(0);
    return MerkleNodeReader([=](unsigned level, std::uint64_t index) -> std::expected<Hash32, std::string> {
      if ((*count)++ == fail_at) return std::unexpected("disk I/O error at read " + std::to_string(fail_at));
      return good(level, index);
    });
  };
  const auto expect_failure = [](const auto& result, std::size_t fail_at) {
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error() == "disk I/O error at read " + std::to_string(fail_at));
  };
  for (const std::uint64_t n : std::initializer_list<std::uint64_t>{1, 2, 3, 7, 8, 9, 45, 63, 64, 69, 70}) {
    INFO("size " << n);
    for (std::size_t k = 0; k < static_cast<std::size_t>(std::popcount(n)); ++k) {
      expect_failure(merkle_root(n, failing(k)), k);
      expect_failure(MerkleAccumulator::resume(n, failing(k)), k);
    }
    for (const std::uint64_t m : {std::uint64_t{0}, n / 2, n - 1}) {
      tree.reads = 0;
      inclusion_ok(tree, m, n);
      const std::size_t reads = tree.reads;
      for (std::size_t k = 0; k < reads; ++k) expect_failure(merkle_inclusion_proof(m, n, failing(k)), k);
    }
    for (const std::uint64_t m : {std::uint64_t{1}, (n + 1) / 2, n - 1}) {
      if (m == 0 || m >= n) continue;
      tree.reads = 0;
      consistency_ok(tree, m, n);
      const std::size_t reads = tree.reads;
      REQUIRE(reads > 0);
      for (std::size_t k = 0; k < reads; ++k) expect_failure(merkle_consistency_proof(m, n, failing(k)), k);
    }
  }
  // A node the store does not have is an error, not a zero hash.
  auto root = merkle_root(71, tree.reader(71));
  REQUIRE_FALSE(root.has_value());
  CHECK(root.error() == "node not stored");
  auto past = merkle_inclusion_proof(3, 71, tree.reader(70));
  REQUIRE_FALSE(past.has_value());
  CHECK(past.error() == "node past the tree size");
}

}  // TEST_SUITE

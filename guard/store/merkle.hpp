// The Merkle tree of the tamper-evident decision log: RFC 9162 (Certificate Transparency 2.0),
// section 2.1, with SHA-256. Tree hashes, inclusion and consistency proofs, their verification, and
// a streaming accumulator that appends leaves in O(log n) memory.
//
// Pure: no I/O, no database. Stored nodes are read through MerkleNodeReader, which the log's store
// implements (and which may fail: its error string is passed through unchanged).
//
// Layout of stored nodes: a "perfect, aligned subtree" at (level, index) is the tree over the leaves
// [index << level, (index + 1) << level); level 0 holds the leaf hashes. These are the only nodes
// that never change once written: every other node of a growing tree is recomputed from them.
//
// Thread safety: the free functions are reentrant (they call `nodes` on the calling thread, only
// during the call). A MerkleAccumulator is a plain value: const members may run concurrently,
// append() needs exclusive access.
#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "policy/codec/bytes.hpp"

namespace txguard::store {

using codec::Hash32;

/// The hash of a leaf: SHA-256(0x00 || record). `record` is the log entry as stored.
Hash32 merkle_leaf_hash(codec::ByteView record);

/// The hash of an interior node: SHA-256(0x01 || left || right).
Hash32 merkle_node_hash(const Hash32& left, const Hash32& right);

/// MTH({}) = SHA-256("") (e3b0c442...b855), the root of the empty tree.
Hash32 merkle_empty_root();

/// Returns the hash of the perfect, aligned subtree over leaves [index << level, (index+1) << level)
/// of the log, or an error (a failed read, a node that is not stored). Only ever called for subtrees
/// that lie entirely inside the tree size the caller passed, so index << level never overflows.
using MerkleNodeReader = std::function<std::expected<Hash32, std::string>(unsigned level, std::uint64_t index)>;

/// MTH(D[0:size]): the root of the tree of the first `size` leaves; merkle_empty_root() for 0 (no
/// read). Reads the popcount(size) perfect subtrees of the decomposition of [0, size) (at most 64).
/// Fails only with the first error returned by `nodes`.
std::expected<Hash32, std::string> merkle_root(std::uint64_t size, const MerkleNodeReader& nodes);

/// RFC 9162 2.1.3.1: PATH(leaf_index, D[0:size]), the inclusion proof of leaf `leaf_index` in the
/// tree of `size` leaves, ordered from the leaf's sibling up to the root's child (empty for size 1).
/// Reads O(log size) nodes. Fails with a message when leaf_index >= size (which includes size 0), or
/// with the first error returned by `nodes`.
std::expected<std::vector<Hash32>, std::string> merkle_inclusion_proof(std::uint64_t leaf_index, std::uint64_t size,
                                                                        const MerkleNodeReader& nodes);

/// RFC 9162 2.1.4.1: PROOF(size1, D[0:size2]) = SUBPROOF(size1, D[0:size2], true), the proof that the
/// tree of size1 leaves is a prefix of the tree of size2 leaves. Empty when size1 == size2 (no read).
/// Reads O(log size2) nodes. Fails with a message when size1 == 0 (the RFC defines no proof from the
/// empty tree) or size1 > size2, or with the first error returned by `nodes`.
std::expected<std::vector<Hash32>, std::string> merkle_consistency_proof(std::uint64_t size1, std::uint64_t size2,
                                                                          const MerkleNodeReader& nodes);

/// RFC 9162 2.1.3.2, as written: true iff `proof` proves that `leaf` (a leaf hash, not the record)
/// is leaf `leaf_index` of the tree of `size` leaves whose root is `root`. False for
/// leaf_index >= size (so for size 0), a proof of the wrong length, or any hash mismatch. Never throws;
/// any input is allowed.
bool merkle_verify_inclusion(std::uint64_t leaf_index, std::uint64_t size, const Hash32& leaf,
                             std::span<const Hash32> proof, const Hash32& root) noexcept;

/// RFC 9162 2.1.4.2, as written, for 0 < size1 < size2: true iff `proof` proves that the tree of
/// size1 leaves with root `root1` is a prefix of the tree of size2 leaves with root `root2`.
/// size1 == size2 > 0: true iff `proof` is empty and root1 == root2 (what merkle_consistency_proof
/// returns there; the RFC algorithm itself rejects an empty path). False for size1 == 0 (even though
/// the empty tree is a prefix of every tree: nothing is proven, so nothing is claimed), size1 > size2,
/// a proof of the wrong length, or any hash mismatch. Never throws; any input is allowed.
bool merkle_verify_consistency(std::uint64_t size1, std::uint64_t size2, const Hash32& root1, const Hash32& root2,
                               std::span<const Hash32> proof) noexcept;

/// A perfect, aligned subtree (see the layout above): the unit a store persists.
struct MerkleNode {
  unsigned level = 0;
  std::uint64_t index = 0;
  Hash32 hash{};

  friend bool operator==(const MerkleNode&, const MerkleNode&) = default;
};

/// The streaming form of the tree (a "compact range" over [0, size)): it keeps only the roots of the
/// perfect subtrees that [0, size) decomposes into, at most 64 hashes.
class MerkleAccumulator {
 public:
  /// The empty tree.
  MerkleAccumulator() = default;

  /// Resumes the tree of `size` leaves from stored nodes: reads the popcount(size) perfect subtrees
  /// of [0, size) through `nodes` (the same reads as merkle_root). Fails with the first error
  /// returned by `nodes`.
  static std::expected<MerkleAccumulator, std::string> resume(std::uint64_t size, const MerkleNodeReader& nodes);

  /// Appends leaf number size() with leaf hash `leaf` (merkle_leaf_hash of its record). Returns every
  /// perfect subtree this leaf completes, level 0 first: (0, n, leaf), then (1, n >> 1, ...) while the
  /// subtree closes, up to the largest one ending at this leaf. Persisting every returned node, for
  /// every append, stores exactly the nodes the proof builders and merkle_root read for any size up
  /// to size(). Throws std::length_error when size() is already 2^64 - 1 (unreachable for a log).
  std::vector<MerkleNode> append(const Hash32& leaf);

  /// The number of leaves appended (or resumed).
  std::uint64_t size() const noexcept { return size_; }

  /// MTH of every leaf appended so far; merkle_empty_root() when empty. Equal to
  /// merkle_root(size(), nodes) over the nodes returned by append().
  Hash32 root() const;

 private:
  std::uint64_t size_ = 0;
  // Roots of the perfect subtrees of [0, size_), largest (leftmost) first: one per set bit of size_.
  std::vector<Hash32> peaks_;
};

}  // namespace txguard::store

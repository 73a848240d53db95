// Validator sets of a bridge route and the attestations they sign: the set history (each set with the
// time from which it is valid and, once replaced, when it expires), quorum rules beyond two thirds
// (an absolute minimum of signatures, a minimum of distinct operators: Ronin lost $620M to 5 of 9 keys,
// 4 of them run by one organisation), Wormhole VAA v1 verification, and rotation by a guardian set
// upgrade VAA signed by a quorum of the current set.
//
// Rules (wormhole-foundation/wormhole ethereum/contracts/Messages.sol verifyVMInternal, Governance.sol
// submitNewGuardianSet): version 1; the set exists, is non-empty, and is valid at the given time
// (valid_from <= at < expires_at; a replaced set stays valid for the history's overlap, 24 h by
// default); at least max(floor(2n/3)+1, min_signatures) signatures; guardian indices strictly
// ascending and < n; each signature (v = 0/1, low s) recovers to the key at its index; one bad
// signature fails the whole VAA. The version byte and the set index are not covered by the
// signatures, so they are checked explicitly.
//
// Reason codes are stable kebab-case strings for clients and tests:
//   bad-version, validator-set-unknown, validator-set-empty, validator-set-not-yet-valid,
//   validator-set-expired, no-quorum, signer-indices-not-ascending, guardian-index-out-of-range,
//   bad-recovery-id, non-canonical-signature, signature-invalid, too-few-operators;
//   rotation adds not-current-set, not-governance-emitter, not-a-guardian-set-upgrade, bad-new-index,
//   empty-new-set, zero-key, duplicate-key, valid-before-signed.
//
// Pure (no I/O, no clock: time is a parameter), every function thread-safe on const inputs, nothing
// throws on bad input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/vaa.hpp"
#include "policy/state_view.hpp"

namespace txguard::policy {

struct Validator {
  codec::Address address;
  /// The organisation running the key. A file that omits it gets the EIP-55 address itself, so each
  /// such key counts as its own operator.
  std::string operator_name;
  bool operator==(const Validator&) const = default;
};

struct ValidatorSet {
  std::uint32_t index = 0;
  std::vector<Validator> validators;
  TimeMs valid_from_ms = 0;
  std::optional<TimeMs> expires_at_ms;  // none while the set is current
  std::optional<codec::Bytes> upgrade;  // the VAA that installed it; none for the genesis set
  bool operator==(const ValidatorSet&) const = default;
};

struct ValidatorSetHistory {
  std::string name;
  std::string times_note;  // where the valid_from / expires_at times come from
  TimeMs overlap_ms = 86'400'000;
  std::uint16_t governance_chain = 1;
  codec::Hash32 governance_emitter = [] {
    codec::Hash32 h{};
    h[31] = 4;
    return h;
  }();
  std::vector<ValidatorSet> sets;  // ascending, contiguous indices; never empty once loaded

  /// The set with `index`, or nullptr.
  const ValidatorSet* find(std::uint32_t index) const;
  /// The last set. Precondition: sets is not empty (always true for a loaded or built history).
  const ValidatorSet& current() const;
  bool operator==(const ValidatorSetHistory&) const = default;
};

struct QuorumRule {
  std::size_t min_signatures = 0;  // an absolute floor on top of two thirds
  std::size_t min_operators = 0;   // distinct operator_name among the signers
};

/// max(floor(2n/3) + 1, rule.min_signatures).
std::size_t required_signatures(std::size_t n, const QuorumRule& rule);

/// Why set `index` cannot judge an attestation at `at`, or nullopt when it can:
/// "validator-set-unknown" | "validator-set-empty" | "validator-set-not-yet-valid" (at < valid_from) |
/// "validator-set-expired" (at >= expires_at).
std::optional<std::string_view> set_unusable(const ValidatorSetHistory& history, std::uint32_t index, TimeMs at);

struct QuorumCheck {
  bool ok = false;
  std::string reason;  // "no-quorum" | "too-few-operators" when !ok
  std::string detail;
  std::size_t signatures = 0;  // distinct in-range members counted
  std::size_t required = 0;
  std::size_t operators = 0;   // distinct operator names among them
};

/// Whether the members at `member_indices` (indices into set.validators whose signatures the caller
/// has verified) make a quorum. Duplicates and out-of-range indices are not counted.
QuorumCheck check_quorum(const ValidatorSet& set, std::span<const std::size_t> member_indices, const QuorumRule& rule);

struct VaaVerification {
  bool valid = false;
  std::string reason;  // a code above when !valid
  std::string detail;  // one human line when !valid
  std::vector<std::pair<std::uint8_t, codec::Address>> signers;  // guardian index and recovered address (when valid)
  std::size_t required = 0;
  std::size_t operators = 0;
};

/// Verifies a decoded VAA against the set it names, at time `at`. Checks, in order: version, the set,
/// the number of signatures, then each signature (ascending index, index < n, v in {0,1}, low s,
/// recovers to the key at its index), then the operator count.
VaaVerification verify_vaa(const codec::Vaa& vaa, const ValidatorSetHistory& history, TimeMs at,
                           const QuorumRule& rule = {});

/// Rotation: `vaa` must be a guardian set upgrade (module "Core", action 2, for every chain) from the
/// governance emitter, verified with the default quorum by the CURRENT set at `at` (>= the VAA's
/// timestamp), installing index current+1 with a non-empty list of distinct non-zero keys. Returns
/// the new history: the replaced set expires at `at` + overlap and the new set is valid from `at`.
std::expected<ValidatorSetHistory, VaaVerification> apply_upgrade(const ValidatorSetHistory& history,
                                                                  const codec::Vaa& vaa, TimeMs at);

/// Loads txguard's validator set history file:
///   {"txguard_validator_sets": 1, "name": "...", "times": "<where the times come from>",
///    "overlap": "24h", "governance": {"chain": 1, "emitter": "0x<32 bytes>"},
///    "sets": [{"index": N, "valid_from": RFC 3339, "expires_at": RFC 3339 (not on the last set),
///              "validators": [{"address": "0x...", "operator": "..."?}],
///              "upgrade": "0x<VAA>" (not on the first set)}]}
/// overlap and governance are optional (24h; chain 1, emitter 0x00..04). Unknown fields are refused.
/// Every set after the first is re-verified exactly as apply_upgrade would install it at its
/// valid_from, and the previous set must expire at valid_from + overlap. Fails with every problem
/// found, each "PATH: problem".
std::expected<ValidatorSetHistory, std::vector<std::string>> load_validator_sets(std::string_view text);

/// The file form of `history` (pretty JSON, fixed key order, a trailing newline); load_validator_sets
/// gives back an equal history. An operator equal to the address's EIP-55 form is omitted.
std::string to_json_text(const ValidatorSetHistory& history);

}  // namespace txguard::policy

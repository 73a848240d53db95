// The state of a held request: pending, approved, rejected or expired, from its hold requirements
// (policy/evaluate.hpp, Decision::holds), the approvals recorded so far (policy/approval.hpp,
// verify_approval) and the time.
//
// A held request is released only when EVERY requirement is met at once: for each, at least
// `quorum` approvals from its eligible approvers, and the time is at or after its not_before_ms; and
// no requirement has expired (now >= expires_at_ms). It is rejected when an eligible approver of a
// requirement with reject_denies rejects it, or when so many of a requirement's approvers have
// rejected that its quorum can no longer be reached. Rejection and expiry are final; the guard then
// releases the request's reservations (StateStore::release_reservation) and approval commits them.
//
// Pure and reentrant.
#pragma once

#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/approval.hpp"
#include "policy/evaluate.hpp"

namespace txguard::policy {

enum class HoldState { kPending, kApproved, kRejected, kExpired };
std::string_view to_string(HoldState s) noexcept;  // "pending", "approved", "rejected", "expired"

struct RequirementStatus {
  std::string rule;
  std::size_t approvals = 0;   // eligible approvals counted
  std::size_t rejections = 0;  // eligible rejections counted
  std::size_t quorum = 1;
  bool quorum_met = false;
  bool delay_passed = false;
};

struct HoldStatus {
  HoldState state = HoldState::kPending;
  std::string why;                          // for humans: what is missing, or who rejected
  std::vector<RequirementStatus> requirements;
  /// When pending with every quorum met: the earliest time it can be released.
  TimeMs ready_at_ms = 0;
};

/// Evaluates the hold. `approvals` are verified ones (each approver at most once, as verify_approval
/// guarantees); approvals by someone not eligible for a requirement do not count for it. An empty
/// `holds` is a programming error and yields kRejected with a reason.
HoldStatus hold_status(std::span<const HoldRequirement> holds, std::span<const Approval> approvals, TimeMs now_ms);

/// The approvers eligible for any requirement of the hold (who may sign an approval for it).
std::vector<std::string> eligible_approvers(std::span<const HoldRequirement> holds);

nlohmann::json to_json(const HoldStatus& status);

}  // namespace txguard::policy

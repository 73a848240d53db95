#include "policy/holds.hpp"

#include <algorithm>
#include <set>

namespace txguard::policy {

std::string_view to_string(HoldState s) noexcept {
  switch (s) {
    case HoldState::kPending: return "pending";
    case HoldState::kApproved: return "approved";
    case HoldState::kRejected: return "rejected";
    case HoldState::kExpired: return "expired";
  }
  return "unknown";
}

HoldStatus hold_status(std::span<const HoldRequirement> holds, std::span<const Approval> approvals, TimeMs now_ms) {
  HoldStatus out;
  if (holds.empty()) {
    out.state = HoldState::kRejected;
    out.why = "no hold requirements: nothing can approve it";
    return out;
  }
  bool all_met = true;
  TimeMs ready = 0;
  for (const auto& h : holds) {
    RequirementStatus rs;
    rs.rule = h.rule;
    rs.quorum = h.quorum;
    std::set<std::string> seen;  // an approver counts once even if recorded twice
    for (const auto& a : approvals) {
      if (std::find(h.approvers.begin(), h.approvers.end(), a.approver) == h.approvers.end()) continue;
      if (!seen.insert(a.approver).second) continue;
      if (a.verdict == ApprovalVerdict::kApprove) ++rs.approvals;
      else ++rs.rejections;
      if (a.verdict == ApprovalVerdict::kReject && h.reject_denies && out.state != HoldState::kRejected) {
        out.state = HoldState::kRejected;
        out.why = a.approver + " rejected it (rule " + h.rule + ")";
      }
    }
    if (out.state != HoldState::kRejected && h.approvers.size() - rs.rejections < h.quorum) {
      out.state = HoldState::kRejected;
      out.why = "rule " + h.rule + " can no longer reach its quorum of " + std::to_string(h.quorum) + " (" +
                std::to_string(rs.rejections) + " rejected)";
    }
    rs.quorum_met = rs.approvals >= h.quorum;
    rs.delay_passed = now_ms >= h.not_before_ms;
    all_met = all_met && rs.quorum_met;
    ready = std::max(ready, h.not_before_ms);
    if (out.state == HoldState::kPending && now_ms >= h.expires_at_ms) {
      out.state = HoldState::kExpired;
      out.why = "rule " + h.rule + "'s hold expired";
    }
    out.requirements.push_back(std::move(rs));
  }
  if (out.state != HoldState::kPending) return out;
  if (!all_met) {
    for (const auto& rs : out.requirements) {
      if (!rs.quorum_met) {
        out.why = "rule " + rs.rule + " has " + std::to_string(rs.approvals) + " of " + std::to_string(rs.quorum) +
                  " approvals";
        break;
      }
    }
    return out;
  }
  out.ready_at_ms = ready;
  if (now_ms < ready) {
    out.why = "approved; released at " + format_time(ready) + " when the delay has passed";
    return out;
  }
  out.state = HoldState::kApproved;
  out.why = "every quorum met and every delay passed";
  return out;
}

std::vector<std::string> eligible_approvers(std::span<const HoldRequirement> holds) {
  std::set<std::string> names;
  for (const auto& h : holds) names.insert(h.approvers.begin(), h.approvers.end());
  return {names.begin(), names.end()};
}

nlohmann::json to_json(const HoldStatus& status) {
  nlohmann::json reqs = nlohmann::json::array();
  for (const auto& r : status.requirements) {
    reqs.push_back({{"rule", r.rule},
                    {"approvals", r.approvals},
                    {"rejections", r.rejections},
                    {"quorum", r.quorum},
                    {"quorum_met", r.quorum_met},
                    {"delay_passed", r.delay_passed}});
  }
  nlohmann::json out = {{"state", to_string(status.state)}, {"why", status.why}, {"requirements", reqs}};
  if (status.ready_at_ms != 0) out["ready_at_ms"] = status.ready_at_ms;
  return out;
}

}  // namespace txguard::policy

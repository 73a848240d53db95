#include "policy/judge.hpp"

#include <algorithm>

namespace txguard::policy {

namespace {

std::optional<TimeMs> paused_at(std::span<const PauseInForce> pauses, std::string_view scope) {
  const auto it = std::find_if(pauses.begin(), pauses.end(), [&](const PauseInForce& p) { return p.scope == scope; });
  if (it == pauses.end()) return std::nullopt;
  return it->at_ms;
}

}  // namespace

std::optional<std::string> pause_covering(std::span<const PauseInForce> pauses, bool lifts_a_pause,
                                          std::string_view route) {
  if (lifts_a_pause) return std::nullopt;
  for (const auto& p : pauses) {
    if (p.scope == kPauseEverything || (!route.empty() && p.scope == route)) return p.scope;
  }
  return std::nullopt;
}

StateResult<Judgement> judge_request(const Policy& policy, const PriceTable& prices, const RequestToJudge& request,
                                     const StateView& state) {
  Judgement out;
  Decision& decision = out.decision;
  decision.decision_id = request.decision_id;
  decision.requester = request.requester;
  decision.at_ms = request.now_ms;
  decision.policy_name = policy.name;
  decision.policy_hash = policy.hash;
  const auto refuse = [&](std::string_view code, std::string message) {
    decision.verdict = Verdict::kDeny;
    decision.reasons.push_back(Reason{std::string(code), std::move(message), std::nullopt, {}, std::nullopt});
  };

  if (request.holder && request.claim) {
    // Once only: never a second digest for one (chain, account, nonce).
    const NonceClaim& c = *request.claim;
    refuse(reason::kNonceAlreadySigned, "nonce " + c.nonce + " of " + c.account + " on chain " + c.chain +
                                            " is already taken by request " + request.holder->decision_id + " (" +
                                            request.holder->status + ") with another hash");
    return out;
  }
  if (request.unpause_scope) {
    const std::string& scope = *request.unpause_scope;
    const auto at = paused_at(request.pauses, scope);
    if (!at) {
      refuse(reason::kNotPaused, "\"" + scope + "\" is not paused");
    } else if (!policy.bridges.unpause) {
      refuse(reason::kNoUnpauseApprovers, "the policy names no approvers for bridges.unpause");
    } else {
      decision.verdict = Verdict::kHold;
      decision.rule = std::string(kUnpauseRule);
      decision.holds.push_back(hold_requirement(policy, *policy.bridges.unpause, decision.rule, request.now_ms));
      decision.reasons.push_back(Reason{std::string(reason::kHoldRequired),
                                        "lifting the pause of \"" + scope + "\" (since " + format_time(*at) +
                                            ") needs the approvers' quorum",
                                        std::nullopt, decision.rule, std::nullopt});
    }
    return out;
  }
  if (paused_at(request.pauses, kPauseEverything) && !request.evaluate_only) {
    refuse(bridge_reason::kAllPaused, "every signing request is paused");
    return out;
  }
  if (request.release != nullptr && request.source != nullptr) {
    const RouteSpec& route = policy.bridges.routes.at(request.release->route);
    BridgeState bridge_state = request.bridge_state;
    bridge_state.route_paused = paused_at(request.pauses, route.name).has_value();
    out.bridge = judge_release(policy, *request.release, *request.intent, *request.source, bridge_state, request.now_ms);
    if (out.bridge->outcome != BridgeJudgement::Outcome::kPass) {
      out.deferred = out.bridge->outcome == BridgeJudgement::Outcome::kDefer;
      decision.verdict = out.deferred ? Verdict::kHold : Verdict::kDeny;
      decision.rule = "bridges.routes." + route.name;
      for (const auto& r : out.bridge->reasons) {
        decision.reasons.push_back(Reason{r.code, r.message, std::nullopt, decision.rule, std::nullopt});
      }
      return out;
    }
  }
  auto judged = evaluate(policy, EvalInput{request.intent, request.requester, request.now_ms, request.decision_id},
                         prices, state);
  if (!judged) return std::unexpected(judged.error());
  out.decision = std::move(*judged);
  out.rules_judged = true;
  if (out.decision.verdict == Verdict::kAllow && !request.evaluate_only) out.permit = SigningPermit(request.digest);
  return out;
}

HoldRelease judge_hold_release(std::span<const HoldRequirement> holds, std::span<const Approval> approvals,
                               TimeMs now_ms, std::span<const PauseInForce> pauses, bool lifts_a_pause,
                               std::string_view route, const codec::Hash32& digest) {
  HoldRelease out;
  out.status = hold_status(holds, approvals, now_ms);
  if (out.status.state != HoldState::kApproved || lifts_a_pause) return out;
  out.paused_by = pause_covering(pauses, lifts_a_pause, route);
  if (!out.paused_by) out.permit = SigningPermit(digest);
  return out;
}

}  // namespace txguard::policy

// The one pure entry point that decides a signing request: once only, emergency pauses, the request to
// lift a pause, a bridge release's own checks, then the policy's rules. The service (guard/) only
// gathers what this reads (the claim's holder, the pauses in force, the bridge state, the velocity
// state through the view) and applies what it returns; replay calls the very same function.
//
// Order, first that applies wins:
//   1. once only: another live request holds the (chain, account, nonce) -> deny nonce-already-signed;
//   2. a request to lift a pause -> a hold for the policy's bridges.unpause approvers (deny not-paused
//      or no-unpause-approvers when it cannot be);
//   3. a pause of everything ("*") -> deny all-paused (an evaluation without effects still answers);
//   4. a bridge release -> judge_release (deny, or defer: held, nothing taken), then the rules;
//   5. the policy's rules (policy::evaluate).
//
// Pure: no I/O, no clock. Thread safety: reentrant.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/bridge.hpp"
#include "policy/document.hpp"
#include "policy/evaluate.hpp"
#include "policy/prices.hpp"
#include "policy/state_view.hpp"

namespace txguard::policy {

namespace reason {
inline constexpr std::string_view kNonceAlreadySigned = "nonce-already-signed";
inline constexpr std::string_view kNotPaused = "not-paused";
inline constexpr std::string_view kNoUnpauseApprovers = "no-unpause-approvers";
}  // namespace reason

/// The scope of the rule that lifts pauses, as decisions and holds name it.
inline constexpr std::string_view kUnpauseRule = "bridges.unpause";
/// The scope of a pause of everything.
inline constexpr std::string_view kPauseEverything = "*";

/// An emergency pause in force: a route's name, or kPauseEverything; since when.
struct PauseInForce {
  std::string scope;
  TimeMs at_ms = 0;
};

/// The pause that stops a request (or the release of a held one), if any: a pause of everything covers
/// every request but the request to lift a pause; a route's pause covers that route's releases
/// (`route` empty: not a bridge release).
std::optional<std::string> pause_covering(std::span<const PauseInForce> pauses, bool lifts_a_pause,
                                          std::string_view route);

/// The once-only key a request would take, and the live request that already holds it.
struct NonceClaim {
  std::string chain;  // decimal, or "*" for a Safe whose signatures hold on every chain
  std::string account;
  std::string nonce;
};
struct ClaimHolder {
  std::string decision_id;
  std::string status;  // allowed, pending or approved
};

/// Everything a decision reads, gathered by the caller.
struct RequestToJudge {
  const codec::Intent* intent = nullptr;
  std::string requester;
  TimeMs now_ms = 0;
  std::string decision_id;
  /// An evaluation that signs and records nothing: a pause of everything does not stop it.
  bool evaluate_only = false;
  std::vector<PauseInForce> pauses;
  std::optional<NonceClaim> claim;
  std::optional<ClaimHolder> holder;          // set when another live request holds `claim`
  std::optional<std::string> unpause_scope;   // a request to lift the pause of this scope
  /// A bridge release: the claim, what the source chain showed, and the bridge state (route_paused is
  /// derived from `pauses`). Null for any other request.
  const ReleaseClaim* release = nullptr;
  const SourceFacts* source = nullptr;
  BridgeState bridge_state;
};

struct Judgement {
  Decision decision;
  std::optional<BridgeJudgement> bridge;  // a bridge release's own checks
  /// The source chain could not confirm the deposit yet: nothing is signed or taken; ask again.
  bool deferred = false;
  /// The policy's rules judged it (a shadow policy then judges it too).
  bool rules_judged = false;
};

/// Decides `request` (see the file comment). Fails only when the state view fails.
StateResult<Judgement> judge_request(const Policy& policy, const PriceTable& prices, const RequestToJudge& request,
                                     const StateView& state);

}  // namespace txguard::policy

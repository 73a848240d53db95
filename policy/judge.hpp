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
#include "policy/holds.hpp"
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

struct Judgement;
struct RequestToJudge;
struct HoldRelease;

/// The right to co-sign one digest. Only judge_request (a request the policy allows, not an evaluation)
/// and judge_hold_release (a held request whose every quorum and delay is met, with no pause covering
/// it) construct one; the service reaches the co-signing key only through signers::Signer::sign(permit).
class SigningPermit {
 public:
  const codec::Hash32& digest() const noexcept { return digest_; }

 private:
  explicit SigningPermit(const codec::Hash32& digest) : digest_(digest) {}
  friend StateResult<Judgement> judge_request(const Policy&, const PriceTable&, const RequestToJudge&, const StateView&);
  friend HoldRelease judge_hold_release(std::span<const HoldRequirement>, std::span<const Approval>, TimeMs,
                                        std::span<const PauseInForce>, bool, std::string_view, const codec::Hash32&);
  codec::Hash32 digest_;
};

/// Everything a decision reads, gathered by the caller.
struct RequestToJudge {
  codec::Hash32 digest{};  // what would be signed
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
  /// Set when the request is allowed and is not an evaluation: the digest may be co-signed.
  std::optional<SigningPermit> permit;
};

/// Whether a held request is released now: its hold status (holds.hpp), the pause that keeps an
/// approved request waiting, and the permit to co-sign when it is released.
struct HoldRelease {
  HoldStatus status;
  std::optional<std::string> paused_by;  // approved, but this pause covers it: released after the unpause
  std::optional<SigningPermit> permit;   // approved and no pause covers it
};

/// Decides the release of a held request at `now_ms` from its requirements and verified approvals, the
/// pauses in force, whether it is the request to lift a pause (never covered, never signed: no
/// permit), and its bridge route (empty when it is not a bridge release).
HoldRelease judge_hold_release(std::span<const HoldRequirement> holds, std::span<const Approval> approvals,
                               TimeMs now_ms, std::span<const PauseInForce> pauses, bool lifts_a_pause,
                               std::string_view route, const codec::Hash32& digest);

/// Decides `request` (see the file comment). Fails only when the state view fails.
StateResult<Judgement> judge_request(const Policy& policy, const PriceTable& prices, const RequestToJudge& request,
                                     const StateView& state);

}  // namespace txguard::policy

// Bridge releases: routes, txguard's EIP-712 withdrawal attestation, and the judgement of a release
// against its attestation and what the source chain showed.
//
// A bridge operator runs txguard as one key of its release multisig. A release request is the
// destination-chain transaction that pays a withdrawal (a Safe transaction: an ERC-20 transfer, or a
// call to the bridge's release function) together with the attestation that the deposit happened.
// txguard co-signs only when, all at once:
//   - the attestation is signed by a quorum of the route's validator set that it names, the set is
//     current or inside its overlap, enough signatures and enough distinct operators signed
//     (Ronin: 4 of its 9 keys were one organisation's);
//   - its own RPC endpoints saw the deposit on the source chain with the required confirmations and
//     the deposit says what the attestation says (token, amount, recipient, destination, nonce);
//   - the release pays exactly what the attestation says, to whom it says, and nothing else;
//   - the deposit was never released before (the release key), nothing is paused, and what the route
//     released never exceeds what was confirmed deposited (the supply invariant);
//   - and then the policy's ordinary rules (limits, holds) allow the transfer the release makes.
//
// The withdrawal attestation (txguard's own design, for bridges whose validators sign receipts):
//   domain  EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)
//           name "txguard bridge", version "1", chainId = the destination chain, verifyingContract =
//           the route's destination contract: a signature for one chain or one bridge is worthless on
//           another.
//   message WithdrawalAttestation(uint256 sourceChainId,bytes32 sourceTxHash,uint256 logIndex,
//           address token,uint256 amount,address recipient,uint256 destinationChainId,uint256 nonce)
//           token: the token paid on the destination chain; logIndex: the deposit log's index in its
//           block; nonce: the deposit event's nonce.
// Its release key is (source chain, source transaction hash, log index); a Wormhole VAA's is
// (emitter chain, emitter address, sequence). The attested body's digest (the EIP-712 digest, or the
// VAA body digest) is committed with the key: the same key with another digest is a conflict.
//
// Pure: no I/O, no clock. The service observes the source chain and reads the bridge state, and
// passes both in; the decision records them so that a replay needs no RPC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/error.hpp"
#include "policy/codec/intent.hpp"
#include "policy/codec/u256.hpp"
#include "policy/state_view.hpp"
#include "policy/validator_sets.hpp"

namespace txguard::policy {

/// Stable reason codes of bridge judgements (besides the validator set's and the quorum's).
namespace bridge_reason {
inline constexpr std::string_view kUnknownRoute = "unknown-route";
inline constexpr std::string_view kBadAttestation = "bad-attestation";      // malformed fields or signature bytes
inline constexpr std::string_view kUnknownSigner = "unknown-signer";        // a signature by no member of the set
inline constexpr std::string_view kDuplicateSigner = "duplicate-signer";
inline constexpr std::string_view kWrongDestination = "wrong-destination";  // attested destination is not the route's
inline constexpr std::string_view kWrongSource = "wrong-source";            // attested source chain is not the route's
inline constexpr std::string_view kUnknownToken = "unknown-token";          // a token the route does not carry
inline constexpr std::string_view kReleaseMismatch = "release-mismatch";    // the release pays something else
inline constexpr std::string_view kDepositMismatch = "deposit-mismatch";    // the deposit says something else
inline constexpr std::string_view kDepositNotFound = "deposit-not-found";
inline constexpr std::string_view kDepositUnconfirmed = "deposit-unconfirmed";
inline constexpr std::string_view kSourceUnreachable = "source-unreachable";
inline constexpr std::string_view kSourceDisagree = "source-disagree";
inline constexpr std::string_view kAlreadyReleased = "already-released";
inline constexpr std::string_view kReleaseConflict = "release-conflict";    // same key, another digest: an alert
inline constexpr std::string_view kRoutePaused = "route-paused";
inline constexpr std::string_view kAllPaused = "all-paused";
inline constexpr std::string_view kSupplyExceeded = "supply-exceeded";
}  // namespace bridge_reason

enum class RouteKind { kAttestation, kWormhole };
std::string_view to_string(RouteKind kind) noexcept;  // "attestation", "wormhole"

/// A token the route carries: its address on the source chain and the policy asset paid on the
/// destination chain.
struct RouteToken {
  codec::Address source;
  std::size_t asset = 0;  // index in Policy::assets (an ERC-20 on the destination chain)
};

/// How the release pays. kTransfer: the Safe transaction is exactly one ERC-20 transfer(recipient,
/// amount) of the attested token from the route's wallet. kCall: exactly one call to the destination
/// contract with `function`, whose `token_param`, `amount_param` and `recipient_param` arguments must
/// equal the attested ones (other arguments are free, e.g. a deposit id).
struct ReleaseSpec {
  enum class Kind { kTransfer, kCall } kind = Kind::kTransfer;
  std::string function;  // canonical signature, kCall
  std::string token_param = "token", amount_param = "amount", recipient_param = "recipient";
};

/// The deposit event on the source chain and the names of its fields.
struct DepositEventSpec {
  codec::Address contract;
  std::string event;  // "Deposit(address indexed token,...)" as written
  std::string token_field = "token", amount_field = "amount", recipient_field = "recipient",
              destination_field = "destChainId", nonce_field = "nonce";
  std::uint64_t confirmations = 1;
  bool finalized = false;
};

struct RouteSpec {
  std::string name;
  RouteKind kind = RouteKind::kAttestation;
  U256 source_chain;
  U256 destination_chain;
  std::size_t wallet = 0;            // index in Policy::wallets: the release Safe
  codec::Address destination_contract;  // EIP-712 verifyingContract; the release contract for kCall
  DepositEventSpec deposit;
  ReleaseSpec release;
  std::string validators_file;       // as written
  ValidatorSetHistory validators;
  std::optional<std::size_t> signatures;  // required signatures; default floor(2n/3)+1
  std::size_t min_operators = 0;
  std::vector<RouteToken> tokens;

  /// The signatures required of a set of n validators.
  std::size_t required_signatures(std::size_t n) const noexcept { return signatures.value_or(n * 2 / 3 + 1); }
};

/// The attested withdrawal.
struct WithdrawalAttestation {
  U256 source_chain_id;
  codec::Hash32 source_tx_hash{};
  U256 log_index;
  codec::Address token{};
  U256 amount;
  codec::Address recipient{};
  U256 destination_chain_id;
  U256 nonce;
  bool operator==(const WithdrawalAttestation&) const = default;
};

/// keccak256("WithdrawalAttestation(uint256 sourceChainId,bytes32 sourceTxHash,uint256 logIndex,address token,
/// uint256 amount,address recipient,uint256 destinationChainId,uint256 nonce)").
codec::Hash32 withdrawal_attestation_typehash();
/// The EIP-712 digest validators sign: keccak256(0x19 0x01 || domainSeparator(destination chain,
/// verifying contract) || hashStruct(attestation)).
codec::Hash32 withdrawal_attestation_digest(const WithdrawalAttestation& attestation, const U256& destination_chain_id,
                                            const codec::Address& verifying_contract);

/// Reads the attestation message object (fields as in the type; integers as decimal strings or JSON
/// integers, hashes and addresses as 0x hex). Unknown or missing fields fail with the JSON path.
codec::Decoded<WithdrawalAttestation> attestation_from_json(const nlohmann::json& message, const std::string& path);
nlohmann::json to_json(const WithdrawalAttestation& attestation);

/// What the service saw on the source chain (guard/service/source_observer.hpp), reduced to what the
/// judgement needs. `status` is "deposit-confirmed", "deposit-unconfirmed", "deposit-not-found",
/// "source-unreachable" or "source-disagree"; `event` the decoded deposit fields when found.
struct SourceFacts {
  std::string status;
  std::string detail;
  nlohmann::json event;
};

/// The bridge state the judgement reads (the service reads it in the request's transaction and the
/// decision records it).
struct BridgeState {
  bool route_paused = false;
  bool all_paused = false;
  /// The release already recorded under this request's release key, if any.
  struct Prior {
    codec::Hash32 digest{};
    std::string decision_id;
  };
  std::optional<Prior> prior;
  U256 deposited;  // confirmed deposits of (source chain, source token) so far, this one excluded
  U256 released;   // released so far for (source chain, source token)
  bool deposit_known = false;  // this deposit is already among `deposited`
};

/// A bridge release request, decoded: the route, the attestation, and its signatures' signers.
struct ReleaseClaim {
  std::size_t route = 0;                 // index in Policy::bridges.routes
  std::uint32_t validator_set = 0;
  WithdrawalAttestation attestation;
  std::vector<codec::Bytes> signatures;  // 65 bytes each, r || s || v (27/28 or 0/1)
};

/// The key a release is kept once under, and the digest committed with it.
struct ReleaseKey {
  std::string text;          // "<source chain>:<tx hash>:<log index>"
  codec::Hash32 digest{};    // the attestation's EIP-712 digest
};
ReleaseKey release_key(const RouteSpec& route, const WithdrawalAttestation& attestation);

struct BridgeReason {
  std::string code;
  std::string message;
};

/// The judgement of the bridge checks (before the policy's rules).
struct BridgeJudgement {
  enum class Outcome { kPass, kDeny, kDefer } outcome = Outcome::kDeny;
  std::vector<BridgeReason> reasons;  // every failed check, in check order
  std::vector<std::pair<std::size_t, codec::Address>> signers;  // validator index, address
  std::size_t operators = 0;
  std::size_t required = 0;
  ReleaseKey key;
  std::optional<std::size_t> token;   // index in RouteSpec::tokens
  bool conflict = false;              // the key was released with another digest: raise an alert
};

struct Policy;

/// Judges a release claim. `intent` is the release's (the Safe transaction's) intent. Defer (never
/// allow) when the source cannot be read or is not yet confirmed; deny on anything else that fails.
/// Every check runs, so a refusal lists all its reasons.
BridgeJudgement judge_release(const Policy& policy, const ReleaseClaim& claim, const codec::Intent& intent,
                              const SourceFacts& source, const BridgeState& state, TimeMs now_ms);

nlohmann::json to_json(const BridgeJudgement& judgement);

}  // namespace txguard::policy

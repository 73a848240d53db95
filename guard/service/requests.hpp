// Reading signing requests off the wire into SigningRequest: Safe transactions (REST), requests to
// evaluate, and the JSON-RPC shapes (transaction objects, typed data, personal messages). Every
// failure is an HttpError naming the JSON path of what is wrong; nothing here throws on bad input.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "guard/service/pipeline.hpp"

namespace txguard::service {

struct HttpError {
  unsigned status = 400;
  std::string code = "bad-request";
  std::string message;
};

/// POST /v1/safe/cosign body: Safe Transaction Service field names plus chainId and safe; safeVersion
/// optional (default: the version the policy pins for that Safe); a safeTxHash (or
/// contractTransactionHash), if present, must equal the hash txguard computes (else 400
/// "hash-mismatch"). Numbers may be JSON integers or decimal strings.
std::expected<SigningRequest, HttpError> decode_safe_request(std::string_view body, const policy::Policy& policy,
                                                             const std::string& requester);

/// POST /v1/evaluate body: {"request": <Safe transaction object | "0x" raw transaction | typed data>,
/// "signer"?: address (the account that would sign typed data or an unsigned transaction; default the
/// guard's)}.
std::expected<SigningRequest, HttpError> decode_evaluation(std::string_view body, const policy::Policy& policy,
                                                           const std::string& requester, const codec::Address& guard);

/// A JSON-RPC transaction object (eth_signTransaction / eth_sendTransaction) with every field present
/// (after filling): from, to (absent: creation), gas, value, data or input (equal if both), nonce,
/// chainId, and either gasPrice (type 0, or 1 with accessList) or maxFeePerGas + maxPriorityFeePerGas
/// (type 2); "type" if given must agree. `from` must be `guard`.
std::expected<codec::Transaction, HttpError> transaction_from_rpc(const nlohmann::json& tx, const codec::Address& guard,
                                                                  std::uint64_t chain_id);

/// The SigningRequest for an unsigned transaction the guard would sign as `guard`.
std::expected<SigningRequest, HttpError> transaction_request(const codec::Transaction& txn, const policy::Policy& policy,
                                                             const std::string& requester, const codec::Address& guard);

/// eth_signTypedData_v4 data (a JSON string or an object) signed by `guard`. Typed data that a Safe
/// would take as an owner's signature is never the guard's own message:
///   - SafeTx (any domain with a verifyingContract): judged as that Safe's transaction exactly as
///     POST /v1/safe/cosign judges it (its intent, kind safe-transaction, the version the policy pins,
///     the same once-only claim). When the digest is not the Safe's hash under the pinned version (a
///     domain of another version, or with other fields) the intent names another version and the
///     judge denies it (safe-version-mismatch); an undeclared Safe is denied (unknown-wallet).
///   - SafeMessage(bytes message) (EIP-1271 through the Safe's fallback handler): wallet = the
///     verifyingContract, the inner message is what is judged (policy/evaluate.hpp: an opaque hash
///     is denied "message-is-a-hash"; otherwise it is one message leg of that wallet).
std::expected<SigningRequest, HttpError> typed_data_request(const nlohmann::json& data, const policy::Policy& policy,
                                                            const std::string& requester, const codec::Address& guard,
                                                            std::optional<std::uint64_t> chain_id);

/// personal_sign / eth_sign message (0x hex bytes, else the UTF-8 text itself) signed by `guard`.
/// Whatever its form, the judge denies a message whose bytes are an opaque hash (32 bytes, or a
/// 66-byte EIP-712 preimage) with "message-is-a-hash", before any rule (policy/evaluate.hpp): a Safe
/// would accept the guard's signature of it (v + 4) as an owner's approval of its safeTxHash.
std::expected<SigningRequest, HttpError> message_request(const nlohmann::json& message, const policy::Policy& policy,
                                                         const std::string& requester, const codec::Address& guard,
                                                         std::optional<std::uint64_t> chain_id);

/// POST /v1/bridge/release body: {"route": NAME, "release": <a Safe transaction object as for
/// /v1/safe/cosign>, "attestation": {"kind": "eip712", "validator_set": N, "message": {...the
/// WithdrawalAttestation fields...}, "signatures": ["0x<65 bytes>", ...]}}. The result has kind
/// kBridgeRelease and the claim, but no source facts yet: the caller observes the source chain and
/// calls attach_observation. Errors: 400 with the JSON path; an unknown route is 404 "unknown-route".
std::expected<SigningRequest, HttpError> decode_bridge_release(std::string_view body, const policy::Policy& policy,
                                                               const std::string& requester);

/// Records what the source chain showed (the observer's JSON: its "reason" is the status code, "detail",
/// "event") in the request's payload ("observation") and in its bridge facts.
void attach_observation(SigningRequest& request, const nlohmann::json& observation);

/// A request to lift the pause of `scope` (a route name or "*").
SigningRequest unpause_request(const std::string& scope, const std::string& requester);

/// The request a decision record holds (its "request" kind and payload), read again exactly as the
/// service read it: replay re-derives the intent and the digest from the recorded bytes instead of
/// trusting them.
std::expected<SigningRequest, HttpError> recorded_request(std::string_view kind, const nlohmann::json& payload,
                                                          const policy::Policy& policy, const std::string& requester);

}  // namespace txguard::service

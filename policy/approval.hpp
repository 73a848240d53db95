// Approvals of held requests: what an approver signs, and how a submitted signature is checked.
//
// A policy rule can hold a signing request until a quorum of named approvers approves it. Each
// approval (or rejection) is an EIP-712 signature by the approver's own key over the request hash and
// the decision id, so the decision log can later prove who approved what, without trusting txguard's
// own account of it. The signed typed data is, exactly:
//
//   domain   EIP712Domain(string name,string version)   { name: "txguard", version: "1" }
//   message  Approval(bytes32 requestHash,string decisionId,string verdict)
//            verdict is the string "approve" or "reject"
//
// The domain has no chainId and no verifyingContract, on purpose: an approval is not a transaction
// and is not checked by a contract; it is about one request, and the request hash already commits to
// the request's chain (and to everything else in it). A chainId in the domain would add nothing but
// the chance of a client filling in the chain its wallet happens to be connected to. The decision id
// ties the approval to one hold decision, so an approval of the same request bytes under an earlier
// decision cannot be replayed into a later one. The verdict is inside the signed data, so a rejection
// cannot be counted as an approval.
//
// Signatures are 65 bytes r || s || v with v = 27/28 (what eth_signTypedData_v4 returns in viem,
// ethers, MetaMask and hardware wallets) or 0/1 (the raw recovery id), r and s in [1, n-1] and s <= n/2
// (EIP-2: the high-s twin of a signature is refused so one approval has one encoding). Compact
// EIP-2098 64-byte signatures are refused.
//
// Pure: no I/O, no clock (the caller passes the time). Thread safety: every function is reentrant and
// may be called concurrently; the value types are plain data.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"

namespace txguard::policy {

/// What an approver decides about a held request.
enum class ApprovalVerdict { kApprove, kReject };

/// "approve" or "reject": the string signed as Approval.verdict, stable.
std::string_view to_string(ApprovalVerdict v) noexcept;
/// The verdict named exactly "approve" or "reject" (case-sensitive, no whitespace), else nullopt.
std::optional<ApprovalVerdict> parse_approval_verdict(std::string_view text) noexcept;

/// The approval domain: name "txguard", version "1".
inline constexpr std::string_view kApprovalDomainName = "txguard";
inline constexpr std::string_view kApprovalDomainVersion = "1";
/// encodeType of the primary type, as hashed into its typeHash.
inline constexpr std::string_view kApprovalEncodedType = "Approval(bytes32 requestHash,string decisionId,string verdict)";

/// The EIP-712 digest an approver signs: keccak256(0x19 0x01 || domainSeparator || hashStruct(Approval)),
/// with the domain and type described at the top of this file. `decision_id` is hashed as its bytes
/// (EIP-712 string); it should be valid UTF-8, since a wallet can only be shown, and sign, UTF-8 text
/// (see approval_typed_data). Never fails.
codec::Hash32 approval_digest(const codec::Hash32& request_hash, std::string_view decision_id, ApprovalVerdict verdict);

/// The same as an eth_signTypedData_v4 request: {"types": {"EIP712Domain": [...], "Approval": [...]},
/// "primaryType": "Approval", "domain": {...}, "message": {"requestHash": "0x..." (lower-case hex),
/// "decisionId": ..., "verdict": ...}}, for a client to sign (viem signTypedData, ethers
/// signer.signTypedData with EIP712Domain removed from types, a hardware wallet). codec::parse_typed_data
/// of it yields digest == approval_digest(...). `decision_id` must be valid UTF-8: the JSON value holds
/// the bytes as given, and nlohmann::json::dump throws on invalid UTF-8.
nlohmann::json approval_typed_data(const codec::Hash32& request_hash, std::string_view decision_id,
                                   ApprovalVerdict verdict);

/// Why a submitted approval is refused. Stable kebab-case names through to_string.
enum class ApprovalErrc {
  kBadSignature,      // "bad-signature": not 65 bytes, v not in {0, 1, 27, 28}, r or s of 0 or >= n
  kHighS,             // "high-s": s > n/2 (EIP-2); the low-s twin is the one to submit
  kUnrecoverable,     // "unrecoverable": well-formed, but no public key recovers (r is not a curve x)
  kUnknownApprover,   // "unknown-approver": the signer is not among the eligible approvers (this also
                      // covers a signature over anything else: another request, decision or verdict)
  kSelfApproval,      // "self-approval": the signer is the requester
  kDuplicate,         // "duplicate": the signer has already given a verdict on this request
  kNotBound,          // "not-bound": the client that submitted it is not the one bound to its approver
};

/// The stable kebab-case name of a code. Never empty.
std::string_view to_string(ApprovalErrc code) noexcept;

struct ApprovalError {
  ApprovalErrc code;
  /// Human detail (e.g. the recovered address); never secret material.
  std::string detail;

  /// "<code>" or "<code>: <detail>".
  std::string message() const;
};

/// Recovers the signer of a 65-byte r || s || v signature (v 27/28, or 0/1) over `digest` (normally
/// approval_digest). Fails with kBadSignature (length, v, r or s of 0 or >= n), kHighS (s > n/2),
/// kUnrecoverable (no key recovers). A signature over a different digest recovers a different address
/// rather than failing: compare the result with the expected approver. Never throws on any input.
std::expected<codec::Address, ApprovalError> recover_approval_signer(const codec::Hash32& digest,
                                                                     codec::ByteView signature);

/// A named approver from the policy.
struct Approver {
  std::string name;
  codec::Address address;
};

/// An approval as submitted and recorded: who, what, the signature bytes as submitted (so the log can
/// re-verify it), and when it was accepted (unix milliseconds, from the caller's clock).
struct Approval {
  std::string approver;
  ApprovalVerdict verdict = ApprovalVerdict::kReject;
  codec::Bytes signature;
  std::int64_t at_ms = 0;
};

/// Checks one submitted signature for `verdict` on the request (`request_hash`, `decision_id`), in this
/// order:
///   1. recovers the signer of approval_digest(request_hash, decision_id, verdict) (errors as for
///      recover_approval_signer);
///   2. finds the signer among `eligible` by address, the first entry if several share one address
///      (else kUnknownApprover, with the recovered address in the detail);
///   3. refuses it when that approver's name equals `requester`, byte for byte (kSelfApproval): a
///      requester cannot approve, or reject, their own request; approver names and client names share
///      one namespace;
///   4. refuses it when `already` holds any entry (approve or reject) with that approver's name
///      (kDuplicate): an approver counts once, so a second signature, even a different valid one, or a
///      change of mind, is refused.
/// On success returns the Approval {approver name, verdict, signature bytes, at_ms = now_ms}; the
/// caller appends it to the request's approvals. Never throws on bad input.
std::expected<Approval, ApprovalError> verify_approval(const codec::Hash32& request_hash,
                                                       std::string_view decision_id, ApprovalVerdict verdict,
                                                       codec::ByteView signature, std::span<const Approver> eligible,
                                                       std::string_view requester,
                                                       std::span<const Approval> already, std::int64_t now_ms);

/// Who submitted an approval, as the service authenticated it: the client, and the policy approver
/// that client is bound to in the configuration (none for a client without a binding).
struct Submitter {
  std::string client;
  std::optional<std::string> approver;
};

/// Ties an approval that verify_approval accepted to the client that submitted it:
///   1. kSelfApproval when `by.client` is the request's `requester`: the client that asked for the
///      signature never approves (or rejects) it, whatever its role or binding;
///   2. kNotBound when `by` is not bound to `accepted.approver`: a signature by one approver's key
///      counts only when the client bound to that approver submits it, so a token alone (an admin's,
///      or another approver's) cannot carry someone else's approval.
/// Pure; never throws.
std::expected<void, ApprovalError> check_submitter(const Approval& accepted, const Submitter& by,
                                                   std::string_view requester);

}  // namespace txguard::policy

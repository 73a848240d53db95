#include "policy/approval.hpp"

#include <algorithm>
#include <array>

#include "policy/codec/eip712.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/secp256k1.hpp"

namespace txguard::policy {
namespace {

using codec::ByteView;
using codec::Hash32;

constexpr std::string_view kDomainEncodedType = "EIP712Domain(string name,string version)";
constexpr std::size_t kSignatureSize = 65;

ByteView bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// EIP-712 "encodeData": a string member is encoded as keccak256 of its bytes, bytes32 as itself, and
// hashStruct(s) = keccak256(typeHash || encodeData(s)). Both structs are fixed, so the hashes are
// written out here rather than going through the generic encoder; the tests check them against
// codec::parse_typed_data of approval_typed_data and against viem and ethers.
const Hash32& domain_separator() {
  static const Hash32 separator = [] {
    const Hash32 type_hash = codec::keccak256(bytes_of(kDomainEncodedType));
    const Hash32 name_hash = codec::keccak256(bytes_of(kApprovalDomainName));
    const Hash32 version_hash = codec::keccak256(bytes_of(kApprovalDomainVersion));
    return codec::keccak256({ByteView(type_hash), ByteView(name_hash), ByteView(version_hash)});
  }();
  return separator;
}

const Hash32& approval_type_hash() {
  static const Hash32 type_hash = codec::keccak256(bytes_of(kApprovalEncodedType));
  return type_hash;
}

nlohmann::json field(std::string_view name, std::string_view type) {
  return {{"name", name}, {"type", type}};
}

std::unexpected<ApprovalError> refuse(ApprovalErrc code, std::string detail) {
  return std::unexpected(ApprovalError{code, std::move(detail)});
}

}  // namespace

std::string_view to_string(ApprovalVerdict v) noexcept {
  switch (v) {
    case ApprovalVerdict::kApprove: return "approve";
    case ApprovalVerdict::kReject: return "reject";
  }
  return "reject";
}

std::optional<ApprovalVerdict> parse_approval_verdict(std::string_view text) noexcept {
  if (text == "approve") return ApprovalVerdict::kApprove;
  if (text == "reject") return ApprovalVerdict::kReject;
  return std::nullopt;
}

std::string_view to_string(ApprovalErrc code) noexcept {
  switch (code) {
    case ApprovalErrc::kBadSignature: return "bad-signature";
    case ApprovalErrc::kHighS: return "high-s";
    case ApprovalErrc::kUnrecoverable: return "unrecoverable";
    case ApprovalErrc::kUnknownApprover: return "unknown-approver";
    case ApprovalErrc::kSelfApproval: return "self-approval";
    case ApprovalErrc::kDuplicate: return "duplicate";
    case ApprovalErrc::kNotBound: return "not-bound";
  }
  return "bad-signature";
}

std::string ApprovalError::message() const {
  std::string out(to_string(code));
  if (!detail.empty()) out += ": " + detail;
  return out;
}

Hash32 approval_digest(const Hash32& request_hash, std::string_view decision_id, ApprovalVerdict verdict) {
  const Hash32 decision_hash = codec::keccak256(bytes_of(decision_id));
  const Hash32 verdict_hash = codec::keccak256(bytes_of(to_string(verdict)));
  const Hash32 message_hash = codec::keccak256({ByteView(approval_type_hash()), ByteView(request_hash),
                                                ByteView(decision_hash), ByteView(verdict_hash)});
  return codec::eip712_digest(domain_separator(), message_hash);
}

nlohmann::json approval_typed_data(const Hash32& request_hash, std::string_view decision_id, ApprovalVerdict verdict) {
  // Field order is part of the type (encodeType lists members in declaration order), so the arrays
  // are written in the order of kApprovalEncodedType and kDomainEncodedType.
  nlohmann::json types = {
      {"EIP712Domain", nlohmann::json::array({field("name", "string"), field("version", "string")})},
      {"Approval", nlohmann::json::array({field("requestHash", "bytes32"), field("decisionId", "string"),
                                          field("verdict", "string")})},
  };
  return {
      {"types", std::move(types)},
      {"primaryType", "Approval"},
      {"domain", {{"name", kApprovalDomainName}, {"version", kApprovalDomainVersion}}},
      {"message",
       {{"requestHash", codec::to_hex(request_hash)}, {"decisionId", decision_id}, {"verdict", to_string(verdict)}}},
  };
}

std::expected<codec::Address, ApprovalError> recover_approval_signer(const Hash32& digest, ByteView signature) {
  if (signature.size() != kSignatureSize) {
    return refuse(ApprovalErrc::kBadSignature,
                  "signature is " + std::to_string(signature.size()) + " bytes, expected 65 (r || s || v)");
  }
  Hash32 r{};
  Hash32 s{};
  std::copy_n(signature.begin(), 32, r.begin());
  std::copy_n(signature.begin() + 32, 32, s.begin());
  const std::uint8_t v = signature[64];
  // eth_signTypedData_v4 returns v = 27/28 (the pre-EIP-155 convention, which typed-data signatures
  // kept); some signers and libraries return the raw recovery id 0/1. Nothing else is a typed-data v:
  // EIP-155 values (chainId * 2 + 35) belong to transactions, and Safe's 31/32 means eth_sign.
  std::uint8_t recovery_id = 0;
  if (v == 27 || v == 28) {
    recovery_id = static_cast<std::uint8_t>(v - 27);
  } else if (v == 0 || v == 1) {
    recovery_id = v;
  } else {
    return refuse(ApprovalErrc::kBadSignature, "v = " + std::to_string(v) + ", expected 27, 28, 0 or 1");
  }
  // SEC 1 4.1.4: r and s must be in [1, n-1]. Checked before the s <= n/2 rule so that s = n and above
  // are reported as malformed rather than as a mere high-s encoding.
  if (!codec::is_in_scalar_range(r)) return refuse(ApprovalErrc::kBadSignature, "r is 0 or >= n");
  if (!codec::is_in_scalar_range(s)) return refuse(ApprovalErrc::kBadSignature, "s is 0 or >= n");
  // EIP-2: (r, n - s, v ^ 1) is an equally valid signature by the same key. Accepting both would give
  // one approval two encodings; every wallet produces the low one.
  if (!codec::is_low_s(s)) return refuse(ApprovalErrc::kHighS, "s > n/2 (EIP-2)");
  auto signer = codec::recover_address(digest, r, s, recovery_id, codec::SPolicy::kLowSOnly);
  if (!signer) return refuse(ApprovalErrc::kUnrecoverable, signer.error().message());
  return *signer;
}

std::expected<Approval, ApprovalError> verify_approval(const Hash32& request_hash, std::string_view decision_id,
                                                       ApprovalVerdict verdict, ByteView signature,
                                                       std::span<const Approver> eligible, std::string_view requester,
                                                       std::span<const Approval> already, std::int64_t now_ms) {
  auto signer = recover_approval_signer(approval_digest(request_hash, decision_id, verdict), signature);
  if (!signer) return std::unexpected(std::move(signer.error()));
  const auto approver =
      std::find_if(eligible.begin(), eligible.end(), [&](const Approver& a) { return a.address == *signer; });
  // A signature over another request, decision or verdict recovers some unrelated key, so it lands
  // here too: that is how a rejection submitted as an approval is refused.
  if (approver == eligible.end()) {
    return refuse(ApprovalErrc::kUnknownApprover,
                  "signer " + codec::to_checksum(*signer) + " is not an eligible approver of this " +
                      std::string(to_string(verdict)));
  }
  if (approver->name == requester) {
    return refuse(ApprovalErrc::kSelfApproval, "'" + approver->name + "' requested this signature");
  }
  // An approver counts once, whatever the signature bytes: a quorum of k must be k distinct people.
  const bool seen = std::any_of(already.begin(), already.end(),
                                [&](const Approval& a) { return a.approver == approver->name; });
  if (seen) return refuse(ApprovalErrc::kDuplicate, "'" + approver->name + "' has already given a verdict");
  return Approval{approver->name, verdict, codec::Bytes(signature.begin(), signature.end()), now_ms};
}

std::expected<void, ApprovalError> check_submitter(const Approval& accepted, const Submitter& by,
                                                   std::string_view requester) {
  if (by.client == requester) {
    return std::unexpected(ApprovalError{ApprovalErrc::kSelfApproval, "client '" + by.client + "' requested this signature"});
  }
  if (!by.approver || *by.approver != accepted.approver) {
    return std::unexpected(ApprovalError{
        ApprovalErrc::kNotBound, "client '" + by.client + "' is " +
                                     (by.approver ? "bound to approver '" + *by.approver + "'" : std::string("bound to no approver")) +
                                     ", not to '" + accepted.approver + "' whose key signed this"});
  }
  return {};
}

}  // namespace txguard::policy

// Hold approvals: fixtures/golden/approvals.json holds approver signatures over txguard's Approval
// typed data, made by viem's and ethers' signTypedData with anvil's test accounts #1..#3
// (tests/js/sign_approvals.mjs). txguard must compute the same digest, present the same typed data to
// a wallet, recover every signature to its approver, and refuse everything else with its own code.
#include <doctest/doctest.h>

#include "tests/support/fixtures.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/approval.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/eip712.hpp"
#include "policy/codec/secp256k1.hpp"
#include "policy/codec/u256.hpp"

using namespace txguard::policy;
using nlohmann::json;
using txguard::codec::Address;
using txguard::codec::Bytes;
using txguard::codec::Hash32;
using txguard::codec::U256;

namespace {

constexpr std::size_t kGoldenCases = 7;
constexpr std::int64_t kNow = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

// secp256k1 group order n and n/2.
const U256 kOrder{"0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141"};
const U256 kHalfOrder = kOrder / 2;

const json& golden() {
  static const json doc = txguard::test::load_fixture("golden/approvals.json");
  return doc;
}

const json& golden_case(std::string_view name) {
  for (const auto& c : golden()["cases"]) {
    if (c["name"] == name) return c;
  }
  FAIL("no golden case " << name);
  return golden();
}

Hash32 hash32(const json& hex) { return txguard::codec::from_hex_fixed<32>(hex.get<std::string>()).value(); }
Bytes bytes(const json& hex) { return txguard::codec::from_hex(hex.get<std::string>()).value(); }
Address address(const json& hex) { return txguard::codec::parse_address(hex.get<std::string>()).value(); }
ApprovalVerdict verdict_of(const json& c) { return parse_approval_verdict(c["verdict"].get<std::string>()).value(); }

std::vector<Approver> all_approvers() {
  std::vector<Approver> out;
  for (const auto& a : golden()["approvers"]) out.push_back({a["name"].get<std::string>(), address(a["address"])});
  return out;
}

std::vector<Approver> approvers_except(std::string_view name) {
  std::vector<Approver> out;
  for (auto& a : all_approvers()) {
    if (a.name != name) out.push_back(a);
  }
  return out;
}

U256 word(const Bytes& signature, std::size_t at) {
  return txguard::codec::u256_from_be(txguard::codec::ByteView(signature).subspan(at, 32));
}

Bytes with_word(Bytes signature, std::size_t at, const U256& value) {
  const Hash32 be = txguard::codec::u256_to_be32(value);
  std::copy(be.begin(), be.end(), signature.begin() + static_cast<std::ptrdiff_t>(at));
  return signature;
}

Bytes with_r(const Bytes& signature, const U256& r) { return with_word(signature, 0, r); }
Bytes with_s(const Bytes& signature, const U256& s) { return with_word(signature, 32, s); }

Bytes with_v(Bytes signature, std::uint8_t v) {
  signature.at(64) = v;
  return signature;
}

// EIP-2's twin: (r, n - s, v ^ 1) is a valid signature by the same key over the same digest.
Bytes high_s_twin(const Bytes& signature) {
  Bytes twin = with_s(signature, kOrder - word(signature, 32));
  twin.at(64) = signature.at(64) == 27 ? 28 : 27;
  return twin;
}

std::expected<Approval, ApprovalError> submit(const json& c, const Bytes& signature,
                                              std::span<const Approval> already = {},
                                              std::string_view requester = "requester-client") {
  const auto eligible = all_approvers();
  return verify_approval(hash32(c["request_hash"]), c["decision_id"].get<std::string>(), verdict_of(c), signature,
                         eligible, requester, already, kNow);
}

void check_refused(const std::expected<Approval, ApprovalError>& result, ApprovalErrc code) {
  REQUIRE_FALSE(result.has_value());
  CHECK_MESSAGE(result.error().code == code, "got " << result.error().message());
}

void check_refused(const std::expected<Address, ApprovalError>& result, ApprovalErrc code) {
  REQUIRE_FALSE(result.has_value());
  CHECK_MESSAGE(result.error().code == code, "got " << result.error().message());
}

// The digest of a golden case.
Hash32 digest_of(const json& c) {
  return approval_digest(hash32(c["request_hash"]), c["decision_id"].get<std::string>(), verdict_of(c));
}

}  // namespace

TEST_SUITE("approval") {

TEST_CASE("the golden file holds every vector the generator writes, from viem and ethers in agreement") {
  REQUIRE(golden()["cases"].size() == kGoldenCases);
  REQUIRE(golden()["approvers"].size() == 3);
  for (const auto& c : golden()["cases"]) {
    CAPTURE(c["name"].get<std::string>());
    CHECK(c["signature"] == c["signature_ethers"]);
  }
}

TEST_CASE("the signed types are EIP712Domain(string name,string version) and Approval(bytes32,string,string)") {
  const auto typed = approval_typed_data(Hash32{}, "", ApprovalVerdict::kApprove);
  const auto types = txguard::codec::Eip712Types::parse(typed["types"]).value();
  CHECK(txguard::codec::encode_type(types, "EIP712Domain").value() == "EIP712Domain(string name,string version)");
  CHECK(txguard::codec::encode_type(types, "Approval").value() == kApprovalEncodedType);
  CHECK(typed["domain"] == json{{"name", "txguard"}, {"version", "1"}});
  CHECK_FALSE(typed["domain"].contains("chainId"));
  CHECK_FALSE(typed["domain"].contains("verifyingContract"));
}

TEST_CASE("approval_digest equals viem's and ethers' EIP-712 digest for every golden approval") {
  for (const auto& c : golden()["cases"]) {
    CAPTURE(c["name"].get<std::string>());
    CHECK(digest_of(c) == hash32(c["digest"]));
  }
}

TEST_CASE("approval_typed_data is the typed data the wallets signed and parses to approval_digest") {
  for (const auto& c : golden()["cases"]) {
    CAPTURE(c["name"].get<std::string>());
    const auto typed = approval_typed_data(hash32(c["request_hash"]), c["decision_id"].get<std::string>(), verdict_of(c));
    CHECK(typed == c["typed_data"]);
    const auto parsed = txguard::codec::parse_typed_data(typed);
    REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message());
    CHECK(parsed->domain_separator == hash32(c["domain_separator"]));
    REQUIRE(parsed->message_hash.has_value());
    CHECK(*parsed->message_hash == hash32(c["message_hash"]));
    CHECK(parsed->digest == digest_of(c));
    // The text a client receives (with non-ASCII decision ids as UTF-8) hashes the same.
    const auto from_text = txguard::codec::parse_typed_data(std::string_view(typed.dump()));
    REQUIRE_MESSAGE(from_text.has_value(), from_text.error().message());
    CHECK(from_text->digest == digest_of(c));
  }
}

TEST_CASE("recovers every golden approval to its approver, with v as 27/28 or as the recovery id 0/1") {
  for (const auto& c : golden()["cases"]) {
    CAPTURE(c["name"].get<std::string>());
    const Bytes signature = bytes(c["signature"]);
    const auto signer = recover_approval_signer(hash32(c["digest"]), signature);
    REQUIRE_MESSAGE(signer.has_value(), signer.error().message());
    CHECK(*signer == address(c["signer"]));
    const auto raw_v = recover_approval_signer(hash32(c["digest"]), with_v(signature, static_cast<std::uint8_t>(signature[64] - 27)));
    REQUIRE(raw_v.has_value());
    CHECK(*raw_v == address(c["signer"]));
  }
}

TEST_CASE("txguard's signer reproduces the golden approval signatures byte for byte (RFC 6979)") {
  for (const auto& c : golden()["cases"]) {
    CAPTURE(c["name"].get<std::string>());
    std::string key_hex;
    for (const auto& a : golden()["approvers"]) {
      if (a["name"] == c["approver"]) key_hex = a["private_key"].get<std::string>();
    }
    const txguard::codec::SecretKey key(txguard::codec::from_hex_fixed<32>(key_hex).value());
    const auto sig = txguard::codec::sign_digest(digest_of(c), key);
    REQUIRE(sig.has_value());
    const auto rsv = sig->to_rsv(27);
    CHECK(Bytes(rsv.begin(), rsv.end()) == bytes(c["signature"]));
  }
}

TEST_CASE("verify_approval accepts an eligible approver's signature and records who, what and when") {
  for (const auto& c : golden()["cases"]) {
    CAPTURE(c["name"].get<std::string>());
    const auto approval = submit(c, bytes(c["signature"]));
    REQUIRE_MESSAGE(approval.has_value(), approval.error().message());
    CHECK(approval->approver == c["approver"].get<std::string>());
    CHECK(approval->verdict == verdict_of(c));
    CHECK(approval->signature == bytes(c["signature"]));
    CHECK(approval->at_ms == kNow);
  }
}

TEST_CASE("distinct approvers each count once towards a quorum") {
  const auto& alice = golden_case("approve-ulid");
  const auto& bob = golden_case("approve-ulid-bob");
  const auto first = submit(alice, bytes(alice["signature"]));
  REQUIRE(first.has_value());
  const std::vector<Approval> already{*first};
  const auto second = submit(bob, bytes(bob["signature"]), already);
  REQUIRE_MESSAGE(second.has_value(), second.error().message());
  CHECK(second->approver == "bob");
  CHECK(second->verdict == ApprovalVerdict::kApprove);
}

TEST_CASE("a signature over the other verdict recovers another address and is refused") {
  const auto& c = golden_case("approve-ulid");
  const Bytes signature = bytes(c["signature"]);
  const Hash32 request = hash32(c["request_hash"]);
  const std::string decision = c["decision_id"].get<std::string>();
  const auto as_reject = recover_approval_signer(approval_digest(request, decision, ApprovalVerdict::kReject), signature);
  REQUIRE(as_reject.has_value());
  CHECK(*as_reject != address(c["signer"]));
  const auto eligible = all_approvers();
  check_refused(verify_approval(request, decision, ApprovalVerdict::kReject, signature, eligible, "client", {}, kNow),
                ApprovalErrc::kUnknownApprover);
}

TEST_CASE("a rejection signature submitted as an approval is refused") {
  for (const auto* name : {"reject-ulid", "reject-empty-id", "reject-ff-hash"}) {
    CAPTURE(name);
    const auto& c = golden_case(name);
    const auto eligible = all_approvers();
    check_refused(verify_approval(hash32(c["request_hash"]), c["decision_id"].get<std::string>(),
                                  ApprovalVerdict::kApprove, bytes(c["signature"]), eligible, "client", {}, kNow),
                  ApprovalErrc::kUnknownApprover);
  }
}

TEST_CASE("an approval under another decision id is refused") {
  const auto eligible = all_approvers();
  const auto& c = golden_case("approve-ulid");
  const Hash32 request = hash32(c["request_hash"]);
  const Bytes signature = bytes(c["signature"]);
  const std::string decision = c["decision_id"].get<std::string>();
  std::string lower = decision;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const std::string& other : {decision + "0", decision.substr(1), lower, std::string(), decision + '\0'}) {
    CAPTURE(other);
    check_refused(verify_approval(request, other, ApprovalVerdict::kApprove, signature, eligible, "client", {}, kNow),
                  ApprovalErrc::kUnknownApprover);
  }
  // The empty decision id is a value like any other: its signature does not carry over to a non-empty one.
  const auto& empty = golden_case("approve-zero-hash");
  check_refused(verify_approval(hash32(empty["request_hash"]), " ", ApprovalVerdict::kApprove, bytes(empty["signature"]),
                                eligible, "client", {}, kNow),
                ApprovalErrc::kUnknownApprover);
}

TEST_CASE("an approval of another request hash is refused") {
  const auto eligible = all_approvers();
  const auto& c = golden_case("approve-non-ascii");
  const Hash32 request = hash32(c["request_hash"]);
  const std::string decision = c["decision_id"].get<std::string>();
  for (const std::size_t bit : {std::size_t{0}, std::size_t{7}, std::size_t{255}}) {
    CAPTURE(bit);
    Hash32 other = request;
    other.at(bit / 8) = static_cast<std::uint8_t>(other.at(bit / 8) ^ (1U << (bit % 8)));
    check_refused(verify_approval(other, decision, ApprovalVerdict::kApprove, bytes(c["signature"]), eligible,
                                  "client", {}, kNow),
                  ApprovalErrc::kUnknownApprover);
  }
}

TEST_CASE("refuses the high-s twin of a valid approval (EIP-2)") {
  for (const auto& c : golden()["cases"]) {
    CAPTURE(c["name"].get<std::string>());
    const Bytes signature = bytes(c["signature"]);
    const Bytes twin = high_s_twin(signature);
    // The twin is a genuine signature by the approver: only the low-s rule stands between it and a count.
    const auto any_s = txguard::codec::recover_address(
        hash32(c["digest"]), txguard::codec::u256_to_be32(word(twin, 0)), txguard::codec::u256_to_be32(word(twin, 32)),
        static_cast<std::uint8_t>(twin[64] - 27), txguard::codec::SPolicy::kAnyS);
    REQUIRE(any_s.has_value());
    CHECK(*any_s == address(c["signer"]));
    check_refused(recover_approval_signer(hash32(c["digest"]), twin), ApprovalErrc::kHighS);
    check_refused(submit(c, twin), ApprovalErrc::kHighS);
  }
}

TEST_CASE("s = n/2 passes the low-s rule; s = n/2 + 1 and s = n - 1 do not") {
  const auto& c = golden_case("approve-ulid");
  const Hash32 digest = hash32(c["digest"]);
  const Bytes signature = bytes(c["signature"]);
  // With a valid r, any s in range recovers some key; n/2 is the largest s that gets that far.
  const auto at_half = recover_approval_signer(digest, with_s(signature, kHalfOrder));
  REQUIRE_MESSAGE(at_half.has_value(), at_half.error().message());
  CHECK(*at_half != address(c["signer"]));
  check_refused(recover_approval_signer(digest, with_s(signature, kHalfOrder + 1)), ApprovalErrc::kHighS);
  check_refused(recover_approval_signer(digest, with_s(signature, kOrder - 1)), ApprovalErrc::kHighS);
}

TEST_CASE("refuses v other than 0, 1, 27 and 28") {
  const auto& c = golden_case("approve-ulid");
  const Bytes signature = bytes(c["signature"]);
  for (const int v : {2, 3, 26, 29, 30, 31, 32, 35, 37, 255}) {
    CAPTURE(v);
    check_refused(recover_approval_signer(hash32(c["digest"]), with_v(signature, static_cast<std::uint8_t>(v))),
                  ApprovalErrc::kBadSignature);
    check_refused(submit(c, with_v(signature, static_cast<std::uint8_t>(v))), ApprovalErrc::kBadSignature);
  }
}

TEST_CASE("refuses r or s of zero, n or above") {
  const auto& c = golden_case("reject-ulid");
  const Hash32 digest = hash32(c["digest"]);
  const Bytes signature = bytes(c["signature"]);
  const U256 max{"0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"};
  for (const U256& bad : {U256(0), kOrder, U256(kOrder + 1), max}) {
    CAPTURE(txguard::codec::to_hex_quantity(bad));
    check_refused(recover_approval_signer(digest, with_r(signature, bad)), ApprovalErrc::kBadSignature);
    check_refused(recover_approval_signer(digest, with_s(signature, bad)), ApprovalErrc::kBadSignature);
    check_refused(submit(c, with_r(signature, bad)), ApprovalErrc::kBadSignature);
    check_refused(submit(c, with_s(signature, bad)), ApprovalErrc::kBadSignature);
  }
  // n - 1 and 1 are in range, so not malformed. r = n - 1 happens to be no curve point's x (so it is
  // unrecoverable), r = n - 2 is one; s = 1 recovers some key.
  check_refused(recover_approval_signer(digest, with_r(signature, kOrder - 1)), ApprovalErrc::kUnrecoverable);
  const auto r_below = recover_approval_signer(digest, with_r(signature, kOrder - 2));
  REQUIRE_MESSAGE(r_below.has_value(), r_below.error().message());
  CHECK(*r_below != address(c["signer"]));
  const auto s_one = recover_approval_signer(digest, with_s(signature, 1));
  REQUIRE_MESSAGE(s_one.has_value(), s_one.error().message());
  CHECK(*s_one != address(c["signer"]));
}

TEST_CASE("refuses signatures that are not exactly 65 bytes") {
  const auto& c = golden_case("approve-non-ascii");
  const Bytes signature = bytes(c["signature"]);
  const Bytes compact(signature.begin(), signature.begin() + 64);  // EIP-2098 64-byte form: refused too
  Bytes longer = signature;
  longer.push_back(0);
  Bytes v_first;  // v || r || s, the order some libraries use
  v_first.push_back(signature[64]);
  v_first.insert(v_first.end(), signature.begin(), signature.begin() + 64);
  for (const Bytes& bad : {compact, longer, Bytes{}, Bytes(1, 27), Bytes(130, 0x11)}) {
    CAPTURE(bad.size());
    check_refused(recover_approval_signer(hash32(c["digest"]), bad), ApprovalErrc::kBadSignature);
    check_refused(submit(c, bad), ApprovalErrc::kBadSignature);
  }
  const auto reordered = recover_approval_signer(hash32(c["digest"]), v_first);
  CHECK((!reordered.has_value() || *reordered != address(c["signer"])));
}

TEST_CASE("a well-formed signature whose r is no curve point's x is unrecoverable") {
  // x = 5: 5^3 + 7 = 132 is not a square modulo p, so no point has x = 5 (x = 1..4 all have one).
  const auto& c = golden_case("approve-ulid");
  const Bytes signature = with_r(bytes(c["signature"]), 5);
  check_refused(recover_approval_signer(hash32(c["digest"]), signature), ApprovalErrc::kUnrecoverable);
  check_refused(submit(c, signature), ApprovalErrc::kUnrecoverable);
  const auto at_four = recover_approval_signer(hash32(c["digest"]), with_r(bytes(c["signature"]), 4));
  REQUIRE_MESSAGE(at_four.has_value(), at_four.error().message());
  CHECK(*at_four != address(c["signer"]));
}

TEST_CASE("every one-bit change to a golden signature is refused or recovers another address") {
  for (const auto& c : golden()["cases"]) {
    CAPTURE(c["name"].get<std::string>());
    const Bytes signature = bytes(c["signature"]);
    for (std::size_t i = 0; i < signature.size(); ++i) {
      for (unsigned bit = 0; bit < 8; ++bit) {
        Bytes changed = signature;
        changed[i] = static_cast<std::uint8_t>(changed[i] ^ (1U << bit));
        const auto signer = recover_approval_signer(hash32(c["digest"]), changed);
        if (signer.has_value()) CHECK_MESSAGE(*signer != address(c["signer"]), "byte " << i << " bit " << bit);
        const auto result = submit(c, changed);
        CHECK_MESSAGE((!result.has_value() || result->approver != c["approver"].get<std::string>()),
                      "byte " << i << " bit " << bit);
      }
    }
  }
}

TEST_CASE("refuses a signer who is not an eligible approver") {
  const auto& c = golden_case("approve-non-ascii");
  const auto without_carol = approvers_except("carol");
  const auto result = verify_approval(hash32(c["request_hash"]), c["decision_id"].get<std::string>(),
                                      ApprovalVerdict::kApprove, bytes(c["signature"]), without_carol, "client", {}, kNow);
  check_refused(result, ApprovalErrc::kUnknownApprover);
  CHECK(result.error().detail.find(c["signer"].get<std::string>()) != std::string::npos);
  // A name alone does not make an approver: carol's name on another address does not match her key.
  std::vector<Approver> impostor = without_carol;
  impostor.push_back({"carol", address(golden()["approvers"][0]["address"])});
  impostor.erase(impostor.begin());
  check_refused(verify_approval(hash32(c["request_hash"]), c["decision_id"].get<std::string>(),
                                ApprovalVerdict::kApprove, bytes(c["signature"]), impostor, "client", {}, kNow),
                ApprovalErrc::kUnknownApprover);
  check_refused(verify_approval(hash32(c["request_hash"]), c["decision_id"].get<std::string>(),
                                ApprovalVerdict::kApprove, bytes(c["signature"]), {}, "client", {}, kNow),
                ApprovalErrc::kUnknownApprover);
}

TEST_CASE("a requester cannot approve or reject their own request") {
  for (const auto* name : {"approve-ulid", "reject-empty-id"}) {
    CAPTURE(name);
    const auto& c = golden_case(name);
    check_refused(submit(c, bytes(c["signature"]), {}, c["approver"].get<std::string>()), ApprovalErrc::kSelfApproval);
  }
  // Self-approval is reported before a duplicate: the requester's signature never counts.
  const auto& c = golden_case("approve-ulid");
  const std::vector<Approval> already{{"alice", ApprovalVerdict::kApprove, bytes(c["signature"]), kNow}};
  check_refused(submit(c, bytes(c["signature"]), already, "alice"), ApprovalErrc::kSelfApproval);
}

TEST_CASE("an approver counts once: the same signature submitted twice is a duplicate") {
  const auto& c = golden_case("approve-ulid");
  const auto first = submit(c, bytes(c["signature"]));
  REQUIRE(first.has_value());
  const std::vector<Approval> already{*first};
  check_refused(submit(c, bytes(c["signature"]), already), ApprovalErrc::kDuplicate);
}

TEST_CASE("an approver counts once: a different valid signature by the same key is a duplicate") {
  const auto& c = golden_case("approve-ulid");
  const Bytes alt = bytes(c["signature_alt"]);
  REQUIRE(alt != bytes(c["signature"]));
  // signature_alt is genuinely valid on its own.
  const auto alone = submit(c, alt);
  REQUIRE_MESSAGE(alone.has_value(), alone.error().message());
  CHECK(alone->approver == "alice");
  const auto first = submit(c, bytes(c["signature"]));
  REQUIRE(first.has_value());
  const std::vector<Approval> already{*first};
  check_refused(submit(c, alt, already), ApprovalErrc::kDuplicate);
  // The same signature with v written as the raw recovery id is other bytes, the same approver.
  const Bytes raw_v = with_v(bytes(c["signature"]), static_cast<std::uint8_t>(bytes(c["signature"])[64] - 27));
  check_refused(submit(c, raw_v, already), ApprovalErrc::kDuplicate);
}

TEST_CASE("an approver who rejected cannot then approve, nor the reverse") {
  const auto& reject = golden_case("reject-ulid");
  const auto& approve = golden_case("approve-ulid-bob");
  const auto rejected = submit(reject, bytes(reject["signature"]));
  REQUIRE(rejected.has_value());
  check_refused(submit(approve, bytes(approve["signature"]), std::vector<Approval>{*rejected}), ApprovalErrc::kDuplicate);
  const auto approved = submit(approve, bytes(approve["signature"]));
  REQUIRE(approved.has_value());
  check_refused(submit(reject, bytes(reject["signature"]), std::vector<Approval>{*approved}), ApprovalErrc::kDuplicate);
}

TEST_CASE("verdict names are exactly approve and reject") {
  CHECK(to_string(ApprovalVerdict::kApprove) == "approve");
  CHECK(to_string(ApprovalVerdict::kReject) == "reject");
  CHECK(parse_approval_verdict("approve") == ApprovalVerdict::kApprove);
  CHECK(parse_approval_verdict("reject") == ApprovalVerdict::kReject);
  using namespace std::string_view_literals;
  for (const std::string_view bad : {""sv, "Approve"sv, "APPROVE"sv, "approve "sv, " reject"sv, "approved"sv, "rejected"sv,
                                     "yes"sv, "approve\0"sv}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_approval_verdict(bad).has_value());
  }
}

TEST_CASE("error codes have stable kebab-case names and messages") {
  CHECK(to_string(ApprovalErrc::kBadSignature) == "bad-signature");
  CHECK(to_string(ApprovalErrc::kHighS) == "high-s");
  CHECK(to_string(ApprovalErrc::kUnrecoverable) == "unrecoverable");
  CHECK(to_string(ApprovalErrc::kUnknownApprover) == "unknown-approver");
  CHECK(to_string(ApprovalErrc::kSelfApproval) == "self-approval");
  CHECK(to_string(ApprovalErrc::kDuplicate) == "duplicate");
  CHECK(ApprovalError{ApprovalErrc::kDuplicate, {}}.message() == "duplicate");
  CHECK(ApprovalError{ApprovalErrc::kHighS, "s > n/2"}.message() == "high-s: s > n/2");
  const auto& c = golden_case("approve-ulid");
  const auto short_sig = recover_approval_signer(hash32(c["digest"]), Bytes(64, 1));
  REQUIRE_FALSE(short_sig.has_value());
  CHECK(short_sig.error().message().starts_with("bad-signature: "));
}

}  // TEST_SUITE

// Bridge releases (policy/bridge.hpp): txguard's EIP-712 withdrawal attestation against viem's
// digests, and every check of judge_release, each refusal with its reason code. The Ronin and Harmony
// lessons are cases here: signatures from keys one operator runs, releases with no deposit.
#include <doctest/doctest.h>

#include "policy/bridge.hpp"
#include "policy/codec/abi.hpp"
#include "policy/codec/json_value.hpp"
#include "policy/codec/keccak.hpp"
#include "policy/codec/secp256k1.hpp"
#include "policy/document.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/fixtures.hpp"

namespace txguard::policy {
namespace {

using codec::Address;
using codec::Hash32;
using nlohmann::json;
using test::addr;

const Address kReleaseSafe = addr("0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4");
const Address kDestToken = addr("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
const Address kSourceToken = addr("0x5FbDB2315678afecb367f032d93F642f64180aa3");
const Address kBridgeContract = addr("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
const Address kDestContract = addr("0x5afe5afE5afE5afE5afE5aFe5aFe5Afe5Afe5AfE");
const Address kRecipient = addr("0xC82678dc1288244F386A05506b1dbc07a1fA786c");
const Address kOther = addr("0x976EA74026E726554dB657fA54763abd0C3a0aa9");
const Hash32 kSourceTx = *codec::from_hex_fixed<32>("0x508003c9a60f4281e00255fcdbd9b70faa09a695167aea7e85c0b9e414803a27");

// Nine validator keys; 0-3 run by one operator (Ronin: Sky Mavis ran 4 of 9).
codec::SecretKey validator_key(int i) {
  return codec::SecretKey(codec::keccak256(codec::view("txguard-test-validator-" + std::to_string(i))));
}
std::string operator_of(int i) { return i < 4 ? "sky-mavis" : "operator-" + std::to_string(i); }

std::string validators_file() {
  json validators = json::array();
  for (int i = 0; i < 9; ++i) {
    validators.push_back({{"address", codec::to_checksum(*codec::address_of(validator_key(i)))}, {"operator", operator_of(i)}});
  }
  return json{{"txguard_validator_sets", 1},
              {"name", "test-ronin"},
              {"times", "test data: the genesis set is valid from 2020-01-01"},
              {"overlap", "24h"},
              {"governance", {{"chain", 1}, {"emitter", "0x0000000000000000000000000000000000000000000000000000000000000004"}}},
              {"sets", json::array({{{"index", 0}, {"valid_from", "2020-01-01T00:00:00Z"}, {"validators", validators}}})}}
      .dump();
}

json route_json() {
  return {{"kind", "attestation"},
          {"source", {{"chain", "source"},
                      {"contract", codec::to_checksum(kBridgeContract)},
                      {"event", "Deposit(address indexed token,address indexed sender,address recipient,uint256 amount,"
                                "uint256 destChainId,uint256 nonce)"},
                      {"confirmations", 2}}},
          {"destination", {{"chain", "ethereum"}, {"wallet", "release"}, {"contract", codec::to_checksum(kDestContract)}}},
          {"release", {{"kind", "transfer"}}},
          {"validators", {{"file", "ronin.validators.json"}}},
          {"quorum", {{"signatures", 5}, {"operators", 3}}},
          {"tokens", json::array({{{"source", codec::to_checksum(kSourceToken)}, {"asset", "USDC"}}})}};
}

json policy_json(const json& route) {
  return {{"txguard_policy", 1},
          {"name", "bridge-test"},
          {"chains", {{"ethereum", {{"id", 1}}}, {"source", {{"id", 31338}}}}},
          {"assets", {{"USDC", {{"chain", "ethereum"}, {"address", codec::to_checksum(kDestToken)}, {"decimals", 6}}}}},
          {"approvers", {{"alice", {{"address", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}}},
                         {"bob", {{"address", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"}}}}},
          {"wallets", {{"release", {{"chain", "ethereum"}, {"address", codec::to_checksum(kReleaseSafe)}, {"kind", "safe"},
                                    {"safe_version", "1.4.1"}}}}},
          {"rules", json::array({{{"id", "release"}, {"match", {{"wallet", "release"}, {"leg", "transfer"}}}, {"effect", "allow"}}})},
          {"bridges", {{"unpause", {{"approvers", {"alice", "bob"}}, {"quorum", 2}}}, {"routes", {{"ronin", route}}}}}};
}

std::expected<Policy, std::vector<PolicyProblem>> load(const json& doc, const std::string& validators = validators_file()) {
  return load_policy(doc.dump(), [&](const std::string& path) -> std::expected<std::string, std::string> {
    if (path == "ronin.validators.json") return validators;
    return std::unexpected(std::string("no such file"));
  });
}

const Policy& test_policy() {
  static const Policy p = [] {
    auto loaded = load(policy_json(route_json()));
    REQUIRE_MESSAGE(loaded.has_value(), (loaded ? std::string() : loaded.error().front().message()));
    return *loaded;
  }();
  return p;
}

WithdrawalAttestation attestation(std::uint64_t amount = 1'000'000'000) {
  WithdrawalAttestation a;
  a.source_chain_id = 31338;
  a.source_tx_hash = kSourceTx;
  a.log_index = 2;
  a.token = kDestToken;
  a.amount = amount;
  a.recipient = kRecipient;
  a.destination_chain_id = 1;
  a.nonce = 1;
  return a;
}

codec::Bytes sign(const WithdrawalAttestation& a, int validator) {
  const Hash32 digest = withdrawal_attestation_digest(a, 1, kDestContract);
  const auto sig = codec::sign_digest(digest, validator_key(validator));
  const auto rsv = sig->to_rsv(27);
  return codec::Bytes(rsv.begin(), rsv.end());
}

ReleaseClaim claim(const WithdrawalAttestation& a, std::initializer_list<int> signers) {
  ReleaseClaim c;
  c.route = 0;
  c.validator_set = 0;
  c.attestation = a;
  for (int v : signers) c.signatures.push_back(sign(a, v));
  return c;
}

// The release Safe paying `amount` of `token` to `to`.
codec::Intent release_intent(const codec::U256& amount, const Address& to = kRecipient, const Address& token = kDestToken) {
  return test::intent_of(test::safe_request(kReleaseSafe, token, test::erc20_transfer(to, amount)));
}

SourceFacts confirmed(const WithdrawalAttestation& a) {
  return SourceFacts{"deposit-confirmed", "3 confirmations",
                     json{{"token", codec::to_checksum(kSourceToken)},
                          {"sender", codec::to_checksum(kOther)},
                          {"recipient", codec::to_checksum(a.recipient)},
                          {"amount", codec::to_decimal(a.amount)},
                          {"destChainId", codec::to_decimal(a.destination_chain_id)},
                          {"nonce", codec::to_decimal(a.nonce)}}};
}

constexpr TimeMs kNow = 1'767'225'600'000;  // 2026-01-01

std::vector<std::string> codes(const BridgeJudgement& j) {
  std::vector<std::string> out;
  for (const auto& r : j.reasons) out.push_back(r.code);
  return out;
}

bool has(const BridgeJudgement& j, std::string_view code) {
  for (const auto& r : j.reasons) {
    if (r.code == code) return true;
  }
  return false;
}

BridgeJudgement judge(const ReleaseClaim& c, const codec::Intent& intent, const SourceFacts& source,
                      const BridgeState& state = {}) {
  return judge_release(test_policy(), c, intent, source, state, kNow);
}

const auto kFiveOperators = {0, 4, 5, 6, 7};

}  // namespace

TEST_SUITE("bridge") {
  TEST_CASE("the withdrawal attestation digest equals viem's and ethers' for every golden vector") {
    const json doc = test::load_fixture("bridge/attestation_vectors.json");
    CHECK(codec::to_hex(withdrawal_attestation_typehash()) == doc.at("type_hash").get<std::string>());
    REQUIRE(doc.at("cases").size() >= 3);
    for (const auto& c : doc.at("cases")) {
      CAPTURE(c.at("name").get<std::string>());
      auto a = attestation_from_json(c.at("message"), "$.message");
      REQUIRE(a.has_value());
      const auto chain = codec::parse_u256(c.at("domain").at("chainId").get<std::string>());
      const auto contract = codec::parse_address(c.at("domain").at("verifyingContract").get<std::string>());
      const Hash32 digest = withdrawal_attestation_digest(*a, *chain, *contract);
      CHECK(codec::to_hex(digest) == c.at("digest").get<std::string>());
      for (const auto& s : c.at("signatures")) {
        const auto r = codec::from_hex_fixed<32>(s.at("r").get<std::string>());
        const auto sv = codec::from_hex_fixed<32>(s.at("s").get<std::string>());
        auto who = codec::recover_address(digest, *r, *sv, static_cast<std::uint8_t>(s.at("v").get<int>() - 27));
        REQUIRE(who.has_value());
        CHECK(codec::to_checksum(*who) == s.at("address").get<std::string>());
      }
      CHECK(to_json(*a) == c.at("message"));
    }
  }

  TEST_CASE("the attestation domain binds the destination chain and the bridge contract") {
    const auto a = attestation();
    const Hash32 d = withdrawal_attestation_digest(a, 1, kDestContract);
    CHECK(d != withdrawal_attestation_digest(a, 10, kDestContract));
    CHECK(d != withdrawal_attestation_digest(a, 1, kOther));
  }

  TEST_CASE("attestation messages with unknown, missing or malformed fields are refused with their path") {
    const json good = to_json(attestation());
    CHECK(attestation_from_json(good, "$").has_value());
    json extra = good;
    extra["fee"] = "0";
    CHECK(attestation_from_json(extra, "$").error().where == "$.fee");
    for (const char* field : {"sourceChainId", "sourceTxHash", "logIndex", "token", "amount", "recipient",
                              "destinationChainId", "nonce"}) {
      CAPTURE(field);
      json missing = good;
      missing.erase(field);
      CHECK(attestation_from_json(missing, "$").error().where == std::string("$.") + field);
    }
    json short_hash = good;
    short_hash["sourceTxHash"] = "0x1234";
    CHECK_FALSE(attestation_from_json(short_hash, "$").has_value());
    json bad_checksum = good;
    bad_checksum["recipient"] = "0xc82678DC1288244F386A05506b1dbc07a1fA786c";
    CHECK_FALSE(attestation_from_json(bad_checksum, "$").has_value());
    json negative = good;
    negative["amount"] = "-1";
    CHECK_FALSE(attestation_from_json(negative, "$").has_value());
    CHECK_FALSE(attestation_from_json(json::array(), "$").has_value());
  }

  TEST_CASE("a release attested by five validators of five operators, paying exactly the confirmed deposit, passes") {
    const auto a = attestation();
    const auto j = judge(claim(a, kFiveOperators), release_intent(a.amount), confirmed(a));
    CHECK(codes(j).empty());
    CHECK(j.outcome == BridgeJudgement::Outcome::kPass);
    CHECK(j.signers.size() == 5);
    CHECK(j.operators == 5);
    CHECK(j.required == 5);
    CHECK(j.key.text == "31338:" + codec::to_hex(kSourceTx) + ":2");
  }

  TEST_CASE("Ronin: five signatures of which four come from one operator are refused too-few-operators") {
    const auto a = attestation();
    const auto j = judge(claim(a, {0, 1, 2, 3, 4}), release_intent(a.amount), confirmed(a));
    CHECK(codes(j) == std::vector<std::string>{"too-few-operators"});
    CHECK(j.operators == 2);
    CHECK(j.outcome == BridgeJudgement::Outcome::kDeny);
  }

  TEST_CASE("fewer signatures than the quorum are refused no-quorum, one more passes") {
    const auto a = attestation();
    CHECK(codes(judge(claim(a, {0, 4, 5, 6}), release_intent(a.amount), confirmed(a))) ==
          std::vector<std::string>{"no-quorum"});
    CHECK(codes(judge(claim(a, {}), release_intent(a.amount), confirmed(a))) ==
          std::vector<std::string>{"no-quorum", "too-few-operators"});
    CHECK(codes(judge(claim(a, {0, 4, 5, 6, 8}), release_intent(a.amount), confirmed(a))).empty());
  }

  TEST_CASE("one bad signature fails the whole attestation: a stranger, a repeated validator, a bad v, a wrong body") {
    const auto a = attestation();
    auto stranger = claim(a, kFiveOperators);
    const auto outsider = codec::sign_digest(withdrawal_attestation_digest(a, 1, kDestContract),
                                             codec::SecretKey(codec::keccak256(codec::view("not a validator"))));
    const auto rsv = outsider->to_rsv(27);
    stranger.signatures.emplace_back(rsv.begin(), rsv.end());
    CHECK(has(judge(stranger, release_intent(a.amount), confirmed(a)), bridge_reason::kUnknownSigner));
    CHECK(judge(stranger, release_intent(a.amount), confirmed(a)).outcome == BridgeJudgement::Outcome::kDeny);

    auto repeated = claim(a, {0, 4, 5, 6, 7, 7});
    CHECK(has(judge(repeated, release_intent(a.amount), confirmed(a)), bridge_reason::kDuplicateSigner));

    auto bad_v = claim(a, kFiveOperators);
    bad_v.signatures[2][64] = 29;
    CHECK(has(judge(bad_v, release_intent(a.amount), confirmed(a)), bridge_reason::kBadAttestation));

    auto truncated = claim(a, kFiveOperators);
    truncated.signatures[1].pop_back();
    CHECK(has(judge(truncated, release_intent(a.amount), confirmed(a)), bridge_reason::kBadAttestation));

    // Signatures over another amount recover to other addresses: strangers.
    auto other_body = claim(attestation(999), kFiveOperators);
    other_body.attestation = a;
    CHECK(has(judge(other_body, release_intent(a.amount), confirmed(a)), bridge_reason::kUnknownSigner));
  }

  TEST_CASE("a release that pays anything but the attested token, amount and recipient is release-mismatch") {
    const auto a = attestation();
    const auto c = claim(a, kFiveOperators);
    CHECK(has(judge(c, release_intent(a.amount + 1), confirmed(a)), bridge_reason::kReleaseMismatch));
    CHECK(has(judge(c, release_intent(a.amount, kOther), confirmed(a)), bridge_reason::kReleaseMismatch));
    CHECK(has(judge(c, release_intent(a.amount, kRecipient, kOther), confirmed(a)), bridge_reason::kReleaseMismatch));
    // Two transfers in a MultiSend batch: the attested one and one more.
    const std::vector<test::BatchItem> items = {
        {codec::Operation::kCall, kDestToken, 0, test::erc20_transfer(kRecipient, a.amount)},
        {codec::Operation::kCall, kDestToken, 0, test::erc20_transfer(kOther, 1)}};
    const auto batch = test::intent_of(test::safe_request(kReleaseSafe, codec::canonical_library_addresses(codec::SafeVersion::k1_4_1, codec::SafeLibrary::kMultiSendCallOnly).front(),
                                                          test::multisend_call(items), codec::Operation::kDelegateCall));
    CHECK(has(judge(c, batch, confirmed(a)), bridge_reason::kReleaseMismatch));
    // From another Safe, or on another chain.
    const auto elsewhere = test::intent_of(test::safe_request(kOther, kDestToken, test::erc20_transfer(kRecipient, a.amount)));
    CHECK(has(judge(c, elsewhere, confirmed(a)), bridge_reason::kReleaseMismatch));
    const auto other_chain = test::intent_of(test::safe_request(kReleaseSafe, kDestToken, test::erc20_transfer(kRecipient, a.amount),
                                                                codec::Operation::kCall, 0, codec::SafeVersion::k1_4_1, 10));
    CHECK(has(judge(c, other_chain, confirmed(a)), bridge_reason::kReleaseMismatch));
    // Native value with the call.
    const auto with_value = test::intent_of(test::safe_request(kReleaseSafe, kDestToken, test::erc20_transfer(kRecipient, a.amount),
                                                               codec::Operation::kCall, 1));
    CHECK(has(judge(c, with_value, confirmed(a)), bridge_reason::kReleaseMismatch));
  }

  TEST_CASE("Harmony: a perfectly attested release whose deposit the source chain does not show is deposit-not-found") {
    const auto a = attestation();
    const auto j = judge(claim(a, kFiveOperators), release_intent(a.amount),
                         SourceFacts{"deposit-not-found", "no receipt for the transaction", nullptr});
    CHECK(codes(j) == std::vector<std::string>{"deposit-not-found"});
    CHECK(j.outcome == BridgeJudgement::Outcome::kDeny);
  }

  TEST_CASE("a deposit that says something else than the attestation is deposit-mismatch") {
    const auto a = attestation();
    const auto c = claim(a, kFiveOperators);
    for (const char* field : {"token", "amount", "recipient", "destChainId", "nonce"}) {
      CAPTURE(field);
      SourceFacts facts = confirmed(a);
      facts.event[field] = std::string(field) == "token" || std::string(field) == "recipient"
                               ? json(codec::to_checksum(kOther))
                               : json("7");
      CHECK(codes(judge(c, release_intent(a.amount), facts)) == std::vector<std::string>{"deposit-mismatch"});
    }
    SourceFacts missing = confirmed(a);
    missing.event.erase("amount");
    CHECK(codes(judge(c, release_intent(a.amount), missing)) == std::vector<std::string>{"deposit-mismatch"});
  }

  TEST_CASE("an unconfirmed, unreachable or disagreeing source defers the release, never allows it") {
    const auto a = attestation();
    const auto c = claim(a, kFiveOperators);
    for (const char* status : {"deposit-unconfirmed", "source-unreachable", "source-disagree", "anything-else"}) {
      CAPTURE(status);
      const auto j = judge(c, release_intent(a.amount), SourceFacts{status, "", nullptr});
      CHECK(j.outcome == BridgeJudgement::Outcome::kDefer);
      REQUIRE(j.reasons.size() == 1);
    }
    // A refusal for another reason is still a refusal.
    const auto both = judge(claim(a, {0, 1, 2, 3, 4}), release_intent(a.amount), SourceFacts{"source-unreachable", "", nullptr});
    CHECK(both.outcome == BridgeJudgement::Outcome::kDeny);
  }

  TEST_CASE("a deposit released once is refused again; under another attested body it is a conflict to alert on") {
    const auto a = attestation();
    const auto c = claim(a, kFiveOperators);
    BridgeState state;
    state.deposited = a.amount;
    state.released = a.amount;
    state.deposit_known = true;
    state.prior = BridgeState::Prior{release_key(test_policy().bridges.routes[0], a).digest, "d-1"};
    const auto again = judge(c, release_intent(a.amount), confirmed(a), state);
    CHECK(has(again, bridge_reason::kAlreadyReleased));
    CHECK_FALSE(again.conflict);
    state.prior->digest[0] ^= 1;
    const auto conflict = judge(c, release_intent(a.amount), confirmed(a), state);
    CHECK(has(conflict, bridge_reason::kReleaseConflict));
    CHECK(conflict.conflict);
  }

  TEST_CASE("a paused route, or everything paused, refuses even a perfect release") {
    const auto a = attestation();
    const auto c = claim(a, kFiveOperators);
    BridgeState route_paused;
    route_paused.route_paused = true;
    CHECK(codes(judge(c, release_intent(a.amount), confirmed(a), route_paused)) == std::vector<std::string>{"route-paused"});
    BridgeState all_paused;
    all_paused.all_paused = true;
    CHECK(codes(judge(c, release_intent(a.amount), confirmed(a), all_paused)) == std::vector<std::string>{"all-paused"});
  }

  TEST_CASE("the supply invariant: what a route releases never exceeds what was confirmed deposited") {
    const auto a = attestation(100);
    const auto c = claim(a, kFiveOperators);
    BridgeState at_limit;  // this deposit is already counted; 50 of the 100 deposited were released
    at_limit.deposited = 100;
    at_limit.released = 50;
    at_limit.deposit_known = true;
    CHECK(has(judge(c, release_intent(a.amount), confirmed(a), at_limit), bridge_reason::kSupplyExceeded));
    at_limit.released = 0;
    CHECK(codes(judge(c, release_intent(a.amount), confirmed(a), at_limit)).empty());
    BridgeState fresh;  // a new deposit adds itself
    CHECK(codes(judge(c, release_intent(a.amount), confirmed(a), fresh)).empty());
  }

  TEST_CASE("an attestation for another source chain, destination chain or token is refused") {
    auto a = attestation();
    a.source_chain_id = 1;
    CHECK(has(judge(claim(a, kFiveOperators), release_intent(a.amount), confirmed(a)), bridge_reason::kWrongSource));
    a = attestation();
    a.destination_chain_id = 10;
    CHECK(has(judge(claim(a, kFiveOperators), release_intent(a.amount), confirmed(a)), bridge_reason::kWrongDestination));
    a = attestation();
    a.token = kOther;
    CHECK(has(judge(claim(a, kFiveOperators), release_intent(a.amount, kRecipient, kOther), confirmed(a)),
              bridge_reason::kUnknownToken));
  }

  TEST_CASE("an attestation naming a validator set the route does not have is refused") {
    const auto a = attestation();
    auto c = claim(a, kFiveOperators);
    c.validator_set = 1;
    CHECK(has(judge(c, release_intent(a.amount), confirmed(a)), "validator-set-unknown"));
  }

  TEST_CASE("a release through the bridge's release function must pass exactly the attested token, amount and recipient") {
    json route = route_json();
    route["release"] = {{"kind", "call"},
                        {"function", "release(address token,uint256 amount,address to,bytes32 depositId)"},
                        {"recipient", "to"}};
    auto loaded = load(policy_json(route));
    REQUIRE_MESSAGE(loaded.has_value(), (loaded ? std::string() : loaded.error().front().message()));
    const auto a = attestation();
    const auto c = claim(a, kFiveOperators);
    const auto call = [&](const Address& contract, const Address& token, const codec::U256& amount, const Address& to) {
      const std::vector<codec::AbiType> types = {*codec::parse_abi_type("address"), *codec::parse_abi_type("uint256"),
                                                 *codec::parse_abi_type("address"), *codec::parse_abi_type("bytes32")};
      const std::vector<codec::AbiValue> values = {codec::AbiValue::address(token), codec::AbiValue::uint(amount),
                                                   codec::AbiValue::address(to), codec::AbiValue::bytes(codec::Bytes(32, 7))};
      codec::Bytes data = {};
      const Hash32 h = codec::keccak256(codec::view(std::string("release(address,uint256,address,bytes32)")));
      data.assign(h.begin(), h.begin() + 4);
      const codec::Bytes args = codec::abi_encode(types, values);
      data.insert(data.end(), args.begin(), args.end());
      return test::intent_of(test::safe_request(kReleaseSafe, contract, data));
    };
    const auto judge_call = [&](const codec::Intent& intent) {
      return judge_release(*loaded, c, intent, confirmed(a), BridgeState{}, kNow);
    };
    CHECK(codes(judge_call(call(kDestContract, kDestToken, a.amount, kRecipient))).empty());
    CHECK(has(judge_call(call(kDestContract, kDestToken, a.amount + 1, kRecipient)), bridge_reason::kReleaseMismatch));
    CHECK(has(judge_call(call(kDestContract, kDestToken, a.amount, kOther)), bridge_reason::kReleaseMismatch));
    CHECK(has(judge_call(call(kDestContract, kOther, a.amount, kRecipient)), bridge_reason::kReleaseMismatch));
    CHECK(has(judge_call(call(kOther, kDestToken, a.amount, kRecipient)), bridge_reason::kReleaseMismatch));
    // A plain token transfer is not the configured release function.
    CHECK(has(judge_call(release_intent(a.amount)), bridge_reason::kReleaseMismatch));
  }

  TEST_CASE("the policy loader refuses bridge routes it cannot judge, naming the field") {
    const auto problem_at = [](const json& route, const std::string& validators = validators_file()) {
      auto loaded = load(policy_json(route), validators);
      REQUIRE_FALSE(loaded.has_value());
      return loaded.error().front().path;
    };
    json r = route_json();
    r["destination"]["wallet"] = "nope";
    CHECK(problem_at(r) == "$.bridges.routes.ronin.destination.wallet");
    r = route_json();
    r["source"]["event"] = "Deposit(address,uint256)";
    CHECK(problem_at(r) == "$.bridges.routes.ronin.source.event");
    r = route_json();
    r["source"]["confirmations"] = 0;
    CHECK(problem_at(r) == "$.bridges.routes.ronin.source.confirmations");
    r = route_json();
    r["tokens"] = json::array();
    CHECK(problem_at(r) == "$.bridges.routes.ronin.tokens");
    r = route_json();
    r["validators"]["file"] = "missing.json";
    CHECK(problem_at(r) == "$.bridges.routes.ronin.validators.file");
    CHECK(problem_at(route_json(), "{}") == "$.bridges.routes.ronin.validators.file");
    r = route_json();
    r["surprise"] = true;
    CHECK(problem_at(r) == "$.bridges.routes.ronin.surprise");
    r = route_json();
    r["kind"] = "wormhole";
    CHECK(problem_at(r) == "$.bridges.routes.ronin.kind");
    r = route_json();
    r["release"] = {{"kind", "call"}};
    CHECK(problem_at(r) == "$.bridges.routes.ronin.release.function");
  }
}

}  // namespace txguard::policy

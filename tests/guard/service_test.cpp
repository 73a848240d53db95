// The guard service without a socket: Service::handle driven with parsed requests, on the real
// pipeline (SQLite state + decision log in a temporary directory) and a real keystore signer. Proves
// the promises of PRODUCT.md at the API: what is signed is the hash txguard computed; denials (Bybit
// DELEGATECALL, sanctioned recipient, owner change) get no signature and say why; once only per
// (chain, Safe, nonce); a retry returns the same signature without a second debit; holds release the
// signature only after a quorum of EIP-712 approvals; refusals are recorded; nothing is released when
// the database cannot commit.
#include <doctest/doctest.h>
#include <stdlib.h>

#include "tests/support/test_database.hpp"
#include "tests/support/accounts.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/policy_sets.hpp"
#include "tests/support/temp_dir.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/service/pipeline.hpp"
#include "guard/service/service.hpp"
#include "guard/store/merkle.hpp"
#include "policy/approval.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/safe.hpp"
#include "policy/codec/secp256k1.hpp"
#include "policy/codec/u256.hpp"
#include "signers/keystore.hpp"
#include "tests/support/paths.hpp"

using namespace txguard;
using namespace txguard::service;
using txguard::test::addr;
using txguard::test::erc20_transfer;
using txguard::test::policy_set_of;
using txguard::test::TempDir;
using nlohmann::json;

namespace {

constexpr TimeMs kT0 = 1'795'341'600'000;  // 2026-11-22T10:00:00Z
constexpr TimeMs kMinute = 60'000;

using test::cs;
using test::key;
using test::kAliceKey;
using test::kBobKey;
using test::kCarolKey;
using test::kGuardKey;
const codec::Address& kSafe = test::kHotSafe;
const codec::Address& kUsdc = test::kUsdcToken;
const codec::Address& kCustomer = test::kCustomerAccount;
const codec::Address& kSanctioned = test::kSanctionedAccount;
const codec::Address& kAttacker = test::kBybitAttacker;
codec::Address address_of(const char* hex) { return test::address_of_key(hex); }

json policy_doc() {
  return json{
      {"txguard_policy", 1},
      {"name", "service-test"},
      {"chains", {{"ethereum", {{"id", 1}}}}},
      {"assets",
       {{"ETH", {{"chain", "ethereum"}, {"native", true}, {"decimals", 18}}},
        {"USDC", {{"chain", "ethereum"}, {"address", cs(kUsdc)}, {"decimals", 6}}}}},
      {"prices", {{"fixed", {{"USDC", "1"}, {"ETH", "3000"}}}}},
      {"lists", {{"sanctioned", {{"addresses", {cs(kSanctioned)}}}}}},
      {"approvers",
       {{"alice", {{"address", cs(address_of(kAliceKey))}}},
        {"bob", {{"address", cs(address_of(kBobKey))}}},
        {"carol", {{"address", cs(address_of(kCarolKey))}}}}},
      {"wallets",
       {{"hot", {{"chain", "ethereum"}, {"address", cs(kSafe)}, {"kind", "safe"}, {"safe_version", "1.4.1"}}},
        {"guard", {{"chain", "ethereum"}, {"address", cs(address_of(kGuardKey))}, {"kind", "account"}}}}},
      {"limits", {{"daily-usd", {{"window", "24h"}, {"max_usd", "1000000"}, {"per", {"wallet"}}}}}},
      {"rules",
       json::array({{{"id", "deny-sanctioned"}, {"match", {{"any_address", "sanctioned"}}}, {"effect", "deny"},
                     {"reason", "sanctioned-address"}},
                    {{"id", "large"},
                     {"match", {{"leg", "transfer"}, {"usd", {{">", "100000"}}}}},
                     {"effect", "hold"},
                     {"hold", {{"approvers", {"alice", "bob", "carol"}}, {"quorum", 2}, {"expires", "1h"}}},
                     {"limits", {"daily-usd"}}},
                    {{"id", "withdrawal"}, {"match", {{"leg", "transfer"}}}, {"effect", "allow"},
                     {"limits", {"daily-usd"}}},
                    // The guard's own transactions pay gas: up to 100 USD of it, counted in the window.
                    {{"id", "gas"}, {"match", {{"leg", "fee"}, {"usd", {{"<=", "100"}}}}}, {"effect", "allow"},
                     {"limits", {"daily-usd"}}}})}};
}

json safe_body(const codec::Address& to, const std::string& data, std::uint64_t nonce, int operation = 0,
               const std::string& value = "0") {
  return test::safe_tx_body(kSafe, to, data, nonce, operation, value);
}

json usdc_body(const codec::Address& to, std::uint64_t whole_usdc, std::uint64_t nonce) {
  return test::usdc_transfer_body(to, whole_usdc, nonce);
}

codec::Hash32 hash_of(const json& body) {
  json copy = body;
  copy["safeVersion"] = "1.4.1";
  auto request = codec::parse_safe_tx_request(copy);
  REQUIRE(request.has_value());
  return codec::safe_tx_hash(request->tx, request->domain);
}

struct Answer {
  unsigned status = 0;
  json body;
  std::string text;
};

// A whole guard: pipeline + service on a temporary database, a fixed clock the test moves.
// Several Guards given one TestDatabase are replicas: one configuration, one database, each its own
// pipeline (and so its own database connections) and service.
struct Guard {
  TempDir dir{"txguard-service"};
  std::optional<test::TestDatabase> own_db;      // declared before the pipeline: dropped after it stops
  const test::TestDatabase* shared_db = nullptr;  // a replica's: owned by the test
  std::uint64_t heads_every_ = 0;
  std::atomic<TimeMs> now{kT0};
  std::shared_ptr<signers::KeystoreSigner> signer;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<Service> service;
  json doc;

  /// `heads_every`: sign tree heads with a log key every that many records (0: no log key).
  explicit Guard(std::chrono::milliseconds lock_timeout = std::chrono::milliseconds{2000}, json policy = policy_doc(),
                 const test::TestDatabase* shared = nullptr, std::uint64_t heads_every = 0)
      : shared_db(shared), heads_every_(heads_every), doc(std::move(policy)) {
    if (shared_db == nullptr) own_db.emplace(test::test_database(dir));
    auto s = signers::KeystoreSigner::from_key(key(kGuardKey));
    REQUIRE(s.has_value());
    signer = std::make_shared<signers::KeystoreSigner>(std::move(*s));
    open(lock_timeout);
  }

  void open(std::chrono::milliseconds lock_timeout = std::chrono::milliseconds{2000}) {
    auto set = policy_set_of(doc);
    PipelineOptions options;
    options.database = db().name;
    options.database_password = db().password;
    options.clock = [this] { return now.load(); };
    options.lock_timeout = lock_timeout;
    if (heads_every_ > 0) {
      auto log_key = signers::KeystoreSigner::from_key(key(kCarolKey));  // any key but the co-signer's
      REQUIRE(log_key.has_value());
      options.log_signer = std::make_shared<signers::KeystoreSigner>(std::move(*log_key));
      options.head_every_records = heads_every_;
    }
    auto p = Pipeline::start(options, set, signer);
    REQUIRE_MESSAGE(p.has_value(), (p ? "" : p.error()));
    pipeline = std::move(*p);
    make_service();
  }

  /// Binds `client` to the policy approver `approver` (as the config's "approver" would) from now on.
  void bind(const std::string& client, const std::string& approver) {
    bindings[client] = approver;
    service.reset();
    make_service();
  }

  std::map<std::string, std::string> bindings;  // overrides: client -> approver

  void make_service() {
    ServiceOptions so;
    for (const auto& [name, role] : std::vector<std::pair<std::string, Role>>{{"ops", Role::kRequester},
                                                                             {"desk", Role::kRequester},
                                                                             {"alice", Role::kApprover},
                                                                             {"bob", Role::kApprover},
                                                                             {"carol", Role::kApprover},
                                                                             {"audit", Role::kAuditor},
                                                                             {"root", Role::kAdmin}}) {
      // Each approver client is bound to the policy approver of its name.
      so.clients.push_back(ClientConfig{name, token_digest("token-" + name), role,
                                        role == Role::kApprover ? std::optional<std::string>(name) : std::nullopt});
      if (bindings.contains(name)) so.clients.back().approver = bindings.at(name);
    }
    so.clock = [this] { return now.load(); };
    auto created = Service::create(so, *pipeline);
    REQUIRE(created.has_value());
    service = std::move(*created);
    service->set_ready(true);
  }

  /// Stops everything (committing what is queued) and starts again on the same database.
  void restart() {
    service.reset();
    pipeline->stop();
    pipeline.reset();
    open();
  }

  Answer call(const std::string& method, const std::string& target, const std::string& body,
              std::optional<std::string> client = "ops") {
    http::Request r;
    r.method = method;
    r.target = target;
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string::npos ? "" : target.substr(q + 1);
    r.body = body;
    r.peer = "127.0.0.1:1";
    if (client) r.headers.push_back({"authorization", "Bearer token-" + *client});
    std::promise<http::Response> promise;
    auto future = promise.get_future();
    service->handle(std::move(r), [&promise](http::Response response) { promise.set_value(std::move(response)); });
    const http::Response response = future.get();
    Answer a{response.status, json::parse(response.body, nullptr, false), response.body};
    return a;
  }
  Answer cosign(const json& body, const std::string& client = "ops") {
    return call("POST", "/v1/safe/cosign", body.dump(), client);
  }

  const test::TestDatabase& db() const { return shared_db != nullptr ? *shared_db : *own_db; }
};

codec::Address recover(const codec::Hash32& digest, const std::string& signature_hex) {
  auto sig = codec::from_hex(signature_hex);
  REQUIRE(sig.has_value());
  REQUIRE(sig->size() == 65);
  codec::Hash32 r{}, s{};
  std::copy(sig->begin(), sig->begin() + 32, r.begin());
  std::copy(sig->begin() + 32, sig->begin() + 64, s.begin());
  REQUIRE(((*sig)[64] == 27 || (*sig)[64] == 28));
  auto a = codec::recover_address(digest, r, s, static_cast<std::uint8_t>((*sig)[64] - 27));
  REQUIRE(a.has_value());
  return *a;
}

std::string approval(const char* approver_key, const codec::Hash32& request_hash, const std::string& decision_id,
                     policy::ApprovalVerdict verdict) {
  const auto digest = policy::approval_digest(request_hash, decision_id, verdict);
  auto sig = codec::sign_digest(digest, key(approver_key));
  REQUIRE(sig.has_value());
  const auto rsv = sig->to_rsv(27);
  return json{{"signature", codec::to_hex(codec::ByteView(rsv.data(), rsv.size()))}}.dump();
}

std::vector<std::string> codes(const json& decision) {
  std::vector<std::string> out;
  for (const auto& r : decision.at("reasons")) out.push_back(r.at("code").get<std::string>());
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// The service policy with `rule` first: e.g. one that allows every message leg (the attack's setting).
json policy_with_first_rule(const json& rule) {
  json doc = policy_doc();
  doc["rules"].insert(doc["rules"].begin(), rule);
  return doc;
}

json rpc_call(const std::string& method, const json& params) {
  return {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
}

std::vector<std::string> rpc_codes(const Answer& a) {
  std::vector<std::string> out;
  if (!a.body.contains("error")) return out;
  for (const auto& r : a.body.at("error").at("data").at("reasons")) out.push_back(r.at("code").get<std::string>());
  return out;
}

// eth_signTypedData_v4 JSON of a SafeTx (the cosign body's fields) in a given EIP712Domain.
json safe_tx_typed(const json& body, json domain_types, json domain) {
  const auto field = [](const char* name, const char* type) { return json{{"name", name}, {"type", type}}; };
  json message = body;
  message.erase("chainId");
  message.erase("safe");
  return {{"types",
           {{"EIP712Domain", std::move(domain_types)},
            {"SafeTx", json::array({field("to", "address"), field("value", "uint256"), field("data", "bytes"),
                                    field("operation", "uint8"), field("safeTxGas", "uint256"), field("baseGas", "uint256"),
                                    field("gasPrice", "uint256"), field("gasToken", "address"),
                                    field("refundReceiver", "address"), field("nonce", "uint256")})}}},
          {"primaryType", "SafeTx"},
          {"domain", std::move(domain)},
          {"message", std::move(message)}};
}

// The SafeTx of a cosign body as the Safe >= 1.3.0 domain types it (chainId, verifyingContract).
json safe_tx_typed(const json& body) {
  return safe_tx_typed(body,
                       json::array({{{"name", "chainId"}, {"type", "uint256"}}, {{"name", "verifyingContract"}, {"type", "address"}}}),
                       {{"chainId", 1}, {"verifyingContract", body.at("safe")}});
}

// eth_signTypedData_v4 JSON of a Safe's EIP-1271 message (CompatibilityFallbackHandler's SafeMessage).
json safe_message_typed(const codec::Address& safe, const std::string& inner_hex) {
  return {{"types",
           {{"EIP712Domain", json::array({{{"name", "chainId"}, {"type", "uint256"}}, {{"name", "verifyingContract"}, {"type", "address"}}})},
            {"SafeMessage", json::array({{{"name", "message"}, {"type", "bytes"}}})}}},
          {"primaryType", "SafeMessage"},
          {"domain", {{"chainId", 1}, {"verifyingContract", cs(safe)}}},
          {"message", {{"message", inner_hex}}}};
}

// The amount already used in the daily-usd ledger, as the next decision reads it.
std::string daily_used(Guard& g) {
  const Answer a = g.call("POST", "/v1/evaluate", json{{"request", usdc_body(kCustomer, 1, 999)}}.dump());
  REQUIRE(a.status == 200);
  return a.body.at("decision").at("limits").at(0).at("used").get<std::string>();
}

}  // namespace

TEST_SUITE("service") {
  TEST_CASE("an allowed Safe transfer is signed over the safeTxHash txguard computed, by the guard's key") {
    Guard g;
    const json body = usdc_body(kCustomer, 500, 0);
    const Answer a = g.cosign(body);
    REQUIRE(a.status == 200);
    CHECK(a.body.at("decision").at("verdict") == "allow");
    CHECK(a.body.at("safeTxHash") == codec::to_hex(hash_of(body)));
    CHECK(a.body.at("signer") == cs(address_of(kGuardKey)));
    CHECK(recover(hash_of(body), a.body.at("signature")) == address_of(kGuardKey));
  }

  TEST_CASE("a Bybit-style DELEGATECALL, a sanctioned recipient and an owner change get no signature and say why") {
    Guard g;
    // DELEGATECALL to an attacker's contract (the Bybit pattern: the Safe runs foreign code).
    const Answer delegate = g.cosign(safe_body(kAttacker, "0xa9059cbb" + std::string(128, '0'), 0, 1));
    CHECK(delegate.status == 403);
    CHECK(delegate.body.at("error").at("code") == "denied");
    CHECK_FALSE(delegate.body.contains("signature"));
    CHECK(has(codes(delegate.body.at("decision")), "unsafe-delegatecall"));

    const Answer sanctioned = g.cosign(usdc_body(kSanctioned, 10, 0));
    CHECK(sanctioned.status == 403);
    CHECK_FALSE(sanctioned.body.contains("signature"));
    CHECK(has(codes(sanctioned.body.at("decision")), "sanctioned-address"));

    // addOwnerWithThreshold(attacker, 1) on the Safe itself.
    const std::string add_owner = "0x0d582f13" + std::string(24, '0') + codec::to_hex(kAttacker.view()).substr(2) +
                                  std::string(63, '0') + "1";
    const Answer owner = g.cosign(safe_body(kSafe, add_owner, 0));
    CHECK(owner.status == 403);
    CHECK_FALSE(owner.body.contains("signature"));
    CHECK(has(codes(owner.body.at("decision")), "safe-configuration-change"));
  }

  TEST_CASE("a claimed safeTxHash that differs from the computed one is refused and nothing is signed") {
    Guard g;
    json body = usdc_body(kCustomer, 5, 0);
    body["safeTxHash"] = "0x" + std::string(64, 'a');
    const Answer a = g.cosign(body);
    CHECK(a.status == 400);
    CHECK(a.body.at("error").at("code") == "hash-mismatch");
    body["safeTxHash"] = codec::to_hex(hash_of(usdc_body(kCustomer, 5, 0)));
    CHECK(g.cosign(body).status == 200);
  }

  TEST_CASE("once only: a second SafeTx at a signed (chain, Safe, nonce) is denied with its own reason") {
    Guard g;
    REQUIRE(g.cosign(usdc_body(kCustomer, 5, 3)).status == 200);
    const Answer second = g.cosign(usdc_body(kCustomer, 6, 3));
    CHECK(second.status == 403);
    CHECK_FALSE(second.body.contains("signature"));
    CHECK(codes(second.body.at("decision")) == std::vector<std::string>{"nonce-already-signed"});
    // Another nonce is free.
    CHECK(g.cosign(usdc_body(kCustomer, 6, 4)).status == 200);
  }

  TEST_CASE("once only for a Safe 1.1.1: its one signature is valid on every chain, so a nonce signed on one chain is taken on all") {
    json doc = policy_doc();
    doc["wallets"]["hot"]["safe_version"] = "1.1.1";
    doc["rules"].push_back({{"id", "calls"}, {"match", {{"leg", "call"}}}, {"effect", "allow"}, {"lifts", {"unknown-selector"}}});
    Guard g(std::chrono::milliseconds{2000}, doc);
    json first = safe_body(kCustomer, "0x12345678", 5);
    const Answer signed_first = g.cosign(first);
    REQUIRE_MESSAGE(signed_first.status == 200, signed_first.text);
    // Another transaction at nonce 5 under another chain id: the Safe would accept a signature of it on
    // chain 1 too (no chainId in its domain), so it is refused, never signed.
    json other = safe_body(kAttacker, "0x87654321", 5);
    other["chainId"] = 2;
    other["safeVersion"] = "1.1.1";
    const Answer refused = g.cosign(other);
    REQUIRE(refused.status == 403);
    CHECK(codes(refused.body.at("decision")) == std::vector<std::string>{"nonce-already-signed"});
    CHECK_FALSE(refused.body.contains("signature"));
  }

  TEST_CASE("a policy declaring one Safe 1.1.1 or 1.2.0 on two chains is refused at load, saying why") {
    const auto problems_of = [](const std::string& version) {
      json doc = policy_doc();
      doc["chains"]["gnosis"] = {{"id", 100}};
      doc["wallets"]["hot"]["safe_version"] = version;
      doc["wallets"]["hot-gnosis"] = {{"chain", "gnosis"}, {"address", cs(kSafe)}, {"kind", "safe"}, {"safe_version", version}};
      auto loaded = policy::load_policy(doc.dump(), [](const std::string&) -> std::expected<std::string, std::string> {
        return std::unexpected(std::string("no file"));
      });
      return loaded ? std::vector<policy::PolicyProblem>{} : loaded.error();
    };
    for (const char* version : {"1.1.1", "1.2.0"}) {
      const auto problems = problems_of(version);
      REQUIRE(problems.size() == 1);
      CHECK(problems.front().path == "$.wallets.hot-gnosis.chain");
      CHECK(problems.front().message().find("signs one hash valid on every chain") != std::string::npos);
    }
    CHECK(problems_of("1.3.0").empty());
  }

  TEST_CASE("a denied request does not take its nonce: a corrected request at that nonce can be signed") {
    Guard g;
    CHECK(g.cosign(usdc_body(kSanctioned, 5, 0)).status == 403);
    CHECK(g.cosign(usdc_body(kCustomer, 5, 0)).status == 200);
  }

  TEST_CASE("a retry returns the same decision and signature without evaluating or debiting again") {
    Guard g;
    const json body = usdc_body(kCustomer, 700, 1);
    const Answer first = g.cosign(body);
    REQUIRE(first.status == 200);
    const std::string used = daily_used(g);
    CHECK(used == "700000000");
    const Answer retry = g.cosign(body);
    REQUIRE(retry.status == 200);
    CHECK(retry.body.at("signature") == first.body.at("signature"));
    CHECK(retry.body.at("decision").at("id") == first.body.at("decision").at("id"));
    CHECK(retry.body.value("replayed", false));
    CHECK(daily_used(g) == used);
  }

  TEST_CASE("evaluate judges without signing, recording or consuming limits") {
    Guard g;
    const Answer a = g.call("POST", "/v1/evaluate", json{{"request", usdc_body(kCustomer, 900, 0)}}.dump());
    REQUIRE(a.status == 200);
    CHECK(a.body.at("decision").at("verdict") == "allow");
    CHECK_FALSE(a.body.contains("signature"));
    CHECK(daily_used(g) == "0");
    // The nonce is not taken either.
    CHECK(g.cosign(usdc_body(kCustomer, 1, 0)).status == 200);
  }

  TEST_CASE("an emergency pause of everything refuses every signing request at once, survives a restart, and only an admin sets it") {
    Guard g;
    CHECK(g.call("POST", "/v1/bridge/pause", "{}", "ops").status == 403);
    const Answer paused = g.call("POST", "/v1/bridge/pause", json{{"reason", "incident 42"}}.dump(), "root");
    REQUIRE(paused.status == 200);
    CHECK(paused.body.at("paused").at(0).at("scope") == "*");
    CHECK(paused.body.at("paused").at(0).at("by") == "root");
    CHECK(paused.body.at("paused").at(0).at("reason") == "incident 42");
    const Answer refused = g.cosign(usdc_body(kCustomer, 10, 1));
    REQUIRE(refused.status == 403);
    CHECK(codes(refused.body.at("decision")) == std::vector<std::string>{"all-paused"});
    CHECK_FALSE(refused.body.contains("signature"));
    // Evaluation signs nothing and still answers.
    CHECK(g.call("POST", "/v1/evaluate", json{{"request", usdc_body(kCustomer, 10, 1)}}.dump()).status == 200);
    // An unknown route cannot be paused; a body with other fields is refused.
    CHECK(g.call("POST", "/v1/bridge/pause", json{{"route", "nope"}}.dump(), "root").status == 404);
    CHECK(g.call("POST", "/v1/bridge/pause", json{{"scope", "*"}}.dump(), "root").status == 400);
    g.restart();
    CHECK(g.cosign(usdc_body(kCustomer, 10, 1)).status == 403);
    const Answer status = g.call("GET", "/v1/bridge/status", "", "audit");
    REQUIRE(status.status == 200);
    CHECK(status.body.at("paused").size() == 1);
    // This policy names no unpause approvers: nobody can lift it by API (fail closed).
    const Answer unpause = g.call("POST", "/v1/bridge/unpause", "{}", "root");
    CHECK(unpause.status == 409);
    CHECK(codes(unpause.body.at("decision")) == std::vector<std::string>{"no-unpause-approvers"});
    CHECK(g.cosign(usdc_body(kCustomer, 10, 1)).status == 403);
  }

  TEST_CASE("a hold by time alone is released once its delay has passed, without any approval") {
    json doc = policy_doc();
    doc["rules"][1]["hold"] = {{"delay", "1h"}};
    Guard g(std::chrono::milliseconds{2000}, doc);
    const json body = usdc_body(kCustomer, 150'000, 2);
    const Answer held = g.cosign(body);
    REQUIRE(held.status == 202);
    CHECK(held.body.at("hold").at("quorum") == 0);
    g.now += 3'600'000 - 1;
    CHECK(g.cosign(body).status == 202);  // one millisecond early
    g.now += 1;
    const Answer released = g.cosign(body);
    REQUIRE(released.status == 200);
    CHECK(released.body.at("status") == "approved");
    CHECK(recover(hash_of(body), released.body.at("signature")) == address_of(kGuardKey));
    CHECK(daily_used(g) == "150000000000");
  }

  TEST_CASE("approvals that meet the quorum before the hold's delay ends are released when it ends") {
    json doc = policy_doc();
    doc["rules"][1]["hold"] = {{"approvers", {"alice", "bob", "carol"}}, {"quorum", 2}, {"delay", "1h"}, {"expires", "2h"}};
    Guard g(std::chrono::milliseconds{2000}, doc);
    const json body = usdc_body(kCustomer, 150'000, 2);
    const codec::Hash32 hash = hash_of(body);
    const Answer held = g.cosign(body);
    REQUIRE(held.status == 202);
    const std::string id = held.body.at("hold").at("id");
    REQUIRE(g.call("POST", "/v1/holds/" + id + "/approve", approval(kAliceKey, hash, id, policy::ApprovalVerdict::kApprove), "alice").status == 200);
    const Answer two = g.call("POST", "/v1/holds/" + id + "/approve", approval(kBobKey, hash, id, policy::ApprovalVerdict::kApprove), "bob");
    REQUIRE(two.status == 200);
    CHECK(two.body.at("status") == "pending");
    CHECK(g.cosign(body).status == 202);
    g.now += 3'600'000;
    const Answer released = g.cosign(body);
    REQUIRE(released.status == 200);
    CHECK(recover(hash, released.body.at("signature")) == address_of(kGuardKey));
  }

  // Lifting a pause: POST /v1/bridge/unpause opens a hold that the policy's unpause approvers release.
  void unpause(Guard& g) {
    const Answer opened = g.call("POST", "/v1/bridge/unpause", "{}", "root");
    REQUIRE(opened.status == 202);
    const std::string id = opened.body.at("hold").at("id");
    const auto hash = codec::from_hex_fixed<32>(opened.body.at("hold").at("request_hash").get<std::string>());
    REQUIRE(hash.has_value());
    const Answer lifted = g.call("POST", "/v1/holds/" + id + "/approve",
                                 approval(kCarolKey, *hash, id, policy::ApprovalVerdict::kApprove), "carol");
    REQUIRE(lifted.status == 200);
    REQUIRE(lifted.body.at("status") == "approved");
  }

  json pausable_policy(json hold) {
    json doc = policy_doc();
    doc["rules"][1]["hold"] = std::move(hold);
    doc["bridges"] = {{"unpause", {{"approvers", {"carol"}}, {"quorum", 1}}}};
    return doc;
  }

  TEST_CASE("a pause stops the release of a hold whose delay ends while paused; the unpause releases it") {
    Guard g(std::chrono::milliseconds{2000}, pausable_policy({{"delay", "1h"}}));
    const json body = usdc_body(kCustomer, 150'000, 2);
    REQUIRE(g.cosign(body).status == 202);
    REQUIRE(g.call("POST", "/v1/bridge/pause", json{{"reason", "incident"}}.dump(), "root").status == 200);
    g.now += 2 * 3'600'000;
    // Neither the sequencer's release of due holds nor the retry signs while paused.
    const Answer retry = g.cosign(body);
    CHECK(retry.status == 202);
    CHECK_FALSE(retry.body.contains("signature"));
    CHECK(retry.body.at("hold").at("status") == "pending");
    g.restart();
    CHECK(g.cosign(body).status == 202);
    unpause(g);
    const Answer released = g.cosign(body);
    REQUIRE(released.status == 200);
    CHECK(recover(hash_of(body), released.body.at("signature")) == address_of(kGuardKey));
  }

  TEST_CASE("a pause stops the release of a hold approved while paused: the approvals are recorded, the release waits") {
    Guard g(std::chrono::milliseconds{2000},
            pausable_policy({{"approvers", {"alice", "bob"}}, {"quorum", 2}, {"expires", "2h"}}));
    const json body = usdc_body(kCustomer, 150'000, 2);
    const codec::Hash32 hash = hash_of(body);
    const Answer held = g.cosign(body);
    REQUIRE(held.status == 202);
    const std::string id = held.body.at("hold").at("id");
    REQUIRE(g.call("POST", "/v1/holds/" + id + "/approve", approval(kAliceKey, hash, id, policy::ApprovalVerdict::kApprove), "alice").status == 200);
    REQUIRE(g.call("POST", "/v1/bridge/pause", json{{"reason", "incident"}}.dump(), "root").status == 200);
    const Answer two = g.call("POST", "/v1/holds/" + id + "/approve", approval(kBobKey, hash, id, policy::ApprovalVerdict::kApprove), "bob");
    REQUIRE(two.status == 200);
    CHECK(two.body.at("status") == "pending");
    CHECK(two.body.at("approvals").size() == 2);
    CHECK(two.body.at("why").get<std::string>().find("waits for the pause") != std::string::npos);
    const Answer retry = g.cosign(body);
    CHECK(retry.status == 202);
    CHECK_FALSE(retry.body.contains("signature"));
    unpause(g);
    const Answer released = g.cosign(body);
    REQUIRE(released.status == 200);
    CHECK(recover(hash, released.body.at("signature")) == address_of(kGuardKey));
  }

  TEST_CASE("a signature that left before a pause is returned again on retry during the pause") {
    Guard g;
    const json body = usdc_body(kCustomer, 10, 1);
    const Answer signed_before = g.cosign(body);
    REQUIRE(signed_before.status == 200);
    REQUIRE(g.call("POST", "/v1/bridge/pause", json{{"reason", "incident"}}.dump(), "root").status == 200);
    const Answer retry = g.cosign(body);
    REQUIRE(retry.status == 200);
    CHECK(retry.body.at("signature") == signed_before.body.at("signature"));
    CHECK(g.cosign(usdc_body(kCustomer, 11, 2)).status == 403);
  }

  TEST_CASE("a hold without approvers must not name a quorum, and its delay must end before it expires") {
    const auto problem_at = [](const json& hold) -> std::string {
      json doc = policy_doc();
      doc["rules"][1]["hold"] = hold;
      auto loaded = policy::load_policy(doc.dump(), [](const std::string&) -> std::expected<std::string, std::string> {
        return std::unexpected(std::string("no file"));
      });
      return loaded ? std::string() : loaded.error().front().path;
    };
    CHECK(problem_at({{"delay", "1h"}}).empty());
    CHECK(problem_at(json::object()).empty());  // 24 h by default
    CHECK(problem_at({{"quorum", 1}}) == "$.rules[1].hold.approvers");
    CHECK(problem_at({{"delay", "2h"}, {"expires", "1h"}}) == "$.rules[1].hold.expires");
    CHECK(problem_at({{"delay", "0s"}}) == "$.rules[1].hold.delay");
    CHECK(problem_at({{"approvers", json::array()}}) == "$.rules[1].hold.approvers");
  }

  TEST_CASE("a held withdrawal is signed only after two approvers sign the EIP-712 approval") {
    Guard g;
    const json body = usdc_body(kCustomer, 150'000, 2);
    const codec::Hash32 hash = hash_of(body);
    const Answer held = g.cosign(body);
    REQUIRE(held.status == 202);
    CHECK_FALSE(held.body.contains("signature"));
    const std::string id = held.body.at("hold").at("id");
    CHECK(held.body.at("hold").at("status") == "pending");
    CHECK(held.body.at("hold").at("quorum") == 2);
    CHECK(held.body.at("hold").at("approvers") == json::array({"alice", "bob", "carol"}));
    CHECK(held.body.at("hold").at("expires_at") == "2026-11-22T11:00:00.000Z");
    // The typed data to sign is given with the hold.
    CHECK(held.body.at("hold").at("approval").at("message").at("decisionId") == id);
    CHECK(held.body.at("hold").at("approval").at("message").at("requestHash") == codec::to_hex(hash));

    // A retry while pending: still pending, no signature.
    const Answer retry = g.cosign(body);
    CHECK(retry.status == 202);
    CHECK_FALSE(retry.body.contains("signature"));

    const Answer one = g.call("POST", "/v1/holds/" + id + "/approve",
                              approval(kAliceKey, hash, id, policy::ApprovalVerdict::kApprove), "alice");
    REQUIRE(one.status == 200);
    CHECK(one.body.at("status") == "pending");
    // The same approver again counts once.
    const Answer again = g.call("POST", "/v1/holds/" + id + "/approve",
                                approval(kAliceKey, hash, id, policy::ApprovalVerdict::kApprove), "alice");
    CHECK(again.status == 409);
    CHECK(again.body.at("error").at("code") == "conflict");
    CHECK(one.body.at("approvals").at(0).at("at_ms") == kT0);
    CHECK(g.cosign(body).status == 202);

    const Answer two = g.call("POST", "/v1/holds/" + id + "/approve",
                              approval(kBobKey, hash, id, policy::ApprovalVerdict::kApprove), "bob");
    REQUIRE(two.status == 200);
    CHECK(two.body.at("status") == "approved");
    CHECK_FALSE(two.body.contains("signature"));  // released to the requester, not the approver

    const Answer released = g.cosign(body);
    REQUIRE(released.status == 200);
    CHECK(recover(hash, released.body.at("signature")) == address_of(kGuardKey));
    const Answer view = g.call("GET", "/v1/holds/" + id, "", "ops");
    REQUIRE(view.status == 200);
    CHECK(view.body.at("signature") == released.body.at("signature"));
    // The reservation became a debit, once.
    CHECK(daily_used(g) == "150000000000");
  }

  TEST_CASE("an approval counts only from the client bound to the approver whose key signed it") {
    Guard g;
    const json body = usdc_body(kCustomer, 150'000, 2);
    const codec::Hash32 hash = hash_of(body);
    const Answer held = g.cosign(body);
    REQUIRE(held.status == 202);
    const std::string id = held.body.at("hold").at("id");
    // Bob's valid signature through alice's token, and alice's through the admin's (bound to no approver).
    const Answer through_alice = g.call("POST", "/v1/holds/" + id + "/approve", approval(kBobKey, hash, id, policy::ApprovalVerdict::kApprove), "alice");
    CHECK(through_alice.status == 403);
    CHECK(through_alice.body.at("error").at("code") == "not-bound");
    const Answer through_admin = g.call("POST", "/v1/holds/" + id + "/approve", approval(kAliceKey, hash, id, policy::ApprovalVerdict::kApprove), "root");
    CHECK(through_admin.status == 403);
    CHECK(through_admin.body.at("error").at("code") == "not-bound");
    // A rejection is no different: carol's key through bob's token does not end the hold.
    CHECK(g.call("POST", "/v1/holds/" + id + "/reject", approval(kCarolKey, hash, id, policy::ApprovalVerdict::kReject), "bob").status == 403);
    const Answer view = g.call("GET", "/v1/holds/" + id, "", "ops");
    CHECK(view.body.at("status") == "pending");
    CHECK(view.body.at("approvals").empty());
    // Through their own clients, both count.
    REQUIRE(g.call("POST", "/v1/holds/" + id + "/approve", approval(kAliceKey, hash, id, policy::ApprovalVerdict::kApprove), "alice").status == 200);
    const Answer two = g.call("POST", "/v1/holds/" + id + "/approve", approval(kBobKey, hash, id, policy::ApprovalVerdict::kApprove), "bob");
    REQUIRE(two.status == 200);
    CHECK(two.body.at("status") == "approved");
    // The log names the client that submitted each approval.
    const Answer records = g.call("GET", "/v1/decisions?from=0&limit=100", "", "audit");
    REQUIRE(records.status == 200);
    std::set<std::string> submitted_by;
    for (const auto& r : records.body.at("decisions")) {
      if (r.at("kind") == "approval") submitted_by.insert(r.at("record").at("by").at("client").get<std::string>());
    }
    CHECK(submitted_by == std::set<std::string>{"alice", "bob"});
  }

  TEST_CASE("a client that requested can never approve the same request, whatever its role") {
    Guard g;
    // The admin may request, and is bound to carol here: it still cannot approve its own request.
    g.bind("root", "carol");
    g.bind("carol", "nobody");
    const json body = usdc_body(kCustomer, 150'000, 2);
    const codec::Hash32 hash = hash_of(body);
    const Answer held = g.cosign(body, "root");
    REQUIRE(held.status == 202);
    const std::string id = held.body.at("hold").at("id");
    const Answer own = g.call("POST", "/v1/holds/" + id + "/approve", approval(kCarolKey, hash, id, policy::ApprovalVerdict::kApprove), "root");
    CHECK(own.status == 403);
    CHECK(own.body.at("error").at("code") == "self-approval");
    // A request of someone else: the admin's binding to carol counts there.
    const json other = usdc_body(kCustomer, 150'000, 3);
    const Answer held_other = g.cosign(other, "ops");
    REQUIRE(held_other.status == 202);
    const std::string other_id = held_other.body.at("hold").at("id");
    CHECK(g.call("POST", "/v1/holds/" + other_id + "/approve",
                 approval(kCarolKey, hash_of(other), other_id, policy::ApprovalVerdict::kApprove), "root").status == 200);
  }

  TEST_CASE("approvals that do not count: a stranger's key, a signature over another request, after the end") {
    Guard g;
    const json body = usdc_body(kCustomer, 200'000, 0);
    const codec::Hash32 hash = hash_of(body);
    const Answer held = g.cosign(body);
    REQUIRE(held.status == 202);
    const std::string id = held.body.at("hold").at("id");
    // The guard's own key is not an approver.
    Answer a = g.call("POST", "/v1/holds/" + id + "/approve", approval(kGuardKey, hash, id, policy::ApprovalVerdict::kApprove), "alice");
    CHECK(a.status == 400);
    CHECK(a.body.at("error").at("code") == "unknown-approver");
    // Alice's signature over another decision id.
    a = g.call("POST", "/v1/holds/" + id + "/approve", approval(kAliceKey, hash, id + "0", policy::ApprovalVerdict::kApprove), "alice");
    CHECK(a.body.at("error").at("code") == "unknown-approver");
    // Malformed bodies.
    CHECK(g.call("POST", "/v1/holds/" + id + "/approve", "{}", "alice").status == 400);
    CHECK(g.call("POST", "/v1/holds/" + id + "/approve", R"({"signature":"0x1234"})", "alice").status == 400);
    CHECK(g.call("POST", "/v1/holds/" + id + "/approve", R"({"signature":"0x","extra":1})", "alice").status == 400);
    CHECK(g.call("POST", "/v1/holds/ffff-1/approve", approval(kAliceKey, hash, id, policy::ApprovalVerdict::kApprove), "alice").status == 404);
    CHECK(g.call("POST", "/v1/holds/../approve", "{}", "alice").status == 404);
    // A requester cannot approve.
    CHECK(g.call("POST", "/v1/holds/" + id + "/approve", approval(kAliceKey, hash, id, policy::ApprovalVerdict::kApprove), "ops").status == 403);
    // After expiry nothing is signed and the nonce is free again.
    g.now = kT0 + 61 * kMinute;
    a = g.call("POST", "/v1/holds/" + id + "/approve", approval(kAliceKey, hash, id, policy::ApprovalVerdict::kApprove), "alice");
    CHECK(a.status == 409);
    const Answer expired = g.cosign(body);
    CHECK(expired.status == 202);  // judged anew: a fresh hold with a fresh id
    CHECK(expired.body.at("hold").at("id") != id);
  }

  TEST_CASE("one rejection by an approver ends a hold for good and frees its nonce") {
    Guard g;
    const json body = usdc_body(kCustomer, 300'000, 5);
    const codec::Hash32 hash = hash_of(body);
    const Answer held = g.cosign(body);
    REQUIRE(held.status == 202);
    const std::string id = held.body.at("hold").at("id");
    const Answer rejected = g.call("POST", "/v1/holds/" + id + "/reject",
                                   approval(kCarolKey, hash, id, policy::ApprovalVerdict::kReject), "carol");
    REQUIRE(rejected.status == 200);
    CHECK(rejected.body.at("status") == "rejected");
    const Answer retry = g.cosign(body);
    CHECK(retry.status == 403);
    CHECK(retry.body.at("error").at("code") == "rejected");
    CHECK_FALSE(retry.body.contains("signature"));
    CHECK(daily_used(g) == "0");  // the reservation was released
    CHECK(g.cosign(usdc_body(kCustomer, 5, 5)).status == 200);
  }

  TEST_CASE("no token, a wrong token and a wrong role are refused, and each refusal is recorded") {
    Guard g;
    const json body = usdc_body(kCustomer, 5, 0);
    Answer a = g.call("POST", "/v1/safe/cosign", body.dump(), std::nullopt);
    CHECK(a.status == 401);
    CHECK(a.body.at("error").at("code") == "unauthenticated");
    a = g.call("POST", "/v1/safe/cosign", body.dump(), "nobody");
    CHECK(a.status == 401);
    a = g.call("POST", "/v1/safe/cosign", body.dump(), "alice");
    CHECK(a.status == 403);
    CHECK(a.body.at("error").at("code") == "forbidden");
    CHECK(g.call("GET", "/v1/decisions", "", "ops").status == 403);
    CHECK(g.call("GET", "/metrics", "", "ops").status == 403);
    // An admin may do everything. Its request is committed after the refusals queued before it.
    CHECK(g.call("POST", "/v1/safe/cosign", body.dump(), "root").status == 200);
    CHECK(g.call("GET", "/metrics", "", "root").status == 200);
    // The auditor sees the refusals in the log.
    const Answer log = g.call("GET", "/v1/decisions?from=0&limit=100", "", "audit");
    REQUIRE(log.status == 200);
    std::vector<std::string> reasons;
    for (const auto& r : log.body.at("decisions")) {
      if (r.at("kind") == "refusal") reasons.push_back(r.at("record").at("reason"));
    }
    CHECK(reasons == std::vector<std::string>{"missing-token", "unknown-token", "forbidden", "forbidden", "forbidden"});
  }

  TEST_CASE("the auditor gets RFC 9162 inclusion and consistency proofs that verify, and the documents records name") {
    Guard g;
    const Answer first = g.cosign(usdc_body(kCustomer, 5, 0));
    REQUIRE(first.status == 200);
    const std::string id = first.body.at("decision").at("id");
    REQUIRE(g.cosign(usdc_body(kCustomer, 6, 1)).status == 200);
    REQUIRE(g.cosign(usdc_body(kSanctioned, 7, 2)).status == 403);
    const Answer proof = g.call("GET", "/v1/log/proof/inclusion?id=" + id, "", "audit");
    REQUIRE(proof.status == 200);
    const auto hash = [](const json& j) { return *codec::from_hex_fixed<32>(j.get<std::string>()); };
    std::vector<codec::Hash32> path;
    for (const auto& h : proof.body.at("proof")) path.push_back(hash(h));
    CHECK(proof.body.at("size") == 3);
    CHECK(store::merkle_verify_inclusion(proof.body.at("index"), 3, hash(proof.body.at("leaf")), path,
                                         hash(proof.body.at("root"))));
    // The leaf is the record's own bytes.
    const Answer record = g.call("GET", "/v1/decisions/" + id, "", "audit");
    const std::string body = record.body.at("record").dump();
    CHECK(store::merkle_leaf_hash(codec::ByteView(reinterpret_cast<const std::uint8_t*>(body.data()), body.size())) ==
          hash(proof.body.at("leaf")));
    const Answer consistency = g.call("GET", "/v1/log/proof/consistency?first=1&second=3", "", "audit");
    REQUIRE(consistency.status == 200);
    path.clear();
    for (const auto& h : consistency.body.at("proof")) path.push_back(hash(h));
    CHECK(store::merkle_verify_consistency(1, 3, hash(consistency.body.at("first_root")),
                                           hash(consistency.body.at("second_root")), path));
    CHECK(consistency.body.at("second_root") == proof.body.at("root"));
    // The policy set the decision names is served.
    const std::string set = record.body.at("record").at("policy_set");
    const Answer doc = g.call("GET", "/v1/log/documents/" + set, "", "audit");
    REQUIRE(doc.status == 200);
    CHECK(doc.body.at("kind") == "policy-set");
    const Answer head = g.call("GET", "/v1/log/head", "", "audit");
    REQUIRE(head.status == 200);
    CHECK(head.body.at("size") == 3);
    CHECK(head.body.at("head").is_null());  // this guard has no log key: nothing signed
    // Refusals: beyond the log, a bad index, a requester (its 403 is itself logged), an unknown document.
    CHECK(g.call("GET", "/v1/log/proof/inclusion?index=3", "", "audit").status == 400);
    CHECK(g.call("GET", "/v1/log/proof/inclusion?index=0&size=9", "", "audit").status == 404);
    CHECK(g.call("GET", "/v1/log/proof/consistency?first=2&second=1", "", "audit").status == 400);
    CHECK(g.call("GET", "/v1/log/proof/consistency?first=1&second=99", "", "audit").status == 404);
    CHECK(g.call("GET", "/v1/log/proof/inclusion?id=nope", "", "audit").status == 404);
    CHECK(g.call("GET", "/v1/log/head", "", "ops").status == 403);
    CHECK(g.call("GET", "/v1/log/documents/0x" + std::string(64, '0'), "", "audit").status == 404);
  }

  TEST_CASE("malformed requests get 400 naming what is wrong, unknown routes 404, wrong methods 405") {
    Guard g;
    Answer a = g.call("POST", "/v1/safe/cosign", "{not json");
    CHECK(a.status == 400);
    CHECK(a.body.at("error").at("code") == "bad-request");
    json body = usdc_body(kCustomer, 5, 0);
    body["surprise"] = 1;
    a = g.cosign(body);
    CHECK(a.status == 400);
    CHECK(a.body.at("error").at("message").get<std::string>().find("$.surprise") != std::string::npos);
    body = usdc_body(kCustomer, 5, 0);
    body.erase("nonce");
    CHECK(g.cosign(body).body.at("error").at("message").get<std::string>().find("$.nonce") != std::string::npos);
    body = usdc_body(kCustomer, 5, 0);
    body["safe"] = "0x0000000000000000000000000000000000000001";
    a = g.cosign(body);
    CHECK(a.status == 400);
    CHECK(a.body.at("error").at("message").get<std::string>().find("$.safeVersion") != std::string::npos);
    CHECK(g.call("POST", "/v1/safe/cosign", "[]").status == 400);
    CHECK(g.call("POST", "/v1/safe/cosign", std::string(70, '[') + std::string(70, ']')).status == 400);
    CHECK(g.call("GET", "/v1/nothing", "").status == 404);
    CHECK(g.call("GET", "/v1/safe/cosign", "").status == 405);
    CHECK(g.call("POST", "/v1/evaluate", "{}").status == 400);
    CHECK(g.call("GET", "/v1/decisions?from=-1", "", "audit").status == 400);
    CHECK(g.call("GET", "/v1/log/proof/inclusion?index=x", "", "audit").status == 400);
    CHECK(g.call("GET", "/v1/log/proof/consistency?first=0", "", "audit").status == 400);
    CHECK(g.call("GET", "/v1/log/documents/0x12", "", "audit").status == 400);
    CHECK(g.call("GET", "/v1/decisions?limit=0", "", "audit").status == 400);
    CHECK(g.call("GET", "/v1/decisions/unknown", "", "audit").status == 404);
  }

  TEST_CASE("healthz needs no token; readyz follows the service state; metrics count verdicts and holds") {
    Guard g;
    CHECK(g.call("GET", "/healthz", "", std::nullopt).status == 200);
    CHECK(g.call("GET", "/readyz", "", std::nullopt).status == 200);
    g.service->set_ready(false);
    CHECK(g.call("GET", "/readyz", "", std::nullopt).status == 503);
    g.service->set_ready(true);
    REQUIRE(g.cosign(usdc_body(kCustomer, 5, 0)).status == 200);
    REQUIRE(g.cosign(usdc_body(kSanctioned, 5, 1)).status == 403);
    REQUIRE(g.cosign(usdc_body(kCustomer, 500'000, 2)).status == 202);
    const Answer m = g.call("GET", "/metrics", "", "audit");
    REQUIRE(m.status == 200);
    CHECK(m.text.find("txguard_decisions_total{verdict=\"allow\",rule=\"withdrawal\"} 1") != std::string::npos);
    CHECK(m.text.find("txguard_decision_reasons_total{reason=\"sanctioned-address\"} 1") != std::string::npos);
    CHECK(m.text.find("txguard_holds_pending 1") != std::string::npos);
    CHECK(m.text.find("txguard_limit_headroom{limit=\"daily-usd\"") != std::string::npos);
    CHECK(m.text.find("txguard_http_request_duration_seconds_bucket{route=\"/v1/safe/cosign\",le=\"+Inf\"} 3") !=
          std::string::npos);
  }

  TEST_CASE("metrics say where the sequencer's time goes, by stage") {
    Guard g;
    REQUIRE(g.cosign(usdc_body(kCustomer, 10, 1)).status == 200);
    const Answer metrics = g.call("GET", "/metrics", "", "audit");
    REQUIRE(metrics.status == 200);
    for (const char* stage : {"settle", "gather", "judge", "sign", "record", "other", "commit"}) {
      const std::string prefix = std::string("txguard_stage_seconds_total{stage=\"") + stage + "\"} ";
      const auto at = metrics.text.find(prefix);
      REQUIRE_MESSAGE(at != std::string::npos, stage);
      if (std::string_view(stage) != "other") CHECK(std::stod(metrics.text.substr(at + prefix.size())) > 0);
    }
  }

  TEST_CASE("requests judged concurrently are all answered, in fewer commits than requests (group commit)") {
    Guard g;
    constexpr int kThreads = 8;
    constexpr int kEach = 25;
    std::vector<std::thread> threads;
    std::atomic<int> allowed{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          const Answer a = g.cosign(usdc_body(kCustomer, 1, static_cast<std::uint64_t>(1000 + t * kEach + i)));
          if (a.status == 200) ++allowed;
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(allowed == kThreads * kEach);
    CHECK(g.pipeline->batches() < static_cast<std::uint64_t>(kThreads * kEach));
    CHECK(daily_used(g) == std::to_string(kThreads * kEach) + "000000");
  }

  TEST_CASE("nothing is released when the decision cannot be committed: the request answers 503") {
    Guard g(std::chrono::milliseconds{50});
    // Another writer holds the database's write lock (on PostgreSQL: the writers' advisory lock).
    auto other = store::open_database(g.db().name, g.db().options());
    REQUIRE(other.has_value());
    REQUIRE((*other)->begin_write().has_value());
    const json body = usdc_body(kCustomer, 5, 0);
    const Answer blocked = g.cosign(body);
    CHECK(blocked.status == 503);
    CHECK_FALSE(blocked.body.contains("signature"));
    (*other)->rollback();
    // Nothing of it was kept: the same request is judged anew, debited once.
    CHECK(g.cosign(body).status == 200);
    CHECK(daily_used(g) == "5000000");
  }

  TEST_CASE("decisions survive a restart: a retry after restarting gets the same signature, the nonce stays taken") {
    Guard g;
    const json body = usdc_body(kCustomer, 5, 9);
    const Answer a = g.cosign(body);
    REQUIRE(a.status == 200);
    g.restart();
    const Answer again = g.cosign(body);
    REQUIRE(again.status == 200);
    CHECK(again.body.at("signature") == a.body.at("signature"));
    CHECK(again.body.value("replayed", false));
    CHECK(codes(g.cosign(usdc_body(kCustomer, 6, 9)).body.at("decision")) ==
          std::vector<std::string>{"nonce-already-signed"});
  }

  TEST_CASE("JSON-RPC: accounts and chain, messages denied without a rule, unknown methods and bad JSON refused") {
    Guard g;
    auto rpc = [&](const std::string& body) { return g.call("POST", "/rpc/1", body); };
    Answer a = rpc(R"({"jsonrpc":"2.0","id":1,"method":"eth_accounts","params":[]})");
    CHECK(a.body.at("result") == json::array({cs(address_of(kGuardKey))}));
    a = rpc(R"({"jsonrpc":"2.0","id":2,"method":"eth_chainId"})");
    CHECK(a.body.at("result") == "0x1");
    a = rpc(json{{"jsonrpc", "2.0"}, {"id", 3}, {"method", "personal_sign"}, {"params", {"0x68656c6c6f", cs(address_of(kGuardKey))}}}.dump());
    CHECK(a.body.at("error").at("code") == -32003);
    CHECK(a.body.at("error").at("data").at("decision_id").is_string());
    a = rpc(json{{"jsonrpc", "2.0"}, {"id", 4}, {"method", "personal_sign"}, {"params", {"0x68", cs(kCustomer)}}}.dump());
    CHECK(a.body.at("error").at("code") == -32602);
    a = rpc(R"({"jsonrpc":"2.0","id":5,"method":"eth_sendRawTransaction","params":["0x00"]})");
    CHECK(a.body.at("error").at("code") == -32601);
    a = rpc("{oops");
    CHECK(a.body.at("error").at("code") == -32700);
    a = rpc(R"([{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"nope"}])");
    REQUIRE(a.body.is_array());
    CHECK(a.body.at(0).at("result") == "0x1");
    CHECK(a.body.at(1).at("error").at("code") == -32601);
    CHECK(rpc("[]").body.at("error").at("code") == -32600);
    CHECK(g.call("POST", "/rpc/zero", R"({"jsonrpc":"2.0","id":1,"method":"eth_chainId"})").body.at("error").at("code") == -32600);
  }

  TEST_CASE("JSON-RPC eth_signTransaction signs an allowed transfer from the guard and refuses a sanctioned one") {
    Guard g;
    const json tx = {{"from", cs(address_of(kGuardKey))}, {"to", cs(kCustomer)}, {"value", "0xde0b6b3a7640000"},
                     {"gas", "0x5208"}, {"maxFeePerGas", "0x77359400"}, {"maxPriorityFeePerGas", "0x3b9aca00"},
                     {"nonce", "0x0"}};
    Answer a = g.call("POST", "/rpc/1", json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "eth_signTransaction"}, {"params", {tx}}}.dump());
    REQUIRE(a.body.contains("result"));
    auto raw = codec::from_hex(a.body.at("result").get<std::string>());
    REQUIRE(raw.has_value());
    auto decoded = codec::decode_transaction(*raw);
    REQUIRE(decoded.has_value());
    CHECK(decoded->from == address_of(kGuardKey));
    CHECK(decoded->to == kCustomer);
    CHECK(decoded->chain_id == 1u);

    json bad = tx;
    bad["to"] = cs(kSanctioned);
    bad["nonce"] = "0x1";
    a = g.call("POST", "/rpc/1", json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "eth_signTransaction"}, {"params", {bad}}}.dump());
    CHECK(a.body.at("error").at("code") == -32003);
    // Another transaction at the signed nonce 0 is refused (once only per account and nonce).
    json other = tx;
    other["value"] = "0x1";
    a = g.call("POST", "/rpc/1", json{{"jsonrpc", "2.0"}, {"id", 3}, {"method", "eth_signTransaction"}, {"params", {other}}}.dump());
    CHECK(a.body.at("error").at("data").at("reasons").at(0).at("code") == "nonce-already-signed");
    // From another account: refused before judgement.
    json foreign = tx;
    foreign["from"] = cs(kCustomer);
    a = g.call("POST", "/rpc/1", json{{"jsonrpc", "2.0"}, {"id", 4}, {"method", "eth_signTransaction"}, {"params", {foreign}}}.dump());
    CHECK(a.body.at("error").at("code") == -32602);
  }

  TEST_CASE("the per-client request rate is enforced with 429") {
    Guard g;
    ServiceOptions so;
    so.clients.push_back(ClientConfig{"ops", token_digest("token-ops"), Role::kRequester, std::nullopt});
    so.requests_per_second = 0.001;
    so.burst = 2;
    so.clock = [&g] { return g.now.load(); };
    g.service = std::move(*Service::create(so, *g.pipeline));
    CHECK(g.call("GET", "/v1/holds", "").status == 200);
    CHECK(g.call("GET", "/v1/holds", "").status == 200);
    const Answer limited = g.call("GET", "/v1/holds", "");
    CHECK(limited.status == 429);
    CHECK(limited.body.at("error").at("code") == "rate-limited");
    // The refusal is recorded in the log like every other (fire and forget: wait for its batch).
    bool recorded = false;
    for (int i = 0; i < 300 && !recorded; ++i) {
      auto records = g.pipeline->reader().records_from(0, 100);
      REQUIRE(records.has_value());
      for (const auto& r : *records) {
        recorded = recorded || (r.kind == "refusal" && r.body.find("\"rate-limited\"") != std::string::npos);
      }
      if (!recorded) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(recorded);
  }
}

TEST_SUITE("service: what a Safe would accept as the guard's signature") {
  TEST_CASE("personal_sign of a 32-byte message is refused as a possible Safe hash, and the refusal is a recorded decision") {
    // The attack of issue 13 item 4: a policy allowing message requests; a Safe transaction that
    // /v1/safe/cosign denies; personal_sign of its safeTxHash, which the Safe takes (v + 4) as the
    // guard's approval.
    Guard g(std::chrono::milliseconds{2000},
            policy_with_first_rule({{"id", "messages"}, {"match", {{"leg", "message"}}}, {"effect", "allow"}}));
    const std::string guard = cs(address_of(kGuardKey));
    const json body = usdc_body(kSanctioned, 10, 0);
    const Answer denied = g.cosign(body);
    REQUIRE(denied.status == 403);
    const std::string safe_tx_hash = codec::to_hex(hash_of(body));

    const Answer personal = g.call("POST", "/rpc/1", rpc_call("personal_sign", {safe_tx_hash, guard}).dump());
    REQUIRE(personal.body.contains("error"));
    CHECK(personal.body.at("error").at("code") == -32003);
    CHECK(rpc_codes(personal) == std::vector<std::string>{"message-is-a-hash"});
    CHECK_FALSE(personal.body.contains("result"));
    // Recorded like every denial: the auditor reads the decision, its request and its reason.
    const std::string id = personal.body.at("error").at("data").at("decision_id").get<std::string>();
    const Answer record = g.call("GET", "/v1/decisions/" + id, "", "audit");
    REQUIRE(record.status == 200);
    CHECK(record.body.at("record").at("request").at("kind") == "message");
    CHECK(record.body.at("record").at("decision").at("verdict") == "deny");
    CHECK(codes(record.body.at("record").at("decision")) == std::vector<std::string>{"message-is-a-hash"});
    CHECK_FALSE(record.body.at("record").contains("signature"));

    // eth_sign with the hash, and 32 bytes written as text, are the same 32 bytes.
    const Answer eth_sign = g.call("POST", "/rpc/1", rpc_call("eth_sign", {guard, safe_tx_hash}).dump());
    CHECK(rpc_codes(eth_sign) == std::vector<std::string>{"message-is-a-hash"});
    const Answer text = g.call("POST", "/rpc/1", rpc_call("personal_sign", {std::string(32, 'x'), guard}).dump());
    CHECK(rpc_codes(text) == std::vector<std::string>{"message-is-a-hash"});
    const Answer upper = g.call("POST", "/rpc/1", rpc_call("personal_sign", {"0x" + std::string(64, 'A'), guard}).dump());
    CHECK(rpc_codes(upper) == std::vector<std::string>{"message-is-a-hash"});
    // The rule does allow a message that is not a hash (the guard signs it).
    const Answer hello = g.call("POST", "/rpc/1", rpc_call("personal_sign", {"0x68656c6c6f", guard}).dump());
    CHECK(hello.body.contains("result"));
  }

  TEST_CASE("a Safe's SafeMessage typed data is judged as a message of that Safe, and its 32-byte inner message is refused as a hash") {
    // A policy allowing the guard's own messages only: the Safe's EIP-1271 message is not one.
    Guard g(std::chrono::milliseconds{2000},
            policy_with_first_rule({{"id", "own-messages"}, {"match", {{"leg", "message"}, {"wallet", "guard"}}}, {"effect", "allow"}}));
    const std::string guard = cs(address_of(kGuardKey));
    const std::string sign_in = "0x" + codec::to_hex_bare(codec::view(std::string("Sign in to example.com")));
    Answer a = g.call("POST", "/rpc/1", rpc_call("eth_signTypedData_v4", {guard, safe_message_typed(kSafe, sign_in).dump()}).dump());
    REQUIRE(a.body.contains("error"));
    CHECK(rpc_codes(a) == std::vector<std::string>{"no-matching-rule"});
    const std::string id = a.body.at("error").at("data").at("decision_id").get<std::string>();
    const Answer record = g.call("GET", "/v1/decisions/" + id, "", "audit");
    CHECK(record.body.at("record").at("decision").at("wallet") == "hot");

    // The Safe's own rule on the message's content lets it through; nothing else.
    Guard hot(std::chrono::milliseconds{2000},
              policy_with_first_rule({{"id", "hot-sign-in"},
                                      {"match", {{"leg", "message"}, {"wallet", "hot"}, {"message", {{"prefix", "Sign in to "}}}}},
                                      {"effect", "allow"}}));
    a = hot.call("POST", "/rpc/1", rpc_call("eth_signTypedData_v4", {guard, safe_message_typed(kSafe, sign_in)}).dump());
    CHECK(a.body.contains("result"));
    const std::string other = "0x" + codec::to_hex_bare(codec::view(std::string("Transfer all funds")));
    a = hot.call("POST", "/rpc/1", rpc_call("eth_signTypedData_v4", {guard, safe_message_typed(kSafe, other)}).dump());
    CHECK(rpc_codes(a) == std::vector<std::string>{"no-matching-rule"});
    // isValidSignature(bytes32): the inner message is a hash: refused whatever the rules say.
    a = hot.call("POST", "/rpc/1",
                 rpc_call("eth_signTypedData_v4", {guard, safe_message_typed(kSafe, codec::to_hex(hash_of(usdc_body(kSanctioned, 1, 0))))}).dump());
    CHECK(rpc_codes(a) == std::vector<std::string>{"message-is-a-hash"});
  }

  TEST_CASE("a SafeTx as eth_signTypedData_v4 is judged as that Safe's transaction, exactly as /v1/safe/cosign judges it") {
    // A rule for typed data (as for permits) that lifts every protection must not reach a SafeTx.
    const json typed_rule = {{"id", "typed-data"},
                             {"match", {{"request", "typed-data"}}},
                             {"effect", "allow"},
                             {"lifts", {"unsafe-delegatecall", "safe-configuration-change", "unknown-selector"}}};
    Guard g(std::chrono::milliseconds{2000}, policy_with_first_rule(typed_rule));
    const std::string guard = cs(address_of(kGuardKey));
    const json bybit = safe_body(kAttacker, "0xa9059cbb" + std::string(128, '0'), 0, 1);
    const Answer typed = g.call("POST", "/rpc/1", rpc_call("eth_signTypedData_v4", {guard, safe_tx_typed(bybit)}).dump());
    REQUIRE(typed.body.contains("error"));
    CHECK(rpc_codes(typed) == std::vector<std::string>{"unsafe-delegatecall"});
    // The same picture as the Safe route: kind, legs, reasons.
    Guard rest(std::chrono::milliseconds{2000}, policy_with_first_rule(typed_rule));
    const Answer cosign = rest.cosign(bybit);
    REQUIRE(cosign.status == 403);
    const std::string id = typed.body.at("error").at("data").at("decision_id").get<std::string>();
    const json recorded = g.call("GET", "/v1/decisions/" + id, "", "audit").body.at("record");
    CHECK(recorded.at("decision").at("legs") == cosign.body.at("decision").at("legs"));
    CHECK(recorded.at("decision").at("reasons") == cosign.body.at("decision").at("reasons"));
    CHECK(recorded.at("request").at("digest") == codec::to_hex(hash_of(bybit)));

    // An allowed SafeTx signs the Safe's own hash and takes its nonce for both doors.
    const json allowed = usdc_body(kCustomer, 5, 1);
    const Answer ok = g.call("POST", "/rpc/1", rpc_call("eth_signTypedData_v4", {guard, safe_tx_typed(allowed)}).dump());
    REQUIRE(ok.body.contains("result"));
    CHECK(recover(hash_of(allowed), ok.body.at("result")) == address_of(kGuardKey));
    CHECK(codes(g.cosign(usdc_body(kCustomer, 6, 1)).body.at("decision")) == std::vector<std::string>{"nonce-already-signed"});
  }

  TEST_CASE("a SafeTx as typed data in a domain other than the pinned version's is refused as a version mismatch") {
    Guard g;
    const std::string guard = cs(address_of(kGuardKey));
    const json body = usdc_body(kCustomer, 5, 2);
    // Safe 1.1.1 / 1.2.0 domain (no chainId) for a Safe pinned to 1.4.1.
    const json old_domain = safe_tx_typed(body, json::array({{{"name", "verifyingContract"}, {"type", "address"}}}),
                                          {{"verifyingContract", cs(kSafe)}});
    Answer a = g.call("POST", "/rpc/1", rpc_call("eth_signTypedData_v4", {guard, old_domain}).dump());
    REQUIRE(a.body.contains("error"));
    CHECK(rpc_codes(a) == std::vector<std::string>{"safe-version-mismatch"});
    // A domain with a name: a digest the Safe never computes; refused, and the nonce stays free.
    const json named = safe_tx_typed(
        body,
        json::array({{{"name", "name"}, {"type", "string"}}, {{"name", "chainId"}, {"type", "uint256"}},
                     {{"name", "verifyingContract"}, {"type", "address"}}}),
        {{"name", "Safe"}, {"chainId", 1}, {"verifyingContract", cs(kSafe)}});
    a = g.call("POST", "/rpc/1", rpc_call("eth_signTypedData_v4", {guard, named}).dump());
    CHECK(rpc_codes(a) == std::vector<std::string>{"safe-version-mismatch"});
    // Another chain's domain for this Safe: not the declared wallet.
    json other_chain = safe_tx_typed(body);
    other_chain["domain"]["chainId"] = 5;
    a = g.call("POST", "/rpc/1", rpc_call("eth_signTypedData_v4", {guard, other_chain}).dump());
    CHECK(rpc_codes(a) == std::vector<std::string>{"chain-mismatch"});
    // A Safe the policy does not declare.
    json foreign = body;
    foreign["safe"] = cs(kCustomer);
    a = g.call("POST", "/rpc/1", rpc_call("eth_signTypedData_v4", {guard, safe_tx_typed(foreign)}).dump());
    CHECK(rpc_codes(a) == std::vector<std::string>{"unknown-wallet"});
    // The nonce was not taken by any of them.
    CHECK(g.cosign(body).status == 200);
  }
}

TEST_SUITE("service: OpenAPI") {
  TEST_CASE("the OpenAPI document describes exactly the routes the service serves, with their methods") {
    std::ifstream file(txguard::test::source_dir() + "/guard/openapi.json");
    REQUIRE(file.good());
    const json doc = json::parse(file);
    std::set<std::pair<std::string, std::string>> documented;
    for (const auto& [path, item] : doc.at("paths").items()) {
      for (const auto& [method, operation] : item.items()) {
        std::string upper = method;
        std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        documented.insert({upper, path});
        // Every operation says who may call it and what comes back.
        CHECK_MESSAGE(operation.contains("x-roles"), method << " " << path);
        CHECK_MESSAGE(operation.at("responses").size() >= 1, method << " " << path);
      }
    }
    std::set<std::pair<std::string, std::string>> served;
    for (const auto& r : routes()) served.insert({r.method, r.path});
    CHECK(documented == served);
  }

  TEST_CASE("every route the OpenAPI document lists answers, and every other path is 404") {
    Guard g;
    for (const auto& r : routes()) {
      std::string target = r.path;
      if (const auto p = target.find("{id}"); p != std::string::npos) target.replace(p, 4, "0-1");
      if (const auto p = target.find("{chainId}"); p != std::string::npos) target.replace(p, 9, "1");
      const Answer a = g.call(r.method, target, r.method == "POST" ? "{}" : "", "root");
      // A 404 may say "no such hold", never "no route".
      const bool routed = !(a.status == 404 && a.body.at("error").at("message").get<std::string>().starts_with("no route"));
      CHECK_MESSAGE(routed, r.method << " " << target);
      CHECK_MESSAGE(a.status != 405, r.method << " " << target);
    }
    const Answer extra = g.call("GET", "/v1/holds/0-1/extra", "", "root");
    CHECK(extra.status == 404);
    CHECK(extra.body.at("error").at("message").get<std::string>().starts_with("no route"));
    CHECK(g.call("DELETE", "/v1/holds", "", "root").status == 405);
  }
}

namespace {

// A guard whose front-door limits, pipeline bounds and client certificates the test sets, driven as
// the server drives it: the header judged first (authorize_header), then handle() with the body.
struct FrontDoor {
  TempDir dir{"txguard-front-door"};
  test::TestDatabase db = test::test_database(dir);
  std::atomic<TimeMs> now{kT0};
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<Service> service;

  using Tweak = std::function<void(PipelineOptions&, ServiceOptions&)>;
  explicit FrontDoor(const Tweak& tweak = {}) {
    auto s = signers::KeystoreSigner::from_key(key(kGuardKey));
    REQUIRE(s.has_value());
    auto set = policy_set_of(policy_doc());
    PipelineOptions po;
    po.database = db.name;
    po.database_password = db.password;
    po.clock = [this] { return now.load(); };
    ServiceOptions so;
    for (const auto& [name, role] : std::vector<std::pair<std::string, Role>>{
             {"ops", Role::kRequester}, {"desk", Role::kRequester}, {"audit", Role::kAuditor}, {"root", Role::kAdmin}}) {
      ClientConfig c;
      c.name = name;
      c.token_sha256 = token_digest("token-" + name);
      c.role = role;
      so.clients.push_back(c);
    }
    so.clock = [this] { return now.load(); };
    if (tweak) tweak(po, so);
    auto p = Pipeline::start(po, set, std::make_shared<signers::KeystoreSigner>(std::move(*s)));
    REQUIRE_MESSAGE(p.has_value(), (p ? "" : p.error()));
    pipeline = std::move(*p);
    auto created = Service::create(so, *pipeline);
    REQUIRE(created.has_value());
    service = std::move(*created);
    service->set_ready(true);
  }

  /// Sends a request from `peer`, with the token of `client` and a verified client certificate of
  /// fingerprint `cert`; the answer arrives in the future.
  std::future<http::Response> send(const std::string& method, const std::string& target, const std::string& body,
                                   std::optional<std::string> client, const std::string& peer = "127.0.0.1:1",
                                   std::optional<std::string> cert = std::nullopt) {
    http::Request r;
    r.method = method;
    r.target = target;
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string::npos ? "" : target.substr(q + 1);
    r.peer = peer;
    if (client) r.headers.push_back({"authorization", "Bearer token-" + *client});
    if (cert) r.client_cert = http::ClientCertificate{"CN=test", *cert};
    auto promise = std::make_shared<std::promise<http::Response>>();
    auto future = promise->get_future();
    if (auto early = service->authorize_header(r)) {
      promise->set_value(std::move(*early));
      return future;
    }
    r.body = body;
    service->handle(std::move(r), [promise](http::Response response) { promise->set_value(std::move(response)); });
    return future;
  }

  Answer call(const std::string& method, const std::string& target, const std::string& body,
              std::optional<std::string> client, const std::string& peer = "127.0.0.1:1",
              std::optional<std::string> cert = std::nullopt) {
    const http::Response response = send(method, target, body, std::move(client), peer, std::move(cert)).get();
    return Answer{response.status, json::parse(response.body, nullptr, false), response.body};
  }

  /// The refusal records in the log, once there are at least `n` (waits for the sequencer's commit).
  std::vector<json> refusals(std::size_t n) {
    std::vector<json> out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    do {
      out.clear();
      auto records = pipeline->reader().records_from(0, 10'000);
      REQUIRE(records.has_value());
      for (const auto& r : *records) {
        if (r.kind == "refusal") out.push_back(json::parse(r.body));
      }
      if (out.size() >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < deadline);
    return out;
  }
};

const std::string kCertA(64, 'a');
const std::string kCertB(64, 'b');

// A service configuration as an operator writes it, with `extra` members (leading comma).
std::expected<Config, std::vector<std::string>> config_with(const std::string& listen, const std::string& extra,
                                                            const std::string& client_extra = "") {
  return parse_config(R"({"listen": ")" + listen + R"(",
    "clients": [{"name": "ops", "token_sha256": ")" + std::string(64, '1') + R"(", "role": "requester")" + client_extra + R"(}],
    "policy": "p.json", "database": "d.db",
    "keystore": {"file": "k.json", "passphrase_file": "pw"},
    "decision_log": {"key": {"file": "l.json", "passphrase_file": "pw"}})" + extra + "}",
                      "/etc/txguard");
}

bool has_problem(const std::expected<Config, std::vector<std::string>>& config, const std::string& start,
                 const std::string& mentions) {
  if (config) return false;
  return std::any_of(config.error().begin(), config.error().end(), [&](const std::string& p) {
    return p.starts_with(start) && p.find(mentions) != std::string::npos;
  });
}

}  // namespace

TEST_SUITE("service: front door") {
  TEST_CASE("refusals beyond the per-peer rate are recorded in aggregate, none silently lost") {
    FrontDoor d([](PipelineOptions&, ServiceOptions& so) {
      so.refusals_per_second = 0.001;
      so.refusals_burst = 5;
    });
    std::map<unsigned, int> statuses;
    for (int i = 0; i < 50; ++i) {
      ++statuses[d.call("GET", "/v1/holds", "", std::nullopt, "203.0.113.9:" + std::to_string(1000 + i)).status];
    }
    // The address's refusal burst is answered 401 and recorded one by one; the rest is answered 429
    // before any body is read, and counted.
    CHECK(statuses[401] == 5);
    CHECK(statuses[429] == 45);
    // Another address has its own rate; a valid token from the flooding address is still served.
    CHECK(d.call("GET", "/v1/holds", "", "nobody", "198.51.100.1:7").status == 401);
    CHECK(d.call("GET", "/v1/holds", "", "ops", "203.0.113.9:2000").status == 200);

    d.service->flush_refusals();
    const auto records = d.refusals(7);
    std::uint64_t singles = 0;
    std::uint64_t summarized = 0;
    for (const auto& r : records) {
      if (r.at("reason") == "refusals-suppressed") {
        CHECK(r.at("peer") == "203.0.113.9");
        CHECK(r.at("reasons") == json{{"missing-token", 45}});
        CHECK(r.at("first_at_ms") == kT0);
        summarized += r.at("count").get<std::uint64_t>();
      } else if (r.at("peer").get<std::string>().starts_with("203.0.113.9:")) {
        ++singles;
      }
    }
    CHECK(singles == 5);
    CHECK(summarized == 45);
    CHECK(records.size() == 7);  // 5 + one summary + the other address's one

    // Without a flush, the summary of an address is written once its first refusal is an interval old.
    for (int i = 0; i < 10; ++i) CHECK(d.call("GET", "/metrics", "", "bad", "203.0.113.9:3000").status == 429);
    d.now += 11'000;
    const auto later = d.refusals(8);
    REQUIRE(later.size() == 8);
    CHECK(later.back().at("reason") == "refusals-suppressed");
    CHECK(later.back().at("count") == 10);
    CHECK(later.back().at("reasons") == json{{"unknown-token", 10}});
  }

  TEST_CASE("a refusal whose path holds bytes >= 0x80 is recorded") {
    FrontDoor d;
    const Answer a = d.call("GET", "/v1/holds/\xff\xfe\x80\\", "", std::nullopt);
    CHECK(a.status == 401);
    const auto records = d.refusals(1);
    REQUIRE(records.size() == 1);
    CHECK(records[0].at("path") == "/v1/holds/\\xff\\xfe\\x80\\x5c");
    CHECK(records[0].at("reason") == "missing-token");
    // Answers that repeat a client's bytes stay JSON too.
    const Answer nowhere = d.call("GET", "/\xc3\x28", "", "ops");
    CHECK(nowhere.status == 404);
    CHECK(nowhere.body.is_object());
  }

  TEST_CASE("a full sequencer queue answers 503") {
    FrontDoor d([](PipelineOptions& po, ServiceOptions&) {
      po.max_queue = 2;
      po.lock_timeout = std::chrono::milliseconds{10'000};
    });
    // Hold the write lock: the sequencer's first batch waits on it, and the queue behind it fills.
    auto other = store::open_database(d.db.name, d.db.options());
    REQUIRE(other.has_value());
    REQUIRE((*other)->begin_write().has_value());
    // The first request is taken by the sequencer, whose batch then waits for the lock; of the next
    // five, two wait in the queue and the rest find it full.
    std::vector<std::future<http::Response>> answers;
    answers.push_back(d.send("POST", "/v1/safe/cosign", usdc_body(kCustomer, 5, 0).dump(), "ops"));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (std::uint64_t nonce = 1; nonce < 6; ++nonce) {
      answers.push_back(d.send("POST", "/v1/safe/cosign", usdc_body(kCustomer, 5, nonce).dump(), "ops"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    int full = 0;
    for (auto& f : answers) {
      if (f.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) continue;
      const http::Response r = f.get();
      CHECK(r.status == 503);
      const json body = json::parse(r.body);
      CHECK(body.at("error").at("code") == "unavailable");
      CHECK(body.at("error").at("message").get<std::string>().find("queue is full") != std::string::npos);
      ++full;
    }
    CHECK(full == 3);
    // A refusal meanwhile finds no room for its own record (refusals get half the queue): it is
    // answered as usual and counted into its address's summary.
    CHECK(d.call("GET", "/v1/holds", "", std::nullopt, "192.0.2.44:1").status == 401);
    (*other)->rollback();
    for (auto& f : answers) {
      if (f.valid()) CHECK(f.get().status == 200);
    }
    // Room again: the next request is judged.
    CHECK(d.call("POST", "/v1/safe/cosign", usdc_body(kCustomer, 5, 9).dump(), "ops").status == 200);
    d.service->flush_refusals();
    const auto records = d.refusals(1);
    REQUIRE(records.size() == 1);
    CHECK(records[0].at("reason") == "refusals-suppressed");
    CHECK(records[0].at("peer") == "192.0.2.44");
    CHECK(records[0].at("count") == 1);
  }

  TEST_CASE("a token presented with another client's certificate is refused") {
    FrontDoor d([](PipelineOptions&, ServiceOptions& so) {
      so.clients[0].cert_sha256 = codec::from_hex_fixed<32>(kCertA).value();  // ops
      so.clients[1].cert_sha256 = codec::from_hex_fixed<32>(kCertB).value();  // desk
    });
    CHECK(d.call("GET", "/v1/holds", "", "ops", "127.0.0.1:1", kCertA).status == 200);
    CHECK(d.call("GET", "/v1/holds", "", "desk", "127.0.0.1:1", kCertB).status == 200);
    // ops's token with desk's certificate, or with none; the auditor's (unbound) token over ops's certificate.
    const Answer swapped = d.call("GET", "/v1/holds", "", "ops", "127.0.0.1:1", kCertB);
    CHECK(swapped.status == 401);
    CHECK(swapped.body.at("error").at("code") == "unauthenticated");
    CHECK(d.call("GET", "/v1/holds", "", "ops", "127.0.0.1:1").status == 401);
    CHECK(d.call("GET", "/v1/decisions", "", "audit", "127.0.0.1:1", kCertA).status == 401);
    CHECK(d.call("GET", "/v1/decisions", "", "audit", "127.0.0.1:1").status == 200);
    const auto records = d.refusals(3);
    REQUIRE(records.size() == 3);
    for (const auto& r : records) CHECK(r.at("reason") == "certificate-mismatch");
    CHECK(records[0].at("client_cert") == kCertB);
  }

  TEST_CASE("a client bound to a certificate needs client_ca, and required client certificates need every client bound") {
    const std::string tls_optional = R"(, "tls": {"cert": "s.crt", "key": "s.key", "client_ca": "ca.crt"})";
    const std::string tls_required = R"(, "tls": {"cert": "s.crt", "key": "s.key", "client_ca": "ca.crt", "require_client_cert": true})";
    // The old form (no binding) under required client certificates stops start-up saying what to write.
    CHECK(has_problem(config_with("127.0.0.1:0", tls_required), "$.clients[0].cert_sha256: required", "\"cert_sha256\":"));
    CHECK(config_with("127.0.0.1:0", tls_optional).has_value());
    // openssl's form (upper case, colons) is accepted.
    std::string colons;
    for (int i = 0; i < 32; ++i) colons += std::string(i ? ":" : "") + "AB";
    const auto bound = config_with("127.0.0.1:0", tls_required, R"(, "cert_sha256": ")" + colons + "\"");
    REQUIRE(bound.has_value());
    std::string bare;
    for (int i = 0; i < 32; ++i) bare += "ab";
    CHECK(bound->clients[0].cert_sha256 == codec::from_hex_fixed<32>(bare).value());
    CHECK(has_problem(config_with("127.0.0.1:0", "", R"(, "cert_sha256": ")" + kCertA + "\""),
                      "$.clients[0].cert_sha256", "client_ca"));
  }

  TEST_CASE("a non-loopback listen without tls refuses to start unless insecure_plaintext") {
    CHECK(has_problem(config_with("0.0.0.0:8545", ""), "$.listen", "\"insecure_plaintext\": true"));
    CHECK(has_problem(config_with("[::]:8545", ""), "$.listen", "\"tls\""));
    CHECK(has_problem(config_with("192.0.2.10:8545", ""), "$.listen", "not a loopback address"));
    const auto opted = config_with("0.0.0.0:8545", R"(, "insecure_plaintext": true)");
    REQUIRE(opted.has_value());
    CHECK(opted->insecure_plaintext);
    CHECK(config_with("0.0.0.0:8545", R"(, "tls": {"cert": "s.crt", "key": "s.key"})").has_value());
    CHECK(config_with("127.0.0.2:8545", "").has_value());
    CHECK(config_with("[::1]:8545", "").has_value());
  }

  TEST_CASE("readyz tells an unauthenticated caller only whether it is ready") {
    FrontDoor d;
    const Answer anyone = d.call("GET", "/readyz", "", std::nullopt);
    CHECK(anyone.status == 200);
    CHECK(anyone.body == json{{"status", "ready"}});
    for (const char* client : {"ops", "audit"}) {
      const Answer a = d.call("GET", "/readyz", "", client);
      CHECK(a.status == 200);
      CHECK(a.body.at("policy") == "service-test");
      CHECK(a.body.at("policy_hash").is_string());
      CHECK(a.body.at("signer") == cs(address_of(kGuardKey)));
    }
    // A token that is not valid is refused like anywhere else: /readyz is no oracle for tokens.
    CHECK(d.call("GET", "/readyz", "", "nobody").status == 401);
    d.service->set_ready(false);
    const Answer down = d.call("GET", "/readyz", "", std::nullopt);
    CHECK(down.status == 503);
    CHECK_FALSE(down.body.contains("policy"));
  }
}

// Replicas: several txguard processes with one configuration on one database. Here each replica is a
// pipeline and service of its own (its own database connections), in one test process; on SQLite they
// share one file, in the guard-pg/ copies one PostgreSQL database. What the promises need across them
// is what the database enforces: every decision is judged and recorded inside one write transaction
// that excludes every other writer.
TEST_SUITE("replicas") {
  struct Replicas {
    TempDir dir{"txguard-replicas"};
    test::TestDatabase db = test::test_database(dir);
    std::vector<std::unique_ptr<Guard>> guards;

    explicit Replicas(const json& doc = policy_doc(), std::uint64_t heads_every = 0, std::size_t n = 3) {
      // A generous lock timeout: these tests count outcomes, and a replica waiting for the lock must
      // not answer 503 instead.
      for (std::size_t i = 0; i < n; ++i) {
        guards.push_back(std::make_unique<Guard>(std::chrono::seconds{60}, doc, &db, heads_every));
      }
    }
    Guard& operator[](std::size_t i) { return *guards[i % guards.size()]; }
    void advance(TimeMs ms) {
      for (auto& g : guards) g->now += ms;
    }
  };

  std::size_t records_of_kind(Guard& g, std::string_view kind) {
    auto records = g.pipeline->reader().records_from(0, 100'000);
    REQUIRE(records.has_value());
    return static_cast<std::size_t>(
        std::count_if(records->begin(), records->end(), [&](const store::LogRecord& r) { return r.kind == kind; }));
  }

  TEST_CASE("once only across replicas: 8 different SafeTxs at one nonce sent to three replicas, exactly one is signed") {
    Replicas r;
    constexpr int kContenders = 8;
    std::vector<Answer> answers(kContenders);
    std::vector<std::thread> threads;
    for (int t = 0; t < kContenders; ++t) {
      threads.emplace_back([&, t] {
        answers[static_cast<std::size_t>(t)] = r[static_cast<std::size_t>(t)].cosign(
            usdc_body(kCustomer, 10 + static_cast<std::uint64_t>(t), 7));
      });
    }
    for (auto& t : threads) t.join();
    int signed_count = 0;
    std::optional<int> winner;
    for (int t = 0; t < kContenders; ++t) {
      const Answer& a = answers[static_cast<std::size_t>(t)];
      if (a.status == 200) {
        ++signed_count;
        winner = t;
        continue;
      }
      CHECK(a.status == 403);
      CHECK_FALSE(a.body.contains("signature"));
      CHECK(codes(a.body.at("decision")) == std::vector<std::string>{"nonce-already-signed"});
    }
    REQUIRE(signed_count == 1);
    // The winner, retried at every replica, gets its one signature back.
    const json body = usdc_body(kCustomer, 10 + static_cast<std::uint64_t>(*winner), 7);
    const std::string signature = answers[static_cast<std::size_t>(*winner)].body.at("signature");
    for (std::size_t i = 0; i < 3; ++i) {
      const Answer retry = r[i].cosign(body);
      REQUIRE(retry.status == 200);
      CHECK(retry.body.at("signature") == signature);
    }
  }

  TEST_CASE("a retry reaching another replica gets the same decision and signature") {
    Replicas r;
    const json body = usdc_body(kCustomer, 25, 11);
    const Answer first = r[0].cosign(body);
    REQUIRE(first.status == 200);
    for (std::size_t i = 1; i < 3; ++i) {
      const Answer retry = r[i].cosign(body);
      REQUIRE(retry.status == 200);
      CHECK(retry.body.at("signature") == first.body.at("signature"));
      CHECK(retry.body.at("decision") == first.body.at("decision"));
    }
    // One decision, however many replicas answered it.
    CHECK(records_of_kind(r[2], "decision") == 1);
    CHECK(daily_used(r[1]) == "25000000");
  }

  TEST_CASE("replicas racing one window never overshoot it: 400 requests of 1,000 USD from 32 clients through three replicas against 100,000 USD") {
    json doc = policy_doc();
    doc["limits"]["daily-usd"]["max_usd"] = "100000";
    Replicas r(doc);
    constexpr int kClients = 32;
    constexpr int kRequests = 400;
    std::atomic<int> next{0}, allowed{0}, denied{0}, other{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&] {
        for (int i = next++; i < kRequests; i = next++) {
          const Answer a = r[static_cast<std::size_t>(i)].cosign(usdc_body(kCustomer, 1'000, 100 + static_cast<std::uint64_t>(i)));
          if (a.status == 200) ++allowed;
          else if (a.status == 403) ++denied;
          else ++other;
        }
      });
    }
    for (auto& c : clients) c.join();
    CHECK(other == 0);
    CHECK(allowed == 100);  // exactly full: 100 x 1,000 USD
    CHECK(denied == kRequests - 100);
    for (std::size_t i = 0; i < 3; ++i) CHECK(daily_used(r[i]) == "100000000000");
  }

  TEST_CASE("one hold approved by two approvers through two replicas at once is released once") {
    Replicas r;
    const json body = usdc_body(kCustomer, 150'000, 21);
    const codec::Hash32 hash = hash_of(body);
    const Answer held = r[0].cosign(body);
    REQUIRE(held.status == 202);
    const std::string id = held.body.at("hold").at("id");
    Answer by_alice, by_bob;
    std::thread alice([&] {
      by_alice = r[1].call("POST", "/v1/holds/" + id + "/approve", approval(kAliceKey, hash, id, policy::ApprovalVerdict::kApprove), "alice");
    });
    std::thread bob([&] {
      by_bob = r[2].call("POST", "/v1/holds/" + id + "/approve", approval(kBobKey, hash, id, policy::ApprovalVerdict::kApprove), "bob");
    });
    alice.join();
    bob.join();
    REQUIRE(by_alice.status == 200);
    REQUIRE(by_bob.status == 200);
    // The approvals add up whatever replica took them: whichever came second completed the quorum.
    const Answer& second = by_alice.body.at("approvals").size() == 2 ? by_alice : by_bob;
    CHECK(second.body.at("status") == "approved");
    CHECK(second.body.at("approvals").size() == 2);
    CHECK(records_of_kind(r[0], "approval") == 2);
    CHECK(records_of_kind(r[0], "release") == 1);
    // Every replica returns the one signature the release made; the amount is counted once.
    const Answer released = r[0].cosign(body);
    REQUIRE(released.status == 200);
    CHECK(recover(hash, released.body.at("signature")) == address_of(kGuardKey));
    for (std::size_t i = 1; i < 3; ++i) {
      const Answer retry = r[i].cosign(body);
      REQUIRE(retry.status == 200);
      CHECK(retry.body.at("signature") == released.body.at("signature"));
    }
    CHECK(records_of_kind(r[1], "release") == 1);
    CHECK(daily_used(r[2]) == "150000000000");
  }

  TEST_CASE("replicas sign tree heads in turn over one linear log") {
    Replicas r(policy_doc(), 2);  // a head every 2 records, by whichever replica's batch makes it due
    for (std::uint64_t nonce = 30; nonce < 42; ++nonce) {
      REQUIRE(r[static_cast<std::size_t>(nonce)].cosign(usdc_body(kCustomer, 1, nonce)).status == 200);
    }
    for (auto& g : r.guards) g->pipeline->stop();  // each signs a head over what it sees, if the log grew
    auto records = r[0].pipeline->reader().records_from(0, 1'000);
    REQUIRE(records.has_value());
    // One sequence: index i at position i, each naming the leaf before it, whatever replica wrote it.
    for (std::size_t i = 0; i < records->size(); ++i) {
      const json body = json::parse((*records)[i].body);
      CHECK(body.at("index") == i);
      if (i > 0) CHECK(body.at("prev") == codec::to_hex((*records)[i - 1].leaf));
    }
    auto heads = r[0].pipeline->reader().heads_after(0, 1'000);
    REQUIRE(heads.has_value());
    REQUIRE_FALSE(heads->empty());
    std::uint64_t previous = 0;
    for (const store::TreeHead& head : *heads) {
      CHECK(head.size > previous);
      previous = head.size;
      auto root = r[1].pipeline->reader().root(head.size);
      REQUIRE(root.has_value());
      CHECK(*root == head.root);
    }
    CHECK(heads->back().size == records->size());
  }
}

TEST_SUITE("fail closed") {
  TEST_CASE("while PostgreSQL is down a replica signs nothing and is not ready; it serves again by itself when the database is back") {
    // A server of the test's own, on both copies of the suite: stopping the shared one would fail the
    // tests beside this one.
    auto server = test::PostgresServer::own();
    const test::TestDatabase database(server->create_database(), server->password(), false);
    Guard g(std::chrono::milliseconds{2000}, policy_doc(), &database);
    REQUIRE(g.cosign(usdc_body(kCustomer, 5, 1)).status == 200);
    CHECK(g.call("GET", "/readyz", "", std::nullopt).status == 200);

    server->stop();
    const json body = usdc_body(kCustomer, 5, 2);
    for (int attempt = 0; attempt < 3; ++attempt) {
      const Answer down = g.cosign(body);
      CHECK(down.status == 503);
      CHECK_FALSE(down.body.contains("signature"));
      const Answer ready = g.call("GET", "/readyz", "", std::nullopt);
      CHECK(ready.status == 503);
      CHECK(ready.text.find("database unavailable") != std::string::npos);
    }

    server->start();  // no restart of the replica
    // Ready again within a few probes (readiness is probed at most every 500 ms).
    unsigned ready_again = 0;
    for (int attempt = 0; attempt < 50 && ready_again != 200; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ready_again = g.call("GET", "/readyz", "", std::nullopt).status;
    }
    CHECK(ready_again == 200);
    const Answer back = g.cosign(body);
    REQUIRE(back.status == 200);
    CHECK(recover(hash_of(body), back.body.at("signature")) == address_of(kGuardKey));
    CHECK(daily_used(g) == "10000000");  // the refused attempts debited nothing
  }
}

// The auditor's promises, end to end on the real pipeline: a log made of allowed, denied, held,
// approved, expired, once-only and refused requests is exported, verified offline, replayed and
// what-if'ed; and every way of tampering with an export (a changed byte, a deleted record, two swapped
// records, a truncated tail re-signed with another key, a head with a bad signature) is detected and
// located.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/audit/export.hpp"
#include "guard/audit/replay.hpp"
#include "guard/audit/verify.hpp"
#include "guard/service/pipeline.hpp"
#include "guard/service/requests.hpp"
#include "guard/store/merkle.hpp"
#include "policy/approval.hpp"
#include "policy/codec/safe.hpp"
#include "policy/codec/secp256k1.hpp"
#include "signers/keystore.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/accounts.hpp"
#include "tests/support/builders.hpp"
#include "tests/support/temp_dir.hpp"

using namespace txguard;
using nlohmann::json;
using service::Pipeline;
using txguard::test::addr;
using txguard::test::TempDir;

namespace {

constexpr policy::TimeMs kT0 = 1'795'341'600'000;  // 2026-11-22T10:00:00Z
constexpr policy::TimeMs kMinute = 60'000;

using test::cs;
using test::kAliceKey;
using test::kBobKey;
using test::kGuardKey;
using test::key;
// Two keys for the log: the real one (anvil's account 4) and a forger's (account 5).
const char* const kLogKey = test::kCarolKey;
const char* const kForgerKey = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";

const codec::Address& kSafe = test::kHotSafe;
const codec::Address& kUsdc = test::kUsdcToken;
const codec::Address& kCustomer = test::kCustomerAccount;
const codec::Address& kSanctioned = test::kSanctionedAccount;
const codec::Address& kOther = test::kBybitAttacker;

std::string cs_of(const char* k) { return cs(test::address_of_key(k)); }

// A daily USD limit, a hold above 5,000 USD for two approvers, a sanctioned list in a file.
json policy_doc(const std::string& daily_max, const json& large_hold = {{"approvers", {"alice", "bob"}}, {"quorum", 2}, {"expires", "1h"}}) {
  return json{
      {"txguard_policy", 1},
      {"name", "audit-test"},
      {"chains", {{"ethereum", {{"id", 1}}}}},
      {"assets", {{"USDC", {{"chain", "ethereum"}, {"address", cs(kUsdc)}, {"decimals", 6}}}}},
      {"prices", {{"fixed", {{"USDC", "1"}}}}},
      {"lists", {{"sanctioned", {{"file", "sanctioned.txt"}}}}},
      {"approvers", {{"alice", {{"address", cs_of(kAliceKey)}}}, {"bob", {{"address", cs_of(kBobKey)}}}}},
      {"wallets", {{"hot", {{"chain", "ethereum"}, {"address", cs(kSafe)}, {"kind", "safe"}, {"safe_version", "1.4.1"}}}}},
      {"limits", {{"daily-usd", {{"window", "24h"}, {"max_usd", daily_max}, {"per", {"wallet"}}}}}},
      {"rules",
       json::array({{{"id", "deny-sanctioned"}, {"match", {{"any_address", "sanctioned"}}}, {"effect", "deny"},
                     {"reason", "sanctioned-address"}},
                    {{"id", "large"},
                     {"match", {{"leg", "transfer"}, {"usd", {{">", "5000"}}}}},
                     {"effect", "hold"},
                     {"hold", large_hold},
                     {"limits", {"daily-usd"}}},
                    {{"id", "withdrawal"}, {"match", {{"leg", "transfer"}}}, {"effect", "allow"},
                     {"limits", {"daily-usd"}}}})}};
}

service::PolicySources sources(const std::string& daily_max, const std::optional<json>& large_hold = std::nullopt) {
  const json doc = large_hold ? policy_doc(daily_max, *large_hold) : policy_doc(daily_max);
  return service::PolicySources{doc.dump(2), {{"sanctioned.txt", cs(kSanctioned) + "\n"}}, std::nullopt};
}

json usdc_body(const codec::Address& to, std::uint64_t whole_usdc, std::uint64_t nonce) {
  return test::usdc_transfer_body(to, whole_usdc, nonce);
}

std::shared_ptr<signers::KeystoreSigner> signer_of(const char* k) {
  auto s = signers::KeystoreSigner::from_key(key(k));
  REQUIRE(s.has_value());
  return std::make_shared<signers::KeystoreSigner>(std::move(*s));
}

// A guard whose log the tests audit.
struct Guard {
  TempDir dir{"txguard-audit"};
  txguard::test::TestDatabase db = txguard::test::test_database(dir);
  std::atomic<policy::TimeMs> now{kT0};
  std::unique_ptr<Pipeline> pipeline;

  explicit Guard(const std::optional<json>& large_hold = std::nullopt) {
    auto set = service::build_policy_set(sources("20000", large_hold), std::nullopt);
    REQUIRE(set.has_value());
    service::PipelineOptions options;
    options.database = db.name;
    options.database_password = db.password;
    options.clock = [this] { return now.load(); };
    options.log_signer = signer_of(kLogKey);
    options.head_every_records = 3;
    auto p = Pipeline::start(options, std::make_shared<const service::PolicySet>(std::move(*set)), signer_of(kGuardKey));
    REQUIRE_MESSAGE(p.has_value(), (p ? "" : p.error()));
    pipeline = std::move(*p);
  }

  service::Outcome sign(const json& body, const std::string& requester = "ops") {
    auto request = service::decode_safe_request(body.dump(), pipeline->policy().policy, requester);
    REQUIRE(request.has_value());
    std::promise<service::Outcome> done;
    auto future = done.get_future();
    pipeline->sign(std::move(*request), [&done](service::Outcome o) { done.set_value(std::move(o)); });
    return future.get();
  }
  service::ApprovalOutcome approve(const service::Outcome& held, const char* approver) {
    const auto digest = policy::approval_digest(*codec::from_hex_fixed<32>(held.hold.at("request_hash").get<std::string>()),
                                                held.decision_id, policy::ApprovalVerdict::kApprove);
    const auto rsv = codec::sign_digest(digest, key(approver))->to_rsv(27);
    std::promise<service::ApprovalOutcome> done;
    auto future = done.get_future();
    // Submitted by the client bound to that approver, named after it.
    const std::string name = std::string_view(approver) == kAliceKey ? "alice" : std::string_view(approver) == kBobKey ? "bob" : "carol";
    pipeline->approve(held.decision_id, policy::ApprovalVerdict::kApprove, codec::Bytes(rsv.begin(), rsv.end()),
                      policy::Submitter{name, name}, [&done](service::ApprovalOutcome o) { done.set_value(std::move(o)); });
    return future.get();
  }
};

// The log every test starts from, and the ids of the decisions a tighter limit would change.
struct AuditedLog {
  TempDir exports{"txguard-audit-export"};
  std::string dir;
  std::vector<std::string> changed_by_15000;  // what a daily max of 15,000 USD decides differently
  std::uint64_t decisions = 0;
};

void make_log(AuditedLog& log) {
  {
    Guard g;
    auto expect = [&](const service::Outcome& o, service::Status status) {
      CHECK_MESSAGE(o.status == status, o.decision.dump());
      ++log.decisions;
      return o;
    };
    expect(g.sign(usdc_body(kCustomer, 3000, 0)), service::Status::kAllowed);   // 3,000 used
    g.now += kMinute;
    expect(g.sign(usdc_body(kCustomer, 4000, 1)), service::Status::kAllowed);   // 7,000
    g.now += kMinute;
    const auto held = expect(g.sign(usdc_body(kCustomer, 6000, 2)), service::Status::kPending);  // 13,000 reserved
    g.now += kMinute;
    CHECK(g.approve(held, kAliceKey).code == service::ApprovalOutcome::Code::kAccepted);
    g.now += kMinute;
    CHECK(g.approve(held, kBobKey).request.status == service::Status::kApproved);
    g.now += kMinute;
    const auto five = expect(g.sign(usdc_body(kCustomer, 5000, 3)), service::Status::kAllowed);  // 18,000
    log.changed_by_15000.push_back(five.decision_id);
    g.now += kMinute;
    const auto over = expect(g.sign(usdc_body(kCustomer, 3000, 4)), service::Status::kDenied);  // 21,000 > 20,000
    CHECK(over.reason_codes == std::vector<std::string>{"limit-exceeded"});
    expect(g.sign(usdc_body(kSanctioned, 10, 4)), service::Status::kDenied);
    g.now += kMinute;
    expect(g.sign(usdc_body(kCustomer, 1000, 4)), service::Status::kAllowed);  // 19,000
    g.now += kMinute;
    const auto lapsing = expect(g.sign(usdc_body(kCustomer, 7000, 5), "desk"), service::Status::kDenied);
    CHECK(lapsing.reason_codes == std::vector<std::string>{"limit-exceeded"});
    g.now += 25 * 60 * kMinute;  // the window has moved on: the morning's debits no longer count
    expect(g.sign(usdc_body(kCustomer, 7000, 5), "desk"), service::Status::kPending);  // fits 15,000 too
    g.now += 2 * 60 * kMinute;    // the hold expires unapproved
    expect(g.sign(usdc_body(kCustomer, 3000, 6)), service::Status::kAllowed);
    expect(g.sign(usdc_body(kOther, 3000, 0)), service::Status::kDenied);  // nonce 0 is taken
    g.pipeline->record_refusal(json{{"reason", "unknown-token"}, {"peer", "127.0.0.1:9"}});
    g.pipeline->stop();
    auto exported = audit::export_log(g.db.name, (log.exports.path / "export").string(), {}, g.db.options());
    REQUIRE_MESSAGE(exported.has_value(), (exported ? "" : exported.error()));
    CHECK(exported->heads >= 4);
    CHECK(exported->log_key == *codec::address_of(key(kLogKey)));
  }
  log.dir = (log.exports.path / "export").string();
}

std::vector<std::string> lines(const std::string& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}
void write_lines(const std::string& file, const std::vector<std::string>& v) {
  std::ofstream out(file, std::ios::trunc);
  for (const auto& l : v) out << l << '\n';
}

// A copy of the export to tamper with.
std::string copy_of(const AuditedLog& log, const std::string& name) {
  const std::string to = (log.exports.path / name).string();
  std::filesystem::copy(log.dir, to, std::filesystem::copy_options::recursive);
  return to;
}

audit::VerifyReport verify(const std::string& dir, std::optional<codec::Address> key = std::nullopt) {
  auto report = audit::verify_export(dir, key);
  REQUIRE_MESSAGE(report.has_value(), (report ? "" : report.error()));
  return *report;
}

// A tree head over `records` signed by `signer_key`.
std::string head_line(const std::vector<std::string>& records, const char* signer_key, policy::TimeMs at) {
  store::MerkleAccumulator tree;
  for (const auto& r : records) {
    tree.append(store::merkle_leaf_hash(codec::ByteView(reinterpret_cast<const std::uint8_t*>(r.data()), r.size())));
  }
  store::TreeHead head;
  head.size = records.size();
  head.root = tree.root();
  head.at_ms = at;
  head.signer = *codec::address_of(key(signer_key));
  const auto rsv = codec::sign_digest(store::tree_head_digest(head.size, at, head.root), key(signer_key))->to_rsv(27);
  head.signature.assign(rsv.begin(), rsv.end());
  return store::to_json(head).dump();
}

}  // namespace

TEST_SUITE("audit") {

TEST_CASE("audit: an untouched export verifies: every record linked, every head's root recomputed and signed by the log key") {
  AuditedLog log;
  make_log(log);
  const auto report = verify(log.dir, *codec::address_of(key(kLogKey)));
  CHECK_MESSAGE(report.ok(), (report.problem ? report.problem->where + " " + report.problem->what : ""));
  CHECK(report.records > log.decisions);  // approvals, release, expiry, refusal too
  CHECK(report.signed_size == report.records);  // the head signed at stop covers everything
  CHECK(report.documents == 3);  // the policy, its list file and the policy set naming them
}

TEST_CASE("audit: a replay of an untouched log reproduces every record: windows, holds, approvals, expiry, once-only") {
  AuditedLog log;
  make_log(log);
  auto report = audit::replay_export(log.dir, {});
  REQUIRE_MESSAGE(report.has_value(), (report ? "" : report.error()));
  for (const auto& m : report->mismatches) MESSAGE("record " << m.index << " " << m.id << ": " << m.what);
  CHECK(report->mismatched == 0);
  CHECK(report->decisions == log.decisions);
  CHECK(report->reproduced == report->records);
}

TEST_CASE("audit: holds released by time (after a delay, by time alone) replay exactly, release records included") {
  TempDir exports{"txguard-audit-export"};
  {
    // Large transfers wait 30 minutes; approvals that come before that wait for it.
    Guard g(json{{"approvers", {"alice", "bob"}}, {"quorum", 2}, {"delay", "30m"}, {"expires", "2h"}});
    const auto held = g.sign(usdc_body(kCustomer, 6000, 0));
    REQUIRE(held.status == service::Status::kPending);
    g.now += kMinute;
    CHECK(g.approve(held, kAliceKey).code == service::ApprovalOutcome::Code::kAccepted);
    CHECK(g.approve(held, kBobKey).request.status == service::Status::kPending);  // quorum met, delay not
    g.now += 30 * kMinute;
    CHECK(g.sign(usdc_body(kCustomer, 10, 1)).status == service::Status::kAllowed);  // its batch releases the hold
    const auto again = g.sign(usdc_body(kCustomer, 6000, 0));
    CHECK(again.status == service::Status::kApproved);
    CHECK(again.signature.has_value());
    g.pipeline->stop();
    REQUIRE(audit::export_log(g.db.name, (exports.path / "export").string(), {}, g.db.options()).has_value());
  }
  auto report = audit::replay_export((exports.path / "export").string(), {});
  REQUIRE_MESSAGE(report.has_value(), (report ? "" : report.error()));
  for (const auto& m : report->mismatches) MESSAGE("record " << m.index << " " << m.id << ": " << m.what);
  CHECK(report->mismatched == 0);
  CHECK(report->reproduced == report->records);
  std::size_t releases = 0;
  for (const auto& line : lines((exports.path / "export" / "records.jsonl").string())) {
    if (json::parse(line).value("kind", "") == "release") ++releases;
  }
  CHECK(releases == 1);
}

TEST_CASE("audit: messages refused as a possible Safe hash and SafeTx typed data judged as the Safe replay exactly") {
  TempDir exports{"txguard-audit-export"};
  {
    Guard g;
    const codec::Address guard = test::address_of_key(kGuardKey);
    const auto submit = [&](std::expected<service::SigningRequest, service::HttpError> request) {
      REQUIRE_MESSAGE(request.has_value(), (request ? "" : request.error().message));
      std::promise<service::Outcome> done;
      auto future = done.get_future();
      g.pipeline->sign(std::move(*request), [&done](service::Outcome o) { done.set_value(std::move(o)); });
      return future.get();
    };
    const auto& policy = g.pipeline->policy().policy;
    const json body = usdc_body(kCustomer, 10, 0);
    json versioned = body;
    versioned["safeVersion"] = "1.4.1";
    const auto parsed = codec::parse_safe_tx_request(versioned);
    REQUIRE(parsed.has_value());
    const std::string hash = codec::to_hex(codec::safe_tx_hash(parsed->tx, parsed->domain));
    const auto personal = submit(service::message_request(json(hash), policy, "ops", guard, 1));
    CHECK(personal.status == service::Status::kDenied);
    CHECK(personal.reason_codes.front() == "message-is-a-hash");
    json typed = {{"types",
                   {{"EIP712Domain", json::array({{{"name", "chainId"}, {"type", "uint256"}}, {{"name", "verifyingContract"}, {"type", "address"}}})},
                    {"SafeTx", json::array({{{"name", "to"}, {"type", "address"}}, {{"name", "value"}, {"type", "uint256"}},
                                            {{"name", "data"}, {"type", "bytes"}}, {{"name", "operation"}, {"type", "uint8"}},
                                            {{"name", "safeTxGas"}, {"type", "uint256"}}, {{"name", "baseGas"}, {"type", "uint256"}},
                                            {{"name", "gasPrice"}, {"type", "uint256"}}, {{"name", "gasToken"}, {"type", "address"}},
                                            {{"name", "refundReceiver"}, {"type", "address"}}, {{"name", "nonce"}, {"type", "uint256"}}})}}},
                  {"primaryType", "SafeTx"},
                  {"domain", {{"chainId", 1}, {"verifyingContract", cs(kSafe)}}},
                  {"message", body}};
    typed["message"].erase("chainId");
    typed["message"].erase("safe");
    const auto safe_tx = submit(service::typed_data_request(typed, policy, "ops", guard, 1));
    CHECK_MESSAGE(safe_tx.status == service::Status::kAllowed, safe_tx.decision.dump());
    json safe_message = {{"types",
                          {{"EIP712Domain", json::array({{{"name", "chainId"}, {"type", "uint256"}}, {{"name", "verifyingContract"}, {"type", "address"}}})},
                           {"SafeMessage", json::array({{{"name", "message"}, {"type", "bytes"}}})}}},
                         {"primaryType", "SafeMessage"},
                         {"domain", {{"chainId", 1}, {"verifyingContract", cs(kSafe)}}},
                         {"message", {{"message", hash}}}};
    const auto eip1271 = submit(service::typed_data_request(safe_message, policy, "ops", guard, 1));
    CHECK(eip1271.reason_codes == std::vector<std::string>{"message-is-a-hash"});
    g.pipeline->stop();
    REQUIRE(audit::export_log(g.db.name, (exports.path / "export").string(), {}, g.db.options()).has_value());
  }
  auto report = audit::replay_export((exports.path / "export").string(), {});
  REQUIRE_MESSAGE(report.has_value(), (report ? "" : report.error()));
  for (const auto& m : report->mismatches) MESSAGE("record " << m.index << " " << m.id << ": " << m.what);
  CHECK(report->mismatched == 0);
  CHECK(report->decisions == 3);
  CHECK(report->reproduced == report->records);
}

TEST_CASE("audit: a what-if with a tighter daily limit reports exactly the requests it would have decided differently") {
  AuditedLog log;
  make_log(log);
  audit::ReplayOptions options;
  options.what_if = sources("15000");
  auto report = audit::replay_export(log.dir, options);
  REQUIRE_MESSAGE(report.has_value(), (report ? "" : report.error()));
  std::vector<std::string> changed;
  for (const auto& c : report->changes) changed.push_back(c.id);
  CHECK(changed == log.changed_by_15000);
  REQUIRE(report->changes.size() == 1);
  CHECK(report->changes[0].recorded.text() == "allow withdrawal");
  CHECK(report->changes[0].what_if.text() == "deny withdrawal [limit-exceeded]");
  CHECK(report->changes_by_kind.size() == 1);

  // The same policy as recorded changes nothing.
  options.what_if = sources("20000");
  report = audit::replay_export(log.dir, options);
  REQUIRE(report.has_value());
  CHECK(report->changed == 0);
}

TEST_CASE("audit: one changed byte in one record is detected and the record named") {
  AuditedLog log;
  make_log(log);
  const std::string dir = copy_of(log, "changed");
  auto records = lines(dir + "/records.jsonl");
  const std::size_t k = 2;
  const auto at = records[k].find("\"requester\":\"ops\"");
  REQUIRE(at != std::string::npos);
  records[k][at + 15] = 't';  // "ops" -> "opt": still canonical JSON
  write_lines(dir + "/records.jsonl", records);
  const auto report = verify(dir);
  REQUIRE_FALSE(report.ok());
  CHECK(report.problem->record == k);
  CHECK(report.problem->where == "record 2");
  CHECK(report.problem->what.find("was changed") != std::string::npos);
}

TEST_CASE("audit: a change that breaks canonical JSON, or the last record's content, is located too") {
  AuditedLog log;
  make_log(log);
  std::string dir = copy_of(log, "spaced");
  auto records = lines(dir + "/records.jsonl");
  records[4].insert(1, " ");
  write_lines(dir + "/records.jsonl", records);
  auto report = verify(dir);
  REQUIRE_FALSE(report.ok());
  CHECK(report.problem->record == 4);
  CHECK(report.problem->what.find("canonical") != std::string::npos);

  dir = copy_of(log, "last");
  records = lines(dir + "/records.jsonl");
  const std::size_t last = records.size() - 1;
  const auto at = records[last].find("unknown-token");
  REQUIRE(at != std::string::npos);
  records[last][at] = 'U';
  write_lines(dir + "/records.jsonl", records);
  report = verify(dir);
  REQUIRE_FALSE(report.ok());
  CHECK(report.problem->record == last);
  CHECK(report.problem->what.find("does not match the records") != std::string::npos);
}

TEST_CASE("audit: a deleted record is detected and named") {
  AuditedLog log;
  make_log(log);
  const std::string dir = copy_of(log, "deleted");
  auto records = lines(dir + "/records.jsonl");
  records.erase(records.begin() + 5);
  write_lines(dir + "/records.jsonl", records);
  const auto report = verify(dir);
  REQUIRE_FALSE(report.ok());
  CHECK(report.problem->record == 5);
  CHECK(report.problem->what.find("record 5 was deleted") != std::string::npos);
}

TEST_CASE("audit: two swapped records are detected and located") {
  AuditedLog log;
  make_log(log);
  const std::string dir = copy_of(log, "swapped");
  auto records = lines(dir + "/records.jsonl");
  std::swap(records[6], records[7]);
  write_lines(dir + "/records.jsonl", records);
  const auto report = verify(dir);
  REQUIRE_FALSE(report.ok());
  CHECK(report.problem->record == 6);
  CHECK(report.problem->what.find("record 7 stands at position 6") != std::string::npos);
}

TEST_CASE("audit: a truncated tail re-signed with another key is detected at the forged head") {
  AuditedLog log;
  make_log(log);
  const std::string dir = copy_of(log, "truncated");
  auto records = lines(dir + "/records.jsonl");
  auto heads = lines(dir + "/heads.jsonl");
  // Keep the records of the second head and what followed it up to three more, drop the rest, and
  // sign a head over what is left with the forger's key.
  const auto second = store::tree_head_from_json(json::parse(heads[1]));
  REQUIRE(second.has_value());
  const std::size_t keep = second->size + 2;
  REQUIRE(keep < records.size());
  records.resize(keep);
  heads.resize(2);
  heads.push_back(head_line(records, kForgerKey, kT0 + 10 * 60 * kMinute * 6));
  write_lines(dir + "/records.jsonl", records);
  write_lines(dir + "/heads.jsonl", heads);
  std::ifstream m(dir + "/manifest.json");
  json manifest = json::parse(m);
  manifest["records"] = keep;
  std::ofstream(dir + "/manifest.json", std::ios::trunc) << manifest.dump();
  auto report = verify(dir);
  REQUIRE_FALSE(report.ok());
  CHECK(report.problem->where == "tree head 2 (size " + std::to_string(keep) + ")");
  CHECK(report.problem->what.find("is signed by " + cs_of(kForgerKey) + ", not the log key " + cs_of(kLogKey)) !=
        std::string::npos);

  // Every head re-signed by the forger: only the pinned key tells, at the very first head.
  std::vector<std::string> forged;
  for (const auto& h : heads) {
    const auto head = store::tree_head_from_json(json::parse(h));
    forged.push_back(head_line(std::vector<std::string>(records.begin(), records.begin() + static_cast<std::ptrdiff_t>(head->size)),
                               kForgerKey, head->at_ms));
  }
  write_lines(dir + "/heads.jsonl", forged);
  CHECK(verify(dir).ok());  // self-consistent: without a pinned key the forger's key is taken
  report = verify(dir, *codec::address_of(key(kLogKey)));
  REQUIRE_FALSE(report.ok());
  CHECK(report.problem->where.starts_with("tree head 0 "));
  CHECK(report.problem->what.find("(pinned)") != std::string::npos);
}

TEST_CASE("audit: a tree head with a bad signature is detected and named; so is a head beyond the records") {
  AuditedLog log;
  make_log(log);
  std::string dir = copy_of(log, "badsig");
  auto heads = lines(dir + "/heads.jsonl");
  json head = json::parse(heads[1]);
  std::string sig = head.at("signature");
  sig[10] = sig[10] == 'a' ? 'b' : 'a';
  head["signature"] = sig;
  heads[1] = head.dump();
  write_lines(dir + "/heads.jsonl", heads);
  auto report = verify(dir);
  REQUIRE_FALSE(report.ok());
  CHECK(report.problem->where.starts_with("tree head 1 "));
  CHECK(report.problem->what.find("signature does not recover") != std::string::npos);

  dir = copy_of(log, "cut");
  auto records = lines(dir + "/records.jsonl");
  records.pop_back();
  write_lines(dir + "/records.jsonl", records);
  report = verify(dir);
  REQUIRE_FALSE(report.ok());
  CHECK(report.problem->what.find("are missing (the log was truncated)") != std::string::npos);
  CHECK(report.problem->record == records.size());
}

TEST_CASE("audit: a changed document and a record naming a missing policy set are refused") {
  AuditedLog log;
  make_log(log);
  std::string dir = copy_of(log, "doc");
  auto docs = lines(dir + "/documents.jsonl");
  REQUIRE_FALSE(docs.empty());
  json d = json::parse(docs[0]);
  d["body"] = d.at("body").get<std::string>() + " ";
  docs[0] = d.dump();
  write_lines(dir + "/documents.jsonl", docs);
  auto report = verify(dir);
  REQUIRE_FALSE(report.ok());
  CHECK(report.problem->where == "documents.jsonl line 1");

  dir = copy_of(log, "nodoc");
  write_lines(dir + "/documents.jsonl", {});
  report = verify(dir);
  REQUIRE_FALSE(report.ok());
  CHECK(report.problem->what.find("which the export does not hold") != std::string::npos);
  CHECK_FALSE(audit::verify_export((log.exports.path / "nowhere").string(), std::nullopt).has_value());
}

TEST_CASE("audit: a replay reports a recorded decision that does not follow from the rules, and where") {
  AuditedLog log;
  make_log(log);
  const std::string dir = copy_of(log, "forged-verdict");
  auto records = lines(dir + "/records.jsonl");
  // The over-limit withdrawal recorded as allowed: a forged verdict (verify would flag the bytes; the
  // replay independently says the rules do not give it).
  std::size_t forged = records.size();
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (records[i].find("\"code\":\"limit-exceeded\"") != std::string::npos) {
      json r = json::parse(records[i]);
      r["decision"]["verdict"] = "allow";
      r["decision"]["reasons"] = json::array();
      records[i] = r.dump();
      forged = i;
      break;
    }
  }
  REQUIRE(forged < records.size());
  write_lines(dir + "/records.jsonl", records);
  auto report = audit::replay_export(dir, {});
  REQUIRE(report.has_value());
  REQUIRE(report->mismatched == 1);
  CHECK(report->mismatches[0].index == forged);
  CHECK(report->mismatches[0].what.find("recorded allow withdrawal, replayed deny withdrawal [limit-exceeded]") !=
        std::string::npos);
}

}  // TEST_SUITE

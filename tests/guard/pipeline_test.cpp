// The pipeline's stages driven directly: one batch run on the caller's thread (run_batch), so a test
// sees exactly what one transaction does: due holds settled first, the jobs judged in order, the tree
// head last, and nothing of a job released unless its batch committed.
#include <doctest/doctest.h>

#include "tests/support/test_database.hpp"
#include "tests/support/accounts.hpp"
#include "tests/support/temp_dir.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/service/pipeline.hpp"
#include "guard/service/requests.hpp"
#include "signers/keystore.hpp"

using namespace txguard;
using service::Outcome;
using service::Pipeline;
using service::Status;
using nlohmann::json;

namespace {

constexpr policy::TimeMs kT0 = 1'795'341'600'000;  // 2026-11-22T10:00:00Z

json policy_doc() {
  return json{{"txguard_policy", 1},
              {"name", "pipeline-test"},
              {"chains", {{"ethereum", {{"id", 1}}}}},
              {"assets", {{"USDC", {{"chain", "ethereum"}, {"address", test::cs(test::kUsdcToken)}, {"decimals", 6}}}}},
              {"prices", {{"fixed", {{"USDC", "1"}}}}},
              {"wallets", {{"hot", {{"chain", "ethereum"}, {"address", test::cs(test::kHotSafe)}, {"kind", "safe"}, {"safe_version", "1.4.1"}}}}},
              {"rules", json::array({{{"id", "large"}, {"match", {{"leg", "transfer"}, {"usd", {{">", "5000"}}}}},
                                      {"effect", "hold"}, {"hold", {{"delay", "1h"}}}},
                                     {{"id", "withdrawal"}, {"match", {{"leg", "transfer"}}}, {"effect", "allow"}}})}};
}

std::shared_ptr<signers::KeystoreSigner> signer_of(const char* k) {
  auto s = signers::KeystoreSigner::from_key(test::key(k));
  REQUIRE(s.has_value());
  return std::make_shared<signers::KeystoreSigner>(std::move(*s));
}

struct Stages {
  test::TempDir dir{"txguard-pipeline"};
  test::TestDatabase db = test::test_database(dir);
  std::unique_ptr<Pipeline> pipeline;

  Stages() {
    auto set = service::build_policy_set(service::PolicySources{policy_doc().dump(), {}, std::nullopt}, std::nullopt);
    REQUIRE(set.has_value());
    service::PipelineOptions options;
    options.database = db.name;
    options.database_password = db.password;
    options.sequencer = false;
    options.log_signer = signer_of(test::kCarolKey);  // the log key: any key but the co-signer's
    options.head_every_records = 1;
    auto p = Pipeline::start(options, std::make_shared<const service::PolicySet>(std::move(*set)), signer_of(test::kGuardKey));
    REQUIRE_MESSAGE(p.has_value(), (p ? "" : p.error()));
    pipeline = std::move(*p);
  }

  Pipeline::SignJob sign(std::uint64_t whole_usdc, std::uint64_t nonce, std::optional<Outcome>& into) {
    auto request = service::decode_safe_request(test::usdc_transfer_body(test::kCustomerAccount, whole_usdc, nonce).dump(),
                                                pipeline->policy().policy, "ops");
    REQUIRE(request.has_value());
    return Pipeline::SignJob{std::move(*request), false, [&into](Outcome o) { into = std::move(o); }, {}};
  }
};

}  // namespace

TEST_SUITE("pipeline") {
  TEST_CASE("one batch judges its jobs in order: the second request at a nonce is refused within the same transaction") {
    Stages s;
    std::optional<Outcome> first, second;
    std::vector<Pipeline::Job> jobs;
    jobs.emplace_back(s.sign(10, 1, first));
    jobs.emplace_back(s.sign(20, 1, second));
    REQUIRE(s.pipeline->run_batch(jobs, kT0));
    REQUIRE(first.has_value());
    REQUIRE(second.has_value());
    CHECK(first->status == Status::kAllowed);
    CHECK(first->signature.has_value());
    CHECK(second->status == Status::kDenied);
    CHECK(second->reason_codes == std::vector<std::string>{"nonce-already-signed"});
    CHECK_FALSE(second->signature.has_value());
    // The tree head is the batch's last step: it covers both decisions.
    auto head = s.pipeline->reader().last_head();
    REQUIRE(head.has_value());
    REQUIRE(head->has_value());
    CHECK((*head)->size == 2);
  }

  TEST_CASE("due holds are settled before a batch's jobs: a delay that ended releases the hold, then the retry reads it") {
    Stages s;
    std::optional<Outcome> held, retry;
    std::vector<Pipeline::Job> first;
    first.emplace_back(s.sign(6000, 2, held));
    REQUIRE(s.pipeline->run_batch(first, kT0));
    REQUIRE(held.has_value());
    CHECK(held->status == Status::kPending);
    std::vector<Pipeline::Job> later;
    later.emplace_back(s.sign(6000, 2, retry));
    REQUIRE(s.pipeline->run_batch(later, kT0 + 3'600'000));
    REQUIRE(retry.has_value());
    CHECK(retry->status == Status::kApproved);
    CHECK(retry->signature.has_value());
    CHECK(retry->replayed);
  }

  TEST_CASE("an evaluation in a batch judges, records and signs nothing") {
    Stages s;
    std::optional<Outcome> evaluated;
    std::vector<Pipeline::Job> jobs;
    Pipeline::SignJob job = s.sign(10, 3, evaluated);
    job.evaluate_only = true;
    jobs.emplace_back(std::move(job));
    REQUIRE(s.pipeline->run_batch(jobs, kT0));
    REQUIRE(evaluated.has_value());
    CHECK(evaluated->status == Status::kAllowed);
    CHECK_FALSE(evaluated->signature.has_value());
    auto size = s.pipeline->reader().size();
    REQUIRE(size.has_value());
    CHECK(*size == 0);
  }
}

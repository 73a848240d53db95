// One versioned schema for the whole database (guard/store/schema.hpp), on SQLite and, in the
// guard-pg/ copies, PostgreSQL: an empty database is created at the current version, a database the
// previous txguard wrote (version 1) is recognised and migrated with its rows, start-up refuses an
// older, newer or foreign schema naming what to run, and a copy moves every row and the signed log.
#include <doctest/doctest.h>

#include "tests/support/accounts.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_database.hpp"

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "guard/service/pipeline.hpp"
#include "guard/service/requests.hpp"
#include "guard/store/schema.hpp"
#include "signers/keystore.hpp"

using namespace txguard;
using nlohmann::json;
using policy::StateErrc;
using store::kCurrentSchemaVersion;
using store::kForeignSchema;

namespace {

constexpr policy::TimeMs kT0 = 1'795'341'600'000;  // 2026-11-22T10:00:00Z

std::unique_ptr<store::SqlConnection> connect(const test::TestDatabase& db) {
  store::DatabaseOptions options = db.options();
  options.lock_timeout = std::chrono::milliseconds(20'000);
  auto c = store::open_database(db.name, options);
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().message()));
  return std::move(*c);
}

std::int64_t integer(store::SqlConnection& c, std::string_view sql) {
  std::int64_t value = -1;
  auto ran = c.run(sql, {}, [&](const store::SqlRow& row) -> policy::StateResult<void> {
    value = row.integer(0).value_or(-1);
    return {};
  });
  REQUIRE_MESSAGE(ran.has_value(), (ran ? "" : ran.error().message()));
  return value;
}

void exec(store::SqlConnection& c, const std::string& sql, std::initializer_list<store::SqlParam> params = {}) {
  auto ran = c.run(sql, params);
  REQUIRE_MESSAGE(ran.has_value(), (ran ? "" : ran.error().message()));
}

// A database exactly as the previous txguard (before schema_migrations) left it, with a few rows in
// the state, the log and the bridge tables.
void make_version_1(const test::TestDatabase& db) {
  auto c = connect(db);
  REQUIRE(c->begin_write());
  REQUIRE(store::install_version_1(*c));
  exec(*c, "INSERT INTO ledgers(id, limit_id, scope) VALUES (7, 'daily', '*')");
  const std::vector<std::uint8_t> five{5}, leaf(32, 0);
  exec(*c, "INSERT INTO debits(ledger, at_ms, amount) VALUES (7, 1000, ?1)", {store::SqlBlob{five}});
  exec(*c, "INSERT INTO log_records(seq, id, kind, at_ms, body, leaf) VALUES (0, 'd-1', 'decision', 1000, '{}', ?1)",
       {store::SqlBlob{leaf}});
  exec(*c, "INSERT INTO bridge_pauses(scope, at_ms, by, reason) VALUES ('*', 1000, 'ops', 'drill')");
  REQUIRE(c->commit());
}

json policy_doc() {
  return json{{"txguard_policy", 1},
              {"name", "schema-test"},
              {"chains", {{"ethereum", {{"id", 1}}}}},
              {"assets", {{"USDC", {{"chain", "ethereum"}, {"address", test::cs(test::kUsdcToken)}, {"decimals", 6}}}}},
              {"prices", {{"fixed", {{"USDC", "1"}}}}},
              {"wallets", {{"hot", {{"chain", "ethereum"}, {"address", test::cs(test::kHotSafe)}, {"kind", "safe"}, {"safe_version", "1.4.1"}}}}},
              {"limits", {{"daily-usd", {{"window", "24h"}, {"max_usd", "1000000"}, {"per", {"wallet"}}}}}},
              {"rules", json::array({{{"id", "large"}, {"match", {{"leg", "transfer"}, {"usd", {{">", "5000"}}}}},
                                      {"effect", "hold"}, {"hold", {{"delay", "1h"}}}, {"limits", {"daily-usd"}}},
                                     {{"id", "withdrawal"}, {"match", {{"leg", "transfer"}}}, {"effect", "allow"},
                                      {"limits", {"daily-usd"}}}})}};
}

std::shared_ptr<signers::KeystoreSigner> signer_of(const char* k) {
  auto s = signers::KeystoreSigner::from_key(test::key(k));
  REQUIRE(s.has_value());
  return std::make_shared<signers::KeystoreSigner>(std::move(*s));
}

std::expected<std::unique_ptr<service::Pipeline>, std::string> start_pipeline(const test::TestDatabase& db) {
  auto set = service::build_policy_set(service::PolicySources{policy_doc().dump(), {}, std::nullopt}, std::nullopt);
  REQUIRE_MESSAGE(set.has_value(), "policy");
  service::PipelineOptions options;
  options.database = db.name;
  options.database_password = db.password;
  options.sequencer = false;
  options.log_signer = signer_of(test::kCarolKey);
  options.head_every_records = 1;
  options.clock = [] { return kT0; };
  return service::Pipeline::start(options, std::make_shared<const service::PolicySet>(std::move(*set)),
                                  signer_of(test::kGuardKey));
}

// Decisions through the real pipeline: allowed transfers, one held, one refused (a nonce used twice).
void decide_a_few(service::Pipeline& p) {
  std::vector<std::optional<service::Outcome>> outcomes(4);
  std::vector<service::Pipeline::Job> jobs;
  const std::uint64_t amounts[] = {10, 20, 6000, 30};
  const std::uint64_t nonces[] = {1, 2, 3, 2};
  for (std::size_t i = 0; i < 4; ++i) {
    auto request = service::decode_safe_request(
        test::usdc_transfer_body(test::kCustomerAccount, amounts[i], nonces[i]).dump(), p.policy().policy, "ops");
    REQUIRE(request.has_value());
    jobs.emplace_back(service::Pipeline::SignJob{std::move(*request), false,
                                                 [&outcomes, i](service::Outcome o) { outcomes[i] = std::move(o); }, {}});
  }
  REQUIRE(p.run_batch(jobs, kT0));
  REQUIRE(outcomes[0].has_value());
  CHECK(outcomes[0]->status == service::Status::kAllowed);
  REQUIRE(outcomes[2].has_value());
  CHECK(outcomes[2]->status == service::Status::kPending);
}

}  // namespace

TEST_SUITE("schema") {
  TEST_CASE("an empty database is created at the current schema version and every step is recorded once") {
    test::TempDir dir{"txguard-schema"};
    const test::TestDatabase db = test::test_database(dir);
    auto c = connect(db);
    CHECK(store::schema_version(*c).value() == 0);
    auto created = store::ensure_current_schema(*c, kT0, "txguard db migrate --config FILE");
    REQUIRE_MESSAGE(created.has_value(), (created ? "" : created.error().message()));
    CHECK(store::schema_version(*c).value() == kCurrentSchemaVersion);
    CHECK(integer(*c, "SELECT count(*) FROM schema_migrations") == kCurrentSchemaVersion);
    CHECK(integer(*c, "SELECT max(version) FROM schema_migrations") == kCurrentSchemaVersion);
    CHECK(integer(*c, "SELECT count(*) FROM schema_migrations WHERE applied_ms = 1795341600000") == kCurrentSchemaVersion);
  }

  TEST_CASE("the stores alone create an empty database at the current schema version, not at version 1") {
    test::TempDir dir{"txguard-schema"};
    const test::TestDatabase db = test::test_database(dir);
    { auto s = store::SqlStateStore::open(db.name, db.options()); REQUIRE(s.has_value()); }
    auto c = connect(db);
    CHECK(store::schema_version(*c).value() == kCurrentSchemaVersion);
  }

  TEST_CASE("a version-1 database the previous txguard wrote is recognised and migrated with every row kept") {
    test::TempDir dir{"txguard-schema"};
    const test::TestDatabase db = test::test_database(dir);
    make_version_1(db);
    auto c = connect(db);
    CHECK(store::schema_version(*c).value() == 1);
    auto migrated = store::migrate(*c, kT0);
    REQUIRE_MESSAGE(migrated.has_value(), (migrated ? "" : migrated.error().message()));
    CHECK(migrated->from == 1);
    CHECK(migrated->to == kCurrentSchemaVersion);
    CHECK(store::schema_version(*c).value() == kCurrentSchemaVersion);
    CHECK(integer(*c, "SELECT count(*) FROM ledgers WHERE id = 7") == 1);
    CHECK(integer(*c, "SELECT count(*) FROM debits WHERE ledger = 7") == 1);
    CHECK(integer(*c, "SELECT count(*) FROM log_records") == 1);
    CHECK(integer(*c, "SELECT count(*) FROM bridge_pauses") == 1);
    CHECK(integer(*c, "SELECT count(*) FROM schema_migrations") == kCurrentSchemaVersion);
    // The state identity carries the version too, so the txguard before schema_migrations refuses it.
    const std::int64_t stamp = c->backend() == store::SqlBackend::kSqlite
                                   ? integer(*c, "PRAGMA user_version")
                                   : integer(*c, "SELECT value FROM state_meta WHERE name = 'schema'");
    CHECK(stamp == kCurrentSchemaVersion);
    // The migrated database starts.
    auto p = start_pipeline(db);
    CHECK_MESSAGE(p.has_value(), (p ? "" : p.error()));
  }

  TEST_CASE("migrating a current database again changes nothing") {
    test::TempDir dir{"txguard-schema"};
    const test::TestDatabase db = test::test_database(dir);
    auto c = connect(db);
    REQUIRE(store::migrate(*c, kT0));
    auto again = store::migrate(*c, kT0 + 5000);
    REQUIRE(again.has_value());
    CHECK(again->from == kCurrentSchemaVersion);
    CHECK(again->to == kCurrentSchemaVersion);
    CHECK(integer(*c, "SELECT count(*) FROM schema_migrations") == kCurrentSchemaVersion);
    CHECK(integer(*c, "SELECT max(applied_ms) FROM schema_migrations") == kT0);
  }

  TEST_CASE("start-up refuses an older schema, names txguard db migrate, and leaves the database as it was") {
    test::TempDir dir{"txguard-schema"};
    const test::TestDatabase db = test::test_database(dir);
    make_version_1(db);
    auto p = start_pipeline(db);
    REQUIRE_FALSE(p.has_value());
    CHECK(p.error().find("schema version 1 is older") != std::string::npos);
    CHECK(p.error().find("run: txguard db migrate --config") != std::string::npos);
    auto c = connect(db);
    CHECK(store::schema_version(*c).value() == 1);
    auto checked = store::ensure_current_schema(*c, kT0, "txguard db migrate --database X");
    REQUIRE_FALSE(checked.has_value());
    CHECK(checked.error().code == StateErrc::kForeign);
  }

  TEST_CASE("start-up, migrate and the stores refuse a newer schema: this txguard is older than the database") {
    test::TempDir dir{"txguard-schema"};
    const test::TestDatabase db = test::test_database(dir);
    {
      auto c = connect(db);
      REQUIRE(store::migrate(*c, kT0));
      exec(*c, "INSERT INTO schema_migrations(version, applied_ms, description) VALUES (99, 1, 'from the future')");
    }
    auto c = connect(db);
    CHECK(store::schema_version(*c).value() == 99);
    auto checked = store::ensure_current_schema(*c, kT0, "txguard db migrate --config FILE");
    REQUIRE_FALSE(checked.has_value());
    CHECK(checked.error().code == StateErrc::kForeign);
    CHECK(checked.error().detail.find("this txguard is older than the database") != std::string::npos);
    CHECK(checked.error().detail.find("db migrate") == std::string::npos);
    auto migrated = store::migrate(*c, kT0);
    REQUIRE_FALSE(migrated.has_value());
    CHECK(migrated.error().code == StateErrc::kForeign);
    auto p = start_pipeline(db);
    REQUIRE_FALSE(p.has_value());
    CHECK(p.error().find("newer than this txguard") != std::string::npos);
    auto s = store::SqlStateStore::open(db.name, db.options());
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error().code == StateErrc::kForeign);
    CHECK(integer(*c, "SELECT count(*) FROM schema_migrations") == kCurrentSchemaVersion + 1);
  }

  TEST_CASE("a database of another application is refused by start-up and migrate and left untouched") {
    test::TempDir dir{"txguard-schema"};
    const test::TestDatabase db = test::test_database(dir);
    {
      auto c = connect(db);
      REQUIRE(c->exec_script("CREATE TABLE customers(name TEXT)"));
      CHECK(store::schema_version(*c).value() == kForeignSchema);
      auto migrated = store::migrate(*c, kT0);
      REQUIRE_FALSE(migrated.has_value());
      CHECK(migrated.error().code == StateErrc::kForeign);
      CHECK(integer(*c, "SELECT count(*) FROM customers") == 0);
    }
    auto p = start_pipeline(db);
    REQUIRE_FALSE(p.has_value());
    CHECK(p.error().find("not a txguard database") != std::string::npos);
    auto checked = store::ensure_current_schema(db.name, db.options(), kT0, "txguard db migrate --config FILE");
    REQUIRE_FALSE(checked.has_value());
    CHECK(checked.error().code == StateErrc::kForeign);
  }

  TEST_CASE("a decision log of schema 1 (before the tamper-evident log) is not migrated: it is refused with why") {
    test::TempDir dir{"txguard-schema"};
    const test::TestDatabase db = test::test_database(dir);
    make_version_1(db);
    auto c = connect(db);
    exec(*c, "UPDATE log_meta SET value = '1' WHERE key = 'version'");
    auto status = store::inspect_schema(*c);
    REQUIRE(status.has_value());
    CHECK(status->version == kForeignSchema);
    CHECK(status->detail.find("tamper-evident") != std::string::npos);
    auto migrated = store::migrate(*c, kT0);
    REQUIRE_FALSE(migrated.has_value());
    CHECK(migrated.error().code == StateErrc::kForeign);
  }

  TEST_CASE("two connections migrating at once apply each step once and both end at the current version") {
    for (const bool from_version_1 : {false, true}) {
      CAPTURE(from_version_1);
      test::TempDir dir{"txguard-schema"};
      const test::TestDatabase db = test::test_database(dir);
      if (from_version_1) make_version_1(db);
      auto a = connect(db);
      auto b = connect(db);
      policy::StateResult<store::MigrationResult> ra = std::unexpected(policy::StateError{StateErrc::kIo, "not run"});
      policy::StateResult<store::MigrationResult> rb = ra;
      std::thread ta([&] { ra = store::migrate(*a, kT0); });
      std::thread tb([&] { rb = store::migrate(*b, kT0 + 1); });
      ta.join();
      tb.join();
      REQUIRE_MESSAGE(ra.has_value(), (ra ? "" : ra.error().message()));
      REQUIRE_MESSAGE(rb.has_value(), (rb ? "" : rb.error().message()));
      const std::int64_t start = from_version_1 ? 1 : 0;
      // One of them found the old version; the other, waiting on the write lock, found the work done.
      CHECK(((ra->from == start && rb->from == kCurrentSchemaVersion) ||
             (rb->from == start && ra->from == kCurrentSchemaVersion)));
      CHECK(integer(*a, "SELECT count(*) FROM schema_migrations") == kCurrentSchemaVersion);
      CHECK(store::schema_version(*b).value() == kCurrentSchemaVersion);
    }
  }

  TEST_CASE("a copy moves every row and the signed log intact, and verifies the same roots and head signer") {
    test::TempDir dir{"txguard-schema"};
    const test::TestDatabase source = test::test_database(dir, "source.db");
    const test::TestDatabase copy = test::test_database(dir, "copy.db");
    {
      auto p = start_pipeline(source);
      REQUIRE_MESSAGE(p.has_value(), (p ? "" : p.error()));
      decide_a_few(**p);
    }
    auto from = connect(source);
    auto to = connect(copy);
    auto report = store::copy_database(*from, *to, kT0);
    REQUIRE_MESSAGE(report.has_value(), (report ? "" : report.error().message()));
    CHECK(report->log_size >= 4);
    CHECK(report->head_size == report->log_size);
    CHECK(report->rows.at("log_records") == report->log_size);
    CHECK(report->rows.at("requests") >= 2);
    CHECK(report->rows.at("ledgers") >= 1);
    CHECK(report->rows.at("debits") >= 1);
    REQUIRE(report->head_signer.has_value());
    CHECK(*report->head_signer == signer_of(test::kCarolKey)->address());
    CHECK(store::schema_version(*to).value() == kCurrentSchemaVersion);
    // The copy is a database txguard starts on, and its log reads the same.
    auto reader = store::DecisionLogReader::open(copy.name, copy.options());
    REQUIRE(reader.has_value());
    CHECK((*reader)->root(report->log_size).value() == report->root);
    auto pending = (*reader)->requests(store::RequestStatus::kPending, 10);
    REQUIRE(pending.has_value());
    CHECK(pending->size() == 1);
    // A new ledger in the copy does not collide with a copied id.
    exec(*to, "INSERT INTO ledgers(limit_id, scope) VALUES ('new', 'x')");
    CHECK(integer(*to, "SELECT count(*) FROM ledgers") == static_cast<std::int64_t>(report->rows.at("ledgers")) + 1);
    auto p = start_pipeline(copy);
    CHECK_MESSAGE(p.has_value(), (p ? "" : p.error()));
  }

  TEST_CASE("a copy into a database that is not empty is refused and the destination keeps what it had") {
    test::TempDir dir{"txguard-schema"};
    const test::TestDatabase source = test::test_database(dir, "source.db");
    const test::TestDatabase other = test::test_database(dir, "other.db");
    {
      auto p = start_pipeline(source);
      REQUIRE(p.has_value());
      decide_a_few(**p);
    }
    {
      auto p = start_pipeline(other);
      REQUIRE(p.has_value());
    }
    auto from = connect(source);
    auto to = connect(other);
    const std::int64_t before = integer(*to, "SELECT count(*) FROM log_records");
    auto report = store::copy_database(*from, *to, kT0);
    REQUIRE_FALSE(report.has_value());
    CHECK(report.error().code == StateErrc::kForeign);
    CHECK(report.error().detail.find("not empty") != std::string::npos);
    CHECK(report.error().detail.find("never merges") != std::string::npos);
    CHECK(integer(*to, "SELECT count(*) FROM log_records") == before);
  }

  TEST_CASE("a copy from a source of an older schema is refused naming db migrate, and the destination stays empty") {
    test::TempDir dir{"txguard-schema"};
    const test::TestDatabase source = test::test_database(dir, "source.db");
    const test::TestDatabase copy = test::test_database(dir, "copy.db");
    make_version_1(source);
    auto from = connect(source);
    auto to = connect(copy);
    auto report = store::copy_database(*from, *to, kT0);
    REQUIRE_FALSE(report.has_value());
    CHECK(report.error().code == StateErrc::kForeign);
    CHECK(report.error().detail.find("txguard db migrate") != std::string::npos);
    CHECK(store::schema_version(*to).value() == 0);
    CHECK(store::schema_version(*from).value() == 1);
  }
}

TEST_SUITE("schema") {
  TEST_CASE("a copy whose signed head does not verify is refused and the destination is rolled back to empty") {
    for (const char* tamper : {"signature", "root"}) {
      CAPTURE(tamper);
      test::TempDir dir{"txguard-schema"};
      const test::TestDatabase source = test::test_database(dir, "source.db");
      const test::TestDatabase copy = test::test_database(dir, "copy.db");
      {
        auto p = start_pipeline(source);
        REQUIRE(p.has_value());
        decide_a_few(**p);
      }
      auto from = connect(source);
      const std::vector<std::uint8_t> junk(std::string_view(tamper) == "signature" ? 65 : 32, 0x11);
      exec(*from,
           std::string("UPDATE log_heads SET ") + tamper + " = ?1 WHERE size = (SELECT max(size) FROM log_heads)",
           {store::SqlBlob{junk}});
      auto to = connect(copy);
      auto report = store::copy_database(*from, *to, kT0);
      REQUIRE_FALSE(report.has_value());
      CHECK(report.error().detail.find("head") != std::string::npos);
      // The tables created for the copy went with the rollback: the destination is empty again.
      CHECK(store::schema_version(*to).value() == 0);
    }
  }

  TEST_CASE("a copy refuses a source with a table it does not know rather than leave it behind") {
    test::TempDir dir{"txguard-schema"};
    const test::TestDatabase source = test::test_database(dir, "source.db");
    const test::TestDatabase copy = test::test_database(dir, "copy.db");
    auto from = connect(source);
    REQUIRE(store::migrate(*from, kT0));
    REQUIRE(from->exec_script("CREATE TABLE notes(text TEXT)"));
    auto to = connect(copy);
    auto report = store::copy_database(*from, *to, kT0);
    REQUIRE_FALSE(report.has_value());
    CHECK(report.error().detail.find("notes") != std::string::npos);
    CHECK(store::schema_version(*to).value() == 0);
  }
}

// The PostgreSQL SqlConnection against a real PostgreSQL 15 (tests/support/postgres_server.hpp): the
// dialect rewriting, values round trip, error kinds, write exclusion across connections, snapshot
// isolation, and recovery from cut connections and server restarts without reopening.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "guard/store/postgres_connection.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace txguard::store;
using txguard::codec::Bytes;
using txguard::policy::StateErrc;
using txguard::test::PostgresServer;

namespace {

DatabaseOptions options_for(const PostgresServer& server) {
  DatabaseOptions options;
  options.password = server.password();
  return options;
}

std::unique_ptr<SqlConnection> open_ok(const std::string& url, const DatabaseOptions& options) {
  auto opened = open_postgres(url, options);
  REQUIRE_MESSAGE(opened.has_value(), (opened ? std::string() : opened.error().message()));
  return std::move(*opened);
}

std::unique_ptr<SqlConnection> open_ok(const std::string& url) {
  return open_ok(url, options_for(PostgresServer::shared()));
}

void require_ok(const StateResult<void>& result) {
  REQUIRE_MESSAGE(result.has_value(), (result ? std::string() : result.error().message()));
}

std::uint64_t require_ok(const StateResult<std::uint64_t>& result) {
  REQUIRE_MESSAGE(result.has_value(), (result ? std::string() : result.error().message()));
  return *result;
}

std::int64_t count_rows(SqlConnection& db, const std::string& table) {
  std::int64_t count = -1;
  require_ok(db.run("SELECT COUNT(*) FROM " + table, {}, [&](const SqlRow& row) -> StateResult<void> {
    count = row.integer(0).value_or(-2);
    return {};
  }));
  return count;
}

const std::string kSchema =
    "CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT, payload BLOB);"
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)";

}  // namespace

TEST_SUITE("postgres_connection") {

TEST_CASE("the test PostgreSQL server starts in a few seconds and takes a fresh database per test") {
  auto& server = PostgresServer::shared();
  MESSAGE("test PostgreSQL started in " << server.start_seconds() << " s on port " << server.port());
  CHECK(server.start_seconds() < 10.0);
  const std::string first = server.create_database();
  const std::string second = server.create_database();
  CHECK(first != second);
  auto a = open_ok(first);
  auto b = open_ok(second);
  require_ok(a->exec_script("CREATE TABLE only_here (id INTEGER)"));
  CHECK_FALSE(b->run("SELECT id FROM only_here", {}).has_value());
}

TEST_CASE("a PostgreSQL URL that carries a password is refused without echoing it") {
  DatabaseOptions options;
  for (const std::string url : {"postgresql://alice:s3cret-in-url@127.0.0.1:1/txguard",
                                "postgres://alice:s3cret-in-url@127.0.0.1:1/txguard?sslmode=disable",
                                "postgresql://alice@127.0.0.1:1/txguard?password=s3cret-in-url"}) {
    CAPTURE(url);
    auto opened = open_postgres(url, options);
    REQUIRE_FALSE(opened.has_value());
    CHECK(opened.error().code == StateErrc::kIo);
    const std::string message = opened.error().message();
    CHECK(message.find("database_password_file") != std::string::npos);
    CHECK(message.find("database_password_env") != std::string::npos);
    CHECK(message.find("s3cret-in-url") == std::string::npos);
    CHECK(message.find("alice") == std::string::npos);
  }
  // Nor is a URL libpq cannot parse quoted back.
  auto malformed = open_postgres("postgresql://alice:s3cret%zz@127.0.0.1/txguard", options);
  REQUIRE_FALSE(malformed.has_value());
  CHECK(malformed.error().message().find("s3cret") == std::string::npos);
  // And a non-URL (libpq's key=value form) is not a PostgreSQL database name for txguard.
  CHECK_FALSE(open_postgres("host=127.0.0.1 password=s3cret", options).has_value());
}

TEST_CASE("the wrong password is refused without the password in the message") {
  auto& server = PostgresServer::shared();
  const std::string url = server.create_database();
  DatabaseOptions options;
  options.password = "wrong-password-9f3a";
  auto opened = open_postgres(url, options);
  REQUIRE_FALSE(opened.has_value());
  CHECK((opened.error().code == StateErrc::kUnavailable || opened.error().code == StateErrc::kIo));
  const std::string message = opened.error().message();
  CHECK(message.find("wrong-password-9f3a") == std::string::npos);
  CHECK(message.find(server.password()) == std::string::npos);
  CHECK(message.find("password authentication failed") != std::string::npos);

  DatabaseOptions none;
  auto without = open_postgres(url, none);
  REQUIRE_FALSE(without.has_value());
  CHECK(without.error().code == StateErrc::kUnavailable);
}

TEST_CASE("schema scripts written once get 64-bit integers and bytea on PostgreSQL") {
  auto db = open_ok(PostgresServer::shared().create_database());
  require_ok(db->exec_script(kSchema));
  std::vector<std::string> types;
  require_ok(db->run("SELECT data_type FROM information_schema.columns WHERE table_name = ?1 ORDER BY ordinal_position",
                     {std::string_view("items")}, [&](const SqlRow& row) -> StateResult<void> {
                       types.push_back(row.text(0));
                       return {};
                     }));
  CHECK(types == std::vector<std::string>{"bigint", "text", "bytea"});
}

TEST_CASE("statements written once run on PostgreSQL: numbered parameters, 64-bit integers, text and bytes round trip") {
  auto db = open_ok(PostgresServer::shared().create_database());
  require_ok(db->exec_script(kSchema));

  Bytes all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<std::uint8_t>(b));
  const Bytes zeros{0x00, 0x00, 0x01, 0x00};
  const Bytes empty;
  struct Item {
    std::int64_t id;
    SqlParam label;
    SqlParam payload;
  };
  const std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  const std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const std::vector<Item> items{
      {kMin, std::string_view("min"), SqlBlob{all_bytes}},
      {kMax, std::string_view("it's \"quoted\" ?1 $1 — ünïcode"), SqlBlob{zeros}},
      {-1, std::string_view(""), SqlBlob{empty}},
      {0, nullptr, nullptr},
  };
  // Parameters out of order and used twice, a ?2 inside a literal that must stay a literal.
  for (const auto& item : items) {
    CHECK(require_ok(db->run("INSERT INTO items (payload, id, label) VALUES (?3, ?1, ?2)",
                             {item.id, item.label, item.payload})) == 1);
  }
  CHECK(count_rows(*db, "items") == 4);

  struct Seen {
    std::int64_t id;
    bool label_null;
    std::string label;
    bool payload_null;
    std::optional<Bytes> payload;
    std::string literal;
  };
  std::vector<Seen> seen;
  const auto rows = require_ok(db->run(
      "SELECT id, label, payload, 'a ''?2'' -- not a comment' FROM items WHERE id >= ?1 OR id = ?1 ORDER BY id",
      {kMin}, [&](const SqlRow& row) -> StateResult<void> {
        REQUIRE(row.columns() == 4);
        seen.push_back({row.integer(0).value_or(42), row.is_null(1), row.text(1), row.is_null(2), row.blob(2), row.text(3)});
        return {};
      }));
  CHECK(rows == 4);
  REQUIRE(seen.size() == 4);
  CHECK(seen[0].id == kMin);
  CHECK(seen[0].payload == all_bytes);
  CHECK(seen[1].id == -1);
  CHECK(seen[1].label.empty());
  CHECK_FALSE(seen[1].label_null);
  CHECK_FALSE(seen[1].payload_null);
  CHECK(seen[1].payload == empty);
  CHECK(seen[2].id == 0);
  CHECK(seen[2].label_null);
  CHECK(seen[2].payload_null);
  CHECK(seen[2].payload == empty);
  CHECK(seen[3].id == kMax);
  CHECK(seen[3].label == "it's \"quoted\" ?1 $1 — ünïcode");
  CHECK(seen[3].payload == zeros);
  CHECK(seen[0].literal == "a '?2' -- not a comment");

  // A parameter whose type nothing fixes is cast; integer() refuses what is not an integer.
  require_ok(db->run("SELECT CAST(?1 AS BIGINT) + 1, CAST(?2 AS TEXT), 1.5, 'x', CAST(?3 AS BLOB)",
                     {std::int64_t{41}, std::string_view("12"), SqlBlob{zeros}},
                     [&](const SqlRow& row) -> StateResult<void> {
                       CHECK(row.integer(0) == 42);
                       CHECK(row.integer(1) == 12);
                       CHECK(row.integer(2) == std::nullopt);
                       CHECK(row.integer(3) == std::nullopt);
                       CHECK(row.blob(3) == std::nullopt);  // text is not bytes
                       CHECK(row.blob(4) == zeros);
                       return {};
                     }));

  // Quotes inside comments do not open literals; numbered parameters inside comments stay there.
  require_ok(db->run("SELECT /* it's ?2 */ CAST(?1 AS BIGINT) -- don't ?3\n + 1", {std::int64_t{5}},
                     [](const SqlRow& row) -> StateResult<void> {
                       CHECK(row.integer(0) == 6);
                       return {};
                     }));
  // Type names are rewritten as whole words only, in any case, and not inside identifiers or text.
  require_ok(db->run("SELECT CAST(?1 AS integer), 'INTEGER BLOB', CAST(?2 AS Blob)",
                     {std::int64_t{kMax}, SqlBlob{zeros}}, [&](const SqlRow& row) -> StateResult<void> {
                       CHECK(row.integer(0) == kMax);
                       CHECK(row.text(1) == "INTEGER BLOB");
                       CHECK(row.blob(2) == zeros);
                       return {};
                     }));

  // Counts of changed rows; the cached statement runs again on the same connection.
  for (int i = 0; i < 3; ++i) {
    CHECK(require_ok(db->run("UPDATE items SET label = ?1 WHERE id <= ?2", {std::string_view("same"), std::int64_t{0}})) == 3);
  }
  CHECK(require_ok(db->run("DELETE FROM items WHERE id = ?1", {std::int64_t{12345}})) == 0);
  // ON CONFLICT ... DO UPDATE with RETURNING, the upsert form both dialects share.
  for (std::int64_t expected : {1, 2, 3}) {
    std::int64_t value = 0;
    require_ok(db->run("INSERT INTO counters (name, value) VALUES (?1, 1) ON CONFLICT (name) DO UPDATE SET "
                       "value = counters.value + 1 RETURNING value",
                       {std::string_view("hits")}, [&](const SqlRow& row) -> StateResult<void> {
                         value = row.integer(0).value_or(0);
                         return {};
                       }));
    CHECK(value == expected);
  }
  // An error returned by the row callback stops the statement and comes back from run().
  auto stopped = db->run("SELECT id FROM items", {}, [](const SqlRow&) -> StateResult<void> {
    return std::unexpected(StateError{StateErrc::kCorrupt, "stop here"});
  });
  REQUIRE_FALSE(stopped.has_value());
  CHECK(stopped.error().code == StateErrc::kCorrupt);
}

TEST_CASE("a statement prepared in a transaction that rolled back runs again, and a refused one is not cached") {
  auto db = open_ok(PostgresServer::shared().create_database());
  require_ok(db->exec_script(kSchema));
  // Prepared statements belong to the session, not to the transaction that first ran them.
  require_ok(db->begin_write());
  require_ok(db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{1}}));
  db->rollback();
  require_ok(db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{1}}));
  // A statement PostgreSQL refused to prepare fails the same way every time (no "does not exist").
  for (int i = 0; i < 2; ++i) {
    auto refused = db->run("SELECT missing FROM items WHERE id = ?1", {std::int64_t{1}});
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == StateErrc::kIo);
    CHECK(refused.error().message().find("\"missing\" does not exist") != std::string::npos);
  }
  // Comparisons and EXISTS are booleans on PostgreSQL; integer() reads them as 0/1 like SQLite.
  require_ok(db->run("SELECT EXISTS (SELECT 1 FROM items WHERE id = ?1), 1 = 2", {std::int64_t{1}},
                     [](const SqlRow& row) -> StateResult<void> {
                       CHECK(row.integer(0) == 1);
                       CHECK(row.integer(1) == 0);
                       return {};
                     }));
}

TEST_CASE("every PostgreSQL session commits synchronously, with the lock timeout, also after a reconnect") {
  auto& server = PostgresServer::shared();
  const std::string url = server.create_database();
  auto settings = [](SqlConnection& db) {
    std::string seen;
    require_ok(db.run("SELECT current_setting('synchronous_commit'), current_setting('lock_timeout'), "
                      "current_setting('application_name'), current_setting('default_transaction_read_only')",
                      {}, [&](const SqlRow& row) -> StateResult<void> {
                        seen = row.text(0) + " " + row.text(1) + " " + row.text(2) + " " + row.text(3);
                        return {};
                      }));
    return seen;
  };
  DatabaseOptions options = options_for(server);
  options.lock_timeout = std::chrono::milliseconds(1500);
  auto db = open_ok(url, options);
  CHECK(settings(*db) == "on 1500ms txguard off");
  server.terminate_backends(PostgresServer::database_name(url));
  require_ok(db->begin_read());  // reconnects
  CHECK(settings(*db) == "on 1500ms txguard off");
  require_ok(db->commit());

  DatabaseOptions scratch = options_for(server);
  scratch.durable = false;
  scratch.read_only = true;
  auto replay = open_ok(url, scratch);
  CHECK(settings(*replay) == "off 2s txguard on");
  // Notices and warnings (here "already exists, skipping" and "there is no transaction in progress")
  // are not printed on stderr, which is captured around the calls.
  txguard::test::TempDir dir("txguard-pg-stderr");
  const std::string captured = dir.file("stderr");
  std::fflush(stderr);
  const int saved = ::dup(2);
  const int sink = ::open(captured.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE((saved >= 0 && sink >= 0));
  ::dup2(sink, 2);
  auto created = db->exec_script("CREATE TABLE IF NOT EXISTS t (id INTEGER); CREATE TABLE IF NOT EXISTS t (id INTEGER)");
  auto warned = db->exec_script("ROLLBACK");
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(sink);
  require_ok(created);
  require_ok(warned);
  std::ifstream in(captured);
  const std::string printed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(printed.empty());
}

TEST_CASE("a unique violation is kDuplicate and a savepoint rollback keeps the transaction usable") {
  auto db = open_ok(PostgresServer::shared().create_database());
  require_ok(db->exec_script(kSchema));
  require_ok(db->begin_write());
  require_ok(db->run("INSERT INTO items (id, label) VALUES (?1, ?2)", {std::int64_t{1}, std::string_view("one")}));
  require_ok(db->savepoint("attempt"));
  auto duplicate = db->run("INSERT INTO items (id, label) VALUES (?1, ?2)", {std::int64_t{1}, std::string_view("again")});
  REQUIRE_FALSE(duplicate.has_value());
  CHECK(duplicate.error().code == StateErrc::kDuplicate);
  require_ok(db->rollback_to_savepoint("attempt"));
  require_ok(db->run("INSERT INTO items (id, label) VALUES (?1, ?2)", {std::int64_t{2}, std::string_view("two")}));
  require_ok(db->commit());
  CHECK(count_rows(*db, "items") == 2);

  // Without the savepoint the failed statement poisons the transaction: COMMIT writes nothing and
  // says so.
  require_ok(db->begin_write());
  require_ok(db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{3}}));
  CHECK_FALSE(db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{1}}).has_value());
  auto committed = db->commit();
  REQUIRE_FALSE(committed.has_value());
  CHECK(committed.error().code == StateErrc::kIo);
  CHECK(count_rows(*db, "items") == 2);
  // A statement PostgreSQL refuses is kIo with the server's reason.
  auto bad = db->run("SELECT no_such_column FROM items", {});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == StateErrc::kIo);
  CHECK(bad.error().message().find("no_such_column") != std::string::npos);
}

TEST_CASE("two PostgreSQL writers exclude each other: the second waits, then fails kUnavailable after the lock timeout") {
  auto& server = PostgresServer::shared();
  const std::string url = server.create_database();
  DatabaseOptions options = options_for(server);
  options.lock_timeout = std::chrono::milliseconds(200);
  auto first = open_ok(url, options);
  auto second = open_ok(url, options);
  require_ok(first->exec_script(kSchema));

  require_ok(first->begin_write());
  const auto before = std::chrono::steady_clock::now();
  auto blocked = second->begin_write();
  const auto waited = std::chrono::steady_clock::now() - before;
  REQUIRE_FALSE(blocked.has_value());
  CHECK(blocked.error().code == StateErrc::kUnavailable);
  CHECK(waited >= std::chrono::milliseconds(150));
  CHECK(waited < std::chrono::milliseconds(3000));
  // The failed begin left no transaction behind on the second connection.
  require_ok(second->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{7}}));

  // A writer that waits within its timeout gets the lock when the first commits, and then reads
  // what the first wrote (check-then-write across connections).
  DatabaseOptions patient = options_for(server);
  patient.lock_timeout = std::chrono::milliseconds(5000);
  auto third = open_ok(url, patient);
  require_ok(first->run("INSERT INTO counters (name, value) VALUES ('n', 1)", {}));
  std::int64_t seen = -1;
  std::chrono::steady_clock::duration third_waited{};
  std::thread waiter([&] {
    const auto start = std::chrono::steady_clock::now();
    auto began = third->begin_write();
    third_waited = std::chrono::steady_clock::now() - start;
    if (!began) return;
    (void)third->run("SELECT value FROM counters WHERE name = 'n'", {}, [&](const SqlRow& row) -> StateResult<void> {
      seen = row.integer(0).value_or(-2);
      return {};
    });
    third->rollback();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  require_ok(first->commit());
  waiter.join();
  CHECK(third_waited >= std::chrono::milliseconds(250));
  CHECK(seen == 1);
}

TEST_CASE("eight PostgreSQL connections racing check-then-write under begin_write lose no update") {
  auto& server = PostgresServer::shared();
  const std::string url = server.create_database();
  DatabaseOptions options = options_for(server);
  options.lock_timeout = std::chrono::milliseconds(10000);
  require_ok(open_ok(url, options)->exec_script(kSchema + "; INSERT INTO counters (name, value) VALUES ('n', 0)"));
  constexpr int kWriters = 8;
  constexpr int kRounds = 25;
  std::vector<std::unique_ptr<SqlConnection>> connections;
  for (int i = 0; i < kWriters; ++i) connections.push_back(open_ok(url, options));
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int i = 0; i < kWriters; ++i) {
    writers.emplace_back([&, i] {
      SqlConnection& db = *connections[static_cast<std::size_t>(i)];
      for (int round = 0; round < kRounds; ++round) {
        // Read in one statement, write in another: only the write lock makes the pair atomic.
        if (!db.begin_write()) {
          ++failures;
          continue;
        }
        std::int64_t value = -1;
        auto read = db.run("SELECT value FROM counters WHERE name = 'n'", {}, [&](const SqlRow& row) -> StateResult<void> {
          value = row.integer(0).value_or(-1);
          return {};
        });
        auto written = db.run("UPDATE counters SET value = ?1 WHERE name = 'n'", {value + 1});
        if (!read || !written || !db.commit()) {
          db.rollback();
          ++failures;
        }
      }
    });
  }
  for (auto& writer : writers) writer.join();
  CHECK(failures.load() == 0);
  std::int64_t total = -1;
  require_ok(connections[0]->run("SELECT value FROM counters WHERE name = 'n'", {}, [&](const SqlRow& row) -> StateResult<void> {
    total = row.integer(0).value_or(-1);
    return {};
  }));
  CHECK(total == kWriters * kRounds);
}

TEST_CASE("a write transaction on one connection is invisible to another until commit") {
  auto& server = PostgresServer::shared();
  const std::string url = server.create_database();
  auto writer = open_ok(url);
  auto reader = open_ok(url);
  require_ok(writer->exec_script(kSchema));

  require_ok(writer->begin_write());
  require_ok(writer->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{1}}));
  require_ok(reader->begin_read());
  CHECK(count_rows(*reader, "items") == 0);
  require_ok(writer->commit());
  // One snapshot for the whole read transaction.
  CHECK(count_rows(*reader, "items") == 0);
  require_ok(reader->commit());
  CHECK(count_rows(*reader, "items") == 1);

  // A rolled-back write leaves nothing.
  require_ok(writer->begin_write());
  require_ok(writer->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{2}}));
  writer->rollback();
  writer->rollback();  // harmless twice
  CHECK(count_rows(*reader, "items") == 1);
}

TEST_CASE("a read-only connection refuses writes") {
  auto& server = PostgresServer::shared();
  const std::string url = server.create_database();
  require_ok(open_ok(url)->exec_script(kSchema));
  DatabaseOptions options = options_for(server);
  options.read_only = true;
  auto db = open_ok(url, options);
  auto insert = db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{1}});
  REQUIRE_FALSE(insert.has_value());
  CHECK(insert.error().code == StateErrc::kIo);
  auto write = db->begin_write();
  REQUIRE_FALSE(write.has_value());
  CHECK(write.error().code == StateErrc::kIo);
  require_ok(db->begin_read());
  CHECK(count_rows(*db, "items") == 0);
  require_ok(db->commit());
}

TEST_CASE("a connection cut by pg_terminate_backend fails kUnavailable, and the next transaction reconnects by itself") {
  auto& server = PostgresServer::shared();
  const std::string url = server.create_database();
  const std::string name = PostgresServer::database_name(url);
  auto db = open_ok(url);
  require_ok(db->exec_script(kSchema));

  // Cut inside a write transaction: the transaction (and its lock) is gone; nothing reconnects
  // behind the caller's back until it rolls back.
  require_ok(db->begin_write());
  require_ok(db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{1}}));
  server.terminate_backends(name);
  auto lost = db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{2}});
  REQUIRE_FALSE(lost.has_value());
  CHECK(lost.error().code == StateErrc::kUnavailable);
  auto still_lost = db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{3}});
  REQUIRE_FALSE(still_lost.has_value());
  CHECK(still_lost.error().code == StateErrc::kUnavailable);
  auto commit = db->commit();
  REQUIRE_FALSE(commit.has_value());
  CHECK(commit.error().code == StateErrc::kUnavailable);
  db->rollback();
  require_ok(db->begin_write());
  require_ok(db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{4}}));
  require_ok(db->commit());
  CHECK(count_rows(*db, "items") == 1);

  // Cut while idle: the next transaction begins on a new connection at once.
  server.terminate_backends(name);
  require_ok(db->begin_write());
  require_ok(db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{5}}));
  require_ok(db->commit());
  CHECK(count_rows(*db, "items") == 2);

  // Cut while idle, then a statement outside a transaction: it may or may not have reached the
  // server, so it fails, and the one after it reconnects.
  server.terminate_backends(name);
  auto autocommit = db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{6}});
  REQUIRE_FALSE(autocommit.has_value());
  CHECK(autocommit.error().code == StateErrc::kUnavailable);
  require_ok(db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{7}}));
  CHECK(count_rows(*db, "items") == 3);
}

TEST_CASE("a server restart fails the connection closed, and it serves again without a restart of txguard") {
  // A server of its own: stopping the shared one would fail the tests running beside this one.
  auto own = PostgresServer::own();
  PostgresServer& server = *own;
  const std::string url = server.create_database();
  auto db = open_ok(url, options_for(server));
  require_ok(db->exec_script(kSchema));
  require_ok(db->begin_write());
  require_ok(db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{1}}));
  require_ok(db->commit());

  // Restart in the middle of a transaction: its statements and commit fail kUnavailable, the
  // uncommitted row is gone, the committed one is kept.
  require_ok(db->begin_write());
  require_ok(db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{2}}));
  server.restart();
  auto during = db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{3}});
  REQUIRE_FALSE(during.has_value());
  CHECK(during.error().code == StateErrc::kUnavailable);
  CHECK_FALSE(db->commit().has_value());
  db->rollback();
  require_ok(db->begin_write());
  CHECK(count_rows(*db, "items") == 1);
  require_ok(db->commit());

  // While the server is down every transaction fails kUnavailable; when it is back the same
  // connection object serves again, with its statements prepared anew.
  server.stop();
  for (int i = 0; i < 2; ++i) {
    auto down = db->begin_write();
    REQUIRE_FALSE(down.has_value());
    CHECK(down.error().code == StateErrc::kUnavailable);
    auto read = db->begin_read();
    REQUIRE_FALSE(read.has_value());
    CHECK(read.error().code == StateErrc::kUnavailable);
  }
  server.start();
  require_ok(db->begin_write());
  require_ok(db->run("INSERT INTO items (id) VALUES (?1)", {std::int64_t{4}}));
  require_ok(db->commit());
  CHECK(count_rows(*db, "items") == 2);
}

}  // TEST_SUITE

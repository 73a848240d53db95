// The database a guard test runs on. By default a SQLite file in the test's own directory; when the
// suite runs with TXGUARD_TEST_BACKEND=postgresql (the guard-pg/ copies of the guard tests, see
// tests/CMakeLists.txt) a fresh database on the test PostgreSQL server. Tests written against
// test_database() pass on both backends; a test about SQLite files (a damaged header, a foreign
// application id) names its file directly and runs on SQLite in both copies.
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>

#include "guard/store/sql.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace txguard::test {

/// True when this run's guard tests are on PostgreSQL: under ctest's guard-pg/ tests
/// (TXGUARD_TEST_POSTGRES names the shared server), or by hand with TXGUARD_TEST_BACKEND=postgresql
/// (the test process then starts a server of its own).
inline bool postgres_backend() {
  const char* shared = std::getenv("TXGUARD_TEST_POSTGRES");
  const char* backend = std::getenv("TXGUARD_TEST_BACKEND");
  return (shared != nullptr && *shared != '\0') || (backend != nullptr && std::string_view(backend) == "postgresql");
}

/// One test's database; a PostgreSQL database is dropped when it goes (declare it before whatever
/// holds connections to it, so that those close first).
struct TestDatabase {
  std::string name;      // a SQLite file path or a postgresql:// URL
  std::string password;  // PostgreSQL only
  bool on_shared_server = true;  // false: a database of a server of the test's own (nothing to drop)

  TestDatabase(std::string database, std::string secret, bool shared = true)
      : name(std::move(database)), password(std::move(secret)), on_shared_server(shared) {}
  TestDatabase(TestDatabase&& other) noexcept
      : name(std::move(other.name)), password(std::move(other.password)), on_shared_server(other.on_shared_server) {
    other.name.clear();
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  TestDatabase& operator=(TestDatabase&&) = delete;
  ~TestDatabase() {
    if (on_shared_server && store::is_postgres_url(name)) PostgresServer::shared().drop_database(name);
  }

  /// `base` with this database's password.
  store::DatabaseOptions options(store::DatabaseOptions base = {}) const {
    base.password = password;
    return base;
  }
};

/// A new, empty database for one test: `file` in `dir` on SQLite, a new database on PostgreSQL.
inline TestDatabase test_database(const TempDir& dir, const char* file = "txguard.db") {
  if (!postgres_backend()) return TestDatabase{dir.file(file), ""};
  PostgresServer& server = PostgresServer::shared();
  return TestDatabase{server.create_database(), server.password()};
}

}  // namespace txguard::test

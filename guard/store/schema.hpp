// One versioned schema for the whole database (velocity state, decision log, bridge state), on
// SQLite and PostgreSQL alike.
//
// The schema is an ordered list of steps; step N turns a database at version N-1 into version N. The
// versions applied are recorded in schema_migrations(version, applied_ms, description), created by
// step 2. Version 1 is the layout txguard wrote before this table existed (state tables with their
// identity: SQLite user_version 1 and application_id "TXGS", or the table state_meta on PostgreSQL;
// the decision log with log_meta version '2'; the bridge tables): such a database is recognised as
// version 1 and migrated. Every step also stamps the state identity with its version (SQLite
// user_version, state_meta on PostgreSQL), so a txguard from before schema_migrations refuses a
// database migrated past it ("state database schema 2 is newer than this txguard").
//
// Who creates and who migrates:
//   - an EMPTY database is created at kCurrentSchemaVersion by whatever opens it first (the stores,
//     Pipeline::start, txguard serve), so the embedded default needs no extra step;
//   - a database at an older version is migrated only by migrate() (txguard db migrate): start-up
//     refuses it, naming the command, because a migration must be run once, by an operator who has
//     stopped the replicas and taken a backup;
//   - a database at a newer version, or one that is not txguard's, is refused by everything here.
//
// Concurrency: migrate() and ensure_current_schema() run under begin_write(), which excludes every
// other writer of the database (every replica), and read the version again under that lock, so two
// processes migrating at once apply each step once; the second finds the work done.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "guard/store/sql.hpp"
#include "policy/codec/address.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/state_view.hpp"

namespace txguard::store {

/// The schema version this txguard reads and writes.
inline constexpr std::int64_t kCurrentSchemaVersion = 2;
/// schema_version()'s answer for a database that is not txguard's (tables of another application, a
/// decision log of schema 1, an inconsistent identity).
inline constexpr std::int64_t kForeignSchema = -1;

/// One step of the schema's history.
struct SchemaStep {
  std::int64_t version;
  std::string_view description;
};
/// Every step, by version (steps()[i].version == i + 1).
std::span<const SchemaStep> schema_steps() noexcept;

/// What a database holds: its version (0 empty, 1..N, or kForeignSchema) and, when foreign, why.
struct SchemaStatus {
  std::int64_t version = 0;
  std::string detail;
};
/// Reads the database's schema version without changing anything (inside or outside a transaction).
StateResult<SchemaStatus> inspect_schema(SqlConnection& c);
/// inspect_schema()'s version: 0 for an empty database, N, or kForeignSchema.
StateResult<std::int64_t> schema_version(SqlConnection& c);

struct MigrationResult {
  std::int64_t from = 0;  // the version found (0: the database was empty)
  std::int64_t to = 0;    // kCurrentSchemaVersion
};
/// Brings the database to kCurrentSchemaVersion in one write transaction (idempotent: a current
/// database is left as it is). kForeign for a newer or a foreign database, which is left untouched.
StateResult<MigrationResult> migrate(SqlConnection& c, policy::TimeMs now_ms);
/// The same inside a write transaction the caller holds (begin_write); the caller commits.
StateResult<MigrationResult> migrate_in_transaction(SqlConnection& c, policy::TimeMs now_ms);

/// Start-up's check: creates an empty database at the current version; accepts a current one;
/// refuses (kForeign) an older one with a message ending "run: <migrate_command>", a newer one
/// ("this txguard is older than the database"), and a foreign one.
StateResult<void> ensure_current_schema(SqlConnection& c, policy::TimeMs now_ms, std::string_view migrate_command);
/// The same on a connection of its own to `database`.
StateResult<void> ensure_current_schema(const std::string& database, const DatabaseOptions& options,
                                        policy::TimeMs now_ms, std::string_view migrate_command);

/// Step 1 alone: the layout txguard wrote before schema_migrations existed, exactly (an old database
/// for tests; the first step of a migration from empty). Inside a write transaction.
StateResult<void> install_version_1(SqlConnection& c);

/// What `txguard db copy` did: rows per table (equal on both sides), the log's size and roots, the
/// last signed head.
struct CopyReport {
  std::map<std::string, std::uint64_t> rows;  // table -> rows copied
  std::uint64_t log_size = 0;
  codec::Hash32 root{};            // Merkle root at log_size
  std::uint64_t head_size = 0;     // the last signed tree head's size (0: no head)
  codec::Hash32 head_root{};
  std::optional<codec::Address> head_signer;
};
/// Copies every table of `from` (current version, read in one snapshot) into `to`, which must be
/// empty: `to` is created at the current version and filled in ONE write transaction, then checked
/// (rows per table, log size, Merkle roots at the full size and at the last head's size, the last
/// head's signature recovering its signer) before it commits. Any failure rolls `to` back and names
/// the problem: kForeign for a source that is not current or a destination that is not empty.
StateResult<CopyReport> copy_database(SqlConnection& from, SqlConnection& to, policy::TimeMs now_ms);

}  // namespace txguard::store

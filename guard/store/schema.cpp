// The versioned schema and the database copy (contracts in schema.hpp).
#include "guard/store/schema.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "guard/store/decision_log.hpp"
#include "guard/store/sqlite_connection.hpp"
#include "policy/approval.hpp"

namespace txguard::store {

using policy::StateErrc;
using policy::TimeMs;

namespace {

// --- version 1: the layout as txguard wrote it before schema_migrations (frozen: never edit) ------

// The velocity state (sql_state_store.cpp wrote it with PRAGMA user_version 1 and application_id
// "TXGS" on SQLite, and the table state_meta(name, value) holding ('schema', 1) on PostgreSQL).
constexpr const char* kStateV1 = R"sql(
CREATE TABLE ledgers(
  id INTEGER PRIMARY KEY,
  limit_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  UNIQUE(limit_id, scope));
CREATE TABLE debits(
  ledger INTEGER NOT NULL REFERENCES ledgers(id),
  at_ms INTEGER NOT NULL,
  amount BLOB NOT NULL);
CREATE INDEX debits_by_ledger_time ON debits(ledger, at_ms, amount);
CREATE TABLE debit_minutes(
  ledger INTEGER NOT NULL REFERENCES ledgers(id),
  minute INTEGER NOT NULL,
  total BLOB NOT NULL,
  PRIMARY KEY(ledger, minute)) WITHOUT ROWID;
CREATE TABLE buckets(
  ledger INTEGER PRIMARY KEY REFERENCES ledgers(id),
  milli_tokens BLOB NOT NULL,
  updated_ms INTEGER NOT NULL,
  capacity BLOB NOT NULL,
  refill_per_second BLOB NOT NULL);
CREATE TABLE reservations(
  id TEXT PRIMARY KEY,
  ledger INTEGER NOT NULL REFERENCES ledgers(id),
  kind INTEGER NOT NULL,
  amount BLOB NOT NULL,
  at_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL);
CREATE INDEX reservations_by_ledger_time ON reservations(ledger, at_ms);
CREATE INDEX reservations_by_expiry ON reservations(expires_ms);
)sql";

// The decision log (decision_log.cpp, log_meta version '2').
constexpr const char* kLogV1 = R"sql(
CREATE TABLE IF NOT EXISTS log_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_records(
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  body TEXT NOT NULL,
  leaf BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS log_nodes(
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY(level, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_heads(
  size INTEGER PRIMARY KEY,
  root BLOB NOT NULL,
  at_ms INTEGER NOT NULL,
  signature BLOB NOT NULL,
  signer BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS documents(
  hash BLOB PRIMARY KEY,
  kind TEXT NOT NULL,
  body BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS requests(
  decision_id TEXT PRIMARY KEY,
  request_key BLOB NOT NULL,
  kind TEXT NOT NULL,
  requester TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  status TEXT NOT NULL,
  decision TEXT NOT NULL,
  holds TEXT NOT NULL,
  approvals TEXT NOT NULL,
  signature BLOB,
  payload TEXT NOT NULL,
  chain TEXT,
  account TEXT,
  nonce TEXT,
  expires_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS requests_by_key ON requests(request_key, at_ms);
CREATE INDEX IF NOT EXISTS requests_by_status ON requests(status, expires_ms);
CREATE UNIQUE INDEX IF NOT EXISTS requests_live_claim ON requests(chain, account, nonce)
  WHERE nonce IS NOT NULL AND status IN ('allowed', 'pending', 'approved');
)sql";

// The bridge state (bridge_state.cpp).
constexpr const char* kBridgeV1 = R"sql(
CREATE TABLE IF NOT EXISTS bridge_releases(
  release_key TEXT PRIMARY KEY,
  route TEXT NOT NULL,
  digest BLOB NOT NULL,
  decision_id TEXT NOT NULL,
  source_chain TEXT NOT NULL,
  token TEXT NOT NULL,
  amount TEXT NOT NULL,
  at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS bridge_releases_by_decision ON bridge_releases(decision_id);
CREATE TABLE IF NOT EXISTS bridge_deposits(
  release_key TEXT PRIMARY KEY,
  source_chain TEXT NOT NULL,
  token TEXT NOT NULL,
  amount TEXT NOT NULL,
  at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bridge_supply(
  source_chain TEXT NOT NULL,
  token TEXT NOT NULL,
  deposited TEXT NOT NULL,
  released TEXT NOT NULL,
  PRIMARY KEY(source_chain, token));
CREATE TABLE IF NOT EXISTS bridge_pauses(
  scope TEXT PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  by TEXT NOT NULL,
  reason TEXT NOT NULL);
)sql";

// --- version 2 ---------------------------------------------------------------------------------

// "version INTEGER NOT NULL PRIMARY KEY": a plain key on both backends (portable_schema turns only
// "INTEGER PRIMARY KEY" into an identity column).
constexpr const char* kMigrationsV2 = R"sql(
CREATE TABLE schema_migrations(
  version INTEGER NOT NULL PRIMARY KEY,
  applied_ms INTEGER NOT NULL,
  description TEXT NOT NULL);
)sql";

constexpr std::array<SchemaStep, 2> kSteps{{
    {1, "the velocity state, the decision log (log_meta 2) and the bridge tables"},
    {2, "schema_migrations: one version for the whole database"},
}};
static_assert(kSteps.size() == kCurrentSchemaVersion);

std::unexpected<StateError> fail(StateErrc code, std::string detail) {
  return std::unexpected(StateError{code, std::move(detail)});
}

StateResult<std::int64_t> single_integer(SqlConnection& c, std::string_view sql,
                                         std::initializer_list<SqlParam> params = {}) {
  std::int64_t value = 0;
  auto ran = c.run(sql, params, [&](const SqlRow& row) -> StateResult<void> {
    value = row.integer(0).value_or(0);
    return {};
  });
  if (!ran) return std::unexpected(ran.error());
  return value;
}

StateResult<std::optional<std::string>> single_text(SqlConnection& c, std::string_view sql) {
  std::optional<std::string> value;
  auto ran = c.run(sql, {}, [&](const SqlRow& row) -> StateResult<void> {
    value = row.text(0);
    return {};
  });
  if (!ran) return std::unexpected(ran.error());
  return value;
}

StateResult<bool> table_exists(SqlConnection& c, std::string_view table) {
  auto n = c.backend() == SqlBackend::kSqlite
               ? single_integer(c, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", {table})
               : single_integer(c,
                                "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
                                "AND tablename = CAST(?1 AS TEXT)",
                                {table});
  if (!n) return std::unexpected(n.error());
  return *n > 0;
}

// Every table of the database (the current schema on PostgreSQL), by name.
StateResult<std::vector<std::string>> table_names(SqlConnection& c) {
  std::vector<std::string> names;
  auto ran = c.run(c.backend() == SqlBackend::kSqlite
                       ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                       : "SELECT CAST(tablename AS TEXT) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
                         "ORDER BY tablename",
                   {}, [&](const SqlRow& row) -> StateResult<void> {
                     names.push_back(row.text(0));
                     return {};
                   });
  if (!ran) return std::unexpected(ran.error());
  return names;
}

// The state identity's version: SQLite user_version, PostgreSQL state_meta ('schema'); 0 when absent.
StateResult<std::int64_t> state_stamp(SqlConnection& c) {
  if (c.backend() == SqlBackend::kSqlite) return single_integer(c, "PRAGMA user_version");
  auto exists = table_exists(c, "state_meta");
  if (!exists) return std::unexpected(exists.error());
  if (!*exists) return 0;
  return single_integer(c, "SELECT value FROM state_meta WHERE name = 'schema'");
}

StateResult<void> set_state_stamp(SqlConnection& c, std::int64_t version) {
  if (c.backend() == SqlBackend::kSqlite) return c.exec_script("PRAGMA user_version=" + std::to_string(version));
  auto ran = c.run("UPDATE state_meta SET value = ?1 WHERE name = 'schema'", {version});
  if (!ran) return std::unexpected(ran.error());
  return {};
}

StateResult<void> apply_step_2(SqlConnection& c) {
  if (auto ok = c.exec_script(portable_schema(c.backend(), kMigrationsV2)); !ok) return ok;
  return set_state_stamp(c, 2);
}

StateResult<void> record_step(SqlConnection& c, const SchemaStep& step, TimeMs now_ms, bool found) {
  std::string description(step.description);
  if (found) description += " (found: written by an earlier txguard)";
  auto ran = c.run(
      "INSERT INTO schema_migrations(version, applied_ms, description) VALUES(?1, ?2, ?3) ON CONFLICT(version) DO "
      "NOTHING",
      {step.version, now_ms, std::string_view(description)});
  if (!ran) return std::unexpected(ran.error());
  return {};
}

}  // namespace

std::span<const SchemaStep> schema_steps() noexcept { return kSteps; }

StateResult<SchemaStatus> inspect_schema(SqlConnection& c) {
  auto stamp = state_stamp(c);
  if (!stamp) return std::unexpected(stamp.error());
  auto tables = table_names(c);
  if (!tables) return std::unexpected(tables.error());
  const auto has = [&](std::string_view name) {
    return std::find(tables->begin(), tables->end(), name) != tables->end();
  };
  if (has("schema_migrations")) {
    auto newest = single_integer(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!newest) return std::unexpected(newest.error());
    // The state stamp follows the version; a database stamped past schema_migrations is newer too.
    return SchemaStatus{std::max(*newest, *stamp), ""};
  }
  if (*stamp > kCurrentSchemaVersion) return SchemaStatus{*stamp, ""};
  if (*stamp > 1) {
    return SchemaStatus{kForeignSchema, "state schema " + std::to_string(*stamp) +
                                            " without the table schema_migrations: not a database txguard wrote"};
  }
  if (*stamp == 1 || has("log_meta")) {
    if (*stamp == 0 && has("ledgers")) {
      return SchemaStatus{kForeignSchema, "a table named ledgers without the state identity: not a txguard database"};
    }
    if (has("log_meta")) {
      auto log_version = single_text(c, "SELECT value FROM log_meta WHERE key = 'version'");
      if (!log_version) return std::unexpected(log_version.error());
      if (*log_version == "1") {
        return SchemaStatus{kForeignSchema,
                            "decision log schema 1 was written by a txguard before the tamper-evident log (schema "
                            "2): its records have no Merkle leaves; keep that database as an archive and start on a "
                            "new one"};
      }
      if (*log_version && **log_version != "2") {
        return SchemaStatus{kForeignSchema, "decision log schema " + **log_version + " is not one txguard wrote"};
      }
    }
    return SchemaStatus{1, ""};
  }
  if (tables->empty()) return SchemaStatus{0, ""};
  return SchemaStatus{kForeignSchema, "not a txguard database: it has tables of another application (" +
                                          tables->front() + (tables->size() > 1 ? ", ..." : "") + ")"};
}

StateResult<std::int64_t> schema_version(SqlConnection& c) {
  auto status = inspect_schema(c);
  if (!status) return std::unexpected(status.error());
  return status->version;
}

StateResult<void> install_version_1(SqlConnection& c) {
  auto stamp = state_stamp(c);
  if (!stamp) return std::unexpected(stamp.error());
  if (*stamp == 0) {
    if (auto ok = c.exec_script(portable_schema(c.backend(), kStateV1)); !ok) return ok;
    if (c.backend() == SqlBackend::kSqlite) {
      if (auto ok = c.exec_script("PRAGMA application_id=" + std::to_string(kSqliteApplicationId) +
                                  "; PRAGMA user_version=1");
          !ok) {
        return ok;
      }
    } else {
      if (auto ok = c.exec_script("CREATE TABLE state_meta(name TEXT PRIMARY KEY, value BIGINT NOT NULL)"); !ok) {
        return ok;
      }
      auto stamped = c.run("INSERT INTO state_meta(name, value) VALUES ('schema', 1)", {});
      if (!stamped) return std::unexpected(stamped.error());
    }
  }
  if (auto ok = c.exec_script(portable_schema(c.backend(), kLogV1)); !ok) return ok;
  auto versioned = c.run("INSERT INTO log_meta(key, value) VALUES('version', '2') ON CONFLICT(key) DO NOTHING", {});
  if (!versioned) return std::unexpected(versioned.error());
  return c.exec_script(portable_schema(c.backend(), kBridgeV1));
}

StateResult<MigrationResult> migrate_in_transaction(SqlConnection& c, TimeMs now_ms) {
  auto status = inspect_schema(c);
  if (!status) return std::unexpected(status.error());
  const std::int64_t from = status->version;
  if (from == kForeignSchema) return fail(StateErrc::kForeign, status->detail);
  if (from > kCurrentSchemaVersion) {
    return fail(StateErrc::kForeign, "database schema version " + std::to_string(from) + " is newer than this txguard's (" +
                                         std::to_string(kCurrentSchemaVersion) +
                                         "): this txguard is older than the database; use the txguard that wrote it "
                                         "or a newer one");
  }
  // Step 1 runs again on a version-1 database: it only completes what is missing (an earlier txguard
  // may have created the state tables alone).
  for (std::int64_t v = std::max<std::int64_t>(from, 1); v <= kCurrentSchemaVersion; ++v) {
    if (v == from && v != 1) continue;
    StateResult<void> applied = v == 1 ? install_version_1(c) : apply_step_2(c);
    if (!applied) {
      return fail(applied.error().code, "schema step " + std::to_string(v) + ": " + applied.error().detail);
    }
  }
  if (from < kCurrentSchemaVersion) {
    // schema_migrations exists from step 2 on: record every step, those found as well.
    for (const SchemaStep& step : kSteps) {
      if (step.version <= from && from >= 2) continue;
      if (auto ok = record_step(c, step, now_ms, step.version <= from); !ok) return std::unexpected(ok.error());
    }
  }
  return MigrationResult{from, kCurrentSchemaVersion};
}

StateResult<MigrationResult> migrate(SqlConnection& c, TimeMs now_ms) {
  if (auto locked = c.begin_write(); !locked) return std::unexpected(locked.error());
  auto migrated = migrate_in_transaction(c, now_ms);
  if (!migrated) {
    c.rollback();
    return migrated;
  }
  if (auto committed = c.commit(); !committed) return std::unexpected(committed.error());
  return migrated;
}

StateResult<void> ensure_current_schema(SqlConnection& c, TimeMs now_ms, std::string_view migrate_command) {
  auto status = inspect_schema(c);
  if (!status) return std::unexpected(status.error());
  if (status->version == 0) {
    // Empty: create it at the current version (another replica may be doing the same: migrate reads
    // the version again under the write lock).
    auto created = migrate(c, now_ms);
    if (!created) return std::unexpected(created.error());
    return {};
  }
  const std::int64_t v = status->version;
  if (v == kCurrentSchemaVersion) return {};
  if (v == kForeignSchema) return fail(StateErrc::kForeign, status->detail);
  if (v < kCurrentSchemaVersion) {
    return fail(StateErrc::kForeign, "database schema version " + std::to_string(v) + " is older than this txguard's (" +
                                         std::to_string(kCurrentSchemaVersion) +
                                         "): stop every replica, back up the database, then run: " +
                                         std::string(migrate_command));
  }
  return fail(StateErrc::kForeign, "database schema version " + std::to_string(v) + " is newer than this txguard's (" +
                                       std::to_string(kCurrentSchemaVersion) +
                                       "): this txguard is older than the database; run the txguard version that "
                                       "migrated it, or a newer one");
}

StateResult<void> ensure_current_schema(const std::string& database, const DatabaseOptions& options, TimeMs now_ms,
                                        std::string_view migrate_command) {
  auto connection = open_database(database, options);
  if (!connection) return std::unexpected(connection.error());
  return ensure_current_schema(**connection, now_ms, migrate_command);
}

// --- copy ------------------------------------------------------------------------------------------

namespace {

// One table of the current schema: its columns with their types (i integer, t text, b bytes; upper
// case: may be NULL) and an order that makes the copy deterministic.
struct TableSpec {
  std::string_view name;
  std::string_view columns;
  std::string_view types;
  std::string_view order_by;
};

// Parents before children (debits and the others reference ledgers).
constexpr std::array<TableSpec, 15> kTables{{
    {"ledgers", "id, limit_id, scope", "itt", "id"},
    {"debits", "ledger, at_ms, amount", "iib", "ledger, at_ms, amount"},
    {"debit_minutes", "ledger, minute, total", "iib", "ledger, minute"},
    {"buckets", "ledger, milli_tokens, updated_ms, capacity, refill_per_second", "ibibb", "ledger"},
    {"reservations", "id, ledger, kind, amount, at_ms, expires_ms", "tiibii", "id"},
    {"log_meta", "key, value", "tt", "key"},
    {"log_records", "seq, id, kind, at_ms, body, leaf", "ittitb", "seq"},
    {"log_nodes", "level, idx, hash", "iib", "level, idx"},
    {"log_heads", "size, root, at_ms, signature, signer", "ibibb", "size"},
    {"documents", "hash, kind, body", "btb", "hash"},
    {"requests",
     "decision_id, request_key, kind, requester, at_ms, status, decision, holds, approvals, signature, payload, "
     "chain, account, nonce, expires_ms",
     "tbttittttBtTTTi", "decision_id"},
    {"bridge_releases", "release_key, route, digest, decision_id, source_chain, token, amount, at_ms", "ttbtttti",
     "release_key"},
    {"bridge_deposits", "release_key, source_chain, token, amount, at_ms", "tttti", "release_key"},
    {"bridge_supply", "source_chain, token, deposited, released", "tttt", "source_chain, token"},
    {"bridge_pauses", "scope, at_ms, by, reason", "titt", "scope"},
}};

constexpr bool columns_match_types() {
  for (const TableSpec& t : kTables) {
    std::size_t columns = 1;
    for (char ch : t.columns) columns += ch == ',' ? 1 : 0;
    if (columns != t.types.size()) return false;
  }
  return true;
}
static_assert(columns_match_types(), "every copied column has one type letter");

StateResult<std::uint64_t> count_rows(SqlConnection& c, std::string_view table) {
  auto n = single_integer(c, "SELECT count(*) FROM " + std::string(table));
  if (!n) return fail(n.error().code, "count " + std::string(table) + ": " + n.error().detail);
  return static_cast<std::uint64_t>(*n);
}

StateResult<std::uint64_t> copy_table(SqlConnection& from, SqlConnection& to, const TableSpec& t) {
  std::string insert = "INSERT INTO " + std::string(t.name) + "(" + std::string(t.columns) + ") VALUES(";
  for (std::size_t i = 0; i < t.types.size(); ++i) insert += (i == 0 ? "?" : ", ?") + std::to_string(i + 1);
  insert += ")";
  const std::string select =
      "SELECT " + std::string(t.columns) + " FROM " + std::string(t.name) + " ORDER BY " + std::string(t.order_by);
  std::uint64_t copied = 0;
  auto ran = from.run(select, std::span<const SqlParam>{}, [&](const SqlRow& row) -> StateResult<void> {
    std::vector<std::string> texts;
    std::vector<codec::Bytes> blobs;
    texts.reserve(t.types.size());
    blobs.reserve(t.types.size());
    std::vector<SqlParam> params;
    params.reserve(t.types.size());
    for (std::size_t i = 0; i < t.types.size(); ++i) {
      const int col = static_cast<int>(i);
      const char type = t.types[i];
      if (row.is_null(col)) {
        if (type == 'i' || type == 't' || type == 'b') {
          return fail(StateErrc::kCorrupt, std::string(t.name) + ": a NULL in a NOT NULL column (" +
                                               std::to_string(i + 1) + ")");
        }
        params.emplace_back(nullptr);
        continue;
      }
      if (type == 'i' || type == 'I') {
        auto v = row.integer(col);
        if (!v) return fail(StateErrc::kCorrupt, std::string(t.name) + ": column " + std::to_string(i + 1) + " is not an integer");
        params.emplace_back(*v);
      } else if (type == 't' || type == 'T') {
        texts.push_back(row.text(col));
        params.emplace_back(std::string_view(texts.back()));
      } else {
        auto b = row.blob(col);
        if (!b) return fail(StateErrc::kCorrupt, std::string(t.name) + ": column " + std::to_string(i + 1) + " is not bytes");
        blobs.push_back(std::move(*b));
        params.emplace_back(SqlBlob{blobs.back()});
      }
    }
    auto inserted = to.run(insert, std::span<const SqlParam>(params));
    if (!inserted) return std::unexpected(inserted.error());
    ++copied;
    return {};
  });
  if (!ran) return fail(ran.error().code, "copy " + std::string(t.name) + ": " + ran.error().detail);
  return copied;
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  for (std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// Fills `to` (inside its write transaction) from `from` (inside a read snapshot) and checks it.
StateResult<CopyReport> copy_locked(SqlConnection& from, SqlConnection& to, TimeMs now_ms) {
  auto source = inspect_schema(from);
  if (!source) return fail(source.error().code, "read the source's schema: " + source.error().detail);
  if (source->version == kForeignSchema) return fail(StateErrc::kForeign, "the source: " + source->detail);
  if (source->version != kCurrentSchemaVersion) {
    return fail(StateErrc::kForeign,
                "the source has schema version " + std::to_string(source->version) + ", this txguard copies version " +
                    std::to_string(kCurrentSchemaVersion) + ": migrate it first (run: txguard db migrate)");
  }
  auto target = inspect_schema(to);
  if (!target) return fail(target.error().code, "read the destination's schema: " + target.error().detail);
  if (target->version != 0) {
    return fail(StateErrc::kForeign,
                "the destination is not empty" +
                    (target->version == kForeignSchema ? " (" + target->detail + ")"
                                                       : " (schema version " + std::to_string(target->version) + ")") +
                    ": db copy never merges two databases; give it a new, empty database");
  }
  // Every table of the source must be one the copy knows: a table left behind would be lost silently.
  auto source_tables = table_names(from);
  if (!source_tables) return std::unexpected(source_tables.error());
  for (const std::string& name : *source_tables) {
    const bool known = name == "schema_migrations" || name == "state_meta" ||
                       std::any_of(kTables.begin(), kTables.end(), [&](const TableSpec& t) { return t.name == name; });
    if (!known) {
      return fail(StateErrc::kForeign, "the source has a table db copy does not know (" + name +
                                           "): refusing to leave it behind");
    }
  }
  if (auto created = migrate_in_transaction(to, now_ms); !created) {
    return fail(created.error().code, "create the destination: " + created.error().detail);
  }
  // The destination's log_meta comes from the source, as every other row.
  if (auto cleared = to.run("DELETE FROM log_meta", {}); !cleared) return std::unexpected(cleared.error());

  CopyReport report;
  for (const TableSpec& t : kTables) {
    auto copied = copy_table(from, to, t);
    if (!copied) return std::unexpected(copied.error());
    report.rows[std::string(t.name)] = *copied;
  }
  if (to.backend() == SqlBackend::kPostgres) {
    // Ids were copied as they are; the identity sequences must continue past them.
    for (const auto& [table, column] : {std::pair{"ledgers", "id"}, std::pair{"log_records", "seq"},
                                        std::pair{"log_heads", "size"}, std::pair{"buckets", "ledger"}}) {
      auto advanced = to.run(std::string("SELECT setval(pg_get_serial_sequence('") + table + "', '" + column +
                                 "'), max(" + column + ")) FROM " + table,
                             {});
      if (!advanced) return fail(advanced.error().code, std::string("advance ") + table + "'s ids: " + advanced.error().detail);
    }
  }

  // Verify: the same rows per table on both sides...
  for (const TableSpec& t : kTables) {
    auto a = count_rows(from, t.name);
    if (!a) return std::unexpected(a.error());
    auto b = count_rows(to, t.name);
    if (!b) return std::unexpected(b.error());
    if (*a != *b || *b != report.rows[std::string(t.name)]) {
      return fail(StateErrc::kIo, std::string(t.name) + ": the source has " + std::to_string(*a) +
                                      " rows, the copy " + std::to_string(*b));
    }
  }
  // ...the same log: size, Merkle roots (recomputed from the copied nodes and leaves), last signed head.
  DecisionLogWriter source_log(from);
  DecisionLogWriter copy_log(to);
  auto size = source_log.size();
  if (!size) return std::unexpected(size.error());
  auto copy_size = copy_log.size();
  if (!copy_size) return std::unexpected(copy_size.error());
  if (*size != *copy_size) {
    return fail(StateErrc::kIo, "the source's log has " + std::to_string(*size) + " records, the copy's " +
                                    std::to_string(*copy_size));
  }
  report.log_size = *size;
  auto root = source_log.root(*size);
  if (!root) return std::unexpected(root.error());
  auto copy_root = copy_log.root(*size);
  if (!copy_root) return std::unexpected(copy_root.error());
  if (*root != *copy_root) {
    return fail(StateErrc::kIo, "the copy's Merkle root " + hex(*copy_root) + " is not the source's " + hex(*root));
  }
  report.root = *root;
  auto head = source_log.last_head();
  if (!head) return std::unexpected(head.error());
  auto copy_head = copy_log.last_head();
  if (!copy_head) return std::unexpected(copy_head.error());
  if (head->has_value() != copy_head->has_value()) return fail(StateErrc::kIo, "the copy's last tree head differs");
  if (*copy_head) {
    const TreeHead& h = **head;
    const TreeHead& ch = **copy_head;
    if (h.size != ch.size || h.root != ch.root || h.at_ms != ch.at_ms || h.signature != ch.signature ||
        h.signer != ch.signer) {
      return fail(StateErrc::kIo, "the copy's last tree head differs from the source's");
    }
    auto head_root = copy_log.root(ch.size);
    if (!head_root) return std::unexpected(head_root.error());
    if (*head_root != ch.root) {
      return fail(StateErrc::kIo, "the copy's Merkle root at the last head's size " + std::to_string(ch.size) +
                                      " is not the root that head signs");
    }
    auto signer = policy::recover_approval_signer(tree_head_digest(ch.size, ch.at_ms, ch.root), ch.signature);
    if (!signer || *signer != ch.signer) {
      return fail(StateErrc::kIo, "the last tree head's signature does not recover to its signer");
    }
    report.head_size = ch.size;
    report.head_root = ch.root;
    report.head_signer = ch.signer;
  }
  return report;
}

}  // namespace

StateResult<CopyReport> copy_database(SqlConnection& from, SqlConnection& to, TimeMs now_ms) {
  if (auto reading = from.begin_read(); !reading) return std::unexpected(reading.error());
  if (auto locked = to.begin_write(); !locked) {
    from.rollback();
    return std::unexpected(locked.error());
  }
  auto copied = copy_locked(from, to, now_ms);
  from.rollback();
  if (!copied) {
    to.rollback();
    return copied;
  }
  if (auto committed = to.commit(); !committed) return std::unexpected(committed.error());
  return copied;
}

}  // namespace txguard::store

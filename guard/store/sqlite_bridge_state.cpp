#include "guard/store/sqlite_bridge_state.hpp"

#include <utility>

namespace txguard::store {

namespace {

using policy::StateErrc;
using policy::StateError;
using policy::StateResult;

constexpr const char* kBridgeSchema = R"sql(
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

StateError sql_error(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  StateErrc code = StateErrc::kIo;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) code = StateErrc::kUnavailable;
  else if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) code = StateErrc::kCorrupt;
  else if (primary == SQLITE_CONSTRAINT) code = StateErrc::kDuplicate;
  return StateError{code, std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc))};
}

// One statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  StateError error(std::string_view what) const { return sql_error(db_, rc_, what); }
  Statement& text(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& blob(int i, const codec::Hash32& v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& integer(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  std::string column_text(int i) const {
    const auto* p = sqlite3_column_text(stmt_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)))
             : std::string();
  }
  std::int64_t column_int(int i) const { return sqlite3_column_int64(stmt_, i); }
  codec::Hash32 column_hash(int i) const {
    codec::Hash32 h{};
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, i));
    if (p && sqlite3_column_bytes(stmt_, i) == 32) std::copy(p, p + 32, h.begin());
    return h;
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

StateResult<codec::U256> amount_of(const std::string& text) {
  auto v = codec::parse_u256(text);
  if (!v) return std::unexpected(StateError{StateErrc::kCorrupt, "bridge amount " + text + " is not a number"});
  return *v;
}

}  // namespace

StateResult<std::unique_ptr<BridgeStateStore>> BridgeStateStore::open_reader(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    auto error = sql_error(db, rc, "open " + path + " for reading");
    sqlite3_close(db);
    return std::unexpected(std::move(error));
  }
  sqlite3_busy_timeout(db, 2000);
  return std::unique_ptr<BridgeStateStore>(new BridgeStateStore(db, true));
}

BridgeStateStore::~BridgeStateStore() {
  if (owned_) sqlite3_close(db_);
}

StateResult<void> BridgeStateStore::install() {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, kBridgeSchema, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string detail = message ? message : "unknown error";
    sqlite3_free(message);
    return std::unexpected(StateError{StateErrc::kIo, "create the bridge tables: " + detail});
  }
  return {};
}

StateResult<std::optional<BridgeRelease>> BridgeStateStore::release(const std::string& key) {
  Statement s(db_, "SELECT route, digest, decision_id, source_chain, token, amount, at_ms FROM bridge_releases "
                   "WHERE release_key = ?");
  if (!s.ok()) return std::unexpected(s.error("prepare"));
  s.text(1, key);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<BridgeRelease>();
  if (rc != SQLITE_ROW) return std::unexpected(sql_error(db_, rc, "read a bridge release"));
  BridgeRelease r;
  r.release_key = key;
  r.route = s.column_text(0);
  r.digest = s.column_hash(1);
  r.decision_id = s.column_text(2);
  r.source_chain = s.column_text(3);
  r.token = s.column_text(4);
  auto amount = amount_of(s.column_text(5));
  if (!amount) return std::unexpected(amount.error());
  r.amount = *amount;
  r.at_ms = s.column_int(6);
  return std::optional<BridgeRelease>(std::move(r));
}

StateResult<void> BridgeStateStore::add_supply(const std::string& chain, const std::string& token,
                                               const codec::U256& deposited, const codec::U256& released,
                                               bool subtract) {
  auto current = supply(chain, token);
  if (!current) return std::unexpected(current.error());
  BridgeSupply next = *current;
  if (subtract) {
    if (next.deposited < deposited || next.released < released) {
      return std::unexpected(StateError{StateErrc::kCorrupt, "bridge supply would go negative"});
    }
    next.deposited -= deposited;
    next.released -= released;
  } else {
    next.deposited += deposited;
    next.released += released;
  }
  Statement s(db_, "INSERT INTO bridge_supply(source_chain, token, deposited, released) VALUES(?, ?, ?, ?) "
                   "ON CONFLICT(source_chain, token) DO UPDATE SET deposited = excluded.deposited, "
                   "released = excluded.released");
  if (!s.ok()) return std::unexpected(s.error("prepare"));
  s.text(1, chain).text(2, token).text(3, codec::to_decimal(next.deposited)).text(4, codec::to_decimal(next.released));
  if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "write the bridge supply"));
  return {};
}

StateResult<void> BridgeStateStore::put_release(const BridgeRelease& r) {
  Statement s(db_, "INSERT INTO bridge_releases(release_key, route, digest, decision_id, source_chain, token, amount, "
                   "at_ms) VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
  if (!s.ok()) return std::unexpected(s.error("prepare"));
  s.text(1, r.release_key).text(2, r.route).blob(3, r.digest).text(4, r.decision_id).text(5, r.source_chain);
  s.text(6, r.token).text(7, codec::to_decimal(r.amount)).integer(8, r.at_ms);
  if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "record a bridge release"));
  return add_supply(r.source_chain, r.token, 0, r.amount, false);
}

StateResult<void> BridgeStateStore::drop_release(const std::string& decision_id) {
  std::vector<BridgeRelease> dropped;
  {
    Statement s(db_, "SELECT release_key, source_chain, token, amount FROM bridge_releases WHERE decision_id = ?");
    if (!s.ok()) return std::unexpected(s.error("prepare"));
    s.text(1, decision_id);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      BridgeRelease r;
      r.release_key = s.column_text(0);
      r.source_chain = s.column_text(1);
      r.token = s.column_text(2);
      auto amount = amount_of(s.column_text(3));
      if (!amount) return std::unexpected(amount.error());
      r.amount = *amount;
      dropped.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "read bridge releases"));
  }
  for (const auto& r : dropped) {
    Statement d(db_, "DELETE FROM bridge_releases WHERE release_key = ?");
    if (!d.ok()) return std::unexpected(d.error("prepare"));
    d.text(1, r.release_key);
    if (const int rc = d.step(); rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "drop a bridge release"));
    if (auto ok = add_supply(r.source_chain, r.token, 0, r.amount, true); !ok) return ok;
  }
  return {};
}

StateResult<bool> BridgeStateStore::deposit_known(const std::string& key) {
  Statement s(db_, "SELECT 1 FROM bridge_deposits WHERE release_key = ?");
  if (!s.ok()) return std::unexpected(s.error("prepare"));
  s.text(1, key);
  const int rc = s.step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return std::unexpected(sql_error(db_, rc, "read a bridge deposit"));
}

StateResult<void> BridgeStateStore::put_deposit(const std::string& key, const std::string& chain,
                                                const std::string& token, const codec::U256& amount,
                                                policy::TimeMs at_ms) {
  auto known = deposit_known(key);
  if (!known) return std::unexpected(known.error());
  if (*known) return {};
  Statement s(db_, "INSERT INTO bridge_deposits(release_key, source_chain, token, amount, at_ms) VALUES(?, ?, ?, ?, ?)");
  if (!s.ok()) return std::unexpected(s.error("prepare"));
  s.text(1, key).text(2, chain).text(3, token).text(4, codec::to_decimal(amount)).integer(5, at_ms);
  if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "record a bridge deposit"));
  return add_supply(chain, token, amount, 0, false);
}

StateResult<BridgeSupply> BridgeStateStore::supply(const std::string& chain, const std::string& token) {
  Statement s(db_, "SELECT deposited, released FROM bridge_supply WHERE source_chain = ? AND token = ?");
  if (!s.ok()) return std::unexpected(s.error("prepare"));
  s.text(1, chain).text(2, token);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return BridgeSupply{};
  if (rc != SQLITE_ROW) return std::unexpected(sql_error(db_, rc, "read the bridge supply"));
  auto deposited = amount_of(s.column_text(0));
  auto released = amount_of(s.column_text(1));
  if (!deposited) return std::unexpected(deposited.error());
  if (!released) return std::unexpected(released.error());
  return BridgeSupply{*deposited, *released};
}

StateResult<std::vector<std::pair<std::pair<std::string, std::string>, BridgeSupply>>> BridgeStateStore::supplies() {
  std::vector<std::pair<std::pair<std::string, std::string>, BridgeSupply>> out;
  Statement s(db_, "SELECT source_chain, token, deposited, released FROM bridge_supply ORDER BY source_chain, token");
  if (!s.ok()) return std::unexpected(s.error("prepare"));
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    auto deposited = amount_of(s.column_text(2));
    auto released = amount_of(s.column_text(3));
    if (!deposited) return std::unexpected(deposited.error());
    if (!released) return std::unexpected(released.error());
    out.push_back({{s.column_text(0), s.column_text(1)}, BridgeSupply{*deposited, *released}});
  }
  if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "read the bridge supply"));
  return out;
}

StateResult<std::vector<BridgePause>> BridgeStateStore::pauses() {
  std::vector<BridgePause> out;
  Statement s(db_, "SELECT scope, at_ms, by, reason FROM bridge_pauses ORDER BY scope");
  if (!s.ok()) return std::unexpected(s.error("prepare"));
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.push_back(BridgePause{s.column_text(0), s.column_int(1), s.column_text(2), s.column_text(3)});
  }
  if (rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "read bridge pauses"));
  return out;
}

StateResult<void> BridgeStateStore::pause(const BridgePause& p) {
  Statement s(db_, "INSERT OR IGNORE INTO bridge_pauses(scope, at_ms, by, reason) VALUES(?, ?, ?, ?)");
  if (!s.ok()) return std::unexpected(s.error("prepare"));
  s.text(1, p.scope).integer(2, p.at_ms).text(3, p.by).text(4, p.reason);
  if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "record a pause"));
  return {};
}

StateResult<bool> BridgeStateStore::unpause(const std::string& scope) {
  Statement s(db_, "DELETE FROM bridge_pauses WHERE scope = ?");
  if (!s.ok()) return std::unexpected(s.error("prepare"));
  s.text(1, scope);
  if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(sql_error(db_, rc, "lift a pause"));
  return sqlite3_changes(db_) > 0;
}

}  // namespace txguard::store

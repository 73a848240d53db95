#include "guard/store/bridge_state.hpp"

#include <utility>

namespace txguard::store {

namespace {

using policy::StateErrc;
using policy::StateError;
using policy::StateResult;

StateResult<codec::U256> amount_of(const std::string& text) {
  auto v = codec::parse_u256(text);
  if (!v) return std::unexpected(StateError{StateErrc::kCorrupt, "bridge amount " + text + " is not a number"});
  return *v;
}

StateResult<void> done(StateResult<std::uint64_t> ran, std::string_view what) {
  if (!ran) return std::unexpected(StateError{ran.error().code, std::string(what) + ": " + ran.error().detail});
  return {};
}

}  // namespace

StateResult<std::unique_ptr<BridgeStateStore>> BridgeStateStore::open_reader(const std::string& database,
                                                                            const DatabaseOptions& options) {
  DatabaseOptions reading = options;
  reading.read_only = true;
  auto connection = open_database(database, reading);
  if (!connection) return std::unexpected(connection.error());
  return std::unique_ptr<BridgeStateStore>(new BridgeStateStore(std::move(*connection)));
}

BridgeStateStore::~BridgeStateStore() = default;

StateResult<std::optional<BridgeRelease>> BridgeStateStore::release(const std::string& key) {
  std::lock_guard lock(mutex_);
  std::optional<BridgeRelease> found;
  auto ran = c_->run("SELECT route, digest, decision_id, source_chain, token, amount, at_ms FROM bridge_releases "
                     "WHERE release_key = ?1",
                     {std::string_view(key)}, [&](const SqlRow& row) -> StateResult<void> {
                       BridgeRelease r;
                       r.release_key = key;
                       r.route = row.text(0);
                       auto digest = row.blob(1);
                       const auto at = row.integer(6);
                       if (!digest || digest->size() != 32 || !at) {
                         return std::unexpected(StateError{StateErrc::kCorrupt, "bridge release " + key + " is malformed"});
                       }
                       std::copy(digest->begin(), digest->end(), r.digest.begin());
                       r.decision_id = row.text(2);
                       r.source_chain = row.text(3);
                       r.token = row.text(4);
                       auto amount = amount_of(row.text(5));
                       if (!amount) return std::unexpected(amount.error());
                       r.amount = *amount;
                       r.at_ms = *at;
                       found = std::move(r);
                       return {};
                     });
  if (!ran) return std::unexpected(ran.error());
  return found;
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
  const std::string deposited_text = codec::to_decimal(next.deposited);
  const std::string released_text = codec::to_decimal(next.released);
  return done(c_->run("INSERT INTO bridge_supply(source_chain, token, deposited, released) VALUES(?1, ?2, ?3, ?4) "
                      "ON CONFLICT(source_chain, token) DO UPDATE SET deposited = excluded.deposited, "
                      "released = excluded.released",
                      {std::string_view(chain), std::string_view(token), std::string_view(deposited_text),
                       std::string_view(released_text)}),
              "write the bridge supply");
}

StateResult<void> BridgeStateStore::put_release(const BridgeRelease& r) {
  std::lock_guard lock(mutex_);
  const std::string amount = codec::to_decimal(r.amount);
  auto ran = done(c_->run("INSERT INTO bridge_releases(release_key, route, digest, decision_id, source_chain, token, "
                          "amount, at_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                          {std::string_view(r.release_key), std::string_view(r.route), SqlBlob{r.digest},
                           std::string_view(r.decision_id), std::string_view(r.source_chain), std::string_view(r.token),
                           std::string_view(amount), r.at_ms}),
                  "record a bridge release");
  if (!ran) return ran;
  return add_supply(r.source_chain, r.token, 0, r.amount, false);
}

StateResult<void> BridgeStateStore::drop_release(const std::string& decision_id) {
  std::lock_guard lock(mutex_);
  std::vector<BridgeRelease> dropped;
  auto ran = c_->run("SELECT release_key, source_chain, token, amount FROM bridge_releases WHERE decision_id = ?1",
                     {std::string_view(decision_id)}, [&](const SqlRow& row) -> StateResult<void> {
                       BridgeRelease r;
                       r.release_key = row.text(0);
                       r.source_chain = row.text(1);
                       r.token = row.text(2);
                       auto amount = amount_of(row.text(3));
                       if (!amount) return std::unexpected(amount.error());
                       r.amount = *amount;
                       dropped.push_back(std::move(r));
                       return {};
                     });
  if (!ran) return std::unexpected(ran.error());
  for (const auto& r : dropped) {
    auto deleted = done(c_->run("DELETE FROM bridge_releases WHERE release_key = ?1", {std::string_view(r.release_key)}),
                        "drop a bridge release");
    if (!deleted) return deleted;
    if (auto ok = add_supply(r.source_chain, r.token, 0, r.amount, true); !ok) return ok;
  }
  return {};
}

StateResult<bool> BridgeStateStore::deposit_known(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto rows = c_->run("SELECT 1 FROM bridge_deposits WHERE release_key = ?1", {std::string_view(key)},
                      [](const SqlRow&) -> StateResult<void> { return {}; });
  if (!rows) return std::unexpected(rows.error());
  return *rows > 0;
}

StateResult<void> BridgeStateStore::put_deposit(const std::string& key, const std::string& chain,
                                                const std::string& token, const codec::U256& amount,
                                                policy::TimeMs at_ms) {
  std::lock_guard lock(mutex_);
  auto known = deposit_known(key);
  if (!known) return std::unexpected(known.error());
  if (*known) return {};
  const std::string amount_text = codec::to_decimal(amount);
  auto ran = done(c_->run("INSERT INTO bridge_deposits(release_key, source_chain, token, amount, at_ms) "
                          "VALUES(?1, ?2, ?3, ?4, ?5)",
                          {std::string_view(key), std::string_view(chain), std::string_view(token),
                           std::string_view(amount_text), at_ms}),
                  "record a bridge deposit");
  if (!ran) return ran;
  return add_supply(chain, token, amount, 0, false);
}

StateResult<BridgeSupply> BridgeStateStore::supply(const std::string& chain, const std::string& token) {
  std::lock_guard lock(mutex_);
  BridgeSupply found;
  auto ran = c_->run("SELECT deposited, released FROM bridge_supply WHERE source_chain = ?1 AND token = ?2",
                     {std::string_view(chain), std::string_view(token)}, [&](const SqlRow& row) -> StateResult<void> {
                       auto deposited = amount_of(row.text(0));
                       auto released = amount_of(row.text(1));
                       if (!deposited) return std::unexpected(deposited.error());
                       if (!released) return std::unexpected(released.error());
                       found = BridgeSupply{*deposited, *released};
                       return {};
                     });
  if (!ran) return std::unexpected(StateError{ran.error().code, "read the bridge supply: " + ran.error().detail});
  return found;
}

StateResult<std::vector<std::pair<std::pair<std::string, std::string>, BridgeSupply>>> BridgeStateStore::supplies() {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::pair<std::string, std::string>, BridgeSupply>> out;
  auto ran = c_->run("SELECT source_chain, token, deposited, released FROM bridge_supply ORDER BY source_chain, token",
                     {}, [&](const SqlRow& row) -> StateResult<void> {
                       auto deposited = amount_of(row.text(2));
                       auto released = amount_of(row.text(3));
                       if (!deposited) return std::unexpected(deposited.error());
                       if (!released) return std::unexpected(released.error());
                       out.push_back({{row.text(0), row.text(1)}, BridgeSupply{*deposited, *released}});
                       return {};
                     });
  if (!ran) return std::unexpected(ran.error());
  return out;
}

StateResult<std::vector<BridgePause>> BridgeStateStore::pauses() {
  std::lock_guard lock(mutex_);
  std::vector<BridgePause> out;
  auto ran = c_->run("SELECT scope, at_ms, by, reason FROM bridge_pauses ORDER BY scope", {},
                     [&](const SqlRow& row) -> StateResult<void> {
                       const auto at = row.integer(1);
                       if (!at) return std::unexpected(StateError{StateErrc::kCorrupt, "a bridge pause is malformed"});
                       out.push_back(BridgePause{row.text(0), *at, row.text(2), row.text(3)});
                       return {};
                     });
  if (!ran) return std::unexpected(ran.error());
  return out;
}

StateResult<void> BridgeStateStore::pause(const BridgePause& p) {
  std::lock_guard lock(mutex_);
  return done(c_->run("INSERT INTO bridge_pauses(scope, at_ms, by, reason) VALUES(?1, ?2, ?3, ?4) "
                      "ON CONFLICT(scope) DO NOTHING",
                      {std::string_view(p.scope), p.at_ms, std::string_view(p.by), std::string_view(p.reason)}),
              "record a pause");
}

StateResult<bool> BridgeStateStore::unpause(const std::string& scope) {
  std::lock_guard lock(mutex_);
  auto ran = c_->run("DELETE FROM bridge_pauses WHERE scope = ?1", {std::string_view(scope)});
  if (!ran) return std::unexpected(StateError{ran.error().code, "lift a pause: " + ran.error().detail});
  return *ran > 0;
}

}  // namespace txguard::store

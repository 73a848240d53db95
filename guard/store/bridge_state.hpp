// The bridge co-signer's state, in the same database and the same transactions as the decision log:
// released deposits (once only), confirmed deposits and the supply totals they add up to, and
// emergency pauses.
//
// Tables (created and versioned by the database's schema, schema.hpp):
//   bridge_releases(release_key PK, route, digest, decision_id, source_chain, token, amount, at_ms)
//       one row per released (or held) deposit: the key and the attested body's digest are
//       committed in the batch that records the decision, before any signature leaves;
//   bridge_deposits(release_key PK, source_chain, token, amount, at_ms)
//       deposits the source chain confirmed to txguard's own endpoints;
//   bridge_supply(source_chain, token, deposited, released) PK(source_chain, token)
//       running totals (decimal strings) of the two above: the supply invariant reads them;
//   bridge_pauses(scope PK, at_ms, by, reason)   scope: a route name, or "*" for everything.
//
// Thread safety: a writer BridgeStateStore is used by one thread at a time (the pipeline's sequencer);
// its statements run on the connection it was given, inside the caller's transaction. A reader
// (open_reader) serialises its callers on its own connection.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "guard/store/sql.hpp"
#include "policy/codec/bytes.hpp"
#include "policy/codec/u256.hpp"
#include "policy/state_view.hpp"

namespace txguard::store {

struct BridgeRelease {
  std::string release_key;
  std::string route;
  codec::Hash32 digest{};
  std::string decision_id;
  std::string source_chain;  // decimal
  std::string token;         // the source token, EIP-55
  codec::U256 amount;
  policy::TimeMs at_ms = 0;
};

struct BridgeSupply {
  codec::U256 deposited;
  codec::U256 released;
};

struct BridgePause {
  std::string scope;  // a route name, or "*"
  policy::TimeMs at_ms = 0;
  std::string by;
  std::string reason;
};

class BridgeStateStore {
 public:
  /// Uses `connection` (not owned): the pipeline's write connection.
  explicit BridgeStateStore(SqlConnection& connection) : c_(&connection) {}
  /// A read-only connection of its own to `database` (status pages), owned.
  static policy::StateResult<std::unique_ptr<BridgeStateStore>> open_reader(const std::string& database,
                                                                            const DatabaseOptions& options = {});
  ~BridgeStateStore();
  BridgeStateStore(const BridgeStateStore&) = delete;
  BridgeStateStore& operator=(const BridgeStateStore&) = delete;


  policy::StateResult<std::optional<BridgeRelease>> release(const std::string& release_key);
  /// Records a release and adds its amount to the supply's released total. kDuplicate when the key
  /// is already released (the caller checked; the primary key enforces it again).
  policy::StateResult<void> put_release(const BridgeRelease& release);
  /// Takes back the release a decision made (its hold was rejected or expired): the deposit can be
  /// released again. No-op when the decision released nothing.
  policy::StateResult<void> drop_release(const std::string& decision_id);

  policy::StateResult<bool> deposit_known(const std::string& release_key);
  /// Records a confirmed deposit once (a second call for the same key changes nothing).
  policy::StateResult<void> put_deposit(const std::string& release_key, const std::string& source_chain,
                                        const std::string& token, const codec::U256& amount, policy::TimeMs at_ms);
  policy::StateResult<BridgeSupply> supply(const std::string& source_chain, const std::string& token);
  policy::StateResult<std::vector<std::pair<std::pair<std::string, std::string>, BridgeSupply>>> supplies();

  policy::StateResult<std::vector<BridgePause>> pauses();
  /// Pauses a scope (idempotent: pausing a paused scope keeps the first pause).
  policy::StateResult<void> pause(const BridgePause& pause);
  /// Lifts a pause; false when the scope was not paused.
  policy::StateResult<bool> unpause(const std::string& scope);

 private:
  explicit BridgeStateStore(std::unique_ptr<SqlConnection> owned) : owned_(std::move(owned)), c_(owned_.get()) {}
  policy::StateResult<void> add_supply(const std::string& source_chain, const std::string& token,
                                       const codec::U256& deposited, const codec::U256& released, bool subtract);
  std::unique_ptr<SqlConnection> owned_;
  SqlConnection* c_;
  std::recursive_mutex mutex_;  // a reader's callers; uncontended for the sequencer's writer
};

}  // namespace txguard::store

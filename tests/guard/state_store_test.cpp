// SqlStateStore: atomic check-and-apply, reservations, pruning, durability across reopen,
// refusal of damaged or foreign files, and eight connections racing one window.
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.hpp"
#include "tests/support/test_database.hpp"
#include "guard/store/sql_state_store.hpp"

using namespace txguard::policy;
using namespace txguard::store;

namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;  // fixed instants only; no assertion depends on the wall clock
constexpr TimeMs kHour = 3'600'000;
constexpr TimeMs kDay = 24 * kHour;

using TempDir = txguard::test::TempDir;
using txguard::test::test_database;
using txguard::test::TestDatabase;

const LedgerKey kKey{"withdrawals/hourly", ScopeKey::make({.wallet = std::nullopt, .asset = "usdc", .destination = std::nullopt, .rule = std::nullopt, .requester = std::nullopt})};
const SlidingWindow kWindow{kHour, 1000};

// Options with a lock timeout, and whether to run the integrity check at open.
DatabaseOptions waiting(std::chrono::milliseconds lock_timeout, bool check_integrity) {
  DatabaseOptions options;
  options.lock_timeout = lock_timeout;
  options.check_integrity = check_integrity;
  return options;
}

std::unique_ptr<SqlStateStore> open_ok(const TestDatabase& db, DatabaseOptions options = {}) {
  auto store = SqlStateStore::open(db.name, db.options(options));
  if (!store) FAIL("open failed: " << store.error().message());
  return std::move(*store);
}
// A SQLite file named directly (the tests about files).
std::unique_ptr<SqlStateStore> open_ok(const std::string& path) { return open_ok(TestDatabase{path, ""}); }

// One evaluation: check the window and apply the debit when it fits. Returns whether it was allowed.
bool spend(StateStore& store, const U256& amount, TimeMs at, const std::optional<ReserveAs>& reserve = std::nullopt) {
  bool allowed = false;
  auto applied = store.transact([&](const StateView& view) -> StateResult<Effects> {
    auto check = check_window(kWindow, kKey, amount, at, view, reserve);
    if (!check) return std::unexpected(check.error());
    allowed = check->allowed;
    return check->effects;
  });
  REQUIRE_MESSAGE(applied.has_value(), applied.error().message());
  return allowed;
}

U256 used(StateStore& store, TimeMs at) {
  U256 sum = 0;
  auto ok = store.transact([&](const StateView& view) -> StateResult<Effects> {
    auto s = view.window_sum(kKey, window_after(kWindow, at));
    if (!s) return std::unexpected(s.error());
    sum = *s;
    return Effects{};
  });
  REQUIRE(ok.has_value());
  return sum;
}

void write_bytes(const std::string& path, std::streamoff offset, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  f.seekp(offset);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

}  // namespace

TEST_SUITE("sqlite_state_store") {

TEST_CASE("an amount equal to the headroom is debited and one unit more is refused") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  REQUIRE(spend(*store, 400, kT0));
  CHECK_FALSE(spend(*store, 601, kT0 + 1));
  CHECK(spend(*store, 600, kT0 + 1));
  CHECK_FALSE(spend(*store, 1, kT0 + 2));
  CHECK(used(*store, kT0 + 2) == 1000);
}

TEST_CASE("a debit stops counting at exactly the window duration, not one ms before") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  REQUIRE(spend(*store, 1000, kT0));
  CHECK_FALSE(spend(*store, 1, kT0 + kHour - 1));
  CHECK(spend(*store, 1000, kT0 + kHour));
}

TEST_CASE("denied requests consume nothing in the store") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  for (int i = 0; i < 10; ++i) CHECK_FALSE(spend(*store, 1001, kT0 + i));
  CHECK(used(*store, kT0 + 10) == 0);
}

TEST_CASE("the state survives close and reopen") {
  TempDir dir{"txguard-state"};
  const TestDatabase path = test_database(dir, "state.db");
  {
    auto store = open_ok(path);
    REQUIRE(spend(*store, 700, kT0));
    REQUIRE(spend(*store, 200, kT0 + 5, ReserveAs{"held-1", kT0 + kHour}));
  }
  auto reopened = open_ok(path);
  CHECK(used(*reopened, kT0 + 10) == 900);
  CHECK_FALSE(spend(*reopened, 101, kT0 + 10));
  REQUIRE(reopened->commit_reservation("held-1").has_value());
  CHECK(used(*reopened, kT0 + 10) == 900);
}

TEST_CASE("a body error or an extra-work error rolls the effects back") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  auto body_fails = store->transact([](const StateView&) -> StateResult<Effects> {
    return std::unexpected(StateError{StateErrc::kInvalidLimit, "bad"});
  });
  REQUIRE_FALSE(body_fails.has_value());
  CHECK(body_fails.error().code == StateErrc::kInvalidLimit);

  auto extra_fails = store->transact(
      [](const StateView&) -> StateResult<Effects> { return Effects{Debit{kKey, 500, kT0}}; },
      [](Tx&) -> StateResult<void> { return std::unexpected(StateError{StateErrc::kIo, "log append failed"}); });
  REQUIRE_FALSE(extra_fails.has_value());
  CHECK(extra_fails.error().detail == "log append failed");

  auto body_throws = store->transact([](const StateView&) -> StateResult<Effects> { throw std::runtime_error("boom"); });
  REQUIRE_FALSE(body_throws.has_value());
  CHECK(used(*store, kT0) == 0);
}

TEST_CASE("extra work commits in the same transaction as the effects") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  auto applied = store->transact(
      [](const StateView&) -> StateResult<Effects> { return Effects{Debit{kKey, 300, kT0}}; },
      [](Tx& tx) -> StateResult<void> {
        return tx.connection().exec_script("CREATE TABLE IF NOT EXISTS log(x INTEGER); INSERT INTO log VALUES (1)");
      });
  REQUIRE(applied.has_value());
  CHECK(applied->size() == 1);
  CHECK(used(*store, kT0) == 300);
}

// One batch step that checks the window and debits `amount` when it fits.
StateStore::Step spend_step(const U256& amount, bool* allowed) {
  return StateStore::Step{[amount, allowed](const StateView& view, Tx&) -> StateResult<Effects> {
                            auto check = check_window(kWindow, kKey, amount, kT0, view);
                            if (!check) return std::unexpected(check.error());
                            *allowed = check->allowed;
                            return check->effects;
                          },
                          {}};
}

TEST_CASE("a batch step sees the effects of the steps before it, so a batch never overshoots a window") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  bool a = false, b = false, c = false;
  std::vector<StateStore::Step> steps{spend_step(600, &a), spend_step(400, &b), spend_step(1, &c)};
  REQUIRE(store->transact_batch(steps).has_value());
  CHECK(a);
  CHECK(b);     // 600 + 400 = 1000: exactly the limit
  CHECK_FALSE(c);  // one more unit does not fit
  for (const auto& step : steps) CHECK(step.result.has_value());
  CHECK(used(*store, kT0) == 1000);
}

TEST_CASE("a failing batch step is rolled back alone; the steps around it commit") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  bool a = false, c = false;
  std::vector<StateStore::Step> steps;
  steps.push_back(spend_step(100, &a));
  // Its effects are applied, then its extra work fails: both must vanish.
  steps.push_back(StateStore::Step{[](const StateView&, Tx& tx) -> StateResult<Effects> {
                                     REQUIRE(tx.connection()
                                                 .exec_script("CREATE TABLE IF NOT EXISTS log(x INTEGER); "
                                                              "INSERT INTO log VALUES (2)")
                                                 .has_value());
                                     return Effects{Debit{kKey, 500, kT0}};
                                   },
                                   [](Tx&) -> StateResult<void> {
                                     return std::unexpected(StateError{StateErrc::kIo, "log append failed"});
                                   }});
  steps.push_back(StateStore::Step{[](const StateView&, Tx&) -> StateResult<Effects> { throw std::runtime_error("boom"); }, {}});
  steps.push_back(spend_step(200, &c));
  REQUIRE(store->transact_batch(steps).has_value());
  CHECK(steps[0].result.has_value());
  REQUIRE_FALSE(steps[1].result.has_value());
  CHECK(steps[1].result.error().detail == "log append failed");
  CHECK_FALSE(steps[2].result.has_value());
  CHECK(steps[3].result.has_value());
  CHECK(a);
  CHECK(c);
  CHECK(used(*store, kT0) == 300);
}

TEST_CASE("a batch that cannot get the write lock runs no step and fails every one") {
  TempDir dir{"txguard-state"};
  const TestDatabase path = test_database(dir, "state.db");
  auto holder = open_ok(path);
  auto waiter = open_ok(path, waiting(std::chrono::milliseconds(30), true));
  bool a = false;
  std::vector<StateStore::Step> steps{spend_step(1, &a)};
  StateResult<void> batch;
  auto outer = holder->transact([&](const StateView&) -> StateResult<Effects> {
    batch = waiter->transact_batch(steps);
    return Effects{};
  });
  REQUIRE(outer.has_value());
  REQUIRE_FALSE(batch.has_value());
  CHECK(batch.error().code == StateErrc::kUnavailable);
  REQUIRE_FALSE(steps[0].result.has_value());
  CHECK(steps[0].result.error().code == StateErrc::kUnavailable);
  CHECK_FALSE(a);
  CHECK(used(*holder, kT0) == 0);
}

TEST_CASE("reservations count while pending and stop counting when released") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  REQUIRE(spend(*store, 800, kT0, ReserveAs{"held-1", kT0 + kHour}));
  CHECK_FALSE(spend(*store, 201, kT0 + 1));
  REQUIRE(store->release_reservation("held-1", kT0 + 2).has_value());
  CHECK(spend(*store, 1000, kT0 + 3));
}

TEST_CASE("a committed reservation becomes a debit at its original time") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  REQUIRE(spend(*store, 800, kT0, ReserveAs{"held-1", kT0 + kHour}));
  REQUIRE(store->commit_reservation("held-1").has_value());
  CHECK(used(*store, kT0 + kHour - 1) == 800);
  CHECK(used(*store, kT0 + kHour) == 0);
}

TEST_CASE("unknown or already settled reservations are refused") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  auto unknown = store->commit_reservation("nope");
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().code == StateErrc::kNotFound);
  REQUIRE(spend(*store, 10, kT0, ReserveAs{"held-1", kT0 + kHour}));
  REQUIRE(store->release_reservation("held-1", kT0 + 1).has_value());
  auto twice = store->release_reservation("held-1", kT0 + 2);
  REQUIRE_FALSE(twice.has_value());
  CHECK(twice.error().code == StateErrc::kNotFound);
  CHECK_FALSE(store->commit_reservation("held-1").has_value());
}

TEST_CASE("a duplicate reservation id aborts the transaction and applies nothing") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  REQUIRE(spend(*store, 10, kT0, ReserveAs{"held-1", kT0 + kHour}));
  auto dup = store->transact([](const StateView&) -> StateResult<Effects> {
    return Effects{Debit{kKey, 500, kT0}, Reserve{"held-1", kKey, ReservationKind::kWindow, 20, kT0, kT0 + 1}};
  });
  REQUIRE_FALSE(dup.has_value());
  CHECK(dup.error().code == StateErrc::kDuplicate);
  CHECK(used(*store, kT0) == 10);
}

TEST_CASE("expired reservations are released at their expiry and not before") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  REQUIRE(spend(*store, 300, kT0, ReserveAs{"a", kT0 + 100}));
  REQUIRE(spend(*store, 300, kT0, ReserveAs{"b", kT0 + 200}));
  auto none = store->expire_reservations(kT0 + 99);
  REQUIRE(none.has_value());
  CHECK(*none == 0);
  auto one = store->expire_reservations(kT0 + 100);
  REQUIRE(one.has_value());
  CHECK(*one == 1);
  CHECK(used(*store, kT0 + 100) == 300);
}

TEST_CASE("a released bucket reservation refunds its tokens in the store") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  const TokenBucket bucket{100, 0};
  auto take = [&](const U256& amount, TimeMs at, std::optional<ReserveAs> reserve) {
    bool allowed = false;
    auto ok = store->transact([&](const StateView& view) -> StateResult<Effects> {
      auto check = check_bucket(bucket, kKey, amount, at, view, reserve);
      if (!check) return std::unexpected(check.error());
      allowed = check->allowed;
      return check->effects;
    });
    REQUIRE(ok.has_value());
    return allowed;
  };
  REQUIRE(take(80, kT0, ReserveAs{"h", kT0 + kHour}));
  CHECK_FALSE(take(21, kT0 + 1, std::nullopt));
  REQUIRE(store->release_reservation("h", kT0 + 2).has_value());
  CHECK(take(100, kT0 + 3, std::nullopt));
  CHECK_FALSE(take(1, kT0 + 4, std::nullopt));
}

TEST_CASE("pruning deletes debits at or before the cutoff and keeps newer ones") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  REQUIRE(spend(*store, 100, kT0 - 2 * kDay));
  REQUIRE(spend(*store, 100, kT0 - kDay));
  REQUIRE(spend(*store, 100, kT0 - kDay + 1));
  auto pruned = store->prune(kT0 - kDay);
  REQUIRE(pruned.has_value());
  CHECK(*pruned == 2);
  U256 left = 0;
  REQUIRE(store->transact([&](const StateView& view) -> StateResult<Effects> {
    left = view.window_sum(kKey, kT0 - kDay).value();
    return Effects{};
  }).has_value());
  CHECK(left == 100);
}

TEST_CASE("the per-minute window sum equals a row-by-row sum at every window start") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  // Debits on and around minute boundaries, before and after 1970, with a few large amounts.
  std::vector<std::pair<TimeMs, U256>> debits;
  std::uint64_t x = 12345;
  for (int i = 0; i < 400; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const TimeMs at = -300'000 + static_cast<TimeMs>((x >> 33) % 900'000);
    const U256 amount = i % 50 == 0 ? U256(std::numeric_limits<std::uint64_t>::max()) : U256((x >> 20) % 1000);
    debits.emplace_back(at, amount);
  }
  for (TimeMs at : {TimeMs{0}, TimeMs{-1}, TimeMs{59'999}, TimeMs{60'000}, TimeMs{-60'000}, TimeMs{-60'001}}) {
    debits.emplace_back(at, U256(7));
  }
  Effects all;
  for (const auto& [at, amount] : debits) all.emplace_back(Debit{kKey, amount, at});
  REQUIRE(store->transact([&](const StateView&) -> StateResult<Effects> { return all; }).has_value());
  int compared = 0;
  for (TimeMs after = -361'000; after <= 661'000; after += 997) {
    for (TimeMs delta : {TimeMs{0}, TimeMs{1}, TimeMs{-1}}) {
      const TimeMs start = (after / 60'000) * 60'000 + delta + (after % 3 == 0 ? 0 : after % 60'000);
      U256 expected = 0;
      for (const auto& [at, amount] : debits) {
        if (at > start) expected += amount;
      }
      U256 got = 0;
      REQUIRE(store->transact([&](const StateView& view) -> StateResult<Effects> {
        got = view.window_sum(kKey, start).value();
        return Effects{};
      }).has_value());
      CHECK_MESSAGE(got == expected, "window after " << start);
      ++compared;
    }
  }
  CHECK(compared > 3000);
}

TEST_CASE("after pruning, windows starting at the cutoff or later are still exact") {
  TempDir dir{"txguard-state"};
  const auto state_db = test_database(dir, "state.db");
  auto store = open_ok(state_db);
  Effects all;
  for (TimeMs at = kT0; at < kT0 + 10 * 60'000; at += 7'000) all.emplace_back(Debit{kKey, U256(1), at});
  REQUIRE(store->transact([&](const StateView&) -> StateResult<Effects> { return all; }).has_value());
  const TimeMs cutoff = kT0 + 3 * 60'000 + 30'000;  // in the middle of a minute
  REQUIRE(store->prune(cutoff).has_value());
  for (TimeMs start : {cutoff, cutoff + 1, cutoff + 29'999, cutoff + 30'000, cutoff + 5 * 60'000}) {
    U256 expected = 0;
    for (const Effect& e : all) {
      if (std::get<Debit>(e).at_ms > start) expected += 1;
    }
    U256 got = 0;
    REQUIRE(store->transact([&](const StateView& view) -> StateResult<Effects> {
      got = view.window_sum(kKey, start).value();
      return Effects{};
    }).has_value());
    CHECK_MESSAGE(got == expected, "window after " << start);
  }
}

TEST_CASE("a file that is not a database is refused with a clear error") {
  TempDir dir{"txguard-state"};
  const std::string path = dir.file("state.db");
  { std::ofstream(path) << std::string(8192, 'x'); }
  auto store = SqlStateStore::open(path);
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().code == StateErrc::kCorrupt);
  CHECK(store.error().message().find("not a txguard database") != std::string::npos);
}

TEST_CASE("a store whose header was overwritten is refused as corrupt") {
  TempDir dir{"txguard-state"};
  const std::string path = dir.file("state.db");
  { auto store = open_ok(path); REQUIRE(spend(*store, 1, kT0)); }
  write_bytes(path, 0, std::string(100, '\x5a'));
  auto store = SqlStateStore::open(path);
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().code == StateErrc::kCorrupt);
}

TEST_CASE("a store with a damaged page is refused as corrupt") {
  TempDir dir{"txguard-state"};
  const std::string path = dir.file("state.db");
  {
    auto store = open_ok(path);
    for (int i = 0; i < 200; ++i) REQUIRE(spend(*store, 1, kT0 + i));
  }
  REQUIRE(std::filesystem::file_size(path) >= 3 * 4096);
  write_bytes(path, 4096 + 16, std::string(3000, '\xff'));  // inside page 2, past the page header
  write_bytes(path, 2 * 4096, std::string(16, '\x0d'));     // page 3's header
  auto store = SqlStateStore::open(path);
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().code == StateErrc::kCorrupt);
}

TEST_CASE("a SQLite database of another application is refused and left untouched") {
  TempDir dir{"txguard-state"};
  const std::string path = dir.file("other.db");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "CREATE TABLE customers(name TEXT)", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto store = SqlStateStore::open(path);
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().code == StateErrc::kForeign);
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));  // journal mode was not changed
}

TEST_CASE("a database with another application_id or a newer schema is refused") {
  TempDir dir{"txguard-state"};
  const std::string other = dir.file("other.db");
  const std::string newer = dir.file("newer.db");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(other.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "PRAGMA application_id=1234", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  { auto store = open_ok(newer); }
  REQUIRE(sqlite3_open(newer.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto a = SqlStateStore::open(other);
  REQUIRE_FALSE(a.has_value());
  CHECK(a.error().code == StateErrc::kForeign);
  auto b = SqlStateStore::open(newer);
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error().code == StateErrc::kForeign);
  CHECK(b.error().detail.find("newer") != std::string::npos);
}

TEST_CASE("a connection that cannot get the write lock in time fails closed without running its body") {
  TempDir dir{"txguard-state"};
  const TestDatabase path = test_database(dir, "state.db");
  auto holder = open_ok(path);
  auto waiter = open_ok(path, waiting(std::chrono::milliseconds(30), true));
  bool inner_ran = false;
  StateResult<Effects> inner = Effects{};
  auto outer = holder->transact([&](const StateView&) -> StateResult<Effects> {
    inner = waiter->transact([&](const StateView&) -> StateResult<Effects> {
      inner_ran = true;
      return Effects{Debit{kKey, 1, kT0}};
    });
    return Effects{};
  });
  REQUIRE(outer.has_value());
  REQUIRE_FALSE(inner.has_value());
  CHECK(inner.error().code == StateErrc::kUnavailable);
  CHECK_FALSE(inner_ran);
  CHECK(used(*holder, kT0) == 0);
}

TEST_CASE("eight threads racing one window on one database never overshoot it and fill it exactly") {
  TempDir dir{"txguard-state"};
  const TestDatabase path = test_database(dir, "state.db");
  { auto create = open_ok(path); }
  constexpr int kThreads = 8;
  constexpr int kAttempts = 60;  // 8 x 60 x 5 = 2400 units demanded against a max of 1000
  std::vector<std::unique_ptr<SqlStateStore>> stores;
  for (int i = 0; i < kThreads; ++i) stores.push_back(open_ok(path, waiting(std::chrono::seconds(30), false)));
  std::atomic<int> granted{0};
  std::atomic<int> errors{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kAttempts; ++i) {
        bool allowed = false;
        auto ok = stores[static_cast<std::size_t>(t)]->transact([&](const StateView& view) -> StateResult<Effects> {
          auto check = check_window(kWindow, kKey, 5, kT0 + i, view);
          if (!check) return std::unexpected(check.error());
          allowed = check->allowed;
          return check->effects;
        });
        if (!ok) {
          ++errors;
        } else if (allowed) {
          ++granted;
        }
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  CHECK(errors.load() == 0);
  CHECK(granted.load() * 5 <= 1000);
  CHECK(granted.load() == 200);  // demand exceeds the window, so it is filled exactly
  CHECK(used(*stores[0], kT0 + kAttempts) == 1000);
}

}  // TEST_SUITE

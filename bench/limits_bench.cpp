// Velocity-state throughput: check-and-debit transactions per second on a SQLite state store holding
// 1,000,000 past debits over 30 days across 1,000 wallet scopes (the hot-wallet example's per-wallet
// daily USD window). Printed next to baselines measured in the same run on the same file system: an
// empty BEGIN IMMEDIATE/COMMIT round trip, and a one-row INSERT transaction (which pays the fsync that
// synchronous=FULL makes every debit pay). Not a test: it never fails on a timing.
//
//   build/release/bench/txguard_bench_limits [debits=1000000] [seconds-per-case=2] [dir]
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>

#include "guard/store/sql_state_store.hpp"

using namespace txguard::policy;
using namespace txguard::store;

namespace {

using Clock = std::chrono::steady_clock;

constexpr TimeMs kDay = 86'400'000;
constexpr TimeMs kStart = 1'760'000'000'000;
constexpr TimeMs kSpan = 30 * kDay;
constexpr int kScopes = 1000;
const std::string kLimitId = "withdrawals/daily-usd";

LedgerKey scope_key(int i) {
  txguard::codec::Address wallet;
  wallet.bytes[18] = static_cast<std::uint8_t>(i >> 8);
  wallet.bytes[19] = static_cast<std::uint8_t>(i & 0xff);
  return LedgerKey{kLimitId, ScopeKey::make({.wallet = wallet, .asset = std::nullopt, .destination = std::nullopt,
                                             .rule = "customer-withdrawals", .requester = std::nullopt})};
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs body until `seconds` have passed; returns operations per second.
double measure(double seconds, std::size_t& iterations, const std::function<void()>& body) {
  iterations = 0;
  const auto start = Clock::now();
  while (seconds_since(start) < seconds) {
    body();
    ++iterations;
  }
  return static_cast<double>(iterations) / seconds_since(start);
}

void die(const char* what, const StateError& error) {
  std::fprintf(stderr, "%s: %s\n", what, error.message().c_str());
  std::exit(70);
}

void check_sqlite(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    std::exit(70);
  }
}

std::uintmax_t size_of(const std::filesystem::path& p) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(p, ec);
  return ec ? 0 : size;
}

}  // namespace

int main(int argc, char** argv) {
  const long total = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 2.0;
  std::string pattern = (argc > 3 ? std::filesystem::path(argv[3]) : std::filesystem::temp_directory_path()) /
                        "txguard-limits-bench-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 70;
  }
  const std::filesystem::path dir = pattern;
  const std::string path = (dir / "state.db").string();

  auto opened = SqlStateStore::open(path);
  if (!opened) die("open", opened.error());
  SqlStateStore& store = **opened;

  // 1. History: `total` debits evenly spread over 30 days, each on a random wallet scope, amounts of
  //    $1 to $1,000 in micro-USD, inserted 10,000 per transaction.
  std::minstd_rand rng(42);
  std::uniform_int_distribution<int> pick_scope(0, kScopes - 1);
  std::uniform_int_distribution<std::uint64_t> pick_amount(1'000'000, 1'000'000'000);
  std::vector<LedgerKey> keys;
  for (int i = 0; i < kScopes; ++i) keys.push_back(scope_key(i));
  const auto load_start = Clock::now();
  constexpr long kBatch = 10'000;
  for (long done = 0; done < total;) {
    Effects batch;
    for (long i = 0; i < kBatch && done < total; ++i, ++done) {
      const TimeMs at = kStart + kSpan * done / total;
      batch.emplace_back(Debit{keys[static_cast<std::size_t>(pick_scope(rng))], U256(pick_amount(rng)), at});
    }
    auto ok = store.transact([&](const StateView&) -> StateResult<Effects> { return std::move(batch); });
    if (!ok) die("load", ok.error());
  }
  const double load_s = seconds_since(load_start);
  std::printf("state: %ld debits over 30 days across %d scopes, loaded in %.1f s (%.0f debits/s)\n", total, kScopes,
              load_s, static_cast<double>(total) / load_s);
  std::printf("database after load: %.1f MB (+ %.1f MB WAL)\n", static_cast<double>(size_of(path)) / 1e6,
              static_cast<double>(size_of(path + "-wal")) / 1e6);

  // 2. Baselines on the same file system. Empty transaction: BEGIN IMMEDIATE + COMMIT with no write
  //    (no fsync). One-row insert: the cheapest transaction that must reach the disk.
  sqlite3* raw = nullptr;
  check_sqlite(raw, sqlite3_open((dir / "baseline.db").string().c_str(), &raw), "open baseline");
  check_sqlite(raw, sqlite3_exec(raw, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t(x)", nullptr,
                                 nullptr, nullptr),
               "baseline schema");
  std::size_t n = 0;
  const double empty_tps = measure(seconds, n, [&] {
    check_sqlite(raw, sqlite3_exec(raw, "BEGIN IMMEDIATE; COMMIT", nullptr, nullptr, nullptr), "empty tx");
  });
  std::printf("baseline: empty BEGIN IMMEDIATE/COMMIT          %10.0f /s  (%zu)\n", empty_tps, n);
  const double insert_tps = measure(seconds, n, [&] {
    check_sqlite(raw, sqlite3_exec(raw, "BEGIN IMMEDIATE; INSERT INTO t VALUES (1); COMMIT", nullptr, nullptr, nullptr),
                 "insert tx");
  });
  std::printf("baseline: one-row INSERT transaction (fsync)    %10.0f /s  (%zu)\n", insert_tps, n);
  sqlite3_close(raw);

  // 3. check_window (24 h window, read of ~total/30/1000 rows per scope) + debit, one transaction each.
  const SlidingWindow daily{kDay, U256(std::numeric_limits<std::uint64_t>::max())};
  TimeMs now = kStart + kSpan;
  auto check_and_debit = [&](const LedgerKey& key) {
    ++now;
    auto ok = store.transact([&](const StateView& view) -> StateResult<Effects> {
      auto check = check_window(daily, key, U256(5'000'000), now, view);
      if (!check) return std::unexpected(check.error());
      return check->effects;
    });
    if (!ok) die("check+debit", ok.error());
  };
  const double random_tps = measure(seconds, n, [&] { check_and_debit(keys[static_cast<std::size_t>(pick_scope(rng))]); });
  std::printf("check+debit, random scopes (~%ld rows/window)   %10.0f /s  (%zu)\n", total / 30 / kScopes, random_tps, n);
  const double one_tps = measure(seconds, n, [&] { check_and_debit(keys[0]); });
  std::printf("check+debit, one scope (window grows to ~%zu rows) %8.0f /s  (%zu)\n",
              n + static_cast<std::size_t>(total / 30 / kScopes), one_tps, n);

  // 4. Reads alone (the evaluator's view without a debit), and a denied check (nothing written).
  const SlidingWindow tight{kDay, U256(1)};
  const double denied_tps = measure(seconds, n, [&] {
    auto ok = store.transact([&](const StateView& view) -> StateResult<Effects> {
      auto check = check_window(tight, keys[static_cast<std::size_t>(pick_scope(rng))], U256(5), now, view);
      if (!check) return std::unexpected(check.error());
      return check->effects;
    });
    if (!ok) die("denied check", ok.error());
  });
  std::printf("denied check, random scopes (no write)          %10.0f /s  (%zu)\n", denied_tps, n);

  // 5. A very hot scope: `hot` debits inside one 24 h window on one ledger (an exchange wallet paying
  //    out every second), read by a denied check. This is the cost the exact window pays per row.
  const long hot = std::min<long>(total / 10, 100'000);
  const LedgerKey hot_key{"withdrawals/daily-count", keys[1].scope};
  for (long done = 0; done < hot;) {
    Effects batch;
    for (long i = 0; i < kBatch && done < hot; ++i, ++done) {
      batch.emplace_back(Debit{hot_key, U256(1), now - kDay + 1 + kDay * done / hot});
    }
    auto ok = store.transact([&](const StateView&) -> StateResult<Effects> { return std::move(batch); });
    if (!ok) die("hot load", ok.error());
  }
  const double hot_tps = measure(seconds, n, [&] {
    auto ok = store.transact([&](const StateView& view) -> StateResult<Effects> {
      auto check = check_window(tight, hot_key, U256(5), now, view);
      if (!check) return std::unexpected(check.error());
      return check->effects;
    });
    if (!ok) die("hot check", ok.error());
  });
  std::printf("denied check, one scope with %ld rows in window  %10.0f /s  (%zu)\n", hot, hot_tps, n);

  // The baseline design for comparison, on the same rows: the hot scope's window summed row by row
  // over the (ledger, at_ms) index, read through a second connection outside any write transaction.
  {
    sqlite3* db = nullptr;
    check_sqlite(db, sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), "open read-only");
    sqlite3_stmt* stmt = nullptr;
    check_sqlite(db,
                 sqlite3_prepare_v2(db,
                                    "SELECT d.amount FROM debits d JOIN ledgers l ON l.id = d.ledger "
                                    "WHERE l.limit_id = ?1 AND l.scope = ?2 AND d.at_ms > ?3",
                                    -1, &stmt, nullptr),
                 "prepare scan");
    U256 scanned = 0;
    const double scan_tps = measure(seconds, n, [&] {
      sqlite3_bind_text(stmt, 1, hot_key.limit_id.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(stmt, 2, hot_key.scope.text.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_int64(stmt, 3, now - kDay);
      U256 sum = 0;
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt, 0));
        const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0));
        sum += txguard::codec::u256_from_be(txguard::codec::ByteView(data, size));
      }
      sqlite3_reset(stmt);
      scanned = sum;
    });
    std::printf("  baseline design, row-by-row range sum of it   %10.0f /s  (%zu, sum %s)\n", scan_tps, n,
                txguard::codec::to_decimal(scanned).c_str());
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }

  const auto prune_start = Clock::now();
  auto pruned = store.prune(now - kDay);
  if (!pruned) die("prune", pruned.error());
  std::printf("prune of debits older than 24 h: %llu rows in %.2f s\n", static_cast<unsigned long long>(*pruned),
              seconds_since(prune_start));

  std::printf("database after pruning: %.1f MB (+ %.1f MB WAL; freed pages are reused, not returned)\n",
              static_cast<double>(size_of(path)) / 1e6, static_cast<double>(size_of(path + "-wal")) / 1e6);
  opened->reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return 0;
}

// SqlConnection on one SQLite file (contract in sql.hpp).
//
// Durability: WAL journal with synchronous=FULL, so a transaction that returned success survives a
// crash or power loss (in WAL mode synchronous=NORMAL may lose the last transactions on power loss:
// https://sqlite.org/pragma.html#pragma_synchronous). Concurrency: any number of connections, in any
// number of threads or processes, may open the same file; begin_write() takes the database write lock
// up front (BEGIN IMMEDIATE), so check-and-apply is serialized per file; a connection that cannot get
// the lock retries with a bounded, jittered exponential backoff (0.25 ms doubling to 20 ms) until the
// lock timeout, then fails with kUnavailable.
//
// A writable open identifies the file before changing anything in it: a file that is not SQLite or
// is damaged is kCorrupt (also when PRAGMA quick_check fails, with check_integrity), a SQLite database
// of another application (an application_id other than txguard's, or tables without one) is kForeign
// and is left untouched. The stores stamp the identity when they create their tables.
#pragma once

#include <memory>
#include <string>

#include "guard/store/sql.hpp"

namespace txguard::store {

/// txguard's SQLite application_id ("TXGS").
inline constexpr std::int64_t kSqliteApplicationId = 0x54584753;

StateResult<std::unique_ptr<SqlConnection>> open_sqlite(const std::string& path, const DatabaseOptions& options);

}  // namespace txguard::store

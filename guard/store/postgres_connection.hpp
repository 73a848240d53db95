// SqlConnection on PostgreSQL 15 through libpq (contract in sql.hpp).
//
// The URL is libpq's ("postgresql://user@host:5432/txguard?sslmode=verify-full"); it must not carry a
// password (refused: URLs are logged); the password comes from DatabaseOptions::password (read by the
// caller from a file or an environment variable) or from libpq's own sources (.pgpass, certificates).
//
// Session settings made at every (re)connect: synchronous_commit = on (a COMMIT that returned is on
// the primary's disk, and on the synchronous standbys the server is configured to wait for),
// lock_timeout = DatabaseOptions::lock_timeout, application_name = txguard, and for read_only
// connections default_transaction_read_only = on.
//
// begin_write() is BEGIN plus pg_advisory_xact_lock on one key that every txguard writer of the
// database takes: writers are serialized across replicas exactly as SQLite's BEGIN IMMEDIATE
// serializes them across processes, and READ COMMITTED then reads everything committed before the
// lock was granted. The lock ends with the transaction (commit, rollback or a lost connection).
//
// A lost connection (server restart, failover, pg_terminate_backend) fails the call in progress with
// kUnavailable; the next begin_write(), begin_read() or run() outside a transaction reconnects (and
// re-prepares statements), so a replica serves again without a restart.
#pragma once

#include <memory>
#include <string_view>

#include "guard/store/sql.hpp"

namespace txguard::store {

StateResult<std::unique_ptr<SqlConnection>> open_postgres(std::string_view url, const DatabaseOptions& options);

}  // namespace txguard::store

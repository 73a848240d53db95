// SqlConnection on PostgreSQL 15 through libpq (contract in sql.hpp).
//
// The URL is libpq's ("postgresql://user@host:5432/txguard?sslmode=verify-full"); it must not carry a
// password (refused with kIo naming database_password_file / database_password_env, without quoting
// the URL: URLs are logged); the password comes from DatabaseOptions::password (read by the caller
// from a file or an environment variable) or from libpq's own sources (.pgpass, certificates). Any
// other libpq URL parameter (sslmode, sslrootcert, target_session_attrs, several hosts) is libpq's.
// Connection defaults the URL may override: application_name=txguard, connect_timeout=5, TCP
// keepalives and tcp_user_timeout=15000 (a silent network fails the call within about 15 s).
//
// Session settings made at every (re)connect: synchronous_commit = on (a COMMIT that returned is on
// the primary's disk, and on the synchronous standbys the server is configured to wait for; off when
// DatabaseOptions::durable is false), lock_timeout = DatabaseOptions::lock_timeout (at least 1 ms),
// bytea_output = hex, client_min_messages = warning (notices are dropped, never printed), and for
// read_only connections default_transaction_read_only = on (and begin_write() refuses with kIo).
//
// Dialect: the SQL of sql.hpp is rewritten outside literals, quoted identifiers and comments: ?N ->
// $N, BLOB -> BYTEA, INTEGER -> BIGINT. Parameter types are inferred by the server from the statement
// (CAST where nothing fixes them); integers and text are sent as text, bytes in binary; text holding
// a NUL byte is refused with kIo (PostgreSQL text cannot store it). SqlRow reads the text result
// format: integer() parses a whole decimal (a boolean reads 0/1, as on SQLite), blob() decodes a
// bytea column's hex and is nullopt for a column of another type. SQLite-only forms (INSERT OR
// IGNORE, INTEGER PRIMARY KEY as an automatic rowid, AUTOINCREMENT, scalar max()/min(), hex()) are not
// rewritten: they fail here.
//
// Errors by SQLSTATE: 23505 -> kDuplicate; 40001, 40P01, 55P03 (lock timeout), 57014, 57P01-57P03,
// 08xxx and 53xxx but 53100 (disk full) -> kUnavailable; XX001/XX002 -> kCorrupt; any other (25006 a
// write on a read-only connection, 25P02 a statement after a failed one) -> kIo. A call that lost
// the connection is kUnavailable whatever the server said. A COMMIT that lost its connection is
// kUnavailable and its outcome unknown: the caller releases nothing that depends on it. A COMMIT the
// server answered with ROLLBACK (a statement in the transaction had failed) is kIo.
//
// begin_write() is BEGIN plus pg_advisory_xact_lock on one key that every txguard writer of the
// database takes: writers are serialized across replicas exactly as SQLite's BEGIN IMMEDIATE
// serializes them across processes, and READ COMMITTED then reads everything committed before the
// lock was granted. The lock ends with the transaction (commit, rollback or a lost connection).
// begin_read() is BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY: one snapshot, no lock.
//
// A lost connection (server restart, failover, pg_terminate_backend) fails the call in progress with
// kUnavailable; inside a transaction every call fails until rollback(), since the transaction and its
// lock are gone. The next begin_write(), begin_read(), exec_script() or run() outside a transaction
// reconnects (PQreset: the same URL, so a multi-host URL finds the new primary) and re-prepares its
// statements; a BEGIN that finds the connection dead is retried once on the new one (nothing of the
// transaction had run), so a replica serves again without a restart. A run() outside a transaction
// that fails on a dead connection is not retried: it may have run.
#pragma once

#include <memory>
#include <string_view>

#include "guard/store/sql.hpp"

namespace txguard::store {

StateResult<std::unique_ptr<SqlConnection>> open_postgres(std::string_view url, const DatabaseOptions& options);

}  // namespace txguard::store

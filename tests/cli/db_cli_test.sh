#!/usr/bin/env bash
# The command line contract of 'txguard db': a database with real decisions (txguard serve, co-signed
# over HTTP, one of them held) is copied from SQLite to PostgreSQL and back, and each copy exports the
# very same log (records, signed heads, documents) that 'txguard log verify' accepts with the same log
# key; a destination that is not empty is refused (never merge two logs); a source of an older schema
# is refused naming 'txguard db migrate'; serve stops on an older schema naming the command (exit 78)
# and on a newer one saying it is older than the database; 'db migrate' upgrades an old file, once,
# and serve then starts. No password ever appears in an output.
# PostgreSQL: the server of the ctest fixture (TXGUARD_TEST_POSTGRES names its description file);
# without it the SQLite parts run alone.
set -u
txguard=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$2
. "$(dirname "$0")/harness.sh"

ok() { # name, status
  if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}
err_has() { # name, substring expected somewhere in stderr
  local status=0
  grep -qF -- "$2" "$tmp/err" || status=1
  ok "$1: stderr lacks '$2' ($(head -c 400 "$tmp/err"))" $status
}
out_has() { # name, substring expected somewhere in stdout
  local status=0
  grep -qF -- "$2" "$tmp/out" || status=1
  ok "$1: stdout lacks '$2' ($(head -c 400 "$tmp/out"); $(head -c 400 "$tmp/err"))" $status
}

# --- a server with real decisions on the embedded default (SQLite) -------------------------------
check "token new" 0 "$txguard" token new
token=$(sed -n 's/^token: //p' "$tmp/out")
digest=$(sed -n 's/^sha256: //p' "$tmp/out")
printf 'db-test-passphrase-XYZ\n' >"$tmp/pw"
chmod 600 "$tmp/pw"
check "keys new for the server" 0 "$txguard" keys new --out "$tmp/guard.json" --light --passphrase-file "$tmp/pw"
check "keys new for the decision log" 0 "$txguard" keys new --out "$tmp/log-key.json" --light --passphrase-file "$tmp/pw"
check "keys address of the log key" 0 "$txguard" keys address "$tmp/log-key.json"
log_key=$(grep -o '0x[0-9a-fA-F]\{40\}' "$tmp/out" | head -1)

write_config() { # config file, database
  cat >"$1" <<EOF
{"listen": "127.0.0.1:0", "port_file": "port",
 "clients": [{"name": "ops", "token_sha256": "$digest", "role": "requester"}],
 "policy": "$root/deploy/examples/hot-wallet.policy.json",
 "prices": "$root/deploy/examples/prices.json",
 "database": "$2",
 "keystore": {"file": "guard.json", "passphrase_file": "pw"},
 "decision_log": {"key": {"file": "log-key.json", "passphrase_file": "pw"}, "head_every_records": 1}}
EOF
}

server=0
start_server() { # config file
  rm -f "$tmp/port"
  (cd "$tmp" && exec "$txguard" serve --config "$1" >"$tmp/serve.out" 2>"$tmp/serve.err") &
  server=$!
  for _ in $(seq 1 200); do [ -s "$tmp/port" ] && break; kill -0 "$server" 2>/dev/null || break; sleep 0.05; done
  port=$(cat "$tmp/port" 2>/dev/null || echo 0)
  [ "$port" -gt 0 ]
}
stop_server() {
  kill -TERM "$server" 2>/dev/null
  wait "$server"
}

# A USDC transfer from the hot Safe (deploy/examples/hot-wallet.policy.json): amount in 10^-6 USDC.
cosign() { # amount (hex, no 0x), nonce
  local to=14dc79964da2c08b23698b3d3cc7ca32193d9955
  local data="0xa9059cbb000000000000000000000000${to}$(printf '%064s' "$1" | tr ' ' 0)"
  curl -s -o "$tmp/cosign.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/v1/safe/cosign" -d '{"chainId": 1, "safe": "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4",
    "to": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "value": "0", "data": "'"$data"'", "operation": 0,
    "safeTxGas": "0", "baseGas": "0", "gasPrice": "0", "gasToken": "0x0000000000000000000000000000000000000000",
    "refundReceiver": "0x0000000000000000000000000000000000000000", "nonce": '"$2"'}'
}

write_config "$tmp/config.json" txguard.db
start_server "$tmp/config.json"
ok "serve starts on a new SQLite file with no extra step ($(tail -n 3 "$tmp/serve.err"))" $?
status=$(cosign 989680 0)  # 10 USDC: allowed, within the limits
[ "$status" = 200 ]
ok "a small withdrawal is co-signed (got $status: $(head -c 300 "$tmp/cosign.json"))" $?
first_signature=$(grep -o '"signature": *"0x[0-9a-fA-F]*"' "$tmp/cosign.json" | head -1)
[ -n "$first_signature" ]
ok "the co-signature is in the answer ($(head -c 300 "$tmp/cosign.json"))" $?
status=$(cosign 1312d00 1)  # 20 USDC
[ "$status" = 200 ]
ok "a second withdrawal is co-signed (got $status)" $?
status=$(cosign 2e90edd000 2)  # 200,000 USDC: held for approvers
[ "$status" = 202 ]
ok "a large withdrawal is held (got $status: $(head -c 300 "$tmp/cosign.json"))" $?
stop_server
ok "the server stops cleanly" $?

check "db version of the server's database" 0 "$txguard" db version --database "$tmp/txguard.db"
out_has "db version says current" "schema version 2 (this txguard: 2), current"
pending=$(sqlite3 "$tmp/txguard.db" "SELECT count(*) FROM requests WHERE status = 'pending'")
[ "$pending" = 1 ]
ok "the source holds one pending request (got $pending)" $?
check "log export of the SQLite database" 0 "$txguard" log export --database "$tmp/txguard.db" --out "$tmp/export-sqlite"
check "log verify of the SQLite export with the log key" 0 "$txguard" log verify "$tmp/export-sqlite" --key "$log_key"
records=$(wc -l <"$tmp/export-sqlite/records.jsonl")
[ "$records" -ge 3 ]
ok "the log has the decisions ($records records)" $?

# --- usage ---------------------------------------------------------------------------------------
check "db without a subcommand" 64 "$txguard" db
check "db with an unknown subcommand" 64 "$txguard" db merge
check "db copy without --to" 64 "$txguard" db copy --from "$tmp/txguard.db"
check "db copy onto itself" 64 "$txguard" db copy --from "$tmp/txguard.db" --to "$tmp/txguard.db"
check "db migrate without a database" 64 "$txguard" db migrate
check "db migrate with both --config and --database" 64 "$txguard" db migrate --config "$tmp/config.json" --database x.db
check "db migrate of a missing file" 66 "$txguard" db migrate --database "$tmp/none.db"
[ ! -e "$tmp/none.db" ]
ok "db migrate creates no file that was not there" $?
check "db copy from a missing file" 66 "$txguard" db copy --from "$tmp/none.db" --to "$tmp/x.db"
check "db --help" 0 "$txguard" db --help
out_has "the usage names db copy" "txguard db copy --from"

# --- SQLite to SQLite; a destination that is not empty is refused --------------------------------
check "db copy to a new SQLite file" 0 "$txguard" db copy --from "$tmp/txguard.db" --to "$tmp/copy.db"
out_has "the copy names the log's records" "log: $records records"
out_has "the copy says it verified" "verified:"
root_sqlite=$(sed -n 's/^log: .* root //p' "$tmp/out")
check "db copy into a database that is not empty" 73 "$txguard" db copy --from "$tmp/txguard.db" --to "$tmp/copy.db"
err_has "the refusal says why" "never merges two databases"
[ "$(sqlite3 "$tmp/copy.db" 'SELECT count(*) FROM log_records')" = "$records" ]
ok "the refused copy left the destination as it was" $?

# A source whose last signed head does not verify: refused, nothing left behind.
sqlite3 "$tmp/txguard.db" ".backup '$tmp/tampered.db'" && chmod 600 "$tmp/tampered.db" &&
  sqlite3 "$tmp/tampered.db" "UPDATE log_heads SET signature = zeroblob(65) WHERE size = (SELECT max(size) FROM log_heads)"
ok "make a database whose last head's signature is damaged" $?
check "db copy of a log whose last head does not verify" 70 "$txguard" db copy --from "$tmp/tampered.db" --to "$tmp/t-copy.db"
err_has "the refusal says the destination was rolled back" "the destination was rolled back"
[ ! -e "$tmp/t-copy.db" ]
ok "the failed copy left no new file behind" $?

# --- SQLite to PostgreSQL and back ---------------------------------------------------------------
if [ -n "${TXGUARD_TEST_POSTGRES:-}" ] && [ -f "$TXGUARD_TEST_POSTGRES" ]; then
  pg_port=$(sed -n 's/^port=//p' "$TXGUARD_TEST_POSTGRES")
  pg_user=$(sed -n 's/^user=//p' "$TXGUARD_TEST_POSTGRES")
  pg_password=$(sed -n 's/^password=//p' "$TXGUARD_TEST_POSTGRES")
  db_name="dbcli_$$_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
  url="postgresql://$pg_user@127.0.0.1:$pg_port/$db_name"
  PGPASSWORD=$pg_password createdb -h 127.0.0.1 -p "$pg_port" -U "$pg_user" "$db_name"
  ok "createdb $db_name" $?
  check "db copy SQLite -> PostgreSQL" 0 env TXGUARD_TEST_DB_PASSWORD="$pg_password" \
    "$txguard" db copy --from "$tmp/txguard.db" --to "$url" --to-password-env TXGUARD_TEST_DB_PASSWORD
  out_has "the summary names the destination without its user" "-> postgresql://***@127.0.0.1:$pg_port/$db_name"
  out_has "the summary counts the log's records" "log: $records records"
  [ "$(sed -n 's/^log: .* root //p' "$tmp/out")" = "$root_sqlite" ]
  ok "the PostgreSQL copy has the same Merkle root" $?
  ! grep -qF "$pg_password" "$tmp/out" "$tmp/err"
  ok "the database password appears in no output" $?
  check "log export of the PostgreSQL copy (password from PGPASSWORD)" 0 env PGPASSWORD="$pg_password" \
    "$txguard" log export --database "$url" --out "$tmp/export-pg"
  check "log verify of the PostgreSQL export with the same log key" 0 "$txguard" log verify "$tmp/export-pg" --key "$log_key"
  diff -r "$tmp/export-sqlite" "$tmp/export-pg" >/dev/null
  ok "the PostgreSQL copy exports the very same records, heads and documents" $?
  pg_pending=$(PGPASSWORD=$pg_password psql -h 127.0.0.1 -p "$pg_port" -U "$pg_user" -d "$db_name" -tA \
    -c "SELECT count(*) FROM requests WHERE status = 'pending'")
  [ "$pg_pending" = 1 ]
  ok "the hold moved with the copy (pending $pg_pending)" $?

  check "db copy into a PostgreSQL database that is not empty" 73 env TXGUARD_TEST_DB_PASSWORD="$pg_password" \
    "$txguard" db copy --from "$tmp/txguard.db" --to "$url" --to-password-env TXGUARD_TEST_DB_PASSWORD
  err_has "the refusal says never merge" "never merges two databases"
  ! grep -qF "$pg_password" "$tmp/out" "$tmp/err"
  ok "the password appears in no refusal" $?

  db_empty="${db_name}_e"
  PGPASSWORD=$pg_password createdb -h 127.0.0.1 -p "$pg_port" -U "$pg_user" "$db_empty"
  check "db copy of a damaged log into PostgreSQL" 70 env TXGUARD_TEST_DB_PASSWORD="$pg_password" \
    "$txguard" db copy --from "$tmp/tampered.db" --to "postgresql://$pg_user@127.0.0.1:$pg_port/$db_empty" \
    --to-password-env TXGUARD_TEST_DB_PASSWORD
  check "db version of the PostgreSQL database the failed copy rolled back" 0 env PGPASSWORD="$pg_password" \
    "$txguard" db version --database "postgresql://$pg_user@127.0.0.1:$pg_port/$db_empty"
  out_has "it is empty again: the tables went with the rollback" "schema version 0 (this txguard: 2), empty"
  PGPASSWORD=$pg_password dropdb -h 127.0.0.1 -p "$pg_port" -U "$pg_user" "$db_empty" >/dev/null 2>&1

  check "db copy PostgreSQL -> SQLite" 0 env TXGUARD_TEST_DB_PASSWORD="$pg_password" \
    "$txguard" db copy --from "$url" --from-password-env TXGUARD_TEST_DB_PASSWORD --to "$tmp/back.db"
  [ "$(sed -n 's/^log: .* root //p' "$tmp/out")" = "$root_sqlite" ]
  ok "the copy back has the same Merkle root" $?
  check "log export of the copy back" 0 "$txguard" log export --database "$tmp/back.db" --out "$tmp/export-back"
  diff -r "$tmp/export-sqlite" "$tmp/export-back" >/dev/null
  ok "the copy back exports the very same log" $?
  [ "$(stat -c %a "$tmp/back.db")" = 600 ]
  ok "the SQLite file db copy created is the owner's alone (mode $(stat -c %a "$tmp/back.db"))" $?

  # The PostgreSQL copy serves: a replica started on it continues the same log.
  pw_file="$tmp/db-pw"
  (umask 077; printf '%s\n' "$pg_password" >"$pw_file")
  write_config "$tmp/config-pg.json" "$url"
  sed -i 's|"database": |"database_password_file": "db-pw", "database": |' "$tmp/config-pg.json"
  start_server "$tmp/config-pg.json"
  ok "serve starts on the PostgreSQL copy ($(tail -n 3 "$tmp/serve.err"))" $?
  status=$(cosign 989680 3)
  [ "$status" = 200 ]
  ok "the PostgreSQL copy co-signs the next nonce (got $status)" $?
  status=$(cosign 989680 0)
  [ "$status" = 200 ] && [ "$(grep -o '"signature": *"0x[0-9a-fA-F]*"' "$tmp/cosign.json" | head -1)" = "$first_signature" ]
  ok "a retry of a request signed before the copy gets the same signature (got $status)" $?
  status=$(cosign 1312d00 0)
  [ "$status" != 200 ] && grep -q 'nonce-already-signed' "$tmp/cosign.json"
  ok "another request at a nonce signed before the copy is refused (got $status: $(head -c 200 "$tmp/cosign.json"))" $?
  stop_server
  check "log export after serving on the copy" 0 env PGPASSWORD="$pg_password" \
    "$txguard" log export --database "$url" --out "$tmp/export-pg-2"
  check "log verify after serving on the copy" 0 "$txguard" log verify "$tmp/export-pg-2" --key "$log_key"
  PGPASSWORD=$pg_password dropdb -h 127.0.0.1 -p "$pg_port" -U "$pg_user" "$db_name" >/dev/null 2>&1
else
  echo "note: TXGUARD_TEST_POSTGRES not set: the PostgreSQL copies were not run"
fi

# --- an older schema: what the previous txguard wrote ---------------------------------------------
# Version 2 added schema_migrations and the version stamp; taking them away gives version 1 exactly.
sqlite3 "$tmp/txguard.db" ".backup '$tmp/old.db'" && chmod 600 "$tmp/old.db" &&
  sqlite3 "$tmp/old.db" "DROP TABLE schema_migrations; PRAGMA user_version=1;"
ok "make a version-1 database" $?
check "db version of the old file" 0 "$txguard" db version --database "$tmp/old.db"
out_has "db version says older" "schema version 1 (this txguard: 2), older: run txguard db migrate"
check "db copy from an old-schema source" 78 "$txguard" db copy --from "$tmp/old.db" --to "$tmp/from-old.db"
err_has "the refusal names db migrate" "run: txguard db migrate --database $tmp/old.db"
[ ! -e "$tmp/from-old.db" ]
ok "the refused copy created no destination file" $?
write_config "$tmp/config-old.json" old.db
check "serve on an old schema" 78 timeout 60 "$txguard" serve --config "$tmp/config-old.json"
err_has "serve names the command to run" "run: txguard db migrate --config $tmp/config-old.json"
check "db migrate --config on the old file" 0 "$txguard" db migrate --config "$tmp/config-old.json"
out_has "db migrate says what it did" "migrated from schema version 1 to 2"
check "db migrate again" 0 "$txguard" db migrate --config "$tmp/config-old.json"
out_has "db migrate again does nothing" "already at schema version 2; nothing to do"
[ "$(sqlite3 "$tmp/old.db" 'SELECT count(*) FROM log_records')" = "$records" ]
ok "the migrated file kept its log" $?
start_server "$tmp/config-old.json"
ok "serve starts on the migrated file ($(tail -n 3 "$tmp/serve.err"))" $?
stop_server

# --- a newer schema: this txguard is older than the database ---------------------------------------
sqlite3 "$tmp/old.db" "INSERT INTO schema_migrations(version, applied_ms, description) VALUES (3, 0, 'from a newer txguard')"
check "serve on a newer schema" 78 timeout 60 "$txguard" serve --config "$tmp/config-old.json"
err_has "serve says it is older than the database" "this txguard is older than the database"
check "db migrate on a newer schema" 78 "$txguard" db migrate --database "$tmp/old.db"
check "db copy from a newer schema" 78 "$txguard" db copy --from "$tmp/old.db" --to "$tmp/from-newer.db"

# --- not txguard's --------------------------------------------------------------------------------
sqlite3 "$tmp/other.db" "CREATE TABLE customers(name TEXT)"
check "db migrate on another application's database" 78 "$txguard" db migrate --database "$tmp/other.db"
err_has "it says so" "not a txguard database"
check "db copy into another application's database" 78 "$txguard" db copy --from "$tmp/txguard.db" --to "$tmp/other.db"

! grep -qF "db-test-passphrase-XYZ" "$tmp/out" "$tmp/err" "$tmp/serve.out" "$tmp/serve.err"
ok "the keystore passphrase appears in no output" $?
finish

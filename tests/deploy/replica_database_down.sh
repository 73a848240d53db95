#!/usr/bin/env bash
# ctest deploy/replica_database_down_fails_closed_and_recovers: one `txguard serve` on a PostgreSQL
# server of this test's own; the server is stopped under it. While it is down a co-sign request is
# answered 503 with nothing signed and /readyz is not ready (503); once the server is back the
# replica co-signs again and /readyz is ready, without a restart of the replica (issue 14, "fail
# closed": database unreachable -> 503, nothing signed, /readyz not ready).
#
#   tests/deploy/replica_database_down.sh TXGUARD SOURCE_DIR
set -uo pipefail
txguard=$(cd "$(dirname "${1:?usage: replica_database_down.sh TXGUARD SOURCE_DIR}")" && pwd)/$(basename "$1")
src=$(cd "${2:?usage: replica_database_down.sh TXGUARD SOURCE_DIR}" && pwd)
pg_bin=${TXGUARD_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d /tmp/txguard-dbdown-XXXXXX)
chmod 711 "$work"
server=
cleanup() {
  [ -n "$server" ] && kill -KILL "$server" 2>/dev/null
  bash "$src/tests/tools/test_postgres.sh" stop "$work/pg.env"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' TERM INT  # a timeout (ctest) still stops the servers
fail=0
problem() { echo "FAIL: $*"; fail=1; }

umask 077
bash "$src/tests/tools/test_postgres.sh" start "$work/pg.env" || { echo "FAIL: no PostgreSQL server" >&2; exit 1; }
pg_port=$(sed -n 's/^port=//p' "$work/pg.env")
pg_user=$(sed -n 's/^user=//p' "$work/pg.env")
pg_dir=$(sed -n 's/^dir=//p' "$work/pg.env")
sed -n 's/^password=//p' "$work/pg.env" > "$work/db-pw"
pg_as=()
[ "$(id -u)" = 0 ] && pg_as=(runuser -u postgres --)
pg_ctl() { (cd "$pg_dir" && "${pg_as[@]}" "$pg_bin/pg_ctl" "$@" -w -t 30 -D "$pg_dir/data" -l "$pg_dir/server.log" > /dev/null); }

printf 'database-down-passphrase\n' > "$work/pw"
"$txguard" keys new --out "$work/guard.json" --light --passphrase-file "$work/pw" > /dev/null 2>&1
"$txguard" keys new --out "$work/log-key.json" --light --passphrase-file "$work/pw" > /dev/null 2>&1
"$txguard" token new > "$work/token.out"
token=$(sed -n 's/^token: //p' "$work/token.out")
digest=$(sed -n 's/^sha256: //p' "$work/token.out")
cat > "$work/config.json" <<EOF
{"listen": "127.0.0.1:0", "port_file": "$work/port",
 "clients": [{"name": "ops", "token_sha256": "$digest", "role": "requester"}],
 "policy": "$src/deploy/examples/hot-wallet.policy.json",
 "database": "postgresql://$pg_user@127.0.0.1:$pg_port/postgres", "database_password_file": "$work/db-pw",
 "keystore": {"file": "$work/guard.json", "passphrase_file": "$work/pw"},
 "decision_log": {"key": {"file": "$work/log-key.json", "passphrase_file": "$work/pw"}}, "log": {"level": "warn"}}
EOF
( cd "$work" && exec "$txguard" serve --config "$work/config.json" > "$work/out" 2> "$work/err" ) &
server=$!
for _ in $(seq 1 400); do [ -s "$work/port" ] && break; sleep 0.025; done
[ -s "$work/port" ] || { echo "FAIL: the replica did not start: $(tail -n 3 "$work/err")"; exit 1; }
port=$(cat "$work/port")

cosign() { # nonce; prints the status, the body in $work/answer.json (a sweep to a cold wallet)
  curl -s -o "$work/answer.json" -w '%{http_code}' -m 20 -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/v1/safe/cosign" -d "{\"chainId\": 1, \"safe\": \"0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4\",
    \"to\": \"0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48\", \"value\": \"0\", \"operation\": 0, \"safeTxGas\": \"0\",
    \"baseGas\": \"0\", \"gasPrice\": \"0\", \"gasToken\": \"0x0000000000000000000000000000000000000000\",
    \"refundReceiver\": \"0x0000000000000000000000000000000000000000\", \"nonce\": $1,
    \"data\": \"0xa9059cbb0000000000000000000000009965507d1a55bcc2695c58ba16fb37d819b0a4dc0000000000000000000000000000000000000000000000000000000000000001\"}"
}
readyz() { curl -s -o /dev/null -w '%{http_code}' -m 10 "http://127.0.0.1:$port/readyz"; }

status=$(cosign 0)
[ "$status" = 200 ] || problem "with the database up the first co-sign answered $status: $(head -c 300 "$work/answer.json")"
[ "$(readyz)" = 200 ] || problem "with the database up /readyz is not 200"

pg_ctl stop -m fast || { echo "FAIL: pg_ctl stop"; exit 1; }
status=$(cosign 1)
[ "$status" = 503 ] || problem "with the database down a co-sign answered $status, not 503: $(head -c 300 "$work/answer.json")"
! grep -q '"signature"' "$work/answer.json" || problem "with the database down an answer carries a signature"
status=$(readyz)
[ "$status" = 503 ] || problem "with the database down (and a co-sign already failed on it) /readyz answers $status, not 503"

# pg_ctl start does not reuse the options the server was started with (restart does): give them again.
pg_ctl start -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$pg_dir -c fsync=on -c max_connections=300" ||
  { echo "FAIL: pg_ctl start"; exit 1; }
back=
for attempt in $(seq 1 60); do
  status=$(cosign $((100 + attempt)))
  [ "$status" = 200 ] && { back=$attempt; break; }
  sleep 0.25
done
[ -n "$back" ] || problem "with the database back the replica does not co-sign within 15 s (last $status: $(head -c 300 "$work/answer.json"))"
[ "$(readyz)" = 200 ] || problem "with the database back /readyz is not 200"
kill -0 "$server" 2>/dev/null || problem "the replica is gone"
kill -TERM "$server"
wait "$server" || problem "the replica did not stop with exit 0"
server=
echo "database down: co-sign 503 and /readyz checked; back after ${back:-?} attempts"
[ "$fail" -eq 0 ] && echo passed
exit "$fail"

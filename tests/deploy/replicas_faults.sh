#!/usr/bin/env bash
# ctest deploy/replicas_faults_{sqlite,postgresql}: three `txguard serve` replicas with one
# configuration on one database take a load of 32 concurrent clients (tests/js/replicas_faults.mjs:
# many Safe nonces, the same nonce raced with different SafeTxs across replicas, identical retries to
# another replica) while faults are injected, each at least CYCLES times:
#   - kill -9 of a random replica mid-load, then a restart of it (both modes);
#   - PostgreSQL restarted (pg_ctl restart -m fast) under the replicas (postgresql);
#   - every replica's connection cut (pg_terminate_backend) (postgresql).
# The replicas are never restarted for the database faults: they must serve again by themselves.
# Afterwards: every answer was 200, 403 or 503 (or no answer from a killed replica); every signature a
# client received is in a committed decision record of the exported log; no (Safe, nonce) is signed
# twice; the daily limit is not overshot (and was reached); identical bodies got identical
# signatures; every replica serves again; each stops with exit 0 on SIGTERM; `txguard log verify`
# passes with the pinned log key and `txguard replay` reproduces every record. The counts are printed.
#
#   tests/deploy/replicas_faults.sh TXGUARD SOURCE_DIR sqlite|postgresql
#
# postgresql starts a PostgreSQL 15 server of its own (tests/tools/test_postgres.sh: it restarts it,
# which the server the other tests share must never see). Environment: TXGUARD_FAULT_CYCLES (default
# 20), TXGUARD_FAULT_CLIENTS (32), TXGUARD_FAULT_KEEP=1 keeps the work directory (printed).
set -uo pipefail
txguard=$(cd "$(dirname "${1:?usage: replicas_faults.sh TXGUARD SOURCE_DIR sqlite|postgresql}")" && pwd)/$(basename "$1")
src=$(cd "${2:?usage: replicas_faults.sh TXGUARD SOURCE_DIR sqlite|postgresql}" && pwd)
mode=${3:?usage: replicas_faults.sh TXGUARD SOURCE_DIR sqlite|postgresql}
case "$mode" in sqlite|postgresql) ;; *) echo "usage: replicas_faults.sh TXGUARD SOURCE_DIR sqlite|postgresql" >&2; exit 64 ;; esac
cycles=${TXGUARD_FAULT_CYCLES:-20}
clients=${TXGUARD_FAULT_CLIENTS:-32}
replicas=3
max_usd=100000
helper=$src/tests/js/replicas_faults.mjs
pg_bin=${TXGUARD_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}
for tool in node curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool is missing: run deploy/setup.sh --test" >&2; exit 1; }
done
[ -d "$src/tests/js/node_modules/viem" ] || { echo "FAIL: tests/js/node_modules is missing: run deploy/setup.sh --test" >&2; exit 1; }
if [ "$mode" = postgresql ]; then
  command -v psql >/dev/null 2>&1 || { echo "FAIL: psql is missing: run deploy/setup.sh --test" >&2; exit 1; }
fi

work=$(mktemp -d /tmp/txguard-faults-XXXXXX)
chmod 711 "$work"
pids=()
load_pid=
fail=0
problem() { echo "FAIL: $*"; fail=1; }
cleanup() {
  [ -n "$load_pid" ] && kill -KILL "$load_pid" 2>/dev/null
  for pid in "${pids[@]}"; do [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; done
  [ "$mode" = postgresql ] && bash "$src/tests/tools/test_postgres.sh" stop "$work/pg.env"
  if [ "${TXGUARD_FAULT_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' TERM INT  # a timeout (ctest) still stops the servers
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
t0=$(now)

# Keys, a requester token, the policy: USDC from one Safe, sweeps to the cold wallet unlimited,
# withdrawals within daily-usd (100,000 USD), the demo's OFAC and DPRK lists denied.
umask 077
printf 'replicas-faults-passphrase\n' > "$work/pw"
"$txguard" keys new --out "$work/guard.json" --light --passphrase-file "$work/pw" > /dev/null 2>&1 &&
  "$txguard" keys new --out "$work/log-key.json" --light --passphrase-file "$work/pw" > /dev/null 2>&1 ||
  { echo "FAIL: txguard keys new" >&2; exit 1; }
log_key=$("$txguard" keys address "$work/log-key.json")
signer=$("$txguard" keys address "$work/guard.json")
"$txguard" token new > "$work/token.out"
sed -n 's/^token: //p' "$work/token.out" > "$work/token"
digest=$(sed -n 's/^sha256: //p' "$work/token.out")
cat > "$work/policy.json" <<EOF
{
  "txguard_policy": 1,
  "name": "replicas-faults",
  "chains": {"ethereum": {"id": 1}},
  "assets": {"USDC": {"chain": "ethereum", "address": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "decimals": 6}},
  "prices": {"fixed": {"USDC": "1"}},
  "lists": {
    "ofac-sanctioned": {"file": "$src/deploy/lists/ofac-sdn-eth.list"},
    "dprk-attributed": {"file": "$src/deploy/lists/fbi-dprk.list"},
    "cold-wallets": {"addresses": ["0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"]}
  },
  "wallets": {"hot": {"chain": "ethereum", "address": "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4",
                      "kind": "safe", "safe_version": "1.4.1"}},
  "limits": {"daily-usd": {"window": "24h", "max_usd": "$max_usd", "per": ["wallet"]}},
  "rules": [
    {"id": "deny-sanctioned", "match": {"any_address": "ofac-sanctioned"}, "effect": "deny", "reason": "sanctioned-address"},
    {"id": "deny-dprk", "match": {"any_address": "dprk-attributed"}, "effect": "deny", "reason": "dprk-attributed-address"},
    {"id": "sweep-to-cold", "match": {"leg": "transfer", "asset": ["USDC"], "counterparty": "cold-wallets"}, "effect": "allow"},
    {"id": "withdrawal", "match": {"leg": "transfer", "asset": ["USDC"]}, "effect": "allow", "limits": ["daily-usd"]}
  ]
}
EOF

# The database: one SQLite file, or one database on a PostgreSQL server of this test's own.
db_extra=
if [ "$mode" = sqlite ]; then
  database=$work/txguard.db
else
  bash "$src/tests/tools/test_postgres.sh" start "$work/pg.env" || { echo "FAIL: no PostgreSQL server" >&2; exit 1; }
  pg_port=$(sed -n 's/^port=//p' "$work/pg.env")
  pg_user=$(sed -n 's/^user=//p' "$work/pg.env")
  pg_dir=$(sed -n 's/^dir=//p' "$work/pg.env")
  sed -n 's/^password=//p' "$work/pg.env" > "$work/db-pw"
  export PGPASSWORD
  PGPASSWORD=$(cat "$work/db-pw")
  psql_admin() { psql -X -q -At -h 127.0.0.1 -p "$pg_port" -U "$pg_user" -d postgres -v ON_ERROR_STOP=1 -c "$1"; }
  psql_admin "CREATE DATABASE txguard_faults" || { echo "FAIL: CREATE DATABASE" >&2; exit 1; }
  database="postgresql://$pg_user@127.0.0.1:$pg_port/txguard_faults"
  db_extra=", \"database_password_file\": \"$work/db-pw\""
fi

# One configuration; the replicas differ only in listen port and port file. The first start of each
# takes any free port; its restarts take the same one.
write_config() { # replica, listen port
  mkdir -p "$work/r$1"
  cat > "$work/r$1/config.json" <<EOF
{"listen": "127.0.0.1:$2", "port_file": "$work/r$1/port",
 "clients": [{"name": "load", "token_sha256": "$digest", "role": "requester"}],
 "policy": "$work/policy.json",
 "database": "$database"$db_extra,
 "keystore": {"file": "$work/guard.json", "passphrase_file": "$work/pw"},
 "decision_log": {"key": {"file": "$work/log-key.json", "passphrase_file": "$work/pw"},
                  "head_every_records": 1000, "head_every_seconds": 2},
 "limits": {"requests_per_second": 1000000, "burst": 2000000},
 "log": {"level": "warn"}}
EOF
}
ports=()
start_replica() { # replica; waits until it has written its port file (it is then listening)
  local i=$1
  rm -f "$work/r$i/port"
  ( cd "$work/r$i" && exec "$txguard" serve --config "$work/r$i/config.json" >> "$work/r$i/out" 2>> "$work/r$i/err" ) &
  pids[i]=$!
  for _ in $(seq 1 400); do
    [ -s "$work/r$i/port" ] && break
    kill -0 "${pids[i]}" 2>/dev/null || break
    sleep 0.025
  done
  if [ ! -s "$work/r$i/port" ]; then
    problem "replica $i did not start: $(tail -n 3 "$work/r$i/err")"
    return 1
  fi
  ports[i]=$(cat "$work/r$i/port")
}
for i in $(seq 0 $((replicas - 1))); do
  write_config "$i" 0
  start_replica "$i" || exit 1
  write_config "$i" "${ports[i]}"
done
echo "replicas on $mode: ports ${ports[*]}, pids ${pids[*]}"

cosign_once() { # replica, nonce: a sweep (never limited) at a nonce of its own; prints the status
  curl -s -o "$work/probe.json" -w '%{http_code}' -m 10 -H "Authorization: Bearer $(cat "$work/token")" \
    "http://127.0.0.1:${ports[$1]}/v1/safe/cosign" -d "{\"chainId\": 1, \"safe\": \"0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4\",
    \"to\": \"0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48\", \"value\": \"0\", \"operation\": 0, \"safeTxGas\": \"0\",
    \"baseGas\": \"0\", \"gasPrice\": \"0\", \"gasToken\": \"0x0000000000000000000000000000000000000000\",
    \"refundReceiver\": \"0x0000000000000000000000000000000000000000\", \"nonce\": $2,
    \"data\": \"0xa9059cbb0000000000000000000000009965507d1a55bcc2695c58ba16fb37d819b0a4dc0000000000000000000000000000000000000000000000000000000000000001\"}"
}
probe_nonce=1000000000
# Every replica co-signs again, by itself, within 15 s (503 while the database is away is fine).
serves_again() { # what happened before
  local i status start tries
  for i in $(seq 0 $((replicas - 1))); do
    start=$(now)
    tries=0
    while :; do
      probe_nonce=$((probe_nonce + 1))
      tries=$((tries + 1))
      status=$(cosign_once "$i" "$probe_nonce")
      [ "$status" = 200 ] && break
      if [ "$status" != 503 ] && [ "$status" != 000 ]; then
        problem "after $1 replica $i answered $status: $(head -c 300 "$work/probe.json")"
        return 1
      fi
      if awk -v a="$start" -v b="$(now)" 'BEGIN { exit !(b - a > 15) }'; then
        problem "after $1 replica $i (pid ${pids[i]}) does not serve again by itself within 15 s (last: $status $(head -c 200 "$work/probe.json"))"
        return 1
      fi
      sleep 0.1
    done
    [ "$tries" -gt 1 ] && echo "  replica $i served again after $tries probes ($(since "$start") s) after $1"
  done
  return 0
}
pause() { sleep "$(awk -v r="$RANDOM" -v lo="$1" -v hi="$2" 'BEGIN { printf "%.2f", lo + (hi - lo) * r / 32767 }')"; }

# The load, until the faults are over; the limit runs out about halfway through the faults.
if [ "$mode" = postgresql ]; then reach_after=$((cycles * 2)); else reach_after=$((cycles * 9 / 10)); fi
node "$helper" load --ports "$(IFS=,; echo "${ports[*]}")" --token-file "$work/token" --clients "$clients" --max-usd "$max_usd" --reach-after "$reach_after" \
  --out "$work/answers.jsonl" --stop-file "$work/stop" --summary "$work/load.json" > "$work/load.out" 2>&1 &
load_pid=$!
sleep 1

# Fault 1: kill -9 of a random replica mid-load, restarted on its port.
t_faults=$(now)
kills=0
for c in $(seq 1 "$cycles"); do
  pause 0.3 0.9
  i=$((RANDOM % replicas))
  kill -KILL "${pids[i]}"
  wait "${pids[i]}" 2>/dev/null
  kills=$((kills + 1))
  pause 0.05 0.3
  start_replica "$i" || break
done
echo "kill -9 and restart of a replica: $kills cycles in $(since "$t_faults") s"
serves_again "the kill -9 cycles" || true

restarts=0
terminates=0
if [ "$mode" = postgresql ]; then
  stable=("${pids[@]}")
  pg_as=()
  [ "$(id -u)" = 0 ] && pg_as=(runuser -u postgres --)
  # Fault 2: the server restarted (fast: open sessions are cut, the replicas' connections die).
  t_pg=$(now)
  for c in $(seq 1 "$cycles"); do
    pause 0.3 0.8
    (cd "$pg_dir" && "${pg_as[@]}" "$pg_bin/pg_ctl" restart -m fast -w -t 30 -D "$pg_dir/data" -l "$pg_dir/server.log" > /dev/null) ||
      { problem "pg_ctl restart failed"; break; }
    restarts=$((restarts + 1))
  done
  echo "PostgreSQL restarted under the replicas: $restarts cycles in $(since "$t_pg") s"
  serves_again "the PostgreSQL restarts" || true
  # Fault 3: every connection to the database cut.
  t_pg=$(now)
  cut=0
  for c in $(seq 1 "$cycles"); do
    pause 0.2 0.6
    n=$(psql_admin "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'txguard_faults' AND pid <> pg_backend_pid()") ||
      { problem "pg_terminate_backend failed"; break; }
    cut=$((cut + n))
    terminates=$((terminates + 1))
  done
  echo "connections cut (pg_terminate_backend): $terminates cycles, $cut connections in $(since "$t_pg") s"
  [ "$cut" -ge "$terminates" ] || problem "pg_terminate_backend found only $cut connections in $terminates cycles"
  serves_again "the connections were cut" || true
  for i in $(seq 0 $((replicas - 1))); do
    [ "${pids[i]}" = "${stable[i]}" ] && kill -0 "${pids[i]}" 2>/dev/null ||
      problem "replica $i is not the process it was before the database faults"
  done
fi
fault_seconds=$(since "$t_faults")

touch "$work/stop"
wait "$load_pid"
load_status=$?
load_pid=
cat "$work/load.out"
[ "$load_status" = 0 ] || problem "the load stopped with status $load_status"
grep -q '"gaveUp":0' "$work/load.json" || problem "some request was never answered 200 or 403, in 200 tries over the replicas"

# Every replica stops with exit 0 on SIGTERM (and signs its last tree head).
for i in $(seq 0 $((replicas - 1))); do
  kill -TERM "${pids[i]}"
  wait "${pids[i]}"
  status=$?
  [ "$status" = 0 ] || problem "replica $i exited $status on SIGTERM: $(tail -n 3 "$work/r$i/err")"
  pids[i]=
done
if grep -h -i -E 'sanitizer|runtime error' "$work"/r*/err > /dev/null; then
  problem "a sanitizer report in a replica's stderr: $(grep -h -i -E -m 3 'sanitizer|runtime error' "$work"/r*/err)"
fi

# The log, exported, verified with the pinned key, replayed; then the answers against it.
t_check=$(now)
"$txguard" log export --config "$work/r0/config.json" --out "$work/export" > "$work/export.out" 2>&1 ||
  problem "log export: $(cat "$work/export.out")"
"$txguard" log verify "$work/export" --key "$log_key" > "$work/verify.out" 2>&1 ||
  problem "log verify: $(tail -n 5 "$work/verify.out")"
t_replay=$(now)
"$txguard" replay "$work/export" > "$work/replay.out" 2>&1 ||
  problem "replay: $(tail -n 10 "$work/replay.out")"
replay_seconds=$(since "$t_replay")
node "$helper" check --answers "$work/answers.jsonl" --export "$work/export" --limit daily-usd \
  --max-usd "$max_usd" --summary "$work/check.json" || fail=1
grep -q "$signer" "$work/export/records.jsonl" || problem "no record names the signer $signer"

echo "$(head -n 1 "$work/export.out"); $(head -n 1 "$work/verify.out"); $(grep -m 1 -i 'reproduced' "$work/replay.out") (replay $replay_seconds s)"
echo "$mode: $replicas replicas, $clients clients; faults: kill -9 $kills, server restarts $restarts, connections cut $terminates" \
     "(cycles each: $cycles); faults ran $fault_seconds s; checks $(since "$t_check") s; total $(since "$t0") s"
if [ "$fail" -ne 0 ]; then
  TXGUARD_FAULT_KEEP=1
  echo "FAILED ($mode)"
  exit 1
fi
echo "passed ($mode)"

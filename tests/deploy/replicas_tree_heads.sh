#!/usr/bin/env bash
# ctest deploy/replicas_tree_heads_never_go_back_in_time: two `txguard serve` replicas on one SQLite
# file, a tree head after every batch ("head_every_records": 1), 16 concurrent clients for a few
# seconds, no fault at all; then `txguard log verify` of the export must pass. It is the smallest
# reproduction of what tests/deploy/replicas_faults.sh found on PostgreSQL: a replica takes its batch
# time before it waits for the database's write lock, so a head it signs after another replica's
# can carry an earlier time ("tree head N does not follow tree head N-1: heads must grow in size and
# never go back in time"), and the log no longer verifies.
#
#   tests/deploy/replicas_tree_heads.sh TXGUARD SOURCE_DIR
set -uo pipefail
txguard=$(cd "$(dirname "${1:?usage: replicas_tree_heads.sh TXGUARD SOURCE_DIR}")" && pwd)/$(basename "$1")
src=$(cd "${2:?usage: replicas_tree_heads.sh TXGUARD SOURCE_DIR}" && pwd)
helper=$src/tests/js/replicas_faults.mjs
command -v node >/dev/null 2>&1 || { echo "FAIL: node is missing: run deploy/setup.sh --test" >&2; exit 1; }
[ -d "$src/tests/js/node_modules/viem" ] || { echo "FAIL: tests/js/node_modules is missing: run deploy/setup.sh --test" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' TERM INT  # a timeout (ctest) still stops the servers
fail=0
problem() { echo "FAIL: $*"; fail=1; }

umask 077
printf 'replicas-heads-passphrase\n' > "$work/pw"
"$txguard" keys new --out "$work/guard.json" --light --passphrase-file "$work/pw" > /dev/null 2>&1
"$txguard" keys new --out "$work/log-key.json" --light --passphrase-file "$work/pw" > /dev/null 2>&1
log_key=$("$txguard" keys address "$work/log-key.json")
"$txguard" token new > "$work/token.out"
sed -n 's/^token: //p' "$work/token.out" > "$work/token"
digest=$(sed -n 's/^sha256: //p' "$work/token.out")
cat > "$work/policy.json" <<EOF
{"txguard_policy": 1, "name": "replicas-heads", "chains": {"ethereum": {"id": 1}},
 "assets": {"USDC": {"chain": "ethereum", "address": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "decimals": 6}},
 "prices": {"fixed": {"USDC": "1"}},
 "wallets": {"hot": {"chain": "ethereum", "address": "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4",
                     "kind": "safe", "safe_version": "1.4.1"}},
 "rules": [{"id": "withdrawal", "match": {"leg": "transfer", "asset": ["USDC"]}, "effect": "allow"}]}
EOF
ports=()
for i in 0 1; do
  mkdir -p "$work/r$i"
  cat > "$work/r$i/config.json" <<EOF
{"listen": "127.0.0.1:0", "port_file": "$work/r$i/port",
 "clients": [{"name": "load", "token_sha256": "$digest", "role": "requester"}],
 "policy": "$work/policy.json", "database": "$work/txguard.db",
 "keystore": {"file": "$work/guard.json", "passphrase_file": "$work/pw"},
 "decision_log": {"key": {"file": "$work/log-key.json", "passphrase_file": "$work/pw"},
                  "head_every_records": 1, "head_every_seconds": 1},
 "limits": {"requests_per_second": 1000000, "burst": 2000000}, "log": {"level": "warn"}}
EOF
  ( cd "$work/r$i" && exec "$txguard" serve --config "$work/r$i/config.json" > "$work/r$i/out" 2> "$work/r$i/err" ) &
  pids[i]=$!
  for _ in $(seq 1 400); do [ -s "$work/r$i/port" ] && break; sleep 0.025; done
  [ -s "$work/r$i/port" ] || { echo "FAIL: replica $i did not start: $(tail -n 3 "$work/r$i/err")"; exit 1; }
  ports[i]=$(cat "$work/r$i/port")
done

( sleep 4; touch "$work/stop" ) &
node "$helper" load --ports "${ports[0]},${ports[1]}" --token-file "$work/token" --clients 16 \
  --out "$work/answers.jsonl" --stop-file "$work/stop" || problem "the load failed"
for i in 0 1; do
  kill -TERM "${pids[i]}"
  wait "${pids[i]}" || problem "replica $i did not stop with exit 0"
  pids[i]=
done
"$txguard" log export --config "$work/r0/config.json" --out "$work/export" > "$work/export.out" 2>&1 ||
  problem "log export: $(cat "$work/export.out")"
"$txguard" log verify "$work/export" --key "$log_key" > "$work/verify.out" 2>&1 ||
  problem "the log of two replicas does not verify: $(head -n 3 "$work/verify.out")"
echo "$(head -n 1 "$work/export.out"); $(head -n 1 "$work/verify.out")"
[ "$fail" -eq 0 ] && echo passed
exit "$fail"

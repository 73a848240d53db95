#!/usr/bin/env bash
# The command line contract of 'txguard serve' and 'txguard token': a bad configuration, policy,
# keystore or passphrase stops start-up with its own exit code (64 usage, 65 bad data, 66 unreadable,
# 69 cannot bind) and names the field or file; the passphrase never appears in any output; a good
# configuration listens, writes its port file, answers /healthz, and SIGTERM stops it with exit 0.
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
  ok "$1: stderr lacks '$2' ($(head -c 300 "$tmp/err"))" $status
}
out_has() { # name, substring expected somewhere in stdout
  local status=0
  grep -qF -- "$2" "$tmp/out" || status=1
  ok "$1: stdout lacks '$2' ($(head -c 300 "$tmp/out"); $(head -c 300 "$tmp/err"))" $status
}

# token new: a 32-byte token and the SHA-256 of exactly that token.
check "token new" 0 "$txguard" token new
token=$(sed -n 's/^token: //p' "$tmp/out")
digest=$(sed -n 's/^sha256: //p' "$tmp/out")
[ "$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)" = "$digest" ]
ok "token new: sha256 is the SHA-256 of the token" $?
check "token new twice gives another token" 0 "$txguard" token new
[ "$(sed -n 's/^token: //p' "$tmp/out")" != "$token" ]
ok "token new: two tokens differ" $?
check "token new for an admin" 0 "$txguard" token new
admin_token=$(sed -n 's/^token: //p' "$tmp/out")
admin_digest=$(sed -n 's/^sha256: //p' "$tmp/out")
check "token without new" 64 "$txguard" token
check "token with an unknown word" 64 "$txguard" token old

printf 'serve-test-passphrase-XYZ\n' >"$tmp/pw"
check "keys new for the server" 0 "$txguard" keys new --out "$tmp/guard.json" --light --passphrase-file "$tmp/pw"
printf 'wrong-passphrase\n' >"$tmp/wrong-pw"
chmod 600 "$tmp/pw" "$tmp/wrong-pw"
check "keys new for the decision log" 0 "$txguard" keys new --out "$tmp/log-key.json" --light --passphrase-file "$tmp/pw"

write_config() { # extra JSON members (with a leading comma), keystore passphrase file
  cat >"$tmp/config.json" <<EOF
{"listen": "127.0.0.1:0", "port_file": "port",
 "clients": [{"name": "ops", "token_sha256": "$digest", "role": "requester"},
             {"name": "root", "token_sha256": "$admin_digest", "role": "admin"}],
 "policy": "$root/deploy/examples/hot-wallet.policy.json",
 "prices": "$root/deploy/examples/prices.json",
 "database": "txguard.db",
 "keystore": {"file": "guard.json", "passphrase_file": "${2:-pw}"},
 "decision_log": {"key": {"file": "${3:-log-key.json}", "passphrase_file": "pw"}} $1}
EOF
}

check "serve without --config" 64 "$txguard" serve
check "serve with an unknown argument" 64 "$txguard" serve --port 1
check "serve with a missing config file" 66 "$txguard" serve --config "$tmp/none.json"

write_config ', "surprise": 1'
check "an unknown config field" 65 "$txguard" serve --config "$tmp/config.json"
err_has "an unknown config field is named" '$.surprise: unknown field'

# A bridge's source chain is confirmed over TLS (plain http on loopback only) by two hosts at least,
# unless the configuration accepts a single source in so many words.
write_config ', "bridge": {"rpc": {"1": ["http://node.example:8545", "https://a.example/key"], "5": ["https://only.example"], "10": ["http://127.0.0.1:8545", "http://localhost:8545/"]}}'
check "bridge source endpoints over plain http or from one source" 65 "$txguard" serve --config "$tmp/config.json"
err_has "plain http to a remote host is refused" '$.bridge.rpc.1[0]: plain http:// to a host that is not loopback'
err_has "one host alone is refused" '$.bridge.rpc.5: deposits on chain 5 would be confirmed by one source (only.example) alone'
err_has "one loopback node under two names is one source" '$.bridge.rpc.10: deposits on chain 10 would be confirmed by one source (loopback port 8545) alone'
write_config ', "bridge": {"rpc": {"5": ["https://only.example"]}, "accept_single_source": "yes"}'
check "accept_single_source must be a boolean" 65 "$txguard" serve --config "$tmp/config.json"
err_has "the opt-out is named" '$.bridge.accept_single_source: expected true or false'

write_config ', "limits": {"max_connections": 0}, "log": {"level": "loud"}'
check "two bad config values" 65 "$txguard" serve --config "$tmp/config.json"
err_has "a bad limit is named" '$.limits.max_connections'
err_has "a bad log level is named in the same run" '$.log.level'

write_config ''
sed -i 's|"listen": "127.0.0.1:0"|"listen": "0.0.0.0:0"|' "$tmp/config.json"
check "a non-loopback listen without tls" 65 "$txguard" serve --config "$tmp/config.json"
err_has "the plain listen names what to write instead" '$.listen: "0.0.0.0" is not a loopback address'
err_has "the opt-out is named" '"insecure_plaintext": true'

write_config ', "tls": {"cert": "s.crt", "key": "s.key", "client_ca": "ca.crt", "require_client_cert": true}'
check "required client certificates without a client bound to one" 65 "$txguard" serve --config "$tmp/config.json"
err_has "the missing binding names what to write" '$.clients[0].cert_sha256: required with $.tls.require_client_cert: write "cert_sha256"'

cat >"$tmp/config.json" <<EOF
{"listen": "127.0.0.1:99999", "clients": [{"name": "a", "token_sha256": "12", "role": "king"}],
 "policy": "p.json", "database": "d.db", "keystore": {"file": "k.json"}}
EOF
check "several config problems" 65 "$txguard" serve --config "$tmp/config.json"
err_has "bad port" '$.listen'
err_has "bad token digest" '$.clients[0].token_sha256'
err_has "bad role" '$.clients[0].role'
err_has "no passphrase source" '$.keystore'

# Approver clients are bound to a policy approver: the older form without the binding is refused with
# what to write instead; a binding must name an approver of the policy, once.
write_config ''
sed -i "s|\"role\": \"admin\"}|\"role\": \"admin\"}, {\"name\": \"alice-laptop\", \"token_sha256\": \"$(printf '%064d' 1)\", \"role\": \"approver\"}|" "$tmp/config.json"
check "an approver client without its approver" 65 "$txguard" serve --config "$tmp/config.json"
err_has "the binding is asked for" '$.clients[2].approver: required for role approver: write "approver": "<name>"'
sed -i 's|"role": "approver"}|"role": "approver", "approver": "mallory"}|' "$tmp/config.json"
check "an approver client bound to no approver of the policy" 65 "$txguard" serve --config "$tmp/config.json"
err_has "the unknown approver is named" '$.clients[2].approver: "mallory" is not an approver of the policy'

write_config '' pw guard.json
check "the co-signing key as the log key" 65 "$txguard" serve --config "$tmp/config.json"
err_has "the log key is named" '$.decision_log.key: the log key must not be the co-signing key'

write_config '' pw missing-log-key.json
check "a missing log key file" 66 "$txguard" serve --config "$tmp/config.json"
err_has "the missing log key is named" '$.decision_log.key.file'

cat >"$tmp/config.json" <<EOF
{"listen": "127.0.0.1:0", "clients": [], "policy": "$root/deploy/examples/hot-wallet.policy.json",
 "database": "d.db", "keystore": {"file": "guard.json", "passphrase_file": "pw"}}
EOF
check "no decision_log section" 65 "$txguard" serve --config "$tmp/config.json"
err_has "the decision log key is required" '$.decision_log: required'

write_config '' wrong-pw
check "a wrong keystore passphrase" 65 "$txguard" serve --config "$tmp/config.json"
err_has "the keystore is named" '$.keystore.file'

write_config ''
sed -i '0,/"passphrase_file": "pw"/s//"passphrase_env": "TXGUARD_TEST_UNSET_VARIABLE"/' "$tmp/config.json"
check "a passphrase variable that is not set" 64 env -u TXGUARD_TEST_UNSET_VARIABLE "$txguard" serve --config "$tmp/config.json"
err_has "the variable is named" 'TXGUARD_TEST_UNSET_VARIABLE'

write_config ''
sed -i "s|\"policy\": \"[^\"]*\"|\"policy\": \"$tmp/bad.policy.json\"|" "$tmp/config.json"
printf '{"txguard_policy": 1, "name": "x", "rules": [{"id": "r", "match": {"nonsense": 1}, "effect": "allow"}]}' >"$tmp/bad.policy.json"
check "a policy with problems" 65 "$txguard" serve --config "$tmp/config.json"
err_has "the policy problem is named with its path" 'rules[0].match.nonsense'

# Key, passphrase and database files open to group or others stop start-up, each named with the fix.
write_config ''
chmod 640 "$tmp/pw"
chmod 644 "$tmp/guard.json"
check "a passphrase file and a keystore readable by others" 65 "$txguard" serve --config "$tmp/config.json"
err_has "the passphrase file is named with the fix" "\$.keystore.passphrase_file: $tmp/pw is open to group or others (mode 0640); fix: chmod 600 $tmp/pw"
err_has "the keystore is named" "\$.keystore.file: $tmp/guard.json is open to group or others (mode 0644)"
# ...except systemd's credentials, which are the service's alone whatever their mode bits say.
mkdir -p "$tmp/creds" && cp "$tmp/pw" "$tmp/creds/pw" && chmod 640 "$tmp/creds/pw"
sed -i "s|\"passphrase_file\": \"pw\"|\"passphrase_file\": \"$tmp/creds/pw\"|" "$tmp/config.json"
check "a passphrase credential of systemd readable by group" 65 env CREDENTIALS_DIRECTORY="$tmp/creds" "$txguard" serve --config "$tmp/config.json"
! grep -q "creds/pw is open to group" "$tmp/err"
ok "a file in CREDENTIALS_DIRECTORY is not refused for its mode" $?
chmod 600 "$tmp/pw" "$tmp/guard.json"
write_config ''
touch "$tmp/exposed.db" && chmod 604 "$tmp/exposed.db"
sed -i 's/"database": "txguard.db"/"database": "exposed.db"/' "$tmp/config.json"
check "a database readable by others" 65 "$txguard" serve --config "$tmp/config.json"
err_has "the database is named" '$.database:'

# A good configuration: it starts, answers, and stops cleanly on SIGTERM. The log key's passphrase
# comes from the environment here: read once, removed and overwritten in the process's environment.
write_config ''
sed -i 's/"key": {"file": "log-key.json", "passphrase_file": "pw"}/"key": {"file": "log-key.json", "passphrase_env": "TXGUARD_TEST_LOG_PASSPHRASE"}/' "$tmp/config.json"
(cd "$tmp" && ulimit -c unlimited 2>/dev/null; TXGUARD_TEST_LOG_PASSPHRASE=serve-test-passphrase-XYZ exec "$txguard" serve --config "$tmp/config.json" >"$tmp/serve.out" 2>"$tmp/serve.err") &
server=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port" 2>/dev/null || echo 0)
[ "$port" -gt 0 ]
ok "the port file is written" $?
grep -Eq '^Max core file size +0 +0 ' "/proc/$server/limits"
ok "the server writes no core file: its core limit is 0 ($(grep 'core file' "/proc/$server/limits"))" $?
! tr '\0' '\n' <"/proc/$server/environ" | grep -qF "serve-test-passphrase-XYZ"
ok "the passphrase variable is gone from the server's environment" $?
[ "$(stat -c %a "$tmp/txguard.db")" = 600 ]
ok "the database the server created is the owner's alone (mode $(stat -c %a "$tmp/txguard.db"))" $?
grep -q "listening on http://127.0.0.1:$port" "$tmp/serve.err"
ok "the listening line names the port" $?
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")
[ "$status" = 200 ]
ok "healthz answers 200 (got $status)" $?
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/v1/safe/cosign" -d '{}')
[ "$status" = 401 ]
ok "no token is 401 (got $status)" $?

# txguard bridge pause: an admin pauses everything at once over the API; a requester cannot.
printf '%s\n' "$token" >"$tmp/ops-token"
printf '%s\n' "$admin_token" >"$tmp/admin-token"
check "bridge without an action" 64 "$txguard" bridge
check "bridge with an unknown action" 64 "$txguard" bridge stop --url "http://127.0.0.1:$port"
check "bridge pause without --url" 64 "$txguard" bridge pause --token-file "$tmp/admin-token"
check "bridge pause with an unreadable token file" 66 "$txguard" bridge pause --url "http://127.0.0.1:$port" --token-file "$tmp/none"
check "bridge pause with a requester's token" 77 "$txguard" bridge pause --url "http://127.0.0.1:$port" --token-file "$tmp/ops-token"
check "bridge pause of an unknown route" 65 "$txguard" bridge pause --url "http://127.0.0.1:$port" --route nope --token-file "$tmp/admin-token"
check "bridge pause with nothing listening" 69 "$txguard" bridge pause --url "http://127.0.0.1:1" --token-file "$tmp/admin-token"
check "bridge pause of everything" 0 "$txguard" bridge pause --url "http://127.0.0.1:$port" --reason drill --token-file "$tmp/admin-token"
out_has "the pause is in force" '"scope":"*"'
status=$(curl -s -o "$tmp/cosign.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
  "http://127.0.0.1:$port/v1/safe/cosign" -d '{"chainId": 1, "safe": "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4",
  "to": "0x976EA74026E726554dB657fA54763abd0C3a0aa9", "value": "1", "data": "0x", "operation": 0, "safeTxGas": "0",
  "baseGas": "0", "gasPrice": "0", "gasToken": "0x0000000000000000000000000000000000000000",
  "refundReceiver": "0x0000000000000000000000000000000000000000", "nonce": 0}')
[ "$status" = 403 ] && grep -q '"all-paused"' "$tmp/cosign.json"
ok "while everything is paused a co-sign request is refused all-paused (got $status)" $?
check "bridge unpause without unpause approvers in the policy is refused" 65 "$txguard" bridge unpause --url "http://127.0.0.1:$port" --token-file "$tmp/admin-token"
! grep -qF "$admin_token" "$tmp/out" "$tmp/err" "$tmp/serve.err"
ok "the admin token appears in no output" $?

# The same port again cannot be bound: exit 69 (only when the first server did start).
if [ "$port" -gt 0 ]; then
  sed -i "s/127.0.0.1:0/127.0.0.1:$port/" "$tmp/config.json"
  sed -i 's/"port_file": "port",//' "$tmp/config.json"
  sed -i 's/"database": "txguard.db"/"database": "other.db"/' "$tmp/config.json"
  check "a port in use" 69 env TXGUARD_TEST_LOG_PASSPHRASE=serve-test-passphrase-XYZ timeout 20 "$txguard" serve --config "$tmp/config.json"
fi

kill -TERM "$server"
wait "$server"
ok "SIGTERM stops the server with exit 0" $?
grep -q "stopped" "$tmp/serve.err"
ok "the server says it stopped" $?
! grep -qF "serve-test-passphrase-XYZ" "$tmp/serve.out" "$tmp/serve.err" "$tmp/out" "$tmp/err"
ok "the passphrase appears in no output" $?

# The auditor's commands on the log the server wrote: the 401 and 403 refusals, the pause, the
# co-sign request it refused and the refused unpause (5 records), and a tree head signed at shutdown.
# The replay must honour the pause that came before the first decision.
log_key=$("$txguard" keys address "$tmp/log-key.json")
sed -i 's/"passphrase_env": "TXGUARD_TEST_LOG_PASSPHRASE"/"passphrase_file": "pw"/' "$tmp/config.json"
sed -i 's/"database": "other.db"/"database": "txguard.db"/' "$tmp/config.json"
check "log export" 0 "$txguard" log export --config "$tmp/config.json" --out "$tmp/export"
out_has "the export counts its records" 'exported 5 records'
check "log export into a non-empty directory" 73 "$txguard" log export --config "$tmp/config.json" --out "$tmp/export"
check "log export without --out" 64 "$txguard" log export --config "$tmp/config.json"
check "log verify with the pinned key" 0 "$txguard" log verify "$tmp/export" --key "$log_key"
out_has "verify says so" 'verified: 5 records, 1 signed tree heads'
! grep -q $'\r' "$tmp/out" "$tmp/err"
ok "no progress bar when the output is not a terminal" $?
check "log verify with another key" 10 "$txguard" log verify "$tmp/export" --key 0x976EA74026E726554dB657fA54763abd0C3a0aa9
out_has "the head is named" 'NOT INTACT: tree head 0'
check "log verify of nothing" 66 "$txguard" log verify "$tmp/none"
check "log verify with a bad key" 64 "$txguard" log verify "$tmp/export" --key 0x12
check "replay" 0 "$txguard" replay "$tmp/export"
out_has "replay reproduces" 'every one reproduced'
check "replay --json" 0 "$txguard" replay "$tmp/export" --json
out_has "replay json" '"mismatched": 0'
check "what-if" 0 "$txguard" replay "$tmp/export" --policy "$root/deploy/examples/hot-wallet.policy.json"
out_has "what-if counts" 'would be decided differently'
check "what-if with a broken policy" 65 "$txguard" replay "$tmp/export" --policy "$tmp/bad.policy.json"
check "replay without a directory" 64 "$txguard" replay
check "log with an unknown subcommand" 64 "$txguard" log burn

finish

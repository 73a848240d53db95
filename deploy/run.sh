#!/usr/bin/env bash
# The README's run command: sets up what is missing, builds txguard (release) and starts the co-signer
# on its embedded default: SQLite in a data directory, the demo hot-wallet policy
# (deploy/examples/hot-wallet.policy.json, with the OFAC and FBI lists), a generated development key,
# and a requester token, printed with a curl command that gets a co-signature.
#
#   TXGUARD_DATA   the data directory (default: build/demo); keep it to keep the key and the log
#   TXGUARD_PORT   the port on 127.0.0.1 (default 8420)
#
# The development key is a real scrypt keystore whose passphrase sits beside it in the data
# directory (mode 0600): fine for a demo, not for money. See README.md "Operations" for production.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/deploy/setup.sh"
build="$here/build/release"
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTXGUARD_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target txguard
txguard="$build/guard/txguard"

data=${TXGUARD_DATA:-$here/build/demo}
port=${TXGUARD_PORT:-8420}
mkdir -p "$data"
chmod 700 "$data"
umask 077
if [ ! -f "$data/passphrase" ]; then
  openssl rand -hex 24 > "$data/passphrase"
fi
if [ ! -f "$data/guard.keystore.json" ]; then
  "$txguard" keys new --out "$data/guard.keystore.json" --passphrase-file "$data/passphrase" >/dev/null
fi
# The decision log's own key signs its tree heads (a different key from the co-signer's).
if [ ! -f "$data/log.keystore.json" ]; then
  "$txguard" keys new --out "$data/log.keystore.json" --passphrase-file "$data/passphrase" >/dev/null
fi
if [ ! -f "$data/requester.token" ]; then
  "$txguard" token new > "$data/requester.token"
fi
token=$(sed -n 's/^token: //p' "$data/requester.token")
digest=$(sed -n 's/^sha256: //p' "$data/requester.token")
# The demo's ETH price, fresh now (the policy refuses prices older than 15 minutes).
printf '{"prices": {"ETH": {"usd": "3000", "at": "%s"}}}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$data/prices.json"
cat > "$data/config.json" <<EOF
{
  "listen": "127.0.0.1:$port",
  "clients": [{"name": "demo-requester", "token_sha256": "$digest", "role": "requester"}],
  "policy": "$here/deploy/examples/hot-wallet.policy.json",
  "prices": "prices.json",
  "database": "txguard.db",
  "keystore": {"file": "guard.keystore.json", "passphrase_file": "passphrase"},
  "decision_log": {"key": {"file": "log.keystore.json", "passphrase_file": "passphrase"},
                   "head_every_records": 1000, "head_every_seconds": 60},
  "log": {"level": "info"}
}
EOF
address=$("$txguard" keys address "$data/guard.keystore.json")
cat >&2 <<EOF

txguard demo: co-signer key $address, data in $data
A customer withdrawal of 1,000 USDC from the demo hot wallet (a 2-of-3 Safe 1.4.1 on Ethereum); the
answer carries the decision and txguard's signature over the safeTxHash it computed:

curl -s -H 'Authorization: Bearer $token' -H 'Content-Type: application/json' \\
  http://127.0.0.1:$port/v1/safe/cosign -d '{"chainId": 1,
  "safe": "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4", "to": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
  "value": "0", "operation": 0, "safeTxGas": "0", "baseGas": "0", "gasPrice": "0",
  "gasToken": "0x0000000000000000000000000000000000000000",
  "refundReceiver": "0x0000000000000000000000000000000000000000", "nonce": 0,
  "data": "0xa9059cbb00000000000000000000000014dc79964da2c08b23698b3d3cc7ca32193d9955000000000000000000000000000000000000000000000000000000003b9aca00"}'

Sent again, it returns the same signature (a retry). Another transaction at nonce 0 is refused
(once only: raise the nonce for a new one); a recipient on the OFAC list is denied; above 100,000 USD
the request is held for 2 of 3 approvers. Stop with Ctrl-C.

EOF
cd "$data"
exec "$txguard" serve --config "$data/config.json"

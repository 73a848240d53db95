#!/usr/bin/env bash
# Makes what compose.yaml mounts, in deploy/compose/local/ (0700, git-ignored), once:
#   db_password, postgres_password   the database password (txguard's copy 0600; the postgres image's 0644)
#   cosigner.json, cosigner.pass     the co-signing key (scrypt keystore) and its passphrase
#   log-key.json, log.pass           the decision log's tree-head key and its passphrase
#   requester.token                  a requester's bearer token (the config stores its SHA-256)
#   tls.crt, tls.key                 a self-signed certificate for localhost, 127.0.0.1, txguard-1, txguard-2
#   prices.json                      the demo's ETH price, fresh now (refresh it: the policy refuses
#                                    prices older than 15 minutes for ETH; USDC is fixed)
#   config.json                      the replicas' one configuration
#   .env                             TXGUARD_UID / TXGUARD_GID: the replicas run as the owner of the
#                                    files txguard reads (the invoking user; when that is root, uid and
#                                    gid 10001, to which those files are given: never root in the container)
# Files that exist are kept (run it again after deleting one to make it anew).
#
# The keys are made by txguard: $TXGUARD, else `txguard` on PATH, else the image compose builds
# (docker compose -f deploy/compose/compose.yaml build first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
local_dir=$here/local
mkdir -p "$local_dir"
chmod 700 "$local_dir"
umask 077

run_txguard() { # txguard arguments, with paths under /out meaning local/
  if [ -n "${TXGUARD:-}" ] || command -v txguard > /dev/null 2>&1; then
    local bin=${TXGUARD:-txguard} args=()
    for a in "$@"; do args+=("${a//\/out\//$local_dir/}"); done
    "$bin" "${args[@]}"
  else
    docker run --rm --user "$(id -u):$(id -g)" -v "$local_dir:/out" --entrypoint /usr/local/bin/txguard txguard:local "$@"
  fi
}
secret() { # file: 24 random bytes, hex
  [ -f "$local_dir/$1" ] || openssl rand -hex 24 > "$local_dir/$1"
}

secret db_password
cp "$local_dir/db_password" "$local_dir/postgres_password"
chmod 644 "$local_dir/postgres_password"
secret cosigner.pass
secret log.pass
[ -f "$local_dir/cosigner.json" ] ||
  run_txguard keys new --out /out/cosigner.json --passphrase-file /out/cosigner.pass > /dev/null
[ -f "$local_dir/log-key.json" ] ||
  run_txguard keys new --out /out/log-key.json --passphrase-file /out/log.pass > /dev/null
[ -f "$local_dir/requester.token" ] || run_txguard token new > "$local_dir/requester.token"
digest=$(sed -n 's/^sha256: //p' "$local_dir/requester.token")
if [ ! -f "$local_dir/tls.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
    -subj "/CN=txguard" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:txguard-1,DNS:txguard-2" \
    -keyout "$local_dir/tls.key" -out "$local_dir/tls.crt" 2> /dev/null
fi
printf '{"prices": {"ETH": {"usd": "3000", "at": "%s"}}}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$local_dir/prices.json"
chmod 644 "$local_dir/prices.json" "$local_dir/tls.crt"
cat > "$local_dir/config.json" <<JSON
{
  "listen": "0.0.0.0:8420",
  "tls": {"cert": "/run/secrets/tls_cert", "key": "/run/secrets/tls_key"},
  "clients": [{"name": "requester", "token_sha256": "$digest", "role": "requester"}],
  "policy": "/etc/txguard/policy/hot-wallet.policy.json",
  "prices": "/etc/txguard/prices.json",
  "database": "postgresql://txguard@/txguard?host=/var/run/postgresql",
  "database_password_file": "/run/secrets/db_password",
  "keystore": {"file": "/run/secrets/cosigner_key", "passphrase_file": "/run/secrets/cosigner_pass"},
  "decision_log": {"key": {"file": "/run/secrets/log_key", "passphrase_file": "/run/secrets/log_pass"},
                   "head_every_records": 1000, "head_every_seconds": 60},
  "log": {"level": "info"}
}
JSON
chmod 644 "$local_dir/config.json"
uid=$(id -u)
gid=$(id -g)
if [ "$uid" = 0 ]; then
  uid=10001
  gid=10001
  chown "$uid:$gid" "$local_dir"/{db_password,cosigner.json,cosigner.pass,log-key.json,log.pass,tls.key}
fi
printf 'TXGUARD_UID=%s\nTXGUARD_GID=%s\n' "$uid" "$gid" > "$here/.env"
echo "init: $local_dir ready; co-signer $(run_txguard keys address /out/cosigner.json), log key $(run_txguard keys address /out/log-key.json)"
echo "init: requester token in $local_dir/requester.token"

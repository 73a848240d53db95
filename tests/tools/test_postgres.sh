#!/usr/bin/env bash
# The PostgreSQL server the guard-pg/ tests share (one per ctest run; see tests/support/postgres_server.hpp).
#   test_postgres.sh start ENV   initdb into a new directory under /tmp (as `postgres` when run as root:
#                                initdb refuses root; /tmp because the postgres account may not enter the
#                                build tree), start it on a free 127.0.0.1 port with SCRAM passwords, and
#                                write ENV (port=, user=, password=, dir=) for the tests
#   test_postgres.sh stop ENV    stop it and remove its directory and ENV
# The server binaries: $TXGUARD_POSTGRES_BIN, else Debian's /usr/lib/postgresql/15/bin.
set -euo pipefail
action=${1:?start or stop}
env_file=${2:?the description file}
bin=${TXGUARD_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}
as_owner=()
if [ "$(id -u)" = 0 ]; then as_owner=(runuser -u postgres --); fi

case "$action" in
  start)
    [ -x "$bin/initdb" ] || { echo "PostgreSQL 15 not found in $bin: install it with deploy/setup.sh --test" >&2; exit 1; }
    if [ -f "$env_file" ]; then "$0" stop "$env_file"; fi  # a server left by an interrupted run
    dir=$(mktemp -d /tmp/txguard-pg-XXXXXX)
    password="pw-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    printf '%s\n' "$password" > "$dir/pwfile"
    if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$dir"; fi
    cd "$dir"
    "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U txguard_test --auth=scram-sha-256 --pwfile="$dir/pwfile" \
      -E UTF8 --locale=C --no-sync --no-instructions > "$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/pwfile"
    # A random high port; pg_ctl fails on one in use, and the next attempt takes another.
    for attempt in 1 2 3 4 5 6 7 8; do
      port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
      if "${as_owner[@]}" "$bin/pg_ctl" start -w -t 30 -D "$dir/data" -l "$dir/server.log" \
           -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=on -c max_connections=300" \
           > /dev/null; then
        (umask 077; printf 'port=%s\nuser=txguard_test\npassword=%s\ndir=%s\n' "$port" "$password" "$dir" > "$env_file.tmp")
        mv "$env_file.tmp" "$env_file"
        exit 0
      fi
    done
    tail -n 40 "$dir/server.log" >&2 || true
    rm -rf "$dir"
    exit 1
    ;;
  stop)
    [ -f "$env_file" ] || exit 0
    dir=$(sed -n 's/^dir=//p' "$env_file")
    case "$dir" in /tmp/txguard-pg-*) ;; *) echo "$env_file: no test server directory in it" >&2; exit 1 ;; esac
    if [ -d "$dir/data" ]; then
      (cd "$dir" && "${as_owner[@]}" "$bin/pg_ctl" stop -m immediate -w -D "$dir/data" > /dev/null) || true
    fi
    rm -rf "$dir" "$env_file"
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

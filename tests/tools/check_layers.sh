#!/usr/bin/env bash
# Fails when a source or header includes across the module arrows the wrong way.
#   guard -> signers -> policy -> policy/codec
# The codec is pure: no network, database, TLS or filesystem stream library, and nothing above it.
# The policy engine sees no socket, database or signer. Signers see no server.
set -u
root=${1:-$(dirname "$0")/../..}
cd "$root" || exit 2
status=0

check() { # dir, forbidden-include regex, why
  local dir=$1 pattern=$2 why=$3
  [ -d "$dir" ] || return 0
  local hits
  hits=$(grep -rnE --include='*.hpp' --include='*.cpp' --include='*.h' "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($pattern)" "$dir" \
         | grep -v "^$dir/.*/fuzz/" || true)
  if [ -n "$hits" ]; then
    echo "layer violation in $dir ($why):"
    echo "$hits" | sed 's/^/  /'
    status=1
  fi
}

io='boost/asio|boost/beast|sqlite3|libpq|postgresql|openssl/|fstream|filesystem|iostream|cstdio|stdio\.h|thread|mutex|chrono'
check policy/codec "$io|policy/[a-z_]+\.hpp|signers/|guard/" "the decoding core includes only the codec and pure libraries"
# policy/ minus its codec subfolder
if [ -d policy ]; then
  hits=$(find policy -maxdepth 1 -type f \( -name '*.hpp' -o -name '*.cpp' \) -print0 \
         | xargs -0 -r grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($io|signers/|guard/)" || true)
  if [ -n "$hits" ]; then
    echo "layer violation in policy (the engine is pure: state through interfaces, time as a parameter; no Asio, SQLite, files, threads, clocks, signer or server):"
    echo "$hits" | sed 's/^/  /'
    status=1
  fi
fi
check signers "boost/asio|boost/beast|sqlite3|libpq|guard/" "signers sit below the server and its stores"

[ $status -eq 0 ] && echo "layers: every include follows guard -> signers -> policy -> codec"
exit $status

#!/usr/bin/env bash
# Installs what txguard needs to build, run and test on Debian 12, and nothing it already has.
# Safe to run any number of times.
#
#   deploy/setup.sh          build dependencies (compiler, CMake, libraries)
#   deploy/setup.sh --test   also the test tools: clang (fuzzing), Node.js, systemd-analyze, and the
#                            pinned npm packages of tests/js (anvil, viem, Safe contracts) via `npm ci`
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
want_test=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    *) echo "usage: deploy/setup.sh [--test]" >&2; exit 64 ;;
  esac
done

# Why each package is here: see README.md, "Dependencies". libexpat1-dev: the streaming XML parser
# that reads OFAC's ~80 MB sdn_advanced.xml for `txguard lists import` (policy/ofac.hpp).
packages=(build-essential cmake ninja-build pkg-config ccache
          libsecp256k1-dev libcrypto++-dev libboost-dev nlohmann-json3-dev
          libsqlite3-dev sqlite3 libssl-dev openssl libpq-dev doctest-dev libexpat1-dev)
if [ $want_test -eq 1 ]; then
  packages+=(clang-19 libclang-rt-19-dev postgresql curl)
  # systemd-analyze checks the units of deploy/systemd (tests/deploy/systemd_verify.sh); container
  # images of Debian 12 come without systemd.
  packages+=(systemd)
  # Node.js 20 or newer runs the chain tests; machines often carry their own build of it, so the
  # Debian packages are a fallback for when `node`/`npm` are missing, not a requirement.
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ $want_test -eq 1 ] && [ -f "$here/tests/js/package-lock.json" ]; then
  # npm ci installs exactly what the lockfile pins; skip when node_modules already matches it.
  stamp="$here/tests/js/node_modules/.txguard-lock-hash"
  lock_hash=$(sha256sum "$here/tests/js/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
    echo "setup: npm ci in tests/js"
    (cd "$here/tests/js" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_hash" > "$stamp"
  fi
fi
echo "setup: ready"

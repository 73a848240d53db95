#!/usr/bin/env bash
# ctest deploy/txguard_serves_inside_the_unit_sandbox: txguard serve starts, co-signs and stops on
# SIGTERM inside what deploy/systemd/txguard.service confines it to in the process itself: its system
# call filter (the allowed calls computed from the unit's SystemCallFilter= lines, everything else
# EPERM as SystemCallErrorNumber= says), no new privileges, no capabilities (CapabilityBoundingSet=),
# MemoryDenyWriteExecute (the kernel's PR_SET_MDWE, where it has it), LimitMEMLOCK and LimitCORE.
# A control run without mlock/munlock in the filter must fail naming mlock: the filter really applies.
#
#   tests/deploy/systemd_sandbox_run.sh TXGUARD SOURCE_DIR
#
# The test machines run no systemd as PID 1, so the file-system settings (ProtectSystem, PrivateTmp,
# StateDirectory, LoadCredential...) are not applied here; tests/deploy/systemd_verify.sh checks them
# statically. A sanitizer build runs with detect_leaks=0: LeakSanitizer's ptrace is refused by the
# filter (@debug), as it should be; a release build has no such thing.
set -uo pipefail
txguard=${1:?usage: systemd_sandbox_run.sh TXGUARD SOURCE_DIR}
src=${2:?usage: systemd_sandbox_run.sh TXGUARD SOURCE_DIR}
unit=$src/deploy/systemd/txguard.service
for tool in systemd-analyze python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: $tool is missing: run deploy/setup.sh --test" >&2; exit 1; }
done
# shellcheck source=tests/deploy/syscall_filter.sh
. "$(dirname "$0")/syscall_filter.sh"
work=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill -KILL "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail=0
problem() { echo "FAIL: $*"; fail=1; }

# The unit's limits, in bytes.
bytes() {
  local v=$1
  case "$v" in
    *K) echo $((${v%K} * 1024)) ;;
    *M) echo $((${v%M} * 1024 * 1024)) ;;
    *G) echo $((${v%G} * 1024 * 1024 * 1024)) ;;
    *) echo "$v" ;;
  esac
}
memlock=$(bytes "$(sed -n 's/^LimitMEMLOCK=//p' "$unit")")
core=$(bytes "$(sed -n 's/^LimitCORE=//p' "$unit")")
errno_name=$(sed -n 's/^SystemCallErrorNumber=//p' "$unit")
unit_allowed_calls "$unit" > "$work/allowed"
if [ ! -s "$work/allowed" ] || [ -z "$memlock" ] || [ -z "$core" ] || [ "$errno_name" != EPERM ]; then
  echo "FAIL: $unit lacks SystemCallFilter=, LimitMEMLOCK=, LimitCORE= or SystemCallErrorNumber=EPERM" >&2
  exit 1
fi
grep -vxE 'mlock|mlock2|munlock' "$work/allowed" > "$work/allowed-without-mlock"

# The launcher: sets the limits, MDWE and the filter (libseccomp, which systemd itself uses), then
# executes the command. No new privileges comes with the filter (libseccomp's default).
cat > "$work/sandbox.py" <<'PY'
import ctypes, ctypes.util, errno, os, resource, sys
allowed, memlock, core = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seccomp = ctypes.CDLL(ctypes.util.find_library('seccomp') or 'libseccomp.so.2', use_errno=True)
seccomp.seccomp_init.restype = ctypes.c_void_p
seccomp.seccomp_init.argtypes = [ctypes.c_uint32]
seccomp.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
seccomp.seccomp_load.argtypes = [ctypes.c_void_p]
seccomp.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
SCMP_ACT_ALLOW, SCMP_ACT_ERRNO = 0x7fff0000, 0x00050000
ctx = seccomp.seccomp_init(SCMP_ACT_ERRNO | errno.EPERM)
for name in open(allowed).read().split():
    nr = seccomp.seccomp_syscall_resolve_name(name.encode())
    if nr >= 0:  # negative: a call this architecture does not have
        seccomp.seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    print('sandbox: this kernel has no PR_SET_MDWE; MemoryDenyWriteExecute is not tried', file=sys.stderr)
resource.setrlimit(resource.RLIMIT_MEMLOCK, (memlock, memlock))
resource.setrlimit(resource.RLIMIT_CORE, (core, core))
if seccomp.seccomp_load(ctx) != 0:
    sys.exit('sandbox: seccomp_load failed')
os.execv(sys.argv[4], sys.argv[4:])
PY
# As root, drop every capability (the unit's empty CapabilityBoundingSet=): then LimitMEMLOCK binds.
drop=()
if [ "$(id -u)" -eq 0 ]; then
  command -v setpriv >/dev/null 2>&1 || { echo "FAIL: setpriv (util-linux) is missing" >&2; exit 1; }
  drop=(setpriv --inh-caps=-all --bounding-set=-all --)
fi
sandboxed() { # ALLOWED-FILE COMMAND...: run in the background (&), it becomes the server's process
  local allowed=$1
  shift
  export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
  exec "${drop[@]}" python3 "$work/sandbox.py" "$allowed" "$memlock" "$core" "$@"
}

# A co-signer as the unit runs it: its own data directory, the demo policy, a fresh price.
data=$work/data
mkdir -m 700 "$data"
umask 077
printf 'sandbox-test-passphrase\n' > "$data/pass"
"$txguard" keys new --light --out "$data/cosigner.json" --passphrase-file "$data/pass" >/dev/null 2>&1 &&
  "$txguard" keys new --light --out "$data/log-key.json" --passphrase-file "$data/pass" >/dev/null 2>&1 ||
  { echo "FAIL: txguard keys new" >&2; exit 1; }
"$txguard" token new > "$data/token"
token=$(sed -n 's/^token: //p' "$data/token")
digest=$(sed -n 's/^sha256: //p' "$data/token")
printf '{"prices": {"ETH": {"usd": "3000", "at": "%s"}}}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$data/prices.json"
cat > "$data/config.json" <<JSON
{"listen": "127.0.0.1:0", "port_file": "$data/port",
 "clients": [{"name": "ops", "token_sha256": "$digest", "role": "requester"}],
 "policy": "$src/deploy/examples/hot-wallet.policy.json", "prices": "prices.json",
 "database": "$data/txguard.db",
 "keystore": {"file": "cosigner.json", "passphrase_file": "pass"},
 "decision_log": {"key": {"file": "log-key.json", "passphrase_file": "pass"},
                  "head_every_records": 1000, "head_every_seconds": 60}}
JSON

# 1. Inside the sandbox: starts, locks its key pages, co-signs, stops on SIGTERM with exit 0.
sandboxed "$work/allowed" "$txguard" serve --config "$data/config.json" > "$work/serve.out" 2>&1 &
server=$!
for _ in $(seq 1 200); do
  [ -s "$data/port" ] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if [ ! -s "$data/port" ]; then
  problem "txguard serve did not start inside the sandbox: $(head -c 600 "$work/serve.out")"
else
  port=$(cat "$data/port")
  status=/proc/$server/status
  grep -q '^Seccomp:[[:space:]]*2' "$status" || problem "no seccomp filter on the server ($(grep Seccomp "$status"))"
  grep -q '^NoNewPrivs:[[:space:]]*1' "$status" || problem "the server may gain privileges"
  grep -q '^CapEff:[[:space:]]*0000000000000000' "$status" || problem "the server has capabilities ($(grep CapEff "$status"))"
  locked=$(sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB/\1/p' "$status")
  [ "${locked:-0}" -ge 8 ] || problem "the key pages are not locked in RAM (VmLck ${locked:-?} kB; two keys, one page each)"
  answer=$(curl -s -m 20 -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    "http://127.0.0.1:$port/v1/safe/cosign" -d '{"chainId": 1,
    "safe": "0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4", "to": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
    "value": "0", "operation": 0, "safeTxGas": "0", "baseGas": "0", "gasPrice": "0",
    "gasToken": "0x0000000000000000000000000000000000000000",
    "refundReceiver": "0x0000000000000000000000000000000000000000", "nonce": 0,
    "data": "0xa9059cbb00000000000000000000000014dc79964da2c08b23698b3d3cc7ca32193d9955000000000000000000000000000000000000000000000000000000003b9aca00"}')
  grep -q '"signature":"0x[0-9a-f]\{130\}"' <<<"$answer" ||
    problem "no co-signature from inside the sandbox: $(head -c 400 <<<"$answer")"
  kill -TERM "$server"
  wait "$server"
  code=$?
  server=
  [ $code -eq 0 ] || problem "SIGTERM: exit $code, not 0: $(tail -c 600 "$work/serve.out")"
  grep -q 'stopped' "$work/serve.out" || problem "SIGTERM: no graceful stop: $(tail -c 600 "$work/serve.out")"
fi

# 2. The control: the same without mlock/munlock allowed fails at the key, naming mlock.
rm -f "$data/port"
sandboxed "$work/allowed-without-mlock" "$txguard" serve --config "$data/config.json" > "$work/control.out" 2>&1 &
server=$!
wait "$server"
code=$?
server=
if [ $code -eq 0 ] || ! grep -q 'mlock: Operation not permitted' "$work/control.out"; then
  problem "control: without mlock in the filter txguard should fail naming mlock (exit $code): $(head -c 600 "$work/control.out")"
fi

grep -q 'no PR_SET_MDWE' "$work/serve.out" && echo "note: this kernel has no PR_SET_MDWE: MemoryDenyWriteExecute was not tried"
[ $fail -eq 0 ] || exit 1
echo "PASS: txguard serve co-signs and stops inside txguard.service's filter ($(wc -l < "$work/allowed") calls allowed), MDWE, LimitMEMLOCK=$memlock, no capabilities; without mlock it refuses to start"

#!/usr/bin/env bash
# ctest deploy/systemd_units_verify: the systemd units in deploy/systemd keep their hardened sandbox.
#
#   tests/deploy/systemd_verify.sh TXGUARD SOURCE_DIR
#
# For txguard.service and txguard@.service (instantiated as txguard@demo.service), each copied with
# ExecStart pointing at the built TXGUARD (systemd-analyze verify needs the binary to exist):
#   1. `systemd-analyze verify` succeeds and prints nothing;
#   2. `systemd-analyze security --offline=yes` scores the exposure at most 1.5 and flags (✗) only the
#      items a network service with upstream nodes anywhere must keep (see `accepted` below);
#   3. every line the hardening needs is there, exactly (`common`, `single`, `template` below);
#   4. the system call filter leaves every call txguard serve makes (`needed` below) allowed.
# Then every setting line of each unit is deleted in turn: each deletion must fail the checks above
# (the whole test fails naming any line whose removal goes unnoticed), so no hardening line can be
# dropped or changed, and the two units differ only in their paths.
#
# Threshold 1.5: the units score 1.2 on systemd 252 (Debian 12). What remains is inherent: the
# service must reach the network (PrivateNetwork, IPAddressDeny, AF_INET/AF_INET6; upstream nodes and
# bridge sources can be anywhere), runs in the host's root, keeps @resources (setrlimit), AF_UNIX and
# read access to the RTC (implied by ProtectClock). The margin of 0.3 absorbs a newer systemd that
# weighs items differently; a weakened unit is caught by checks 2 and 3 whatever its score.
set -uo pipefail
export LC_ALL=C.UTF-8 SYSTEMD_COLORS=0 SYSTEMD_PAGER=
txguard=${1:?usage: systemd_verify.sh TXGUARD SOURCE_DIR}
src=${2:?usage: systemd_verify.sh TXGUARD SOURCE_DIR}
units=$src/deploy/systemd
threshold=15  # systemd-analyze security --threshold counts tenths: 15 = 1.5

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "FAIL: systemd-analyze is missing (package systemd): run deploy/setup.sh --test" >&2
  exit 1
fi
[ -x "$txguard" ] || { echo "FAIL: $txguard is not an executable" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 3. The lines both units carry: how txguard runs and stops, and its sandbox.
common=(
  "Type=simple" "User=txguard" "Group=txguard"
  "KillSignal=SIGTERM" "TimeoutStopSec=30s" "Restart=on-failure" "RestartPreventExitStatus=64 65 66"
  "StateDirectoryMode=0700" "UMask=0077" "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes"
  "PrivateDevices=yes" "PrivateMounts=yes" "ProtectProc=invisible" "ProcSubset=pid"
  "NoNewPrivileges=yes" "CapabilityBoundingSet=" "AmbientCapabilities=" "PrivateUsers=yes"
  "RestrictSUIDSGID=yes" "RemoveIPC=yes"
  "ProtectKernelTunables=yes" "ProtectKernelModules=yes" "ProtectKernelLogs=yes" "ProtectControlGroups=yes"
  "ProtectClock=yes" "ProtectHostname=yes" "RestrictNamespaces=yes" "RestrictRealtime=yes"
  "LockPersonality=yes" "MemoryDenyWriteExecute=yes" "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"
  "DevicePolicy=closed"
  "SystemCallArchitectures=native" "SystemCallFilter=@system-service"
  "SystemCallFilter=~@privileged @debug @mount @reboot @swap @cpu-emulation @obsolete @raw-io @module @clock"
  "SystemCallErrorNumber=EPERM"
  "LimitCORE=0" "LimitMEMLOCK=1M"
)
single=(
  "ExecStart=/usr/local/bin/txguard serve --config /etc/txguard/config.json"
  "WorkingDirectory=/var/lib/txguard" "StateDirectory=txguard"
  "LoadCredential=cosigner.pass:/etc/txguard/cosigner.pass" "LoadCredential=log.pass:/etc/txguard/log.pass"
)
template=(
  "ExecStart=/usr/local/bin/txguard serve --config /etc/txguard/%i.json"
  "WorkingDirectory=/var/lib/txguard/%i" "StateDirectory=txguard/%i"
  "LoadCredential=cosigner.pass:/etc/txguard/%i/cosigner.pass" "LoadCredential=log.pass:/etc/txguard/%i/log.pass"
)
# Lines whose removal weakens nothing (ordering, text, restart pacing, installation target).
optional='^(Description|Wants|After|RestartSec|WantedBy)='

# 2. Exposure items systemd-analyze security may flag, each inherent to this service.
accepted=(
  "PrivateNetwork="                           # it serves clients and calls upstream nodes
  "IPAddressDeny="                            # upstream nodes and bridge sources can be anywhere
  "RestrictAddressFamilies=~AF_(INET|INET6)"  # the same
  "RestrictAddressFamilies=~AF_UNIX"          # the C library's name service (NSS) lookups
  "RootDirectory=/RootImage="                 # runs the host's binary and libraries
  "SystemCallFilter=~@resources"              # setrlimit(RLIMIT_CORE, 0) at start
  "DeviceAllow="                              # char-rtc read access, implied by ProtectClock
)

# 4. Every system call `strace -f` saw txguard serve make while starting, co-signing over HTTP and
# stopping on SIGTERM; first those of the key protection (signers/secure_memory.cpp). Not listed:
# fchown, which SQLite calls only when running as root (the units run as txguard).
needed=(
  prctl prlimit64 setrlimit mlock munlock madvise mmap munmap mprotect
  accept accept4 bind listen socket setsockopt getsockname getpeername recvfrom sendmsg shutdown
  epoll_create1 epoll_ctl epoll_wait eventfd2 timerfd_create timerfd_settime pipe2
  open openat close read write pread64 pwrite64 lseek fcntl newfstatat access readlink unlink ftruncate
  fdatasync fsync umask
  futex clone clone3 set_robust_list rseq set_tid_address sched_getaffinity sched_yield gettid getpid geteuid
  rt_sigaction rt_sigprocmask rt_sigtimedwait sigaltstack restart_syscall clock_gettime brk arch_prctl
  exit exit_group execve
)

# shellcheck source=tests/deploy/syscall_filter.sh
. "$(dirname "$0")/syscall_filter.sh"
declare -A allowed_by_filter  # the unit's SystemCallFilter= lines -> the calls left allowed (cached)

# The unit's settings, one per line: comments, blank lines and section headers left out.
settings() { sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//' "$1" | grep -Ev '^(#|;|\[|$)'; }

# check_unit FILE NAME REQUIRED...: the checks 1 to 4 on FILE installed as NAME; prints each problem
# and returns 1 if there is any. Sets `score` to the exposure systemd-analyze printed.
check_unit() {
  local file=$1 name=$2
  shift 2
  local dir problems=0 out rc line
  dir=$(mktemp -d "$work/unit.XXXXXX")
  sed "s#/usr/local/bin/txguard#$txguard#g" "$file" > "$dir/$name"
  score=

  out=$(cd "$dir" && systemd-analyze verify --man=no --generators=no "./$name" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "  systemd-analyze verify (exit $rc): ${out:-no output}"
    problems=1
  fi

  out=$(cd "$dir" && systemd-analyze security --offline=yes --no-pager "--threshold=$threshold" "./$name" 2>&1)
  rc=$?
  score=$(printf '%s\n' "$out" | sed -nE 's/^.*Overall exposure level for [^:]*: ([0-9.]+).*$/\1/p')
  if [ -z "$score" ]; then
    echo "  systemd-analyze security printed no exposure level (exit $rc): $out"
    problems=1
  elif [ $rc -ne 0 ]; then
    echo "  exposure $score is above the threshold $((threshold / 10)).$((threshold % 10))"
    problems=1
  fi
  while IFS= read -r line; do
    local item=${line#* } ok=0 a
    item=${item%% *}
    for a in "${accepted[@]}"; do [ "$item" = "$a" ] && ok=1; done
    if [ $ok -eq 0 ]; then
      echo "  exposed: $line"
      problems=1
    fi
  done < <(printf '%s\n' "$out" | grep '^✗ ' | sed -E 's/[[:space:]]+/ /g')

  local have
  have=$(settings "$file")
  local -A present=()
  while IFS= read -r line; do present[$line]=1; done <<<"$have"
  for line in "$@"; do
    if [ -z "${present[$line]-}" ]; then
      echo "  missing: $line"
      problems=1
    fi
  done

  local key word
  key=$(grep -E '^SystemCallFilter=' <<<"$have" | tr '\n' '|')
  [ -n "${allowed_by_filter[$key]+x}" ] ||
    allowed_by_filter[$key]=" $(unit_allowed_calls "$file" | tr '\n' ' ')"
  if [ "${allowed_by_filter[$key]}" = " " ]; then
    echo "  no system call allow list (SystemCallFilter=@system-service)"
    problems=1
  else
    for word in "${needed[@]}"; do
      if [[ ${allowed_by_filter[$key]} != *" $word "* ]]; then
        echo "  txguard needs $word, which the system call filter refuses"
        problems=1
      fi
    done
  fi
  return $problems
}

failed=0
declare -A scores
for spec in "txguard.service:txguard.service:single" "txguard@.service:txguard@demo.service:template"; do
  IFS=: read -r file name kind <<<"$spec"
  path=$units/$file
  if [ ! -f "$path" ]; then
    echo "FAIL: $path is missing"
    failed=1
    continue
  fi
  if [ "$kind" = single ]; then required=("${common[@]}" "${single[@]}"); else required=("${common[@]}" "${template[@]}"); fi

  if ! check_unit "$path" "$name" "${required[@]}" > "$work/report"; then
    echo "FAIL: $file"
    cat "$work/report"
    failed=1
    continue
  fi
  scores[$file]=$score
  echo "ok: $file verifies; exposure $score (threshold $((threshold / 10)).$((threshold % 10)))"

  # Every setting line deleted in turn must be noticed.
  n=0
  while IFS= read -r line; do
    [[ $line =~ $optional ]] && continue
    n=$((n + 1))
    mutant=$work/mutant.$file
    awk -v drop="$line" '{ l = $0; gsub(/^[ \t]+|[ \t]+$/, "", l); if (l == drop && !done) { done = 1; next } print }' \
      "$path" > "$mutant"
    if check_unit "$mutant" "$name" "${required[@]}" >/dev/null; then
      echo "FAIL: $file without '$line' still passes: add the line to the checks or remove it from the unit"
      failed=1
    fi
  done < <(settings "$path")
  echo "ok: $file: each of its $n hardening and service lines, deleted, fails the checks"
done

[ $failed -eq 0 ] || exit 1
echo "PASS: deploy/systemd units verified (exposure: txguard.service ${scores[txguard.service]}, txguard@.service ${scores[txguard@.service]})"

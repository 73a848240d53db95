#!/usr/bin/env bash
# Builds the libFuzzer targets with clang 19 (Debian 12's clang 14 lacks std::expected) under
# ASan/UBSan and runs each for the given number of seconds (default 600), starting from the seed
# corpus in fixtures/fuzz/<decoder>/. New inputs go to build/fuzz-corpus/<decoder>/, crashes to
# build/fuzz-crashes/. Exit status is non-zero if any target crashed.
#
#   deploy/fuzz.sh [seconds] [decoder ...]     e.g. deploy/fuzz.sh 60 rlp abi
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-600}
shift || true
"$here/deploy/setup.sh" --test >/dev/null
build="$here/build/fuzz"
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-19 \
  -DTXGUARD_FUZZ=ON -DTXGUARD_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$build"/tests/fuzz/fuzz_*; do targets+=("$(basename "$f" | sed 's/^fuzz_//')"); done
fi
mkdir -p "$here/build/fuzz-crashes"
status=0
for t in "${targets[@]}"; do
  corpus="$here/build/fuzz-corpus/$t"
  mkdir -p "$corpus"
  echo "fuzz: $t for ${seconds}s"
  if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
       -artifact_prefix="$here/build/fuzz-crashes/$t-" "$corpus" "$here/fixtures/fuzz/$t" \
       > "$here/build/fuzz-$t.log" 2>&1; then
    echo "fuzz: $t FAILED, see build/fuzz-$t.log"
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$here/build/fuzz-$t.log" | sed "s/^/fuzz: $t /" || true
done
exit $status

#!/usr/bin/env bash
# The README's test command: sets everything up and runs the whole test suite under ctest, built
# with AddressSanitizer and UndefinedBehaviorSanitizer and with warnings as errors.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/deploy/setup.sh" --test
build="$here/build/test"
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DTXGUARD_WERROR=ON -DTXGUARD_SANITIZE=ON >/dev/null
cmake --build "$build" -j "$(nproc)"
cd "$build"
ctest --output-on-failure -j "$(nproc)" --timeout 600 "$@"

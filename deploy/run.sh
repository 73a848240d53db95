#!/usr/bin/env bash
# The README's run command: sets up what is missing, builds txguard (release), and runs it.
# Until the server lands this decodes a real mainnet transaction (an ERC-20 transfer) to its intent.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/deploy/setup.sh"
build="$here/build/release"
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTXGUARD_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target txguard
echo "txguard decode fixtures/samples/mainnet_erc20_transfer.hex" >&2
exec "$build/guard/txguard" decode "$here/fixtures/samples/mainnet_erc20_transfer.hex" "$@"

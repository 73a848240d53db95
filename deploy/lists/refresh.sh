#!/usr/bin/env bash
# Rebuilds the demo lists of deploy/lists/ from the data copied into fixtures/ (see README.md here).
#   deploy/lists/refresh.sh TXGUARD [OUT_DIR]
# TXGUARD is the txguard binary; OUT_DIR defaults to deploy/lists. Rerunning it on unchanged inputs
# reproduces the shipped files byte for byte (tests/cli/lists_cli_test.sh checks that).
set -euo pipefail
txguard=${1:?usage: refresh.sh TXGUARD [OUT_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${2:-$here}
cd "$root"

# OFAC SDN, ETH, as published 2026-10-01: bitnob/ofac-address-feed's extract of sdn_advanced.xml.
"$txguard" lists import --format lines --ticker ETH \
  --name ofac-sdn-eth --as-of 2026-10-01 \
  --source "OFAC SDN sdn_advanced.xml of 2026-10-01 (Last-Modified Thu, 01 Oct 2026 16:36:11 GMT, sha256 302ac5948298d82165e7c7211dfa623a404b2ef936749e598007cbc366611e41), Digital Currency Address - ETH, as extracted by bitnob/ofac-address-feed (fixtures/sanctions/ofac/bitnob-2026-10/sanctioned_addresses_ETH.txt)" \
  --note "OFAC SDN designations: sanctions law. A snapshot: refresh from the official file (deploy/lists/README.md)." \
  --note "The Tornado Cash addresses delisted on 2025-03-21 are not in this list." \
  --out "$out/ofac-sdn-eth.list" \
  fixtures/sanctions/ofac/bitnob-2026-10/sanctioned_addresses_ETH.txt

# FBI- and researcher-attributed DPRK (Lazarus / TraderTraitor) addresses, EVM rows only, without the
# rows that name victims or their compromised keys (reference only in the source data).
"$txguard" lists import --format csv --column address --evm-only \
  --exclude category=victim --exclude category=compromised-key \
  --name fbi-dprk --as-of 2026-08-21 \
  --source "fixtures/sanctions/lazarus_tradertraitor_addresses.csv: FBI IC3 notices (PSA250226 Bybit, Stake.com, Harmony, 2023 heists) as embedded in safe-global/safe-transaction-service @3e0199c4 (2026-08-21), OFAC DPRK entries, tayvano/lazarus-bluenoroff-research, tornadocash/tornado-cli" \
  --note "ATTRIBUTIONS, NOT SANCTIONS: FBI advisories and researcher attributions of addresses to DPRK / Lazarus; only the OFAC DPRK rows are designations." \
  --note "Includes the Tornado Cash contracts that OFAC delisted on 2025-03-21, kept as a risk signal (funds laundered through them), not as a legal block." \
  --note "Includes Safe Transaction Service's blocklist of signer EOAs. Per-row source and attribution level are in the CSV." \
  --out "$out/fbi-dprk.list" \
  fixtures/sanctions/lazarus_tradertraitor_addresses.csv

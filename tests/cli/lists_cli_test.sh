#!/usr/bin/env bash
# The command line contract of 'txguard lists': what import writes and reports for each format, that
# the shipped demo lists are valid and reproducible, and the exit codes (0 ok, 64 usage, 65 malformed
# input with one line naming the line or element, 66 unreadable input, 73 unwritable output).
set -u
txguard=$1
root=$2
fixtures=$root/fixtures
. "$(dirname "$0")/harness.sh"
expect() { # name, file, fixed string it must contain
  local name=$1 file=$2 needle=$3
  if grep -qF -- "$needle" "$file"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $name: '$needle' not in $(basename "$file"):"
    sed 's/^/  /' "$file" | head -12
  fi
}
same() { # name, file a, file b
  if cmp -s "$2" "$3"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $1: $2 and $3 differ"
    diff "$2" "$3" | head -10
  fi
}
hash_of() { grep '^# content_hash: ' "$1" | cut -d' ' -f3; }

# --- imports of each format -------------------------------------------------------------------------
check "sdn-advanced import" 0 "$txguard" lists import --format sdn-advanced --ticker ETH --ticker DOGE \
  --out "$tmp/adv.list" "$fixtures/lists/sdn_advanced_2024.xml"
expect "per-ticker count on stderr" "$tmp/err" "ETH: 3"
expect "unknown ticker counts zero" "$tmp/err" "DOGE: 0"
expect "placeholder reported" "$tmp/err" "1 placeholders skipped"
expect "count header" "$tmp/adv.list" "# count: 3"
expect "as_of from DateOfIssue" "$tmp/adv.list" "# as_of: 2024-09-27"
expect "entries lower-cased" "$tmp/adv.list" "0x098b716b8aaf21512996dc57eb0615e2383e2f96"

check "old-namespace sdn-advanced import" 0 "$txguard" lists import --format sdn-advanced --ticker ETH \
  --out "$tmp/adv2022.list" "$fixtures/lists/sdn_advanced_2022.xml"
expect "old namespace entry" "$tmp/adv2022.list" "0x8589427373d6d84e98730d7795d8f6f8731fda16"

check "sdn-advanced from standard input" 0 sh -c "'$txguard' lists import --format sdn-advanced --ticker ETH - <'$fixtures/lists/sdn_advanced_2024.xml'"
expect "stdin output has the entries" "$tmp/out" "# count: 3"

check "sdn-xml import" 0 "$txguard" lists import --format sdn-xml --ticker ETH --out "$tmp/xml.list" "$fixtures/lists/sdn.xml"
check "sdn-csv import" 0 "$txguard" lists import --format sdn-csv --ticker ETH --out "$tmp/csv.list" "$fixtures/lists/sdn.csv"
if [ "$(hash_of "$tmp/adv.list")" = "$(hash_of "$tmp/xml.list")" ] && [ "$(hash_of "$tmp/adv.list")" = "$(hash_of "$tmp/csv.list")" ]; then
  pass=$((pass + 1))
else
  fail=$((fail + 1))
  echo "FAIL: the three OFAC publications of the same data should give the same content hash"
fi

check "sdn-csv, every ticker, TRON under XBT flagged" 0 "$txguard" lists import --format sdn-csv --out "$tmp/all.list" "$fixtures/lists/sdn.csv"
expect "mismatch warning" "$tmp/err" "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq has the shape of a tron address"
expect "tickers recorded" "$tmp/all.list" "# ticker: ETC,ETH,XBT"

check "json import" 0 "$txguard" lists import --format json --name ofac-2024 --out "$tmp/json.list" \
  "$fixtures/sanctions/ofac/sanctioned_addresses_ETH.json"
expect "json name" "$tmp/json.list" "# name: ofac-2024"
check "lines import of the same data" 0 "$txguard" lists import --format lines --name ofac-2024 --source x \
  --out "$tmp/lines.list" "$fixtures/sanctions/ofac/sanctioned_addresses_ETH.txt"
[ "$(hash_of "$tmp/json.list")" = "$(hash_of "$tmp/lines.list")" ] && pass=$((pass + 1)) ||
  { fail=$((fail + 1)); echo "FAIL: JSON and lines of the same list should hash alike"; }

check "csv import with a column and exclusions" 0 "$txguard" lists import --format csv --column address --evm-only \
  --exclude category=victim --out "$tmp/dprk.list" "$fixtures/sanctions/lazarus_tradertraitor_addresses.csv"
if grep -qi '0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4' "$tmp/dprk.list"; then
  fail=$((fail + 1)); echo "FAIL: the excluded victim row is in the list"
else
  pass=$((pass + 1))
fi

# --- show and the shipped lists ----------------------------------------------------------------------
check "show" 0 "$txguard" lists show "$tmp/adv.list"
expect "show count" "$tmp/out" "count: 3 (evm 3, other 0)"
expect "show hash" "$tmp/out" "content_hash: $(hash_of "$tmp/adv.list")"
for list in "$root"/deploy/lists/*.list; do
  check "shipped $(basename "$list") loads" 0 "$txguard" lists show "$list"
done
check "show prints the caveat of the DPRK list" 0 "$txguard" lists show "$root/deploy/lists/fbi-dprk.list"
expect "attribution caveat" "$tmp/out" "note: ATTRIBUTIONS, NOT SANCTIONS"
check "refresh.sh reproduces the shipped lists" 0 bash "$root/deploy/lists/refresh.sh" "$txguard" "$tmp"
for list in "$root"/deploy/lists/*.list; do
  same "refreshed $(basename "$list") is byte-identical" "$list" "$tmp/$(basename "$list")"
done

# --- malformed input: 65, one line naming where ------------------------------------------------------
cp "$tmp/adv.list" "$tmp/edited.list"
echo "0x0000000000000000000000000000000000000001" >>"$tmp/edited.list"
check "a hand-edited list is refused" 65 "$txguard" lists show "$tmp/edited.list"
expect_err "edited list message" "bad-header at line"
printf '# x\n0x51E9d833Ecae4E8D9D8Be17300AEE6D3398C135D\n0x1234\n' >"$tmp/bad.txt"
check "bad address line" 65 "$txguard" lists import --format lines "$tmp/bad.txt"
expect_err "bad address names line 3" "bad-address at line 3"
printf 'address,chain\n"0x51E9d833Ecae4E8D9D8Be17300AEE6D3398C135D,ETH\n' >"$tmp/quote.csv"
check "unterminated CSV quote" 65 "$txguard" lists import --format csv "$tmp/quote.csv"
expect_err "unterminated quote names line 2" "bad-csv at line 2"
check "missing CSV column" 65 "$txguard" lists import --format csv --column wallet "$fixtures/sanctions/lazarus_tradertraitor_addresses.csv"
expect_err "missing column message" "missing-column at line 1"
printf '[\n"0x51E9d833Ecae4E8D9D8Be17300AEE6D3398C135D",\nnull\n]\n' >"$tmp/bad.json"
check "non-string JSON element" 65 "$txguard" lists import --format json "$tmp/bad.json"
expect_err "JSON element names line 3" "bad-json at line 3"
head -c 2000 "$fixtures/lists/sdn_advanced_2024.xml" >"$tmp/truncated.xml"
check "truncated XML" 65 "$txguard" lists import --format sdn-advanced "$tmp/truncated.xml"
expect_err "truncated XML message" "bad-xml at line"
check "wrong format for the file" 65 "$txguard" lists import --format sdn-xml "$fixtures/lists/sdn_advanced_2024.xml"
expect_err "wrong root message" "expected <sdnList>"

# --- atomic output ------------------------------------------------------------------------------------
cp "$tmp/adv.list" "$tmp/keep.list"
check "malformed input leaves the old output in place" 65 "$txguard" lists import --format lines --out "$tmp/keep.list" "$tmp/bad.txt"
same "old output untouched" "$tmp/adv.list" "$tmp/keep.list"
check "unwritable output" 73 "$txguard" lists import --format lines --out "$tmp/no/such/dir/x.list" "$fixtures/sanctions/ofac/sanctioned_addresses_ETH.txt"
if ls "$tmp" | grep -q '\.tmp\.'; then
  fail=$((fail + 1)); echo "FAIL: a temporary file was left behind"
else
  pass=$((pass + 1))
fi

# --- usage and unreadable input ------------------------------------------------------------------------
check "usage: no subcommand" 64 "$txguard" lists
check "usage: unknown subcommand" 64 "$txguard" lists frobnicate
check "usage: no format" 64 "$txguard" lists import "$fixtures/lists/sdn.csv"
check "usage: unknown format" 64 "$txguard" lists import --format yaml "$fixtures/lists/sdn.csv"
check "usage: no input" 64 "$txguard" lists import --format lines
check "usage: two inputs" 64 "$txguard" lists import --format lines a b
check "usage: unknown option" 64 "$txguard" lists import --format lines --frobnicate x
check "usage: --column with json" 64 "$txguard" lists import --format json --column address x.json
check "usage: bad --as-of" 64 "$txguard" lists import --format lines --as-of 1/10/2026 x
check "usage: bad --exclude" 64 "$txguard" lists import --format csv --exclude category x.csv
check "usage: show without a file" 64 "$txguard" lists show
check "help" 0 "$txguard" lists --help
check "missing input file" 66 "$txguard" lists import --format sdn-advanced "$tmp/does-not-exist.xml"
check "missing list file" 66 "$txguard" lists show "$tmp/does-not-exist.list"

finish

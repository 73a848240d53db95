#!/usr/bin/env bash
# The command line contract of 'txguard policy check' and 'txguard eval': the shipped example
# policies are valid; every problem names the file, the JSON path and a fix; eval's exit status is
# the verdict (0 allow, 10 deny, 11 hold) and its JSON names the rule and reasons; --state applies the
# decision's effects (a withdrawal split in pieces stops at the daily window) and --dry-run does not.
set -u
txguard=$1
root=$2
examples=$root/deploy/examples
. "$(dirname "$0")/harness.sh"
expect_out() { # name, fixed string stdout must contain
  if grep -qF -- "$2" "$tmp/out"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $1: '$2' not in stdout:"
    head -30 "$tmp/out" | sed 's/^/  /'
  fi
}

hot=$examples/hot-wallet.policy.json
safe=0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4
usdc=0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48
customer=14dc79964da2c08b23698b3d3cc7ca32193d9955
sanctioned=098b716b8aaf21512996dc57eb0615e2383e2f96  # OFAC SDN, in deploy/lists/ofac-sdn-eth.list
at=2026-11-22T10:05:00Z                              # 5 minutes after the example ETH price

# A Safe transaction of the hot wallet: USDC transfer(to, amount in base units).
usdc_transfer() { # to (40 hex), amount (decimal base units), nonce
  local data
  data=$(printf '0xa9059cbb%064s%064x' "$1" "$2" | tr ' ' 0)
  printf '{"to":"%s","value":"0","data":"%s","operation":0,"safeTxGas":"0","baseGas":"0","gasPrice":"0",' "$usdc" "$data"
  printf '"gasToken":"0x0000000000000000000000000000000000000000","refundReceiver":"0x0000000000000000000000000000000000000000",'
  printf '"nonce":"%s","chainId":1,"safe":"%s","safeVersion":"1.4.1"}' "$3" "$safe"
}

# ---- policy check -----------------------------------------------------------------------------
check "hot wallet example is valid" 0 "$txguard" policy check "$hot"
expect_out "check prints the hash" '"hash": "0x'
expect_out "check prints list sizes" '"entries": 120'
check "cold wallet example is valid" 0 "$txguard" policy check "$examples/cold-wallet.policy.json"

sed 's/"effect": "allow"}/"effect": "alow"}/; s/"max_usd": "250000"/"max_usd": 250000.5/' "$hot" >"$tmp/bad.json"
check "a bad policy is refused" 65 "$txguard" policy check "$tmp/bad.json"
grep -qF "$tmp/bad.json: \$.limits.hourly-usd.max_usd: a number with a fraction" "$tmp/err" && pass=$((pass + 1)) || {
  fail=$((fail + 1)); echo "FAIL: problem names file and path:"; cat "$tmp/err"; }
grep -qF '$.rules[2].effect: expected "allow", "deny" or "hold"' "$tmp/err" && pass=$((pass + 1)) || {
  fail=$((fail + 1)); echo "FAIL: every problem is reported:"; cat "$tmp/err"; }
grep -qF 'fix: ' "$tmp/err" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: problems carry a fix"; }

sed 's#"../lists/fbi-dprk.list"#"../lists/no-such.list"#' "$hot" >"$examples/.missing-list.policy.json"
check "a missing list file is refused" 65 "$txguard" policy check "$examples/.missing-list.policy.json"
grep -qF '$.lists.dprk-attributed.file: cannot read "../lists/no-such.list"' "$tmp/err" && pass=$((pass + 1)) || {
  fail=$((fail + 1)); echo "FAIL: missing list named:"; cat "$tmp/err"; }
rm -f "$examples/.missing-list.policy.json"

check "missing policy file" 66 "$txguard" policy check "$tmp/nowhere.json"
expect_err "missing policy file named" "nowhere.json: cannot open"
check "policy without subcommand" 64 "$txguard" policy
check "policy check without file" 64 "$txguard" policy check
check "policy unknown subcommand" 64 "$txguard" policy lint "$hot"

# ---- eval ---------------------------------------------------------------------------------------
usdc_transfer "$customer" 1000000000 1 >"$tmp/small.json"           # 1,000 USDC
check "small withdrawal allowed" 0 "$txguard" eval --policy "$hot" --request "$tmp/small.json" --at "$at"
expect_out "allowed by the withdrawal rule" '"rule": "withdrawal"'
expect_out "verdict allow" '"verdict": "allow"'
expect_out "records the policy hash" '"hash": "0x'

# A SafeTx as eth_signTypedData_v4 is the Safe's transaction: the same 1,000 USDC is allowed by the same
# rule as through the Safe route, and a DELEGATECALL is refused as the Safe route refuses it.
safe_typed() { # safe-tx body file -> typed data (node: the test tools' runtime)
  node -e '
const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const fields = [["to", "address"], ["value", "uint256"], ["data", "bytes"], ["operation", "uint8"], ["safeTxGas", "uint256"],
  ["baseGas", "uint256"], ["gasPrice", "uint256"], ["gasToken", "address"], ["refundReceiver", "address"], ["nonce", "uint256"]];
console.log(JSON.stringify({
  types: { EIP712Domain: [{ name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" }],
           SafeTx: fields.map(([name, type]) => ({ name, type })) },
  primaryType: "SafeTx", domain: { chainId: String(b.chainId), verifyingContract: b.safe },
  message: Object.fromEntries(fields.map(([n]) => [n, b[n]])) }));' "$1"
}
safe_typed "$tmp/small.json" >"$tmp/small.typed.json"
check "a SafeTx as typed data is judged as the Safe's transaction" 0 "$txguard" eval --policy "$hot" --request "$tmp/small.typed.json" --at "$at"
expect_out "by the Safe route's rule" '"rule": "withdrawal"'
node -e 'const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); b.operation = 1; console.log(JSON.stringify(b));' "$tmp/small.json" >"$tmp/delegate.json"
safe_typed "$tmp/delegate.json" >"$tmp/delegate.typed.json"
check "a SafeTx DELEGATECALL as typed data is denied" 10 "$txguard" eval --policy "$hot" --request "$tmp/delegate.typed.json" --at "$at"
expect_out "as the Safe route denies it" '"unsafe-delegatecall"'
# The same SafeTx in the domain of a Safe before 1.3.0 (no chainId) is not what the pinned 1.4.1 signs.
node -e 'const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); t.types.EIP712Domain.shift(); delete t.domain.chainId; console.log(JSON.stringify(t));' "$tmp/small.typed.json" >"$tmp/old-domain.typed.json"
check "a SafeTx typed in another version's domain is denied" 10 "$txguard" eval --policy "$hot" --request "$tmp/old-domain.typed.json" --at "$at"

usdc_transfer "$customer" 150000000000 2 >"$tmp/large.json"         # 150,000 USDC
check "large withdrawal held" 11 "$txguard" eval --policy "$hot" --request "$tmp/large.json" --at "$at"
expect_out "held for 2 of 3" '"quorum": 2'
expect_out "hold reason" '"code": "hold-required"'

usdc_transfer "$sanctioned" 1000000 3 >"$tmp/sanctioned.json"
check "transfer to a sanctioned address denied" 10 "$txguard" eval --policy "$hot" --request "$tmp/sanctioned.json" --at "$at"
expect_out "names the reason" '"code": "sanctioned-address"'
expect_out "names the address" '"address": "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"'

# ETH withdrawal: the example price is from 10:00; at 10:20 it is older than max_age (15m).
eth='{"to":"0x14dC79964da2C08b23698B3D3cc7Ca32193d9955","value":"1000000000000000000","data":"0x","operation":0,"safeTxGas":"0","baseGas":"0","gasPrice":"0","gasToken":"0x0000000000000000000000000000000000000000","refundReceiver":"0x0000000000000000000000000000000000000000","nonce":"4","chainId":1,"safe":"0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4","safeVersion":"1.4.1"}'
check "ETH withdrawal with a fresh price allowed" 0 "$txguard" eval --policy "$hot" --request "$eth" --at "$at"
expect_out "USD value recorded" '"usd": "3000"'
check "ETH withdrawal with a stale price denied" 10 "$txguard" eval --policy "$hot" --request "$eth" --at 2026-11-22T10:20:00Z
expect_out "stale price reason" '"code": "price-unavailable"'

# A withdrawal split into 9,000 USDC pieces to one destination stops at the hourly per-destination
# limit of 100,000: 11 pieces pass (99,000), the 12th is denied; --dry-run changes nothing.
db=$tmp/state.db
for i in $(seq 1 11); do
  usdc_transfer "$customer" 9000000000 "$((10 + i))" >"$tmp/piece.json"
  check "piece $i allowed" 0 "$txguard" eval --policy "$hot" --request "$tmp/piece.json" --at "$at" --state "$db" --decision-id "p$i"
done
usdc_transfer "$customer" 9000000000 30 >"$tmp/piece.json"
check "piece 12 dry run denied" 10 "$txguard" eval --policy "$hot" --request "$tmp/piece.json" --at "$at" --state "$db" --dry-run
check "piece 12 denied" 10 "$txguard" eval --policy "$hot" --request "$tmp/piece.json" --at "$at" --state "$db"
expect_out "limit reason" '"code": "limit-exceeded"'
expect_out "names the limit" 'limit hourly-usd-per-dest'
usdc_transfer "$customer" 1000000000 31 >"$tmp/piece.json"
check "the last 1,000 still fits" 0 "$txguard" eval --policy "$hot" --request "$tmp/piece.json" --at "$at" --state "$db" --dry-run
check "the last 1,000 fits again: dry run consumed nothing" 0 "$txguard" eval --policy "$hot" --request "$tmp/piece.json" --at "$at" --state "$db"
usdc_transfer "$customer" 1 32 >"$tmp/piece.json"
check "one more base unit denied" 10 "$txguard" eval --policy "$hot" --request "$tmp/piece.json" --at "$at" --state "$db"
usdc_transfer 23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f 1000000000 33 >"$tmp/other.json"
check "another destination still has room" 0 "$txguard" eval --policy "$hot" --request "$tmp/other.json" --at "$at" --state "$db"

# Two held requests at the same --at get distinct reservations (the default decision id is unique);
# reusing an explicit decision id is refused and changes nothing.
usdc_transfer "$customer" 100000010000 40 >"$tmp/held.json"        # 100,000.01 USDC: just above the hold threshold
check "held at time t" 11 "$txguard" eval --policy "$hot" --request "$tmp/held.json" --at "$at" --state "$tmp/holds.db"
check "held again at time t" 11 "$txguard" eval --policy "$hot" --request "$tmp/held.json" --at "$at" --state "$tmp/holds.db"
check "held with an explicit id" 11 "$txguard" eval --policy "$hot" --request "$tmp/held.json" --at "$at" --state "$tmp/holds2.db" --decision-id h1
check "a reused decision id is refused" 65 "$txguard" eval --policy "$hot" --request "$tmp/held.json" --at "$at" --state "$tmp/holds2.db" --decision-id h1
expect_err "reused id named" "duplicate"

# Shadow: a stricter copy of the policy (every withdrawal held) is evaluated and printed, not enforced.
sed 's/"usd": {">": "100000"}/"usd": {">": "0"}/' "$hot" >"$examples/.shadow.policy.json"
check "shadow does not change the verdict" 0 "$txguard" eval --policy "$hot" --shadow "$examples/.shadow.policy.json" --request "$tmp/small.json" --at "$at"
expect_out "shadow decision printed" '"shadow": {'
rm -f "$examples/.shadow.policy.json"

check "request that does not decode" 65 "$txguard" eval --policy "$hot" --request '{"to": "0x12"}' --at "$at"
expect_err "request error names the field" "Safe transaction"
check "no policy" 64 "$txguard" eval --request "$tmp/small.json"
check "no request" 64 "$txguard" eval --policy "$hot"
check "bad time" 64 "$txguard" eval --policy "$hot" --request "$tmp/small.json" --at yesterday
check "dry run without state" 64 "$txguard" eval --policy "$hot" --request "$tmp/small.json" --dry-run
check "unknown option" 64 "$txguard" eval --policy "$hot" --request "$tmp/small.json" --fast
check "bad policy" 65 "$txguard" eval --policy "$tmp/bad.json" --request "$tmp/small.json"
echo "not a database" >"$tmp/junk.db"
check "a state file that is not a store" 65 "$txguard" eval --policy "$hot" --request "$tmp/small.json" --state "$tmp/junk.db"
finish

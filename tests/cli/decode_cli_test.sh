#!/usr/bin/env bash
# The command line contract of 'txguard decode': what it prints for each input kind, and its exit
# codes (0 decoded, 64 usage, 65 bad input with one line naming what and where, 66 unreadable file).
set -u
txguard=$1
fixtures=$2
. "$(dirname "$0")/harness.sh"
expect_json() { # name, jq-less check: python expression over the JSON in $tmp/out as j
  local name=$1 expr=$2
  if python3 -c "import json,sys; j=json.load(open('$tmp/out')); sys.exit(0 if ($expr) else 1)"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $name: $expr"
  fi
}

raw=$(cat "$fixtures/samples/mainnet_erc20_transfer.hex")

check "raw transaction from an argument" 0 "$txguard" decode "$raw"
expect_json "transaction fields" "j['type']==2 and j['chain_id']=='1' and j['nonce']=='133692' and j['value']=='0' and j['hash']=='0xaeb5e0e3d2f51d972bc20b8495f9648c5353cc57ca70b85d0b893ba7e27fbcc3' and j['from']=='0x0b5c4a7FcDA49e0a8661419Bb55B86161a86db2a' and j['to']=='0x7D1AfA7B718fb893dB30A3aBc0Cfc608AaCfeBB0' and j['signing_hash'].startswith('0x')"
expect_json "transfer decoded" "j['transfers'][0]['amount']=='45300000000000000000' and j['transfers'][0]['kind']=='erc20' and len(j['calls'])==1 and j['grants']==[] and len(j['addresses'])==3"

check "raw transaction from a file" 0 "$txguard" decode "$fixtures/samples/mainnet_erc20_transfer.hex"
check "raw transaction from stdin" 0 sh -c "printf '%s\n' '$raw' | '$txguard' decode"
check "raw transaction from stdin with -" 0 sh -c "printf '%s' '$raw' | '$txguard' decode -"

cat >"$tmp/safe.json" <<'JSON'
{"to":"0x96221423681A6d52E184D440a8eFCEbB105C7242","value":"0",
 "data":"0xa9059cbb000000000000000000000000bdd077f651ebe7f7b3ce16fe5f2b025be29695160000000000000000000000000000000000000000000000000000000000000000",
 "operation":1,"safeTxGas":"45746","baseGas":"0","gasPrice":"0",
 "gasToken":"0x0000000000000000000000000000000000000000","refundReceiver":"0x0000000000000000000000000000000000000000",
 "nonce":"71","chainId":1,"safe":"0x1Db92e2EeBC8E0c075a02BeA49a2935BcD2dFCF4","safeVersion":"1.1.1"}
JSON
check "Safe transaction (the Bybit SafeTx)" 0 "$txguard" decode "$tmp/safe.json"
expect_json "Bybit hash and DELEGATECALL grant" "j['safe_tx_hash']=='0xb3476d061aeb8fc1d605a873c483a2402d88a68a9cdd1a8b47655dd55ba004f8' and j['grants'][0]['kind']=='delegatecall' and j['calls'][0]['operation']=='DELEGATECALL'"

cat >"$tmp/typed.json" <<'JSON'
{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"},{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],
 "Person":[{"name":"name","type":"string"},{"name":"wallet","type":"address"}],
 "Mail":[{"name":"from","type":"Person"},{"name":"to","type":"Person"},{"name":"contents","type":"string"}]},
 "primaryType":"Mail",
 "domain":{"name":"Ether Mail","version":"1","chainId":1,"verifyingContract":"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
 "message":{"from":{"name":"Cow","wallet":"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},"to":{"name":"Bob","wallet":"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},"contents":"Hello, Bob!"}}
JSON
check "typed data (the EIP-712 Mail example)" 0 "$txguard" decode "$tmp/typed.json"
expect_json "EIP-712 digest and addresses" "j['digest']=='0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2' and len(j['addresses'])==3"

check "usage: no command arguments beyond decode on an empty stdin" 64 sh -c "'$txguard' decode < /dev/null"
check "usage: unknown option" 64 "$txguard" decode --frobnicate "$raw"
check "usage: two inputs" 64 "$txguard" decode "$raw" "$raw"
check "usage: bad --safe" 64 "$txguard" decode --safe 0x1234 "$raw"
check "usage: unknown command" 64 "$txguard" frobnicate
check "missing file" 66 "$txguard" decode "$tmp/does-not-exist"

check "bad hex names the offset" 65 "$txguard" decode "0x02zz"
expect_err "bad hex message" "invalid-hex at byte"
check "truncated transaction" 65 "$txguard" decode "${raw:0:100}"
expect_err "truncated message" "input-too-short at byte"
check "trailing byte" 65 "$txguard" decode "${raw}00"
expect_err "trailing message" "trailing-bytes at byte"
sed 's/"operation":1/"operation":2/' "$tmp/safe.json" >"$tmp/bad-op.json"
check "bad Safe field names the JSON path" 65 "$txguard" decode "$tmp/bad-op.json"
expect_err "bad Safe field message" "invalid-field at \$.operation"
sed 's/"safeVersion":"1.1.1"/"safeVersion":"1.1.1","safeVersion":"1.3.0"/' "$tmp/safe.json" >"$tmp/dup.json"
check "duplicate JSON key" 65 "$txguard" decode "$tmp/dup.json"
expect_err "duplicate key message" "duplicate object key"
sed 's/"Hello, Bob!"/42/' "$tmp/typed.json" >"$tmp/bad-typed.json"
check "bad typed data names the JSON path" 65 "$txguard" decode "$tmp/bad-typed.json"
expect_err "bad typed data message" "\$.message.contents"
check "not JSON" 65 "$txguard" decode "{not json"

finish

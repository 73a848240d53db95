#!/usr/bin/env bash
# The command line contract of 'txguard vaa': verify a real VAA as hex, base64, a file and standard
# input; the reason codes of invalid VAAs; every exit code (0 valid, 10 invalid or refused, 64 usage,
# 65 unparseable, 66 unreadable); that the shipped mainnet history is exactly what 'vaa sets build'
# makes from the genesis key and the fixture's upgrade VAAs; and a rotation on a copy.
set -u
txguard=$1
root=$2
fixtures=$root/fixtures
. "$(dirname "$0")/harness.sh"

vectors=$fixtures/wormhole/wormhole-vaa-vectors.json
vaa() { # id -> hex
  python3 -c "import json,sys; print(next(v['vaa_hex'] for v in json.load(open('$vectors'))['vectors'] if v['id']=='$1'))"
}
field() { # id, key -> value
  python3 -c "import json,sys; print(next(v['$2'] for v in json.load(open('$vectors'))['vectors'] if v['id']=='$1'))"
}
expect_json() { # name, python expression over j (the JSON on stdout)
  if python3 -c "import json,sys; j=json.load(open('$tmp/out')); sys.exit(0 if ($2) else 1)" 2>/dev/null; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $1: ($2) does not hold for:"
    head -c 600 "$tmp/out" | sed 's/^/  /'
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

sei=$(vaa mainnet-token-transfer-sei-gs4)
sei_ts=$(field mainnet-token-transfer-sei-gs4 timestamp)
sei_digest=$(field mainnet-token-transfer-sei-gs4 digest)

# --- verify: the four input forms ------------------------------------------------------------------
check "gs4 transfer as hex, at its timestamp" 0 "$txguard" vaa verify --at "$sei_ts" "$sei"
expect_json "valid with its digest" "j['valid'] is True and j['digest'] == '$sei_digest' and 'reason' not in j"
expect_json "header and body fields" "j['guardian_set_index'] == 4 and j['version'] == 1 and j['emitter_chain'] == 32 and j['sequence'] == '29310' and j['timestamp'] == $sei_ts and j['nonce'] == 0 and j['consistency_level'] == 0"
expect_json "13 signers with EIP-55 addresses" "len(j['signers']) == 13 and j['signers'][0] == {'index': 0, 'address': '0x5893B5A76c3f739645648885bDCcC06cd70a3Cd3'}"
expect_json "decoded transfer" "j['payload']['type'] == 'token-transfer' and j['payload']['amount'] == '166185' and j['payload']['to_chain'] == 21"
check "0x prefix optional" 0 "$txguard" vaa verify --at "$sei_ts" "0x$sei"
b64=$(python3 -c "import base64; print(base64.b64encode(bytes.fromhex('$sei')).decode())")
check "base64" 0 "$txguard" vaa verify --at "$sei_ts" "$b64"
expect_json "base64 gives the same digest" "j['digest'] == '$sei_digest'"
echo "$sei" >"$tmp/sei.hex"
check "file" 0 "$txguard" vaa verify --at "$sei_ts" "$tmp/sei.hex"
check "standard input (-)" 0 sh -c "'$txguard' vaa verify --at $sei_ts - <'$tmp/sei.hex'"
check "standard input (no argument)" 0 sh -c "'$txguard' vaa verify --at $sei_ts <'$tmp/sei.hex'"
check "RFC 3339 --at" 0 "$txguard" vaa verify --at "$(date -u -d "@$sei_ts" +%Y-%m-%dT%H:%M:%SZ)" "$sei"

# --- verify: invalid --------------------------------------------------------------------------------
check "gs4 expired now (set 5 installed in 2026)" 10 "$txguard" vaa verify "$sei"
expect_json "reason validator-set-expired" "j['valid'] is False and j['reason'] == 'validator-set-expired' and j['signers'] == []"
check "before set 4 existed" 10 "$txguard" vaa verify --at 2024-01-01T00:00:00Z "$sei"
expect_json "reason validator-set-not-yet-valid" "j['reason'] == 'validator-set-not-yet-valid'"
check "flipped amount byte" 10 "$txguard" vaa verify --at "$sei_ts" "$(vaa tampered-flipped-payload-amount-byte)"
expect_json "reason signature-invalid naming guardian 0" "j['reason'] == 'signature-invalid' and 'guardian index 0' in j['detail']"
check "12 of 19" 10 "$txguard" vaa verify --at "$sei_ts" "$(vaa tampered-below-quorum-12-of-19)"
expect_json "reason no-quorum" "j['reason'] == 'no-quorum'"
check "duplicate index" 10 "$txguard" vaa verify --at "$sei_ts" "$(vaa tampered-duplicate-signature-index)"
expect_json "reason signer-indices-not-ascending" "j['reason'] == 'signer-indices-not-ascending'"
check "recovery id 2" 10 "$txguard" vaa verify --at "$sei_ts" "$(vaa tampered-invalid-recovery-id)"
expect_json "reason bad-recovery-id" "j['reason'] == 'bad-recovery-id'"
check "version 2" 10 "$txguard" vaa verify --at "$sei_ts" "02${sei:2}"
expect_json "reason bad-version" "j['reason'] == 'bad-version'"
check "--min-signatures 14 above the 13 signatures" 10 "$txguard" vaa verify --at "$sei_ts" --min-signatures 14 "$sei"
expect_json "reason no-quorum (min-signatures)" "j['reason'] == 'no-quorum' and j['required'] == 14"
check "--min-operators 14: every key its own operator, 13 signers" 10 "$txguard" vaa verify --at "$sei_ts" --min-operators 14 "$sei"
expect_json "reason too-few-operators" "j['reason'] == 'too-few-operators'"

# --- verify: unparseable, usage, unreadable -------------------------------------------------------------
check "not hex or base64" 65 "$txguard" vaa verify "zz-not-a-vaa"
expect_json "unparseable JSON" "j == {'valid': False, 'reason': 'unparseable', 'detail': 'not hex or base64'}"
check "truncated inside signature 5" 65 "$txguard" vaa verify "$(vaa tampered-truncated-inside-signatures)"
expect_json "unparseable names the signature" "j['reason'] == 'unparseable' and 'truncated signature 5' in j['detail']"
check "base64 with bad padding bits" 65 "$txguard" vaa verify "AQB="
check "odd hex" 65 "$txguard" vaa verify "0x010"
check "no subcommand" 64 "$txguard" vaa
check "unknown subcommand" 64 "$txguard" vaa frobnicate
check "bad --at" 64 "$txguard" vaa verify --at yesterday "$sei"
check "bad --min-signatures" 64 "$txguard" vaa verify --min-signatures many "$sei"
check "two VAAs" 64 "$txguard" vaa verify "$sei" "$sei"
check "unknown option" 64 "$txguard" vaa verify --fast "$sei"
check "--help" 0 "$txguard" vaa --help
check "unreadable --sets" 66 "$txguard" vaa verify --sets "$tmp/missing.json" "$sei"
echo '{"txguard_validator_sets": 1}' >"$tmp/bad.sets.json"
check "unusable --sets" 66 "$txguard" vaa verify --sets "$tmp/bad.sets.json" "$sei"
mkdir "$tmp/dir"
check "a directory is not a readable VAA file" 66 "$txguard" vaa verify "$tmp/dir"

# --- the shipped history --------------------------------------------------------------------------------
shipped=$root/deploy/bridges/wormhole-mainnet.sets.json
upgrades=()
for i in 1 2 3 4 5 6 7; do upgrades+=("$(vaa mainnet-guardian-set-upgrade-gs$i)"); done
check "sets build from the genesis key" 0 "$txguard" vaa sets build --genesis 0x58CC3AE5C097b213cE3c81979e1B9f9570746AA5 \
  --name wormhole-mainnet "${upgrades[@]}"
cp "$tmp/out" "$tmp/built.json"
same "the shipped history is what sets build makes" "$shipped" "$tmp/built.json"
check "sets verify the shipped file" 0 "$txguard" vaa sets verify "$shipped"
check "--sets with the shipped file equals the built-in history" 0 "$txguard" vaa verify --sets "$shipped" --at "$sei_ts" "$sei"
check "sets build refuses an upgrade out of order" 10 "$txguard" vaa sets build --genesis 0x58CC3AE5C097b213cE3c81979e1B9f9570746AA5 \
  "${upgrades[0]}" "${upgrades[2]}"
expect_err "not-current-set named" "refused: not-current-set"
check "sets build refuses another genesis key" 10 "$txguard" vaa sets build --genesis 0x0000000000000000000000000000000000000001 "${upgrades[0]}"
expect_err "signature-invalid named" "refused: signature-invalid"
check "sets build without --genesis" 64 "$txguard" vaa sets build "${upgrades[0]}"
check "sets build with an unparseable upgrade" 65 "$txguard" vaa sets build --genesis 0x58CC3AE5C097b213cE3c81979e1B9f9570746AA5 "0x0100"
check "sets verify a missing file" 66 "$txguard" vaa sets verify "$tmp/missing.json"
python3 -c "
import json; d=json.load(open('$shipped')); d['sets'][3]['validators'][0]['address']='0x0000000000000000000000000000000000000001'
json.dump(d, open('$tmp/tampered.sets.json','w'), indent=2)"
check "sets verify a tampered file" 10 "$txguard" vaa sets verify "$tmp/tampered.sets.json"

# --- rotate on a copy -------------------------------------------------------------------------------
check "history up to set 6" 0 "$txguard" vaa sets build --genesis 0x58CC3AE5C097b213cE3c81979e1B9f9570746AA5 \
  --name wormhole-mainnet "${upgrades[@]:0:6}"
cp "$tmp/out" "$tmp/rotate.json"
cp "$tmp/rotate.json" "$tmp/rotate.before.json"
gs7_ts=$(field mainnet-guardian-set-upgrade-gs7 timestamp)
check "rotate refuses an upgrade not yet signed at --at" 10 "$txguard" vaa sets rotate "$tmp/rotate.json" "${upgrades[6]}" --at $((gs7_ts - 1))
expect_err "valid-before-signed named" "refused: valid-before-signed"
same "a refused rotation leaves the file alone" "$tmp/rotate.before.json" "$tmp/rotate.json"
check "rotate refuses a replayed older upgrade" 10 "$txguard" vaa sets rotate "$tmp/rotate.json" "${upgrades[5]}" --at "$gs7_ts"
expect_err "replayed upgrade refused" "refused: not-current-set"
check "rotate to set 7 at its timestamp" 0 "$txguard" vaa sets rotate "$tmp/rotate.json" "${upgrades[6]}" --at "$gs7_ts"
same "the rotated file equals the shipped history" "$shipped" "$tmp/rotate.json"
check "rotate again refused (set 7 is current)" 10 "$txguard" vaa sets rotate "$tmp/rotate.json" "${upgrades[6]}" --at "$gs7_ts"
check "rotate a missing file" 66 "$txguard" vaa sets rotate "$tmp/missing.json" "${upgrades[6]}"
check "rotate with an unparseable VAA" 65 "$txguard" vaa sets rotate "$tmp/rotate.json" "0x01"
check "rotate without its VAA" 64 "$txguard" vaa sets rotate "$tmp/rotate.json"
if ls "$tmp"/rotate.json.tmp.* >/dev/null 2>&1; then
  fail=$((fail + 1)); echo "FAIL: a temporary file was left behind"
else
  pass=$((pass + 1))
fi

finish

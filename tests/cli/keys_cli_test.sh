#!/usr/bin/env bash
# The command line contract of 'txguard keys': keystores written with mode 0600 and never overwritten,
# addresses printed in EIP-55 form, ethers' keystores read (and, when node and ethers are installed,
# txguard's keystores read by ethers), the passphrase taken only from a file or the environment and
# never printed, no key bytes in any output, and the exit codes (0 ok, 64 usage, 65 bad data or wrong
# passphrase with one line naming the file and field, 66 unreadable input, 73 cannot create / exists).
set -u
txguard=$1
root=$2
fixtures=$root/fixtures/keystore
. "$(dirname "$0")/harness.sh"
anvil=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
anvil_key=ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80

ok() { # name, condition already evaluated ($?)
  if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}
expect_out() { # name, exact stdout
  local status=0
  [ "$(cat "$tmp/out")" = "$2" ] || status=1
  ok "$1 (stdout '$(head -c 200 "$tmp/out")', wanted '$2')" $status
}
no_secret() { # name, text that must appear in neither stdout nor stderr
  local status=0
  grep -qiF -- "$2" "$tmp/out" "$tmp/err" && status=1
  ok "$1: '$2' leaked into the output" $status
}

printf 'correct horse battery staple\n' >"$tmp/pass"
printf 'correct horse battery staple\r\n' >"$tmp/pass-crlf"
printf 'not the passphrase\n' >"$tmp/wrong"
printf 'txguard test passphrase\n' >"$tmp/fixture-pass"
printf 'testpassword' >"$tmp/spec-pass"
printf 'p\xc3\xa4ssw\xc3\xb6rd \xe2\x9c\x93 \xf0\x9f\x94\x91\n' >"$tmp/utf8-pass"
: >"$tmp/empty-pass"
printf 'line one\nline two\n' >"$tmp/two-lines"

# --- new ----------------------------------------------------------------------------------------------
check "new (light scrypt)" 0 "$txguard" keys new --out "$tmp/new.json" --light --passphrase-file "$tmp/pass"
new_address=$(cat "$tmp/out")
[[ $new_address =~ ^0x[0-9a-fA-F]{40}$ ]]
ok "new prints an address" $?
[ "$(stat -c %a "$tmp/new.json")" = 600 ]
ok "keystore mode is 0600" $?
grep -qF "\"address\":\"$(echo "${new_address#0x}" | tr 'A-F' 'a-f')\"" "$tmp/new.json"
ok "address field is lower case without 0x, as geth" $?
grep -qF '"version":3' "$tmp/new.json" && grep -qF '"n":4096' "$tmp/new.json"
ok "V3 with the light scrypt n" $?
no_secret "new" "correct horse"
check "address reads the field without a passphrase" 0 "$txguard" keys address "$tmp/new.json"
expect_out "address matches new" "$new_address"
check "address --verify" 0 "$txguard" keys address --verify --passphrase-file "$tmp/pass" "$tmp/new.json"
expect_out "verified address" "$new_address"
check "a passphrase file ending in CRLF is the same passphrase" 0 "$txguard" keys address --verify --passphrase-file "$tmp/pass-crlf" "$tmp/new.json"
check "wrong passphrase" 65 "$txguard" keys address --verify --passphrase-file "$tmp/wrong" "$tmp/new.json"
expect_err "wrong passphrase names the file and the MAC" "new.json: wrong-passphrase: \$.crypto.mac"
no_secret "wrong passphrase" "not the passphrase"

cp "$tmp/new.json" "$tmp/keep.json"
check "new refuses to overwrite" 73 "$txguard" keys new --out "$tmp/new.json" --light --passphrase-file "$tmp/pass"
expect_err "overwrite message" "already exists"
cmp -s "$tmp/new.json" "$tmp/keep.json"
ok "the existing keystore is untouched" $?
check "new into a missing directory" 73 "$txguard" keys new --out "$tmp/no/such/dir/k.json" --light --passphrase-file "$tmp/pass"
expect_err "cannot create message" "cannot create"
ls "$tmp" | grep -q '\.tmp\.'
[ $? -ne 0 ]
ok "no temporary file left behind" $?

check "new with PBKDF2 and the passphrase from the environment" 0 env TXGUARD_TEST_PASS='env passphrase' \
  "$txguard" keys new --out "$tmp/pbkdf2.json" --kdf pbkdf2 --light --passphrase-env TXGUARD_TEST_PASS
pbkdf2_address=$(cat "$tmp/out")
grep -qF '"kdf":"pbkdf2"' "$tmp/pbkdf2.json" && grep -qF '"prf":"hmac-sha256"' "$tmp/pbkdf2.json"
ok "PBKDF2 keystore" $?
check "verify the PBKDF2 keystore" 0 env TXGUARD_TEST_PASS='env passphrase' \
  "$txguard" keys address --verify --passphrase-env TXGUARD_TEST_PASS "$tmp/pbkdf2.json"
expect_out "PBKDF2 address" "$pbkdf2_address"

# --- import -------------------------------------------------------------------------------------------
printf '0x%s\n' "$anvil_key" >"$tmp/anvil.key"
check "import a raw key from a file" 0 "$txguard" keys import --out "$tmp/anvil.json" --key-file "$tmp/anvil.key" --light --passphrase-file "$tmp/pass"
expect_out "imported address" "$anvil"
no_secret "import" "$anvil_key"
no_secret "import" "ac0974be"
check "verify the imported keystore" 0 "$txguard" keys address --verify --passphrase-file "$tmp/pass" "$tmp/anvil.json"
expect_out "imported keystore decrypts to anvil #0" "$anvil"
printf '%s' "$anvil_key" >"$tmp/bare.key"
check "import a key without 0x or newline" 0 "$txguard" keys import --out "$tmp/bare.json" --key-file "$tmp/bare.key" --light --passphrase-file "$tmp/pass"
expect_out "bare key address" "$anvil"
printf '0x%s\n' "${anvil_key:0:62}zz" >"$tmp/bad.key"
check "import a key file that is not hex" 65 "$txguard" keys import --out "$tmp/x.json" --key-file "$tmp/bad.key" --light --passphrase-file "$tmp/pass"
expect_err "bad key names the key file" "bad.key: not a private key"
no_secret "bad key" "${anvil_key:0:16}"
printf '%s\n' "${anvil_key:0:62}" >"$tmp/short.key"
check "import a 31-byte key" 65 "$txguard" keys import --out "$tmp/x.json" --key-file "$tmp/short.key" --light --passphrase-file "$tmp/pass"
printf '%064d\n' 0 >"$tmp/zero.key"
check "import the zero key" 65 "$txguard" keys import --out "$tmp/x.json" --key-file "$tmp/zero.key" --light --passphrase-file "$tmp/pass"
expect_err "zero key message" "not a valid secp256k1 private key"
echo fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141 >"$tmp/order.key"
check "import the group order n" 65 "$txguard" keys import --out "$tmp/x.json" --key-file "$tmp/order.key" --light --passphrase-file "$tmp/pass"
[ ! -e "$tmp/x.json" ]
ok "no keystore written for a refused key" $?
check "import from a missing key file" 66 "$txguard" keys import --out "$tmp/x.json" --key-file "$tmp/none.key" --light --passphrase-file "$tmp/pass"

# --- ethers' keystores and the spec vector --------------------------------------------------------------
for f in ethers-scrypt-n1024 ethers-scrypt-n1024-r4-p2; do
  check "address of ethers' $f" 0 "$txguard" keys address "$fixtures/$f.json"
  expect_out "$f address" "$anvil"
  check "verify ethers' $f" 0 "$txguard" keys address --verify --passphrase-file "$tmp/fixture-pass" "$fixtures/$f.json"
  expect_out "$f decrypts to anvil #0" "$anvil"
done
check "verify ethers' keystore with a UTF-8 passphrase" 0 "$txguard" keys address --verify --passphrase-file "$tmp/utf8-pass" "$fixtures/ethers-scrypt-n1024-utf8.json"
expect_out "UTF-8 passphrase keystore decrypts to anvil #0" "$anvil"
check "the spec vector has no address field" 65 "$txguard" keys address "$fixtures/web3-spec-pbkdf2.json"
expect_err "no address field message" "\$.address: missing"
check "verify the spec vector" 0 "$txguard" keys address --verify --passphrase-file "$tmp/spec-pass" "$fixtures/web3-spec-pbkdf2.json"
[ "$(tr 'A-F' 'a-f' <"$tmp/out")" = 0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b ]
ok "spec vector address" $?

# --- tampered and malformed keystores: 65, one line naming the file and field --------------------------
sed 's/"address":"f39fd6e51aad88f6f4ce6ab8827279cfffb92266"/"address":"70997970c51812dc3a010c7d01b50e0d17dc79c8"/' \
  "$fixtures/ethers-scrypt-n1024.json" >"$tmp/swapped.json"
check "address field of another key (shown without --verify)" 0 "$txguard" keys address "$tmp/swapped.json"
check "address field of another key (caught by --verify)" 65 "$txguard" keys address --verify --passphrase-file "$tmp/fixture-pass" "$tmp/swapped.json"
expect_err "address mismatch message" "swapped.json: address-mismatch: \$.address"
sed 's/aes-128-ctr/aes-256-gcm/' "$fixtures/ethers-scrypt-n1024.json" >"$tmp/cipher.json"
check "unsupported cipher" 65 "$txguard" keys address "$tmp/cipher.json"
expect_err "cipher message" "cipher.json: unsupported: \$.crypto.cipher"
sed 's/"n":1024/"n":1073741824/' "$fixtures/ethers-scrypt-n1024.json" >"$tmp/huge-n.json"
check "scrypt n = 2^30 refused before any work" 65 "$txguard" keys address --verify --passphrase-file "$tmp/fixture-pass" "$tmp/huge-n.json"
expect_err "huge n message" "huge-n.json: weak-params: \$.crypto.kdfparams: n 1073741824 is above the limit"
sed 's/"version":3/"version":2/' "$fixtures/ethers-scrypt-n1024.json" >"$tmp/v2.json"
check "version 2" 65 "$txguard" keys address "$tmp/v2.json"
expect_err "version message" "v2.json: unsupported: \$.version"
check "a raw key file is not a keystore, and its bytes are not echoed" 65 "$txguard" keys address "$tmp/anvil.key"
expect_err "not JSON message" "anvil.key: malformed: not JSON"
no_secret "raw key as keystore" "ac0974"
check "a missing keystore" 66 "$txguard" keys address "$tmp/none.json"

# --- list ---------------------------------------------------------------------------------------------
mkdir "$tmp/dir"
cp "$tmp/new.json" "$tmp/dir/b-new.json"
cp "$fixtures/ethers-scrypt-n1024.json" "$tmp/dir/a-ethers.json"
cp "$fixtures/web3-spec-pbkdf2.json" "$tmp/dir/c-spec"
cp "$tmp/anvil.key" "$tmp/dir/d-not-a-keystore.key"
cp "$tmp/new.json" "$tmp/dir/.hidden.json"
check "list a directory" 0 "$txguard" keys list "$tmp/dir"
expect_out "one line per keystore, sorted, '-' without an address field" \
  "$(printf 'a-ethers.json\t%s\nb-new.json\t%s\nc-spec\t-' "$anvil" "$new_address")"
expect_err "a file that is not a keystore is reported" "skipping d-not-a-keystore.key: malformed: not JSON"
no_secret "list" "ac0974"
mkdir "$tmp/empty-dir"
check "list an empty directory" 0 "$txguard" keys list "$tmp/empty-dir"
expect_out "nothing listed" ""
check "list a missing directory" 66 "$txguard" keys list "$tmp/no-such-dir"

# --- the passphrase: never from argv, never empty --------------------------------------------------------
check "a passphrase on the command line is refused" 64 "$txguard" keys new --out "$tmp/y.json" --light --passphrase hunter2
no_secret "argv passphrase" "hunter2"
check "--passphrase=... is refused too" 64 "$txguard" keys new --out "$tmp/y.json" --light --passphrase=hunter2
check "no passphrase source" 64 "$txguard" keys new --out "$tmp/y.json" --light
check "two passphrase sources" 64 env P=x "$txguard" keys new --out "$tmp/y.json" --light --passphrase-file "$tmp/pass" --passphrase-env P
check "empty passphrase file" 65 "$txguard" keys new --out "$tmp/y.json" --light --passphrase-file "$tmp/empty-pass"
expect_err "empty passphrase message" "empty-pass: empty passphrase refused"
check "empty passphrase variable" 65 env TXGUARD_EMPTY= "$txguard" keys new --out "$tmp/y.json" --light --passphrase-env TXGUARD_EMPTY
check "unset passphrase variable" 64 env -u TXGUARD_UNSET "$txguard" keys new --out "$tmp/y.json" --light --passphrase-env TXGUARD_UNSET
check "a passphrase file of two lines" 65 "$txguard" keys new --out "$tmp/y.json" --light --passphrase-file "$tmp/two-lines"
expect_err "two lines message" "two-lines: more than one line"
check "a missing passphrase file" 66 "$txguard" keys new --out "$tmp/y.json" --light --passphrase-file "$tmp/none-pass"
[ ! -e "$tmp/y.json" ]
ok "no keystore written without a usable passphrase" $?

# --- usage --------------------------------------------------------------------------------------------
check "usage: no subcommand" 64 "$txguard" keys
check "usage: unknown subcommand" 64 "$txguard" keys frobnicate
check "usage: new without --out" 64 "$txguard" keys new --light --passphrase-file "$tmp/pass"
check "usage: unknown --kdf" 64 "$txguard" keys new --out "$tmp/y.json" --kdf argon2 --passphrase-file "$tmp/pass"
check "usage: new with an argument" 64 "$txguard" keys new --out "$tmp/y.json" extra --passphrase-file "$tmp/pass"
check "usage: import without --key-file" 64 "$txguard" keys import --out "$tmp/y.json" --passphrase-file "$tmp/pass"
check "usage: import with the key as an argument" 64 "$txguard" keys import --out "$tmp/y.json" "$anvil_key" --passphrase-file "$tmp/pass"
no_secret "key as an argument" "$anvil_key"
check "usage: address without a file" 64 "$txguard" keys address
check "usage: a passphrase without --verify" 64 "$txguard" keys address --passphrase-file "$tmp/pass" "$tmp/new.json"
check "usage: --verify without a passphrase" 64 "$txguard" keys address --verify "$tmp/new.json"
check "usage: list without a directory" 64 "$txguard" keys list
check "usage: unknown option" 64 "$txguard" keys list --frobnicate "$tmp/dir"
check "usage: --out twice" 64 "$txguard" keys new --out a --out b --passphrase-file "$tmp/pass"
check "help" 0 "$txguard" keys --help
grep -q "DEVELOPMENT AND TESTS" "$tmp/out"
ok "--help says --light is for development and tests only" $?
check "help of a subcommand" 0 "$txguard" keys new --help

# --- ethers reads what txguard writes (when node and the pinned ethers are installed) ------------------
js=$root/tests/js
if command -v node >/dev/null 2>&1 && [ -d "$js/node_modules/ethers" ]; then
  check "ethers decrypts txguard's scrypt keystore" 0 node "$js/make_keystores.mjs" --check "$tmp/new.json" "$tmp/pass" "$new_address"
  check "ethers decrypts txguard's imported keystore" 0 node "$js/make_keystores.mjs" --check "$tmp/anvil.json" "$tmp/pass" "$anvil"
  printf 'env passphrase\n' >"$tmp/env-pass"
  check "ethers decrypts txguard's PBKDF2 keystore" 0 node "$js/make_keystores.mjs" --check "$tmp/pbkdf2.json" "$tmp/env-pass" "$pbkdf2_address"
  check "ethers refuses a wrong passphrase (the check can fail)" 1 node "$js/make_keystores.mjs" --check "$tmp/new.json" "$tmp/wrong" "$new_address"
else
  echo "skipped: ethers interop (node or tests/js/node_modules missing; run npm ci in tests/js)"
fi

finish

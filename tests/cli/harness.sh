# Shared by the CLI contract tests: sourced, not run. Counts passes and failures, keeps each
# command's stdout and stderr in $tmp/out and $tmp/err, and prints the closing 'N passed, N failed'.
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # name, expected exit, command...
  local name=$1 want=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $name: exit $got, wanted $want"
    sed 's/^/  stderr: /' "$tmp/err" | head -5
  fi
}
expect_err() { # name, substring expected in stderr, and stderr must be one line
  local name=$1 needle=$2
  if grep -qF -- "$needle" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $name: stderr should be one line containing '$needle', was:"
    sed 's/^/  /' "$tmp/err"
  fi
}
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}

#!/usr/bin/env bash
# mutate.sh WISP COMPONENT COUNT SEED: runs COUNT one-byte mutants of COMPONENT
# through `wisp run --fuel` (stdin empty, output discarded). Each must end with
# an exit code of wisp's own (0-3, 134 trap, 137 fuel, 142 timeout, or a
# guest's status): never a signal (another code above 128) and never a
# sanitizer report. Prints how the mutants ended.
set -uo pipefail
wisp=$1 src=$2 count=$3 seed=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
size=$(wc -c <"$src")
RANDOM=$seed
declare -A seen
fail=0
for ((i = 0; i < count; i++)); do
  cp "$src" "$tmp/m.wasm"
  off=$(( (RANDOM * 32768 + RANDOM) % size ))
  byte=$(( RANDOM % 256 ))
  printf "$(printf '\\%03o' "$byte")" | dd of="$tmp/m.wasm" bs=1 seek="$off" conv=notrunc status=none
  "$wisp" run --fuel 50000000 --timeout 5000 "$tmp/m.wasm" </dev/null >/dev/null 2>"$tmp/err"
  rc=$?
  seen[$rc]=$(( ${seen[$rc]:-0} + 1 ))
  if { [ $rc -gt 128 ] && [ $rc != 134 ] && [ $rc != 137 ] && [ $rc != 142 ]; } ||
     grep -q "Sanitizer" "$tmp/err"; then
    echo "FAIL: mutant $i (offset $off := $byte) ended with $rc:"
    head -20 "$tmp/err"
    cp "$tmp/m.wasm" "${TMPDIR:-/tmp}/wisp-wasi2-mutant-$i.wasm"
    fail=1
  fi
done
for rc in "${!seen[@]}"; do echo "exit $rc: ${seen[$rc]} mutants"; done
exit $fail

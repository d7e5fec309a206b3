#!/bin/sh
# expect_error.sh DUMP FILE WAT: component_dump must refuse FILE (exit 1) with an
# "error: ..." line matching the pattern (grep -E) that WAT, its source, gives in its
# first line as ";; error: PATTERN". A crash or acceptance fails the test.
dump=$1 file=$2
pattern=$(sed -n '1s/^;; error: //p' "$3")
[ -n "$pattern" ] || { echo "expect_error.sh: $3 has no ';; error: PATTERN' first line" >&2; exit 1; }
output=$("$dump" "$file" 2>&1)
got=$?
printf '%s\n' "$output"
[ "$got" -eq 1 ] || { echo "expect_error.sh: exit status $got, expected 1 (refused)" >&2; exit 1; }
printf '%s\n' "$output" | grep -Eq -- "$pattern" || { echo "expect_error.sh: message does not match /$pattern/" >&2; exit 1; }

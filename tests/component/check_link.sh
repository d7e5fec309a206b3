#!/bin/sh
# check_link.sh DUMP HOST FILE WAT: type-check FILE's imports against the host world
# HOST (component_dump --check). WAT, FILE's source, says in its first line what
# must happen: ";; link: ok", or ";; link: PATTERN" (grep -E) for the refusal message.
dump=$1 host=$2 file=$3
want=$(sed -n '1s/^;; link: //p' "$4")
[ -n "$want" ] || { echo "check_link.sh: $4 has no ';; link: ...' first line" >&2; exit 1; }
output=$("$dump" --check "$host" "$file" 2>&1)
got=$?
printf '%s\n' "$output"
if [ "$want" = ok ]; then
  [ "$got" -eq 0 ] || { echo "check_link.sh: expected the imports to link" >&2; exit 1; }
  exit 0
fi
[ "$got" -eq 1 ] || { echo "check_link.sh: exit status $got, expected 1 (refused)" >&2; exit 1; }
printf '%s\n' "$output" | grep -Eq -- "$want" || { echo "check_link.sh: message does not match /$want/" >&2; exit 1; }

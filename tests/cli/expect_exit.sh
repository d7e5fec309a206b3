#!/bin/sh
# expect_exit.sh STATUS PATTERN COMMAND [ARGS...]: run COMMAND, pass when it exits with
# exactly STATUS and its combined stdout+stderr contains PATTERN (a grep -E regex;
# empty matches anything).
want=$1 pattern=$2
shift 2
output=$("$@" 2>&1)
got=$?
printf '%s\n' "$output"
if [ "$got" -ne "$want" ]; then
  echo "expect_exit.sh: '$*' exited with $got, expected $want" >&2
  exit 1
fi
if [ -n "$pattern" ] && ! printf '%s\n' "$output" | grep -Eq -- "$pattern"; then
  echo "expect_exit.sh: output of '$*' does not match /$pattern/" >&2
  exit 1
fi
exit 0

#!/usr/bin/env bash
# compare.sh WISP DIR NAME [--stdin FILE] [--] [WISP_RUN_OPTIONS...] -- [ARGS...]
#
# Runs DIR/core/NAME.wasm (a preview1 command module) and DIR/component/NAME.wasm
# (the same module made a wasi:cli/command component with jco new --wasi-command)
# through `wisp run`, each from its own directory so that argv[0] is the same
# "NAME.wasm", and compares stdout, stderr and the exit code. One difference is
# expected: the preview1 adapter turns proc_exit(N) for N in 1..125 into
# wasi:cli/exit(err), so the component then exits with 1.
set -uo pipefail
wisp=$1 dir=$2 name=$3
shift 3
stdin=/dev/null
if [ "${1:-}" = --stdin ]; then stdin=$2; shift 2; fi
opts=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
[ "${1:-}" = -- ] && shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for kind in core component; do
  (cd "$dir/$kind" && "$wisp" run "${opts[@]}" "$name.wasm" "$@" <"$stdin" >"$tmp/$kind.out" 2>"$tmp/$kind.err")
  echo $? >"$tmp/$kind.rc"
done
core_rc=$(cat "$tmp/core.rc") comp_rc=$(cat "$tmp/component.rc")
want_rc=$core_rc
if [ "$core_rc" -ge 1 ] && [ "$core_rc" -le 125 ]; then want_rc=1; fi
status=0
if ! cmp -s "$tmp/core.out" "$tmp/component.out"; then
  echo "FAIL: $name: stdout differs (core, then component):"
  diff "$tmp/core.out" "$tmp/component.out" | head -20
  status=1
fi
if ! cmp -s "$tmp/core.err" "$tmp/component.err"; then
  echo "FAIL: $name: stderr differs (core, then component):"
  diff "$tmp/core.err" "$tmp/component.err" | head -20
  status=1
fi
if [ "$comp_rc" != "$want_rc" ]; then
  echo "FAIL: $name: exit code: core $core_rc, component $comp_rc (expected $want_rc)"
  status=1
fi
if [ $status = 0 ]; then
  echo "ok: $name: exit $core_rc (component $comp_rc), $(wc -c <"$tmp/core.out") bytes out, $(wc -c <"$tmp/core.err") bytes err"
  head -c 300 "$tmp/core.out"
fi
exit $status

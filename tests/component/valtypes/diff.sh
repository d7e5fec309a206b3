#!/bin/sh
# diff.sh VALTYPES_RUN NODE TRANSPILE_MJS COMPONENT JCO_JS CASES OUTPREFIX: the
# valtypes differential (docs/component-model.md). Runs the script on wisp
# (valtypes_run COMPONENT) and on jco transpile + Node (transpile.mjs JCO_JS),
# writes OUTPREFIX.wisp.txt and OUTPREFIX.jco.txt, and compares them with
# compare.mjs.
set -u
run=$1 node=$2 mjs=$3 wasm=$4 js=$5 cases=$6 out=$7
here=$(dirname "$0")
"$run" "$wasm" "$cases" > "$out.wisp.txt" 2> "$out.wisp.err" || { echo "FAIL: valtypes_run"; cat "$out.wisp.txt"; exit 1; }
"$node" "$mjs" "$here/world.wit" "$js" "$cases" > "$out.jco.txt" 2> "$out.jco.err" || {
  echo "FAIL: transpile.mjs"; cat "$out.jco.err"; exit 1; }
exec "$node" "$here/compare.mjs" "$cases" "$out.wisp.txt" "$out.jco.txt"

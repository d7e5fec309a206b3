#!/usr/bin/env bash
# build.sh: build a wasi:http/proxy component from JavaScript with
# componentize-js (`jco componentize`) against the WIT in wit/ next to this
# script (world `handler`: wasi:http/proxy@0.2.10, the WASI version
# componentize-js 0.23 has built in).
#
#   build.sh -o OUT.wasm HANDLER.js
#
# Needs node and the npm packages of package.json (`npm install`). Environment:
#   WISP_NODE_MODULES  the node_modules folder holding @bytecodealliance/jco
#                      (default: the nearest ./node_modules, ../node_modules, ...,
#                      then `npm root -g`)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() {
  echo "build.sh: $*" >&2
  exit 1
}
out=
src=
while [ $# -gt 0 ]; do
  case "$1" in
    -o) [ $# -ge 2 ] || die "-o needs a file name"; out=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1'" ;;
    *) src=$1 ;;
  esac
  shift
done
[ -n "$out" ] && [ -n "$src" ] || die "usage: build.sh -o OUT.wasm HANDLER.js"
command -v node >/dev/null || die "node not found: install Node.js (20 or later) and npm"

find_node_modules() {
  local dir=$PWD
  while :; do
    [ -f "$dir/node_modules/@bytecodealliance/jco/package.json" ] && { echo "$dir/node_modules"; return; }
    [ "$dir" = / ] && break
    dir=$(dirname "$dir")
  done
  if command -v npm >/dev/null; then
    dir=$(npm root -g 2>/dev/null || true)
    [ -n "$dir" ] && [ -f "$dir/@bytecodealliance/jco/package.json" ] && { echo "$dir"; return; }
  fi
  return 1
}
modules=${WISP_NODE_MODULES:-$(find_node_modules || true)}
[ -n "$modules" ] && [ -f "$modules/@bytecodealliance/jco/package.json" ] ||
  die "@bytecodealliance/jco not found: run 'npm install' here (or set WISP_NODE_MODULES)"
jco_dir=$(cd "$modules/@bytecodealliance/jco" && pwd -P)
shim=$(cd "$jco_dir" && node -e \
  "console.log(require.resolve('@bytecodealliance/preview2-shim/filesystem'))" 2>/dev/null) ||
  die "@bytecodealliance/preview2-shim not found next to jco: run 'npm install'"

work=$(mktemp -d "${TMPDIR:-/tmp}/wisp-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
# jco runs on a WASI shim that sees no files unless told: open / to it, or
# `--wit DIR` fails with "failed to get path metadata (os error 44)".
cat >"$work/preload.mjs" <<EOT
import { _setPreopens } from '$shim';
_setPreopens({ '/': '/' });
EOT
jco_js=$jco_dir/dist/jco.js
[ -f "$jco_js" ] || jco_js=$jco_dir/src/jco.js
mkdir -p "$(dirname "$out")"
node --import "$work/preload.mjs" "$jco_js" componentize "$src" --wit "$here/wit" --world-name handler \
  -o "$out.tmp" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
mv "$out.tmp" "$out"

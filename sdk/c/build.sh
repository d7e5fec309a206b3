#!/usr/bin/env bash
# build.sh: build a wasi:http/proxy component from C sources written against
# wisp_http.h (docs/sdk-c.md).
#
#   build.sh -o OUT.wasm SRC.c... [-- CLANG_ARGS...]
#   build.sh --wagi -o OUT.wasm SRC.c... [-- CLANG_ARGS...]
#
# --wagi builds a WAGI function instead: a WASI preview1 command module (the
# request in CGI variables and stdin, the response on stdout), clang-19 only,
# without wisp_http.c; wisp serves it for routes with executor = { type = "wagi" }.
#
# Steps: clang-19 compiles SRC.c and wisp_http.c (next to this script) for
# wasm32-wasi as a reactor (wasi-libc linked, stripped); `jco embed` adds the
# type information of the world `wasi:http/proxy@0.2.12`; `jco new` makes the
# component. wisp_http.c answers libc's WASI preview1 calls itself, so no
# preview1 adapter is needed and the component imports only what the proxy
# world offers. If the sources call libc functions the proxy world has no
# answer for (files, say), the core module still imports wasi_snapshot_preview1
# and the script falls back to jco's reactor adapter, with a warning: such a
# component imports wasi:filesystem too and runs only on hosts that provide it.
#
# The WIT is not vendored: it is the 0.2.12 set that jco ships in
# @bytecodealliance/jco/lib/wit/builtin/0.2.12/ (the version of jco's adapters).
#
# Needs: clang-19, lld-19 and wasi-libc (Debian: clang-19 lld-19 wasi-libc),
# node and the npm packages @bytecodealliance/jco and
# @bytecodealliance/preview2-shim (jco depends on it). Environment:
#   WISP_CLANG         the compiler (default clang-19)
#   WISP_SYSROOT       a clean WASI sysroot (default: made under
#                      ${XDG_CACHE_HOME:-~/.cache}/wisp/wasi-sysroot from
#                      /usr/include/wasm32-wasi and /usr/lib/wasm32-wasi)
#   WISP_NODE_MODULES  the node_modules folder holding @bytecodealliance/jco
#                      (default: the nearest ./node_modules, ../node_modules, ...
#                      from the current directory, then `npm root -g`)
#   WISP_OPT           optimisation flag (default -O2)
set -euo pipefail

sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
clang=${WISP_CLANG:-clang-19}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}
die() {
  echo "build.sh: $*" >&2
  exit 1
}

out=
wagi=0
sources=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    -o) [ $# -ge 2 ] || usage; out=$2; shift ;;
    --wagi) wagi=1 ;;
    -h|--help) usage ;;
    --) shift; extra=("$@"); break ;;
    -*) echo "build.sh: unknown option '$1'" >&2; usage ;;
    *) sources+=("$1") ;;
  esac
  shift
done
[ -n "$out" ] && [ ${#sources[@]} -gt 0 ] || usage

command -v "$clang" >/dev/null || die "$clang not found: install clang-19, lld-19 and wasi-libc (or set WISP_CLANG)"

# The sysroot: two symlinks, so that host glibc headers never leak in.
sysroot=${WISP_SYSROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/wisp/wasi-sysroot}
if [ ! -e "$sysroot/lib/wasm32-wasi/libc.a" ]; then
  for dir in /usr/include/wasm32-wasi /usr/lib/wasm32-wasi; do
    [ -d "$dir" ] || die "$dir is missing: install wasi-libc (Debian: apt-get install wasi-libc)"
  done
  mkdir -p "$sysroot/include" "$sysroot/lib"
  for sub in include lib; do
    for triple in wasm32-wasi wasm32-wasip1; do
      [ -L "$sysroot/$sub/$triple" ] || ln -s "/usr/$sub/wasm32-wasi" "$sysroot/$sub/$triple" 2>/dev/null ||
        [ -L "$sysroot/$sub/$triple" ]
    done
  done
fi

if [ "$wagi" = 1 ]; then
  mkdir -p "$(dirname "$out")"
  exec "$clang" --target=wasm32-wasi "--sysroot=$sysroot" ${WISP_OPT:--O2} -s "${extra[@]}" -o "$out" "${sources[@]}"
fi

command -v node >/dev/null || die "node not found: install Node.js (20 or later) and npm"

# jco and the preview2 shim it runs on.
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
  die "@bytecodealliance/jco not found: run 'npm install @bytecodealliance/jco' here (or set WISP_NODE_MODULES)"
jco_dir=$(cd "$modules/@bytecodealliance/jco" && pwd -P)
wit=$jco_dir/lib/wit/builtin/0.2.12
[ -d "$wit/wasi-http" ] || die "$wit/wasi-http missing: this jco has no WASI 0.2.12 WIT (jco 1.10 or later has)"
shim=$(cd "$jco_dir" && node -e \
  "console.log(require.resolve('@bytecodealliance/preview2-shim/filesystem'))" 2>/dev/null) ||
  die "@bytecodealliance/preview2-shim not found next to jco: run 'npm install @bytecodealliance/preview2-shim'"

work=$(mktemp -d "${TMPDIR:-/tmp}/wisp-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# jco runs on a WASI shim that sees no files unless told: open / to it, or
# `--wit DIR` fails with "failed to get path metadata (os error 44)".
cat >"$work/preload.mjs" <<EOF
import { _setPreopens } from '$(printf %s "$shim" | sed "s/'/\\\\'/g")';
_setPreopens({ '/': '/' });
EOF
jco_js=$jco_dir/dist/jco.js
[ -f "$jco_js" ] || jco_js=$jco_dir/src/jco.js
jco() { node --import "$work/preload.mjs" "$jco_js" "$@"; }

mkdir -p "$work/wit"
cp -R "$wit" "$work/wit/deps" # a copy: jco does not follow a symlinked deps/
cat >"$work/wit/world.wit" <<'EOF'
package wisp:sdk-c;

world handler {
  include wasi:http/proxy@0.2.12;
}
EOF

"$clang" --target=wasm32-wasi "--sysroot=$sysroot" -mexec-model=reactor ${WISP_OPT:--O2} -s \
  -I"$sdk" "${extra[@]}" -o "$work/core.wasm" "${sources[@]}" "$sdk/wisp_http.c"

adapter=()
if grep -q wasi_snapshot_preview1 "$work/core.wasm"; then
  echo "build.sh: warning: the code calls WASI preview1 functions the proxy world cannot answer" \
    "(files or sockets?); using jco's reactor adapter: the component imports more than wasi:http/proxy" >&2
  adapter=(--wasi-reactor)
fi
jco embed --wit "$work/wit" --world-name handler "$work/core.wasm" -o "$work/embed.wasm"
mkdir -p "$(dirname "$out")"
jco new "$work/embed.wasm" "${adapter[@]}" -o "$out.tmp"
mv "$out.tmp" "$out"

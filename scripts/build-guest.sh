#!/usr/bin/env bash
# build-guest.sh: compile C sources into a WebAssembly guest module with the
# toolchain described in shared TOOLCHAIN.md (Debian's clang-19, lld-19, wasi-libc).
#
#   scripts/build-guest.sh [MODE] [--export NAME]... -o OUT.wasm SRC.c... [-- CLANG_ARGS...]
#   scripts/build-guest.sh --sysroot        make the clean WASI sysroot, print its path
#
# MODE is one of
#   --nolibc   (default) no libc, no imports, no entry point: only the --export'ed functions
#   --command  a WASI preview1 command module (_start), linked against wasi-libc
#   --reactor  a WASI preview1 reactor (_initialize + exports marked export_name)
#
# Output is always stripped (Debian's libc.a carries DWARF). The WASI sysroot is two
# symlinks (plus wasm32-wasip1 aliases) under build/wasi-sysroot, so host glibc
# headers never leak into guest builds. Environment:
#   WISP_CLANG    the compiler (default clang-19)
#   WISP_SYSROOT  where the sysroot lives (default <repo>/build/wasi-sysroot)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
clang=${WISP_CLANG:-clang-19}
sysroot=${WISP_SYSROOT:-$repo/build/wasi-sysroot}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# link NAME TARGET: create the symlink unless it is already there (safe when two
# builds run this at once).
link() {
  [ -L "$1" ] && return 0
  ln -s "$2" "$1" 2>/dev/null || [ -L "$1" ]
}

make_sysroot() {
  for dir in /usr/include/wasm32-wasi /usr/lib/wasm32-wasi; do
    if [ ! -d "$dir" ]; then
      echo "build-guest.sh: $dir is missing: install Debian's wasi-libc (scripts/setup.sh does)" >&2
      exit 1
    fi
  done
  mkdir -p "$sysroot/include" "$sysroot/lib"
  link "$sysroot/include/wasm32-wasi" /usr/include/wasm32-wasi
  link "$sysroot/lib/wasm32-wasi" /usr/lib/wasm32-wasi
  link "$sysroot/include/wasm32-wasip1" /usr/include/wasm32-wasi
  link "$sysroot/lib/wasm32-wasip1" /usr/lib/wasm32-wasi
}

mode=nolibc
out=
exports=()
sources=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sysroot) make_sysroot; echo "$sysroot"; exit 0 ;;
    --nolibc) mode=nolibc ;;
    --command) mode=command ;;
    --reactor) mode=reactor ;;
    --export) [ $# -ge 2 ] || usage; exports+=("$2"); shift ;;
    --export=*) exports+=("${1#--export=}") ;;
    -o) [ $# -ge 2 ] || usage; out=$2; shift ;;
    -h|--help) usage ;;
    --) shift; extra=("$@"); break ;;
    -*) echo "build-guest.sh: unknown option '$1'" >&2; usage ;;
    *) sources+=("$1") ;;
  esac
  shift
done
[ -n "$out" ] && [ ${#sources[@]} -gt 0 ] || usage

if ! command -v "$clang" >/dev/null; then
  echo "build-guest.sh: $clang not found: run scripts/setup.sh (or set WISP_CLANG)" >&2
  exit 1
fi

flags=(-O2 -s)
case "$mode" in
  nolibc)
    [ ${#exports[@]} -gt 0 ] || { echo "build-guest.sh: --nolibc needs at least one --export NAME" >&2; exit 2; }
    flags+=(--target=wasm32 -nostdlib -Wl,--no-entry) ;;
  command)
    make_sysroot
    flags+=(--target=wasm32-wasi "--sysroot=$sysroot") ;;
  reactor)
    make_sysroot
    flags+=(--target=wasm32-wasi "--sysroot=$sysroot" -mexec-model=reactor) ;;
esac
for name in "${exports[@]}"; do flags+=("-Wl,--export=$name"); done

mkdir -p "$(dirname "$out")"
exec "$clang" "${flags[@]}" "${extra[@]}" -o "$out" "${sources[@]}"

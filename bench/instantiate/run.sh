#!/usr/bin/env bash
# Builds and runs the instantiation benchmark against a release build of the
# engine (build/release by default; BENCH_BUILD overrides). See README.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build/release}
if [ ! -f "$BUILD/libwisp_core.a" ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2 --target wisp_core >/dev/null
fi
gcc -std=gnu11 -O2 -Wall -Wextra -I"$ROOT/include" "$ROOT/bench/instantiate/instantiate_bench.c" \
  "$BUILD/libwisp_core.a" -lm -lpthread -o "$BUILD/instantiate_bench"
"$BUILD/instantiate_bench" "${1:-20000}"
# The component benchmark needs the calc component of the test build (clang-19 + jco).
CALC=$BUILD/tests/component/calc.component.wasm
[ -f "$CALC" ] || cmake --build "$BUILD" -j2 --target component_guests >/dev/null 2>&1 || true
if [ -f "$CALC" ]; then
  gcc -std=gnu11 -O2 -Wall -Wextra -I"$ROOT/include" -I"$ROOT/src" -I"$ROOT/src/core" \
    "$ROOT/bench/instantiate/component_bench.c" "$BUILD/libwisp_core.a" -lsqlite3 -lcrypto -lm -lpthread \
    -o "$BUILD/component_bench"
  echo
  "$BUILD/component_bench" "$CALC" "${1:-20000}"
else
  echo "component bench skipped: $CALC was not built (needs clang-19 and jco, see TOOLCHAIN.md)"
fi

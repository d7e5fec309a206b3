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

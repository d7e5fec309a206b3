#!/usr/bin/env bash
# bench/run.sh: builds every kernel in bench/kernels/ four ways and runs each on
# native gcc -O2, wisp (bench/wisp_bench.c on libwisp_core.a), Node (V8) and
# wasm2c + gcc -O2; checks the checksums agree and prints a markdown table of
# best-of-N times and ratios to native, with the geometric mean per engine.
#
# Usage: bench/run.sh [--quick] [--runs N] [--only k1,k2] [--no-wisp] [--wall] [--out FILE]
#   --quick     a tenth of the work (BENCH_SCALE=1): for development, not for figures
#   --runs N    best of N runs per kernel and engine (default 3)
#   --only L    comma-separated kernel names (default: all of bench/kernels/*.c)
#   --no-wisp   skip the wisp column (engine not built or not working yet)
#   --wall      rank by wall-clock time instead of process CPU time (the default,
#               which a machine shared with compilers and test runs disturbs less)
#   --out FILE  also write the table to FILE
# Environment: BENCH_BUILD (default build-bench), JOBS (default 2), WISP_TIMEOUT
# (seconds per wisp run, default 600).
# Exit status: 0 if every run succeeded and every checksum agreed; 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench"
BUILD=${BENCH_BUILD:-$ROOT/build-bench}
JOBS=${JOBS:-2}
WISP_TIMEOUT=${WISP_TIMEOUT:-600}
SCALE=10
RUNS=3
ONLY=""
USE_WISP=1
OUT=""
CLOCK=cpu

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) SCALE=1 ;;
    --runs) RUNS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --no-wisp) USE_WISP=0 ;;
    --out) OUT=$2; shift ;;
    --wall) CLOCK=wall ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

die() { echo "run.sh: $*" >&2; exit 1; }

for tool in clang-19 wasm2c node gcc cmake; do
  command -v "$tool" >/dev/null || die "$tool not found (run the setup script: clang-19 lld-19 wabt nodejs)"
done
W2C_RT=/usr/lib/x86_64-linux-gnu/libwasm-rt-impl.a
[ -f "$W2C_RT" ] && [ -f /usr/src/wasm2c/wasm-rt.h ] || die "wasm2c runtime not found ($W2C_RT, /usr/src/wasm2c)"

KERNELS=()
if [ -n "$ONLY" ]; then
  IFS=, read -r -a KERNELS <<<"$ONLY"
else
  for f in "$BENCH"/kernels/*.c; do KERNELS+=("$(basename "$f" .c)"); done
fi

OBJ="$BUILD/bench/scale$SCALE"
mkdir -p "$OBJ"
CWARN=(-Wall -Wextra -Werror -Wshadow -Wvla)

# ---- build ------------------------------------------------------------------
if [ $USE_WISP = 1 ]; then
  # The engine is built without -Werror: a new warning in engine code must not stop a
  # measurement (the ordinary builds catch it). The bench driver keeps -Werror.
  echo "== building libwisp_core.a in $BUILD" >&2
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DWISP_WERROR=OFF -DWISP_EXAMPLES=OFF >/dev/null ||
    die "cmake configure failed"
  cmake --build "$BUILD" -j "$JOBS" --target wisp_core >/dev/null || die "building wisp_core failed"
  gcc -std=gnu11 -O2 "${CWARN[@]}" -I"$ROOT/include" "$BENCH/wisp_bench.c" "$BUILD/libwisp_core.a" \
    -lm -lpthread -o "$BUILD/bench/wisp_bench" || die "building wisp_bench failed"
fi

echo "== building kernels (BENCH_SCALE=$SCALE) in $OBJ" >&2
for k in "${KERNELS[@]}"; do
  src="$BENCH/kernels/$k.c"
  [ -f "$src" ] || die "no kernel $src"
  clang-19 --target=wasm32 -O2 -nostdlib -ffreestanding "${CWARN[@]}" -DBENCH_SCALE=$SCALE \
    -Wl,--no-entry -Wl,--export=run -Wl,--strip-all \
    -o "$OBJ/$k.wasm" "$src" "$BENCH/support/wasm_libc.c" || die "clang-19 wasm32 build of $k failed"
  gcc -std=gnu11 -O2 -fno-math-errno "${CWARN[@]}" -DBENCH_SCALE=$SCALE \
    -o "$OBJ/$k.native" "$src" "$BENCH/support/native_main.c" || die "native build of $k failed"
  mkdir -p "$OBJ/w2c-$k"
  wasm2c -n kernel "$OBJ/$k.wasm" -o "$OBJ/w2c-$k/kernel.c" || die "wasm2c of $k failed"
  gcc -std=gnu11 -O2 -I/usr/src/wasm2c -I"$OBJ/w2c-$k" -o "$OBJ/$k.w2c" \
    "$BENCH/support/w2c_main.c" "$OBJ/w2c-$k/kernel.c" "$W2C_RT" -lm || die "wasm2c+gcc build of $k failed"
done

# ---- run --------------------------------------------------------------------
ENGINES=(native)
[ $USE_WISP = 1 ] && ENGINES+=(wisp)
ENGINES+=(node w2c)

# run_one ENGINE KERNEL: prints "CHECKSUM WALL_MS CPU_MS" or fails
run_one() {
  case "$1" in
    native) "$OBJ/$2.native" ;;
    wisp) timeout "$WISP_TIMEOUT" "$BUILD/bench/wisp_bench" "$OBJ/$2.wasm" 2>>"$OBJ/wisp.log" ;;
    node) node "$BENCH/support/node_run.mjs" "$OBJ/$2.wasm" ;;
    w2c) "$OBJ/$2.w2c" ;;
  esac
}

declare -A BEST SUM
FAILED=0
for k in "${KERNELS[@]}"; do
  for e in "${ENGINES[@]}"; do BEST[$k,$e]=""; SUM[$k,$e]=""; done
  for ((r = 1; r <= RUNS; r++)); do
    for e in "${ENGINES[@]}"; do
      [ "${SUM[$k,$e]}" = FAIL ] && continue
      if ! line=$(run_one "$e" "$k") || [ -z "$line" ]; then
        echo "run.sh: $k on $e FAILED (see $OBJ/wisp.log for wisp)" >&2
        SUM[$k,$e]=FAIL; FAILED=1; continue
      fi
      read -r sum wall cpu <<<"$line"
      [ -n "$cpu" ] || die "$k on $e printed '$line', expected CHECKSUM WALL_MS CPU_MS"
      if [ $CLOCK = cpu ]; then ms=$cpu; else ms=$wall; fi
      echo "   $k $e run $r: checksum $sum, wall $wall ms, cpu $cpu ms" >&2
      if [ -n "${SUM[$k,$e]}" ] && [ "${SUM[$k,$e]}" != "$sum" ]; then
        die "CHECKSUM MISMATCH: $k on $e gave ${SUM[$k,$e]} then $sum"
      fi
      SUM[$k,$e]=$sum
      if [ -z "${BEST[$k,$e]}" ] || awk -v a="$ms" -v b="${BEST[$k,$e]}" 'BEGIN { exit !(a < b) }'; then
        BEST[$k,$e]=$ms
      fi
    done
  done
  for e in "${ENGINES[@]}"; do
    s=${SUM[$k,$e]}
    if [ "$s" != FAIL ] && [ "$s" != "${SUM[$k,native]}" ]; then
      echo "run.sh: CHECKSUM MISMATCH: kernel $k: native ${SUM[$k,native]}, $e $s" >&2
      echo "run.sh: aborting: an engine computed a wrong result" >&2
      exit 1
    fi
  done
done

# ---- table ------------------------------------------------------------------
table() {
  local cpu
  cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
  echo "Kernels at BENCH_SCALE=$SCALE, best of $RUNS, $(nproc) cores, $cpu, $(date -u +%Y-%m-%d)."
  if [ $CLOCK = cpu ]; then
    echo "Process CPU time of the \`run\` call only (load/compile/instantiate excluded; for Node it"
    echo "includes V8's background compiler threads); ratio = engine / native."
  else
    echo "Wall-clock time of the \`run\` call only (load/compile/instantiate excluded); ratio = engine / native."
  fi
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  local head="| kernel | native ms |" rule="|---|---:|"
  for e in "${ENGINES[@]}"; do
    [ "$e" = native ] && continue
    case $e in wisp) name=wisp ;; node) name="node (V8)" ;; w2c) name="wasm2c+gcc" ;; esac
    head+=" $name ms (ratio) |"; rule+="---:|"
  done
  echo "$head"; echo "$rule"
  declare -A LOGSUM COUNT
  for k in "${KERNELS[@]}"; do
    local n=${BEST[$k,native]} row
    row="| $k | $(printf '%.1f' "$n") |"
    for e in "${ENGINES[@]}"; do
      [ "$e" = native ] && continue
      if [ "${SUM[$k,$e]}" = FAIL ]; then row+=" FAIL |"; continue; fi
      local t=${BEST[$k,$e]}
      row+=" $(awk -v t="$t" -v n="$n" 'BEGIN { printf "%.1f (%.2fx)", t, t / n }') |"
      LOGSUM[$e]=$(awk -v s="${LOGSUM[$e]:-0}" -v t="$t" -v n="$n" 'BEGIN { printf "%.10f", s + log(t / n) }')
      COUNT[$e]=$(( ${COUNT[$e]:-0} + 1 ))
    done
    echo "$row"
  done
  local row="| **geomean** | 1 |"
  for e in "${ENGINES[@]}"; do
    [ "$e" = native ] && continue
    if [ -z "${COUNT[$e]:-}" ]; then row+=" - |"; continue; fi
    row+=" $(awk -v s="${LOGSUM[$e]}" -v c="${COUNT[$e]}" 'BEGIN { printf "**%.2fx**", exp(s / c) }')"
    [ "${COUNT[$e]}" -lt ${#KERNELS[@]} ] && row+=" (${COUNT[$e]} of ${#KERNELS[@]} kernels)"
    row+=" |"
  done
  echo "$row"
  [ $USE_WISP = 1 ] || { echo; echo "wisp not measured (--no-wisp)."; }
}

table | if [ -n "$OUT" ]; then tee "$OUT"; else cat; fi
exit $FAILED

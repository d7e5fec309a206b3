#!/usr/bin/env bash
# fuzz/make-corpus.sh: (re)builds the checked-in seed corpora in fuzz/corpus/.
#
#   fuzz/corpus/fuzz_decode/  every seed: the .wat modules in fuzz/seeds/, the
#                             modules of a selection of spec .wast files (valid,
#                             invalid and malformed binaries alike) and the bench
#                             kernels built small
#   fuzz/corpus/fuzz_run/     the valid seeds (what fuzz_run can instantiate and run)
#   fuzz/corpus/fuzz_body/    function bodies from fuzz/seeds/body/*.wat, each wrapped in
#                             the fixed module fuzz_body.c describes (first line of each
#                             seed: ";; type N"), extracted by body-seed.mjs
#
# Needs wabt (wat2wasm, wast2json, wasm-validate), node (body seeds) and,
# for the kernel seeds, clang-19. Spec files come from $SPEC_DIR (default
# /work/shared/spec-testsuite). Seeds are named by content hash after a
# readable prefix, so re-running only adds what changed.
set -euo pipefail

FUZZ=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$FUZZ")
SPEC_DIR=${SPEC_DIR:-/work/shared/spec-testsuite}
MAX_SEED_BYTES=4096
MAX_PER_SPEC_FILE=10     # binary*.wast: 48 (their malformed binaries are the best decoder seeds)
SPEC_FILES="address align binary binary-leb128 block br br_if br_table bulk call call_indirect
  conversions custom data elem endianness exports fac forward func global i32 i64 f32 f64 if
  imports int_exprs labels left-to-right local_get local_set local_tee loop memory memory_fill
  memory_grow memory_size names nop ref_func ref_is_null ref_null return select stack start
  switch table table_get table_grow table_set table_size traps type unreachable unwind
  simd_splat simd_lane"

DECODE="$FUZZ/corpus/fuzz_decode"
RUN="$FUZZ/corpus/fuzz_run"
BODY="$FUZZ/corpus/fuzz_body"
mkdir -p "$DECODE" "$RUN" "$BODY"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# add PREFIX FILE: copies FILE into the corpora it belongs to
add() {
  local prefix=$1 file=$2 size hash
  size=$(stat -c %s "$file")
  [ "$size" -le $MAX_SEED_BYTES ] || return 0
  hash=$(sha1sum "$file" | cut -c1-12)
  cp "$file" "$DECODE/$prefix-$hash.wasm"
  if wasm-validate "$file" >/dev/null 2>&1; then
    cp "$file" "$RUN/$prefix-$hash.wasm"
  fi
}

for wat in "$FUZZ"/seeds/*.wat; do
  name=$(basename "$wat" .wat)
  wat2wasm --debug-names "$wat" -o "$TMP/$name.wasm"
  add "seed-$name" "$TMP/$name.wasm"
done

if [ -d "$SPEC_DIR" ]; then
  for f in $SPEC_FILES; do
    [ -f "$SPEC_DIR/$f.wast" ] || { echo "make-corpus.sh: no $SPEC_DIR/$f.wast, skipped" >&2; continue; }
    mkdir -p "$TMP/spec-$f"
    wast2json "$SPEC_DIR/$f.wast" -o "$TMP/spec-$f/$f.json" >/dev/null
    max=$MAX_PER_SPEC_FILE
    case $f in binary*) max=48 ;; esac
    # spread the picks over the file: every step-th module, in file order
    mapfile -t mods < <(ls "$TMP/spec-$f"/*.wasm 2>/dev/null | sort -t. -k2,2n)
    step=$(( (${#mods[@]} + max - 1) / max ))
    [ $step -ge 1 ] || step=1
    for ((i = 0; i < ${#mods[@]}; i += step)); do add "spec-$f" "${mods[$i]}"; done
  done
else
  echo "make-corpus.sh: $SPEC_DIR not found: no spec seeds" >&2
fi

if command -v clang-19 >/dev/null; then
  for k in "$ROOT"/bench/kernels/*.c; do
    name=$(basename "$k" .c)
    clang-19 --target=wasm32 -O2 -nostdlib -ffreestanding -DBENCH_SCALE=1 -Wl,--no-entry \
      -Wl,--export=run -Wl,--strip-all -o "$TMP/$name.wasm" "$k" "$ROOT/bench/support/wasm_libc.c"
    add "kernel-$name" "$TMP/$name.wasm"
  done
fi

# the module fuzz_body.c wraps every body in, in text form
body_module() {
  cat <<WAT
(module
  (type (func (result i32))) (type (func (param i32 i32) (result i32)))
  (type (func (param i64 f64) (result i64))) (type (func))
  (table 4 16 funcref)
  (memory 1 4)
  (global (mut i32) (i32.const 7)) (global (mut f64) (f64.const 1.5)) (global i64 (i64.const 42))
  (export "f" (func 0)) (export "add" (func 1))
  (elem (i32.const 0) func 1 0)
  (elem func 1)
  (data "wisp fuzz data!!")
  (func (type $1)
$(cat "$2")
  )
  (func (type 1) (i32.add (local.get 0) (local.get 1))))
WAT
}
for seed in "$FUZZ"/seeds/body/*.wat; do
  name=$(basename "$seed" .wat)
  type=$(sed -n '1s/^;; type \([0-3]\)$/\1/p' "$seed")
  [ -n "$type" ] || { echo "make-corpus.sh: $seed: first line must be ';; type N'" >&2; exit 1; }
  body_module "$type" "$seed" >"$TMP/body-$name.wat"
  wat2wasm "$TMP/body-$name.wat" -o "$TMP/body-$name.wasm"
  node "$FUZZ/body-seed.mjs" "$type" "$TMP/body-$name.wasm" "$BODY/seed-$name.bin"
  add "body-$name" "$TMP/body-$name.wasm" # the whole module is a good seed for the others
done

echo "fuzz_body:   $(ls "$BODY" | wc -l) seeds" >&2
echo "fuzz_decode: $(ls "$DECODE" | wc -l) seeds, $(du -sh "$DECODE" | cut -f1)" >&2
echo "fuzz_run:    $(ls "$RUN" | wc -l) seeds, $(du -sh "$RUN" | cut -f1)" >&2

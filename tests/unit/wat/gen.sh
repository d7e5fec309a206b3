#!/bin/sh
# Regenerates the C byte arrays from the .wat files here (needs wabt's wat2wasm and xxd).
set -e
cd "$(dirname "$0")"
for w in *.wat; do
  n=${w%.wat}
  wat2wasm --debug-names "$w" -o "/tmp/$n.wasm"
  (echo "/* generated from tests/unit/wat/$w by gen.sh; do not edit */"; cd /tmp && xxd -i -n "${n}_wasm" "$n.wasm") > "${n}_wasm.h"
done

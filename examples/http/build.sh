#!/usr/bin/env bash
# build.sh: build every WAGI example in examples/http/ next to its wisp.toml,
# so that `wisp up examples/http/NAME` serves it.
#
#   examples/http/build.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
guest="$here/../../scripts/build-guest.sh"
for src in "$here"/*/*.c; do
  dir=$(dirname "$src")
  name=$(basename "$src" .c)
  "$guest" --command -o "$dir/$name.wasm" "$src"
  echo "built ${dir#"$here"/}/$name.wasm"
done

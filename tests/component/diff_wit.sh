#!/bin/sh
# diff_wit.sh DUMP JCO... -- FILE: differential test of a component's imports and
# exports. Compares the names that `component_dump --names FILE` (wisp's decoder)
# lists with the `import X;` / `export X;` / `import x: ...` lines of `jco wit FILE`
# (wasm-tools' decoder, as shipped in jco), order-insensitive; then the full text
# of every top-level function (`export add: func(a: s32, b: s32) -> s32;` in WIT)
# with wisp's printed type. Passes when both agree and the set is not empty.
dump=$1
shift
jco=
while [ "$1" != "--" ]; do jco="$jco $1"; shift; done
shift
file=$1
tmp=${TMPDIR:-/tmp}/diff_wit.$$
trap 'rm -f "$tmp".*' EXIT
"$dump" --names "$file" | sort > "$tmp.ours" || { cat "$tmp.ours"; exit 1; }
# shellcheck disable=SC2086
$jco wit "$file" > "$tmp.wit" 2>&1 || { cat "$tmp.wit"; echo "diff_wit.sh: jco wit failed" >&2; exit 1; }
# "  import wasi:io/error@0.2.12;" or "  import name: func(...);" (a WIT name never
# contains ": ", an interface name's ':' is never followed by a space); a world's
# "use iface.{a, b};" imports the types a and b.
awk '/^  (import|export) / {
  rest = substr($0, 10)
  i = index(rest, ": ")
  if (i > 0) name = substr(rest, 1, i - 1); else { name = rest; sub(/;$/, "", name) }
  print $1, name
}
/^  use .*\.\{.*\};$/ {
  # "  use wasi:io/streams@0.2.12.{input-stream, output-stream};": imported types
  list = $0
  sub(/^.*\.\{/, "", list); sub(/\};$/, "", list)
  n = split(list, names, /, */)
  for (k = 1; k <= n; k++) { split(names[k], parts, / as /); print "import", (parts[2] != "" ? parts[2] : parts[1]) }
}' "$tmp.wit" | sort > "$tmp.theirs"
if [ ! -s "$tmp.ours" ]; then echo "diff_wit.sh: no imports or exports decoded" >&2; exit 1; fi
if ! diff -u "$tmp.theirs" "$tmp.ours"; then
  echo "diff_wit.sh: wisp's imports/exports (+) differ from jco wit's (-)" >&2
  exit 1
fi
# top-level functions: "  export add: func(a: s32) -> s32;" against "export add: func(a: s32) -> s32"
grep -E '^  (import|export) [^ ]+: func' "$tmp.wit" | sed 's/^  //; s/;$//' | sort > "$tmp.funcs.theirs"
"$dump" "$file" | grep -E '^(import|export) [^ ]+: func' | sort > "$tmp.funcs.ours"
if ! diff -u "$tmp.funcs.theirs" "$tmp.funcs.ours"; then
  echo "diff_wit.sh: wisp's function types (+) differ from jco wit's (-)" >&2
  exit 1
fi
cat "$tmp.ours" "$tmp.funcs.ours"

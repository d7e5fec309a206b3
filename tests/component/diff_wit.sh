#!/bin/sh
# diff_wit.sh DUMP JCO... -- FILE: differential test of a component's imports and
# exports. Compares the names that `component_dump --names FILE` (wisp's decoder)
# lists with the `import X;` / `export X;` / `import x: ...` lines of `jco wit FILE`
# (wasm-tools' decoder, as shipped in jco). Order-insensitive; passes when both
# sets are equal and not empty.
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
cat "$tmp.ours"

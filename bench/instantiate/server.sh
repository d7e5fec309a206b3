#!/usr/bin/env bash
# server.sh: `wisp up` requests/s on the WAGI hello route (examples/http/hello)
# and on tests/server/guests/preinit.c (whose wizer.initialize builds a table),
# and on the wasi:http component tests/component/guests/http_hello.c (when the
# test build made it), from snapshots (the default) and with --no-snapshot (a
# linker instantiation, and init, per request), with the same wrk load. See
# README.md.
#
#   bench/instantiate/server.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${BENCH_BUILD:-$repo/build/release}
secs=${1:-5}
conns=${2:-32}
command -v wrk >/dev/null || { echo "server.sh: wrk is not installed"; exit 1; }
[ -x "$build/wisp" ] || cmake --build "$build" -j2 --target wisp >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$repo/scripts/build-guest.sh" --command -o "$work/hello.wasm" "$repo/examples/http/hello/hello.c"
"$repo/scripts/build-guest.sh" --command -o "$work/preinit.wasm" "$repo/tests/server/guests/preinit.c"
cat > "$work/wisp.toml" <<TOML
spin_manifest_version = 2
[application]
name = "bench"
[[trigger.http]]
route = "/hello"
component = "hello"
executor = { type = "wagi" }
[component.hello]
source = "hello.wasm"
[[trigger.http]]
route = "/pre"
component = "pre"
executor = { type = "wagi" }
[component.pre]
source = "preinit.wasm"
TOML
routes="hello pre"
comp=$build/tests/component/http_hello.component.wasm
if [ -f "$comp" ]; then
  cp "$comp" "$work/http_hello.wasm"
  printf '[[trigger.http]]\nroute = "/comp"\ncomponent = "comp"\n[component.comp]\nsource = "http_hello.wasm"\n' \
    >> "$work/wisp.toml"
  routes="$routes comp"
fi
for mode in snapshot no-snapshot; do
  args=(--snapshot-dir off)
  [ "$mode" = no-snapshot ] && args+=(--no-snapshot)
  "$build/wisp" up "$work" --listen 127.0.0.1:0 --admin-listen off --processes 2 --log-format none "${args[@]}" \
    2> "$work/stderr" &
  pid=$!
  port=
  for _ in $(seq 100); do
    port=$(grep -o '(port [0-9]*' "$work/stderr" | grep -o '[0-9]*' || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  for route in $routes; do
    wrk -t2 -c"$conns" -d"$secs"s "http://127.0.0.1:$port/$route" >/dev/null # warm-up
    out=$(wrk -t2 -c"$conns" -d"$secs"s --latency "http://127.0.0.1:$port/$route")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    echo "| /$route | $mode | $rps | $p50 | $p99 |"
  done
  kill "$pid"
  wait "$pid" || true
done

# Instantiation time alone, as the server measures it (instantiate_us in the
# JSON access log: store, WASI state, instance; not the guest's run), over 300
# sequential requests per route.
echo
echo "| route | instances | instantiate p50 us | p99 us |"
echo "|---|---|---:|---:|"
for mode in snapshot no-snapshot; do
  args=(--snapshot-dir off)
  [ "$mode" = no-snapshot ] && args+=(--no-snapshot)
  : > "$work/stderr"
  "$build/wisp" up "$work" --listen 127.0.0.1:0 --admin-listen off --processes 1 --log-format json "${args[@]}" \
    > "$work/access.log" 2> "$work/stderr" &
  pid=$!
  port=
  for _ in $(seq 100); do
    port=$(grep -o '(port [0-9]*' "$work/stderr" | grep -o '[0-9]*' || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  for route in $routes; do
    for _ in $(seq 300); do curl -s "http://127.0.0.1:$port/$route" >/dev/null; done
  done
  kill "$pid"
  wait "$pid" || true
  for route in $routes; do
    grep "\"path\":\"/$route\"" "$work/access.log" | grep -o '"instantiate_us":[0-9]*' | cut -d: -f2 | sort -n |
      awk -v r="$route" -v m="$mode" '{a[NR] = $1} END {print "| /" r " | " m " | " a[int(NR / 2)] " | " a[int(NR * 0.99)] " |"}'
  done
done

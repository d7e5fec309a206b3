#!/usr/bin/env bash
# profile.sh: instructions per request of `wisp up` serving the C hello
# wasi:http component (the component bench/http/run.sh serves), counted by
# valgrind's callgrind, which counts the same on a busy machine as on a quiet
# one (the figure excludes the kernel's work: syscalls, TCP).
#
#   bench/http/profile.sh [-n REQUESTS] [-w WISP_BINARY] [-o CALLGRIND_OUT]
#
# Defaults: 2000 requests, build/release/wisp, no profile kept. One server
# process with one loop thread under callgrind; one client sends requests one
# after the other on one keep-alive connection (bench/http/client.py). The
# counters are zeroed after 200 warm-up requests and dumped after the
# measured ones, so start-up (loading, the snapshot) is not counted. Prints
# the instructions per request; with -o keeps the profile for
# callgrind_annotate (build with -g for function and line names:
# cmake -S . -B build/prof -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS=-g).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
n=2000 wisp=$repo/build/release/wisp keep=
while getopts n:w:o: opt; do
  case $opt in
    n) n=$OPTARG ;; w) wisp=$OPTARG ;; o) keep=$OPTARG ;;
    *) sed -n '2,17p' "$0"; exit 2 ;;
  esac
done
for tool in valgrind callgrind_control callgrind_annotate python3 curl; do
  command -v $tool >/dev/null || { echo "profile.sh: $tool missing" >&2; exit 1; }
done
[ -x "$wisp" ] || { echo "profile.sh: $wisp missing" >&2; exit 1; }
work=$(mktemp -d /tmp/wisp-profile-http.XXXXXX)
vpid=
cleanup() {
  [ -n "$vpid" ] && kill "$vpid" 2>/dev/null && wait "$vpid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/app"
WISP_NODE_MODULES=$repo/node_modules "$repo/sdk/c/build.sh" -o "$work/app/hello.wasm" "$repo/examples/http-c/hello.c"
cat > "$work/app/wisp.toml" <<TOML
spin_manifest_version = 2
[application]
name = "profile-http"
[[trigger.http]]
route = "/..."
component = "hello"
[component.hello]
source = "hello.wasm"
TOML
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$wisp" up "$work/app" --listen 127.0.0.1:$port \
  --admin-listen off --processes 1 --threads 1 --log-format none --snapshot-dir off >"$work/server.log" 2>&1 &
vpid=$!
for _ in $(seq 600); do
  curl -s -o /dev/null "http://127.0.0.1:$port/hello" && break
  sleep 0.2
done
python3 "$repo/bench/http/client.py" $port 200 >/dev/null
callgrind_control -z $vpid >/dev/null
python3 "$repo/bench/http/client.py" $port "$n" >/dev/null
callgrind_control -d $vpid >/dev/null
sleep 1
dump=$(ls "$work"/cg.out.* | head -1)
total=$(awk '/^summary:/ { print $2 }' "$dump")
awk -v t="$total" -v n="$n" 'BEGIN { printf "%d requests: %d instructions, %.0f per request\n", n, t, t / n }'
[ -z "$keep" ] || cp "$dump" "$keep"

#!/usr/bin/env bash
# run.sh: the C hello wasi:http component (examples/http-c/hello.c, built with
# sdk/c) served by wisp up (a fresh instance per request) and by jco serve
# (Node; with a fresh instance per request, and reusing one instance), against
# nginx serving a static file with the same body; the same wrk load, one
# server after the other in one run on this machine.
#
#   bench/http/run.sh [-c CONNECTIONS] [-d SECONDS] [-t WRK_THREADS] [-w WISP_BINARY]
#
# Defaults: 64 connections, 10 s, 2 wrk threads, build/release/wisp. nginx and
# wisp get 2 worker processes, access logs off; jco serve is one Node process
# (it has no option for more). Prints one line per server (requests/s, p50,
# p99) and the ratios. While wisp up answers 501 for wasi:http routes its line
# says so instead.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
conns=64 secs=10 wthreads=2 wisp=$repo/build/release/wisp
while getopts c:d:t:w: opt; do
  case $opt in
    c) conns=$OPTARG ;; d) secs=$OPTARG ;; t) wthreads=$OPTARG ;; w) wisp=$OPTARG ;;
    *) sed -n '2,15p' "$0"; exit 2 ;;
  esac
done
for tool in wrk nginx node curl; do
  command -v $tool >/dev/null || [ -x /usr/sbin/$tool ] || { echo "run.sh: $tool missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
jco=$repo/node_modules/.bin/jco
[ -x "$jco" ] || { echo "run.sh: $jco missing (scripts/setup-npm.sh)" >&2; exit 1; }
[ -x "$wisp" ] || { echo "run.sh: $wisp missing (build it: cmake --build build/release --target wisp)" >&2; exit 1; }
work=$(mktemp -d /tmp/wisp-bench-http.XXXXXX)
chmod 755 "$work" # nginx workers run as another user
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
body='hello from a C component'

# The component and a manifest serving it on every path.
mkdir -p "$work/app"
WISP_NODE_MODULES=$repo/node_modules "$repo/sdk/c/build.sh" -o "$work/app/hello.wasm" "$repo/examples/http-c/hello.c"
cat > "$work/app/wisp.toml" <<TOML
spin_manifest_version = 2
[application]
name = "bench-http"
[[trigger.http]]
route = "/..."
component = "hello"
[component.hello]
source = "hello.wasm"
TOML

nport=$(free_port)
mkdir -p "$work/nginx/html"
printf '%s\n' "$body" > "$work/nginx/html/hello"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  default_type text/plain;
  client_body_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$nport;
    root $work/nginx/html;
  }
}
CONF
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
setsid "$nginx_bin" -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>"$work/nginx/stderr" &
pids+=($!)

wport=$(free_port)
setsid "$wisp" up "$work/app" --listen 127.0.0.1:$wport --admin-listen off --processes 2 --threads 1 \
  --log-format none 2>"$work/wisp.err" &
pids+=($!)

# jco serve forks a child: each runs in its own process group, stopped as a group.
jport=$(free_port)
setsid "$jco" serve "$work/app/hello.wasm" --host 127.0.0.1 --port $jport --isolate-requests instance \
  >"$work/jco-fresh.log" 2>&1 &
pids+=($!)
rport=$(free_port)
setsid "$jco" serve "$work/app/hello.wasm" --host 127.0.0.1 --port $rport >"$work/jco-reuse.log" 2>&1 &
pids+=($!)

wait_up() {
  for _ in $(seq 300); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "run.sh: $1 does not answer" >&2
  exit 1
}
for p in $nport $wport $jport $rport; do wait_up "http://127.0.0.1:$p/hello"; done
for p in $jport $rport; do
  [ "$(curl -s http://127.0.0.1:$p/hello)" = "$body" ] || { echo "run.sh: wrong jco serve body" >&2; exit 1; }
done
wisp_ok=1
got=$(curl -s -w '%{http_code}' -o "$work/wisp.body" "http://127.0.0.1:$wport/hello")
if [ "$got" != 200 ] || [ "$(cat "$work/wisp.body")" != "$body" ]; then
  wisp_ok=0
  wisp_why="wisp up answers $got: $(head -c 200 "$work/wisp.body")"
fi

to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n *= 1; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}
measure() {
  local name=$1 url=$2 out
  wrk -t"$wthreads" -c"$conns" -d"${secs}s" --latency "$url" >/dev/null 2>&1 || true # warm-up
  out=$(wrk -t"$wthreads" -c"$conns" -d"${secs}s" --latency "$url")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  errors=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' || true)
  printf '%-10s %10.0f req/s   p50 %8.3f ms   p99 %8.3f ms  %s\n' "$name" "$rps" "$p50" "$p99" "$errors"
  eval "${name//-/_}_rps=$rps"
}
echo "wrk: $conns connections, ${secs}s, $wthreads threads; $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit $(git -C "$repo" rev-parse --short HEAD); component $(stat -c %s "$work/app/hello.wasm") bytes"
measure nginx "http://127.0.0.1:$nport/hello"
if [ $wisp_ok = 1 ]; then measure wisp "http://127.0.0.1:$wport/hello"; else echo "wisp       not measured: $wisp_why"; fi
measure jco-fresh "http://127.0.0.1:$jport/hello"
measure jco-reuse "http://127.0.0.1:$rport/hello"
if [ $wisp_ok = 1 ]; then
  awk -v w="$wisp_rps" -v n="$nginx_rps" -v f="$jco_fresh_rps" -v r="$jco_reuse_rps" 'BEGIN {
    printf "wisp/nginx %.2f   wisp/jco-fresh %.1f   wisp/jco-reuse %.1f\n", w / n, w / f, w / r }'
fi

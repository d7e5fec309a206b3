#!/usr/bin/env bash
# run.sh: wisp up (WAGI hello, a fresh instance per request) against nginx
# serving a static "hello" file, with the same wrk load, one after the other
# in one run on this machine.
#
#   bench/server/run.sh [-c CONNECTIONS] [-d SECONDS] [-t WRK_THREADS] [-w WISP_BINARY]
#
# Defaults: 64 connections, 10 s, 2 wrk threads, build-server/wisp (built if
# missing). Both servers get 2 worker processes, access logs off. Prints one
# line per server (requests/s, p50, p99) and the ratio of wisp to nginx.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
conns=64 secs=10 wthreads=2 wisp=$repo/build-server/wisp
while getopts c:d:t:w: opt; do
  case $opt in
    c) conns=$OPTARG ;; d) secs=$OPTARG ;; t) wthreads=$OPTARG ;; w) wisp=$OPTARG ;;
    *) sed -n '2,12p' "$0"; exit 2 ;;
  esac
done
for tool in wrk nginx; do
  command -v $tool >/dev/null || [ -x /usr/sbin/$tool ] || { echo "run.sh: $tool missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
if [ ! -x "$wisp" ]; then
  cmake -S "$repo" -B "$repo/build-server" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$repo/build-server" -j2 --target wisp >/dev/null
fi
work=$(mktemp -d /tmp/wisp-bench-server.XXXXXX)
chmod 755 "$work" # nginx workers run as another user
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The WAGI hello app, built next to a copy of its manifest.
mkdir -p "$work/hello"
cp "$repo/examples/http/hello/wisp.toml" "$work/hello/"
"$repo/scripts/build-guest.sh" --command -o "$work/hello/hello.wasm" "$repo/examples/http/hello/hello.c"

# nginx: 2 workers, a static file with the same body as the WAGI hello.
nport=$(free_port)
mkdir -p "$work/nginx/html"
printf 'hello from wisp\n' > "$work/nginx/html/hello"
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
"$nginx_bin" -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>"$work/nginx/stderr" &
pids+=($!)

wport=$(free_port)
"$wisp" up "$work/hello" --listen 127.0.0.1:$wport --admin-listen off --processes 2 --threads 1 --log-format none \
  2>"$work/wisp.err" &
pids+=($!)

wait_up() {
  for _ in $(seq 100); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.05
  done
  echo "run.sh: $1 does not answer" >&2
  exit 1
}
wait_up "http://127.0.0.1:$nport/hello"
wait_up "http://127.0.0.1:$wport/hello"
[ "$(curl -s http://127.0.0.1:$wport/hello)" = "hello from wisp" ] || { echo "run.sh: wrong wisp body" >&2; exit 1; }

# wrk --latency: "Requests/sec: N" and the 50% / 99% lines. Latencies in ms.
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
  errors=$(grep -E 'Non-2xx|Socket errors' <<<"$out" || true)
  printf '%-6s %10.0f req/s   p50 %7.3f ms   p99 %7.3f ms  %s\n' "$name" "$rps" "$p50" "$p99" "$errors"
  eval "${name}_rps=$rps"
}
echo "wrk: $conns connections, ${secs}s, $wthreads threads; $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
measure nginx "http://127.0.0.1:$nport/hello"
measure wisp "http://127.0.0.1:$wport/hello"
awk -v w="$wisp_rps" -v n="$nginx_rps" 'BEGIN { printf "wisp/nginx requests/s ratio: %.2f\n", w / n }'

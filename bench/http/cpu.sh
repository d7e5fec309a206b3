#!/usr/bin/env bash
# cpu.sh: CPU time per request (user and system, all processes of the
# server) of `wisp up` serving the C hello wasi:http component and of nginx
# serving the same bytes, under the wrk load of bench/http/run.sh. On a
# shared machine requests/s follow the load of others; the CPU a request
# costs the server moves much less, so this compares builds there.
#
#   bench/http/cpu.sh [-d SECONDS] [-r ROUNDS] [WISP_BINARY...]
#
# Defaults: 5 s per measurement, 3 rounds, build/release/wisp. Each round
# measures nginx, then each binary in turn (after a 2 s warm-up), and prints
# requests/s and the user and system microseconds per request, from
# /proc/PID/stat of every process of the server (utime, stime) before and
# after the wrk run. The kernel's share for loopback TCP is counted where
# the kernel charges it (partly to wrk).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
secs=5 rounds=3
while getopts d:r: opt; do
  case $opt in
    d) secs=$OPTARG ;; r) rounds=$OPTARG ;;
    *) sed -n '2,15p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- "$repo/build/release/wisp"
for tool in wrk nginx curl python3; do
  command -v $tool >/dev/null || [ -x /usr/sbin/$tool ] || { echo "cpu.sh: $tool missing" >&2; exit 1; }
done
work=$(mktemp -d /tmp/wisp-bench-cpu.XXXXXX)
chmod 755 "$work"
groups=()
cleanup() {
  for g in "${groups[@]}"; do kill -- "-$g" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
body='hello from a C component'
mkdir -p "$work/app" "$work/nginx/html"
WISP_NODE_MODULES=$repo/node_modules "$repo/sdk/c/build.sh" -o "$work/app/hello.wasm" "$repo/examples/http-c/hello.c"
cat > "$work/app/wisp.toml" <<TOML
spin_manifest_version = 2
[application]
name = "bench-cpu"
[[trigger.http]]
route = "/..."
component = "hello"
[component.hello]
source = "hello.wasm"
TOML
printf '%s\n' "$body" > "$work/nginx/html/hello"
nport=$(free_port)
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
  server { listen 127.0.0.1:$nport; root $work/nginx/html; }
}
CONF
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
# setsid in the background of a script does not fork: $! leads the new session
setsid "$nginx_bin" -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>"$work/nginx/stderr" &
groups+=($!)
names=(nginx) ports=($nport) leaders=($!)
i=0
for bin in "$@"; do
  port=$(free_port)
  setsid "$bin" up "$work/app" --listen 127.0.0.1:$port --admin-listen off --processes 2 --threads 1 \
    --log-format none --snapshot-dir off 2>"$work/wisp$i.err" &
  groups+=($!)
  names+=("$bin") ports+=($port) leaders+=($!)
  i=$((i + 1))
done
for p in "${ports[@]}"; do
  for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$p/hello" && break; sleep 0.1; done
done
ticks() { # utime + stime of every process in session $1, in clock ticks
  local pids
  pids=$(ps -o pid= -s "$1")
  for p in $pids; do awk '{ print $14, $15 }' "/proc/$p/stat" 2>/dev/null || true; done |
    awk '{ u += $1; s += $2 } END { print u + 0, s + 0 }'
}
hz=$(getconf CLK_TCK)
echo "wrk -t2 -c64 -d${secs}s; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg); commit $(git -C "$repo" rev-parse --short HEAD)"
for r in $(seq "$rounds"); do
  for k in "${!names[@]}"; do
    url="http://127.0.0.1:${ports[$k]}/hello"
    wrk -t2 -c64 -d2s "$url" >/dev/null 2>&1 || true
    t0=$(ticks "${leaders[$k]}")
    out=$(wrk -t2 -c64 -d"${secs}s" "$url")
    t1=$(ticks "${leaders[$k]}")
    n=$(awk '/requests in/ { print $1 }' <<<"$out")
    echo "$t0 $t1 $n" | awk -v name="${names[$k]}" -v secs="$secs" -v hz="$hz" -v r="$r" '{
      u = ($3 - $1) * 1e6 / hz / $5; s = ($4 - $2) * 1e6 / hz / $5
      printf "round %d  %-40s %8.0f req/s   user %5.1f us   sys %5.1f us   total %5.1f us per request\n",
             r, name, $5 / secs, u, s, u + s }'
  done
done

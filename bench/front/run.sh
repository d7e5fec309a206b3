#!/usr/bin/env bash
# run.sh: the front (src/server/front.c) against h2o's HTTP/1 on the same
# machine in one sitting: two wisp binaries (one built before the front, one
# with it) serving the same app, a WAGI hello (/hello) and the C wasi:http
# hello component (/c), one after the other.
#
#   bench/front/run.sh BASE_WISP NEW_WISP [ROUNDS]
#
# For each binary and path: wrk -t1 -c32 -d5s against one process with one
# loop thread (requests/s, p50, p99), ROUNDS times alternating (default 3);
# then, when valgrind is installed, the instructions the server executes per
# request (callgrind, the difference between 2,500 and 500 keep-alive
# requests, so start-up cancels out), which the machine's load does not
# disturb. A like-for-like BASE_WISP is the same tree with on_app_accept in
# src/server/server.c calling h2o_accept(listener->data, sock) instead of
# srv_front_accept (and drop_chunked_filter not called), built in a copy:
#   git archive HEAD | tar -x -C /tmp/base && (edit server.c) &&
#   cmake -S /tmp/base -B /tmp/base/build -DCMAKE_BUILD_TYPE=Release &&
#   cmake --build /tmp/base/build --target wisp
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
base=$1 new=$2 rounds=${3:-3}
work=$(mktemp -d /tmp/wisp-bench-front.XXXXXX)
trap 'rm -rf "$work"' EXIT
WISP_CLANG=${WISP_CLANG:-clang-19} WISP_SYSROOT=${WISP_SYSROOT:-$repo/build/wasi-sysroot} \
  "$repo/scripts/build-guest.sh" --command -o "$work/hello_wagi.wasm" "$repo/examples/http/hello/hello.c"
WISP_NODE_MODULES=$repo/node_modules "$repo/sdk/c/build.sh" -o "$work/hello_c.wasm" "$repo/examples/http-c/hello.c"
cat > "$work/wisp.toml" <<TOML
spin_manifest_version = 2
[application]
name = "bench-front"
[[trigger.http]]
route = "/hello"
component = "wagi"
executor = { type = "wagi" }
[component.wagi]
source = "hello_wagi.wasm"
[[trigger.http]]
route = "/c"
component = "c"
[component.c]
source = "hello_c.wasm"
TOML
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # BINARY [WRAPPER...]: starts a server, sets pid and port
  local bin=$1; shift
  port=$(free_port)
  rm -rf "$work/snap"
  "$@" "$bin" up "$work" --listen 127.0.0.1:$port --admin-listen off --processes 1 --threads 1 --log-format none \
    --snapshot-dir "$work/snap" 2>"$work/stderr" &
  pid=$!
  for _ in $(seq 600); do curl -s -o /dev/null http://127.0.0.1:$port/hello && return; sleep 0.1; done
  echo "run.sh: $bin did not start" >&2; cat "$work/stderr" >&2; exit 1
}
for r in $(seq "$rounds"); do
  for which in base new; do
    bin=$base; [ $which = new ] && bin=$new
    start "$bin"
    for path in /hello /c; do
      wrk -t1 -c32 -d5s --latency http://127.0.0.1:$port$path > "$work/wrk.out"
      printf '%-4s %-6s %10s req/s  p50 %-8s p99 %s\n' $which $path "$(awk '/Requests\/sec/{print $2}' "$work/wrk.out")" \
        "$(awk '$1=="50%"{print $2}' "$work/wrk.out")" "$(awk '$1=="99%"{print $2}' "$work/wrk.out")"
    done
    kill $pid; wait $pid 2>/dev/null || true
  done
done
command -v valgrind >/dev/null || { echo "valgrind not found: no instruction counts"; exit 0; }
count() { # BINARY N PATH: callgrind's total instructions for N requests
  start "$1" valgrind --tool=callgrind --callgrind-out-file="$work/cg.out"
  python3 - "$port" "$2" "$3" <<'PY'
import socket, sys
port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
req, buf = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), b""
for _ in range(n):
    s.sendall(req)
    while True:
        h = buf.find(b"\r\n\r\n")
        if h >= 0:
            cl = int(buf[:h].lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            if len(buf) >= h + 4 + cl:
                buf = buf[h + 4 + cl:]
                break
        buf += s.recv(65536)
PY
  kill -TERM $pid; wait $pid 2>/dev/null || true
  awk '/^totals:|^summary:/{print $2; exit}' "$work/cg.out"
}
for path in /hello /c; do
  for which in base new; do
    bin=$base; [ $which = new ] && bin=$new
    a=$(count "$bin" 500 $path) b=$(count "$bin" 2500 $path)
    printf '%-4s %-6s %8d instructions per request (callgrind)\n' $which $path $(((b - a) / 2000))
  done
done

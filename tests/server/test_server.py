#!/usr/bin/env python3
"""test_server.py: end-to-end tests of `wisp up` (src/server/).

    test_server.py WISP GUESTS_DIR TEST_NAME

Each test starts the real `wisp` binary on 127.0.0.1 with a port the kernel
picks (--listen 127.0.0.1:0; the port is read from the server's start-up
message), talks HTTP to it with the standard library (raw sockets where the
request must be malformed), and stops it with SIGTERM. GUESTS_DIR holds the
guest modules built by tests/server/CMakeLists.txt: probe.wasm (one module,
many behaviours chosen by ?mode=...), echo.wasm, hello.wasm, static.wasm,
with examples/http/static/public as the static files.
Exit status 0 when the test passes; a failure prints what differed.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

WISP, GUESTS, SOURCE_DIR = sys.argv[1], sys.argv[2], sys.argv[3]

MANIFEST = """
spin_manifest_version = 2
[application]
name = "server-tests"

[[trigger.http]]
route = "/probe"
component = "probe"
executor = {{ type = "wagi" }}

[[trigger.http]]
route = "/slow"
component = "slow"
executor = {{ type = "wagi" }}

[[trigger.http]]
route = "/short"
component = "short"
executor = {{ type = "wagi" }}

[component.short]
source = "{g}/probe.wasm"
[component.short.limits]
cpu_ms = 500
wall_ms = 1000

[[trigger.http]]
route = "/slot"
component = "slot"
executor = {{ type = "wagi" }}

[[trigger.http]]
route = "/echo/..."
component = "echo"
executor = {{ type = "wagi" }}

[[trigger.http]]
route = "/echo/deeper/..."
component = "echo_deeper"
executor = {{ type = "wagi" }}

[[trigger.http]]
route = "/exact"
component = "echo"
executor = {{ type = "wagi", argv = "${{SCRIPT_NAME}} fixed ${{ARGS}}" }}

[[trigger.http]]
route = "/hello"
component = "hello"
executor = {{ type = "wagi" }}

[[trigger.http]]
route = "/static/..."
component = "files"
executor = {{ type = "wagi" }}

[[trigger.http]]
route = "/api/..."
component = "api"
executor = {{ type = "wagi" }}

[component.api]
source = "{g}/json.wasm"

[component.probe]
source = "{g}/probe.wasm"
[component.probe.limits]
memory_mib = 16
cpu_ms = 300
wall_ms = 20000
max_request_bytes = 1024
max_response_bytes = 100000

[component.slow]
source = "{g}/probe.wasm"
[component.slow.limits]
cpu_ms = 5000
wall_ms = 10000

[component.slot]
source = "{g}/probe.wasm"
[component.slot.limits]
cpu_ms = 5000
max_concurrency = 1

[component.echo]
source = "{g}/echo.wasm"
environment = {{ GREETING = "hello", REQUEST_METHOD = "overridden?" }}

[component.echo_deeper]
source = "{g}/echo.wasm"
environment = {{ WHICH = "deeper" }}

[component.hello]
source = "{g}/hello.wasm"

[component.files]
source = "{g}/static.wasm"
files = [{{ source = "{s}/examples/http/static/public", destination = "/static" }}]
"""

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


class Server:
    """A running `wisp up` with the test manifest."""

    def __init__(self, extra_args=()):
        self.dir = tempfile.mkdtemp(prefix="wisp-server-test-")
        self.stopped = None
        with open(os.path.join(self.dir, "wisp.toml"), "w") as f:
            f.write(MANIFEST.format(g=GUESTS, s=SOURCE_DIR))
        self.out = open(os.path.join(self.dir, "stdout"), "w+")
        self.err = open(os.path.join(self.dir, "stderr"), "w+")
        self.proc = subprocess.Popen(
            [WISP, "up", self.dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
             "--log-format", "json", *extra_args],
            stdout=self.out, stderr=self.err)
        deadline = time.time() + 20
        while time.time() < deadline:
            text = self.stderr()
            m = re.search(r"\(port (\d+)", text)
            a = re.search(r"admin port (\d+)", text)
            if m and a:
                self.port, self.admin_port = int(m.group(1)), int(a.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise SystemExit("server did not start:\n" + self.stderr())

    def stderr(self):
        with open(os.path.join(self.dir, "stderr")) as f:
            return f.read()

    def stdout(self):
        with open(os.path.join(self.dir, "stdout")) as f:
            return f.read()

    def request(self, method, path, body=None, headers=None, port=None, timeout=20):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def raw(self, data, timeout=5):
        """Sends raw bytes; returns everything read until close or timeout."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.sendall(data)
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except socket.timeout:
            pass
        s.close()
        return b"".join(chunks)

    def stop(self, timeout=20):
        if self.stopped is not None:
            return self.stopped
        if failures or self.proc.poll() not in (None, 0):
            print("server stderr (last 3000 bytes):\n" + self.stderr()[-3000:])
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = "killed"
        if code not in (0, "killed") or failures:
            print("server stderr (last 3000 bytes):\n" + self.stderr()[-3000:])
        shutil.rmtree(self.dir, ignore_errors=True)
        self.stopped = code
        return code


def env_of(body):
    env = {}
    for line in body.decode().splitlines():
        if line.startswith("ENV "):
            k, _, v = line[4:].partition("=")
            env[k] = v
    return env


def args_of(body):
    return [l.split(" ", 2)[2] for l in body.decode().splitlines() if l.startswith("ARG ")]


# ---- tests -------------------------------------------------------------------

def test_wagi_env(s):
    st, hdrs, body = s.request("POST", "/echo/a%20b/c?x=1&y=hello+world&z=%2Fq", body=b"payload",
                               headers={"Content-Type": "text/x-test", "X-Custom": "v1",
                                        "Authorization": "Bearer secret", "User-Agent": "t/1"})
    check(st == 200, f"echo status {st}")
    env = env_of(body)
    want = {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "/echo", "PATH_INFO": "/a b/c",
        "PATH_TRANSLATED": "/a b/c", "X_RAW_PATH_INFO": "/a%20b/c", "X_RELATIVE_PATH": "a%20b/c",
        "QUERY_STRING": "x=1&y=hello+world&z=%2Fq", "CONTENT_LENGTH": "7",
        "CONTENT_TYPE": "text/x-test", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(s.port),
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "REMOTE_HOST": "127.0.0.1",
        "GATEWAY_INTERFACE": "CGI/1.1", "X_MATCHED_ROUTE": "/echo/...",
        "X_FULL_URL": f"http://127.0.0.1:{s.port}/echo/a%20b/c?x=1&y=hello+world&z=%2Fq",
        "HTTP_X_CUSTOM": "v1", "HTTP_USER_AGENT": "t/1", "HTTP_HOST": f"127.0.0.1:{s.port}",
        "GREETING": "hello", "AUTH_TYPE": "", "REMOTE_USER": "",
    }
    for k, v in want.items():
        check(env.get(k) == v, f"{k}: expected {v!r}, got {env.get(k)!r}")
    for k in ("HTTP_AUTHORIZATION", "HTTP_CONNECTION", "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        check(k not in env, f"{k} must not be passed")
    check(env.get("SERVER_SOFTWARE", "").startswith("wisp/"), "SERVER_SOFTWARE")
    check(b"BODY payload" in body, "body on stdin")
    check(args_of(body) == ["/echo", "x=1", "y=hello world", "z=/q"], f"argv {args_of(body)}")
    check(hdrs.get("x-echo-method") == "POST", "guest header passed through")
    # The manifest's variables never hide a request variable.
    st, _, body = s.get("/echo/")
    check(env_of(body).get("REQUEST_METHOD") == "GET", "manifest env must not override CGI vars")
    # The argv template of the trigger.
    st, _, body = s.get("/exact?q=1")
    check(args_of(body) == ["/exact", "fixed", "q=1"], f"argv template {args_of(body)}")
    check(env_of(body).get("PATH_INFO") == "", "exact route: empty PATH_INFO")
    # Repeated headers are joined.
    out = s.raw(b"GET /echo/ HTTP/1.1\r\nHost: h\r\nX-Multi: a\r\nX-Multi: b\r\nConnection: close\r\n\r\n")
    check(b"ENV HTTP_X_MULTI=a, b" in out, "repeated headers joined with ', '")
    check(b"ENV SERVER_NAME=h\n" in out, "SERVER_NAME from Host")


def test_wagi_response(s):
    st, h, b = s.get("/probe?mode=status&code=418")
    check(st == 418 and h.get("x-custom") == "yes" and b == b"short and stout\n", f"Status: {st} {h} {b!r}")
    check("status" not in h, "Status header is not forwarded")
    st, h, b = s.get("/probe?mode=location")
    check(st == 302 and h.get("location") == "/elsewhere", f"Location gives 302: {st} {h}")
    st, h, b = s.get("/probe?mode=crlf")
    check(st == 200 and h.get("x-line") == "crlf" and b == b"body\r\n", f"CRLF output: {st} {h} {b!r}")
    st, h, b = s.get("/probe?mode=exit&code=3")
    check(st == 200 and b == b"exiting\n", f"proc_exit with output: {st} {b!r}")
    for mode in ("noblank", "noheaders", "garbage", "badstatus", "empty"):
        st, h, b = s.get(f"/probe?mode={mode}")
        check(st == 502 and b"not a valid WAGI response" in b and b"request id" in b,
              f"{mode}: expected 502 with a message, got {st} {b!r}")
    check("invalid WAGI response" in s.stderr(), "invalid output is logged")
    st, h, b = s.get("/probe?mode=stderr")
    m = re.search(r"request (\d+) \[probe\] guest: probe says hello on stderr", s.stderr())
    check(st == 200 and m is not None, "guest stderr goes to the log tagged with the request id")


def test_routing(s):
    st, _, b = s.get("/echo/deeper/x")
    check(st == 200 and env_of(b).get("WHICH") == "deeper", "longest wildcard prefix wins")
    check(env_of(b).get("PATH_INFO") == "/x", f"PATH_INFO after the longer prefix: {env_of(b).get('PATH_INFO')}")
    st, _, b = s.get("/echo/deeperx")
    check(st == 200 and "WHICH" not in env_of(b), "prefix matches whole segments only")
    st, _, b = s.get("/echo")
    check(st == 200 and env_of(b).get("PATH_INFO") == "", "/echo matches /echo/...")
    st, _, b = s.get("/echox")
    check(st == 404, f"/echox: 404, got {st}")
    st, _, b = s.get("/exact/more")
    check(st == 404, f"an exact route does not match below it: {st}")
    st, _, b = s.get("/")
    check(st == 404, f"no route for /: {st}")
    st, _, b = s.get("/echo/../hello")
    check(st == 200 and b == b"hello from wisp\n", f"dot segments are resolved before routing: {st} {b!r}")
    st, h, b = s.get("/static/hello.txt")
    check(st == 200 and b == b"plain text file\n", f"static file from a files mount: {st} {b!r}")
    st, h, b = s.get("/static/missing.txt")
    check(st == 404, f"static 404 from the guest: {st}")


def timed_get(s, path):
    t = time.time()
    st, _, _ = s.get(path)
    return st, time.time() - t


def test_limits_cpu(s):
    # Baseline latency of /hello on an idle server.
    base = [timed_get(s, "/hello")[1] for _ in range(10)]
    result = {}

    def loop():
        result["loop"] = timed_get(s, "/probe?mode=loop")

    threads = [threading.Thread(target=loop) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    during = []
    while any(t.is_alive() for t in threads):
        st, dt = timed_get(s, "/hello")
        check(st == 200, "hello answers while guests loop")
        during.append(dt)
    for t in threads:
        t.join()
    st, dt = result["loop"]
    check(st == 504, f"a looping guest is stopped with 504, got {st}")
    check(dt >= 0.3, f"it ran at least its CPU limit (300 ms): {dt:.3f}s")
    med_base, med_during = statistics.median(base), statistics.median(during)
    print(f"hello median {med_base*1000:.2f} ms idle, {med_during*1000:.2f} ms while 2 guests loop "
          f"({len(during)} requests); looping request ended after {dt*1000:.0f} ms")
    check(len(during) >= 5, "several requests were answered during the loop")
    # A stalled loop thread would hold hello for the whole loop (>= 300 ms of CPU);
    # 100 ms leaves room for a loaded CI machine.
    check(med_during < 0.1, f"hello stays fast while guests loop: median {med_during*1000:.1f} ms")
    check("CPU time limit of 300 ms exceeded" in s.stderr(), "CPU limit logged")


def test_sleep(s):
    results = []

    def sleeper():
        results.append(timed_get(s, "/slow?mode=sleep&ms=1500"))

    threads = [threading.Thread(target=sleeper) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    during = [timed_get(s, "/hello")[1] for _ in range(10)]
    for t in threads:
        t.join()
    print(f"hello median {statistics.median(during)*1000:.2f} ms while 6 guests sleep 1.5 s; "
          f"sleepers took {min(r[1] for r in results):.2f}-{max(r[1] for r in results):.2f} s")
    check(all(r[0] == 200 for r in results), f"sleepers answer: {results}")
    check(all(r[1] >= 1.45 for r in results), "they slept their time")
    check(statistics.median(during) < 0.1, "a sleeping guest does not block its loop")
    st, dt = timed_get(s, "/short?mode=sleep&ms=30000")
    check(st == 504 and dt < 5, f"sleeping past the 1 s wall-clock limit: 504, got {st} after {dt:.1f} s")


def test_limits_traps(s):
    st, _, b = s.get("/probe?mode=oom")
    m = re.search(rb"allocated (\d+) MiB", b)
    check(st == 200 and m and int(m.group(1)) < 16, f"memory capped at 16 MiB: {st} {b!r}")
    for mode in ("trap", "stack"):
        st, _, b = s.get(f"/probe?mode={mode}")
        m = re.search(rb"request id (\d+)", b)
        check(st == 500 and m, f"{mode}: 500 with request id, got {st} {b!r}")
        if m:
            check(re.search(rf"request {m.group(1).decode()} \[probe\]: trap: ", s.stderr()),
                  f"{mode}: trap message logged with the request id")
    # A C guest's stack lives in linear memory: overflowing it runs below address 0.
    check(re.search(r"trap: (call stack exhausted|out of bounds memory access)", s.stderr()),
          "stack overflow trap logged")
    st, _, b = s.get("/hello")
    check(st == 200, "the server still serves after traps")


def test_body_limits(s):
    st, _, b = s.request("POST", "/probe?mode=body", body=b"x" * 1000)
    check(st == 200 and b == b"body bytes 1000\n", f"body within limit: {st} {b!r}")
    st, _, b = s.request("POST", "/probe?mode=body", body=b"x" * 2000)
    check(st == 413, f"body over the component's limit: 413, got {st}")
    # Chunked request bodies are reassembled.
    out = s.raw(b"POST /probe?mode=body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    check(out.startswith(b"HTTP/1.1 200") and out.endswith(b"body bytes 11\n"), f"chunked body: {out!r}")
    # A response over max_response_bytes.
    st, _, b = s.get("/probe?mode=big&bytes=50000")
    check(st == 200 and len(b) == 50000, f"response within limit: {st} {len(b)}")
    st, _, b = s.get("/probe?mode=big&bytes=300000")
    check(st == 502 and b"larger than its limit" in b, f"response over limit: 502, got {st}")


def test_malformed(s):
    cases = [
        ("bad request line", b"GARBAGE\r\n\r\n", (400,)),
        ("bad version", b"GET / HTTP/9.9x\r\n\r\n", (400, 505)),
        ("huge headers", b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n",
         (400, 413, 431)),
        ("invalid chunked encoding", b"POST /probe?mode=body HTTP/1.1\r\nHost: x\r\n"
         b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", (400,)),
    ]
    for name, data, statuses in cases:
        out = s.raw(data)
        m = re.match(rb"HTTP/1\.[01] (\d{3})", out)
        status = int(m.group(1)) if m else None
        check(status in statuses, f"{name}: expected one of {statuses}, got {out[:80]!r}")
        st, _, b = s.get("/hello")
        check(st == 200, f"server still serves after {name}")


def test_keepalive_pipelining(s):
    reqs = b"".join(b"GET /probe?mode=status&code=%d HTTP/1.1\r\nHost: x\r\n\r\n" % c for c in (201, 202))
    reqs += b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    out = s.raw(reqs)
    codes = re.findall(rb"HTTP/1\.1 (\d{3})", out)
    check(codes == [b"201", b"202", b"200"], f"pipelined responses in order: {codes}")
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    for i in range(5):
        conn.request("GET", "/hello")
        r = conn.getresponse()
        check(r.status == 200 and r.read() == b"hello from wisp\n", "keep-alive request")
    conn.close()


def curl_available():
    return shutil.which("curl") is not None


def test_http2(s):
    if not curl_available():
        print("SKIPPED: server/http2: curl not found")
        return
    out = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-o", "-", "-w", "\n%{http_version}",
                          f"http://127.0.0.1:{s.port}/echo/h2"], capture_output=True, timeout=20)
    text = out.stdout.decode()
    check(text.endswith("\n2") and "ENV SERVER_PROTOCOL=HTTP/2" in text, f"h2c prior knowledge: {text[-200:]!r}")


def test_tls(s):
    if not curl_available() or not shutil.which("openssl"):
        print("SKIPPED: server/tls: curl or openssl not found")
        return
    d = tempfile.mkdtemp(prefix="wisp-tls-")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
    s.stop()
    t = Server(["--tls-cert", cert, "--tls-key", key])
    try:
        for flag, want in (("--http1.1", "1.1"), ("--http2", "2")):
            out = subprocess.run(["curl", "-sk", flag, "-o", "-", "-w", "\n%{http_version}",
                                  f"https://127.0.0.1:{t.port}/echo/tls"], capture_output=True, timeout=20)
            text = out.stdout.decode()
            check(text.endswith("\n" + want) and "ENV X_FULL_URL=https://" in text,
                  f"TLS {flag}: {text[-200:]!r}")
    finally:
        t.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_concurrency(s):
    results = []

    def one():
        results.append(s.get("/slot?mode=spin&ms=600")[0])

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    time.sleep(0.1)
    st, _, page = s.get("/metrics", port=s.admin_port)
    for t in threads:
        t.join()
    results.sort()
    check(results == [200, 200, 503, 503], f"cap 1 + queue 1: two served, two 503: {results}")
    check(re.search(rb'wisp_queue_depth\{component="slot"\} 1', page), "queue depth 1 while waiting")
    check(re.search(rb'wisp_instances\{component="slot"\} 1', page), "one instance while running")


def test_graceful_shutdown(s):
    results = []

    def one():
        try:
            results.append(s.get("/slow?mode=spin&ms=700"))
        except Exception as e:  # noqa: BLE001 - any failure is a lost request
            results.append(("error", str(e)))

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    try:
        socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
        check(False, "new connections are refused once draining")
    except OSError:
        pass
    for t in threads:
        t.join()
    code = s.proc.wait(20)
    check([r[0] for r in results] == [200, 200, 200], f"in-flight requests all answered: {results}")
    check(all(r[2] == b"spun\n" for r in results if len(r) == 3), "complete bodies")
    check(code == 0, f"clean exit after drain: {code}")


def test_metrics_and_log(s):
    s.get("/hello")
    s.get("/nowhere")
    s.get("/probe?mode=trap")
    st, h, page = s.get("/metrics", port=s.admin_port)
    check(st == 200 and h.get("content-type", "").startswith("text/plain"), "metrics page")
    text = page.decode()
    for pat in (r'wisp_http_requests_total\{route="/hello",status="200"\} 1',
                r'wisp_http_requests_total\{route="",status="404"\} 1',
                r'wisp_http_requests_total\{route="/probe",status="500"\} 1',
                r"wisp_http_request_duration_seconds_bucket\{le=\"\+Inf\"\} 3",
                r"wisp_instantiate_seconds_count 2", r"wisp_traps_total 1",
                r"wisp_guest_cpu_seconds_total \d", r'wisp_instances\{component="hello"\} 0'):
        check(re.search(pat, text), f"metrics has {pat}")
    time.sleep(0.1)
    lines = [json.loads(l) for l in s.stdout().splitlines() if l.strip()]
    check(len(lines) == 3, f"three access log lines: {len(lines)}")
    if lines:
        e = lines[0]
        for k in ("time", "id", "method", "path", "route", "status", "bytes", "duration_us",
                  "instantiate_us", "cpu_us"):
            check(k in e, f"access log field {k}")
        check(e["route"] == "/hello" and e["status"] == 200 and e["bytes"] == 16, f"log line {e}")
        check(lines[1]["route"] is None and lines[1]["status"] == 404, f"404 log line {lines[1]}")


def test_json_example(s):
    st, h, b = s.get("/api/items/2")
    check(st == 200 and h.get("content-type") == "application/json" and
          json.loads(b) == {"id": 2, "name": "banana"}, f"one item: {st} {b!r}")
    st, h, b = s.get("/api/items")
    check(st == 200 and len(json.loads(b)) == 3, f"list: {st} {b!r}")
    st, h, b = s.get("/api/items/9")
    check(st == 404 and json.loads(b)["error"] == "no such item", f"missing item: {st} {b!r}")
    st, h, b = s.request("POST", "/api/sum", body=b"1 2 3 40")
    check(st == 200 and json.loads(b) == {"sum": 46, "count": 4}, f"sum: {st} {b!r}")
    st, h, b = s.request("PUT", "/api/items/1", body=b"x")
    check(st == 405 and h.get("allow") == "GET", f"405 with Allow: {st} {h}")


def metric(s, name):
    _, _, page = s.get("/metrics", port=s.admin_port)
    m = re.search(re.escape(name) + rb" (\d+)", page)
    return int(m.group(1)) if m else None


def test_client_gone(s):
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    sock.sendall(b"GET /slow?mode=loop HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)
    check(metric(s, b'wisp_instances{component="slow"}') == 1, "the looping guest runs")
    sock.close()
    deadline = time.time() + 8
    while time.time() < deadline and metric(s, b'wisp_instances{component="slow"}') != 0:
        time.sleep(0.05)
    left = metric(s, b'wisp_instances{component="slow"}')
    check(left == 0, f"the guest of a closed connection is dropped: {left} instance(s) left")
    st, _, _ = s.get("/hello")
    check(st == 200, "still serving")


def run_wisp(args, timeout=20):
    return subprocess.run([WISP, *args], capture_output=True, timeout=timeout, text=True)


def test_startup_errors(s):
    s.stop()
    r = run_wisp(["up", "/nonexistent/wisp.toml", "--listen", "127.0.0.1:0"])
    check(r.returncode == 1 and "/nonexistent/wisp.toml" in r.stderr, f"missing manifest: {r.returncode} {r.stderr!r}")
    d = tempfile.mkdtemp(prefix="wisp-bad-")
    try:
        with open(os.path.join(d, "bad.wasm"), "wb") as f:
            f.write(b"\0asm\1\0\0\0garbage")
        with open(os.path.join(d, "wisp.toml"), "w") as f:
            f.write('spin_manifest_version = 2\n[application]\nname = "bad"\n[[trigger.http]]\n'
                    'route = "/x"\ncomponent = "bad"\nexecutor = { type = "wagi" }\n'
                    '[component.bad]\nsource = "bad.wasm"\n')
        r = run_wisp(["up", d, "--listen", "127.0.0.1:0", "--admin-listen", "off"])
        check(r.returncode == 1 and "component 'bad'" in r.stderr, f"invalid module: {r.returncode} {r.stderr!r}")
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with open(os.path.join(d, "wisp.toml"), "a") as f:
            f.write("")
        shutil.copy(os.path.join(GUESTS, "hello.wasm"), os.path.join(d, "bad.wasm"))
        r = run_wisp(["up", d, "--listen", f"127.0.0.1:{port}", "--admin-listen", "off"])
        check(r.returncode == 1 and "cannot listen" in r.stderr, f"address in use: {r.returncode} {r.stderr!r}")
        busy.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    r = run_wisp(["up", "--bogus"])
    check(r.returncode == 2 and "unknown option" in r.stderr, f"usage error: {r.returncode}")
    r = run_wisp(["help", "up"])
    for opt in ("--listen", "--admin-listen", "--processes", "--threads", "--build", "--no-snapshot",
                "--log-format", "--tls-cert"):
        check(r.returncode == 0 and opt in r.stdout, f"wisp help up shows {opt}")
    r = run_wisp(["up", "--log-format", "xml"])
    check(r.returncode == 2, "bad --log-format")


def test_autobuild(s):
    s.stop()
    d = tempfile.mkdtemp(prefix="wisp-build-")
    try:
        shutil.copy(os.path.join(SOURCE_DIR, "examples/http/hello/hello.c"), d)
        shutil.copy(os.path.join(SOURCE_DIR, "examples/http/hello/wisp.toml"), d)
        with open(os.path.join(d, "wisp.toml")) as f:
            text = f.read().replace("../../../scripts/build-guest.sh", os.path.join(SOURCE_DIR, "scripts/build-guest.sh"))
        with open(os.path.join(d, "wisp.toml"), "w") as f:
            f.write(text)
        p = subprocess.Popen([WISP, "up", d, "--listen", "127.0.0.1:0", "--admin-listen", "off"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        for line in p.stderr:
            m = re.search(r"\(port (\d+)", line)
            if m:
                port = int(m.group(1))
                break
        check(port and os.path.exists(os.path.join(d, "hello.wasm")), "the missing module was built")
        if port:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/hello")
            r = conn.getresponse()
            check(r.status == 200 and r.read() == b"hello from wisp\n", "the built module serves")
        p.send_signal(signal.SIGTERM)
        p.wait(20)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_examples_app(s):
    # The README's first command serves examples/http: every bundled example
    # answers from the one application, and the looping one is cut off.
    s.stop()
    p = subprocess.Popen([WISP, "up", os.path.join(SOURCE_DIR, "examples/http"), "--listen", "127.0.0.1:0",
                          "--admin-listen", "off"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    port = None
    try:
        for line in p.stderr:
            m = re.search(r"\(port (\d+)", line)
            if m:
                port = int(m.group(1))
                break
        check(port is not None, "examples app started")
        if not port:
            return

        def get(path):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            conn.close()
            return r.status, body

        st, b = get("/hello")
        check(st == 200 and b == b"hello from wisp\n", f"/hello: {st} {b[:80]!r}")
        st, b = get("/echo/x?y=1")
        check(st == 200 and b"ENV PATH_INFO=/x" in b and b"ENV GREETING=hello" in b, f"/echo: {st} {b[:120]!r}")
        st, b = get("/api/items")
        check(st == 200 and b.startswith(b"[{"), f"/api/items: {st} {b[:80]!r}")
        st, b = get("/static/")
        check(st == 200 and b"wisp static example" in b, f"/static/: {st} {b[:80]!r}")
        st, b = get("/loop")
        check(st == 504, f"/loop is cut at its CPU limit: {st}")
        st, b = get("/nowhere")
        check(st == 404, f"unrouted path: {st}")
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()


def test_admin(s):
    st, _, b = s.get("/healthz", port=s.admin_port)
    check(st == 200 and b == b"ok\n", f"healthz: {st} {b!r}")
    st, _, b = s.get("/other", port=s.admin_port)
    check(st == 404, f"admin 404: {st}")
    st, _, b = s.get("/metrics")
    check(st == 404, f"/metrics is not on the application listener: {st}")


def test_no_snapshot(s):
    # The per-request linker path (modules that cannot be snapshotted).
    s.stop()
    t = Server(["--no-snapshot"])
    try:
        test_wagi_env(t)
        test_limits_traps(t)
        test_sleep(t)
    finally:
        t.stop()


TESTS = {name[5:]: fn for name, fn in globals().items() if name.startswith("test_")}

if __name__ == "__main__":
    name = sys.argv[4]
    server = Server()
    try:
        TESTS[name](server)
    finally:
        code = server.stop()
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("ok")

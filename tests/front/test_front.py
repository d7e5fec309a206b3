#!/usr/bin/env python3
"""test_front.py: end-to-end tests of the front, wisp's HTTP/1.x connection
layer for the application listener (src/server/front.c).

    test_front.py WISP GUESTS_DIR HTTP_COMPONENT TEST_NAME

Starts the real `wisp` binary on 127.0.0.1 (--listen 127.0.0.1:0, the port read
from the start-up message; one process with one loop thread) with WAGI guests
from GUESTS_DIR (echo.wasm, hello.wasm, probe.wasm, built by
tests/front/CMakeLists.txt) and, when HTTP_COMPONENT exists, the wasi:http test
component of tests/http (streamed, chunked responses). Requests are written
on raw sockets, byte for byte, and responses parsed here, so that framing,
keep-alive, pipelining and errors are checked exactly. The header timeout is
shortened with WISP_HTTP1_TIMEOUT_MS. Exit status 0 when the test passes; a
failure prints what differed.
"""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from front_client import Conn, chunked, req  # noqa: E402

WISP, GUESTS, HTTP_COMPONENT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3]
HAVE_COMPONENT = os.path.exists(HTTP_COMPONENT)
LIMIT = 65536  # every component's max_request_bytes: the front's body limit
TIMEOUT_MS = 1000

MANIFEST = """
spin_manifest_version = 2
[application]
name = "front-tests"

[[trigger.http]]
route = "/echo/..."
component = "echo"
executor = {{ type = "wagi" }}

[[trigger.http]]
route = "/hello"
component = "hello"
executor = {{ type = "wagi" }}

[[trigger.http]]
route = "/probe"
component = "probe"
executor = {{ type = "wagi" }}

[component.echo]
source = "{g}/echo.wasm"
[component.echo.limits]
max_request_bytes = {limit}

[component.hello]
source = "{g}/hello.wasm"
[component.hello.limits]
max_request_bytes = {limit}

[component.probe]
source = "{g}/probe.wasm"
[component.probe.limits]
max_request_bytes = {limit}
cpu_ms = 5000
wall_ms = 10000
max_response_bytes = 100000000
{extra}
"""

COMPONENT = """
[[trigger.http]]
route = "/t/..."
component = "t"

[component.t]
source = "{c}"
[component.t.limits]
max_request_bytes = {limit}
max_response_bytes = 1073741824
wall_ms = 60000
cpu_ms = 20000
"""

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


class Server:
    def __init__(self, args=()):
        self.tls = None
        self.dir = tempfile.mkdtemp(prefix="wisp-front-test-")
        extra = COMPONENT.format(c=HTTP_COMPONENT, limit=LIMIT) if HAVE_COMPONENT else ""
        with open(os.path.join(self.dir, "wisp.toml"), "w") as f:
            f.write(MANIFEST.format(g=GUESTS, limit=LIMIT, extra=extra))
        self.err = open(os.path.join(self.dir, "stderr"), "w+")
        env = dict(os.environ)
        env["WISP_HTTP1_TIMEOUT_MS"] = str(TIMEOUT_MS)
        self.proc = subprocess.Popen(
            [WISP, "up", self.dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--processes", "1",
             "--threads", "1", "--log-format", "none", "--snapshot-dir", "off", *args],
            stdout=subprocess.DEVNULL, stderr=self.err, env=env)
        deadline = time.time() + 30
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
        raise SystemExit("FAIL: server did not start:\n" + self.stderr())

    def stderr(self):
        with open(os.path.join(self.dir, "stderr")) as f:
            return f.read()

    def connect(self, timeout=10, alpn=None):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            if alpn:
                ctx.set_alpn_protocols(alpn)
            s = ctx.wrap_socket(s)
            self.alpn_selected = s.selected_alpn_protocol()
        return Conn(s)

    def metric(self, name):
        c = socket.create_connection(("127.0.0.1", self.admin_port), timeout=10)
        c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        page = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            page += d
        c.close()
        m = re.search(re.escape(name) + rb" (\d+)", page)
        return int(m.group(1)) if m else None

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = "killed"
        if code != 0 or failures:
            print("server stderr (last 3000 bytes):\n" + self.stderr()[-3000:])
        shutil.rmtree(self.dir, ignore_errors=True)
        return code


def body_of(echo):
    """The BODY line of examples/http/echo's answer."""
    i = echo.find(b"BODY ")
    return echo[i + 5:-1] if i >= 0 else None


# ---- tests -------------------------------------------------------------------------


def test_keepalive(s):
    c = s.connect()
    for i in range(200):
        if i % 2:
            c.send(req("GET", "/hello"))
            r = c.response()
            check(r.status == 200 and r.body == b"hello from wisp\n", f"request {i}: {r.status} {r.body!r}")
        else:
            data = b"x%d" % i
            c.send(req("POST", f"/echo/{i}", [("Content-Length", len(data))], data))
            r = c.response()
            check(r.status == 200 and body_of(r.body) == data, f"request {i}: {r.status} {body_of(r.body)!r}")
        check(r.header("connection") == "keep-alive", f"request {i}: connection {r.header('connection')!r}")
        if failures:
            break
    # h2o's response head: Date, Connection, Content-Length, Server first, then the handler's headers
    names = [k for k, _ in r.headers]
    check(names[:4] == ["Date", "Connection", "Content-Length", "Server"] and r.header("server") == "wisp",
          f"response head as h2o wrote it: {r.headers}")
    check(not c.closed(0.3), "the connection stays open between requests")
    c.close()


def test_pipelining(s):
    c = s.connect()
    batch = b""
    want = []
    for i in range(12):
        kind = i % 4
        if kind == 0:
            batch += req("GET", f"/probe?mode=status&code={200 + i}")
            want.append(("status", 200 + i))
        elif kind == 1:
            data = b"length body %d" % i
            batch += req("POST", f"/echo/{i}", [("Content-Length", len(data))], data)
            want.append(("echo", data))
        elif kind == 2:
            data = b"chunked body %d" % i
            batch += req("POST", f"/echo/{i}", [("Transfer-Encoding", "chunked")], chunked(data, [3, len(data) - 3]))
            want.append(("echo", data))
        else:
            batch += req("GET", "/hello")
            want.append(("hello", None))
    batch += req("GET", "/hello", [("Connection", "close")])
    want.append(("hello", None))
    c.send(batch)  # one send
    for i, (kind, arg) in enumerate(want):
        r = c.response()
        if kind == "status":
            check(r.status == arg, f"pipelined {i}: status {r.status}, want {arg}")
        elif kind == "echo":
            check(r.status == 200 and body_of(r.body) == arg, f"pipelined {i}: {body_of(r.body)!r}, want {arg!r}")
        else:
            check(r.status == 200 and r.body == b"hello from wisp\n", f"pipelined {i}: {r.status} {r.body!r}")
    check(r.header("connection") == "close", f"last response says close: {r.header('connection')!r}")
    check(c.closed(), "the server closes after Connection: close")
    c.close()


def test_http10(s):
    c = s.connect()
    c.send(req("GET", "/hello", version="1.0"))
    r = c.response()
    check(r.status == 200 and r.body == b"hello from wisp\n" and r.header("connection") == "close",
          f"HTTP/1.0 without keep-alive: {r.status} {r.header('connection')!r} {r.body!r}")
    check(r.version == "1.1", f"the server answers HTTP/1.1: {r.version}")
    check(c.closed(), "HTTP/1.0: closed after the response")
    c = s.connect()
    for i in range(3):
        c.send(req("GET", "/hello", [("Connection", "keep-alive")], version="1.0"))
        r = c.response()
        check(r.status == 200 and r.header("connection") == "keep-alive" and r.header("content-length") == "16",
              f"HTTP/1.0 keep-alive {i}: {r.headers}")
    c.close()
    c = s.connect()
    c.send(req("POST", "/echo/ten", [("Content-Length", 4)], b"1.0!", version="1.0"))
    r = c.response()
    check(body_of(r.body) == b"1.0!" and b"SERVER_PROTOCOL=HTTP/1.0" in r.body, f"HTTP/1.0 POST: {r.body[-200:]!r}")
    if not HAVE_COMPONENT:
        print("SKIPPED: front/http10 (streamed part): the wasi:http test component was not built")
        return
    # a streamed response to HTTP/1.0: no chunked coding; close-delimited (or content-length)
    n = 300000
    c = s.connect()
    c.send(req("GET", f"/t/big?n={n}", version="1.0"))
    r = c.response()
    want = bytes(ord("a") + i % 26 for i in range(n))
    check(r.status == 200 and r.header("transfer-encoding") is None and r.body == want,
          f"streamed response to HTTP/1.0: {r.status} {r.headers} {len(r.body)} bytes")
    check(c.closed(), "HTTP/1.0 streamed: closed after the response")


def test_head(s):
    c = s.connect()
    c.send(req("HEAD", "/hello"))
    r = c.response("HEAD")
    check(r.status == 200 and r.header("content-length") == "16", f"HEAD: {r.status} {r.headers}")
    c.send(req("GET", "/hello"))
    r = c.response()
    check(r.status == 200 and r.body == b"hello from wisp\n", f"GET after HEAD on the same connection: {r.body!r}")
    if HAVE_COMPONENT:
        c.send(req("HEAD", "/t/big?n=100000"))
        r = c.response("HEAD")
        check(r.status == 200 and r.header("transfer-encoding") is None, f"HEAD of a streamed response: {r.headers}")
        c.send(req("GET", "/t/status?204"))
        r = c.response()
        check(r.status == 204 and r.header("transfer-encoding") is None, f"204: {r.headers}")
        c.send(req("GET", "/t/big?n=100000"))
        r = c.response()
        check(r.status == 200 and r.header("transfer-encoding") == "chunked" and len(r.body) == 100000,
              f"GET of a streamed response after HEAD and 204: {r.headers} {len(r.body)}")
    else:
        print("SKIPPED: front/head (streamed part): the wasi:http test component was not built")
    c.send(req("GET", "/hello"))
    r = c.response()
    check(r.status == 200 and r.body == b"hello from wisp\n", "the connection is still in step")
    c.close()


def test_chunked_body(s):
    data = bytes(range(256)) + b"\r\n0\r\n\r\n" + b"tail"
    cases = [
        ("sizes 1..", chunked(data, [1, 2, 3, 100, len(data) - 106])),
        ("extensions", chunked(data, [10, len(data) - 10], ext=b";name=value;flag")),
        ("upper-case hex, trailer", chunked(data, [0x1A, len(data) - 0x1A], trailer=b"X-Sum: 1\r\nX-Other: 2\r\n")),
        ("one chunk", chunked(data, [len(data)])),
    ]
    c = s.connect()
    for name, body in cases:
        c.send(req("POST", "/echo/c", [("Transfer-Encoding", "chunked")], body))
        r = c.response()
        check(r.status == 200 and body_of(r.body) == data, f"chunked {name}: {body_of(r.body)!r}")
        check(b"ENV CONTENT_LENGTH=%d" % len(data) in r.body, f"chunked {name}: CONTENT_LENGTH")
    # every split of a request across two sends, on one keep-alive connection
    small = b"split me!"
    whole = req("POST", "/echo/s", [("Transfer-Encoding", "chunked")],
                chunked(small, [4, 5], ext=b";x=1", trailer=b"T: v\r\n"))
    for i in range(1, len(whole)):
        c.send(whole[:i])
        time.sleep(0.002)
        c.send(whole[i:])
        r = c.response()
        if not check(r.status == 200 and body_of(r.body) == small, f"split at byte {i}: {body_of(r.body)!r}"):
            break
    # and a content-length body split at every byte
    whole = req("POST", "/echo/l", [("Content-Length", len(small))], small)
    for i in range(1, len(whole)):
        c.send(whole[:i])
        time.sleep(0.002)
        c.send(whole[i:])
        r = c.response()
        if not check(r.status == 200 and body_of(r.body) == small, f"length body split at byte {i}"):
            break
    c.close()


def test_expect_continue(s):
    c = s.connect()
    c.send(req("POST", "/echo/e", [("Content-Length", 5), ("Expect", "100-continue")]))
    r = c.response()
    check(r.status == 100, f"100 Continue before the body: {r.status}")
    c.send(b"hello")
    r = c.response()
    check(r.status == 200 and body_of(r.body) == b"hello", f"body after 100: {r.status} {body_of(r.body)!r}")
    c.send(req("POST", "/echo/e", [("Transfer-Encoding", "chunked"), ("Expect", "100-Continue")]))
    r = c.response()
    check(r.status == 100, f"100 Continue (chunked): {r.status}")
    c.send(chunked(b"chunks", [2, 4]))
    r = c.response()
    check(r.status == 200 and body_of(r.body) == b"chunks", f"chunked body after 100: {body_of(r.body)!r}")
    c.close()
    c = s.connect()
    c.send(req("POST", "/echo/e", [("Content-Length", 5), ("Expect", "something-else")]))
    r = c.response()
    check(r.status == 417 and c.closed(), f"unknown expectation: 417 and close, got {r.status}")


def test_malformed(s):
    cases = [
        ("bad request line", b"GARBAGE\r\n\r\n"),
        ("no version", b"GET /hello\r\n\r\n"),
        ("header without colon", b"GET /hello HTTP/1.1\r\nHost x\r\n\r\n"),
        ("folded header", b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n"),
        ("bad content-length", b"POST /echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 12a\r\n\r\n"),
        ("two content-lengths", b"POST /echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
        ("unknown transfer-encoding", b"POST /echo/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"),
        ("broken chunk size", b"POST /echo/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
        ("chunk without CRLF", b"POST /echo/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"),
        ("chunk size overflow", b"POST /echo/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"11111111111111111\r\n"),
        ("oversize head", b"GET /hello HTTP/1.1\r\nHost: x\r\n" + b"X-A: " + b"a" * 500000 + b"\r\n\r\n"),
        ("too many headers", b"GET /hello HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(200)) + b"\r\n"),
    ]
    for name, data in cases:
        c = s.connect()
        try:
            c.send(data)
        except ConnectionError:
            pass
        try:
            r = c.response()
            check(r.status == 400, f"{name}: 400, got {r.status}")
            check(r.header("connection") == "close", f"{name}: Connection: close")
        except (EOFError, ConnectionError, ValueError) as e:
            check(False, f"{name}: no 400 response ({e})")
        check(c.closed(), f"{name}: the connection is closed")
        c = s.connect()
        c.send(req("GET", "/hello"))
        r = c.response()
        check(r.status == 200, f"still serving after {name}")
        c.close()
    # 64 KiB of headers is the server's own limit (431, as before the front)
    c = s.connect()
    c.send(req("GET", "/hello", [("X-Big", "b" * 70000)]))
    r = c.response()
    check(r.status == 431, f"headers over 64 KiB: 431, got {r.status}")


def test_limits(s):
    c = s.connect()
    c.send(req("POST", "/echo/big", [("Content-Length", LIMIT + 1)]))  # no body sent: the answer comes first
    r = c.response()
    check(r.status == 413 and c.closed(), f"content-length over the limit: 413 and close, got {r.status}")
    c = s.connect()
    data = b"z" * 8000
    body = chunked(data * 9, [8000] * 9)  # 72,000 bytes > 65,536
    try:
        c.send(req("POST", "/echo/big", [("Transfer-Encoding", "chunked")], body))
    except ConnectionError:
        pass
    r = c.response()
    check(r.status == 413, f"chunked body over the limit: 413, got {r.status}")
    c = s.connect()
    c.send(req("POST", "/echo/ok", [("Content-Length", LIMIT)], b"y" * LIMIT))
    r = c.response()
    check(r.status == 200 and body_of(r.body) == b"y" * LIMIT, f"a body of exactly the limit: {r.status}")
    c.close()


def test_slow_client(s):
    t0 = time.time()
    c = s.connect()
    c.send(b"GET /hello HTTP/1.1\r\nHo")
    check(c.closed(5), "a head that stops arriving: closed")
    took = time.time() - t0
    check(0.5 < took < 4, f"closed after about the header timeout ({TIMEOUT_MS} ms): {took:.2f} s")
    # one byte at a time does not extend the header timeout
    c = s.connect()
    t0 = time.time()
    closed = False
    for b in b"GET /hello HTTP/1.1\r\nX-Slow: " + b"a" * 40:
        try:
            c.send(bytes([b]))
        except ConnectionError:
            closed = True
            break
        time.sleep(0.1)
    closed = closed or c.closed(3)
    check(closed and time.time() - t0 < 4.5, f"a trickled head is cut at the header timeout ({time.time() - t0:.2f} s)")
    # a body that stops arriving
    c = s.connect()
    c.send(req("POST", "/echo/slow", [("Content-Length", 10)], b"abc"))
    t0 = time.time()
    check(c.closed(5) and time.time() - t0 < 4, "a body that stops arriving: closed")
    # an idle keep-alive connection
    c = s.connect()
    c.send(req("GET", "/hello"))
    c.response()
    t0 = time.time()
    check(c.closed(5) and time.time() - t0 < 4, "an idle keep-alive connection is closed after the timeout")
    c = s.connect()
    c.send(req("GET", "/hello"))
    check(c.response().status == 200, "still serving")


def test_client_gone(s):
    for i in range(5):  # mid-body
        c = s.connect()
        c.send(req("POST", "/echo/gone", [("Content-Length", 60000)], b"q" * 1000))
        time.sleep(0.05)
        c.close()
        c = s.connect()
        c.send(req("POST", "/echo/gone", [("Transfer-Encoding", "chunked")], b"100\r\n" + b"q" * 100))
        time.sleep(0.05)
        c.close()
    # mid-response: a large WAGI response, and (with the component) a streamed one
    for i in range(3):
        c = s.connect()
        c.send(req("GET", "/probe?mode=big&bytes=5000000"))
        c.line()
        c.close()
    if HAVE_COMPONENT:
        for i in range(3):
            c = s.connect()
            c.send(req("GET", f"/t/big?n={64 << 20}"))
            c.take(200000)
            c.close()
        deadline = time.time() + 10
        while time.time() < deadline and s.metric(b'wisp_instances{component="t"}') != 0:
            time.sleep(0.05)
        check(s.metric(b'wisp_instances{component="t"}') == 0, "the streaming guests of gone clients are dropped")
    else:
        print("SKIPPED: front/client_gone (streamed part): the wasi:http test component was not built")
    c = s.connect()
    c.send(req("POST", "/echo/after", [("Content-Length", 5)], b"after"))
    r = c.response()
    check(r.status == 200 and body_of(r.body) == b"after", "still serving after clients left")


def test_h2c(s):
    if not shutil.which("curl"):
        print("SKIPPED: front/h2c: curl not found")
        return
    out = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-o", "-", "-w", "\n%{http_version}",
                          "--data-binary", "h2 body", f"http://127.0.0.1:{s.port}/echo/h2"],
                         capture_output=True, timeout=30)
    text = out.stdout.decode(errors="replace")
    check(text.endswith("\n2") and "ENV SERVER_PROTOCOL=HTTP/2" in text and "BODY h2 body" in text,
          f"h2c prior knowledge: {text[-300:]!r}")
    # Upgrade: h2c is answered over HTTP/1.1
    c = s.connect()
    c.send(req("GET", "/hello", [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
                                 ("HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA")]))
    r = c.response()
    check(r.status == 200 and r.body == b"hello from wisp\n", f"Upgrade: h2c served as HTTP/1.1: {r.status}")


def test_shutdown(s):
    idle = []
    for i in range(4):
        c = s.connect()
        c.send(req("GET", "/hello"))
        check(c.response().status == 200, "request before shutdown")
        idle.append(c)
    busy = s.connect()
    busy.send(req("GET", "/probe?mode=spin&ms=600"))
    time.sleep(0.2)
    t0 = time.time()
    s.proc.send_signal(signal.SIGTERM)
    r = busy.response()
    check(r.status == 200 and r.body == b"spun\n" and r.header("connection") == "close",
          f"the request in flight is answered (Connection: close): {r.status} {r.header('connection')!r}")
    for i, c in enumerate(idle):
        check(c.closed(5), f"idle keep-alive connection {i} is closed at shutdown")
    try:
        code = s.proc.wait(15)
    except subprocess.TimeoutExpired:
        code = "hung"
    check(code == 0 and time.time() - t0 < 10, f"clean exit with idle connections open: {code}")


def test_tls(s):
    """HTTPS: the front does the handshake; ALPN h2 goes to h2o's HTTP/2, the rest is the front's HTTP/1.1."""
    if not shutil.which("openssl"):
        print("SKIPPED: front/tls: openssl not found")
        return
    d = tempfile.mkdtemp(prefix="wisp-front-tls-")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
    code = s.stop()
    check(code == 0, f"plain server exit {code}")
    t = Server(["--tls-cert", cert, "--tls-key", key])
    t.tls = True
    try:
        for alpn in (["http/1.1"], None):
            c = t.connect(alpn=alpn)
            # wisp offers h2 only (h2o's list): an http/1.1-only client gets no ALPN, which means HTTP/1.1
            check(t.alpn_selected in (None, "http/1.1"), f"ALPN {alpn}: selected {t.alpn_selected}")
            batch = req("POST", "/echo/tls", [("Transfer-Encoding", "chunked")], chunked(b"over tls", [4, 4]))
            batch += req("GET", "/hello")
            c.send(batch)  # pipelined
            r = c.response()
            check(r.status == 200 and body_of(r.body) == b"over tls" and b"X_FULL_URL=https://" in r.body,
                  f"HTTPS/1.1 ({alpn}) chunked POST: {r.status} {r.body[-120:]!r}")
            r = c.response()
            check(r.status == 200 and r.body == b"hello from wisp\n", f"HTTPS/1.1 ({alpn}) pipelined GET")
            c.send(req("POST", "/echo/e", [("Content-Length", 3), ("Expect", "100-continue")]))
            check(c.response().status == 100, "HTTPS 100 Continue")
            c.send(b"abc")
            r = c.response()
            check(body_of(r.body) == b"abc", f"HTTPS body after 100: {r.body[-60:]!r}")
            if HAVE_COMPONENT:
                c.send(req("GET", "/t/big?n=200000"))
                r = c.response()
                check(r.header("transfer-encoding") == "chunked" and len(r.body) == 200000,
                      f"HTTPS streamed response: {r.headers} {len(r.body)}")
            c.close()
        c = t.connect(alpn=["http/1.1"])
        c.send(b"GARBAGE\r\n\r\n")
        r = c.response()
        check(r.status == 400 and r.body.startswith(b"400 Bad Request: malformed"),
              f"HTTPS/1.1 is the front's (its 400 page): {r.status} {r.body!r}")
        if shutil.which("curl"):
            for flag, want in (("--http1.1", "1.1"), ("--http2", "2")):
                out = subprocess.run(["curl", "-sk", flag, "-o", "-", "-w", "\n%{http_version}",
                                      f"https://127.0.0.1:{t.port}/echo/curl"], capture_output=True, timeout=30)
                text = out.stdout.decode(errors="replace")
                check(text.endswith("\n" + want) and "ENV X_FULL_URL=https://" in text, f"curl {flag}: {text[-200:]!r}")
        else:
            print("SKIPPED: front/tls (curl part): curl not found")
        # a client that never finishes its handshake does not hold the server
        raw = socket.create_connection(("127.0.0.1", t.port), timeout=5)
        raw.sendall(b"\x16\x03\x01")
        c = t.connect(alpn=["http/1.1"])
        c.send(req("GET", "/hello"))
        check(c.response().status == 200, "served while another handshake hangs")
        raw.close()
    finally:
        code = t.stop()
        check(code == 0, f"TLS server exit {code}")
        shutil.rmtree(d, ignore_errors=True)


TESTS = {name[5:]: fn for name, fn in globals().items() if name.startswith("test_")}


def main():
    name = sys.argv[4]
    s = Server()
    try:
        TESTS[name](s)
    finally:
        code = s.stop()
        check(code == 0, f"server exit status {code} (0 expected; under ASan a leak or error makes it non-zero)")
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)
    print("PASS:", name)


if __name__ == "__main__":
    main()

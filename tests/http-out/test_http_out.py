#!/usr/bin/env python3
"""test_http_out.py: outbound HTTP of wasi:http guests through the real server.

    test_http_out.py WISP OUT_DIR UPSTREAM_PY TEST_NAME

Starts UPSTREAM_PY (tests/outbound/upstream.py: an HTTP server on 127.0.0.1,
its TLS twin, a listener that never accepts) and `wisp up` (one process, one
loop thread) serving OUT_DIR/proxy.wasm (tests/http-out/guests/proxy.c),
which forwards /proxy/AUTHORITY/PATH with wasi:http/outgoing-handler. Only
some of the upstream's ports are in allowed_outbound_hosts. Exit status 0
when the test passes; a failure prints FAIL: and what differed.
"""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

WISP, OUT, UPSTREAM = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
GUEST = os.path.join(OUT, "proxy.wasm")

MANIFEST = """
spin_manifest_version = 2
[application]
name = "outbound-tests"

[[trigger.http]]
route = "/proxy/..."
component = "proxy"
[component.proxy]
source = "{g}"
allowed_outbound_hosts = ["http://127.0.0.1:{port}", "http://127.0.0.1:{closed}", "https://127.0.0.1:{tls}",
                          "http://127.0.0.1:{tls}"]
[component.proxy.limits]
max_request_bytes = 16777216
max_response_bytes = 1073741824
wall_ms = 15000
cpu_ms = 10000

[[trigger.http]]
route = "/short/..."
component = "short"
[component.short]
source = "{g}"
allowed_outbound_hosts = ["http://127.0.0.1:{port}"]
[component.short.limits]
wall_ms = 1500
"""

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Upstream:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, UPSTREAM], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        m = re.match(r"PORT (\d+) SILENT (\d+) TLS (\d+) CERT (\S+) OTHER (\S+)", self.proc.stdout.readline())
        if not m:
            raise SystemExit("FAIL: the upstream did not start")
        self.port, self.silent, self.tls = (int(x) for x in m.groups()[:3])
        self.cert, self.other = m.group(4), m.group(5)

    def stop(self):
        self.proc.stdin.close()
        self.proc.terminate()
        self.proc.wait()


class Server:
    def __init__(self, up, ca=None):
        self.closed = free_port()
        self.dir = tempfile.mkdtemp(prefix="wisp-http-out-test-")
        with open(os.path.join(self.dir, "wisp.toml"), "w") as f:
            f.write(MANIFEST.format(g=GUEST, port=up.port, closed=self.closed, tls=up.tls))
        self.err = open(os.path.join(self.dir, "stderr"), "w+")
        # The trusted certificates: by default one that does not sign the upstream's (the system bundle would
        # do as well, but parsing it takes seconds in the ASan build).
        env = dict(os.environ, SSL_CERT_FILE=ca or up.other)
        self.proc = subprocess.Popen([WISP, "up", self.dir, "--listen", "127.0.0.1:0", "--admin-listen", "off",
                                      "--processes", "1", "--threads", "1"], stdout=subprocess.DEVNULL,
                                     stderr=self.err, env=env)
        deadline = time.time() + 20
        while time.time() < deadline:
            m = re.search(r"\(port (\d+)", self.stderr())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise SystemExit("FAIL: server did not start:\n" + self.stderr())

    def stderr(self):
        with open(os.path.join(self.dir, "stderr")) as f:
            return f.read()

    def request(self, method, path, body=None, headers=None, timeout=60):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        try:
            data = r.read()
            complete = True
        except http.client.IncompleteRead as e:
            data, complete = e.partial, False
        conn.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data, complete

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = -9
        err = self.stderr()
        check(code == 0, "clean exit: %s\n%s" % (code, err[-3000:]))
        check("AddressSanitizer" not in err and "LeakSanitizer" not in err and "runtime error" not in err,
              "no sanitizer report:\n" + err[-3000:])
        shutil.rmtree(self.dir, ignore_errors=True)


def pattern(n):
    block = bytes(i % 251 for i in range(251 * 256))
    return (block * (n // len(block) + 1))[:n]


def test_proxy_get(s, up):
    status, h, body, complete = s.request("GET", "/proxy/127.0.0.1:%d/hello" % up.port)
    check(status == 200 and body == b"hello" and h.get("x-proxied") == "1", "GET through the guest: %s %r %s"
          % (status, body[:200], h))
    status, h, body, _ = s.request("GET", "/proxy/127.0.0.1:%d/nothing-here" % up.port)
    check(status == 404 and h.get("x-proxied") == "1", "the upstream's 404 passes through: %s" % status)
    status, _, body, _ = s.request("DELETE", "/proxy/127.0.0.1:%d/status?code=204" % up.port)
    check(status == 204, "DELETE and 204: %s" % status)


def test_proxy_post(s, up):
    for size in (5, 300 * 1024, 3 * 1024 * 1024):
        data = pattern(size)
        status, h, body, _ = s.request("POST", "/proxy/127.0.0.1:%d/echo" % up.port, body=data)
        check(status == 200 and body == data, "POST of %d bytes echoed through the guest: %s, %d bytes back"
              % (size, status, len(body)))


def test_big_body(s, up):
    n = 32 * 1024 * 1024
    t0 = time.time()
    status, _, body, complete = s.request("GET", "/proxy/127.0.0.1:%d/big?n=%d" % (up.port, n))
    elapsed = time.time() - t0
    check(status == 200 and complete and len(body) == n, "32 MiB streamed: %s, %d bytes" % (status, len(body)))
    check(body == pattern(n), "32 MiB intact")
    print("big_body: 32 MiB upstream -> guest -> client in %.2f s (%.0f MiB/s)" % (elapsed, 32 / elapsed))


def test_denied(s, up):
    status, _, body, _ = s.request("GET", "/proxy/127.0.0.1:%d/x" % up.silent)
    check(status == 502 and body == b"error-code: HTTP-request-denied\n", "a port not allowed: %s %r"
          % (status, body))
    status, _, body, _ = s.request("GET", "/proxy/localhost:%d/hello" % up.port)
    check(status == 502 and body == b"error-code: HTTP-request-denied\n", "a host not allowed: %s %r"
          % (status, body))
    status, _, body, _ = s.request("GET", "/proxy/127.0.0.1:%d/hello" % up.tls, headers={"x-scheme": "https"})
    check(status == 502 and b"TLS" in body, "https to an allowed https port is not denied: %r" % body)
    status, _, body, _ = s.request("GET", "/short/127.0.0.1:%d/hello" % up.tls)
    check(status == 502 and body == b"error-code: HTTP-request-denied\n", "another component's list: %r" % body)
    time.sleep(0.2)
    err = s.stderr()
    check(re.search(r"\[proxy\]: outbound request denied: http://127\.0\.0\.1:%d is not in allowed_outbound_hosts"
                    % up.silent, err), "log line names the denied port:\n" + err[-2000:])
    check("outbound request denied: http://localhost:%d is not in allowed_outbound_hosts" % up.port in err,
          "log line names the denied host")
    check("[short]: outbound request denied: http://127.0.0.1:%d" % up.tls in err, "log line names the component")


def test_invalid_authority(s, up):
    for authority in ("127.1:%d" % up.port, "user@127.0.0.1:%d" % up.port, "127.0.0.1:99999"):
        status, _, body, _ = s.request("GET", "/proxy/%s/hello" % authority)
        check(status == 502 and body == b"error-code: HTTP-request-URI-invalid\n", "authority %s: %s %r"
              % (authority, status, body))


def test_refused(s, up):
    status, _, body, _ = s.request("GET", "/proxy/127.0.0.1:%d/" % s.closed)
    check(status == 502 and body == b"error-code: connection-refused\n", "closed port: %s %r" % (status, body))


def test_timeout(s, up):
    t0 = time.time()
    status, _, body, _ = s.request("GET", "/proxy/127.0.0.1:%d/slow-head?ms=5000" % up.port,
                                   headers={"x-timeout-ms": "300"})
    elapsed = time.time() - t0
    check(status == 502 and body == b"error-code: connection-read-timeout\n", "first-byte timeout: %s %r"
          % (status, body))
    check(elapsed < 2.5, "the timeout came in time: %.2f s" % elapsed)
    status, _, body, complete = s.request("GET", "/proxy/127.0.0.1:%d/slow-body?ms=5000" % up.port,
                                          headers={"x-timeout-ms": "300"})
    check(status == 200 and b"first".startswith(body) and not complete,
          "between-bytes timeout cuts the body short: %s %r complete=%s" % (status, body, complete))
    status, _, body, _ = s.request("GET", "/proxy/127.0.0.1:%d/slow-head?ms=200" % up.port,
                                   headers={"x-timeout-ms": "2000"})
    check(status == 200 and body == b"ok", "a slow answer within the timeout: %s %r" % (status, body))


def test_upstream_errors(s, up):
    status, _, body, _ = s.request("GET", "/proxy/127.0.0.1:%d/garbage" % up.port)
    check(status == 502 and body == b"error-code: HTTP-protocol-error\n", "garbage reply: %s %r" % (status, body))
    # The guest gets the head and 10 bytes, then a failed read: it leaves its body unfinished. The server
    # either cuts its response short (after what it had sent of the 10 bytes) or, when nothing was sent
    # yet, answers 500.
    status, _, body, complete = s.request("GET", "/proxy/127.0.0.1:%d/short" % up.port)
    check((status == 200 and b"0123456789".startswith(body) and not complete) or
          (status == 500 and b"incomplete" in body), "a body cut short stays cut short: %s %r %s"
          % (status, body, complete))
    status, _, body, _ = s.request("GET", "/proxy/127.0.0.1:%d/hello" % up.port)
    check(status == 200 and body == b"hello", "the server goes on")


def test_tls(s, up):
    status, _, body, _ = s.request("GET", "/proxy/127.0.0.1:%d/hello" % up.tls, headers={"x-scheme": "https"})
    check(status == 502 and body == b"error-code: TLS-certificate-error\n", "not trusted: %s %r" % (status, body))
    status, _, body, _ = s.request("GET", "/proxy/127.0.0.1:%d/hello" % up.port, headers={"x-scheme": "https"})
    check(status == 502 and body == b"error-code: HTTP-request-denied\n", "https to an http-only entry: %r" % body)
    # a server trusting the upstream's certificate (SSL_CERT_FILE): https goes through
    trusted = Server(up, ca=up.cert)
    try:
        for i in range(2):
            status, h, body, _ = trusted.request("GET", "/proxy/127.0.0.1:%d/hello" % up.tls,
                                                 headers={"x-scheme": "https"})
            check(status == 200 and body == b"hello" and h.get("x-proxied") == "1", "https through the guest: %s %r"
                  % (status, body))
        status, _, body, _ = trusted.request("POST", "/proxy/127.0.0.1:%d/echo" % up.tls, body=b"x" * 200000,
                                             headers={"x-scheme": "https"})
        check(status == 200 and body == b"x" * 200000, "a body both ways over https: %s %d" % (status, len(body)))
    finally:
        trusted.stop()


def test_concurrency(s, up):
    n, results = 20, []

    def one():
        results.append(s.request("GET", "/proxy/127.0.0.1:%d/slow-head?ms=500" % up.port)[:3:2])

    t0 = time.time()
    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    check(len(results) == n and all(r == (200, b"ok") for r in results), "all answered: %s" % results[:3])
    check(elapsed < 3.0, "%d guests waiting 500 ms each on one loop thread took %.2f s" % (n, elapsed))
    print("concurrency: %d proxied requests of 500 ms on one thread in %.2f s" % (n, elapsed))


def test_cancel(s, up):
    # the client goes away while the guest waits for the upstream (h2o notices when the answer is due: the
    # short component's wall-clock limit ends the guest, and its request to the upstream with it)
    conn = socket.create_connection(("127.0.0.1", s.port))
    conn.sendall(b"GET /short/127.0.0.1:%d/hang HTTP/1.1\r\nHost: x\r\n\r\n" % up.port)
    time.sleep(0.3)
    conn.close()
    # the wall-clock limit ends a guest waiting for an upstream that hangs
    t0 = time.time()
    status, _, body, _ = s.request("GET", "/short/127.0.0.1:%d/hang" % up.port)
    check(status in (500, 504) and time.time() - t0 < 5, "wall-clock limit while waiting: %s" % status)
    status, _, body, _ = s.request("GET", "/proxy/127.0.0.1:%d/hello" % up.port)
    check(status == 200 and body == b"hello", "the server goes on after cancelled requests")


def main():
    name = sys.argv[4]
    test = globals().get("test_" + name)
    if not test:
        raise SystemExit("FAIL: no test named " + name)
    up = Upstream()
    s = Server(up)
    try:
        test(s, up)
    finally:
        s.stop()
        up.stop()
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("PASS:", name)


if __name__ == "__main__":
    main()

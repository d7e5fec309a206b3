#!/usr/bin/env python3
"""http_diff.py: the same wasi:http component served by `jco serve` (the
reference host, Node) and by `wisp up` must answer a set of requests alike.

    http_diff.py WISP JCO_BIN COMPONENT.wasm KIND TEST_NAME [--reference-only]

KIND says what the component does and so which requests are sent and what
the reference's answers are checked against:
  echo    examples/http-c/echo.c or tests/http-diff/echo.js: status from
          ?status=N, x-echo-* headers describing the request, the body echoed
  stream  examples/http-c/stream.c: ?chunks=N&size=S lines, many writes
  hello   examples/http-c/hello.c: one line

Requests: GET/HEAD/POST/PUT/DELETE/PATCH/OPTIONS and an extension method;
query strings (empty, repeated keys, escapes); repeated, mixed-case and long
headers; bodies of 0 B, 1 B, 1000 B, 64 KiB, 1 MiB, 2 MiB and 4 MiB (random
bytes, fixed seed) with content-length, and 10 B, 300 KB and 3 MiB chunked in
uneven pieces.

Each answer of the reference is first checked against what the component is
meant to do (so a broken component or SDK fails here, not only a host).
Then, unless --reference-only, the same requests go to `wisp up` and status,
headers and body must be equal. Headers that may differ between two correct
hosts are left out of the comparison:
  date               the time of the answer
  server             names the host software (wisp sends one, Node none)
  connection, keep-alive, transfer-encoding
                     hop-by-hop (RFC 9110 7.6.1): how the connection and the
                     message framing are managed is each host's choice
  content-length     framing too: one host may send content-length, the other
                     chunked; the body itself is compared byte for byte, and a
                     content-length, where sent, must equal the body's length
Everything else the component sets must arrive as it set it (names compared
case-insensitively, the values of a repeated name in order).

Two things jco serve (preview2-shim 0.17) gets wrong are not held against
wisp; instead wisp's answer is checked against the spec:
  x-echo-method      jco lower-cases extension methods (PURGE arrives as
                     other("purge")); wisp must pass the method as sent
  x-echo-multi       jco passes one value of a header sent twice; wisp must
                     pass both, in order

Until wisp serves wasi:http components (a 501 naming the executor), the
comparison prints "SKIPPED: ...". Exit status 0 when everything agreed.
"""
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time

IGNORED = {"date", "server", "connection", "keep-alive", "transfer-encoding", "content-length"}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, what, log, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("FAIL: %s exited at start:\n%s" % (what, read(log)))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("FAIL: %s did not listen on %d:\n%s" % (what, port, read(log)))


def read(path):
    with open(path, errors="replace") as f:
        return f.read()[-3000:]


def chunks_of(data, sizes):
    """Yields data in pieces of the given sizes, cycling (uneven chunking)."""
    i = k = 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        yield data[i:i + n]
        i += n
        k += 1


def request_set(kind):
    rnd = random.Random(7)
    blob = lambda n: bytes(rnd.getrandbits(8) for _ in range(n)) if n < 70000 else rnd.randbytes(n)
    reqs = []  # (name, method, path, headers, body, chunked)
    if kind == "echo":
        reqs += [
            ("get-root", "GET", "/", {}, None, False),
            ("get-query", "GET", "/a/b?x=1&x=2&y=%20z&empty=", {}, None, False),
            ("get-status-201", "GET", "/s?status=201", {}, None, False),
            ("get-status-404", "GET", "/s?status=404", {}, None, False),
            ("get-status-599", "GET", "/s?status=599", {}, None, False),
            ("head", "HEAD", "/head?x", {}, None, False),
            ("delete", "DELETE", "/item/7", {}, None, False),
            ("options", "OPTIONS", "/", {}, None, False),
            ("extension-method", "PURGE", "/cache", {}, None, False),
            ("headers", "GET", "/h", [("X-Mixed-Case", "Value With Spaces"), ("x-multi", "one"),
                                      ("x-multi", "two"), ("x-long", "v" * 4096),
                                      ("x-empty", ""), ("accept", "text/plain")], None, False),
        ]
        for n in (0, 1, 1000, 65536, 1 << 20, 4 << 20):
            reqs.append(("post-%d" % n, "POST", "/upload?n=%d" % n, {"content-type": "application/x-test"},
                         blob(n), False))
        reqs.append(("post-whole", "POST", "/w?whole", {}, blob(2 << 20), False))
        reqs.append(("put-chunked", "PUT", "/chunked", {}, blob(300000), True))
        reqs.append(("post-chunked-3m", "POST", "/chunked3", {}, blob(3 << 20), True))
        reqs.append(("patch-chunked-small", "PATCH", "/p", {}, blob(10), True))
    elif kind == "stream":
        for q in ("", "?chunks=0", "?chunks=1&size=16", "?chunks=1000&size=1000", "?chunks=64&size=65536",
                  "?chunks=-1"):
            reqs.append(("stream" + q, "GET", "/stream" + q, {}, None, False))
    else:
        reqs += [("get", "GET", "/", {}, None, False), ("post", "POST", "/x?y", {}, b"ignored", False)]
    return reqs


def send(port, req):
    name, method, path, headers, body, chunked = req
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.putrequest(method, path, skip_accept_encoding=True)
    items = headers.items() if isinstance(headers, dict) else headers
    for k, v in items:
        conn.putheader(k, v)
    if chunked:
        conn.putheader("transfer-encoding", "chunked")
        conn.endheaders()
        for piece in chunks_of(body, [1, 7000, 65536, 3, 100000]):
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.send(b"0\r\n\r\n")
    else:
        if body is not None:
            conn.putheader("content-length", str(len(body)))
        conn.endheaders()
        if body:
            conn.send(body)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    fields = {}
    for k, v in r.getheaders():
        fields.setdefault(k.lower(), []).append(v)
    return r.status, fields, data


# Requests only wisp gets (jco serve exits on an error response), with the
# status wisp must answer: echo's ?fail sets internal-error, a 500.
WISP_ONLY = {"echo": [(("fail", "GET", "/x?fail", {}, None, False), 500)]}


def check_reference(kind, req, answer):
    """What the component is meant to answer; returns a list of problems."""
    name, method, path, headers, body, _ = req
    status, fields, data = answer
    bad = []
    if "content-length" in fields and fields["content-length"] != [str(len(data))]:
        bad.append("content-length %s but %d body bytes" % (fields["content-length"], len(data)))
    if kind == "echo":
        want_status = int(path.split("status=")[1]) if "status=" in path else 200
        if status != want_status:
            bad.append("status %d, expected %d" % (status, want_status))
        p, _, q = path.partition("?")
        for h, want in (("x-echo-path", p), ("x-echo-query", q)):
            if fields.get(h) != [want]:
                bad.append("%s: %r, expected %r" % (h, fields.get(h), want))
        if fields.get("x-echo-method", [""])[0].upper() != method:
            bad.append("x-echo-method: %r, expected %s" % (fields.get("x-echo-method"), method))
        want_body = b"" if method == "HEAD" or body is None else body
        if data != want_body:
            bad.append("body of %d bytes, expected the %d sent" % (len(data), len(want_body)))
        if name == "headers" and not fields.get("x-echo-multi"):
            bad.append("x-echo-multi missing")  # jco keeps one of the two values, see above
    elif kind == "stream":
        q = dict(kv.split("=") for kv in path.partition("?")[2].split("&") if kv)
        chunks, size = int(q.get("chunks", 100)), int(q.get("size", 1000))
        if chunks < 0:
            if status != 400:
                bad.append("status %d for a bad query, expected 400" % status)
        else:
            lines = [b"chunk %d " % k for k in range(chunks)]
            want = b"".join(l + bytes([97 + k % 26]) * (size - len(l) - 1) + b"\n" for k, l in enumerate(lines))
            if status != 200 or data != want:
                bad.append("status %d, %d body bytes; expected 200, %d bytes" % (status, len(data), len(want)))
    else:
        if status != 200 or data != b"hello from a C component\n":
            bad.append("status %d body %r" % (status, data[:80]))
    return bad


# Where jco serve is wrong (see above): header -> (request name, what wisp must send).
JCO_DEVIATIONS = {"x-echo-method": ("extension-method", ["PURGE"]), "x-echo-multi": ("headers", ["one", "two"])}


def compare(name, ref, got):
    bad = []
    if ref[0] != got[0]:
        bad.append("status: jco serve %d, wisp %d" % (ref[0], got[0]))
    rh = {k: v for k, v in ref[1].items() if k not in IGNORED}
    gh = {k: v for k, v in got[1].items() if k not in IGNORED}
    for k in sorted(set(rh) | set(gh)):
        if k in JCO_DEVIATIONS and JCO_DEVIATIONS[k][0] == name:
            if gh.get(k) != JCO_DEVIATIONS[k][1]:
                bad.append("header %s: wisp %r, expected %r" % (k, gh.get(k), JCO_DEVIATIONS[k][1]))
            continue
        if rh.get(k) != gh.get(k):
            bad.append("header %s: jco serve %r, wisp %r" % (k, rh.get(k), gh.get(k)))
    if "content-length" in got[1] and got[1]["content-length"] != [str(len(got[2]))]:
        bad.append("wisp content-length %s but %d body bytes" % (got[1]["content-length"], len(got[2])))
    if ref[2] != got[2]:
        at = next((i for i, (a, b) in enumerate(zip(ref[2], got[2])) if a != b), min(len(ref[2]), len(got[2])))
        bad.append("body: jco serve %d bytes, wisp %d bytes, first difference at byte %d"
                   % (len(ref[2]), len(got[2]), at))
    return bad


class Server:
    def __init__(self, argv, port, what, tmp, cwd=None):
        self.log = os.path.join(tmp, what.replace(" ", "_") + ".log")
        self.what = what
        self.proc = subprocess.Popen(argv, stdout=open(self.log, "w"), stderr=subprocess.STDOUT,
                                     start_new_session=True, cwd=cwd)
        self.port = port
        wait_port(port, self.proc, what, self.log)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # jco serve forks: stop its whole group
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


def main():
    wisp, jco, component, kind, test = sys.argv[1:6]
    reference_only = "--reference-only" in sys.argv[6:]
    tmp = tempfile.mkdtemp(prefix="wisp-http-diff-")
    failures = []
    reqs = request_set(kind)
    port = free_port()
    ref = Server([jco, "serve", component, "--host", "127.0.0.1", "--port", str(port)], port, "jco serve", tmp)
    try:
        answers = {}
        for req in reqs:
            try:
                answers[req[0]] = a = send(port, req)
            except Exception as e:  # noqa: BLE001 - any failure is reported by name
                failures.append("%s: jco serve: %s" % (req[0], e))
                continue
            failures += ["%s: jco serve: %s" % (req[0], b) for b in check_reference(kind, req, a)]
    finally:
        ref.stop()
    if failures or reference_only:
        for f in failures:
            print("FAIL: " + f)
        print("%s: %d requests to jco serve, %d problems" % (test, len(reqs), len(failures)))
        return 1 if failures else 0

    with open(os.path.join(tmp, "wisp.toml"), "w") as f:
        f.write('spin_manifest_version = 2\n[application]\nname = "diff"\n'
                '[[trigger.http]]\nroute = "/..."\ncomponent = "c"\n'
                '[component.c]\nsource = "%s"\n' % os.path.abspath(component))
    port = free_port()
    srv = Server([wisp, "up", tmp, "--listen", "127.0.0.1:%d" % port, "--admin-listen", "off",
                  "--processes", "1", "--log-format", "none"], port, "wisp up", tmp)
    try:
        first = send(port, reqs[0])
        if first[0] == 501 and b"not supported" in first[2]:
            print("SKIPPED: %s: wisp up does not serve wasi:http components yet (%s)"
                  % (test, first[2].decode(errors="replace").strip()))
            return 0
        for req in reqs:
            if req[0] not in answers:
                continue
            try:
                got = send(port, req)
            except Exception as e:  # noqa: BLE001
                failures.append("%s: wisp: %s" % (req[0], e))
                continue
            failures += ["%s: %s" % (req[0], b) for b in compare(req[0], answers[req[0]], got)]
        for req, want in WISP_ONLY.get(kind, []):
            got = send(port, req)
            if got[0] != want:
                failures.append("%s: wisp answered %d, expected %d" % (req[0], got[0], want))
    finally:
        code = srv.stop()
        if failures or code not in (0, None):
            print("wisp up output:\n" + read(srv.log))
    if code not in (0, None):
        failures.append("wisp up exited with %s" % code)
    for f in failures:
        print("FAIL: " + f)
    print("%s: %d requests, %d differences" % (test, len(reqs), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

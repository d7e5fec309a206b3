#!/usr/bin/env python3
"""proxy_test.py: examples/http-c/proxy.c (wisp_fetch) against a local
upstream on 127.0.0.1, under jco serve (reference) and wisp up.

    proxy_test.py WISP JCO_BIN PROXY.wasm TEST_NAME

The upstream is upstream.py (a file, and POST echoed). Checked:
  jco serve   GET through the proxy returns the file (jco enforces no
              allow-list), a POST body of 300 KB goes out and its echo comes
              back, and a closed port gives 502 "connection-refused"
  wisp up     with allowed_outbound_hosts = [the upstream]: the same; another
              port of 127.0.0.1 and the name localhost are denied (502
              "HTTP-request-denied"); while wisp's outgoing-handler is not
              wired to the network yet, prints SKIPPED
"""
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

WISP, JCO, PROXY, TEST = sys.argv[1:5]
failures = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(argv, log, port=None, cwd=None):
    proc = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("FAIL: %s exited at start:\n%s" % (argv[0], open(log).read()[-2000:]))
        if port is None:
            m = re.search(r"\(port (\d+)", open(log).read())
            if m:
                return proc, int(m.group(1))
        else:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc, port
            except OSError:
                pass
        time.sleep(0.1)
    sys.exit("FAIL: %s did not start" % argv[0])


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def get(port, upstream, path="/proxy/f.txt", method="GET", body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"x-upstream": upstream}
    if body is not None:
        headers["content-type"] = "application/x-proxied"
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def expect(what, got, status, pattern):
    if got[0] != status or not re.search(pattern, got[1]):
        failures.append("%s: %d %r, expected %d matching %r" % (what, got[0], got[1][:300], status, pattern))


def main():
    tmp = tempfile.mkdtemp(prefix="wisp-proxy-")
    uport, closed = free_port(), free_port()
    up, _ = start([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "upstream.py"),
                   str(uport)], os.path.join(tmp, "upstream.log"), port=uport)
    payload = bytes(range(256)) * 1200
    upstream = "http://127.0.0.1:%d" % uport
    try:
        jport = free_port()
        ref, _ = start([JCO, "serve", PROXY, "--host", "127.0.0.1", "--port", str(jport)],
                       os.path.join(tmp, "jco.log"), port=jport)
        try:
            expect("jco serve, allowed upstream", get(jport, upstream), 200, b"^upstream file\n$")
            got = get(jport, upstream, "/proxy/echo", "POST", payload)
            expect("jco serve, POST", (got[0], b"ok" if got[1] == payload else got[1][:100]), 200, b"^ok$")
            expect("jco serve, closed port", get(jport, "http://127.0.0.1:%d" % closed), 502,
                   b"connection-refused")
        finally:
            stop(ref)
        with open(os.path.join(tmp, "wisp.toml"), "w") as f:
            f.write('spin_manifest_version = 2\n[application]\nname = "proxy"\n'
                    '[[trigger.http]]\nroute = "/proxy/..."\ncomponent = "proxy"\n'
                    '[component.proxy]\nsource = "%s"\nallowed_outbound_hosts = ["%s"]\n'
                    % (os.path.abspath(PROXY), upstream))
        srv, wport = start([WISP, "up", tmp, "--listen", "127.0.0.1:0", "--admin-listen", "off", "--processes", "1"],
                           os.path.join(tmp, "wisp.log"))
        try:
            first = get(wport, upstream)
            if first[0] == 502 and b"not available yet" in first[1]:
                if not failures:
                    print("SKIPPED: %s: wisp's wasi:http/outgoing-handler is not wired yet (%s)"
                          % (TEST, first[1].decode(errors="replace").strip()))
                    return 0
            expect("wisp up, allowed upstream", first, 200, b"^upstream file\n$")
            got = get(wport, upstream, "/proxy/echo", "POST", payload)
            expect("wisp up, POST", (got[0], b"ok" if got[1] == payload else got[1][:100]), 200, b"^ok$")
            expect("wisp up, another port", get(wport, "http://127.0.0.1:%d" % closed), 502, b"HTTP-request-denied")
            expect("wisp up, another host name", get(wport, "http://localhost:%d" % uport), 502,
                   b"HTTP-request-denied")
        finally:
            stop(srv)
            if failures:
                print("wisp up log:\n" + open(os.path.join(tmp, "wisp.log")).read()[-3000:])
    finally:
        stop(up)
    for f in failures:
        print("FAIL: %s: %s" % (TEST, f))
    print("%s: %d problems" % (TEST, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""new_project.py: `wisp new TEMPLATE NAME`, `wisp build`, then a response.

    new_project.py WISP JCO_BIN TEMPLATE DIR STEP

STEP is
  build   wisp new TEMPLATE into DIR (emptied first), wisp build there; for a
          wasi:http template, serve the component with `jco serve` (the
          reference host) and check its answer
  up      wisp up on the project DIR that `build` made (wagi-c: runs build
          first itself) and check its answer; while wisp up answers 501 for
          wasi:http routes, prints SKIPPED
The environment passes WISP_NODE_MODULES and WISP_SYSROOT to the build
commands, as a user's shell would. Exit status 0 when everything answered as
the template says ("hello from NAME", then the method and path).
"""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

WISP, JCO, TEMPLATE, DIR, STEP = sys.argv[1:6]
NAME = "demo-" + TEMPLATE.replace("-", "")
PROJECT = os.path.join(DIR, NAME)
TEST = "cli/new_%s%s" % (TEMPLATE.replace("-", "_"), "_up" if STEP == "up" and TEMPLATE != "wagi-c" else "")


def fail(message):
    print("FAIL: %s: %s" % (TEST, message))
    sys.exit(1)


def run(argv, cwd, timeout=300):
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace")


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def check_answer(status, body, host):
    want = ("hello from %s\nGET /hello?x=1\n" % NAME).encode()
    if status != 200 or body != want:
        fail("%s answered %d %r, expected 200 %r" % (host, status, body[:200], want))


def new_and_build():
    shutil.rmtree(DIR, ignore_errors=True)
    os.makedirs(DIR)
    code, out = run([WISP, "new", TEMPLATE, NAME], DIR)
    if code != 0:
        fail("wisp new exited with %d:\n%s" % (code, out))
    for f in ("wisp.toml", "README.md"):
        if not os.path.exists(os.path.join(PROJECT, f)):
            fail("wisp new wrote no %s:\n%s" % (f, out))
    code, out = run([WISP, "build"], PROJECT)
    if code != 0:
        fail("wisp build exited with %d:\n%s" % (code, out))
    wasm = os.path.join(PROJECT, NAME + ".wasm")
    if not os.path.exists(wasm):
        fail("wisp build made no %s:\n%s" % (wasm, out))
    return wasm


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def serve(argv, port_from_log=False, port=None):
    log = open(os.path.join(DIR, "server-%s.log" % STEP), "w+")
    proc = subprocess.Popen(argv, cwd=PROJECT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            fail("%s exited at start:\n%s" % (argv[:2], log.read()))
        if port_from_log:
            log.seek(0)
            m = re.search(r"\(port (\d+)", log.read())
            if m:
                return proc, log, int(m.group(1))
        else:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc, log, port
            except OSError:
                pass
        time.sleep(0.1)
    stop(proc)
    fail("%s did not start" % argv[:2])


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main():
    if STEP == "build" or TEMPLATE == "wagi-c":
        wasm = new_and_build()
        if TEMPLATE != "wagi-c":
            port = free_port()
            proc, _, port = serve([JCO, "serve", wasm, "--host", "127.0.0.1", "--port", str(port)], port=port)
            try:
                check_answer(*get(port, "/hello?x=1"), "jco serve")
            finally:
                stop(proc)
            print("%s: wisp new + wisp build made a component jco serve answers with" % TEST)
            if STEP == "build":
                return 0
    if not os.path.exists(os.path.join(PROJECT, NAME + ".wasm")):
        fail("no built project in %s (the build test runs first)" % PROJECT)
    proc, log, port = serve([WISP, "up", "--listen", "127.0.0.1:0", "--admin-listen", "off", "--processes", "1"],
                            port_from_log=True)
    try:
        status, body = get(port, "/hello?x=1")
        if status == 501 and b"not supported" in body:
            print("SKIPPED: %s: wisp up does not serve wasi:http components yet (%s)"
                  % (TEST, body.decode(errors="replace").strip()))
            return 0
        check_answer(status, body, "wisp up")
    finally:
        stop(proc)
    print("%s: wisp new, wisp build, wisp up: answered" % TEST)
    return 0


if __name__ == "__main__":
    sys.exit(main())

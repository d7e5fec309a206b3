#!/usr/bin/env python3
"""test_pool.py: `wisp up` with a small memory slot pool.

    test_pool.py WISP GUESTS_DIR TEST_NAME

pool_fallback: --pool-slots 1 --pool-slot-size 2M serving probe.wasm twice,
once with memory_mib = 2 (its memory fits a slot) and once with memory_mib =
8 (it does not: normal reservations). Both answer correctly, the big one
grows beyond the slot size, a second concurrent request finds the one slot
taken and falls back too, and the log says each fallback once.
pool_options: nonsense pool options are refused with a clear message.
Exit status 0 when the test passes; a failure prints what differed.
"""
import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

WISP, GUESTS, TEST = sys.argv[1], sys.argv[2], sys.argv[3]

MANIFEST = """
spin_manifest_version = 2
[application]
name = "pool-tests"

[[trigger.http]]
route = "/small"
component = "small"
executor = {{ type = "wagi" }}
[component.small]
source = "{g}/probe.wasm"
[component.small.limits]
memory_mib = 2

[[trigger.http]]
route = "/big"
component = "big"
executor = {{ type = "wagi" }}
[component.big]
source = "{g}/probe.wasm"
[component.big.limits]
memory_mib = 8
"""

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def start(work, extra):
    with open(os.path.join(work, "wisp.toml"), "w") as f:
        f.write(MANIFEST.format(g=GUESTS))
    errpath = os.path.join(work, "stderr")
    err = open(errpath, "w+")
    proc = subprocess.Popen([WISP, "up", work, "--listen", "127.0.0.1:0", "--admin-listen", "off", "--processes",
                             "1", "--log-format", "none", "--snapshot-dir", "off", *extra],
                            stdout=subprocess.DEVNULL, stderr=err)
    return proc, errpath


def read(path):
    with open(path) as f:
        return f.read()


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read().decode(errors="replace")
    conn.close()
    return r.status, body


def allocated(body):
    m = re.search(r"allocated (\d+) MiB", body)
    return int(m.group(1)) if m else -1


def test_pool_fallback(work):
    proc, errpath = start(work, ["--pool-slots", "1", "--pool-slot-size", "2M"])
    try:
        port = None
        deadline = time.time() + 20
        while time.time() < deadline and port is None and proc.poll() is None:
            m = re.search(r"\(port (\d+)", read(errpath))
            port = int(m.group(1)) if m else None
            time.sleep(0.02)
        if not check(port, "server starts: " + read(errpath)):
            return
        for _ in range(3):
            st, body = get(port, "/small?mode=ok")
            check(st == 200 and "ok" in body, f"/small answers: {st} {body!r}")
            st, body = get(port, "/big?mode=ok")
            check(st == 200 and "ok" in body, f"/big answers: {st} {body!r}")
        # growth: the pooled memory up to its 2 MiB limit (= the slot), the
        # fallen-back one beyond the slot size up to its 8 MiB limit
        st, body = get(port, "/small?mode=oom")
        check(st == 200 and 0 <= allocated(body) < 2, f"/small grows up to its 2 MiB: {st} {body!r}")
        st, body = get(port, "/big?mode=oom")
        check(st == 200 and 2 < allocated(body) < 8, f"/big grows beyond the 2 MiB slot: {st} {body!r}")
        log = read(errpath)
        check(log.count("component 'big': its memory may grow beyond the pool's slot size (2 MiB; memory "
                        "limit 8 MiB): its instances use a normal memory reservation") == 1,
              "the log says once that big falls back: " + log)
        check("component 'small': its memory may grow beyond" not in log, "small is pooled")
        check("pool slots" not in log, "no slot shortage yet")
        # the one slot held by a sleeping request: a second one falls back at once, not waiting
        results = []
        sleeper = threading.Thread(target=lambda: results.append(get(port, "/small?mode=sleep&ms=1500")))
        sleeper.start()
        time.sleep(0.3)
        t0 = time.time()
        st, body = get(port, "/small?mode=ok")
        took = time.time() - t0
        check(st == 200 and "ok" in body and took < 1.0, f"/small while the slot is taken: {st} {body!r} {took:.2f}s")
        st, body = get(port, "/small?mode=ok")
        sleeper.join()
        check(results and results[0][0] == 200 and "slept" in results[0][1], f"the sleeper answers: {results}")
        log = read(errpath)
        check(log.count("wisp: all 1 pool slots of process") == 1 and "are in use: further instances use a normal "
              "memory reservation" in log, "the log says once that the slots ran out: " + log)
        st, body = get(port, "/small?mode=ok")
        check(st == 200 and "ok" in body, "/small after the shortage")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = "killed"
        check(code == 0, f"clean shutdown: {code}")
        if failures:
            print("server stderr:\n" + read(errpath)[-3000:])


def test_pool_options(work):
    with open(os.path.join(work, "wisp.toml"), "w") as f:
        f.write(MANIFEST.format(g=GUESTS))
    cases = [
        (["--pool-slots", "0"], "bad --pool-slots '0' (want 1-65536)"),
        (["--pool-slots", "many"], "bad --pool-slots 'many' (want 1-65536)"),
        (["--pool-slot-size", "12X"], "bad --pool-slot-size '12X' (want a size like 256M or 64G"),
        (["--pool-memory", "-1G"], "bad --pool-memory '-1G'"),
        (["--pool-memory", "1M"], "a pool memory budget of 1 MiB is too small for 128 slots"),
        (["--pool-slot-size", "1M", "--pool-memory", "100K"], "a pool memory budget of 100 KiB holds no slot"),
        (["--pool-slots", "2", "--pool-slot-size", "1M", "--pool-memory", "1G"],
         "give at most two of the pool's slot count, slot size and memory budget"),
        (["--pool-slots", "65536"], "would reserve"),
    ]
    for args, want in cases:
        r = subprocess.run([WISP, "up", work, "--listen", "127.0.0.1:0", "--admin-listen", "off", *args],
                           capture_output=True, text=True, timeout=20)
        check(r.returncode == 2 and want in r.stderr, f"{args}: exit 2 and {want!r}, got {r.returncode} {r.stderr!r}")
    r = subprocess.run([WISP, "up", "--help"], capture_output=True, text=True, timeout=20)
    check("--pool-slots N" in r.stdout and "--pool-memory SIZE" in r.stdout, "wisp up --help lists the pool options")


def main():
    with tempfile.TemporaryDirectory() as work:
        globals()["test_" + TEST](work)
    if failures:
        sys.exit(1)
    print("ok:", TEST)


main()

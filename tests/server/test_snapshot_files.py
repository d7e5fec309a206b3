#!/usr/bin/env python3
"""test_snapshot_files.py: pre-initialisation exports and snapshot files of `wisp up`.

    test_snapshot_files.py WISP GUESTS_DIR TEST_NAME

Starts the real `wisp` binary on 127.0.0.1 (port 0, read from its start-up
message) with a manifest serving GUESTS_DIR/preinit.wasm (tests/server/guests/
preinit.c) under several `init` settings, and a snapshot directory of its own.
preinit.wasm's init exports print one line to stderr each time they run, so
the server's log says how often initialisation happened.
Exit status 0 when the test passes; a failure prints what differed.
"""
import http.client
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

WISP, GUESTS = sys.argv[1], sys.argv[2]
HTTP_COMPONENT = sys.argv[4] if len(sys.argv) > 4 else None  # for http_component_snapshot

MANIFEST = """
spin_manifest_version = 2
[application]
name = "preinit-tests"

[[trigger.http]]
route = "/wizer"
component = "wizer"
executor = {{ type = "wagi" }}
[component.wizer]
source = "{g}/preinit.wasm"

[[trigger.http]]
route = "/setup"
component = "setup"
executor = {{ type = "wagi" }}
[component.setup]
source = "{g}/preinit.wasm"
init = "setup"

[[trigger.http]]
route = "/off"
component = "off"
executor = {{ type = "wagi" }}
[component.off]
source = "{g}/preinit.wasm"
init = false

[[trigger.http]]
route = "/hello"
component = "hello"
executor = {{ type = "wagi" }}
[component.hello]
source = "{g}/hello.wasm"
"""

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


class Server:
    """A running `wisp up` on `manifest` (text) with extra arguments."""

    def __init__(self, workdir, manifest, extra_args=(), expect_start=True):
        self.dir = workdir
        with open(os.path.join(workdir, "wisp.toml"), "w") as f:
            f.write(manifest)
        self.errpath = os.path.join(workdir, "stderr")
        self.err = open(self.errpath, "w+")
        self.proc = subprocess.Popen(
            [WISP, "up", workdir, "--listen", "127.0.0.1:0", "--admin-listen", "off", "--processes", "1",
             "--log-format", "none", *extra_args], stdout=subprocess.DEVNULL, stderr=self.err)
        self.port = None
        deadline = time.time() + 20
        while time.time() < deadline:
            m = re.search(r"\(port (\d+)", self.stderr())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        if expect_start:
            raise SystemExit("server did not start:\n" + self.stderr())

    def stderr(self):
        with open(self.errpath) as f:
            return f.read()

    def get(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read().decode(errors="replace")
        conn.close()
        return r.status, body

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = "killed"
        if failures:
            print("server stderr:\n" + self.stderr()[-3000:])
        return code


def fields(body):
    return dict(kv.split("=", 1) for kv in body.split())


def test_preinit_runs_once(work):
    s = Server(work, MANIFEST.format(g=GUESTS), ["--snapshot-dir", "off"])
    try:
        bodies = [s.get("/wizer?secret=s%d" % i) for i in range(5)]
        for st, body in bodies:
            f = fields(body)
            # crc of "wisp" through the table init built (zlib.crc32(b"wisp"))
            check(st == 200 and f.get("init_runs") == "1" and f.get("crc") == "c4bdec9f" and
                  f.get("note") == "built-by-wizer.initialize", f"/wizer sees the initialised state: {st} {body!r}")
            check(f.get("old_secret") == "(none)", f"a request sees no earlier request's secret: {body!r}")
        st, body = s.get("/setup")
        f = fields(body)
        check(st == 200 and f.get("init_runs") == "10" and f.get("note") == "built-by-setup",
              f"init = \"setup\" runs setup and not wizer.initialize: {body!r}")
        st, body = s.get("/off")
        f = fields(body)
        check(st == 200 and f.get("init_runs") == "0" and f.get("crc") != "c4bdec9f" and f.get("note") == "(none)",
              f"init = false runs nothing: {body!r}")
        log = s.stderr()
        # two components run wizer.initialize by default (wizer, and none else: off says false)
        check(log.count("preinit: wizer.initialize ran") == 1, f"wizer.initialize ran once in all: {log!r}")
        check(log.count("preinit: setup ran") == 1, "setup ran once")
    finally:
        s.stop()
    # without snapshots init runs for every request, so requests still see its state
    s = Server(work, MANIFEST.format(g=GUESTS), ["--no-snapshot"])
    try:
        for _ in range(3):
            st, body = s.get("/setup")
            check(st == 200 and fields(body).get("init_runs") == "10", f"--no-snapshot: init per request: {body!r}")
        check(s.stderr().count("preinit: setup ran") == 3, "--no-snapshot: setup ran once per request")
    finally:
        s.stop()


def test_preinit_errors(work):
    base = ("spin_manifest_version = 2\n[application]\nname = \"bad\"\n[[trigger.http]]\nroute = \"/x\"\n"
            "component = \"x\"\nexecutor = { type = \"wagi\" }\n[component.x]\nsource = \"%s/preinit.wasm\"\n" % GUESTS)
    cases = [
        ("init = \"nope\"\n", "component 'x': init = \"nope\" (manifest line 10): the module "
                               f"{GUESTS}/preinit.wasm exports no such function"),
        ("init = \"init_bad\"\n", "component 'x': init = \"init_bad\" (manifest line 10): the export is not a "
                                   "function without parameters and results"),
        ("init = \"init_trap\"\n", "component 'x': the init export 'init_trap' failed: unreachable"),
    ]
    for extra, message in cases:
        for args in (["--snapshot-dir", "off"], ["--no-snapshot"]):
            if "init_trap" in extra and "--no-snapshot" in args:
                continue  # without a snapshot a trapping init is each request's error
            s = Server(work, base + extra, args, expect_start=False)
            code = s.stop()
            check(code == 1 and message in s.stderr(), f"{extra.strip()} {args}: exit {code}, wanted "
                                                       f"{message!r} in {s.stderr()!r}")
    s = Server(work, base + "init = \"init_trap\"\n", ["--no-snapshot"])
    try:
        st, _ = s.get("/x")
        check(st == 500 and "the init export" not in s.stderr() and "unreachable" in s.stderr(),
              f"--no-snapshot: a trapping init fails the request: {st}")
    finally:
        s.stop()


def snapshot_file(cache, init_tag_part=None):
    names = sorted(os.listdir(cache)) if os.path.isdir(cache) else []
    return names


def fix_checksum(data):
    """Recomputes the trailing FNV-1a 64 checksum of a snapshot file."""
    h = 0xcbf29ce484222325
    for b in data[:-8]:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return data[:-8] + struct.pack("<Q", h)


def test_snapshot_files_restart(work):
    cache = os.path.join(work, "cache")
    manifest = MANIFEST.format(g=GUESTS)
    args = ["--snapshot-dir", cache]

    def start():
        return Server(work, manifest, args)

    s = start()
    check(s.get("/wizer")[0] == 200, "first start serves")
    s.stop()
    first = s.stderr()
    check(first.count("wizer.initialize ran") == 1 and "snapshot loaded" not in first, "first start initialises")
    files = snapshot_file(cache)
    # one file per (module, init): wizer, setup, off share the module but not the init; hello
    check(len(files) == 4 and all(re.fullmatch(r"[0-9a-f]{64}\.([0-9a-f]{16}|none)\.v1\.wsnap", n) for n in files),
          f"one snapshot file per module and init: {files}")
    import hashlib
    with open(os.path.join(GUESTS, "preinit.wasm"), "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    check(sum(n.startswith(sha) for n in files) == 3, "files are keyed by the module's SHA-256")

    s = start()
    st, body = s.get("/wizer")
    s.stop()
    second = s.stderr()
    check(st == 200 and fields(body).get("init_runs") == "1" and fields(body).get("crc") == "c4bdec9f",
          f"restart serves the initialised state: {body!r}")
    check("wizer.initialize ran" not in second and "setup ran" not in second,
          f"restart does not initialise again: {second!r}")
    check(second.count("snapshot loaded from") == 4 and "(initialisation skipped)" in second,
          "restart loads every file")

    # the init part of the name is FNV-1a 64 of the export's name
    h = 0xcbf29ce484222325
    for c in b"wizer.initialize":
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    target = os.path.join(cache, f"{sha}.{h:016x}.v1.wsnap")
    check(os.path.exists(target), f"wizer's snapshot file is {target}")
    if not os.path.exists(target):
        return
    with open(target, "rb") as f:
        good = f.read()
    hello = [os.path.join(cache, n) for n in files if not n.startswith(sha)][0]
    with open(hello, "rb") as f:
        other_module = f.read()
    mid = len(good) // 2
    bad_versions = [
        ("corrupt", good[:mid] + bytes([good[mid] ^ 0x55]) + good[mid + 1:], "checksum mismatch"),
        ("truncated", good[:len(good) - 100], "checksum mismatch"),
        ("empty", b"", "bad magic"),
        ("another module", other_module, "made from a different module"),
        ("another version", fix_checksum(good[:8] + struct.pack("<I", 99) + good[12:]),
         "format version 99, this wisp reads version 1"),
    ]
    for what, data, message in bad_versions:
        with open(target, "wb") as f:
            f.write(data)
        s = start()
        st, body = s.get("/wizer")
        s.stop()
        log = s.stderr()
        lines = [l for l in log.splitlines() if "not using the snapshot file" in l]
        check(len(lines) == 1 and message in lines[0] and "rebuilding it" in lines[0] and target in lines[0],
              f"{what} file: one line saying so: {lines}")
        check(log.count("wizer.initialize ran") == 1, f"{what} file: initialised again instead: {log!r}")
        check(st == 200 and fields(body).get("init_runs") == "1" and fields(body).get("crc") == "c4bdec9f",
              f"{what} file: never loaded, serves a good state: {body!r}")
        with open(target, "rb") as f:
            check(f.read() == good, f"{what} file: rebuilt identical to the first")

    # a snapshot directory that cannot be created or written costs a warning only
    blocker = os.path.join(work, "a-file")
    with open(blocker, "w") as f:
        f.write("x")
    for dir_, why in ((os.path.join(blocker, "snapshots"), "cannot create the snapshot directory"),
                      (None, "cannot write its snapshot file")):
        if dir_ is None:
            # the file's own name taken by a directory: the rename fails
            dir_ = os.path.join(work, "cache2")
            os.makedirs(dir_)
            for n in files:
                os.makedirs(os.path.join(dir_, n))
        s = Server(work, manifest, ["--snapshot-dir", dir_])
        st, body = s.get("/wizer")
        s.stop()
        log = s.stderr()
        check(st == 200 and fields(body).get("init_runs") == "1", f"{why}: serves anyway: {st}")
        check("warning" in log and why in log, f"{why}: warned: {log!r}")


def test_http_component_snapshot(work):
    # wasi:http components are served from a component snapshot by default
    # (src/component/csnap.c): every request gets a fresh instance (no request
    # sees what another wrote, though they reuse one pool slot), its file is
    # written, loaded on restart, and a corrupt one is rebuilt.
    if not HTTP_COMPONENT or not os.path.exists(HTTP_COMPONENT):
        print(f"SKIPPED: server/http_component_snapshot: the http_secret component was not built "
              f"(needs node and jco: scripts/setup-npm.sh)")
        return
    manifest = ("spin_manifest_version = 2\n[application]\nname = \"h\"\n[[trigger.http]]\nroute = \"/...\"\n"
                "component = \"h\"\n[component.h]\nsource = \"%s\"\n" % HTTP_COMPONENT)
    cache = os.path.join(work, "cache")

    def serve(args, requests=1):
        s = Server(work, manifest, args)
        bodies = [s.get("/") for _ in range(requests)]
        s.stop()
        for st, body in bodies:
            check(st == 200 and body == "calls=0 last=(none)\n",
                  f"{args}: a fresh instance that sees no earlier request: {st} {body!r}")
        return s.stderr()

    log = serve(["--snapshot-dir", cache], requests=20)
    files = os.listdir(cache) if os.path.isdir(cache) else []
    check(len(files) == 1 and files[0].endswith(".none.v1.wsnap"), f"a component snapshot file: {files}")
    if len(files) != 1:
        return
    path = os.path.join(cache, files[0])
    with open(path, "rb") as f:
        good = f.read()
    check(good[:8] == b"WISPCSNP", "the file is a component snapshot")
    check("no snapshot" not in log, f"the component was snapshotted: {log!r}")
    log = serve(["--snapshot-dir", cache], requests=5)
    check(log.count("snapshot loaded from " + path) == 1, f"restart loads the file: {log!r}")
    with open(path, "wb") as f:
        f.write(good[:100] + bytes([good[100] ^ 1]) + good[101:])
    log = serve(["--snapshot-dir", cache])
    lines = [l for l in log.splitlines() if "not using the snapshot file" in l]
    check(len(lines) == 1 and "checksum mismatch" in lines[0] and "rebuilding it" in lines[0],
          f"a corrupt file is reported in one line: {lines}")
    check("snapshot loaded" not in log, "a corrupt file is never loaded")
    with open(path, "rb") as f:
        check(f.read() == good, "the corrupt file was rebuilt")
    other = os.path.join(work, "other")
    serve(["--no-snapshot", "--snapshot-dir", other], requests=3)
    check(not os.path.exists(other), "--no-snapshot writes no snapshot")


def test_http_component_init(work):
    # `init` on a wasi:http component names an exported func() that runs once
    # before the component snapshot; there is no default for components.
    if not HTTP_COMPONENT or not os.path.exists(HTTP_COMPONENT):
        print(f"SKIPPED: server/http_component_init: the http_secret component was not built "
              f"(needs node and jco: scripts/setup-npm.sh)")
        return
    base = "spin_manifest_version = 2\n[application]\nname = \"h\"\n"

    def component(name, init_line):
        return (f"[[trigger.http]]\nroute = \"/{name}\"\ncomponent = \"{name}\"\n"
                f"[component.{name}]\nsource = \"{HTTP_COMPONENT}\"\n{init_line}")

    manifest = base + component("inited", "init = \"init\"\n") + component("plain", "")
    cache = os.path.join(work, "cache")
    for run in range(2):
        s = Server(work, manifest, ["--snapshot-dir", cache])
        inited = [s.get("/inited") for _ in range(5)]
        plain = s.get("/plain")
        s.stop()
        for st, body in inited:
            check(st == 200 and body == "calls=7 last=INIT\n", f"run {run}: requests start from init's state: {body!r}")
        check(plain[0] == 200 and plain[1] == "calls=0 last=(none)\n", f"run {run}: no init without the key: {plain}")
        log = s.stderr()
        if run == 1:
            check("(initialisation skipped)" in log, f"restart loads the initialised snapshot: {log!r}")
    cases = [
        ("init = \"init-trap\"\n", [], "component 'x': the init export 'init-trap' failed: "),
        ("init = \"nope\"\n", [], "component 'x': the init export 'nope' failed: the component exports no function 'nope'"),
        ("init = \"init\"\n", ["--no-snapshot"], "a component's init export runs only before its snapshot; "
                                                    "drop --no-snapshot"),
    ]
    for init_line, args, message in cases:
        s = Server(work, base + component("x", init_line), ["--snapshot-dir", "off", *args], expect_start=False)
        code = s.stop()
        check(code == 1 and message in s.stderr(), f"{init_line.strip()} {args}: exit {code}: {s.stderr()!r}")


TESTS = {name[5:]: fn for name, fn in globals().items() if name.startswith("test_")}

if __name__ == "__main__":
    work = tempfile.mkdtemp(prefix="wisp-snapfile-test-")
    try:
        TESTS[sys.argv[3]](work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("ok")

#!/usr/bin/env python3
"""test_deploy.py: end-to-end tests of `wisp serve`, its admin API and the
deploy commands (`wisp deploy/apps/rollback/rm/logs`).

    test_deploy.py WISP GUESTS_DIR SOURCE_DIR TEST_NAME

Each test starts the real `wisp serve` on 127.0.0.1 (ports picked by the
kernel, read from its start-up message) with a real SQLite store in a fresh
temporary data directory, and talks to it through the `wisp` CLI, raw HTTP
(http.client) and the store file itself (Python's sqlite3, read-only).
GUESTS_DIR holds v1.wasm and v2.wasm (tests/deploy/guests/version.c built
with VERSION "v1" and "v2": they answer "v1\\n" / "v2\\n"), hello.wasm and
static.wasm (examples/http). Exit status 0 when the test passes; every failed
check prints "FAIL: ...".
"""
import http.client
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

WISP, GUESTS, SOURCE_DIR = sys.argv[1], sys.argv[2], sys.argv[3]

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


VERSION_APP = """spin_manifest_version = 2
[application]
name = "{name}"

[[trigger.http]]
route = "{route}"
component = "web"
executor = {{ type = "wagi" }}

[component.web]
source = "web.wasm"
"""

FILES_APP = """spin_manifest_version = 2
[application]
name = "site"

[[trigger.http]]
route = "/site/..."
component = "files"
executor = { type = "wagi" }

[[trigger.http]]
route = "/hi"
component = "hello"
executor = { type = "wagi" }

[component.files]
source = "bin/static.wasm"
files = [{ source = "public", destination = "/static" }]

[component.hello]
source = "bin/hello.wasm"
"""


def make_app(root, name, version, route="/v"):
    """A directory with wisp.toml and web.wasm (v1 or v2)."""
    d = os.path.join(root, f"{name}-{version}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "wisp.toml"), "w") as f:
        f.write(VERSION_APP.format(name=name, route=route))
    shutil.copy(os.path.join(GUESTS, f"{version}.wasm"), os.path.join(d, "web.wasm"))
    return d


def make_files_app(root):
    d = os.path.join(root, "site")
    os.makedirs(os.path.join(d, "bin"), exist_ok=True)
    with open(os.path.join(d, "wisp.toml"), "w") as f:
        f.write(FILES_APP)
    shutil.copy(os.path.join(GUESTS, "static.wasm"), os.path.join(d, "bin"))
    shutil.copy(os.path.join(GUESTS, "hello.wasm"), os.path.join(d, "bin"))
    shutil.copytree(os.path.join(SOURCE_DIR, "examples/http/static/public"), os.path.join(d, "public"))
    return d


class Serve:
    """A running `wisp serve` on a data directory."""

    def __init__(self, data, processes=2, extra=(), env=None, wait=True):
        self.data = data
        self.log = tempfile.NamedTemporaryFile(prefix="wisp-serve-", suffix=".log", delete=False).name
        self.err = open(self.log, "w+")
        self.proc = subprocess.Popen(
            [WISP, "serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
             "--processes", str(processes), "--log-format", "none", *extra],
            stdout=subprocess.DEVNULL, stderr=self.err, env=dict(os.environ, **(env or {})))
        deadline = time.time() + 30
        while time.time() < deadline:
            text = self.stderr()
            m = re.search(r"\(port (\d+)", text)
            a = re.search(r"admin port (\d+)", text)
            if m and a:
                self.port, self.admin_port = int(m.group(1)), int(a.group(1))
                self.url = f"http://127.0.0.1:{self.admin_port}"
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise SystemExit("FAIL: wisp serve did not start:\n" + self.stderr())

    def stderr(self):
        with open(self.log) as f:
            return f.read()

    @property
    def token(self):
        with open(os.path.join(self.data, "admin.token")) as f:
            return f.read().strip()

    def get(self, path, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        conn.close()
        return r.status, body

    def admin(self, method, path, body=None, token=True, headers=None, timeout=30):
        h = dict(headers or {})
        if token is True:
            h["Authorization"] = "Bearer " + self.token
        elif token:
            h["Authorization"] = token
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, data

    def cli(self, *args, token=True, env=None):
        e = dict(os.environ)
        e.pop("WISP_TOKEN", None)
        if token:
            e["WISP_TOKEN"] = self.token
        e.update(env or {})
        p = subprocess.run([WISP, *args, "--server", self.url], capture_output=True, text=True, env=e, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait()
                check(False, "wisp serve did not stop on SIGTERM")
            check(code == 0, f"wisp serve exit code {code} after SIGTERM\n{self.stderr()[-20000:]}")
        self.err.close()
        text = self.stderr()
        check("ERROR: AddressSanitizer" not in text and "runtime error" not in text,
              "sanitizer report in the server log:\n" + text[-5000:])
        os.unlink(self.log)


def store_dump(data):
    """Every row of every table of the store: equal dumps, unchanged store."""
    db = sqlite3.connect(f"file:{os.path.join(data, 'wisp.db')}?mode=ro", uri=True)
    out = []
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
        out.append((name, sorted(db.execute(f"SELECT * FROM {name}").fetchall(), key=repr)))
    db.close()
    return out


def store_check(data):
    """integrity_check, foreign keys, and the app -> active version map."""
    db = sqlite3.connect(f"file:{os.path.join(data, 'wisp.db')}?mode=ro", uri=True)
    ok = db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    fk = db.execute("PRAGMA foreign_key_check").fetchall()
    active = dict(db.execute("SELECT a.name, v.number FROM apps a JOIN active ac ON ac.app_id = a.id "
                             "JOIN versions v ON v.id = ac.version_id").fetchall())
    counts = dict(db.execute("SELECT a.name, count(*) FROM apps a JOIN versions v ON v.app_id = a.id "
                             "GROUP BY a.name").fetchall())
    blobs_ok = db.execute("SELECT count(*) FROM version_blobs vb LEFT JOIN blobs b USING (sha256) "
                          "WHERE b.sha256 IS NULL").fetchone()[0] == 0
    db.close()
    check(ok and not fk and blobs_ok, f"store consistent: integrity {ok}, fk {fk}, blobs {blobs_ok}")
    return active, counts


def bodies(s, path, n=20):
    """n requests on fresh connections (they spread over the workers)."""
    return [s.get(path) for _ in range(n)]


def all_are(results, status, body):
    return all(st == status and b == body for st, b in results)


# ---- tests ---------------------------------------------------------------------------------------


def test_cli_lifecycle(root):
    data = os.path.join(root, "data")
    s = Serve(data)
    try:
        tok = os.path.join(data, "admin.token")
        mode = stat.S_IMODE(os.stat(tok).st_mode)
        check(mode == 0o600, f"admin.token mode {oct(mode)}")
        check(re.fullmatch(r"[0-9a-f]{64}", s.token) is not None, "token is 64 hex digits")
        rc, out, err = s.cli("apps")
        check(rc == 0 and "no applications" in out, f"apps on an empty store: {rc} {out} {err}")
        rc, out, err = s.cli("deploy", make_app(root, "shop", "v1"))
        check(rc == 0 and "deployed shop version 1" in out and "/v -> web" in out, f"deploy v1: {rc} {out} {err}")
        check(all_are(bodies(s, "/v"), 200, b"v1\n"), "every worker serves v1 once deploy returned")
        rc, out, err = s.cli("deploy", os.path.join(make_app(root, "shop", "v2"), "wisp.toml"))
        check(rc == 0 and "version 2" in out, f"deploy v2 (manifest path): {rc} {out} {err}")
        check(all_are(bodies(s, "/v"), 200, b"v2\n"), "every worker serves v2 once deploy returned")
        rc, out, err = s.cli("deploy", make_app(root, "blog", "v1", route="/blog/..."))
        check(rc == 0, f"deploy a second app: {rc} {err}")
        check(all_are(bodies(s, "/blog/x", 6), 200, b"v1\n"), "second app served")
        rc, out, err = s.cli("apps")
        check(rc == 0 and re.search(r"shop\s+2\s+/v", out) and re.search(r"blog\s+1\s+/blog/\.\.\.", out),
              f"apps lists both with active versions and routes: {out}")
        rc, out, err = s.cli("apps", "shop")
        check(rc == 0 and "active version 2" in out and re.search(r"^1 ", out, re.M) and "(active)" in out,
              f"apps shop lists versions: {out} {err}")
        rc, out, err = s.cli("rollback", "shop")
        check(rc == 0 and "version 1 active (was 2)" in out, f"rollback to previous: {rc} {out} {err}")
        check(all_are(bodies(s, "/v"), 200, b"v1\n"), "v1 served after rollback")
        rc, out, err = s.cli("rollback", "shop", "2")
        check(rc == 0 and "version 2 active" in out, f"rollback to 2: {rc} {out} {err}")
        check(all_are(bodies(s, "/v"), 200, b"v2\n"), "v2 served after rollback to 2")
        rc, out, err = s.cli("rollback", "shop", "9")
        check(rc == 1 and "no version 9" in err, f"rollback to a missing version: {rc} {err}")
        rc, out, err = s.cli("rollback", "nosuch")
        check(rc == 1 and "no app named 'nosuch'" in err, f"rollback of a missing app: {rc} {err}")
        rc, out, err = s.cli("rm", "shop")
        check(rc == 0 and "deleted shop" in out, f"rm: {rc} {out} {err}")
        check(all(st == 404 for st, _ in bodies(s, "/v")), "route gone after rm")
        check(all_are(bodies(s, "/blog/y", 6), 200, b"v1\n"), "other app still served after rm")
        rc, out, err = s.cli("rm", "shop")
        check(rc == 1 and "no app named 'shop'" in err, f"rm twice: {rc} {err}")
        active, _ = store_check(data)
        check(active == {"blog": 1}, f"store after rm: {active}")
        # Exit codes and token sources.
        rc, out, err = s.cli("apps", token=False)
        check(rc == 2 and "WISP_TOKEN" in err, f"no token: usage error naming WISP_TOKEN: {rc} {err}")
        rc, out, err = s.cli("apps", token=False, env={"WISP_TOKEN": "0" * 64})
        check(rc == 1 and "401" in err and "token" in err, f"wrong token: refused: {rc} {err}")
        rc, out, err = s.cli("apps", "--token-file", tok, token=False)
        check(rc == 0 and "blog" in out, f"--token-file: {rc} {out} {err}")
        p = subprocess.run([WISP, "apps", "--server", "http://127.0.0.1:1"], capture_output=True, text=True,
                           env=dict(os.environ, WISP_TOKEN=s.token))
        check(p.returncode == 3 and "cannot reach" in p.stderr, f"unreachable server: {p.returncode} {p.stderr}")
        rc, out, err = s.cli("deploy", os.path.join(root, "does-not-exist"))
        check(rc == 4, f"missing local manifest: exit 4: {rc} {err}")
        for cmd in ("serve", "deploy", "apps", "rollback", "rm", "logs"):
            p = subprocess.run([WISP, cmd, "--help"], capture_output=True, text=True)
            check(p.returncode == 0 and f"usage: wisp {cmd}" in p.stdout, f"wisp {cmd} --help: {p.returncode}")
        p = subprocess.run([WISP, "rollback"], capture_output=True, text=True, env=dict(os.environ, WISP_TOKEN="x"))
        check(p.returncode == 2, f"rollback without APP: usage (2): {p.returncode}")
        p = subprocess.run([WISP, "--help"], capture_output=True, text=True)
        check(all(c in p.stdout for c in ("serve", "deploy", "apps", "rollback", "rm", "logs")), "wisp --help lists them")
    finally:
        s.stop()


def test_restart(root):
    data = os.path.join(root, "data")
    s = Serve(data)
    try:
        token = s.token
        check(s.cli("deploy", make_app(root, "shop", "v1"))[0] == 0, "deploy v1")
        check(s.cli("deploy", make_app(root, "shop", "v2"))[0] == 0, "deploy v2")
        check(s.cli("rollback", "shop")[0] == 0, "rollback to v1")
        rc, out, err = s.cli("deploy", make_files_app(root))
        check(rc == 0, f"deploy an app with a files mount: {rc} {out} {err}")
        st, body = s.get("/site/index.html")
        check(st == 200 and b"wisp static example" in body, f"files mount served: {st} {body[:200]}")
        check(s.get("/hi") == (200, b"hello from wisp\n"), "second component of the files app")
    finally:
        s.stop()
    s = Serve(data)
    try:
        check(s.token == token, "the token survives a restart")
        check("restored app 'shop' version 1" in s.stderr(), "start-up message names the restored app")
        check(all_are(bodies(s, "/v"), 200, b"v1\n"), "restart restores the active version (v1, after rollback)")
        st, body = s.get("/site/index.html")
        check(st == 200 and b"wisp static example" in body, f"files mount after restart: {st}")
        # Mounts are rebuilt from the store when their directory is gone.
    finally:
        s.stop()
    shutil.rmtree(os.path.join(data, "mounts"))
    s = Serve(data, processes=1)
    try:
        st, body = s.get("/site/index.html")
        check(st == 200 and b"wisp static example" in body, f"files mount rebuilt from the store: {st}")
        rc, out, err = s.cli("apps")
        check(re.search(r"shop\s+1", out) and re.search(r"site\s+1", out), f"apps after restart: {out}")
    finally:
        s.stop()
    store_check(data)


def test_hot_deploy_under_load(root):
    data = os.path.join(root, "data")
    s = Serve(data)
    stop = threading.Event()
    results = []  # (status, body) of every request
    errors = []
    lock = threading.Lock()
    try:
        v1, v2 = make_app(root, "live", "v1"), make_app(root, "live", "v2")
        check(s.cli("deploy", v1)[0] == 0, "initial deploy")

        def hammer(keepalive):
            conn = None
            while not stop.is_set():
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
                    conn.request("GET", "/v")
                    r = conn.getresponse()
                    body = r.read()
                    with lock:
                        results.append((r.status, body))
                    if not keepalive:
                        conn.close()
                        conn = None
                except Exception as e:  # a failed request is a test failure
                    with lock:
                        errors.append(repr(e))
                    conn = None

        threads = [threading.Thread(target=hammer, args=(k,)) for k in (True, True, False, False)]
        for t in threads:
            t.start()
        expected = "v1"
        for i in range(10):
            expected = "v2" if expected == "v1" else "v1"
            rc, out, err = s.cli("deploy", v2 if expected == "v2" else v1)
            check(rc == 0, f"deploy {i}: {rc} {err}")
            # Once deploy has answered, every worker serves the new version.
            got = bodies(s, "/v", 8)
            check(all_are(got, 200, (expected + "\n").encode()), f"deploy {i}: after the answer all serve {expected}: {got}")
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join()
        check(not errors, f"no failed requests during redeploys: {errors[:5]}")
        bad = [r for r in results if r not in ((200, b"v1\n"), (200, b"v2\n"))]
        check(len(results) > 200, f"enough load: {len(results)} requests")
        check(not bad, f"every response is exactly one version's: {len(bad)} bad, e.g. {bad[:3]}")
        n1 = sum(1 for r in results if r[1] == b"v1\n")
        check(n1 and len(results) - n1, f"both versions served during the test ({n1} v1, {len(results) - n1} v2)")
        print(f"hot deploy: {len(results)} requests during 10 deploys, {len(bad)} wrong, {len(errors)} failed")
        active, counts = store_check(data)
        check(active == {"live": 11} and counts == {"live": 11}, f"store: 11 versions, 11 active: {active} {counts}")
    finally:
        stop.set()
        s.stop()


# Named points of a deploy where the test kills the server (WISP_TEST_CRASH_AT):
# the admin API's own steps and the store's points inside its transaction.
CRASH_POINTS = [
    ("admin:received", "v1"), ("admin:compiled", "v1"), ("admin:blobs", "v1"),
    ("deploy:app", "v1"), ("deploy:version", "v1"), ("deploy:blobs", "v1"), ("deploy:active", "v1"),
    ("deploy:history", "v1"), ("deploy:commit", None), ("deploy:done", "v2"), ("admin:installed", "v2"),
]


def test_crash_safety(root):
    v1, v2 = make_app(root, "shop", "v1"), make_app(root, "shop", "v2")
    base = os.path.join(root, "data-v1")  # a store with v1 active, copied for each point
    s = Serve(base)
    check(s.cli("deploy", v1)[0] == 0, "deploy v1")
    s.stop()
    for point, want in CRASH_POINTS:
        data = os.path.join(root, "data-" + point.replace(":", "-"))
        shutil.copytree(base, data)
        s = Serve(data, env={"WISP_TEST_CRASH_AT": point})
        rc, out, err = s.cli("deploy", v2)
        check(rc == 3, f"{point}: deploy fails as the server dies (exit 3): {rc} {out} {err}")
        try:
            s.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            check(False, f"{point}: server still running")
            s.proc.kill()
        check(s.proc.returncode == -signal.SIGKILL, f"{point}: killed by SIGKILL: {s.proc.returncode}")
        check(f"test crash point '{point}'" in s.stderr(), f"{point}: the crash point was reached")
        s.err.close()
        time.sleep(0.3)  # the forked worker drains on its parent's death
        active, counts = store_check(data)
        s = Serve(data)
        try:
            got = bodies(s, "/v", 10)
            served = {b for _, b in got}
            check(all(st == 200 for st, _ in got) and len(served) == 1, f"{point}: one version served: {got}")
            version = served.pop().decode().strip() if len(served) == 1 else None
            check(version in ("v1", "v2"), f"{point}: served {version}")
            check(active.get("shop") == {"v1": 1, "v2": 2}.get(version),
                  f"{point}: the store's active version ({active}) is the one served ({version})")
            check(counts.get("shop") == active.get("shop"), f"{point}: no half version in the store: {counts}")
            if want:
                check(version == want, f"{point}: expected {want} after the crash, got {version}")
            # The server works normally afterwards.
            rc, out, err = s.cli("deploy", v2)
            check(rc == 0 and all_are(bodies(s, "/v", 6), 200, b"v2\n"), f"{point}: deploy after restart: {err}")
        finally:
            s.stop()
        print(f"crash at {point}: restarted serving {version}, store active {active}")


def tar_of(files, fmt=tarfile.USTAR_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_bad_input(root):
    data = os.path.join(root, "data")
    s = Serve(data, extra=("--max-upload", "262144"))
    try:
        check(s.cli("deploy", make_app(root, "shop", "v1"))[0] == 0, "deploy v1")
        good_manifest = VERSION_APP.format(name="shop", route="/v").encode()
        with open(os.path.join(GUESTS, "v2.wasm"), "rb") as f:
            v2 = f.read()
        before = store_dump(data)

        def refused(what, status, body, want, token=True, headers=None):
            st, res = s.admin("POST", "/v1/apps", body=body, token=token, headers=headers)
            msg = res.get("error", "") if isinstance(res, dict) else ""
            check(st == status, f"{what}: status {st}, want {status} ({res})")
            check(re.search(want, msg) is not None, f"{what}: message {msg!r} should match {want!r}")
            check(store_dump(data) == before, f"{what}: store unchanged")
            check(all_are(bodies(s, "/v", 4), 200, b"v1\n"), f"{what}: v1 still served")

        good = tar_of([("wisp.toml", good_manifest), ("web.wasm", v2)])
        refused("no token", 401, good, r"token", token=None)
        refused("wrong token", 401, good, r"token", token="Bearer " + "f" * 64)
        refused("not bearer", 401, good, r"token", token="Basic " + s.token)
        refused("random bytes", 400, os.urandom(4096), r"bundle: .*(tar|magic|checksum)")
        refused("truncated tar", 400, good[:1536], r"bundle: .*(truncated|past the end|end-of-archive)")
        corrupt = bytearray(good)
        corrupt[600] ^= 0xFF  # inside the first entry's data? no: first header is 0..511, data 512..
        corrupt[100] ^= 0x01  # the first header's mode field: checksum now wrong
        refused("bad checksum", 400, bytes(corrupt), r"checksum")
        refused("path traversal", 400, tar_of([("wisp.toml", good_manifest), ("../web.wasm", v2)]), r"traversal")
        refused("absolute path", 400, tar_of([("/etc/wisp.toml", good_manifest)]), r"absolute")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
            info = tarfile.TarInfo("wisp.toml")
            info.size = len(good_manifest)
            t.addfile(info, io.BytesIO(good_manifest))
            link = tarfile.TarInfo("web.wasm")
            link.type = tarfile.SYMTYPE
            link.linkname = "/etc/passwd"
            t.addfile(link)
        refused("symlink entry", 400, buf.getvalue(), r"links are not allowed")
        refused("pax header", 400, tar_of([("wisp.toml", good_manifest), ("w\u00e9b.wasm", v2)], tarfile.PAX_FORMAT),
                r"entry type")
        refused("no manifest", 400, tar_of([("web.wasm", v2)]), r"no wisp.toml")
        refused("duplicate entry", 400, tar_of([("wisp.toml", good_manifest), ("wisp.toml", good_manifest)]),
                r"twice")
        bad_manifest = good_manifest.replace(b'route = "/v"', b"route = 7")
        refused("manifest type error", 400, tar_of([("wisp.toml", bad_manifest), ("web.wasm", v2)]),
                r"wisp.toml:\d+: .*route")
        refused("manifest syntax error", 400, tar_of([("wisp.toml", b"[application\nname = 1\n")]), r"wisp.toml:1")
        refused("module missing", 400, tar_of([("wisp.toml", good_manifest)]), r"web.wasm' is not in the bundle")
        refused("invalid module", 400, tar_of([("wisp.toml", good_manifest), ("web.wasm", b"\0asm\1\0\0\0\x05junk")]),
                r"component 'web': web.wasm is not a valid WebAssembly module: .+")
        refused("not wasm at all", 400, tar_of([("wisp.toml", good_manifest), ("web.wasm", b"#!/bin/sh\n")]),
                r"not a valid WebAssembly module")
        other = VERSION_APP.format(name="other", route="/v").encode()
        refused("route collision", 409, tar_of([("wisp.toml", other), ("web.wasm", v2)]),
                r"route '/v' of app 'other' collides with route '/v' of app 'shop'")
        big = tar_of([("wisp.toml", good_manifest), ("web.wasm", v2), ("pad.bin", b"x" * 300000)])
        refused("oversized upload", 413, big, r"more than this server accepts")
        refused("empty body", 400, b"", r"no body")
        # Other endpoints: wrong methods, unknown apps, bad JSON.
        st, res = s.admin("GET", "/v1/apps/nosuch")
        check(st == 404 and "no app named 'nosuch'" in res.get("error", ""), f"unknown app: {st} {res}")
        st, res = s.admin("POST", "/v1/apps/shop/rollback", body=b"{version: 1")
        check(st == 400 and "invalid JSON" in res.get("error", ""), f"bad JSON: {st} {res}")
        st, res = s.admin("POST", "/v1/apps/shop/rollback", body=b'{"version": "1"}')
        check(st == 400 and "integer" in res.get("error", ""), f"version as string: {st} {res}")
        st, res = s.admin("POST", "/v1/apps/shop/rollback")
        check(st == 409 and "no version before" in res.get("error", ""), f"nothing to roll back to: {st} {res}")
        st, res = s.admin("PATCH", "/v1/apps/shop")
        check(st == 405, f"wrong method: {st}")
        st, res = s.admin("GET", "/v2/things")
        check(st == 404, f"unknown endpoint: {st}")
        check(store_dump(data) == before, "store unchanged by all the refused requests")
        # The CLI prints the server's message.
        d = make_app(root, "shop", "v2")
        with open(os.path.join(d, "web.wasm"), "wb") as f:
            f.write(b"\0asm\1\0\0\0\x01\xff")
        rc, out, err = s.cli("deploy", d)
        check(rc == 1 and "not a valid WebAssembly module" in err, f"CLI shows the engine's message: {rc} {err}")
        check(s.proc.poll() is None, "server still running")
        st, res = s.admin("GET", "/v1/apps")
        check(st == 200 and [a["name"] for a in res["apps"]] == ["shop"], f"list after bad input: {res}")
    finally:
        s.stop()


def test_logs_follow(root):
    data = os.path.join(root, "data")
    s = Serve(data)
    try:
        check(s.cli("deploy", make_app(root, "shop", "v1"))[0] == 0, "deploy")
        for _ in range(3):
            s.get("/v?first")
        deadline = time.time() + 5
        out = ""
        while time.time() < deadline:
            rc, out, err = s.cli("logs", "shop")
            if out.count("served by v1") >= 3:
                break
            time.sleep(0.1)
        check(rc == 0 and out.count("served by v1") >= 3, f"guest stderr in the logs: {out}")
        check(re.search(r'"GET /v\?first HTTP/1.1" 200', out), f"access lines in the logs: {out}")
        check("admin: deployed version 1" in out, f"deploy event in the logs: {out}")
        rc, out, err = s.cli("logs", "shop", "--lines", "2")
        check(rc == 0 and len(out.splitlines()) == 2, f"--lines 2: {out!r}")
        rc, out, err = s.cli("logs", "nosuch")
        check(rc == 1 and "no app named" in err, f"logs of an unknown app: {rc} {err}")
        # --follow streams lines written after it started.
        e = dict(os.environ, WISP_TOKEN=s.token)
        p = subprocess.Popen([WISP, "logs", "shop", "--follow", "--lines", "0", "--server", s.url],
                             stdout=subprocess.PIPE, text=True, env=e)
        got = []

        def reader():
            for line in p.stdout:
                got.append(line)
                if sum("followed" in g for g in got) >= 2:
                    return

        t = threading.Thread(target=reader)
        t.start()
        # Requests keep coming until the follower has shown two of them (it
        # may attach after the first ones on a loaded machine).
        deadline = time.time() + 15
        while t.is_alive() and time.time() < deadline:
            s.get("/v?followed")
            time.sleep(0.2)
        p.terminate()
        p.wait()
        t.join(5)
        check(sum("followed" in g for g in got) >= 2, f"--follow streamed the new lines: {got}")
    finally:
        s.stop()


HTTP_APP = """\
spin_manifest_version = 2
[application]
name = "{name}"
[[trigger.http]]
route = "/c/..."
component = "hello"
[[trigger.http]]
route = "/v"
component = "web"
executor = {{ type = "wagi" }}
[component.hello]
source = "hello.wasm"
[component.web]
source = "web.wasm"
"""


def test_http_component(root):
    """A wasi:http component (examples/http-c/hello) deployed next to a WAGI
    module: served by every worker, through a redeploy, a restart and rm."""
    comp = os.environ.get("WISP_DEPLOY_HTTP_COMPONENT", "")
    if not os.path.exists(comp):
        print(f"SKIPPED: deploy/http_component: {comp or 'examples/http-c/hello.wasm'} not built (needs jco)")
        return
    d = os.path.join(root, "mixed")
    os.makedirs(d)
    with open(os.path.join(d, "wisp.toml"), "w") as f:
        f.write(HTTP_APP.format(name="mixed"))
    shutil.copy(comp, os.path.join(d, "hello.wasm"))
    shutil.copy(os.path.join(GUESTS, "v1.wasm"), os.path.join(d, "web.wasm"))
    data = os.path.join(root, "data")
    p = subprocess.run([WISP, "serve", "--data-dir", data, "--pool-slots", "0"], capture_output=True, text=True)
    check(p.returncode == 2 and "bad --pool-slots" in p.stderr, f"serve --pool-slots 0: {p.returncode} {p.stderr}")
    s = Serve(data, extra=("--pool-slots", "4", "--pool-slot-size", "64M"))
    try:
        rc, out, err = s.cli("deploy", d)
        check(rc == 0 and "/c/... -> hello" in out, f"deploy with a wasi:http component: {rc} {out} {err}")
        want = b"hello from a C component\n"
        check(all_are(bodies(s, "/c/x"), 200, want), f"every worker serves the component: {bodies(s, '/c/x', 2)}")
        check(all_are(bodies(s, "/v", 6), 200, b"v1\n"), "the WAGI route of the same app")
        shutil.copy(os.path.join(GUESTS, "v2.wasm"), os.path.join(d, "web.wasm"))
        rc, out, err = s.cli("deploy", d)
        check(rc == 0 and "version 2" in out, f"redeploy: {rc} {out} {err}")
        check(all_are(bodies(s, "/c/y"), 200, want) and all_are(bodies(s, "/v", 6), 200, b"v2\n"),
              "both routes after the redeploy")
    finally:
        s.stop()
    s = Serve(data)
    try:
        check(all_are(bodies(s, "/c/z"), 200, want), "the component is restored at restart")
        check(any(f.endswith(".wsnap") for f in os.listdir(os.path.join(data, "snapshots"))),
              "snapshot files are kept in DATA_DIR/snapshots")
        rc, out, err = s.cli("logs", "mixed")
        check(rc == 0 and "/c/z" in out, f"its requests are in the app's log: {rc} {out[-400:]} {err}")
        rc, out, err = s.cli("rm", "mixed")
        check(rc == 0, f"rm: {rc} {err}")
        check(all(st == 404 for st, _ in bodies(s, "/c/x", 6)), "route gone after rm")
    finally:
        s.stop()


TESTS = {name[5:]: fn for name, fn in globals().items() if name.startswith("test_")}

if __name__ == "__main__":
    name = sys.argv[4]
    root = tempfile.mkdtemp(prefix="wisp-deploy-test-")
    try:
        TESTS[name](root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("ok")

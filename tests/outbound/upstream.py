#!/usr/bin/env python3
"""A local upstream for the outbound HTTP tests (tests/outbound/test_outbound.c,
tests/http-out/). Listens on 127.0.0.1 on a free port and prints
"PORT <n> SILENT <m> TLS <t> CERT <file> OTHER <file2>" on stdout: n is the
HTTP server; m is a socket that listens with a backlog of 0 and never accepts
(once filled, connecting to it times out); t serves the same paths over TLS
with a self-signed certificate for 127.0.0.1 made with the openssl command,
file; file2 is another such certificate, served by nobody (a CA bundle that
does not trust t). 0 and "-" when there is no openssl. Runs until stdin closes (the test exits).

Paths:
  /hello                 200 "hello", X-Test: yes, X-Client-Port
  /status?code=N         N with an empty body
  /echo                  200, the request body back; X-Method, X-Saw-TE
                         (chunked/none), X-Saw-Length, X-Got-Accept,
                         X-Got-Custom (the x-custom request header)
  /big?n=N               N bytes, chunked: byte i is i % 251
  /slow-head?ms=M        waits M ms, then 200 "ok"
  /slow-body?ms=M        head and "first" at once, "second" after M ms
  /hang                  reads the request, never answers
  /short                 Content-Length: 100, sends 10 bytes, closes
  /garbage               a reply that is not HTTP
  /trailers              chunked "abc" with trailer X-Checksum: 123
"""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def query(self, name, default):
        values = parse_qs(urlparse(self.path).query).get(name)
        return int(values[0]) if values else default

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body, "chunked"
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length), "none"

    def send_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def handle_any(self):
        path = urlparse(self.path).path
        if path == "/hello":
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.send_header("X-Test", "yes")
            self.send_header("X-Client-Port", str(self.client_address[1]))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(b"hello")
        elif path == "/status":
            self.send_response(self.query("code", 200))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/echo":
            body, coding = self.read_body()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Method", self.command)
            self.send_header("X-Saw-TE", coding)
            self.send_header("X-Saw-Length", self.headers.get("Content-Length", "none"))
            self.send_header("X-Got-Accept", self.headers.get("Accept", "none"))
            self.send_header("X-Got-Custom", self.headers.get("X-Custom", "none"))
            self.end_headers()
            self.wfile.write(body)
        elif path == "/big":
            n = self.query("n", 1 << 20)
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            pattern = bytes(i % 251 for i in range(251 * 256))
            sent = 0
            while sent < n:
                piece = min(n - sent, 60000)
                start = sent % 251
                self.send_chunk(pattern[start:start + piece])
                sent += piece
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/slow-head":
            time.sleep(self.query("ms", 1000) / 1000)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        elif path == "/slow-body":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.send_chunk(b"first")
            time.sleep(self.query("ms", 1000) / 1000)
            self.send_chunk(b"second")
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/hang":
            time.sleep(60)
        elif path == "/short":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True
        elif path == "/garbage":
            self.wfile.write(b"this is not http\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
        elif path == "/trailers":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Checksum")
            self.end_headers()
            self.send_chunk(b"abc")
            self.wfile.write(b"0\r\nX-Checksum: 123\r\n\r\n")
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


class Server(ThreadingHTTPServer):
    request_queue_size = 256  # many clients connect at once
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that go away mid-answer are part of the tests


def main():
    server = Server(("127.0.0.1", 0), Handler)
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tls_port, cert, other = 0, "-", "-"
    workdir = tempfile.mkdtemp(prefix="wisp-upstream-")
    if shutil.which("openssl"):
        key, cert = os.path.join(workdir, "key.pem"), os.path.join(workdir, "cert.pem")
        other_key, other = os.path.join(workdir, "other-key.pem"), os.path.join(workdir, "other.pem")
        for k, c in ((key, cert), (other_key, other)):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                            "-nodes", "-keyout", k, "-out", c, "-days", "1", "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        tls = Server(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        tls.socket = context.wrap_socket(tls.socket, server_side=True)
        tls_port = tls.server_address[1]
        cert, other = os.path.abspath(cert), os.path.abspath(other)
        threading.Thread(target=tls.serve_forever, daemon=True).start()
    print("PORT %d SILENT %d TLS %d CERT %s OTHER %s" % (server.server_address[1], silent.getsockname()[1],
                                                        tls_port, cert, other), flush=True)
    sys.stdin.read()  # until the test closes our stdin (or exits)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

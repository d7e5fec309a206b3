#!/usr/bin/env python3
"""upstream.py: the upstream of proxy_test.py, on 127.0.0.1:PORT.

    upstream.py PORT

GET /f.txt answers "upstream file\\n" (text/plain); POST or PUT /echo answers
the request body (sent with content-length or chunked) with the request's content-type and method in x-method."""
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body, ctype="text/plain"):
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.send_header("x-method", self.command)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/f.txt":
            self.answer(200, b"upstream file\n")
        else:
            self.answer(404, b"no such file\n")

    def do_POST(self):
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                chunk = self.rfile.read(size + 2)[:size]
                if size == 0:
                    break
                body += chunk
        else:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
        self.answer(200, body, self.headers.get("content-type", "application/octet-stream"))

    do_PUT = do_POST

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()

"""front_client.py: a raw HTTP/1.1 client for the front's tests: requests
written byte for byte, responses (status, headers, body by Content-Length,
chunked coding with trailers, or connection close) parsed here."""
import re
import socket
import ssl


class Response:
    def __init__(self, version, status, headers, body, trailers):
        self.version, self.status, self.headers, self.body, self.trailers = version, status, headers, body, trailers

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


class Conn:
    """A raw client connection that parses responses itself."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def send(self, data):
        self.sock.sendall(data)

    def fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def closed(self, wait=5):
        """True if the server closes the connection (EOF or reset) within `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
                self.buf += d
        except socket.timeout:
            return False
        except (ConnectionError, ssl.SSLError):
            return True

    def response(self, method="GET"):
        status_line = self.line()
        m = re.match(rb"HTTP/(1\.[01]) (\d{3}) ?(.*)", status_line)
        if not m:
            raise ValueError(f"bad status line {status_line!r}")
        version, status = m.group(1).decode(), int(m.group(2))
        headers = []
        while True:
            h = self.line()
            if not h:
                break
            k, _, v = h.decode().partition(":")
            headers.append((k, v.strip()))
        r = Response(version, status, headers, b"", [])
        if status == 100:
            return r
        te, cl = r.header("transfer-encoding"), r.header("content-length")
        if method == "HEAD" or status in (204, 304):
            return r
        if te and te.lower() == "chunked":
            body = []
            while True:
                size = int(self.line().split(b";")[0], 16)
                if size == 0:
                    break
                body.append(self.take(size))
                self.take(2)
            while True:
                t = self.line()
                if not t:
                    break
                k, _, v = t.decode().partition(":")
                r.trailers.append((k, v.strip()))
            r.body = b"".join(body)
        elif cl is not None:
            r.body = self.take(int(cl))
        else:  # close-delimited
            try:
                while True:
                    self.fill()
            except EOFError:
                pass
            r.body, self.buf = self.buf, b""
        return r

    def close(self):
        self.sock.close()


def req(method, path, headers=(), body=b"", version="1.1"):
    head = f"{method} {path} HTTP/{version}\r\nHost: front.test\r\n"
    for k, v in headers:
        head += f"{k}: {v}\r\n"
    return head.encode() + b"\r\n" + body


def chunked(data, sizes, ext=b"", trailer=b""):
    out, i = b"", 0
    for n in sizes:
        out += b"%x%s\r\n" % (n, ext) + data[i:i + n] + b"\r\n"
        i += n
    return out + b"0\r\n" + trailer + b"\r\n"

# client.py PORT N: N GET /hello requests, one after the other on one keep-alive
# connection; exits non-zero unless each is answered 200 (bench/http/profile.sh).
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
req = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
buf = b""
for i in range(n):
    s.sendall(req)
    while True:
        h = buf.find(b"\r\n\r\n")
        if h >= 0:
            head = buf[:h].decode()
            cl = 0
            for line in head.split("\r\n")[1:]:
                k, v = line.split(":", 1)
                if k.lower() == "content-length": cl = int(v)
            if len(buf) >= h + 4 + cl:
                if not head.startswith("HTTP/1.1 200"): sys.exit("bad: " + head)
                buf = buf[h + 4 + cl:]
                break
        d = s.recv(65536)
        if not d: sys.exit("closed")
        buf += d
print("ok", n)

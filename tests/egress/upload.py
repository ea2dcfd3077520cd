#!/usr/bin/env python3
"""Upload SIZE bytes to the benchmark's sink server at HOST:PORT, through the CONNECT
proxy in $HTTPS_PROXY when set (credentials from the URL), and print bytes per second."""

import base64
import os
import socket
import struct
import sys
import time
import urllib.parse


def connect(target):
    host, port = target.rsplit(":", 1)
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    if not proxy:
        return socket.create_connection((host, int(port)))
    url = urllib.parse.urlsplit(proxy)
    sock = socket.create_connection((url.hostname, url.port))
    auth = ""
    if url.username:
        token = base64.b64encode(f"{url.username}:{url.password or ''}".encode()).decode()
        auth = f"Proxy-Authorization: Basic {token}\r\n"
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n{auth}\r\n".encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            sys.exit(f"proxy closed: {head!r}")
        head += byte
    if b" 200" not in head.split(b"\r\n")[0]:
        sys.exit(f"proxy refused: {head!r}")
    return sock


def main():
    target, size = sys.argv[1], int(sys.argv[2])
    sock = connect(target)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    chunk = memoryview(b"\x07" * (1 << 20))
    started = time.perf_counter()
    sock.sendall(b"U" + struct.pack(">Q", size))
    left = size
    while left > 0:
        n = min(left, len(chunk))
        sock.sendall(chunk[:n])
        left -= n
    if sock.recv(1) != b"K":
        sys.exit("no acknowledgement")
    print(size / (time.perf_counter() - started))


if __name__ == "__main__":
    main()

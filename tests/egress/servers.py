#!/usr/bin/env python3
"""Test servers for the egress proxy tests: plain HTTP and HTTPS (self-signed) serving a
folder, on one loopback address. Prints {"http": PORT, "https": PORT} on one line and
serves until its stdin closes (so it dies with the test process)."""

import functools
import http.server
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading


def main():
    host, root = sys.argv[1], sys.argv[2]
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=root)
    plain = http.server.ThreadingHTTPServer((host, 0), handler)
    secure = http.server.ThreadingHTTPServer((host, 0), handler)
    keys = tempfile.mkdtemp()
    cert, key = os.path.join(keys, "cert.pem"), os.path.join(keys, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=web.test",
         "-addext", "subjectAltName=DNS:web.test"],
        check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    secure.socket = context.wrap_socket(secure.socket, server_side=True)
    for server in (plain, secure):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"http": plain.server_address[1], "https": secure.server_address[1]}), flush=True)
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()

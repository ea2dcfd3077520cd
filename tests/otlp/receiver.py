#!/usr/bin/env python3
"""A real OTLP log receiver for Warden's tests (HTTP/protobuf and gRPC).

Built on the official `opentelemetry-proto` messages and `grpcio`. Every log record
received is appended to --out as one JSON line (the protobuf JSON mapping plus the
resource attributes). Prints "ready http=PORT grpc=PORT" once both listeners are up.

    python3 receiver.py --out received.jsonl [--http-port P] [--grpc-port P] [--count-only]
                        [--tls-cert PEM --tls-key PEM [--client-ca PEM]]

With --tls-cert both listeners speak TLS only; with --client-ca they also require a
client certificate signed by that CA (mutual TLS).
"""

import argparse
import json
import signal
import ssl
import sys
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc

lock = threading.Lock()
count_only = False
received = 0


def record(request, out_path, transport):
    global received
    if count_only:
        with lock:
            received += sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
            with open(out_path, "w", encoding="utf-8") as out:
                out.write(str(received))
        return
    with lock, open(out_path, "a", encoding="utf-8") as out:
        for resource_logs in request.resource_logs:
            resource = MessageToDict(resource_logs.resource)
            for scope_logs in resource_logs.scope_logs:
                for log in scope_logs.log_records:
                    entry = MessageToDict(log)
                    entry["resource"] = resource
                    entry["scope"] = scope_logs.scope.name
                    entry["transport"] = transport
                    out.write(json.dumps(entry) + "\n")


class LogsService(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, out_path):
        self.out_path = out_path

    def Export(self, request, context):  # noqa: N802 (gRPC method name)
        record(request, self.out_path, "grpc")
        return logs_service_pb2.ExportLogsServiceResponse()


def http_handler(out_path):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            if self.path != "/v1/logs":
                self.send_error(404)
                return
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            request = logs_service_pb2.ExportLogsServiceRequest()
            try:
                request.ParseFromString(body)
            except Exception as error:  # a malformed body is the sender's bug: say so
                self.send_error(400, str(error))
                return
            record(request, out_path, "http")
            response = logs_service_pb2.ExportLogsServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(response)))
            self.end_headers()
            self.wfile.write(response)

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--grpc-port", type=int, default=0)
    parser.add_argument("--count-only", action="store_true", help="only count records (for benchmarks)")
    parser.add_argument("--tls-cert", help="serve TLS with this PEM certificate chain")
    parser.add_argument("--tls-key", help="the certificate's PEM private key")
    parser.add_argument("--client-ca", help="require client certificates signed by this PEM CA")
    args = parser.parse_args()
    global count_only
    count_only = args.count_only

    http = ThreadingHTTPServer(("127.0.0.1", args.http_port), http_handler(args.out))
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            context.load_verify_locations(args.client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
        http.socket = context.wrap_socket(http.socket, server_side=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(LogsService(args.out), server)
    address = f"127.0.0.1:{args.grpc_port}"
    if args.tls_cert:
        def read(path):
            with open(path, "rb") as f:
                return f.read()

        credentials = grpc.ssl_server_credentials(
            [(read(args.tls_key), read(args.tls_cert))],
            root_certificates=read(args.client_ca) if args.client_ca else None,
            require_client_auth=bool(args.client_ca),
        )
        grpc_port = server.add_secure_port(address, credentials)
    else:
        grpc_port = server.add_insecure_port(address)
    server.start()

    print(f"ready http={http.server_address[1]} grpc={grpc_port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop(0)
    http.shutdown()
    sys.exit(0)


if __name__ == "__main__":
    main()

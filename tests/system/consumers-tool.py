#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Servers and clients for the consumer scenarios (tests/system/consumers.sh).

Run inside the test container with Debian's python3 and python3-grpcio.

Servers (each a transient unit of the scenario):
  api-backend PORT          plain HTTP/1.1 on loopback, the API behind HAProxy:
                            /healthz, /large?bytes=N&rate=R (N bytes at R bytes/s)
  grpc-backend PORT         plain (h2c) gRPC on loopback, behind nginx:
                            grpc.health.v1.Health/Check; service "slow" answers after 5 s

Clients (each prints one JSON object; the scenario decides what passes):
  handshakes MODE PORT CA STOP   fresh TLS connections in a loop until file STOP exists,
                                 each verified against CA; MODE http: GET /healthz (and
                                 each change of the served leaf: attempt, fingerprint, time),
                                 grpc: Health/Check on a new channel
  keepalive PORT CA STOP         one HTTP/1.1 connection, a request every 100 ms;
                                 a closed connection is noticed before the next request
  slow PORT CA PATH              one slow GET, read to the end
  grpc-check PORT CA [SERVICE]   one Health/Check, trusting only CA
  grpc-channel PORT CA STOP      one channel, a Check every 100 ms, until STOP
  grpc-slow PORT CA              Check of service "slow" (takes 5 s) on its own channel

The health messages are two protobuf fields, written and read here, so no
generated code is needed: HealthCheckRequest { string service = 1; } and
HealthCheckResponse { ServingStatus status = 1; } (SERVING = 1).
"""

import hashlib
import http.server
import json
import os
import select
import socket
import socketserver
import ssl
import sys
import time
import urllib.parse

SERVER_NAME = os.environ.get("VX_SERVER_NAME", "appliance.vertex.test")
CHECK = "/grpc.health.v1.Health/Check"
SERVING = 1


# ------------------------------------------------------------- protobuf by hand

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def encode_request(service):
    raw = service.encode()
    return (b"\x0a" + varint(len(raw)) + raw) if raw else b""


def decode_request(data):
    i, service = 0, ""
    while i < len(data):
        key, i = read_varint(data, i)
        if key >> 3 == 1 and key & 7 == 2:
            n, i = read_varint(data, i)
            service = data[i:i + n].decode()
            i += n
        elif key & 7 == 0:
            _, i = read_varint(data, i)
        else:
            raise ValueError("unexpected field in HealthCheckRequest")
    return service


def encode_response(status):
    return b"\x08" + varint(status)


def decode_response(data):
    i, status = 0, 0
    while i < len(data):
        key, i = read_varint(data, i)
        if key == 0x08:
            status, i = read_varint(data, i)
        else:
            raise ValueError("unexpected field in HealthCheckResponse")
    return status


# ---------------------------------------------------------------------- servers

class ApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/healthz":
            body = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if url.path == "/large":
            q = urllib.parse.parse_qs(url.query)
            size, rate = int(q["bytes"][0]), int(q["rate"][0])
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            chunk = rate // 10
            sent = 0
            while sent < size:
                n = min(chunk, size - sent)
                self.wfile.write(b"v" * n)
                sent += n
                time.sleep(0.1)
            return
        self.send_error(404)


class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def api_backend(port):
    ThreadingServer(("127.0.0.1", int(port)), ApiHandler).serve_forever()


def grpc_backend(port):
    import grpc
    from concurrent import futures

    def check(request, context):
        service = decode_request(request)
        if service == "slow":
            time.sleep(5)
        elif service not in ("", "vertex"):
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return encode_response(SERVING)

    handler = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
        "Check": grpc.unary_unary_rpc_method_handler(check),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), handlers=[handler])
    server.add_insecure_port("127.0.0.1:%s" % port)
    server.start()
    server.wait_for_termination()


# ---------------------------------------------------------------------- clients

def tls_context(ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=ca)
    return ctx


def tls_connect(port, ca, timeout=10):
    raw = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
    s = tls_context(ca).wrap_socket(raw, server_hostname=SERVER_NAME)
    fp = hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()
    return s, fp


def read_response(s):
    """One HTTP/1.1 response with Content-Length: (status, body, closed_by_server)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed after %d bytes of the response head" % len(data))
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = s.recv(min(1 << 20, length - len(body)))
        if not chunk:
            raise ConnectionError("closed after %d of %d body bytes" % (len(body), length))
        body += chunk
    return status, body, headers.get("connection", "").lower() == "close"


def request(path):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, SERVER_NAME)).encode()


def grpc_channel(port, ca):
    import grpc
    with open(ca, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    return grpc.secure_channel("127.0.0.1:%s" % port, creds,
                               options=[("grpc.ssl_target_name_override", SERVER_NAME),
                                        ("grpc.default_authority", SERVER_NAME)])


def grpc_call(channel, service="", timeout=10):
    check = channel.unary_unary(CHECK, request_serializer=encode_request,
                                response_deserializer=decode_response)
    return check(service, timeout=timeout)


def handshakes(mode, port, ca, stop):
    attempts, failures, errors, seen = 0, 0, [], []
    while not os.path.exists(stop):
        attempts += 1
        try:
            if mode == "grpc":
                with grpc_channel(port, ca) as ch:
                    if grpc_call(ch, "vertex") != SERVING:
                        raise RuntimeError("not SERVING")
                fp = None
            else:
                s, fp = tls_connect(port, ca)
                with s:
                    s.sendall(request("/healthz"))
                    status, _, _ = read_response(s)
                    if status != 200:
                        raise RuntimeError("status %d" % status)
            if fp and (not seen or seen[-1][1] != fp):
                seen.append((attempts, fp, time.time()))
        except Exception as e:  # every kind of failure counts
            failures += 1
            if len(errors) < 5:
                errors.append("%d: %r" % (attempts, e))
    print(json.dumps({"attempts": attempts, "failures": failures, "errors": errors,
                      "fingerprints": seen}))


def closed_by_peer(s):
    """Whether the server closed the idle connection cleanly (close_notify or EOF), without waiting.

    Raises ConnectionResetError for a reset. TLS 1.3 session tickets make the socket
    readable without any data: non-blocking, that is SSLWantReadError, still open.
    """
    if s.pending():
        raise RuntimeError("data nobody asked for")
    s.setblocking(False)
    try:
        data = s.recv(1)
    except ssl.SSLWantReadError:
        return False
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
        return True
    finally:
        s.settimeout(10)
    if data:
        raise RuntimeError("data nobody asked for")
    return True


def keepalive(port, ca, stop):
    answered = closed_idle = close_announced = failures = connections = 0
    errors, resets = [], 0
    s, _ = tls_connect(port, ca)
    connections += 1
    while not os.path.exists(stop):
        if closed_by_peer(s):
            closed_idle += 1
            s.close()
            s, _ = tls_connect(port, ca)
            connections += 1
        try:
            s.sendall(request("/healthz"))
            status, _, close = read_response(s)
            if status != 200:
                raise RuntimeError("status %d" % status)
            answered += 1
            if close:
                # Said so in the answer: closed between two requests, cleanly.
                close_announced += 1
                s.close()
                s, _ = tls_connect(port, ca)
                connections += 1
        except ConnectionResetError as e:
            resets += 1
            failures += 1
            errors.append(repr(e))
            s.close()
            s, _ = tls_connect(port, ca)
            connections += 1
        except Exception as e:
            failures += 1
            errors.append(repr(e))
            s.close()
            s, _ = tls_connect(port, ca)
            connections += 1
        time.sleep(0.1)
    s.close()
    print(json.dumps({"answered": answered, "closed_between": closed_idle + close_announced,
                      "closed_idle": closed_idle, "close_announced": close_announced, "failures": failures,
                      "resets": resets, "connections": connections, "errors": errors[:5]}))


def slow(port, ca, path):
    start = time.time()
    result = {"bytes": 0, "ok": False}
    try:
        s, fp = tls_connect(port, ca, timeout=60)
        result["fingerprint"] = fp
        with s:
            s.sendall(request(path))
            status, body, _ = read_response(s)
            result.update(status=status, bytes=len(body), ok=status == 200)
    except Exception as e:
        result["error"] = repr(e)
    result["start"], result["end"] = start, time.time()
    print(json.dumps(result))


def grpc_check(port, ca, service=""):
    import grpc
    try:
        with grpc_channel(port, ca) as ch:
            status = grpc_call(ch, service, timeout=10)
        print(json.dumps({"ok": status == SERVING, "status": status}))
    except grpc.RpcError as e:
        print(json.dumps({"ok": False, "code": str(e.code()), "details": e.details()}))


def grpc_persistent(port, ca, stop):
    calls = failures = 0
    errors = []
    with grpc_channel(port, ca) as ch:
        while not os.path.exists(stop):
            calls += 1
            try:
                if grpc_call(ch, "vertex") != SERVING:
                    raise RuntimeError("not SERVING")
            except Exception as e:
                failures += 1
                errors.append(repr(e))
            time.sleep(0.1)
    print(json.dumps({"calls": calls, "failures": failures, "errors": errors[:5]}))


def grpc_slow(port, ca):
    start = time.time()
    result = {"ok": False}
    try:
        with grpc_channel(port, ca) as ch:
            result["ok"] = grpc_call(ch, "slow", timeout=30) == SERVING
    except Exception as e:
        result["error"] = repr(e)
    result["start"], result["end"] = start, time.time()
    print(json.dumps(result))


COMMANDS = {
    "api-backend": api_backend,
    "grpc-backend": grpc_backend,
    "handshakes": handshakes,
    "keepalive": keepalive,
    "slow": slow,
    "grpc-check": grpc_check,
    "grpc-channel": grpc_persistent,
    "grpc-slow": grpc_slow,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])

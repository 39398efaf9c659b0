#!/usr/bin/env python3
"""A fault-injecting HTTP/1.1 proxy for S3 tests: sits between a client and an S3 server on
127.0.0.1 and, on a seeded-random share of requests, answers with a fault instead of (or in the
middle of) the server's answer. Python 3 standard library only.

    fault_proxy.py --upstream 127.0.0.1:PORT [--port 0] [--rate 0.2] [--kinds 500,503,...]
                   [--seed 1] [--match REGEX] [--max-faults N] [--port-file FILE]

Fault kinds (--kinds, comma-separated; default: all but "stall"):
  500         500 InternalError, the request never reaches the server
  503         503 ServiceUnavailable, never reaches the server
  slowdown    503 with <Code>SlowDown</Code>, never reaches the server
  reset       the connection is reset (RST) without any response
  reset-body  forwarded; the status line, headers and part of the body are sent, then RST
  truncate    forwarded; headers (with the full Content-Length) and part of the body are sent,
              then the connection is closed cleanly (FIN)
  stall       nothing is answered for --stall-seconds, then the connection is closed
A fault that needs a response body (reset-body, truncate) falls back to "reset" when the
server's answer has none. --rate 1 makes every request fail: the "faults never stop" case.

Requests are streamed both ways in 1 MiB blocks (Content-Length or chunked, 100 MB bodies are
fine). Client connections are kept alive even when the server closes after each answer (moto
does; Connection is hop-by-hop), and an injected 500/503 leaves them usable too. The Host header
is passed through unchanged, so the client signs for the proxy's host:port and the server checks
the signature against that same Host. "Expect: 100-continue" is answered by the proxy itself
and not forwarded; with an injected error the error comes instead, before the body, and the
connection is closed.

Control, on the proxy's own port (paths no S3 bucket can have):
  GET  /__fault_proxy/stats    JSON: requests seen, faults injected per kind, current settings
  POST /__fault_proxy/config   JSON body with any of rate, kinds, seed, match, max_faults:
                               changes the settings (and resets the stats) from now on
"""
import argparse
import json
import os
import random
import re
import socket
import socketserver
import struct
import sys
import threading
import time
import uuid

BLOCK = 1 << 20
ALL_KINDS = ["500", "503", "slowdown", "reset", "reset-body", "truncate", "stall"]
DEFAULT_KINDS = [k for k in ALL_KINDS if k != "stall"]
CONTROL_PREFIX = "/__fault_proxy/"

ERRORS = {
    "500": (500, "Internal Server Error", "InternalError",
            "We encountered an internal error. Please try again."),
    "503": (503, "Service Unavailable", "ServiceUnavailable",
            "Service is unable to handle request."),
    "slowdown": (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
}


class ClientGone(Exception):
    """The client closed or broke its connection."""


class Settings:
    """What to inject; shared by all connections, guarded by one lock."""

    def __init__(self, rate, kinds, seed, match, max_faults, stall_seconds):
        self.lock = threading.Lock()
        self.stall_seconds = stall_seconds
        self.configure(rate=rate, kinds=kinds, seed=seed, match=match, max_faults=max_faults)

    def configure(self, **kw):
        with self.lock:
            if "rate" in kw:
                rate = float(kw["rate"])
                if not 0 <= rate <= 1:
                    raise ValueError("rate must be within [0, 1]")
                self.rate = rate
            if "kinds" in kw:
                kinds = kw["kinds"]
                if isinstance(kinds, str):
                    kinds = [k for k in kinds.split(",") if k]
                bad = [k for k in kinds if k not in ALL_KINDS]
                if bad or not kinds:
                    raise ValueError(f"unknown fault kinds {bad}; known: {','.join(ALL_KINDS)}")
                self.kinds = list(kinds)
            if "seed" in kw:
                self.seed = int(kw["seed"])
            self.rng = random.Random(self.seed)
            if "match" in kw:
                self.match = re.compile(kw["match"]) if kw["match"] else None
            if "max_faults" in kw:
                self.max_faults = None if kw["max_faults"] in (None, "", -1) else int(kw["max_faults"])
            self.requests = 0
            self.faults = {k: 0 for k in ALL_KINDS}

    def pick(self, method, target):
        """The fault for this request, or None to pass it through."""
        with self.lock:
            self.requests += 1
            if self.match and not self.match.search(f"{method} {target}"):
                return None
            if self.max_faults is not None and sum(self.faults.values()) >= self.max_faults:
                return None
            # Draw both numbers every time so the sequence depends on the seed only.
            r, kind = self.rng.random(), self.rng.choice(self.kinds)
            if r >= self.rate:
                return None
            self.faults[kind] += 1
            return kind

    def cut(self, n):
        """How many of n body bytes a truncated answer keeps: 0..n-1."""
        with self.lock:
            return self.rng.randrange(0, n)

    def stats(self):
        with self.lock:
            return {
                "requests": self.requests,
                "faults": dict(self.faults),
                "faults_total": sum(self.faults.values()),
                "rate": self.rate,
                "kinds": self.kinds,
                "seed": self.seed,
                "match": self.match.pattern if self.match else "",
                "max_faults": self.max_faults,
            }


def reset(sock):
    """Closes with RST instead of FIN: what a dropped connection looks like to the client."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def read_head(rfile):
    """Reads a start line and headers; returns (start_line, [(name, value)]) or None at EOF."""
    line = rfile.readline(65537)
    while line in (b"\r\n", b"\n"):  # tolerate stray blank lines between messages
        line = rfile.readline(65537)
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise ValueError("start line too long or cut")
    headers = []
    while True:
        h = rfile.readline(65537)
        if not h:
            raise ValueError("connection closed inside headers")
        if h in (b"\r\n", b"\n"):
            break
        name, sep, value = h.decode("latin-1").partition(":")
        if not sep:
            raise ValueError(f"bad header line {h!r}")
        headers.append((name.strip(), value.strip()))
    return line.decode("latin-1").rstrip("\r\n"), headers


def header(headers, name):
    name = name.lower()
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def encode_head(start_line, headers):
    out = [start_line]
    out += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


def body_framing(headers):
    """('chunked', None), ('length', N) or ('none', 0) for a request body."""
    te = header(headers, "Transfer-Encoding")
    if te and "chunked" in te.lower():
        return "chunked", None
    cl = header(headers, "Content-Length")
    if cl is not None:
        return "length", int(cl)
    return "none", 0


def copy_length(rfile, write, n):
    while n > 0:
        block = rfile.read(min(BLOCK, n))
        if not block:
            raise ConnectionError("peer closed in the middle of a body")
        write(block)
        n -= len(block)


def copy_chunked(rfile, write):
    """Copies a chunked body, chunk lines and trailers included, byte for byte."""
    while True:
        line = rfile.readline(65537)
        if not line:
            raise ConnectionError("peer closed in the middle of a chunked body")
        write(line)
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while True:  # trailers up to the blank line
                t = rfile.readline(65537)
                if not t:
                    raise ConnectionError("peer closed in chunked trailers")
                write(t)
                if t in (b"\r\n", b"\n"):
                    return
        copy_length(rfile, write, size + 2)  # data and its CRLF


def discard(_):
    pass


class Upstream:
    """One kept-alive connection to the server, opened on demand."""

    def __init__(self, host, port):
        self.addr = (host, port)
        self.sock = None
        self.rfile = None

    def connect(self):
        if self.sock is not None and self.closed_by_peer():
            self.close()
        if self.sock is None:
            self.sock = socket.create_connection(self.addr, timeout=300)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.rfile = self.sock.makefile("rb", buffering=BLOCK)
        return self.sock

    def closed_by_peer(self):
        """Whether the server has closed this kept-alive connection while it was idle."""
        timeout = self.sock.gettimeout()
        self.sock.setblocking(False)  # a socket with a timeout would wait for data instead
        try:
            return self.sock.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True
        finally:
            self.sock.settimeout(timeout)

    def close(self):
        if self.sock is not None:
            try:
                self.rfile.close()
                self.sock.close()
            except OSError:
                pass
        self.sock = self.rfile = None


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.request.makefile("rb", buffering=BLOCK)
        self.upstream = Upstream(*self.server.upstream)
        self.log = self.server.log

    def finish(self):
        self.upstream.close()
        try:
            self.rfile.close()
        except OSError:
            pass

    def send(self, data):
        try:
            self.request.sendall(data)
        except OSError as e:
            raise ClientGone() from e

    def handle(self):
        try:
            while self.one_request():
                pass
        except (ClientGone, ConnectionError, ValueError, OSError) as e:
            if not isinstance(e, ClientGone):
                self.log(f"connection dropped: {e}")
        finally:
            try:
                self.request.close()
            except OSError:
                pass

    def one_request(self):
        """Serves one request; returns whether the client connection stays open."""
        head = read_head(self.rfile)
        if head is None:
            return False
        start, headers = head
        method, target, version = (start.split(" ", 2) + ["", ""])[:3]
        framing, length = body_framing(headers)
        client_close = (header(headers, "Connection") or "").lower() == "close" or \
            version == "HTTP/1.0"
        expect = (header(headers, "Expect") or "").lower() == "100-continue"
        headers = [(k, v) for k, v in headers if k.lower() != "expect"]

        if target.startswith(CONTROL_PREFIX):
            return self.control(method, target, framing, length, expect) and not client_close

        kind = self.server.settings.pick(method, target)
        if kind is not None:
            self.log(f"fault {kind}: {method} {target}")

        if kind == "reset":
            reset(self.request)
            return False
        if kind == "stall":
            time.sleep(self.server.settings.stall_seconds)
            return False
        if kind in ERRORS:
            status, reason, code, message = ERRORS[kind]
            if expect:
                # Answer before the body comes, as S3 does, and close: the client may or may not
                # send the body now, so this connection cannot carry another request.
                self.send_error_xml(method, status, reason, code, message, target, close=True)
                return False
            self.read_body(framing, length, discard)
            self.send_error_xml(method, status, reason, code, message, target, close=client_close)
            return not client_close

        # Forward the request.
        if expect:
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        for attempt in (1, 2):
            fresh = self.upstream.sock is None
            try:
                up = self.upstream.connect()
                up.sendall(encode_head(start, headers))
                break
            except OSError:
                self.upstream.close()
                if fresh or attempt == 2:
                    raise
        try:
            self.read_body(framing, length, up.sendall)
        except ClientGone:
            self.upstream.close()
            raise
        return self.relay_response(method, kind, client_close)

    def read_body(self, framing, length, write):
        try:
            if framing == "chunked":
                copy_chunked(self.rfile, write)
            elif framing == "length":
                copy_length(self.rfile, write, length)
        except ConnectionError as e:
            raise ClientGone() from e

    def relay_response(self, method, kind, client_close):
        up = self.upstream
        while True:
            head = read_head(up.rfile)
            if head is None:
                up.close()
                raise ConnectionError("server closed without answering")
            status_line, headers = head
            status = int(status_line.split(" ", 2)[1])
            if status >= 200 or status == 101:
                break  # 1xx interim answers are dropped (we stripped Expect)
        # Connection is hop-by-hop: when the server closes after each answer (moto does), the
        # proxy still keeps the client's connection alive, as S3 does, and reconnects upstream.
        upstream_close = (header(headers, "Connection") or "").lower() == "close"
        if upstream_close:
            headers = [(k, v) for k, v in headers if k.lower() != "connection"]
        te = header(headers, "Transfer-Encoding")
        cl = header(headers, "Content-Length")
        if method == "HEAD" or status in (204, 304):
            framing, length = "none", 0
        elif te and "chunked" in te.lower():
            framing, length = "chunked", None
        elif cl is not None:
            framing, length = "length", int(cl)
        else:
            framing, length = "eof", None

        if kind in ("truncate", "reset-body"):
            if framing == "length" and length > 0:
                cut = self.server.settings.cut(length)
                self.send(encode_head(status_line, headers))
                copy_length(up.rfile, self.send, cut)
            elif framing == "chunked":
                # The first chunk's size line and part of its data.
                self.send(encode_head(status_line, headers))
                line = up.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                self.send(line)
                copy_length(up.rfile, self.send, self.server.settings.cut(size) if size else 0)
            elif framing == "eof":
                self.send(encode_head(status_line, headers))
                block = up.rfile.read1(BLOCK)
                self.send(block[: max(0, len(block) - 1)])
            up.close()  # the rest of its answer was never read
            if kind == "truncate" and framing != "none" and not (framing == "length" and length == 0):
                try:
                    self.request.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self.request.close()
            else:
                reset(self.request)
            return False

        if framing == "eof":  # the body ends where the connection does
            headers = [(k, v) for k, v in headers if k.lower() != "connection"]
            headers.append(("Connection", "close"))
        self.send(encode_head(status_line, headers))
        if framing == "length":
            copy_length(up.rfile, self.send, length)
        elif framing == "chunked":
            copy_chunked(up.rfile, self.send)
        elif framing == "eof":
            while True:
                block = up.rfile.read1(BLOCK)
                if not block:
                    break
                self.send(block)
            up.close()
            return False
        if upstream_close:
            up.close()
        return not client_close

    def send_error_xml(self, method, status, reason, code, message, target, close):
        request_id = uuid.uuid4().hex[:16].upper()
        resource = target.split("?", 1)[0]
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{message}</Message>"
                f"<Resource>{resource}</Resource><RequestId>{request_id}</RequestId></Error>"
                ).encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id),
                   ("Content-Length", "0" if method == "HEAD" else str(len(body)))]
        if close:
            headers.append(("Connection", "close"))
        self.send(encode_head(f"HTTP/1.1 {status} {reason}", headers))
        if method != "HEAD":
            self.send(body)

    def control(self, method, target, framing, length, expect):
        if expect:
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        chunks = []
        self.read_body(framing, length, chunks.append)
        path = target.split("?", 1)[0]
        status, reply = 200, None
        try:
            if path == CONTROL_PREFIX + "stats" and method == "GET":
                reply = self.server.settings.stats()
            elif path == CONTROL_PREFIX + "config" and method in ("POST", "PUT"):
                conf = json.loads(b"".join(chunks) or b"{}")
                unknown = set(conf) - {"rate", "kinds", "seed", "match", "max_faults"}
                if unknown:
                    raise ValueError(f"unknown settings {sorted(unknown)}")
                self.server.settings.configure(**conf)
                reply = self.server.settings.stats()
                self.log(f"configured: {json.dumps(conf)}")
            else:
                status, reply = 404, {"error": f"no control endpoint {method} {path}"}
        except (ValueError, TypeError, re.error) as e:
            status, reply = 400, {"error": str(e)}
        body = (json.dumps(reply) + "\n").encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
        self.send(encode_head(f"HTTP/1.1 {status} {reason}", [
            ("Content-Type", "application/json"), ("Content-Length", str(len(body)))]))
        self.send(body)
        return True


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def parse_upstream(text):
    host, _, port = text.rpartition(":")
    if host not in ("", "127.0.0.1", "localhost"):
        raise argparse.ArgumentTypeError("the upstream must be on 127.0.0.1")
    return "127.0.0.1", int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True, type=parse_upstream,
                    help="the server, 127.0.0.1:PORT (or just PORT)")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--rate", type=float, default=0.2, help="share of requests that fail (0..1)")
    ap.add_argument("--kinds", default=",".join(DEFAULT_KINDS),
                    help=f"comma-separated fault kinds out of {','.join(ALL_KINDS)}")
    ap.add_argument("--seed", type=int, default=1, help="random seed")
    ap.add_argument("--match", default="",
                    help="only requests whose 'METHOD /path?query' matches this regex may fail")
    ap.add_argument("--max-faults", type=int, default=None,
                    help="stop injecting after this many faults (default: never)")
    ap.add_argument("--stall-seconds", type=float, default=30.0)
    ap.add_argument("--quiet", action="store_true", help="do not log each fault")
    args = ap.parse_args()

    try:
        settings = Settings(args.rate, args.kinds, args.seed, args.match, args.max_faults,
                            args.stall_seconds)
    except (ValueError, re.error) as e:
        ap.error(str(e))

    server = Server(("127.0.0.1", args.port), Handler)
    server.upstream = args.upstream
    server.settings = settings
    log_lock = threading.Lock()

    def log(msg):
        if args.quiet and msg.startswith("fault "):
            return
        with log_lock:
            print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)

    server.log = log
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"fault_proxy listening on 127.0.0.1:{port} -> {args.upstream[0]}:{args.upstream[1]} "
          f"rate={settings.rate} kinds={','.join(settings.kinds)} seed={settings.seed}",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""An HTTP/1.1 echo server on 127.0.0.1 for the fault proxy's self-test: it answers every
request with the request's body, de-chunked, sent back chunked when the query holds "chunked"
and with a Content-Length otherwise. moto cannot serve here: it stores chunked uploads as
empty objects and never answers chunked.
    echo_upstream.py PORT_FILE        (listens on a free port, writes it to PORT_FILE)
"""
import os
import socketserver
import sys
from http.server import BaseHTTPRequestHandler


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def answer(self):
        data = self.body()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if "chunked" in self.path:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            step = 65536
            for i in range(0, len(data), step):
                piece = data[i:i + step]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = answer


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", 0), Echo)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()

#!/usr/bin/python3
"""Servers for t/processor_test.c, on 127.0.0.1 only.

  procserver.py https DIR PORT CERT KEY   static files of DIR over TLS
  procserver.py echo PORT                 the HTTP processor's peer:
      /status/N      answers status N, body "status N"
      /sleep/S       sleeps S seconds, then 200 "slept"
      /echo          200, body: METHOD|content-type|X-Test header|body
"""
import functools
import http.server
import ssl
import sys
import time


class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode(errors="replace") if n else ""
        parts = self.path.split("/")
        if len(parts) == 3 and parts[1] == "status":
            self.answer(int(parts[2]), "status " + parts[2])
        elif len(parts) == 3 and parts[1] == "sleep":
            time.sleep(float(parts[2]))
            self.answer(200, "slept")
        elif self.path == "/echo":
            self.answer(200, "|".join([
                self.command,
                self.headers.get("Content-Type") or "",
                self.headers.get("X-Test") or "",
                body]))
        else:
            self.answer(404, "no such path")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


def main():
    if sys.argv[1] == "https":
        d, port, cert, key = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
        handler = functools.partial(
            http.server.SimpleHTTPRequestHandler, directory=d)
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    else:
        srv = http.server.ThreadingHTTPServer(
            ("127.0.0.1", int(sys.argv[2])), Echo)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""A small HTTP/1.1 file server for the web-seed captures (lab addresses only).

usage: webseed_server.py --bind IP --port PORT --root DIR [--seed-file FILE --piece-length N]

Serves DIR with keep-alive and single byte ranges (RFC 9110 "Range: bytes=a-b", "a-",
"-n"; 206 with Content-Range, 416 outside the file), which Python's http.server does not.
With --seed-file, GET /seed?info_hash=...&piece=N[&ranges=a-b,...] answers as a BEP 17
(Hoffman-style) HTTP seed: the bytes of piece N of FILE, or the given ranges within it.
Logs each request line and its headers to stderr, so a capture script can show what each
client sent.
"""
import argparse, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs, unquote

ap = argparse.ArgumentParser()
ap.add_argument("--bind", required=True); ap.add_argument("--port", type=int, required=True)
ap.add_argument("--root", required=True); ap.add_argument("--seed-file")
ap.add_argument("--piece-length", type=int, default=32768)
a = ap.parse_args()


def parse_range(value, size):
    """(first, last) for one "bytes=" range, None if absent/unsupported, False if unsatisfiable."""
    if not value or not value.startswith("bytes=") or "," in value:
        return None
    first, _, last = value[6:].strip().partition("-")
    try:
        if first == "":
            n = int(last)
            return (max(0, size - n), size - 1) if n > 0 else False
        f = int(first)
        l = int(last) if last else size - 1
    except ValueError:
        return None
    if f >= size or l < f:
        return False
    return f, min(l, size - 1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lab-webseed/1"

    def log_message(self, fmt, *args):
        pass

    def send_bytes(self, status, body, extra=(), head=False):
        self.send_response(status)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        sys.stderr.write(f"{self.client_address[0]} {self.requestline}\n{self.headers}")
        sys.stderr.flush()
        url = urlsplit(self.path)
        if a.seed_file and url.path == "/seed":
            return self.hoffman(parse_qs(url.query), head)
        path = os.path.realpath(os.path.join(a.root, unquote(url.path).lstrip("/")))
        if not path.startswith(os.path.realpath(a.root)) or not os.path.isfile(path):
            return self.send_bytes(404, b"not found\n", head=head)
        data = open(path, "rb").read()
        r = parse_range(self.headers.get("Range"), len(data))
        common = [("Accept-Ranges", "bytes"), ("Content-Type", "application/octet-stream")]
        if r is False:
            return self.send_bytes(416, b"", [("Content-Range", f"bytes */{len(data)}")], head)
        if r is None:
            return self.send_bytes(200, data, common, head)
        f, l = r
        self.send_bytes(206, data[f:l + 1], common + [("Content-Range", f"bytes {f}-{l}/{len(data)}")], head)

    def hoffman(self, q, head):
        data = open(a.seed_file, "rb").read()
        try:
            piece = int(q["piece"][0])
        except (KeyError, ValueError):
            return self.send_bytes(400, b"bad piece\n", head=head)
        start = piece * a.piece_length
        chunk = data[start:start + a.piece_length]
        if not chunk:
            return self.send_bytes(404, b"no such piece\n", head=head)
        if "ranges" in q:
            out = b""
            for r in q["ranges"][0].split(","):
                f, _, l = r.partition("-")
                out += chunk[int(f):int(l) + 1]
            chunk = out
        self.send_bytes(200, chunk, [("Content-Type", "application/octet-stream")], head)


ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer((a.bind, a.port), Handler).serve_forever()

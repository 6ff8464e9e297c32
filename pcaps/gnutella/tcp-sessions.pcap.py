#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes tcp-sessions.pcap: Gnutella TCP connections as servents run them after (or
around) the handshake, each on a random port:
  1. a 0.6 handshake whose every leg is split over segments ("GNUT" / "ELLA CONNECT/0.6..."),
     negotiating "Content-Encoding: deflate" both ways, then the binary message stream as
     zlib-compressed data (sync-flushed per batch, as servents write it);
  2. a capture that starts mid-stream (no SYN, no handshake): binary Ping with GGEP, Pong
     with GGEP, Query, Query Hit, Push, Query Routing RESET and PATCH and vendor messages,
     several messages per segment and one Query Hit running over a segment boundary, both
     directions;
  3. the same mid-stream, with Nagle-style coalescing splitting a message header itself
     over two segments;
  4. an HTTP download of a shared file by index (GET /get/<index>/<name>) whose request
     asks for a queue slot (X-Queue) and whose answer names the content by URN and lists
     alternate locations (X-Gnutella-Content-URN, X-Alt);
  5. an HTTP upload answer to a request whose only Gnutella header is a lower-case
     "x-alt:" (header names are case-insensitive).
Synthetic (no Gnutella client in Debian 12), from the Gnutella 0.6 RFC draft, GGEP, QRP
and HUGE (see ../tools/gnutella_synth.py).

  /usr/bin/python3 pcaps/gnutella/tcp-sessions.pcap.py pcaps/gnutella/tcp-sessions.pcap
"""
import os
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import gnutella_synth as g  # noqa: E402
from p2p_synth import Capture  # noqa: E402

cap = Capture(seed=6360)
A, B = "192.0.2.51", "198.51.100.52"
servent = cap.rand(16)


def guid():
    return cap.rand(16)


# 1. Split handshake, deflate negotiated, compressed message stream.
hello = (b"GNUTELLA CONNECT/0.6\r\nUser-Agent: LimeWire/4.18.8\r\nX-Ultrapeer: False\r\n"
         b"Accept-Encoding: deflate\r\nX-Query-Routing: 0.2\r\n\r\n")
answer = (b"GNUTELLA/0.6 200 OK\r\nUser-Agent: LimeWire/4.18.8\r\nX-Ultrapeer: True\r\n"
          b"Accept-Encoding: deflate\r\nContent-Encoding: deflate\r\n\r\n")
final = b"GNUTELLA/0.6 200 OK\r\nContent-Encoding: deflate\r\n\r\n"
up, down = zlib.compressobj(), zlib.compressobj()


def deflated(z, *messages):
    return z.compress(b"".join(messages)) + z.flush(zlib.Z_SYNC_FLUSH)


cap.tcp(A, B, 44001, 27115, [
    (True, hello[:4]), (True, hello[4:30]), (True, hello[30:]),
    (False, answer[:9]), (False, answer[9:]),
    (True, final),
    (True, deflated(up, g.header(guid(), g.ROUTE_TABLE, 1, 0, g.qrp_reset()),
                    g.header(guid(), g.ROUTE_TABLE, 1, 0, g.qrp_patch(1, 1, cap.rand(40))))),
    (False, deflated(down, g.header(guid(), g.PING, 1, 0, b""))),
    (True, deflated(up, g.header(guid(), g.PONG, 1, 0, g.pong(27115, A, 40, 81920)),
                    g.header(guid(), g.QUERY, 3, 0, g.query(b"free jazz")))),
])

# 2. Mid-stream binary session.
ping_ggep = g.ggep([(b"SCP", b"\x01")])
pong_ggep = g.ggep([(b"DU", b"\x10\x0e"), (b"UP", b"\x00\x1e\x04"), (b"VC", b"LIME\x48")])
hit = g.header(guid(), g.QUERY_HIT, 5, 2, g.query_hit(
    6346, "203.0.113.77", [(4, 3_400_112, b"jazz live.ogg"), (9, 1_804_000, b"jazz.mp3")],
    servent))
stream_down = [
    g.header(guid(), g.PING, 1, 0, ping_ggep) + g.header(guid(), g.QUERY, 3, 1,
                                                        g.query(b"jazz", g.ggep([(b"M", b"\x04")]))),
    g.header(guid(), g.VENDOR, 1, 0, g.vendor(b"LIME", 11, 2, b"\x01")) + hit[:40],
    hit[40:] + g.header(guid(), g.PUSH, 6, 1, g.push(servent, 9, "203.0.113.78", 6346)),
]
stream_up = [
    g.header(guid(), g.PONG, 1, 0, g.pong(6346, A, 120, 512000, pong_ggep)),
    g.header(guid(), g.ROUTE_TABLE, 1, 0, g.qrp_reset()) +
    g.header(guid(), g.ROUTE_TABLE, 1, 0, g.qrp_patch(1, 2, cap.rand(64))),
    g.header(guid(), g.ROUTE_TABLE, 1, 0, g.qrp_patch(2, 2, cap.rand(64))),
]
cap.tcp(A, B, 44002, 6346, [
    (False, stream_down[0]), (True, stream_up[0]), (False, stream_down[1]),
    (True, stream_up[1]), (False, stream_down[2]), (True, stream_up[2]),
], start=False)

# 3. Mid-stream, a header split over two segments.
q1 = g.header(guid(), g.QUERY, 4, 0, g.query(b"lecture notes"))
q2 = g.header(guid(), g.QUERY, 4, 1, g.query(b"field recordings"))
q3 = g.header(guid(), g.QUERY, 3, 2, g.query(b"", b"urn:sha1:PLSTHIPQGSSZTS5FJUPAKUZWUGYQYPFB"))
joined = q1 + q2 + q3
cut = len(q1) + 19  # inside q2's length field
cap.tcp(A, B, 44003, 6348, [
    (True, joined[:cut]), (False, g.header(guid(), g.PING, 1, 0, b"")),
    (True, joined[cut:]),
], start=False)

# 4. HTTP download; the servent's answer names the content by URN and lists alternates.
cap.tcp(A, B, 44004, 6349, [
    (True, b"GET /get/9/jazz.mp3 HTTP/1.1\r\nHost: 198.51.100.52:6349\r\nUser-Agent: "
           b"LimeWire/4.18.8\r\nRange: bytes=0-99999\r\nX-Queue: 0.1\r\n\r\n"),
    (False, b"HTTP/1.1 206 Partial Content\r\nServer: LimeWire/4.18.8\r\nContent-Type: "
            b"application/binary\r\nX-Gnutella-Content-URN: urn:sha1:PLSTHIPQGSSZTS5FJUPAKUZWUGYQYPFB"
            b"\r\nX-Alt: 203.0.113.90:6346,203.0.113.91\r\nContent-Range: bytes 0-99999/1804000\r\n"
            b"Content-Length: 100000\r\n\r\n" + cap.rand(600)),
])

# 5. HTTP request with a lower-case alternate-location header.
cap.tcp(A, B, 44005, 6350, [
    (True, b"GET /uri-res/N2X?urn:sha1:PLSTHIPQGSSZTS5FJUPAKUZWUGYQYPFB HTTP/1.1\r\n"
           b"Host: 198.51.100.52:6350\r\nx-alt: 203.0.113.92:6346\r\n\r\n"),
    (False, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
])
cap.write()

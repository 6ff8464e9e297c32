#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes lookalike-streams.pcap: TCP that resembles Gnutella sessions but is not (none
of it may be labelled gnutella):
  1. a generic zlib stream on a random port (a compressed backup upload answered by a
     compressed status stream), seen from its SYN;
  2. the same kind of zlib stream captured mid-stream;
  3. a plain HTTP download on a random port (Range request, partial answer, ETag);
  4. mid-stream, one forged segment holding three well-chained Gnutella messages while
     the rest of the flow, in both directions, is other data;
  5. mid-stream, a file upload whose content is a chain of Gnutella messages (the sender
     controls its direction), the other direction plain text acknowledgements;
  6. a connection seen from its SYN that carries chained binary Gnutella messages in both
     directions without any handshake (a real servent connection opens with one);
  7. mid-stream, records with a 23-byte header-shaped prefix whose length fields are one
     byte off, so the chain breaks at the second message in both directions.
Synthetic, from the Gnutella 0.6 draft (see ../tools/gnutella_synth.py).

  /usr/bin/python3 pcaps/gnutella/lookalike-streams.pcap.py pcaps/gnutella/lookalike-streams.pcap
"""
import os
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import gnutella_synth as g  # noqa: E402
from p2p_synth import Capture  # noqa: E402

cap = Capture(seed=6390)
A, B = "192.0.2.81", "203.0.113.82"


def guid():
    return cap.rand(16)


def zstream(chunks):
    z = zlib.compressobj()
    return [z.compress(c) + z.flush(zlib.Z_SYNC_FLUSH) for c in chunks]


text = [b"backup chunk %d: " % i + bytes(cap.rng.randrange(97, 123) for _ in range(900))
        for i in range(4)]
up = zstream(text)
down = zstream([b"stored %d\n" % i for i in range(4)])
exchanges = [x for pair in zip([(True, u) for u in up], [(False, d) for d in down]) for x in pair]
cap.tcp(A, B, 45001, 31337, exchanges)
cap.tcp(A, B, 45002, 31338, exchanges, start=False)

cap.tcp(A, B, 45003, 8088, [
    (True, b"GET /downloads/archive.tar.gz HTTP/1.1\r\nHost: 203.0.113.82:8088\r\n"
           b"Range: bytes=0-1023\r\nUser-Agent: Wget/1.21.3\r\n\r\n"),
    (False, b"HTTP/1.1 206 Partial Content\r\nETag: \"5f3a-1c\"\r\nContent-Range: bytes 0-1023/"
            b"7230\r\nContent-Length: 1024\r\n\r\n" + cap.rand(700)),
])

three = (g.header(guid(), g.PING, 1, 0, b"") + g.header(guid(), g.QUERY, 3, 0, g.query(b"x")) +
         g.header(guid(), g.PONG, 1, 0, g.pong(6346, A, 1, 1)))
cap.tcp(A, B, 45004, 6346, [
    (True, cap.rand(300)), (False, cap.rand(200)), (True, three), (False, cap.rand(200)),
    (True, cap.rand(300)), (False, cap.rand(120)),
], start=False)

upload = b"".join(g.header(guid(), g.QUERY, 3, 0, g.query(b"item %d" % i)) for i in range(30))
pieces = [upload[i:i + 300] for i in range(0, len(upload), 300)][:6]
cap.tcp(A, B, 45005, 8080, [x for k, piece in enumerate(pieces)
                            for x in ((True, piece), (False, b"ACK %d\r\n" % k))], start=False)

chain_up = [g.header(guid(), g.PING, 1, 0, b""), g.header(guid(), g.QUERY, 3, 0, g.query(b"a")),
            g.header(guid(), g.QUERY, 3, 0, g.query(b"b"))]
chain_down = [g.header(guid(), g.PONG, 1, 0, g.pong(6346, B, 5, 5)),
              g.header(guid(), g.PONG, 1, 0, g.pong(6346, B, 6, 6))]
cap.tcp(A, B, 45006, 6347, [
    (True, chain_up[0]), (False, chain_down[0]), (True, chain_up[1] + chain_up[2]),
    (False, chain_down[1]),
])


def off_by_one(kind, payload):
    m = bytearray(g.header(guid(), kind, 1, 0, payload))
    m[19:23] = g.le32(len(payload) + 1)
    return bytes(m)


records = [off_by_one(g.PING, b"") + off_by_one(g.PING, b"") for _ in range(4)]
cap.tcp(A, B, 45007, 6348, [
    (True, records[0]), (False, records[1]), (True, records[2]), (False, records[3]),
], start=False)
cap.write()

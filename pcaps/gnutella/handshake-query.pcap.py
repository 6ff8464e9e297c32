#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes handshake-query.pcap: a Gnutella 0.6 servent connection on a random port
(three-way "GNUTELLA CONNECT/0.6" handshake, then a Ping and a Query message), a push
answer ("GIV"), a HUGE file request by URN, and UDP Ping/Pong plus a GND fragment.
Synthetic (no Gnutella client in Debian 12), from the Gnutella 0.6 draft, HUGE and the
GND UDP layer description.

  /usr/bin/python3 pcaps/gnutella/handshake-query.pcap.py pcaps/gnutella/handshake-query.pcap
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from p2p_synth import Capture, le32  # noqa: E402

cap = Capture(seed=6346)
A, B = "192.0.2.31", "198.51.100.32"


def message(guid, kind, ttl, hops, payload):
    return guid + bytes([kind, ttl, hops]) + le32(len(payload)) + payload


guid = cap.rand(16)
cap.tcp(A, B, 43001, 23561, [
    (True, b"GNUTELLA CONNECT/0.6\r\nUser-Agent: synth/1.0\r\nX-Ultrapeer: False\r\n\r\n"),
    (False, b"GNUTELLA/0.6 200 OK\r\nUser-Agent: synth/1.0\r\nX-Ultrapeer: True\r\n\r\n"),
    (True, b"GNUTELLA/0.6 200 OK\r\n\r\n"),
    (True, message(guid, 0x00, 1, 0, b"")),
    (True, message(cap.rand(16), 0x80, 4, 0, b"\x00\x00free music\x00")),
])
cap.tcp(A, B, 43002, 23562, [(True, b"GIV 7:" + cap.rand(16).hex().encode() + b"/track.ogg\n\n")])
cap.tcp(A, B, 43003, 23563, [
    (True, b"GET /uri-res/N2R?urn:sha1:PLSTHIPQGSSZTS5FJUPAKUZWUGYQYPFB HTTP/1.1\r\nHost: b\r\n\r\n"),
    (False, b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndata"),
])
ping_guid = cap.rand(16)
cap.udp(A, B, 43004, 23564, [
    (True, message(ping_guid, 0x00, 1, 0, b"")),
    (False, message(ping_guid, 0x01, 1, 0, b"\x8f\x5b" + bytes([198, 51, 100, 32]) + le32(3) + le32(1024))),
    (True, b"GND" + bytes([0x02, 0x00, 0x05, 0x01, 0x01]) + message(cap.rand(16), 0x80, 2, 0, b"\x00\x00q\x00")),
])
cap.write()

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes lookalike-negative.pcap: traffic that mentions Gnutella or resembles its framing
but is not Gnutella (none of it may be labelled gnutella): a web page about GNUTELLA, a
GIV line without a servent id, a /uri-res path without a URN, and 23-byte-header UDP
datagrams whose length field is one off.

  /usr/bin/python3 pcaps/gnutella/lookalike-negative.pcap.py pcaps/gnutella/lookalike-negative.pcap
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from p2p_synth import Capture, le32  # noqa: E402

cap = Capture(seed=6347)
A, B = "192.0.2.33", "203.0.113.34"
cap.tcp(A, B, 43011, 8080, [
    (True, b"GET /wiki/GNUTELLA HTTP/1.1\r\nHost: b\r\n\r\n"),
    (False, b"HTTP/1.1 200 OK\r\nContent-Length: 26\r\n\r\nGNUTELLA CONNECT/0.6 is..."),
])
cap.tcp(A, B, 43012, 23570, [(True, b"GIV 7:not-a-servent-id/track.ogg\n\n"), (False, b"ERR\n")])
cap.tcp(A, B, 43013, 23571, [(True, b"GET /uri-res/index.html HTTP/1.1\r\n\r\n"),
                             (False, b"HTTP/1.1 404 Not Found\r\n\r\n")])
bad = cap.rand(16) + bytes([0x00, 1, 0]) + le32(5) + b"abcd"
cap.udp(A, B, 43014, 23572, [(True, bad), (False, cap.rand(27))])
cap.write()

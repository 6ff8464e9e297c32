#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes lookalike-negative.pcap: traffic that resembles BitTorrent signalling but is not
(none of it may be labelled bittorrent). Built from BEP 3/5/15/29 by negation; deterministic.

  /usr/bin/python3 pcaps/bittorrent/lookalike-negative.pcap.py pcaps/bittorrent/lookalike-negative.pcap
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from p2p_synth import Capture  # noqa: E402

cap = Capture(20261127, t0=1_700_000_000.0)

CLI, SRV = "192.0.2.10", "203.0.113.80"
# A web search whose query mentions info_hash but is no tracker announce (no peer_id).
cap.tcp(CLI, SRV, 41000, 80, [
    (True, b"GET /search?q=info_hash&page=2 HTTP/1.1\r\nHost: example.org\r\n\r\n"),
    (False, b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nd5:peers0:e"),
])
# MSE-sized random exchanges that are not MSE: to an alternative-HTTPS service port; with
# a third message too short for MSE's request; with the initiator talking twice first.
cap.tcp(CLI, SRV, 41001, 8443, [(True, cap.rand(96 + 61)), (False, cap.rand(96 + 200)), (True, cap.rand(80))])
cap.tcp(CLI, SRV, 41006, 40123, [(True, cap.rand(96 + 61)), (False, cap.rand(96 + 200)), (True, cap.rand(24))])
cap.tcp(CLI, SRV, 41007, 40127, [(True, cap.rand(120)), (True, cap.rand(120)), (False, cap.rand(150)), (True, cap.rand(90))])
# Bencoded data over UDP that is not KRPC (no "y"/"t", no node id).
cap.udp(CLI, SRV, 41002, 40124, [(True, b"d3:cmd4:ping3:seqi1ee"), (False, b"d3:cmd4:pong3:seqi1ee")])
# SSDP search: an HTTP-over-UDP request like BEP 14's, but not BT-SEARCH.
cap.udp(CLI, "239.255.255.250", 41003, 1900, [
    (True, b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n"),
])
# 20-byte datagrams starting like a uTP SYN, answered with an unrelated header.
cap.udp(CLI, SRV, 41004, 40125, [
    (True, bytes([0x41, 0x00, 0x12, 0x34]) + cap.rand(16)),
    (False, bytes([0x21, 0x00, 0x99, 0x99]) + cap.rand(16)),
])
# 16-byte requests with a protocol id one bit off BEP 15's.
cap.udp(CLI, SRV, 41005, 40126, [
    (True, bytes.fromhex("0000041727101981") + bytes(4) + cap.rand(4)),
    (False, cap.rand(16)),
])

cap.write()

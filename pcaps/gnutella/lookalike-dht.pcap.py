#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes lookalike-dht.pcap: UDP that resembles Gnutella or Mojito but is not (no IM or
P2P label at all; the Kademlia DHTs that are P2P are in other-dhts.pcap):
  1. OpenDHT-style msgpack maps (ping query and reply with 20-byte ids);
  2. random datagrams whose first 23 bytes are shaped like a Gnutella header (a payload
     type byte, TTL 1, hops 0, a little-endian length equal to the rest of the datagram)
     but whose payload does not fit the type: a 10-byte Pong, a Query without its NUL,
     a Push cut short, a vendor message with a binary vendor code, a Ping with a broken
     GGEP block;
  3. datagrams shaped like Mojito (payload type 0x44, length chained) that break one of
     its rules: the deprecated STATS op code, a contact address of length 7, an extended
     header running past the end, a FIND_NODE request with a short id, and a valid
     message with trailing bytes.
Synthetic, from the Gnutella/Mojito formats (see ../tools/gnutella_synth.py).

  /usr/bin/python3 pcaps/gnutella/lookalike-dht.pcap.py pcaps/gnutella/lookalike-dht.pcap
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import gnutella_synth as g  # noqa: E402
from p2p_synth import Capture  # noqa: E402

cap = Capture(seed=6380)
A, B = "192.0.2.71", "203.0.113.72"

# 1. OpenDHT-style msgpack: {"a": {"id": bin20}, "q": "ping", "t": bin4, "y": "q"}.
def fixstr(s):
    return bytes([0xA0 | len(s)]) + s


def bin8(b):
    return b"\xc4" + bytes([len(b)]) + b


cap.udp(A, B, 46003, 4222, [
    (True, b"\x84" + fixstr(b"a") + b"\x81" + fixstr(b"id") + bin8(cap.rand(20)) +
     fixstr(b"q") + fixstr(b"ping") + fixstr(b"t") + bin8(cap.rand(4)) + fixstr(b"y") + fixstr(b"q")),
    (False, b"\x83" + fixstr(b"r") + b"\x81" + fixstr(b"id") + bin8(cap.rand(20)) +
     fixstr(b"t") + bin8(cap.rand(4)) + fixstr(b"y") + fixstr(b"r")),
])


# 2. Gnutella-header-shaped prefixes whose payload does not fit the type.
def shaped(kind, payload, ttl=1, hops=0):
    return g.header(cap.rand(16), kind, ttl, hops, payload)


cap.udp(A, B, 46004, 7001, [
    (True, shaped(g.PONG, cap.rand(10))),
    (False, shaped(g.QUERY, b"\x00\x00" + bytes(0x41 + i for i in range(20)))),
    (True, shaped(g.PUSH, cap.rand(20))),
    (False, shaped(g.VENDOR, b"\x01\x02\x03\x04" + cap.rand(8))),
    (True, shaped(g.PING, b"\xc3\x83SCP\x81")),
])

# 3. Mojito-shaped datagrams, each breaking one rule.
node = cap.rand(20)
ok = g.mojito(cap.rand(16), 0x05, node, A, 46005, cap.rand(20))
stats = g.mojito(cap.rand(16), 0x09, node, A, 46005, b"\x00")
bad_addr = bytearray(g.mojito(cap.rand(16), 0x01, node, A, 46005, b""))
bad_addr[23 + 1 + 4 + 2 + 20] = 7  # address length byte
ext = bytearray(g.mojito(cap.rand(16), 0x01, node, A, 46005, b""))
ext[-2:] = g.be16(300)  # extended header longer than what is left
short_id = g.mojito(cap.rand(16), 0x05, node, A, 46005, cap.rand(19))
trailing = bytearray(ok + b"\x00\x00")
trailing[19:23] = g.le32(len(trailing) - 23)
cap.udp(A, B, 46005, 7002, [
    (True, stats), (False, bytes(bad_addr)), (True, bytes(ext)), (False, short_id),
    (True, bytes(trailing)),
])
cap.write()

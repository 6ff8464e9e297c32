#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes dht-forged-nodes.pcap (attack 2, DHT form): one unsolicited UDP datagram from
198.51.100.66:6881 to 10.20.0.9:40000 shaped like a DHT get_peers reply whose `nodes` list
names 203.0.113.10:5432, then PostgreSQL connections from ANOTHER host (10.20.0.8) and from
the receiving host (10.20.0.9) to 203.0.113.10:5432 (v3 startup message, AuthenticationOk,
ReadyForQuery). The reply answers no query of its flow, so nothing is learned; and a reply
would vouch only for connections from 10.20.0.9 anyway. Both connections are PostgreSQL,
not bittorrent. Regression for classifiers/bittorrent_udp.cc and classifiers/peer_cache.cc.
Run from this folder."""
import os, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, tcp_session, udp_exchange, write


def bstr(b):
    return b"%d:" % len(b) + b


node = bytes(range(20)) + bytes([203, 0, 113, 10]) + struct.pack("!H", 5432)
reply = (b"d1:rd2:id" + bstr(bytes(range(1, 21))) + b"5:nodes" + bstr(node) + b"e" +
         b"1:t2:aa1:y1:re")
pkts = udp_exchange(("10.20.0.9", 40000), ("198.51.100.66", 6881), [(S2C, reply)])

params = b"user\x00postgres\x00database\x00postgres\x00\x00"
startup = struct.pack("!II", 8 + len(params), 196608) + params
server = b"R" + struct.pack("!II", 8, 0) + b"Z" + struct.pack("!I", 5) + b"I"
query = b"Q" + struct.pack("!I", 4 + 9) + b"SELECT 1\x00"
for i, host in enumerate(["10.20.0.8", "10.20.0.9"]):
    pkts += tcp_session((host, 42000 + i), ("203.0.113.10", 5432),
                        [(C2S, startup), (S2C, server), (C2S, query)], t0=1700000010.0 + 10 * i)
write("dht-forged-nodes.pcap", pkts)

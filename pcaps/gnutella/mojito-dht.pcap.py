#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes mojito-dht.pcap: Mojito DHT traffic between LimeWire-style nodes on their Gnutella
UDP ports: a PING request and PONG (with the requester's external address and a DHT size
estimate), a FIND_NODE request answered by a security token and three contacts, a
FIND_VALUE request (secondary keys, value type) answered by a stored value (a peer
location, "ALT "), and a STORE request of such a value with its STORE response. One flow
per exchange. Synthetic (no Gnutella client in Debian 12), from LimeWire's Mojito message
format (see ../tools/gnutella_synth.py).

  /usr/bin/python3 pcaps/gnutella/mojito-dht.pcap.py pcaps/gnutella/mojito-dht.pcap
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from gnutella_synth import be16, contact, entity, mojito, sockaddr  # noqa: E402
from p2p_synth import Capture  # noqa: E402

cap = Capture(seed=4400)
A, B = "192.0.2.41", "198.51.100.42"
node_a, node_b = cap.rand(20), cap.rand(20)


def exchange(sport, dport, opcode, body, reply_opcode, reply_body):
    guid = cap.rand(16)
    cap.udp(A, B, sport, dport, [
        (True, mojito(guid, opcode, node_a, A, sport, body)),
        (False, mojito(guid, reply_opcode, node_b, B, dport, reply_body)),
    ])


# PING_REQUEST (no body) / PING_RESPONSE: external address, DHT size (length-prefixed).
exchange(41001, 6346, 0x01, b"", 0x02, sockaddr(A, 41001) + b"\x03\x01\x86\xa0")
# FIND_NODE_REQUEST: the id looked up / FIND_NODE_RESPONSE: security token, contacts.
peers = [(cap.rand(20), "203.0.113.%d" % (10 + i), 6346 + i) for i in range(3)]
token = cap.rand(8)
exchange(41002, 6347, 0x05, cap.rand(20),
         0x06, bytes([len(token)]) + token + bytes([len(peers)]) +
         b"".join(contact(k, ip, port) for k, ip, port in peers))
# FIND_VALUE_REQUEST: key, one secondary key, value type "ALT " / FIND_VALUE_RESPONSE:
# request load (float), one value, no further secondary keys.
key = cap.rand(20)
location = struct.pack(">H", 1) + be16(6346) + bytes([198, 51, 100, 42]) + cap.rand(16)
value = entity(contact(node_b, B, 6347), node_b, b"ALT ", location)
exchange(41003, 6347, 0x07, key + b"\x01" + cap.rand(20) + b"ALT ",
         0x08, struct.pack(">f", 0.25) + b"\x01" + value + b"\x00")
# STORE_REQUEST: security token, one value / STORE_RESPONSE: its status (OK, text).
status = b"OK"
exchange(41004, 6348, 0x03, bytes([len(token)]) + token + b"\x01" + value,
         0x04, b"\x01" + key + node_b + be16(0x0001) + be16(len(status)) + status)
cap.write()

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes random-udp-lookalike.pcap: UDP flows whose datagrams have the sizes and first
bytes of a Tox DHT exchange (the opening of toxcore-dht-friend.pcap: nodes request 113,
nodes response 82, pings 82, announce 113/148, onion 403) but random bytes after the first,
so no 32-byte sender key repeats. A second flow alternates 82-byte 0x00/0x01 datagrams, a
third sends 403-byte datagrams starting with 0x80 (as RTP does). None may be tox.
Deterministic (fixed seed). Run from this folder with /usr/bin/python3."""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, udp_exchange, write

rng = random.Random(20240611)


def dgram(first, size):
    return bytes([first]) + rng.randbytes(size - 1)


opening = [(C2S, 0x02, 113), (S2C, 0x04, 82), (S2C, 0x00, 82), (C2S, 0x01, 82), (C2S, 0x00, 82),
           (S2C, 0x93, 113), (S2C, 0x01, 82), (C2S, 0x94, 148), (C2S, 0x93, 113), (S2C, 0x94, 187)]
pings = [(C2S if i % 2 == 0 else S2C, i % 2, 82) for i in range(10)]
onion = [(C2S if i % 3 else S2C, 0x80, 403) for i in range(10)]

pkts = []
pkts += udp_exchange(("10.7.0.10", 47321), ("10.7.0.20", 41234), [(d, dgram(k, n)) for d, k, n in opening])
pkts += udp_exchange(("10.7.0.10", 47322), ("10.7.0.20", 33445), [(d, dgram(k, n)) for d, k, n in pings], t0=1700000010.0)
pkts += udp_exchange(("10.7.0.10", 47323), ("10.7.0.20", 33446), [(d, dgram(k, n)) for d, k, n in onion], t0=1700000020.0)
write("random-udp-lookalike.pcap", pkts)

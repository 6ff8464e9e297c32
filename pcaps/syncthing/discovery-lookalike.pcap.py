#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes discovery-lookalike.pcap: UDP datagrams to Syncthing's discovery port 21027 that
are not Syncthing announcements: random payload of an announcement's size, the magic
followed by random bytes, the magic with a truncated device id, the magic with an
address that is no URL, and an announcement with bytes trailing after the instance id.
Look-alike negative for classifiers/syncthing.cc. Seeded; run from this folder."""
import os, random, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, T0, udp_exchange, write_flows

rng = random.Random(21027)
MAGIC = bytes.fromhex("2ea7d90b")


def rnd(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def announce(addr, tail=b""):
    a = addr.encode()
    return MAGIC + b"\x0a\x20" + rnd(32) + b"\x12" + bytes([len(a)]) + a + b"\x18\x8b\xde\xfc\x8e\x0b" + tail


cases = [
    rnd(88),
    MAGIC + rnd(84),
    MAGIC + b"\x0a\x10" + rnd(16),
    announce("10.20.0.5 port 22000"),
    announce("tcp://10.20.0.5:22000", b"\x00\x01"),
]
flows = []
for i, payload in enumerate(cases):
    flows.append(udp_exchange(("10.20.0.%d" % (10 + i), 40000 + i), ("10.20.255.255", 21027),
                              [(C2S, payload), (C2S, payload)], t0=T0 + i))
write_flows("discovery-lookalike.pcap", flows)

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes whatsapp-relay.pcap: a WhatsApp call reaching its media relay over WhatsApp's
STUN dialect, after the public descriptions of the relay protocol (RFC 8489 framing with
the standard magic cookie; a TURN Allocate carrying protobuf relay tokens in attributes of
the 0x4000 block, e.g. 0x4000, 0x4024, 0x4025; keepalive ping 0x0801 and pong 0x0802),
then WARP media: RTP version 2 with the extension bit (first byte 0x90), payload type 120,
header extension profile 0xDEBE. Two flows: the Allocate exchange on one 5-tuple, the
keepalives on another (a capture that misses the Allocate). Run from this folder."""
import os, random, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, stun_attr as attr, stun_message, udp_exchange, write_flows

rnd = random.Random(8489)

def stun(mtype, attrs):
    return stun_message(mtype, attrs, rnd.randbytes(12))

def token(n):  # a protobuf-shaped value: field 1 (bytes) holding n opaque bytes
    return b"\x0a" + bytes([n]) + rnd.randbytes(n)

def warp(seq):
    hdr = struct.pack(">BBHII", 0x90, 120, seq, 160 * seq, 0x5a17c0de)
    ext = struct.pack(">HH", 0xDEBE, 3) + rnd.randbytes(12)
    return hdr + ext + rnd.randbytes(rnd.randint(60, 90))

alloc = stun(0x0003, attr(0x4000, token(24)) + attr(0x4024, token(8)) + attr(0x4025, token(8)))
ok = stun(0x0103, attr(0x0020, rnd.randbytes(8)) + attr(0x4000, token(16)))
media = [(C2S if i % 2 == 0 else S2C, warp(100 + i)) for i in range(6)]
relay = ("10.5.0.30", 3478)
flow1 = udp_exchange(("10.5.0.10", 51200), relay, [(C2S, alloc), (S2C, ok)] + media)
ping = stun(0x0801, b"")
pong = stun(0x0802, attr(0x0020, rnd.randbytes(8)))
flow2 = udp_exchange(("10.5.0.10", 51202), relay, [(C2S, ping), (S2C, pong)] * 2, t0=1700000001.0)
write_flows("whatsapp-relay.pcap", [flow1, flow2])

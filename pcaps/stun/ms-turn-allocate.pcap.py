#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes ms-turn-allocate.pcap (an RFC 8656 Allocate carrying the MS-VERSION attribute of
Microsoft's published [MS-TURN] extension, as Teams/Skype clients send it, on port 3478)
and stun-plain-binding.pcap (plain RFC 8489 binding requests and responses, as any WebRTC
ICE check). Run from this folder."""
import os, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, udp_exchange, write

def attr(t, v):
    pad = (4 - len(v) % 4) % 4
    return struct.pack(">HH", t, len(v)) + v + b"\x00" * pad

def stun(mtype, attrs):
    return struct.pack(">HHI", mtype, len(attrs), 0x2112A442) + os.urandom(12) + attrs

alloc = stun(0x0003, attr(0x8008, struct.pack(">I", 6)) + attr(0x0019, b"\x11\x00\x00\x00"))
resp = stun(0x0113, attr(0x8008, struct.pack(">I", 6)) + attr(0x0009, b"\x00\x00\x04\x01"))
write("ms-turn-allocate.pcap", udp_exchange(("10.5.0.10", 50800), ("10.5.0.20", 3478), [(C2S, alloc), (S2C, resp)]))
bind = stun(0x0001, attr(0x0006, b"abcd:efgh") + attr(0x8022, b"example-ice 1.0"))
bresp = stun(0x0101, attr(0x0020, b"\x00\x01\xa1\x47\x2b\x12\xa4\x43"))
write("stun-plain-binding.pcap", udp_exchange(("10.5.0.10", 50801), ("10.5.0.20", 3478), [(C2S, bind), (S2C, bresp)] * 3))

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes ip-discovery.pcap (Discord voice IP discovery request/response, then media-sized
datagrams, on port 50003) and random-74-byte-udp.pcap (random 74-byte datagrams). Built
from Discord's developer documentation ("Voice Connections: IP Discovery").
Run from this folder."""
import os, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, udp_exchange, write

ssrc = 0x1F40
req = struct.pack(">HHI", 1, 70, ssrc) + b"\x00" * 64 + struct.pack(">H", 0)
resp = struct.pack(">HHI", 2, 70, ssrc) + b"203.0.113.7".ljust(64, b"\x00") + struct.pack(">H", 40123)
media = [(C2S, b"\x90\x78" + os.urandom(150)) for _ in range(4)]
write("ip-discovery.pcap", udp_exchange(("10.6.0.10", 40123), ("10.6.0.20", 50003), [(C2S, req), (S2C, resp)] + media))
write("random-74-byte-udp.pcap", udp_exchange(("10.6.0.10", 40124), ("10.6.0.20", 50003), [(C2S, os.urandom(74)), (S2C, os.urandom(74)), (C2S, os.urandom(74))]))

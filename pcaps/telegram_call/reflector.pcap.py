#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the Telegram call captures of this folder, after the reflector protocol of the
two open-source Telegram call libraries (libtgvoip VoIPController, tgcalls v2
ReflectorPort):
  tgcalls-reflector.pcap  a tgcalls client's hellos to a reflector (peer tag, 12 x 0xFF,
                          FE FF FF FF, an 8-byte value), then relayed call data (peer tag +
                          encrypted bytes) both ways;
  libtgvoip-reflector.pcap a libtgvoip public-endpoints request (peer tag + 16 x 0xFF),
                          the reflector's UDP_REFLECTOR_PEER_INFO answer, relayed data; and
                          a capture that starts with a UDP_REFLECTOR_SELF_INFO answer;
  reflector-lookalikes.pcap  datagrams that share parts of the shape: a Wake-on-LAN magic
                          packet (UDP 9), a 40-byte all-0xFF datagram, an unknown code
                          after the 0xFF run, and the endpoints-request shape never
                          answered by a reflector code (replies opening with the same tag).
Reflector addresses are documentation-style lab addresses, outside Telegram's published
ranges, so only the payload can decide. Run from this folder."""
import os, random, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, udp_exchange, write_flows

rnd = random.Random(596)
RUN = b"\xff" * 12
tag = rnd.randbytes(16)

def relayed(n):
    return [(C2S if i % 2 == 0 else S2C, tag + rnd.randbytes(rnd.randint(80, 140))) for i in range(n)]

hello = tag + RUN + b"\xfe\xff\xff\xff" + struct.pack("<Q", 123)
reflector = ("10.6.0.40", 596)
tg = udp_exchange(("10.6.0.10", 40100), reflector, [(C2S, hello), (C2S, hello)] + relayed(6))
write_flows("tgcalls-reflector.pcap", [tg])

request = tag + b"\xff" * 16
peer_info = tag + RUN + struct.pack("<IIIII", 0x27D9371C, 0x0a06000a, 40200, 0x0a06000b, 40300)
self_info = (tag + RUN + struct.pack("<I", 0xC01572C7) + struct.pack("<iQ", 1700000000, 7)
             + b"\x00" * 10 + b"\xff\xff" + struct.pack("<II", 0x0a06000a, 40201))
v1 = udp_exchange(("10.6.0.10", 40200), reflector, [(C2S, request), (S2C, peer_info)] + relayed(4))
late = udp_exchange(("10.6.0.10", 40201), reflector, [(S2C, self_info)] + relayed(3), t0=1700000001.0)
write_flows("libtgvoip-reflector.pcap", [v1, late])

mac = bytes.fromhex("02005e102030")
wol = udp_exchange(("10.6.0.10", 40300), ("10.6.0.255", 9), [(C2S, b"\xff" * 6 + mac * 16)] * 2)
allff = udp_exchange(("10.6.0.10", 40301), ("10.6.0.41", 7000), [(C2S, b"\xff" * 40), (S2C, b"\xff" * 40)])
unknown = udp_exchange(("10.6.0.10", 40302), ("10.6.0.41", 7001),
                       [(C2S, rnd.randbytes(16) + RUN + b"\x78\x56\x34\x12" + rnd.randbytes(32))] * 2)
otag = rnd.randbytes(16)
orphan = udp_exchange(("10.6.0.10", 40303), ("10.6.0.41", 7002),
                      [(C2S, otag + b"\xff" * 16)] + [(S2C, otag + rnd.randbytes(48)) for _ in range(7)])
write_flows("reflector-lookalikes.pcap", [wol, allff, unknown, orphan])

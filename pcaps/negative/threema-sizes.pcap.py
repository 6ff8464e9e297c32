#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes threema-sizes.pcap: TCP flows that look like Threema's chat server handshake
(48-byte client hello, 80-byte server hello, 144-byte or longer login, 32-byte login
acknowledgement) by their sizes, on Threema's ports, but are not Threema:
  1  5222: random bytes in exactly those sizes and turns (the hello's key-shaped top bit
     clear, as a curve point's), then random segments both ways.
  2  443: the same with a 231-byte login.
  3  5222: a protocol framed by 16-bit little-endian lengths from its first byte, with the
     same message sizes and then more well-framed messages (each message's length prefix
     counts the rest of it).
  4  5222: a random 48-byte first payload, then random answers of ordinary sizes.
  5  443: a random 48-byte first payload answered by a 1200-byte random response.
Seeded (deterministic). Must carry no IM or P2P label. Run from this folder."""
import os, random, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, T0, tcp_session, write_flows

rng = random.Random(20261201)


def rnd(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def hello():
    h = bytearray(rnd(48))
    h[31] &= 0x7F
    return bytes(h)


def framed(n):
    return struct.pack("<H", n - 2) + rnd(n - 2)


def tail(first_server_extra):
    m = [(S2C, rnd(32 + first_server_extra))]
    for i in range(8):
        m.append((C2S if i % 2 == 0 else S2C, rnd(rng.randint(20, 700))))
    return m


flows = [
    tcp_session(("10.8.0.10", 52000), ("10.8.0.20", 5222),
                [(C2S, hello()), (S2C, rnd(80)), (C2S, rnd(144))] + tail(180), t0=T0),
    tcp_session(("10.8.0.10", 52001), ("10.8.0.20", 443),
                [(C2S, hello()), (S2C, rnd(80)), (C2S, rnd(231))] + tail(90), t0=T0 + 10),
    tcp_session(("10.8.0.10", 52002), ("10.8.0.20", 5222),
                [(C2S, framed(48)), (S2C, framed(80)), (C2S, framed(144)), (S2C, framed(32) + framed(120)),
                 (C2S, framed(40)), (S2C, framed(60)), (C2S, framed(200))], t0=T0 + 20),
    tcp_session(("10.8.0.10", 52003), ("10.8.0.20", 5222),
                [(C2S, rnd(48)), (S2C, rnd(64)), (C2S, rnd(100)), (S2C, rnd(500)), (C2S, rnd(48))], t0=T0 + 30),
    tcp_session(("10.8.0.10", 52004), ("10.8.0.20", 443),
                [(C2S, rnd(48)), (S2C, rnd(1200)), (C2S, rnd(90))], t0=T0 + 40, mss=1400),
]
write_flows("threema-sizes.pcap", flows)

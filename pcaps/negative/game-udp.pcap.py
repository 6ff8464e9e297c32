#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes game-udp.pcap: game-server UDP traffic that is neither IM nor P2P.
  1. Source-engine server query (Valve's "Server queries" page): A2S_INFO
     (ffffffff 54 "Source Engine Query\\0"), the S2C_CHALLENGE answer (ffffffff 41 + 4
     bytes), the query repeated with the challenge, the A2S_INFO reply (ffffffff 49 ...),
     then A2S_PLAYER and A2S_RULES with their challenges, to 10.31.0.20:27015.
  2. Steady game netcode after the query: 64 Hz client commands (a sequence number, an
     ack and 30-90 bytes of state) and 64 Hz snapshots back (80-400 bytes), 27015.
  3. Two more streams at 20 Hz and 30 Hz on random high ports with small fixed-layout
     packets (header: 16-bit sequence, 16-bit ack, 32-bit ack bits, then input/state),
     keepalives in between, as many engines' netcode does.
  4. A game-server host with several servers (game-server hosting at one provider runs
     many instances per machine, ports 7000-7999): a first datagram that echoes a session
     token in its bytes 2-3, first byte with a low nibble of 1 (01, 21, 41), zero padding;
     the server answers in the same layout.  uTP (BEP 29) has exactly these bit positions
     for version/type, connection id and seq/ack, so only uTP's rules on how the two sides'
     ids and numbers relate tell the two apart.
  5. Game-server keepalives that happen to be 74 bytes long and start 00 01 00 46 (the
     layout of Discord's IP-discovery request: type 1, length 70) followed by zeros, answered
     by a server packet of another shape, and a 74-byte 00 02 00 46 answer whose address
     field is binary, not an address in text.
Must not be bittorrent, discord or any IM/P2P app. Run from this folder."""
import os, random, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, udp_timed as udp_flow, write_flows as write

rng = random.Random(20261202)


def rnd(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


F = b"\xff\xff\xff\xff"
flows = []

# 1 + 2: A2S queries, then 64 Hz netcode on the same socket pair.
info = F + b"TSource Engine Query\x00"
m, t = [], 0.0
ch = rnd(4)
m += [(t, C2S, info), (t + 0.03, S2C, F + b"A" + ch), (t + 0.06, C2S, info + ch)]
reply = (F + b"I\x11" + b"Lab Server\x00" + b"de_lab\x00" + b"csgo\x00" + b"Counter-Strike\x00"
         + struct.pack("<HBBBBBBB", 730, 7, 16, 0, ord("d"), ord("l"), 0, 1) + b"1.38.7.9\x00")
m += [(t + 0.09, S2C, reply)]
ch2 = rnd(4)
m += [(t + 0.2, C2S, F + b"U" + F), (t + 0.23, S2C, F + b"A" + ch2), (t + 0.26, C2S, F + b"U" + ch2)]
players = F + b"D\x02" + b"\x00alice\x00" + struct.pack("<if", 12, 301.5) + b"\x01bob\x00" + struct.pack("<if", 7, 290.0)
m += [(t + 0.29, S2C, players), (t + 0.4, C2S, F + b"V" + ch2)]
m += [(t + 0.43, S2C, F + b"E" + struct.pack("<H", 3) + b"sv_gravity\x00800\x00mp_timelimit\x0030\x00sv_cheats\x000\x00")]
t = 1.0
for i in range(40):
    m.append((t, C2S, struct.pack("<II", 1000 + i, 5000 + i) + rnd(rng.randint(30, 90))))
    m.append((t + 0.005, S2C, struct.pack("<II", 5001 + i, 1000 + i) + rnd(rng.randint(80, 400))))
    t += 1 / 64
flows.append(udp_flow(("10.31.0.10", 27005), ("10.31.0.20", 27015), m))

# 3: 20 Hz and 30 Hz streams on random ports.
for (cli, srv, hz) in [(("10.31.0.10", 52344), ("10.31.0.21", 41877), 20),
                       (("10.31.0.11", 60122), ("10.31.0.21", 34511), 30)]:
    m, t = [], 0.0
    for i in range(36):
        hdr_c = struct.pack(">HHI", i, i + 100, 0xffffffff)
        hdr_s = struct.pack(">HHI", i + 100, i, 0xffffffff)
        if i % 12 == 11:
            m.append((t, C2S, hdr_c))  # keepalive: header only
        else:
            m.append((t, C2S, hdr_c + rnd(24)))
        m.append((t + 0.01, S2C, hdr_s + rnd(rng.choice([48, 64, 96, 112]))))
        t += 1 / hz
    flows.append(udp_flow(cli, srv, m, 1700000030.0))

# 4: uTP-shaped first bytes, echoed token, zero padding.
for n, first in enumerate([0x01, 0x21, 0x41]):
    token = rng.getrandbits(16)
    m, t = [], 0.0
    for i in range(10):
        body_c = bytes([first, 0]) + struct.pack(">H", token) + struct.pack(">I", i) + b"\x00" * 12 + rnd(rng.randint(8, 40))
        body_s = bytes([first, 0]) + struct.pack(">H", token) + struct.pack(">I", i) + b"\x00" * 12 + rnd(rng.randint(20, 120))
        m += [(t, C2S, body_c), (t + 0.02, S2C, body_s)]
        t += 1 / 30
    flows.append(udp_flow(("10.31.0.12", 50400 + n), ("10.31.0.22", 7000 + 17 * n), m, 1700000040.0 + n))

# 5: 74-byte 00 01 00 46 keepalives (address zeros) with answers of another shape.
m, t = [], 0.0
for i in range(6):
    m.append((t, C2S, struct.pack(">HHI", 1, 70, 0x00000100 + i) + b"\x00" * 66))
    m.append((t + 0.03, S2C, struct.pack(">HHI", 3, 12, 0x00000100 + i) + rnd(12)))
    t += 2.0
flows.append(udp_flow(("10.31.0.13", 51000), ("10.31.0.23", 7777), m, 1700000050.0))
m = [(0.0, C2S, struct.pack(">HHI", 1, 70, 77) + b"\x00" * 66),
     (0.03, S2C, struct.pack(">HHI", 2, 70, 77) + rnd(62) + b"\x00\x00" + struct.pack(">H", 51001))]
for i in range(6):
    m.append((0.1 + i / 30, C2S, rnd(rng.randint(40, 90))))
    m.append((0.11 + i / 30, S2C, rnd(rng.randint(60, 300))))
flows.append(udp_flow(("10.31.0.13", 51001), ("10.31.0.23", 7778), m, 1700000060.0))
# Only the request shape, repeated (a server that never answers in this form).
m = [(i * 1.0, C2S, struct.pack(">HHI", 1, 70, 99) + b"\x00" * 66) for i in range(4)]
flows.append(udp_flow(("10.31.0.13", 51002), ("10.31.0.23", 7779), m, 1700000070.0))
write("game-udp.pcap", flows)

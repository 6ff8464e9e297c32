#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes mid-call.pcap and rtp-counter-lookalike.pcap. Built from Discord's developer
documentation ("Voice Connections": transport encryption modes aead_aes256_gcm_rtpsize
and xsalsa20_poly1305_lite append a 32-bit incremental nonce to each RTP packet).

mid-call.pcap: Discord voice captured after the call started (no IP discovery): Opus RTP
(payload type 120, 20 ms, timestamp step 960) with a random-looking encrypted payload and
16-byte tag, each packet ending with the sender's big-endian nonce counter; both ways,
on the voice server's port 50007; the client also sends a video stream (payload type 101,
another SSRC) sharing its nonce counter, and one datagram is lost on the way.

rtp-counter-lookalike.pcap: RTP streams that end in something else: one whose last four
bytes are a constant, one whose last four bytes count down, and one whose trailing
counter steps by 100 (a media timestamp, not a nonce).
Seeded (deterministic). Run from this folder."""
import os, random, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, T0, udp_timed, write_flows

rng = random.Random(50007)


def rand(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def rtp(pt, seq, ts, ssrc, ext=True):
    first = 0x90 if ext else 0x80
    header = struct.pack(">BBHII", first, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    # RFC 8285 one-byte header extension block, as WebRTC clients send it
    return header + (b"\xbe\xde\x00\x01" + rand(4) if ext else b"")


def stream(direction, ssrc, seq0, ts0, nonce0, count, t0, lost=()):
    out, nonce = [], nonce0
    for i in range(count):
        nonce += 1
        if i in lost:
            continue
        body = rand(rng.randint(40, 140)) + rand(16)  # Opus frame (encrypted) + tag
        out.append((t0 + 0.02 * i, direction,
                    rtp(120, seq0 + i, ts0 + 960 * i, ssrc) + body + struct.pack(">I", nonce)))
    return out


msgs = stream(C2S, 0x00012A41, 31000, 7_000_000, 88_000, 12, 0.0, lost=(5,))
# the client's video (another SSRC) shares the client's nonce counter: interleave it
video = []
for i, (t, d, pkt) in enumerate(list(msgs)):
    if i % 3 == 1:
        n = struct.unpack(">I", pkt[-4:])[0]
        video.append((t + 0.005, C2S, rtp(101, 900 + i, 3000 * i, 0x00012A42) + rand(600) + rand(16)
                      + struct.pack(">I", n)))
# renumber the client's nonces in send order: audio and video share one counter
client = sorted(msgs + video, key=lambda m: m[0])
renum, nonce = [], 88_000
for t, d, pkt in client:
    nonce += 1
    renum.append((t, d, pkt[:-4] + struct.pack(">I", nonce)))
server = stream(S2C, 0x00003E11, 1200, 55_000, 410_000, 12, 0.01)
flow = udp_timed(("10.6.0.10", 40777), ("10.6.0.20", 50007), sorted(renum + server, key=lambda m: m[0]),
                 t0=T0 + 100)
write_flows("mid-call.pcap", [flow])

looks = []
for k, (tail, port) in enumerate([("const", 50010), ("down", 50011), ("step100", 50012)]):
    m = []
    for i in range(12):
        end = {"const": 0xDEADBEEF, "down": 500_000 - i, "step100": 1000 + 100 * i}[tail]
        m.append((0.02 * i, C2S if i % 2 == 0 else S2C,
                  rtp(120, 100 + i // 2, 960 * i, 0x5000 + (i % 2)) + rand(80) + struct.pack(">I", end)))
    looks.append(udp_timed(("10.6.0.10", 40800 + k), ("10.6.0.20", port), m, t0=T0 + 200 + 10 * k))
write_flows("rtp-counter-lookalike.pcap", looks)

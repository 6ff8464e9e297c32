#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes random-payload.pcap: flows whose payload is uniformly random bytes (as any
encrypted or compressed protocol without plaintext framing looks), with size patterns
taken from ordinary applications rather than from one distribution:
  TCP 1  request/response: requests of 80-700 bytes, responses of 100-2000 bytes, seven
         rounds (an encrypted RPC protocol); the first three messages happen to fit
         MSE/PE's shape (96-608, 96-608, then >= 56 bytes), the case a size-only
         BitTorrent heuristic would take.
  TCP 2  the same with every size drawn uniformly from 1-1460 (one segment each).
  TCP 3  a bulk download after a short random exchange (1448-byte segments).
  TCP 4  interactive: 30-150-byte messages both ways, 20 rounds.
  UDP 1  constant 160-byte datagrams at 50 Hz both ways (a codec-like stream).
  UDP 2  bimodal sizes (60-80 and 1000-1200 bytes), bursty.
  UDP 3  uniform 20-1400 bytes, both ways.
All on random high ports, seeded (deterministic). Must carry no IM or P2P label.
Run from this folder."""
import os, random, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, tcp_session, udp_timed as udp_flow, write_flows as write

rng = random.Random(20261204)


def rnd(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


flows = []
m = [(C2S, rnd(412)), (S2C, rnd(233)), (C2S, rnd(318))]
m += [x for _ in range(6) for x in ((S2C, rnd(rng.randint(100, 2000))), (C2S, rnd(rng.randint(80, 700))))]
flows.append(tcp_session(("10.33.0.10", 51001), ("10.33.0.20", 40613), m, 1700000000.0, mss=1448))
m = [x for _ in range(8) for x in ((C2S, rnd(rng.randint(1, 1460))), (S2C, rnd(rng.randint(1, 1460))))]
flows.append(tcp_session(("10.33.0.10", 51002), ("10.33.0.20", 38211), m, 1700000002.0, mss=1448))
m = [(C2S, rnd(150)), (S2C, rnd(120)), (C2S, rnd(200)), (S2C, rnd(1448 * 8))]
flows.append(tcp_session(("10.33.0.11", 51003), ("10.33.0.21", 45555), m, 1700000004.0, mss=1448))
m = [x for _ in range(20) for x in ((C2S, rnd(rng.randint(30, 150))), (S2C, rnd(rng.randint(30, 150))))]
flows.append(tcp_session(("10.33.0.11", 51004), ("10.33.0.21", 33890), m, 1700000006.0, mss=1448))
m = [x for i in range(30) for x in ((i * 0.02, C2S, rnd(160)), (i * 0.02 + 0.005, S2C, rnd(160)))]
flows.append(udp_flow(("10.33.0.12", 50002), ("10.33.0.22", 47002), m, 1700000008.0))
m, t = [], 0.0
for burst in range(3):
    for k in range(4):
        m.append((t, S2C, rnd(rng.randint(1000, 1200))))
        t += 0.002
    m.append((t, C2S, rnd(rng.randint(60, 80))))
    t += 0.3
flows.append(udp_flow(("10.33.0.12", 50003), ("10.33.0.22", 39004), m, 1700000010.0))
m = [x for i in range(8) for x in ((i * 0.05, C2S, rnd(rng.randint(20, 1400))),
                                     (i * 0.05 + 0.01, S2C, rnd(rng.randint(20, 1400))))]
flows.append(udp_flow(("10.33.0.13", 50004), ("10.33.0.23", 61005), m, 1700000012.0))
write("random-payload.pcap", flows)

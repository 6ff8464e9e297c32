#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes telegram-random-tcp.pcap (the positive: TCP with random payload, no protocol any
payload rule knows, to 91.108.56.130:5222, inside Telegram's published 91.108.56.0/22) and
outside-random-tcp.pcap (the look-alike: the same exchange to 91.108.60.130, just past that
prefix, and to 149.154.176.1, just past 149.154.160.0/20). Seeded, so a rerun writes the same
files. Run from this folder with /usr/bin/python3 (python3-scapy)."""
import os, random, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, tcp_session, write

rng = random.Random(9)


def exchange():
    return [(C2S, rng.randbytes(212)), (S2C, rng.randbytes(340)), (C2S, rng.randbytes(96)),
            (S2C, rng.randbytes(128))]


write("telegram-random-tcp.pcap",
      tcp_session(("10.7.1.10", 51000), ("91.108.56.130", 5222), exchange()))
write("outside-random-tcp.pcap",
      tcp_session(("10.7.1.10", 51001), ("91.108.60.130", 5222), exchange()) +
      tcp_session(("10.7.1.10", 51002), ("149.154.176.1", 5222), exchange(), t0=1700000010.0))

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes skype-udp-guess.pcap: three UDP flows of RTP-like datagrams whose third byte is
0x02, the whole of what nDPI 4.2's UDP Skype/Teams guess looks at (skype.c). Two go to
Microsoft's published Teams media networks (52.112.0.0/14, 52.114.0.0/16, in nDPI's own
address list), one to a documentation address (198.51.100.20). nDPI alone calls all
three Skype_Teams; imguard reports the first two as skype_teams by address_list and the
third as unknown. Run from this folder."""
import os, random, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, udp_timed, write_flows

rng = random.Random(20261205)


def datagram(n):
    return bytes([0x90, 0x64, 0x02]) + bytes(rng.getrandbits(8) for _ in range(n))


m = [(i * 0.02, C2S if i % 2 == 0 else S2C, datagram(120)) for i in range(12)]
write_flows("skype-udp-guess.pcap", [
    udp_timed(("10.40.0.10", 50020), ("52.112.10.20", 3479), m),
    udp_timed(("10.40.0.10", 50021), ("52.114.250.3", 50000), m, 1700000005.0),
    udp_timed(("10.40.0.10", 50022), ("198.51.100.20", 50000), m, 1700000010.0)])

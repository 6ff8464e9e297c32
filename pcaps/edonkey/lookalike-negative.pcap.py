#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes lookalike-negative.pcap: traffic that starts with eDonkey/Kad protocol bytes but
is not eDonkey (none of it may be labelled edonkey). Deterministic.

  /usr/bin/python3 pcaps/edonkey/lookalike-negative.pcap.py pcaps/edonkey/lookalike-negative.pcap
"""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from p2p_synth import Capture  # noqa: E402
from scapy.all import IP, UDP, Raw  # noqa: E402

cap = Capture(4662, t0=1_700_000_100.0)

CLI, SRV = "192.0.2.20", "203.0.113.90"
# 0xE3 and a length that does not match the segment, answered with binary noise.
cap.tcp(CLI, SRV, 42000, 4662, [(True, b"\xe3" + struct.pack("<I", 200) + b"\x01" + cap.rand(60)),
                                     (False, cap.rand(48))])
# A well-framed 0xC5 message one way, an HTTP error back: not both sides eD2k.
cap.tcp(CLI, SRV, 42001, 8080, [(True, b"\xc5" + struct.pack("<I", 31) + b"\x01" + cap.rand(30)),
                                     (False, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")])
# UDP datagrams starting with the Kad byte but no valid Kademlia opcode/size.
for i in range(3):
    cap.emit(IP(src=CLI, dst=SRV) / UDP(sport=42002, dport=4672) / Raw(b"\xe4\x21" + cap.rand(20 + i)))
    cap.emit(IP(src=SRV, dst=CLI) / UDP(sport=4672, dport=42002) / Raw(b"\xe4\x77" + cap.rand(9)))

cap.write()

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes udp-oob.pcap: Gnutella out-of-band query results over UDP. The servent holding
results announces them with a LIME/12 "reply number" vendor message, the querying servent
claims them with a LIME/11 acknowledgement, and the results arrive as a Query Hit
datagram (with its GGEP-free trailer and servent id). A second flow carries a large Query
Hit as two GND fragments (the UDP "semi-reliable" layer), each answered by a GND
acknowledgement (part count 0, no data). Synthetic (no Gnutella client in Debian 12), from
the Gnutella 0.6 draft, LimeWire's OOB vendor messages and the GND layer description (see
../tools/gnutella_synth.py).

  /usr/bin/python3 pcaps/gnutella/udp-oob.pcap.py pcaps/gnutella/udp-oob.pcap
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import gnutella_synth as g  # noqa: E402
from p2p_synth import Capture  # noqa: E402

cap = Capture(seed=6370)
A, B = "192.0.2.61", "198.51.100.62"
servent = cap.rand(16)
query_guid = cap.rand(16)
hit = g.header(query_guid, g.QUERY_HIT, 1, 0, g.query_hit(
    6346, B, [(3, 5_120_334, b"field recording 01.flac"), (4, 4_000_100, b"field recording 02.flac")],
    servent))
cap.udp(B, A, 6346, 47001, [
    (True, g.header(query_guid, g.VENDOR, 1, 0, g.vendor(b"LIME", 12, 3, b"\x02\x01"))),
    (False, g.header(query_guid, g.VENDOR, 1, 0, g.vendor(b"LIME", 11, 3, b"\x02"))),
    (True, hit),
])

big = g.header(cap.rand(16), g.QUERY_HIT, 1, 0, g.query_hit(
    6346, B, [(i, 1_000_000 + i, b"track %02d.ogg" % i) for i in range(1, 30)], servent))
half = len(big) // 2
cap.udp(B, A, 6346, 47002, [
    (True, b"GND" + bytes([0x02, 0x00, 0x11, 0x01, 0x02]) + big[:half]),
    (False, b"GND" + bytes([0x00, 0x00, 0x11, 0x01, 0x00])),
    (True, b"GND" + bytes([0x02, 0x00, 0x11, 0x02, 0x02]) + big[half:]),
    (False, b"GND" + bytes([0x00, 0x00, 0x11, 0x02, 0x00])),
])
cap.write()

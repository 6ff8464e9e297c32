#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes other-dhts.pcap: the Kademlia DHTs that are not Mojito, which must keep their own
label (never gnutella):
  1. BitTorrent mainline DHT (BEP 5): bencoded ping and find_node queries and answers
     (bittorrent);
  2. eMule Kad: KADEMLIA2_REQ answered by a KADEMLIA2_RES with one contact (edonkey).
Synthetic, from BEP 5 and the Kademlia 2 layout in eMule.

  /usr/bin/python3 pcaps/gnutella/other-dhts.pcap.py pcaps/gnutella/other-dhts.pcap
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import gnutella_synth as g  # noqa: E402
from p2p_synth import Capture  # noqa: E402

cap = Capture(seed=6381)
A, B = "192.0.2.73", "203.0.113.74"

# 1. BitTorrent mainline DHT.
nid, oid = cap.rand(20), cap.rand(20)
cap.udp(A, B, 46001, 6881, [
    (True, b"d1:ad2:id20:" + nid + b"e1:q4:ping1:t2:aa1:y1:qe"),
    (False, b"d1:rd2:id20:" + oid + b"e1:t2:aa1:y1:re"),
    (True, b"d1:ad2:id20:" + nid + b"6:target20:" + cap.rand(20) + b"e1:q9:find_node1:t2:ab1:y1:qe"),
    (False, b"d1:rd2:id20:" + oid + b"5:nodes26:" + cap.rand(26) + b"e1:t2:ab1:y1:re"),
])

# 2. eMule Kad: KADEMLIA2_REQ (type, target, receiver) and KADEMLIA2_RES (target, count,
# contacts of id, IPv4 little-endian, UDP port, TCP port, version).
target = cap.rand(16)
kad_contact = cap.rand(16) + bytes([80, 113, 0, 203]) + g.le16(4672) + g.le16(4662) + b"\x08"
cap.udp(A, B, 46002, 4672, [
    (True, b"\xe4\x21\x0b" + target + cap.rand(16)),
    (False, b"\xe4\x29" + target + b"\x01" + kad_contact),
])
cap.write()

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes lookalike-negative.pcap: little-endian length-prefixed binary protocols that are
not Soulseek (none of it may be labelled soulseek): a framed code-1 message whose "hash" is
not 32 hex digits, and a code-1 one-byte message with an unknown connection type.

  /usr/bin/python3 pcaps/soulseek/lookalike-negative.pcap.py pcaps/soulseek/lookalike-negative.pcap
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from p2p_synth import Capture, le32  # noqa: E402

cap = Capture(seed=2243)
A, B = "192.0.2.54", "203.0.113.55"


def s(text):
    return le32(len(text)) + text


def framed(body):
    return le32(len(body)) + body


cap.tcp(A, B, 45011, 9001, [
    (True, framed(le32(1) + s(b"bob") + s(b"pw") + le32(3) + s(b"Z" * 32) + le32(0))),
    (False, framed(le32(0))),
])
cap.tcp(A, B, 45012, 9002, [(True, framed(b"\x01" + s(b"bob") + s(b"Q") + le32(9))), (False, framed(b"\x00"))])
cap.write()

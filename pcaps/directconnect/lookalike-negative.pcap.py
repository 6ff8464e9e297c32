#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes lookalike-negative.pcap: text protocols with "$" and "|" or four-letter lines
that are not Direct Connect (none of it may be labelled directconnect): a shell-like line
with $VARS and pipes, a "$NAME value|" record stream, an HSUP line without AD features.

  /usr/bin/python3 pcaps/directconnect/lookalike-negative.pcap.py pcaps/directconnect/lookalike-negative.pcap
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from p2p_synth import Capture  # noqa: E402

cap = Capture(seed=412)
A, B = "192.0.2.44", "203.0.113.45"
cap.tcp(A, B, 44011, 7001, [(True, b"$HOME/bin/report | sort | uniq\n"), (False, b"ok\n")])
cap.tcp(A, B, 44012, 7002, [(True, b"$PRICE 12|$QTY 3|"), (False, b"$TOTAL 36|")])
cap.tcp(A, B, 44013, 7003, [(True, b"HSUP status please\n"), (False, b"fine\n")])
cap.write()

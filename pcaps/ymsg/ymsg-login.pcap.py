#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes ymsg-login.pcap (YMSG authentication request/response on port 443) and
ymsg-lookalike.pcap (text beginning with "YMSG"). Built from the YMSG header layout
(magic, version, vendor, length, service, status, session). Run from this folder."""
import os, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, tcp_session, write

def ymsg(service, body, session=0):
    return b"YMSG" + struct.pack(">HHHHII", 16, 0, len(body), service, 0, session) + body

sep = b"\xc0\x80"
msgs = [(C2S, ymsg(0x57, b"1" + sep + b"alice" + sep)),
        (S2C, ymsg(0x57, b"1" + sep + b"alice" + sep + b"94" + sep + b"challenge" + sep, 0x1234)),
        (C2S, ymsg(0x54, b"0" + sep + b"alice" + sep + b"277" + sep + b"token" + sep, 0x1234))]
write("ymsg-login.pcap", tcp_session(("10.3.0.10", 50600), ("10.3.0.20", 443), msgs))
look = [(C2S, b"YMSG notes: remember to call alice\r\n" + b"x" * 30), (S2C, b"OK\r\n")]
write("ymsg-lookalike.pcap", tcp_session(("10.3.0.10", 50601), ("10.3.0.20", 5050), look))

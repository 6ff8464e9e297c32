#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes flap-signon.pcap (OSCAR sign-on on port 443, then an OFT2 direct file transfer)
and flap-lookalike.pcap (0x2A-led binary that is not FLAP), built from the OSCAR FLAP/OFT
framing. Run from this folder: /usr/bin/python3 flap-signon.pcap.py"""
import os, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, tcp_session, write

def flap(ch, seq, data):
    return struct.pack(">BBHH", 0x2A, ch, seq, len(data)) + data

def tlv(t, v):
    return struct.pack(">HH", t, len(v)) + v

client, server = ("10.1.0.10", 50123), ("10.1.0.20", 443)
signon = flap(1, 0x1a2b, b"\x00\x00\x00\x01")
login = flap(1, 0x5c01, b"\x00\x00\x00\x01" + tlv(0x0006, b"C" * 256))  # login cookie
snac = flap(2, 0x5c02, struct.pack(">HHHI", 0x0001, 0x0002, 0, 2) + b"\x00\x01\x00\x03")
pkts = tcp_session(client, server, [(S2C, signon), (C2S, login), (C2S, snac)])
oft = b"OFT2" + struct.pack(">HH", 256, 0x0101) + b"\x00" * 248
pkts += tcp_session(("10.1.0.10", 50200), ("10.1.0.30", 5190), [(C2S, oft), (S2C, oft[:6] + b"\x02\x02" + oft[8:]), (C2S, b"D" * 1200)], t0=1700000100.0)
write("flap-signon.pcap", pkts)

look = tcp_session(("10.1.0.10", 50300), ("10.1.0.20", 8443),
                   [(C2S, b"\x2a\x01\x00\x01\x00\x04\x00\x00\x00\x07"), (S2C, b"*" * 40), (C2S, b"\x2a\x02" + b"z" * 30)])
write("flap-lookalike.pcap", look)

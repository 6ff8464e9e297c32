#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes socks5-plain-connect.pcap: an ordinary SOCKS5 (RFC 1928) CONNECT to a host name
and port 443, the look-alike of an XEP-0065 bytestream (which connects to a 40-hex-digit
SHA-1 name with port 0), and an XML stream that is not XMPP. Run from this folder."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, tcp_session, write

host = b"www.example.org"
msgs = [(C2S, b"\x05\x01\x00"), (S2C, b"\x05\x00"),
        (C2S, b"\x05\x01\x00\x03" + bytes([len(host)]) + host + b"\x01\xbb"),
        (S2C, b"\x05\x00\x00\x01\x0a\x09\x00\x14\xc3\x50")]
pkts = tcp_session(("10.9.0.10", 52000), ("10.9.0.20", 1080), msgs)
xml = [(C2S, b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'>"), (S2C, b"<ok/>"), (C2S, b"<entry/></feed>")]
pkts += tcp_session(("10.9.0.10", 52001), ("10.9.0.20", 5222), xml, t0=1700000100.0)
write("socks5-plain-connect.pcap", pkts)

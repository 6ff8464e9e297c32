#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes msnp-login.pcap (MSNP version negotiation and login start on port 8080) and
msnp-lookalike.pcap (an HTTP request naming MSNP). Built from the MSNP draft
(draft-movva-msn-messenger-protocol). Run from this folder."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, tcp_session, write

msgs = [(C2S, b"VER 1 MSNP8 CVR0\r\n"), (S2C, b"VER 1 MSNP8 CVR0\r\n"),
        (C2S, b"CVR 2 0x0409 win 4.10 i386 MSNMSGR 5.0.0544 MSMSGS alice@example.com\r\n"),
        (S2C, b"CVR 2 5.0.0540 5.0.0540 1.0.0863 http://download.example/ http://www.example/\r\n"),
        (C2S, b"USR 3 TWN I alice@example.com\r\n")]
write("msnp-login.pcap", tcp_session(("10.2.0.10", 50500), ("10.2.0.20", 8080), msgs))
look = [(C2S, b"GET /VER/1/MSNP8 HTTP/1.1\r\nHost: example.com\r\n\r\n"), (S2C, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")]
write("msnp-lookalike.pcap", tcp_session(("10.2.0.10", 50501), ("10.2.0.20", 8080), look))

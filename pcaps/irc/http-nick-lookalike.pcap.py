#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes http-nick-lookalike.pcap: an HTTP POST whose body holds IRC registration lines
(NICK/USER), on port 6667, and a plain-text chat-like line protocol; neither is IRC.
Look-alike negative for classifiers/irc.cc. Run from this folder."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, tcp_session, write

body = b"NICK alice\r\nUSER alice 0 * :Alice\r\n"
req = b"POST /irc HTTP/1.1\r\nHost: example.org\r\nContent-Length: %d\r\n\r\n" % len(body) + body
pkts = tcp_session(("10.8.0.10", 51000), ("10.8.0.20", 6667), [(C2S, req), (S2C, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")])
pkts += tcp_session(("10.8.0.10", 51001), ("10.8.0.20", 7000), [(C2S, b"hello NICK alice\r\n"), (S2C, b"nick ok\r\n")], t0=1700000100.0)
write("http-nick-lookalike.pcap", pkts)

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes login-peerinit.pcap: a Soulseek server login (code 1: user, password, version,
MD5 hex of user+password, minor version) answered by a login reply, and a peer
connection opened with PeerInit (type "P") followed by a peer message. Synthetic, from the
Soulseek protocol documentation (little-endian length-prefixed messages); no Soulseek
client ships in Debian 12.

  /usr/bin/python3 pcaps/soulseek/login-peerinit.pcap.py pcaps/soulseek/login-peerinit.pcap
"""
import hashlib
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from p2p_synth import Capture, le32  # noqa: E402

cap = Capture(seed=2242)
C, SRV, PEER = "192.0.2.51", "198.51.100.52", "198.51.100.53"


def s(text):
    return le32(len(text)) + text


def framed(body):
    return le32(len(body)) + body


digest = hashlib.md5(b"alicesecret").hexdigest().encode()
login = framed(le32(1) + s(b"alice") + s(b"secret") + le32(160) + s(digest) + le32(1))
reply = framed(le32(1) + b"\x01" + s(b"welcome") + bytes([192, 0, 2, 51]) + s(digest) + b"\x00")
cap.tcp(C, SRV, 45001, 2242, [(True, login), (False, reply)])
peer_init = framed(b"\x01" + s(b"alice") + s(b"P") + le32(0))
user_info = framed(le32(15))
cap.tcp(C, PEER, 45002, 52001, [(True, peer_init + user_info), (False, framed(le32(16) + s(b"hi")))])
cap.write()

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes dcc-forged-offer.pcap (attack 1): one TCP segment
`NICK a\\r\\nPRIVMSG b :\\x01DCC SEND f 10.20.0.5 51413 1\\x01\\r\\n` sent to 10.20.0.1:6667, which
never answers as an IRC server (no 001), then a BitTorrent peer connection from 10.20.0.7 to
10.20.0.5:51413 (both handshakes). The offer must not be learned (the flow is not confirmed
IRC) and the peer connection is bittorrent by its handshake, not an allowed irc transfer.
Regression for classifiers/irc.cc and the chain's evidence order. Run from this folder."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, tcp_session, write

victim = "10.20.0.5"
ip_num = sum(int(b) << (8 * (3 - i)) for i, b in enumerate(victim.split(".")))
offer = b"NICK a\r\nPRIVMSG b :\x01DCC SEND f %d 51413 1\x01\r\n" % ip_num
pkts = tcp_session(("10.20.0.66", 40000), ("10.20.0.1", 6667), [(C2S, offer)])

info_hash = bytes(range(20))
def handshake(peer_id):
    return b"\x13BitTorrent protocol" + bytes(8) + info_hash + peer_id
pkts += tcp_session(("10.20.0.7", 41000), (victim, 51413),
                    [(C2S, handshake(b"-TR3000-aaaaaaaaaaaa")), (S2C, handshake(b"-TR3000-bbbbbbbbbbbb")),
                     (C2S, b"\x00\x00\x00\x01\x02")], t0=1700000010.0)
write("dcc-forged-offer.pcap", pkts)

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes dc-forged-connecttome.pcap: Direct Connect transfer requests that must not name a
TLS connection as a Direct Connect transfer (regression for classifiers/directconnect.cc,
"Transfers over TLS"). Every TLS connection below opens with a ClientHello without SNI,
the shape of a real DC transfer, and must stay `tls`:
1. 10.20.0.66 sends one segment "HSUP ADBASE ADTIGR / DCTM AAAB AAAC ADCS/0.10 47011 T"
   to 10.20.0.1:1511, which never answers as a hub; then 10.20.0.7 connects to
   10.20.0.66:47011.
2. An NMDC session of 10.20.0.66 with 10.20.0.1:411, logged in ($Lock, $Key/$ValidateNick,
   $Hello), in which the hub relays "$ConnectToMe a 10.20.0.5:8443S|" (it speaks for
   10.20.0.66's own connections only) and the client asks for its own port 443
   ("$ConnectToMe b 10.20.0.66:443S|", below the port floor); then 10.20.0.7 connects to
   10.20.0.5:8443 and to 10.20.0.66:443.
3. In the same session "$ConnectToMe b 10.20.0.66:47012S|"; 10.20.0.7 connects there 61 s
   later, after the hint's lifetime.
Run from this folder."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, client_hello, server_hello, tcp_session, write

T0 = 1700000000.0
CLIENT, HUB, OTHER, PEER = "10.20.0.66", "10.20.0.1", "10.20.0.5", "10.20.0.7"


def tls(src, dst, t0):
    return tcp_session(src, dst, [(C2S, client_hello("")), (S2C, server_hello()),
                                  (C2S, b"\x17\x03\x03\x00\x30" + bytes(0x30))], t0=t0)


pkts = tcp_session((CLIENT, 40000), (HUB, 1511),
                   [(C2S, b"HSUP ADBASE ADTIGR\nDCTM AAAB AAAC ADCS/0.10 47011 T\n")], t0=T0)
pkts += tls((PEER, 41000), (CLIENT, 47011), T0 + 2)
nmdc = [(S2C, b"$Lock EXTENDEDPROTOCOL_labhub Pk=labhub|"),
        (C2S, b"$Supports NoGetINFO NoHello TLS|$Key abc|$ValidateNick a|"),
        (S2C, b"$HubName lab hub|$Hello a|"),
        (S2C, b"$ConnectToMe a 10.20.0.5:8443S|"),
        (C2S, b"$ConnectToMe b 10.20.0.66:443S|"),
        (C2S, b"$ConnectToMe b 10.20.0.66:47012S|")]
pkts += tcp_session((CLIENT, 40001), (HUB, 411), nmdc, t0=T0 + 4)
pkts += tls((PEER, 41001), (OTHER, 8443), T0 + 6)
pkts += tls((PEER, 41002), (CLIENT, 443), T0 + 8)
pkts += tls((PEER, 41003), (CLIENT, 47012), T0 + 4 + 61)
write("dc-forged-connecttome.pcap", pkts)

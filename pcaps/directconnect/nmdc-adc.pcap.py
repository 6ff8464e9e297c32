#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes nmdc-adc.pcap: an NMDC hub login ($Lock/$Key/$ValidateNick), an NMDC
client-to-client connection ($MyNick/$Lock, $Direction), an ADC hub session (HSUP/ISUP)
and an ADC client-to-client session (CSUP). Synthetic, from the NMDC protocol notes and
the ADC 1.0 specification; no Direct Connect client ships in Debian 12 main.

  /usr/bin/python3 pcaps/directconnect/nmdc-adc.pcap.py pcaps/directconnect/nmdc-adc.pcap
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from p2p_synth import Capture  # noqa: E402

cap = Capture(seed=411)
C, HUB, PEER = "192.0.2.41", "198.51.100.42", "198.51.100.43"
cap.tcp(C, HUB, 44001, 4111, [
    (False, b"$Lock EXTENDEDPROTOCOL_synth_hub Pk=synthhub1.0|$HubName Example|"),
    (True, b"$Supports NoGetINFO UserIP2|$Key abcdefgh|$ValidateNick alice|"),
    (False, b"$Hello alice|"),
])
cap.tcp(C, PEER, 44002, 31412, [
    (True, b"$MyNick alice|$Lock EXTENDEDPROTOCOLxyz Pk=synthclient|"),
    (False, b"$MyNick bob|$Lock EXTENDEDPROTOCOLuvw Pk=synthclient|$Direction Upload 1234|"),
])
cap.tcp(C, HUB, 44003, 4112, [
    (True, b"HSUP ADBASE ADTIGR\n"),
    (False, b"ISUP ADBASE ADTIGR\nISID AAAB\nIINF CT32 NIhub\n"),
])
cap.tcp(C, PEER, 44004, 31413, [
    (True, b"CSUP ADBASE ADTIGR ADBZIP\n"),
    (False, b"CSUP ADBASE ADTIGR\nCINF IDABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQR\n"),
])
cap.write()

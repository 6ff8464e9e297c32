#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes cip-io.pcap: EtherNet/IP implicit (class 1) I/O messaging, the cyclic UDP
traffic between a PLC (originator) and an I/O adapter (target), from the ODVA EtherNet/IP
specification's common packet format: item count 2, a Sequenced Address item (type
0x8002, length 8: connection id, 32-bit sequence number), a Connected Data item (type
0x00b1: 16-bit CIP sequence count, for O->T a 32-bit run/idle header, then the I/O
image). Both directions every 20 ms (RPI 20 ms) on UDP 2222, and a second connection
whose target answers from a random port (as adapters behind port translation do).
nDPI 4.2 takes such datagrams for Skype/Teams (its UDP guess checks little more than the
third byte); they must not get any IM label. Run from this folder."""
import os, random, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, udp_timed as udp_flow, write_flows as write

rng = random.Random(20261203)


def io(conn_id, seq, cip_seq, data, run_idle):
    body = struct.pack("<H", cip_seq) + (struct.pack("<I", 1) if run_idle else b"") + data
    return (struct.pack("<H", 2) + struct.pack("<HHII", 0x8002, 8, conn_id, seq)
            + struct.pack("<HH", 0x00B1, len(body)) + body)


def connection(orig, target, t0, n=30):
    o2t, t2o = rng.getrandbits(32), rng.getrandbits(32)
    out_img, in_img = bytearray(8), bytearray(16)
    m = []
    for i in range(n):
        out_img[i % 8] ^= 1 << (i % 8)           # outputs toggle slowly
        in_img[0:2] = struct.pack("<H", 1000 + 3 * i)  # an analogue input drifts
        m.append((i * 0.020, C2S, io(o2t, i + 1, (i + 1) & 0xFFFF, bytes(out_img), True)))
        m.append((i * 0.020 + 0.003, S2C, io(t2o, i + 1, (i + 1) & 0xFFFF, bytes(in_img), False)))
    return udp_flow(orig, target, m, t0)


write("cip-io.pcap", [connection(("10.32.0.10", 2222), ("10.32.0.20", 2222), 1700000000.0),
                      connection(("10.32.0.11", 2222), ("10.32.0.21", 49811), 1700000001.0)])

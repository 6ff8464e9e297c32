#!/usr/bin/python3
"""Look-alike negative for tls_records: mid-stream TCP flows (no SYN) whose segments start
like TLS records only in one direction, or with a record type outside 20..23, or with an
impossible length. None of them may come out as `tls` by tls_records.

Run from the repository root: /usr/bin/python3 pcaps/tls_records/binary-lookalike.pcap.py
"""
import random

from scapy.all import IP, TCP, Ether, Raw, wrpcap

rng = random.Random(20261127)
C, S = "10.20.0.2", "10.20.0.1"
pkts = []
t = 1_700_000_000.0


def seg(src, dst, sport, dport, payload):
    global t
    t += 0.01
    p = Ether() / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="PA") / Raw(payload)
    p.time = t
    return p


def body(n):
    return bytes(rng.randrange(256) for _ in range(n))


# 1: application-data-looking headers from the client only; the server answers in binary.
for _ in range(4):
    pkts.append(seg(C, S, 40001, 7000, b"\x17\x03\x03\x00\x40" + body(64)))
    pkts.append(seg(S, C, 7000, 40001, b"\x01\x02" + body(80)))
# 2: a record type outside TLS's range (0x18) in both directions.
for _ in range(4):
    pkts.append(seg(C, S, 40002, 7001, b"\x18\x03\x03\x00\x20" + body(32)))
    pkts.append(seg(S, C, 7001, 40002, b"\x18\x03\x03\x00\x20" + body(32)))
# 3: lengths beyond the largest TLS record.
for _ in range(4):
    pkts.append(seg(C, S, 40003, 7002, b"\x17\x03\x03\xff\xff" + body(40)))
    pkts.append(seg(S, C, 7002, 40003, b"\x17\x03\x03\xff\xf0" + body(40)))
wrpcap("pcaps/tls_records/binary-lookalike.pcap", pkts)

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes lookalike-negative.pcap: traffic that starts with eDonkey/Kad protocol bytes but
is not eDonkey (none of it may be labelled edonkey). Deterministic.

  /usr/bin/python3 pcaps/edonkey/lookalike-negative.pcap.py pcaps/edonkey/lookalike-negative.pcap
"""
import random
import struct
import sys

from scapy.all import IP, TCP, UDP, Ether, Raw, wrpcap

rng = random.Random(4662)
T0 = 1_700_000_100.0
packets = []


def emit(pkt):
    pkt.time = T0 + len(packets) * 0.01
    packets.append(Ether(src="02:00:00:00:00:03", dst="02:00:00:00:00:04") / pkt)


def tcp_session(cli, srv, sport, dport, exchanges):
    cseq, sseq = rng.randrange(1 << 31), rng.randrange(1 << 31)
    emit(IP(src=cli, dst=srv) / TCP(sport=sport, dport=dport, flags="S", seq=cseq))
    emit(IP(src=srv, dst=cli) / TCP(sport=dport, dport=sport, flags="SA", seq=sseq, ack=cseq + 1))
    cseq += 1
    sseq += 1
    emit(IP(src=cli, dst=srv) / TCP(sport=sport, dport=dport, flags="A", seq=cseq, ack=sseq))
    for to_server, data in exchanges:
        if to_server:
            emit(IP(src=cli, dst=srv) / TCP(sport=sport, dport=dport, flags="PA", seq=cseq, ack=sseq) / Raw(data))
            cseq += len(data)
        else:
            emit(IP(src=srv, dst=cli) / TCP(sport=dport, dport=sport, flags="PA", seq=sseq, ack=cseq) / Raw(data))
            sseq += len(data)
    emit(IP(src=cli, dst=srv) / TCP(sport=sport, dport=dport, flags="FA", seq=cseq, ack=sseq))
    emit(IP(src=srv, dst=cli) / TCP(sport=dport, dport=sport, flags="FA", seq=sseq, ack=cseq + 1))


def rand(n):
    return bytes(rng.randrange(256) for _ in range(n))


CLI, SRV = "192.0.2.20", "203.0.113.90"
# 0xE3 and a length that does not match the segment, answered with binary noise.
tcp_session(CLI, SRV, 42000, 4662, [(True, b"\xe3" + struct.pack("<I", 200) + b"\x01" + rand(60)),
                                     (False, rand(48))])
# A well-framed 0xC5 message one way, an HTTP error back: not both sides eD2k.
tcp_session(CLI, SRV, 42001, 8080, [(True, b"\xc5" + struct.pack("<I", 31) + b"\x01" + rand(30)),
                                     (False, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")])
# UDP datagrams starting with the Kad byte but no valid Kademlia opcode/size.
for i in range(3):
    emit(IP(src=CLI, dst=SRV) / UDP(sport=42002, dport=4672) / Raw(b"\xe4\x21" + rand(20 + i)))
    emit(IP(src=SRV, dst=CLI) / UDP(sport=4672, dport=42002) / Raw(b"\xe4\x77" + rand(9)))

wrpcap(sys.argv[1], packets)

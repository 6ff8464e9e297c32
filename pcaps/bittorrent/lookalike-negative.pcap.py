#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes lookalike-negative.pcap: traffic that resembles BitTorrent signalling but is not
(none of it may be labelled bittorrent). Built from BEP 3/5/15/29 by negation; deterministic.

  /usr/bin/python3 pcaps/bittorrent/lookalike-negative.pcap.py pcaps/bittorrent/lookalike-negative.pcap
"""
import random
import sys

from scapy.all import IP, TCP, UDP, Ether, Raw, wrpcap

rng = random.Random(20261127)
T0 = 1_700_000_000.0
packets = []


def emit(pkt):
    pkt.time = T0 + len(packets) * 0.01
    packets.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / pkt)


def tcp_session(cli, srv, sport, dport, exchanges):
    """Three-way handshake, then (direction, payload) pairs, each acknowledged, then FIN."""
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
            emit(IP(src=srv, dst=cli) / TCP(sport=dport, dport=sport, flags="A", seq=sseq, ack=cseq))
        else:
            emit(IP(src=srv, dst=cli) / TCP(sport=dport, dport=sport, flags="PA", seq=sseq, ack=cseq) / Raw(data))
            sseq += len(data)
            emit(IP(src=cli, dst=srv) / TCP(sport=sport, dport=dport, flags="A", seq=cseq, ack=sseq))
    emit(IP(src=cli, dst=srv) / TCP(sport=sport, dport=dport, flags="FA", seq=cseq, ack=sseq))
    emit(IP(src=srv, dst=cli) / TCP(sport=dport, dport=sport, flags="FA", seq=sseq, ack=cseq + 1))
    emit(IP(src=cli, dst=srv) / TCP(sport=sport, dport=dport, flags="A", seq=cseq + 1, ack=sseq + 1))


def udp_exchange(a, b, sport, dport, datagrams):
    for to_b, data in datagrams:
        if to_b:
            emit(IP(src=a, dst=b) / UDP(sport=sport, dport=dport) / Raw(data))
        else:
            emit(IP(src=b, dst=a) / UDP(sport=dport, dport=sport) / Raw(data))


def rand(n):
    return bytes(rng.randrange(256) for _ in range(n))


CLI, SRV = "192.0.2.10", "203.0.113.80"
# A web search whose query mentions info_hash but is no tracker announce (no peer_id).
tcp_session(CLI, SRV, 41000, 80, [
    (True, b"GET /search?q=info_hash&page=2 HTTP/1.1\r\nHost: example.org\r\n\r\n"),
    (False, b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nd5:peers0:e"),
])
# MSE-sized random exchanges that are not MSE: to an alternative-HTTPS service port; with
# a third message too short for MSE's request; with the initiator talking twice first.
tcp_session(CLI, SRV, 41001, 8443, [(True, rand(96 + 61)), (False, rand(96 + 200)), (True, rand(80))])
tcp_session(CLI, SRV, 41006, 40123, [(True, rand(96 + 61)), (False, rand(96 + 200)), (True, rand(24))])
tcp_session(CLI, SRV, 41007, 40127, [(True, rand(120)), (True, rand(120)), (False, rand(150)), (True, rand(90))])
# Bencoded data over UDP that is not KRPC (no "y"/"t", no node id).
udp_exchange(CLI, SRV, 41002, 40124, [(True, b"d3:cmd4:ping3:seqi1ee"), (False, b"d3:cmd4:pong3:seqi1ee")])
# SSDP search: an HTTP-over-UDP request like BEP 14's, but not BT-SEARCH.
udp_exchange(CLI, "239.255.255.250", 41003, 1900, [
    (True, b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n"),
])
# 20-byte datagrams starting like a uTP SYN, answered with an unrelated header.
udp_exchange(CLI, SRV, 41004, 40125, [
    (True, bytes([0x41, 0x00, 0x12, 0x34]) + rand(16)),
    (False, bytes([0x21, 0x00, 0x99, 0x99]) + rand(16)),
])
# 16-byte requests with a protocol id one bit off BEP 15's.
udp_exchange(CLI, SRV, 41005, 40126, [
    (True, bytes.fromhex("0000041727101981") + bytes(4) + rand(4)),
    (False, rand(16)),
])

wrpcap(sys.argv[1], packets)

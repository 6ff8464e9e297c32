# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the synthetic negative captures (pcaps/negative/): UDP flows with their
own timing (game netcode ticks, I/O cycles) and TCP sessions with realistic segmenting.
Deterministic: every generator seeds its own random.Random, so a rerun writes the same
file."""
from scapy.all import Ether, IP, IPv6, TCP, UDP, Raw, wrpcap

C2S, S2C = 0, 1
T0 = 1700000000.0
MAC_C, MAC_S = "02:00:00:00:00:01", "02:00:00:00:00:02"


def _ip(src, dst):
    return IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)


def udp_flow(client, server, messages, t0=T0):
    """messages: [(t_offset_seconds, C2S|S2C, bytes)] in time order."""
    (cip, cport), (sip, sport) = client, server
    pkts = []
    for dt, d, data in messages:
        if d == C2S:
            p = Ether(src=MAC_C, dst=MAC_S) / _ip(cip, sip) / UDP(sport=cport, dport=sport) / Raw(data)
        else:
            p = Ether(src=MAC_S, dst=MAC_C) / _ip(sip, cip) / UDP(sport=sport, dport=cport) / Raw(data)
        p.time = t0 + dt
        pkts.append(p)
    return pkts


def tcp_flow(client, server, messages, t0=T0, mss=1448):
    """A TCP session with handshake and teardown; each (C2S|S2C, bytes) message is cut
    into MSS-sized segments, acknowledged by the peer."""
    (cip, cport), (sip, sport) = client, server
    cseq, sseq = 1000, 5000
    t = t0
    pkts = []

    def add(p):
        nonlocal t
        t += 0.004
        p.time = t
        pkts.append(p)

    ec, es = Ether(src=MAC_C, dst=MAC_S), Ether(src=MAC_S, dst=MAC_C)
    add(ec / _ip(cip, sip) / TCP(sport=cport, dport=sport, flags="S", seq=cseq))
    add(es / _ip(sip, cip) / TCP(sport=sport, dport=cport, flags="SA", seq=sseq, ack=cseq + 1))
    cseq += 1
    sseq += 1
    add(ec / _ip(cip, sip) / TCP(sport=cport, dport=sport, flags="A", seq=cseq, ack=sseq))
    for d, data in messages:
        for at in range(0, len(data), mss):
            seg = data[at:at + mss]
            if d == C2S:
                add(ec / _ip(cip, sip) / TCP(sport=cport, dport=sport, flags="PA", seq=cseq, ack=sseq) / Raw(seg))
                cseq += len(seg)
            else:
                add(es / _ip(sip, cip) / TCP(sport=sport, dport=cport, flags="PA", seq=sseq, ack=cseq) / Raw(seg))
                sseq += len(seg)
        if d == C2S:
            add(es / _ip(sip, cip) / TCP(sport=sport, dport=cport, flags="A", seq=sseq, ack=cseq))
        else:
            add(ec / _ip(cip, sip) / TCP(sport=cport, dport=sport, flags="A", seq=cseq, ack=sseq))
    add(ec / _ip(cip, sip) / TCP(sport=cport, dport=sport, flags="FA", seq=cseq, ack=sseq))
    add(es / _ip(sip, cip) / TCP(sport=sport, dport=cport, flags="FA", seq=sseq, ack=cseq + 1))
    add(ec / _ip(cip, sip) / TCP(sport=cport, dport=sport, flags="A", seq=cseq + 1, ack=sseq + 1))
    return pkts


def write(path, flows):
    """flows: lists of packets; merged in time order."""
    pkts = sorted((p for f in flows for p in f), key=lambda p: float(p.time))
    wrpcap(path, pkts)

# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the synthetic IM captures: a TCP session with a real handshake, sequence
numbers and teardown, or a UDP exchange, written with scapy. Used by the *.pcap.py
generators under pcaps/<proto>/ for protocols that have no client in Debian."""
import struct

from scapy.all import Ether, IP, IPv6, TCP, UDP, Raw, wrpcap

C2S, S2C = 0, 1
T0 = 1700000000.0


def _ip(src, dst):
    return IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)


def tcp_session(client, server, messages, t0=T0, mss=None):
    """client/server: (ip, port); messages: [(C2S|S2C, bytes)]. Returns packets. With
    `mss`, a message longer than that is sent as several segments, acknowledged once."""
    (cip, cport), (sip, sport) = client, server
    e_c = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    e_s = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
    cseq, sseq = 1000, 5000
    t = t0
    pkts = []

    def add(p):
        nonlocal t
        t += 0.01
        p.time = t
        pkts.append(p)

    add(e_c / _ip(cip, sip) / TCP(sport=cport, dport=sport, flags="S", seq=cseq))
    add(e_s / _ip(sip, cip) / TCP(sport=sport, dport=cport, flags="SA", seq=sseq, ack=cseq + 1))
    cseq += 1
    sseq += 1
    add(e_c / _ip(cip, sip) / TCP(sport=cport, dport=sport, flags="A", seq=cseq, ack=sseq))
    for d, message in messages:
        step = mss or max(len(message), 1)
        for data in [message[at:at + step] for at in range(0, len(message), step)] or [message]:
            if d == C2S:
                add(e_c / _ip(cip, sip) / TCP(sport=cport, dport=sport, flags="PA", seq=cseq, ack=sseq) / Raw(data))
                cseq += len(data)
            else:
                add(e_s / _ip(sip, cip) / TCP(sport=sport, dport=cport, flags="PA", seq=sseq, ack=cseq) / Raw(data))
                sseq += len(data)
        if d == C2S:
            add(e_s / _ip(sip, cip) / TCP(sport=sport, dport=cport, flags="A", seq=sseq, ack=cseq))
        else:
            add(e_c / _ip(cip, sip) / TCP(sport=cport, dport=sport, flags="A", seq=cseq, ack=sseq))
    add(e_c / _ip(cip, sip) / TCP(sport=cport, dport=sport, flags="FA", seq=cseq, ack=sseq))
    add(e_s / _ip(sip, cip) / TCP(sport=sport, dport=cport, flags="FA", seq=sseq, ack=cseq + 1))
    add(e_c / _ip(cip, sip) / TCP(sport=cport, dport=sport, flags="A", seq=cseq + 1, ack=sseq + 1))
    return pkts


def udp_exchange(client, server, messages, t0=T0):
    (cip, cport), (sip, sport) = client, server
    pkts = []
    t = t0
    for d, data in messages:
        t += 0.02
        if d == C2S:
            p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / _ip(cip, sip) / UDP(sport=cport, dport=sport) / Raw(data)
        else:
            p = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01") / _ip(sip, cip) / UDP(sport=sport, dport=cport) / Raw(data)
        p.time = t
        pkts.append(p)
    return pkts


def udp_timed(client, server, messages, t0=T0):
    """A UDP flow with its own timing (game ticks, I/O cycles): messages are
    [(seconds after t0, C2S|S2C, bytes)]."""
    (cip, cport), (sip, sport) = client, server
    pkts = []
    for dt, d, data in messages:
        if d == C2S:
            p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / _ip(cip, sip) / UDP(sport=cport, dport=sport) / Raw(data)
        else:
            p = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01") / _ip(sip, cip) / UDP(sport=sport, dport=cport) / Raw(data)
        p.time = t0 + dt
        pkts.append(p)
    return pkts


def write(path, pkts):
    wrpcap(path, pkts)


def write_flows(path, flows):
    """flows: lists of packets, merged in time order."""
    wrpcap(path, sorted((p for f in flows for p in f), key=lambda p: float(p.time)))


def client_hello(sni):
    """A TLS 1.3 ClientHello record with fixed random bytes; no server_name when `sni` is empty."""
    name = sni.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name if name else b""
    groups = struct.pack("!HHHH", 10, 4, 2, 0x001d)
    versions = struct.pack("!HHBH", 43, 3, 2, 0x0304)
    sigalgs = struct.pack("!HHHHH", 13, 6, 4, 0x0403, 0x0804)
    keyshare = struct.pack("!HHHHH", 51, 38, 36, 0x001d, 32) + bytes(range(32))
    exts = sni_ext + groups + versions + sigalgs + keyshare
    body = (b"\x03\x03" + bytes(range(32)) + b"\x20" + bytes(range(32, 64)) +
            struct.pack("!H", 4) + b"\x13\x01\x13\x02" + b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def server_hello():
    """A TLS 1.3 ServerHello record, ChangeCipherSpec and one application data record."""
    keyshare = struct.pack("!HHHH", 51, 36, 0x001d, 32) + bytes(range(100, 132))
    versions = struct.pack("!HHH", 43, 2, 0x0304)
    exts = versions + keyshare
    body = (b"\x03\x03" + bytes(range(64, 96)) + b"\x20" + bytes(range(32, 64)) + b"\x13\x01\x00" +
            struct.pack("!H", len(exts)) + exts)
    hs = b"\x02" + struct.pack("!I", len(body))[1:] + body
    ccs = b"\x14\x03\x03\x00\x01\x01"
    app = b"\x17\x03\x03\x00\x40" + bytes(range(0x40))
    return b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs + ccs + app


def stun_attr(atype, value):
    """One STUN attribute (RFC 8489 14): type, length, value padded to 4 bytes."""
    return struct.pack(">HH", atype, len(value)) + value + b"\x00" * ((4 - len(value) % 4) % 4)


def stun_message(mtype, attrs, txid):
    """A STUN message with the RFC 8489 magic cookie and the 12-byte transaction id `txid`."""
    return struct.pack(">HHI", mtype, len(attrs), 0x2112A442) + txid + attrs


# The names the call generators use.
tls_client_hello = client_hello
tls_server_hello = server_hello

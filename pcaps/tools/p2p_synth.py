# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the synthetic P2P captures (Gnutella, Direct Connect, Soulseek): complete
TCP sessions (handshake, acknowledged data, FIN) and UDP exchanges with fixed timestamps,
so every generator writes the same bytes on every run."""
import random
import struct
import sys

from scapy.all import IP, TCP, UDP, Ether, Raw, wrpcap


class Capture:
    def __init__(self, seed, t0=1_700_000_000.0):
        self.rng = random.Random(seed)
        self.t0 = t0
        self.packets = []

    def emit(self, pkt):
        # The time goes on the whole frame: stacking makes a new packet, stamped "now".
        frame = Ether(src="02:00:00:00:10:01", dst="02:00:00:00:10:02") / pkt
        frame.time = self.t0 + len(self.packets) * 0.01
        self.packets.append(frame)

    def tcp(self, cli, srv, sport, dport, exchanges, start=True):
        """exchanges: (True = client→server | False, payload bytes). start=False leaves out
        the three-way handshake: a capture that begins in the middle of the connection."""
        cseq, sseq = self.rng.randrange(1 << 31), self.rng.randrange(1 << 31)
        c = lambda **kw: IP(src=cli, dst=srv) / TCP(sport=sport, dport=dport, **kw)  # noqa: E731
        s = lambda **kw: IP(src=srv, dst=cli) / TCP(sport=dport, dport=sport, **kw)  # noqa: E731
        if start:
            self.emit(c(flags="S", seq=cseq))
            self.emit(s(flags="SA", seq=sseq, ack=cseq + 1))
        cseq += 1
        sseq += 1
        if start:
            self.emit(c(flags="A", seq=cseq, ack=sseq))
        for to_server, data in exchanges:
            if to_server:
                self.emit(c(flags="PA", seq=cseq, ack=sseq) / Raw(data))
                cseq += len(data)
                self.emit(s(flags="A", seq=sseq, ack=cseq))
            else:
                self.emit(s(flags="PA", seq=sseq, ack=cseq) / Raw(data))
                sseq += len(data)
                self.emit(c(flags="A", seq=cseq, ack=sseq))
        self.emit(c(flags="FA", seq=cseq, ack=sseq))
        self.emit(s(flags="FA", seq=sseq, ack=cseq + 1))
        self.emit(c(flags="A", seq=cseq + 1, ack=sseq + 1))

    def udp(self, a, b, sport, dport, datagrams):
        for to_b, data in datagrams:
            if to_b:
                self.emit(IP(src=a, dst=b) / UDP(sport=sport, dport=dport) / Raw(data))
            else:
                self.emit(IP(src=b, dst=a) / UDP(sport=dport, dport=sport) / Raw(data))

    def rand(self, n):
        return bytes(self.rng.randrange(256) for _ in range(n))

    def write(self):
        wrpcap(sys.argv[1], self.packets)


def le32(v):
    return struct.pack("<I", v)

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes tcp-after-close.pcap: TCP flows as a reader sees them, one per SYN.

1. An IRC session 10.20.1.2:45000 -> 10.20.1.1:6667 closed by FIN/FIN/ACK; 30 s later (past
   the engine's 10 s linger) the server retransmits its FIN/ACK and the client ACKs it
   again, then the client retransmits its last data segment. Still one flow: irc.
2. A session 10.20.1.3:45001 -> 10.20.1.1:6667 (IRC) that the server resets; 20 s later a
   retransmitted data segment and a late ACK. Still one flow: irc.
3. The same 5-tuple as 1, 60 s after the close, opened again by a SYN: a second flow.
4. A session seen from its middle (the capture started late, no SYN): IRC lines
   10.20.1.4:45002 <-> 10.20.1.1:6667. Still classified: irc.
Regression for engine/flow_table.cc (closed-flow tombstones). Run from this folder."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from scapy.all import Ether, IP, TCP, Raw
from im_synth import C2S, S2C, tcp_session, write

E_C = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
E_S = dict(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
T0 = 1700000000.0
HELLO = [(C2S, b"NICK alice\r\nUSER alice 0 * :Alice\r\n"),
         (S2C, b":irc.example.test 001 alice :Welcome to the IRC network alice\r\n"),
         (C2S, b"JOIN #lab\r\n")]


def seg(client, server, d, flags, seq, ack, t, data=b""):
    (cip, cport), (sip, sport) = client, server
    if d == C2S:
        p = Ether(**E_C) / IP(src=cip, dst=sip) / TCP(sport=cport, dport=sport, flags=flags,
                                                       seq=seq, ack=ack)
    else:
        p = Ether(**E_S) / IP(src=sip, dst=cip) / TCP(sport=sport, dport=cport, flags=flags,
                                                       seq=seq, ack=ack)
    if data:
        p = p / Raw(data)
    p.time = t
    return p


srv = ("10.20.1.1", 6667)
pkts = []

# 1: closed by FIN/FIN/ACK, then stray packets past the linger.
c1 = ("10.20.1.2", 45000)
s1 = tcp_session(c1, srv, HELLO, t0=T0)
pkts += s1
fin_c, fin_s = s1[-3], s1[-2]
end1 = float(s1[-1].time)
cseq, sseq = fin_c[TCP].seq, fin_s[TCP].seq
pkts.append(seg(c1, srv, S2C, "FA", sseq, cseq + 1, end1 + 30.0))
pkts.append(seg(c1, srv, C2S, "A", cseq + 1, sseq + 1, end1 + 30.01))
last = HELLO[-1][1]
pkts.append(seg(c1, srv, C2S, "PA", cseq - len(last), sseq + 1, end1 + 30.02, last))

# 2: reset by the server, then a retransmission and a late ACK.
c2 = ("10.20.1.3", 45001)
s2 = tcp_session(c2, srv, HELLO, t0=T0 + 1.0)[:-3]  # no FIN teardown
t2 = float(s2[-1].time)
last_c = [p for p in s2 if p[TCP].sport == c2[1]][-1][TCP]
last_s = [p for p in s2 if p[TCP].sport == srv[1]][-1][TCP]
s2.append(seg(c2, srv, S2C, "R", last_s.seq, 0, t2 + 0.01))
s2.append(seg(c2, srv, C2S, "PA", last_c.seq - len(last), last_c.ack, t2 + 20.0, last))
s2.append(seg(c2, srv, C2S, "A", last_c.seq, last_c.ack, t2 + 20.01))
pkts += s2

# 3: the 5-tuple of 1 opened again by a SYN: a new connection.
pkts += tcp_session(c1, srv, HELLO, t0=end1 + 60.0)

# 4: mid-stream, no handshake in the capture.
c4 = ("10.20.1.4", 45002)
t4 = T0 + 2.0
cseq, sseq = 70000, 90000
for i, (d, data) in enumerate([(S2C, b":alice!a@10.20.1.2 PRIVMSG #lab :hello there\r\n"),
                               (C2S, b"PRIVMSG #lab :hi alice, how are you?\r\n"),
                               (S2C, b":irc.example.test PING :irc.example.test\r\n"),
                               (C2S, b"PONG :irc.example.test\r\n")]):
    t4 += 0.02
    pkts.append(seg(c4, srv, d, "PA", cseq if d == C2S else sseq,
                    sseq if d == C2S else cseq, t4, data))
    if d == C2S:
        cseq += len(data)
    else:
        sseq += len(data)

pkts.sort(key=lambda p: float(p.time))
write("tcp-after-close.pcap", pkts)

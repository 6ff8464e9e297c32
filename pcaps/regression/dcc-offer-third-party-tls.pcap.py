#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes dcc-offer-third-party-tls.pcap (attack 2, DCC form): a registered IRC session
(NICK/USER, the server's 001 welcome) of 10.20.0.66 on 10.20.0.1:6667 that sends
`PRIVMSG b :\\x01DCC SEND f <10.20.0.5> 8443 1\\x01` naming another host's address, then a TLS
connection from 10.20.0.7 to 10.20.0.5:8443 (ClientHello with SNI www.example.test, server
answer). The offer speaks for neither party of that TLS connection, so it is ignored; the
connection is TLS, not an irc file transfer ("chat yes, files no" would drop that). Also a
second offer naming the client's own address on port 22 (below the DCC port floor), then an
SSH connection there. Regression for classifiers/irc.cc. Run from this folder."""
import os, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, tcp_session, write, tls_client_hello as client_hello, tls_server_hello as server_hello


def ipnum(s):
    return sum(int(b) << (8 * (3 - i)) for i, b in enumerate(s.split(".")))


client = "10.20.0.66"
welcome = (b":irc.example.test 001 a :Welcome to the Internet Relay Network a\r\n"
           b":irc.example.test 376 a :End of MOTD command\r\n")
irc = [(C2S, b"NICK a\r\nUSER a 0 * :A\r\n"), (S2C, welcome),
       (C2S, b"PRIVMSG b :\x01DCC SEND f %d 8443 1\x01\r\n" % ipnum("10.20.0.5")),
       (C2S, b"PRIVMSG b :\x01DCC SEND g %d 22 1\x01\r\n" % ipnum(client)),
       (S2C, b":irc.example.test NOTICE a :ok\r\n")]
pkts = tcp_session((client, 40000), ("10.20.0.1", 6667), irc)
pkts += tcp_session(("10.20.0.7", 41000), ("10.20.0.5", 8443),
                    [(C2S, client_hello("www.example.test")), (S2C, server_hello()),
                     (C2S, b"\x17\x03\x03\x00\x30" + bytes(0x30))], t0=1700000010.0)
pkts += tcp_session(("10.20.0.7", 41001), (client, 22),
                    [(S2C, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"),
                     (C2S, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")], t0=1700000020.0)
write("dcc-offer-third-party-tls.pcap", pkts)

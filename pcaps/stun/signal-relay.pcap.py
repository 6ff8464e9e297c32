#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes signal-relay.pcap and signal-relay-unlearned.pcap: the cross-flow hint for Signal
calls. A Signal client (RingRTC, i.e. WebRTC) gathers candidates from every relay URL the
service hands out at once: TURN over TLS to the relay's host name (the ClientHello names
turn3.voip.signal.org) and TURN over UDP to the same address. The UDP allocation itself is
plain RFC 8656 (REQUESTED-TRANSPORT; the 401 with REALM and NONCE; the authenticated
retry), indistinguishable from any WebRTC client's, so only the TLS sibling says Signal.
  signal-relay.pcap: 10.7.0.10 opens TLS to 10.7.0.50:443, then TURN/UDP to 10.7.0.50:3478.
  signal-relay-unlearned.pcap: the same TLS connection, then the same TURN exchange from a
  second client 10.7.0.11 to that relay (it did not learn it), from 10.7.0.10 to a
  neighbouring address 10.7.0.51, and from 10.7.0.12 to 10.7.0.52 after TLS to
  chat.signal.org there (Signal's chat service, not a relay).
Run from this folder."""
import os, random, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, stun_attr as attr, stun_message, tcp_session, udp_exchange, write_flows, tls_client_hello, tls_server_hello

rnd = random.Random(8656)

def stun(mtype, attrs):
    return stun_message(mtype, attrs, rnd.randbytes(12))

def turn(client, relay, t0):
    transport = attr(0x0019, b"\x11\x00\x00\x00")
    first = stun(0x0003, transport)
    unauth = stun(0x0113, attr(0x0009, b"\x00\x00\x04\x01") + attr(0x0014, b"lab.example") +
                  attr(0x0015, rnd.randbytes(16).hex().encode()))
    retry = stun(0x0003, transport + attr(0x0006, b"1700086400:pseudonym") +
                 attr(0x0014, b"lab.example") + attr(0x0015, rnd.randbytes(16).hex().encode()) +
                 attr(0x0008, rnd.randbytes(20)))
    ok = stun(0x0103, attr(0x0016, rnd.randbytes(8)) + attr(0x0020, rnd.randbytes(8)) +
              attr(0x000d, b"\x00\x00\x02\x58") + attr(0x0008, rnd.randbytes(20)))
    return udp_exchange((client, rnd.randint(50000, 60000)), (relay, 3478),
                        [(C2S, first), (S2C, unauth), (C2S, retry), (S2C, ok)], t0=t0)

def tls(client, server, sni, t0):
    return tcp_session((client, rnd.randint(40000, 49999)), (server, 443),
                       [(C2S, tls_client_hello(sni)), (S2C, tls_server_hello()),
                        (C2S, b"\x17\x03\x03\x00\x30" + bytes(0x30))], t0=t0)

T = 1700000000.0
relay_tls = tls("10.7.0.10", "10.7.0.50", "turn3.voip.signal.org", T)
write_flows("signal-relay.pcap", [relay_tls, turn("10.7.0.10", "10.7.0.50", T + 0.2)])
write_flows("signal-relay-unlearned.pcap", [
    relay_tls,
    turn("10.7.0.11", "10.7.0.50", T + 0.2),
    turn("10.7.0.10", "10.7.0.51", T + 0.3),
    tls("10.7.0.12", "10.7.0.52", "chat.signal.org", T + 0.4),
    turn("10.7.0.12", "10.7.0.52", T + 0.6),
])

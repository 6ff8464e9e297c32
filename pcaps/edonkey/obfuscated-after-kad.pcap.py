#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes obfuscated-after-kad.pcap: eMule's protocol obfuscation on client-to-client TCP,
which nothing in the bytes gives away, recognised only because a Kad lookup named the peer
before (evidence cross_flow). Deterministic.

  /usr/bin/python3 pcaps/edonkey/obfuscated-after-kad.pcap.py pcaps/edonkey/obfuscated-after-kad.pcap

Synthetic: aMule's obfuscated mode could not be completed between two isolated aMule
daemons (README.md). The obfuscation follows eMule's published scheme (EncryptedStreamSocket):
the initiator sends a semi-random marker byte (never an eD2k protocol byte), a 4-byte random
key part, then RC4 under MD5(receiver's user hash | 0x22 | key part) of the magic value
0x835E6FC4, the supported and preferred methods, a padding length and the padding; the
receiver answers under MD5(user hash | 0xCB | key part) with the magic, the selected method
and its own padding; the eD2k hello and everything after continue both RC4 streams (the
first 1024 bytes of each key stream are discarded, as eMule does).

Flows:
1. 10.30.0.2 asks a Kad node 198.51.100.7 (KADEMLIA2_REQ) and gets a KADEMLIA2_RES naming
   the contact 198.51.100.40 (UDP 4672, TCP 4662).
2. 10.30.0.2 connects to 198.51.100.40:4662 with the obfuscated handshake: `edonkey`
   (cross_flow) — the client learned that endpoint itself.
3. 10.30.0.3, which asked nobody, makes the same kind of connection to the same endpoint:
   unknown — another host's lookup does not speak for it.
4. 10.30.0.2 makes the same kind of connection to 198.51.100.41:4662, which no lookup named:
   unknown.
"""

import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from p2p_synth import Capture  # noqa: E402

MAGIC = 0x835E6FC4


class Rc4:
    def __init__(self, key, drop=1024):
        s = list(range(256))
        j = 0
        for i in range(256):
            j = (j + s[i] + key[i % len(key)]) & 0xFF
            s[i], s[j] = s[j], s[i]
        self.s, self.i, self.j = s, 0, 0
        self.crypt(bytes(drop))

    def crypt(self, data):
        out = bytearray()
        s = self.s
        for b in data:
            self.i = (self.i + 1) & 0xFF
            self.j = (self.j + s[self.i]) & 0xFF
            s[self.i], s[self.j] = s[self.j], s[self.i]
            out.append(b ^ s[(s[self.i] + s[self.j]) & 0xFF])
        return bytes(out)


def obfuscated_session(cap, receiver_hash):
    """The two handshake segments and one encrypted eD2k hello each way."""
    marker = bytes([0x5A])  # any byte but 0xE3, 0xC5, 0xD4
    key_part = cap.rand(4)
    send = Rc4(hashlib.md5(receiver_hash + b"\x22" + key_part).digest())
    recv = Rc4(hashlib.md5(receiver_hash + b"\xcb" + key_part).digest())
    pad = cap.rand(cap.rng.randrange(0, 16))
    hello_c = send.crypt(struct.pack("<IBBB", MAGIC, 0, 0, len(pad)) + pad)
    pad_s = cap.rand(cap.rng.randrange(0, 16))
    hello_s = recv.crypt(struct.pack("<IBB", MAGIC, 0, len(pad_s)) + pad_s)
    ed2k_hello = b"\xe3" + struct.pack("<I", 1 + 1 + 16 + 6 + 4) + b"\x01\x10" + cap.rand(16) + \
        cap.rand(4) + struct.pack("<H", 4662) + struct.pack("<I", 0)
    answer = b"\xe3" + struct.pack("<I", 1 + 16 + 6 + 4) + b"\x4c" + cap.rand(16) + cap.rand(4) + \
        struct.pack("<H", 4662) + struct.pack("<I", 0)
    return [(True, marker + key_part + hello_c), (False, hello_s),
            (True, send.crypt(ed2k_hello)), (False, recv.crypt(answer))]


def kad_contact(kad_id, ip, udp, tcp):
    a = [int(x) for x in ip.split(".")]
    return kad_id + bytes([a[3], a[2], a[1], a[0]]) + struct.pack("<HHB", udp, tcp, 8)


cap = Capture(4672, t0=1_700_000_500.0)
ME, OTHER, NODE, PEER, STRANGER = "10.30.0.2", "10.30.0.3", "198.51.100.7", "198.51.100.40", \
    "198.51.100.41"
target = cap.rand(16)
req = b"\xe4\x21" + b"\x0b" + target + cap.rand(16)
res = b"\xe4\x29" + target + b"\x01" + kad_contact(cap.rand(16), PEER, 4672, 4662)
cap.udp(ME, NODE, 4672, 4672, [(True, req), (False, res)])

peer_hash = cap.rand(16)
cap.tcp(ME, PEER, 51000, 4662, obfuscated_session(cap, peer_hash))
cap.tcp(OTHER, PEER, 51001, 4662, obfuscated_session(cap, peer_hash))
cap.tcp(ME, STRANGER, 51002, 4662, obfuscated_session(cap, cap.rand(16)))
cap.write()

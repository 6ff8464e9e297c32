#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes chat-server.pcap: three Threema chat server connections built from the
handshake in Threema's Cryptography Whitepaper ("Chat Protocol") and the published
client sources, with real X25519 keys and XSalsa20-Poly1305 boxes (python3-nacl) under
lab keys (no Threema key is used or needed):
  1. 10.9.0.10:51000 -> 10.9.0.20:5222, a current client: login box + extensions box;
     the server's acknowledgement and queued messages in one segment, one message long
     enough to span three segments, the client's acks, echo request/reply, a message.
  2. 10.9.0.10:51001 -> 10.9.0.20:443 (the apps' fallback port), a legacy 144-byte login.
  3. [fd00:9::10]:51002 -> [fd00:9::20]:5222, IPv6, as 1.
Seeded: a rerun writes the same file. Run from this folder."""
import os, random, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, T0, tcp_session, write_flows
from nacl.public import Box, PrivateKey

rng = random.Random(9222)


def rand(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def key():
    return PrivateKey(rand(32))


class Nonces:
    """Cookie || 64-bit little-endian counter, starting at 1 (one sequence per side)."""
    def __init__(self, cookie):
        self.cookie, self.n = cookie, 0

    def next(self):
        self.n += 1
        return self.cookie + struct.pack("<Q", self.n)


def box(b, nonces, plain):
    return b.encrypt(plain, nonces.next()).ciphertext  # 16-byte MAC + ciphertext


def extension(kind, data):
    return bytes([kind]) + struct.pack("<H", len(data)) + data


def session(client, server, extended, t0):
    server_perm = key()          # the lab server's long-term key (the apps pin the real one)
    client_perm = key()          # the lab user's long-term key
    tck, tsk = key(), key()      # temporary keys of client and server
    cck, sck = rand(16), rand(16)
    cn, sn = Nonces(cck), Nonces(sck)
    msgs = []
    # client-hello: TCK.public || CCK
    msgs.append((C2S, bytes(tck.public_key) + cck))
    # server-hello: SCK || box(TSK.public || CCK) from the server's long-term key to TCK
    msgs.append((S2C, sck + box(Box(server_perm, tck.public_key), sn, bytes(tsk.public_key) + cck)))
    session_box = Box(tck, tsk.public_key)     # both sides' temporary keys
    server_box = Box(tsk, tck.public_key)
    vouch = rand(32)                            # a MAC over SCK || TCK.public, opaque here
    if extended:
        login_nonce = cn.next()
        exts = (extension(0x00, b"6.1A;A;en;CH;LabPhone;13") + extension(0x02, b"\x03")
                + extension(0x03, rand(16)))
        ext_box = session_box.encrypt(exts, cn.next()).ciphertext
        login = (b"LABUSER1" + b"threema-clever-extension-field" + struct.pack("<H", len(ext_box))
                 + sck + bytes(24) + vouch + bytes(16))
        assert len(login) == 128
        msgs.append((C2S, session_box.encrypt(login, login_nonce).ciphertext + ext_box))
    else:
        login = (b"LABUSER1" + b"4.64A;A;en;CH".ljust(32, b"\0") + sck + rand(24)
                 + rand(48))
        assert len(login) == 128
        msgs.append((C2S, box(session_box, cn, login)))

    def frame(b, nonces, kind, data):
        payload = bytes([kind, 0, 0, 0]) + data
        f = box(b, nonces, payload)
        return struct.pack("<H", len(f)) + f

    def incoming(size):
        return rand(8) + b"LABUSER1" + rand(8) + struct.pack("<I", int(t0)) + rand(size)

    # login-ack (box of 16 reserved bytes), then the queued messages and queue-send-complete
    ack = box(server_box, sn, bytes(16))
    msgs.append((S2C, ack + frame(server_box, sn, 0x02, incoming(120))
                 + frame(server_box, sn, 0x02, incoming(2600))
                 + frame(server_box, sn, 0xD0, b"")))
    msgs.append((C2S, frame(session_box, cn, 0x82, b"LABPEER1" + rand(8))
                 + frame(session_box, cn, 0x82, b"LABPEER1" + rand(8))))
    msgs.append((C2S, frame(session_box, cn, 0x00, struct.pack("<Q", 1))))
    msgs.append((S2C, frame(server_box, sn, 0x80, struct.pack("<Q", 1))))
    msgs.append((C2S, frame(session_box, cn, 0x01, incoming(180))))
    msgs.append((S2C, frame(server_box, sn, 0x81, b"LABPEER1" + rand(8))))
    return tcp_session(client, server, msgs, t0=t0, mss=1400)


write_flows("chat-server.pcap", [
    session(("10.9.0.10", 51000), ("10.9.0.20", 5222), True, T0),
    session(("10.9.0.10", 51001), ("10.9.0.20", 443), False, T0 + 20),
    session(("fd00:9::10", 51002), ("fd00:9::20", 5222), True, T0 + 40),
])

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes raknet-game.pcap: game traffic over RakNet (the UDP game-networking library of
Minecraft Bedrock, Roblox's engine and many others), from RakNet's message layout
(MessageIdentifiers.h, ReliabilityLayer): every offline message carries the 16-byte
offline magic 00ffff00fefefefefdfdfdfd12345678.
  1. LAN discovery: a client pings 10.30.0.20:19132 five times (ID_UNCONNECTED_PING 0x01,
     8-byte time, magic, client GUID) and gets no answer (no server there).
  2. A session to 10.30.0.21:19132: ping/pong (0x1c with a server-name string), open
     connection request/reply 1 and 2 (0x05-0x08, the request padded to the path MTU),
     then connected datagrams (flags 0x84, 24-bit little-endian sequence number,
     encapsulated reliable-ordered frames: connection request 0x09 / accepted 0x10 / new
     incoming 0x13, then game messages at a 20 Hz tick) and ACKs (0xc0).
  3. The same session on a random high server port (10.30.0.22:53640), as game hosts that
     run many servers per machine use.
Must not be bittorrent (uTP) or any IM/P2P app. Run from this folder."""
import os, random, struct, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, udp_timed as udp_flow, write_flows as write

rng = random.Random(20261201)
MAGIC = bytes.fromhex("00ffff00fefefefefdfdfdfd12345678")


def ping(ms, guid):
    return b"\x01" + struct.pack(">Q", ms) + MAGIC + struct.pack(">Q", guid)


def pong(ms, sguid, name):
    return b"\x1c" + struct.pack(">QQ", ms, sguid) + MAGIC + struct.pack(">H", len(name)) + name


def addr(ip, port):
    # RakNet writes IPv4 addresses with each byte inverted.
    return b"\x04" + bytes(255 - int(x) for x in ip.split(".")) + struct.pack(">H", port)


def frame(body, rel_index, ord_index):
    # reliability 3 (reliable ordered) << 5, no split; length in bits; indexes 24-bit LE.
    return (bytes([3 << 5]) + struct.pack(">H", len(body) * 8) + rel_index.to_bytes(3, "little")
            + ord_index.to_bytes(3, "little") + b"\x00" + body)


def datagram(seq, frames):
    return b"\x84" + seq.to_bytes(3, "little") + b"".join(frames)


def ack(seq):
    return b"\xc0" + struct.pack(">H", 1) + b"\x01" + seq.to_bytes(3, "little")


def session(client, server, t0):
    cguid, sguid = rng.getrandbits(64), rng.getrandbits(64)
    msgs, t = [], 0.0
    name = b"MCPE;Lab world;589;1.20.0;0;10;%d;Lab;Survival;1;19132;19133;" % sguid
    msgs += [(t, C2S, ping(1000, cguid)), (t + 0.02, S2C, pong(1000, sguid, name))]
    t += 0.1
    mtu = 576
    req1 = b"\x05" + MAGIC + b"\x0b"
    msgs += [(t, C2S, req1 + b"\x00" * (mtu - 28 - len(req1)))]
    msgs += [(t + 0.02, S2C, b"\x06" + MAGIC + struct.pack(">QBH", sguid, 0, mtu))]
    t += 0.05
    msgs += [(t, C2S, b"\x07" + MAGIC + addr(server[0], server[1]) + struct.pack(">HQ", mtu, cguid))]
    msgs += [(t + 0.02, S2C, b"\x08" + MAGIC + struct.pack(">Q", sguid) + addr(client[0], client[1])
              + struct.pack(">HB", mtu, 0))]
    t += 0.05
    cs = ss = cr = sr = 0
    hello = [(C2S, b"\x09" + struct.pack(">QQB", cguid, 1000, 0)),
             (S2C, b"\x10" + addr(client[0], client[1]) + b"\x00\x00" + addr("0.0.0.0", 0) * 10
              + struct.pack(">QQ", 1000, 1020)),
             (C2S, b"\x13" + addr(server[0], server[1]) + addr("0.0.0.0", 0) * 10 + struct.pack(">QQ", 1020, 1040))]
    for d, body in hello:
        if d == C2S:
            msgs += [(t, C2S, datagram(cs, [frame(body, cr, cr)])), (t + 0.02, S2C, ack(cs))]
            cs += 1; cr += 1
        else:
            msgs += [(t, S2C, datagram(ss, [frame(body, sr, sr)])), (t + 0.02, C2S, ack(ss))]
            ss += 1; sr += 1
        t += 0.05
    for tick in range(24):  # 20 Hz game ticks: movement from the client, world state back
        body_c = b"\x86" + bytes(rng.getrandbits(8) for _ in range(rng.randint(18, 40)))
        body_s = b"\x86" + bytes(rng.getrandbits(8) for _ in range(rng.randint(40, 200)))
        msgs.append((t, C2S, datagram(cs, [frame(body_c, cr, cr)])))
        msgs.append((t + 0.004, S2C, datagram(ss, [frame(body_s, sr, sr)])))
        if tick % 4 == 3:
            msgs.append((t + 0.008, C2S, ack(ss)))
            msgs.append((t + 0.009, S2C, ack(cs)))
        cs += 1; ss += 1; cr += 1; sr += 1
        t += 0.05
    return udp_flow(client, server, msgs, t0)


lan = udp_flow(("10.30.0.10", 50210), ("10.30.0.20", 19132),
               [(i * 1.0, C2S, ping(5000 + i * 1000, 0x1122334455667788)) for i in range(5)])
write("raknet-game.pcap", [lan,
                           session(("10.30.0.10", 50211), ("10.30.0.21", 19132), 1700000010.0),
                           session(("10.30.0.11", 61002), ("10.30.0.22", 53640), 1700000020.0)])

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes obfuscated-tcp.pcap (MTProto obfuscated transport to a non-Telegram address on
port 8443, plus an abridged-transport req_pq_multi on port 80) and random-tcp.pcap (a TCP
flow opening with 64 random bytes). Built from core.telegram.org's transport and
obfuscation specifications; AES-256-CTR via the openssl CLI.
Run from this folder."""
import os, struct, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from im_synth import C2S, S2C, tcp_session, write

def aes256_ctr_stream(key, iv, n):
    out = subprocess.run(["openssl", "enc", "-aes-256-ctr", "-K", key.hex(), "-iv", iv.hex(), "-nosalt"],
                         input=b"\x00" * n, capture_output=True, check=True).stdout
    return out

def obfuscated_header(tag):
    while True:
        h = bytearray(os.urandom(64))
        if h[0] != 0xEF and h[4:8] != b"\x00\x00\x00\x00" and bytes(h[:4]) not in (b"HEAD", b"POST", b"GET ", b"OPTI", b"\xee" * 4, b"\xdd" * 4):
            break
    ks = aes256_ctr_stream(bytes(h[8:40]), bytes(h[40:56]), 64)
    for i in range(4):
        h[56 + i] = tag[i] ^ ks[56 + i]
    return bytes(h)

hdr = obfuscated_header(b"\xee\xee\xee\xee")
pkts = tcp_session(("10.4.0.10", 50700), ("10.4.0.20", 8443), [(C2S, hdr + os.urandom(120)), (S2C, os.urandom(180)), (C2S, os.urandom(300))])
msg = b"\x00" * 8 + struct.pack("<Q", 0x5F6E5D4C3B2A1C04) + struct.pack("<I", 20) + struct.pack("<I", 0xBE7E8EF1) + os.urandom(16)
pkts += tcp_session(("10.4.0.10", 50701), ("10.4.0.20", 80), [(C2S, b"\xef" + bytes([len(msg) // 4]) + msg), (S2C, os.urandom(84))], t0=1700000050.0)
write("obfuscated-tcp.pcap", pkts)
write("random-tcp.pcap", tcp_session(("10.4.0.10", 50702), ("10.4.0.20", 8443), [(C2S, os.urandom(64)), (S2C, os.urandom(64)), (C2S, os.urandom(200))]))

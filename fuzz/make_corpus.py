#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Builds the seed corpora of the fuzz targets from the repository's own data.

    fuzz/make_corpus.py OUTDIR        (scripts/fuzz.sh: build-fuzz/corpus)

Writes OUTDIR/<target>/<sha1> files and OUTDIR/policy.dict. Generated, never committed:
pcaps/** give IP packets, flows, TLS/QUIC/bencode payloads, NFQUEUE messages and small
pcap files; systemd/, policy/examples/ and tests/ give YAML configurations;
classifiers/signatures.conf gives the signatures seed. Input formats: see fuzz/*.cc.
"""
import hashlib
import logging
import os
import re
import struct
import sys
from pathlib import Path

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, IPv6, TCP, UDP, PcapReader, wrpcap  # noqa: E402
from scapy.utils import PcapWriter  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MAX_PACKETS_PER_PCAP = 400
MAX_SEEDS = 300  # per target


def main() -> None:
    out = Path(sys.argv[1])
    seeds: dict[str, dict[str, bytes]] = {}

    def add(target: str, data: bytes) -> None:
        bucket = seeds.setdefault(target, {})
        if len(bucket) < MAX_SEEDS or target in ("policy", "signatures"):
            bucket[hashlib.sha1(data).hexdigest()] = data

    pcaps = sorted(ROOT.glob("pcaps/**/*.pcap"))
    for path in pcaps:
        flows: dict[tuple, list] = {}
        frames = []
        try:
            with PcapReader(str(path)) as reader:
                linktype = reader.linktype
                for i, frame in enumerate(reader):
                    if i >= MAX_PACKETS_PER_PCAP:
                        break
                    frames.append(frame)
        except Exception as e:  # a capture scapy cannot read is still a pcap seed below
            print(f"make_corpus: {path}: {e}", file=sys.stderr)
            linktype = None
        for frame in frames:
            ip = frame.getlayer(IP) or frame.getlayer(IPv6)
            if ip is None:
                continue
            raw = bytes(ip)
            add("packet_parse", raw)
            l4 = ip.getlayer(TCP) or ip.getlayer(UDP)
            if l4 is None:
                continue
            payload = bytes(l4.payload)
            udp = isinstance(l4, UDP)
            key = (udp, frozenset([(ip.src, l4.sport), (ip.dst, l4.dport)]))
            flows.setdefault(key, []).append((ip, l4, payload))
            if payload[:2] in (b"\x16\x03",):
                add("tls_client_hello", payload)
            if udp and payload and payload[0] & 0x80 and len(payload) >= 1200:
                add("quic_initial", b"\x00" + payload)
            if payload[:1] == b"d" or b"d1:" in payload[:64] or b"8:announce" in payload:
                add("bencode", b"\x00" + payload)
            add("nfq_message", nfq_packet(len(seeds.get("nfq_message", {})), raw))
        for (udp, _), packets in flows.items():
            ip0, l40, _ = packets[0]
            v6 = isinstance(ip0, IPv6)
            blob = bytes([(1 if udp else 0) | (2 if v6 else 0)])
            blob += struct.pack(">HH", l40.sport, l40.dport) + b"\x00"
            client = (ip0.src, l40.sport)
            for ip, l4, payload in packets[:40]:
                reply = (ip.src, l4.sport) != client
                flags = 0 if udp else int(l4.flags) & 0x3F
                blob += bytes([(0x80 if reply else 0) | flags]) + struct.pack(">H", len(payload))
                blob += payload
            add("chain", blob)
        data = path.read_bytes()
        if len(data) <= 16384:
            add("pcap", data)
        elif frames and linktype is not None:
            tmp = out / "tmp.pcap"
            tmp.parent.mkdir(parents=True, exist_ok=True)
            w = PcapWriter(str(tmp), linktype=linktype, sync=True)
            for f in frames[:12]:
                w.write(f)
            w.close()
            add("pcap", tmp.read_bytes())
            tmp.unlink()

    # QUIC sealed mode (odd first byte): a CRYPTO frame carrying each ClientHello found.
    for hello in list(seeds.get("tls_client_hello", {}).values()):
        msg = hello[5:]
        frame = b"\x06\x00" + varint(len(msg)) + msg
        add("quic_initial", b"\x01" + struct.pack(">H", len(frame)) + frame)
        half = len(msg) // 2
        f1 = b"\x06" + varint(half) + varint(len(msg) - half) + msg[half:]
        f2 = b"\x06\x00" + varint(half) + msg[:half]
        add("quic_initial", b"\x01" + struct.pack(">H", len(f1)) + f1 +
            struct.pack(">H", len(f2)) + f2)
    add("bencode", b"\x00d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e"
        b"1:q9:find_node1:t2:aa1:y1:qe")
    add("bencode", b"\x00d8:completei5e10:incompletei3e8:intervali1800e5:peers6:\x0a\x00\x00\x01\x1a\xe1e")

    # What `imguard status/flows/top/quota-reset/reload` send over the control socket.
    for req in (b"ping", b"reload", b"status", b"status --json", b"flows --json --user alice",
                b"flows --app bittorrent", b"top --by app --limit 5 --since 15m --json",
                b"top --by category --since 2d", b"quota-reset p2p-weekly alice",
                b"quota-reset p2p-weekly"):
        add("control_request", req)

    sig = (ROOT / "classifiers/signatures.conf").read_bytes()
    add("signatures", sig)
    lines = sig.splitlines(keepends=True)
    for i in range(0, len(lines), 10):
        add("signatures", b"".join(lines[i:i + 10]))

    configs = [ROOT / "systemd/imguard.yaml", *sorted(ROOT.glob("policy/examples/*.yaml")),
               *sorted(ROOT.glob("tests/policy/broken/*.yaml")),
               *sorted(ROOT.glob("tests/golden/*/policy.yaml"))]
    words: set[str] = set()
    for c in configs:
        text = c.read_bytes()
        add("policy", text)
        words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_.-]{2,30}", text.decode("utf-8", "replace")))
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "policy.dict", "w") as d:
        for w in sorted(words):
            d.write(f'"{w}"\n')
        for w in (": ", "\n  ", "- ", "[", "]", "{", "}", "&a", "*a", "<<: ", "!!str", "'", '"'):
            d.write('"' + w.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\x0A") + '"\n')

    for target, bucket in sorted(seeds.items()):
        d = out / target
        d.mkdir(parents=True, exist_ok=True)
        for name, data in bucket.items():
            (d / name).write_bytes(data)
        print(f"make_corpus: {target}: {len(bucket)} seeds")


def varint(n: int) -> bytes:
    if n < 0x40:
        return bytes([n])
    if n < 0x4000:
        return struct.pack(">H", 0x4000 | n)
    return struct.pack(">I", 0x80000000 | n)


def nla(kind: int, value: bytes) -> bytes:
    head = struct.pack("<HH", 4 + len(value), kind)
    return head + value + b"\x00" * ((-len(value)) % 4)


def nfq_packet(packet_id: int, l3: bytes) -> bytes:
    """One NFQNL_MSG_PACKET as the kernel sends it (attribute numbers: linux/netfilter/
    nfnetlink_queue.h), with the optional attributes imguard reads."""
    attrs = nla(1, struct.pack(">IHB", packet_id, 0x0800 if l3[:1] == b"\x45" else 0x86DD, 1))
    attrs += nla(3, struct.pack(">I", 0x00010000 * (packet_id % 3)))  # NFQA_MARK
    if packet_id % 2:
        attrs += nla(5, struct.pack(">I", 2))  # NFQA_IFINDEX_INDEV
        attrs += nla(9, struct.pack(">HH", 6, 0) + bytes.fromhex("020000000001") + b"\0\0")
    else:
        attrs += nla(16, struct.pack(">I", 1000)) + nla(17, struct.pack(">I", 1000))
    if packet_id % 5 == 0:
        attrs += nla(13, struct.pack(">I", len(l3) + 100))  # NFQA_CAP_LEN
    attrs += nla(10, l3)  # NFQA_PAYLOAD
    body = struct.pack("<BBH", 2, 0, 0)  # nfgenmsg: AF_INET, version 0, res_id (BE) 0
    body += attrs
    nlh = struct.pack("<IHHII", 16 + len(body), (3 << 8) | 0, 0, 0, 0)
    return nlh + body


if __name__ == "__main__":
    main()

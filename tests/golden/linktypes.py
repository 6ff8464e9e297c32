#!/usr/bin/python3
"""Link-layer coverage: re-encodes one Ethernet capture as pcapng, as VLAN-tagged (802.1Q
and QinQ) Ethernet, as raw IP and as Linux cooked v1, runs `imguard classify --format
jsonl` on each and checks that the flow lines equal those of the original capture.

usage: linktypes.py IMGUARD PCAP
"""
import os
import struct
import subprocess
import sys
import tempfile


def read_eth_pcap(path):
    data = open(path, "rb").read()
    assert data[:4] == b"\xd4\xc3\xb2\xa1", "expects a little-endian microsecond pcap"
    assert struct.unpack("<I", data[20:24])[0] == 1, "expects Ethernet"
    off, out = 24, []
    while off + 16 <= len(data):
        sec, usec, caplen, wirelen = struct.unpack("<IIII", data[off:off + 16])
        out.append((sec, usec, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return out


def write_pcap(path, linktype, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))
        for sec, usec, fr in frames:
            f.write(struct.pack("<IIII", sec, usec, len(fr), len(fr)) + fr)


def write_pcapng(path, frames):
    def block(btype, body):
        pad = (-len(body)) % 4
        total = 12 + len(body) + pad
        return struct.pack("<II", btype, total) + body + b"\0" * pad + struct.pack("<I", total)
    with open(path, "wb") as f:
        f.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        f.write(block(0x00000001, struct.pack("<HHI", 1, 0, 262144)))
        for sec, usec, fr in frames:
            ts = sec * 1_000_000 + usec
            body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(fr), len(fr)) + fr
            f.write(block(0x00000006, body))


def vlan(frames, tags):
    out = []
    for sec, usec, fr in frames:
        extra = b"".join(struct.pack(">HH", tpid, vid) for tpid, vid in tags)
        out.append((sec, usec, fr[:12] + extra + fr[12:]))
    return out


def raw_ip(frames):
    return [(s, u, fr[14:]) for s, u, fr in frames if fr[12:14] in (b"\x08\x00", b"\x86\xdd")]


def sll(frames):
    out = []
    for s, u, fr in frames:
        hdr = struct.pack(">HHH", 0, 1, 6) + fr[6:12] + b"\0\0" + fr[12:14]
        out.append((s, u, hdr + fr[14:]))
    return out


def flow_lines(imguard, path):
    res = subprocess.run([imguard, "classify", "--format", "jsonl", path], capture_output=True,
                         text=True, check=True)
    return [l for l in res.stdout.splitlines() if '"record":"flow"' in l]


def main():
    imguard, pcap = sys.argv[1], sys.argv[2]
    frames = read_eth_pcap(pcap)
    want = flow_lines(imguard, pcap)
    assert want, "the reference capture must contain flows"
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        variants = {
            "pcapng": lambda p: write_pcapng(p, frames),
            "vlan-8021q": lambda p: write_pcap(p, 1, vlan(frames, [(0x8100, 42)])),
            "vlan-qinq": lambda p: write_pcap(p, 1, vlan(frames, [(0x88A8, 7), (0x8100, 42)])),
            "raw-ip": lambda p: write_pcap(p, 101, raw_ip(frames)),
            "linux-sll": lambda p: write_pcap(p, 113, sll(frames)),
        }
        for name, make in variants.items():
            path = os.path.join(tmp, name + ".pcap")
            make(path)
            got = flow_lines(imguard, path)
            if got != want:
                failed += 1
                print(f"FAIL {name}: flows differ from the Ethernet original")
                for a, b in zip(want, got):
                    if a != b:
                        print("  want", a, "\n  got ", b)
                        break
            else:
                print(f"ok {name}: {len(got)} flows identical")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

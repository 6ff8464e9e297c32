#!/usr/bin/python3
"""Builds one large Ethernet pcap for throughput benchmarks from smaller captures.

Each input (classic pcap, Ethernet or Linux cooked v1/v2) is replayed REPLICAS times; every
replica shifts the IP addresses (IPv4: second octet, IPv6: byte 3) so that replicas form
distinct flows, and shifts timestamps so that the output is in time order. Prints the
number of packets and the bytes of the IP packets written, as "packets=N ip_bytes=M".

With --split DIR it writes every replica of every input as a file of its own instead
(DIR/NNNNN.pcap, in input order; --out is not used): a directory of many small captures.
"""
import argparse
import os
import struct
import sys

ETH_HDR = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError(f"{path}: too short for a pcap header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a classic pcap file")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + caplen]
        off += caplen
        usec = frac // 1000 if nano else frac
        yield linktype, sec * 1_000_000 + usec, frame


def to_ip(linktype, frame):
    """Returns (ethertype, ip bytes) or None."""
    if linktype == 1 and len(frame) >= 14:
        et = struct.unpack(">H", frame[12:14])[0]
        off = 14
        while et in (0x8100, 0x88A8) and len(frame) >= off + 4:
            et = struct.unpack(">H", frame[off + 2:off + 4])[0]
            off += 4
        return et, frame[off:]
    if linktype == 113 and len(frame) >= 16:
        return struct.unpack(">H", frame[14:16])[0], frame[16:]
    if linktype == 276 and len(frame) >= 20:
        return struct.unpack(">H", frame[0:2])[0], frame[20:]
    return None


def shift(et, ip, replica):
    ip = bytearray(ip)
    if et == 0x0800 and len(ip) >= 20:
        for o in (13, 17):
            ip[o] = (ip[o] + replica) & 0xFF
    elif et == 0x86DD and len(ip) >= 40:
        for o in (11, 27):
            ip[o] = (ip[o] + replica) & 0xFF
    return bytes(ip)


def write_pcap(path, frames, replica, t_base):
    """Writes frames (ts, ethertype, ip) shifted by replica; returns (packets, ip_bytes)."""
    packets = ip_bytes = 0
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for ts, et, ip in frames:
            t = ts + t_base
            fr = ETH_HDR + struct.pack(">H", et) + shift(et, ip, replica)
            out.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(fr), len(fr)))
            out.write(fr)
            packets += 1
            ip_bytes += len(ip)
    return packets, ip_bytes


def ip_records(path):
    """[(ts, (ethertype, ip))] of a capture's IPv4/IPv6 frames; [] (and a note) if unreadable."""
    try:
        return [(ts, r) for lt, ts, fr in read_pcap(path)
                for r in [to_ip(lt, fr)] if r and r[0] in (0x0800, 0x86DD)]
    except (OSError, ValueError) as e:
        print(f"skipping {e}", file=sys.stderr)
        return []


def split(a):
    """One output file per (input, replica)."""
    os.makedirs(a.split, exist_ok=True)
    inputs = [r for r in (ip_records(p) for p in a.pcaps) if r]
    packets = ip_bytes = n = 0
    for rep in range(a.replicas):
        for recs in inputs:
            first = min(ts for ts, _ in recs)
            frames = [(ts - first, et, ip) for ts, (et, ip) in recs]
            k, b = write_pcap(os.path.join(a.split, f"{n:05d}.pcap"), frames, rep,
                              1_600_000_000_000_000)
            packets += k
            ip_bytes += b
            n += 1
    if n == 0:
        sys.exit("no IP frames in the inputs")
    print(f"packets={packets} ip_bytes={ip_bytes} files={n}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=20)
    ap.add_argument("--out")
    ap.add_argument("--split", metavar="DIR")
    ap.add_argument("pcaps", nargs="+")
    a = ap.parse_args()
    if a.split:
        split(a)
        return
    if not a.out:
        ap.error("--out or --split is required")
    # Inputs are laid end to end, each starting 1 s after the previous one ends, so that
    # captures from different years don't stretch the output's time line.
    frames = []
    start = 0
    for p in a.pcaps:
        recs = ip_records(p)
        if not recs:
            continue
        first = min(ts for ts, _ in recs)
        last = start
        for ts, (et, ip) in recs:
            t = start + max(0, ts - first)
            frames.append((t, et, ip))
            last = max(last, t)
        start = last + 1_000_000
    frames.sort(key=lambda x: x[0])
    if not frames:
        sys.exit("no IP frames in the inputs")
    t0 = 0
    span = start
    packets = ip_bytes = 0
    with open(a.out, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for rep in range(a.replicas):
            for ts, et, ip in frames:
                t = ts - t0 + rep * span + 1_600_000_000_000_000
                fr = ETH_HDR + struct.pack(">H", et) + shift(et, ip, rep)
                out.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(fr), len(fr)))
                out.write(fr)
                packets += 1
                ip_bytes += len(ip)
    print(f"packets={packets} ip_bytes={ip_bytes}")


if __name__ == "__main__":
    main()

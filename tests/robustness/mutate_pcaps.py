#!/usr/bin/python3
"""Feeds `imguard classify` damaged captures: bundled pcaps with random bytes flipped in
packet data, packets cut short, and record headers lying about their lengths. Every run
must end with exit status 0 or 1 (never a signal, an abort or a sanitizer report).

usage: mutate_pcaps.py IMGUARD [--mutants N] [--seed S] PCAP...
"""
import argparse
import os
import random
import struct
import subprocess
import sys
import tempfile


def mutate(data, rng):
    buf = bytearray(data)
    kind = rng.choice(["flip", "flip", "cut", "caplen", "truncate"])
    if kind == "flip":
        for _ in range(rng.randint(1, 64)):
            pos = rng.randrange(24, len(buf))
            buf[pos] = rng.randrange(256)
    elif kind == "cut":
        # Shrink random records' caplen and drop bytes accordingly: short IP/TCP headers.
        out, off = bytearray(buf[:24]), 24
        while off + 16 <= len(buf):
            sec, usec, cap, wire = struct.unpack("<IIII", buf[off:off + 16])
            body = buf[off + 16:off + 16 + cap]
            if rng.random() < 0.3 and cap > 0:
                cap = rng.randrange(cap)
                body = body[:cap]
            out += struct.pack("<IIII", sec, usec, cap, wire) + body
            off += 16 + len(buf[off + 16:off + 16 + struct.unpack("<I", buf[off + 8:off + 12])[0]])
        buf = out
    elif kind == "caplen":
        off = 24
        while off + 16 <= len(buf):
            cap = struct.unpack("<I", buf[off + 8:off + 12])[0]
            if rng.random() < 0.05:
                buf[off + 8:off + 12] = struct.pack("<I", rng.choice([0, 1, 65535, 2**31]))
                break
            off += 16 + cap
    else:
        buf = buf[:rng.randrange(24, len(buf))]
    return bytes(buf), kind


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("imguard")
    ap.add_argument("--mutants", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("pcaps", nargs="+")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    inputs = [open(p, "rb").read() for p in a.pcaps]
    inputs = [d for d in inputs if d[:4] == b"\xd4\xc3\xb2\xa1"]
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.mutants):
            data, kind = mutate(rng.choice(inputs), rng)
            path = os.path.join(tmp, f"m{i}.pcap")
            open(path, "wb").write(data)
            r = subprocess.run([a.imguard, "classify", "--format", "jsonl", path],
                               capture_output=True, text=True, errors="replace", timeout=60)
            if r.returncode not in (0, 1) or "Sanitizer" in r.stderr or "runtime error" in r.stderr:
                bad += 1
                keep = os.path.join(os.getcwd(), f"crash-{a.seed}-{i}.pcap")
                open(keep, "wb").write(data)
                print(f"FAIL mutant {i} ({kind}): exit {r.returncode}; kept {keep}\n{r.stderr[-2000:]}")
    print(f"{a.mutants - bad}/{a.mutants} damaged captures handled")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

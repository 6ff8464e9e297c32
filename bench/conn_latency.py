# SPDX-License-Identifier: GPL-3.0-or-later
"""New-connection latency: time from connect() to the first reply byte, N fresh TCP
connections in a row (each: SYN, HTTP GET, first byte of the answer).

  conn_latency.py HOST PORT COUNT     prints "p50_us=<n> p99_us=<n> failed=<n>"
"""
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


def main(host, port, count):
    samples, failed = [], 0
    for _ in range(count):
        start = time.perf_counter()
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                s.sendall(REQUEST)
                if not s.recv(1):
                    failed += 1
                    continue
        except OSError:
            failed += 1
            continue
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    if not samples:
        print(f"p50_us=0 p99_us=0 failed={failed}")
        return 1
    p50 = samples[len(samples) // 2]
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"p50_us={p50:.0f} p99_us={p99:.0f} failed={failed}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))

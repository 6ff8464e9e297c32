# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the daemon's time goes, from a `perf record -e cpu-clock -g -p PID` file.

  perf_summary.py PERF_DATA [CONNECTIONS]

Prints one line per part of the queued path, as a share of the daemon's samples:
  reinject   the verdict's packet continuing through the kernel in the daemon's thread
             (nfqnl_reinject: the rest of the forward path, the veth, the receiver's TCP)
  verdict    the rest of the verdict sendto (netlink, batch handling)
  receive    recv of queued packets (copy to userspace)
  poll       waiting and wake-ups
  imguard    imguard's own code (parse, flow table, classifiers, decision), self time
  ndpi       libndpi, self time
  libs       libc, libmnl, libnetfilter_queue, libstdc++, vdso
  other      everything else (kernel work outside those syscalls, page faults, ...)
and the daemon's CPU time (perf's cpu-clock event count), per connection when CONNECTIONS
(the run's `connections` from the stats line) is given.
Kernel call chains come from the kernel's unwinder; user code is counted by self time
(the binaries have no frame pointers), which is why both views are combined.
"""
import re
import subprocess
import sys


def report(path, *args):
    out = subprocess.run(["perf", "report", "-i", path, "--stdio", "-g", "none", *args],
                         capture_output=True, text=True, check=False).stdout
    return [l for l in out.splitlines() if l and not l.startswith("#")]


def cpu_seconds(path):
    out = subprocess.run(["perf", "report", "-i", path, "--stdio", "-g", "none", "--sort", "dso"],
                         capture_output=True, text=True, check=False).stdout
    m = re.search(r"^# Event count \(approx\.\): (\d+)", out, re.M)
    return int(m.group(1)) / 1e9 if m else 0.0


def main(path, connections=0):
    children = {}
    for line in report(path, "--children", "--sort", "sym"):
        m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[(.)\]\s+(.*)", line)
        if m:
            children[m.group(4).strip()] = float(m.group(1))
    dso = {}
    for line in report(path, "--no-children", "--sort", "dso"):
        m = re.match(r"\s*([\d.]+)%\s+(.*)", line)
        if m:
            dso[m.group(2).strip()] = float(m.group(1))
    reinject = children.get("nfqnl_reinject", 0.0)
    sendto = children.get("__sys_sendto", 0.0)
    recv = children.get("__sys_recvfrom", 0.0) + children.get("__sys_recvmmsg", 0.0)
    poll = children.get("do_sys_poll", 0.0)
    kernel = sum(v for k, v in dso.items() if "kernel" in k)
    ndpi = sum(v for k, v in dso.items() if "ndpi" in k)
    libs = sum(v for k, v in dso.items()
               if any(n in k for n in ("libc", "libmnl", "libnetfilter", "libstdc", "vdso", "ld-linux")))
    imguard = sum(v for k, v in dso.items()) - kernel - ndpi - libs - dso.get("[unknown]", 0.0)
    rows = [("reinject", reinject), ("verdict", sendto - reinject), ("receive", recv),
            ("poll", poll), ("imguard", imguard), ("ndpi", ndpi), ("libs", libs)]
    rows.append(("other", max(0.0, 100.0 - sum(v for _, v in rows))))
    cpu = cpu_seconds(path)
    per = f", {cpu * 1e6 / connections:.1f} us CPU per connection" if connections else ""
    print(f"  daemon CPU {cpu:.2f} s{per}")
    print("  " + "  ".join(f"{k} {v:.1f}%" for k, v in rows))


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 0)

#!/usr/bin/python3
"""Runs one command with its output discarded and prints "WALL_NS CPU_NS": the wall time
from start to exit and the user + system CPU time of the command and its threads (wait4's
rusage), so one program's cost can be told from the machine's load.

    bench/timed.py CMD [ARG...]
"""
import os
import sys
import time


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: timed.py CMD [ARG...]")
    devnull = os.open(os.devnull, os.O_WRONLY)
    start = time.monotonic_ns()
    pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ,
                          file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1),
                                        (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic_ns() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"timed.py: {sys.argv[1]} failed ({os.waitstatus_to_exitcode(status)})")
    print(wall, round((usage.ru_utime + usage.ru_stime) * 1e9))


if __name__ == "__main__":
    main()

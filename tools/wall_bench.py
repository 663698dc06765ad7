#!/usr/bin/env python3
"""Wall and CPU time of one whole command, run several times: medians, and events per second.

Usage: wall_bench.py RUNS EVENTS LABEL COMMAND [ARG ...]
The command's output is discarded; exit statuses 0 and 1 are both fine (replay and diff
exit 1 when the traces differ). Run on purpose (tools/bench), not in the tests.
"""
import os
import statistics
import subprocess
import sys
import time


def main():
    runs, events, label, command = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    walls, cpus = [], []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # wait4: the child's own CPU time in microseconds (os.times() counts clock ticks).
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            sys.exit("%s: exit %d" % (" ".join(command), code))
        if i == 0:
            continue  # warm-up
        walls.append(wall)
        cpus.append(usage.ru_utime + usage.ru_stime)
    wall = statistics.median(walls)
    print("| %s | %.1f | %.2f | %.1f |" % (label, wall * 1e3, events / wall / 1e6, statistics.median(cpus) * 1e3))


if __name__ == "__main__":
    main()

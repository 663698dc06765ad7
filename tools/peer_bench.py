#!/usr/bin/env python3
"""CPU time of two whole commands, run in turn (A B A B ...), with medians and the ratio.

Usage: peer_bench.py RUNS 'COMMAND A' 'COMMAND B'
Prints one line per command (median, min, max CPU seconds: user + system of the process
and its children) and the ratio of the medians, B / A. Run on purpose (tools/bench), not in
the tests: the figures depend on the machine.
"""
import os
import shlex
import statistics
import subprocess
import sys


def cpu(command):
    # wait4's resource usage of the one child (microseconds), rather than os.times()'s
    # children totals, which come in clock ticks (10 ms here: an eighth of hooktrace's run).
    child = subprocess.Popen(shlex.split(command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("%s failed (exit status %d)" % (command, os.waitstatus_to_exitcode(status)))
    return usage.ru_utime + usage.ru_stime


def main():
    runs, a, b = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    cpu(a), cpu(b)  # warm-up (file cache, page cache of the interpreter)
    times_a, times_b = [], []
    for _ in range(runs):
        times_a.append(cpu(a))
        times_b.append(cpu(b))
    for label, times in (("A", times_a), ("B", times_b)):
        print("%s: median %.3f s CPU (min %.3f, max %.3f) over %d runs" % (label, statistics.median(times), min(times), max(times), runs))
    print("B / A = %.1f" % (statistics.median(times_b) / statistics.median(times_a)))


if __name__ == "__main__":
    main()

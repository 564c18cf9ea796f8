#!/usr/bin/env python3
"""Bursts of other work on the machine, for verdict trials on a busy machine.

  python3 bench/busy.py [--procs 2] [--on 2:20] [--off 2:20] [--seed 1]
                        [--renice PATTERN] [--seconds N]

What slows a whole benchmark run on a shared machine is other work landing
on it for a while: a build starting, a test suite, another session's
benchmark.  This script makes such bursts, at random, until it is killed
(or for --seconds): a burst of --on seconds (drawn uniformly from the range)
during which --procs processes compete for the CPU at the benchmark's own
priority, then a pause of --off seconds.  It prints one line at the end:
the share of the time spent in bursts.

Two ways to make the load:
  (default)        --procs busy-loop processes of its own, running only
                   during bursts (they burn CPU that nothing uses).
  --renice PATTERN existing CPU-bound processes whose command line contains
                   PATTERN (e.g. a fuzz campaign started at nice 19): nice 0
                   during bursts, back to 19 between them.  Nothing is
                   wasted: their CPU still counts for them, and a process is
                   never stopped (libFuzzer's -timeout is wall-clock time).
                   Needs root to lower a nice value.

Only the local machine is touched; nothing is sent anywhere.
"""
import argparse
import os
import random
import signal
import sys
import time


def spans(text):
    lo, _, hi = text.partition(":")
    lo, hi = float(lo), float(hi or lo)
    if not 0 < lo <= hi:
        raise argparse.ArgumentTypeError("expected SECONDS or LO:HI with 0 < LO <= HI")
    return lo, hi


def matching(pattern):
    me = os.getpid()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if pattern in cmd and "busy.py" not in cmd:
            out.append(int(d))
    return out


def renice(pids, value):
    for p in pids:
        try:
            os.setpriority(os.PRIO_PROCESS, p, value)
        except OSError:
            pass   # gone meanwhile (a fuzz chunk ended)


def burner():
    while True:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--procs", type=int, default=2, help="busy processes during a burst (2)")
    ap.add_argument("--on", type=spans, default=(2.0, 20.0), help="burst length, seconds LO:HI (2:20)")
    ap.add_argument("--off", type=spans, default=(2.0, 20.0), help="pause length, seconds LO:HI (2:20)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--renice", metavar="PATTERN", help="toggle the nice value of these processes instead")
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: when killed)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__(0, True))
    t0 = time.monotonic()
    busy = 0.0
    kids = []
    try:
        while not stop[0] and (not a.seconds or time.monotonic() - t0 < a.seconds):
            on = rng.uniform(*a.on)
            start = time.monotonic()
            if a.renice:
                # New processes appear (one per fuzz chunk): re-read the list
                # every second of the burst.
                while not stop[0] and time.monotonic() - start < on:
                    renice(matching(a.renice), 0)
                    time.sleep(min(1.0, max(0.0, on - (time.monotonic() - start))))
                renice(matching(a.renice), 19)
            else:
                for _ in range(a.procs):
                    pid = os.fork()
                    if pid == 0:
                        burner()
                    kids.append(pid)
                while not stop[0] and time.monotonic() - start < on:
                    time.sleep(0.2)
                for pid in kids:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                kids = []
            busy += time.monotonic() - start
            off = rng.uniform(*a.off)
            start = time.monotonic()
            while not stop[0] and time.monotonic() - start < off:
                time.sleep(0.2)
    finally:
        for pid in kids:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        if a.renice:
            renice(matching(a.renice), 19)
    total = time.monotonic() - t0
    print("busy.py: bursts %.0f s of %.0f s (%.0f%%)" % (busy, total, 100 * busy / max(total, 1e-9)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

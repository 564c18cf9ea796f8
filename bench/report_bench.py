#!/usr/bin/env python3
"""How fast `llmload report` renders a 100,000-request run (issue 12's
target: HTML and PNGs in under 2 s on one core).

  python3 bench/report_bench.py [--llmload build/src/llmload] [--dir DIR] [--requests N]

1. A real run of N requests (default 100,000) against the built-in
   simulator, shaped to be fast (16 tokens a request, 64 slots, 1% of the
   requests failing with a 500), writing --json and --raw into DIR.  An
   existing DIR/big.json with its raw file is reused.
2. `llmload report` of it, pinned to CPU 0 with taskset, to big.html, to the
   overview big.png, and to every figure as PNG and SVG (figs/), three
   times each; the fastest time is kept.  Wall time, the child's CPU time
   (wait4) and its peak RSS are printed, with the hypervisor's steal time on
   CPU 0 during the renders (from /proc/stat), which a shared VM adds to wall
   time.

docs/performance.md, "Report rendering", records the results.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import client_bench  # noqa: E402  (proc_stat)


def cpu0_steal():
    """Steal jiffies of cpu0 (USER_HZ ticks)."""
    return client_bench.proc_stat("cpu0")["steal"]


def timed(cmd):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    err = p.stderr.read().decode()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), err))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmload", default=os.path.join(HERE, "..", "build", "src", "llmload"))
    ap.add_argument("--dir", default="/tmp/llmload-report-bench")
    ap.add_argument("--requests", type=int, default=100000)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    doc = os.path.join(a.dir, "big.json")
    raw = os.path.join(a.dir, "big.raw.jsonl")
    if not (os.path.exists(doc) and os.path.exists(raw)):
        print("running %d requests against the simulator..." % a.requests, file=sys.stderr)
        subprocess.run([a.llmload, "run", "-q", "-n", str(a.requests), "-c", "64", "--max-tokens", "16",
                        "--mock-arg=--decode-rate=100000", "--mock-arg=--slots=64",
                        "--mock-arg=--ttft-base=0", "--mock-arg=--prefill-rate=10000000",
                        "--mock-arg=--fault-500=0.01", "--json", doc, "--raw", raw],
                       check=True, stdout=subprocess.DEVNULL)
    n = json.load(open(doc))["summary"]["requests"]
    print("run: %d requests, raw file %.1f MB" % (n, os.path.getsize(raw) / 1e6))
    hz = os.sysconf("SC_CLK_TCK")
    outputs = [("html", os.path.join(a.dir, "big.html")), ("png", os.path.join(a.dir, "big.png")),
               ("figures (png+svg)", os.path.join(a.dir, "figs") + "/")]
    total = 0.0
    for name, out in outputs:
        best = None
        s0 = cpu0_steal()
        for _ in range(3):
            r = timed(["taskset", "-c", "0", a.llmload, "report", doc, "-o", out])
            best = r if best is None or r[0] < best[0] else best
        steal = (cpu0_steal() - s0) / hz
        total += best[0]
        size = os.path.getsize(out) if not out.endswith("/") else sum(
            os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
        print("%-18s wall %.2f s  cpu %.2f s  rss %.0f MiB  output %.0f KiB  steal on cpu0 %.2f s (3 renders)"
              % (name, best[0], best[1], best[2] / 1024, size / 1024, steal))
    print("html + png: %.2f s" % (total - best[0]))


if __name__ == "__main__":
    main()

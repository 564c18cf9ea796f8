#!/usr/bin/env python3
"""Do llmload's verdicts hold up?  Seeded trials against the simulator.

  python3 bench/verdict_trials.py [--llmload build/src/llmload]
                                  [--diff-trials 60] [--same-trials 60]
                                  [--gate-trials 200] [--jobs 2] [--seed 1]

Three scenarios, each a number of short, seeded trials:

  diff   two simulators whose true throughput differs by --diff (5%: the
         decode rate of one is 1.05 times the other's, everything else the
         same).  `llmload compare` must name the faster one: the rate of
         right winners should be >= 95%.  A tie is not a wrong winner but
         is not a right one either.
  same   two identical simulators (two processes, same flags).  compare
         must not name a winner: the rate of false winners should be <= 5%.
  gate   one simulator; run A saves a baseline (--save-baseline), run B of
         the same configuration checks against it (--baseline, the default
         tolerances).  A failed gate is a false alarm: the rate should be
         <= 1%.  --gate-repeat K gives both runs --repeat K (the runs are
         then the unit too, docs/ci.md); --gate-repeat 1,5 runs the trials
         of both, interleaved, for a side-by-side rate.

Each trial is a few seconds: short responses (--max-tokens), a simulator
whose timing is a schedule of timers (its decode rate and TTFT are what it
is told), a few dozen requests.  The order in which compare runs the two
targets alternates from trial to trial, so a bias towards the first or the
second target shows as wrong winners.  Every trial draws its own --seed for
llmload and the simulators from --seed.

It prints one line per scenario: the rate, its Wilson 95% interval, and the
median ratio with the median width of its interval; for compare also how
many winners were the target listed first (about half, whatever the truth,
or the order biases the verdict) and the interval method.  --keep DIR keeps
every compare document (the rounds' samples are in it) for a closer look.
docs/performance.md records the runs and what they showed.  Only loopback
(127.0.0.1) is used.

The measured setup (docs/performance.md has every command run; 12 rounds
with --requests 384 on a less busy machine):

  verdict_trials.py --diff-trials 60 --same-trials 100 --gate-trials 0 --jobs 3 \
      --rate 10 --ttft-base-ms 400 --max-tokens 8 --concurrency 32 \
      --requests 640 --rounds 20 --warmup 0
  verdict_trials.py --diff-trials 0 --same-trials 0 --gate-trials 150 --jobs 4 \
      --rate 20 --ttft-base-ms 200 --max-tokens 8 --concurrency 32 --requests 192 \
      --gate-repeat 1,5
"""
import argparse
import concurrent.futures
import json
import math
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import client_bench  # noqa: E402  (proc_stat)


def wilson(k, n, z=1.96):
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


class Mock:
    def __init__(self, llmload, args):
        self.p = subprocess.Popen([llmload, "mock", "--listen", "127.0.0.1:0"] + args,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.url = self.p.stdout.readline().decode().strip()
        if not self.url.startswith("http://"):
            raise SystemExit("the simulator did not start: %s" % " ".join(args))

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=30)


def mock_args(rate, seed, a):
    # A simulator k times faster decodes k times faster and answers its
    # first token k times sooner: its throughput is k times the other's.
    ttft = float(a.ttft_base_ms) * a.rate / rate
    return ["--profile", "fast", "--decode-rate", "%g" % rate, "--ttft-base", "%gms" % ttft,
            "--batch-slowdown", "0", "--slots", "256", "--seed", str(seed)]


def load_args(a, seed):
    extra = ["--warmup", str(a.warmup)] if a.warmup is not None else []
    return ["-c", str(a.concurrency), "-n", str(a.requests), "--max-tokens", str(a.max_tokens),
            "--monitor", "none", "--quiet", "--seed", str(seed)] + extra


def compare_trial(a, trial, seed, rate_first, rate_second, names):
    """One compare of two fresh simulators; returns (winner or None, ratio, lo, hi)."""
    m1 = Mock(a.llmload, mock_args(rate_first, seed, a))
    m2 = Mock(a.llmload, mock_args(rate_second, seed + 1, a))
    try:
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "cmp.json")
            r = subprocess.run([a.llmload, "compare", "--target", "%s=%s" % (names[0], m1.url),
                                "--target", "%s=%s" % (names[1], m2.url), "--json", out,
                                "--rounds", str(a.rounds)] + load_args(a, seed), capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                raise SystemExit("compare failed (%d): %s" % (r.returncode, r.stderr[-400:]))
            with open(out) as f:
                doc = json.load(f)
            rec = doc["recommendation"]
            if a.keep:
                with open(os.path.join(a.keep, "cmp-%.0f-%d.json" % (1e4 * abs(rate_first / rate_second - 1), trial)), "w") as f:
                    json.dump(doc, f)
    finally:
        m1.stop()
        m2.stop()
    ratio = rec.get("ratio") or {}
    return (rec.get("target"), ratio.get("point"), ratio.get("lo"), ratio.get("hi"), ratio.get("of"),
            ratio.get("method"), names[0])


def gate_trial(a, trial, seed, repeat):
    m = Mock(a.llmload, mock_args(a.rate, seed, a))
    try:
        with tempfile.TemporaryDirectory() as d:
            base = os.path.join(d, "base.json")
            run = [a.llmload, "run", "--url", m.url, "--model", "llmload-mock"]
            if repeat > 1:
                run += ["--repeat", str(repeat)]
            r = subprocess.run(run + load_args(a, seed) + ["--save-baseline", base],
                               capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                raise SystemExit("run A failed (%d): %s" % (r.returncode, r.stderr[-400:]))
            r = subprocess.run(run + load_args(a, seed + 7) + ["--baseline", base],
                               capture_output=True, text=True, timeout=600)
            if r.returncode not in (0, 1):
                raise SystemExit("run B failed (%d): %s" % (r.returncode, r.stderr[-400:]))
            fails = [l.strip() for l in r.stdout.splitlines() if l.strip().startswith("FAIL")]
            probs = []
            for l in r.stdout.splitlines():
                k = l.find("probability of a regression beyond it ")
                if k >= 0:
                    probs.append(float(l[k + 38:].split("%")[0]))
    finally:
        m.stop()
    return r.returncode == 1, fails, max(probs) if probs else None


def median(v):
    v = sorted(x for x in v if x is not None)
    return v[len(v) // 2] if v else float("nan")


def run_compare(a, pool, n, diff, label):
    rng = random.Random(a.seed * 1000 + int(diff * 1e4))
    jobs = []
    for t in range(n):
        seed = rng.randrange(1, 1 << 30)
        fast_first = t % 2 == 0
        r_fast, r_slow = a.rate * (1 + diff), a.rate
        if fast_first:
            args = (a, t, seed, r_fast, r_slow, ("fast", "slow"))
        else:
            args = (a, t, seed, r_slow, r_fast, ("slow", "fast"))
        jobs.append(pool.submit(compare_trial, *args))
    right = wrong = tie = 0
    ratios, widths, methods, first = [], [], {}, 0
    for j in jobs:
        winner, point, lo, hi, of, method, listed_first = j.result()
        methods[method] = methods.get(method, 0) + 1
        first += winner is not None and winner == listed_first
        if point is not None and of and of[0] == "slow":
            point, lo, hi = 1 / point, (1 / hi if hi else None), (1 / lo if lo else None)
        ratios.append(point)
        if lo is not None and hi is not None:
            widths.append(hi / lo)
        if winner is None:
            tie += 1
        elif winner == "fast" and diff > 0:
            right += 1
        else:
            wrong += 1
    if diff > 0:
        k, what = right, "right winner"
    else:
        k, what = wrong, "false winner"
    lo, hi = wilson(k, n)
    print("%-5s %3d trials, true difference %4.1f%%: %s %d/%d = %.1f%% (95%% CI %.1f..%.1f%%), "
          "ties %d, wrong %d; median fast/slow %.3f, median CI width x%.3f"
          % (label, n, diff * 100, what, k, n, 100 * k / n if n else float("nan"), 100 * lo, 100 * hi,
             tie, wrong if diff > 0 else 0, median(ratios), median(widths)), flush=True)
    # A bias towards the first or the second target shows here, whatever
    # the truth: a winner should be the first listed half the time.
    print("      winners listed first %d of %d; interval method %s" % (
        first, n - tie, ", ".join("%s %d" % (k, v) for k, v in sorted(methods.items(), key=str))),
        flush=True)


def run_gate(a, pool, n):
    # Each --gate-repeat K gets its n trials; the trials of the Ks are
    # interleaved, so they share the machine's moments and differ only in K.
    rng = random.Random(a.seed * 7919)
    ks = [int(k) for k in str(a.gate_repeat).split(",")]
    jobs = []
    for t in range(n):
        seed = rng.randrange(1, 1 << 30)
        for k in ks:
            jobs.append((k, pool.submit(gate_trial, a, t, seed, k)))
    for k in ks:
        alarms, probs, examples = 0, [], []
        for kk, j in jobs:
            if kk != k:
                continue
            failed, fails, p = j.result()
            alarms += failed
            probs.append(p)
            if failed and len(examples) < 3:
                examples.extend(fails[:1])
        lo, hi = wilson(alarms, n)
        print("gate  %3d trials, a build against itself, %s: false alarms %d/%d = %.1f%% (95%% CI %.1f..%.1f%%); "
              "median of the largest probability of a regression %.1f%%"
              % (n, "one run against a one-run baseline" if k == 1 else "--repeat %d on both sides" % k,
                 alarms, n, 100 * alarms / n if n else float("nan"), 100 * lo, 100 * hi, median(probs)),
              flush=True)
        for e in examples:
            print("      e.g. %s" % e)


def cpu_times():
    """(idle, steal, total) ticks of all CPUs."""
    c = client_bench.proc_stat()
    return c["idle"], c["steal"], c["total"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llmload", default=os.path.join(HERE, "..", "build", "src", "llmload"))
    ap.add_argument("--diff-trials", type=int, default=60)
    ap.add_argument("--same-trials", type=int, default=60)
    ap.add_argument("--gate-trials", type=int, default=200)
    ap.add_argument("--diff", type=float, default=0.05, help="true throughput difference (0.05)")
    ap.add_argument("--rate", type=float, default=200, help="decode tokens/s of the slower simulator")
    ap.add_argument("--ttft-base-ms", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=1, help="compare --rounds (1)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--requests", type=int, default=96)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--warmup", type=int, default=None,
                    help="--warmup of every run (default: llmload's, a request per connection)")
    ap.add_argument("--gate-repeat", default="1", metavar="K[,K...]",
                    help="--repeat of both runs of a gate trial (1); several, e.g. 1,5, run "
                         "interleaved trials of each")
    ap.add_argument("--jobs", type=int, default=2, help="trials run at the same time")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", metavar="DIR", help="keep each compare document in DIR")
    a = ap.parse_args()
    a.llmload = os.path.abspath(a.llmload)
    with open("/proc/loadavg") as f:
        print("load average at the start: %s" % " ".join(f.read().split()[:3]), flush=True)
    t0 = cpu_times()
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
        if a.diff_trials:
            run_compare(a, pool, a.diff_trials, a.diff, "diff")
        if a.same_trials:
            run_compare(a, pool, a.same_trials, 0.0, "same")
        if a.gate_trials:
            run_gate(a, pool, a.gate_trials)
    with open("/proc/loadavg") as f:
        print("load average at the end: %s" % " ".join(f.read().split()[:3]), flush=True)
    t1 = cpu_times()
    span = max(t1[2] - t0[2], 1)
    print("CPU time of the machine meanwhile: idle %.1f%%, steal %.1f%%"
          % (100 * (t1[0] - t0[0]) / span, 100 * (t1[1] - t0[1]) / span), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

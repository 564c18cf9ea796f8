#!/usr/bin/env python3
"""One run over several processes (docs/scale.md), measured on loopback.

  python3 bench/scale_bench.py [--llmload build/src/llmload] [--only NAME]

Scenarios (each prints one result line; docs/performance.md records them):
  merge      `llmload merge` of 10 shards of 100,000 requests each: the
             shards are real shard documents (a short run each) whose
             histograms are refilled with 100,000 samples drawn from wide
             distributions (so they have as many non-zero buckets as a long
             run's) and whose counters are scaled to match.  Target < 1 s.
  workers    the burst scenario of client_bench.py (a replay server whose
             cost is one send per response), with --workers 1 and
             --workers 2 run alternately, side by side: events per wall
             second, and the machine's steal time over each run.
  streams    N concurrent streams (--streams, default 10,000) against the
             simulator with --workers W (--workers, default 2): all must
             succeed; client RSS per stream (the workers' peak RSS summed)
             and TTFT against the simulator's truth.

Only loopback (127.0.0.1) is used.
"""
import argparse
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import client_bench  # noqa: E402  (BurstServer, fidelity, start_mock)


def hist_index(v):
    """The HDR bucket of v (src/metrics/hist.c: 2048 sub-buckets a power of two)."""
    pow2ceil = (v | 2047).bit_length()
    bucket = pow2ceil - 11
    sub = v >> bucket
    return ((bucket + 1) << 10) + (sub - 1024)


def synth_hist(h, n, rnd, median):
    """h (a hist document) refilled with n log-normal samples around median."""
    counts, vals = {}, []
    top = int(h["highest"])
    for _ in range(n):
        v = min(top, max(1, int(rnd.lognormvariate(math.log(median), 0.8))))
        vals.append(v)
        i = hist_index(v)
        counts[i] = counts.get(i, 0) + 1
    mean = sum(vals) / n
    pairs, prev = [], 0
    for i, c in sorted(counts.items()):   # llmload.hist/2: "delta:count ..."
        pairs.append("%d:%d" % (i - prev, c))
        prev = i
    h.update({"format": "llmload.hist/2", "count": n, "saturated": 0, "min": min(vals), "max": max(vals),
              "sum": float(sum(vals)), "m2": float(sum((v - mean) ** 2 for v in vals)),
              "buckets": " ".join(pairs)})
    h.pop("exact", None)


def scenario_merge(llmload, shards=10, per_shard=100000):
    d = tempfile.mkdtemp(prefix="llmload-merge-bench-")
    rnd = random.Random(1)
    paths = []
    mock = subprocess.Popen([llmload, "mock", "--listen", "127.0.0.1:0", "--profile", "fast"],
                            stdout=subprocess.PIPE)
    url = mock.stdout.readline().decode().strip()
    for i in range(shards):
        out = os.path.join(d, "s%d.json" % i)
        subprocess.run([llmload, "run", "--url", url + "/v1", "--model", "llmload-mock",
                        "--shard", "%d/%d" % (i, shards), "--seed", "5", "-c", str(shards),
                        "-n", str(shards * 2), "--monitor", "none", "--quiet", "--json", out],
                       check=True, stdout=subprocess.DEVNULL)
        doc = json.load(open(out))
        for name, h in doc["histograms"].items():
            median = 5e7 if name.endswith("_ns") else 2e4 if "milli" in name else 100
            synth_hist(h, per_shard, rnd, median)
        c, n0 = doc["counters"], max(1, doc["counters"]["requests"])
        for k in ("events", "output_tokens", "input_tokens"):
            c[k] = c[k] * per_shard // n0
        c["requests"] = c["ok"] = per_shard
        json.dump(doc, open(out, "w"))
        paths.append(out)
    mock.terminate()
    mock.wait(60)
    size = sum(os.path.getsize(p) for p in paths)
    best = None
    for _ in range(3):
        t0 = time.monotonic()
        subprocess.run([llmload, "merge", *paths, "-o", os.path.join(d, "m.json")], check=True,
                       stdout=subprocess.DEVNULL)
        t = time.monotonic() - t0
        best = t if best is None else min(best, t)
    m = json.load(open(os.path.join(d, "m.json")))
    if os.environ.get("KEEP"):
        print("kept", d, file=sys.stderr)
    else:
        shutil.rmtree(d)
    return {"scenario": "merge", "shards": shards, "requests": m["summary"]["requests"],
            "ttft_n": m["summary"]["ttft"]["n"], "input_mb": round(size / 1e6, 1),
            "merge_s_best_of_3": round(best, 3)}


def cpu_ticks():
    """(steal, idle + iowait, total) ticks of all CPUs."""
    c = client_bench.proc_stat()
    return c["steal"], c["idle"] + c["iowait"], c["total"]


def run_timed(cmd, idle=None):
    """Runs cmd: (wall s, steal share, child CPU s); idle, a list, gets the
    cores the machine left idle over the run."""
    s0, i0, t0 = cpu_ticks()
    w0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - w0
    s1, i1, t1 = cpu_ticks()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("failed: %s" % " ".join(cmd))
    if idle is not None:
        idle.append(os.cpu_count() * (i1 - i0) / max(1, t1 - t0))
    return wall, (s1 - s0) / max(1, t1 - t0), ru.ru_utime + ru.ru_stime


def scenario_workers(llmload, events=20000, requests=2000, conc=4, rounds=9):
    # 2,000 requests (40 M events, a few seconds a run): with 200 (half a
    # second) process start, fork and the merge weighed on two workers.
    srv = client_bench.BurstServer(events)
    d = tempfile.mkdtemp(prefix="llmload-workers-bench-")
    res = {1: [], 2: []}
    steal = {1: [], 2: []}
    per_cpu = {1: [], 2: []}
    idle = {1: [], 2: []}
    for _ in range(rounds):
        for w in (1, 2):
            out = os.path.join(d, "w%d.json" % w)
            wall, st, cpu = run_timed([llmload, "run", "--url", srv.url + "/v1", "--model", "m", "--api",
                                  "openai-chat", "-c", str(conc), "-n", str(requests), "--workers", str(w),
                                  "--overlong-factor", "0",
                                  "--monitor", "none", "--quiet", "--json", out], idle[w])
            ev = json.load(open(out))["summary"]["events"]
            res[w].append(ev / wall)
            steal[w].append(st)
            per_cpu[w].append(ev / cpu)
    shutil.rmtree(d)
    med = lambda v: sorted(v)[len(v) // 2]
    return {"scenario": "workers", "events_per_wall_s_w1": round(med(res[1])),
            "events_per_wall_s_w2": round(med(res[2])), "ratio": round(med(res[2]) / med(res[1]), 2),
            # Each round's pair ran back to back: the drift of a shared
            # machine between rounds cancels in these.
            "ratio_per_round": [round(b / a, 2) for a, b in zip(res[1], res[2])],
            "ratio_median_of_rounds": round(med([b / a for a, b in zip(res[1], res[2])]), 2),
            "events_per_cpu_s_w1": round(med(per_cpu[1])), "events_per_cpu_s_w2": round(med(per_cpu[2])),
            "steal_w1": round(med(steal[1]), 3), "steal_w2": round(med(steal[2]), 3), "rounds": rounds,
            # Cores idle while the run lasted: with two workers, what the
            # client could still have used.
            "idle_cores_w1": round(med(idle[1]), 2), "idle_cores_w2": round(med(idle[2]), 2),
            "loadavg": open("/proc/loadavg").read().split()[0]}


def scenario_streams(llmload, streams=10000, workers=2, tokens=20, rate=2.0, local_addrs=None, ramp="2s"):
    d = tempfile.mkdtemp(prefix="llmload-streams-bench-")
    truth, raw, out = (os.path.join(d, n) for n in ("truth.jsonl", "r.raw", "r.json"))
    # The simulator holds the streams in as many processes as the client.
    mock = subprocess.Popen([llmload, "mock", "--listen", "127.0.0.1:0", "--workers", str(workers),
                             "--slots", str(streams), "--decode-rate", str(rate), "--ttft-base", "50ms",
                             "--prefill-rate", "1000000", "--batch-slowdown", "0", "--truth", truth],
                            stdout=subprocess.PIPE)
    url = mock.stdout.readline().decode().strip()
    cmd = [llmload, "run", "--url", url + "/v1", "--model", "llmload-mock", "-c", str(streams),
           "-n", str(streams), "--max-tokens", str(tokens), "--ramp-up", ramp, "--ttft-timeout", "120s", "--workers", str(workers),
           "--monitor", "none", "--quiet", "--json", out, "--raw", raw]
    if local_addrs:
        cmd += ["--local-addrs", local_addrs]
    wall, st, _ = run_timed(cmd)
    rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    mock.terminate()
    mock.wait(120)
    s = json.load(open(out))["summary"]
    fid = client_bench.fidelity(raw, truth)
    shutil.rmtree(d)
    # ru_maxrss of children is the largest one child's peak, not a sum: a
    # worker's peak times the workers bounds the client's total.
    return {"scenario": "streams", "streams": streams, "workers": workers, "ok": s["ok"],
            "failed": s["failed"], "worker_peak_rss_kib": rss_kib,
            "rss_per_stream_kib": round(rss_kib * workers / streams, 2), "steal": round(st, 3),
            "tokens": tokens, "rate": rate, "ramp_up": ramp, "wall_s": round(wall, 1), "ttft_abs_err_p50_ms": fid["abs_err_p50_ms"],
            "ttft_abs_err_p99_ms": fid["abs_err_p99_ms"], "local_addrs": local_addrs,
            "errors": s["errors"], "client_busy": s["client"]["loop_busy_frac"],
            "loadavg": open("/proc/loadavg").read().split()[0]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llmload", default=os.path.join(HERE, "..", "build", "src", "llmload"))
    ap.add_argument("--only", choices=["merge", "workers", "streams"])
    ap.add_argument("--streams", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--local-addrs")
    ap.add_argument("--requests", type=int, default=2000, help="workers: requests a run (default 2000)")
    ap.add_argument("--rounds", type=int, default=9, help="workers: alternating rounds (default 9)")
    # Streams must outlast the ramp for all of them to be open at once:
    # tokens / rate seconds each, started over the ramp.
    ap.add_argument("--tokens", type=int, default=20, help="tokens per stream (default 20)")
    ap.add_argument("--rate", type=float, default=2.0, help="tokens/s per stream (default 2)")
    ap.add_argument("--ramp-up", default="2s", help="connection ramp (default 2s)")
    a = ap.parse_args()
    todo = {"merge": lambda: scenario_merge(a.llmload), "workers": lambda: scenario_workers(a.llmload, requests=a.requests, rounds=a.rounds),
            "streams": lambda: scenario_streams(a.llmload, a.streams, a.workers,
                                                  a.tokens, a.rate, a.local_addrs, a.ramp_up)}
    for name, fn in todo.items():
        if a.only and a.only != name:
            continue
        print(json.dumps(fn()), flush=True)


if __name__ == "__main__":
    main()

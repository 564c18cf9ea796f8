#!/usr/bin/env python3
"""Capacity under an SLO, found by `llmload sweep --find-max concurrency|rate
--goodput 95%`, against the value the simulator's timing model gives.

    bench/capacity_check.py [--llmload build/src/llmload] [--find-max concurrency|rate]

The simulator (docs/mock.md, "Timing model") serves S slots; a request
waits in a FIFO queue for a free one, gets its first token ttft-base +
prompt/prefill-rate after the grant, and then one token every 1/decode-rate
(batch-slowdown 0: whatever the batch).  Every request asks for the same
number of tokens, so a request holds its slot for one service time

    T    = ttft-base + prompt/prefill-rate + (tokens - 1)/decode-rate
    TTFT = ttft-base + prompt/prefill-rate + its wait for a slot

Concurrency (closed loop of C streams).  The S in the slots start and end
together; above S, each cycle of S requests serves C - S of them after they
waited a whole service time T for a slot:

    attainment = 1 for C <= S, (2S - C)/S for S < C <= 2S

With ttft <= X, ttft-base + prefill < X < T, the attainment's Wilson lower
bound meets 95 % while C <= S and its upper bound falls below it at C = S + 1
(7/8 = 87.5 % for S = 8), so the capacity is S.

Rate (open loop, constant arrivals every 1/R s, and a client cap -c far
above S so that the server's queue is the only one).  While R <= S/T a slot
is always free when a request arrives (the request S before it left T -
S/R >= 0 s earlier), so no request waits; above S/T the queue grows without
bound, by (T/S - 1/R) s per request.  The capacity at any TTFT limit is the
service rate

    capacity = S/T requests/s

A run of n requests sees the edge a little higher: its last request waits
about n (T/S - 1/R), so every request meets a limit with slack L = X - TTFT
while R <= 1/(T/S - L/n).  The check's timing keeps that within 3 %: L
(0.48 s) is large beside what a busy machine adds to the simulator's times,
and n T/S (18 s) large beside L.  The search starts at 2 requests/s, a guess
within a factor of 4 of the capacity.

The search must find the capacity within 5 %, in at most 8 probes (levels)
plus the hold.  Prints the command, the model's numbers, the probes, the
run past capacity, and PASS or FAIL (exit 1).
"""
import argparse
import heapq
import json
import math
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROMPT = "Write one sentence about load testing."


def mock_args(slots, base_ms, prefill_rate, decode):
    return ["--mock-arg=--slots=%d" % slots, "--mock-arg=--ttft-base=%gms" % base_ms,
            "--mock-arg=--prefill-rate=%g" % prefill_rate,
            "--mock-arg=--decode-rate=%g" % decode, "--mock-arg=--batch-slowdown=0"]


def queue_good(slots, T, ttft, limit, rate, n):
    """Requests of n, arriving every 1/rate s at a FIFO of slots serving T
    s each, whose TTFT (wait + ttft) meets limit: the D/D/S queue."""
    free, good = [0.0] * slots, 0
    for k in range(n):
        arrive = k / rate
        start = max(arrive, heapq.heappop(free))
        heapq.heappush(free, start + T)
        good += start - arrive + ttft <= limit
    return good / n


def concurrency_case(args):
    S, base_ms, prefill_rate, decode, tokens = args.slots, 20.0, 4000.0, 200.0, 40
    ttft_model = base_ms / 1e3 + math.ceil(len(PROMPT.encode()) / 4) / prefill_rate
    T = ttft_model + (tokens - 1) / decode
    limit_s = 0.1
    assert ttft_model < limit_s < T, "the limit must lie between the TTFT and a whole service time"
    assert S < 20, "(S - 1)/S must stay below the 95 % target"
    # The largest C whose attainment (2S - C)/S meets the target: only C <= S.
    capacity = max(c for c in range(1, 2 * S + 1) if (1.0 if c <= S else (2 * S - c) / S) >= 0.95)
    cmd = ["sweep", "--find-max", "concurrency", "--slo", "ttft<=100ms", "--goodput", "95%",
           "-n", str(args.requests or 100), "--max-tokens", str(tokens), "--prompt", PROMPT,
           "--no-nonce", "--monitor", "none", "--find-max-limit", "64"] + \
        mock_args(S, base_ms, prefill_rate, decode)
    model = ("model: slots %d, TTFT %.1f ms below the slots, service time T %.1f ms, "
             "attainment at %d = %.1f %%: capacity %d" %
             (S, ttft_model * 1e3, T * 1e3, S + 1, 100.0 * (S - 1) / S, capacity))
    return cmd, capacity, model, lambda c: 1.0 if c <= S else max(0.0, (2 * S - c) / S)


def rate_case(args):
    S, base_ms, prefill_rate, decode, tokens = args.slots, 20.0, 4000.0, 20.0, 30
    n = args.requests or 100
    ttft_model = base_ms / 1e3 + math.ceil(len(PROMPT.encode()) / 4) / prefill_rate
    T = ttft_model + (tokens - 1) / decode
    limit_s = 0.5
    capacity = S / T
    slack = limit_s - ttft_model
    edge = 1 / (T / S - slack / n)
    cmd = ["sweep", "--find-max", "rate", "--find-max-start", "2", "--find-max-limit", "100",
           "--arrival", "constant", "-c", "64", "--slo", "ttft<=500ms", "--goodput", "95%",
           "-n", str(n), "--max-tokens", str(tokens), "--prompt", PROMPT, "--no-nonce",
           "--monitor", "none"] + mock_args(S, base_ms, prefill_rate, decode)
    model = ("model: slots %d, TTFT %.1f ms with a free slot, service time T %.1f ms: capacity "
             "S/T = %.3f requests/s; a run of %d requests meets ttft<=500ms up to %.3f "
             "requests/s (+%.1f %%)" %
             (S, ttft_model * 1e3, T * 1e3, capacity, n, edge, 100 * (edge / capacity - 1)))
    return cmd, capacity, model, lambda r: queue_good(S, T, ttft_model, limit_s, r, n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--llmload", default=os.path.join(HERE, "..", "build", "src", "llmload"))
    ap.add_argument("--find-max", choices=("concurrency", "rate"), default="concurrency")
    ap.add_argument("--slots", type=int, default=8)
    ap.add_argument("--requests", type=int, default=0, help="requests per run (default 100)")
    args = ap.parse_args()

    cmd, capacity, model, attain = (rate_case if args.find_max == "rate" else concurrency_case)(args)
    with tempfile.TemporaryDirectory(prefix="llmload-capacity-") as d:
        out = os.path.join(d, "fm.json")
        cmd = [args.llmload] + cmd + ["--json", out]
        print("$ " + " ".join(cmd[1:]))
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        took = time.monotonic() - t0
        sys.stdout.write(p.stdout)
        if p.returncode != 0:
            sys.stderr.write(p.stderr)
            print("FAIL: llmload exited %d" % p.returncode)
            return 1
        with open(out) as f:
            doc = json.load(f)
    fm = doc["find_max"]
    print(model)
    found, probes, hold, past = fm["max"], fm["probes"], fm["hold"], fm.get("past_capacity")
    off = (found / capacity - 1) * 100 if found is not None else float("nan")
    print("found: %s (%+.1f %%) in %d probes (%s), hold %s, %.0f s" %
          (found, off, probes, " ".join("%g:%s" % (t["level"], "ok" if t["ok"] else "fail")
                                        for t in fm["tried"]),
           "confirmed" if hold and hold["ok"] else "NOT confirmed", took))
    print("attainment, measured against the model: " +
          ", ".join("%g %.0f%%/%.0f%%" % (t["level"], 100 * t["attainment"], 100 * attain(t["level"]))
                    for t in sorted(fm["tried"] + ([past] if past else []), key=lambda t: t["level"])
                    if t.get("attainment") is not None))
    if past:
        print("past capacity: %s at %g, retained %.1f %%" % (past["verdict"], past["level"],
                                                             100 * past["retained"]))
    ok = (found is not None and abs(found - capacity) <= 0.05 * capacity and probes <= 8 and
          hold is not None and hold["ok"])
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

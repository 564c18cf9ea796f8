#!/usr/bin/env python3
"""Capacity under an SLO, found by `llmload sweep --find-max concurrency
--goodput 95%`, against the value the simulator's timing model gives.

    bench/capacity_check.py [--llmload build/src/llmload] [--slots 8]

The simulator (docs/mock.md, "Timing model") serves S slots; a request
waits in a FIFO queue for a free one, gets its first token ttft-base +
prompt/prefill-rate after the grant, and then one token every 1/decode-rate
(batch-slowdown 0: whatever the batch).  Every request asks for the same
number of tokens, so in a closed loop of C streams the S in the slots start
and end together.  Above S, each cycle of S requests serves C - S of them
after they waited a whole service time T for a slot:

    T          = ttft-base + prompt/prefill-rate + (tokens - 1)/decode-rate
    TTFT       = ttft-base + prompt/prefill-rate                  (C <= S)
               = that + T, for C - S of every S requests         (C > S)
    attainment = 1 for C <= S, (2S - C)/S for S < C <= 2S

With ttft <= X, ttft-base + prefill < X < T, the attainment's Wilson lower
bound meets 95 % while C <= S and its upper bound falls below it at C = S + 1
(7/8 = 87.5 % for S = 8), so the capacity is S.  The search must find it
within 5 %, in at most 8 probes (levels) plus the hold.  Prints the
command, the model's numbers, the probes, and PASS or FAIL (exit 1).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--llmload", default=os.path.join(HERE, "..", "build", "src", "llmload"))
    ap.add_argument("--slots", type=int, default=8)
    ap.add_argument("--requests", type=int, default=100)
    args = ap.parse_args()

    S, base_ms, prefill_rate, decode, tokens, target = args.slots, 20.0, 4000.0, 200.0, 40, 0.95
    prompt = "Write one sentence about load testing."
    prompt_tokens = math.ceil(len(prompt.encode()) / 4)
    ttft_model = base_ms / 1e3 + prompt_tokens / prefill_rate
    T = ttft_model + (tokens - 1) / decode
    limit_s = 0.1
    assert ttft_model < limit_s < T, "the limit must lie between the TTFT and a whole service time"
    # The largest C whose attainment (2S - C)/S is 1: only C <= S, since
    # (S - 1)/S < target for every S < 20.
    capacity = max(c for c in range(1, 2 * S + 1)
                   if (1.0 if c <= S else (2 * S - c) / S) >= target) if S < 20 else None
    with tempfile.TemporaryDirectory(prefix="llmload-capacity-") as d:
        out = os.path.join(d, "fm.json")
        cmd = [args.llmload, "sweep", "--find-max", "concurrency", "--slo", "ttft<=100ms",
               "--goodput", "95%", "-n", str(args.requests), "--max-tokens", str(tokens),
               "--prompt", prompt, "--no-nonce", "--monitor", "none", "--find-max-limit", "64",
               "--mock-arg=--slots=%d" % S, "--mock-arg=--ttft-base=%gms" % base_ms,
               "--mock-arg=--prefill-rate=%g" % prefill_rate,
               "--mock-arg=--decode-rate=%g" % decode, "--mock-arg=--batch-slowdown=0",
               "--json", out]
        print("$ " + " ".join(cmd[1:]))
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        sys.stdout.write(p.stdout)
        if p.returncode != 0:
            sys.stderr.write(p.stderr)
            print("FAIL: llmload exited %d" % p.returncode)
            return 1
        with open(out) as f:
            doc = json.load(f)
    fm = doc["find_max"]
    print("model: slots %d, TTFT %.1f ms below the slots, service time T %.1f ms, "
          "attainment at %d = %.1f %%: capacity %d" %
          (S, ttft_model * 1e3, T * 1e3, S + 1, 100.0 * (S - 1) / S, capacity))
    found, probes, hold = fm["max"], fm["probes"], fm["hold"]
    print("found: %s in %d probes (%s), hold %s" %
          (found, probes, " ".join("%g:%s" % (t["level"], "ok" if t["ok"] else "fail")
                                   for t in fm["tried"]),
           "confirmed" if hold and hold["ok"] else "NOT confirmed"))
    ok = (found is not None and abs(found - capacity) <= 0.05 * capacity and probes <= 8 and
          hold is not None and hold["ok"])
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

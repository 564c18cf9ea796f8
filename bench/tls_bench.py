#!/usr/bin/env python3
"""Client cost and timing of https (issue 15's targets), measured on
loopback like bench/client_bench.py: the client pinned to one core, the
simulator (`llmload mock --tls`) to the other.  Every TLS number is
measured beside its plain-HTTP twin in the same invocation, so the ratio
holds on a shared machine whose absolute speed drifts.

  python3 bench/tls_bench.py [--llmload build/src/llmload] [--only NAME]

Scenarios (one JSON line each; docs/performance.md records them):
  per-token-100    100 streams, every token its own segment and TLS record:
                   client CPU per token, TLS and plain (target <= 1.5x).
  per-token-1000   the same with 1,000 streams.
  handshakes       every request on a new connection (the simulator cuts
                   each response, --fault-close 1) with full handshakes
                   (--tls-no-resume), TLS and plain: the client CPU a
                   handshake costs, and so the handshakes one core does
                   per second.
  resumed          the same with session resumption (all but each slot's
                   first handshake resume).
  streams          10,000 concurrent TLS streams from one core: RSS per
                   stream (and the plain run's, beside it), CPU per token.
  fidelity         1,000 TLS streams (--ramp-up 10s, so the handshakes do
                   not pile up): TTFT against the simulator's truth.

Client CPU is the child's user+sys from wait4(); RSS its ru_maxrss.
Only loopback (127.0.0.1) is used.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import client_bench as cb   # noqa: E402  (start_mock, run_client, fidelity)


def mock(llmload, args, tls, truth=None):
    """The simulator, with --tls and its CA file when tls; returns
    (process, url, client flags that trust it)."""
    if not tls:
        p, url = cb.start_mock(llmload, args, truth)
        return p, url, []
    ca = os.path.join(tempfile.mkdtemp(prefix="llmload-bench-"), "ca.pem")
    p, url = cb.start_mock(llmload, ["--tls", "--tls-ca-out", ca] + args, truth)
    return p, url, ["--cacert", ca]


def client(llmload, url, trust, args):
    doc, ru, wall = cb.run_client(llmload, url + "/v1", trust + args)
    return doc["summary"], ru.ru_utime + ru.ru_stime, ru, wall


REPEAT = 3


def per_token(llmload, streams, rate, tokens):
    """Each token written alone with TCP_NODELAY (one read, and over TLS one
    record, per token).  Plain and TLS alternate REPEAT times and each
    keeps its least disturbed run (the minimum CPU): a shared machine's
    steal and neighbours only ever add CPU time."""
    runs = [per_token_once(llmload, streams, rate, tokens) for _ in range(REPEAT)]
    out = {"scenario": "per-token-%d" % streams, "streams": streams, "runs": REPEAT}
    for k in ("plain", "tls"):
        best = min(runs, key=lambda r: r[k + "_cpu_per_token_us"])
        for f in ("_tokens", "_cpu_s", "_cpu_per_token_us"):
            out[k + f] = best[k + f]
        out[k + "_cpu_per_token_us_all"] = [r[k + "_cpu_per_token_us"] for r in runs]
    out["tls_handshakes"] = runs[0]["tls_handshakes"]
    out["ratio"] = round(out["tls_cpu_per_token_us"] / out["plain_cpu_per_token_us"], 2)
    return out


def per_token_once(llmload, streams, rate, tokens):
    out = {}
    for tls in (False, True):
        m, url, trust = mock(llmload, ["--slots", str(streams), "--decode-rate", str(rate),
                                       "--ttft-base", "1ms", "--prefill-rate", "1000000",
                                       "--batch-slowdown", "0"], tls)
        try:
            s, cpu, ru, wall = client(llmload, url, trust, ["-c", str(streams), "-n", str(streams * 2),
                                                            "--max-tokens", str(tokens)])
        finally:
            cb.stop(m)
        k = "tls" if tls else "plain"
        out[k + "_tokens"] = s["output_tokens"]
        out[k + "_cpu_s"] = round(cpu, 3)
        out[k + "_cpu_per_token_us"] = round(cpu / max(1, s["output_tokens"]) * 1e6, 2)
        if tls:
            out["tls_handshakes"] = s["connections"]["tls_handshakes"]
    return out


def run_any(llmload, url, trust, args):
    """Like client(), but a run whose requests all failed (exit 3) is fine:
    the connection scenarios cut every response on purpose."""
    d = tempfile.mkdtemp(prefix="llmload-bench-")
    out = os.path.join(d, "r.json")
    cmd = ["taskset", "-c", cb.CLIENT_CPU, llmload, "run", "--url", url + "/v1", "--model", "llmload-mock",
           "--quiet", "--monitor", "none", "--json", out] + trust + args
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 3):
        raise SystemExit("client failed: %s" % " ".join(cmd))
    return json.load(open(out))["summary"], ru.ru_utime + ru.ru_stime


def connections(llmload, resume, n=1000, slots=20):
    """Every request on a new connection: the simulator closes each one
    after a few tokens (--fault-close 1), so n requests open n connections
    from `slots` slots.  With --tls-no-resume every handshake is full; else
    all but each slot's first resume.  The TLS run's CPU over the plain
    run's, per connection, is what a handshake costs the client."""
    name = "resumed" if resume else "handshakes"
    out = {"scenario": name, "requests": n, "slots": slots}
    for tls in (False, True):
        extra = [] if resume or not tls else ["--tls-no-resume"]
        m, url, trust = mock(llmload, ["--slots", str(slots), "--decode-rate", "1000", "--ttft-base", "0",
                                       "--prefill-rate", "1000000", "--batch-slowdown", "0",
                                       "--fault-close", "1"] + extra, tls)
        try:
            s, cpu = run_any(llmload, url, trust, ["-c", str(slots), "-n", str(n), "--max-tokens", "8"])
        finally:
            cb.stop(m)
        k = "tls" if tls else "plain"
        out[k + "_cpu_s"] = round(cpu, 3)
        out[k + "_connections"] = s["connections"]["opened"]
        if tls:
            c = s["connections"]
            out["tls_handshakes"] = c["tls_handshakes"]
            out["tls_resumed"] = c["tls_resumed"]
            out["tls_failed"] = s["errors"].get("tls_handshake", 0) + s["errors"].get("tls_verify", 0)
            out["handshake_p50_ms"] = round(c["tls_handshake"]["p50"] * 1e3, 3)
    per = (out["tls_cpu_s"] - out["plain_cpu_s"]) / max(1, out["tls_handshakes"])
    out["cpu_per_handshake_us"] = round(per * 1e6, 1)
    out["handshakes_per_core_s"] = round(1 / per) if per > 0 else None
    return out


def streams(llmload, n=10000, tokens=20, rate=2.0, ramp="90s"):
    out = {"scenario": "streams", "streams": n, "ramp_up": ramp}
    for tls in (False, True):
        d = tempfile.mkdtemp(prefix="llmload-bench-")
        truth, raw = os.path.join(d, "truth.jsonl"), os.path.join(d, "raw.jsonl")
        # No idle or header deadline: a client busy with thousands of
        # handshakes may take seconds to send a request on a connection.
        m, url, trust = mock(llmload, ["--slots", str(n), "--decode-rate", str(rate), "--ttft-base", "50ms",
                                       "--prefill-rate", "1000000", "--batch-slowdown", "0",
                                       "--idle-timeout", "0", "--header-timeout", "0"], tls, truth)
        try:
            s, cpu, ru, wall = client(llmload, url, trust, ["-c", str(n), "-n", str(n), "--max-tokens",
                                                            str(tokens), "--raw", raw, "--ttft-timeout", "120s",
                                                            "--connect-timeout", "120s", "--ramp-up", ramp])
        finally:
            cb.stop(m)
        k = "tls" if tls else "plain"
        f = cb.fidelity(raw, truth)
        out.update({k + "_ok": s["ok"], k + "_failed": s["failed"], k + "_cpu_s": round(cpu, 2),
                    k + "_cpu_per_token_us": round(cpu / max(1, s["output_tokens"]) * 1e6, 2),
                    k + "_max_rss_mib": round(ru.ru_maxrss / 1024, 1),
                    k + "_rss_per_stream_kib": round(ru.ru_maxrss / n, 2),
                    k + "_ttft_abs_err_p50_ms": f["abs_err_p50_ms"],
                    k + "_ttft_abs_err_p99_ms": f["abs_err_p99_ms"], k + "_errors": s["errors"]})
    return out


def fidelity(llmload, n=1000):
    """TTFT against the truth, TLS and plain side by side (the same load)."""
    out = {"scenario": "fidelity", "streams": n}
    for tls in (False, True):
        d = tempfile.mkdtemp(prefix="llmload-bench-")
        truth, raw = os.path.join(d, "truth.jsonl"), os.path.join(d, "raw.jsonl")
        m, url, trust = mock(llmload, ["--slots", str(n), "--decode-rate", "20", "--ttft-base", "20ms",
                                       "--prefill-rate", "1000000", "--batch-slowdown", "0"], tls, truth)
        try:
            s, cpu, ru, wall = client(llmload, url, trust, ["-c", str(n), "-n", str(3 * n), "--max-tokens",
                                                            "10", "--raw", raw, "--ramp-up", "10s"])
        finally:
            cb.stop(m)
        f = cb.fidelity(raw, truth)
        k = "tls" if tls else "plain"
        out[k + "_ok"] = s["ok"]
        for x in ("abs_err_p50_ms", "abs_err_p99_ms", "read_lag_p50_ms", "read_lag_p99_ms",
                  "ttft_truth_from_read_p50_ms"):
            out[k + "_" + x] = f[x]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llmload", default=os.path.join(HERE, "..", "build", "src", "llmload"))
    runs = {"per-token-100": lambda l: per_token(l, 100, 200.0, 600),
            "per-token-1000": lambda l: per_token(l, 1000, 20.0, 60),
            "handshakes": lambda l: connections(l, False), "resumed": lambda l: connections(l, True),
            "streams": streams, "fidelity": fidelity}
    ap.add_argument("--only", choices=sorted(runs))
    ap.add_argument("--repeat", type=int, default=REPEAT,
                    help="plain/TLS pairs of the per-token scenarios (default %d)" % REPEAT)
    a = ap.parse_args()
    globals()["REPEAT"] = a.repeat
    for name, fn in runs.items():
        if a.only and a.only != name:
            continue
        print(json.dumps(fn(a.llmload)), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Client cost and timing of https (issue 15's targets), measured on
loopback like bench/client_bench.py: the client pinned to one core, the
simulator (`llmload mock --tls`) to the other.  Every TLS number is
measured beside its plain-HTTP twin in the same invocation, so the ratio
holds on a shared machine whose absolute speed drifts.

  python3 bench/tls_bench.py [--llmload build/src/llmload] [--only NAME]

Scenarios (one JSON line each; docs/performance.md records them):
  per-token-100    100 keep-alive streams, every token its own segment and
                   TLS record, 256-token responses.  CPU per token
                   (--repeat rounds of plain then TLS): A, one request
                   per connection, whole run (handshakes in it, wait4),
                   and the steady state: one run of 30 requests per
                   connection measured in 5 s windows (the client's
                   schedstat CPU over the tokens the simulator made in
                   the window), its median.  Both with the streams'
                   phases spread (--ramp-up: independent users) and
                   aligned (all start at once: one wake-up for a burst
                   of tokens).  Instructions per token (callgrind, B - A
                   with B three requests a connection, one pair).  TLS
                   over plain: the median of the rounds' ratios (target
                   <= 1.5x).
  per-token-1000   the same with 1,000 streams (4 requests a connection;
                   slower tokens, and under callgrind slower still, so the
                   instrumented client keeps up: one read per record).
  handshakes       every request on a new connection (the simulator cuts
                   each response, --fault-close 1) with full handshakes
                   (--tls-no-resume), TLS and plain: the client CPU and
                   instructions a handshake costs, and so the handshakes
                   one core does per second.
  resumed          the same with session resumption (all but each slot's
                   first handshake resume).
  fidelity         TTFT against the simulator's truth, TLS and plain side
                   by side, at 100 and 1,000 streams.
  streams          10,000 concurrent streams from one core, TLS and plain:
                   RSS per stream, CPU per token, TTFT against the truth.

Client CPU is the child's user+sys from wait4(); RSS its ru_maxrss;
instructions are callgrind's "Collected" count (valgrind --tool=callgrind),
the client's user-space instructions (the kernel's share of a read is in
the CPU time only).  Only loopback (127.0.0.1) is used.
"""
import argparse
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import client_bench as cb   # noqa: E402  (start_mock, run_client, fidelity)

# The simulator never drops a connection a slow (instrumented) client has
# not used yet.
PATIENT = ["--idle-timeout", "0", "--header-timeout", "0"]


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


def client_argv(llmload, url, trust, args, tool=()):
    """The client pinned to its core (under `tool`, e.g. valgrind), against
    the simulator at url with its trust flags."""
    return (["taskset", "-c", cb.CLIENT_CPU] + list(tool) +
            [llmload, "run", "--url", url + "/v1", "--model", "llmload-mock", "--quiet", "--monitor", "none"] +
            trust + args)


def callgrind(llmload, url, trust, args, ok=(0,)):
    """The client under callgrind: (summary, instructions)."""
    d = tempfile.mkdtemp(prefix="llmload-bench-")
    out = os.path.join(d, "r.json")
    cmd = client_argv(llmload, url, trust, ["--json", out, "--connect-timeout", "600s", "--ttft-timeout", "600s"] + args,
                      tool=("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"))
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    m = re.search(r"Collected : (\d+)", p.stderr)
    if p.returncode not in ok or not m:
        raise SystemExit("client under callgrind failed: %s\n%s" % (" ".join(cmd), p.stderr[-2000:]))
    return json.load(open(out))["summary"], int(m.group(1))


REPEAT = 3
WINDOW_S = 5.0


def per_token(llmload, streams, rate, tokens, reqs, cg_rate, cg_tokens, cg_reqs):
    """Steady-state and handshake-inclusive cost per token, TLS over plain.

    CPU, in `phases` (spread: the streams start over --ramp-up, so their
    tokens come at every moment of the decode period, as independent
    users' do; aligned: they start at once, and every stream's token comes
    at the same instant, one wake-up of the client for hundreds of them):
    plain and TLS alternate REPEAT times; each run's steady cost is the
    median over WINDOW_S windows (windowed()); the ratio reported is the
    median of the rounds' ratios, each measured minutes apart at most.
    Instructions: one pair under callgrind, B - A (B: cg_reqs requests per
    connection, A: one), at cg_rate tokens/s and cg_tokens a response so the
    instrumented client reads each record as it comes (a client that falls
    behind reads several per read, cheaper)."""
    out = {"scenario": "per-token-%d" % streams, "streams": streams, "tokens_per_response": tokens,
           "requests_per_connection": reqs, "runs": REPEAT, "window_s": WINDOW_S}
    for phases in ("spread", "aligned"):
        runs = [per_token_cpu(llmload, streams, rate, tokens, reqs, phases) for _ in range(REPEAT)]
        ratios = [r["tls_steady_us"] / r["plain_steady_us"] for r in runs]
        o = out.setdefault(phases, {})
        for k in ("plain", "tls"):
            for f in ("steady_us", "wakeups_per_token", "a_us"):
                o["%s_%s_all" % (k, f)] = [r["%s_%s" % (k, f)] for r in runs]
        o["ratio_steady_cpu_all"] = [round(x, 3) for x in ratios]
        o["ratio_steady_cpu"] = round(sorted(ratios)[len(ratios) // 2], 2)
        o["ratio_with_handshake_cpu"] = round(min(r["tls_a_us"] for r in runs) /
                                              min(r["plain_a_us"] for r in runs), 2)
    out.update(per_token_instr(llmload, streams, cg_rate, cg_tokens, cg_reqs))
    out["ratio_steady_instr"] = round(out["tls_steady_instr_per_token"] / out["plain_steady_instr_per_token"], 2)
    out["ratio_with_handshake_instr"] = round(out["tls_with_handshake_instr_per_token"] /
                                              out["plain_with_handshake_instr_per_token"], 2)
    return out


def token_mock(llmload, streams, rate, tls):
    return mock(llmload, ["--slots", str(streams), "--decode-rate", str(rate), "--ttft-base", "1ms",
                          "--prefill-rate", "1000000", "--batch-slowdown", "0"] + PATIENT, tls)


def per_token_ab(llmload, streams, rate, tokens, reqs, measure):
    """Runs A (one request per connection) and B (reqs per connection),
    plain then TLS; measure(llmload, url, trust, args) gives (summary,
    cost).  Per protocol: (cost per token of A, handshakes included; cost
    per token of B - A, the steady state)."""
    out = {}
    for tls in (False, True):
        k = "tls" if tls else "plain"
        m, url, trust = token_mock(llmload, streams, rate, tls)
        try:
            got = []
            for n in (streams, streams * reqs):
                s, cost = measure(llmload, url, trust, ["-c", str(streams), "-n", str(n),
                                                        "--max-tokens", str(tokens)])
                # A slot free before every connection is up may take an
                # open one: A can open a few fewer than streams (B - A then
                # holds those few handshakes, microseconds over 10^5 tokens).
                if s["connections"]["opened"] > streams or s["failed"]:
                    raise SystemExit("%s: %d connections and %d failures for %d streams"
                                     % (k, s["connections"]["opened"], s["failed"], streams))
                got.append((s["output_tokens"], cost))
        finally:
            cb.stop(m)
        (ta, ca), (tb, cbb) = got
        out[k] = (ca / ta, (cbb - ca) / (tb - ta))
    return out


def cpu_of(llmload, url, trust, args):
    s, cpu, ru, wall = client(llmload, url, trust, args)
    return s, cpu


def mock_tokens(url, ca):
    """The simulator's count of tokens generated (its /metrics)."""
    ctx = ssl.create_default_context(cafile=ca) if ca else None
    with urllib.request.urlopen(url + "/metrics", context=ctx, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("llmload_mock_tokens_generated_total "):
                return int(float(line.split()[1]))
    raise SystemExit("the simulator's /metrics has no llmload_mock_tokens_generated_total")


def proc_cpu(pid):
    """(CPU time in ns from the scheduler's own account, voluntary context
    switches: the times the client slept in epoll_wait and was woken)."""
    with open("/proc/%d/schedstat" % pid) as f:
        ns = int(f.read().split()[0])
    with open("/proc/%d/status" % pid) as f:
        sw = next(int(l.split()[1]) for l in f if l.startswith("voluntary_ctxt_switches"))
    return ns, sw


def windowed(llmload, url, trust, args, skip_s):
    """One run of the client, its CPU per token measured in windows of
    WINDOW_S while it streams: the client's CPU (schedstat) over the
    tokens the simulator generated in the same window.  No run minus
    another: the steady state of one run, every window of it but those
    holding its start (handshakes, skip_s) and its end.  Returns (median
    CPU per token in s, median wake-ups per token)."""
    cmd = client_argv(llmload, url, trust, args)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    samples = []
    try:
        time.sleep(skip_s)
        while p.poll() is None:
            try:
                samples.append(proc_cpu(p.pid) + (mock_tokens(url, trust[1] if trust else None),))
            except (FileNotFoundError, ProcessLookupError, StopIteration):
                break
            time.sleep(WINDOW_S)
    finally:
        if p.wait() != 0:
            raise SystemExit("client failed: %s" % " ".join(cmd))
    w = [(c2 - c1, s2 - s1, t2 - t1) for (c1, s1, t1), (c2, s2, t2) in zip(samples, samples[1:-1]) if t2 > t1]
    if len(w) < 3:
        raise SystemExit("too few windows (%d) in %s" % (len(w), " ".join(cmd)))
    med = lambda xs: sorted(xs)[len(xs) // 2]
    return med([c / t / 1e9 for c, s, t in w]), med([s / t for c, s, t in w])


def per_token_cpu(llmload, streams, rate, tokens, reqs, phases):
    """Plain then TLS, each on its own simulator: A, one request per
    connection (CPU over the whole run, handshakes included), then the
    steady state of reqs requests per connection (windowed)."""
    out = {}
    ramp = max(2.0, 40.0 / rate)   # 40 decode periods: phases spread evenly
    extra = ["--ramp-up", "%gs" % ramp] if phases == "spread" else []
    for tls in (False, True):
        k = "tls" if tls else "plain"
        m, url, trust = token_mock(llmload, streams, rate, tls)
        try:
            s, cpu = cpu_of(llmload, url, trust, ["-c", str(streams), "-n", str(streams),
                                                  "--max-tokens", str(tokens)] + extra)
            steady, wake = windowed(llmload, url, trust, ["-c", str(streams), "-n", str(streams * reqs),
                                                          "--max-tokens", str(tokens)] + extra,
                                    (ramp if extra else 0) + 3.0)
        finally:
            cb.stop(m)
        out[k + "_a_us"] = round(cpu / s["output_tokens"] * 1e6, 2)
        out[k + "_steady_us"] = round(steady * 1e6, 2)
        out[k + "_wakeups_per_token"] = round(wake, 3)
    return out


def per_token_instr(llmload, streams, rate, tokens, reqs):
    r = per_token_ab(llmload, streams, rate, tokens, reqs, callgrind)
    out = {"callgrind_tokens_per_response": tokens, "callgrind_decode_rate": rate}
    for k, (a, steady) in r.items():
        out[k + "_steady_instr_per_token"] = round(steady)
        out[k + "_with_handshake_instr_per_token"] = round(a)
    return out


def run_any(llmload, url, trust, args):
    """Like client(), but a run whose requests all failed (exit 3) is fine:
    the connection scenarios cut every response on purpose."""
    d = tempfile.mkdtemp(prefix="llmload-bench-")
    out = os.path.join(d, "r.json")
    cmd = client_argv(llmload, url, trust, ["--json", out] + args)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 3):
        raise SystemExit("client failed: %s" % " ".join(cmd))
    return json.load(open(out))["summary"], ru.ru_utime + ru.ru_stime


def connections(llmload, resume, n=1000, slots=20, cg_n=200):
    """Every request on a new connection: the simulator closes each one
    after a few tokens (--fault-close 1), so n requests open n connections
    from `slots` slots.  With --tls-no-resume every handshake is full; else
    all but each slot's first resume.  The TLS run's CPU (and, under
    callgrind with cg_n requests, instructions) over the plain run's, per
    connection, is what a handshake costs the client."""
    name = "resumed" if resume else "handshakes"
    out = {"scenario": name, "requests": n, "slots": slots, "callgrind_requests": cg_n}
    for tls in (False, True):
        extra = [] if resume or not tls else ["--tls-no-resume"]
        m, url, trust = mock(llmload, ["--slots", str(slots), "--decode-rate", "1000", "--ttft-base", "0",
                                       "--prefill-rate", "1000000", "--batch-slowdown", "0",
                                       "--fault-close", "1"] + PATIENT + extra, tls)
        k = "tls" if tls else "plain"
        try:
            s, cpu = run_any(llmload, url, trust, ["-c", str(slots), "-n", str(n), "--max-tokens", "8"])
            cs, ir = callgrind(llmload, url, trust, ["-c", str(slots), "-n", str(cg_n), "--max-tokens", "8"],
                               ok=(0, 3))
        finally:
            cb.stop(m)
        out[k + "_cpu_s"] = round(cpu, 3)
        out[k + "_connections"] = s["connections"]["opened"]
        out[k + "_instr"] = ir
        out[k + "_callgrind_connections"] = cs["connections"]["opened"]
        if tls:
            c = s["connections"]
            out["tls_handshakes"] = c["tls_handshakes"]
            out["tls_resumed"] = c["tls_resumed"]
            out["tls_failed"] = s["errors"].get("tls_handshake", 0) + s["errors"].get("tls_verify", 0)
            out["handshake_p50_ms"] = round(c["tls_handshake"]["p50"] * 1e3, 3)
            out["callgrind_tls_handshakes"] = cs["connections"]["tls_handshakes"]
    per = (out["tls_cpu_s"] - out["plain_cpu_s"]) / max(1, out["tls_handshakes"])
    out["cpu_per_handshake_us"] = round(per * 1e6, 1)
    out["handshakes_per_core_s"] = round(1 / per) if per > 0 else None
    out["instr_per_handshake"] = round((out["tls_instr"] - out["plain_instr"]) /
                                       max(1, out["callgrind_tls_handshakes"]))
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


def fidelity(llmload, n):
    """TTFT against the truth, TLS and plain side by side (the same load):
    n streams, three requests each, the connections opened over 10 s."""
    out = {"scenario": "fidelity-%d" % n, "streams": n}
    for tls in (False, True):
        d = tempfile.mkdtemp(prefix="llmload-bench-")
        truth, raw = os.path.join(d, "truth.jsonl"), os.path.join(d, "raw.jsonl")
        m, url, trust = mock(llmload, ["--slots", str(n), "--decode-rate", "20", "--ttft-base", "20ms",
                                       "--prefill-rate", "1000000", "--batch-slowdown", "0"] + PATIENT,
                             tls, truth)
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


def machine():
    """Load average and the steal share of all CPU time since the last call
    (from /proc/stat): how shared the machine was during a scenario."""
    v = cb.proc_stat()
    with open("/proc/loadavg") as f:
        load = float(f.read().split()[0])
    prev, machine.prev = getattr(machine, "prev", None), v
    if prev is None:
        return {"load1": load}
    d = {k: v[k] - prev[k] for k in v}
    tot = d["total"] or 1
    return {"load1": load, "steal_pct": round(100.0 * d["steal"] / tot, 1),
            "idle_pct": round(100.0 * d["idle"] / tot, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llmload", default=os.path.join(HERE, "..", "build", "src", "llmload"))
    runs = {"per-token-100": lambda l: per_token(l, 100, 200.0, 256, 30, 50.0, 64, 3),
            "per-token-1000": lambda l: per_token(l, 1000, 20.0, 256, 4, 4.0, 32, 2),
            "handshakes": lambda l: connections(l, False), "resumed": lambda l: connections(l, True),
            "fidelity-100": lambda l: fidelity(l, 100), "fidelity-1000": lambda l: fidelity(l, 1000),
            "streams": streams}
    ap.add_argument("--only", choices=sorted(runs), action="append")
    ap.add_argument("--repeat", type=int, default=REPEAT,
                    help="plain/TLS pairs of the per-token CPU runs (default %d)" % REPEAT)
    a = ap.parse_args()
    globals()["REPEAT"] = a.repeat
    for name, fn in runs.items():
        if a.only and name not in a.only:
            continue
        machine()
        out = fn(a.llmload)
        out["machine"] = machine()
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()

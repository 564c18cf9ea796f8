#!/usr/bin/env python3
"""Client performance of `llmload run` (issue 3's targets), measured on
loopback with the client pinned to one core and the server to the other.

  python3 bench/client_bench.py [--llmload build/src/llmload] [--only NAME]

Scenarios (each prints one result line; docs/performance.md records them):
  streams    10,000 concurrent streams from one core: client RSS per stream,
             CPU per token, and TTFT fidelity against the simulator's truth.
  fidelity   1,000 concurrent streams started together, so their tokens come in
             lock-step waves: TTFT p50/p99 vs the simulator's truth.
  fidelity-ramped  the same with --ramp-up 1s: the streams' starts, and so
             their tokens, are spread out.
  per-token  every token in its own TCP segment: client CPU per token.
  burst      many events per read (a replay server sends whole responses at
             once): events/s per client CPU second.
  burst-varied  the same, but every event differs in its usage numbers
             (vLLM's continuous_usage_stats), which the shape fast path reads
             from its variable digit runs.
  burst-ollama  the same with Ollama NDJSON lines whose created_at changes on
             every line (and its digit count, as Go trims trailing zeros).

Client CPU is the child's user+sys time from wait4(); RSS is its ru_maxrss.
Only loopback (127.0.0.1) is used.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_CPU, SERVER_CPU = "0", "1"
CLIENT_EXTRA = []   # --timestamps read|kernel, from the command line


PROC_STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def proc_stat(cpu="cpu"):
    """One line of /proc/stat ("cpu": all CPUs; "cpu0" ...), in USER_HZ
    ticks by field name, with total: the sum of those eight (guest time is
    in user already).  The benchmarks read the machine's steal and idle
    time from it: how shared the machine was while they measured."""
    with open("/proc/stat") as f:
        for line in f:
            v = line.split()
            if v and v[0] == cpu:
                d = {k: int(x) for k, x in zip(PROC_STAT_FIELDS, v[1:])}
                d["total"] = sum(d.values())
                return d
    raise SystemExit("no %s line in /proc/stat" % cpu)


def start_mock(llmload, args, truth=None):
    cmd = ["taskset", "-c", SERVER_CPU, llmload, "mock", "--listen", "127.0.0.1:0"] + args
    if truth:
        cmd += ["--truth", truth]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    url = p.stdout.readline().decode().strip()
    if not url.startswith(("http://", "https://")):
        raise SystemExit("mock did not start")
    return p, url


def stop(p):
    p.terminate()
    p.wait(60)


def run_client(llmload, url, args):
    """Runs the client pinned to one core; returns (result doc, rusage, wall)."""
    d = tempfile.mkdtemp(prefix="llmload-bench-")
    out = os.path.join(d, "r.json")
    cmd = ["taskset", "-c", CLIENT_CPU, llmload, "run", "--url", url, "--model", "llmload-mock",
           "--quiet", "--json", out] + CLIENT_EXTRA + args
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("client failed: %s" % " ".join(cmd))
    return json.load(open(out)), ru, wall


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(q / 100 * len(xs))) - 1))]


def fidelity(raw, truth):
    """Client timestamps against the simulator's (the same CLOCK_MONOTONIC).

    The truth's TTFT runs from the request's arrival at the simulator's
    socket (arrive_ns, the kernel's receive stamp) to the simulator's write
    of token 1: what a perfect client on this host would measure.  (From
    recv_ns, the simulator loop's read of the request, it leaves out the
    simulator's own accept/read queueing, which is server latency a client
    rightly sees.)

    read_lag: the client's time of token 1 minus the simulator's write of
    it, the client's own timing error.  send_lag: the request's arrival at
    the simulator minus the client's write.  err: client TTFT minus truth
    TTFT, request by request."""
    t = {}
    for l in open(truth):
        r = json.loads(l)
        if r.get("id") and r.get("first_token_ns"):
            t[r["id"]] = r
    client, server, model, read_lag, send_lag, err = [], [], [], [], [], []
    for l in open(raw):
        r = json.loads(l)
        tr = t.get("llmload-%d" % r["index"])
        if not tr or r["first_token_s"] is None:
            continue
        t0 = r["t0_mono_ns"]
        c = r["first_token_s"] - r["start_s"]
        w = (tr["first_token_ns"] - tr["arrive_ns"]) / 1e9
        client.append(c)
        server.append(w)
        model.append((tr["first_token_ns"] - tr["recv_ns"]) / 1e9)
        read_lag.append((t0 + r["first_token_s"] * 1e9 - tr["first_token_ns"]) / 1e9)
        send_lag.append((tr["arrive_ns"] - (t0 + r["start_s"] * 1e9)) / 1e9)
        err.append(abs(c - w))
    ms = lambda v: round(v * 1e3, 3)
    return {
        "n": len(client),
        "ttft_client_p50_ms": ms(pct(client, 50)), "ttft_truth_p50_ms": ms(pct(server, 50)),
        "ttft_client_p99_ms": ms(pct(client, 99)), "ttft_truth_p99_ms": ms(pct(server, 99)),
        "ttft_truth_from_read_p50_ms": ms(pct(model, 50)), "ttft_truth_from_read_p99_ms": ms(pct(model, 99)),
        "abs_err_p50_ms": ms(pct(err, 50)), "abs_err_p99_ms": ms(pct(err, 99)),
        "read_lag_p50_ms": ms(pct(read_lag, 50)), "read_lag_p99_ms": ms(pct(read_lag, 99)),
        "send_lag_p50_ms": ms(pct(send_lag, 50)), "send_lag_p99_ms": ms(pct(send_lag, 99)),
    }


def scenario_streams(llmload, n=10000, tokens=20, rate=2.0, ramp="2s"):
    d = tempfile.mkdtemp(prefix="llmload-bench-")
    truth, raw = os.path.join(d, "truth.jsonl"), os.path.join(d, "raw.jsonl")
    m, url = start_mock(llmload, ["--slots", str(n), "--decode-rate", str(rate), "--ttft-base", "50ms",
                                  "--prefill-rate", "1000000", "--batch-slowdown", "0"], truth)
    try:
        doc, ru, wall = run_client(llmload, url + "/v1", ["-c", str(n), "-n", str(n), "--max-tokens",
                                                           str(tokens), "--raw", raw,
                                                           "--ttft-timeout", "120s", "--ramp-up", ramp])
    finally:
        stop(m)
    s = doc["summary"]
    cpu = ru.ru_utime + ru.ru_stime
    f = fidelity(raw, truth)
    return {
        "scenario": "streams", "streams": n, "ramp_up": ramp, "ok": s["ok"], "failed": s["failed"],
        "tokens": s["output_tokens"], "wall_s": round(wall, 2),
        "client_cpu_s": round(cpu, 2),
        "cpu_per_token_us": round(cpu / max(1, s["output_tokens"]) * 1e6, 2),
        "max_rss_mib": round(ru.ru_maxrss / 1024, 1),
        "rss_per_stream_kib": round(ru.ru_maxrss / n, 2),
        "loop_busy": s["client"]["loop_busy_frac"], **f,
    }


def scenario_fidelity(llmload, n=1000, ramp=None):
    d = tempfile.mkdtemp(prefix="llmload-bench-")
    truth, raw = os.path.join(d, "truth.jsonl"), os.path.join(d, "raw.jsonl")
    m, url = start_mock(llmload, ["--slots", str(n), "--decode-rate", "20", "--ttft-base", "20ms",
                                  "--prefill-rate", "1000000", "--batch-slowdown", "0"], truth)
    try:
        doc, ru, wall = run_client(llmload, url + "/v1", ["-c", str(n), "-n", str(3 * n),
                                                           "--max-tokens", "10", "--raw", raw] +
                                   (["--ramp-up", ramp] if ramp else []))
    finally:
        stop(m)
    return {"scenario": "fidelity-ramped" if ramp else "fidelity", "streams": n,
            "ok": doc["summary"]["ok"], **fidelity(raw, truth)}


def scenario_per_token(llmload, streams=100, rate=200.0, tokens=400):
    # Each token is written alone with TCP_NODELAY, 5 ms apart per stream:
    # the client does one read per token.
    m, url = start_mock(llmload, ["--slots", str(streams), "--decode-rate", str(rate),
                                  "--ttft-base", "1ms", "--prefill-rate", "1000000",
                                  "--batch-slowdown", "0"])
    try:
        doc, ru, wall = run_client(llmload, url + "/v1", ["-c", str(streams), "-n", str(streams * 2),
                                                           "--max-tokens", str(tokens)])
    finally:
        stop(m)
    s = doc["summary"]
    cpu = ru.ru_utime + ru.ru_stime
    return {"scenario": "per-token", "streams": streams, "tokens": s["output_tokens"],
            "events": s["events"], "client_cpu_s": round(cpu, 3),
            "cpu_per_token_us": round(cpu / s["output_tokens"] * 1e6, 2),
            "user_s": round(ru.ru_utime, 3), "sys_s": round(ru.ru_stime, 3)}


def ollama_stamp(i):
    """Ollama's created_at for line i, 37.123457 ms apart: Go's RFC3339Nano,
    which drops trailing zeros from the fraction (and the dot with them)."""
    ns = 1795456674 * 10**9 + i * 37123457
    frac = (b"%09d" % (ns % 10**9)).rstrip(b"0")
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)).encode() + \
        (b"." + frac if frac else b"") + b"Z"


class BurstServer:
    """Answers every request with one whole streamed response of `events`
    SSE events in a single send, so the client reads many events per read."""

    def __init__(self, events, varied=False, ollama=False):
        ev = b'data: {"choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}]}\n\n'
        ctype = b"text/event-stream"
        if ollama:
            ctype = b"application/x-ndjson"
            body = b"".join(b'{"model":"llama3.2:1b","created_at":"%s","response":" tok","done":false}\n'
                            % ollama_stamp(i) for i in range(events))
            body += (b'{"model":"llama3.2:1b","created_at":"%s","response":"","done":true,"done_reason":"stop",'
                     b'"total_duration":123456789,"load_duration":1234567,"prompt_eval_count":1,'
                     b'"prompt_eval_duration":1234,"eval_count":%d,"eval_duration":123456}\n'
                     % (ollama_stamp(events), events))
        elif varied:
            # vLLM's continuous_usage_stats: every chunk differs in its usage
            # numbers (the shape fast path reads them from variable digit runs).
            body = b"".join(b'data: {"choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}],'
                            b'"usage":{"prompt_tokens":1,"completion_tokens":%d,"total_tokens":%d}}\n\n'
                            % (i + 1, i + 2) for i in range(events))
        else:
            body = ev * events
        if not ollama:
            body = body + (b'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":%d,'
                                  b'"total_tokens":%d}}\n\ndata: [DONE]\n\n' % (events, events + 1))
        self.resp = (b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                     % (ctype, len(body))) + body
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    b = c.recv(65536)
                    if not b:
                        return
                    buf += b
                head, _, rest = buf.partition(b"\r\n\r\n")
                n = 0
                for l in head.split(b"\r\n"):
                    if l.lower().startswith(b"content-length"):
                        n = int(l.split(b":")[1])
                while len(rest) < n:
                    rest += c.recv(65536)
                buf = rest[n:]
                c.sendall(self.resp)
        except OSError:
            pass
        finally:
            c.close()


def scenario_burst(llmload, events=20000, requests=200, conc=4, varied=False, ollama=False):
    srv = BurstServer(events, varied, ollama)
    os.sched_setaffinity(0, {int(SERVER_CPU)})
    base, api = (srv.url + "/api", "ollama-generate") if ollama else (srv.url + "/v1", "openai-chat")
    doc, ru, wall = run_client(llmload, base, ["--api", api, "-c", str(conc), "-n", str(requests)])
    s = doc["summary"]
    cpu = ru.ru_utime + ru.ru_stime
    name = "burst-ollama" if ollama else "burst-varied" if varied else "burst"
    return {"scenario": name, "events": s["events"], "client_cpu_s": round(cpu, 3),
            "events_per_cpu_s": round(s["events"] / cpu), "wall_s": round(wall, 2),
            "events_per_wall_s": round(s["events"] / wall)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llmload", default=os.path.join(HERE, "..", "build", "src", "llmload"))
    ap.add_argument("--timestamps", choices=["kernel", "read"],
                    help="the client's --timestamps (default: its own default, kernel)")
    ap.add_argument("--only", choices=["streams", "fidelity", "fidelity-ramped", "per-token", "burst", "burst-varied",
                                       "burst-ollama"])
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each scenario N times, then print the min, median and max of each number")
    a = ap.parse_args()
    if a.timestamps:
        CLIENT_EXTRA.extend(["--timestamps", a.timestamps])
    runs = {"fidelity": scenario_fidelity,
            "fidelity-ramped": lambda l: scenario_fidelity(l, ramp="1s"), "per-token": scenario_per_token,
            "burst": scenario_burst, "burst-varied": lambda l: scenario_burst(l, varied=True),
            "burst-ollama": lambda l: scenario_burst(l, ollama=True),
            "streams": scenario_streams}
    for name, fn in runs.items():
        if a.only and a.only != name:
            continue
        results = []
        for _ in range(a.repeat):
            results.append(fn(a.llmload))
            print(json.dumps(results[-1]), flush=True)
        if a.repeat > 1:
            # A shared VM adds noise (steal time shows up as the victim's
            # CPU), only ever making things look worse: the minimum CPU (or
            # the maximum rate) is the least disturbed run, the median the
            # typical one.
            summary = {"scenario": name, "runs": a.repeat}
            for k, v in results[0].items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("streams", "events", "tokens", "n"):
                    vs = sorted(r[k] for r in results)
                    summary[k + "_min"] = vs[0]
                    summary[k + "_median"] = vs[len(vs) // 2]
                    summary[k + "_max"] = vs[-1]
            print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()

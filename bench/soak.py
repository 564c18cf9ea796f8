#!/usr/bin/env python3
"""Soak: a long run of many streams against a simulator that injects every
fault, checking that nothing is lost and nothing grows.

  python3 bench/soak.py [--llmload build/src/llmload] [--duration 30m]
                        [--streams 2000] [--fault 0.02] [--sample 10]

The simulator (`llmload mock`, its own process) injects each fault kind
(429, 500, 503, mid-stream error, close, stall, malformed event) to a
fraction --fault of the requests, and writes its ground truth (--truth).  The
client runs `llmload run -d DURATION -c STREAMS --csv` against it.  Every
--sample seconds this script reads the client's RSS and open file count
from /proc.  At the end it checks:

  accounting  every request the client finished is in the truth file under
              its X-Request-Id, and its outcome is the one the fault
              predicts (500/503/429 -> a status class, mid-stream -> stream,
              close -> closed or read, malformed -> protocol, stall and no
              fault -> ok); requests in flight when the run ended are the
              only truth lines without a client row;
  memory      client RSS after the first minute never exceeds the first
              minute's maximum by more than 10 % (the memory of one request
              does not depend on how many came before it);
  fds         the open file count stays within the streams plus a few.

It prints one result line per check and exits 1 when any fails.
docs/reliability.md records a run.  Only loopback (127.0.0.1) is used.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FAULTS = ["429", "500", "503", "midstream", "close", "stall", "malformed"]
# The client's error class for each of the simulator's faults.
EXPECT = {
    None: {""}, "stall": {""},
    "429": {"status", "rate_limited"}, "500": {"status"}, "503": {"status", "rate_limited"},
    "midstream": {"stream"}, "close": {"closed", "read", "truncated"},
    "malformed": {"protocol"},
}


def parse_duration(s):
    units = {"s": 1, "m": 60, "h": 3600}
    if s[-1] in units:
        return float(s[:-1]) * units[s[-1]]
    return float(s)


def proc_sample(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        fds = len(os.listdir("/proc/%d/fd" % pid))
        return rss, fds
    except (OSError, StopIteration):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llmload", default=os.path.join(HERE, "..", "build", "src", "llmload"))
    ap.add_argument("--duration", default="30m")
    ap.add_argument("--streams", type=int, default=2000)
    ap.add_argument("--fault", type=float, default=0.02, help="fraction of requests per fault kind")
    ap.add_argument("--sample", type=float, default=10.0, help="seconds between RSS/fd samples")
    a = ap.parse_args()
    secs = parse_duration(a.duration)
    d = tempfile.mkdtemp(prefix="llmload-soak-")
    truth, csvp, out = (os.path.join(d, n) for n in ("truth.jsonl", "requests.csv", "r.json"))

    mock_cmd = [a.llmload, "mock", "--listen", "127.0.0.1:0", "--truth", truth,
                "--slots", str(a.streams), "--decode-rate", "20", "--ttft-base", "20ms",
                "--batch-slowdown", "0", "--stall", "2s", "--idle-timeout", "60s"]
    for f in FAULTS:
        mock_cmd += ["--fault-" + f, str(a.fault)]
    mock = subprocess.Popen(mock_cmd, stdout=subprocess.PIPE)
    url = mock.stdout.readline().decode().strip()
    if not url.startswith("http://127.0.0.1:"):
        sys.exit("the simulator did not start")
    cmd = [a.llmload, "run", "--url", url + "/v1", "--model", "llmload-mock", "--quiet",
           "-d", a.duration, "-c", str(a.streams), "--max-tokens", "64",
           "--idle-timeout", "30s", "--csv", csvp, "--json", out]
    t0 = time.monotonic()
    client = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    samples = []
    stop = threading.Event()

    def sampler():
        while not stop.wait(a.sample):
            s = proc_sample(client.pid)
            if s:
                samples.append((time.monotonic() - t0, s[0], s[1]))

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    _, err = client.communicate(timeout=secs + 600)
    stop.set()
    th.join()
    mock.terminate()
    mock.wait(120)
    rc = client.returncode

    t = {}
    with open(truth) as f:
        for line in f:
            r = json.loads(line)
            if r.get("id"):
                t.setdefault(r["id"], []).append(r)
    rows = list(csv.DictReader(open(csvp)))
    missing, wrong, retried = 0, [], 0
    for row in rows:
        recs = t.get("llmload-%s" % row["index"])
        if not recs:
            missing += 1
            continue
        retried += len(recs) > 1
        fault = recs[-1]["fault"]
        if row["error"] not in EXPECT.get(fault, {"?"}):
            wrong.append((row["index"], fault, row["error"]))
    client_ids = {"llmload-%s" % r["index"] for r in rows}
    unmatched = [i for i in t if i not in client_ids]
    doc = json.load(open(out))
    summ = doc["summary"]

    base = [s for s in samples if s[0] <= 60] or samples[:1]
    rss0 = max(s[1] for s in base) if base else 0
    rss_max = max((s[1] for s in samples), default=0)
    fds_max = max((s[2] for s in samples), default=0)
    ok_acc = missing == 0 and not wrong and len(unmatched) <= a.streams
    ok_mem = rss_max <= rss0 * 1.10 + 1024
    ok_fds = fds_max <= a.streams + 64

    print("soak: %s, %d streams, fault %.1f%% x %d kinds, client exit %d, %s"
          % (a.duration, a.streams, a.fault * 100, len(FAULTS), rc, err.decode().strip()[-200:]))
    print("requests: %d client rows (%d ok, %d failed), %d truth ids, %d retried, errors %s"
          % (len(rows), summ["ok"], summ["failed"], len(t), retried, json.dumps(summ["errors"])))
    print("accounting: %s (%d rows missing from the truth, %d with the wrong class, %d truth ids in flight at the end)"
          % ("ok" if ok_acc else "FAILED", missing, len(wrong), len(unmatched)))
    for w in wrong[:10]:
        print("  index %s: fault %s, client error %r" % w)
    print("memory: %s (RSS first minute max %.1f MiB, whole run max %.1f MiB, %d samples)"
          % ("ok" if ok_mem else "FAILED", rss0 / 1024, rss_max / 1024, len(samples)))
    print("fds: %s (max %d open)" % ("ok" if ok_fds else "FAILED", fds_max))
    with open(os.path.join(d, "samples.tsv"), "w") as f:
        for s in samples:
            f.write("%.0f\t%d\t%d\n" % s)
    print("files: %s" % d)
    sys.exit(0 if ok_acc and ok_mem and ok_fds and rc in (0, 1, 3) else 1)


if __name__ == "__main__":
    main()

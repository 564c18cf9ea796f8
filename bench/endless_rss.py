#!/usr/bin/env python3
"""Client memory on an endless stream: does one request's memory depend on
how long its response is?

  python3 bench/endless_rss.py [--llmload build/src/llmload] [--seconds 20]
                               [--raw] [--factor 0]

A server on 127.0.0.1 (a thread of this script) answers one request with a
200 SSE stream that never ends: chat chunks as fast as the socket takes
them.  `llmload run -n 1 -c 1` reads it with --overlong-factor 0 (never
stopped as overlong) and a --max-tokens no stream reaches, so only the
--timeout (SECONDS + 5 s) ends it.  This script samples the client's RSS
from /proc at 5 s and at SECONDS, and counts the bytes and events the
server sent.  With --raw the client also writes every event's time
(--raw in a temporary directory, removed at the end).

It prints one line per sample and a verdict: RSS at SECONDS within 2 MiB of
RSS at 5 s.  Exit 1 when not.  docs/performance.md records a run.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client_bench import BurstServer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EVENT = b'data: {"choices":[{"index":0,"delta":{"content":"w "},"finish_reason":null}]}\n\n'
PER_BLOCK = 400


class Endless(BurstServer):
    """client_bench's loopback server (its accept loop, a thread per
    connection), answering with a stream that never ends."""

    def __init__(self):
        super().__init__(1)
        self.port = int(self.url.rsplit(":", 1)[1])
        self.blocks = 0

    def serve(self, c):
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                b = c.recv(65536)
                if not b:
                    return
                buf += b
            head = buf.split(b"\r\n\r\n")[0].lower()
            if not head.startswith(b"post"):
                return   # llmload's reachability check
            ev = EVENT * PER_BLOCK
            block = b"%x\r\n%s\r\n" % (len(ev), ev)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            while True:
                c.sendall(block)
                self.blocks += 1
        except OSError:
            pass
        finally:
            c.close()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--llmload", default=os.path.join(HERE, "..", "build", "src", "llmload"))
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--raw", action="store_true", help="also write --raw (every event's time)")
    ap.add_argument("--factor", default="0",
                    help="--overlong-factor (default 0: never; '' leaves the flag out)")
    a = ap.parse_args()

    srv = Endless()
    d = tempfile.mkdtemp(prefix="llmload-endless-")
    args = [a.llmload, "run", "--url", "http://127.0.0.1:%d/v1" % srv.port, "--api", "openai-chat",
            "--model", "m", "-n", "1", "-c", "1", "--quiet", "--max-tokens", "10000000",
            "--idle-timeout", "0", "--timeout", "%gs" % (a.seconds + 5),
            "--json", os.path.join(d, "r.json")]
    if a.factor:
        args += ["--overlong-factor", a.factor]
    if a.raw:
        args += ["--raw", os.path.join(d, "r.jsonl")]
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    samples = []
    for at in (5, a.seconds):
        time.sleep(max(0, t0 + at - time.monotonic()))
        if p.poll() is not None:
            break
        samples.append((at, rss_kib(p.pid), srv.blocks * PER_BLOCK))
        print("t=%5.1f s  RSS %8.1f MiB  events sent %11d" %
              (samples[-1][0], samples[-1][1] / 1024, samples[-1][2]))
    err = p.communicate(timeout=a.seconds + 60)[1].decode(errors="replace")
    jp, rp = os.path.join(d, "r.json"), os.path.join(d, "r.jsonl")
    doc = json.load(open(jp)) if os.path.exists(jp) else {"summary": {"errors": {"no result": 1}}}
    raw_size = os.path.getsize(rp) if os.path.exists(rp) else 0
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    os.rmdir(d)
    s = doc["summary"]
    print("request: %s; raw file %.1f MiB" % (", ".join("%s %d" % kv for kv in s["errors"].items()) or
                                               "ok", raw_size / 2**20))
    if len(samples) < 2:
        print("FAIL: the client ended before %g s: %s" % (a.seconds, err.strip()))
        return 1
    grow = (samples[1][1] - samples[0][1]) / 1024
    rate = (samples[1][2] - samples[0][2]) / (samples[1][0] - samples[0][0])
    ok = grow <= 2
    print("%s: RSS grew %.1f MiB from 5 s to %g s while %.2f M events/s arrived" %
          ("PASS" if ok else "FAIL", grow, a.seconds, rate / 1e6))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

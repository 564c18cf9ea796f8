"""End-to-end tests of per-request SLOs and goodput (docs/metrics.md,
"Goodput") and of the capacity search (docs/sweep.md, `--find-max ...
--goodput`).

Every kind of limit is run against the simulator with settings that make
some requests fail it and others meet it.  The simulator decides each
request's fault, early stop and prompt from its seed and the request's
number, and writes what it did to its ground-truth log (--truth), so the
number of good requests is known exactly, independently of llmload, and
the runs use one connection (-c 1) so the numbering is the sending order.
"""
import csv
import http.server
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_run import wait_active_streams  # noqa: E402

# 1 ms to the first token, then 1000 tokens/s: a request of 20 tokens
# takes about 20 ms, far from every limit below but the one it tests.
FAST = ["--mock-arg=--profile=fast", "--mock-arg=--batch-slowdown=0"]
Z95 = 1.959963984540054
N = 40


def wilson(k, n, z=Z95):
    p = k / n
    d = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (0.0 if k == 0 else max(0.0, mid - half), 1.0 if k == n else min(1.0, mid + half))


detail = harness.detail


class SloTest(harness.TmpDirTest):

    def run_slo(self, slo, *mock, extra=()):
        """One run of N requests on one connection; returns the summary's
        slo object, the CSV rows and the simulator's truth records of the
        generation requests, in order."""
        truth = self.path("truth.jsonl")
        args = ["run", *FAST, "--mock-arg=--truth=" + truth, "--mock-arg=--seed=7",
                *["--mock-arg=" + m for m in mock], "-n", str(N), "-c", "1", "--warmup", "0",
                "--max-tokens", "20", "--quiet", "--monitor", "none", "--seed", "3",
                "--json", self.path("r.json"), "--csv", self.path("r.csv"), *extra]
        if slo is not None:
            args += ["--slo", slo]
        p = harness.run_llmload(*args)
        self.assertEqual(p.returncode, 0, detail(p))
        with open(self.path("r.json")) as f:
            doc = json.load(f)
        with open(self.path("r.csv")) as f:
            rows = list(csv.DictReader(f))
        with open(truth) as f:
            gen = [json.loads(l) for l in f if l.strip()]
        # The requests llmload numbered (X-Request-Id), not its probes.
        gen = [t for t in gen if (t["id"] or "").startswith("llmload-")]
        gen.sort(key=lambda t: int(t["id"].split("-")[1]))
        self.assertEqual(len(gen), N)
        self.assertEqual(len(rows), N)
        os.remove(self.path("r.csv"))
        return doc["summary"], doc["summary"]["slo"], rows, gen, p

    def check_consistent(self, summary, slo, rows):
        """The counts agree with each other, with the CSV and with the
        definitions: goodput = good / duration, attainment's interval is
        Wilson's."""
        self.assertEqual(slo["judged"], N)
        self.assertEqual(slo["missed"], N - slo["good"])
        self.assertEqual(sum(r["slo_good"] == "1" for r in rows), slo["good"])
        self.assertEqual(sum(r["slo_missed"] == "error" for r in rows), slo["errors"])
        for kind, n in slo["misses"].items():
            self.assertEqual(sum(kind in r["slo_missed"].split("|") for r in rows), n, kind)
        good_tokens = sum(int(r["output_tokens"]) for r in rows if r["slo_good"] == "1")
        self.assertEqual(slo["good_output_tokens"], good_tokens)
        d = summary["duration_s"]
        self.assertAlmostEqual(slo["goodput_rps"], slo["good"] / d, places=9)
        self.assertAlmostEqual(slo["goodput_tps"], good_tokens / d, places=6)
        self.assertAlmostEqual(slo["attainment"], slo["good"] / N, places=12)
        lo, hi = wilson(slo["good"], N)
        self.assertAlmostEqual(slo["attainment_ci95"][0], lo, places=9)
        self.assertAlmostEqual(slo["attainment_ci95"][1], hi, places=9)
        misses = {k: v for k, v in slo["misses"].items() if v}
        if misses:
            self.assertEqual(slo["binding"], max(misses, key=misses.get))
        else:
            self.assertIsNone(slo["binding"])

    # ---- each kind of limit ---------------------------------------------------

    def test_itl_max_stalls(self):
        """A stall of 1 s inside a stream fails itl_max<=500ms: exactly the
        requests the simulator stalled miss, the others are good.  (The
        margins are wide: this machine can lose its CPU for a few hundred
        milliseconds.)"""
        summary, slo, rows, gen, p = self.run_slo("itl_max<=500ms", "--fault-stall=0.2",
                                                  "--stall=1s")
        stalled = sum(t["fault"] == "stall" for t in gen)
        self.assertTrue(0 < stalled < N, stalled)
        self.assertEqual(slo["good"], N - stalled)
        self.assertEqual(slo["misses"], {"itl_max": stalled})
        self.assertEqual(slo["binding"], "itl_max")
        self.assertEqual(slo["limits"], {"itl_max": 0.5})
        for r, t in zip(sorted(rows, key=lambda r: int(r["index"])), gen):
            self.assertEqual(r["slo_good"], "0" if t["fault"] == "stall" else "1")
            self.assertEqual(float(r["itl_max_s"]) >= 1.0, t["fault"] == "stall")
        self.check_consistent(summary, slo, rows)
        self.assertIn("SLO itl_max<=500ms: %d of %d requests good" % (N - stalled, N), p.stdout)
        self.assertIn("binding: itl_max", p.stdout)

    def test_tpot_and_e2e(self):
        """The same stall (1 s over 19 gaps: about 53 ms a token) fails
        tpot<=30ms and e2e<=600ms; a request failing both counts once as a
        miss, and in each limit's misses."""
        summary, slo, rows, gen, _ = self.run_slo("tpot<=30ms,e2e<=600ms", "--fault-stall=0.2",
                                                  "--stall=1s")
        stalled = sum(t["fault"] == "stall" for t in gen)
        self.assertTrue(0 < stalled < N)
        self.assertEqual(slo["good"], N - stalled)
        self.assertEqual(slo["misses"], {"tpot": stalled, "e2e": stalled})
        self.check_consistent(summary, slo, rows)

    def test_ttft_by_prompt_length(self):
        """TTFT grows with the prompt (prefill at 2000 tokens/s): a 4000-byte
        prompt (1000 tokens, 500 ms) fails ttft<=250ms, a short one meets it.
        ttft_output is TTFT when there is no reasoning phase."""
        prompts = self.path("prompts.txt")
        with open(prompts, "w") as f:
            f.write("hi\n" + "x" * 4000 + "\n")
        for kind in ("ttft", "ttft_output"):
            summary, slo, rows, gen, _ = self.run_slo(
                kind + "<=250ms", "--prefill-rate=2000",
                extra=("--prompt-file", prompts, "--no-nonce"))
            long_ = sum(t["prompt_tokens"] >= 1000 for t in gen)
            self.assertTrue(0 < long_ < N, long_)
            self.assertEqual(slo["good"], N - long_, kind)
            self.assertEqual(slo["misses"], {kind: long_})
            self.check_consistent(summary, slo, rows)

    def test_ttft_output_after_reasoning(self):
        """With a reasoning phase (50 reasoning tokens at 100 tokens/s) the
        first token comes at once but the first answer token half a second
        later: every request meets ttft<=250ms and misses ttft_output<=250ms."""
        p = harness.run_llmload("run", *FAST, "--mock-arg=--reasoning-tokens=50",
                                "--mock-arg=--decode-rate=100", "--api", "openai-chat",
                                "-n", "10", "-c", "2", "--max-tokens", "60", "--quiet",
                                "--monitor", "none", "--slo", "ttft<=250ms,ttft_output<=250ms",
                                "--json", self.path("r.json"))
        self.assertEqual(p.returncode, 0, detail(p))
        with open(self.path("r.json")) as f:
            slo = json.load(f)["summary"]["slo"]
        self.assertEqual((slo["judged"], slo["good"]), (10, 0))
        self.assertEqual(slo["misses"], {"ttft": 0, "ttft_output": 10})
        self.assertEqual(slo["binding"], "ttft_output")

    def test_tokens_min_and_errors(self):
        """Early stops (--eos-fraction) give fewer tokens than tokens_min asks;
        a 500 is an error, a miss whatever the limits."""
        summary, slo, rows, gen, _ = self.run_slo("tokens_min>=20", "--eos-fraction=0.3",
                                                  "--fault-500=0.2")
        errors = sum(t["status"] != 200 for t in gen)
        short = sum(t["status"] == 200 and t["completion_tokens"] < 20 for t in gen)
        self.assertTrue(errors > 0 and short > 0, (errors, short))
        self.assertEqual(slo["errors"], errors)
        self.assertEqual(summary["failed"], errors)
        self.assertEqual(slo["misses"], {"tokens_min": short})
        self.assertEqual(slo["good"], N - errors - short)
        self.check_consistent(summary, slo, rows)

    def test_vllm_goodput_alias(self):
        """vLLM's --goodput KEY:MS is the same limit as --slo; GuideLLM and
        AIPerf names are aliases."""
        _, a, _, _, _ = self.run_slo(None, "--fault-stall=0.2", "--stall=1s",
                                     extra=("--goodput", "ttft:500 tpot:30 e2el:600"))
        _, b, _, _, _ = self.run_slo("time_to_first_token<=500ms,inter_token_latency<=30ms,"
                                     "request_latency<=0.6", "--fault-stall=0.2", "--stall=1s")
        self.assertEqual(a["text"], "ttft<=500ms,tpot<=30ms,e2e<=600ms")
        self.assertEqual(a["text"], b["text"])
        self.assertEqual(a["good"], b["good"])
        self.assertEqual(a["misses"], b["misses"])

    def test_no_slo_null(self):
        """Without --slo the summary's slo is null."""
        p = harness.run_llmload("run", *FAST, "-n", "4", "--quiet", "--monitor", "none",
                                "--json", self.path("n.json"))
        self.assertEqual(p.returncode, 0, detail(p))
        with open(self.path("n.json")) as f:
            self.assertIsNone(json.load(f)["summary"]["slo"])

    # ---- bad input --------------------------------------------------------------

    def test_usage_errors(self):
        cases = [
            (["run", "--slo", "p99(ttft)<=1s"], "aggregate such as p99(ttft)<=1s is --assert"),
            (["run", "--slo", "ttft>=1s"], "upper limit"),
            (["run", "--slo", "ttft<=soon"], "'soon' is not a time"),
            (["run", "--slo", "ttft<=1s,"], "empty item"),
            (["run", "--goodput", "95%"], "a target attainment is for sweep --find-max"),
            (["run", "--goodput", "ttft:soon"], "'soon' is not a number of milliseconds"),
            (["run", "--goodput", "ttft=5"], "limits are KEY:MS"),
            (["run", "--no-stream", "--slo", "ttft<=1s"], "--no-stream has no first token"),
            (["sweep", "--goodput", "95%", "--slo", "ttft<=1s"], "is for --find-max"),
            (["sweep", "--find-max", "concurrency", "--slo", "ttft<=1s"], "--goodput TARGET"),
            (["sweep", "--find-max", "concurrency", "--goodput", "95%"], "needs per-request limits"),
            (["sweep", "--find-max", "concurrency", "--goodput", "150%", "--slo", "ttft<=1s"],
             "between 0 and 100%"),
        ]
        for args, want in cases:
            p = harness.run_llmload(*args)
            self.assertEqual(p.returncode, 2, detail(p))
            self.assertIn(want, p.stderr, args)

    def test_sweep_both_forms(self):
        """One --slo holds both forms: the aggregate decides each level's
        slo_ok, the per-request limits its goodput."""
        p = harness.run_llmload("sweep", *FAST, "-c", "1,2", "-n", "10", "--max-tokens", "8",
                                "--monitor", "none", "--slo", "p99(ttft)<=10s,ttft<=10s",
                                "--json", self.path("s.json"))
        self.assertEqual(p.returncode, 0, detail(p))
        with open(self.path("s.json")) as f:
            doc = json.load(f)
        self.assertEqual(doc["slo"], ["p99(ttft)<=10s"])
        self.assertEqual(doc["slo_per_request"], "ttft<=10s")
        for lv in doc["levels"]:
            self.assertTrue(lv["slo_ok"])
            self.assertEqual(lv["summary"]["slo"]["good"], 10)
        # The table shows each level's goodput and attainment.
        header = next(l for l in p.stdout.splitlines() if l.startswith("concurrency"))
        self.assertTrue(header.split()[-2:] == ["goodput", "good"], header)
        rows = [l.split() for l in p.stdout.splitlines() if l[:2] in ("1 ", "2 ")]
        self.assertEqual([r[-1] for r in rows], ["100.0%", "100.0%"])


class CutOffTest(unittest.TestCase):
    def test_cut_off_not_judged(self):
        """Requests cut off in flight (a second Ctrl-C) are not judged: they
        are counted apart, and with none finished there is no attainment."""
        d = harness.tmpdir()
        out = os.path.join(d, "r.json")
        with harness.Mock("--decode-rate", "5", "--ttft-base", "1ms", "--slots", "4") as m:
            proc = subprocess.Popen([harness.LLMLOAD, "run", "--url", m.url + "/v1", "--model",
                                     "llmload-mock", "-n", "100", "-c", "4", "--max-tokens", "100",
                                     "--quiet", "--json", out, "--grace", "60s", "--monitor", "none",
                                     "--slo", "e2e<=1h"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            wait_active_streams(m.port, 4)
            proc.send_signal(signal.SIGINT)
            self.assertIn(b"interrupted", harness._readline(proc.stderr, 30) or b"")
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 4)
        with open(out) as f:
            s = json.load(f)["summary"]
        self.assertEqual(s["errors"].get("aborted"), 4)
        slo = s["slo"]
        self.assertEqual((slo["cut_off"], slo["judged"], slo["good"]), (4, 0, 0))
        self.assertIsNone(slo["attainment"])
        self.assertEqual(slo["attainment_ci95"], [])


# Capacity searches against FIFO simulators with 2 slots and 10-token
# replies (docs/mock.md, "Timing model"): TTFT 12.5 ms with a free slot;
# a request takes 192.5 ms at 50 tokens/s and 21.5 ms at 1000.  With
# ttft<=100ms a slow one's capacity is its 2 slots (a third stream waits a
# whole request); a fast one's is about 10 streams (4 waits of 21.5 ms).
CAP_MOCK = ["--slots", "2", "--ttft-base", "10ms", "--prefill-rate", "4000", "--batch-slowdown", "0"]
CAP_SLOW = CAP_MOCK + ["--decode-rate", "50"]
CAP_FAST = CAP_MOCK + ["--decode-rate", "1000"]
CAP_LOAD = ["-n", "40", "--max-tokens", "10", "--prompt", "Write one sentence about load testing.",
            "--no-nonce", "--monitor", "none"]


class SheddingServer:
    """An OpenAI-style server with `slots` slots that sheds load: a request
    that finds them all busy gets 503 (with Retry-After) at once; one that
    gets a slot holds it `service` seconds and then gets a stream of four
    tokens.  Past its capacity it keeps serving `slots` requests per
    `service`: what a server with a bounded queue does."""

    def __init__(self, slots=4, service=0.1):
        sem = threading.BoundedSemaphore(slots)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, body, ctype="application/json", extra=()):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self.reply(200, json.dumps({"object": "list", "data": [{"id": "m", "object": "model"}]})
                           .encode())

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if not sem.acquire(blocking=False):
                    return self.reply(503, b'{"error":{"message":"overloaded"}}',
                                      extra=[("Retry-After", "1")])
                try:
                    time.sleep(service)
                finally:
                    sem.release()
                ev = [{"id": "c", "object": "chat.completion.chunk", "model": "m",
                       "choices": [{"index": 0, "delta": {"content": "tok%d " % i}, "finish_reason": None}]}
                      for i in range(4)]
                ev.append({"id": "c", "object": "chat.completion.chunk", "model": "m",
                           "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}],
                           "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}})
                body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in ev)
                body += b"data: [DONE]\n\n"
                self.reply(200, body, "text/event-stream")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d/v1" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class CompareTest(unittest.TestCase):
    def test_compare_slo(self):
        """compare takes --slo too: each target's levels carry their goodput;
        a simulator that stalls misses itl_max where the other does not."""
        d = harness.tmpdir()
        out = os.path.join(d, "cmp.json")
        with harness.Mock("--profile", "fast") as a, \
                harness.Mock("--profile", "fast", "--fault-stall", "0.5", "--stall", "1s") as b:
            p = harness.run_llmload(
                "compare", "--target", "a=http://127.0.0.1:%d/v1" % a.port,
                "--target", "b=http://127.0.0.1:%d/v1" % b.port, "--model", "llmload-mock",
                "-c", "1,2", "-n", "12", "--max-tokens", "10", "--monitor", "none",
                "--slo", "itl_max<=500ms", "--json", out)
        self.assertEqual(p.returncode, 0, detail(p))
        with open(out) as f:
            doc = json.load(f)
        slos = {t["name"]: [lv["summary"]["slo"] for lv in t["sweep"]["levels"]]
                for t in doc["targets"]}
        for s in slos["a"]:
            self.assertEqual((s["good"], s["judged"], s["binding"]), (12, 12, None))
        for s in slos["b"]:
            self.assertEqual(s["judged"], 12)
            self.assertTrue(0 < s["good"] < 12, s)
            self.assertEqual(s["misses"], {"itl_max": 12 - s["good"]})
            self.assertEqual(s["binding"], "itl_max")
        self.assertEqual(doc["targets"][0]["sweep"]["slo_per_request"], "itl_max<=500ms")

    def test_compare_by_capacity(self):
        """compare --find-max runs a capacity search per target and ranks
        them by capacity at the SLO: the simulator that decodes 20x faster
        serves more streams within ttft<=100ms, whatever the throughput at
        any one level says."""
        d = harness.tmpdir()
        out = os.path.join(d, "cmp.json")
        with harness.Mock(*CAP_SLOW) as a, harness.Mock(*CAP_FAST) as b:
            p = harness.run_llmload(
                "compare", "--target", "slow=" + a.url, "--target", "fast=" + b.url,
                "--model", "llmload-mock", "--find-max", "concurrency", "--find-max-start", "2",
                "--find-max-limit", "32", "--slo", "ttft<=100ms", "--goodput", "90%", *CAP_LOAD,
                "--cost", "slow=1", "--cost", "fast=1", "--json", out, timeout=600)
        self.assertEqual(p.returncode, 0, detail(p))
        with open(out) as f:
            doc = json.load(f)
        fms = {t["name"]: t["sweep"]["find_max"] for t in doc["targets"]}
        self.assertEqual(fms["slow"]["max"], 2, fms["slow"]["tried"])
        self.assertEqual(fms["slow"]["first_fail"], 3)
        self.assertGreaterEqual(fms["fast"]["max"], 4, fms["fast"]["tried"])
        rec = doc["recommendation"]
        self.assertEqual(rec["basis"], "capacity")
        self.assertEqual(rec["ranking"], ["fast", "slow"])
        self.assertEqual(rec["target"], "fast")
        self.assertTrue(rec["decided"])
        # The capacities ranked, with their brackets, in the JSON and in a reason.
        cap = rec["capacity"]
        for name in ("slow", "fast"):
            self.assertEqual(cap[name]["value"], fms[name]["max"])
            self.assertEqual(cap[name]["lo"], fms[name]["max"])
            self.assertEqual(cap[name]["hi"], fms[name]["first_fail"])
            self.assertEqual(cap[name]["probes"], fms[name]["probes"])
        ratio = rec["ratio"]
        self.assertEqual(ratio["of"], ["fast", "slow"])
        self.assertAlmostEqual(ratio["point"], fms["fast"]["max"] / 2, places=9)
        self.assertAlmostEqual(ratio["lo"], fms["fast"]["max"] / 3, places=9)
        self.assertIn("recommend fast: %.2fx the capacity of slow at the SLO" % ratio["point"], p.stdout)
        self.assertIn("capacity at the SLO (largest concurrency meeting ttft<=100ms with attainment "
                      ">= 90%, 95% lower bound): slow 2 (3 does not meet it", p.stdout)
        # Past capacity comes from each search's probe at 1.5x.
        for name in ("slow", "fast"):
            pc = rec["past_capacity"][name]
            self.assertEqual(pc["from"], "capacity")
            self.assertEqual(pc["capacity"], fms[name]["max"])
            self.assertEqual(pc["retained"], fms[name]["past_capacity"]["retained"])
        # The cost is paid at the capacity: the run that held it.
        for t in doc["targets"]:
            hold = [lv for lv in t["sweep"]["levels"] if lv.get("probe") == "hold"][0]
            c = rec["cost"][t["name"]]
            self.assertEqual(c["level"], hold["level"])
            self.assertEqual(c["good_output_tps"], hold["summary"]["slo"]["goodput_tps"])
            self.assertAlmostEqual(c["usd_per_million_tokens"], 1e6 / (3600 * c["good_output_tps"]),
                                   places=6)


def find_max(test, *args):
    """`llmload sweep ARGS --json FILE`: the finished run and its document."""
    out = os.path.join(harness.tmpdir(), "fm.json")
    p = harness.run_llmload("sweep", *args, "--json", out, timeout=600)
    test.assertEqual(p.returncode, 0, detail(p))
    with open(out) as f:
        return p, json.load(f)


class CapacityTest(unittest.TestCase):
    def test_rate_search_saturation(self):
        """A rate search stops at saturation: with one request in flight at
        most (-c 1) the client cannot send much over 1/E2E requests/s, so a
        level offered far more sends short of it and fails, though every
        request meets the (loose) limit."""
        p, doc = find_max(self, *FAST, "--find-max", "rate", "--find-max-start", "8",
                          "--find-max-limit", "512", "-c", "1", "--slo", "e2e<=60s",
                          "--goodput", "90%", "-n", "40", "--max-tokens", "20", "--monitor", "none")
        fm = doc["find_max"]
        # Past capacity: a rate is probed at 1.5x as it is, not rounded.
        past = fm["past_capacity"]
        self.assertEqual(past["capacity"], fm["max"])
        self.assertAlmostEqual(past["level"], 1.5 * fm["max"], places=9)
        entry = [lv for lv in doc["levels"] if lv["probe"] == "past"]
        self.assertEqual(len(entry), 1)
        self.assertAlmostEqual(entry[0]["level"], past["level"], places=9)
        self.assertGreater(entry[0]["open_loop"]["offered_rate"], 0)
        self.assertIn("past capacity: %s at rate %g" % (past["verdict"], past["level"]), p.stdout)
        sat = [t for t in fm["tried"] if t["saturated"]]
        self.assertTrue(sat, fm["tried"])
        for t in fm["tried"]:
            if t["saturated"]:
                self.assertFalse(t["ok"])
                self.assertEqual(t["runs"], 1)      # decided at once, no more requests
            else:
                self.assertTrue(t["ok"])            # every request met e2e<=60s
                self.assertEqual(t["good"], t["judged"])
        self.assertLess(fm["max"], fm["first_fail"])
        self.assertEqual(fm["bracket"], [fm["max"], fm["first_fail"]])
        self.assertLessEqual(fm["first_fail"], min(t["level"] for t in sat))
        self.assertTrue(fm["hold"]["ok"] or fm["hold"]["saturated"], fm["hold"])
        self.assertIn("capacity: largest rate meeting e2e<=60s", p.stdout)


    def test_sweep_past_capacity(self):
        """After the hold, one run at 1.5x the capacity: a FIFO simulator
        with 2 slots whose request takes 190 ms serves half of the 3
        streams after a whole request's wait (TTFT over 100 ms), so about
        half its goodput is kept: a verdict from the retained fraction."""
        p, doc = find_max(self, "--find-max", "concurrency", "--find-max-start", "2",
                          "--slo", "ttft<=100ms", "--goodput", "90%", *CAP_LOAD,
                          *("--mock-arg=" + a for a in CAP_SLOW))
        fm = doc["find_max"]
        self.assertEqual(fm["max"], 2, fm["tried"])
        past = fm["past_capacity"]
        self.assertEqual((past["factor"], past["capacity"], past["level"]), (1.5, 2, 3))
        # The probe is a level of its own, after the hold, not a probe of
        # the search.
        probes = [(lv["level"], lv["probe"]) for lv in doc["levels"]]
        self.assertIn((3, "past"), probes)
        self.assertEqual(fm["probes"], len(fm["tried"]))
        run = [lv for lv in doc["levels"] if lv["probe"] == "past"][0]["summary"]["slo"]
        hold = [lv for lv in doc["levels"] if lv["probe"] == "hold"][0]["summary"]["slo"]
        self.assertEqual((past["good"], past["judged"]), (run["good"], run["judged"]))
        self.assertEqual(past["goodput_tps"], run["goodput_tps"])
        self.assertEqual(past["capacity_goodput_tps"], hold["goodput_tps"])
        self.assertAlmostEqual(past["retained"], run["goodput_tps"] / hold["goodput_tps"], places=9)
        self.assertTrue(0.3 < past["retained"] < 0.75, past)
        self.assertEqual(past["verdict"], "degrades" if past["retained"] >= 0.5 else "collapses")
        self.assertEqual((past["shed_429"], past["shed_503"]), (0, 0))
        self.assertIn("past capacity: %s at concurrency 3 (1.5x the capacity, 2)" % past["verdict"],
                      p.stdout)

    def test_past_capacity_shedding(self):
        """A server that sheds the load past its capacity with 503 keeps
        its goodput there: the run at 1.5x the capacity degrades
        gracefully, and the shed requests are counted.  Its 4 slots of
        100 ms serve 40 requests/s at most, whatever is offered."""
        with SheddingServer(slots=4, service=0.1) as srv:
            p, doc = find_max(self, "--url", srv.url, "--model", "m", "--find-max", "rate",
                              "--find-max-start", "5", "--find-max-limit", "200",
                              "--arrival", "constant", "-c", "64", "--slo", "e2e<=1s",
                              "--goodput", "90%", "-n", "60", "--max-tokens", "4", "--monitor", "none")
        fm = doc["find_max"]
        self.assertTrue(10 <= fm["max"] <= 40, fm["tried"])
        past = fm["past_capacity"]
        run = [lv for lv in doc["levels"] if lv["probe"] == "past"][0]
        self.assertAlmostEqual(past["level"], 1.5 * fm["max"], places=9)
        # Everything it did not shed met the limit; what it shed was 503.
        self.assertGreater(past["shed_503"], 0)
        self.assertEqual(past["shed_503"], run["samples"]["shed_503"])
        self.assertEqual(past["shed_429"], 0)
        self.assertEqual(past["good"] + past["shed_503"], past["judged"])
        self.assertLess(past["attainment"], 0.95)
        self.assertGreaterEqual(past["retained"], 0.9, past)
        self.assertEqual(past["verdict"], "degrades gracefully")
        self.assertIn("shed 0 with 429 and %d with 503" % past["shed_503"], p.stdout)

    @harness.serial
    def test_capacity_search(self):
        """bench/capacity_check.py: the capacity found at ttft<=100ms against
        a simulator with 8 slots is the one its timing model gives, within
        5%, in at most 8 probes and a confirming hold."""
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
                              "capacity_check.py")
        p = subprocess.run([sys.executable, script, "--llmload", harness.LLMLOAD],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, detail(p))
        self.assertIn("PASS", p.stdout)


if __name__ == "__main__":
    harness.main()

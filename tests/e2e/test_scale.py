"""End-to-end tests of one run over several processes (docs/scale.md):
--workers, --shard I/N with `llmload merge`, --start-at.

The split is deterministic, so two shards or two workers against one
simulator make exactly the requests and tokens of one process, and the
merge is exact, so its percentiles are those of the union of the shards'
raw records.
"""
import datetime
import json
import math
import os
import signal
import subprocess
import time
import unittest

import harness
from harness import FAST, Mock, run_llmload, tmpdir

MODEL = "llmload-mock"
ACTIVE_METRIC = "llmload_mock_active_streams"
CHAT_METRIC = 'llmload_mock_requests_total{endpoint="/v1/chat/completions"}'


def wait_metric(port, prefix, n, timeout=60):
    """Polls the simulator's /metrics until the line starting with prefix
    reaches n (a deadline fails the test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = harness.http(port, "GET", "/metrics").body.decode()
        if any(l.startswith(prefix) and float(l.split()[-1]) >= n for l in text.splitlines()):
            return
        time.sleep(0.02)
    raise AssertionError("the simulator's %s never reached %d" % (prefix, n))


def load_args(url, *extra):
    # Lengths vary per request with the seed, so a wrong split shows in
    # the token counts, not only in the request count.
    return ["run", "--url", url + "/v1", "--model", MODEL, "-c", "6", "-n", "61",
            "--seed", "11", "--output-tokens", "20:8",
            "--monitor", "none", "--quiet"] + list(extra)


def raw_records(*paths):
    recs = []
    for p in paths:
        with open(p) as f:
            recs += [json.loads(line) for line in f if line.strip()]
    return recs


def ns(s):
    return round(s * 1e9)


def nearest_rank(values, p):
    v = sorted(values)
    return v[max(1, math.ceil(p / 100.0 * len(v))) - 1]


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class TestScale(unittest.TestCase):

    def assert_percentiles_of(self, summary, recs):
        """The summary's TTFT and E2E percentiles are those of the records
        (nearest rank, exact below 4096 samples), to the nanosecond."""
        ok = [r for r in recs if r["ok"] and not r["warmup"]]
        ttft = [ns(r["first_token_s"]) - ns(r["start_s"]) for r in ok]
        e2e = [ns(r["end_s"]) - ns(r["start_s"]) for r in ok]
        for name, vals in (("ttft", ttft), ("e2e", e2e)):
            for p in (50, 90, 95, 99):
                self.assertLessEqual(abs(ns(summary[name]["p%d" % p]) - nearest_rank(vals, p)), 2,
                                     "%s p%d" % (name, p))
            self.assertLessEqual(abs(ns(summary[name]["max"]) - max(vals)), 2)

    def test_shards_and_workers_equal_one_process(self):
        d = tmpdir()
        j = lambda n: os.path.join(d, n)
        with Mock(*FAST) as m:
            one = run_llmload(*load_args(m.url, "--json", j("one.json"), "--raw", j("one.raw")))
            self.assertEqual(one.returncode, 0, one.stderr)
            for i in range(2):
                p = run_llmload(*load_args(m.url, "--shard", "%d/2" % i, "--json", j("s%d.json" % i),
                                           "--raw", j("s%d.raw" % i)))
                self.assertEqual(p.returncode, 0, p.stderr)
            mg = run_llmload("merge", j("s0.json"), j("s1.json"), "-o", j("merged.json"))
            self.assertEqual(mg.returncode, 0, mg.stderr)
            w = run_llmload(*load_args(m.url, "--workers", "2", "--json", j("w.json"),
                                       "--raw", j("w.raw"), "--csv", j("w.csv")))
            self.assertEqual(w.returncode, 0, w.stderr)
        docs = {n: json.load(open(j(n + ".json"))) for n in ("one", "merged", "w", "s0", "s1")}
        harness.check_document(docs["merged"], where="the merged result")   # its -o is not a --json
        base = docs["one"]["summary"]
        self.assertEqual(base["requests"], 61)
        # The split: 31 + 30 requests, the concurrency 3 + 3.
        self.assertEqual([docs["s0"]["summary"]["requests"], docs["s1"]["summary"]["requests"]], [31, 30])
        self.assertEqual(docs["s0"]["config"]["shard"], {"index": 0, "count": 2, "start_at": None})
        for n in ("merged", "w"):
            s = docs[n]["summary"]
            for k in ("requests", "ok", "failed", "output_tokens", "input_tokens", "events"):
                self.assertEqual(s[k], base[k], "%s %s" % (n, k))
            # Identical in form to one run: the same keys everywhere.
            self.assertEqual(sorted(s), sorted(base))
            self.assertEqual(sorted(docs[n]["config"]), sorted(docs["one"]["config"]))
            self.assertNotIn("shard", docs[n]["config"])
        self.assertEqual(docs["w"]["config"]["workers"], 2)
        self.assertEqual(len(docs["merged"]["merged"]["shards"]), 2)
        # Percentiles of the merge are those of the union of the shards' raw
        # files; the workers' one raw file holds every request once.
        self.assert_percentiles_of(docs["merged"]["summary"], raw_records(j("s0.raw"), j("s1.raw")))
        wr = raw_records(j("w.raw"))
        self.assertEqual(sorted(r["index"] for r in wr), list(range(61)))
        self.assert_percentiles_of(docs["w"]["summary"], wr)
        with open(j("w.csv")) as f:
            self.assertEqual(len(f.read().splitlines()), 1 + 61)

    def test_workers_claim_the_request_count(self):
        """A closed loop's -n is claimed request by request, not split in
        fixed halves: with one worker stopped (SIGSTOP) the other sends all
        the rest, so a slow worker (one sharing its core) cannot leave the
        other cores idle.  With fixed halves the simulator would never see
        more than 11 of the 20 requests while the worker is stopped (19:
        the stopped one may hold a claim)."""
        d = tmpdir()
        out, raw = os.path.join(d, "w.json"), os.path.join(d, "w.raw")
        with Mock("--decode-rate", "100", "--prefill-rate", "1000000", "--ttft-base", "0",
                  "--batch-slowdown", "0") as m:
            p = subprocess.Popen([harness.LLMLOAD, "run", "--url", m.url + "/v1", "--model", MODEL,
                                  "-c", "2", "-n", "20", "--max-tokens", "8", "--output-tokens", "8",
                                  "--workers", "2", "--monitor", "none", "--quiet", "--json", out,
                                  "--raw", raw], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                kids, deadline = [], time.monotonic() + 20
                while not kids and time.monotonic() < deadline and p.poll() is None:
                    with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                        kids = [int(x) for x in f.read().split()]
                self.assertTrue(kids, "no worker was forked")
                os.kill(kids[0], signal.SIGSTOP)
                try:
                    # 19: the stopped worker may hold one claim, taken the
                    # moment before it was stopped and not yet sent.
                    wait_metric(m.port, CHAT_METRIC, 19, timeout=30)
                finally:
                    os.kill(kids[0], signal.SIGCONT)
                _, err = p.communicate(timeout=60)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        self.assertEqual(p.returncode, 0, err)
        s = json.load(open(out))["summary"]
        self.assertEqual((s["requests"], s["ok"], s["output_tokens"]), (20, 20, 160))
        # The indices of one process: every request once, 0 .. 19.
        self.assertEqual(sorted(r["index"] for r in raw_records(raw)), list(range(20)))

    def test_merged_shards_keep_samples_for_the_baseline_tests(self):
        """The merge keeps the shards' per-request samples (all of them, the
        union fitting one reservoir), so a baseline saved from a merge and a
        merge checked against it run the per-request tests."""
        d = tmpdir()
        j = lambda n: os.path.join(d, n)
        with Mock(*FAST) as m:
            for i in range(2):
                p = run_llmload(*load_args(m.url, "--shard", "%d/2" % i, "--json", j("s%d.json" % i)))
                self.assertEqual(p.returncode, 0, p.stderr)
        mg = run_llmload("merge", j("s0.json"), j("s1.json"), "-o", j("m.json"),
                         "--save-baseline", j("base.json"))
        self.assertEqual(mg.returncode, 0, mg.stderr)
        doc = json.load(open(j("m.json")))
        shards = [json.load(open(j("s%d.json" % i)))["samples"] for i in range(2)]
        self.assertEqual(doc["samples"]["seen"], 61)
        self.assertEqual(doc["samples"]["kept"], 61)
        self.assertEqual(sorted(doc["samples"]["e2e_s"]), sorted(shards[0]["e2e_s"] + shards[1]["e2e_s"]))
        self.assertEqual(sum(doc["samples"]["output_tokens"]), doc["summary"]["output_tokens"])
        chk = run_llmload("merge", j("s0.json"), j("s1.json"), "-o", j("m2.json"),
                          "--baseline", j("base.json"), "--max-regression", "p95(e2e)=50%")
        self.assertEqual(chk.returncode, 0, chk.stdout + chk.stderr)
        self.assertIn("61 vs 61 requests", chk.stdout)
        self.assertIn("Mann-Whitney p", chk.stdout)

    def test_sweep_and_compare_with_workers_equal_one_process(self):
        """--workers 2 on sweep and compare: every level's run is split over
        two processes and merged exactly, so each level has the request and
        token counts (and the samples) of a one-process sweep."""
        d = tmpdir()
        j = lambda n: os.path.join(d, n)
        common = ["-n", "30", "--seed", "5", "--output-tokens", "20:8", "--monitor", "none", "--quiet"]
        with Mock(*FAST) as a, Mock(*FAST) as b:
            for w in ("1", "2"):
                p = run_llmload("sweep", "--url", a.url + "/v1", "--model", MODEL, "-c", "1,2,4",
                                "--workers", w, "--json", j("sweep%s.json" % w), *common)
                self.assertEqual(p.returncode, 0, p.stderr)
                p = run_llmload("compare", "--target", "a=" + a.url + "/v1", "--target", "b=" + b.url + "/v1",
                                "--model", MODEL, "-c", "2,4", "--workers", w, "--json", j("cmp%s.json" % w),
                                *common)
                self.assertEqual(p.returncode, 0, p.stderr)
        keys = ("requests", "ok", "failed", "output_tokens", "input_tokens", "events")

        def levels(sweep):
            return [(l["level"], [l["summary"][k] for k in keys], l["samples"]["kept"],
                     sum(l["samples"]["output_tokens"])) for l in sweep["levels"]]

        s1, s2 = (json.load(open(j("sweep%s.json" % w))) for w in ("1", "2"))
        self.assertEqual(s2["config"]["workers"], 2)
        self.assertEqual([l[0] for l in levels(s2)], [1, 2, 4])
        self.assertEqual(levels(s2), levels(s1))
        for l in s2["levels"]:
            self.assertEqual(l["summary"]["requests"], 30)
            self.assertEqual(l["samples"]["kept"], 30)
        c1, c2 = (json.load(open(j("cmp%s.json" % w))) for w in ("1", "2"))
        for t1, t2 in zip(c1["targets"], c2["targets"]):
            self.assertEqual(levels(t2["sweep"]), levels(t1["sweep"]))
        # The recommendation's interval is bootstrapped from the merged samples.
        for c in (c1, c2):
            ratio = c["recommendation"]["ratio"]
            self.assertEqual(ratio["method"], "bootstrap")
            self.assertLess(ratio["lo"], ratio["point"])
            self.assertLess(ratio["point"], ratio["hi"])

    def test_sweep_ctrl_c_with_workers_exit_4(self):
        """Ctrl-C while a sweep's level runs in two workers: the workers
        finish what is in flight, the levels measured are written, marked
        interrupted, and the exit code is 4."""
        d = tmpdir()
        out = os.path.join(d, "s.json")
        with Mock("--slots", "8", "--decode-rate", "100", "--prefill-rate", "1000000",
                  "--ttft-base", "0") as m:
            p = subprocess.Popen([harness.LLMLOAD, "sweep", "--url", m.url + "/v1", "--model", MODEL,
                                  "--concurrency", "2,4,8", "-n", "24", "--max-tokens", "20",
                                  "--workers", "2", "--monitor", "none", "--grace", "10s", "--json", out],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            harness.wait_line(self, p.stderr, b"concurrency 2:", 120, "the sweep never finished a level")
            # The next level is measuring: after the first level's two
            # warm-up and 24 requests, its four warm-up requests and four
            # measured ones were sent, and a fifth (so one measured request
            # has finished); others are in flight in both workers.
            wait_metric(m.port, CHAT_METRIC, 2 + 24 + 4 + 4 + 1)
            wait_metric(m.port, ACTIVE_METRIC, 2)
            p.send_signal(signal.SIGINT)
            o, e = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 4, e)
        doc = json.load(open(out))
        harness.check_document(doc, where="the interrupted sweep")
        self.assertTrue(doc["interrupted"])
        self.assertEqual([l["level"] for l in doc["levels"]], [2, 4])
        self.assertEqual(doc["levels"][0]["summary"]["ok"], 24)
        second = doc["levels"][1]["summary"]
        self.assertGreater(second["ok"], 0)
        self.assertLess(second["requests"], 24)
        self.assertEqual(second["failed"], 0)   # the grace let requests in flight finish

    def test_shards_bound_their_clock_offset_by_the_date_header(self):
        """Each shard bounds its clock's offset to the server's from the Date
        headers of its responses (a server that sends them: the Python one;
        on this one machine the truth is 0); merge compares the shards' bounds
        and warns when they surely disagree, or cannot tell."""
        d = tmpdir()
        j = lambda n: os.path.join(d, n)
        with harness.OpenAIServer(("ok",)) as srv:
            for i in range(2):
                p = run_llmload("run", "--url", srv.url + "/v1", "--model", "m", "-c", "2", "-n", "40",
                                "--seed", "3", "--shard", "%d/2" % i, "--monitor", "none", "--quiet",
                                "--json", j("s%d.json" % i))
                self.assertEqual(p.returncode, 0, p.stderr)
        docs = [json.load(open(j("s%d.json" % i))) for i in range(2)]
        for doc in docs:
            c = doc["environment"]["clock"]
            self.assertEqual(c["server_responses"], 20)
            self.assertTrue(c["server_offset_consistent"])
            self.assertLessEqual(c["server_offset_lo_s"], 0)
            self.assertGreater(c["server_offset_hi_s"], 0)
            # 20 responses at different phases of the second: far below it.
            self.assertLess(c["server_offset_hi_s"] - c["server_offset_lo_s"], 0.5)
            sd = doc["counters"]["server_date"]
            self.assertEqual(sd["responses"], 20)
            self.assertEqual(sd["lo_ns"], round(c["server_offset_lo_s"] * 1e9))
        mg = run_llmload("merge", j("s0.json"), j("s1.json"), "-o", j("m.json"))
        self.assertEqual(mg.returncode, 0, mg.stderr)
        self.assertNotIn("disagree by at least", mg.stderr)
        m = json.load(open(j("m.json")))
        self.assertEqual(m["merged"]["date_offset_spread_min_s"], 0)
        self.assertNotIn("server_date", m["counters"])   # two machines' bounds do not intersect
        # A shard whose clock was 300 ms behind would have seen the server
        # 300 ms further ahead; one that saw a single Date knows it to a second.
        def shifted(name, f):
            doc = json.load(open(j("s1.json")))
            # As if started together with shard 0 (the windows' spread is
            # warned about before the clocks' "cannot tell").
            doc["counters"]["t0_wall_ns"] = docs[0]["counters"]["t0_wall_ns"]
            c = doc["environment"]["clock"]
            c["server_offset_lo_s"], c["server_offset_hi_s"] = f(c["server_offset_lo_s"], c["server_offset_hi_s"])
            with open(j(name), "w") as out:
                json.dump(doc, out)
        # Late by enough that the windows surely part by 0.1 s, however the
        # responses fell in their seconds (each window is up to 0.5 s wide).
        c0, c1 = (doc["environment"]["clock"] for doc in docs)
        late = max(0.3, c0["server_offset_hi_s"] - c1["server_offset_lo_s"] + 0.1)
        shifted("late.json", lambda lo, hi: (lo + late, hi + late))
        mg = run_llmload("merge", j("s0.json"), j("late.json"), "-o", j("m2.json"))
        self.assertEqual(mg.returncode, 0, mg.stderr)
        self.assertIn("the shards' clocks disagree by at least", mg.stderr)
        spread = json.load(open(j("m2.json")))["merged"]["date_offset_spread_min_s"]
        self.assertGreaterEqual(spread, 0.1 - 1e-6)
        self.assertLess(spread, late)
        shifted("coarse.json", lambda lo, hi: (hi - 1.0, hi))
        mg = run_llmload("merge", j("s0.json"), j("coarse.json"), "-o", j("m3.json"))
        self.assertEqual(mg.returncode, 0, mg.stderr)
        self.assertIn("too coarse to tell whether their clocks agree within 5 ms", mg.stderr)

    def test_compare_ctrl_c_with_workers_exit_4(self):
        """Ctrl-C while a compare's first target runs a level in two
        workers: the compare document is written, marked interrupted, with
        the levels measured; the second target is not run; exit 4."""
        d = tmpdir()
        out = os.path.join(d, "c.json")
        slow = ("--slots", "8", "--decode-rate", "100", "--prefill-rate", "1000000", "--ttft-base", "0")
        with Mock(*slow) as a, Mock(*slow) as b:
            p = subprocess.Popen([harness.LLMLOAD, "compare", "--target", "a=" + a.url + "/v1",
                                  "--target", "b=" + b.url + "/v1", "--model", MODEL,
                                  "--concurrency", "2,4", "-n", "24", "--max-tokens", "20",
                                  "--workers", "2", "--monitor", "none", "--grace", "10s", "--json", out],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            harness.wait_line(self, p.stderr, b"a: concurrency 2:", 120, "the compare never finished a level")
            # a's warm-up, its first level (two warm-up, 24), the second's
            # four warm-up and four measured, and a fifth sent.
            wait_metric(a.port, CHAT_METRIC, 1 + 2 + 24 + 4 + 4 + 1)
            p.send_signal(signal.SIGINT)
            o, e = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 4, e)
        doc = json.load(open(out))
        harness.check_document(doc, where="the interrupted compare")
        self.assertTrue(doc["interrupted"])
        ta, tb = doc["targets"]
        self.assertEqual([l["level"] for l in ta["sweep"]["levels"]], [2, 4])
        self.assertEqual(ta["sweep"]["levels"][0]["summary"]["ok"], 24)
        self.assertLess(ta["sweep"]["levels"][1]["summary"]["requests"], 24)
        self.assertEqual(tb["error"], "not run: interrupted")

    def test_open_loop_shards_deal_one_schedule(self):
        """Open loop: the shards' arrivals are every other arrival of the one
        global schedule, so their union is what one process offers."""
        d = tmpdir()
        j = lambda n: os.path.join(d, n)
        args = ["--rate", "400", "--arrival", "constant", "-n", "40"]
        with Mock(*FAST) as m:
            one = run_llmload(*load_args(m.url, *args, "--raw", j("one.raw")))
            self.assertEqual(one.returncode, 0, one.stderr)
            for i in range(2):
                p = run_llmload(*load_args(m.url, *args, "--shard", "%d/2" % i, "--raw", j("s%d.raw" % i),
                                           "--json", j("s%d.json" % i)))
                self.assertEqual(p.returncode, 0, p.stderr)
        sched = lambda recs: sorted((r["index"], ns(r["scheduled_s"])) for r in recs)
        self.assertEqual(sched(raw_records(j("s0.raw"), j("s1.raw"))), sched(raw_records(j("one.raw"))))
        self.assertTrue(all(r["index"] % 2 == 0 for r in raw_records(j("s0.raw"))))
        self.assertEqual(json.load(open(j("s1.json")))["summary"]["open_loop"]["arrivals"], 20)

    def test_merge_refuses_mismatched_shards(self):
        d = tmpdir()
        j = lambda n: os.path.join(d, n)
        with Mock(*FAST) as m:
            for name, extra in (("a0", ["--shard", "0/2"]), ("a1", ["--shard", "1/2"]),
                                ("b1", ["--shard", "1/2", "--max-tokens", "64"]),
                                ("plain", [])):
                p = run_llmload(*load_args(m.url, *extra, "-n", "4", "--json", j(name + ".json")))
                self.assertEqual(p.returncode, 0, p.stderr)
        p = run_llmload("merge", j("a0.json"), j("b1.json"), "-o", j("m.json"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("config.max_tokens is 128 in the first but 64 in the second", p.stderr)
        self.assertFalse(os.path.exists(j("m.json")))
        p = run_llmload("merge", j("a0.json"), j("a0.json"), "-o", j("m.json"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("shard 0/2 given twice", p.stderr)
        p = run_llmload("merge", j("a0.json"), j("plain.json"), "-o", j("m.json"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("not a shard", p.stderr)
        # And the gate works on a merge as on a run.
        p = run_llmload("merge", j("a0.json"), j("a1.json"), "-o", j("m.json"),
                        "--assert", "requests == 4", "--assert", "ok < 4", "--junit", j("junit.xml"))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("PASS", p.stdout)
        self.assertIn("FAIL", p.stdout)
        self.assertIn("<testsuite", open(j("junit.xml")).read())
        self.assertEqual(json.load(open(j("m.json")))["summary"]["requests"], 4)

    def test_shard_needs_seed_and_start_at_bounds(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        base = ["run", "--url", "http://127.0.0.1:9/v1", "--model", MODEL, "--monitor", "none"]
        p = run_llmload(*base, "--shard", "0/2")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--shard needs --seed", p.stderr)
        p = run_llmload(*base, "--shard", "2/2", "--seed", "1")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--shard 2/2", p.stderr)
        # A shard with no request of its own would end as if all had failed.
        p = run_llmload(*base, "--shard", "1/3", "--seed", "1", "-c", "3", "-n", "2")
        self.assertEqual(p.returncode, 2)
        self.assertIn("-n 2 is fewer than the 3 shards", p.stderr)
        p = run_llmload(*base, "--start-at", iso(now - datetime.timedelta(seconds=5)))
        self.assertEqual(p.returncode, 2)
        self.assertIn("has passed", p.stderr)
        p = run_llmload(*base, "--start-at", iso(now + datetime.timedelta(hours=25)))
        self.assertEqual(p.returncode, 2)
        self.assertIn("more than 24 h ahead", p.stderr)
        p = run_llmload(*base, "--start-at", "tomorrow")
        self.assertEqual(p.returncode, 2)
        self.assertIn("RFC 3339", p.stderr)

    def test_start_at_starts_shards_together(self):
        d = tmpdir()
        j = lambda n: os.path.join(d, n)
        start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)
        with Mock(*FAST) as m:
            procs = [subprocess.Popen([harness.LLMLOAD] + load_args(
                m.url, "-n", "8", "--shard", "%d/2" % i, "--start-at", iso(start),
                "--json", j("s%d.json" % i)), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for i in range(2)]
            for p in procs:
                o, e = p.communicate(timeout=60)
                self.assertEqual(p.returncode, 0, e)
        t0 = [json.load(open(j("s%d.json" % i)))["counters"]["t0_wall_ns"] for i in range(2)]
        # Both began at the given time (by this machine's one clock), not before.
        for t in t0:
            self.assertGreaterEqual(t, start.timestamp() * 1e9 - 1e6)
            self.assertLess(t, start.timestamp() * 1e9 + 0.5e9)
        mg = run_llmload("merge", j("s0.json"), j("s1.json"), "-o", j("m.json"))
        self.assertEqual(mg.returncode, 0, mg.stderr)
        doc = json.load(open(j("m.json")))
        self.assertEqual(doc["summary"]["requests"], 8)
        self.assertLess(doc["merged"]["start_spread_s"], 0.5)
        self.assertEqual(doc["environment"]["run_id"], json.load(open(j("s1.json")))["environment"]["run_id"])

    def test_k8s_example_commands_on_localhost(self):
        """contrib/k8s/run-local.sh runs the commands of the Indexed Job's
        pods (--shard $JOB_COMPLETION_INDEX/N, one --seed, one --start-at)
        and of the merge Job, with N shard processes on this host."""
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "contrib", "k8s",
                              "run-local.sh")
        p = subprocess.run(["sh", script, harness.LLMLOAD, "3"], capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("merged 3 shards: 400 requests (400 ok, 0 failed)", p.stdout)
        self.assertIn("gate: PASS", p.stdout)

    def test_mock_workers_share_port_and_truth(self):
        """mock --workers 2: one port, connections spread over both workers
        (each counts its own seq from 0), one truth file of whole lines."""
        d = tmpdir()
        truth = os.path.join(d, "truth.jsonl")
        with Mock(*FAST, "--workers", "2", "--truth", truth) as m:
            p = run_llmload(*load_args(m.url, "-c", "32", "-n", "64", "--json", os.path.join(d, "r.json")))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(m.stop(), 0)
        lines = [json.loads(l) for l in open(truth)]
        gen = [l for l in lines if l["path"] == "/v1/chat/completions"]
        self.assertEqual(len(gen), 64)
        self.assertEqual(len({l["id"] for l in gen}), 64)
        # Both workers served: the kernel hashes each of the 32 connections
        # to a listener, so one worker missing them all is a 2^-31 event.
        self.assertEqual(sum(1 for l in lines if l["seq"] == 0), 2)
        self.assertFalse([f for f in os.listdir(d) if ".worker" in f])

    def test_local_addrs_and_descriptor_limit(self):
        d = tmpdir()
        with Mock(*FAST) as m:
            p = run_llmload(*load_args(m.url, "--local-addrs", "127.0.0.2-127.0.0.4,127.0.0.9",
                                       "--json", os.path.join(d, "r.json")))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(json.load(open(os.path.join(d, "r.json")))["summary"]["ok"], 61)
            p = run_llmload(*load_args(m.url, "--local-addrs", "::1"))
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("local address 1 is IPv6 but the server's address is IPv4", p.stderr)
        p = run_llmload("run", "--url", "http://127.0.0.1:9/v1", "--model", MODEL,
                        "--local-addrs", "127.0.0.9-127.0.0.2")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--local-addrs 127.0.0.9-127.0.0.2", p.stderr)
        # More streams than the open-file limit allows a process: refused
        # before the run, naming the workers that would fit.
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < 1000000:
            p = run_llmload("run", "--url", "http://127.0.0.1:9/v1", "--model", MODEL,
                            "-c", str(hard * 2), "-n", "1")
            self.assertEqual(p.returncode, 2)
            self.assertIn("open-file limit (hard %d)" % hard, p.stderr)
            self.assertIn("--workers 3", p.stderr)

    def test_ctrl_c_with_workers_writes_outputs_exit_4(self):
        d = tmpdir()
        out, rawp = os.path.join(d, "r.json"), os.path.join(d, "r.raw")
        with Mock("--decode-rate", "50", "--ttft-base", "1ms", "--slots", "8") as m:
            proc = subprocess.Popen([harness.LLMLOAD, "run", "--url", m.url + "/v1", "--model", MODEL,
                                     "-n", "1000", "-c", "4", "--max-tokens", "10", "--workers", "2",
                                     "--monitor", "none", "--quiet", "--json", out, "--raw", rawp,
                                     "--grace", "10s"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            # Some requests have finished (the outputs have rows), others are
            # in flight: the simulator's own counters say when.  Its 200
            # responses count these /metrics polls too; requests to the
            # endpoint do not, and with 4 in flight at most, the 6th means
            # two have finished.
            wait_metric(m.port, CHAT_METRIC, 6)
            wait_metric(m.port, ACTIVE_METRIC, 2)
            proc.send_signal(signal.SIGINT)
            o, e = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 4, e)
        doc = json.load(open(out))
        self.assertTrue(doc["interrupted"])
        s = doc["summary"]
        self.assertGreater(s["ok"], 0)
        self.assertLess(s["requests"], 1000)
        self.assertEqual(s["failed"], 0)   # the grace let requests in flight finish
        self.assertEqual(len(open(rawp).read().splitlines()), s["requests"])


if __name__ == "__main__":
    harness.main()

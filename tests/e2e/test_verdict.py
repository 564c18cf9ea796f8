"""End-to-end tests of the verdicts (issue 17, items 5-7): compare's
recommendation with its interval ("no clear winner" for two identical
simulators, a winner for clearly different ones), --rounds, --cost
arithmetic, past capacity with load shedding, models as targets
(--target NAME=URL@MODEL, sweep --model LIST), and the gate's regression
probability on per-request samples (baselines of schema llmload.baseline/2).

Servers are `llmload mock` children on 127.0.0.1 port 0 (harness.Mock).
Steps that measure throughput against the clock retry through
harness.timing_attempts; arithmetic is checked on saved documents.
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# Slow enough (a request about 250 ms) that a loaded machine's scheduling
# stays small beside the simulator's own times.
STEADY = ["--decode-rate", "40", "--ttft-base", "50ms", "--prefill-rate", "1000000",
          "--batch-slowdown", "0", "--slots", "64"]
LOAD = ["-c", "16", "-n", "64", "--max-tokens", "8", "--monitor", "none"]


def llmload(*args, timeout=300):
    return harness.run_llmload(*args, timeout=timeout)


def load(path):
    with open(path) as f:
        return json.load(f)


def write_sweep(path, levels, name="", url="", model="m"):
    """A saved sweep from (level, tok/s, ok of 100, extra level fields)."""
    doc = {"schema": "llmload.sweep/1", "parameter": "concurrency",
           "target": {"name": name, "url": url, "model": model}, "levels": []}
    for level, tps, ok, extra in levels:
        lv = {"level": level, "summary": {
            "requests": 100, "ok": ok, "failed": 100 - ok, "output_tps": tps, "rps": tps / 64,
            "e2e": {"mean": 1.0, "p95": 1.5, "p99": 1.8}, "ttft": {"p50": 0.01, "p95": 0.02},
            "request_tps": {"mean": tps / level}}}
        lv.update(extra)
        doc["levels"].append(lv)
    with open(path, "w") as f:
        json.dump(doc, f)


class TestVerdictOffline(unittest.TestCase):
    """Arithmetic on saved documents: no clock involved."""

    def test_cost_arithmetic(self):
        d = harness.tmpdir()
        a, b, out = (os.path.join(d, n) for n in ("a.json", "b.json", "cmp.json"))
        write_sweep(a, [(1, 500, 100, {}), (4, 1000, 100, {})])
        write_sweep(b, [(1, 200, 100, {}), (4, 250, 100, {})])
        r = llmload("compare", a, b, "--cost", "a=3.6", "--cost", "b=1.8", "--json", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        cost = load(out)["recommendation"]["cost"]
        # $3.60/h at 1000 tok/s: 3.6 / (1000 * 3600) * 1e6 = $1 per million;
        # $1.80/h at 250 tok/s: $2 per million.
        self.assertAlmostEqual(cost["a"]["usd_per_million_tokens"], 1.0, places=9)
        self.assertAlmostEqual(cost["b"]["usd_per_million_tokens"], 2.0, places=9)
        self.assertEqual(cost["a"]["good_output_tps"], 1000)
        self.assertEqual(cost["a"]["level"], 4)
        self.assertEqual(cost["cheapest"], "a")
        self.assertIn("cost per million good output tokens: a $1 ($3.6/h at 1000.0 tok/s, "
                      "concurrency 4), b $2 ($1.8/h at 250.0 tok/s, concurrency 4); cheapest: a",
                      r.stdout)
        # Goodput, when the run measured it, is what is paid for.
        write_sweep(b, [(1, 200, 100, {}), (4, 250, 100, {})])
        doc = load(b)
        doc["levels"][0]["summary"]["slo"] = {"goodput_tps": 100}
        doc["levels"][1]["summary"]["slo"] = {"goodput_tps": 125}
        with open(b, "w") as f:
            json.dump(doc, f)
        r = llmload("compare", a, b, "--cost", "b=1.8", "--json", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertAlmostEqual(load(out)["recommendation"]["cost"]["b"]["usd_per_million_tokens"], 4.0,
                               places=9)
        # A price for a target that is not there, or not a price.
        r = llmload("compare", a, b, "--cost", "c=1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--cost c=1: no target is named 'c'", r.stderr)
        r = llmload("compare", a, b, "--cost", "a=cheap")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--cost a=cheap: expected NAME=USD_PER_HOUR", r.stderr)

    def test_past_capacity(self):
        """Past the knee: one target keeps its throughput, the other
        collapses and sheds load with 503s and 429s."""
        d = harness.tmpdir()
        a, b, out = (os.path.join(d, n) for n in ("steady.json", "brittle.json", "cmp.json"))
        write_sweep(a, [(1, 100, 100, {}), (2, 200, 100, {}), (4, 400, 100, {}),
                        (8, 404, 100, {}), (16, 398, 100, {})])
        write_sweep(b, [(1, 100, 100, {}), (2, 200, 100, {}), (4, 400, 100, {}),
                        (8, 300, 80, {}),
                        (16, 120, 40, {"samples": {"shed_429": 12, "shed_503": 48}})])
        r = llmload("compare", a, b, "--json", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        past = load(out)["recommendation"]["past_capacity"]
        self.assertEqual(past["steady"]["verdict"], "degrades gracefully")
        self.assertEqual(past["steady"]["knee_level"], 4)
        self.assertEqual(past["brittle"]["verdict"], "collapses")
        self.assertAlmostEqual(past["brittle"]["retained"], 0.3, places=9)
        self.assertEqual((past["brittle"]["shed_429"], past["brittle"]["shed_503"]), (12, 48))
        self.assertIn("past capacity: brittle collapses (at concurrency 16 it keeps 30% of its good "
                      "output tokens/s at the knee, concurrency 4; success 40.0%, shed 12 with 429 "
                      "and 48 with 503)", r.stdout)

    def test_target_model_syntax(self):
        for bad in ("a=http://127.0.0.1:1@", "a=@m"):
            r = llmload("compare", "--target", bad, "--target", "b=http://127.0.0.1:1")
            self.assertEqual(r.returncode, 2, (bad, r.stderr))
            self.assertIn("expected NAME=URL or NAME=URL@MODEL", r.stderr)


class TestVerdictMock(unittest.TestCase):

    def test_no_clear_winner_identical(self):
        """Two identical simulators: no clear winner, and how many more
        requests would decide it (or that none would)."""
        harness.timing_attempts(self._no_clear_winner)

    def _no_clear_winner(self):
        d = harness.tmpdir()
        out = os.path.join(d, "cmp.json")
        six = [x if x != "64" else "96" for x in LOAD]
        with harness.Mock(*STEADY) as m1, harness.Mock(*STEADY) as m2:
            r = llmload("compare", "--target", "one=" + m1.url, "--target", "two=" + m2.url,
                        "--rounds", "6", *six, "--json", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        rec = load(out)["recommendation"]
        self.assertIsNone(rec["target"], r.stdout)
        self.assertFalse(rec["decided"])
        self.assertIn("no clear winner at this confidence: ", r.stdout)
        self.assertTrue("more requests per target would decide it" in r.stdout or
                        "no number of requests would decide it" in r.stdout, r.stdout)
        # Six rounds: the hull of Student's t and the signed-rank interval.
        ratio = rec["ratio"]
        self.assertEqual(ratio["method"], "rounds-rank")
        self.assertEqual(ratio["rounds"], 6)
        self.assertLessEqual(ratio["lo"], 1)
        self.assertGreaterEqual(ratio["hi"], 1)
        self.assertIn("t and signed-rank over the rounds)", r.stdout)
        # Each target's levels pooled six rounds of 16 requests.
        for t in load(out)["targets"]:
            lv = t["sweep"]["levels"][0]
            self.assertEqual(lv["rounds"], 6)
            self.assertEqual(sorted(set(lv["samples"]["round"])), [0, 1, 2, 3, 4, 5])
            self.assertEqual(lv["samples"]["seen"], 96)

    def test_clear_winner(self):
        """A simulator twice as fast wins, with an interval above 1 from
        resampling the requests."""
        harness.timing_attempts(self._clear_winner)

    def _clear_winner(self):
        d = harness.tmpdir()
        out = os.path.join(d, "cmp.json")
        fast = [x if x != "40" else "80" for x in STEADY]
        with harness.Mock(*STEADY) as slow, harness.Mock(*fast) as quick:
            r = llmload("compare", "--target", "slow=" + slow.url, "--target", "fast=" + quick.url,
                        *LOAD, "--json", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        rec = load(out)["recommendation"]
        self.assertEqual(rec["target"], "fast", r.stdout)
        self.assertTrue(rec["decided"])
        self.assertEqual(rec["ratio"]["of"], ["fast", "slow"])
        self.assertEqual(rec["ratio"]["method"], "bootstrap")
        self.assertEqual(rec["ratio"]["resamples"], 2000)
        self.assertGreater(rec["ratio"]["lo"], 1.2)
        self.assertIn("recommend fast: ", r.stdout)
        self.assertIn("x the throughput of slow at equal load (95% CI ", r.stdout)
        self.assertEqual(rec["noun"], "server")

    def test_models_as_targets(self):
        """Two models of one server: --target NAME=URL@MODEL sends each its
        own model, and the recommendation speaks of models; sweep --model
        sweeps over them."""
        d = harness.tmpdir()
        out, sw = os.path.join(d, "cmp.json"), os.path.join(d, "sweep.json")
        with harness.Mock(*STEADY, "--model", "small:1b,big:8b") as m:
            r = llmload("compare", "--target", "small=%s@small:1b" % m.url,
                        "--target", "big=%s@big:8b" % m.url, "-c", "4", "-n", "8", "--max-tokens", "4",
                        "--monitor", "none", "--json", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            r2 = llmload("sweep", "--url", m.url, "--model", "small:1b,big:8b", "-c", "4", "-n", "8",
                         "--max-tokens", "4", "--monitor", "none", "--json", sw)
            self.assertEqual(r2.returncode, 0, r2.stderr)
        doc = load(out)
        t = {x["name"]: x for x in doc["targets"]}
        self.assertEqual(t["small"]["model"], "small:1b")
        self.assertEqual(t["small"]["url"], m.url)
        self.assertEqual(t["big"]["sweep"]["target"]["model"], "big:8b")
        self.assertEqual(t["small"]["sweep"]["target"]["model"], "small:1b")
        self.assertEqual(t["big"]["sweep"]["levels"][0]["summary"]["ok"], 8)
        self.assertEqual(doc["recommendation"]["noun"], "model")
        s = load(sw)
        self.assertEqual(s["parameter"], "model")
        self.assertEqual([lv["level"] for lv in s["levels"]], ["small:1b", "big:8b"])
        self.assertEqual([lv["summary"]["ok"] for lv in s["levels"]], [8, 8])
        self.assertEqual(s["recommendation"]["noun"], "model")
        self.assertEqual(sorted(s["recommendation"]["ranking"]), ["big:8b", "small:1b"])
        text = s["recommendation"]["text"]
        self.assertTrue(text.startswith("recommend model ") or text.startswith("no clear winner"), text)
        self.assertIn(text, r2.stdout)


class TestGateStatistics(unittest.TestCase):

    def test_regression_probability(self):
        """A baseline keeps each run's requests (schema llmload.baseline/2);
        a check against it reports the probability of a regression beyond
        each tolerance, and a far slower server fails with it near 100%."""
        d = harness.tmpdir()
        base = os.path.join(d, "base.json")
        slow = [x if x != "40" else "10" for x in STEADY]
        args = ["--model", "llmload-mock", "-c", "8", "-n", "32", "--max-tokens", "8", "--monitor", "none",
                "--quiet"]
        with harness.Mock(*STEADY) as m, harness.Mock(*slow) as s:
            r = llmload("run", "--url", m.url, *args, "--save-baseline", base)
            self.assertEqual(r.returncode, 0, r.stderr)
            saved = load(base)
            self.assertEqual(saved["schema"], "llmload.baseline/2")
            self.assertEqual(len(saved["run_samples"]), 1)
            self.assertEqual(saved["run_samples"][0]["seen"], 32)
            self.assertEqual(len(saved["run_samples"][0]["e2e_s"]), 32)
            r = llmload("run", "--url", s.url, *args, "--baseline", base)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        fail = [l for l in r.stdout.splitlines() if l.strip().startswith("FAIL  p95(e2e)")]
        self.assertEqual(len(fail), 1, r.stdout)
        self.assertIn("32 vs 32 requests", fail[0])
        self.assertIn("probability of a regression beyond it 100.0%", fail[0])
        self.assertIn("Mann-Whitney p ", fail[0])
        # A baseline of the old format is refused and says how to remake it.
        saved["schema"] = "llmload.baseline/1"
        with open(base, "w") as f:
            json.dump(saved, f)
        r = llmload("run", "--url", "http://127.0.0.1:1", *args, "--baseline", base)
        self.assertEqual(r.returncode, 2)
        self.assertIn("made before baselines kept per-request samples; save it again with "
                      "--save-baseline", r.stderr)


if __name__ == "__main__":
    harness.main()

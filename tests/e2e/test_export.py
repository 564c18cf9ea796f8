"""End-to-end tests of `llmload export --format vllm` and `--format
csv-summary`: a run against the simulator, exported, gives the result's own
numbers under vLLM's names and units (docs/metrics.md)."""
import csv
import io
import json
import math
import os
import unittest

import harness
from harness import FAST, Mock, run_llmload, tmpdir


def run_result(url, *args):
    out = os.path.join(tmpdir(), "r.json")
    p = run_llmload("run", "--url", url, "--model", "llmload-mock", "--quiet", "-n", "6", "-c", "2",
                    "--max-tokens", "5", "--json", out, *args)
    assert p.returncode == 0, p.stderr
    return out, json.load(open(out))


class Export(unittest.TestCase):
    def test_vllm(self):
        with Mock(*FAST) as m:
            path, doc = run_result(m.url)
        p = run_llmload("export", "--format", "vllm", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        v = json.loads(p.stdout)
        s = doc["summary"]
        self.assertEqual(v["completed"], s["ok"])
        self.assertEqual(v["failed"], s["failed"])
        self.assertEqual(v["num_prompts"], 6)
        self.assertEqual(v["max_concurrency"], 2)
        self.assertEqual(v["request_rate"], "inf")
        self.assertEqual(v["model_id"], "llmload-mock")
        self.assertEqual(v["total_input_tokens"], s["input_tokens"])
        self.assertEqual(v["total_output_tokens"], s["output_tokens"])
        self.assertAlmostEqual(v["duration"], s["duration_s"])
        self.assertAlmostEqual(v["request_throughput"], s["rps"])
        self.assertAlmostEqual(v["output_throughput"], s["output_tps"])
        self.assertAlmostEqual(v["total_token_throughput"],
                               (s["input_tokens"] + s["output_tokens"]) / s["duration_s"])
        for ours, theirs in (("ttft", "ttft"), ("tpot", "tpot"), ("itl", "itl"), ("e2e", "e2el")):
            lat = s[ours]
            self.assertAlmostEqual(v["mean_%s_ms" % theirs], lat["mean"] * 1000)
            self.assertAlmostEqual(v["median_%s_ms" % theirs], lat["p50"] * 1000)
            for q in ("p50", "p90", "p95", "p99"):
                self.assertAlmostEqual(v["%s_%s_ms" % (q, theirs)], lat[q] * 1000)
            n = lat["n"]
            self.assertAlmostEqual(v["std_%s_ms" % theirs], lat["stdev"] * math.sqrt((n - 1) / n) * 1000)

    def test_vllm_not_streamed_is_null(self):
        with Mock(*FAST) as m:
            path, doc = run_result(m.url, "--no-stream")
        self.assertIsNone(doc["summary"]["ttft"]["mean"])
        p = run_llmload("export", "--format", "vllm", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        v = json.loads(p.stdout)
        for k in ("mean_ttft_ms", "median_ttft_ms", "std_ttft_ms", "p99_ttft_ms", "mean_itl_ms",
                  "p99_itl_ms", "mean_tpot_ms"):
            self.assertIn(k, v)
            self.assertIsNone(v[k], k)
        self.assertAlmostEqual(v["mean_e2el_ms"], doc["summary"]["e2e"]["mean"] * 1000)

    def test_csv_summary(self):
        with Mock(*FAST) as m:
            a, da = run_result(m.url)
            b, db = run_result(m.url, "-c", "1")
        p = run_llmload("export", "--format", "csv-summary", a, b)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = list(csv.DictReader(io.StringIO(p.stdout)))
        self.assertEqual(len(rows), 2)
        for row, path, doc in ((rows[0], a, da), (rows[1], b, db)):
            self.assertEqual(row["file"], path)
            self.assertEqual(row["run_id"], doc["environment"]["run_id"])
            self.assertEqual(int(row["concurrency"]), doc["config"]["concurrency"])
            self.assertEqual(int(row["ok"]), doc["summary"]["ok"])
            self.assertAlmostEqual(float(row["ttft_p99_ms"]), doc["summary"]["ttft"]["p99"] * 1000, places=5)
            self.assertAlmostEqual(float(row["e2e_mean_ms"]), doc["summary"]["e2e"]["mean"] * 1000, places=5)
        # One document only for the other formats; a sweep is not a result.
        p = run_llmload("export", "--format", "vllm", a, b)
        self.assertEqual(p.returncode, 2)
        self.assertIn("several only with --format csv-summary", p.stderr)
        sweep = os.path.join(tmpdir(), "s.json")
        with open(sweep, "w") as f:
            json.dump({"schema": "llmload.sweep/1"}, f)
        p = run_llmload("export", "--format", "csv-summary", a, sweep)
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertIn("%s: not a result document" % sweep, p.stderr)


if __name__ == "__main__":
    harness.main()

"""End-to-end tests of the flags llmload takes over from the scripts it
replaces (docs/cli.md, "Coming from other tools"): their command lines run
against the simulator and do what the scripts did."""
import csv
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import FAST, Mock, run_llmload, tmpdir  # noqa: E402
from test_workload import write_synthetic_ranks  # noqa: E402


def load(path):
    with open(path) as f:
        return json.load(f)


class TestScriptFlags(unittest.TestCase):
    def test_ollama_tps_openai_flags(self):
        """`ollama_tps_openai.py 2 --base-url URL/v1 --requests-per-thread 3
        --force-tiktoken`: 2 users, 6 requests, every count from the local
        tokenizer."""
        d = tmpdir()
        ranks = write_synthetic_ranks(d)
        out = os.path.join(d, "r.json")
        with Mock(*FAST) as m:
            p = run_llmload("run", "--base-url", m.url + "/v1", "-c", "2", "--requests-per-thread", "3",
                            "--max-tokens", "4", "--tokenizer", ranks, "--encoding", "cl100k_base",
                            "--force-tiktoken",
                            "--monitor", "none", "-q", "--json", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = load(out)
        self.assertEqual(doc["config"]["concurrency"], 2)
        self.assertEqual(doc["config"]["requests"], 6)
        self.assertEqual(doc["config"]["api"], "openai-chat")
        self.assertEqual(doc["summary"]["ok"], 6)
        self.assertEqual(doc["summary"]["token_source"]["tokenizer"], 6)
        self.assertIn("Samples: 6 ok / 0 failed", p.stdout)
        self.assertRegex(p.stdout, r"Request TPS: mean [0-9.]+ tok/s, median [0-9.]+ tok/s, "
                                   r"p05 [0-9.]+ tok/s, p95 [0-9.]+ tok/s")

    def test_run_py_flags(self):
        """`run.py --host URL --tokens N --csv FILE -c C -n N` against Ollama's API."""
        d = tmpdir()
        rows = os.path.join(d, "r.csv")
        with Mock(*FAST) as m:
            p = run_llmload("run", "--host", m.url, "--model", "llmload-mock", "-c", "2", "-n", "4",
                            "--tokens", "5", "--csv", rows, "--monitor", "none", "-q")
        self.assertEqual(p.returncode, 0, p.stderr)
        for field in ("host:", "concurrency:", "requests:", "prompt_len:", "tokens:",
                      "p50_latency:", "p95_latency:", "rps:", "error_rate:", "total_time:"):
            self.assertRegex(p.stdout, r"(?m)^%s " % field)
        self.assertRegex(p.stdout, r"(?m)^tokens: +5 tokens")
        with open(rows) as f:
            got = list(csv.DictReader(f))
        self.assertEqual(len(got), 4)
        self.assertTrue(all(r["status"] == "200" and r["output_tokens"] == "5" for r in got), got)

    def test_vllm_host_and_port(self):
        """`vllm bench serve --host 127.0.0.1 --port P`: a host without a port
        takes --port's; a URL that has one refuses it."""
        d = tmpdir()
        out = os.path.join(d, "r.json")
        with Mock(*FAST) as m:
            p = run_llmload("run", "--host", "127.0.0.1", "--port", str(m.port),
                            "--api", "openai-completions", "--model", "llmload-mock", "-n", "2", "--max-tokens", "3",
                            "--monitor", "none", "-q", "--json", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = load(out)
        self.assertEqual(doc["config"]["url"], "127.0.0.1:%d" % m.port)
        self.assertEqual(doc["summary"]["ok"], 2)
        p = run_llmload("run", "--url", "http://127.0.0.1:9/v1", "--port", "8000", "--model", "m")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.strip(),
                         "llmload run: --port 8000: the URL http://127.0.0.1:9/v1 has a port already")


if __name__ == "__main__":
    harness.main()

"""Reasoning, tool calls and the TTFT split by the server's clock, against
the simulator's truth file (docs/metrics.md, docs/mock.md)."""
import csv
import json
import os
import unittest

import harness
from harness import Mock, run_llmload, tmpdir

# 4 ms between tokens: reasoning and answer starts far apart against the
# client's error (well under a millisecond with kernel stamps).
TIMING = ["--decode-rate", "250", "--ttft-base", "1ms", "--prefill-rate", "1000000",
          "--batch-slowdown", "0"]


def truth_by_id(path):
    t = {}
    for line in open(path):
        r = json.loads(line)
        if r.get("id"):
            t[r["id"]] = r
    return t


def run(url, api, d, *extra):
    rawp, out, csvp = (os.path.join(d, n) for n in ("raw.jsonl", "r.json", "r.csv"))
    for p in (rawp, out, csvp):
        if os.path.exists(p):
            os.unlink(p)
    p = run_llmload("run", "--url", url, "--api", api, "--model", "llmload-mock", "--monitor", "none",
                    "--raw", rawp, "--json", out, "--csv", csvp, *extra)
    rows = [json.loads(l) for l in open(rawp)] if os.path.exists(rawp) else []
    doc = json.load(open(out)) if os.path.exists(out) else None
    crow = list(csv.DictReader(open(csvp))) if os.path.exists(csvp) else []
    return p, doc, rows, crow


def client_ms(row, key):
    return (row[key] - row["start_s"]) * 1e3


def truth_ms(tr, key):
    # The truth counts from the request's arrival at the simulator's socket.
    return (tr[key] - tr["arrive_ns"]) / 1e6


def with_mock(d, mock_args, url_suffix, api, *extra):
    """One run against a fresh simulator (request ids restart at 0 with
    every run); the truth by request id once the simulator has exited."""
    truth = os.path.join(d, "truth.jsonl")
    with Mock(*(list(mock_args) + ["--truth", truth])) as m:
        res = run(m.url + url_suffix, api, d, *extra)
    return res + (truth_by_id(truth),)


class TestReasoning(unittest.TestCase):

    def check_reasoning(self, api, suffix, server_count, *mock_extra):
        d = tmpdir()
        p, doc, rows, crow, t = with_mock(d, TIMING + ["--reasoning-tokens", "5"] + list(mock_extra),
                                          suffix, api, "-n", "6", "-c", "3", "--max-tokens", "12")
        self.assertEqual(p.returncode, 0, p.stderr)
        s = doc["summary"]
        self.assertEqual(s["ok"], 6)
        self.assertEqual(s["reasoning"]["tokens"], 30, api)
        self.assertEqual(s["reasoning"]["answer_tokens"], 42, api)
        self.assertEqual(s["reasoning"]["requests"], 6)
        src = "server" if server_count else "chunks"
        self.assertEqual(s["reasoning"]["token_source"][src], 6, api)
        self.assertEqual(s["ttft_reasoning"]["n"], 6)
        self.assertEqual(s["ttft_output"]["n"], 6)
        self.assertEqual(s["ttft"]["p50"], s["ttft_reasoning"]["p50"])   # reasoning comes first
        self.assertGreater(s["ttft_output"]["p50"], s["ttft_reasoning"]["p50"])
        self.assertIn("TTFT reasoning", p.stdout)
        self.assertIn("Reasoning: 30 of 72 output tokens", p.stdout)
        errs = []
        self.assertEqual(len(rows), 6)
        for r in rows:
            tr = t["llmload-%d" % r["index"]]
            self.assertEqual(tr["reasoning_tokens"], 5)
            self.assertEqual(r["reasoning_tokens"], tr["reasoning_tokens"], api)
            self.assertEqual(r["answer_tokens"], tr["completion_tokens"] - tr["reasoning_tokens"])
            self.assertEqual(r["reasoning_token_source"], src)
            self.assertEqual(r["reasoning_events"], 5)
            self.assertLess(r["first_reasoning_s"], r["first_output_s"])
            self.assertAlmostEqual(r["first_reasoning_s"], r["first_token_s"], places=9)
            errs.append(abs(client_ms(r, "first_output_s") - truth_ms(tr, "first_output_ns")))
            errs.append(abs(client_ms(r, "first_reasoning_s") - truth_ms(tr, "first_reasoning_ns")))
        errs.sort()
        # Kernel receive stamps on both sides: loopback delivery only (the
        # fidelity test of test_run.py has the same bound at p50).  A client
        # that could not read for longer than a gap gets the next token's
        # stamp for a merged read (docs/metrics.md): the tail is the
        # machine's, the median is the clock's.
        self.assertLess(errs[len(errs) // 2], 0.5, errs)
        self.assertLess(errs[-1], 50.0, errs)
        for c in crow:
            self.assertLess(float(c["ttft_reasoning_s"]), float(c["ttft_output_s"]))
            self.assertEqual((c["reasoning_tokens"], c["answer_tokens"]), ("5", "7"))

    @harness.serial
    @harness.decoder
    def test_reasoning_openai(self):
        """vLLM's delta.reasoning, with usage's reasoning count."""
        self.check_reasoning("openai-chat", "/v1", True)

    @harness.serial
    @harness.decoder
    def test_reasoning_content_openai(self):
        """DeepSeek's and SGLang's delta.reasoning_content."""
        self.check_reasoning("openai-chat", "/v1", True, "--reasoning-field", "reasoning_content")

    @harness.serial
    @harness.decoder
    def test_reasoning_ollama(self):
        """Ollama's message.thinking and generate's thinking: no count from
        the server, so the reasoning events count."""
        self.check_reasoning("ollama-chat", "", False)
        self.check_reasoning("ollama-generate", "", False)

    def test_no_reasoning_is_absent(self):
        """A run without reasoning has no TTFT-reasoning samples (null, not
        0), TTFT of the answer equal to TTFT, and no reasoning lines."""
        d = tmpdir()
        p, doc, rows, crow, t = with_mock(d, TIMING, "/v1", "openai-chat", "-n", "3", "--max-tokens", "4")
        self.assertEqual(p.returncode, 0, p.stderr)
        s = doc["summary"]
        self.assertEqual(s["ttft_reasoning"]["n"], 0)
        self.assertIsNone(s["ttft_reasoning"]["p50"])
        self.assertEqual(s["ttft_output"], s["ttft"])
        self.assertEqual(s["reasoning"]["tokens"], 0)
        self.assertEqual(s["tool_calls"], {"requests": 0, "calls": 0})
        self.assertNotIn("TTFT reasoning", p.stdout)
        self.assertNotIn("Reasoning:", p.stdout)
        for r in rows:
            self.assertIsNone(r["first_reasoning_s"])
            self.assertEqual(r["reasoning_tokens"], 0)
        for c in crow:
            self.assertEqual(c["ttft_reasoning_s"], "")
            self.assertEqual(c["ttft_output_s"], c["ttft_s"])

    @harness.decoder
    def test_tool_calls_both_protocols(self):
        """--tool-calls: OpenAI's tool_calls deltas (finish_reason
        tool_calls) and Ollama's message.tool_calls are the answer: one
        call a request, its first piece is the answer's first token."""
        for api, suffix in (("openai-chat", "/v1"), ("ollama-chat", "")):
            d = tmpdir()
            p, doc, rows, crow, t = with_mock(d, TIMING + ["--tool-calls", "--reasoning-tokens", "2"],
                                              suffix, api, "-n", "4", "-c", "2", "--max-tokens", "6")
            self.assertEqual(p.returncode, 0, api + p.stderr)
            s = doc["summary"]
            self.assertEqual(s["ok"], 4, api)
            self.assertEqual(s["tool_calls"], {"requests": 4, "calls": 4}, api)
            self.assertEqual(s["reasoning"]["tokens"], 8, api)
            self.assertIn("Tool calls: 4 in 4 requests", p.stdout)
            for r in rows:
                tr = t["llmload-%d" % r["index"]]
                self.assertEqual(tr["tool_calls"], 1)
                self.assertEqual(r["tool_calls"], 1, api)
                self.assertEqual(r["output_tokens"], tr["completion_tokens"])
                self.assertEqual(r["answer_tokens"], 4, api)
                # OpenAI streams the call in 4 pieces; Ollama sends it whole.
                self.assertEqual(r["tool_events"], 4 if api == "openai-chat" else 1, api)
                self.assertLess(abs(client_ms(r, "first_output_s") - truth_ms(tr, "first_output_ns")), 50.0)
            for c in crow:
                self.assertEqual(c["tool_calls"], "1")

    @harness.serial
    @harness.decoder
    def test_ttft_split_against_truth(self):
        """TTFT split by the server's clock.  Ollama: load (the queue wait)
        plus prompt evaluation is the simulator's first token minus its
        reading of the request, to the nanosecond; the rest is delivery.
        llama.cpp's timings have no load: a request queued behind others
        has its wait in the rest."""
        d = tmpdir()
        mock = TIMING + ["--slots", "1", "--timings", "--ttft-base", "3ms"]
        p, doc, rows, crow, t = with_mock(d, mock, "", "ollama-chat", "-n", "6", "-c", "3",
                                          "--max-tokens", "4")
        self.assertEqual(p.returncode, 0, p.stderr)
        srv = doc["summary"]["server"]
        self.assertEqual(srv["ttft_server"]["n"], 6)
        self.assertEqual(srv["ttft_rest"]["n"], 6)
        self.assertIn("TTFT server", p.stdout)
        rest = []
        for r in rows:
            tr = t["llmload-%d" % r["index"]]
            self.assertEqual(r["ttft_server_ns"], tr["first_token_ns"] - tr["recv_ns"])
            self.assertEqual(r["ttft_server_ns"], r["load_duration_ns"] + r["prompt_eval_duration_ns"])
            ttft_ns = round((r["first_token_s"] - r["start_s"]) * 1e9)
            self.assertLess(abs(r["ttft_rest_ns"] + r["ttft_server_ns"] - ttft_ns), 2000)
            # The rest is what the simulator's clock did not see: from the
            # request's arrival at its socket to its reading, and delivery
            # both ways, which is loopback only.
            rest.append((r["ttft_rest_ns"] - (tr["recv_ns"] - tr["arrive_ns"])) / 1e6)
        rest.sort()
        self.assertGreaterEqual(rest[0], -0.05, rest)
        self.assertLess(rest[len(rest) // 2], 0.5, rest)
        for c in crow:
            self.assertAlmostEqual(float(c["ttft_server_s"]) + float(c["ttft_rest_s"]),
                                   float(c["ttft_s"]), delta=3e-6)

        p, doc, rows, crow, t = with_mock(d, mock, "/v1", "openai-chat", "-n", "6", "-c", "3",
                                          "--max-tokens", "4")
        self.assertEqual(p.returncode, 0, p.stderr)
        waited = 0
        for r in rows:
            tr = t["llmload-%d" % r["index"]]
            queue_ms = (tr["grant_ns"] - tr["recv_ns"]) / 1e6
            # prompt_ms is printed to the microsecond.
            self.assertLess(abs(r["ttft_server_ns"] - (tr["first_token_ns"] - tr["grant_ns"])), 2000)
            self.assertGreaterEqual(r["ttft_rest_ns"] / 1e6, queue_ms - 0.01)
            # The rest is the wait from the request's arrival at the
            # simulator's socket to its slot, and delivery both ways.
            unseen_ms = (tr["grant_ns"] - tr["arrive_ns"]) / 1e6
            self.assertLess(r["ttft_rest_ns"] / 1e6 - unseen_ms, 50.0)
            waited += queue_ms > 3
        self.assertGreater(waited, 0)   # one slot, three streams: some waited


if __name__ == "__main__":
    harness.main()

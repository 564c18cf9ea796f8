"""End-to-end tests of the regression gate (docs/ci.md): every exit code on a
real path against the simulator, baselines that must fail (a slower
simulator) and pass (an identical one), JUnit validated by xmllint, and the
Markdown table compared with an expected one.

`llmload run` without --url starts the built-in simulator on a free loopback
port; --mock-arg flags shape its speed.  Tests that must observe the server
(no request sent, interrupt while requests are in flight) start `llmload
mock` themselves through harness.Mock.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# A quick simulator: 1 ms to the first token, then 1000 tokens/s.
FAST = ["--mock-arg=--profile=fast"]
# A steady one for baselines: its own times (40 ms to the first token,
# 400 tokens/s) dominate the client's, so the same simulator measures the
# same within a few percent even on a loaded CI machine.
STEADY = ["--mock-arg=--ttft-base=40ms", "--mock-arg=--decode-rate=400",
          "--mock-arg=--prefill-rate=1000000", "--mock-arg=--batch-slowdown=0"]
# The same, decoding eight times slower: E2E grows about 4x, far past the
# 30% tolerance even when a loaded CI machine widens the intervals.
SLOW = ["--mock-arg=--ttft-base=40ms", "--mock-arg=--decode-rate=50",
        "--mock-arg=--prefill-rate=1000000", "--mock-arg=--batch-slowdown=0"]
WORKLOAD = ["-n", "8", "-c", "4", "--max-tokens", "16", "--quiet"]


def run(*args, timeout=120):
    return harness.run_llmload("run", *args, timeout=timeout)


detail = harness.detail


class GateTest(harness.TmpDirTest):

    # ---- exit 0 and 1: assertions ------------------------------------------

    def test_exit0_assertions_pass(self):
        p = run(*FAST, "-n", "20", "-c", "4", "--max-tokens", "16", "--quiet",
                "--assert", "p95(ttft) < 5s", "--assert", "error_rate <= 1%",
                "--assert", "requests == 20", "--assert", "output_tps > 10 tok/s",
                "--assert", "errors.timeout_ttft == 0")
        self.assertEqual(p.returncode, 0, detail(p))
        self.assertRegex(p.stdout, r"\n  PASS  p95\(ttft\) < 5s: measured [0-9.]+ (ns|us|ms|s), limit < 5\.00 s\n")
        self.assertIn("  PASS  error_rate <= 1%: measured 0.00%, limit <= 1.00%\n", p.stdout)
        self.assertIn("  PASS  requests == 20: measured 20, limit == 20\n", p.stdout)
        self.assertIn("  PASS  errors.timeout_ttft == 0: measured 0, limit == 0\n", p.stdout)
        self.assertIn("gate: PASS, 5 checks passed", p.stdout)

    def test_exit1_assertion_fails(self):
        junit = self.path("junit.xml")
        p = run(*FAST, "-n", "10", "-c", "2", "--max-tokens", "8", "--quiet",
                "--assert", "p95(ttft) < 5s", "--assert", "output_tps >= 1G",
                "--junit", junit)
        self.assertEqual(p.returncode, 1, detail(p))
        self.assertRegex(p.stdout, r"  FAIL  output_tps >= 1G: measured [0-9.]+ tok/s, limit >= 1000000000 tok/s\n")
        self.assertIn("gate: FAIL, 1 of 2 checks failed", p.stdout)
        root = ET.parse(junit).getroot()
        self.assertEqual(root.get("failures"), "1")
        fails = root.findall(".//failure")
        self.assertEqual(len(fails), 1)
        self.assertRegex(fails[0].get("message"), r"^measured [0-9.]+ tok/s, limit >= 1000000000 tok/s$")
        self.assertIn("limit: >= 1e+09 tok/s", fails[0].text)

    # ---- exit 2: usage, before any request ---------------------------------

    def _no_request_sent(self, *args):
        """Runs llmload against a mock of our own and returns (process,
        requests the mock saw)."""
        truth = self.path("truth.jsonl")
        with harness.Mock("--truth", truth) as m:
            p = run("--url", m.url, "--model", "llmload-mock", "-n", "4", "--quiet", *args)
            rc = m.stop()
            self.assertEqual(rc, 0)
        lines = []
        if os.path.exists(truth):
            with open(truth) as f:
                lines = [l for l in f if l.strip()]
        return p, lines

    def test_exit2_bad_assertion_caret(self):
        p, seen = self._no_request_sent("--assert", "p95(ttft) 500ms")
        self.assertEqual(p.returncode, 2, detail(p))
        self.assertEqual(seen, [], "a request was sent before the assertion was checked")
        self.assertEqual(p.stderr,
                         "llmload run: --assert: expected a comparison after p95(ttft): one of < <= > >= == !=\n"
                         "    p95(ttft) 500ms\n"
                         "              ^\n")

    def test_exit2_unknown_metric_suggests(self):
        p, seen = self._no_request_sent("--assert", "p95(tfft) < 500ms")
        self.assertEqual(p.returncode, 2, detail(p))
        self.assertEqual(seen, [])
        self.assertIn("unknown metric 'tfft'; did you mean ttft", p.stderr)
        self.assertIn("\n    p95(tfft) < 500ms\n        ^\n", p.stderr)
        p = run(*FAST, "--assert", "ttft < 500ms")
        self.assertEqual(p.returncode, 2, detail(p))
        self.assertIn("ttft is a distribution: name a statistic, e.g. p95(ttft)", p.stderr)

    def test_exit2_bad_gate_flags(self):
        cases = [
            (["--repeat", "0"], "--repeat: '0' is not a whole number of runs from 1 to 1000"),
            (["--max-regression", "p95(ttft)=10%"], "--max-regression needs --baseline FILE"),
            (["--baseline", self.path("missing.json")], "No such file or directory"),
            (["--junit", self.path("no/such/dir/j.xml")], "does not exist"),
            (["--max-regression", "p95(ttft)=-1%", "--baseline", "x"], "a tolerance cannot be negative"),
        ]
        for args, msg in cases:
            p, seen = self._no_request_sent(*args)
            self.assertEqual(p.returncode, 2, detail(p))
            self.assertEqual(seen, [], args)
            self.assertIn(msg, p.stderr)
            self.assertEqual(p.stderr.count("\n"), 1 if "tolerance" not in msg else 3, p.stderr)
        bad = self.path("bad.json")
        with open(bad, "w") as f:
            f.write('{"schema": "llmload.result/1",\n "summary": [}\n')
        p, seen = self._no_request_sent("--baseline", bad)
        self.assertEqual(p.returncode, 2, detail(p))
        self.assertEqual(seen, [])
        self.assertIn("not valid JSON (line 2", p.stderr)

    def test_exit2_baseline_other_workload(self):
        base = self.path("base.json")
        p = run(*FAST, *WORKLOAD, "--save-baseline", base)
        self.assertEqual(p.returncode, 0, detail(p))
        # Another concurrency and max_tokens: refused before any request,
        # naming both settings with both values.
        p, seen = self._no_request_sent("-c", "2", "--max-tokens", "32", "-n", "8",
                                        "--baseline", base)
        self.assertEqual(p.returncode, 2, detail(p))
        self.assertEqual(seen, [], "a request was sent before the baseline was checked")
        self.assertIn("was made with a different workload", p.stderr)
        self.assertIn("concurrency is 2 here but 4 in the baseline", p.stderr)
        self.assertIn("max_tokens is 32 here but 16 in the baseline", p.stderr)
        self.assertNotIn("url", p.stderr)

    def test_exit2_baseline_other_prompt_length(self):
        # A baseline of 20-token prompts and a run of 2000-token prompts are
        # different workloads: refused (exit 2) naming the difference, not a
        # false regression (issue 10).  The seed each run draws is no
        # difference: the same workload passes.
        base = self.path("base.json")
        p = run(*FAST, *WORKLOAD, "--input-tokens", "20", "--save-baseline", base)
        self.assertEqual(p.returncode, 0, detail(p))
        p = run(*FAST, *WORKLOAD, "--input-tokens", "2000", "--baseline", base)
        self.assertEqual(p.returncode, 2, detail(p))
        self.assertIn("was made with a different workload", p.stderr)
        self.assertIn("workload.input_tokens is 2000 here but 20 in the baseline", p.stderr)
        self.assertNotIn("FAIL", p.stdout)
        p = run(*FAST, *WORKLOAD, "--input-tokens", "20", "--baseline", base,
                "--max-regression", "p95(e2e)=1000%")
        self.assertEqual(p.returncode, 0, detail(p))
        # A dataset counts by its content, wherever it lies.
        data = (json.dumps({"prompt": "one"}) + "\n" + json.dumps({"prompt": "two"}) + "\n")
        for name, text in (("a.jsonl", data), ("b.jsonl", data), ("c.jsonl", data + data)):
            open(self.path(name), "w").write(text)
        p = run(*FAST, *WORKLOAD, "--dataset", self.path("a.jsonl"), "--save-baseline", base)
        self.assertEqual(p.returncode, 0, detail(p))
        p = run(*FAST, *WORKLOAD, "--dataset", self.path("b.jsonl"), "--baseline", base,
                "--max-regression", "p95(e2e)=1000%")
        self.assertEqual(p.returncode, 0, detail(p))
        p = run(*FAST, *WORKLOAD, "--dataset", self.path("c.jsonl"), "--baseline", base)
        self.assertEqual(p.returncode, 2, detail(p))
        self.assertIn("workload.dataset.sha256 is", p.stderr)
        self.assertIn("workload.dataset.bytes is", p.stderr)

    # ---- exit 3: the run could not be done -----------------------------------

    def test_exit3_unreachable(self):
        # A port nobody listens on: bind one, note it, close it.
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        junit = self.path("junit.xml")
        p = run("--url", "http://127.0.0.1:%d/v1" % port, "--model", "m", "--api", "openai-chat",
                "-n", "2", "--quiet", "--connect-timeout", "5s",
                "--assert", "p95(ttft) < 1s", "--junit", junit)
        self.assertEqual(p.returncode, 3, detail(p))
        self.assertNotIn("PASS", p.stdout)
        # The CI still gets a report saying why.
        err = ET.parse(junit).getroot().find("testsuite/testcase/error")
        self.assertIsNotNone(err)
        self.assertIn("127.0.0.1:%d" % port, err.get("message"))

    def test_exit3_every_request_failed(self):
        junit = self.path("junit.xml")
        p = run(*FAST, "--mock-arg=--fault-500=1", "-n", "6", "-c", "2", "--quiet",
                "--assert", "error_rate <= 100%", "--junit", junit)
        self.assertEqual(p.returncode, 3, detail(p))
        self.assertIn("every request failed", p.stderr)
        self.assertNotIn("gate: PASS", p.stdout)
        err = ET.parse(junit).getroot().find("testsuite/testcase/error")
        self.assertEqual(err.get("message"), "run 1 of 1: every request failed; nothing to check")

    # ---- exit 4: interrupted --------------------------------------------------

    def test_exit4_interrupted(self):
        base = self.path("new-base.json")
        junit = self.path("junit.xml")
        with harness.Mock("--verbose", "--decode-rate", "20") as m:
            proc = subprocess.Popen(
                [harness.LLMLOAD, "run", "--url", m.url, "--model", "llmload-mock", "-d", "60s",
                 "-c", "2", "--quiet", "--grace", "200ms", "--assert", "p95(ttft) < 5s",
                 "--save-baseline", base, "--junit", junit],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                # Interrupt once a generation request has reached the server.
                deadline = time.monotonic() + 30
                seen = b""
                while b"/api/generate" not in seen and b"/v1/" not in seen:
                    line = harness._readline(m.proc.stderr, max(0.1, deadline - time.monotonic()))
                    self.assertIsNotNone(line, "no request reached the mock: %r" % seen)
                    seen += line
                proc.send_signal(signal.SIGINT)
                out, err = proc.communicate(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        self.assertEqual(proc.returncode, 4, "stdout:\n%s\nstderr:\n%s" % (out, err))
        self.assertFalse(os.path.exists(base), "a baseline was saved from an interrupted run")
        self.assertNotIn("gate: PASS", out)

    # ---- baselines against the simulator -----------------------------------

    @harness.serial
    def test_baseline_slow_simulator_fails(self):
        base = self.path("base.json")
        p = run(*STEADY, *WORKLOAD, "--repeat", "3", "--save-baseline", base)
        self.assertEqual(p.returncode, 0, detail(p))
        with open(base) as f:
            saved = json.load(f)
        self.assertEqual(saved["schema"], "llmload.baseline/2")
        self.assertEqual(saved["runs"], 3)
        self.assertEqual(len(saved["run_summaries"]), 3)
        p = run(*SLOW, *WORKLOAD, "--repeat", "3", "--baseline", base,
                "--max-regression", "p95(ttft)=30%,p95(e2e)=30%,output_tps=30%")
        self.assertEqual(p.returncode, 1, detail(p))
        self.assertIn("baseline %s (3 runs):" % base, p.stdout)
        # TTFT did not change; decoding 8x slower shows in E2E and throughput.
        self.assertRegex(p.stdout, r"  PASS  p95\(ttft\): ")
        # Both sides kept their requests (3 runs of 8) and have 3 runs: the
        # interval is the hull of the requests' and the runs' (each shown),
        # the probability of a regression the smaller of the two.
        self.assertRegex(p.stdout, r"  FAIL  p95\(e2e\): [0-9.]+ ms vs baseline [0-9.]+ ms: \+[0-9.]+% \(95% CI \+[0-9.]+% \.\. \+[0-9.]+%, 24 vs 24 requests [-+0-9.]+% \.\. [-+0-9.]+%, over 3 vs 3 runs [-+0-9.]+% \.\. [-+0-9.]+%\), tolerance \+30\.0%, probability of a regression beyond it 100\.0%, Mann-Whitney p [0-9.e+-]+\n")
        self.assertRegex(p.stdout, r"  FAIL  output_tps: [0-9.]+ tok/s vs baseline [0-9.]+ tok/s: -[0-9.]+% \(95% CI -[0-9.]+% \.\. -[0-9.]+%, 24 vs 24 requests [-+0-9.]+% \.\. [-+0-9.]+%, over 3 vs 3 runs [-+0-9.]+% \.\. [-+0-9.]+%\), tolerance -30\.0%, probability of a regression beyond it 100\.0%, Mann-Whitney p [0-9.e+-]+\n")
        self.assertIn("gate: FAIL, 2 of 3 checks failed", p.stdout)

    @harness.serial
    def test_baseline_identical_simulator_passes(self):
        base = self.path("base.json")
        p = run(*STEADY, *WORKLOAD, "--repeat", "3", "--save-baseline", base)
        self.assertEqual(p.returncode, 0, detail(p))
        md = self.path("summary.md")
        p = run(*STEADY, *WORKLOAD, "--repeat", "3", "--baseline", base,
                "--max-regression", "p95(ttft)=30%,p95(e2e)=30%,output_tps=30%,error_rate=0%",
                "--markdown", md)
        self.assertEqual(p.returncode, 0, detail(p))
        self.assertNotIn("FAIL", p.stdout)
        for ref in ("p95(ttft)", "p95(e2e)", "output_tps", "error_rate"):
            self.assertRegex(p.stdout, r"  PASS  %s: .* \(95%% CI .*\), tolerance " % re.escape(ref))
        self.assertIn("gate: PASS, 4 checks passed", p.stdout)
        with open(md) as f:
            text = f.read()
        self.assertIn("| \u2705 pass", text)
        self.assertNotIn("fail", text)

    # ---- reports ------------------------------------------------------------

    def test_junit_validates_with_xmllint(self):
        xmllint = shutil.which("xmllint")
        if not xmllint:
            self.skipTest("xmllint not installed (apt-get install libxml2-utils)")
        base = self.path("base & <co>.json")
        p = run(*FAST, *WORKLOAD, "--save-baseline", base)
        self.assertEqual(p.returncode, 0, detail(p))
        junit = self.path("junit.xml")
        p = run(*FAST, *WORKLOAD, "--baseline", base, "--max-regression", "p95(ttft)=1000%",
                "--assert", "p95(ttft) < 5s", "--assert", "requests != 8",
                "--assert", "p95(itl) >= 0", "--junit", junit)
        self.assertEqual(p.returncode, 1, detail(p))
        v = subprocess.run([xmllint, "--noout", junit], capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stderr)
        root = ET.parse(junit).getroot()
        self.assertEqual(root.tag, "testsuites")
        self.assertEqual((root.get("tests"), root.get("failures"), root.get("errors")), ("4", "1", "0"))
        suite = root.find("testsuite")
        cases = suite.findall("testcase")
        self.assertEqual([c.get("name") for c in cases],
                         ["p95(ttft) < 5s", "requests != 8", "p95(itl) >= 0",
                          "p95(ttft) vs baseline (tolerance +1000.0%)"])
        self.assertEqual([c.get("classname") for c in cases],
                         ["llmload.assert"] * 3 + ["llmload.regression"])
        props = {p.get("name"): p.get("value") for p in suite.find("properties")}
        self.assertEqual(props["baseline"], base)
        self.assertEqual(props["runs"], "1")
        fail = cases[1].find("failure")
        self.assertEqual(fail.get("message"), "measured 8, limit != 8")
        self.assertEqual(fail.get("type"), "assertion")
        self.assertEqual(fail.text, "measured: 8 count\nlimit: != 8 count\n")
        self.assertGreater(float(root.get("time")), 0)

    def test_markdown_expected_table(self):
        md = self.path("summary.md")
        p = run(*FAST, "-n", "12", "-c", "3", "--max-tokens", "8", "--quiet",
                "--assert", "requests == 12", "--assert", "error_rate <= 1%",
                "--assert", "failed > 0", "--assert", "ok >= 1.2e1",
                "--markdown", md)
        self.assertEqual(p.returncode, 1, detail(p))
        with open(md) as f:
            text = f.read()
        checks, _, rest = text.partition("\n\nOne run.\n\n")
        self.assertEqual(checks,
                         "### llmload gate: \u274c 1 of 4 checks failed\n"
                         "\n"
                         "| Result | Check | Measured | Limit |\n"
                         "|:--|:--|:--|:--|\n"
                         "| \u2705 pass | `requests == 12` | 12 | == 12 |\n"
                         "| \u2705 pass | `error_rate <= 1%` | 0.00% | <= 1.00% |\n"
                         "| \u274c fail | `failed > 0` | 0 | > 0 |\n"
                         "| \u2705 pass | `ok >= 1.2e1` | 12 | >= 12 |")
        # The run's own numbers vary; the overview's rows and units do not.
        lines = rest.splitlines()
        self.assertEqual(lines[:4], ["| Metric | Value |", "|:--|--:|", "| Requests | 12 |", "| Failed | 0 (0.00%) |"])
        self.assertRegex(lines[4], r"^\| Request rate \| [0-9.]+ req/s \|$")
        self.assertRegex(lines[5], r"^\| Output throughput \| [0-9.]+ tok/s \|$")
        self.assertRegex(lines[6], r"^\| TTFT p50 / p95 \| [0-9.]+ (ns|us|ms|s) / [0-9.]+ (ns|us|ms|s) \|$")

    def test_repeat_reports_interval(self):
        p = run(*FAST, "-n", "6", "-c", "2", "--max-tokens", "8", "--quiet", "--repeat", "3",
                "--assert", "p50(e2e) < 10s")
        self.assertEqual(p.returncode, 0, detail(p))
        self.assertIn("checks (median of 3 runs, 95% bootstrap CI):", p.stdout)
        self.assertRegex(p.stdout, r"  PASS  p50\(e2e\) < 10s: measured [0-9.]+ \w+ \(95% CI [0-9.]+ \w+ \.\. [0-9.]+ \w+\), limit < 10\.00 s\n")

    def test_repeat_json_keeps_every_run_and_the_median(self):
        out = self.path("r.json")
        p = run(*FAST, "-n", "5", "-c", "2", "--max-tokens", "8", "--quiet", "--repeat", "3",
                "--assert", "p50(e2e) < 10s", "--json", out)
        self.assertEqual(p.returncode, 0, detail(p))
        with open(out) as f:
            doc = json.load(f)
        self.assertEqual(doc["schema"], "llmload.result/1")
        self.assertEqual(doc["repeat"], 3)
        self.assertEqual(len(doc["runs"]), 3)
        for r in doc["runs"]:
            self.assertEqual(r["schema"], "llmload.result/1")
            self.assertEqual(r["summary"]["ok"], 5)
            self.assertIn("histograms", r)
        # The summary is the field-wise median of the runs, as the gate's.
        for key in ("output_tps", "rps", "duration_s"):
            vals = sorted(r["summary"][key] for r in doc["runs"])
            self.assertEqual(doc["summary"][key], vals[1], key)
        p50 = sorted(r["summary"]["e2e"]["p50"] for r in doc["runs"])
        self.assertEqual(doc["summary"]["e2e"]["p50"], p50[1])
        self.assertEqual(doc["config"], doc["runs"][0]["config"])
        # The runs differ (each measured on its own), so keeping only the
        # last one was losing data.
        self.assertEqual(len({r["environment"]["start_time"] for r in doc["runs"]}), 3)
        # Reports and compare read it as a result.
        rep = harness.run_llmload("report", out, "-o", self.path("r.txt"))
        self.assertEqual(rep.returncode, 0, detail(rep))


if __name__ == "__main__":
    harness.main()

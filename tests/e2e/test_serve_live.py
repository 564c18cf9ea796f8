"""`llmload serve`, second part (docs/dashboard.md): a model per target,
prompt files and datasets the operator allowed, the running level's live
percentiles and success rate, the run's metrics on the dashboard's
/metrics, targets from a config file.

Every server listens on 127.0.0.1 port 0; waits poll with a deadline."""
import json
import os
import shutil
import subprocess
import unittest

import harness
import test_serve as ts
from harness import FAST, Mock, tmpdir


def prompt_files():
    """An allowed prompt file and dataset in a fresh directory."""
    d = tmpdir()
    pf = os.path.join(d, "greetings.txt")
    with open(pf, "w") as f:
        f.write("Say hello in French.\nSay hello in German.\n")
    ds = os.path.join(d, "qa.jsonl")
    with open(ds, "w") as f:
        for q in ("What is two and two?", "Name a colour.", "Spell cat."):
            f.write(json.dumps({"prompt": q}) + "\n")
    return pf, ds


def parse_metrics(text):
    """{(name, frozenset of label pairs): value} of exposition text."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        pairs = []
        for part in labels.rstrip("}").split('",') if labels else []:
            k, _, v = part.partition("=")
            pairs.append((k, v.strip('"')))
        out[(name, frozenset(pairs))] = float(value)
    return out


class TestServeLive(unittest.TestCase):

    def test_models_prompt_files_live_numbers_and_metrics(self):
        pf, ds = prompt_files()
        slow = ["--decode-rate", "100", "--ttft-base", "20ms", "--model", "llmload-mock,other-model"]
        with Mock(*FAST) as a, Mock(*slow) as b, \
                ts.Serve("--target", "a=" + a.url, "--target", "b=" + b.url + "@other-model",
                         "--prompt-file", pf, "--dataset", ds) as srv:
            st = srv.get("/api/status")
            self.assertEqual(st.json()["prompts"], [{"name": "greetings.txt", "kind": "prompt-file"},
                                                    {"name": "qa.jsonl", "kind": "dataset"}])
            self.assertNotIn(os.path.dirname(pf).encode(), st.body)      # names only, never paths
            t = {x["name"]: x for x in srv.get("/api/targets").json()}
            self.assertEqual((t["a"]["model"], t["b"]["model"]), ("", "other-model"))
            self.assertEqual(t["b"]["url"], b.url)
            # A path from the browser is never opened, a name it does not list is refused.
            for bad in (pf, "../qa.jsonl", "/etc/passwd", "nope.txt"):
                r = srv.post("/api/run", {"prompts": bad})
                self.assertEqual(r.status, 400, bad)
                self.assertIn("not a prompt file or dataset this server allows", r.json()["error"])
            r = srv.post("/api/run", {"models": {"c": "x"}})
            self.assertEqual(r.status, 400)
            ev = ts.EventStream(srv.port)
            scrape = None
            try:
                r = srv.post("/api/run", {"levels": [1, 2], "requests": 8, "max_tokens": 24,
                                          "prompts": "qa.jsonl", "models": {"a": "llmload-mock"}})
                self.assertEqual(r.status, 200, r.body)
                run_id = r.json()["id"]
                samples, done = [], None
                while done is None:
                    kind, data = ev.next()
                    if kind == "sample":
                        samples.append(data)
                        # While b's level runs, the dashboard's /metrics has it.
                        if scrape is None and data["target"] == "b" and not data["finished"] and data["ok"]:
                            scrape = srv.get("/metrics")
                    elif kind == "done":
                        done = data
            finally:
                ev.close()
            self.assertEqual(done["exit"], 0)
            # Live numbers of the running level: percentiles and success.
            live_b = [s for s in samples if s["target"] == "b" and not s["finished"]]
            self.assertGreater(len(live_b), 1, samples)
            for s in samples:
                self.assertEqual(s["errors"], 0)
                if s["ok"]:
                    self.assertEqual(s["success_rate"], 1)
                    for k in ("ttft_p95", "ttft_p99", "e2e_p95", "e2e_p99"):
                        self.assertGreater(s[k], 0, (k, s))
                    self.assertLessEqual(s["ttft_p95"], s["ttft_p99"])
                    self.assertLessEqual(s["e2e_p95"], s["e2e_p99"])
                    self.assertLessEqual(s["ttft_p99"], s["e2e_p99"])
            oks = [s["ok"] for s in live_b if s["level"] == "1"]
            self.assertEqual(oks, sorted(oks))
            # The final sample of each level is the saved document's numbers.
            doc = srv.get("/api/runs/%s.json" % run_id).json()
            for tgt in doc["targets"]:
                for lv in tgt["sweep"]["levels"]:
                    fin = [s for s in samples if s["target"] == tgt["name"] and s["finished"]
                           and s["level"] == str(lv["level"])]
                    self.assertEqual(len(fin), 1, (tgt["name"], lv["level"]))
                    sm = lv["summary"]
                    self.assertEqual(fin[0]["ok"], sm["ok"])
                    self.assertAlmostEqual(fin[0]["e2e_p95"], sm["e2e"]["p95"], places=6)
                    self.assertAlmostEqual(fin[0]["ttft_p99"], sm["ttft"]["p99"], places=6)
            # A model per target: a's from the page, b's from the operator.
            self.assertEqual([x.get("model") for x in doc["targets"]], ["llmload-mock", "other-model"])
            self.assertEqual(doc["targets"][1]["sweep"]["levels"][0]["summary"]["ok"], 8)
            # The run's own metrics were on the dashboard's listener, with the
            # Prometheus issue's names and the grouping labels.
            self.assertIsNotNone(scrape, "no scrape while b ran")
            self.assertEqual(scrape.status, 200)
            self.assertIn("text/plain", scrape.headers["content-type"])
            m = parse_metrics(scrape.body.decode())
            names = {k[0] for k in m}
            for want in ("llmload_serve_run_active", "llmload_requests_total", "llmload_requests_in_flight",
                         "llmload_output_tokens_total", "llmload_time_to_first_token_seconds_bucket",
                         "llmload_latency_percentile_seconds", "llmload_run_finished"):
                self.assertIn(want, names)
            self.assertEqual(m[("llmload_serve_run_active", frozenset())], 1)
            a1 = {k: v for k, v in m.items() if k[0] == "llmload_run_finished"
                  and ("target", "a") in k[1] and ("sweep_level", "1") in k[1]}
            self.assertEqual(list(a1.values()), [1])
            b1 = [k for k in m if k[0] == "llmload_requests_total" and ("target", "b") in k[1]
                  and ("outcome", "ok") in k[1] and ("model", "other-model") in k[1]]
            self.assertEqual(len(b1), 1)
            if shutil.which("promtool"):
                c = subprocess.run(["promtool", "check", "metrics"], input=scrape.body.decode(),
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual((c.returncode, c.stdout, c.stderr), (0, "", ""))
            # Which prompts it sent: the dataset's, by the operator's path.
            for tgt in doc["targets"]:
                wl = tgt["sweep"]["config"]["workload"]
                self.assertEqual((wl["source"], wl["dataset"]["path"], wl["dataset"]["prompts"]), ("dataset", ds, 3))
            # After the run, the scrape keeps the last run's final values.
            m2 = parse_metrics(srv.get("/metrics").body.decode())
            self.assertEqual(m2[("llmload_serve_run_active", frozenset())], 0)
            fins = [v for k, v in m2.items() if k[0] == "llmload_run_finished"]
            self.assertEqual(fins, [1, 1, 1, 1])

    def test_targets_from_a_config_file(self):
        pf, _ = prompt_files()
        d = tmpdir()
        cfg = os.path.join(d, "serve.json")
        with Mock(*FAST) as a, Mock(*FAST) as b:
            with open(cfg, "w") as f:
                json.dump({"target": ["one=" + a.url, "two=" + b.url + "@llmload-mock"],
                           "prompt-file": [pf], "max-concurrency": 4}, f)
            with ts.Serve("--config", cfg) as srv:
                ts.wait_for(lambda: ts.statuses(srv) == {"one": "up", "two": "up"}, "both up")
                t = srv.get("/api/targets").json()
                self.assertEqual([(x["name"], x["url"], x["model"]) for x in t],
                                 [("one", a.url, ""), ("two", b.url, "llmload-mock")])
                st = srv.get("/api/status").json()
                self.assertEqual(st["max_concurrency"], 4)
                self.assertEqual([p["name"] for p in st["prompts"]], ["greetings.txt"])
            # A target on the command line replaces the file's list (flags win).
            with ts.Serve("--config", cfg, "--target", "x=" + a.url, "--target", "y=" + b.url) as srv:
                self.assertEqual([x["name"] for x in srv.get("/api/targets").json()], ["x", "y"])
        with open(cfg, "w") as f:
            json.dump({"target": "bad"}, f)
        r = harness.run_llmload("serve", "--config", cfg, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("NAME=URL", r.stderr)
        r = harness.run_llmload("serve", "--prompt-file", os.path.join(d, "missing.txt"), timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("missing.txt", r.stderr)


if __name__ == "__main__":
    harness.main()

"""The published JSON Schemas (docs/schema/*.schema.json) describe every JSON
document llmload writes, strictly enough that a renamed field fails.  (The
harness checks every document any e2e test makes llmload write; these tests
make one of each kind and check that the schemas would notice a change.)"""
import copy
import json
import os
import unittest

import harness
from harness import FAST, Mock, check_document, run_llmload, tmpdir


def renamed(doc, path, new):
    """A copy of doc with the key at path (a list of keys) renamed to new."""
    d = copy.deepcopy(doc)
    o = d
    for k in path[:-1]:
        o = o[k]
    o[new] = o.pop(path[-1])
    return d


class Schemas(unittest.TestCase):
    def test_every_kind_of_document(self):
        d = tmpdir()
        f = lambda name: os.path.join(d, name)
        with Mock(*FAST) as m:
            base = ["--url", m.url, "--model", "llmload-mock", "-q", "--max-tokens", "4"]
            # run_llmload checks each document against its schema.
            p = run_llmload("run", *base, "-n", "4", "--json", f("r.json"), "--raw", f("r.jsonl"))
            self.assertEqual(p.returncode, 0, p.stderr)
            p = run_llmload("run", *base, "-n", "3", "--repeat", "2", "--json", f("rep.json"),
                            "--save-baseline", f("base.json"))
            self.assertEqual(p.returncode, 0, p.stderr)
            p = run_llmload("sweep", *base, "-c", "1,2", "-n", "3", "--json", f("s.json"))
            self.assertEqual(p.returncode, 0, p.stderr)
            p = run_llmload("compare", f("s.json"), f("s.json"), "--json", f("c.json"))
            self.assertEqual(p.returncode, 0, p.stderr)
            p = run_llmload("check", "--url", m.url, "--json", f("k.json"))
            self.assertEqual(p.returncode, 0, p.stderr)
        kinds = {"r.json": "llmload.result/1", "rep.json": "llmload.result/1",
                 "base.json": "llmload.baseline/1", "s.json": "llmload.sweep/1",
                 "c.json": "llmload.compare/1"}
        for name, schema in kinds.items():
            doc = json.load(open(f(name)))
            self.assertEqual(doc["schema"], schema)
            check_document(doc, where=name)
        check_document(json.load(open(f("k.json"))), "check", "k.json")
        for line in open(f("r.jsonl")):
            check_document(json.loads(line), "raw", "r.jsonl")

        # A renamed field is caught, wherever it is.
        result = json.load(open(f("r.json")))
        changes = [
            (result, None, ["summary", "ttft"], "time_to_first_token"),
            (result, None, ["summary", "ttft", "p99"], "p99.0"),
            (result, None, ["config", "concurrency"], "max_concurrency"),
            (result, None, ["environment", "run_id"], "runid"),
            (result, None, ["histograms", "ttft_ns", "buckets"], "bins"),
            (json.load(open(f("rep.json"))), None, ["runs", 0, "summary", "output_tps"], "tps"),
            (json.load(open(f("base.json"))), None, ["summary", "rps"], "req_s"),
            (json.load(open(f("s.json"))), None, ["levels", 0, "summary", "e2e"], "latency"),
            (json.load(open(f("s.json"))), None, ["knee", "level"], "knee_level"),
            (json.load(open(f("c.json"))), None, ["recommendation"], "advice"),
            (json.load(open(f("k.json"))), "check", ["models"], "model_list"),
            (json.loads(open(f("r.jsonl")).readline()), "raw", ["first_token_s"], "ttft_s"),
        ]
        for doc, name, path, new in changes:
            bad = renamed(doc, path, new)
            with self.assertRaises(AssertionError, msg="%s renamed to %s" % (path, new)):
                check_document(bad, name, "renamed")
        # An error class the table does not know is caught too.
        bad = copy.deepcopy(result)
        bad["summary"]["errors"] = {"http_500": 1}
        with self.assertRaises(AssertionError):
            check_document(bad)


if __name__ == "__main__":
    harness.main()

"""End-to-end tests of the observability (docs/observability.md): the
Prometheus exposition, Pushgateway pushes, the rules and the Grafana
dashboard, held against the real components Debian packages:

  promtool, prometheus   (apt-get install prometheus)
  prometheus-pushgateway (apt-get install prometheus-pushgateway)

Each daemon is started by its test on a free loopback port (a port-0 bind
picks it) and stopped by it.  A test whose program is missing is skipped
(exit code 77 when run one by one, as meson does).  The /metrics listener
and the interval pusher are driven through tests/tools/obs_serve (the
LLMLOAD_OBS_SERVE program), which serves a saved result document with
src/observe's own code.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import harness
from harness import FAST, Mock, run_llmload

SRCDIR = os.environ.get("LLMLOAD_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
OBS_SERVE = os.environ.get("LLMLOAD_OBS_SERVE") or os.path.join(
    SRCDIR, "build", "tests", "obs_serve")
DASHBOARD = os.path.join(SRCDIR, "contrib", "grafana", "llmload.json")
RULES = os.path.join(SRCDIR, "contrib", "prometheus", "llmload-rules.yml")
RULES_TEST = os.path.join(SRCDIR, "tests", "fixtures", "observe", "llmload-rules.test.yml")

# Loopback only, whatever proxy the environment names.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def needs(*programs):
    """Marks a test that needs these programs; without them it is skipped."""
    def mark(fn):
        fn.llmload_needs = programs
        return fn
    return mark


def missing_programs(names):
    """The programs the named tests need that are not installed."""
    out = []
    for name in names:
        for obj in list(globals().values()):
            fn = getattr(obj, name, None) if isinstance(obj, type) else None
            for prog in getattr(fn, "llmload_needs", ()):
                if shutil.which(prog) is None and prog not in out:
                    out.append(prog)
    return out


free_port = harness.free_port


def get(url, timeout=10.0, data=None, method=None, headers=None):
    """(status, body bytes) of one request; HTTP errors are answers too."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for(what, fn, timeout=60.0):
    """Polls fn() until it returns a true value; fails after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
            last = v
        except (OSError, ValueError, KeyError) as e:
            last = e
        time.sleep(0.1)
    raise AssertionError("%s: not within %.0f s (last: %r)" % (what, timeout, last))


class Daemon:
    """A Prometheus-family daemon on a free loopback port, ready when its
    /-/ready answers 200.  Use as a context manager."""

    def __init__(self, argv_for_port, name):
        self.dir = harness.tmpdir()
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(self.dir, name + ".log"), "wb")
        self.proc = subprocess.Popen(argv_for_port(self.port, self.dir), stdout=self.log,
                                     stderr=subprocess.STDOUT)
        try:
            wait_for(name + " ready", self._ready)
        except AssertionError:
            self.stop()
            raise AssertionError("%s did not start:\n%s" % (name, self.output()))

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("exited with %d" % self.proc.returncode)
        return get(self.url + "/-/ready", timeout=2)[0] == 200

    def output(self):
        self.log.flush()
        with open(self.log.name, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def stop(self):
        harness.stop_child(self.proc)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def pushgateway():
    # Debian's build persists to /var/lib/prometheus unless told otherwise
    return Daemon(lambda port, d: ["prometheus-pushgateway",
                                   "--web.listen-address=127.0.0.1:%d" % port,
                                   "--persistence.file=" + os.path.join(d, "pushgateway.data")],
                  "pushgateway")


def prometheus(scrape_url):
    """A Prometheus scraping scrape_url every second."""
    u = urllib.parse.urlparse(scrape_url)

    def argv(port, d):
        cfg = os.path.join(d, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: llmload\n    metrics_path: %s\n"
                    "    static_configs:\n      - targets: ['%s']\n" % (u.path, u.netloc))
        return ["prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(d, "data"),
                "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"]
    return Daemon(argv, "prometheus")


class ObsServe:
    """tests/tools/obs_serve serving a result document; its first stdout
    line is the /metrics URL."""

    def __init__(self, result_path, *args):
        self.proc = subprocess.Popen([OBS_SERVE, result_path] + list(args),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = harness._readline(self.proc.stdout, 20)
        if not line:
            self.proc.kill()
            raise AssertionError("obs_serve did not start: %s" % self.proc.stderr.read().decode())
        self.url = line.decode().strip()

    def stop(self):
        """Stops it; returns its last stderr line."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        err = self.proc.stderr.read().decode()
        self.proc.stdout.close()
        self.proc.stderr.close()
        assert self.proc.returncode == 0, (self.proc.returncode, err)
        return err.strip().splitlines()[-1] if err.strip() else ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# The bounds of every latency histogram (docs/observability.md).
BUCKETS = ["0.0005", "0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.5",
           "1.0", "2.0", "5.0", "10.0", "20.0", "50.0", "100.0", "200.0", "600.0"]

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')


def parse_expo(text):
    """Exposition text into {name{labels}: value}; fails on a line that is
    neither a comment nor a sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample: %r" % line
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def sample_names(text):
    return {SAMPLE.match(l).group(1) for l in text.splitlines() if l and not l.startswith("#")}


def run_result(*mock_args, requests=30):
    """A real run against the simulator (a tenth of the requests get 500):
    the path of its result document and the document."""
    d = harness.tmpdir()
    out = os.path.join(d, "r.json")
    with Mock(*FAST, "--fault-500", "0.1", *mock_args) as m:
        p = run_llmload("run", "--url", m.url, "--model", "llmload-mock", "--quiet",
                        "--json", out, "-n", str(requests), "-c", "4", "--max-tokens", "8")
    assert p.returncode in (0, 1), (p.returncode, p.stderr)
    with open(out) as f:
        return out, json.load(f)


def export(*args):
    return run_llmload("export", *args)


def run_labels(doc):
    """The constant labels of a result's samples, as the writer orders them."""
    return 'target="%s",model="%s",api="%s",run_id="%s"' % (
        doc["config"]["url"], doc["config"]["model"], doc["config"]["api"],
        doc["environment"].get("run_id") or doc["environment"]["start_time"])


class Export(unittest.TestCase):
    def check_values(self, doc, k, labels):
        s = doc["summary"]
        self.assertEqual(k['llmload_requests_total{%s,outcome="ok"}' % labels], s["ok"])
        self.assertEqual(k['llmload_requests_total{%s,outcome="error"}' % labels], s["failed"])
        self.assertGreater(s["failed"], 0)
        self.assertEqual(k['llmload_request_errors_total{%s,class="status"}' % labels],
                         s["errors"]["status"])
        self.assertEqual(k['llmload_request_errors_total{%s,class="timeout_ttft"}' % labels], 0)
        self.assertEqual(k["llmload_output_tokens_total{%s}" % labels], s["output_tokens"])
        self.assertEqual(k["llmload_input_tokens_total{%s}" % labels], s["input_tokens"])
        self.assertEqual(k["llmload_concurrency_limit{%s}" % labels], 4)
        self.assertEqual(k["llmload_run_finished{%s}" % labels], 1)
        self.assertAlmostEqual(k["llmload_run_elapsed_seconds{%s}" % labels], s["duration_s"], places=6)
        for name, key in (("llmload_request_duration_seconds", "e2e"),
                          ("llmload_time_to_first_token_seconds", "ttft"),
                          ("llmload_time_per_output_token_seconds", "tpot"),
                          ("llmload_inter_token_latency_seconds", "itl")):
            n = s[key]["n"]
            self.assertEqual(k['%s_count{%s}' % (name, labels)], n)
            self.assertEqual(k['%s_bucket{%s,le="+Inf"}' % (name, labels)], n)
            self.assertAlmostEqual(k['%s_sum{%s}' % (name, labels)], s[key]["mean"] * n, places=6)
            # each bucket counts exactly the samples at or below its bound
            # (the document keeps every sample of a small run)
            exact = doc["histograms"][key + "_ns"]["exact"]
            self.assertEqual(len(exact), n)
            for le in BUCKETS:
                self.assertEqual(k['%s_bucket{%s,le="%s"}' % (name, labels, le)],
                                 sum(1 for v in exact if v <= round(float(le) * 1e9)), le)
            for p in ("50", "90", "95", "99"):
                self.assertAlmostEqual(
                    k['llmload_latency_percentile_seconds{%s,metric="%s",percentile="%s"}'
                      % (labels, key, p)], s[key]["p" + p], places=9)
        # cumulative buckets never decrease
        les = sorted((float(m.group(1)) if m.group(1) != "+Inf" else float("inf"), v)
                     for key, v in k.items()
                     for m in [re.search(r'^llmload_request_duration_seconds_bucket\{.*le="([^"]+)"\}$', key)]
                     if m)
        self.assertEqual(len(les), 20)
        self.assertEqual([v for _, v in les], sorted(v for _, v in les))

    def test_export_prometheus_values(self):
        path, doc = run_result()
        p = export(path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_values(doc, parse_expo(p.stdout), run_labels(doc))
        self.assertIn("# TYPE llmload_requests_total counter\n", p.stdout)
        # --run-id replaces the run's start time
        p = export("--run-id", "nightly-7", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('run_id="nightly-7"', p.stdout)
        self.assertNotIn(doc["environment"]["start_time"], p.stdout)
        # a document that names its run keeps that name (and its start time)
        start = parse_expo(export(path).stdout)["llmload_run_start_time_seconds{%s}"
                                                % run_labels(doc)]
        doc["environment"]["run_id"] = "r-42"
        named = os.path.join(harness.tmpdir(), "named.json")
        with open(named, "w") as f:
            json.dump(doc, f)
        p = export(named)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('run_id="r-42"', run_labels(doc))
        self.assertEqual(parse_expo(p.stdout)["llmload_run_start_time_seconds{%s}"
                                              % run_labels(doc)], start)

    def test_export_openmetrics(self):
        path, doc = run_result()
        p = export("--format", "openmetrics", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.endswith("\n# EOF\n"))
        self.assertEqual(p.stdout.count("# EOF"), 1)
        self.assertIn("# TYPE llmload_requests counter\n", p.stdout)
        self.assertIn("# TYPE llmload_build info\n", p.stdout)
        self.assertIn("# UNIT llmload_request_duration_seconds seconds\n", p.stdout)
        self.check_values(doc, parse_expo(p.stdout), run_labels(doc))

    @needs("promtool")
    def test_promtool_accepts_exposition(self):
        path, _ = run_result()
        p = export(path)
        self.assertEqual(p.returncode, 0, p.stderr)
        c = subprocess.run(["promtool", "check", "metrics"], input=p.stdout, capture_output=True,
                           text=True, timeout=60)
        # promtool prints a line per problem (lint included) and exits 1
        self.assertEqual((c.returncode, c.stdout, c.stderr), (0, "", ""))

    def test_export_usage_errors(self):
        path, _ = run_result(requests=5)
        d = harness.tmpdir()
        other = os.path.join(d, "other.json")
        with open(other, "w") as f:
            json.dump({"schema": "llmload.sweep/1", "levels": []}, f)
        broken = os.path.join(d, "broken.json")
        with open(broken, "w") as f:
            f.write("{")
        cases = [
            (["--format", "csv", path], "--format csv: unknown format"),
            ([other], "not a result document (schema llmload.sweep/1"),
            ([broken], "broken.json"),
            ([os.path.join(d, "missing.json")], "missing.json"),
            ([], "a result document is required"),
            (["--push-label", "a=b", path], "need --push URL"),
            (["--push", "http://127.0.0.1:1", "--format", "openmetrics", path],
             "--format openmetrics cannot be pushed"),
            (["--push", "https://127.0.0.1:1", path], "https is not supported"),
            ([path, path], "unexpected"),
        ]
        for args, msg in cases:
            p = export(*args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(msg, p.stderr, args)
            self.assertEqual(p.stdout, "", args)
        # a full disk on stdout is exit 3; a reader that went away is not
        if os.path.exists("/dev/full"):
            with open("/dev/full", "w") as full:
                p = subprocess.run([harness.LLMLOAD, "export", path], stdout=full,
                                   stderr=subprocess.PIPE, text=True, timeout=60)
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertIn("cannot write the results to standard output", p.stderr)
        p = subprocess.Popen([harness.LLMLOAD, "export", path], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        p.stdout.close()
        self.assertEqual((p.wait(60), p.stderr.read()), (0, b""))
        p.stderr.close()
        # a push to a port nobody listens on: the run could not be done
        port = free_port()
        p = export("--push", "http://127.0.0.1:%d" % port, path)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("push to 127.0.0.1:%d: connect:" % port, p.stderr)

    def test_help_lists_formats(self):
        p = export("--help")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"\n  prometheus +Prometheus text format 0\.0\.4")
        self.assertRegex(p.stdout, r"\n  openmetrics +OpenMetrics 1\.0\.0")
        self.assertIn("--push URL", p.stdout)


class Listener(unittest.TestCase):
    def test_listener_answers(self):
        path, doc = run_result()
        with ObsServe(path) as s:
            st, body = get(s.url)
            self.assertEqual(st, 200)
            Export.check_values(self, doc, parse_expo(body.decode()), run_labels(doc))
            st, body = get(s.url, headers={"Accept": "application/openmetrics-text; version=1.0.0"})
            self.assertEqual(st, 200)
            self.assertTrue(body.endswith(b"# EOF\n"))
            st, _ = get(s.url.replace("/metrics", "/"))
            self.assertEqual(st, 404)
            st, _ = get(s.url, data=b"x", method="POST")
            self.assertEqual(st, 405)
            last = s.stop()
        self.assertTrue(last.startswith("obs_serve: 2 scrapes"), last)

    @needs("prometheus")
    def test_prometheus_scrapes(self):
        """Prometheus scrapes the listener (in OpenMetrics, which it asks
        for first) and a PromQL query returns the counts of the run's JSON."""
        path, doc = run_result()
        s = doc["summary"]
        with ObsServe(path) as srv, prometheus(srv.url) as prom:
            def query(q):
                st, body = get(prom.url + "/api/v1/query?" + urllib.parse.urlencode({"query": q}))
                r = json.loads(body)
                assert r["status"] == "success", r
                return r["data"]["result"]

            res = wait_for("a scrape", lambda: query('llmload_requests_total{outcome="ok"}'))
            self.assertEqual(len(res), 1)
            self.assertEqual(float(res[0]["value"][1]), s["ok"])
            labels = res[0]["metric"]
            self.assertEqual((labels["job"], labels["model"], labels["api"], labels["run_id"]),
                             ("llmload", "llmload-mock", doc["config"]["api"],
                              doc["environment"].get("run_id") or doc["environment"]["start_time"]))
            self.assertEqual(float(query('sum(llmload_request_errors_total)')[0]["value"][1]),
                             s["failed"])
            self.assertEqual(float(query('llmload_request_errors_total{class="status"}')[0]["value"][1]),
                             s["errors"]["status"])
            self.assertEqual(float(query("llmload_output_tokens_total")[0]["value"][1]),
                             s["output_tokens"])
            self.assertEqual(float(query("llmload_request_duration_seconds_count")[0]["value"][1]),
                             s["e2e"]["n"])
            p95 = float(query('llmload_latency_percentile_seconds{metric="e2e",percentile="95"}')
                        [0]["value"][1])
            self.assertAlmostEqual(p95, s["e2e"]["p95"], places=9)
            # the scrape itself was healthy
            self.assertEqual(float(query("up")[0]["value"][1]), 1)
            srv.stop()


class Push(unittest.TestCase):
    @needs("prometheus-pushgateway")
    def test_push_lands_with_labels(self):
        path, doc = run_result()
        s = doc["summary"]
        with pushgateway() as gw:
            # Something the user pushed to the same group before: a POST
            # leaves it alone.
            st, _ = get(gw.url + "/metrics/job/bench/env/ci/run_id/nightly",
                        data=b"# TYPE user_metric gauge\nuser_metric 42\n", method="PUT")
            self.assertEqual(st, 200)
            p = export("--push", gw.url, "--push-job", "bench", "--push-label", "env=ci",
                       "--push-label", "run_id=nightly", path)
            self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))

            def group():
                st, body = get(gw.url + "/api/v1/metrics")
                assert st == 200, st
                data = json.loads(body)["data"]
                return [g for g in data if g["labels"].get("job") == "bench"]

            groups = group()
            self.assertEqual(len(groups), 1)
            g = groups[0]
            self.assertEqual(g["labels"], {"job": "bench", "env": "ci", "run_id": "nightly"})
            self.assertIn("user_metric", g)
            req = g["llmload_requests_total"]
            self.assertEqual(req["type"], "COUNTER")
            by_outcome = {m["labels"]["outcome"]: float(m["value"]) for m in req["metrics"]}
            self.assertEqual(by_outcome, {"ok": s["ok"], "error": s["failed"]})
            m0 = req["metrics"][0]["labels"]
            # grouping labels come from the path; the body's own run labels stay
            self.assertEqual((m0["run_id"], m0["env"], m0["job"], m0["model"]),
                             ("nightly", "ci", "bench", "llmload-mock"))
            self.assertEqual(m0["target"], doc["config"]["url"])
            hist = g["llmload_request_duration_seconds"]
            self.assertEqual(hist["type"], "HISTOGRAM")
            self.assertEqual(int(hist["metrics"][0]["count"]), s["e2e"]["n"])

            # the gateway's own exposition holds the same values
            st, body = get(gw.url + "/metrics")
            k = parse_expo(body.decode())
            key = ('llmload_requests_total{api="%s",env="ci",instance="",job="bench",'
                   'model="llmload-mock",outcome="ok",run_id="nightly",target="%s"}'
                   % (doc["config"]["api"], doc["config"]["url"]))
            self.assertEqual(k[key], s["ok"])

            # a value with a '/' goes base64 in the path and arrives whole
            p = export("--push", gw.url, "--push-job", "bench", "--push-label", "env=a/b", path)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(any(x["labels"].get("env") == "a/b" for x in group()))

            # --push-replace (PUT) replaces the whole group: the user's metric goes
            p = export("--push", gw.url, "--push-job", "bench", "--push-label", "env=ci",
                       "--push-label", "run_id=nightly", "--push-replace", path)
            self.assertEqual(p.returncode, 0, p.stderr)
            g = [x for x in group() if x["labels"].get("env") == "ci"][0]
            self.assertNotIn("user_metric", g)
            self.assertIn("llmload_requests_total", g)

    @needs("prometheus-pushgateway")
    def test_interval_push_from_the_loop(self):
        path, doc = run_result()
        with pushgateway() as gw:
            with ObsServe(path, "--push", gw.url, "--push-interval", "200") as s:
                def pushed():
                    st, body = get(gw.url + "/api/v1/metrics")
                    return [g for g in json.loads(body)["data"]
                            if "llmload_requests_total" in g]
                g = wait_for("an interval push", pushed)[0]
                self.assertEqual(g["labels"]["job"], "llmload")
                # a second push follows the first
                first = float(g["push_time_seconds"]["metrics"][0]["value"])
                wait_for("a second push", lambda: float(
                    pushed()[0]["push_time_seconds"]["metrics"][0]["value"]) > first)
                last = s.stop()
        m = re.match(r"obs_serve: \d+ scrapes, (\d+) pushed, (\d+) push failures$", last)
        self.assertTrue(m, last)
        # the push in flight at the stop may have landed unseen by the pusher
        self.assertGreaterEqual(int(m.group(1)), 1, last)
        self.assertEqual(int(m.group(2)), 0)


class Monitor(unittest.TestCase):
    def test_monitor_watches_the_simulator(self):
        """The monitor finds the simulator's process from its listening
        socket and reads its vLLM-style /metrics while a run loads it:
        2 slots for 4 users means 2 running and some waiting."""
        with Mock("--decode-rate", "100", "--prefill-rate", "1000000", "--ttft-base", "0",
                  "--slots", "2") as m:
            run = subprocess.Popen([harness.LLMLOAD, "run", "--url", m.url, "--model",
                                    "llmload-mock", "-q", "-n", "12", "-c", "4",
                                    "--max-tokens", "100"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                mon = subprocess.run([OBS_SERVE, "--monitor", m.url + "/v1", "8", "500"],
                                     capture_output=True, text=True, timeout=120)
            finally:
                _, err = run.communicate(timeout=120)
            self.assertEqual(run.returncode, 0, err)
            self.assertEqual(mon.returncode, 0, mon.stderr)
            doc = json.loads(mon.stdout.splitlines()[0])
            src = doc["sources"]
            self.assertEqual(src["server"]["pid"], m.proc.pid)
            self.assertEqual(src["server"]["note"], "the listener of port %d" % m.port)
            self.assertEqual(src["server_metrics"]["server"], "vllm")
            self.assertEqual(src["server_metrics"]["failures"], 0)
            s = doc["summary"]
            self.assertEqual(s["server_requests_running"]["max"], 2)
            self.assertGreaterEqual(s["server_requests_waiting"]["max"], 1)
            self.assertLessEqual(s["server_requests_waiting"]["max"], 2)
            self.assertGreater(s["server_kv_cache_usage"]["max"], 0)
            self.assertGreater(s["server_rss_bytes"]["max"], 0)
            # what the simulator generated between the first and the last scrape
            gen = doc["server_counters"]["generation_tokens"]
            self.assertGreater(gen, 0)
            self.assertLessEqual(gen, 1200)
            self.assertEqual(doc["samples"], 8)
            self.assertEqual(doc["interval_s"], 0.5)
            self.assertEqual(len(doc["t"]), 8)
            self.assertIn("  server metrics (vllm): running", mon.stdout)
            self.assertRegex(mon.stdout, r"\n  server pid %d: CPU user" % m.proc.pid)


class Contrib(unittest.TestCase):
    @needs("promtool")
    def test_rules(self):
        c = subprocess.run(["promtool", "check", "rules", RULES], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(c.returncode, 0, c.stdout + c.stderr)
        self.assertIn("SUCCESS: 7 rules found", c.stdout)
        # the alerts fire when they should, and only then
        c = subprocess.run(["promtool", "test", "rules", RULES_TEST], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(c.returncode, 0, c.stdout + c.stderr)

    def test_dashboard_metrics_exist(self):
        with open(DASHBOARD) as f:
            dash = json.load(f)
        exprs = []

        def walk(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    if k in ("expr", "query", "definition") and isinstance(v, str):
                        exprs.append(v)
                    walk(v)
            elif isinstance(o, list):
                for v in o:
                    walk(v)
        walk(dash)
        titles = [p["title"] for p in dash["panels"]]
        for want in ("E2E latency percentiles", "TTFT heatmap", "Requests/s", "Tokens/s",
                     "Error rate by class", "p95 vs concurrency across sweep levels",
                     "In flight and queue"):
            self.assertIn(want, titles)
        self.assertEqual([p["type"] for p in dash["panels"] if p["title"] == "TTFT heatmap"],
                         ["heatmap"])
        self.assertEqual(len({p["id"] for p in dash["panels"]}), len(dash["panels"]))
        used = set()
        for e in exprs:
            used |= set(re.findall(r"\bllmload_[a-z0-9_]+", e))
        with open(RULES) as f:
            rule_names = set(re.findall(r"\bllmload_[a-z0-9_]+", f.read()))
        self.assertGreater(len(used), 10)

        # What a live sweep level exposes: every family the writer has.
        path, _ = run_result()
        with ObsServe(path, "--sweep", "concurrency=4") as s:
            st, body = get(s.url)
            self.assertEqual(st, 200)
            names = sample_names(body.decode())
            s.stop()
        self.assertEqual(sorted(used - names), [])
        self.assertEqual(sorted(rule_names - names), [])


def gateway_groups(gw, job):
    """The Pushgateway's groups of job, by their labels."""
    st, body = get(gw.url + "/api/v1/metrics")
    assert st == 200, st
    return [g for g in json.loads(body)["data"] if g["labels"].get("job") == job]


def pushed_value(group, name, **labels):
    """The value of the sample of name with labels in a Pushgateway group."""
    for m in group[name]["metrics"]:
        if all(m["labels"].get(k) == v for k, v in labels.items()):
            return float(m["value"])
    raise KeyError("%s%r" % (name, labels))


class LiveRun(unittest.TestCase):
    """`run`, `sweep` and `compare` with --prometheus, --push and the
    monitor: src/observe driven by the engine itself."""

    def promql(self, prom, q):
        st, body = get(prom.url + "/api/v1/query?" + urllib.parse.urlencode({"query": q}))
        r = json.loads(body)
        assert r["status"] == "success", r
        return r["data"]["result"]

    @needs("prometheus", "prometheus-pushgateway")
    def test_prometheus_scrapes_a_running_run(self):
        """Prometheus scrapes a run while it goes; what it saw is at most
        the final counts and more than none, and the final push (after the
        loop ends, where no scrape can follow) is the JSON exactly."""
        port = free_port()
        out = os.path.join(harness.tmpdir(), "r.json")
        with Mock(*FAST, "--fault-500", "0.1") as m, \
                prometheus("http://127.0.0.1:%d/metrics" % port) as prom, pushgateway() as gw:
            run = subprocess.Popen([harness.LLMLOAD, "run", "--url", m.url, "--model", "llmload-mock",
                                    "-q", "-d", "6s", "-c", "2", "--max-tokens", "8",
                                    "--prometheus", "127.0.0.1:%d" % port, "--push", gw.url,
                                    "--json", out],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                # seen while the run goes: not finished, requests counted
                res = wait_for("a scrape of the running run", lambda: [
                    r for r in self.promql(prom, 'llmload_requests_total{outcome="ok"} > 0')], 30)
                self.assertEqual(res[0]["metric"]["job"], "llmload")
                self.assertEqual(float(self.promql(prom, "llmload_run_finished")[0]["value"][1]), 0)
                self.assertEqual(float(self.promql(prom, "llmload_concurrency_limit")[0]["value"][1]),
                                 2)
            finally:
                _, err = run.communicate(timeout=120)
            self.assertIn(run.returncode, (0, 1), err)
            doc = json.load(open(out))
            s = doc["summary"]
            labels = res[0]["metric"]
            self.assertEqual((labels["model"], labels["api"], labels["run_id"], labels["target"]),
                             ("llmload-mock", doc["config"]["api"], doc["environment"]["run_id"],
                              doc["config"]["url"]))
            seen = {}
            for name, q in (("ok", 'llmload_requests_total{outcome="ok"}'),
                            ("failed", 'llmload_requests_total{outcome="error"}'),
                            ("output_tokens", "llmload_output_tokens_total")):
                v = float(self.promql(prom, "max_over_time(%s[5m])" % q)[0]["value"][1])
                seen[name] = v
                self.assertLessEqual(v, s[name], name)
            self.assertGreater(seen["ok"], 0)
            self.assertGreater(seen["output_tokens"], 0)
            g = gateway_groups(gw, "llmload")
            self.assertEqual(len(g), 1)
            g = g[0]
            self.assertEqual(pushed_value(g, "llmload_requests_total", outcome="ok"), s["ok"])
            self.assertEqual(pushed_value(g, "llmload_requests_total", outcome="error"), s["failed"])
            self.assertEqual(pushed_value(g, "llmload_request_errors_total", **{"class": "status"}),
                             s["errors"]["status"])
            self.assertEqual(pushed_value(g, "llmload_output_tokens_total"), s["output_tokens"])
            self.assertEqual(pushed_value(g, "llmload_run_finished"), 1)
            self.assertEqual(int(g["llmload_request_duration_seconds"]["metrics"][0]["count"]),
                             s["e2e"]["n"])

    @needs("prometheus-pushgateway")
    def test_run_push_lands_with_labels(self):
        """run --push: the final values under the job and grouping labels
        asked for, the run's own labels in the body."""
        out = os.path.join(harness.tmpdir(), "r.json")
        with Mock(*FAST, "--fault-500", "0.1") as m, pushgateway() as gw:
            p = run_llmload("run", "--url", m.url, "--model", "llmload-mock", "-q", "-n", "30",
                            "-c", "4", "--max-tokens", "8", "--json", out, "--push", gw.url,
                            "--push-job", "bench", "--push-label", "env=ci")
            self.assertIn(p.returncode, (0, 1), p.stderr)
            doc = json.load(open(out))
            s = doc["summary"]
            groups = gateway_groups(gw, "bench")
            self.assertEqual(len(groups), 1)
            g = groups[0]
            self.assertEqual(g["labels"], {"job": "bench", "env": "ci"})
            self.assertEqual(pushed_value(g, "llmload_requests_total", outcome="ok"), s["ok"])
            self.assertEqual(pushed_value(g, "llmload_requests_total", outcome="error"), s["failed"])
            self.assertEqual(pushed_value(g, "llmload_input_tokens_total"), s["input_tokens"])
            self.assertEqual(pushed_value(g, "llmload_output_tokens_total"), s["output_tokens"])
            m0 = g["llmload_requests_total"]["metrics"][0]["labels"]
            self.assertEqual((m0["model"], m0["api"], m0["run_id"], m0["target"]),
                             ("llmload-mock", doc["config"]["api"], doc["environment"]["run_id"],
                              doc["config"]["url"]))
            self.assertEqual(int(g["llmload_time_to_first_token_seconds"]["metrics"][0]["count"]),
                             s["ttft"]["n"])

    @needs("prometheus-pushgateway")
    def test_sweep_pushes_each_level(self):
        """sweep --push: each level under its own sweep_level grouping
        label, with its own values; compare adds the target's name.  The
        JSON keeps each level's monitor and the sweep's run_id."""
        out = os.path.join(harness.tmpdir(), "s.json")
        with Mock(*FAST) as m, pushgateway() as gw:
            p = run_llmload("sweep", "--url", m.url, "--model", "llmload-mock", "-q",
                            "--concurrency", "1,2", "-n", "6", "--max-tokens", "8", "--warmup", "0",
                            "--json", out, "--push", gw.url, "--push-label", "env=ci")
            self.assertEqual(p.returncode, 0, p.stderr)
            doc = json.load(open(out))
            groups = {g["labels"]["sweep_level"]: g for g in gateway_groups(gw, "llmload")}
            self.assertEqual(sorted(groups), ["1", "2"])
            for i, lv in enumerate(doc["levels"]):
                g = groups["%g" % lv["level"]]
                self.assertEqual(g["labels"], {"job": "llmload", "env": "ci",
                                               "sweep_level": "%g" % lv["level"]})
                self.assertEqual(pushed_value(g, "llmload_requests_total", outcome="ok"),
                                 lv["summary"]["ok"])
                self.assertEqual(pushed_value(g, "llmload_output_tokens_total"),
                                 lv["summary"]["output_tokens"])
                self.assertEqual(pushed_value(g, "llmload_sweep_level", parameter="concurrency"),
                                 lv["level"])
                self.assertEqual(pushed_value(g, "llmload_sweep_level_index"), i)
                m0 = g["llmload_requests_total"]["metrics"][0]["labels"]
                self.assertEqual(m0["run_id"], doc["environment"]["run_id"])
                self.assertGreaterEqual(lv["monitor"]["samples"], 1)
                self.assertEqual(lv["monitor"]["sources"]["server"]["pid"], m.proc.pid)

            with Mock(*FAST) as m2:
                p = run_llmload("compare", "--target", "a=" + m.url, "--target", "b=" + m2.url,
                                "--model", "llmload-mock", "-q", "--concurrency", "1", "-n", "4",
                                "--max-tokens", "8", "--push", gw.url, "--push-job", "cmp",
                                "--monitor", "none")
            self.assertEqual(p.returncode, 0, p.stderr)
            groups = gateway_groups(gw, "cmp")
            self.assertEqual(sorted((g["labels"]["target"], g["labels"]["sweep_level"])
                                    for g in groups), [("a", "1"), ("b", "1")])
            for g in groups:
                self.assertEqual(pushed_value(g, "llmload_requests_total", outcome="ok"), 4)

    def test_push_failure_exits_3(self):
        """A push nobody takes: the run's outputs are written, one line
        says why, and the exit code is 3."""
        out = os.path.join(harness.tmpdir(), "r.json")
        port = free_port()
        with Mock(*FAST) as m:
            p = run_llmload("run", "--url", m.url, "--model", "llmload-mock", "-q", "-n", "4",
                            "--json", out, "--push", "http://127.0.0.1:%d" % port)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("llmload run: --push: push to 127.0.0.1:%d: connect:" % port, p.stderr)
        self.assertEqual(json.load(open(out))["summary"]["ok"], 4)

    def test_result_has_monitor(self):
        """The result's monitor section: client samples, and the simulator
        on loopback found by its listening socket."""
        out = os.path.join(harness.tmpdir(), "r.json")
        with Mock("--decode-rate", "20", "--ttft-base", "0") as m:
            p = run_llmload("run", "--url", m.url, "--model", "llmload-mock", "-n", "4", "-c", "2",
                            "--max-tokens", "30", "--json", out)
            self.assertEqual(p.returncode, 0, p.stderr)
        mon = json.load(open(out))["monitor"]
        self.assertGreaterEqual(mon["samples"], 1)
        self.assertEqual(len(mon["t"]), len(mon["series"]["client_cpu_user"]))
        self.assertTrue(mon["sources"]["client"]["on"])
        self.assertRegex(mon["sources"]["client"]["note"], r"^pid \d+$")
        self.assertEqual(mon["sources"]["server"]["pid"], m.proc.pid)
        self.assertEqual(mon["sources"]["server"]["note"], "the listener of port %d" % m.port)
        self.assertGreater(mon["summary"]["client_rss_bytes"]["max"], 0)
        self.assertIn("\nMonitor: %d samples" % mon["samples"], p.stdout)

        # --monitor none: no section
        with Mock(*FAST) as m:
            p = run_llmload("run", "--url", m.url, "--model", "llmload-mock", "-q", "-n", "2",
                            "--json", out, "--monitor", "none")
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("monitor", json.load(open(out)))
        self.assertNotIn("Monitor:", p.stdout)

    def test_prometheus_port_in_use(self):
        """--prometheus on a port another process listens on: the run
        could not be done (exit 3), said in one line, no request sent."""
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        try:
            with Mock(*FAST) as m:
                p = run_llmload("run", "--url", m.url, "--model", "llmload-mock", "-q", "-n", "2",
                                "--prometheus", "127.0.0.1:%d" % port)
        finally:
            s.close()
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(p.stderr, "llmload run: 127.0.0.1:%d: cannot listen: address already in use\n"
                         % port)
        self.assertEqual(p.stdout, "")


if __name__ == "__main__":
    miss = missing_programs(sys.argv[1:])
    if miss:
        print("SKIP: not installed: %s (apt-get install prometheus prometheus-pushgateway)"
              % ", ".join(miss))
        sys.exit(77)
    harness.main()

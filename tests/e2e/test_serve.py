"""`llmload serve`: the dashboard's API, its run in a child process, its
events, and its security checks (docs/dashboard.md).

Every server here listens on 127.0.0.1 port 0 and prints its URL; waits
poll with a deadline."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

import cdp
import harness
from harness import FAST, LLMLOAD, Mock, http, tmpdir

TOKEN = "s3cret-token-0123456789"


class Serve:
    """`llmload serve` in a child process; url/port from its first line."""

    def __init__(self, *args, results=None):
        self.results = results or tmpdir()
        self.args = [LLMLOAD, "serve", "--listen", "127.0.0.1:0", "--results-dir", self.results] + list(args)
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = harness._readline(self.proc.stdout, 20.0)
        if not line:
            self.stop()
            raise RuntimeError("serve did not print its URL: %s" % self.proc.stderr.read().decode())
        self.url = line.decode().strip()
        assert self.url.startswith("http://127.0.0.1:") and self.url.endswith("/"), self.url
        self.port = int(self.url.rstrip("/").rsplit(":", 1)[1])

    def get(self, path, headers=None):
        return http(self.port, "GET", path, headers=headers)

    def post(self, path, body, headers=None):
        return http(self.port, "POST", path, body=body, headers=headers)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("serve did not stop within 20s of SIGTERM")
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def wait_for(fn, what, timeout=30.0):
    """Polls fn() until it returns a true value; fails after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def statuses(srv):
    r = srv.get("/api/targets")
    assert r.status == 200, r.body
    return {t["name"]: t["status"] for t in r.json()}


class EventStream:
    """GET /api/events on a raw socket, read event by event."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.s.sendall(("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port).encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"text/event-stream" in head, head

    def _until(self, sep):
        while sep not in self.buf:
            b = self.s.recv(65536)
            if not b:
                raise AssertionError("the event stream closed: %r" % self.buf[-300:])
            self.buf += b
        out, _, self.buf = self.buf.partition(sep)
        return out

    def next(self):
        """(event, data) of the next event; comments are skipped."""
        while True:
            block = self._until(b"\n\n").decode()
            ev, data = None, None
            for line in block.split("\n"):
                if line.startswith("event: "):
                    ev = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
            if ev:
                return ev, data

    def close(self):
        self.s.close()


class TestServe(unittest.TestCase):

    def test_non_loopback_needs_token(self):
        r = harness.run_llmload("serve", "--listen", "0.0.0.0:0", timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("not a loopback address", r.stderr)
        self.assertIn("--token", r.stderr)
        r = harness.run_llmload("serve", "--listen", "127.0.0.1:0", "--token", "short", timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("at least 16", r.stderr)
        r = harness.run_llmload("serve", "--target", "a=ftp://x", timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        r = harness.run_llmload("serve", "--target", "a=http://127.0.0.1:1", timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("at least two", r.stderr)

    def test_target_status_follows_the_servers(self):
        with Mock(*FAST) as a, Mock(*FAST) as b, \
                Serve("--target", "a=" + a.url, "--target", "b=" + b.url) as srv:
            wait_for(lambda: statuses(srv) == {"a": "up", "b": "up"}, "both targets up")
            t = {x["name"]: x for x in srv.get("/api/targets").json()}
            self.assertEqual(t["a"]["protocol"], "ollama")
            self.assertEqual(t["a"]["models"], ["llmload-mock"])
            self.assertEqual(t["b"]["url"], b.url)
            b.stop()
            wait_for(lambda: statuses(srv) == {"a": "up", "b": "down"}, "b down, a up")
            m = srv.get("/metrics")
            self.assertEqual(m.status, 200)
            text = m.body.decode()
            self.assertIn('llmload_serve_target_up{target="a"} 1', text)
            self.assertIn('llmload_serve_target_up{target="b"} 0', text)
            self.assertIn("llmload_serve_run_active 0", text)

    def test_run_streams_events_and_saves_the_comparison(self):
        slow = ["--decode-rate", "200", "--prefill-rate", "1000000", "--ttft-base", "50ms"]
        with Mock(*FAST) as fast, Mock(*slow) as sl, \
                Serve("--target", "quick=" + fast.url, "--target", "slow=" + sl.url) as srv:
            ev = EventStream(srv.port)
            try:
                r = srv.post("/api/run", {"levels": [1, 2], "requests": 4, "max_tokens": 16,
                                          "prompt": "hello", "slo": "p95(ttft)<=30s"})
                self.assertEqual(r.status, 200, r.body)
                run_id = r.json()["id"]
                busy = srv.post("/api/run", {"levels": [1], "requests": 1})
                self.assertEqual(busy.status, 409, busy.body)
                kinds, done, samples = [], None, []
                while done is None:
                    kind, data = ev.next()
                    kinds.append(kind)
                    self.assertEqual(data["id"], run_id)
                    if kind == "done":
                        done = data
                    elif kind == "sample":
                        samples.append(data)
            finally:
                ev.close()
            self.assertEqual(kinds[0], "start")
            self.assertGreater(kinds.count("log"), 2)
            # The child's pushes: each level's final sample, per target.
            finals = [(s["target"], s["level"]) for s in samples if s["finished"] == 1]
            self.assertEqual(sorted(finals), [("quick", "1"), ("quick", "2"), ("slow", "1"), ("slow", "2")])
            for s in samples:
                self.assertEqual(s["id"], run_id)
                self.assertGreaterEqual(s["output_tokens"], 0)
            self.assertEqual(done["exit"], 0)
            self.assertTrue(done["saved"])
            self.assertEqual(done["recommendation"]["target"], "quick")
            doc = srv.get("/api/runs/%s.json" % run_id)
            self.assertEqual(doc.status, 200)
            d = doc.json()
            self.assertEqual(d["schema"], "llmload.compare/1")
            self.assertEqual([t["name"] for t in d["targets"]], ["quick", "slow"])
            for t in d["targets"]:
                self.assertEqual([l["level"] for l in t["sweep"]["levels"]], [1, 2])
                self.assertEqual(t["sweep"]["levels"][0]["summary"]["ok"], 4)
            self.assertEqual(d["recommendation"]["target"], "quick")
            self.assertFalse(d["interrupted"])
            self.assertEqual(d["targets"][0]["sweep"]["slo"], ["p95(ttft)<=30s"])
            csv = srv.get("/api/runs/%s.csv" % run_id)
            self.assertEqual(csv.status, 200)
            self.assertEqual(len(csv.body.decode().strip().split("\n")), 1 + 4)
            # The HTML report follows in its own child, announced by an event.
            wait_for(lambda: srv.get("/api/runs").json()[0]["html"], "the HTML report")
            html = srv.get("/api/runs/%s.html" % run_id)
            self.assertEqual(html.status, 200)
            self.assertIn("attachment", html.headers["content-disposition"])
            self.assertIn(b"<html", html.body[:2000].lower())
            runs = srv.get("/api/runs").json()
            self.assertEqual(runs[0]["id"], run_id)
            self.assertTrue(os.path.exists(os.path.join(srv.results, run_id + ".json")))
            self.assertEqual(srv.get("/api/runs/..%2Fx.json").status, 404)
            self.assertEqual(srv.get("/api/runs/nope.json").status, 404)
            self.assertEqual(srv.post("/api/push/0123/metrics/job/x", "").status, 404)

    def test_cancel_keeps_what_was_measured(self):
        slow = ["--decode-rate", "50", "--ttft-base", "0"]
        with Mock(*FAST) as a, Mock(*slow) as b, \
                Serve("--target", "a=" + a.url, "--target", "b=" + b.url) as srv:
            self.assertEqual(srv.post("/api/cancel", {}).status, 409)
            ev = EventStream(srv.port)
            try:
                r = srv.post("/api/run", {"levels": [1, 2], "requests": 20, "max_tokens": 16})
                self.assertEqual(r.status, 200, r.body)
                # Cancel within b's last level: a's sweep is then complete,
                # and b's first level too.
                while True:
                    kind, data = ev.next()
                    if kind == "log" and data["line"].startswith("b: concurrency 1"):
                        break
                self.assertEqual(srv.post("/api/cancel", {}).status, 200)
                while True:
                    kind, data = ev.next()
                    if kind == "done":
                        break
            finally:
                ev.close()
            self.assertTrue(data["cancelled"])
            self.assertEqual(data["exit"], 4)       # compare's "interrupted"
            self.assertTrue(data["saved"])
            d = srv.get("/api/runs/%s.json" % data["id"]).json()
            self.assertTrue(d["interrupted"])
            self.assertEqual(len(d["targets"][0]["sweep"]["levels"]), 2)
            self.assertEqual([l["level"] for l in d["targets"][1]["sweep"]["levels"]][:1], [1])

    def test_token_cookie_and_bearer(self):
        d = tmpdir()
        tf = os.path.join(d, "token")
        with open(tf, "w") as f:
            f.write(TOKEN + "\n")
        with Serve("--target", "a=http://127.0.0.1:9", "--target", "b=http://127.0.0.1:9",
                   "--token-file", tf) as srv:
            for path in ("/", "/api/targets", "/api/events", "/metrics", "/assets/chart.js"):
                self.assertEqual(srv.get(path).status, 401, path)
            self.assertEqual(srv.post("/api/run", {}).status, 401)
            self.assertEqual(srv.get("/?token=wrong-token-0123456789").status, 401)
            r = srv.get("/?token=" + TOKEN)
            self.assertEqual(r.status, 200)
            cookie = r.headers["set-cookie"]
            self.assertIn("llmload_token=" + TOKEN, cookie)
            self.assertIn("HttpOnly", cookie)
            self.assertIn("SameSite=Strict", cookie)
            c = cookie.split(";")[0]
            self.assertEqual(srv.get("/api/targets", {"Cookie": "x=1; " + c}).status, 200)
            self.assertEqual(srv.get("/api/targets", {"Authorization": "Bearer " + TOKEN}).status, 200)
            self.assertEqual(srv.get("/api/targets", {"Authorization": "Bearer " + TOKEN + "x"}).status, 401)
            self.assertEqual(srv.get("/metrics", {"Cookie": c}).status, 200)

    def test_host_and_origin(self):
        with Serve("--target", "a=http://127.0.0.1:9", "--target", "b=http://127.0.0.1:9") as srv:
            p = srv.port
            self.assertEqual(srv.get("/", {"Host": "evil.example:%d" % p}).status, 421)
            self.assertEqual(srv.get("/api/targets", {"Host": "127.0.0.1:%d" % (p + 1)}).status, 421)
            self.assertEqual(srv.get("/", {"Host": "localhost:%d" % p}).status, 200)
            r = srv.post("/api/run", {"levels": [1]}, {"Origin": "http://evil.example"})
            self.assertEqual(r.status, 403)
            r = srv.post("/api/cancel", {}, {"Origin": "null"})
            self.assertEqual(r.status, 403)
            # The page's own Origin passes to the request's checks.
            r = srv.post("/api/run", {"url": "http://10.0.0.1"}, {"Origin": "http://127.0.0.1:%d" % p})
            self.assertEqual(r.status, 400)

    def test_run_requests_are_bounded(self):
        with Serve("--target", "a=http://127.0.0.1:9", "--target", "b=http://127.0.0.1:9",
                   "--max-concurrency", "8", "--max-requests", "10") as srv:
            cases = [
                ({"url": "http://10.0.0.1:8000"}, "unknown field"),
                ({"targets": ["a", "http://10.0.0.1:8000"]}, "not a target of this server"),
                ({"targets": ["a", "c"]}, "not a target of this server"),
                ({"targets": ["a"]}, "at least two"),
                ({"levels": [1, 16]}, "--max-concurrency 8"),
                ({"requests": 11}, "--max-requests 10"),
                ({"levels": [0]}, "levels"),
                ({"max_tokens": "many"}, "max_tokens"),
                ({"model": "--url=http://x y"}, "model"),
                ("not json", "not a JSON object"),
            ]
            for body, want in cases:
                raw = body.encode() if isinstance(body, str) else None
                r = srv.post("/api/run", raw if raw is not None else body)
                self.assertEqual(r.status, 400, (body, r.body))
                self.assertIn(want, r.json()["error"], body)
            self.assertEqual(srv.get("/api/runs").json(), [])
            self.assertEqual(srv.post("/api/run", b"x" * 70000).status, 413)

    def test_page_and_assets_are_local(self):
        with Serve("--target", "a=http://127.0.0.1:9", "--target", "b=http://127.0.0.1:9") as srv:
            r = srv.get("/")
            self.assertEqual(r.status, 200)
            page = r.body.decode()
            self.assertIn('<script src="/assets/chart.js">', page)
            self.assertNotIn("innerHTML", page)
            self.assertNotIn("https://", page)
            self.assertIn("frame-ancestors 'none'", r.headers["content-security-policy"])
            js = srv.get("/assets/chart.js")
            self.assertEqual(js.status, 200)
            self.assertIn("javascript", js.headers["content-type"])
            self.assertGreater(len(js.body), 10000)
            self.assertEqual(srv.get("/nope").status, 404)
            self.assertEqual(http(srv.port, "DELETE", "/api/run").status, 405)

    def test_builtin_simulators(self):
        srv = Serve()
        try:
            st = wait_for(lambda: statuses(srv) == {"sim-fast": "up", "sim-slow": "up"} and
                          srv.get("/api/targets").json(), "the built-in simulators up")
            ports = [int(t["url"].rsplit(":", 1)[1]) for t in st]
        finally:
            self.assertEqual(srv.stop(), 0)
        # They die with the dashboard.
        for p in ports:
            def refused(port=p):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=2).close()
                    return False
                except OSError:
                    return True
            wait_for(refused, "simulator on port %d gone" % p)


class TestCompareInterrupt(unittest.TestCase):
    """The dashboard's Cancel is compare's Ctrl-C: it must mean
    "interrupted" (exit 4, the document written) at any moment."""

    def test_sigint_during_warm_up_exits_4(self):
        d = tmpdir()
        out = os.path.join(d, "c.json")
        # A 3 s TTFT: the compare's warm-up request is still waiting when
        # the signal comes.
        with Mock("--ttft-base", "3s") as m:
            p = subprocess.Popen([LLMLOAD, "compare", "--target", "a=" + m.url, "--target", "b=" + m.url,
                                  "-c", "1", "-n", "2", "--max-tokens", "4", "--json", out],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            # The warm-up request holds the simulator's slot: compare is
            # past its checks and inside the warm-up.
            wait_for(lambda: "llmload_mock_active_streams 1" in http(m.port, "GET", "/metrics").body.decode(),
                     "the warm-up request in the simulator")
            p.send_signal(signal.SIGINT)
            # A second Ctrl-C aborts the warm-up request itself: the warm-up
            # then has no success, which is still an interruption.
            harness.wait_line(self, p.stderr, b"interrupted:", 30, "compare said nothing of the interruption")
            p.send_signal(signal.SIGINT)
            o, e = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 4, e)
        self.assertIn(b"a: not run: interrupted", e)
        self.assertNotIn(b"warm-up request failed", e)
        with open(out) as f:
            doc = json.load(f)
        self.assertTrue(doc["interrupted"])
        self.assertEqual([t["error"] for t in doc["targets"]], ["not run: interrupted"] * 2)


class TestServeBrowser(unittest.TestCase):
    """The page in headless Chromium, driven over the DevTools protocol."""

    def test_page_in_chromium(self):
        slow = ["--decode-rate", "200", "--prefill-rate", "1000000", "--ttft-base", "50ms"]
        shots = os.environ.get("LLMLOAD_SCREENSHOT_DIR") or tmpdir()
        with Mock(*FAST) as fast, Mock(*slow) as sl, \
                Serve("--target", "quick=" + fast.url, "--target", "slow=" + sl.url) as srv:
            b = cdp.Browser()
            try:
                b.call("Page.enable")
                b.navigate(srv.url)
                b.wait('document.querySelectorAll(".target .dot.up").length === 2', "two green dots")
                names = b.eval('[...document.querySelectorAll(".target")].map(e => e.dataset.name)')
                self.assertEqual(names, ["quick", "slow"])
                b.eval('document.getElementById("levels").value = "1,2";'
                       'document.getElementById("requests").value = "4";'
                       'document.getElementById("max_tokens").value = "16"; true')
                b.eval('document.getElementById("run").click(); true')
                b.wait('document.getElementById("cancel").disabled === false', "the run to start")
                winner = b.wait('document.getElementById("rec").dataset.winner || null',
                                "the recommendation", timeout=120)
                self.assertEqual(winner, "quick")
                self.assertIn("recommend quick", b.eval('document.getElementById("rec").textContent'))
                self.assertGreater(b.eval('document.getElementById("log").textContent.split("\\n").length'), 5)
                # The charts were drawn from the saved run, one line per target.
                self.assertEqual(b.eval('charts.c_tput.data.datasets.map(d => d.label)'), ["quick", "slow"])
                self.assertEqual(b.eval('charts.c_tput.data.labels'), ["1", "2"])
                # The live per-level chart was drawn from the child's pushes.
                self.assertEqual(b.eval('charts.c_levels.data.datasets.map(d => d.label)'), ["quick", "slow"])
                # And the running level's percentiles and success rate (the
                # last level's, of the last target).
                lat = b.eval('charts.c_live_lat.data.datasets.map(d => d.label)')
                self.assertEqual(sorted(lat), ["slow E2E p95", "slow E2E p99", "slow TTFT p95", "slow TTFT p99"])
                self.assertTrue(b.eval('charts.c_live_lat.data.datasets.every(d => d.data.length > 0 && '
                                       'd.data.every(p => p.y > 0))'))
                self.assertEqual(b.eval('charts.c_live_ok.data.datasets.map(d => d.data.at(-1).y)'), [100])
                self.assertEqual(b.eval('charts.c_lat99.data.datasets.map(d => d.label)'), ["quick", "slow"])
                # A model input per target, offering what its check found.
                self.assertEqual(b.eval('[...document.querySelectorAll("#models input")].map(i => i.dataset.target)'),
                                 ["quick", "slow"])
                self.assertEqual(b.eval('[...document.querySelectorAll("#models datalist")[0].options]'
                                        '.map(o => o.value)'), ["llmload-mock"])
                b.wait('document.querySelectorAll("#runs li").length === 1', "the run in the history")
                # The JSON the page links to is the compare document.
                doc = b.eval('fetch(document.querySelector("#runs a[href$=\'.json\']").href)'
                             '.then(r => r.json())')
                self.assertEqual(doc["schema"], "llmload.compare/1")
                self.assertEqual(doc["recommendation"]["target"], "quick")
                path = os.path.join(shots, "dashboard.png")
                b.screenshot(path)
                sys.stderr.write("screenshot: %s\n" % path)
                self.assertGreater(os.path.getsize(path), 10000)
                sl.stop()
                b.wait('document.querySelector(\'.target[data-name="slow"] .dot\').classList.contains("down")',
                       "the stopped server's dot red")
                self.assertTrue(b.eval('document.querySelector(\'.target[data-name="quick"] .dot\')'
                                       '.classList.contains("up")'))
            finally:
                b.close()


if __name__ == "__main__":
    harness.main()

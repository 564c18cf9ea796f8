"""End-to-end tests of `llmload report` (issue 12): the text report, the
cairo pictures (PNG decoded here, SVG through xmllint, PDF through pdfinfo),
and the HTML page opened in real headless Chromium.

Chromium is driven over its DevTools protocol on a pipe
(--remote-debugging-pipe: NUL-terminated JSON on fds 3 and 4), with the
Python standard library only.  Servers are `llmload mock` children on
127.0.0.1 port 0, or a small Ollama-speaking server in this process whose
model name and error text carry markup.  No fixed port, no sleep that hopes.
"""
import json
import os
import re
import select
import shutil
import socketserver
import struct
import subprocess
import threading
import time
import unittest
import zlib

import harness

MOCK = ["--profile=fast", "--fault-500=0.1", "--seed=7"]

# Markup a hostile server might put in its model name or its error text.
EVIL_MODEL = 'm</script><script>window.PWNED=1</script><img src=x onerror="window.PWNED=2">"\'&'
EVIL_ERROR = 'bad</script><script>window.PWNED=3</script><img src=y onerror=window.PWNED=4>"'


def llmload(*args, **kw):
    return harness.run_llmload(*args, **kw)


def checked(*args, **kw):
    r = llmload(*args, **kw)
    assert r.returncode == 0, "llmload %s: exit %d\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr)
    return r


def run_doc(d, name="r", n="80", extra=()):
    """A simulator run with --json and --raw in d; returns the JSON path."""
    path = os.path.join(d, name + ".json")
    # The monitor's figures are TestMonitorFigures' concern: without it, the
    # figures of a run depend on its requests alone.
    checked("run", "-q", "-n", n, "-c", "4", "--max-tokens", "16", "--monitor", "none",
            "--json", path, "--raw", os.path.join(d, name + ".raw.jsonl"),
            *["--mock-arg=" + a for a in MOCK], *extra)
    return path


# ---- PNG, decoded with zlib ----

def png_decode(path):
    """(width, height, rows of RGB bytes) of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 255
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line) if bpp == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3))
        prev = line
    return w, h, rows


def colour_count(rows, rgb, tol=10):
    n = 0
    for row in rows:
        for i in range(0, len(row), 3):
            if abs(row[i] - rgb[0]) <= tol and abs(row[i + 1] - rgb[1]) <= tol and abs(row[i + 2] - rgb[2]) <= tol:
                n += 1
    return n


def non_white(rows):
    return sum(1 for row in rows for i in range(0, len(row), 3) if row[i:i + 3] != b"\xff\xff\xff")


# ---- headless Chromium over the DevTools protocol ----

def chromium_path():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


class Chromium:
    """One headless Chromium; load(url) opens a page and returns what it
    logged.  Talks over --remote-debugging-pipe, so no port is opened."""

    def __init__(self):
        self.profile = harness.tmpdir()
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()
        exe = chromium_path()
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                "--user-data-dir=" + self.profile, "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps", "--mute-audio",
                "--window-size=1400,1000", "about:blank"]
        # The protocol's fds are 3 (commands in) and 4 (replies out).
        self.proc = subprocess.Popen(
            ["sh", "-c", 'exec "$0" "$@" 3<&%d 4>&%d' % (to_r, from_w)] + args,
            pass_fds=(to_r, from_w), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_w)
        os.close(self.from_r)

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("Chromium did not answer in time")
            r, _, _ = select.select([self.from_r], [], [], left)
            if r:
                chunk = os.read(self.from_r, 1 << 16)
                if not chunk:
                    raise AssertionError("Chromium closed its DevTools pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=60):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == mid:
                if "error" in m:
                    raise AssertionError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, session, timeout=60):
        deadline = time.monotonic() + timeout
        for m in self.events:
            if m.get("method") == method and m.get("sessionId") == session:
                return m
        while True:
            m = self._read_message(deadline)
            self.events.append(m)
            if m.get("method") == method and m.get("sessionId") == session:
                return m

    def load(self, url):
        """Opens url in a new tab and waits for its load event.  Returns the
        session id."""
        tid = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = self.send("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        for m in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
            self.send(m, session=sid)
        self.send("Page.navigate", {"url": url}, session=sid)
        self.wait_event("Page.loadEventFired", sid)
        return sid

    def eval(self, sid, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=sid)
        if "exceptionDetails" in r:
            raise AssertionError("page script failed: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def problems(self, sid):
        """Console errors and warnings, uncaught exceptions, failed loads."""
        out = []
        for m in self.events:
            if m.get("sessionId") != sid:
                continue
            p = m.get("params", {})
            if m.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
                out.append("console.%s: %s" % (p["type"], [a.get("value") for a in p.get("args", [])]))
            elif m.get("method") == "Runtime.exceptionThrown":
                out.append("exception: %s" % p.get("exceptionDetails", {}).get("text"))
            elif m.get("method") == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: %s" % p["entry"].get("text"))
        return out

    def requests(self, sid):
        return [m["params"]["request"]["url"] for m in self.events
                if m.get("sessionId") == sid and m.get("method") == "Network.requestWillBeSent"]


# Non-white pixels of every chart canvas.
CANVAS_INK = """(function(){return Array.prototype.map.call(document.querySelectorAll('canvas'), function(c){
  var d=c.getContext('2d').getImageData(0,0,c.width,c.height).data, n=0;
  for (var i=0;i<d.length;i+=4) if (d[i+3]>0 && (d[i]<240||d[i+1]<240||d[i+2]<240)) n++;
  return n;});})()"""


class EvilHandler(socketserver.StreamRequestHandler):
    """One HTTP/1.1 exchange per connection, answered by the server's answer()."""

    def handle(self):
        first = self.rfile.readline().decode("latin-1").split()
        length = 0
        while True:
            line = self.rfile.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        self.rfile.read(length)
        status, ctype, body = self.server.answer(first[0], first[1])
        self.wfile.write(("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                          "Connection: close\r\n\r\n" % (status, "OK" if status == 200 else "Error",
                                                           ctype, len(body))).encode() + body)


class EvilOllama(socketserver.ThreadingTCPServer):
    """An Ollama server in a thread whose model name, generated text and
    error bodies hold markup: every third generate request fails with a 500."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), EvilHandler)
        self.count = 0
        self.lock = threading.Lock()
        self.url = "http://127.0.0.1:%d" % self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, method, path):
        if path == "/api/version":
            return 200, "application/json", b'{"version":"0.9.1"}'
        if path == "/api/tags":
            return 200, "application/json", json.dumps({"models": [{"name": EVIL_MODEL}]}).encode()
        if method != "POST":
            return 404, "text/plain", b""
        with self.lock:
            self.count += 1
            k = self.count
        if k % 3 == 0:
            return 500, "application/json", json.dumps({"error": EVIL_ERROR}).encode()
        lines = [{"model": EVIL_MODEL, "response": EVIL_ERROR, "done": False} for _ in range(3)]
        lines.append({"model": EVIL_MODEL, "response": "", "done": True, "eval_count": 3})
        return 200, "application/x-ndjson", "".join(json.dumps(l) + "\n" for l in lines).encode()

    def close(self):
        self.shutdown()
        self.server_close()


def synthetic_run(d, n, name="big"):
    """A result document from a real short run, with a synthetic --raw file
    of n requests beside it (what a long run writes, without the wait)."""
    path = run_doc(d, name, n="40")
    with open(os.path.join(d, name + ".raw.jsonl"), "w") as f:
        for i in range(n):
            start = i * 0.001
            ok = i % 50 != 0
            ev = [round(0.01 + k * 0.002, 6) for k in range(16)] if ok else []
            f.write(json.dumps({
                "index": i, "warmup": False, "scheduled_s": start, "start_s": start,
                "first_token_s": start + 0.01 if ok else None,
                "last_token_s": start + 0.04 if ok else None, "end_s": start + (0.041 if ok else 0.002),
                "status": 200 if ok else 500, "ok": ok, "error": None if ok else "status",
                "error_message": None if ok else "HTTP 500", "output_tokens": 16 if ok else None,
                "token_source": "server" if ok else None, "input_tokens": 7, "server_tokens": 16 if ok else None,
                "local_tokens": None, "total_duration_ns": None, "eval_count": None, "eval_duration_ns": None,
                "retried": False, "events": len(ev), "t0_mono_ns": 1, "events_s": ev},
                separators=(",", ":")) + "\n")
    return path


class TestReport(unittest.TestCase):

    # ---- text ----

    def test_text_report(self):
        d = harness.tmpdir()
        path = run_doc(d)
        doc = json.load(open(path))
        s = doc["summary"]
        out = checked("report", path).stdout
        self.assertIn("Run: r\n", out)
        self.assertIn("model llmload-mock at %s" % doc["config"]["url"], out)
        row = re.search(r"^  r +(\d+) +(\d+) +(\d+) ", out, re.M)
        self.assertIsNotNone(row, out)
        self.assertEqual([int(x) for x in row.groups()], [s["requests"], s["ok"], s["failed"]])
        self.assertRegex(out, r"\n  TTFT +%d " % s["ttft"]["n"])
        self.assertIn("TTFT p99 is", out)
        if s["failed"]:
            self.assertIn("status", out)
            self.assertIn(s["error_samples"]["status"], out)
        # -o x.txt holds the same report.
        checked("report", path, "-o", os.path.join(d, "r.txt"))
        self.assertEqual(open(os.path.join(d, "r.txt")).read(), out)

    def test_bad_inputs(self):
        d = harness.tmpdir()
        path = run_doc(d, n="10")
        r = llmload("report", path, "-o", os.path.join(d, "x.gif"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown kind of output", r.stderr)
        other = os.path.join(d, "other.json")
        json.dump({"schema": "something/9"}, open(other, "w"))
        r = llmload("report", other)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not an llmload document", r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        r = llmload("report", os.path.join(d, "r.raw.jsonl"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("must follow its run's JSON", r.stderr)
        r = llmload("report")
        self.assertEqual(r.returncode, 2)

    def test_chartjs_missing(self):
        d = harness.tmpdir()
        path = run_doc(d, n="10")
        r = llmload("report", path, "-o", os.path.join(d, "r.html"),
                    env={"LLMLOAD_CHARTJS": os.path.join(d, "none.js")})
        self.assertEqual(r.returncode, 2)
        self.assertIn("libjs-chart.js", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "r.html")))

    # ---- static pictures ----

    def test_png_overview(self):
        d = harness.tmpdir()
        path = run_doc(d)
        png = os.path.join(d, "r.png")
        checked("report", path, "-o", png)
        w, h, rows = png_decode(png)
        # Two columns of 640 x 420 cells, two rows (TTFT and E2E CDFs, the
        # timeline and the throughput), under a 40-pixel title.
        self.assertEqual((w, h), (1280, 40 + 2 * 420))
        self.assertGreater(non_white(rows), w * h // 20)
        self.assertGreater(colour_count(rows, (0x00, 0x72, 0xb2)), 200)   # the runs' lines
        self.assertGreater(colour_count(rows, (0x00, 0x9e, 0x73)), 200)   # streaming requests

    def test_dir_svg_pdf(self):
        d = harness.tmpdir()
        path = run_doc(d)
        figs = os.path.join(d, "figs") + "/"
        checked("report", path, "-o", figs)
        names = sorted(os.listdir(figs))
        expect = ["e2e_cdf", "e2e_hist", "in_flight", "itl_cdf", "itl_hist", "requests_over_time",
                  "timeline", "tokens_over_time", "tpot_cdf", "tpot_hist", "ttft_cdf", "ttft_hist"]
        doc = json.load(open(path))
        if doc["summary"]["failed"]:
            expect.append("errors_over_time")
        # The resource monitor's figures, for the series the run recorded.
        series = (doc.get("monitor") or {}).get("series", {})
        if "client_rss_bytes" in series or "server_rss_bytes" in series:
            expect.append("memory_over_time")
        if "client_cpu_user" in series or "server_cpu_user" in series:
            expect.append("cpu_over_time")
        if "system_cpu_steal" in series or "system_cpu_idle" in series:
            expect.append("system_cpu_over_time")
        self.assertEqual(names, sorted([n + ".png" for n in expect] + [n + ".svg" for n in expect]))
        # Failed requests are drawn in their class's colour on the timeline.
        w, h, rows = png_decode(os.path.join(figs, "timeline.png"))
        self.assertEqual((w, h), (800, 480))
        self.assertGreater(colour_count(rows, (0x00, 0x9e, 0x73)), 500)
        if "errors_over_time" in expect:
            self.assertGreater(colour_count(rows, (0xd5, 0x5e, 0x00)), 10)
        for n in expect:
            x = subprocess.run(["xmllint", "--noout", os.path.join(figs, n + ".svg")],
                               capture_output=True, text=True)
            self.assertEqual(x.returncode, 0, x.stderr)
        svg = os.path.join(d, "r.svg")
        checked("report", path, "-o", svg)
        x = subprocess.run(["xmllint", "--noout", svg], capture_output=True, text=True)
        self.assertEqual(x.returncode, 0, x.stderr)
        self.assertRegex(open(svg).read(400), r'<svg[^>]*width="1280pt"[^>]*height="880pt"')
        pdf = os.path.join(d, "r.pdf")
        checked("report", path, "-o", pdf)
        info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True)
        self.assertEqual(info.returncode, 0, info.stderr)
        self.assertEqual(int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1)), len(expect))

    def test_raw_beside_given_or_none(self):
        d = harness.tmpdir()
        path = run_doc(d)
        other = os.path.join(d, "elsewhere.jsonl")
        os.rename(os.path.join(d, "r.raw.jsonl"), other)

        def pages(*args):
            pdf = os.path.join(d, "p.pdf")
            checked("report", *args, "-o", pdf)
            out = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True).stdout
            return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))
        # Without a per-request file: the eight distribution figures only.
        self.assertEqual(pages(path), 8)
        with_raw = pages(path, other)
        self.assertGreaterEqual(with_raw, 12)
        os.rename(other, os.path.join(d, "r.raw.jsonl"))
        self.assertEqual(pages(path), with_raw)
        self.assertEqual(pages("--no-raw", path), 8)

    def test_deterministic(self):
        d = harness.tmpdir()
        path = run_doc(d)
        for ext in ("txt", "png", "svg", "pdf", "html"):
            a, b = os.path.join(d, "a." + ext), os.path.join(d, "b." + ext)
            checked("report", path, "-o", a)
            checked("report", path, "-o", b)
            self.assertEqual(open(a, "rb").read(), open(b, "rb").read(), ext)

    def test_stdout(self):
        # -o - writes the document, in the kind --format names, to stdout:
        # the same bytes as the file, nothing else there, nothing on stderr.
        d = harness.tmpdir()
        path = run_doc(d)
        for ext in ("txt", "png", "svg", "pdf", "html"):
            f = os.path.join(d, "f." + ext)
            checked("report", path, "-o", f)
            p = subprocess.run([harness.LLMLOAD, "report", path, "-o", "-", "--format", ext],
                               capture_output=True)
            self.assertEqual((p.returncode, p.stderr), (0, b""), ext)
            self.assertEqual(p.stdout, open(f, "rb").read(), ext)
        self.assertEqual(checked("report", path, "-o", "-").stdout, open(os.path.join(d, "f.txt")).read())
        # Into a pipe that is read: the PNG's signature arrives first.
        p = subprocess.run("%s report %s --format png | head -c 8" % (harness.LLMLOAD, path),
                           shell=True, capture_output=True)
        self.assertEqual(p.stdout, b"\x89PNG\r\n\x1a\n")
        for args, msg in ((["--format", "dir"], "--format dir: a directory of figures is several "
                           "files, which cannot go to the standard output (give -o DIR/)"),
                          (["--format", "gif"], "--format gif: give html, png, svg, pdf or txt"),
                          (["-o", os.path.join(d, "x.png"), "--format", "svg"],
                           "--format is for -o - (%s names its own kind)" % os.path.join(d, "x.png"))):
            r = llmload("report", path, *args)
            self.assertEqual((r.returncode, r.stdout), (2, ""), args)
            self.assertIn(msg, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "x.png")))

    # ---- sweeps, compares, repeated runs, mixed sets ----

    def test_sweep_compare_repeat_mixed(self):
        d = harness.tmpdir()
        sw = []
        for name, slots in (("fast", "4"), ("slow", "1")):
            p = os.path.join(d, name + ".json")
            checked("sweep", "-q", "--concurrency", "1,2,4", "-n", "12", "--max-tokens", "8",
                    "--slo", "p95(ttft)<=2s", "--mock-arg=--profile=fast", "--mock-arg=--slots=" + slots,
                    "--json", p)
            sw.append(p)
        out = checked("report", *sw).stdout
        self.assertIn("Sweep of concurrency: fast, slow", out)
        self.assertIn("Levels by concurrency: fast", out)
        self.assertIn("TTFT p99 grew", out)
        figs = os.path.join(d, "sweep") + "/"
        checked("report", *sw, "-o", figs)
        self.assertEqual(sorted(os.listdir(figs)),
                         sorted(n + e for n in ("throughput", "rps", "ttft", "e2e", "success")
                                for e in (".png", ".svg")))
        cmp_path = os.path.join(d, "cmp.json")
        checked("compare", *sw, "--json", cmp_path)
        out = checked("report", cmp_path).stdout
        self.assertIn("Compare of concurrency: fast, slow", out)
        self.assertIn("Winner per level", out)
        # The report shows the verdict compare reached; with 12 requests a
        # level one stall can leave the interval over 1 (test_verdict tests
        # the verdicts themselves).
        self.assertRegex(out, r"recommend fast|no clear winner")
        self.assertNotIn("recommend slow", out)
        base = os.path.join(d, "base.json")
        runs = [os.path.join(d, "k%d.json" % k) for k in range(3)]
        checked("run", "-q", "-n", "10", "-c", "2", "--max-tokens", "8", "--repeat", "3",
                "--save-baseline", base, "--mock-arg=--profile=fast")
        out = checked("report", base).stdout
        self.assertIn("Repeated run: base (3 runs)", out)
        self.assertRegex(out, r"output tokens/s +\d+ +\d+ +\d+ +\d+ \d+ \d+")
        for p in runs:
            checked("run", "-q", "-n", "10", "-c", "2", "--max-tokens", "8", "--json", p,
                    "--mock-arg=--profile=fast")
        out = checked("report", "--repeat", *runs).stdout
        self.assertIn("(3 runs)", out)
        # `run --repeat 3 --json` keeps the three runs: drawn as a repeated run.
        rep = os.path.join(d, "rep.json")
        checked("run", "-q", "-n", "10", "-c", "2", "--max-tokens", "8", "--repeat", "3",
                "--json", rep, "--mock-arg=--profile=fast")
        out = checked("report", rep).stdout
        self.assertIn("Repeated run: rep (3 runs)", out)
        self.assertRegex(out, r"output tokens/s +\d+ +\d+ +\d+ +\d+ \d+ \d+")
        # A mixed set: a section each, in the order given.
        out = checked("report", runs[0], sw[0], base).stdout
        titles = re.findall(r"^(\S.*)\n=+$", out, re.M)
        self.assertEqual(titles, ["Run: k0", "Sweep of concurrency: fast", "Repeated run: base (3 runs)"])

    # ---- the HTML page in Chromium ----

    def chromium(self):
        if not chromium_path():
            self.skipTest("chromium is not installed (./dev setup installs it)")
        b = Chromium()
        self.addCleanup(b.close)
        return b

    def check_page(self, browser, html):
        sid = browser.load("file://" + html)
        n = browser.eval(sid, "document.querySelectorAll('canvas').length")
        self.assertGreater(n, 0)
        self.assertEqual(browser.eval(sid, "document.body.getAttribute('data-charts')"), str(n))
        ink = browser.eval(sid, CANVAS_INK)
        self.assertEqual(len(ink), n)
        for i, px in enumerate(ink):
            self.assertGreater(px, 2000, "canvas %d is blank" % i)
        self.assertEqual(browser.problems(sid), [])
        for u in browser.requests(sid):
            self.assertTrue(u.startswith("file://") or u.startswith("data:"), u)
        return sid

    def test_html_in_chromium(self):
        d = harness.tmpdir()
        run = run_doc(d)
        sweep = os.path.join(d, "s.json")
        checked("sweep", "-q", "--concurrency", "1,2", "-n", "8", "--max-tokens", "8",
                "--mock-arg=--profile=fast", "--json", sweep)
        html = os.path.join(d, "r.html")
        checked("report", run, sweep, "-o", html)
        text = open(html).read()
        self.assertLess(len(text), 2 << 20)
        self.assertNotIn("http://", re.sub(r"(?s)<script>.*?</script>", "", text).replace(
            json.load(open(run))["config"]["url"], "").replace(json.load(open(sweep))["config"]["url"], ""))
        b = self.chromium()
        sid = self.check_page(b, html)
        self.assertEqual(b.eval(sid, "document.querySelectorAll('section').length"), 2)
        self.assertIn("Latency percentiles", b.eval(sid, "document.body.innerText"))

    def test_html_escapes_server_strings(self):
        srv = EvilOllama()
        self.addCleanup(srv.close)
        d = harness.tmpdir()
        path = os.path.join(d, "evil.json")
        r = llmload("run", "-q", "--url", srv.url, "--api", "ollama-generate", "--model", EVIL_MODEL,
                    "-n", "9", "-c", "1", "--json", path, "--raw", os.path.join(d, "evil.raw.jsonl"))
        self.assertIn(r.returncode, (0, 1), r.stderr)
        doc = json.load(open(path))
        self.assertEqual(doc["config"]["model"], EVIL_MODEL)
        self.assertEqual(doc["summary"]["failed"], 3)
        sample = doc["summary"]["error_samples"]["status"]
        self.assertIn("</script>", sample)
        html = os.path.join(d, "evil.html")
        checked("report", path, "-o", html)
        b = self.chromium()
        sid = self.check_page(b, html)
        self.assertIsNone(b.eval(sid, "window.PWNED === undefined ? null : window.PWNED"))
        self.assertEqual(b.eval(sid, "document.images.length"), 0)
        self.assertEqual(b.eval(sid, "document.scripts.length"), 3)
        text = b.eval(sid, "document.body.innerText")
        self.assertIn(EVIL_MODEL, text)
        self.assertIn(sample, text)
        # The figures' JSON block gives the names back as they were.
        figs = b.eval(sid, "JSON.parse(document.getElementById('llmload-figures').textContent).length")
        self.assertGreater(figs, 0)
        self.assertIn(EVIL_MODEL, b.eval(sid, "document.title") + text)

    def test_html_size_100k_requests(self):
        d = harness.tmpdir()
        path = synthetic_run(d, 100000)
        html = os.path.join(d, "big.html")
        checked("report", path, "-o", html)
        self.assertLess(os.path.getsize(html), 2 << 20)
        out = checked("report", path, "-o", os.path.join(d, "big.txt"))
        self.assertEqual(out.returncode, 0)


class TestMonitorFigures(unittest.TestCase):
    """The resource monitor's time series (docs/observability.md) are drawn:
    CPU of the client and the server, the system's CPU and steal, memory."""

    def test_monitor_series_drawn(self):
        d = harness.tmpdir()
        doc = os.path.join(d, "r.json")
        checked("run", "-d", "3s", "-c", "4", "--max-tokens", "16", "--quiet", "--json", doc)
        mon = json.load(open(doc))["monitor"]
        self.assertGreaterEqual(len(mon["t"]), 2)
        out = os.path.join(d, "figs") + "/"
        checked("report", doc, "-o", out)
        for name in ("cpu_over_time", "system_cpu_over_time", "memory_over_time"):
            w, h, rows = png_decode(os.path.join(out, name + ".png"))
            self.assertGreater(non_white(rows), 1000, name)
        # The HTML report draws the same figures (their definitions are shared).
        html = os.path.join(d, "r.html")
        checked("report", doc, "-o", html)
        page = open(html).read()
        for title in ("CPU of the client and the server", "System CPU and steal", "RSS (MiB)"):
            self.assertIn(title, page)
        # --monitor none: no monitor section, so no such figures.
        doc2 = os.path.join(d, "r2.json")
        checked("run", "-n", "4", "-c", "2", "--max-tokens", "8", "--quiet", "--monitor", "none",
                "--json", doc2)
        out2 = os.path.join(d, "figs2") + "/"
        checked("report", doc2, "-o", out2)
        self.assertFalse(os.path.exists(os.path.join(out2, "cpu_over_time.png")))


class TestPicturesAtTheEnd(unittest.TestCase):
    """--html FILE and --plots DIR on run, sweep and compare write the same
    report `llmload report` would, when the benchmark ends."""

    def check_outputs(self, html, plots, title_word):
        page = open(html).read()
        self.assertTrue(page.startswith("<!DOCTYPE html>"), page[:40])
        self.assertIn(title_word, page)
        self.assertNotIn("cdn.", page)
        pngs = [f for f in os.listdir(plots) if f.endswith(".png")]
        svgs = [f for f in os.listdir(plots) if f.endswith(".svg")]
        self.assertGreaterEqual(len(pngs), 3, pngs)
        self.assertEqual(len(pngs), len(svgs))
        w, h, rows = png_decode(os.path.join(plots, sorted(pngs)[0]))
        self.assertGreater(w * h, 10000)
        self.assertGreater(non_white(rows), 1000)

    def test_run_sweep_compare_html_and_plots(self):
        d = harness.tmpdir()
        html, plots = os.path.join(d, "run.html"), os.path.join(d, "run-plots")
        checked("run", "-n", "12", "-c", "3", "--max-tokens", "16", "--quiet",
                "--html", html, "--plots", plots)
        self.check_outputs(html, plots, "TTFT")
        html, plots = os.path.join(d, "sweep.html"), os.path.join(d, "sweep-plots")
        checked("sweep", "-c", "1,2", "-n", "6", "--max-tokens", "16", "--quiet",
                "--html", html, "--plots", plots)
        self.check_outputs(html, plots, "concurrency")
        with harness.Mock(*harness.FAST) as a, harness.Mock(*harness.FAST) as b:
            html, plots = os.path.join(d, "cmp.html"), os.path.join(d, "cmp-plots")
            checked("compare", "--target", "a=" + a.url, "--target", "b=" + b.url,
                    "--model", "llmload-mock", "-c", "1,2", "-n", "6", "--max-tokens", "16",
                    "--quiet", "--html", html, "--plots", plots)
            self.check_outputs(html, plots, "Winner per level")
        # A path that cannot be written is refused before any request.
        p = llmload("run", "-n", "2", "--html", "/nonexistent-dir/r.html")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--html", p.stderr)


if __name__ == "__main__":
    harness.main()

"""End-to-end tests of https: llmload against the simulator serving TLS
(`llmload mock --tls`, or --tls-cert/--tls-key with certificates made here
with the `openssl` command), and against Debian's nginx terminating TLS in
front of the simulator.

What is checked: streaming in both protocols over TLS, keep-alive reuse,
certificate verification (--cacert; a wrong host name, an expired
certificate and an unknown CA each fail as tls_verify with the reason),
--insecure marked in the summary and the result, client certificates
(mTLS) accepted and refused, session resumption across reconnects, and
that TLS leaves event times true (the simulator's truth file, directly and
through nginx with proxy_buffering off).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

import harness
from harness import FAST, Mock, run_llmload, tmpdir

MODEL = "llmload-mock"


def sanitized():
    """Whether the binary under test is an ASan build (it links libasan)."""
    p = subprocess.run(["ldd", harness.LLMLOAD], capture_output=True, text=True)
    return "libasan" in p.stdout


def openssl(*args, cwd):
    exe = shutil.which("openssl")
    if not exe:
        raise AssertionError("the openssl command is missing: apt-get install openssl")
    p = subprocess.run([exe] + list(args), cwd=cwd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), p.stderr))


class Certs:
    """A test CA and certificates it signs, made with `openssl req` and
    `openssl x509` in a fresh directory."""

    def __init__(self):
        self.dir = tmpdir()
        self.ca = self.make_ca("ca")

    def path(self, name):
        return os.path.join(self.dir, name)

    def make_ca(self, name):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + ".key", "-out", name + ".pem", "-days", "30",
                "-subj", "/CN=llmload test CA " + name,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=self.dir)
        return self.path(name + ".pem")

    def leaf(self, name, san="IP:127.0.0.1,DNS:localhost", days="30", ca="ca", client=False):
        """A certificate for san signed by ca.  days "-1" makes one that
        expired a day before it was made (notAfter < notBefore = now): Debian
        12's OpenSSL 3.0 `x509 -req` takes a negative -days as it is."""
        with open(self.path(name + ".ext"), "w") as f:
            f.write("subjectAltName=%s\n" % san)
            f.write("extendedKeyUsage=%s\n" % ("clientAuth" if client else "serverAuth"))
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name, cwd=self.dir)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                "-CAcreateserial", "-out", name + ".pem", "-days", days,
                "-extfile", name + ".ext", cwd=self.dir)
        return self.path(name + ".pem"), self.path(name + ".key")


def run_json(*args):
    """llmload run with a result document; returns (process, document or None)."""
    out = os.path.join(tmpdir(), "r.json")
    p = run_llmload("run", "--model", MODEL, "--monitor", "none", "--json", out, *args)
    doc = json.load(open(out)) if os.path.exists(out) else None
    return p, doc


class TestTLS(unittest.TestCase):

    def tls_mock(self, *extra):
        d = tmpdir()
        ca = os.path.join(d, "mock-ca.pem")
        m = Mock("--tls", "--tls-ca-out", ca, *FAST, *extra)
        self.assertTrue(m.url.startswith("https://"), m.url)
        return m, ca

    def check_stream(self, url, ca, n=12, c=3):
        p, doc = run_json("--url", url, "--cacert", ca, "-n", str(n), "-c", str(c),
                          "--max-tokens", "16")
        self.assertEqual(p.returncode, 0, p.stderr)
        s = doc["summary"]
        self.assertEqual(s["ok"], n, s["error_samples"])
        self.assertEqual(s["output_tokens"], 16 * n)
        self.assertEqual(s["events"], 16 * n)        # every token event decoded
        conns = s["connections"]
        # Keep-alive: c sockets serve n requests.
        self.assertGreaterEqual(conns["opened"], 1)
        self.assertLessEqual(conns["opened"], c)
        self.assertLess(conns["opened"], n)
        self.assertEqual(conns["tls_handshakes"], conns["opened"])
        self.assertEqual(conns["tls_handshake"]["n"], conns["opened"])
        self.assertGreater(conns["tls_handshake"]["min"], 0)
        self.assertGreater(conns["connect"]["min"], 0)
        # TTFB: the response's first byte, at or before its first token.
        self.assertEqual(s["ttfb"]["n"], n)
        self.assertLessEqual(s["ttfb"]["p50"], s["ttft"]["p50"] + 1e-9)
        self.assertEqual(doc["config"]["tls"], {"insecure": False, "cacert": ca, "client_cert": False})
        self.assertIn("tls:         certificate verified against " + ca, p.stdout)
        self.assertIn("TLS handshake", p.stdout)
        return doc

    @harness.decoder
    def test_stream_openai(self):
        m, ca = self.tls_mock()
        with m:
            self.check_stream(m.url + "/v1", ca)

    @harness.decoder
    def test_stream_ollama(self):
        m, ca = self.tls_mock()
        with m:
            doc = self.check_stream(m.url + "/api", ca)
            self.assertEqual(doc["config"]["api"], "ollama-generate")

    def test_localhost_name_and_probe(self):
        """The generated certificate carries localhost; --api auto probes
        the server over TLS (no /v1 or /api in the URL)."""
        m, ca = self.tls_mock()
        with m:
            url = m.url.replace("127.0.0.1", "localhost")
            p, doc = run_json("--url", url, "--cacert", ca, "-n", "2", "-c", "1", "--max-tokens", "4")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(doc["summary"]["ok"], 2)
            self.assertEqual(doc["config"]["api"], "ollama-generate")

    def test_default_port_443(self):
        p = run_llmload("run", "--url", "https://127.0.0.1/v1", "--model", MODEL, "-n", "1",
                        "--connect-timeout", "2s", "--monitor", "none")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("127.0.0.1:443", p.stderr)

    def test_insecure(self):
        """Without --cacert the self-signed certificate is refused; with
        --insecure it is not checked, and both outputs say so loudly."""
        m, _ = self.tls_mock()
        with m:
            p, doc = run_json("--url", m.url + "/v1", "-n", "2", "-c", "1", "--max-tokens", "4")
            self.assertNotEqual(p.returncode, 0)
            self.assertEqual(doc["summary"]["errors"], {"tls_verify": 2}, doc["summary"])
            self.assertIn("self-signed certificate", doc["summary"]["error_samples"]["tls_verify"])
            p, doc = run_json("--url", m.url + "/v1", "--insecure", "-n", "2", "-c", "1",
                              "--max-tokens", "4")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(doc["summary"]["ok"], 2)
            self.assertTrue(doc["config"]["tls"]["insecure"])
            self.assertIn("INSECURE", p.stdout)
            self.assertIn("NOT verified", p.stdout)

    def verify_fails(self, cert, key, trust, reason, host="127.0.0.1"):
        m = Mock("--tls-cert", cert, "--tls-key", key, *FAST)
        with m:
            p, doc = run_json("--url", m.url.replace("127.0.0.1", host) + "/v1", "--cacert", trust, "-n", "3", "-c", "1",
                              "--max-tokens", "4")
        self.assertEqual(p.returncode, 3, p.stderr)
        s = doc["summary"]
        self.assertEqual(s["errors"], {"tls_verify": 3}, s)
        self.assertIn(reason, s["error_samples"]["tls_verify"])
        self.assertIn("tls_verify", p.stdout)
        return s

    def test_verify_ok_with_cacert(self):
        c = Certs()
        cert, key = c.leaf("good")
        m = Mock("--tls-cert", cert, "--tls-key", key, *FAST)
        with m:
            p, doc = run_json("--url", m.url + "/v1", "--cacert", c.ca, "-n", "3", "-c", "1",
                              "--max-tokens", "4")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(doc["summary"]["ok"], 3)

    def test_verify_wrong_host(self):
        c = Certs()
        cert, key = c.leaf("wronghost", san="DNS:wrong.example")
        self.verify_fails(cert, key, c.ca, "hostname mismatch", host="localhost")
        # An address is checked against the certificate's IP names.
        self.verify_fails(cert, key, c.ca, "IP address mismatch")

    def test_verify_expired(self):
        c = Certs()
        cert, key = c.leaf("expired", days="-1")
        self.verify_fails(cert, key, c.ca, "certificate has expired")

    def test_verify_unknown_ca(self):
        c = Certs()
        other = c.make_ca("other")
        cert, key = c.leaf("good")
        self.verify_fails(cert, key, other, "unable to get local issuer certificate")

    def test_bad_cacert_is_usage(self):
        m, _ = self.tls_mock()
        with m:
            p = run_llmload("run", "--url", m.url + "/v1", "--model", MODEL, "--cacert",
                            "/nonexistent/ca.pem", "-n", "1", "--monitor", "none")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--cacert /nonexistent/ca.pem", p.stderr)

    def test_mtls(self):
        """--tls-client-ca makes the simulator ask for a client certificate:
        one signed by the CA is accepted; none is refused, and the refusal
        (an alert the client reads after its side of the handshake, in TLS
        1.3) is a tls_handshake failure."""
        c = Certs()
        cert, key = c.leaf("server")
        ccert, ckey = c.leaf("client", san="DNS:client.example", client=True)
        m = Mock("--tls-cert", cert, "--tls-key", key, "--tls-client-ca", c.ca, *FAST)
        with m:
            p, doc = run_json("--url", m.url + "/v1", "--cacert", c.ca, "--cert", ccert, "--key", ckey,
                              "-n", "4", "-c", "2", "--max-tokens", "4")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(doc["summary"]["ok"], 4)
            self.assertTrue(doc["config"]["tls"]["client_cert"])
            p, doc = run_json("--url", m.url + "/v1", "--cacert", c.ca, "-n", "2", "-c", "1",
                              "--max-tokens", "4")
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertEqual(doc["summary"]["errors"], {"tls_handshake": 2}, doc["summary"])
            self.assertIn("certificate required", doc["summary"]["error_samples"]["tls_handshake"])

    def test_resumption(self):
        """A slot that reconnects offers its saved session: the simulator
        closes every connection after its response (--fault-close), so each
        request opens one, and all but each slot's first resume."""
        m, ca = self.tls_mock("--fault-close", "1")
        with m:
            p, doc = run_json("--url", m.url + "/v1", "--cacert", ca, "-n", "6", "-c", "1",
                              "--max-tokens", "8")
        conns = doc["summary"]["connections"]
        self.assertEqual(conns["opened"], 6, doc["summary"])
        self.assertEqual(conns["tls_handshakes"], 6)
        self.assertEqual(conns["tls_resumed"], 5)
        # --tls-no-resume: no tickets, every handshake full.
        m, ca = self.tls_mock("--fault-close", "1", "--tls-no-resume")
        with m:
            p, doc = run_json("--url", m.url + "/v1", "--cacert", ca, "-n", "4", "-c", "1",
                              "--max-tokens", "8")
        conns = doc["summary"]["connections"]
        self.assertEqual(conns["tls_handshakes"], 4, doc["summary"])
        self.assertEqual(conns["tls_resumed"], 0)

    @harness.serial
    def test_fidelity_over_tls(self):
        """TTFT over TLS against the simulator's truth, as test_run's
        fidelity test does for plain HTTP: the client times each event by
        the kernel stamp of the read that carried its record, so TLS adds
        only the decryption of one record per token to the error.  The
        warm-up opens every connection first: 50 handshakes at once keep a
        client busy for tens of milliseconds (hundreds under ASan, whose
        malloc OpenSSL's handshake leans on), and a stream whose tokens wait
        in the socket meanwhile is read in one go, stamped with the newest
        (docs/performance.md, "HTTPS").  What is tested is the records."""
        d = tmpdir()
        truth, rawp = os.path.join(d, "truth.jsonl"), os.path.join(d, "raw.jsonl")
        m, ca = self.tls_mock("--decode-rate", "10", "--ttft-base", "20ms", "--slots", "100",
                              "--batch-slowdown", "0", "--truth", truth)
        try:
            p, doc = run_json("--url", m.url + "/v1", "--cacert", ca, "--quiet", "--warmup", "50",
                              "-n", "100", "-c", "50", "--max-tokens", "6", "--raw", rawp)
            self.assertEqual(p.returncode, 0, p.stderr)
        finally:
            m.stop()
        self.assertGreaterEqual(doc["summary"]["client"]["kernel_stamped_frac"], 0.99)
        self.assertEqual(doc["summary"]["connections"]["opened"], 0)   # all warm
        delivery, err = check_truth(self, truth, rawp, 100)
        # Bounds as for plain HTTP (test_run.check_fidelity): loopback
        # delivery plus one record's encryption and decryption,
        # microseconds.  Under ASan both processes run instrumented code,
        # and OpenSSL through ASan's malloc, between taking a time and the
        # write it times (the client's request, the simulator's token):
        # 0.1-0.3 ms instead of microseconds, so a busy machine's
        # preemptions land inside that window ten times as often, and the
        # worst requests were measured 8-108 ms off (the plain test keeps
        # its bounds there; why TLS's tail is that much wider under ASan is
        # not established).  The sanitized run is held to 5 ms at the
        # median, and its tail is printed, not asserted.
        asan = sanitized()
        p50 = 5.0 if asan else 0.5
        self.assertGreaterEqual(delivery[0], -0.05)
        self.assertLess(delivery[len(delivery) // 2], p50)
        self.assertLess(err[len(err) // 2], p50)
        p99 = err[int(len(err) * 0.99) - 1]
        if asan:
            sys.stderr.write("ASan build: TTFT error p99 %.3f ms (not asserted)\n" % p99)
        else:
            self.assertLess(p99, 2.0)

    @harness.serial
    def test_nginx_interop(self):
        """Debian's nginx terminates TLS in front of the simulator
        (proxy_buffering off).  The stream must arrive unbuffered: the
        client sees each token about when the simulator wrote it (100 ms
        apart), not all of them at the end; and TTFT must match the
        simulator's truth within what two loopback hops through nginx
        cost (see the bounds below)."""
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if not nginx:
            raise AssertionError("nginx is missing: apt-get install nginx (./dev setup)")
        c = Certs()
        cert, key = c.leaf("nginx")
        d = tmpdir()
        os.chmod(d, 0o755)
        truth, rawp = os.path.join(d, "truth.jsonl"), os.path.join(d, "raw.jsonl")
        m = Mock("--decode-rate", "10", "--ttft-base", "20ms", "--slots", "100",
                 "--batch-slowdown", "0", "--truth", truth)
        ng = None
        try:
            ng, port = start_nginx(nginx, d, cert, key, m.port)
            # Warm-up: every connection's handshake (and nginx's to the
            # simulator) is done before the measured requests, which then
            # time the stream, not nginx's queue of cold handshakes.
            p, doc = run_json("--url", "https://127.0.0.1:%d/v1" % port, "--cacert", c.ca, "--quiet",
                              "--warmup", "20", "-n", "40", "-c", "20", "--max-tokens", "6",
                              "--raw", rawp)
            self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        finally:
            if ng:
                stop_nginx(ng)
            m.stop()
        s = doc["summary"]
        self.assertEqual(s["ok"], 40, s["error_samples"])
        self.assertEqual(s["events"], 6 * 40)
        # Unbuffered: a buffering proxy would deliver the 6 tokens together
        # at the end (ITL ~0); the simulator wrote them 100 ms apart.
        self.assertGreater(s["itl"]["p50"], 0.08, s["itl"])
        self.assertLess(s["itl"]["p50"], 0.12, s["itl"])
        delivery, err = check_truth(self, truth, rawp, 40)
        # Through nginx a token crosses two loopback sockets and one TLS
        # encryption, and the request two sockets and one decryption, each
        # well under a millisecond.  nginx's worker is a process the busy
        # machine schedules like any other, and nginx times nothing by
        # kernel stamps, so its own delays count: the median is held to
        # 5 ms and the 90th percentile to 30 ms, still far below the
        # 100 ms a buffered token would be late by.
        self.assertGreaterEqual(delivery[0], -0.05)
        self.assertLess(delivery[len(delivery) // 2], 5.0)
        self.assertLess(err[len(err) // 2], 5.0)
        self.assertLess(err[int(len(err) * 0.9) - 1], 30.0)


def check_json(*args):
    """llmload check with a report document; returns (process, report)."""
    out = os.path.join(tmpdir(), "c.json")
    p = run_llmload("check", "--json", out, *args)
    return p, json.load(open(out)) if os.path.exists(out) else None


class TestCheckTLS(unittest.TestCase):
    """`llmload check` over https: one bare handshake first, reported as
    the TLS version and how the server was trusted, or refused with its
    error class (tls_verify, tls_handshake) and the reason."""

    def test_verified_refused_insecure(self):
        d = tmpdir()
        ca = os.path.join(d, "mock-ca.pem")
        with Mock("--tls", "--tls-ca-out", ca, *FAST) as m:
            url = m.url + "/v1"
            p, doc = check_json("--url", url, "--cacert", ca)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(doc["up"])
            self.assertEqual(doc["models"], [MODEL])
            self.assertEqual(doc["tls"], {"version": "TLSv1.3", "insecure": False, "cacert": ca,
                                          "client_cert": False, "error_class": None})
            self.assertIn("TLSv1.3 verified", p.stdout)
            # The system's store does not know the simulator's own CA.
            p, doc = check_json("--url", url)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertFalse(doc["up"])
            self.assertEqual(doc["tls"]["error_class"], "tls_verify")
            self.assertIsNone(doc["tls"]["version"])
            self.assertIn("self-signed certificate", doc["error"])
            self.assertIn("(tls_verify)", p.stderr)
            self.assertIn("down: ", p.stderr)
            # --insecure: up, and said loudly in both outputs.
            p, doc = check_json("--url", url, "--insecure")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(doc["up"])
            self.assertTrue(doc["tls"]["insecure"])
            self.assertEqual(doc["tls"]["version"], "TLSv1.3")
            self.assertIn("INSECURE", p.stdout)
            self.assertIn("NOT verified", p.stdout)
            # The name in the URL is checked too: localhost is on the certificate.
            p, doc = check_json("--url", url.replace("127.0.0.1", "localhost"), "--cacert", ca, "-q")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, "")
            self.assertIsNone(doc["tls"]["error_class"])

    def test_refusal_reasons(self):
        """Expired, wrong host and unknown CA: each tls_verify with its reason."""
        c = Certs()
        other = c.make_ca("other")
        cases = [(c.leaf("expired", days="-1"), c.ca, "certificate has expired"),
                 (c.leaf("wronghost", san="DNS:wrong.example"), c.ca, "IP address mismatch"),
                 (c.leaf("good"), other, "unable to get local issuer certificate")]
        for (cert, key), trust, reason in cases:
            with Mock("--tls-cert", cert, "--tls-key", key, *FAST) as m:
                p, doc = check_json("--url", m.url + "/v1", "--cacert", trust)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertFalse(doc["up"])
            self.assertEqual(doc["tls"]["error_class"], "tls_verify", doc)
            self.assertIn(reason, doc["error"])

    def test_mtls_and_usage(self):
        """--cert/--key: a server asking for a client certificate answers
        check; without one it refuses (TLS 1.3 says so after the client's
        side of the handshake: check waits for the server's next record).  An unreadable TLS
        file is a usage error (2), not a down server; http has no tls."""
        c = Certs()
        cert, key = c.leaf("server")
        ccert, ckey = c.leaf("client", san="DNS:client.example", client=True)
        with Mock("--tls-cert", cert, "--tls-key", key, "--tls-client-ca", c.ca, *FAST) as m:
            url = m.url + "/v1"
            p, doc = check_json("--url", url, "--cacert", c.ca, "--cert", ccert, "--key", ckey)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(doc["models"], [MODEL])
            self.assertTrue(doc["tls"]["client_cert"])
            p, doc = check_json("--url", url, "--cacert", c.ca)
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertFalse(doc["up"])
            self.assertEqual(doc["tls"]["error_class"], "tls_handshake")
            self.assertIn("certificate required", doc["error"])
            p = run_llmload("check", "--url", url, "--cacert", c.ca, "--cert", "/nonexistent/c.pem")
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("--cert /nonexistent/c.pem", p.stderr)
        with Mock(*FAST) as m:
            p, doc = check_json("--url", m.url + "/v1", "--cacert", "/nonexistent/ca.pem")
            self.assertEqual(p.returncode, 0, p.stderr)   # http: the TLS flags do not apply
            self.assertIsNone(doc["tls"])
        p = run_llmload("check", "--help")
        for flag in ("--cacert FILE", "--insecure", "--cert FILE", "--key FILE"):
            self.assertIn(flag, p.stdout)


def check_truth(t, truth, rawp, n):
    """Per request: the delivery of token 1 (client's kernel stamp minus
    the simulator's write) and |client TTFT - truth TTFT|, in ms, sorted."""
    tr = {}
    for line in open(truth):
        r = json.loads(line)
        if r.get("id"):
            tr[r["id"]] = r
    delivery, err = [], []
    for line in open(rawp):
        r = json.loads(line)
        if r.get("warmup"):
            continue
        x = tr["llmload-%d" % r["index"]]
        first_abs = r["t0_mono_ns"] + r["first_token_s"] * 1e9
        delivery.append((first_abs - x["first_token_ns"]) / 1e6)
        ttft_truth = (x["first_token_ns"] - x["arrive_ns"]) / 1e6
        err.append(abs((r["first_token_s"] - r["start_s"]) * 1e3 - ttft_truth))
    t.assertEqual(len(delivery), n)
    delivery.sort()
    err.sort()
    return delivery, err


def start_nginx(exe, d, cert, key, upstream_port, timeout=20.0):
    """nginx as a non-daemon child with its own prefix, config, pid file and
    logs in d, listening with TLS on a free loopback port and proxying to
    the simulator.  Ready when its port accepts; a failed start fails with
    nginx's own error log."""
    for sub in ("logs", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    for attempt in range(3):
        port = harness.free_port()
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""
daemon off;
master_process on;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %(d)s/tmp/body;
    proxy_temp_path %(d)s/tmp/proxy;
    fastcgi_temp_path %(d)s/tmp/fastcgi;
    uwsgi_temp_path %(d)s/tmp/uwsgi;
    scgi_temp_path %(d)s/tmp/scgi;
    upstream mock { server 127.0.0.1:%(up)d; keepalive 32; }
    server {
        listen 127.0.0.1:%(port)d ssl;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 60s;
        }
    }
}
""" % {"d": d, "up": upstream_port, "port": port, "cert": cert, "key": key})
        proc = subprocess.Popen([exe, "-p", d, "-c", conf, "-e", os.path.join(d, "logs", "error.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc, port
            except OSError:
                time.sleep(0.02)
        log = open(os.path.join(d, "logs", "error.log")).read() if os.path.exists(
            os.path.join(d, "logs", "error.log")) else ""
        stop_nginx(proc)
        if "Address already in use" not in log:
            raise AssertionError("nginx did not start: %s" % log)
    raise AssertionError("nginx: no free port after 3 attempts")


def stop_nginx(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGQUIT)   # graceful
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stderr:
        proc.stderr.close()


if __name__ == "__main__":
    harness.main()

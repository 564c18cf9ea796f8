"""Proxies and custom headers (issue 15, items 3 and 4).

A real forward proxy, Debian's tinyproxy, is started by each test as a
foreground child on a free loopback port, in front of `llmload mock`: an
http:// target through HTTP_PROXY (absolute-form requests), a CONNECT tunnel
(--proxy-tunnel), NO_PROXY and --no-proxy bypassing it, and its Basic
authentication (407 without credentials: error class proxy_auth; the
credentials never printed).  --header values reach the server and never any
output unless --header-public names them.
"""
import json
import os
import socket
import subprocess
import sys
import time
import unittest

from harness import (FAST, Mock, OpenAIServer, assert_no_secret, free_port, main, run_llmload,
                     stop_child, tmpdir)

TINYPROXY = "/usr/bin/tinyproxy"

# Every proxy variable the tests do not set themselves is emptied, so the
# environment the suite runs in cannot route a test elsewhere.
NO_PROXY_ENV = {k: "" for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY")}


class TinyProxy:
    """tinyproxy -d (foreground) on a free loopback port; its log (level
    Connect: one line per client connection and per request) in a file."""

    def __init__(self, connect_ports=(), auth=None, startup_timeout=20.0):
        self.dir = tmpdir()
        self.log_path = os.path.join(self.dir, "tinyproxy.log")
        for attempt in range(5):
            # Another process may take the port between our bind and
            # tinyproxy's: it then exits at once, and a new port is tried.
            self.port = free_port()
            conf = os.path.join(self.dir, "tinyproxy.conf")
            with open(conf, "w") as f:
                f.write("Port %d\nListen 127.0.0.1\nTimeout 60\nAllow 127.0.0.1\nMaxClients 200\n"
                        "LogLevel Connect\n" % self.port)
                for p in connect_ports:
                    f.write("ConnectPort %d\n" % p)
                if auth:
                    f.write("BasicAuth %s %s\n" % auth)
            self.log = open(self.log_path, "wb")
            self.proc = subprocess.Popen([TINYPROXY, "-d", "-c", conf], stdout=self.log,
                                         stderr=subprocess.STDOUT)
            if self._wait_ready(startup_timeout):
                self.url = "http://127.0.0.1:%d" % self.port
                return
            self.stop()
        raise RuntimeError("tinyproxy did not start: %s" % open(self.log_path).read())

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                time.sleep(0.02)   # between connection attempts, not instead of one
                continue
            # The readiness connection is logged too: it is not a test's.
            while time.monotonic() < deadline and self._logged_connections() < 1:
                time.sleep(0.01)
            self.ready_connections = self._logged_connections()
            return self.ready_connections >= 1
        return False

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def _logged_connections(self):
        return self.text().count("Connect (file descriptor")

    def connections(self):
        """Client connections since the proxy was ready."""
        return self._logged_connections() - self.ready_connections

    def requests(self, start):
        """Request lines the proxy received that begin with start."""
        n = 0
        for line in self.text().splitlines():
            i = line.find("]: Request (file descriptor ")
            if i >= 0 and line.split("): ", 1)[-1].startswith(start):
                n += 1
        return n

    def stop(self):
        stop_child(self.proc)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def truth_requests(path):
    """The generation requests the simulator served (llmload numbers each)."""
    with open(path) as f:
        return [r for r in map(json.loads, f) if (r.get("id") or "").startswith("llmload-")]


@unittest.skipUnless(os.access(TINYPROXY, os.X_OK), "tinyproxy is not installed (./dev setup)")
class TestProxy(unittest.TestCase):

    def run_through(self, proxy_env, *args, n=20):
        """A run of n requests against a fresh simulator; returns the
        process, its result document and the simulator's served requests."""
        d = tmpdir()
        truth, out = os.path.join(d, "truth.jsonl"), os.path.join(d, "r.json")
        with Mock(*FAST, "--truth", truth) as m:
            env = dict(NO_PROXY_ENV)
            env.update(proxy_env)
            p = run_llmload("run", "--url", m.url, "--model", "llmload-mock", "-n", str(n), "-c", "4",
                            "--max-tokens", "8", "--monitor", "none", "--json", out, *args, env=env)
            self.mock_port = m.port
        doc = json.load(open(out)) if os.path.exists(out) else None
        return p, doc, truth_requests(truth)

    def test_forward_proxy_from_env(self):
        """HTTP_PROXY: every request goes through the proxy in absolute form,
        and exactly the requests llmload counts reach the simulator."""
        with TinyProxy() as px:
            p, doc, served = self.run_through({"HTTP_PROXY": px.url})
            log = px.text()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(doc["summary"]["ok"], 20)
        self.assertEqual(doc["summary"]["errors"], {})
        self.assertEqual(len(served), 20)
        self.assertEqual(len({r["id"] for r in served}), 20)
        # Absolute form: the proxy saw the target's whole URL, every time.
        target = "POST http://127.0.0.1:%d/" % self.mock_port
        self.assertGreaterEqual(px.requests(target), 20, log)
        # The --api auto probe went through it too.
        self.assertGreaterEqual(px.requests("GET http://127.0.0.1:%d/" % self.mock_port), 1, log)
        self.assertEqual(doc["config"]["proxy"], px.url)
        self.assertFalse(doc["config"]["proxy_tunnel"])

    def test_connect_tunnel(self):
        """--proxy --proxy-tunnel: CONNECT to the simulator's port, then the
        requests inside the tunnel; the proxy sees no request of its own."""
        d = tmpdir()
        truth, out = os.path.join(d, "truth.jsonl"), os.path.join(d, "r.json")
        with Mock(*FAST, "--truth", truth) as m:
            with TinyProxy(connect_ports=(m.port,)) as px:
                p = run_llmload("run", "--url", m.url, "--model", "llmload-mock", "-n", "20", "-c", "4",
                                "--max-tokens", "8", "--monitor", "none", "--json", out,
                                "--proxy", px.url, "--proxy-tunnel", env=NO_PROXY_ENV)
                conns = px.connections()
                tunnels = px.requests("CONNECT 127.0.0.1:%d " % m.port)
                plain = px.requests("POST ")
                px_requests = px.requests("")
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.load(open(out))
        self.assertEqual(doc["summary"]["ok"], 20)
        self.assertEqual(len(truth_requests(truth)), 20)
        # Every request the proxy saw opened a tunnel: at most -c of them
        # for the run, plus the --api auto probe's; the other connections
        # were the reachability checks, which send nothing.
        self.assertEqual(px_requests, tunnels)
        self.assertGreaterEqual(tunnels, 2)
        self.assertLessEqual(tunnels, 4 + 2)
        self.assertGreaterEqual(conns, tunnels)
        self.assertEqual(plain, 0)
        self.assertTrue(doc["config"]["proxy_tunnel"])

    def test_https_through_connect_from_env(self):
        """An https:// target reads HTTPS_PROXY and always tunnels: CONNECT
        to the simulator's TLS port, the handshake inside the tunnel (the
        certificate checked against the simulator's name, not the proxy's),
        and the proxy sees no request of its own."""
        d = tmpdir()
        truth, out, ca = (os.path.join(d, f) for f in ("truth.jsonl", "r.json", "ca.pem"))
        with Mock("--tls", "--tls-ca-out", ca, *FAST, "--truth", truth) as m:
            self.assertTrue(m.url.startswith("https://"), m.url)
            with TinyProxy(connect_ports=(m.port,)) as px:
                env = dict(NO_PROXY_ENV, HTTPS_PROXY=px.url)
                p = run_llmload("run", "--url", m.url, "--model", "llmload-mock", "-n", "20", "-c", "4",
                                "--max-tokens", "8", "--monitor", "none", "--cacert", ca, "--json", out,
                                env=env)
                tunnels = px.requests("CONNECT 127.0.0.1:%d " % m.port)
                px_requests = px.requests("")
                # check's bare handshake goes through the tunnel too.
                cj = os.path.join(d, "c.json")
                c = run_llmload("check", "--url", m.url + "/v1", "--cacert", ca, "--json", cj, env=env)
                self.assertEqual(c.returncode, 0, c.stderr)
                check = json.load(open(cj))
                self.assertEqual(check["proxy"], px.url)
                self.assertEqual(check["tls"]["version"], "TLSv1.3")
                self.assertGreater(px.requests("CONNECT 127.0.0.1:%d " % m.port), tunnels)
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.load(open(out))
        s = doc["summary"]
        self.assertEqual(s["ok"], 20)
        self.assertEqual(len(truth_requests(truth)), 20)
        self.assertEqual(px_requests, tunnels)
        self.assertGreaterEqual(tunnels, 2)
        self.assertLessEqual(tunnels, 4 + 2)
        # Every connection of the run was a TLS one, made inside a tunnel.
        self.assertGreaterEqual(s["connections"]["tls_handshakes"], 1)
        self.assertLessEqual(s["connections"]["tls_handshakes"], 4)
        self.assertEqual(doc["config"]["proxy"], px.url)
        self.assertFalse(doc["config"]["tls"]["insecure"])

    def test_connect_port_refused(self):
        """A proxy that refuses CONNECT to that port: class proxy, with the status."""
        with Mock(*FAST) as m:
            with TinyProxy(connect_ports=(m.port + 1 if m.port < 65535 else m.port - 1,)) as px:
                d = tmpdir()
                out = os.path.join(d, "r.json")
                p = run_llmload("run", "--url", m.url, "--model", "llmload-mock", "-n", "4", "-c", "2",
                                "--api", "openai-chat", "--monitor", "none", "--json", out,
                                "--proxy", px.url, "--proxy-tunnel", env=NO_PROXY_ENV)
        self.assertEqual(p.returncode, 3, p.stderr)
        doc = json.load(open(out))
        self.assertEqual(doc["summary"]["errors"], {"proxy": 4})
        self.assertIn("refused to reach 127.0.0.1:%d: status 403" % m.port,
                      doc["summary"]["error_samples"]["proxy"])

    def test_no_proxy_bypass(self):
        """NO_PROXY (a CIDR, a name, an address) and --no-proxy: no traffic
        reaches the proxy, all of it reaches the simulator."""
        with TinyProxy() as px:
            for env, args in (({"HTTP_PROXY": px.url, "NO_PROXY": "10.0.0.0/8, 127.0.0.0/8"}, ()),
                              ({"http_proxy": px.url, "no_proxy": "example.com,127.0.0.1"}, ()),
                              ({"ALL_PROXY": px.url, "NO_PROXY": "*"}, ()),
                              ({"HTTP_PROXY": px.url}, ("--no-proxy",)),
                              ({"HTTP_PROXY": px.url}, ("--proxy", ""))):
                p, doc, served = self.run_through(env, *args, n=8)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(doc["summary"]["ok"], 8)
                self.assertEqual(len(served), 8)
                self.assertIsNone(doc["config"]["proxy"])
            self.assertEqual(px.connections(), 0, px.text())
            # The same variables without the exemption do go through it.
            p, doc, served = self.run_through({"HTTP_PROXY": px.url, "NO_PROXY": "example.com"}, n=4)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertGreater(px.connections(), 0)

    def test_proxy_auth(self):
        """A proxy that wants Basic credentials: none or wrong ones are
        proxy_auth with a clear message; the right ones work; the password
        is never printed or written."""
        password = "Pz7-hunter2-Kq9wXv"
        with Mock(*FAST) as m:
            with TinyProxy(connect_ports=(m.port,), auth=("bench", password)) as px:
                d = tmpdir()
                files = {k: os.path.join(d, k) for k in ("r.json", "r.csv", "r.jsonl")}
                outs = ["--json", files["r.json"], "--csv", files["r.csv"], "--raw", files["r.jsonl"]]
                base = ["run", "--url", m.url, "--model", "llmload-mock", "-n", "4", "-c", "2",
                        "--max-tokens", "8", "--monitor", "none", "--api", "openai-chat", "--proxy-tunnel"]
                # No credentials: 407 on CONNECT.
                p = run_llmload(*base, *outs, "--proxy", px.url, env=NO_PROXY_ENV)
                self.assertEqual(p.returncode, 3, p.stderr)
                doc = json.load(open(files["r.json"]))
                self.assertEqual(doc["summary"]["errors"], {"proxy_auth": 4})
                sample = doc["summary"]["error_samples"]["proxy_auth"]
                self.assertIn("proxy 127.0.0.1:%d wants credentials" % px.port, sample)
                self.assertIn("(407)", sample)
                self.assertIn("wants credentials", p.stderr)
                # Without --api the probe meets the 407 first: the run cannot start.
                p = run_llmload("run", "--url", m.url, "--model", "llmload-mock", "-n", "4",
                                "--monitor", "none", env=dict(NO_PROXY_ENV, HTTP_PROXY=px.url))
                self.assertEqual(p.returncode, 3, p.stderr)
                self.assertIn("wants credentials", p.stderr)
                texts = {}
                # Wrong credentials, then the right ones (from the environment,
                # percent-encoded user name), through the tunnel and forward.
                wrong = "http://bench:%s-wrong@127.0.0.1:%d" % (password, px.port)
                p = run_llmload(*base, *outs, "--proxy", wrong, env=NO_PROXY_ENV)
                self.assertEqual(p.returncode, 3, p.stderr)
                doc = json.load(open(files["r.json"]))
                self.assertEqual(list(doc["summary"]["errors"]), ["proxy_auth"])
                texts["wrong out"] = p.stdout + p.stderr
                for k, path in files.items():
                    texts["wrong " + k] = open(path).read()
                right = "http://%%62ench:%s@127.0.0.1:%d/" % (password, px.port)
                for tunnel in (True, False):
                    args = base if tunnel else [a for a in base if a != "--proxy-tunnel"]
                    p = run_llmload(*args, *outs, env=dict(NO_PROXY_ENV, HTTP_PROXY=right))
                    self.assertEqual(p.returncode, 0, p.stderr)
                    doc = json.load(open(files["r.json"]))
                    self.assertEqual(doc["summary"]["ok"], 4)
                    self.assertEqual(doc["config"]["proxy"], "http://***@127.0.0.1:%d" % px.port)
                    texts["right out %s" % tunnel] = p.stdout + p.stderr
                    for k, path in files.items():
                        texts["right %s %s" % (k, tunnel)] = open(path).read()
                # check through the proxy: up, and the proxy named without its credentials.
                jf = os.path.join(d, "c.json")
                p = run_llmload("check", "--url", m.url, "--proxy", right, "--json", jf, env=NO_PROXY_ENV)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertEqual(json.load(open(jf))["proxy"], "http://***@127.0.0.1:%d" % px.port)
                texts["check"] = p.stdout + p.stderr + open(jf).read()
                # A bad proxy URL is a usage error that does not quote it.
                p = run_llmload(*base, "--proxy", "http://bench:%s@127.0.0.1:0" % password, env=NO_PROXY_ENV)
                self.assertEqual(p.returncode, 2)
                self.assertIn("--proxy: bad port", p.stderr)
                texts["bad url"] = p.stdout + p.stderr
        assert_no_secret(self, password, texts)


class TestHeaders(unittest.TestCase):
    """--header reaches the server on every request; its value is a secret
    in every output unless --header-public names it."""

    SECRET = "gw-Secret-7Hq2Lm9Xz4Rt"
    BEARER = "tok-Bearer-3Nv8Kp5Wd1Jc"

    def test_headers_sent_and_never_shown(self):
        d = tmpdir()
        f = {k: os.path.join(d, k) for k in ("r.json", "r.csv", "r.jsonl", "j.xml", "m.md", "b.json")}
        with OpenAIServer(kinds=("ok", "ok", "echo401")) as srv:
            p = run_llmload("run", "--url", srv.url + "/v1", "--model", "m", "-n", "12", "-c", "2",
                            "--max-tokens", "4", "--monitor", "none",
                            "--header", "x-api-key: " + self.SECRET,
                            "-H", "Authorization: Bearer " + self.BEARER,
                            "--header", "X-Tenant:  acme-prod ", "--header-public", "x-tenant",
                            "--header", "User-Agent: gateway-probe/1",
                            "--json", f["r.json"], "--csv", f["r.csv"], "--raw", f["r.jsonl"],
                            "--junit", f["j.xml"], "--markdown", f["m.md"], "--save-baseline", f["b.json"],
                            "--assert", "error_rate <= 100%",
                            env={"OPENAI_API_KEY": "sk-env-key-never-sent-1234"})
            reqs = list(srv.requests)
        self.assertEqual(p.returncode, 0, p.stderr)
        posts = [h for (m, path, h, b) in reqs if m == "POST"]
        self.assertEqual(len(posts), 12)
        for h in posts + [h for (m, path, h, b) in reqs if m == "GET"]:
            self.assertEqual(h.get("x-api-key"), self.SECRET)
            self.assertEqual(h.get("X-Tenant"), "acme-prod")
            self.assertEqual(h.get("User-Agent"), "gateway-probe/1")
            # The header's Authorization replaces $OPENAI_API_KEY's.
            self.assertEqual(h.get("Authorization"), "Bearer " + self.BEARER)
        doc = json.load(open(f["r.json"]))
        self.assertEqual(doc["config"]["headers"],
                         {"x-api-key": "***", "Authorization": "***", "X-Tenant": "acme-prod",
                          "User-Agent": "***"})
        self.assertFalse(doc["config"]["api_key_set"])
        # The server quoted the Authorization header back in its 401s.
        self.assertEqual(doc["summary"]["errors"], {"status": 4})
        self.assertIn("Incorrect API key provided: ***", doc["summary"]["error_samples"]["status"])
        texts = {"stdout": p.stdout, "stderr": p.stderr}
        for k, path in f.items():
            texts[k] = open(path).read()
        assert_no_secret(self, self.SECRET, texts)
        assert_no_secret(self, self.BEARER, texts)
        self.assertIn("acme-prod", texts["r.json"])

    def test_check_and_sweep_send_headers(self):
        d = tmpdir()
        out = os.path.join(d, "s.json")
        with OpenAIServer() as srv:
            p = run_llmload("check", "--url", srv.url + "/v1", "--header", "x-api-key: " + self.SECRET)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            s = run_llmload("sweep", "--url", srv.url + "/v1", "--model", "m", "-c", "1,2", "-n", "4",
                            "--max-tokens", "4", "--monitor", "none", "--json", out,
                            "--header", "x-api-key: " + self.SECRET)
            reqs = list(srv.requests)
        self.assertEqual(s.returncode, 0, s.stderr)
        self.assertTrue(reqs)
        for (m, path, h, b) in reqs:
            self.assertEqual(h.get("x-api-key"), self.SECRET, (m, path))
        assert_no_secret(self, self.SECRET, {"check": p.stdout + p.stderr, "sweep": s.stdout + s.stderr,
                                             "s.json": open(out).read()})

    def test_header_usage_errors(self):
        base = ["run", "--url", "http://127.0.0.1:9/v1", "--model", "m", "-n", "1"]
        for h, want in (("Host: example.com", "Host is set by llmload"),
                        ("content-length: 3", "Content-Length is set by llmload"),
                        ("Transfer-Encoding: chunked", "Transfer-Encoding is set by llmload"),
                        ("Connection: close", "Connection is set by llmload"),
                        ("Proxy-Authorization: Basic " + self.SECRET, "proxy URL"),
                        ("X Bad: " + self.SECRET, "not allowed"),
                        ("X-Key: " + self.SECRET + "\r\nX-Injected: 1", "control character"),
                        ("NoColon" + self.SECRET, "expected 'Name: value'")):
            p = run_llmload(*base, "--header", h, env=NO_PROXY_ENV)
            self.assertEqual(p.returncode, 2, (h, p.stderr))
            self.assertIn(want, p.stderr)
            assert_no_secret(self, self.SECRET, {h: p.stdout + p.stderr})
        p = run_llmload(*base, "--header", "Authorization: Bearer x", "--api-key", "y")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--header Authorization and --api-key: give one of them", p.stderr)
        p = run_llmload(*base, "--header", "X-A: 1", "--header-public", "X-B")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--header-public X-B: no --header has that name", p.stderr)


if __name__ == "__main__":
    # Without tinyproxy the proxy tests are SKIPped (77 for meson), as the
    # Prometheus tests are without prometheus.
    if not os.access(TINYPROXY, os.X_OK) and any(hasattr(TestProxy, n) for n in sys.argv[1:]):
        print("SKIP: not installed: tinyproxy (./dev setup, or apt-get install tinyproxy-bin)")
        sys.exit(77)
    main()

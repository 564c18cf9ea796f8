"""Shared helpers for the end-to-end tests.

Every test starts `llmload mock` as a separate process listening on
127.0.0.1 port 0, reads the bound address from its first stdout line, and
talks to it over real loopback sockets.  Nothing here sleeps and hopes:
readiness is the address line, and every wait has a deadline that fails the
test.  Traffic only ever goes to 127.0.0.1 / ::1.

Run one test:  python3 tests/e2e/test_mock.py test_generate_stream
(LLMLOAD must name the built binary; meson test sets it.)
"""
import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

LLMLOAD = os.environ.get("LLMLOAD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "src", "llmload")
FIXTURES = os.environ.get("LLMLOAD_FIXTURES", "")

# A fast simulator: tests must not wait on a realistic model's pace.
FAST = ["--decode-rate", "2000", "--prefill-rate", "1000000", "--ttft-base", "0"]


class Mock:
    """`llmload mock` in a child process.  Use as a context manager."""

    def __init__(self, *args, startup_timeout=20.0):
        self.args = [LLMLOAD, "mock", "--listen", "127.0.0.1:0"] + list(args)
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        line = _readline(self.proc.stdout, startup_timeout)
        if not line:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError("mock did not print its address: %r %s" % (line, err))
        self.url = line.decode().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.url
        self.host = "127.0.0.1"
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        """Stops the child; returns its exit code.  Fails loudly on a hang."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("mock did not stop within %.0fs of %s" % (timeout, sig))
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()


def _readline(f, timeout):
    deadline = time.monotonic() + timeout
    buf = b""
    fd = f.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return None
        b = os.read(fd, 1)
        if not b:
            return None
        buf += b
    return buf


def raw_request(port, data, host="127.0.0.1", timeout=30.0, shut_wr=False):
    """Sends raw bytes, returns everything read until the server closes."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(data)
        if shut_wr:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b
    finally:
        s.close()


class Response:
    def __init__(self, status, reason, headers, body, raw_body, chunked):
        self.status = status
        self.reason = reason
        self.headers = headers          # lower-case name -> value (last wins)
        self.body = body                # de-chunked body bytes
        self.raw_body = raw_body        # body bytes as on the wire
        self.chunked = chunked

    def json(self):
        return json.loads(self.body)


def parse_response(raw, strict=True):
    """Parses one HTTP/1.1 response, checking the HTTP/1.1 framing rules of docs/protocols.md:
    CRLF header lines, chunk-size CRLF data CRLF ... 0 CRLF CRLF."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    assert sep, "no end of headers in %r" % raw[:200]
    lines = head.split(b"\r\n")
    ver, status, reason = lines[0].decode().split(" ", 2)
    assert ver == "HTTP/1.1", lines[0]
    headers = {}
    for l in lines[1:]:
        k, _, v = l.decode().partition(":")
        headers[k.strip().lower()] = v.strip()
    chunked = "chunked" in headers.get("transfer-encoding", "")
    if chunked:
        body = b""
        pos = 0
        while True:
            end = rest.index(b"\r\n", pos)
            size = int(rest[pos:end].split(b";")[0], 16)
            pos = end + 2
            if size == 0:
                assert rest[pos:pos + 2] == b"\r\n", "bad chunked trailer %r" % rest[pos:pos + 10]
                if strict:
                    assert pos + 2 == len(rest), "bytes after the last chunk"
                break
            body += rest[pos:pos + size]
            assert rest[pos + size:pos + size + 2] == b"\r\n", "chunk not CRLF-terminated"
            pos += size + 2
        raw_body = rest
    else:
        n = int(headers.get("content-length", len(rest)))
        body = rest[:n]
        raw_body = rest
        if strict and "content-length" in headers:
            assert len(rest) == n, "body length %d != Content-Length %d" % (len(rest), n)
    return Response(int(status), reason, headers, body, raw_body, chunked)


def http(port, method, path, body=None, headers=None, host="127.0.0.1", timeout=60.0):
    """One request with Connection: close; returns a parsed Response."""
    if body is not None and not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
    h = {"Host": "%s:%d" % (host, port), "Connection": "close"}
    if body is not None:
        h["Content-Type"] = "application/json"
        h["Content-Length"] = str(len(body))
    h.update(headers or {})
    req = "%s %s HTTP/1.1\r\n" % (method, path) + "".join(
        "%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    raw = raw_request(port, req.encode() + (body or b""), host=host, timeout=timeout)
    return parse_response(raw)


def sse_events(body):
    """Splits an SSE body (bytes) into the list of data payloads (str), by
    the WHATWG rules for LF-terminated streams."""
    events, data = [], []
    for line in body.decode().split("\n"):
        if line == "":
            if data:
                events.append("\n".join(data))
            data = []
        elif line.startswith(":"):
            continue
        else:
            k, _, v = line.partition(":")
            if v.startswith(" "):
                v = v[1:]
            if k == "data":
                data.append(v)
    return events


def ndjson_lines(body):
    text = body.decode()
    assert text.endswith("\n"), "NDJSON body must end with LF"
    return [json.loads(l) for l in text.split("\n") if l]


def timing_attempts(fn, attempts=3):
    """Runs fn(), a test step whose assertions depend on wall-clock
    throughput, until it passes, at most `attempts` times.

    This VM sometimes stalls every process for 100-500 ms (hypervisor steal
    time), and a stall inside one level of a sweep moves that level's
    throughput by 10-30 %.  Retrying such a step is not hoping: a real bug
    (a wrong knee, a wrong ratio) fails every attempt, and each failure is
    printed.  Only steps that measure throughput against the clock use this;
    everything deterministic is asserted once."""
    last = None
    for i in range(attempts):
        try:
            return fn()
        except AssertionError as e:
            last = e
            sys.stderr.write("timing attempt %d of %d failed: %s\n" % (i + 1, attempts, e))
    raise last


def run_llmload(*args, timeout=300, env=None, input=None):
    """Runs the llmload binary; returns CompletedProcess (text)."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([LLMLOAD] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=e, input=input)


_TMPDIRS = []


def tmpdir():
    """A fresh directory, removed when the test process exits."""
    d = tempfile.mkdtemp(prefix="llmload-test-")
    _TMPDIRS.append(d)
    return d


@atexit.register
def _remove_tmpdirs():
    for d in _TMPDIRS:
        shutil.rmtree(d, ignore_errors=True)


def serial(fn):
    """Marks a test that must run alone (list_tests.py): it compares measured
    times with a simulator's model, and another test sharing the CPUs would
    skew the very rates it checks."""
    fn.llmload_serial = True
    return fn


def decoder(fn):
    """Marks a test of stream decoding; it runs a second time with the shape
    fast path off (LLMLOAD_NO_FAST_PATH=1, list_tests.py)."""
    fn.llmload_decoder = True
    return fn


def main():
    """unittest entry point: `script.py NAME` runs the one test method NAME of
    whichever TestCase in the calling module defines it."""
    mod = sys.modules["__main__"]
    names = sys.argv[1:]
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for name in names:
        found = False
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, unittest.TestCase) and hasattr(obj, name):
                suite.addTest(obj(name))
                found = True
        if not found:
            print("no test named %s" % name, file=sys.stderr)
            sys.exit(2)
    if not names:
        suite = loader.loadTestsFromModule(mod)
    r = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if r.wasSuccessful() else 1)

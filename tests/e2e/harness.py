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
import http.server as http_server
import json
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
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
        assert self.url.startswith(("http://127.0.0.1:", "https://127.0.0.1:")), self.url
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



def wait_line(tc, f, prefix, timeout, what):
    """Reads lines of f (a child's pipe) until one starts with prefix; fails
    tc with `what` when none comes within timeout seconds each."""
    while True:
        line = _readline(f, timeout)
        tc.assertIsNotNone(line, what)
        if line.startswith(prefix):
            return line

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


def free_port():
    """A loopback port nobody listens on (bound, then released), for a
    server that cannot be told to pick its own (nginx)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


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


def free_port():
    """A loopback port nobody listens on (bound, then released): a child
    told to listen on it may lose it to another process first, and must be
    started again on a new one when it does."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stop_child(proc, timeout=30.0):
    """Terminates a child process (SIGTERM), killed if it is still there
    after timeout seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_llmload(*args, timeout=300, env=None, input=None):
    """Runs the llmload binary; returns CompletedProcess (text).  Every JSON
    document the run wrote (--json, --raw, --save-baseline, to a file or to
    "-") is checked against its published schema (docs/schema/)."""
    e = dict(os.environ)
    e.update(env or {})
    start = time.time_ns()
    p = subprocess.run([LLMLOAD] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=e, input=input)
    check_outputs(list(args), p, start)
    return p


# ---- the published JSON Schemas, checked on every document a test makes -------------

SCHEMA_DIR = os.path.join(os.environ.get("LLMLOAD_SRCDIR") or
                          os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."),
                          "docs", "schema")
# The "schema" field of a document, and the file that describes it.
SCHEMA_OF = {"llmload.result/1": "result", "llmload.sweep/1": "sweep",
             "llmload.compare/1": "compare", "llmload.baseline/2": "baseline"}
# Flags whose FILE is a JSON document, or JSONL of one (--raw).
JSON_FLAGS = ("--json", "--save-baseline", "--raw")
_VALIDATORS = {}


def schema_validator(name):
    """The validator of docs/schema/NAME.schema.json, its $refs to the other
    files resolved."""
    if name not in _VALIDATORS:
        import jsonschema
        import referencing
        resources = []
        for f in sorted(os.listdir(SCHEMA_DIR)):
            if f.endswith(".schema.json"):
                with open(os.path.join(SCHEMA_DIR, f)) as fh:
                    doc = json.load(fh)
                resources.append((f, referencing.Resource.from_contents(doc)))
                resources.append((doc["$id"], referencing.Resource.from_contents(doc)))
        registry = referencing.Registry().with_resources(resources)
        with open(os.path.join(SCHEMA_DIR, name + ".schema.json")) as fh:
            sch = json.load(fh)
        cls = jsonschema.validators.validator_for(sch)
        cls.check_schema(sch)
        _VALIDATORS[name] = cls(sch, registry=registry)
    return _VALIDATORS[name]


def check_document(doc, name=None, where="document"):
    """Fails unless doc is valid under its schema (by its "schema" field, or
    name)."""
    if name is None:
        name = SCHEMA_OF.get(doc.get("schema")) if isinstance(doc, dict) else None
        if name is None:
            raise AssertionError("%s: no published schema for %r" % (where, doc.get("schema")
                                 if isinstance(doc, dict) else doc))
    errors = sorted(schema_validator(name).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise AssertionError("%s does not match docs/schema/%s.schema.json at /%s: %s (%d errors)" % (
            where, name, "/".join(str(x) for x in e.absolute_path), e.message[:300], len(errors)))


def check_text(text, flag, command, where):
    if flag == "--raw":
        for i, line in enumerate(text.splitlines()):
            if line.strip():
                check_document(json.loads(line), "raw", "%s line %d" % (where, i + 1))
        return
    if not text.strip():
        return
    doc = json.loads(text)
    check_document(doc, "check" if command == "check" else None, where)


def check_outputs(args, p, start):
    """Checks the documents a finished llmload run wrote: files written by
    this run (a file left from before, or one a test put there to see it
    kept, is not this run's) and a document on stdout ("-")."""
    command = args[0] if args and not args[0].startswith("-") else "run"
    if command not in ("run", "sweep", "compare", "check"):
        return
    for i, a in enumerate(args):
        flag, _, val = a.partition("=")
        if flag not in JSON_FLAGS:
            continue
        if not _:
            if i + 1 >= len(args):
                continue
            val = args[i + 1]
        if val == "-":
            if p.returncode in (0, 1, 4):
                check_text(p.stdout, flag, command, "%s - (stdout)" % flag)
            continue
        try:
            st = os.stat(val)
        except OSError:
            continue
        # File times come from the kernel's coarse clock, a tick behind:
        # a file written before the run never looks newer than its start.
        if not stat_is_reg(st) or st.st_mtime_ns < start:
            continue
        with open(val) as f:
            text = f.read()
        try:
            check_text(text, flag, command, "%s %s" % (flag, val))
        except (ValueError, OSError) as e:
            raise AssertionError("%s %s: %s" % (flag, val, e))


def stat_is_reg(st):
    return stat.S_ISREG(st.st_mode)




def run_on_pty(args, env=None, stdout=True, timeout=120, typed=None):
    """Runs llmload with its stderr (and its stdout, unless stdout is False:
    then it is discarded) on a pseudo-terminal, as a user's terminal is;
    returns (exit code, everything written to the terminal).  With typed,
    its stdin is the terminal too, and typed is written to it once llmload
    has turned the terminal's echo off (polled: the master reads the
    terminal's modes), as a user types a secret at a prompt."""
    import pty
    import termios
    e = dict(os.environ)
    e.update(env or {})
    master, slave = pty.openpty()
    p = subprocess.Popen([LLMLOAD] + list(args), stdin=subprocess.DEVNULL if typed is None else slave,
                         stdout=slave if stdout else subprocess.DEVNULL, stderr=slave, env=e)
    os.close(slave)
    out = b""
    try:
        deadline = time.monotonic() + timeout
        while typed is not None and termios.tcgetattr(master)[3] & termios.ECHO:
            if time.monotonic() > deadline or p.poll() is not None:
                raise AssertionError("llmload never turned the echo off: %s" % (args,))
            time.sleep(0.01)
        if typed is not None:
            os.write(master, typed.encode())
        while True:
            r, _, _ = select.select([master], [], [], timeout)
            if not r:
                raise AssertionError("no output for %ds from %s" % (timeout, args))
            try:
                chunk = os.read(master, 65536)
            except OSError:     # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(master)
        code = p.wait(timeout)
    return code, out.decode(errors="replace")


_TMPDIRS = []


def tmpdir():
    """A fresh directory, removed when the test process exits."""
    d = tempfile.mkdtemp(prefix="llmload-test-")
    _TMPDIRS.append(d)
    return d


class TmpDirTest(unittest.TestCase):
    """A test case with a fresh directory of its own (self.dir), removed
    after each test."""

    def setUp(self):
        self.dir = tmpdir()

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)


def detail(p):
    """A finished process's exit status and output, for a failure message."""
    return "exit %s\n--- stdout\n%s\n--- stderr\n%s" % (p.returncode, p.stdout, p.stderr)


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


class OpenAIServer:
    """A small OpenAI-style server in a thread, for what the simulator never
    does: it can refuse or echo the Authorization header (a key in a 401
    body, in an in-stream error event), answer llama.cpp's /props, put a
    system_fingerprint in its chunks, and serve llama.cpp's native
    /completion.  Every request's (method, path, headers, body) is kept in
    `requests`.

    kinds: the replies to POSTs in turn (cycled):
      "ok"         a stream of `tokens` chunks with usage
      "echo401"    401 whose message quotes the Authorization header
      "echo_cut"   401 quoting it after padding, so the client's bound on
                   error text cuts it inside the key
      "echo_mask"  401 quoting it masked as OpenAI does (sk-tes****6789)
      "echo_event" 200 stream: one chunk, then an error event quoting it
    key: when set, GET /v1/models answers 401 to any other Authorization."""

    def __init__(self, kinds=("ok",), tokens=4, key=None, version=None, props=None,
                 fingerprint=None, models=("m",), truncated=False):
        self.kinds, self.tokens, self.key = list(kinds), tokens, key
        self.truncated = truncated      # llama.cpp's "truncated": true on /completion
        self.requests = []
        self.posts = 0
        self.lock = threading.Lock()
        srv = self

        class Handler(http_server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, body, ctype="application/json"):
                if not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def record(self, body=b""):
                with srv.lock:
                    srv.requests.append((self.command, self.path, dict(self.headers), body))

            def do_GET(self):
                self.record()
                auth = self.headers.get("Authorization", "")
                if self.path.endswith("/v1/models"):
                    if srv.key is not None and auth != "Bearer " + srv.key:
                        return self.reply(401, {"error": {"message": "Incorrect API key provided: " + auth,
                                                          "type": "invalid_request_error"}})
                    return self.reply(200, {"object": "list",
                                            "data": [{"id": m, "object": "model"} for m in models]})
                if self.path == "/version" and version:
                    return self.reply(200, {"version": version})
                if self.path == "/props" and props:
                    return self.reply(200, {"build_info": props, "total_slots": 4})
                self.reply(404, {"error": "not found"})

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                self.record(body)
                with srv.lock:
                    kind = srv.kinds[srv.posts % len(srv.kinds)]
                    srv.posts += 1
                auth = self.headers.get("Authorization", "")
                if kind.startswith("echo") and kind != "echo_event":
                    key = auth[len("Bearer "):]
                    msg = {"echo401": "Incorrect API key provided: " + auth + ". Find yours at x",
                           "echo_cut": "Incorrect API key: " + "x" * 80 + " " + auth,
                           "echo_mask": "Incorrect API key provided: %s%s%s. You can find it"
                                        % (key[:6], "*" * 20, key[-4:])}[kind]
                    return self.reply(401, {"error": {"message": msg, "type": "invalid_request_error"}})
                native = self.path.endswith("/completion")
                chunks = []
                for i in range(srv.tokens):
                    if native:
                        ev = {"index": 0, "content": "tok%d " % i, "tokens": [i], "stop": False}
                    else:
                        ev = {"id": "c", "object": "chat.completion.chunk", "model": "m",
                              "choices": [{"index": 0, "delta": {"content": "tok%d " % i},
                                           "finish_reason": None}]}
                        if fingerprint:
                            ev["system_fingerprint"] = fingerprint
                    chunks.append(b"data: " + json.dumps(ev).encode() + b"\n\n")
                    if kind == "echo_event":
                        chunks.append(b"data: " + json.dumps(
                            {"error": {"message": "stream stopped: bad credentials " + auth}}).encode() + b"\n\n")
                        break
                if native:
                    chunks.append(b"data: " + json.dumps(
                        {"index": 0, "content": "", "stop": True, "stop_type": "limit",
                         "truncated": srv.truncated,
                         "timings": {"prompt_n": 3, "predicted_n": srv.tokens}}).encode() + b"\n\n")
                elif kind != "echo_event":
                    chunks.append(b"data: " + json.dumps(
                        {"id": "c", "object": "chat.completion.chunk", "model": "m",
                         "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}],
                         "usage": {"prompt_tokens": 3, "completion_tokens": srv.tokens,
                                   "total_tokens": 3 + srv.tokens}}).encode() + b"\n\n")
                    chunks.append(b"data: [DONE]\n\n")
                self.reply(200, b"".join(chunks), "text/event-stream")

        self.httpd = http_server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def posts_to(self):
        with self.lock:
            return [p for (m, p, h, b) in self.requests if m == "POST"]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def assert_no_secret(t, key, texts):
    """No text in texts (name -> str) shows the key, whole or any 8 of its
    characters in a row."""
    for name, text in texts.items():
        for i in range(len(key) - 7):
            t.assertNotIn(key[i:i + 8], text, "%s shows part of the key: %r" % (name, key[i:i + 8]))

"""End-to-end tests of `llmload mock`: the wire bytes of every endpoint and
every fault, held to the framing rules of docs/protocols.md, plus the timing
model, the truth file, /metrics and the process lifecycle.

Times are compared across processes: the simulator stamps uv_hrtime(), which
is CLOCK_MONOTONIC, the clock behind time.monotonic_ns() here.
"""
import json
import os
import re
import select
import signal
import socket
import subprocess
import time
import unittest

import harness
from harness import FAST, Mock

MODEL = "llmload-mock"


def now_ns():
    return time.monotonic_ns()


def request_bytes(method, path, body=None, headers=None, close=True, port=0):
    if body is not None and not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
    h = {"Host": "127.0.0.1:%d" % port}
    if close:
        h["Connection"] = "close"
    if body is not None:
        h["Content-Type"] = "application/json"
        h["Content-Length"] = str(len(body))
    h.update(headers or {})
    head = "%s %s HTTP/1.1\r\n" % (method, path) + "".join(
        "%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    return head.encode() + (body or b"")


def timed_request(port, method, path, body=None, headers=None, timeout=30.0):
    """Sends one request (Connection: close) and reads to EOF, noting the
    monotonic time of every read.  Returns (t_sent, [(t, bytes)], raw)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        t0 = now_ns()
        s.sendall(request_bytes(method, path, body, headers, port=port))
        reads = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            reads.append((now_ns(), b))
        return t0, reads, b"".join(b for _, b in reads)
    finally:
        s.close()


def read_truth(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def metrics(port):
    """GET /metrics, parsed as Prometheus text 0.0.4 into {sample: value}.
    Fails on any line that is not a comment or a valid sample."""
    r = harness.http(port, "GET", "/metrics")
    assert r.status == 200, r.status
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4"), r.headers
    text = r.body.decode()
    assert text.endswith("\n")
    out, typed = {}, set()
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"'
                        r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$')
    for line in text.split("\n")[:-1]:
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in typed, "TYPE twice for " + name
            typed.add(name)
            continue
        if line.startswith("# HELP "):
            continue
        m = sample.match(line)
        assert m, "not a Prometheus sample: %r" % line
        assert m.group(1) in typed, "sample before its TYPE: %r" % line
        out[m.group(1) + (m.group(2) or "")] = float(m.group(4))
    return out


class Endpoints(unittest.TestCase):
    def test_info_endpoints(self):
        with Mock(*FAST, "--model", "alpha,beta") as m:
            r = harness.http(m.port, "GET", "/")
            self.assertEqual((r.status, r.body), (200, b"Ollama is running"))
            # HEAD: the GET's headers and no body (parse_response cannot
            # know the request was HEAD, so check the bytes).
            raw = harness.raw_request(m.port, request_bytes("HEAD", "/", port=m.port))
            self.assertTrue(raw.startswith(b"HTTP/1.1 200 OK\r\n"), raw)
            self.assertIn(b"\r\nContent-Length: 17\r\n", raw)
            self.assertTrue(raw.endswith(b"\r\n\r\n"), raw)
            r = harness.http(m.port, "GET", "/api/version")
            self.assertRegex(r.json()["version"], r"^\d+\.\d+\.\d+")
            tags = harness.http(m.port, "GET", "/api/tags").json()["models"]
            self.assertEqual([t["name"] for t in tags], ["alpha", "beta"])
            for t in tags:
                self.assertRegex(t["digest"], r"^[0-9a-f]{64}$")
                self.assertEqual(set(t["details"]), {"parent_model", "format", "family", "families",
                                                     "parameter_size", "quantization_level"})
                self.assertIn("modified_at", t)
            ps = harness.http(m.port, "GET", "/api/ps").json()["models"]
            self.assertEqual([p["model"] for p in ps], ["alpha", "beta"])
            self.assertIn("expires_at", ps[0])
            self.assertIsInstance(ps[0]["context_length"], int)
            models = harness.http(m.port, "GET", "/v1/models").json()
            self.assertEqual(models["object"], "list")
            self.assertEqual([d["id"] for d in models["data"]], ["alpha", "beta"])
            self.assertTrue(all(d["object"] == "model" for d in models["data"]))
            r = harness.http(m.port, "GET", "/health")
            self.assertEqual((r.status, r.body, r.headers["content-length"]), (200, b"", "0"))

    def test_generate_stream(self):
        with Mock(*FAST, "--ttft-base", "30ms", "--decode-rate", "500") as m:
            body = {"model": MODEL, "prompt": "x" * 41, "options": {"num_predict": 12}}
            t0, reads, raw = timed_request(m.port, "POST", "/api/generate", body)
            t_end = reads[-1][0]
            r = harness.parse_response(raw)
            self.assertEqual(r.status, 200)
            self.assertTrue(r.chunked)
            self.assertNotIn("content-length", r.headers)
            self.assertEqual(r.headers["content-type"], "application/x-ndjson")
            lines = harness.ndjson_lines(r.body)
            content, final = lines[:-1], lines[-1]
            self.assertEqual(len(content), 12)
            for l in content:
                self.assertEqual(set(l), {"model", "created_at", "response", "done"})
                self.assertEqual((l["model"], l["done"]), (MODEL, False))
                self.assertRegex(l["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
                self.assertRegex(l["response"], r"^ [a-z]+$")
            self.assertIs(final["done"], True)
            self.assertEqual(final["done_reason"], "length")
            self.assertEqual(final["response"], "")
            self.assertEqual(final["eval_count"], 12)
            self.assertEqual(final["prompt_eval_count"], 11)        # ceil(41/4)
            self.assertEqual(len(final["context"]), 11 + 12)
            keys = ["total_duration", "load_duration", "prompt_eval_duration", "eval_duration"]
            for k in keys:
                self.assertIsInstance(final[k], int, k)
                self.assertGreaterEqual(final[k], 0, k)
            # total runs from the request to the final line, just after the
            # last token.
            parts = (final["load_duration"] + final["prompt_eval_duration"] +
                     final["eval_duration"])
            self.assertGreaterEqual(final["total_duration"], parts)
            self.assertLess(final["total_duration"] - parts, 50_000_000)
            # The durations are the simulated ones and fit in the wall time
            # this client saw: TTFT >= 30ms base + 11/1e6 s prefill, 11 more
            # tokens at 500 tok/s >= 22ms.
            self.assertLessEqual(final["total_duration"], t_end - t0)
            self.assertGreaterEqual(final["prompt_eval_duration"], 30_000_000)
            self.assertGreaterEqual(final["eval_duration"], 11 * 2_000_000)
            self.assertLess(final["eval_duration"], 11 * 2_000_000 + 500_000_000)
            # Each line came in its own chunk: one chunk per event.
            self.assertEqual(r.raw_body.count(b"\r\n0\r\n\r\n"), 1)
            self.assertEqual(len(re.findall(rb"(?m)^[0-9a-f]+\r\n\{", r.raw_body)), 13)

    def test_chat_stream(self):
        with Mock(*FAST) as m:
            body = {"model": MODEL, "messages": [{"role": "system", "content": "abcd" * 5},
                                                 {"role": "user", "content": "hello"}],
                    "options": {"num_predict": 5}}
            r = harness.http(m.port, "POST", "/api/chat", body)
            lines = harness.ndjson_lines(r.body)
            self.assertEqual(len(lines), 6)
            for l in lines[:-1]:
                self.assertEqual(l["message"]["role"], "assistant")
                self.assertRegex(l["message"]["content"], r"^ [a-z]+$")
                self.assertIs(l["done"], False)
            final = lines[-1]
            self.assertEqual(final["message"], {"role": "assistant", "content": ""})
            self.assertNotIn("context", final)
            self.assertEqual((final["done_reason"], final["eval_count"]), ("length", 5))
            self.assertEqual(final["prompt_eval_count"], 7)          # ceil(25/4)

    def test_ollama_stream_false(self):
        with Mock(*FAST) as m:
            r = harness.http(m.port, "POST", "/api/generate",
                             {"model": MODEL, "prompt": "hi", "stream": False,
                              "options": {"num_predict": 7}})
            self.assertFalse(r.chunked)
            self.assertEqual(int(r.headers["content-length"]), len(r.body))
            self.assertTrue(r.headers["content-type"].startswith("application/json"))
            d = r.json()
            self.assertEqual(len(d["response"].split()), 7)
            self.assertEqual((d["done"], d["done_reason"], d["eval_count"]), (True, "length", 7))
            self.assertEqual(len(d["context"]), 1 + 7)
            r = harness.http(m.port, "POST", "/api/chat",
                             {"model": MODEL, "stream": False, "options": {"num_predict": 4},
                              "messages": [{"role": "user", "content": "hi"}]})
            d = r.json()
            self.assertEqual(d["message"]["role"], "assistant")
            self.assertEqual(len(d["message"]["content"].split()), 4)
            # An empty prompt loads the model and generates nothing.
            d = harness.http(m.port, "POST", "/api/generate", {"model": MODEL}).json()
            self.assertEqual((d["done"], d["done_reason"], d["response"]), (True, "load", ""))

    def test_openai_chat_stream_usage(self):
        with Mock(*FAST) as m:
            body = {"model": MODEL, "stream": True, "max_completion_tokens": 6,
                    "messages": [{"role": "user", "content": "12345678"}],
                    "stream_options": {"include_usage": True}}
            r = harness.http(m.port, "POST", "/v1/chat/completions", body)
            self.assertTrue(r.chunked)
            self.assertTrue(r.headers["content-type"].startswith("text/event-stream"))
            text = r.body.decode()
            self.assertTrue(text.endswith("data: [DONE]\n\n"))
            # Every event is exactly "data: ...\n\n".
            self.assertEqual(re.sub(r"data: [^\n]+\n\n", "", text), "")
            ev = harness.sse_events(r.body)
            self.assertEqual(ev[-1], "[DONE]")
            chunks = [json.loads(e) for e in ev[:-1]]
            ids = {c["id"] for c in chunks}
            self.assertEqual(len(ids), 1)
            self.assertTrue(all(c["object"] == "chat.completion.chunk" for c in chunks))
            self.assertEqual(len({c["created"] for c in chunks}), 1)
            self.assertEqual(chunks[0]["choices"][0]["delta"], {"role": "assistant", "content": ""})
            content = chunks[1:-2]
            self.assertEqual(len(content), 6)
            for c in content:
                self.assertIsNone(c["choices"][0]["finish_reason"])
                self.assertRegex(c["choices"][0]["delta"]["content"], r"^ [a-z]+$")
                self.assertIsNone(c["usage"])
            fin = chunks[-2]
            self.assertEqual(fin["choices"][0]["finish_reason"], "length")
            self.assertEqual(fin["choices"][0]["delta"], {})
            usage = chunks[-1]
            self.assertEqual(usage["choices"], [])
            self.assertEqual(usage["usage"], {"prompt_tokens": 2, "completion_tokens": 6,
                                              "total_tokens": 8})

    def test_openai_stream_without_usage(self):
        with Mock(*FAST) as m:
            for path, body in (("/v1/chat/completions",
                                {"messages": [{"role": "user", "content": "hi"}]}),
                               ("/v1/completions", {"prompt": "hi"})):
                body.update(model=MODEL, stream=True, max_tokens=3)
                r = harness.http(m.port, "POST", path, body)
                ev = harness.sse_events(r.body)
                self.assertEqual(ev[-1], "[DONE]")
                chunks = [json.loads(e) for e in ev[:-1]]
                self.assertTrue(all("usage" not in c for c in chunks), path)
                self.assertTrue(all(c["choices"] for c in chunks), path)
                self.assertEqual(chunks[-1]["choices"][0]["finish_reason"], "length")
                if path == "/v1/completions":
                    self.assertTrue(all(c["object"] == "text_completion" for c in chunks))
                    texts = [c["choices"][0]["text"] for c in chunks[:-1]]
                    self.assertEqual(len(texts), 3)
                    self.assertTrue(all(re.match(r"^ [a-z]+$", t) for t in texts))
                    self.assertEqual(chunks[-1]["choices"][0]["text"], "")

    def test_openai_stream_false(self):
        with Mock(*FAST) as m:
            r = harness.http(m.port, "POST", "/v1/chat/completions",
                             {"model": MODEL, "max_tokens": 9,
                              "messages": [{"role": "user", "content": "x" * 40}]})
            self.assertFalse(r.chunked)
            self.assertEqual(int(r.headers["content-length"]), len(r.body))
            d = r.json()
            self.assertEqual(d["object"], "chat.completion")
            ch = d["choices"][0]
            self.assertEqual(ch["message"]["role"], "assistant")
            self.assertEqual(len(ch["message"]["content"].split()), 9)
            self.assertEqual(ch["finish_reason"], "length")
            self.assertEqual(d["usage"], {"prompt_tokens": 10, "completion_tokens": 9,
                                          "total_tokens": 19})
            d = harness.http(m.port, "POST", "/v1/completions",
                             {"model": MODEL, "prompt": ["ab", "cd"], "max_tokens": 2}).json()
            self.assertEqual(d["object"], "text_completion")
            self.assertEqual(len(d["choices"][0]["text"].split()), 2)
            self.assertEqual(d["usage"]["prompt_tokens"], 1)


class Output(unittest.TestCase):
    def test_tokens_per_chunk(self):
        with Mock(*FAST, "--tokens-per-chunk", "4") as m:
            r = harness.http(m.port, "POST", "/v1/completions",
                             {"model": MODEL, "prompt": "p", "max_tokens": 10, "stream": True,
                              "stream_options": {"include_usage": True}})
            chunks = [json.loads(e) for e in harness.sse_events(r.body)[:-1]]
            texts = [c["choices"][0]["text"] for c in chunks if c["choices"]][:-1]
            # The first token goes alone (as in vLLM), then groups of 4.
            self.assertEqual([len(t.split()) for t in texts], [1, 4, 4, 1])
            self.assertEqual(chunks[-1]["usage"]["completion_tokens"], 10)
            lines = harness.ndjson_lines(harness.http(
                m.port, "POST", "/api/generate",
                {"model": MODEL, "prompt": "p", "options": {"num_predict": 9}}).body)
            self.assertEqual([len(l["response"].split()) for l in lines[:-1]], [1, 4, 4])
            self.assertEqual(lines[-1]["eval_count"], 9)

    def test_max_tokens_sources(self):
        with Mock(*FAST, "--default-max-tokens", "5") as m:
            def n_oai(extra):
                body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
                body.update(extra)
                return harness.http(m.port, "POST", "/v1/chat/completions",
                                    body).json()["usage"]["completion_tokens"]
            self.assertEqual(n_oai({}), 5)
            self.assertEqual(n_oai({"max_tokens": 3}), 3)
            self.assertEqual(n_oai({"max_completion_tokens": 4, "max_tokens": 3}), 4)

            def n_ollama(opts):
                return harness.http(m.port, "POST", "/api/generate",
                                    {"model": MODEL, "prompt": "hi", "stream": False,
                                     "options": opts}).json()["eval_count"]
            self.assertEqual(n_ollama({}), 5)
            self.assertEqual(n_ollama({"num_predict": 8}), 8)
            self.assertEqual(n_ollama({"num_predict": -1}), 5)     # unlimited -> default

    def test_eos_fraction(self):
        with Mock(*FAST, "--eos-fraction", "1", "--seed", "7") as m:
            def run(extra):
                body = {"model": MODEL, "prompt": "hi", "max_tokens": 40}
                body.update(extra)
                d = harness.http(m.port, "POST", "/v1/completions", body).json()
                return d["choices"][0]["finish_reason"], d["usage"]["completion_tokens"]
            stops = [run({}) for _ in range(5)]
            for reason, n in stops:
                self.assertEqual(reason, "stop")
                self.assertTrue(1 <= n < 40, n)
            self.assertEqual(run({"ignore_eos": True}), ("length", 40))
            for _ in range(5):
                reason, n = run({"min_tokens": 30})
                self.assertEqual(reason, "stop")
                self.assertTrue(30 <= n < 40, n)
            self.assertEqual(run({"min_tokens": 40}), ("length", 40))

    @harness.serial
    def test_timing_model(self):
        # 4000 bytes = 1000 prompt tokens at 10000 tok/s = 100 ms of prefill
        # on top of a 20 ms base; 40 tokens at 400 tok/s = 2.5 ms apart.
        d = harness.tmpdir()
        truth = os.path.join(d, "t.jsonl")
        with Mock("--ttft-base", "20ms", "--prefill-rate", "10000", "--decode-rate", "400",
                  "--truth", truth) as m:
            r = harness.http(m.port, "POST", "/api/generate",
                             {"model": MODEL, "prompt": "y" * 4000, "options": {"num_predict": 40}})
            final = harness.ndjson_lines(r.body)[-1]
        t = read_truth(truth)[0]
        ttft = t["first_token_ns"] - t["recv_ns"]
        self.assertGreaterEqual(ttft, 120_000_000)
        self.assertLess(ttft, 120_000_000 + 500_000_000)    # generous: shared CI machines
        self.assertEqual(final["prompt_eval_duration"] + final["load_duration"], ttft)
        decode = t["last_token_ns"] - t["first_token_ns"]
        self.assertEqual(decode, final["eval_duration"])
        # Tokens follow an ideal schedule from the first token's real time,
        # so late wake-ups can stretch the span but never shorten it.
        self.assertGreaterEqual(decode, 39 * 2_500_000)
        self.assertLess(decode, 39 * 2_500_000 * 5)

    @harness.serial
    def stream_together(self, port, body, n):
        """Sends body on n connections at once and reads each stream to its
        end: n streams holding slots together."""
        socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(n)]
        for s in socks:
            s.sendall(body)
        for s in socks:
            raw = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                raw += b
            s.close()
            self.assertEqual(harness.sse_events(harness.parse_response(raw).body)[-1], "[DONE]")

    def test_batch_slowdown(self):
        # --batch-slowdown 1 with 4 streams: each decodes at rate/4.  At 100
        # tokens/s (10 ms a token alone, 40 ms in the batch) a loaded CI
        # machine's millisecond hiccups stay small beside the model's times.
        d = harness.tmpdir()
        truth = os.path.join(d, "t.jsonl")
        with Mock(*FAST, "--decode-rate", "100", "--slots", "4", "--batch-slowdown", "1",
                  "--truth", truth) as m:
            body = request_bytes("POST", "/v1/completions",
                                 {"model": MODEL, "prompt": "p", "max_tokens": 30,
                                  "stream": True}, port=m.port)
            self.stream_together(m.port, body, 4)
            alone = harness.http(m.port, "POST", "/v1/completions",
                                 {"model": MODEL, "prompt": "p", "max_tokens": 30, "stream": True})
            self.assertEqual(alone.status, 200)
        rows = read_truth(truth)
        spans = [(r["last_token_ns"] - r["first_token_ns"]) / 29 for r in rows]
        # All four overlapped (they were sent together), so the middle of
        # their decode ran at b=4: 40 ms per token instead of 10 ms.
        # The model guarantees the lower bounds; the alone/batch comparison
        # has a 2x margin for a loaded machine.
        batch = sorted(spans[:4])
        self.assertGreater(batch[0], 40e6 * 0.85)
        self.assertGreaterEqual(spans[4], 10e6)
        self.assertLess(spans[4], batch[0] / 2)

    def test_batch_profile(self):
        """--batch-profile 1:100,2:40,4:200: a measured profile with a dip.
        One stream alone decodes at 100 tokens/s (10 ms a token), two
        together at 40 tokens/s between them (50 ms a token each: fewer
        tokens than one alone), four at 200 (20 ms each).  The slow rates
        keep a loaded machine's millisecond hiccups small beside them."""
        d = harness.tmpdir()
        truth = os.path.join(d, "t.jsonl")
        with Mock(*FAST, "--batch-profile", "1:100,2:40,4:200", "--slots", "4",
                  "--truth", truth) as m:
            body = request_bytes("POST", "/v1/completions",
                                 {"model": MODEL, "prompt": "p", "max_tokens": 11,
                                  "stream": True}, port=m.port)
            for streams in (1, 2, 4):
                self.stream_together(m.port, body, streams)
        rows = read_truth(truth)
        self.assertEqual(len(rows), 7)
        gap = [(r["last_token_ns"] - r["first_token_ns"]) / 10 / 1e6 for r in rows]
        alone, pair, four = gap[0], sorted(gap[1:3]), sorted(gap[3:])
        # The model never makes a token early; the upper bounds leave room
        # for a late wake-up, and the streams of a group may not all have
        # overlapped for their whole life.
        self.assertGreaterEqual(alone, 10)
        self.assertLess(alone, 15)
        self.assertGreater(pair[0], 50 * 0.8)
        self.assertLess(pair[1], 50 * 1.3)
        self.assertGreater(four[0], 20 * 0.8)
        self.assertLess(four[3], 20 * 1.5)
        # The dip: two streams together make fewer tokens/s than one alone.
        self.assertLess(2 / pair[0], 1 / alone)

    def test_batch_profile_bad(self):
        for value, words in (("1:10,2", "item 2 '2' is not BATCH:TOK/S"),
                             ("2:10,1:20", "batch 1 is not above")):
            r = harness.run_llmload("mock", "--batch-profile", value)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("--batch-profile", r.stderr)
            self.assertIn(words, r.stderr)


class Errors(unittest.TestCase):
    def test_bad_requests(self):
        with Mock(*FAST, "--max-body", "1000") as m:
            r = harness.http(m.port, "POST", "/api/generate", b"{not json")
            self.assertEqual(r.status, 400)
            self.assertIsInstance(r.json()["error"], str)
            r = harness.http(m.port, "POST", "/v1/chat/completions", b"[1,")
            self.assertEqual(r.status, 400)
            e = r.json()["error"]
            self.assertEqual(set(e), {"message", "type", "param", "code"})
            self.assertEqual(e["type"], "invalid_request_error")
            r = harness.http(m.port, "POST", "/api/chat", {"messages": []})
            self.assertEqual(r.status, 400)
            self.assertIn("model", r.json()["error"])
            r = harness.http(m.port, "POST", "/api/generate", {"model": "x", "prompt": "p"})
            self.assertEqual((r.status, r.json()), (404, {"error": "model 'x' not found"}))
            r = harness.http(m.port, "POST", "/v1/completions", {"model": "x", "prompt": "p"})
            self.assertEqual(r.status, 404)
            e = r.json()["error"]
            self.assertEqual((e["type"], e["param"], e["code"]), ("not_found_error", None, None))
            self.assertIn("x", e["message"])
            r = harness.http(m.port, "GET", "/nope")
            self.assertEqual(r.status, 404)
            r = harness.http(m.port, "GET", "/v1/nope")
            self.assertEqual(r.json()["error"]["type"], "not_found_error")
            r = harness.http(m.port, "GET", "/api/generate")
            self.assertEqual((r.status, r.headers["allow"]), (405, "POST"))
            r = harness.http(m.port, "POST", "/v1/models", {})
            self.assertEqual((r.status, r.headers["allow"]), (405, "GET"))
            r = harness.http(m.port, "POST", "/v1/chat/completions",
                             {"model": MODEL, "messages": [{"role": "user", "content": "h"}],
                              "max_tokens": 0})
            self.assertEqual(r.status, 400)
            self.assertIn("max_tokens", r.json()["error"]["message"])
            r = harness.http(m.port, "POST", "/api/generate", b"x" * 2000)
            self.assertEqual(r.status, 413)
            self.assertIn("error", r.json())
            # Garbage that is not HTTP at all.
            raw = harness.raw_request(m.port, b"\x00\x01 nonsense\r\n\r\n")
            self.assertEqual(harness.parse_response(raw).status, 400)
            # Still serving after all that.
            self.assertEqual(harness.http(m.port, "GET", "/health").status, 200)
            k = metrics(m.port)
            self.assertEqual(k['llmload_mock_responses_total{code="413"}'], 1)
            self.assertEqual(k['llmload_mock_responses_total{code="405"}'], 2)

    def test_bad_flags(self):
        for args, flag in ((["--slots", "0"], "--slots"), (["--decode-rate", "fast"], "--decode-rate"),
                           (["--fault-429", "1.5"], "--fault-429"), (["--bogus"], "--bogus"),
                           (["--listen", "nowhere"], "--listen"), (["--ttft-base", "-1s"], "--ttft-base"),
                           (["--profile", "huge"], "--profile"),
                           (["--fault-500", "0.6", "--fault-503", "0.6"], "--fault")):
            p = harness.run_llmload("mock", *args, timeout=10)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(p.stdout, "")
            lines = p.stderr.strip().split("\n")
            self.assertEqual(len(lines), 1, p.stderr)
            self.assertIn(flag, lines[0])
        p = harness.run_llmload("mock", "--help", timeout=10)
        self.assertEqual(p.returncode, 0)
        for flag in ("--listen", "--slots", "--ttft-base", "--prefill-rate", "--decode-rate",
                     "--batch-slowdown", "--profile", "--tokens-per-chunk", "--eos-fraction",
                     "--fault-429", "--fault-stall", "--stall", "--truth", "--idle-timeout",
                     "--max-body", "--retry-after", "--seed", "--default-max-tokens"):
            self.assertIn(flag, p.stdout)
        self.assertIn("decode-rate / (1 + A*(b-1))", p.stdout)


class Faults(unittest.TestCase):
    def test_fault_429_and_5xx(self):
        with Mock(*FAST, "--fault-429", "1", "--retry-after", "7") as m:
            r = harness.http(m.port, "POST", "/api/generate", {"model": MODEL, "prompt": "p"})
            self.assertEqual((r.status, r.headers["retry-after"]), (429, "7"))
            self.assertIsInstance(r.json()["error"], str)
            r = harness.http(m.port, "POST", "/v1/chat/completions",
                             {"model": MODEL, "messages": [{"role": "user", "content": "h"}]})
            self.assertEqual(r.status, 429)
            self.assertEqual(r.json()["error"]["type"], "rate_limit_error")
            # Non-generation endpoints never fault.
            self.assertEqual(harness.http(m.port, "GET", "/api/tags").status, 200)
            self.assertEqual(metrics(m.port)['llmload_mock_faults_total{kind="429"}'], 2)
        with Mock(*FAST, "--fault-500", "50%", "--fault-503", "50%", "--seed", "3") as m:
            seen = {}
            for _ in range(20):
                r = harness.http(m.port, "POST", "/v1/completions",
                                 {"model": MODEL, "prompt": "p", "max_tokens": 2})
                seen[r.status] = seen.get(r.status, 0) + 1
                self.assertEqual(r.json()["error"]["type"], "api_error")
                if r.status == 503:
                    self.assertEqual(r.headers["retry-after"], "1")
            self.assertEqual(set(seen), {500, 503})
            k = metrics(m.port)
            self.assertEqual(k['llmload_mock_faults_total{kind="500"}'], seen[500])
            self.assertEqual(k['llmload_mock_faults_total{kind="503"}'], seen[503])

    def test_fault_midstream(self):
        with Mock(*FAST, "--fault-midstream", "1") as m:
            r = harness.http(m.port, "POST", "/api/generate",
                             {"model": MODEL, "prompt": "p", "options": {"num_predict": 10}})
            self.assertEqual(r.status, 200)
            lines = harness.ndjson_lines(r.body)         # framing intact, every line JSON
            self.assertEqual(set(lines[-1]), {"error"})
            self.assertTrue(1 <= len(lines) - 1 < 10)
            self.assertTrue(all(l["done"] is False for l in lines[:-1]))
            r = harness.http(m.port, "POST", "/v1/chat/completions",
                             {"model": MODEL, "stream": True, "max_tokens": 10,
                              "messages": [{"role": "user", "content": "h"}]})
            self.assertTrue(r.body.endswith(b"data: [DONE]\n\n"))
            ev = harness.sse_events(r.body)
            err = ev[-2]
            self.assertIn('{"error": {', err)        # json.dumps spacing, as vLLM
            self.assertIn("message", json.loads(err)["error"])
            self.assertTrue(all("finish_reason" not in e or '"finish_reason":null' in e
                                for e in ev[:-2]))
            self.assertEqual(metrics(m.port)['llmload_mock_faults_total{kind="midstream"}'], 2)

    def test_fault_close(self):
        with Mock(*FAST, "--fault-close", "1") as m:
            raw = harness.raw_request(m.port, request_bytes(
                "POST", "/api/chat", {"model": MODEL, "options": {"num_predict": 20},
                                      "messages": [{"role": "user", "content": "h"}]}, port=m.port))
            self.assertTrue(raw.startswith(b"HTTP/1.1 200 OK\r\n"))
            self.assertFalse(raw.endswith(b"0\r\n\r\n"), "no terminating chunk after a close fault")
            with self.assertRaises((AssertionError, ValueError)):
                harness.parse_response(raw)
            # Every chunk that did arrive is whole, and holds a content line.
            body = raw.split(b"\r\n\r\n", 1)[1]
            chunks = re.findall(rb"([0-9a-f]+)\r\n(\{[^\n]*\}\n)\r\n", body)
            self.assertGreaterEqual(len(chunks), 1)
            self.assertEqual(b"".join(b"%x\r\n%s\r\n" % (len(c), c) for _, c in chunks), body)
            self.assertTrue(len(chunks) < 20)
            self.assertEqual(metrics(m.port)['llmload_mock_faults_total{kind="close"}'], 1)

    def test_fault_stall(self):
        with Mock(*FAST, "--fault-stall", "1", "--stall", "300ms") as m:
            t0, reads, raw = timed_request(m.port, "POST", "/v1/completions",
                                           {"model": MODEL, "prompt": "p", "max_tokens": 8,
                                            "stream": True})
            r = harness.parse_response(raw)
            ev = harness.sse_events(r.body)
            self.assertEqual(ev[-1], "[DONE]")
            texts = [json.loads(e)["choices"][0]["text"] for e in ev[:-1]]
            self.assertEqual(len([t for t in texts if t]), 8)       # nothing lost
            gaps = [b[0] - a[0] for a, b in zip(reads, reads[1:])]
            self.assertGreaterEqual(max(gaps), 280_000_000)
            self.assertLess(reads[-1][0] - t0, 3_000_000_000)
            self.assertEqual(metrics(m.port)['llmload_mock_faults_total{kind="stall"}'], 1)

    def test_fault_malformed(self):
        with Mock(*FAST, "--fault-malformed", "1") as m:
            r = harness.http(m.port, "POST", "/api/generate",
                             {"model": MODEL, "prompt": "p", "options": {"num_predict": 10}})
            text = r.body.decode()
            self.assertTrue(text.endswith("\n"))
            bad = []
            for l in text.split("\n")[:-1]:
                try:
                    json.loads(l)
                except ValueError:
                    bad.append(l)
            self.assertEqual(len(bad), 1, bad)
            self.assertTrue(json.loads(text.split("\n")[-2])["done"])
            r = harness.http(m.port, "POST", "/v1/chat/completions",
                             {"model": MODEL, "stream": True, "max_tokens": 10,
                              "messages": [{"role": "user", "content": "h"}]})
            ev = harness.sse_events(r.body)
            self.assertEqual(ev[-1], "[DONE]")
            bad = 0
            for e in ev[:-1]:
                try:
                    json.loads(e)
                except ValueError:
                    bad += 1
            self.assertEqual(bad, 1)
            self.assertEqual(metrics(m.port)['llmload_mock_faults_total{kind="malformed"}'], 2)


class Server(unittest.TestCase):
    def test_truth_file(self):
        d = harness.tmpdir()
        truth = os.path.join(d, "truth.jsonl")
        with Mock(*FAST, "--truth", truth) as m:
            sent = []
            for i, n in enumerate((3, 5, 7)):
                t0 = now_ns()
                r = harness.http(m.port, "POST", "/v1/completions",
                                 {"model": MODEL, "prompt": "abcdefgh", "max_tokens": n,
                                  "stream": True}, headers={"X-Request-Id": "req-%d" % i})
                sent.append((t0, now_ns(), r))
            harness.http(m.port, "GET", "/health")
            self.assertEqual(m.stop(), 0)
        rows = read_truth(truth)
        self.assertEqual(len(rows), 4)
        keys = {"id", "seq", "path", "status", "fault", "recv_ns", "first_token_ns",
                "last_token_ns", "done_ns", "prompt_tokens", "completion_tokens", "events"}
        for i, (t0, t1, r) in enumerate(sent):
            row = rows[i]
            self.assertTrue(keys <= set(row))
            self.assertEqual((row["id"], row["seq"], row["path"], row["status"], row["fault"]),
                             ("req-%d" % i, i, "/v1/completions", 200, None))
            self.assertEqual(row["completion_tokens"], (3, 5, 7)[i])
            self.assertEqual(row["events"], (3, 5, 7)[i])
            self.assertEqual(row["prompt_tokens"], 2)
            self.assertTrue(t0 <= row["recv_ns"] <= row["first_token_ns"] <= row["last_token_ns"]
                            <= row["done_ns"] <= t1, row)
        self.assertEqual((rows[3]["id"], rows[3]["path"], rows[3]["first_token_ns"]),
                         (None, "/health", None))

    def test_metrics_counters(self):
        with Mock(*FAST) as m:
            for n in (4, 6):
                harness.http(m.port, "POST", "/api/generate",
                             {"model": MODEL, "prompt": "12345", "options": {"num_predict": n}})
            harness.http(m.port, "GET", "/nope")
            k = metrics(m.port)
            self.assertEqual(k['llmload_mock_requests_total{endpoint="/api/generate"}'], 2)
            self.assertEqual(k['llmload_mock_requests_total{endpoint="other"}'], 1)
            self.assertEqual(k['llmload_mock_requests_total{endpoint="/metrics"}'], 1)
            self.assertEqual(k["llmload_mock_tokens_generated_total"], 10)
            self.assertEqual(k["llmload_mock_events_total"], 10)
            self.assertEqual(k["llmload_mock_prompt_tokens_total"], 4)
            self.assertEqual(k["llmload_mock_active_streams"], 0)
            self.assertEqual(k["llmload_mock_queued"], 0)
            self.assertEqual(k["llmload_mock_slots"], 8)
            for kind in ("429", "500", "503", "midstream", "close", "stall", "malformed"):
                self.assertEqual(k['llmload_mock_faults_total{kind="%s"}' % kind], 0)

    def test_slots_queue(self):
        d = harness.tmpdir()
        truth = os.path.join(d, "t.jsonl")
        with Mock(*FAST, "--decode-rate", "500", "--slots", "1", "--truth", truth) as m:
            socks = []
            for i in range(2):
                s = socket.create_connection(("127.0.0.1", m.port), timeout=30)
                s.sendall(request_bytes("POST", "/api/generate",
                                        {"model": MODEL, "prompt": "p", "options": {"num_predict": 40}},
                                        headers={"X-Request-Id": "q%d" % i}, port=m.port))
                socks.append(s)
            first = socks[0].recv(65536)
            self.assertIn(b"200 OK", first)
            k = metrics(m.port)
            self.assertEqual(k["llmload_mock_active_streams"], 1)   # never more than --slots
            self.assertLessEqual(k["llmload_mock_queued"], 1)
            for s in socks:
                while s.recv(65536):
                    pass
                s.close()
        rows = {r["id"]: r for r in read_truth(truth) if r["id"]}
        a, b = rows["q0"], rows["q1"]
        # b arrived while a was streaming (40 tokens at 500 tok/s = 80 ms)...
        self.assertLess(b["recv_ns"], a["last_token_ns"])
        # ...and its first token came only after a had finished and let go
        # of the one slot.
        self.assertGreaterEqual(b["first_token_ns"], a["done_ns"])
        self.assertEqual((a["completion_tokens"], b["completion_tokens"]), (40, 40))

    def test_metrics_vllm_gauges(self):
        """vLLM's scheduler gauges (docs/mock.md): running = generations in
        slots, waiting = queued ones, KV usage = their tokens over
        slots x 4096; counters of prompt and generated tokens."""
        with Mock(*FAST, "--decode-rate", "200", "--slots", "1") as m:
            socks = []
            for i in range(2):
                s = socket.create_connection(("127.0.0.1", m.port), timeout=30)
                s.sendall(request_bytes("POST", "/api/generate",
                                        {"model": MODEL, "prompt": "12345678", "options": {"num_predict": 40}},
                                        port=m.port))
                socks.append(s)
            self.assertIn(b"200 OK", socks[0].recv(65536))
            # the second request waits for the one slot once it has arrived
            deadline = time.monotonic() + 30
            while True:
                k = metrics(m.port)
                if k['vllm:num_requests_waiting{model_name="%s"}' % MODEL] == 1 or time.monotonic() > deadline:
                    break
            self.assertEqual(k['vllm:num_requests_waiting{model_name="%s"}' % MODEL], 1)
            self.assertEqual(k['vllm:num_requests_running{model_name="%s"}' % MODEL], 1)
            kv = k['vllm:gpu_cache_usage_perc{model_name="%s"}' % MODEL]
            # the running one holds its 2 prompt tokens and up to 40 generated
            self.assertGreaterEqual(kv, 2 / 4096)
            self.assertLessEqual(kv, 42 / 4096)
            self.assertEqual(k['vllm:kv_cache_usage_perc{model_name="%s"}' % MODEL], kv)
            for s in socks:
                while s.recv(65536):
                    pass
                s.close()
            k = metrics(m.port)
            for g in ("num_requests_running", "num_requests_waiting", "gpu_cache_usage_perc"):
                self.assertEqual(k['vllm:%s{model_name="%s"}' % (g, MODEL)], 0, g)
            self.assertEqual(k['vllm:prompt_tokens_total{model_name="%s"}' % MODEL], 4)
            self.assertEqual(k['vllm:generation_tokens_total{model_name="%s"}' % MODEL], 80)

    def test_keepalive_and_pipelining(self):
        with Mock(*FAST) as m:
            s = socket.create_connection(("127.0.0.1", m.port), timeout=30)
            body = {"model": MODEL, "prompt": "p", "options": {"num_predict": 3}}
            s.sendall(request_bytes("POST", "/api/generate", body, close=False, port=m.port))
            buf = b""
            while not buf.endswith(b"\r\n0\r\n\r\n"):
                b = s.recv(65536)
                self.assertTrue(b, "server closed a keep-alive connection")
                buf += b
            r1 = harness.parse_response(buf)
            self.assertEqual(len(harness.ndjson_lines(r1.body)), 4)
            self.assertNotIn("connection", r1.headers)
            # Two more requests in one write (pipelined), the last with close.
            s.sendall(request_bytes("GET", "/api/version", close=False, port=m.port) +
                      request_bytes("POST", "/api/generate", body, close=True, port=m.port))
            rest = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                rest += b
            s.close()
            head, _, tail = rest.partition(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson")
            self.assertEqual(harness.parse_response(head).json()["version"],
                             harness.http(m.port, "GET", "/api/version").json()["version"])
            r3 = harness.parse_response(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson" + tail)
            self.assertEqual(r3.headers["connection"], "close")
            self.assertEqual(harness.ndjson_lines(r3.body)[-1]["eval_count"], 3)

    def test_idle_timeout(self):
        with Mock(*FAST, "--idle-timeout", "200ms") as m:
            s = socket.create_connection(("127.0.0.1", m.port), timeout=10)
            s.sendall(request_bytes("GET", "/health", close=False, port=m.port))
            got = s.recv(65536)
            self.assertTrue(got.startswith(b"HTTP/1.1 200 OK"))
            t0 = time.monotonic()
            r, _, _ = select.select([s], [], [], 5.0)
            self.assertTrue(r, "idle connection not closed within 5 s")
            self.assertEqual(s.recv(1), b"")
            waited = time.monotonic() - t0
            self.assertGreater(waited, 0.15)
            s.close()

    def test_header_timeout(self):
        # A client trickling its header, 4 bytes every 100 ms, resets the
        # idle timeout with every write; the header deadline still closes it
        # --header-timeout after the first byte, with a 408.
        with Mock(*FAST, "--header-timeout", "500ms", "--idle-timeout", "5s") as m:
            head = request_bytes("GET", "/health", headers={"X-Pad": "p" * 200}, port=m.port)
            s = socket.create_connection(("127.0.0.1", m.port), timeout=10)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t0 = time.monotonic()
            sent = 0
            while sent < len(head) - 4:     # never the whole header
                s.sendall(head[sent:sent + 4])
                sent += 4
                # The pace of the trickle, and the watch for the close.
                r, _, _ = select.select([s], [], [], 0.1)
                if r:
                    break
            self.assertLess(sent, len(head) - 4, "the whole trickle went through unanswered")
            raw = b""
            while True:
                b = s.recv(65536)       # the socket timeout bounds the wait
                if not b:
                    break
                raw += b
            elapsed = time.monotonic() - t0
            s.close()
            r = harness.parse_response(raw)
            self.assertEqual((r.status, r.headers["connection"]), (408, "close"))
            # The server's clock starts at the first byte, after t0.
            self.assertGreaterEqual(elapsed, 0.5)
            self.assertLess(elapsed, 0.5 + 2.0)
            k = metrics(m.port)
            self.assertEqual(k["llmload_mock_header_timeouts_total"], 1)
            self.assertEqual(k['llmload_mock_responses_total{code="408"}'], 1)
            self.assertEqual(harness.http(m.port, "GET", "/health").status, 200)

    def test_header_timeout_spares_idle_keepalive(self):
        # Between requests a keep-alive connection is idle, not reading a
        # header: the idle timeout governs it, however short the header
        # deadline.
        with Mock(*FAST, "--header-timeout", "200ms", "--idle-timeout", "1500ms") as m:
            s = socket.create_connection(("127.0.0.1", m.port), timeout=10)

            def get_health():
                s.sendall(request_bytes("GET", "/health", close=False, port=m.port))
                got = b""
                while not got.endswith(b"\r\n\r\n"):     # empty body, Content-Length: 0
                    b = s.recv(65536)
                    self.assertTrue(b, "server closed a keep-alive connection")
                    got += b
                self.assertTrue(got.startswith(b"HTTP/1.1 200 OK"), got)

            get_health()
            # Four header deadlines pass in silence: the connection stays.
            r, _, _ = select.select([s], [], [], 0.8)
            self.assertEqual(r, [], "idle connection closed before --idle-timeout")
            get_health()
            t1 = time.monotonic()
            r, _, _ = select.select([s], [], [], 10.0)
            self.assertTrue(r, "idle connection not closed within 10 s")
            self.assertEqual(s.recv(1), b"")
            waited = time.monotonic() - t1
            s.close()
            # The server's idle clock started as it wrote the response,
            # just before t1.
            self.assertGreater(waited, 1.5 - 0.1)
            self.assertLess(waited, 1.5 + 2.0)
            self.assertEqual(metrics(m.port)["llmload_mock_header_timeouts_total"], 0)

    def test_sigterm_clean_exit(self):
        d = harness.tmpdir()
        truth = os.path.join(d, "t.jsonl")
        m = Mock(*FAST, "--decode-rate", "20", "--truth", truth)
        try:
            s = socket.create_connection(("127.0.0.1", m.port), timeout=10)
            s.sendall(request_bytes("POST", "/api/generate",
                                    {"model": MODEL, "prompt": "p", "options": {"num_predict": 1000}},
                                    headers={"X-Request-Id": "long"}, port=m.port))
            self.assertIn(b"200 OK", s.recv(65536))     # the stream is under way
            self.assertEqual(m.stop(signal.SIGTERM, timeout=10), 0)
            rest = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                rest += b
            self.assertNotIn(b"\r\n0\r\n\r\n", rest)
            s.close()
        finally:
            m.__exit__(None, None, None)
        rows = read_truth(truth)
        self.assertEqual(len(rows), 1)
        self.assertEqual((rows[0]["id"], rows[0]["aborted"]), ("long", "shutdown"))
        self.assertTrue(0 < rows[0]["completion_tokens"] < 1000)
        # SIGINT stops it the same way.
        m = Mock(*FAST)
        try:
            self.assertEqual(m.stop(signal.SIGINT, timeout=10), 0)
        finally:
            m.__exit__(None, None, None)

    def test_split_requests_and_garbage(self):
        # A request fed one byte per write parses like a whole one, and
        # random garbage never takes the simulator down.
        import random
        rnd = random.Random(5)
        with Mock(*FAST) as m:
            req = request_bytes("POST", "/api/generate",
                                {"model": MODEL, "prompt": "p", "options": {"num_predict": 3}},
                                port=m.port)
            s = socket.create_connection(("127.0.0.1", m.port), timeout=10)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(req)):
                s.sendall(req[i:i + 1])
            raw = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                raw += b
            s.close()
            self.assertEqual(harness.ndjson_lines(harness.parse_response(raw).body)[-1]["eval_count"], 3)
            for i in range(30):
                junk = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 400)))
                if i % 3 == 0:
                    junk = req[:rnd.randrange(len(req))] + junk
                try:
                    s = socket.create_connection(("127.0.0.1", m.port), timeout=10)
                    s.sendall(junk)
                    s.shutdown(socket.SHUT_WR)
                    while s.recv(65536):
                        pass
                except OSError:
                    pass
                finally:
                    s.close()
            self.assertEqual(harness.http(m.port, "GET", "/health").status, 200)
            self.assertEqual(m.stop(), 0)

    def test_ipv6_and_expect_continue(self):
        try:
            socket.socket(socket.AF_INET6).bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback")
        p = subprocess.Popen([harness.LLMLOAD, "mock", "--listen", "[::1]:0"] + FAST,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = harness._readline(p.stdout, 20).decode().strip()
            self.assertRegex(line, r"^http://\[::1\]:\d+$")
            port = int(line.rsplit(":", 1)[1])
            s = socket.create_connection(("::1", port), timeout=10)
            body = json.dumps({"model": MODEL, "prompt": "p" * 2000, "stream": False,
                               "options": {"num_predict": 2}}).encode()
            s.sendall(request_bytes("POST", "/api/generate", None,
                                    {"Content-Type": "application/json",
                                     "Content-Length": str(len(body)),
                                     "Expect": "100-continue"}, port=port))
            self.assertEqual(s.recv(65536), b"HTTP/1.1 100 Continue\r\n\r\n")
            s.sendall(body)
            raw = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                raw += b
            s.close()
            d = harness.parse_response(raw).json()
            self.assertEqual((d["eval_count"], d["prompt_eval_count"]), (2, 500))
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(20), 0)
            p.stdout.close()
            p.stderr.close()


if __name__ == "__main__":
    harness.main()

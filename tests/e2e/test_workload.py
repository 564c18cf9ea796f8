"""End-to-end tests of `llmload tokenize` and of the workload flags.

The exact-id tests need the real cl100k_base / o200k_base ranks.  They are
rebuilt byte for byte from the npm package tiktoken@1.0.22 (fetched with
`npm pack`), checked against the official SHA-256 values, and cached in the
temporary directory.  Without npm or its registry those tests are skipped
(exit code 77 when run one by one, as meson does).
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

NPM_PKG = "tiktoken@1.0.22"
SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}
CACHE = os.path.join(tempfile.gettempdir(), "llmload-tiktoken-1.0.22")
_skip_reason = None

# Ids from the published tiktoken examples ("hello world", "tiktoken is
# great!") and from tiktoken's own encoder (the package's WebAssembly build,
# with the canonical pattern of tiktoken_ext/openai_public.py).
CL100K = [
    ("hello world", [15339, 1917]),
    ("tiktoken is great!", [83, 1609, 5963, 374, 2294, 0]),
    ("Hello, World! 1234567", [9906, 11, 4435, 0, 220, 4513, 10961, 22]),
    ("  leading spaces\n\nnewlines\r\n", [220, 6522, 12908, 271, 943, 8128, 319]),
    ("na\u00efve caf\u00e9 \u2014 \u65e5\u672c\u8a9e \U0001F600",
     [3458, 38672, 588, 53050, 2001, 76502, 22656, 45918, 252, 91416]),
    ("I'm sure they'll say \"don't\".", [40, 2846, 2771, 814, 3358, 2019, 330, 15357, 956, 3343]),
    ("<|endoftext|>", [27, 91, 8862, 728, 428, 91, 29]),
]
O200K = [
    ("hello world", [24912, 2375]),
    ("tiktoken is great!", [83, 8251, 2488, 382, 2212, 0]),
    ("I'm sure they'll say \"don't\".", [15390, 3239, 57956, 2891, 392, 91418, 4050]),
]
ROUNDTRIP = [
    "The quick brown fox jumps over the lazy dog.\n\n",
    "def f(x):\n    return x ** 2  # square\n",
    "\u00bfQu\u00e9 tal? \u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439\u0442\u0435 \u4f60\u597d "
    "\u0645\u0631\u062d\u0628\u0627 \U0001F680\U0001F680",
    "   \t\r\n  trailing   ",
    "a" * 5000,
    "1234567890" * 30,
]


def ranks_files():
    """Returns {encoding: path} of the verified ranks files, or None (and
    sets the skip reason) when npm or its registry is not reachable."""
    global _skip_reason
    paths = {e: os.path.join(CACHE, e + ".tiktoken") for e in SHA256}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    npm = shutil.which("npm")
    if not npm:
        _skip_reason = "npm is not installed: cannot fetch %s for the real ranks" % NPM_PKG
        return None
    work = tempfile.mkdtemp(prefix="llmload-npm-")
    try:
        try:
            r = subprocess.run([npm, "pack", NPM_PKG], cwd=work, capture_output=True,
                               text=True, timeout=180)
        except subprocess.TimeoutExpired:
            _skip_reason = "npm pack %s timed out (registry not reachable?)" % NPM_PKG
            return None
        tgz = [f for f in os.listdir(work) if f.endswith(".tgz")]
        if r.returncode != 0 or not tgz:
            _skip_reason = "npm pack %s failed (registry not reachable?): %s" % (
                NPM_PKG, (r.stderr or r.stdout).strip()[-200:])
            return None
        os.makedirs(CACHE, exist_ok=True)
        with tarfile.open(os.path.join(work, tgz[0])) as tf:
            for enc in SHA256:
                d = json.load(tf.extractfile("package/encoders/%s.json" % enc))
                # bpe_ranks: groups "! <offset> <b64> <b64> ...", the n-th token
                # of a group has rank offset + n.
                out = []
                for group in d["bpe_ranks"].split("\n"):
                    if not group:
                        continue
                    parts = group.split(" ")
                    assert parts[0] == "!", parts[:2]
                    off = int(parts[1])
                    out.extend("%s %d\n" % (b, off + i) for i, b in enumerate(parts[2:]))
                data = "".join(out).encode()
                got = hashlib.sha256(data).hexdigest()
                assert got == SHA256[enc], "%s rebuilt with SHA-256 %s" % (enc, got)
                tmp = paths[enc] + ".%d" % os.getpid()
                with open(tmp, "wb") as f:
                    f.write(data)
                os.replace(tmp, paths[enc])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return paths


def tokenize(tok, text, *extra, encoding=None):
    args = ["tokenize", "--tokenizer", tok] + (["--encoding", encoding] if encoding else [])
    r = harness.run_llmload(*(args + list(extra) + ["--json", "-"]), input=text, timeout=60)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["count"] == len(d["ids"])
    return d["ids"]


def decode(tok, ids, encoding=None):
    r = subprocess.run([harness.LLMLOAD, "tokenize", "--tokenizer", tok, "--decode"] +
                       (["--encoding", encoding] if encoding else []) +
                       [" ".join(map(str, ids))], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def write_synthetic_ranks(d):
    """Bytes at their own rank, then "ab" 256, " ab" 257, "hello" 258."""
    lines = ["%s %d" % (base64.b64encode(bytes([i])).decode(), i) for i in range(256)]
    for i, t in enumerate([b"ab", b" ab", b"hello"]):
        lines.append("%s %d" % (base64.b64encode(t).decode(), 256 + i))
    p = os.path.join(d, "synth.tiktoken")
    with open(p, "w") as f:
        f.write("\n".join(lines) + "\n")
    return p


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def write_hf_from_ranks(ranks_path, out_path):
    """Converts a ranks file into a byte-level BPE tokenizer.json, the way
    Hugging Face converts tiktoken vocabularies: each token's merge is the
    pair BPE reaches with the ranks below its own."""
    ranks = {}
    with open(ranks_path, "rb") as f:
        for line in f:
            b, r = line.split()
            ranks[base64.b64decode(b)] = int(r)

    def split2(token, max_rank):
        parts = [token[i:i + 1] for i in range(len(token))]
        while len(parts) > 2:
            best, bi = None, -1
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and r < max_rank and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            parts[bi:bi + 2] = [parts[bi] + parts[bi + 1]]
        return parts

    m = bytes_to_unicode()
    enc = lambda b: "".join(m[x] for x in b)  # noqa: E731
    merges = []
    for tok, r in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(tok) > 1:
            p = split2(tok, r)
            if len(p) == 2:
                merges.append([enc(p[0]), enc(p[1])])
    pat = (r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"
           r"|\s++$|\s*[\r\n]|\s+(?!\S)|\s")
    doc = {
        "version": "1.0",
        "added_tokens": [{"id": 100257, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": pat}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False,
                  "vocab": {enc(t): r for t, r in ranks.items()}, "merges": merges},
    }
    with open(out_path, "w") as f:
        json.dump(doc, f)


class TestTokenize(harness.TmpDirTest):

    def real_ranks(self):
        p = ranks_files()
        if p is None:
            raise unittest.SkipTest(_skip_reason)
        return p

    def test_tokenize_synthetic(self):
        p = write_synthetic_ranks(self.dir)
        r = harness.run_llmload("tokenize", "--tokenizer", p, "--encoding", "cl100k_base", "hello ab")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "258 257\n2 tokens\n")
        r = harness.run_llmload("tokenize", "--tokenizer=" + p, "--encoding=cl100k_base", "--count", "xab")
        self.assertEqual(r.stdout, "2\n")
        self.assertEqual(tokenize(p, "hello\nab", encoding="cl100k_base"), [258, 10, 256])
        self.assertEqual(tokenize(p, "", encoding="cl100k_base"), [])
        self.assertEqual(decode(p, [258, 257], "cl100k_base"), b"hello ab")

    def test_tokenize_errors(self):
        p = write_synthetic_ranks(self.dir)
        cases = [
            (["tokenize", "x"], "--tokenizer FILE is required"),
            (["tokenize", "--tokenizer", p, "x"], "--encoding"),  # 259 ranks: no guess
            (["tokenize", "--tokenizer", p, "--encoding", "p50k_base", "x"], "p50k_base"),
            (["tokenize", "--tokenizer", os.path.join(self.dir, "none"), "x"], "No such file"),
            (["tokenize", "--tokenizer", p, "--bogus"], "unknown flag '--bogus'"),
            (["tokenize", "--tokenizer"], "--tokenizer needs a value"),
            (["tokenize", "--tokenizer", p, "--encoding", "cl100k_base", "a", "b"], "one TEXT"),
            (["tokenize", "--tokenizer", p, "--encoding", "cl100k_base", "--decode", "1 x"], "not a token id"),
            (["tokenize", "--tokenizer", p, "--encoding", "cl100k_base", "--decode", "999"], "not in the vocabulary"),
        ]
        bad = os.path.join(self.dir, "bad.tiktoken")
        with open(bad, "wb") as f:
            f.write(b"YQ== 0\n!!!! 1\n")
        cases.append((["tokenize", "--tokenizer", bad, "--encoding", "cl100k_base", "x"], bad + ":2: bad base64"))
        badjson = os.path.join(self.dir, "tokenizer.json")
        with open(badjson, "wb") as f:
            f.write(b'{"model": {"type": "WordPiece", "vocab": {}, "merges": []}}')
        cases.append((["tokenize", "--tokenizer", badjson, "x"], "WordPiece"))
        for args, needle in cases:
            r = harness.run_llmload(*args)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertIn(needle, r.stderr, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        r = harness.run_llmload("tokenize", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--tokenizer FILE", r.stdout)

    def test_tokenize_cl100k(self):
        p = self.real_ranks()["cl100k_base"]
        for text, ids in CL100K:
            self.assertEqual(tokenize(p, text), ids, text)
            self.assertEqual(tokenize(p, text, encoding="cl100k_base"), ids, text)
        for text in ROUNDTRIP:
            ids = tokenize(p, text)
            self.assertEqual(decode(p, ids), text.encode(), text[:40])
        r = harness.run_llmload("tokenize", "--tokenizer", p, "hello world")
        self.assertEqual(r.stdout, "15339 1917\n2 tokens\n")

    def test_tokenize_o200k(self):
        p = self.real_ranks()["o200k_base"]
        for text, ids in O200K:
            self.assertEqual(tokenize(p, text), ids, text)
        for text in ROUNDTRIP:
            self.assertEqual(decode(p, tokenize(p, text)), text.encode(), text[:40])

    def test_tokenize_hf_matches_tiktoken(self):
        """A tokenizer.json converted from cl100k_base gives the same ids as
        the ranks file: the HF loader (vocab mapping, pair merges, Split
        pre-tokenizer) against the tiktoken path."""
        p = self.real_ranks()["cl100k_base"]
        hf = os.path.join(self.dir, "tokenizer.json")
        write_hf_from_ranks(p, hf)
        text = "".join(t for t, _ in CL100K[:-1]) + "".join(ROUNDTRIP)
        want = tokenize(p, text)
        self.assertEqual(tokenize(hf, text), want)
        self.assertEqual(tokenize(hf, "a<|endoftext|>b"), [64, 100257, 65])
        self.assertEqual(decode(hf, want), text.encode())


class PeakRSS(subprocess.Popen):
    """A Popen whose wait collects the child's own rusage (os.wait4)."""
    maxrss = None

    def _try_wait(self, wait_flags):
        try:
            pid, sts, ru = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return (self.pid, 0)
        if pid == self.pid:
            self.maxrss = ru.ru_maxrss
        return (pid, sts)


class TestDatasetBounds(unittest.TestCase):
    """A prompt's size is bounded, and so is what a dataset costs (#11.11)."""

    def write_lines(self, d, name, sizes):
        path = os.path.join(d, name)
        with open(path, "w") as f:
            for n in sizes:
                f.write("word " * (n // 5) + "\n")
        return path

    def test_prompt_size_bound_names_file_line(self):
        d = harness.tmpdir()
        big = self.write_lines(d, "p.txt", [100, 2 << 20, 100])
        jl = os.path.join(d, "d.jsonl")
        with open(jl, "w") as f:
            f.write(json.dumps({"prompt": "short"}) + "\n")
            f.write(json.dumps({"messages": [{"role": "user", "content": "x" * 700000},
                                             {"role": "user", "content": "y" * 700000}]}) + "\n")
        base = ["run", "--url", "http://127.0.0.1:9/v1", "--model", "m"]
        p = harness.run_llmload(*base, "--prompt-file", big)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(big + ":2: prompt longer than --max-prompt-bytes 1048576", p.stderr)
        p = harness.run_llmload(*base, "--dataset", jl)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(jl + ":2: prompt of 1400000 bytes is larger than --max-prompt-bytes 1048576", p.stderr)
        p = harness.run_llmload(*base, "--prompt", "z" * 2000, "--max-prompt-bytes", "1k")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--prompt: 2000 bytes, larger than --max-prompt-bytes 1000", p.stderr)
        # Raised, or the bad line skipped: the run goes on.
        with harness.OpenAIServer() as srv:
            p = harness.run_llmload("run", "--url", srv.url + "/v1", "--model", "m", "-n", "2", "-c", "1",
                                    "--prompt-file", big, "--max-prompt-bytes", "3M")
            self.assertEqual(p.returncode, 0, p.stderr)
            p = harness.run_llmload("run", "--url", srv.url + "/v1", "--model", "m", "-n", "2", "-c", "1",
                                    "--dataset", jl, "--skip-bad-lines")
            self.assertEqual(p.returncode, 0, p.stderr)
            posts = [r for r in srv.requests if r[0] == "POST"]   # not the monitor's GET /metrics
            sent = [json.loads(b)["messages"][-1]["content"] for (m, path, h, b) in posts[-2:]]
            self.assertTrue(all(t.endswith("short") for t in sent), [t[:40] for t in sent])

    def test_dev_zero_and_endless_line_fail_fast(self):
        base = ["run", "--url", "http://127.0.0.1:9/v1", "--model", "m"]
        for args, msg in ((["--dataset", "/dev/zero"], "/dev/zero:1: a NUL byte at offset 0: not a text dataset"),
                          (["--prompt-file", "/dev/zero"], "a NUL byte at offset 0"),
                          (["--dataset", "/dev/zero", "--dataset-format", "jsonl"], "a NUL byte")):
            p = harness.run_llmload(*base, *args, timeout=20)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(msg, p.stderr)
        # An endless line from a pipe: stopped at the bound, not at "out of memory".
        p = subprocess.run("yes x | tr -d '\\n' | %s run --url http://127.0.0.1:9/v1 --model m "
                           "--prompt-file /dev/stdin --max-prompt-bytes 100k" % harness.LLMLOAD,
                           shell=True, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("/dev/stdin:1: prompt longer than --max-prompt-bytes 100000", p.stderr)

    def test_memory_independent_of_concurrency(self):
        """Each user decoded its own copy of the prompt (310 MB at -c 1, 495
        MB at -c 2 for a 60 MB line): now one copy serves every user, and
        each request in flight holds only its own encoded body."""
        d = harness.tmpdir()
        mib = 1 << 20
        path = self.write_lines(d, "p.txt", [8 * mib])
        rss = {}
        with harness.OpenAIServer() as srv:
            for c in (1, 6):
                p = PeakRSS([harness.LLMLOAD, "run", "--url", srv.url + "/v1", "--model", "m", "-n", str(c),
                             "-c", str(c), "--prompt-file", path, "--max-prompt-bytes", "10M", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                out, err = p.communicate(timeout=120)
                self.assertEqual(p.returncode, 0, err)
                self.assertIn("%d ok / 0 failed" % c, out.decode())
                rss[c] = p.maxrss
        # Five more requests in flight: five more bodies of 8 MiB, nothing
        # else per user (before: three copies each, about 40 MiB).
        grown = (rss[6] - rss[1]) * 1024
        self.assertLess(grown, 5 * 8 * mib * 1.6, rss)


if __name__ == "__main__":
    needs_npm = {"test_tokenize_cl100k", "test_tokenize_o200k", "test_tokenize_hf_matches_tiktoken"}
    if set(sys.argv[1:]) & needs_npm and ranks_files() is None:
        print("SKIP: %s" % _skip_reason)
        sys.exit(77)
    harness.main()

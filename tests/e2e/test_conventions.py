"""End-to-end tests of the command-line conventions every command shares
(docs/cli.md, "Conventions"): --version everywhere, colour only where it
belongs, "-" for stdout and stdin, results on stdout and errors on stderr,
LLMLOAD_* variables and --config files with their precedence."""
import json
import os
import re
import unittest

import harness
from harness import FAST, Mock, run_llmload, tmpdir

SGR = re.compile(r"\x1b\[[0-9;]*m")


def commands():
    """Every subcommand, as `llmload --help` lists them (cli_commands[])."""
    p = run_llmload("--help")
    text = p.stdout.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    names = [line.split()[0] for line in text.splitlines() if line.strip()]
    assert len(names) >= 8, names
    return names


def run_on_pty(args, env=None):
    """llmload on a terminal whose environment allows colour."""
    e = {"TERM": "xterm", "NO_COLOR": ""}
    e.update(env or {})
    return harness.run_on_pty(args, env=e)


class Conventions(unittest.TestCase):
    def test_version_on_every_command(self):
        want = run_llmload("--version")
        self.assertEqual(want.returncode, 0)
        self.assertRegex(want.stdout, r"^llmload \d+\.\d+\.\d+\n$")
        for name in commands():
            for args in ((name, "--version"), (name, "-V"), ("--color", "never", name, "--version")):
                p = run_llmload(*args)
                self.assertEqual((p.returncode, p.stdout, p.stderr), (0, want.stdout, ""), args)
        # --version is answered even when a setting is broken.
        p = run_llmload("run", "--version", env={"LLMLOAD_CONCURRENCY": "lots"})
        self.assertEqual((p.returncode, p.stdout), (0, want.stdout))
        p = run_llmload("run", "--help")
        self.assertIn("-V, --version", p.stdout)
        self.assertIn("--color WHEN", p.stdout)
        self.assertIn("--config FILE", p.stdout)

    def test_colour(self):
        with Mock(*FAST) as m:
            base = ["run", "--url", m.url, "--model", "llmload-mock", "-n", "2", "-c", "1",
                    "--max-tokens", "4", "--assert", "requests>=1"]
            code, out = run_on_pty(base)
            self.assertEqual(code, 0, out)
            self.assertIn("\x1b[1mSamples:\x1b[0m", out)
            self.assertIn("\x1b[32mPASS\x1b[0m", out)
            # Colour is decoration only: without it the text is the same.
            self.assertIn("gate: PASS, 1 check passed", SGR.sub("", out))
            for env, args in (({"NO_COLOR": "1"}, []), ({}, ["--color=never"]),
                              ({"LLMLOAD_COLOR": "never"}, []), ({"TERM": "dumb"}, [])):
                code, out = run_on_pty(base + args, env=env)
                self.assertEqual(code, 0, out)
                self.assertNotIn("\x1b[", SGR.sub("", out).replace("\x1b[K", ""), (env, args))
                self.assertIsNone(SGR.search(out), (env, args))
                self.assertIn("gate: PASS", out)
            # Into a pipe: none by default, and --color=always forces it
            # (also given before the command's name, and over NO_COLOR).
            p = run_llmload(*base)
            self.assertIsNone(SGR.search(p.stdout + p.stderr))
            for args in (base + ["--color", "always"], ["--color=always"] + base):
                p = run_llmload(*args, env={"NO_COLOR": "1"})
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("\x1b[32mPASS\x1b[0m", p.stdout)
            # A failed check is red.
            p = run_llmload(*(base[:-1] + ["requests>=1000", "--color=always"]))
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("gate: \x1b[1;31mFAIL\x1b[0m", p.stdout)
            p = run_llmload(*(base + ["--color=sometimes"]))
            self.assertEqual(p.returncode, 2)
            self.assertIn("--color sometimes: give auto, always or never", p.stderr)

    def test_dash_is_stdout_and_stdin(self):
        with Mock(*FAST) as m:
            base = ["run", "--url", m.url, "--model", "llmload-mock", "-n", "3", "-c", "1",
                    "--max-tokens", "4"]
            p = run_llmload(*(base + ["--json", "-"]))
            self.assertEqual(p.returncode, 0, p.stderr)
            doc = json.loads(p.stdout)      # the document alone on stdout
            self.assertEqual(doc["schema"], "llmload.result/1")
            self.assertEqual(doc["summary"]["ok"], 3)
            self.assertIn("Samples: 3 ok / 0 failed", p.stderr)     # the summary moved
            p = run_llmload(*(base + ["--csv", "-"]))
            self.assertEqual(p.returncode, 0, p.stderr)
            rows = p.stdout.splitlines()
            self.assertTrue(rows[0].startswith("run_id,index,"), rows[0])
            self.assertEqual(len(rows), 4)
            p = run_llmload(*(base + ["--raw", "-"]))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(len([json.loads(x) for x in p.stdout.splitlines()]), 3)
            p = run_llmload(*(base + ["--json", "-", "--assert", "requests>=1", "--junit", "-"]))
            self.assertEqual(p.returncode, 2)
            self.assertEqual(p.stdout, "")
            self.assertIn("--junit: cannot write -: another output already goes to standard output (-)",
                          p.stderr)
            for extra in (["--csv", "-"], ["--raw", "-"]):
                p = run_llmload(*(base + ["--json", "-"] + extra))
                self.assertEqual(p.returncode, 2, extra)
                self.assertIn("another output already goes to standard output", p.stderr)
            # A dataset on stdin.
            lines = "".join(json.dumps({"prompt": "hello number %d" % i}) + "\n" for i in range(5))
            p = run_llmload(*(base + ["--dataset", "-", "--json", "-"]), input=lines)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(json.loads(p.stdout)["summary"]["ok"], 3)
            # A saved document read from stdin.
            p = run_llmload("export", "--format", "prometheus", "-", input=json.dumps(doc))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("llmload_", p.stdout)

    def test_api_key_from_stdin(self):
        key = "sk-test-Stdin7Qw2Er9Ty4Ui1Op6"
        base = ["run", "--url", None, "--model", "m", "-n", "2", "-c", "1", "--max-tokens", "4",
                "--api-key-file", "-", "--monitor", "none"]
        with harness.OpenAIServer() as srv:
            base[2] = srv.url + "/v1"
            # The first line only, its newline stripped.
            p = run_llmload(*base, env={"OPENAI_API_KEY": ""}, input=key + "\nsecond line\n")
            self.assertEqual(p.returncode, 0, p.stderr)
            auths = {h.get("Authorization") for (m, path, h, b) in srv.requests if m == "POST"}
        self.assertEqual(auths, {"Bearer " + key})
        harness.assert_no_secret(self, key, {"stdout": p.stdout, "stderr": p.stderr})
        # On a terminal the key is not echoed: the pty shows what llmload
        # and the line discipline wrote, and the key is not in it.
        with harness.OpenAIServer() as srv:
            base[2] = srv.url + "/v1"
            code, out = harness.run_on_pty(base, env={"OPENAI_API_KEY": ""}, typed=key + "\n")
            auths = {h.get("Authorization") for (m, path, h, b) in srv.requests if m == "POST"}
        self.assertEqual(code, 0, out)
        self.assertEqual(auths, {"Bearer " + key})
        self.assertNotIn(key, out)
        # Nothing else may read the standard input too.
        for extra, stdin, msg in (
                (["--dataset", "-"], key + "\n",
                 "--api-key-file - and --dataset -: both would read the standard input"),
                (["--prompt-file", "-"], key + "\n",
                 "--api-key-file - and --prompt-file -: both would read the standard input"),
                (["--config", "-"], "{}\n",
                 "--api-key-file -: the standard input is already read by --config -")):
            args = list(base)
            args[2] = "http://127.0.0.1:9/v1"
            p = run_llmload(*(args + extra), input=stdin)
            self.assertEqual((p.returncode, p.stdout), (2, ""), (extra, p.stderr))
            self.assertIn(msg, p.stderr)
            self.assertNotIn(key, p.stderr)

    def test_environment_and_config(self):
        with Mock(*FAST) as m:
            d = tmpdir()
            out = os.path.join(d, "r.json")
            env = {"LLMLOAD_URL": m.url, "LLMLOAD_MODEL": "llmload-mock", "LLMLOAD_REQUESTS": "4",
                   "LLMLOAD_CONCURRENCY": "2", "LLMLOAD_MAX_TOKENS": "3", "LLMLOAD_QUIET": "1"}
            p = run_llmload("run", "--json", out, env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            doc = json.load(open(out))
            self.assertEqual(doc["summary"]["requests"], 4)
            self.assertEqual(doc["config"]["concurrency"], 2)
            # A flag outranks the variable.
            p = run_llmload("run", "--json", out, "-n", "2", env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(json.load(open(out))["summary"]["requests"], 2)
            # A bad value names the variable.
            p = run_llmload("run", env=dict(env, LLMLOAD_CONCURRENCY="many"))
            self.assertEqual(p.returncode, 2)
            self.assertRegex(p.stderr, r"^llmload run: LLMLOAD_CONCURRENCY: --concurrency many: ")
            self.assertEqual(p.stdout, "")

            # The config file: flags > environment > file > defaults.
            cfg = os.path.join(d, "ci.json")
            with open(cfg, "w") as f:
                json.dump({"url": m.url, "model": "llmload-mock", "requests": 5, "concurrency": 1,
                           "max-tokens": 3, "quiet": True, "json": out,
                           "assert": ["requests>=5", "p99(e2e)<=60s"]}, f)
            p = run_llmload("run", "--config", cfg)
            self.assertEqual(p.returncode, 0, p.stderr)
            doc = json.load(open(out))
            self.assertEqual(doc["summary"]["requests"], 5)
            self.assertEqual(doc["config"]["concurrency"], 1)
            self.assertIn("gate: PASS, 2 checks passed", p.stdout)
            p = run_llmload("--config", cfg, "run", "-n", "6", env={"LLMLOAD_CONCURRENCY": "3"})
            self.assertEqual(p.returncode, 0, p.stderr)
            doc = json.load(open(out))
            self.assertEqual((doc["summary"]["requests"], doc["config"]["concurrency"]), (6, 3))
            # A flag given replaces the file's list: one check, not three.
            p = run_llmload("run", "--config", cfg, "--assert", "requests>=1")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("gate: PASS, 1 check passed", p.stdout)
            with open(cfg, "w") as f:
                json.dump({"url": m.url, "concurency": 8}, f)
            p = run_llmload("run", "--config", cfg)
            self.assertEqual(p.returncode, 2)
            self.assertIn("--config %s: key 'concurency': unknown key (llmload run has no flag "
                          "--concurency)" % cfg, p.stderr)
            self.assertEqual(p.stdout, "")


if __name__ == "__main__":
    harness.main()

"""End-to-end tests of what `meson install` puts on a machine: the binary, the
man page, the bash, zsh and fish completions and the docs (dist/meson.build).

The man page and the completions are generated from the option tables
(dist/optdump.c, dist/gen.py); these tests hold them to `llmload CMD --help`,
which is generated from the same tables, so a flag missing from any of them
fails here.  The tools they use are Debian packages that ./dev installs:
mandoc, groff-base, man-db, bash-completion, zsh, fish.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

BUILD = os.environ.get("LLMLOAD_BUILDDIR") or os.path.join(
    os.path.dirname(os.path.abspath(harness.LLMLOAD)), "..")
SRCDIR = os.environ.get("LLMLOAD_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
DIST = os.path.join(BUILD, "dist")
MAN = os.path.join(DIST, "llmload.1")
BASH = os.path.join(DIST, "llmload")
ZSH = os.path.join(DIST, "_llmload")
FISH = os.path.join(DIST, "llmload.fish")


def need(t, prog, package):
    path = shutil.which(prog)
    if not path:
        t.fail("%s not found: apt-get install %s (./dev setup)" % (prog, package))
    return path


def help_commands():
    """The commands `llmload --help` lists."""
    r = harness.run_llmload("--help")
    assert r.returncode == 0, r.stderr
    body = r.stdout.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in body.splitlines() if line.strip()]


def help_flags(cmd):
    """Every spelling of every flag `llmload CMD --help` shows, read from its
    left column ("-c, --concurrency N", "--host, --base-url   aliases of --url")."""
    r = harness.run_llmload(cmd, "--help")
    assert r.returncode == 0, r.stderr
    out = set()
    for line in r.stdout.splitlines():
        m = re.match(r"^  (-\S.*?)(?:\s{2,}|$)", line)
        if not m:
            continue
        # A left column as wide as the column leaves one space before
        # the help ("-H, --header 'NAME: VALUE' sent on ..."): the
        # spellings are the parts that start with a dash.
        for part in m.group(1).split(", "):
            word = part.split()[0]
            if not word.startswith("-"):
                break
            out.add(word)
    return out


def options():
    with open(os.path.join(DIST, "options.json")) as f:
        return json.load(f)


def table_flags(cmd):
    """Every spelling of every flag of cmd, as the option tables hold them."""
    out = set()
    for e in cmd["entries"]:
        if e["kind"] == "flag":
            out.add(e["name"])
            out.update(e["aliases"])
    return out


def roff(s):
    return s.replace("\\", "\\e").replace("-", "\\-")


def man_sections():
    """The man page's source, split into the part of each command."""
    with open(MAN) as f:
        text = f.read()
    parts = re.split(r'^\.SS "llmload ([^"]+)"$', text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def zsh_complete(line, timeout=60):
    """The matches zsh offers for line + TAB, sorted and without repeats."""
    import pty
    import select
    import time
    d = harness.tmpdir()
    out = os.path.join(d, "matches")
    setup = (
        "fpath=(%s $fpath); autoload -Uz compinit; compinit -u -D\n"
        "compadd() { local -a m; builtin compadd -O m \"$@\"; "
        "(( $#m )) && print -rl -- $m >> %s; builtin compadd \"$@\" }\n"
        "complete-and-mark() { zle complete-word; print -r -- '<done>' >> %s }\n"
        "zle -N complete-and-mark; bindkey '^I' complete-and-mark\n" % (DIST, out, out))
    master, slave = pty.openpty()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": d, "ZDOTDIR": d, "TERM": "dumb"}
    p = subprocess.Popen(["zsh", "-f", "-i"], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    text = ""
    try:
        # zle reads the setup lines, then the partial line and its TAB.
        os.write(master, (setup + line + "\t").encode())
        deadline = time.monotonic() + timeout
        while "<done>" not in text:
            if time.monotonic() > deadline or p.poll() is not None:
                raise AssertionError("zsh did not complete %r" % line)
            # Drain the terminal so zsh never blocks writing to it.
            if select.select([master], [], [], 0.05)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    pass
            if os.path.exists(out):
                with open(out) as f:
                    text = f.read()
    finally:
        p.kill()
        p.wait()
        os.close(master)
    return sorted(set(text.split("<done>")[0].split()))


class TestInstall(unittest.TestCase):
    def test_tables_match_help(self):
        """The document the man page and completions are made from holds
        exactly the commands and flags --help shows."""
        doc = options()
        self.assertEqual([c["name"] for c in doc["commands"]], help_commands())
        for c in doc["commands"]:
            self.assertEqual(table_flags(c), help_flags(c["name"]), c["name"])
        r = harness.run_llmload("--version")
        self.assertEqual(r.stdout.strip(), "llmload " + doc["version"])

    def test_man_page_has_every_flag(self):
        doc = options()
        sections = man_sections()
        self.assertEqual(sorted(sections), sorted(c["name"] for c in doc["commands"]))
        for c in doc["commands"]:
            missing = [s for s in help_flags(c["name"])
                       if not re.search(r"\\fB%s\\fR" % re.escape(roff(s)), sections[c["name"]])]
            self.assertEqual(missing, [], "llmload.1, section llmload %s" % c["name"])

    def test_man_page_lints_clean(self):
        """mandoc's lint at level warning, groff's warnings, and man itself."""
        need(self, "mandoc", "mandoc")
        r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", MAN],
                           capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))
        need(self, "groff", "groff-base")
        r = subprocess.run(["groff", "-man", "-ww", "-z", MAN], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        need(self, "man", "man-db")
        env = dict(os.environ, MANPAGER="cat", MANWIDTH="100", LC_ALL="C.UTF-8")
        r = subprocess.run(["man", "-l", MAN], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("LLMLOAD(1)", r.stdout)
        self.assertIn("--concurrency", r.stdout)
        self.assertIn("LLMLOAD_MAX_TOKENS=64 is --max-tokens 64", " ".join(r.stdout.split()))
        for c in options()["commands"]:
            self.assertRegex(r.stdout, r"\n   llmload %s\n" % c["name"])

    def test_bash_completion_offers_every_flag(self):
        """Sources the script and completes each spelling of each flag of
        each command from its start, as bash would on TAB."""
        doc = options()
        script = ["source %s" % BASH, "set -u"]
        cases = []
        for c in doc["commands"]:
            for s in sorted(help_flags(c["name"])):
                cases.append((c["name"], s))
                script.append("COMP_WORDS=(llmload %s %s); COMP_CWORD=2; _llmload; "
                              "echo \"%s %s:${COMPREPLY[*]}\"" % (c["name"], s, c["name"], s))
        r = subprocess.run(["bash", "-c", "\n".join(script)], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = dict(line.split(":", 1) for line in r.stdout.splitlines())
        missing = ["%s %s" % k for k in cases if k[1] not in got["%s %s" % k].split()]
        self.assertEqual(missing, [])

    def test_bash_completion_words(self):
        """Commands, a flag's prefix, file values, no value offered for a
        number, and a run's flags before any command."""
        def complete(*words, cwd=None):
            ws = " ".join("'%s'" % w for w in words)
            r = subprocess.run(["bash", "-c", "source %s; COMP_WORDS=(llmload %s); COMP_CWORD=%d; "
                                "_llmload; printf '%%s\\n' \"${COMPREPLY[@]}\"" %
                                (os.path.abspath(BASH), ws, len(words))],
                               capture_output=True, text=True, cwd=cwd)
            self.assertEqual(r.returncode, 0, r.stderr)
            return [w for w in r.stdout.splitlines() if w]

        self.assertEqual(complete("ru"), ["run"])
        self.assertEqual(set(complete("")), set(help_commands()))
        self.assertEqual(complete("run", "--ur"), ["--url"])
        self.assertEqual(complete("sweep", "--knee-th"), ["--knee-threshold"])
        self.assertEqual(complete("-c", "8", "--max-tok"), ["--max-tokens"])
        self.assertEqual(complete("run", "-c", ""), [])
        d = harness.tmpdir()
        open(os.path.join(d, "result.json"), "w").close()
        self.assertEqual(complete("run", "--json", "res", cwd=d), ["result.json"])
        self.assertEqual(complete("run", "--json", "=", "res", cwd=d), ["result.json"])
        self.assertEqual(complete("report", "res", cwd=d), ["result.json"])

    def test_zsh_and_fish_completions(self):
        """Both scripts parse, and name every flag of every command."""
        need(self, "zsh", "zsh")
        r = subprocess.run(["zsh", "-n", ZSH], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        need(self, "fish", "fish")
        r = subprocess.run(["fish", "-n", FISH], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        with open(ZSH) as f:
            zsh = f.read()
        with open(FISH) as f:
            fish = f.read()
        for c in options()["commands"]:
            zpart = zsh.split("        %s)\n" % c["name"], 1)[1].split(";;", 1)[0]
            fpart = "\n".join(line for line in fish.splitlines()
                              if ("from %s'" % c["name"]) in line or
                              (c["name"] == "run" and "not __fish_seen_subcommand_from" in line))
            for s in help_flags(c["name"]):
                self.assertRegex(zpart, r"'\*%s[=+\[]" % re.escape(s), "zsh: %s %s" % (c["name"], s))
                opt = ("-l " + s[2:]) if s.startswith("--") else ("-s " + s[1:])
                self.assertRegex(fpart, r"%s( |$)" % re.escape(opt), "fish: %s %s" % (c["name"], s))

    def test_zsh_completes_flags(self):
        """zsh itself completes from the generated _llmload: an interactive
        zsh on a pseudo-terminal loads it through compinit from fpath,
        TAB is bound to a widget that completes and then writes a marker,
        and compadd is wrapped to write the matches it is given (compadd
        -O) to a file before adding them as usual."""
        need(self, "zsh", "zsh")
        self.assertEqual(zsh_complete("llmload run --ur"), ["--url"])
        self.assertEqual(zsh_complete("llmload rep"), ["report"])
        self.assertIn("--format", zsh_complete("llmload report --f"))
        self.assertIn("--api-key-file", zsh_complete("llmload sweep --api-key-f"))

    def test_fish_completes_flags(self):
        """fish itself completes a flag from the installed script's text."""
        need(self, "fish", "fish")
        r = subprocess.run(["fish", "--no-config", "-c",
                            "source %s; complete -C 'llmload run --concur'" % FISH],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([line.split("\t")[0] for line in r.stdout.splitlines()], ["--concurrency"])

    def test_meson_install_layout(self):
        """`meson install --destdir` from the build puts every file at its
        usual place under the prefix, and nothing outside it."""
        dest = harness.tmpdir()
        r = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet",
                            "--destdir", dest], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = subprocess.run(["meson", "introspect", "--buildoptions", BUILD],
                           capture_output=True, text=True, check=True)
        opt = {o["name"]: o["value"] for o in json.loads(r.stdout)}
        prefix = opt["prefix"]
        root = dest + prefix

        def under(*p):
            return os.path.join(root, *p)
        expected = [
            under(opt["bindir"], "llmload"),
            under(opt["mandir"], "man1", "llmload.1"),
            under(opt["datadir"], "bash-completion", "completions", "llmload"),
            under(opt["datadir"], "zsh", "vendor-completions", "_llmload"),
            under(opt["datadir"], "fish", "vendor_completions.d", "llmload.fish"),
            under(opt["datadir"], "doc", "llmload", "README.md"),
        ]
        docs = os.path.join(SRCDIR, "docs")
        for dirpath, _, names in os.walk(docs):
            for n in names:
                rel = os.path.relpath(os.path.join(dirpath, n), docs)
                expected.append(under(opt["datadir"], "doc", "llmload", "docs", rel))
        missing = [p for p in expected if not os.path.isfile(p)]
        self.assertEqual(missing, [])
        for dirpath, _, names in os.walk(dest):
            for n in names:
                self.assertTrue(os.path.join(dirpath, n).startswith(root + "/"),
                                "installed outside the prefix: %s" % os.path.join(dirpath, n))
        self.assertTrue(os.access(expected[0], os.X_OK))
        r = subprocess.run([expected[0], "--version"], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "llmload " + options()["version"]))
        with open(expected[1]) as a, open(MAN) as b:
            self.assertEqual(a.read(), b.read())


if __name__ == "__main__":
    harness.main()

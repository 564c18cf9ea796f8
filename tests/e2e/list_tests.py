"""Lists the e2e tests for tests/meson.build, one per line:

    SCRIPT NAME [serial] [decoder]

SCRIPT is a test_*.py file here and NAME one of its test methods.  A test
decorated with @harness.serial runs alone (it compares measured times with
a simulator's model, and sharing the CPUs with another test skews them); one
decorated with @harness.decoder also runs a second time with the decoders'
shape fast path switched off (LLMLOAD_NO_FAST_PATH=1), so both paths stay
correct.  Meson runs this at configure time, so adding a test method is all
it takes to add a test.
"""
import importlib
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

for fname in sorted(os.listdir(HERE)):
    if not (fname.startswith("test_") and fname.endswith(".py")):
        continue
    mod = importlib.import_module(fname[:-3])
    seen = set()
    for obj in vars(mod).values():
        if not (isinstance(obj, type) and issubclass(obj, unittest.TestCase)):
            continue
        for name in sorted(dir(obj)):
            fn = getattr(obj, name)
            if not name.startswith("test_") or not callable(fn) or name in seen:
                continue
            seen.add(name)
            flags = [f for f in ("serial", "decoder") if getattr(fn, "llmload_" + f, False)]
            print(" ".join([fname[:-3], name] + flags))

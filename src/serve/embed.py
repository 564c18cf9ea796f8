#!/usr/bin/env python3
"""Turns a file into a C array: embed.py IN OUT SYMBOL.

The dashboard's page is built into the binary, so `llmload serve` needs no
files beside it (Chart.js excepted: Debian's copy is served as it is)."""
import sys

src, out, sym = sys.argv[1:4]
data = open(src, "rb").read()
with open(out, "w") as f:
    f.write("/* Generated from %s by embed.py: do not edit. */\n" % src.rsplit("/", 1)[-1])
    f.write("#include <stddef.h>\n")
    f.write("const unsigned char %s[] = {\n" % sym)
    for i in range(0, len(data), 16):
        f.write("    " + ", ".join("0x%02x" % b for b in data[i:i + 16]) + ",\n")
    f.write("    0x00\n};\n")
    f.write("const size_t %s_len = %d;\n" % (sym, len(data)))

"""Writes N rows of the diamonds training file, repeated in order, with its header."""
import sys

source, n, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(source) as f:
    header, *rows = f.read().splitlines()
with open(target + ".tmp", "w") as out:
    out.write(header + "\n")
    written = 0
    while written < n:
        chunk = rows[: n - written]
        out.write("\n".join(chunk) + "\n")
        written += len(chunk)
import os
os.replace(target + ".tmp", target)

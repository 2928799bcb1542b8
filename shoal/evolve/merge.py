"""shoal evolve merge: evolutionary merging of neural fish (not available yet).

Merging needs the neural fish (shoal train), which is still being built.
This module is the one place to replace: `shoal evolve merge ARGS` calls
main(ARGS) and prints what it returns as the exit status.
"""
from __future__ import annotations

import sys

MESSAGE = ("shoal evolve merge: not available yet: merging needs the neural fish "
           "(shoal train), which this version does not have. "
           "`shoal evolve school` is available; see `shoal evolve school --help`.")


USAGE = ("usage: shoal evolve merge FISH... --dev FILES\n\n"
         "Evolutionary merging of neural fish that share an ancestor: per-tensor-group\n"
         "interpolation (with optional TIES/DARE sparsification) found by CMA-ES on the\n"
         "dev set's bits per byte.  Not available yet: it needs the neural fish.")


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE)
        return 0
    print(MESSAGE, file=sys.stderr)
    return 1

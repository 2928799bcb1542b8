"""shoal's demo: compress a sample shipped in the package and show what came of it.

    python -m shoal.demo [-1 ... -9] [FILE]

Compresses SAMPLE (or FILE) at the default level (or the one given),
decompresses it, checks that the round trip gives the same bytes, and prints
the sizes, the ratio (compressed / original, as xz -l gives it), bits per
byte and the speed of both directions, beside xz -9e (Python's lzma module)
for comparison.

SAMPLE is a copy of docs/format.md, the specification of the .shoal format:
the project's own text, under the project's MIT licence, 14 KB of English
prose with Markdown tables (shoal/data/sample.md; copied at commit 40009f5).

shoal compiles its model with Numba the first time a level runs on a machine
(15 to 30 s for the default level on one core) and keeps the compiled code in
its cache (shoal/jit.py), so the demo first warms the level up on the
sample's first kilobyte and says when that is a compile; the speeds it
prints leave that out.
"""
from __future__ import annotations

import argparse
import lzma
import sys
import time
from pathlib import Path

from .command import ERROR, Parser, run_tool

SAMPLE = Path(__file__).resolve().parent / "data" / "sample.md"
PROG = "shoal --demo"
SAMPLE_ABOUT = "a copy of docs/format.md, MIT like shoal"
COMPILE_SECONDS = "15 to 30"    # the default level's text school, cold: 16.4 s on an idle 2-core VM (2026-12-05)


def _cached_files(folder: str) -> int:
    try:
        return sum(1 for p in Path(folder).rglob("*") if p.suffix in (".nbi", ".nbc"))
    except OSError:
        return 0


def _speed(size: int, seconds: float) -> str:
    return f"{size / seconds / 1e6:.2f} MB/s" if seconds > 0 else "-"


def run(path: Path = SAMPLE, level: int | None = None, out=None) -> int:
    """Compress `path`, check the round trip and print the figures to `out` (stdout); 0 when the
    round trip gives the same bytes, else 1."""
    out = out or sys.stdout
    from shoal import jit                      # before the engine loads: did an earlier run fill the cache?
    cold = _cached_files(jit.CACHE_DIR) == 0
    import shoal
    from shoal import school
    level = school.DEFAULT_LEVEL if level is None else level
    data = Path(path).read_bytes()
    print(f"shoal {shoal.__version__} demo, level {level}: {path}", file=out)
    if Path(path) == SAMPLE:
        print(f"  (the sample shipped in the package: {SAMPLE_ABOUT})", file=out)
    if cold:
        print(f"First run: shoal compiles its model with Numba, once ({COMPILE_SECONDS} s);\n"
              "later runs load it from the cache.", file=out, flush=True)
    before = _cached_files(jit.CACHE_DIR)
    start = time.perf_counter()
    warm = data[:1024] or b"shoal"
    shoal.decompress(shoal.compress(warm, level))
    warm_s = time.perf_counter() - start
    if cold or (_cached_files(jit.CACHE_DIR) > before and warm_s > 2):    # a load takes well under 1 s
        print(f"compiled level {level} in {warm_s:.1f} s, kept in {jit.CACHE_DIR}", file=out)
    else:
        print(f"loaded level {level}'s compiled model from the cache in {warm_s:.1f} s", file=out)

    start = time.perf_counter()
    blob = shoal.compress(data, level)
    comp_s = time.perf_counter() - start
    start = time.perf_counter()
    back = shoal.decompress(blob)
    decomp_s = time.perf_counter() - start
    xz = lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)

    size = len(data)
    rows = [("original", size, None, None, None), (f"shoal -{level}", len(blob), comp_s, decomp_s, None),
            ("xz -9e", len(xz), None, None, "(Python's lzma, for comparison)")]
    print(f"{'':10}{'bytes':>10}{'ratio':>8}{'bits/byte':>11}{'compress':>12}{'decompress':>12}", file=out)
    for name, n, cs, ds, note in rows:
        cells = f"{name:10}{n:>10,}"
        if name != "original":
            cells += f"{n / size:>8.3f}{8 * n / size:>11.3f}" if size else f"{'-':>8}{'-':>11}"
            cells += f"{_speed(size, cs):>12}{_speed(size, ds):>12}" if cs is not None else f"  {note}"
        print(cells, file=out)
    same = back == data
    print("round trip: the same bytes, verified" if same else "round trip FAILED: the output differs", file=out)
    return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    return run_tool(PROG, _work, sys.argv[1:] if argv is None else argv)


def _work(argv: list[str]) -> int:
    ap = Parser(prog=PROG, usage="%(prog)s [-1 ... -9] [FILE]", description=__doc__.split("\n")[0],
                epilog="Without FILE: the sample shipped in the package, " + str(SAMPLE))
    for n in range(1, 10):
        ap.add_argument(f"-{n}", dest="level", action="store_const", const=n, help=argparse.SUPPRESS)
    ap.add_argument("file", nargs="?", type=Path, default=SAMPLE, help="a file to compress instead of the sample")
    args = ap.parse_args(argv)
    try:
        return run(args.file, args.level)
    except BrokenPipeError:                   # python -m shoal.demo | head
        sys.stdout = None
        return ERROR


if __name__ == "__main__":
    sys.exit(main())

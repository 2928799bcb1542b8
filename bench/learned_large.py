"""A learned school against level 6 on a large file of its kind (issue 24's
large-file goal): bytes, and CPU time both ways, in one process, warm.

    python bench/learned_large.py SETS_DIR SCHOOLS_DIR [SET...]

SETS_DIR is what `python tools/make_small_sets.py SETS_DIR` built (each
set's `large/` file is test-side, never in its learn half); SCHOOLS_DIR
holds SET.school for each set, from `shoal learn SETS_DIR/SET/learn -o
SET.school`.  Each file is coded once to warm up (compiling, and the
school's grown school written to disk), then level 6 and the school in
turn, three rounds, compress and decompress; the median CPU time of the
thread that codes (what else runs on the machine counts less than in
wall-clock time).  Every round trip is checked.
"""
import statistics
import sys
import time
from pathlib import Path

import shoal
from shoal import school_file

SETS = ("man", "changelog", "copyright", "python", "json", "csv")
ROUNDS = 3


def _cpu(fn):
    start = time.thread_time()
    out = fn()
    return out, time.thread_time() - start


def measure(data: bytes, learned) -> dict:
    ways = {"level 6": ({"level": 6}, {}), "school": ({"school": learned}, {"school": learned})}
    out = {}
    for name, (kw, dk) in ways.items():
        shoal.decompress(shoal.compress(data[:5000], **kw), **dk)
        out[name] = {"bytes": len(shoal.compress(data, **kw)), "c": [], "d": []}
    for _ in range(ROUNDS):
        for name, (kw, dk) in ways.items():
            blob, c = _cpu(lambda: shoal.compress(data, **kw))
            back, d = _cpu(lambda: shoal.decompress(blob, **dk))
            if back != data or len(blob) != out[name]["bytes"]:
                raise AssertionError(f"{name}: the round trip failed")
            out[name]["c"].append(c)
            out[name]["d"].append(d)
    return {name: {"bytes": r["bytes"], "c": statistics.median(r["c"]), "d": statistics.median(r["d"])}
            for name, r in out.items()}


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    sets_dir, schools = Path(argv[0]), Path(argv[1])
    print("| set | bytes | level 6 | school | school / level 6 | CPU s level 6 (c / d) | CPU time / level 6 (c / d) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in argv[2:] or SETS:
        large = sorted((sets_dir / name / "large").iterdir())[0]
        data = large.read_bytes()
        r = measure(data, school_file.read(schools / f"{name}.school"))
        lv, sc = r["level 6"], r["school"]
        print(f"| {name} | {len(data):,} | {lv['bytes']:,} | {sc['bytes']:,} | {sc['bytes'] / lv['bytes']:.3f} | "
              f"{lv['c']:.2f} / {lv['d']:.2f} | {sc['c'] / lv['c']:.2f} / {sc['d'] / lv['d']:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

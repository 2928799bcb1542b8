"""A learned school against level 6 on a large file of its kind (issue 24's
large-file goal): bytes, and CPU time both ways, in one process, warm.

    python bench/learned_large.py SETS_DIR SCHOOLS_DIR [SET...] [--rounds N]

SETS_DIR is what `python tools/make_small_sets.py SETS_DIR` built (each
set's `large/` file is test-side, never in its learn half); SCHOOLS_DIR
holds SET.school for each set, from `shoal learn SETS_DIR/SET/learn -o
SET.school`.  Each file is coded once to warm up (compiling, and the
school's grown school written to disk), then level 6 and the school in
turn, ROUNDS rounds (--rounds; each round in the other order than the last),
compress and decompress, timed in CPU time of the thread that codes.
A single coding here varies by 5-15% from one round to the next (other
work on the machine, its memory's speed), so the time reported is the
median over rounds of the school's time divided by level 6's in the same
round, with the quartiles of those ratios.  Every round trip is checked.
Memory: the peak resident memory of `shoal -6 -c` and `shoal -D SET.school
-c` on the file, and of their -d, as commands (new processes; the most of
three runs each, after one that is not counted: a school's first large
block in a cache writes the grown school there), as `shoal bench` measures
a command's memory (GNU time; where it is missing, os.wait4, which Linux
floors at this script's own peak, so it is measured before any timing).
"""
import statistics
import sys
import tempfile
import time
from pathlib import Path

import shoal
from shoal import school_file
from shoal.bench.measure import run_child

SETS = ("man", "changelog", "copyright", "python", "json", "csv")
ROUNDS = 7


def _cpu(fn):
    start = time.thread_time()
    out = fn()
    return out, time.thread_time() - start


def measure(data: bytes, learned, rounds: int = ROUNDS) -> dict:
    """Bytes for each way, its median CPU seconds, and the school's paired
    ratios to level 6 (c and d: compress, decompress)."""
    ways = {"level 6": ({"level": 6}, {}), "school": ({"school": learned}, {"school": learned})}
    out = {}
    for name, (kw, dk) in ways.items():
        shoal.decompress(shoal.compress(data[:5000], **kw), **dk)
        out[name] = {"bytes": len(shoal.compress(data, **kw)), "c": [], "d": []}
    for k in range(rounds):
        for name in (list(ways) if k % 2 == 0 else list(reversed(ways))):
            kw, dk = ways[name]
            blob, c = _cpu(lambda: shoal.compress(data, **kw))
            back, d = _cpu(lambda: shoal.decompress(blob, **dk))
            if back != data or len(blob) != out[name]["bytes"]:
                raise AssertionError(f"{name}: the round trip failed")
            out[name]["c"].append(c)
            out[name]["d"].append(d)
    result = {name: {"bytes": r["bytes"], "c": statistics.median(r["c"]), "d": statistics.median(r["d"])}
              for name, r in out.items()}
    for way in "cd":
        ratios = [s / v for s, v in zip(out["school"][way], out["level 6"][way])]
        q1, median, q3 = statistics.quantiles(ratios, n=4)
        result["ratio " + way] = (median, q1, q3)
    return result


def _peak_mb(args: list[str], stdout: Path, tmp: Path) -> float:
    """Peak resident memory of one shoal command, in MB (shoal bench's
    measure.run_child: GNU time's figure for the command's own process)."""
    rc, _, mb = run_child([sys.executable, "-m", "shoal", *args], stdout, tmp / "stderr")
    if rc != 0:
        raise AssertionError(f"shoal {' '.join(args)} failed")
    return mb


def memory(path: Path, school: Path, runs: int = 3) -> dict:
    """Peak MB of level 6 and of the school, compressing and decompressing
    `path` as commands (the most of `runs` each)."""
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        _peak_mb(["-D", str(school), "-c", str(path)], tmp / "warm", tmp)   # the school's grown start cached
        for name, flags, decode_flags in (("level 6", ["-6"], []), ("school", ["-D", str(school)], ["-D", str(school)])):
            archive, decoded = tmp / "archive.shoal", tmp / "decoded"
            c = max(_peak_mb([*flags, "-c", str(path)], archive, tmp) for _ in range(runs))
            d = max(_peak_mb(["-d", *decode_flags, "-c", str(archive)], decoded, tmp) for _ in range(runs))
            out[name] = (c, d)
    return out


def main(argv: list[str]) -> int:
    rounds = ROUNDS
    if "--rounds" in argv:
        at = argv.index("--rounds")
        rounds, argv = int(argv[at + 1]), argv[:at] + argv[at + 2:]
    if len(argv) < 2 or rounds < 2:
        print(__doc__, file=sys.stderr)
        return 2
    sets_dir, schools = Path(argv[0]), Path(argv[1])
    print("| set | bytes | level 6 | school | school / level 6 | CPU s level 6 (c / d) "
          "| CPU time / level 6: compress [quartiles] | decompress [quartiles] | peak MB level 6 (c / d) "
          "| peak MB school (c / d) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    names = argv[2:] or SETS
    files = {name: sorted((sets_dir / name / "large").iterdir())[0] for name in names}
    peaks = {name: memory(files[name], schools / f"{name}.school") for name in names}   # first: see above
    for name in names:
        data = files[name].read_bytes()
        r = measure(data, school_file.read(schools / f"{name}.school"), rounds)
        lv, sc = r["level 6"], r["school"]
        c, d = r["ratio c"], r["ratio d"]
        mem = peaks[name]
        print(f"| {name} | {len(data):,} | {lv['bytes']:,} | {sc['bytes']:,} | {sc['bytes'] / lv['bytes']:.3f} | "
              f"{lv['c']:.2f} / {lv['d']:.2f} | {c[0]:.3f} [{c[1]:.3f}-{c[2]:.3f}] "
              f"| {d[0]:.3f} [{d[1]:.3f}-{d[2]:.3f}] | {mem['level 6'][0]:.1f} / {mem['level 6'][1]:.1f} "
              f"| {mem['school'][0]:.1f} / {mem['school'][1]:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

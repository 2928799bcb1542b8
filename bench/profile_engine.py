"""Where does the engine spend its time?  A source-line profile of the
compiled hot loop (school/swim.py), for developers: the loop compiled for
the preset's shape, as compress runs it (the general loop for presets
without one).

    python bench/profile_engine.py FILE [--level 6 | --preset P.yaml] [--bytes 1500000] [--top 30]

Numba code has no symbols for perf, so this compiles the loop afresh with
debug line tables (NUMBA_DEBUGINFO=1, in a private cache), runs it on FILE
under `perf record` (cpu-clock sampling: works without hardware counters),
and maps each sample's address to a line through the compiled object's
DWARF line table.  Numba labels lines of inlined functions with the caller's
file name, so each line number is shown with the matching line of every
shoal module that has one; the right one is usually obvious.

Needs `perf` and `objdump` (Debian: linux-perf, binutils).
"""
import argparse
import bisect
import collections
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shoal.command import Parser, run_tool

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["school/swim.py", "school/engine.py", "school/mixer.py", "school/apm.py", "fish/voters.py",
           "fish/context_fish.py", "fish/contextmap.py",
           "fish/statemap.py", "fish/contexts.py", "fish/match.py", "fish/column.py",
           "codec/rangecoder.py"]


def child(args, work: Path) -> None:
    """Compile, record where the loop lives, then run the block once."""
    import warnings

    import numpy as np
    from shoal import school

    warnings.simplefilter("ignore")  # Numba's debug-info warnings about library code
    from shoal.school import engine, layout, swim

    preset = school.load(args.preset) if args.preset else school.level(args.level)
    data = np.frombuffer(Path(args.file).read_bytes()[:args.bytes], dtype=np.uint8).copy()
    out = np.empty(data.size + 1024, dtype=np.uint8)
    shape = layout.structure(preset.fish, preset.cfg)

    def code(buf):
        tables = engine.new_tables(buf.size, preset.fish, preset.cfg)
        if shape is None:
            return engine.code_block(buf, buf.size, out, False, preset.fish, preset.cfg, engine.NO_COST, *tables)
        return engine.code_block_for(shape, buf, buf.size, out, False, preset.fish, preset.cfg, *tables)

    code(data[:100].copy())
    loop = swim.general_swim if shape is None else engine._compiled_for[shape]
    compiled = next(iter(loop.overloads.values()))
    (work / "swim.o").write_bytes(compiled.library._get_compiled_object())
    (work / "addr").write_text(str(compiled.library.get_pointer_to_function(compiled.fndesc.llvm_func_name)))
    t = time.process_time()
    code(data)
    (work / "seconds").write_text(str(time.process_time() - t))


def line_table(obj: Path):
    dump = subprocess.run(["objdump", "--dwarf=decodedline", str(obj)], capture_output=True, text=True).stdout
    rows = sorted((int(m.group(2), 16), int(m.group(1)))
                  for m in re.finditer(r"^\S+\.py\s+(\d+)\s+(0x[0-9a-f]+|0)\s", dump, re.M))
    return [r[0] for r in rows], [r[1] for r in rows]


def samples(perf_data: Path):
    report = subprocess.run(["perf", "report", "-i", str(perf_data), "--no-children", "--sort", "sym"],
                            capture_output=True, text=True).stdout
    for m in re.finditer(r"^\s*([\d.]+)%\s+\[\.\]\s+0x([0-9a-f]+)", report, re.M):
        yield float(m.group(1)), int(m.group(2), 16)


def main(argv=None) -> int:
    return run_tool("bench/profile_engine.py", work, sys.argv[1:] if argv is None else argv)


def work(argv: list[str]) -> int:
    ap = Parser(prog="bench/profile_engine.py", description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--level", type=int, default=6)
    ap.add_argument("--preset", help="a preset file instead of a level")
    ap.add_argument("--bytes", type=int, default=1_500_000, help="profile the first N bytes")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args, Path(args.child))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = dict(os.environ, NUMBA_DEBUGINFO="1", NUMBA_CACHE_DIR=str(work / "cache"))
        cmd = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "4000", "-o", str(work / "perf.data"),
               sys.executable, __file__, args.file, "--level", str(args.level), "--bytes", str(args.bytes),
               "--child", str(work)] + (["--preset", args.preset] if args.preset else [])
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        base = int((work / "addr").read_text())
        starts, lines = line_table(work / "swim.o")
        by_line = collections.Counter()
        for pct, address in samples(work / "perf.data"):
            i = bisect.bisect_right(starts, address - base) - 1
            while i > 0 and lines[i] == 0:
                i -= 1
            if 0 <= address - base < (starts[-1] if starts else 0) + 4096 and i >= 0:
                by_line[lines[i]] += pct
        total = sum(by_line.values()) or 1.0
        print(f"{args.bytes} bytes at {args.preset or f'level {args.level}'}: {float((work / 'seconds').read_text()):.2f} s in the loop")
        sources = {m: (ROOT / "shoal" / m).read_text().splitlines() for m in MODULES}
        for line, pct in by_line.most_common(args.top):
            print(f"{100 * pct / total:5.1f}%  line {line}")
            for name, text in sources.items():
                if line <= len(text) and text[line - 1].strip():
                    print(f"         {name}:{line}: {text[line - 1].strip()[:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

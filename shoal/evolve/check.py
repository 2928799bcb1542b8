"""shoal evolve check: an evolved preset against a level, on files evolution never saw.

    shoal evolve check evolved.yaml FILE... [--level 6] [--repeats 3] [--markdown table.md]

For each file: the archive size with the level and with the preset (what
`shoal compress` writes, headers and all), an exact round trip of both
archives, and the CPU time of compressing with each (this thread's CPU
time, once both presets have compiled both their loops; best of --repeats
rounds that alternate level and preset, so other work on the machine
disturbs both alike).  Then the totals, what carrying the preset in each
archive costs, both presets' model memory, and the verdict of issue 6's
acceptance test: at least --target (2%) smaller in total, with no more
memory and no more time.
Exit status 0: pass, 2: fail, 1: an error.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from .. import api, arguments, school
from ..atomic import write_bytes
from ..command import Parser, run_tool
from ..errors import ShoalError

PROG = "shoal evolve check"


def _compress_timed(data: bytes, preset) -> tuple[bytes, float]:
    start = time.thread_time()
    blob = api.compress(data, preset=preset)       # threads=1: coded on this thread
    return blob, time.thread_time() - start


def measure_file(path: Path, base, preset, repeats: int) -> dict:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ShoalError(f"{path}: cannot read: {e.strerror}") from None
    sizes, seconds = {}, {"base": math.inf, "preset": math.inf}
    for round_ in range(repeats):
        for name, p in (("base", base), ("preset", preset)):
            blob, cpu = _compress_timed(data, p)
            seconds[name] = min(seconds[name], cpu)
            if round_ == 0:
                sizes[name] = len(blob)
                if api.decompress(blob) != data:
                    raise ShoalError(f"{path}: round trip FAILED with the {name} preset")
    return {"file": str(path), "bytes": len(data), "base": sizes["base"], "preset": sizes["preset"],
            "base_s": seconds["base"], "preset_s": seconds["preset"]}


def table(rows: list[dict], level: int) -> str:
    lines = [f"| file | bytes | level {level} | evolved | change | time evolved/level |",
             "|---|---:|---:|---:|---:|---:|"]
    total = {k: sum(r[k] for r in rows) for k in ("bytes", "base", "preset", "base_s", "preset_s")}
    for r in rows + [dict(total, file="**total**")]:
        lines.append(f"| {r['file']} | {r['bytes']:,} | {r['base']:,} | {r['preset']:,} | "
                     f"{r['preset'] / r['base'] - 1:+.2%} | {r['preset_s'] / max(r['base_s'], 1e-9):.3f} |")
    return "\n".join(lines)


def parser() -> Parser:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("preset", metavar="PRESET.yaml", help="the evolved preset")
    p.add_argument("files", nargs="+", metavar="FILE", help="held-back evaluation files")
    p.add_argument("--level", type=int, default=school.DEFAULT_LEVEL, help="the level to beat (6)")
    p.add_argument("--repeats", type=int, default=3, help="compressions per file and preset (3)")
    p.add_argument("--target", type=float, default=2.0, help="percent smaller required in total (2)")
    p.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    return p


def main(argv: list[str]) -> int:
    return run_tool(PROG, _work, argv)


def _work(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    preset, base = school.load(args.preset), school.level(args.level)
    for warm_up in school.WARM_UP_BLOCKS:      # both schools of both presets, compiled before any timing
        for p in (base, preset):
            api.decompress(api.compress(warm_up, preset=p))
    rows = []
    for name in args.files:
        rows.append(measure_file(Path(name), base, preset, max(1, args.repeats)))
        print(f"{name}: {rows[-1]['base']:,} -> {rows[-1]['preset']:,} bytes", file=sys.stderr)
    text = table(rows, args.level)
    size = sum(r["preset"] for r in rows) / sum(r["base"] for r in rows) - 1
    cpu = sum(r["preset_s"] for r in rows) / sum(r["base_s"] for r in rows)
    memory = preset.memory_bytes() / base.memory_bytes()
    verdict = size <= -args.target / 100 and memory <= 1 and cpu <= 1
    # A level is named in the archive header ("level6"); any other preset is
    # carried in it (deflated): a fixed cost per archive that small files
    # feel most.
    carried = len(arguments.choose_preset(None, preset)[1]) - len(f"level{args.level}")
    without = (sum(r["preset"] for r in rows) - carried * len(rows)) / sum(r["base"] for r in rows) - 1
    text += (f"\n\nthe evolved archives carry the preset: {carried:,} bytes more header each; without "
             f"them the total would be {without:+.2%}.")
    text += (f"\nmodel memory: evolved {preset.memory_bytes() / 1e6:.0f} MB, level {args.level} "
             f"{base.memory_bytes() / 1e6:.0f} MB ({memory:.3f}x); CPU time {cpu:.3f}x; total size "
             f"{size:+.2%}; round trips exact.\nacceptance (>= {args.target:g}% smaller, no more memory "
             f"or time): {'PASS' if verdict else 'FAIL'}\n")
    print(text)
    if args.markdown:
        write_bytes(args.markdown, text.encode())
    return 0 if verdict else 2

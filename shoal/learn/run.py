"""`shoal learn`: the command, its steps within a time budget, and its report.

    1. read the samples; split them into learn, tune and check pieces
    2. measure the base level on the tune pieces (each piece its own block)
    3. primer: each candidate (primers.py) judged by the tune pieces' size
    4. fish: swaps of the base level's fish for others that the samples want
       more, with that primer (fish.py)
    5. preset: CMA-ES over the school's numbers with that primer (tune.py),
       in the time left but what the last steps take
    6. check: the school so learnt against the base level on the check
       pieces, which no step chose on (the gain reported), and its speed
    7. write the school file, its primer chosen the same way from all the
       samples (more to choose from; the check gain was measured without
       them), and print what it chose
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .. import __version__
from ..command import Parser, UsageError, parse_size, run_tool
from ..errors import ShoalError

PROG = "shoal learn"

DEFAULT_TIME = 600
DEFAULT_PRIMER = 512 << 10
DEFAULT_MAX_MS = 20.0
# the shares of --time by the end of the primer's and the fish's steps, and
# what the last two steps take at most, kept out of the search's time
_PRIMER_SHARE, _FISH_SHARE, _RESERVE = 0.4, 0.6, 0.1
# check pieces timed for the summary's speed (all of them are measured for size)
_SPEED_PIECES = 200


def parser() -> Parser:
    p = Parser(prog=PROG, formatter_class=argparse.HelpFormatter, description=(
        "Learn a school from sample files of one kind of data (JSON records, logs, CSV, man pages, ...): a "
        "primer chosen from them and a preset tuned on them.  Compress with it: shoal -D NAME.school FILE; "
        "decompress: shoal -d -D NAME.school FILE.shoal (or put it in a folder of $SHOAL_SCHOOL_PATH)."),
        epilog="Part of the samples (about 15%) is held back from every choice, and the gain on it is what "
               "the summary reports.  The preset search needs pycma (pip install 'shoal[evolve]'); without it "
               "the school has its primer and the base level's preset.")
    p.add_argument("samples", nargs="+", metavar="SAMPLE", help="sample files, or folders of them (recursively)")
    p.add_argument("-o", "--output", required=True, metavar="NAME.school", help="the school file to write")
    p.add_argument("-f", "--force", action="store_true", help="replace an existing output")
    p.add_argument("--level", type=int, default=6, choices=range(1, 10), metavar="N",
                   help="the base level: its fish, tables and speed (default 6)")
    p.add_argument("--time", type=float, default=DEFAULT_TIME, metavar="SECONDS",
                   help=f"time for the whole run (default {DEFAULT_TIME}); the search stops in time")
    p.add_argument("--primer-size", type=parse_size, default=DEFAULT_PRIMER, metavar="SIZE",
                   help="the largest primer to try (default 512K; halves of it down to 32K are tried too): "
                        "larger primers help more and take longer per file")
    p.add_argument("--max-ms", type=float, default=DEFAULT_MAX_MS, metavar="MS",
                   help=f"the slowest primer allowed: warm CPU milliseconds to compress a tune piece (the median; "
                        f"default {DEFAULT_MAX_MS:g}, level 6's speed class for small files)")
    p.add_argument("--no-tune", action="store_true",
                   help="choose the primer only; keep the base level's fish and settings")
    p.add_argument("--seed", type=int, default=1, help="the search's seed (default 1)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, only errors and the summary")
    return p


class _Progress:
    def __init__(self, quiet: bool):
        self.quiet, self.start = quiet, time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def __call__(self, text: str) -> None:
        if not self.quiet:
            print(f"{PROG}: [{self.elapsed():5.0f} s] {text}", file=sys.stderr, flush=True)


def _budgets(largest: int) -> list[int]:
    budgets = [b for b in (32 << 10, 64 << 10, 128 << 10, 256 << 10, 512 << 10, 1 << 20) if b <= largest]
    return budgets or [largest]


def main(argv: list[str]) -> int:
    """Exit status 0, or 1 with one line on stderr (command.run_tool); a
    school file is written whole or not at all."""
    return run_tool(PROG, _work, argv)


def _work(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.time <= 0:
        raise UsageError("--time must be positive")
    if Path(args.output).exists() and not args.force:
        raise UsageError(f"{args.output} exists; -f replaces it")
    return learn(args)


def learn(args) -> int:
    from .. import school, school_file
    from ..school.preset import LARGE_KEYS
    from . import fish, judge, primers, samples, tune
    say = _Progress(args.quiet)
    found = samples.read(args.samples)
    say(f"{found.files} sample files{f' ({found.skipped} left out)' if found.skipped else ''}: "
        f"{len(found.learn)} pieces to learn from, {len(found.tune)} to tune on, {len(found.check)} held back")
    base = tune.base_spec(args.level)
    level = school.level(args.level)
    say(f"level {args.level} on the tune pieces (compiling its loop first, if this is its first use) ...")
    level_size = judge.coded(level, found.tune)
    say(f"level {args.level}: {level_size:,} bytes")

    # the primer: every candidate, judged on the tune pieces
    primer_deadline = args.time * _PRIMER_SHARE
    tried, best = {}, None
    family = fish.family(found.tune)
    shipped_name, shipped = _shipped_primer(args.level, family)
    ways = primers.recipes(_budgets(args.primer_size), sum(map(len, found.learn)), shipped=shipped)
    for name, recipe in ways.items():
        text = recipe(found.learn)
        if not text:
            continue
        size, ms = judge.timed(judge.with_primer(base, text), found.tune)
        tried[name] = size
        slow = ms > args.max_ms
        say(f"primer {name}: {size:,} bytes, {ms:.1f} ms a piece{' (slower than --max-ms)' if slow else ''}")
        if not slow and (best is None or size < tried[best[0]]):
            best = (name, text)
        if say.elapsed() > primer_deadline:
            say("primer: out of its share of --time; keeping the best so far")
            break
    if best is None:
        raise ShoalError(f"every primer tried took more than --max-ms {args.max_ms:g} ms a piece")
    primer_name, primer_text = best

    # the fish: swaps the tune pieces pay for, then CMA-ES over the numbers,
    # with that primer, in the time left
    chosen, tuned_size, measured, swaps = base, tried[primer_name], 0, []
    if args.no_tune:
        say("fish and preset: --no-tune, the base level's")
    else:
        say(f"fish: swaps for level {args.level}'s, judged on the tune pieces ...")
        chosen, tuned_size, swaps = fish.search(base, primer_text, found.tune,
                                                args.time * _FISH_SHARE - say.elapsed(), progress=say,
                                                family_name=family, timed=b"".join(found.learn + found.tune))
        if not swaps:
            say(f"fish: level {args.level}'s (no swap gained {100 * fish.MIN_GAIN:g}% at its speed in the time given)")
    left = args.time * (1 - _RESERVE) - say.elapsed()
    if args.no_tune:
        pass
    elif not tune.available():
        say("preset: pycma is not installed (pip install 'shoal[evolve]'); keeping the base level's settings")
    elif left < 5:
        say("preset: no time left for the search; keeping the base level's settings")
    else:
        say(f"preset: CMA-ES over {len(tune.genes(chosen))} settings for {left:.0f} s ...")
        last = [0.0]

        def report(evaluated, best_size, base_size):
            if say.elapsed() - last[0] >= 15:
                last[0] = say.elapsed()
                say(f"preset: {evaluated} tried, best {best_size:,} bytes ({100 * (best_size / base_size - 1):+.1f}%)")
        chosen, tuned_size, measured = tune.search(chosen, primer_text, found.tune, left, seed=args.seed,
                                                   progress=report)
        say(f"preset: {measured} tried, best {tuned_size:,} bytes")

    # the check: held-back pieces, against the level and the primer alone
    trial = school_file.SchoolFile(judge.with_primer(chosen, primer_text), primer_text, {})
    primer_only = school_file.SchoolFile(judge.with_primer(base, primer_text), primer_text, {})
    check = {"level": judge.archives(found.check, level=args.level),
             "primer": judge.archives(found.check, learned=primer_only),
             "school": judge.archives(found.check, learned=trial)}
    speed = judge.speed(trial, found.check[:_SPEED_PIECES])
    say(f"check: level {args.level} {check['level']:,} bytes, school {check['school']:,} bytes")

    # the school written: the same recipe, from all the samples; before it,
    # for large blocks (which read the primer once in a process, not once a
    # block, and gain more the more they read first), the most recent
    # samples up to --primer-size, after the base level's own primer where
    # they fall short and that pays on the tune pieces joined in one block
    fill, large = _fill_for_large_blocks(args, found, shipped_name, shipped, chosen, primer_text, primer_name, say)
    final_text = ways[primer_name](found.all())
    samples_text = primers.for_large_blocks(found.all(), final_text, primer_name, args.primer_size)
    large_text = primers.fill(samples_text, args.primer_size, fill)
    assert large_text.endswith(final_text)          # what small blocks read: the tail
    large["shipped_bytes"] = len(large_text) - len(samples_text)
    made = {"shoal": __version__, "base_level": args.level, "samples": found.files,
            "pieces": {"learn": len(found.learn), "tune": len(found.tune), "check": len(found.check)},
            "primer": {"chosen": primer_name, "bytes": len(final_text), "tried": tried,
                       "large_blocks_bytes": len(large_text), "large_blocks": large},
            "fish": {"family": family,
                     "swaps": [{"in": a, "out": b, "tune_bytes": n, "time_ratio": r} for a, b, n, r in swaps]},
            "preset": {"changed": [list(c) for c in tune.changes(base, chosen)], "candidates": measured},
            "tune_bytes": {"level": level_size, "primer": tried[primer_name], "school": tuned_size},
            "check_bytes": check, "speed": {k: round(v, 3) for k, v in speed.items()},
            "seconds": round(say.elapsed(), 1)}
    # large blocks swim with the base level's fish and settings (preset.py's
    # `large:`), in tables fitted to the block as the base level's are:
    # those chosen here were judged on small pieces and timed on at most
    # 1 MiB of samples, and a large file of the kind should cost no more
    # than the base level does
    chosen = dict(chosen, large={k: base[k] for k in LARGE_KEYS})
    made["large_blocks"] = (f"blocks of {_first_large(len(large_text)):,} bytes or more: level {args.level}'s "
                            "fish and settings, after the primer")
    written = school_file.write(args.output, chosen, large_text, made, small=len(final_text))
    print(_summary(written, made, args.level))
    return 0


def _first_large(primer_bytes: int) -> int:
    """The smallest block that starts from the school the whole primer left,
    grown (primer.grows): its fish and settings are `large:`'s."""
    from ..fish.context_fish import fit_bits
    from ..school.kept import PRIMED_COPY_FIT
    low, high = 1, 1 << 31
    while low < high:                       # fit_bits grows with the block
        mid = (low + high) // 2
        low, high = (mid + 1, high) if fit_bits(primer_bytes + mid) <= PRIMED_COPY_FIT else (low, mid)
    return low


def _shipped_primer(level: int, family: str) -> tuple[str | None, bytes]:
    """(name, text) of the base level's own primer (general text), offered
    where text samples fall short of a primer's budget; (None, b"") for
    samples of binary data or a level without one."""
    from .. import school
    from ..school import primer
    entry = school.level(level).primer
    if entry is None or "name" not in entry or family != "text":
        return None, b""
    return entry["name"], primer.whole_text(entry)


def _fill_for_large_blocks(args, found, name: str | None, shipped: bytes, chosen: dict, primer_text: bytes,
                           primer_name: str, say):
    """(the text to fill large blocks' primer with where the samples fall
    short of --primer-size: `shipped` or b""; what the choice measured).  A
    filled primer for small blocks keeps its fill (small blocks read the
    tail of the large blocks' primer).  Otherwise the tune pieces decide,
    joined as one block after each primer built from the learn pieces: on
    the sets of tools/make_small_sets.py the fill gained 0.6-5% on prose,
    code and CSV and lost 1.6% on JSON."""
    from . import judge, primers
    if primer_name.startswith("filled "):
        return shipped, {"shipped": name, "why": "the small blocks' primer is filled"}
    plain = primers.for_large_blocks(found.learn, primer_text, primer_name, args.primer_size)
    if not shipped or len(plain) >= args.primer_size:
        return b"", {"shipped": None}
    filled = primers.fill(plain, args.primer_size, shipped)
    joined = [b"".join(found.tune)]
    alone, after = (judge.coded(judge.with_primer(chosen, text), joined) for text in (plain, filled))
    say(f"large blocks: the tune pieces as one block {alone:,} bytes after the samples, {after:,} after "
        f"{name} and the samples")
    return (shipped if after < alone else b""), {"shipped": name if after < alone else None,
                                                 "tune_joined_bytes": {"samples": alone, "shipped_and_samples": after}}


def _summary(written, made: dict, level: int) -> str:
    check, tune_sizes = made["check_bytes"], made["tune_bytes"]
    gain = 100 * (1 - check["school"] / check["level"]) if check["level"] else 0.0
    speed = made["speed"]
    rows = [("", f"level {level}", "primer only", "learned school"),
            ("tune pieces (chosen on)", f"{tune_sizes['level']:,}", f"{tune_sizes['primer']:,}",
             f"{tune_sizes['school']:,}"),
            ("check pieces (held back)", f"{check['level']:,}", f"{check['primer']:,}", f"{check['school']:,}")]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    table = "\n".join("  " + "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
                      for r in rows)
    changed = ", ".join(f"{name} {a} -> {b}" for name, a, b in made["preset"]["changed"]) or "none"
    large = made["primer"]["large_blocks"]
    shipped_note = (f", {large['shipped_bytes']:,} of them level {level}'s primer {large['shipped']}, first"
                    if large["shipped_bytes"] else "")
    swapped = "".join(f", {s['in']} in for {s['out']}" for s in made["fish"]["swaps"])
    swapped += f" (in {made['fish']['family']} blocks)" if swapped else ""
    return (f"{written.path}: school {written.id} (digest {written.digest.hex()})\n"
            f"  primer: {made['primer']['chosen']} ({made['primer']['bytes']:,} bytes from all samples; "
            f"{made['primer']['large_blocks_bytes']:,} before large blocks{shipped_note})\n"
            f"  fish: level {level}'s{swapped}\n"
            f"  preset: level {level}'s, settings changed: {changed} "
            f"({made['preset']['candidates']} candidates tried)\n"
            f"  large blocks: {made['large_blocks']}\n"
            f"  bytes, each piece its own block (tune) or archive (check):\n{table}\n"
            f"  held-back gain over level {level}: {gain:.1f}%;  warm CPU time per file: "
            f"{speed['compress_ms_per_file']:.1f} ms compress, {speed['decompress_ms_per_file']:.1f} ms decompress "
            f"({speed['compress_ms_per_kb']:.1f} / {speed['decompress_ms_per_kb']:.1f} ms per KB)\n"
            f"  learnt in {made['seconds']:.0f} s; use: shoal -D {written.path} FILE...")

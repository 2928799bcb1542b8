"""The fuzz campaign as a tool (issue 21, "archives you can trust").

    python bench/fuzz.py --mutated 10000 --crafted 2000 --as-limit 4G --timeout 20 -j 2 --seed 1
    python bench/fuzz.py --mutated 500 --crafted 200 --json fuzz.json
    python bench/fuzz.py --case m17 --case c3 --save-dir failing/     # one case again, its blob kept

Every case is an archive handed to `shoal.decompress(blob)` in a worker
process: a small pool (-j) of long-lived Python processes, each under an
address-space limit (RLIMIT_AS, --as-limit, set once the worker has imported
shoal and decoded its warm-up archives), fed cases over a pipe.  The parent
enforces a per-case deadline: a worker past it is killed and restarted and
the case is a `hang`; a worker that dies is a `crash`.

Cases are derived deterministically from --seed and their index (case m17
is the same archive in every run with the same seed), from:

  mutated  seed archives (levels 1 and 6; text, JSON-like, binary with NULs,
           a small table; small blocks, so 3+ blocks each) changed by bit
           flips, byte replacements, truncations, insertions/deletions,
           splices of two archives, swapped / duplicated / dropped / foreign
           blocks, appended garbage, and changes to one field, to a payload
           or to the preset with the framing CRCs (header_crc, frame_crc,
           payload_crc) recomputed, so the decoder's deeper checks are
           reached (data_crc and total_crc are never recomputed: they are
           what must catch a change of meaning).
  crafted  archives with valid checksums that ask for too much or for the
           unknown: presets with many fish and large tables, 1024 lanes,
           2^30-byte blocks with tiny payloads, totals of 2^60, a deflated
           preset that inflates to megabytes, 100,000 empty streams, presets
           of new shapes, unknown level names, wrong digests, missing neural
           fish, presets that name files, malformed JSON, ...  Each says
           what it expects (an error, a MemoryLimitError, or the exact
           output) and how long it may take.

Outcomes: exact (decoded to the original bytes, or to another output the
case allows), ShoalError (any subclass), EOFError, MemoryError, other
(another exception: type and message are kept), hang, crash, silent (decoded
without error to bytes that are not what was written).  The exit status is 1
if any case was silent, crash, hang, MemoryError or other, or a crafted
case's expectation was not met (wrong outcome, or slower than it may be).

The campaign's parts, by kind of attack: fuzz_archive.py (archives as
records, the seed archives), fuzz_mutate.py (damage to a seed),
fuzz_craft.py (what crafted cases share; archives that ask for too much),
fuzz_lies.py (archives that name the unknown or lie), fuzz_slow.py
(archives that cost time), fuzz_run.py (cases, the sandboxed workers, the
run) and fuzz_report.py (the report).  This script is the command line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):                      # run as a script: python bench/fuzz.py (and its workers)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fuzz_archive import encode, make_seeds, parse  # noqa: E402
from bench.fuzz_mutate import MUTATIONS  # noqa: E402
from bench.fuzz_report import failed, report  # noqa: E402
from bench.fuzz_run import (BAD, CLASSES, CRAFTED, Case, case_by_id, classify, crafted_case,  # noqa: E402
                            mutated_case, out_digest, run_cases, warm_up, worker_main)
from shoal.atomic import write_bytes  # noqa: E402
from shoal.command import Parser, parse_size, run_tool  # noqa: E402

# What tests and callers use as bench.fuzz.NAME, from the modules that define them.
__all__ = ["BAD", "CLASSES", "CRAFTED", "MUTATIONS", "Case", "as_limit", "case_by_id", "classify", "crafted_case",
           "encode", "failed", "main", "make_seeds", "mutated_case", "out_digest", "parse", "report", "run_cases",
           "warm_up"]

PROG = "bench/fuzz.py"


def as_limit(text: str) -> int:
    """--as-limit: a size (4G, 512MiB), or 0 / none / unlimited for no limit."""
    if text.strip().lower() in ("none", "unlimited"):
        return 0
    return parse_size(text, zero=True)


def main(argv=None) -> int:
    return run_tool(PROG, work, sys.argv[1:] if argv is None else argv)


def work(argv: list[str]) -> int:
    ap = Parser(prog=PROG, description=__doc__.split("\n\n")[0] + " Decodes mutated and crafted archives in "
                "sandboxed workers and counts what happened.",
                epilog="Outcomes: " + ", ".join(CLASSES) + ". Exit status 1 if any of " + ", ".join(BAD)
                + ", or a crafted expectation not met.")
    ap.add_argument("--mutated", type=int, default=500, help="mutated cases (default 500)")
    ap.add_argument("--crafted", type=int, default=200, help="crafted cases (default 200)")
    ap.add_argument("--seed", type=int, default=1, help="campaign seed: case N is the same for the same seed")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds a case may take before it is a hang")
    ap.add_argument("--as-limit", type=as_limit, default="4G", help="address-space limit of each worker (RLIMIT_AS), "
                    "e.g. 4G; 0 for none (default 4G)")
    ap.add_argument("--case", action="append", default=[], metavar="ID",
                    help="run only this case (m17, c3; repeatable), and print its result in full")
    ap.add_argument("--json", metavar="FILE", help="write every result (and the summary) to FILE ('-': stdout)")
    ap.add_argument("--save-dir", metavar="DIR", help="write the archive of every failing case to DIR/ID.shoal")
    ap.add_argument("--slowest", type=int, default=10, help="how many of the slowest cases to list")
    ap.add_argument("--messages", action="store_true", help="also list the error messages met, by kind "
                    "(which checks the cases reached)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker is not None:
        worker_main(args.worker)
        return 0
    t0 = time.monotonic()
    seeds = warm_up()
    if args.case:
        cases = [case_by_id(args.seed, c, seeds) for c in args.case]
    else:
        cases = _lazy(args.seed, args.mutated, args.crafted, seeds)
    total = len(args.case) or args.mutated + args.crafted
    done = [0]

    def progress(r):
        done[0] += 1
        if not args.quiet and sys.stderr.isatty():
            print(f"\r{done[0]}/{total} {r['id']} {r['outcome']:<12}", end="", file=sys.stderr, flush=True)
        if args.save_dir and (r["outcome"] in BAD or "unmet" in r or args.case):
            os.makedirs(args.save_dir, exist_ok=True)
            c = case_by_id(args.seed, r["id"], seeds)
            write_bytes(os.path.join(args.save_dir, f"{r['id']}.shoal"), c.blob)

    results, info = run_cases(cases, args.jobs, args.timeout, args.as_limit, progress)
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    results.sort(key=lambda r: (r["id"][0] != "m", int(r["id"][1:])))
    wall = time.monotonic() - t0
    text = report(results, info, wall, args.slowest, args.messages)
    if args.case:
        text += "\n\n" + "\n".join(json.dumps(r, indent=1) for r in results)
    if args.json != "-":
        print(text)
    if args.json:
        doc = {"args": {k: v for k, v in vars(args).items() if k != "worker"}, "wall_s": wall, "workers": info,
               "counts": {c: sum(r["outcome"] == c for r in results) for c in CLASSES},
               "counts_by_kind": {k: {c: sum(r["outcome"] == c for r in results if r["kind"] == k) for c in CLASSES}
                                  for k in sorted({r["kind"] for r in results})},
               "failed": failed(results), "results": results}
        if args.json == "-":
            json.dump(doc, sys.stdout, indent=1)
        else:
            write_bytes(args.json, json.dumps(doc, indent=1).encode())
    return 1 if failed(results) else 0


def _lazy(seed: int, mutated: int, crafted: int, seeds):
    """Mutated and crafted cases interleaved, made as the workers need them."""
    m = c = 0
    while m < mutated or c < crafted:
        # crafted cases spread through the run, so a slow kind does not end it
        if c < crafted and (m >= mutated or c * mutated <= m * crafted):
            yield crafted_case(seed, c)
            c += 1
        else:
            yield mutated_case(seed, m, seeds)
            m += 1


if __name__ == "__main__":
    sys.exit(main())

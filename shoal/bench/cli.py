"""shoal bench: shoal against its peers, measured honestly, in the same run.

    shoal bench FILE|DIR... [--levels 1,6,9] [--peers xz,zstd,...] [--peer NAME=CMD]
                [--repeat N] [--wide] [--json FILE] [--markdown FILE] [--plot FILE.png]
    shoal bench --per-file DIR... [--train DIR...] [--school NAME.school...] [--maxdict BYTES] [...]
                (bench/per_file.py)

Per file and tool: compressed bytes and bits per byte; compress and
decompress MB/s (10^6 bytes of the original per second; the median over
--repeat runs); the peak RSS of the process that did the work (GNU time's
%M); each also as a ratio to xz -9e's.  Every output is decompressed and
compared with the original: a mismatch or a tool error is a FAIL row and
exit status 1.  Measurements run one after another, so none competes with
another for the CPU.  shoal runs in a fresh interpreter per (file, level)
(python -m shoal.bench.worker): its Numba warm-up is timed on a tiny input
and reported as "warm-up s", outside the MB/s figures.  The tables fit 80
columns; --wide prints every column (--markdown always has them all).
"""
from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from ..command import ERROR, OK, Parser, UsageError, run_tool, say
from ..report_table import console, fmt, to_markdown, to_rich, write_text
from . import corpus, measure, per_file, per_file_report, report

PROG = "shoal bench"
FAST_PEERS = [name for name, peer in measure.PEERS.items() if not peer.slow]

PEERS_HELP = "\n".join(f"  {name:<8}{peer.name:<22}{peer.compress}" + ("  (slow: KB/s)" if peer.slow else "")
                       for name, peer in measure.PEERS.items())


def build_parser(prog: str = PROG, doc: str = __doc__, peers: list[str] | None = None,
                 inputs_required: bool = True, small_files: bool = False) -> Parser:
    """The options of a bench run; bench/run.py adds its own to the same parser.
    small_files: with --per-file and its options (shoal bench's own parser)."""
    peers = list(measure.PEERS) if peers is None else peers
    ap = Parser(prog=prog, description=doc.split("\n")[0],
                epilog="\n".join(doc.split("\n")[2:]) + f"\nPeers (run when installed):\n{PEERS_HELP}")
    ap.add_argument("inputs", nargs="+" if inputs_required else "*", metavar="FILE|DIR",
                    help="files, or folders of files, to measure")
    ap.add_argument("--levels", default=None, metavar="LIST",
                    help="shoal levels, comma-separated ('' for none); default 1,6,9 "
                         f"(--per-file: {per_file.DEFAULT_LEVELS})")
    ap.add_argument("--threads", type=int, default=1, metavar="N", help="shoal threads (-T), default 1")
    ap.add_argument("--block-size", type=int, default=None, metavar="BYTES",
                    help="shoal block size in bytes (default: the preset's)")
    ap.add_argument("--repeat", type=int, default=1, metavar="N", help="time each step N times, report the median")
    ap.add_argument("--peers", default=None, metavar="LIST",
                    help=f"peers to run, those installed ('' for none); default {','.join(peers)} "
                         f"(--per-file: {per_file.DEFAULT_PEERS})")
    ap.set_defaults(default_peers=",".join(peers))
    ap.add_argument("--peer", action="append", default=[], metavar="NAME=CMD",
                    help="a known peer run from program CMD (e.g. paq8px=/opt/paq8px), or a peer of your own: "
                         "NAME='COMPRESS;DECOMPRESS', templates with {src} and {dst} (stdout when no {dst})")
    ap.add_argument("--wide", action="store_true",
                    help="print every column (the ratios of speed and memory to xz's, warm-up, round trip); "
                         "by default the tables fit 80 columns")
    ap.add_argument("--json", metavar="FILE", help="write every raw number as JSON ('-': stdout, no table)")
    ap.add_argument("--markdown", metavar="FILE", help="write the tables as Markdown to FILE")
    ap.add_argument("--plot", metavar="FILE.png",
                    help="draw the compression factor-speed Pareto chart (matplotlib)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    if small_files:
        per_file.add_options(ap)
    return ap


def parse_args(parser: Parser, argv: list[str]):
    args = parser.parse_args(argv)
    small = getattr(args, "per_file", False)
    if args.levels is None:
        args.levels = per_file.DEFAULT_LEVELS if small else "1,6,9"
    if args.peers is None:
        args.peers = per_file.DEFAULT_PEERS if small else args.default_peers
    if not small and (getattr(args, "train", None) or getattr(args, "schools", None)
                      or getattr(args, "maxdict", per_file.ZSTD_MAXDICT) != per_file.ZSTD_MAXDICT):
        raise UsageError("--train, --school and --maxdict go with --per-file")
    if small and args.plot:
        raise UsageError("--plot does not go with --per-file")
    try:
        args.levels = [int(x) for x in args.levels.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--levels wants numbers 1..9 separated by commas, got {args.levels!r}") from None
    if any(not 1 <= n <= 9 for n in args.levels):
        raise UsageError("--levels must be in 1..9")
    args.repeat = max(1, args.repeat)
    return args


def select_peers(args) -> tuple[list[measure.Peer], list[str]]:
    custom = dict(measure.parse_peer(spec) for spec in args.peer)
    asked = [n.strip() for n in args.peers.split(",") if n.strip()]
    return measure.available(asked + [n for n in custom if n not in asked], custom)


def prime_jit(levels: list[int], log) -> dict:
    """A throwaway worker per level on a tiny file, so Numba's cache holds
    every level's loops before anything is measured (a cold compile would
    otherwise inflate that level's first measurement's peak RSS)."""
    primed = {"levels": levels, "warmup_s": 0.0, "rss_mb": 0.0, "ok": True, "error": None}
    with tempfile.TemporaryDirectory(prefix="shoal-bench-") as tmp:
        tiny = Path(tmp) / "tiny"
        tiny.write_bytes(b"prime the JIT cache\n" * 50)
        for level in levels:
            log(f"warming shoal up (Numba compile or cache load), level {level} ...")
            first, rss = measure.run_worker(tiny, level)
            primed["warmup_s"] += first.get("warmup_s") or 0.0
            primed["rss_mb"] = max(primed["rss_mb"], rss or 0.0)
            if not first.get("ok") and primed["ok"]:
                primed.update(ok=False, error=f"level {level}: {first.get('error')}")
    return primed


def run_all(files, peers, args, log) -> list[measure.Result]:
    """Every (file, tool) measurement, in order: shoal levels first, then the peers."""
    results = []
    for item in files:
        for level in args.levels:
            log(f"{item.name} ({item.size:,} B): shoal -{level} ...")
            results.append(measure.measure_shoal(item, level, args.repeat, args.threads, args.block_size))
        for peer in peers:
            log(f"{item.name} ({item.size:,} B): {peer.name} ...")
            results.append(measure.measure_peer(peer, item, args.repeat))
        for r in results[-(len(args.levels) + len(peers)):]:
            if not r.ok:
                log(f"[bold red]FAIL[/] {r.file} {r.tool}: {r.error}")
    return results


def run_notes(args, files, results, prime) -> list[str]:
    backends = sorted({r.extra.get("backend") for r in results if r.is_shoal and r.extra.get("backend")})
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    notes = [f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, {os.cpu_count()} CPUs"
             + (f", load average {load[0]:.2f} at the end" if load else ""),
             f"{len(files)} files, {sum(f.size for f in files):,} bytes; repeat {args.repeat} (median); "
             f"shoal threads {args.threads}",
             "speeds: peers include process start-up (ms); shoal is timed in-process after its warm-up",
             f"peak RSS: {measure.RSS_METHOD}"]
    if prime:
        notes.append(f"shoal warm-up before measuring (fills Numba's cache), levels "
                     f"{', '.join(map(str, prime['levels']))}: {fmt(prime['warmup_s'])} s, "
                     f"peak RSS {fmt(prime['rss_mb'])} MB" + ("" if prime["ok"] else f", FAILED: {prime['error']}"))
    notes += [f"shoal backend: {b}" for b in backends]
    guessed = [f.name for f in files if f.text_source == "guessed"]
    if guessed:
        notes.append(f"text/binary guessed (not in a PEERS.md) for: {', '.join(guessed)}")
    return notes


def measure_inputs(args, inputs: list[str], log, prime_level: int | None = None):
    """(files, results, prime, notes): the whole measurement of a run."""
    peers, notes = select_peers(args)
    files, skipped = corpus.collect(inputs) if inputs else ([], [])
    levels = args.levels if files else []
    warm = levels + [prime_level] if prime_level and prime_level not in levels else levels
    prime = prime_jit(warm, log) if warm else None
    results = run_all(files, peers, args, log)
    return files, results, prime, run_notes(args, files, results, prime) + skipped + notes


def result_tables(results, files) -> list:
    return [report.file_table(results), report.totals_table(results, files), report.larger_table(results)]


def finish(args, tables, notes, payload: dict, results, files, extra_failures: int = 0) -> int:
    """Print the tables and notes, write --markdown / --json / --plot; the exit status."""
    failures = sum(not r.ok for r in results) + extra_failures
    if args.json != "-":
        out = console(wide=args.wide)
        for table in tables:
            out.print(to_rich(table, wide=args.wide))
            out.print()
        for note in notes:
            out.print(f"[dim]- {note}[/]")
        if failures:
            out.print(f"[bold red]{failures} measurement(s) FAILED (round trip or tool error); see the table.[/]")
    if args.markdown:
        write_text(args.markdown, "\n".join(to_markdown(t) for t in tables) + "\n"
                   + "\n".join(f"- {n}" for n in notes) + "\n")
    if args.json:
        write_text(args.json, json.dumps({"notes": notes, **payload}, indent=1) + "\n")
    if args.plot:
        from .plot import chart, points
        if points(results, files):
            chart(results, files, args.plot, f"shoal and its peers on {len(files)} files "
                                             f"({sum(f.size for f in files):,} bytes)")
        else:
            say(args.prog, "no tool round-tripped every file: no plot drawn")
    return ERROR if failures else OK


def logger(args):
    """Progress lines on stderr, unless --quiet."""
    return (lambda msg: None) if args.quiet else Console(stderr=True).print


def json_payload(argv, files, results, **extra) -> dict:
    return {"argv": argv, "files": [dict(asdict(f), path=str(f.path)) for f in files],
            "results": [asdict(r) for r in results], **extra}


def work_per_file(args, argv: list[str]) -> int:
    """shoal bench --per-file: see bench/per_file.py."""
    peers, peer_notes = select_peers(args)
    sets, results, warmups, sizes, schools = per_file.measure_sets(args, peers, logger(args))
    tables = [per_file_report.totals_table(sets, results, warmups)]
    if schools:
        tables.append(per_file_report.school_table(sets, results))
    tables.append(per_file_report.one_byte_table(sizes))
    return finish(args, tables, per_file_report.notes(sets, warmups, args, schools) + peer_notes,
                  {"argv": argv, **per_file.payload(sets, results, warmups, sizes, schools),
                   "school_vs_zstd_dict": per_file_report.school_rows(sets, results)}, results, [])


def work(argv: list[str]) -> int:
    args = parse_args(build_parser(small_files=True), argv)
    args.prog = PROG
    if args.per_file:
        return work_per_file(args, argv)
    files, results, prime, notes = measure_inputs(args, args.inputs, logger(args))
    return finish(args, result_tables(results, files), notes,
                  json_payload(argv, files, results, warmup=prime), results, files)


def main(argv: list[str] | None = None) -> int:
    return run_tool(PROG, work, sys.argv[1:] if argv is None else argv)

"""shoal against its peers, measured honestly, in the same run.

    python bench/run.py [FILES or DIRS ...] [--levels 1,6,9] [--threads N] [--repeat N]
                        [--peers xz,zstd,bzip2,brotli] [--peer NAME='COMPRESS;DECOMPRESS']
                        [--json out.json] [--markdown out.md] [--threads-check FILE [-B BYTES]]

What is measured, per file and tool (see bench/README.md for the details):
- compressed bytes, bits per byte, and the size as a ratio to xz -9e's;
- compress and decompress MB/s (10^6 bytes per second of the original; the
  median over --repeat runs), also as ratios to xz -9e's;
- peak RSS of the process that did the work (GNU time's %M);
- that the round trip gives back the original bytes: a mismatch or a tool
  error is a FAIL row and makes the exit status 1.

Peers run as child processes (xz -9e, zstd -19, bzip2 -9, brotli -q 11 -w 24,
plus 7z PPMd and lpaq1 when installed).  shoal runs in bench/worker.py, one
fresh interpreter per (file, level): its Numba warm-up is timed on a tiny
input and reported as "warm-up s", outside the MB/s figures.  Everything is
sequential, so no two measurements compete with each other for the CPU.

Default inputs: the evaluation folders of ../shared/corpus (canterbury,
calgary, enwik, large); never train/.  With --threads-check FILE and no
inputs, only the thread check runs.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import sys
import time
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):                      # run as a script: python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "bench"

from rich.console import Console  # noqa: E402

from bench import corpus, measure, report  # noqa: E402

DEFAULT_PEERS = [name for name, peer in measure.PEERS.items() if peer.default]


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[6:]))
    ap.add_argument("inputs", nargs="*", help="files or folders (default: the evaluation corpus)")
    ap.add_argument("--corpus", action="store_true", help="add the evaluation folders to the inputs")
    ap.add_argument("--levels", default="1,6,9", help="shoal levels, comma-separated ('' for none)")
    ap.add_argument("--threads", type=int, default=1, help="shoal threads (-T), default 1")
    ap.add_argument("--block-size", type=int, default=None, help="shoal block size in bytes (default: preset's)")
    ap.add_argument("--repeat", type=int, default=1, help="time each step N times, report the median")
    ap.add_argument("--peers", default=",".join(DEFAULT_PEERS),
                    help=f"peers to run ('' for none; known: {', '.join(measure.PEERS)})")
    ap.add_argument("--peer", action="append", default=[], metavar="NAME=COMPRESS;DECOMPRESS",
                    help="a custom peer: command templates with {src} and {dst} (stdout when no {dst})")
    ap.add_argument("--threads-check", type=Path, metavar="FILE",
                    help="time shoal -6 with -T 1 and -T 2 on FILE (needs shoal.compress)")
    ap.add_argument("-B", "--threads-block", type=int, default=1 << 20,
                    help="block size for --threads-check (default 1 MiB)")
    ap.add_argument("--json", type=Path, help="write every raw number to this JSON file")
    ap.add_argument("--markdown", type=Path, help="write the tables as Markdown to this file")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    args.levels = [int(x) for x in args.levels.split(",") if x.strip()]
    if any(not 1 <= n <= 9 for n in args.levels):
        ap.error("--levels must be in 1..9")
    args.repeat = max(1, args.repeat)
    return args


def run_all(files, levels, peers, args, log) -> list[measure.Result]:
    """Every (file, tool) measurement, in order: shoal levels first, then the peers."""
    results = []
    for item in files:
        for level in levels:
            log(f"{item.name} ({item.size:,} B): shoal -{level} ...")
            results.append(measure.measure_shoal(item, level, args.repeat, args.threads, args.block_size))
        for peer in peers:
            log(f"{item.name} ({item.size:,} B): {peer.name} ...")
            results.append(measure.measure_peer(peer, item, args.repeat))
        for r in results[-(len(levels) + len(peers)):]:
            if not r.ok:
                log(f"[bold red]FAIL[/] {r.file} {r.tool}: {r.error}")
    return results


def prime_jit(level: int, log) -> dict:
    """One throwaway worker on a tiny file, so Numba's cache is filled before anything is measured
    (a cold compile would otherwise inflate the first measurement's peak RSS)."""
    log(f"warming shoal up (Numba compile or cache load), level {level} ...")
    with tempfile.TemporaryDirectory(prefix="shoal-bench-") as tmp:
        tiny = Path(tmp) / "tiny"
        tiny.write_bytes(b"prime the JIT cache\n" * 50)
        report_, rss = measure.run_worker(tiny, level)
    return {"warmup_s": report_.get("warmup_s"), "rss_mb": rss, "ok": report_.get("ok"),
            "error": report_.get("error")}


def threads_check(path: Path, block_size: int, repeat: int, log) -> dict:
    """shoal -6 with threads=1 then threads=2, same block size: speed-up and output identity."""
    size = path.stat().st_size
    check = {"file": str(path), "size": size, "block_size": block_size, "level": 6,
             "blocks": -(-size // block_size), "load_before": os.getloadavg()[0]}
    runs = {}
    for threads in (1, 2):
        log(f"threads check: {path.name} -6 -T {threads} -B {block_size:,} ...")
        runs[threads], rss = measure.run_worker(path, 6, repeat, threads, block_size)
        runs[threads]["rss_mb"] = rss
    one, two = runs[1], runs[2]
    check["runs"] = runs
    if not (one.get("ok") and two.get("ok")):
        check["error"] = f"a run failed: {one.get('error') or two.get('error')}"
    elif one.get("backend") != "shoal.compress":
        check["error"] = "needs shoal.compress(threads=, block_size=) (shoal/api.py); not available yet"
    else:
        check.update(speedup_comp=one["comp_s"] / two["comp_s"],
                     speedup_decomp=one["decomp_s"] / two["decomp_s"],
                     identical=one["digest"] == two["digest"])
    return check


def threads_table(check: dict) -> report.Table:
    table = report.Table(f"Threads check: shoal -6 on {check['file']}, -B {check['block_size']:,} "
                         f"({check['blocks']} blocks)",
                         ["threads", "bytes", "comp MB/s", "decomp MB/s", "peak RSS MB", "round trip"])
    for threads, run in check.get("runs", {}).items():
        table.rows.append([str(threads), report.fmt_int(run.get("compressed")),
                           report.fmt(report.mbps(check["size"], run.get("comp_s"))),
                           report.fmt(report.mbps(check["size"], run.get("decomp_s"))),
                           report.fmt(run.get("rss_mb")), "ok" if run.get("ok") else f"FAIL: {run.get('error')}"])
    if "speedup_comp" in check:
        table.notes.append(f"speed-up -T 2 / -T 1: compress {check['speedup_comp']:.2f}x, decompress "
                           f"{check['speedup_decomp']:.2f}x; output identical: {check['identical']}")
    table.notes.append(f"1-minute load average before the check: {check['load_before']:.2f} on "
                       f"{os.cpu_count()} CPUs (other work on the machine lowers the -T 2 speed-up)")
    if check.get("error"):
        table.notes.append(check["error"])
    return table


def run_notes(args, files, peer_notes, results) -> list[str]:
    backends = sorted({r.extra.get("backend") for r in results if r.is_shoal and r.extra.get("backend")})
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    notes = [f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, {os.cpu_count()} CPUs"
             + (f", load average {load[0]:.2f} at the end" if load else ""),
             f"{len(files)} files, {sum(f.size for f in files):,} bytes; repeat {args.repeat} (median); "
             f"shoal threads {args.threads}",
             "speeds: peers include process start-up (ms); shoal is timed in-process after its warm-up",
             f"peak RSS: {measure.RSS_METHOD}"]
    notes += [f"shoal backend: {b}" for b in backends]
    guessed = [f.name for f in files if f.text_source == "guessed"]
    if guessed:
        notes.append(f"text/binary guessed (not in PEERS.md) for: {', '.join(guessed)}")
    return notes + peer_notes


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(stderr=True)
    log = (lambda msg: None) if args.quiet else console.print
    custom = dict(measure.parse_peer(spec) for spec in args.peer)
    names = [n for n in args.peers.split(",") if n.strip()] + [n for n in custom if n not in args.peers.split(",")]
    peers, peer_notes = measure.available(names, custom)

    inputs = list(args.inputs)
    if args.corpus or (not inputs and not args.threads_check):
        inputs += [str(corpus.CORPUS / folder) for folder in corpus.EVAL_FOLDERS]
    files = corpus.collect(inputs) if inputs else []
    prime = prime_jit(args.levels[0] if files and args.levels else 6, log) \
        if (files and args.levels) or args.threads_check else None
    results = run_all(files, args.levels, peers, args, log)
    check = threads_check(args.threads_check, args.threads_block, args.repeat, log) if args.threads_check else None

    tables = []
    if results:
        tables += [report.file_table(results), report.totals_table(results, files)]
        flags = report.larger_than_xz(results)
        tables.append(report.Table("shoal larger than xz -9e", ["file", "tool", "shoal bytes", "xz -9e bytes"],
                                   [[f, t, f"{s:,}", f"{x:,}"] for f, t, s, x in flags],
                                   notes=[] if flags else ["none: every shoal level is at most xz -9e's size"]))
    if check:
        tables.append(threads_table(check))
    tables.append(report.goals(results, files, check))
    notes = run_notes(args, files, peer_notes, results)
    if prime:
        notes.insert(3, f"shoal first warm-up before measuring (fills Numba's cache): "
                        f"{report.fmt(prime['warmup_s'])} s, peak RSS {report.fmt(prime['rss_mb'])} MB"
                        + ("" if prime["ok"] else f", FAILED: {prime['error']}"))

    out = Console(width=None if sys.stdout.isatty() else 200)   # pipes and files get the full table
    for table in tables:
        out.print(report.to_rich(table))
        out.print()
    for note in notes:
        out.print(f"[dim]- {note}[/]")
    failures = [r for r in results if not r.ok] + ([check] if check and not all(
        run.get("ok") for run in check.get("runs", {}).values()) else [])
    if failures:
        out.print(f"[bold red]{len(failures)} measurement(s) FAILED (round trip or tool error); see the table.[/]")

    if args.markdown:
        text = "\n".join(report.to_markdown(t) for t in tables)
        args.markdown.write_text(text + "\n" + "\n".join(f"- {n}" for n in notes) + "\n")
    if args.json:
        args.json.write_text(json.dumps({
            "notes": notes, "argv": sys.argv[1:] if argv is None else argv,
            "files": [dict(asdict(f), path=str(f.path)) for f in files],
            "results": [asdict(r) for r in results], "threads_check": check, "first_warmup": prime,
            "goals": [dict(zip(["goal", "result", "detail"], row)) for row in tables[-1].rows],
        }, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

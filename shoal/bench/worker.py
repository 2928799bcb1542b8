"""Measure shoal on one file at one level, in a process of its own.

    python -m shoal.bench.worker FILE --level 6 [--repeat 3] [--threads 1] [--block-size BYTES]

Prints one JSON object on stdout (the last line):

    ok, error, backend, level, threads, block_size, size, compressed, digest,
    warmup_s (first compress+decompress of two tiny inputs, one text and one
    binary, so that both of a level's schools are compiled or loaded from
    cache before the clock starts), comp_s / decomp_s (medians), comp_times / decomp_times,
    model_mb (the preset's model memory), self_rss_mb (this process's peak RSS).

The file is read into memory before the clock starts; each timing covers
one call of shoal.compress or shoal.decompress on the whole file, and every
decompressed result is compared with the original.  The bench starts one
worker per (file, level) so that each measures its own peak RSS from a
fresh interpreter, just as a peer's process does.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import sys
import time
from pathlib import Path

BACKEND = "shoal.compress"


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def measure(path: Path, level: int, repeat: int, threads: int, block_size: int | None) -> dict:
    import shoal
    from shoal import school
    report = {"ok": False, "error": None, "backend": BACKEND, "level": level, "threads": threads,
              "file": str(path), "model_mb": round(school.level(level).memory_bytes() / 1e6, 1),
              "block_size": block_size or school.level(level).block_size}
    options = {"level": level, "threads": threads, "block_size": block_size}

    start = time.perf_counter()
    # a level may compile two loops, one per school (text blocks and the
    # others): warm both up, or the first binary file's timing would hold a compile
    for warmup in school.WARM_UP_BLOCKS:
        if shoal.decompress(shoal.compress(warmup, **options), threads=threads) != warmup:
            report["error"] = "round trip MISMATCH on a warm-up input"
            return report
    report["warmup_s"] = time.perf_counter() - start

    data = path.read_bytes()
    report["size"] = len(data)
    comp_times, decomp_times = [], []
    for _ in range(repeat):
        packed, seconds = timed(shoal.compress, data, **options)
        comp_times.append(seconds)
        if report.get("compressed") not in (None, len(packed)):
            report["error"] = "compressed size changed between repeats"
            return report
        report["compressed"] = len(packed)
        report["digest"] = hashlib.blake2b(packed, digest_size=16).hexdigest()
        restored, seconds = timed(shoal.decompress, packed, threads=threads)
        decomp_times.append(seconds)
        if restored != data:
            report["error"] = "round trip MISMATCH: decompressed bytes differ from the original"
            return report
    report.update(ok=True, comp_times=comp_times, decomp_times=decomp_times,
                  comp_s=statistics.median(comp_times), decomp_s=statistics.median(decomp_times))
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m shoal.bench.worker", description=__doc__.split("\n")[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--level", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--block-size", type=int, default=None)
    args = ap.parse_args(argv)
    try:
        report = measure(args.file, args.level, max(1, args.repeat), args.threads, args.block_size)
    except Exception as exc:          # reported, not raised: the parent prints the table
        report = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    report["self_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

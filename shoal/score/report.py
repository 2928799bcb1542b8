"""Scores as tables, JSON, CSV and a learning-curve plot.

A Result is one model on one file.  Totals add bits and bytes over the files
of a model (bpb of the total = total bits / total bytes, not a mean of
ratios).  A position profile splits a file into buckets by position and
gives each bucket's bpb: powers of two by default (0-128, 128-256, 256-512,
...; a model learns fastest early), or equal buckets of --bucket-size bytes.
Profiles of several files are added bucket by bucket (by start position).

The ratio is compressed / original, as xz -l gives it: the ideal length in
bytes over the bytes (bpb / 8); the compression factor is its inverse, 8 / bpb.
On a terminal the tables fit 80 columns (Table.brief; the position table is
split into several when its models would not fit); --wide shows them whole.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..report_table import Table, fmt_int, split_columns, to_csv
from .costs import Score

FIRST_BUCKET = 128          # bytes in the first power-of-two bucket


@dataclass
class Result:
    model: str
    file: str
    score: Score
    profile: dict[int, tuple[int, int, float]] | None = None   # bucket start -> (end, bytes, bits)
    problem: str | None = None                             # a failed coded-size check
    seconds: float | None = None                           # processor time, where measured


def bucket_edges(size: int, bucket_size: int | None = None) -> np.ndarray:
    if bucket_size:
        edges = list(range(0, size, bucket_size))
    else:
        edges = [0] + [1 << k for k in range(FIRST_BUCKET.bit_length() - 1, size.bit_length()) if 1 << k < size]
    return np.array(edges + [size], dtype=np.int64)


def profile(score: Score, bucket_size: int | None = None) -> dict[int, tuple[int, int, float]]:
    """bucket start -> (its end, bytes in it, bits charged to it)."""
    edges = bucket_edges(score.size, bucket_size)
    bucket = np.searchsorted(edges, score.unit_positions(), side="right") - 1
    bits = np.bincount(bucket, weights=score.costs, minlength=len(edges) - 1)
    return {int(edges[i]): (int(edges[i + 1]), int(edges[i + 1] - edges[i]), float(bits[i]))
            for i in range(len(edges) - 1)}


def combined_profile(results: list[Result]) -> dict[int, tuple[int, int, float]]:
    """The profiles of several files added bucket by bucket (a bucket ends where the longest file's does)."""
    out: dict[int, tuple[int, int, float]] = {}
    for r in results:
        for start, (end, size, bits) in (r.profile or {}).items():
            have = out.get(start, (end, 0, 0.0))
            out[start] = (max(end, have[0]), have[1] + size, have[2] + bits)
    return dict(sorted(out.items()))


def models_of(results: list[Result]) -> list[str]:
    return list(dict.fromkeys(r.model for r in results))


def totals(results: list[Result]) -> list[dict]:
    out = []
    for model in models_of(results):
        mine = [r for r in results if r.model == model]
        size, bits = sum(r.score.size for r in mine), sum(r.score.bits for r in mine)
        coded = [r.score.coded for r in mine]
        out.append({"model": model, "files": len(mine), "bytes": size, "bits": bits, "bpb": bits / size,
                    "ratio": bits / 8 / size, "compression_factor": size * 8 / bits if bits else None,
                    "coded": None if None in coded else sum(coded)})
    return out


def to_record(r: Result) -> dict:
    """One result as JSON (what --json writes per model and file)."""
    s = r.score
    return {"model": r.model, "file": r.file, "bytes": s.size, "bits": s.bits, "bpb": s.bpb,
            "ratio": s.bpb / 8, "compression_factor": 8 / s.bpb if s.bits else None,
            "coded": s.coded, "blocks": s.blocks,
            "coded_check": "FAILED: " + r.problem if r.problem else ("ok" if s.coded is not None else None),
            "notes": s.notes}


def _row(file, model, size, bits, coded) -> list[str]:
    bpb = bits / size
    return [file, model, fmt_int(size), f"{bits:,.0f}", f"{bpb:.4f}", f"{bpb / 8:.4f}",
            f"{8 / bpb:.3f}" if bits else "-", fmt_int(coded),
            f"{8 * coded / size:.4f}" if coded is not None else "-"]


COLUMNS = ["file", "model", "bytes", "bits", "bpb", "ratio", "compression factor", "coded bytes", "coded bpb"]
BRIEF = [0, 1, 2, 4, 5, 7]          # file, model, bytes, bpb, ratio, coded bytes


def score_table(results: list[Result], notes: list[str]) -> Table:
    table = Table("Scores", COLUMNS, numeric=set(COLUMNS[2:]), brief=BRIEF, grouped=True)
    for file in dict.fromkeys(r.file for r in results):
        for i, r in enumerate(x for x in results if x.file == file):
            table.add(_row(file if i == 0 else "", r.model, r.score.size, r.score.bits, r.score.coded),
                      "bold red" if r.problem else None)
    if len({r.file for r in results}) > 1:
        for i, t in enumerate(totals(results)):
            label = f"total, {t['files']} files" if i == 0 else ""
            table.add(_row(label, t["model"], t["bytes"], t["bits"], t["coded"]), "bold")
    table.notes += [f"{r.model} on {r.file}: {note}" for r in results for note in r.score.notes] + notes
    table.notes += [f"CHECK FAILED: {r.model} on {r.file}: {r.problem}" for r in results if r.problem]
    table.notes.append("bits: ideal code length -sum log2 p; bpb = bits / bytes; ratio = bits / 8 / bytes "
                       "(compressed / original, as xz -l); compression factor = 8 / bpb; "
                       "coded: the real range-coded size (shoal models)")
    table.brief_notes.append("--wide adds bits, the compression factor and coded bpb")
    return table


def position_table(results: list[Result]) -> Table:
    models = models_of(results)
    files = len({r.file for r in results})
    table = Table(f"bpb by position in the file ({files} file{'s' * (files > 1)} added bucket by bucket)",
                  ["position", "bytes", *models], numeric={"bytes", *models})
    curves = {m: combined_profile([r for r in results if r.model == m]) for m in models}
    for start in sorted({s for c in curves.values() for s in c}):
        end, size, _ = next(c[start] for c in curves.values() if start in c)
        cells = [f"{curves[m][start][2] / curves[m][start][1]:.4f}" if start in curves[m] else "-" for m in models]
        table.add([f"{start:,}-{end:,}", fmt_int(size), *cells])
    return table


def position_tables(results: list[Result], wide: bool = False) -> list[Table]:
    """The position table, split by models into tables of WIDTH columns at most unless wide."""
    whole = position_table(results)
    return [whole] if wide else split_columns(whole, keep=2, what="models")


def to_json(results: list[Result], notes: list[str]) -> str:
    data = {"results": [], "totals": totals(results), "notes": notes}
    for r in results:
        record = to_record(r)
        if r.profile is not None:
            record["by_position"] = [{"start": s, "end": e, "bits": b, "bpb": b / n}
                                     for s, (e, n, b) in r.profile.items()]
        data["results"].append(record)
    return json.dumps(data, indent=1) + "\n"


def to_csv_text(results: list[Result]) -> str:
    rows = [[r.model, r.file, r.score.size, r.score.bits, r.score.bpb, r.score.bpb / 8,
             8 / r.score.bpb if r.score.bits else None, r.score.coded] for r in results]
    rows += [[t["model"], "(total)", t["bytes"], t["bits"], t["bpb"], t["ratio"], t["compression_factor"],
              t["coded"]] for t in totals(results)]
    return to_csv(["model", "file", "bytes", "bits", "bpb", "ratio", "compression_factor", "coded_bytes"],
                  [["" if v is None else v for v in row] for row in rows])


def _bytes_label(value: float) -> str:
    """64, 256, 1K, 16K, 4M: positions in powers-of-two units."""
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if value >= size:
            return f"{value / size:g}{unit}"
    return f"{value:g}"


def plot(results: list[Result], path: str, log_positions: bool) -> None:
    """One line per model: bpb against position (files added bucket by bucket)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter
    fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    for model in models_of(results):
        curve = combined_profile([r for r in results if r.model == model])
        x = [(start + end) / 2 for start, (end, _, _) in curve.items()]
        y = [bits / size for _, size, bits in curve.values()]
        ax.plot(x, y, marker="o", markersize=4, label=model)
    if log_positions:
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _bytes_label(v)))
    files = sorted({r.file for r in results})
    ax.set(xlabel="position in the file (bytes; each point is one bucket, at its middle)",
           ylabel="bits per byte", ylim=(0, None),
           title="How fast each model learns: bpb by position\n"
                 + (files[0] if len(files) == 1 else f"{len(files)} files, added bucket by bucket"))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=120)
    plt.close(fig)

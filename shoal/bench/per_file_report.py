"""The tables of shoal bench --per-file: totals per set, a learned school
against zstd -19 -D (with --school), and a 1-byte input's archive per tool.

- bytes: the sum of the set's archives, one archive per file; bpb: 8 * bytes / original bytes.
- "x zstd-D", "x xz": bytes / zstd -19 -D's (the set's trained dictionary), / xz -9e's;
  below 1 is smaller.
- comp / decomp ms: per file, the mean over the set's files (each the median over --repeat).
  shoal: in this process, warm; a peer: its process, start-up included.
- A tool that failed on any file of a set has no total there ("n/a") and the
  run exits 1; the failure is told in a note.
At 80 columns (Table.brief) the rows show bytes, the two ratios and the ms;
--wide (and Markdown) add the files, original bytes, bpb, warm-up and failures.

The school table (--school): per set, its school row ("shoal -D NAME")
against zstd -19 -D: both totals, their ratio, ms per file and ms per KB
each way (the set's total ms over its total KB, 10^3 bytes of originals:
for a set of 1 KB files the same as ms per file), and whether it meets the
learned school's target, <= TARGET_X_ZSTD_DICT x zstd -19 -D's bytes at
<= TARGET_MS_PER_KB ms per KB each way, warm.  school_rows gives the same
numbers for --json ("school_vs_zstd_dict").
"""
from __future__ import annotations

from dataclasses import dataclass

from ..report_table import Cell, Table, fmt, fmt_int, ratio
from .per_file import ZSTD_DICT

XZ = "xz -9e"
TARGET_X_ZSTD_DICT = 0.75       # a learned school's bytes / zstd -19 -D's, at most
TARGET_MS_PER_KB = 20.0         # ms per KB of input, each way, warm, at most
NUMERIC = {"bytes", "x zstd-D", "x xz", "bpb", "comp ms", "decomp ms", "files", "original",
           "warm-up s", "failed", "zstd-D bytes", "comp ms/KB", "decomp ms/KB", "mean file"}


@dataclass
class SetTotal:
    set: str
    tool: str
    files: int
    size: int
    compressed: int | None          # None: some file failed
    comp_s: float | None = None     # sums over the files
    decomp_s: float | None = None
    failed: int = 0

    def ms_per_file(self, seconds: float | None) -> float | None:
        return 1000 * seconds / self.files if seconds is not None and self.files else None


def totals(sets, results) -> list[SetTotal]:
    """One SetTotal per (set, tool), in the order the tools ran."""
    out = []
    for s in sets:
        mine = [r for r in results if r.folder == s.name]
        for tool in dict.fromkeys(r.tool for r in mine):
            rs = [r for r in mine if r.tool == tool]
            bad = sum(not r.ok for r in rs)
            if bad:
                out.append(SetTotal(s.name, tool, len(rs), s.size, None, failed=bad))
            else:
                out.append(SetTotal(s.name, tool, len(rs), s.size, sum(r.compressed for r in rs),
                                    sum(r.comp_s for r in rs), sum(r.decomp_s for r in rs)))
    return out


def totals_table(sets, results, warmups) -> Table:
    columns = ["set", "tool", "bytes", "x zstd-D", "x xz", "comp ms", "decomp ms",
               "files", "original", "bpb", "warm-up s", "failed"]
    table = Table("Small files, each its own archive: totals per set", columns, numeric=NUMERIC,
                  brief=[0, 1, 2, 3, 4, 5, 6], grouped=True)
    warm = {w.tool: w.seconds for w in warmups}
    all_totals = totals(sets, results)
    for s in sets:
        rows = [t for t in all_totals if t.set == s.name]
        by_tool = {t.tool: t.compressed for t in rows}
        heading = Cell(f"{s.name} ({len(s.files)} files, {s.size:,} bytes)", f"{s.name} ({len(s.files)} files)")
        for i, t in enumerate(rows):
            head = [heading if i == 0 else "", t.tool]
            shoal = t.tool.startswith("shoal")
            if t.compressed is None:
                table.add(head + [Cell(f"n/a ({t.failed} failed)", "n/a")] + ["-"] * 4 +
                          [str(t.files), fmt_int(t.size), "-", fmt(warm.get(t.tool)), str(t.failed)], "bold red")
                continue
            table.add(head + [fmt_int(t.compressed), fmt(ratio(t.compressed, by_tool.get(ZSTD_DICT))),
                              fmt(ratio(t.compressed, by_tool.get(XZ))), fmt(t.ms_per_file(t.comp_s)),
                              fmt(t.ms_per_file(t.decomp_s)), str(t.files), fmt_int(t.size),
                              fmt(8 * t.compressed / t.size), fmt(warm.get(t.tool)), "0"],
                      "cyan" if shoal else None)
    failures = [r for r in results if not r.ok]
    table.notes += [f"FAIL: {r.tool} on {r.file}: {r.error}" for r in failures[:20]]
    if len(failures) > 20:
        table.notes.append(f"... and {len(failures) - 20} more failures (--json has them all)")
    if results and not failures:
        table.notes.append(f"round trips: all {len(results)} verified byte for byte")
    table.notes.append("ms: per file (mean); shoal in this process, warm; a peer's include its process start")
    table.brief_notes.append("--wide adds files, original bytes, bpb, warm-up s and failures")
    return table


def school_rows(sets, results) -> list[dict]:
    """Per set with a --school: its school row's totals against zstd -19 -D's
    (None where either failed or there is no zstd -19 -D, i.e. no --train)."""
    by_key = {(t.set, t.tool): t for t in totals(sets, results)}
    rows = []
    for s in sets:
        mine, dictionary = by_key.get((s.name, s.school_label)), by_key.get((s.name, ZSTD_DICT))
        if not s.school_label or mine is None:
            continue
        ok = mine.compressed is not None
        kb = s.size / 1000
        row = {"set": s.name, "tool": s.school_label, "school": str(s.school), "files": mine.files,
               "bytes": s.size, "mean_file_bytes": s.size / mine.files if mine.files else None,
               "compressed": mine.compressed, "failed": mine.failed,
               "zstd_dict": dictionary.compressed if dictionary else None,
               "x_zstd_dict": ratio(mine.compressed, dictionary.compressed if dictionary else None),
               "comp_ms_per_file": mine.ms_per_file(mine.comp_s), "decomp_ms_per_file": mine.ms_per_file(mine.decomp_s),
               "comp_ms_per_kb": 1000 * mine.comp_s / kb if ok and kb else None,
               "decomp_ms_per_kb": 1000 * mine.decomp_s / kb if ok and kb else None}
        row["target"] = target(row)
        row["meets_target"] = row["target"] == "met" if row["x_zstd_dict"] is not None else None
        rows.append(row)
    return rows


def target(row: dict) -> str:
    """'met', or why not (or why it cannot be told)."""
    if row["compressed"] is None:
        return f"n/a: {row['failed']} file(s) failed"
    if row["x_zstd_dict"] is None:
        return "n/a: no zstd -19 -D (--train)"
    misses = ([f"{fmt(row['x_zstd_dict'])} x zstd-D > {TARGET_X_ZSTD_DICT}"]
              if row["x_zstd_dict"] > TARGET_X_ZSTD_DICT else [])
    misses += [f"{way} {fmt(row[f'{way}_ms_per_kb'])} ms/KB > {fmt(TARGET_MS_PER_KB)}"
               for way in ("comp", "decomp") if row[f"{way}_ms_per_kb"] > TARGET_MS_PER_KB]
    return "met" if not misses else "missed: " + "; ".join(misses)


def school_table(sets, results) -> Table:
    columns = ["set", "tool", "bytes", "zstd-D bytes", "x zstd-D", "comp ms", "decomp ms",
               "comp ms/KB", "decomp ms/KB", "mean file", "target"]
    table = Table(f"Learned school against zstd -19 -D (target: <= {TARGET_X_ZSTD_DICT:g} x, "
                  f"<= {TARGET_MS_PER_KB:g} ms/KB each way)", columns, numeric=NUMERIC,
                  brief=[0, 1, 2, 4, 7, 8, 10], grouped=True)
    for row in school_rows(sets, results):
        verdict = row["target"]
        table.add([row["set"], row["tool"], fmt_int(row["compressed"]), fmt_int(row["zstd_dict"]),
                   fmt(row["x_zstd_dict"]), fmt(row["comp_ms_per_file"]), fmt(row["decomp_ms_per_file"]),
                   fmt(row["comp_ms_per_kb"]), fmt(row["decomp_ms_per_kb"]), fmt(row["mean_file_bytes"]),
                   Cell(verdict, verdict.split(":")[0])],
                  "green" if verdict == "met" else "bold red" if verdict.startswith("missed") else None)
    table.notes.append("ms: per file (mean), in this process, warm; ms/KB: the set's total ms over its total "
                       "KB (10^3 bytes), each way; mean file: bytes")
    table.brief_notes.append("--wide adds zstd -19 -D's bytes, ms per file and the mean file's size")
    return table


def one_byte_table(sizes: dict[str, int | None]) -> Table:
    return Table("1-byte input: archive bytes", ["tool", "bytes"],
                 [[tool, fmt_int(size) if size is not None else "FAIL"] for tool, size in sizes.items()],
                 numeric=NUMERIC)


def notes(sets, warmups, args, schools=()) -> list[str]:
    out = [f"{len(sets)} set(s), {sum(len(s.files) for s in sets):,} files, "
           f"{sum(s.size for s in sets):,} bytes; repeat {args.repeat} (median per file)",
           "shoal: in this process through shoal.compress/decompress, warm; peers: a process per file "
           "and step, start-up included"]
    for w in warmups:
        out.append(f"{w.tool} warm-up (Numba compile or cache load, primer): " +
                   (f"{fmt(w.seconds)} s" if w.ok else f"FAILED: {w.error}"))
    for s in sets:
        if s.dictionary_bytes is not None:
            out.append(f"{s.name}: {ZSTD_DICT} uses a {s.dictionary_bytes:,}-byte dictionary trained on "
                       f"{s.train} (--maxdict {args.maxdict:,}); not counted in its bytes")
    for info in schools:
        out.append(f"{info.label}: school file {info.path} ({info.file_bytes:,} bytes, primer "
                   f"{info.primer_bytes:,} bytes, digest {info.digest[:16]}...), loaded once in "
                   f"{fmt(1000 * info.load_s)} ms before timing; not counted in its bytes")
    return out

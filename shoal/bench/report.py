"""Bench Results as tables: per file, totals per group of files, and where shoal is larger than xz.

Conventions of every table:
- bytes: compressed size; bpb: 8 * compressed / original (bits per byte).
- "x xz" next to a size: size / xz -9e's size (below 1 is smaller than xz);
  next to a speed: MB/s / xz -9e's MB/s (above 1 is faster than xz).
- MB is 10^6 bytes; MB/s is original bytes / seconds (median over repeats);
  "x xz" next to peak RSS: RSS / xz -9e's RSS.
- Totals add sizes and times over the files of a group, only for tools that
  round-tripped every file of it.  PEERS.md's paq8px -8 and lpaq1 9 sizes are
  shown as reference rows: copied, not measured in this run.
- On a terminal the tables fit 80 columns (Table.brief): the per-file table
  leaves out the speeds' and peak RSS's "x xz", the warm-up and the round-trip
  column (a failure is marked on its row and told in a note), the totals
  table peak RSS and its "x xz"; --wide shows every column, as Markdown
  always does.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..report_table import Cell, Table, fmt, fmt_int, mbps, ratio
from .corpus import CONTAINED_IN, REFERENCE_COLUMNS

XZ = "xz -9e"
NUMERIC = {"bytes", "bpb", "x xz", "comp MB/s", "decomp MB/s", "peak RSS MB", "warm-up s", "files",
           "shoal bytes", "xz -9e bytes"}


# --------------------------------------------------------------------------- per file

def by_file(results) -> dict[str, dict[str, object]]:
    table: dict[str, dict[str, object]] = {}
    for r in results:
        table.setdefault(r.file, {})[r.tool] = r
    return table


def larger_than_xz(results) -> list[tuple[str, str, int, int]]:
    """(file, tool, shoal bytes, xz bytes) for every shoal result larger than xz -9e's."""
    flags = []
    for file, tools in by_file(results).items():
        xz = tools.get(XZ)
        for tool, r in tools.items():
            if r.is_shoal and r.ok and xz is not None and xz.ok and r.compressed > xz.compressed:
                flags.append((file, tool, r.compressed, xz.compressed))
    return flags


def file_table(results) -> Table:
    columns = ["file", "tool", "bytes", "bpb", "x xz", "comp MB/s", "x xz", "decomp MB/s", "x xz",
               "peak RSS MB", "x xz", "warm-up s", "round trip"]
    table = Table("Per file", columns, numeric=NUMERIC, brief=[0, 1, 2, 3, 4, 5, 7, 9], grouped=True)
    for file, tools in by_file(results).items():
        xz = tools.get(XZ)
        xz = xz if xz is not None and xz.ok else None
        for i, r in enumerate(tools.values()):
            bigger = r.is_shoal and r.ok and xz is not None and r.compressed > xz.compressed
            status = "ok" if r.ok else f"FAIL: {r.error}"
            x_xz = fmt(ratio(r.compressed, xz and xz.compressed))
            table.add([file if i == 0 else "", r.tool if r.ok else Cell(r.tool, f"{r.tool} FAIL"),
                       fmt_int(r.compressed),
                       fmt(8 * r.compressed / r.size) if r.compressed is not None and r.size else "-",
                       Cell(x_xz + " (> xz!)", x_xz) if bigger else x_xz,
                       *_against_xz(r, xz), fmt(r.warmup_s), status],
                      "bold red" if not r.ok else "yellow" if bigger else "cyan" if r.is_shoal else None)
    failed = [r for r in results if not r.ok]
    table.brief_notes += [f"FAIL: {r.tool} on {r.file}: {r.error}" for r in failed]
    if results and not failed:
        table.brief_notes.append(f"round trips: all {len(results)} verified byte for byte")
    warm = [r.warmup_s for r in results if r.warmup_s is not None]
    table.brief_notes.append("x xz: size / xz -9e's; --wide adds each speed's and peak RSS's x xz"
                             + (f", shoal's warm-up ({_span(warm)} s)" if warm else "")
                             + " and the round trip")
    return table


def _against_xz(r, xz) -> list[str]:
    """Compress and decompress MB/s and peak RSS, each followed by its ratio to xz -9e's."""
    cs, ds = mbps(r.size, r.comp_s), mbps(r.size, r.decomp_s)
    xcs, xds = (mbps(xz.size, xz.comp_s), mbps(xz.size, xz.decomp_s)) if xz else (None, None)
    return [fmt(cs), fmt(ratio(cs, xcs)), fmt(ds), fmt(ratio(ds, xds)),
            fmt(r.rss_mb), fmt(ratio(r.rss_mb, xz and xz.rss_mb))]


def larger_table(results) -> Table:
    """Where shoal is larger than xz -9e.  Without such a file the table has no rows and is printed
    as one line: none, or that xz -9e did not run."""
    flags = larger_than_xz(results)
    xz_ran = any(r.tool == XZ and r.ok for r in results)
    shoal_ran = any(r.is_shoal and r.ok for r in results)
    none = ("none: every shoal result is at most xz -9e's size" if xz_ran and shoal_ran
            else "not compared: xz -9e did not run" if shoal_ran else "not compared: no shoal level ran")
    return Table("shoal larger than xz -9e", ["file", "tool", "shoal bytes", "xz -9e bytes"],
                 [[f, t, f"{s:,}", f"{x:,}"] for f, t, s, x in flags],
                 notes=[] if flags else [none], numeric=NUMERIC)


# --------------------------------------------------------------------------- totals

def groups(files) -> list[tuple[str, list]]:
    """Named groups of files for the totals (files contained in another measured file left out)."""
    names = {f.name for f in files}
    counted = [f for f in files if CONTAINED_IN.get(f.name) not in names]
    text = [f for f in counted if f.text]
    out = []
    for folder in dict.fromkeys(f.folder for f in counted):
        members = [f for f in counted if f.folder == folder]
        out.append((f"{folder}/ all files", members))
        if any(f.text for f in members) and not all(f.text for f in members):
            out.append((f"{folder}/ text", [f for f in members if f.text]))
    cc_text = [f for f in text if f.folder in ("canterbury", "calgary")]
    if cc_text and len(cc_text) != len(text):
        out.append(("canterbury + calgary text", cc_text))
    if text:
        out.append(("text files, all folders", text))
    if len(counted) != len(text):
        out.append(("all files", counted))
    merged: dict[tuple, tuple[str, list]] = {}      # one row block per distinct set of files
    for name, members in out:
        key = tuple(f.name for f in members)
        merged[key] = (f"{merged[key][0]} = {name}", members) if key in merged else (name, members)
    return list(merged.values())


@dataclass
class Total:
    tool: str
    size: int
    compressed: int | None       # None: not every file has a result
    comp_s: float | None = None
    decomp_s: float | None = None
    rss_mb: float | None = None
    missing: int = 0


def total(results, members, tool: str) -> Total:
    by = by_file(results)
    rs = [by.get(f.name, {}).get(tool) for f in members]
    size = sum(f.size for f in members)
    done = [r for r in rs if r is not None and r.ok]
    if len(done) != len(members):
        return Total(tool, size, None, missing=len(members) - len(done))
    return Total(tool, size, sum(r.compressed for r in done), sum(r.comp_s for r in done),
                 sum(r.decomp_s for r in done), max(r.rss_mb or 0 for r in done))


def reference_total(members, label: str) -> Total:
    values = [f.reference.get(label) for f in members]
    size = sum(f.size for f in members)
    if any(v is None for v in values):
        return Total(f"{label} (from PEERS.md)", size, None, missing=sum(v is None for v in values))
    return Total(f"{label} (from PEERS.md)", size, sum(values))


def tools_in(results) -> list[str]:
    return list(dict.fromkeys(r.tool for r in results))


def totals_table(results, files) -> Table:
    columns = ["group", "files", "tool", "bytes", "bpb", "x xz", "comp MB/s", "x xz",
               "decomp MB/s", "x xz", "peak RSS MB", "x xz"]
    table = Table("Totals", columns, numeric=NUMERIC, brief=[0, 2, 3, 4, 5, 6, 7, 8, 9], grouped=True)
    references = [label for label in REFERENCE_COLUMNS if any(label in f.reference for f in files)]
    for name, members in groups(files):
        xz = total(results, members, XZ)
        xz = xz if xz.compressed is not None else None
        rows = [total(results, members, t) for t in tools_in(results)]
        rows += [reference_total(members, label) for label in references]
        for i, t in enumerate(rows):
            label = Cell(name, f"{name} ({len(members)} file{'s' * (len(members) > 1)})")
            tool = Cell(t.tool, t.tool.replace("(from PEERS.md)", "(ref.)"))
            head = [label if i == 0 else "", str(len(members)) if i == 0 else "", tool]
            if t.compressed is None:
                why = "not in PEERS.md" if "PEERS.md" in t.tool else "failed or missing"
                table.add(head + [Cell(f"n/a ({t.missing} {why})", "n/a")] + ["-"] * 8, "dim")
                continue
            table.add(head + [fmt_int(t.compressed), fmt(8 * t.compressed / t.size),
                              fmt(ratio(t.compressed, xz and xz.compressed)), *_against_xz(t, xz)],
                      "dim italic" if "PEERS.md" in t.tool else "cyan" if t.tool.startswith("shoal") else None)
    names = {f.name for f in files}
    table.notes += [f"{small} is left out of the totals: it is the start of {big}, also measured."
                    for small, big in CONTAINED_IN.items() if small in names and big in names]
    if references:
        table.notes.append("Rows '(from PEERS.md)' ('(ref.)' at 80 columns) are copied from the corpus's "
                           "PEERS.md, not measured in this run; their 'x xz' is against this run's xz -9e; "
                           "n/a: not every file of the group has a size.")
    table.brief_notes.append("x xz: size, MB/s / xz -9e's; --wide adds peak RSS and its x xz")
    return table


def _span(values: list[float]) -> str:
    low, high = fmt(min(values)), fmt(max(values))
    return low if low == high else f"{low}-{high}"

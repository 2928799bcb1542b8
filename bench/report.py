"""Turn bench Results into tables (per file, totals, goals), for rich and for Markdown.

Conventions of every table:
- bytes: compressed size; bpb: 8 * compressed / original (bits per byte).
- "x xz" next to a size: size / xz -9e's size (below 1 is smaller than xz);
  next to a speed: MB/s / xz -9e's MB/s (above 1 is faster than xz).
- MB is 10^6 bytes; MB/s is original bytes / seconds (median over repeats).
- Totals add sizes and times over the files of a group, only for tools that
  round-tripped every file of it.  PEERS.md's paq8px -8 and lpaq1 9 sizes are
  shown as reference rows: copied, not measured in this run.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .corpus import CONTAINED_IN, REFERENCE_COLUMNS, parse_peers

XZ = "xz -9e"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    styles: list[str | None] = field(default_factory=list)   # one per row (rich only)


# --------------------------------------------------------------------------- numbers

def mbps(size: int, seconds: float | None) -> float | None:
    return size / seconds / 1e6 if seconds else None


def fmt_int(n) -> str:
    return "-" if n is None else f"{n:,}"


def fmt(x, digits: int = 3) -> str:
    """Three significant digits, no scientific notation for ordinary values."""
    if x is None:
        return "-"
    if x == 0 or abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    return f"{x:.{max(0, digits - 1 - int(f'{abs(x):e}'.split('e')[1]))}f}"


def ratio(a, b) -> float | None:
    return a / b if a is not None and b else None


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
               "peak RSS MB", "warm-up s", "round trip"]
    table = Table("Per file", columns)
    for file, tools in by_file(results).items():
        xz = tools.get(XZ)
        xz = xz if xz is not None and xz.ok else None
        for i, r in enumerate(tools.values()):
            cs, ds = mbps(r.size, r.comp_s), mbps(r.size, r.decomp_s)
            bigger = r.is_shoal and r.ok and xz is not None and r.compressed > xz.compressed
            status = "ok" if r.ok else f"FAIL: {r.error}"
            table.rows.append([
                file if i == 0 else "", r.tool, fmt_int(r.compressed),
                fmt(8 * r.compressed / r.size) if r.compressed is not None and r.size else "-",
                fmt(ratio(r.compressed, xz.compressed if xz else None)) + (" (> xz!)" if bigger else ""),
                fmt(cs), fmt(ratio(cs, mbps(xz.size, xz.comp_s) if xz else None)),
                fmt(ds), fmt(ratio(ds, mbps(xz.size, xz.decomp_s) if xz else None)),
                fmt(r.rss_mb), fmt(r.warmup_s), status])
            table.styles.append("bold red" if not r.ok else "yellow" if bigger else
                                "cyan" if r.is_shoal else None)
    return table


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
               "decomp MB/s", "x xz", "peak RSS MB"]
    table = Table("Totals", columns)
    for name, members in groups(files):
        xz = total(results, members, XZ)
        rows = [total(results, members, t) for t in tools_in(results)]
        rows += [reference_total(members, label) for label in REFERENCE_COLUMNS]
        for i, t in enumerate(rows):
            head = [name if i == 0 else "", str(len(members)) if i == 0 else "", t.tool]
            if t.compressed is None:
                why = "not in PEERS.md" if "PEERS.md" in t.tool else "failed or missing"
                table.rows.append(head + [f"n/a ({t.missing} {why})"] + ["-"] * 7)
                table.styles.append("dim")
                continue
            cs, ds = mbps(t.size, t.comp_s), mbps(t.size, t.decomp_s)
            xcs, xds = mbps(xz.size, xz.comp_s), mbps(xz.size, xz.decomp_s)
            table.rows.append(head + [fmt_int(t.compressed), fmt(8 * t.compressed / t.size),
                                      fmt(ratio(t.compressed, xz.compressed)), fmt(cs), fmt(ratio(cs, xcs)),
                                      fmt(ds), fmt(ratio(ds, xds)), fmt(t.rss_mb)])
            table.styles.append("dim italic" if "PEERS.md" in t.tool else
                                "cyan" if t.tool.startswith("shoal") else None)
    names = {f.name for f in files}
    table.notes += [f"{small} is left out of the totals: it is the start of {big}, also measured."
                    for small, big in CONTAINED_IN.items() if small in names and big in names]
    table.notes.append("Rows '(from PEERS.md)' are copied from ../shared/corpus/PEERS.md, "
                       "not measured in this run; their 'x xz' is against this run's xz -9e.")
    return table


# --------------------------------------------------------------------------- goals

SPEED_FILES = ("enwik/enwik_4m", "large/")


def _goal_sizes(results, files, tool, members, label, bound, against=XZ) -> tuple[str, str]:
    if not members:
        return "not measured", f"no {label} in this run"
    mine = total(results, members, tool)
    if against == XZ:
        ref = total(results, members, XZ)
        name = XZ
    else:
        ref, name = reference_total(members, against), f"{against} (PEERS.md)"
    if mine.compressed is None or ref.compressed is None:
        return "not measured", f"{tool} or {name} missing on some of the {len(members)} files"
    r = mine.compressed / ref.compressed
    detail = (f"{tool} {mine.compressed:,} vs {name} {ref.compressed:,} = {r:.3f} "
              f"over {len(members)} {label}")
    return ("met" if r <= bound else "NOT met"), detail


def goals(results, files, threads_check: dict | None = None) -> Table:
    table = Table("Goals (issue 3)", ["goal", "result", "detail"])
    names = {f.name for f in files}
    counted = [f for f in files if CONTAINED_IN.get(f.name) not in names]
    text = [f for f in counted if f.text]
    cc_text = [f for f in text if f.folder in ("canterbury", "calgary")]
    tools = tools_in(results)

    def add(goal, result, detail):
        table.rows.append([goal, result, detail])
        table.styles.append("green" if result == "met" else "bold red" if result == "NOT met" else "dim")

    if "shoal -6" in tools:
        add("-6 >= 20% smaller than xz -9e over the text files",
            *_goal_sizes(results, files, "shoal -6", text, "text files", 0.80))
        bigger = [f"{f} ({s:,} > {x:,})" for f, t, s, x in larger_than_xz(results) if t == "shoal -6"]
        have_xz = any(r.tool == XZ for r in results)
        add("-6 not larger than xz -9e on any file",
            ("NOT met" if bigger else "met") if have_xz else "not measured",
            "; ".join(bigger) if bigger else f"checked on {len(files)} files" if have_xz else "xz not run")
        add(*_speed_goal(results))
        rss = [r.rss_mb for r in results if r.tool == "shoal -6" and r.ok]
        add("-6 peak RSS <= 1 GB (1000 MB)", ("met" if max(rss) <= 1000 else "NOT met") if rss else "not measured",
            f"largest peak RSS {max(rss):.0f} MB over {len(rss)} files" if rss else "")
    else:
        add("default level (-6) goals", "not measured",
            "run with --levels including 6" if results else "no files measured in this run")
    if "shoal -9" in tools:
        add("-9 within 5% of paq8px -8 over Canterbury + Calgary text",
            *_goal_sizes(results, files, "shoal -9", cc_text, "Canterbury + Calgary text files", 1.05,
                         against="paq8px -8"))
    else:
        add("-9 within 5% of paq8px -8", "not measured",
            "run with --levels including 9" if results else "no files measured in this run")
    add(*_threads_goal(threads_check))
    evaluation = list(parse_peers())
    missing = [n for n in evaluation if n not in names]
    if results and missing:
        table.notes.append(f"partial run: {len(evaluation) - len(missing)} of {len(evaluation)} evaluation "
                           "files measured; each goal is computed over the files this run measured")
    return table


def _speed_goal(results) -> tuple[str, str, str]:
    goal = "-6 >= 1 MB/s compress and decompress, 1 thread, on enwik_4m and large/"
    rs = [r for r in results if r.tool == "shoal -6" and r.ok and r.file.startswith(SPEED_FILES)]
    if not rs:
        return goal, "not measured", "enwik/enwik_4m and large/ not in this run"
    if any(r.extra.get("threads", 1) != 1 for r in rs):
        return goal, "not measured", "this run used --threads > 1"
    slow = [r for r in rs if min(mbps(r.size, r.comp_s), mbps(r.size, r.decomp_s)) < 1.0]
    detail = "; ".join(f"{r.file} {mbps(r.size, r.comp_s):.2f}/{mbps(r.size, r.decomp_s):.2f}" for r in rs)
    return goal, "NOT met" if slow else "met", f"comp/decomp MB/s: {detail}"


def _threads_goal(check: dict | None) -> tuple[str, str, str]:
    goal = "-T 2 >= 1.7x faster than -T 1 on a multi-block file"
    if not check:
        return goal, "not measured", "run with --threads-check FILE"
    if check.get("error"):
        return goal, "not measured", check["error"]
    speedup = check["speedup_comp"]
    detail = (f"{check['file']}, -B {check['block_size']:,} ({check['blocks']} blocks): compress "
              f"{speedup:.2f}x, decompress {check['speedup_decomp']:.2f}x, "
              f"identical output: {check['identical']}")
    return goal, "met" if speedup >= 1.7 and check["identical"] else "NOT met", detail


# --------------------------------------------------------------------------- rendering

def to_rich(table: Table):
    from rich.table import Table as RichTable
    numeric = {"bytes", "bpb", "x xz", "comp MB/s", "decomp MB/s", "peak RSS MB", "warm-up s", "files"}
    out = RichTable(title=table.title, title_justify="left", caption="\n".join(table.notes) or None,
                    caption_justify="left")
    for column in table.columns:
        out.add_column(column, justify="right" if column in numeric else "left", overflow="fold",
                       no_wrap=column in numeric, min_width=12 if column in ("file", "tool", "group") else None)
    for i, row in enumerate(table.rows):
        out.add_row(*row, style=table.styles[i] if i < len(table.styles) else None)
    return out


def to_markdown(table: Table) -> str:
    numeric = {"bytes", "bpb", "x xz", "comp MB/s", "decomp MB/s", "peak RSS MB", "warm-up s", "files"}
    lines = [f"### {table.title}", "", "| " + " | ".join(table.columns) + " |",
             "| " + " | ".join("---:" if c in numeric else "---" for c in table.columns) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table.rows]
    lines += [""] + [f"- {note}" for note in table.notes]
    return "\n".join(lines).rstrip() + "\n"

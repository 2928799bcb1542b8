"""Tables of the tools (score, bench): one plain structure, three renderings.

A Table holds rows of already formatted strings; to_rich draws it on a
terminal, to_markdown writes it for docs, to_csv for spreadsheets.  Columns
named in Table.numeric are right-aligned.  The number formats used across
the tools live here too, so that every table writes a figure the same way.

On a terminal a table fits 80 columns unless asked for all of them (the
tools' --wide): Table.brief names the columns shown by default, and a
grouped table (column 0 names the file or group its rows belong to, blank
on the rows after the first) shows that name on a row of its own above its
rows instead of in a column.  Markdown and CSV always have every column.
A table without rows is printed as its title and notes, never as an empty
grid.
"""
from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field

from .atomic import write_bytes


class Cell(str):
    """A cell that reads differently in the brief (80-column) rendering:
    Cell("1.05 (> xz!)", brief="1.05").  Markdown and CSV write the full text."""

    def __new__(cls, text: str, brief: str):
        cell = super().__new__(cls, text)
        cell.brief = brief
        return cell


def brief_text(cell: str) -> str:
    return getattr(cell, "brief", cell)


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    styles: list[str | None] = field(default_factory=list)   # one per row (rich only)
    numeric: set[str] = field(default_factory=set)            # right-aligned columns
    brief: list[int] | None = None      # the columns shown by default on a terminal (None: all)
    grouped: bool = False               # column 0 names a group of rows: a heading row when brief
    brief_notes: list[str] = field(default_factory=list)     # notes for the brief rendering only

    def shown(self, wide: bool) -> list[int]:
        return list(range(len(self.columns))) if wide or self.brief is None else self.brief

    def add(self, row: list[str], style: str | None = None) -> None:
        self.rows.append(row)
        self.styles.append(style)


# -- numbers -------------------------------------------------------------------

def fmt(x, digits: int = 3) -> str:
    """`digits` significant digits, without scientific notation; '-' for None."""
    if x is None:
        return "-"
    if x == 0 or abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    return f"{x:.{max(0, digits - 1 - int(f'{abs(x):e}'.split('e')[1]))}f}"


def fmt_int(n) -> str:
    return "-" if n is None else f"{n:,}"


def ratio(a, b) -> float | None:
    """a / b, or None when either is missing (or b is 0)."""
    return a / b if a is not None and b else None


def mbps(size: int, seconds: float | None) -> float | None:
    """Speed in MB/s (10^6 bytes per second)."""
    return size / seconds / 1e6 if seconds else None


# -- renderings ------------------------------------------------------------------

WIDTH = 80                  # the terminal width every table fits by default
WIDE_WIDTH = 200            # a pipe's width with --wide (whole rows)
NAME_COLUMNS = ("file", "tool", "group", "model")
UNITS = ("MB/s", "MB", "s", "bytes", "bpb")    # a brief header's unit goes on a line of its own


def to_rich(table: Table, wide: bool = False):
    """The table for a terminal: its brief columns (see the module's doc), or all of them when wide.
    A rich Table, or with brief columns a Group of the title, the table and the notes."""
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text
    brief = table.brief is not None and not wide
    notes = table.notes + (table.brief_notes if brief else [])
    if not table.rows:
        return Text(f"{table.title}: " + "\n".join(notes or ["none"]))
    shown = table.shown(wide)
    rows = [[row[j] if wide else brief_text(row[j]) for j in shown] for row in table.rows]
    styles = [table.styles[i] if i < len(table.styles) else None for i in range(len(rows))]
    names = [table.columns[j] for j in shown]
    heading = brief and table.grouped and shown[0] == 0 and len(shown) > 1
    least = {n: 12 for n, column in enumerate(names) if column in NAME_COLUMNS and not brief}
    if heading:          # the group's name on a row of its own, its rows indented below it
        names = [f"{names[0]}, {names[1]}", *names[2:]]
        least = {0: 2 + max(len(row[1]) for row in rows)}
        grouped, group_styles = [], []
        for row, style in zip(rows, styles):
            if row[0]:
                grouped.append([row[0]] + [""] * (len(names) - 1))
                group_styles.append("bold")
            grouped.append(["  " + row[1], *row[2:]])
            group_styles.append(style)
        rows, styles = grouped, group_styles
    out = RichTable(title=None if brief else table.title, title_justify="left", box=box.SIMPLE_HEAD,
                    show_edge=False, collapse_padding=True,
                    caption=None if brief else "\n".join(notes) or None, caption_justify="left")
    for n, column in enumerate(names):
        numeric = column in table.numeric
        header = column
        words = column.rsplit(" ", 1)
        if brief and numeric and words[-1] in UNITS and len(column) > max(len(r[n]) for r in rows):
            header = "\n".join(words)                              # "comp MB/s" on two lines
        out.add_column(header, justify="right" if numeric else "left", overflow="fold",
                       min_width=least.get(n), no_wrap=numeric)
    for row, style in zip(rows, styles):
        out.add_row(*row, style=style)
    if brief:                  # the title and notes as wide as the terminal, not the table
        from rich.console import Group
        return Group(Text(table.title, style="table.title"), out, *([Text("\n".join(notes))] if notes else []))
    return out


def split_columns(table: Table, keep: int = 1, what: str = "columns", width: int = WIDTH) -> list[Table]:
    """A table too wide for `width` columns as several: each keeps the first `keep` columns and takes
    about as many of the others as the rest, as few tables as fit (a single column too wide for the
    width gets a table of its own, which wraps its text).  Every part is brief (to_rich draws its
    title and notes at the terminal's width); the notes go with the last."""

    def cells(i):
        return max(len(table.columns[i]), *(len(row[i]) for row in table.rows)) + 2
    room, rest = width - sum(cells(i) for i in range(keep)), list(range(keep, len(table.columns)))
    chunks = [rest]
    for parts in range(1, len(rest) + 1):
        size = -(-len(rest) // parts)
        chunks = [rest[k:k + size] for k in range(0, len(rest), size)]
        if all(sum(map(cells, chunk)) <= room for chunk in chunks):
            break
    out, first = [], 1
    for n, chunk in enumerate(chunks):
        last = first + len(chunk) - 1
        title = table.title if len(chunks) == 1 else \
            f"{table.title}, {what} {first}{f'-{last}' * (last > first)} of {len(rest)}"
        columns = list(range(keep)) + chunk
        out.append(Table(title, [table.columns[i] for i in columns],
                         [[row[i] for i in columns] for row in table.rows],
                         notes=table.notes if n == len(chunks) - 1 else [], styles=list(table.styles),
                         numeric=table.numeric, brief=list(range(len(columns)))))
        first = last + 1
    return out


def to_markdown(table: Table) -> str:
    if not table.rows:
        return "\n".join([f"### {table.title}", ""] + (table.notes or ["none"])) + "\n"
    lines = [f"### {table.title}", "", "| " + " | ".join(table.columns) + " |",
             "| " + " | ".join("---:" if c in table.numeric else "---" for c in table.columns) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table.rows]
    lines += [""] + [f"- {note}" for note in table.notes]
    return "\n".join(lines).rstrip() + "\n"


def to_csv(columns: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def console(wide: bool = True, **kwargs):
    """A rich Console for stdout: the terminal's width, at most WIDTH (80 columns) unless wide; in a
    pipe or file WIDTH, or wide enough for whole rows when wide (the default of the tools without
    --wide)."""
    from rich.console import Console
    if not sys.stdout.isatty():
        return Console(width=WIDE_WIDTH if wide else WIDTH, **kwargs)
    out = Console(**kwargs)
    if not wide:
        out.width = min(out.width, WIDTH)
    return out


def write_text(path: str, text: str) -> None:
    """Write an output file (atomically: whole or not at all), or standard output when path is '-'."""
    if path == "-":
        sys.stdout.write(text)
    else:
        write_bytes(path, text.encode("utf-8"))

"""Tables of the tools (score, bench): one plain structure, three renderings.

A Table holds rows of already formatted strings; to_rich draws it on a
terminal, to_markdown writes it for docs, to_csv for spreadsheets.  Columns
named in Table.numeric are right-aligned.  The number formats used across
the tools live here too, so that every table writes a figure the same way.
"""
from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    styles: list[str | None] = field(default_factory=list)   # one per row (rich only)
    numeric: set[str] = field(default_factory=set)            # right-aligned columns

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

def to_rich(table: Table):
    from rich.table import Table as RichTable
    out = RichTable(title=table.title, title_justify="left", caption="\n".join(table.notes) or None,
                    caption_justify="left")
    for column in table.columns:
        wide = column in ("file", "tool", "group", "model")
        out.add_column(column, justify="right" if column in table.numeric else "left", overflow="fold",
                       no_wrap=column in table.numeric, min_width=12 if wide else None)
    for i, row in enumerate(table.rows):
        out.add_row(*row, style=table.styles[i] if i < len(table.styles) else None)
    return out


def to_markdown(table: Table) -> str:
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


def console(**kwargs):
    """A rich Console for stdout: the terminal's width, or wide enough for whole rows in a pipe or file."""
    from rich.console import Console
    return Console(width=None if sys.stdout.isatty() else 200, **kwargs)


def write_text(path: str, text: str) -> None:
    """Write an output file, or standard output when path is '-'."""
    if path == "-":
        sys.stdout.write(text)
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

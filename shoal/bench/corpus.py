"""Which files to measure, which of them are text, and what PEERS.md says about them.

Files are labelled folder/name (canterbury/alice29.txt).  A corpus folder's
parent may hold a PEERS.md, as ../shared/corpus does: its per-file tables
give each file's "text" column and the sizes strong compressors reached
(paq8px -8 and lpaq1 9 among them).  The bench reads both so that it can
(a) total the text files exactly as PEERS.md does and (b) show the strong
compressors it does not run itself.  A file that no PEERS.md lists is
guessed to be text or binary from its bytes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .. import inputs

# A file left out of totals when its superset is measured in the same run
# (PEERS.md: enwik_1m is the first 1,000,000 bytes of enwik_4m).
CONTAINED_IN = {"enwik/enwik_1m": "enwik/enwik_4m"}

# Reference columns of PEERS.md shown in the totals (not run by the bench).
REFERENCE_COLUMNS = {"paq8px -8": "paq8px v216 -8", "lpaq1 9": "lpaq1 9"}


@dataclass
class InputFile:
    path: Path
    name: str          # label, e.g. "canterbury/grammar.lsp"
    folder: str        # e.g. "canterbury" (the parent folder's name)
    size: int
    text: bool
    text_source: str   # "PEERS.md" or "guessed"
    reference: dict = field(default_factory=dict)   # PEERS.md column -> bytes


def _number(cell: str) -> int | None:
    """'33,360 (measured here: 33,357)' -> 33360; '-', 'not run' -> None."""
    match = re.match(r"\**\s*([\d,]+)", cell.strip())
    return int(match.group(1).replace(",", "")) if match else None


@lru_cache(maxsize=8)
def parse_peers(path: Path) -> dict[str, dict]:
    """Per-file rows of PEERS.md's size tables: {"canterbury/x": {"text": bool, column: int|None}}."""
    rows: dict[str, dict] = {}
    if not path.is_file():
        return rows
    folder, header = None, None
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^###\s+(\w+)/\s*$", line)        # "### canterbury/" (sizes)
        if heading:
            folder, header = heading.group(1), None
            continue
        if line.startswith("## ") or line.startswith("### "):
            folder, header = None, None                      # other sections (timings, ...)
            continue
        if folder is None or not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "file":
            header = cells
        elif header and cells[0].startswith("`"):
            row = {"text": cells[1] == "text"}
            for column, cell in zip(header[2:], cells[2:]):
                row[column] = _number(cell)
            rows[f"{folder}/{cells[0].strip('`')}"] = row
    return rows


def looks_like_text(path: Path) -> bool:
    """Guess for files PEERS.md does not list: no NUL bytes, >= 95% printable/whitespace."""
    head = inputs.read(path, 65536)
    if b"\0" in head:
        return False
    printable = sum(b >= 32 or b in (9, 10, 13) for b in head)
    return printable >= 0.95 * len(head)


def collect(args: list[str], peers: dict[str, dict] | None = None) -> tuple[list[InputFile], list[str]]:
    """FILES and DIRS as InputFiles (and notes on skipped files).  `peers` replaces the
    PEERS.md found beside each file's folder (tests pass {} for none)."""
    paths, notes = inputs.expand(args)
    files = []
    for path in paths:
        name, folder = f"{path.parent.name}/{path.name}", path.parent.name
        table = parse_peers(path.resolve().parent.parent / "PEERS.md") if peers is None else peers
        row = table.get(name)
        if row is not None:
            text, source = row["text"], "PEERS.md"
            reference = {k: row.get(col) for k, col in REFERENCE_COLUMNS.items()}
            reference["xz -9e"] = row.get("xz -9e")
        else:
            text, source, reference = looks_like_text(path), "guessed", {}
        files.append(InputFile(path, name, folder, path.stat().st_size, text, source, reference))
    return files, notes

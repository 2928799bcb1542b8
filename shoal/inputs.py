"""The input files of the tools: FILE and DIR arguments of `shoal score` and
`shoal bench` expanded into a list of files, with one clear error for each
way an argument can be wrong.

    files, notes = inputs.expand(["corpus/canterbury", "notes.txt"])

A directory stands for the regular files directly inside it, in name order
(not its subdirectories, not hidden files).  Bits per byte are undefined on
an empty file, so an empty FILE named on the command line is an error, and
empty files inside a directory are skipped with a note.
"""
from __future__ import annotations

from pathlib import Path

from .errors import ShoalError

EMPTY = "empty file: bits per byte are undefined (0 bits over 0 bytes)"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as error:
        raise ShoalError(f"{path}: {error.strerror.lower()}") from None


def _directory(folder: Path, notes: list[str]) -> list[Path]:
    try:
        entries = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    except OSError as error:
        raise ShoalError(f"{folder}: cannot list directory: {error.strerror.lower()}") from None
    files = [p for p in entries if _size(p) > 0]
    if len(files) < len(entries):
        notes.append(f"{folder}: skipped {len(entries) - len(files)} empty file(s) "
                     f"({', '.join(p.name for p in entries if p not in files)}): bits per byte are undefined")
    if not files:
        raise ShoalError(f"{folder}: directory has no files to measure" +
                         (" (only empty ones)" if entries else ""))
    return files


def expand(args: list[str]) -> tuple[list[Path], list[str]]:
    """The files that FILE|DIR arguments stand for, and notes on what was skipped."""
    if not args:
        raise ShoalError("no input files given")
    files: list[Path] = []
    notes: list[str] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            files += _directory(path, notes)
        elif path.is_file():
            if _size(path) == 0:
                raise ShoalError(f"{path}: {EMPTY}")
            files.append(path)
        elif path.exists():
            raise ShoalError(f"{path}: not a regular file or directory")
        else:
            raise ShoalError(f"{path}: no such file or directory")
    return list(dict.fromkeys(files)), notes


def read(path: Path, max_bytes: int | None = None) -> bytes:
    """The first max_bytes (all when None) of a file, as bytes."""
    try:
        with open(path, "rb") as f:
            return f.read(-1 if max_bytes is None else max_bytes)
    except OSError as error:
        raise ShoalError(f"{path}: cannot read: {error.strerror.lower()}") from None

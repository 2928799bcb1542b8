"""The samples `shoal learn` learns from: read, cut into pieces, split three ways.

A sample file longer than PIECE bytes is cut into pieces of about PIECE
bytes at line ends (a log, a CSV), so that a few large samples still give
pieces to learn from and pieces to judge on; a smaller file is one piece.
Each piece goes, by a hash of its file's name (and its place in the file),
to one of three parts:

    learn   what a primer is chosen from
    tune    what primers and presets are judged on (by coded size)
    check   held back from every choice: the gain `shoal learn` reports

so the reported gain is measured on pieces nothing was chosen on.  The
split depends on names only, not on the order files are given in.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ShoalError

PIECE = 16 << 10
MAX_BYTES = 64 << 20           # samples read at most; the rest is left out (and said so)
TUNE_SHARE, CHECK_SHARE = 15, 15     # percent of pieces in each


@dataclass
class Samples:
    learn: list[bytes]
    tune: list[bytes]
    check: list[bytes]
    files: int                  # sample files read
    skipped: int                # files left out (empty, unreadable or over MAX_BYTES)

    def all(self) -> list[bytes]:
        return self.learn + self.tune + self.check


def files_in(paths) -> list[Path]:
    """Every regular file named, and every one under the folders named (sorted)."""
    found = []
    for given in map(Path, paths):
        if given.is_dir():
            found += sorted(p for p in given.rglob("*") if p.is_file() and not p.is_symlink())
        elif given.is_file():
            found.append(given)
        else:
            raise ShoalError(f"{given}: no such file or folder")
    return found


def cut(data: bytes, piece: int = PIECE) -> list[bytes]:
    """data in pieces of about `piece` bytes, cut after a line end where one
    is near (else at `piece` bytes)."""
    out, start = [], 0
    while len(data) - start > piece:
        end = data.rfind(b"\n", start + piece // 2, start + piece) + 1 or start + piece
        out.append(data[start:end])
        start = end
    out.append(data[start:])
    return out


def _part(name: str) -> str:
    h = int.from_bytes(hashlib.blake2b(name.encode("utf-8", "surrogateescape"), digest_size=8).digest(), "little")
    share = h % 100
    return "tune" if share < TUNE_SHARE else "check" if share < TUNE_SHARE + CHECK_SHARE else "learn"


def read(paths) -> Samples:
    """Read and split the samples; a ShoalError if there are too few to learn from."""
    parts = {"learn": [], "tune": [], "check": []}
    total = files = skipped = 0
    for path in sorted(set(files_in(paths))):        # one order, whatever order they are given in
        try:
            data = path.read_bytes()
        except OSError:
            skipped += 1
            continue
        if not data or total + len(data) > MAX_BYTES:
            skipped += 1
            continue
        total += len(data)
        files += 1
        for i, piece in enumerate(cut(data)):
            parts[_part(f"{os.fsdecode(path.name)}#{i}")].append(piece)
    pieces = [p for part in parts.values() for p in part]
    if len(pieces) < 3:
        raise ShoalError(f"too few samples to learn from: {files} file(s), {len(pieces)} piece(s); give at least "
                         "three files, or files of more than 32 KiB")
    # too few pieces for the hash to fill every part: move one piece each way
    for part in ("tune", "check", "learn"):
        if not parts[part]:
            donor = max(parts, key=lambda k: len(parts[k]))
            parts[part].append(parts[donor].pop())
    return Samples(parts["learn"], parts["tune"], parts["check"], files, skipped)

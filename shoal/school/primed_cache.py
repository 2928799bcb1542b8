"""Primed schools kept on disk, so a new process starts a large block without reading the primer.

A school whose primer grows (primer.grows: school files) starts every large
block from the school its whole primer left, up to 512 KiB of primer read as
if coded: about a second of work that each new process (each `shoal -D`
run) would repeat, and 30-130 MB that a process would keep to avoid it.
Instead the first process to read it writes that school's arrays to a file
beside the compiled code (jit.cache_dir(), which is named by the engine's
sources, so a changed engine never reads a stale school), and later blocks
read the file (from the page cache, once it has been read) into the arrays
they code with: a large block then costs a copy of its tables in time and
no memory beyond them.  Copied, not coded in place: mapped pages cost a
fault each and come without the huge pages NumPy asks for, which made coding
30% slower (the file is mapped only to be copied from: load).

A school is kept grown to the tables of the block that used it (engine.grow),
one file for each fit of tables (a block of 1-2 MB, 2-4 MB, ...; 124 MB for
a school of level 6), so that a block reads its tables and allocates no
more than a block of level 6 does.

The schools a process keeps in memory (kept.py: the levels' primed schools,
fitted to primer and block, up to 805 MB at level 9; --neural's in lanes)
are kept here too: a new process (each `shoal -9` run) reads level 9's
from the page cache in about 0.3 s instead of reading its primer for 5 s.
Writing one costs its first reader about 1.4 s (805 MB).  The folder keeps
at most KEEP bytes: the schools used longest ago go first.

A school's large tables are mostly zeros (level 6's grown school: 85% of
its 8-byte words; a slot is found by a hash, so the zeros are spread over
every page).  So the grown school of a large block keeps each array of
SPARSE_FROM bytes or more **sparse**: in groups of GROUP words, each a
count, a bitmap of the words that are not zero and those words.  Level
6's 124 MB file is then 21 MB: reading it copies a sixth of the bytes from
the page cache, and a group is expanded (_expand) into its place in the
school's arrays while they are in the caches (python's large file: 25 ms
a block, 30 ms whole).  The zeros are written too, so a fresh array need
not be zeroed.  The schools kept.py keeps are kept whole: level 9's, read
sparse (135 MB) into the arrays it keeps, took 0.6-1.8 s against 0.3 s.

The file holds only arrays.  Their nesting (engine.Block's named tuples)
comes from a school opened afresh for the same preset and size, whose
arrays must match the file's in number, type and shape, or the file is
ignored (and rewritten).  The file's name is a digest of everything the
school depends on: the preset's digest (its primer's too), its fish and
settings, the primer's length and the fits of its tables and the block's.  Files are written
whole or not at all (a temporary file renamed), each array with a checksum
that reading checks, and any error reading or writing one (a damaged file
too) only means the primer is read as before.
"""
from __future__ import annotations

import functools
import hashlib
import mmap
import os
import shutil
import struct
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

MAGIC = b"shoal-primed-3\0\0"      # -2: every array whole, -1: no checksums (ignored, rewritten)
ALIGN = 4096                        # each array starts on a page
LARGEST = 1 << 30                   # a school larger than this is not kept (level 9's: 805 MB)
KEEP = 4 << 30                      # the folder's bytes: past this, the schools used longest ago go
# dtype, element count, offset in the file, bytes there, their checksum, how kept (WHOLE or SPARSE)
_ENTRY = struct.Struct("<8sQQQQQ")
WHOLE, SPARSE = 0, 1
SPARSE_FROM = 1 << 20                # bytes of an array (a multiple of 8) from which it is kept sparse
GROUP = 1 << 18                      # words of a sparse array in one group (2 MiB)
_CHUNK = 2 << 20                     # bytes copied and checksummed at a time (load)
# the lowest bit set in each byte value (8 for none)
_LOWEST_BIT = np.array([(b & -b).bit_length() - 1 if b else 8 for b in range(256)], dtype=np.int64)


def arrays(part):
    """The arrays of a nested tuple, in order."""
    if isinstance(part, tuple):
        for p in part:
            yield from arrays(p)
    elif isinstance(part, np.ndarray):
        yield part


def _raw(a: np.ndarray) -> np.ndarray:
    """A contiguous array's bytes as a flat uint8 array (the same memory)."""
    return np.frombuffer(memoryview(a.reshape(-1)).cast("B"), dtype=np.uint8) if a.nbytes else np.zeros(0, np.uint8)


def _copy_checked(chunks, dst: np.ndarray | None) -> int:
    """A 64-bit checksum of the bytes of `chunks` (uint8 arrays, in order,
    each but the last a multiple of 8 bytes), copied into dst when given:
    each chunk is summed while the copy has just put it in the CPU's
    caches.  At memory speed (two reductions over 8-byte words, level 9's
    805 MB in about 0.15 s): a file damaged on disk must not become a
    school that codes archives other machines cannot decode.  Against
    damage, not against an attacker (the folder is the user's own)."""
    total = mixed = at = 0
    tail = b""
    for part in chunks:
        if dst is not None:
            np.copyto(dst[at:at + part.size], part)
            part = dst[at:at + part.size]
        at += part.size
        whole = part.size // 8 * 8
        words = part[:whole].view(np.uint64)
        total += int(np.add.reduce(words, dtype=np.uint64))
        mixed ^= int(np.bitwise_xor.reduce(words))
        tail = part[whole:].tobytes()
    total &= 0xFFFF_FFFF_FFFF_FFFF
    return (total * 0x9E3779B97F4A7C15 + mixed + zlib.crc32(tail)) & 0xFFFF_FFFF_FFFF_FFFF


def _sparse(array: np.ndarray):
    """An array kept sparse: for each GROUP of its 8-byte words, the count
    of words that are not zero (uint64), a bitmap of them (bit j of byte b:
    word 8b + j of the group; padded to whole words) and those words, as
    uint8 arrays in that order."""
    words = _raw(array).view(np.uint64)
    for start in range(0, words.size, GROUP):
        group = words[start:start + GROUP]
        kept = group != 0
        bitmap = np.zeros(-(-group.size // 64) * 8, dtype=np.uint8)
        packed = np.packbits(kept, bitorder="little")
        bitmap[:packed.size] = packed
        values = group[kept]
        yield np.array([values.size], dtype=np.uint64).view(np.uint8)
        yield bitmap
        yield values.view(np.uint8)


def _read_sparse(f, array: np.ndarray):
    """Read an array kept sparse (_sparse) from f's position into `array`,
    a group at a time, yielding what was read (for its checksum).  Raises
    ValueError where the file does not agree with itself."""
    words = _raw(array).view(np.uint64)
    values = np.empty(GROUP * 8, dtype=np.uint8)
    bitmap = np.empty(GROUP // 8, dtype=np.uint8)
    count = np.empty(8, dtype=np.uint8)
    for start in range(0, words.size, GROUP):
        group = words[start:start + GROUP]
        _read_exactly(f, count)
        n = int(count.view(np.uint64)[0])
        if n > group.size:
            raise ValueError("more words than the group has")
        bits, got = bitmap[:-(-group.size // 64) * 8], values[:8 * n]
        _read_exactly(f, bits)
        _read_exactly(f, got)
        if _expand(bits, got.view(np.uint64), group) != n:
            raise ValueError("a bitmap that does not match its count")
        yield count
        yield bits
        yield got


def _read_exactly(f, into: np.ndarray) -> None:
    if into.size and f.readinto(memoryview(into)) != into.size:
        raise ValueError("the file ends early")


def _expand(bitmap, values, out):
    """out (a group's words) from its bitmap and the words not zero: how
    many of them it took, or -1 where they do not agree (the bitmap names
    a word past the group's end, or more words than there are)."""
    return _expand_compiled()(bitmap, values, out)


@functools.cache
def _expand_compiled():
    # compiled on first use: Numba loads with the engine (shoal/jit.py)
    from ..jit import njit

    @njit(cache=True, nogil=True)
    def expand(bitmap, values, out):
        out[:] = 0
        k = 0
        for b in range(bitmap.size):
            m = np.int64(bitmap[b])
            while m:
                i = b * 8 + _LOWEST_BIT[m]
                if i >= out.size or k >= values.size:
                    return -1
                out[i] = values[k]
                k += 1
                m &= m - 1
        return k
    return expand


def _mapped(f, offset: int, nbytes: int):
    """The file's bytes offset .. offset + nbytes, _CHUNK at a time, each a
    view of a map of its own, unmapped when the next is asked for: a
    process never holds more than a chunk of the file's pages mapped (its
    resident memory counts mapped pages as its own)."""
    grain = mmap.ALLOCATIONGRANULARITY
    for start in range(offset, offset + nbytes, _CHUNK):
        length = min(_CHUNK, offset + nbytes - start)
        at = start // grain * grain
        with mmap.mmap(f.fileno(), start - at + length, offset=at, access=mmap.ACCESS_READ) as window:
            view = np.frombuffer(window, dtype=np.uint8)[start - at:]
            yield view
            del view                    # a map closes only once nothing views it


def path_for(key: tuple) -> Path | None:
    """Where the school for `key` is kept, or None without a cache folder."""
    from .. import jit
    try:
        folder = Path(jit.cache_dir()) / "primed"
    except RuntimeError:
        return None
    name = hashlib.blake2b(repr((key, sys.byteorder)).encode(), digest_size=16).hexdigest()
    return folder / f"{name}.primed"


def kept_on_disk(key: tuple) -> bool:
    """Whether a school is kept on disk for `key` (load may still refuse it)."""
    path = path_for(key)
    return path is not None and path.is_file()


def save(key: tuple, block, sparse: bool = False) -> bool:
    """Keep the school `block` for `key` on disk; whether it was kept.
    sparse: its large arrays kept sparse (see the top of this file)."""
    path = path_for(key)
    kept = [np.ascontiguousarray(a) for a in arrays(block)]
    if path is None or sum(a.nbytes for a in kept) > LARGEST:
        return False
    header = MAGIC + struct.pack("<Q", len(kept))
    start = -(-(len(header) + _ENTRY.size * len(kept)) // ALIGN) * ALIGN
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as out:
            try:
                entries, offset = [], start
                for a in kept:          # each array, then (knowing where each went) the header
                    how = SPARSE if sparse and a.nbytes >= SPARSE_FROM and a.nbytes % 8 == 0 else WHOLE
                    out.seek(offset)
                    check = _copy_checked(_written(out, _sparse(a) if how == SPARSE else [_raw(a)]), None)
                    stored = out.tell() - offset
                    entries.append(_ENTRY.pack(a.dtype.str.encode(), a.size, offset, stored, check, how))
                    offset += -(-stored // ALIGN) * ALIGN
                out.seek(0)
                out.write(header + b"".join(entries))
                out.truncate(offset)
            except BaseException:
                os.unlink(out.name)
                raise
        os.replace(out.name, path)
    except OSError:
        return False
    _prune(path.parent)
    return True


def _written(out, parts):
    """Each of `parts` (uint8 arrays), written to `out` as it passes."""
    for part in parts:
        out.write(memoryview(part))
        yield part


def _prune(folder: Path) -> None:
    """Remove the kept schools used longest ago until the rest fit in KEEP,
    and those kept for other sources (the folders of other engines' compiled
    code, which this engine never reads: an upgrade's schools go at its
    first write, not after jit's 30 days)."""
    for other in folder.parent.parent.glob("numba-*/primed"):
        if other != folder:
            shutil.rmtree(other, ignore_errors=True)
    try:
        found = sorted(((p.stat(), p) for p in folder.glob("*.primed")), key=lambda f: f[0].st_mtime, reverse=True)
        total = 0
        for info, path in found:
            total += info.st_size
            if total > KEEP:
                path.unlink(missing_ok=True)
    except OSError:
        pass


def load(key: tuple, fresh):
    """The school kept for `key`, read into the arrays of `fresh` (a school
    opened afresh for the same preset and size, whose nesting it keeps):
    fresh, now the kept school, to code with; None if none is kept or the
    file does not match (fresh is then spoilt).

    A sparse array is read a group at a time and expanded into its
    place (_read_sparse).  Any other is mapped and copied from, a chunk at
    a time (_mapped), not read: level
    6's 117 MB copied and checked in about 30 ms here, against 45 ms
    through read() (the kernel's copy, 4 KB at a time, then the checksum
    over memory).  The file's size is checked first; files are only ever
    replaced whole (save), never shortened under a map."""
    path = path_for(key)
    if path is None:
        return None
    wanted = list(arrays(fresh))
    try:
        with open(path, "rb") as f:
            head = f.read(len(MAGIC) + 8)
            if len(head) < len(MAGIC) + 8 or head[:len(MAGIC)] != MAGIC:
                return None
            count = struct.unpack("<Q", head[len(MAGIC):])[0]
            if count != len(wanted):
                return None
            entries = [_ENTRY.unpack(f.read(_ENTRY.size)) for _ in range(count)]
            size = os.fstat(f.fileno()).st_size
            for (dtype, items, offset, nbytes, _, how), array in zip(entries, wanted):
                if (dtype.rstrip(b"\0").decode() != array.dtype.str or items != array.size
                        or not array.flags.c_contiguous or offset + nbytes > size
                        or how not in (WHOLE, SPARSE) or (how == WHOLE and nbytes != array.nbytes)
                        or (how == SPARSE and array.nbytes % 8)):
                    return None
            for (_, _, offset, nbytes, check, how), array in zip(entries, wanted):
                if how == SPARSE:
                    f.seek(offset)
                    read = _copy_checked(_read_sparse(f, array), None)
                    if f.tell() != offset + nbytes:
                        return None
                else:
                    read = _copy_checked(_mapped(f, offset, nbytes), _raw(array))
                if read != check:
                    return None
        os.utime(path)                      # used: pruned last
    except (OSError, ValueError, struct.error, BufferError):
        return None
    return fresh

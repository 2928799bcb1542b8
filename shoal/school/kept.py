"""Schools a primer left, kept in memory to be copied for each block.

    snapshot = kept(key, read)      # read() the first time, then the kept one
    school = snapshot.copy()        # a working copy for one block
    snapshot.done(school)           # the block is done with it
"""
import mmap
import os
import threading

import numpy as np

from . import primed_cache

# A primed school (levels 8, 9) reads up to 512 KiB of primer before each
# block: seconds of work, whatever the block's size.  What it learnt depends
# on the block only through the tables' fit (engine.read_primer), so the
# school as the primer left it is kept (Snapshot), one at a time, and each
# block of that fit starts from a copy.  Only for fits up to PRIMED_COPY_FIT
# (at most 1 MiB with the primer: level 9's blocks up to 512 KiB): a larger
# school costs more memory to keep than its reading costs time beside its
# block's.  A school whose primer grows (school files: primer.identify)
# starts such a block from the school its primer left in tables fitted to
# the primer alone, kept as the others, grown (engine.grow): a block that
# large then costs a copy of the tables, not a reading of the primer.  This
# bound is part of what such archives mean: the decoder grows the same.
PRIMED_COPY_FIT = 21
primed: dict = {}               # key -> Snapshot of the school the primer left (see keep)
# one lock for one-lane schools, one for schools in lanes: a neural school's
# block, coded both ways at once (school._compress_either), reads its two
# primers side by side
_locks = {False: threading.Lock(), True: threading.Lock()}


def in_lanes(key) -> bool:
    """Whether `key` names a school in lanes (a neural fish's)."""
    return key[-1] == "lanes"


def lock_for(key) -> threading.Lock:
    """The lock held while a school of `key`'s kind is read or kept."""
    return _locks[in_lanes(key)]


def keep(key, school) -> None:
    """Keep the school the primer left for `key`, in place of any kept
    before: one one-lane school and one school in lanes (a neural fish's,
    key[-1] == "lanes"), so a neural school that falls back, coding each
    block with both, reads its primers once, not twice a block."""
    for old in [k for k in list(primed) if in_lanes(k) == in_lanes(key)]:
        del primed[old]
    primed[key] = Snapshot(school)


def kept(key, read) -> "Snapshot | None":
    """The school the primer left for `key`, kept: read() reads it (None:
    its code outgrew its room) the first time, and keep() keeps it."""
    with lock_for(key):
        if key not in primed:
            school = read()
            if school is None:
                return None
            keep(key, school)
        return primed[key]


class Snapshot:
    """A block's school (engine.Block: named tuples of arrays and numbers), kept to be
    copied.  A small school (at most WORKING_COPIES bytes: levels 1-6 with
    64 KiB of primer, or a learned one of up to 256 KiB: 30-118 MB) hands
    out working copies that are kept too: each block refreshes one with a
    plain copy of the kept bytes (3-12 ms), where mapping fresh pages costs
    a page fault per page the block writes (9-50 ms for a 1 KB block).  A
    large one (level 9's tables are 805 MB) keeps its big arrays in memory
    files, and a small block's copy maps them copy-on-write, so it copies
    only the pages it writes (where memory files are unknown, a plain copy).
    A block of EAGER_FROM bytes or more writes pages all over its tables:
    it gets a plain copy instead, in huge pages (NumPy asks for them), which
    costs level 9 about 0.5 s in fresh memory but spares a fault per 4 KB
    page written and the TLB misses of small pages.  Level 9 decoding English (train/'s
    gcide, three runs each, 2026-12-05): 100 KB in 1.03-1.36 s against
    1.56-1.71 copy-on-write, 400 KB in 3.0-3.3 s against 3.5-3.6; 13 KB and
    800 KB (which writes most pages either way) about the same.  The plain
    copy a block leaves is kept (one, in the memory the block had anyway)
    and refilled for the next: no page faults, a 13 KB block's decoding
    0.47 → 0.30 s (level 9's tables are fitted to primer and block: 805 MB
    whatever the block's size)."""
    LARGE = 1 << 20
    WORKING_COPIES = 160 << 20
    EAGER_FROM = 8 << 10

    def __init__(self, school):
        size = sum(a.nbytes for a in arrays(school))
        self._reuse = size <= self.WORKING_COPIES
        self._parts = self._store(school)
        self._spare: list = []          # working copies no block is using (of a large school, one plain copy)

    def copy(self, block_bytes: int = 0):
        """A working copy for a block of block_bytes bytes (past the primer)."""
        if not self._reuse and block_bytes < self.EAGER_FROM:
            return self._give(self._parts)
        try:            # a copy a block left: refilled, its memory already faulted in
            return self._refill(self._parts, self._spare.pop())
        except IndexError:
            return self._give(self._parts, eager=True)

    def view(self):
        """The kept school to read (not to write): its arrays, or maps of them."""
        return self._give(self._parts) if not self._reuse else self._parts

    def done(self, school) -> None:
        """A block has finished with a copy: keep it for the next one (of a
        large school, one plain copy: the memory a block had anyway)."""
        if self._reuse or (not self._spare and _plain(self._parts, school)):
            self._spare.append(school)

    def _store(self, part):
        if isinstance(part, tuple):
            return like(part, (self._store(p) for p in part))
        if isinstance(part, np.ndarray):
            if not self._reuse and part.nbytes >= self.LARGE and hasattr(os, "memfd_create"):
                return MemoryFile(part)
            return part.copy()
        return part

    def _give(self, part, eager=False):
        if isinstance(part, tuple):
            return like(part, (self._give(p, eager) for p in part))
        if isinstance(part, MemoryFile):
            return part.plain_copy() if eager else part.private_copy()
        return part.copy() if isinstance(part, np.ndarray) else part

    def _refill(self, kept, working):
        """working (a copy a block left) holding the kept bytes and numbers
        again: a block may have left other numbers in its tuples' places
        (tuples are rebuilt, not written, so the kept ones are as they were)."""
        if isinstance(kept, tuple):
            return like(kept, (self._refill(k, w) for k, w in zip(kept, working)))
        if isinstance(kept, MemoryFile):
            kept.copy_into(working)
            return working
        if isinstance(kept, np.ndarray):
            np.copyto(working, kept)
            return working
        return kept


def _plain(kept, working) -> bool:
    """Whether working holds arrays of its own where kept has memory files
    (a plain copy), not copy-on-write maps of them."""
    if isinstance(kept, tuple):
        return all(_plain(k, w) for k, w in zip(kept, working))
    return not isinstance(kept, MemoryFile) or working.flags.owndata


def like(part: tuple, items) -> tuple:
    """items as a tuple of part's kind (a block's parts are named tuples)."""
    return type(part)(*items) if hasattr(part, "_fields") else tuple(items)


arrays = primed_cache.arrays       # the arrays of a nested tuple, in order


class MemoryFile:
    """An array's bytes in a memory file (memfd), mapped privately on demand."""

    def __init__(self, array: np.ndarray):
        self.dtype, self.shape, self.size = array.dtype, array.shape, array.nbytes
        self.fd = os.memfd_create("shoal-primed", os.MFD_CLOEXEC)
        os.ftruncate(self.fd, self.size)
        with mmap.mmap(self.fd, self.size) as shared:
            np.frombuffer(shared, dtype=np.uint8)[:] = array.reshape(-1).view(np.uint8)

    def private_copy(self) -> np.ndarray:
        """A writable array that reads the kept bytes; what it writes stays its own."""
        private = mmap.mmap(self.fd, self.size, flags=mmap.MAP_PRIVATE)
        return np.frombuffer(private, dtype=self.dtype).reshape(self.shape)

    def plain_copy(self) -> np.ndarray:
        """A copy of the kept bytes, all read now, in new memory."""
        copy = np.empty(self.shape, self.dtype)
        self.copy_into(copy)
        return copy

    def copy_into(self, array: np.ndarray) -> None:
        """array (of this shape and type) = the kept bytes."""
        with mmap.mmap(self.fd, self.size, prot=mmap.PROT_READ) as shared:
            array.reshape(-1).view(np.uint8)[:] = np.frombuffer(shared, dtype=np.uint8)

    def __del__(self):
        os.close(self.fd)

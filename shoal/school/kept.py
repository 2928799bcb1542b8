"""Schools a primer left, kept in memory to be copied for each block.

    snapshot = kept(key, read, fresh)   # read() the first time, then the kept one
    school = snapshot.copy()            # a working copy for one block
    snapshot.done(school)               # the block is done with it

A process keeps them in memory; the first to read a school also writes it
to disk (primed_cache.py), where later processes read it back into a fresh
school's arrays instead of reading the primer: level 9's 805 MB from the
page cache in about 0.3 s, against 5 s for its primer.
"""
import gc
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


def keep(key, school, owned=False, reload=None) -> "Snapshot":
    """Keep the school the primer left for `key` (a copy of it, unless
    `owned`: nothing else holds its arrays), in place of any kept before:
    one one-lane school and one school in lanes (a neural fish's,
    key[-1] == "lanes"), so a neural school that falls back, coding each
    block with both, reads its primers once, not twice a block."""
    for old in [k for k in list(primed) if in_lanes(k) == in_lanes(key)]:
        primed.pop(old, None)
    snapshot = primed[key] = Snapshot(school, owned, reload)
    return snapshot


def kept(key, read, fresh=None) -> "Snapshot | None":
    """The school the primer left for `key`, kept: read() reads it (None:
    its code outgrew its room) the first time, and keep() keeps it.  With
    fresh (a school opened afresh for the same preset and size, whose arrays
    the kept one's fill: primed_cache.load), it is kept on disk too, and a
    process that has not read it yet reads it from there."""
    def from_disk_or_read():
        """(the school, whether it is kept on disk): read back from the file
        if there is one (and it matches), else read() and kept there."""
        if primed_cache.kept_on_disk(key):
            school = primed_cache.load(key, fresh())
            if school is not None:
                return school, True
        school = read()
        return school, school is not None and primed_cache.save(key, school)

    with lock_for(key):
        snapshot = primed.get(key)     # (give_way may empty `primed` at any time)
        if snapshot is None:
            school, on_disk = from_disk_or_read() if fresh is not None else (read(), False)
            if school is None:
                return None
            # kept on disk, the school is lent to the first block as it is and
            # read back for a second (a process of one block, as a command
            # often is, then holds one school, not two, and copies none); if
            # the file has gone by then, the primer is read (and kept) again
            snapshot = keep(key, school, owned=True,
                            reload=(lambda: from_disk_or_read()[0]) if on_disk else None)
        return snapshot


def give_way(allocate):
    """allocate(), or when memory runs out (MemoryError: an address-space
    limit, say), allocate() again after dropping the kept schools and the
    copies they keep (level 9's: 1.6 GB), which only spare later blocks a
    primer's reading: the block that needs the memory comes first."""
    try:
        return allocate()
    except MemoryError:
        if not primed:
            raise
        primed.clear()
        gc.collect()
        return allocate()


class Snapshot:
    """A block's school (engine.Block: named tuples of arrays and numbers),
    kept to be copied, in plain memory (NumPy asks for huge pages for large
    arrays).  Each block gets a working copy: one a block left, refilled
    with the kept bytes, or a new one.  A small school (at most
    WORKING_COPIES bytes: levels 1-6 with 64 KiB of primer, or a learned one
    of up to 256 KiB: 30-118 MB) keeps every copy blocks leave (threads code
    blocks side by side); a large one (level 9's tables: 805 MB, fitted to
    primer and block whatever the block's size) keeps one, the memory the
    block had anyway.  Refilling costs level 9 about 0.05 s, a new copy
    0.1-1.2 s (its pages' first faults; the most in a new process).

    Measured (2026-12-05): level 9's 805 MB refilled in 0.053 s from a
    plain array, 0.27 s from a memory file (memfd: small pages only, never
    huge ones on this machine; mapped each time), 0.19 s from a memory file
    mapped once.  The memory files also let a small block map the kept
    tables copy-on-write (a fault per 4 KB page written); a block writes
    pages all over its tables, so those maps lost to a refilled plain copy
    for any block."""
    WORKING_COPIES = 160 << 20

    def __init__(self, school, owned=False, reload=None):
        """reload: the school is kept on disk (primed_cache), and reload()
        reads it back: the first block is lent `school` itself, and the
        kept school is read back when a second block needs a copy."""
        self._keep_all = sum(a.nbytes for a in arrays(school)) <= self.WORKING_COPIES
        self._reload = reload
        if reload is not None:
            self._lent, self._school = school, None
        else:
            self._lent, self._school = None, school if owned else _copy(school)
        self._spare: list = []          # working copies no block is using
        self._lock = threading.Lock()

    def copy(self):
        """A working copy for a block."""
        with self._lock:
            if self._lent is not None:
                school, self._lent = self._lent, None
                return school
            kept = self._kept()
            spare = self._spare.pop() if self._spare else None
        if spare is not None:           # a copy a block left: refilled, its memory already faulted in
            return _refill(kept, spare)
        return give_way(lambda: _copy(kept))

    def view(self):
        """The kept school, to read (not to write)."""
        with self._lock:
            return self._kept()

    def _kept(self):
        """The kept school, read back (from disk, or the primer if the file
        has gone) the first time it is needed after the lending."""
        if self._school is None:
            self._school = self._reload()
            if self._school is None:
                raise RuntimeError("a primer read before could not be read again")
            self._reload = None         # (it holds the first block's buffers)
        return self._school

    def done(self, school) -> None:
        """A block has finished with a copy: keep it for the next one (of a
        large school, one)."""
        if self._keep_all or not self._spare:
            self._spare.append(school)


def _copy(part):
    """A copy of a nested tuple of arrays and numbers, in new memory."""
    if isinstance(part, tuple):
        return like(part, (_copy(p) for p in part))
    return part.copy() if isinstance(part, np.ndarray) else part


def _refill(kept, working):
    """working (a copy a block left) holding the kept bytes and numbers
    again: a block may have left other numbers in its tuples' places
    (tuples are rebuilt, not written, so the kept ones are as they were)."""
    if isinstance(kept, tuple):
        return like(kept, (_refill(k, w) for k, w in zip(kept, working)))
    if isinstance(kept, np.ndarray):
        np.copyto(working, kept)
        return working
    return kept


def like(part: tuple, items) -> tuple:
    """items as a tuple of part's kind (a block's parts are named tuples)."""
    return type(part)(*items) if hasattr(part, "_fields") else tuple(items)


arrays = primed_cache.arrays       # the arrays of a nested tuple, in order

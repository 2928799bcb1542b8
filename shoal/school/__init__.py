"""school: assembles fish, mixers and APMs from a preset and codes blocks.

    school = school_for(data, preset)            # preset.school(kind): text, structured, binary, x86
    payload = compress_block(data, school)       # bytes, or None if it would not shrink
    data = decompress_block(payload, size, school)
    costs, coded = score_block(data, preset)     # bits per byte, real size (picks the school too)

Blocks are independent: each starts from an empty model (or one that has
just read the preset's primer: school/primer.py), so blocks can be coded in
parallel and any one can be decoded alone.

A school without a neural fish codes a block in one compiled call.  With
one, the block is coded a step at a time (a byte of every lane): the fish
(NumPy, outside compiled code) predicts each lane's next byte, then the
compiled loop codes that step with the fish's distribution as one more vote.

The engine (compiled code: school/engine.py and Numba) is loaded when the
first block is coded (engine_loading.py).  A primed school is read once and
kept to be copied for each block (kept.py); a school with a neural fish
codes its blocks in neural_block.py.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..codec import compact
from ..errors import ShoalError
from . import kept, kinds, levels, memory, primed_cache, primer, slots
from .engine_loading import engine as _engine
from .engine_loading import when_engine_loads
from .kept import PRIMED_COPY_FIT
from .neural_block import code_neural as _code_neural
from .kinds import looks_like_text
from .levels import DEFAULT_LEVEL, level, load, retired_level, with_neural
from .preset import Preset, from_canonical, from_dict

__all__ = ["compress_block", "decompress_block", "score_block", "school_for", "block_kind", "looks_like_text",
           "Preset", "level",
           "retired_level", "load", "from_dict", "from_canonical", "with_neural", "DEFAULT_LEVEL", "decode_memory",
           "DEFAULT_MEMLIMIT", "when_engine_loads"]


_NO_COST = np.zeros(0, dtype=np.float64)
# the schools kept (kept.py), by the names tests know them by
_primed, _Snapshot, _arrays = kept.primed, kept.Snapshot, kept.arrays

# A block of each kind (kinds.py: text, binary, x86 code with a near call
# every 16 bytes, JSON records): coding them compiles (or loads) each of a
# preset's loops, so that a timing taken afterwards holds no compile,
# whichever kind of block it codes first.
WARM_UP_BLOCKS = (b"shoal warm-up: the quick brown fox jumps over the lazy dog.\nA school of fish, small and quick, "
                  b"swims by.\nNumbers 0123456789 and more words follow\n" * 14 + bytes(range(256)),
                  bytes(range(256)) * 8 + bytes(64),
                  b"".join(b"\x48\x89\xc7\xe8" + (4096 - 16 * i).to_bytes(4, "little", signed=True) + bytes(7)
                           for i in range(160)),
                  b"".join(b'{"fish": "cod %d", "depth": %d, "school": true},\n' % (i, 7 * i) for i in range(40)))


def decode_memory(preset: Preset, block_size: int) -> int:
    """Bytes that decoding one block of up to block_size bytes may take with
    this preset, at most: the larger school's arrays (memory.block_memory),
    the block's buffers (payload, output, its copies on the way out) and a
    primer read before it.  Counted from the preset alone, before anything
    is allocated, so a reader can refuse an archive beyond its limit."""
    if preset.neural_fallback:
        # a block may be coded without the fish, by another school (preset.classic)
        return max(_decode_memory(preset, block_size), _decode_memory(preset.classic, block_size))
    return _decode_memory(preset, block_size)


def _decode_memory(preset: Preset, block_size: int) -> int:
    model = max(memory.block_memory(block_size, s.fish, s.cfg) for s in preset.every_school())
    if not preset.primer:
        return model + 4 * block_size
    # a text school's tables fit the primer and the block; with a fit small
    # enough, the school the primer left is kept beside the block's copy
    below = preset.primer.get("below")
    block = block_size if below is None else min(block_size, below - 1)

    def school_memory(n):
        return max(memory.block_memory(n, s.fish, s.cfg) for s in preset.every_school() if s.primer)
    whole = len(primer.text(preset.primer)) + block
    primed = school_memory(whole)
    # a neural fish's school is kept by the fit of its tables (neural_block.py)
    fit = min(memory.table_fit(whole, s.fish, s.cfg) if preset.neural else memory.fit_bits(whole)
              for s in preset.schools().values() if s.primer)
    if fit <= PRIMED_COPY_FIT:
        primed *= 2
    if primer.grows(preset.primer, block, PRIMED_COPY_FIT):
        # the whole primer and the block; the school the primer left, fitted
        # to the primer, is kept (and a working copy of it) beside the
        # block's grown one
        full = len(primer.whole_text(preset.primer))
        whole = max(whole, full + block)
        primed = max(primed, school_memory(full + block) + 2 * school_memory(full))
    return max(model, primed) + 4 * block_size + 2 * whole


# A reader's memory limit by default: every shipped level and retired one at
# its 16 MiB blocks with room to spare (level 9, the largest, needs 1,987
# MiB; level 6 181 MiB), and nothing far beyond.  A reader that wants more
# says so (-M/--memlimit, memlimit=).
DEFAULT_MEMLIMIT = 3 << 30


def block_kind(data, preset: Preset) -> str:
    """The kind of block `data` is to `preset` (one of preset.kinds:
    kinds.py): which of its schools codes it.  Archives mark it."""
    if len(preset.kinds) == 1:
        return preset.kinds[0]
    return kinds.detect(data, preset.kinds)


def school_for(data, preset: Preset) -> Preset:
    """The school that codes block `data`: preset.text, or the school for
    binary, x86 or structured-text blocks when the preset tells them apart
    (fish marked `only:`; kinds.py).  Archives mark which one coded each
    block."""
    return preset.school(block_kind(data, preset))


def compress_block(data, preset: Preset, *, on_bytes=None) -> bytes | None:
    """Code one block of bytes-like `data`; None when the result would not be
    smaller than data.  on_bytes(k), if given, hears of the bytes coded as
    they are, about a MiB at a time (engine.CHUNK_BYTES; from this thread),
    for progress within a block; they may not add up to the block's size
    (stopped early: stored)."""
    data = np.frombuffer(data, dtype=np.uint8)
    buf = _block_array(preset, data.size, data)
    if buf.size < compact.SMALLEST_CODED:
        return None                     # stored whatever a model made of it
    _filter_x86(buf, preset, encode=True)
    if preset.neural_fallback:
        return _compress_either(buf, preset, on_bytes)
    out = np.empty(buf.size, dtype=np.uint8)
    written = _code(buf, out, False, preset, _NO_COST, on_bytes)
    if written < 0 or written >= buf.size:
        return None
    return out[:written].tobytes()


# A school whose neural fish has `fallback: true` codes each block twice,
# without the fish (preset.classic: one lane, the primer read as the school
# without the fish reads it) and with it, and keeps the smaller: a payload
# begins with the byte that says which, so the fish never costs a block
# more than that byte.  The two codings share nothing and release the GIL:
# they run side by side, on two threads, and the block takes about the
# time of the slower (the fish's).
CODED_WITHOUT_FISH, CODED_WITH_FISH = 0, 1


def _without_fish(preset: Preset) -> Preset:
    """preset.classic, or the same school of the shipped level it is, which
    runs the loop compiled for its shape (_own_shape)."""
    shipped = levels.shipped_level(preset.classic.digest)
    return shipped.school(preset.kind) if shipped is not None else preset.classic


def _compress_either(buf, preset, on_bytes):
    plain, with_fish = np.empty(buf.size, dtype=np.uint8), np.empty(buf.size, dtype=np.uint8)
    with ThreadPoolExecutor(1, thread_name_prefix="shoal-without-fish") as other:
        without = other.submit(_code, buf, plain, False, _without_fish(preset), _NO_COST, None)
        written = _code(buf, with_fish, False, preset, _NO_COST, on_bytes)
        plain_written = without.result()
    best = None
    if plain_written >= 0:
        best = bytes([CODED_WITHOUT_FISH]) + plain[:plain_written].tobytes()
    if written >= 0 and (best is None or written + 1 < len(best)):
        best = bytes([CODED_WITH_FISH]) + with_fish[:written].tobytes()
    return best if best is not None and len(best) < buf.size else None


def score_block(data, preset: Preset) -> tuple[np.ndarray, int]:
    """Code one block and measure it: the ideal code length of each byte in
    bits (-log2 of the probabilities the coder was given: what the model
    knows, free of coder overhead) and the size the coded payload really has
    (what a compressed block would hold, before any stored-block fallback).
    The block is coded by the school compressing would use (school_for)."""
    buf = np.frombuffer(data, dtype=np.uint8).copy()
    cost = np.zeros(buf.size, dtype=np.float64)
    if buf.size == 0:
        return cost, 0
    preset = school_for(buf, preset)
    _filter_x86(buf, preset, encode=True)
    # A model can do worse than storing, and scoring wants its real size all
    # the same: first with room for twice the input, then (rarely) with room
    # for the worst case, 12 bits a bit at p = 1/4096.
    for room in (2 * buf.size + 64, 12 * buf.size + 64):
        cost[:] = 0.0
        out = np.empty(room, dtype=np.uint8)
        written = _code(buf, out, False, preset, cost)
        if written >= 0:
            break
    return cost, int(written)


def decompress_block(payload: bytes, size: int, preset: Preset, *, on_bytes=None) -> bytes:
    """Decode one block of `size` bytes coded with `preset`; on_bytes(k) as
    in compress_block, with the bytes decoded."""
    if size == 0:
        return b""
    if preset.neural_fallback:
        if not payload or payload[0] not in (CODED_WITHOUT_FISH, CODED_WITH_FISH):
            raise ShoalError("corrupted archive: a block of a neural school says neither with nor without its fish")
        preset = preset if payload[0] == CODED_WITH_FISH else _without_fish(preset)
        payload = payload[1:]
    src = np.frombuffer(payload, dtype=np.uint8).copy()
    buf = _block_array(preset, size)
    used = _code(buf, src, True, preset, _NO_COST, on_bytes)
    if used != len(payload):
        # The decoder consumes exactly what the encoder wrote; anything else
        # means the payload is not what was coded.
        raise ShoalError("corrupted archive: block payload does not decode to its recorded size")
    _filter_x86(buf, preset, encode=False)
    return buf.tobytes()


def _filter_x86(buf: np.ndarray, preset: Preset, encode: bool) -> None:
    """A school with `transform: x86` codes its blocks x86-filtered
    (codec/x86.py: call and jump targets made absolute where code is dense);
    the decoder unfilters what it decoded."""
    if preset.x86:
        from ..codec import x86
        (x86.encode if encode else x86.decode)(buf)


# Compressing and decompressing with a shipped level, or a preset file the
# user loaded (Preset.own_loop), run a loop compiled for the school's shape
# (engine.code_block_for), 10-18% faster than the general loop.  The first
# block of a shape compiles it (tens of seconds on a first run; then cached
# on disk).  Every other school runs the one general loop: presets that
# arrive in archives (an archive must not make its reader compile for
# minutes), retired levels, scoring and evolution (an evolution's every
# candidate is a new shape).  So do schools of many fish
# (unrolled, their loop outgrows the CPU's instruction caches: level 9's ran
# 5% slower than the general one, level 7's 17% faster) and schools of
# several lanes, which only a neural fish's schools need.
COMPILE_FOR_SHAPE_FISH = 12


def _own_shape(preset: Preset, cost: np.ndarray):
    """The shape whose compiled loop codes this school (see above), or None
    for the general loop."""
    fish, cfg = preset.fish, preset.cfg
    shape = slots.structure(fish, cfg)
    if (cost.size == 0 and shape is not None and len(shape[0]) <= COMPILE_FOR_SHAPE_FISH
            and cfg[slots.C_LANES] == 1 and preset.own_loop):
        return shape
    return None





def _code(buf: np.ndarray, payload: np.ndarray, decode: bool, preset: Preset, cost: np.ndarray,
          on_bytes=None) -> int:
    """engine.code_block for any school: bytes written (decoded: consumed), -1 if out of room.
    on_bytes: as in compress_block (not called when scoring)."""
    if not primer.reads(preset.primer, buf.size):
        return _code_primed(buf, payload, decode, preset, cost, 0, on_bytes)
    # the school reads the primer, then codes the block as if it followed
    grows = preset.neural is None and primer.grows(preset.primer, buf.size, PRIMED_COPY_FIT)
    text = _primer_text(preset, buf.size)
    whole = _joined(text, buf)
    if grows and preset.large is not None:
        preset = preset.large           # a large block: the fish and settings of `large:` (preset.py)
    whole_cost = np.zeros(whole.size, dtype=np.float64) if cost.size else cost
    if preset.neural is not None:
        written = _code_neural(whole, payload, decode, preset, whole_cost, text.size, on_bytes)
    elif memory.fit_bits(whole.size) <= PRIMED_COPY_FIT or grows:
        written = _code_after_primer(whole, payload, decode, preset, whole_cost, text.size, on_bytes, grows)
    else:
        written = _code_primed(whole, payload, decode, preset, whole_cost, text.size, on_bytes)
    if decode and whole is not buf.base:
        buf[:] = whole[text.size:]
    if cost.size:
        cost[:] = whole_cost[text.size:]
    return written


def _block_array(preset: Preset, size: int, data=None) -> np.ndarray:
    """A writable array for a block of `size` bytes, a copy of `data` or
    zeros (writable: one compiled signature serves encoder and decoder;
    zeroed: whatever a faulty model read before a byte was decoded, it reads
    the same in every process, as the encoder's freed memory is not).  When
    the block's school reads a primer, the array is a view into one that
    holds the primer first, so that _code reads them as one without copying
    the block again: a large block of a learned school reads a primer of
    up to 1 MiB, and that copy took memory that level 6 does not.  data:
    a uint8 array."""
    text = _primer_text(preset, size)
    whole = np.zeros(text.size + size, dtype=np.uint8)
    whole[:text.size] = text
    if data is not None:
        whole[text.size:] = data
    return whole[text.size:]


def _primer_text(preset: Preset, size: int) -> np.ndarray:
    """The primer a block of `size` bytes is coded after (empty if none)."""
    if not primer.reads(preset.primer, size):
        return _NO_PRIMER
    grows = preset.neural is None and primer.grows(preset.primer, size, PRIMED_COPY_FIT)
    return np.frombuffer((primer.whole_text if grows else primer.text)(preset.primer), dtype=np.uint8)


_NO_PRIMER = np.zeros(0, dtype=np.uint8)


def _joined(text: np.ndarray, buf: np.ndarray) -> np.ndarray:
    """The primer text and the block as one array: the one _block_array
    made buf a view of, if it holds this text; else a new one."""
    base = buf.base
    if (isinstance(base, np.ndarray) and base.size == text.size + buf.size
            and buf.ctypes.data == base.ctypes.data + text.size and np.array_equal(base[:text.size], text)):
        return base
    return np.concatenate((text, buf))


def _code_after_primer(whole, payload, decode, preset, cost, primed, on_bytes=None, grows=False) -> int:
    """_code_primed from a copy of the school the primer left (read once).
    grows: the block (primer.grows) starts from the school the primer left
    in tables fitted to the primer alone, grown to the block's (engine.grow):
    the primer is read once, whatever the blocks' sizes."""
    n, fish, cfg, engine = whole.size, preset.fish, preset.cfg, _engine()
    shape = _own_shape(preset, cost)
    read_n = primed if grows else n
    # the bytes its tables are fitted to: the primer and the block together,
    # or for a large block of `large:` (preset.fits_block) the larger of
    # the two, so that a block's tables are no larger than a level's
    fit_n = max(read_n, n - primed) if grows and preset.fits_block else n
    # a preset and its text and binary schools share one digest, but not
    # one layout: the fish and settings are part of the key.  A school read
    # to grow read the primer as a block of its own length, so it never
    # prepared the byte after it, which any other reading did (swim's look-
    # ahead): it is not the school a small block of the same fit reads.
    key = (preset.digest, fish.tobytes(), cfg.tobytes(), memory.fit_bits(read_n), primed, grows)
    if grows:
        school = _kept_on_disk(key, shape, whole, fit_n, read_n, fish, cfg, primed)
        if school is not None:
            return engine.code_after_primer(shape, school, whole, n, payload, decode, fish, cfg, cost, primed,
                                            on_bytes)
    # kept on disk too, but for a school read to grow (kept there grown: _kept_on_disk)
    fresh = None if grows else lambda: engine.fresh_school(whole, n, fish, cfg)
    snapshot = kept.kept(key, lambda: engine.read_primer(shape, whole, read_n, fish, cfg,
                                                     *engine.new_tables(read_n, fish, cfg), primed), fresh)
    if snapshot is None:
        return -1
    if grows and memory.fit_bits(fit_n) > memory.fit_bits(read_n):
        school = engine.grow(snapshot.view(), fit_n, fish, cfg)
        return engine.code_after_primer(shape, school, whole, n, payload, decode, fish, cfg, cost, primed, on_bytes)
    school = snapshot.copy()
    written = engine.code_after_primer(shape, school, whole, n, payload, decode, fish, cfg, cost, primed, on_bytes)
    snapshot.done(school)
    return written


def _kept_on_disk(key, shape, whole, n, read_n, fish, cfg, primed):
    """The school the primer left for `key`, grown to the tables fitted to
    n bytes (the block's: _code_after_primer): read from the copy kept on disk for that fit
    (primed_cache.py), or from the primer, grown and kept there first.  A
    school to code with; None if the process keeps the school the primer
    left in memory (kept.py), as it does where none can be kept on disk.
    Kept grown, one file for each fit, so that a block reads its tables and
    allocates nothing more than a block of level 6 does."""
    engine = _engine()
    grown_key = key + (memory.fit_bits(n),)
    with kept.lock_for(key):
        if key in kept.primed:
            return None
        fresh = engine.fresh_school(whole, n, fish, cfg)
        school = primed_cache.load(grown_key, fresh)
        if school is not None:
            return school
        read = engine.read_primer(shape, whole, read_n, fish, cfg, *engine.new_tables(read_n, fish, cfg), primed)
        if read is None:
            return None
        school = engine.grow(read, n, fish, cfg, owned=True)
        if not primed_cache.save(grown_key, school, sparse=True):
            # later blocks grow a copy kept in memory (taken now, before
            # this block writes the tables it may share with `read`)
            kept.keep(key, read)
    return school


def _code_primed(buf, payload, decode, preset, cost, primed, on_bytes=None) -> int:
    n, fish, cfg, engine = buf.size, preset.fish, preset.cfg, _engine()
    tables = engine.new_tables(n, fish, cfg)
    if preset.neural is None:
        shape = _own_shape(preset, cost)
        if shape is not None or cost.size == 0:
            # without costs, the general loop too runs through code_block_for
            # (general_swim): engine.code_block would be a second compiled
            # copy of it, minutes more to compile for levels 8 and 9
            return engine.code_block_for(shape, buf, n, payload, decode, fish, cfg, *tables, primed, on_bytes)
        return engine.code_block(buf, n, payload, decode, fish, cfg, cost, *tables, primed)
    return _code_neural(buf, payload, decode, preset, cost, primed, on_bytes)

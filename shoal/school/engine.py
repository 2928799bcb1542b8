"""Blocks: the arrays a block's school needs, and the calls that code it.

A block is coded by one call of the loop in swim.py, which predicts, codes
and learns each bit (read its docstring first).  This module sets the block
up: the voters' large tables (new_tables), the school's fresh arrays, a
named tuple of named parts (open_block: Block), and the coder's last bytes
(close_block).  Setting up and closing run once a block, in plain Python and
NumPy: compiled, they took 15 of level 6's 47 s to compile and saved
nothing measurable when run.

  code_block      any school, by the general loop (costs too, for scoring)
  code_block_for  the same, by the loop compiled for the school's shape
                  (layout.structure): what compress and decompress run
                  for most schools (school/__init__.py)
  open_block, code_steps, close_block
                  a step at a time, for a school with a neural fish, which
                  runs outside compiled code (after a primer: read_primer_lanes,
                  lanes_after_primer)

code_block_for and code_after_primer take on_bytes(k): called after every
CHUNK_BYTES or so with the bytes just coded (progress within a block).

Tables are allocated by NumPy (new_tables), so the kernel can back them with
huge pages.
"""
from typing import NamedTuple

import numpy as np

from ..codec.rangecoder import decode_end, decode_start, encode_flush, new_state
from ..fish import context_fish, match, voters
from ..fish.contexts import H_LINE0, H_LINE1, new_history
from ..jit import njit
from .apm import new_apm
from . import kept
from .attention import new_attention, row_width
from .layout import (C_APM2_BITS, C_ATT_HEADS, C_BOOST_FROM_BLOCK, C_FINAL_COUNT, C_FINAL_VOTES, C_GATE0, C_LANES,
                     C_LR_BOOST, C_LR_HALFLIFE, C_NGATES, C_VOTES, FINAL_VOTE_SETS, GATE_SETS, padded)
# what a block takes in memory and the model's version need no compiled code
# (memory.py, preset.py); re-exported, as callers knew them here
from .memory import block_memory, fit_bits, match_table_bits, model_memory  # noqa: F401
from .preset import MODEL_VERSION  # noqa: F401
from .swim import general_swim, make_swim


def new_tables(n: int, fish: np.ndarray, cfg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The block's two large tables, zeroed: the context fish's slots and the
    match fish's index.  Allocated here, by NumPy, because NumPy asks the
    kernel for huge pages (madvise) and Numba's allocator does not: with
    4 KB pages nearly every slot lookup also misses the TLB."""
    base, _ = context_fish.layout(n, fish)
    return kept.give_way(lambda: (np.zeros(int(base[-1]), dtype=np.uint8),
                                  np.zeros(int(match.table_size(fit_bits(n), match_table_bits(cfg))), dtype=np.int32)))


def fresh_school(buf, n, fish, cfg):
    """A block's school opened afresh for n bytes, its tables zeroed: the
    arrays a school kept on disk is read into (primed_cache.load)."""
    return open_block(buf, n, NO_PAYLOAD, False, fish, cfg, *new_tables(n, fish, cfg))


def lane_starts(n, lanes):
    """Lanes split a block into `lanes` runs of seg bytes (the last one
    shorter, or even empty): lane k codes bytes starts[k] .. ends[k] - 1."""
    seg = max((n + lanes - 1) // lanes, 1)
    starts = np.zeros(lanes, dtype=np.int64)
    ends = np.zeros(lanes, dtype=np.int64)
    for k in range(lanes):
        starts[k] = min(k * seg, n)
        ends[k] = min(starts[k] + seg, n)
    return starts, ends, seg


NO_NEURAL = np.zeros((0, 257), dtype=np.int64)
NO_COST = np.zeros(0, dtype=np.float64)
NO_PAYLOAD = np.zeros(0, dtype=np.uint8)


_compiled_for: dict[tuple, object] = {}


def _swim_for(shape):
    """The loop compiled for shape (layout.structure), or the general loop
    for None; the first call for a shape compiles it (tens of seconds; then
    cached on disk like the rest)."""
    if shape is None:
        return general_swim
    if shape not in _compiled_for:
        _compiled_for[shape] = make_swim(shape)
    return _compiled_for[shape]


# With on_bytes, the loop codes a block about this many bytes at a call, and
# on_bytes hears of each chunk: a Python call a MiB costs nothing measurable.
CHUNK_BYTES = 1 << 20


def _swim_chunks(swim, buf, n, payload, decode, fish, cfg, block, step_lo, step_hi, on_bytes):
    """swim(..., step_lo, step_hi, ...) as one call codes it, the same code
    to the byte, in calls of about CHUNK_BYTES bytes, on_bytes(k) after each
    with the bytes it coded; stops where the one call would return (out of
    room; decoding, read past the payload's end: damaged).  The loop is
    resumable between steps, but for one thing: `boost_from: block` counts
    the boost from the call's first step.  A chunk after the first then runs
    with that flag cleared, which counts from step 0: the same when step_lo
    is 0.  A primed block (step_lo > 0) of such a school is one call."""
    if on_bytes is None or (cfg[C_BOOST_FROM_BLOCK] and step_lo > 0):
        written = swim(buf, n, payload, decode, fish, cfg, NO_COST, block, step_lo, step_hi, NO_NEURAL)
        if on_bytes is not None and written >= 0:
            on_bytes(bytes_in(block.geometry, step_lo, step_hi))
        return written
    later = cfg
    if cfg[C_BOOST_FROM_BLOCK]:
        later = cfg.copy()
        later[C_BOOST_FROM_BLOCK] = 0
    steps = max(CHUNK_BYTES // block.geometry.starts.size, 1)
    lo = step_lo
    while True:
        hi = min(lo + steps, step_hi)
        written = swim(buf, n, payload, decode, fish, cfg if lo == step_lo else later, NO_COST, block, lo, hi,
                       NO_NEURAL)
        if written < 0 or (decode and written > payload.size + 4):
            return written
        on_bytes(bytes_in(block.geometry, lo, hi))
        lo = hi
        if lo >= step_hi:
            return written


def bytes_in(geometry, step_lo, step_hi) -> int:
    """The bytes that steps step_lo .. step_hi - 1 code, over every lane."""
    lengths = geometry.ends - geometry.starts
    return int((np.minimum(lengths, step_hi) - step_lo).clip(0).sum())


def read_primer(shape, buf, n, fish, cfg, tables, match_table, primed):
    """A block's school, opened for n bytes, once it has read buf[:primed]
    (a primer) as if coding it, its code thrown away; shape None: by the
    general loop.  What it learnt depends on n only through fit_bits(n)
    (table sizes) and the block's end, which code_after_primer sets, so a
    copy of it serves every block of that fit (school._Snapshot).  None if
    its code outgrew the room it is given (-1 for the block, as any coder
    out of room)."""
    block = open_block(buf, n, NO_PAYLOAD, False, fish, cfg, tables, match_table)
    if _swim_for(shape)(buf, n, _primer_room(primed), False, fish, cfg, NO_COST, block, 0, primed, NO_NEURAL) < 0:
        return None
    return block


def grow(block, n, fish, cfg, owned=False):
    """`block` (read_primer's school, opened for fewer bytes) for a block of
    n bytes, without reading the primer again: each table that a block of n
    bytes has larger (context fish, match fish, order-2 APM) is the smaller
    one repeated to its size.  Every table finds a slot by the low bits of
    a hash, so in the repeated table each context first finds what it found
    in the small one: the grown school predicts as the primed one did, and
    its larger tables have room for what the block brings.  owned: block's
    arrays are the new block's to write (a fresh reading, or copy-on-write
    maps: school/primed_cache.py), and those the right size are used as
    they are; otherwise `block` is left as it was (it may be kept) and the
    school returned is a copy."""
    contexts, matches = block.voters.contexts, block.voters.match
    base, nslots = context_fish.layout(n, fish)
    if owned and (nslots == contexts.nslots).all():
        tables = contexts.tables
    else:
        tables = kept.give_way(lambda: np.empty(int(base[-1]), dtype=np.uint8))
        for i in range(fish.shape[0]):
            _repeat(contexts.tables[contexts.base[i]:contexts.base[i + 1]], tables[base[i]:base[i + 1]])
    # each fish's slot (byte offsets): the same slot, in its part's new place
    slot = contexts.slot - contexts.base[:-1] + base[:-1]
    match_table = _grown(matches.table, int(match.table_size(fit_bits(n), match_table_bits(cfg))), owned)
    apm2 = block.apms[1]
    grown_apm2 = _grown(apm2, (1 << min(int(cfg[C_APM2_BITS]), context_fish.fit_bits(n) + 4)) * 33, owned)
    grown = block if owned else _copied(block, {id(contexts.tables), id(matches.table), id(apm2)})
    voters_ = grown.voters._replace(
        contexts=grown.voters.contexts._replace(tables=tables, base=base, nslots=nslots, slot=slot),
        match=grown.voters.match._replace(table=match_table))
    return grown._replace(voters=voters_, apms=(grown.apms[0], grown_apm2))


def _grown(small, size, owned):
    """small repeated to `size` items (small itself if owned and that size)."""
    if owned and small.size == size:
        return small
    large = np.empty(size, dtype=small.dtype)
    _repeat(small, large)
    return large


def _repeat(small, large):
    """Fill `large` with copies of `small` (its size divides large's)."""
    large.reshape(-1, small.size)[:] = small


def _copied(part, replaced):
    """A copy of a block's nested named tuples, every array copied but those
    whose id() is in `replaced` (grow() replaces them)."""
    if isinstance(part, tuple):
        items = (_copied(p, replaced) for p in part)
        return type(part)(*items) if hasattr(part, "_fields") else tuple(items)
    if isinstance(part, np.ndarray) and id(part) not in replaced:
        return part.copy()
    return part


def code_after_primer(shape, block, buf, n, payload, decode, fish, cfg, cost, primed, on_bytes=None):
    """Code buf[primed:n] (or decode payload into it) with a one-lane school
    that has read buf[:primed] (read_primer; a copy of it will do): bytes
    written or consumed, -1 if out of room.  shape None: the general loop,
    which also fills cost (in one call: on_bytes is then not called)."""
    block.geometry.ends[0] = n                  # the block ends here (one lane: seg = n)
    block = block._replace(geometry=block.geometry._replace(seg=n))
    restart_coder(block.coder, payload, decode)
    if shape is None and cost.size:
        written = _swim_for(shape)(buf, n, payload, decode, fish, cfg, cost, block, primed, n, NO_NEURAL)
    else:
        written = _swim_chunks(_swim_for(shape), buf, n, payload, decode, fish, cfg, block, primed, n, on_bytes)
    return close_block(block, payload, decode, written)


def code_block_for(shape, buf, n, payload, decode, fish, cfg, tables, match_table, primed=0, on_bytes=None):
    """code_block (without costs) by the loop compiled for shape, which must
    be layout.structure(fish, cfg).  The first call for a shape compiles it
    (tens of seconds; then cached on disk like the rest)."""
    if primed > 0:
        block = read_primer(shape, buf, n, fish, cfg, tables, match_table, primed)
        if block is None:
            return -1
        return code_after_primer(shape, block, buf, n, payload, decode, fish, cfg, NO_COST, primed, on_bytes)
    block = open_block(buf, n, payload, decode, fish, cfg, tables, match_table)
    written = _swim_chunks(_swim_for(shape), buf, n, payload, decode, fish, cfg, block, 0, block.geometry.seg,
                           on_bytes)
    return close_block(block, payload, decode, written)


def read_primer_lanes(buf, n, primed, fish, cfg, tables, match_table, cost):
    """A school in lanes (a neural fish's), opened for n bytes, once lane 0
    has read buf[:primed], a primer, alone: the other lanes wait and the
    neural fish's vote is an even distribution (the fish reads no primer,
    so the mixers learn nothing of it there).  As read_primer, what it
    learnt depends on n only through fit_bits(n), so a copy serves every
    block of that fit.  None if the primer's code outgrew its room.  cost:
    as code_steps fills it, or empty."""
    lanes = int(cfg[C_LANES])
    block = open_block(buf, n, NO_PAYLOAD, False, fish, cfg, tables, match_table)
    g, hist = block.geometry, block.history.hist
    g.starts[:], g.ends[:] = primed, primed
    g.starts[0], g.ends[0] = 0, primed
    hist[:, H_LINE0], hist[:, H_LINE1] = g.starts, g.starts
    block = block._replace(geometry=g._replace(seg=primed))
    silent = np.tile(np.arange(257, dtype=np.int64) * 256, (lanes, 1))
    if code_steps(buf, n, _primer_room(primed), False, fish, cfg, cost, block, 0, primed, silent) < 0:
        return None
    return block


def lanes_after_primer(block, n, primed, cfg, payload, decode):
    """read_primer_lanes' school (a copy will do) ready to code buf[primed:n]:
    the lanes cut it as they would cut a block of their own, lane 0 going
    on from the primer's history, and the match fish knows the primer's
    bytes (Geometry.origin).  Returns the block and the settings to code its
    steps with: `boost_from: primer` counts the primer as read, in steps of
    every lane, and goes on from where it stood; `boost_from: block` starts
    again."""
    lanes = int(cfg[C_LANES])
    g, hist = block.geometry, block.history.hist
    starts, ends, seg = lane_starts(n - primed, lanes)
    g.starts[:], g.ends[:] = starts + primed, ends + primed
    for k in range(1, lanes):          # each later lane's first line starts with it
        hist[k, H_LINE0] = hist[k, H_LINE1] = g.starts[k]
    settings = cfg
    if not cfg[C_BOOST_FROM_BLOCK]:
        settings = cfg.copy()
        settings[C_LR_BOOST] = cfg[C_LR_BOOST] >> min((primed * lanes) >> cfg[C_LR_HALFLIFE], 62)
    restart_coder(block.coder, payload, decode)
    return block._replace(geometry=g._replace(seg=seg, origin=primed)), settings


def _primer_room(primed):
    """Where the primer's code goes (and is forgotten): room enough for
    text, and a primer is text."""
    return np.empty(2 * primed + 64, dtype=np.uint8)


def restart_coder(coder, payload, decode):
    """The coder as a block starts it (after a primer was read)."""
    coder[:] = new_state()
    if decode:
        decode_start(coder, payload)


def code_block(buf, n, payload, decode, fish, cfg, cost, tables, match_table, primed=0):
    """Encode buf[:n] into payload, or (decode=True) decode payload into
    buf[:n].  Returns the bytes written (or consumed); -1 if the encoder ran
    out of room in payload, which the caller treats as incompressible.

    cost: float64[n] to receive each byte's ideal code length in bits
    (-log2 of the probabilities the coder was given), or an empty array.
    tables, match_table: zeroed, as new_tables(n, fish, cfg) makes them.
    primed: buf[:primed] is a primer (school/primer.py, one lane only): the
    school reads it, learning as if coding it, and coding starts after it.
    A school with a neural fish is coded step by step instead (open_block,
    code_steps, close_block), since the fish runs outside compiled code."""
    block = open_block(buf, n, payload, decode and primed == 0, fish, cfg, tables, match_table)
    if primed > 0:
        if code_steps(buf, n, _primer_room(primed), False, fish, cfg, cost, block, 0, primed, NO_NEURAL) < 0:
            return -1
        restart_coder(block.coder, payload, decode)
    written = code_steps(buf, n, payload, decode, fish, cfg, cost, block, primed, block.geometry.seg, NO_NEURAL)
    return close_block(block, payload, decode, written)


def close_block(block, payload, decode, written):
    """What code_block returns, once every step is coded."""
    coder = block.coder
    if written < 0:
        return written
    if decode:
        return decode_end(coder, payload)
    if not encode_flush(coder, payload):
        return -1
    return coder[3]


@njit(cache=True, nogil=True)
def code_steps(buf, n, payload, decode, fish, cfg, cost, block, step_lo, step_hi, neural):
    """Code steps step_lo .. step_hi - 1 of an open block (a step is one byte
    of every lane); neural: int64[lanes, 257], the cumulative frequencies of
    the neural fish's distribution for each lane's byte (one step at a time
    then), or an empty array.  Returns the coder's position, -1 when out of
    room."""
    return general_swim(buf, n, payload, decode, fish, cfg, cost, block, step_lo, step_hi, neural)


class Geometry(NamedTuple):
    """The block's lanes, and each lane's byte in flight."""
    starts: np.ndarray       # int64[lanes]: lane k codes bytes starts[k] .. ends[k] - 1
    ends: np.ndarray
    seg: int                 # the steps: every lane's length but the last's
    origin: int              # where the lanes begin (after a primer: lanes_after_primer)
    c0s: np.ndarray          # int64[lanes]: the partial byte (1, then its bits so far)
    c1s: np.ndarray          # the previous byte
    c2s: np.ndarray          # the byte before it
    apm2_bytes: np.ndarray   # the order-2 APM's context
    bytes_: np.ndarray       # the byte being coded (encoder)


class History(NamedTuple):
    """What the voters share about the bytes coded (fish/contexts.py)."""
    hist: np.ndarray         # int64[lanes, HISTORY_SLOTS]: words, record length, lines
    record: np.ndarray       # int64[lanes, LANE_TABLE]: per-byte-value tables


class Mixer(NamedTuple):
    """The gated mixers (school/mixer.py) and the final one."""
    x: np.ndarray            # int32[lanes, width]: the votes, the bias, zero pads
    gate_base: np.ndarray    # int64[ngates + 1]: where each gate's weight sets start
    weights: np.ndarray      # int32: every gate's weight sets, one row each
    gate_sel: np.ndarray     # int64[lanes, ngates]: the row each gate picked for this bit
    gate_dot: np.ndarray     # int64[lanes, ...]: their dots, [votes,] the bias: the final mixer's inputs
    gate_p: np.ndarray       # int64[lanes, ngates]: their P(1)
    final_w: np.ndarray      # int32: the final mixer's weight sets


class Experiments(NamedTuple):
    """State of what only experiments use: the attention mixer (school/
    attention.py) and perturbations (experiments.py)."""
    attention: tuple
    order: np.ndarray        # int64[lanes, width]: each lane's input order
    order_span: np.ndarray   # int64[lanes]: the span it was drawn for
    shuffled: np.ndarray     # int32[lanes, width]: scratch


class Block(NamedTuple):
    """Everything one block's school holds while it codes (open_block)."""
    geometry: Geometry
    voters: voters.Voters
    history: History
    mixer: Mixer
    experiments: Experiments
    apms: tuple              # (order-1 APM, order-2 APM): school/apm.py
    coder: np.ndarray        # the range coder's state (codec/rangecoder.py)


def _new_mixer(lanes, nin, width, ngates, heads, cfg):
    # a gate's context selects a row: the gated mixer's weights, or the
    # attention mixer's query, gains and bias
    row = width if heads == 0 else row_width.py_func(heads)
    gate_base = np.zeros(ngates + 1, dtype=np.int64)
    for g in range(ngates):
        gate_base[g + 1] = gate_base[g] + GATE_SETS[cfg[C_GATE0 + g]] * row
    weights = np.full(gate_base[ngates] if heads == 0 else 0, (1 << 17) // nin, dtype=np.int32)
    # the final mixer's inputs: the gated mixers' dots, [votes,] the bias
    gate_dot = np.zeros((lanes, ngates + 1 + voters.FINAL_VOTES), dtype=np.int64)
    if cfg[C_FINAL_VOTES]:
        # starts as the gated mixers' average, deaf to the votes
        final_row = ngates + cfg[C_FINAL_COUNT] + 1
        final_w = np.zeros(FINAL_VOTE_SETS * final_row, dtype=np.int32)
        for k in range(FINAL_VOTE_SETS):
            final_w[k * final_row:k * final_row + ngates] = (1 << 16) // ngates
    else:
        final_w = np.full((ngates + 1) * 256, (1 << 16) // ngates, dtype=np.int32)
        for k in range(256):
            final_w[k * (ngates + 1) + ngates] = 0
    return Mixer(np.zeros((lanes, width), dtype=np.int32), gate_base, weights,
                 np.zeros((lanes, ngates), dtype=np.int64), gate_dot, np.zeros((lanes, ngates), dtype=np.int64),
                 final_w)


def open_block(buf, n, payload, decode, fish, cfg, tables, match_table):
    """Every array of a block's school, fresh; the decoder's coder primed."""
    lanes = cfg[C_LANES]
    starts, ends, seg = lane_starts(n, lanes)
    nin = cfg[C_VOTES] + 1
    width = padded(nin)
    ngates = cfg[C_NGATES]
    heads = cfg[C_ATT_HEADS]
    sets = 0
    for g in range(ngates):
        sets += GATE_SETS[cfg[C_GATE0 + g]]
    # perturbations (experiments only): each lane's input order, and the
    # span it was drawn for
    order = np.zeros((lanes, width), dtype=np.int64)
    for lane in range(lanes):
        order[lane] = np.arange(width)
    experiments = Experiments(new_attention(lanes, width, ngates, heads, sets if heads else 0), order,
                              np.full(lanes, -1, dtype=np.int64), np.zeros((lanes, width), dtype=np.int32))
    apm2_mask = (1 << min(cfg[C_APM2_BITS], context_fish.fit_bits(n) + 4)) - 1
    coder = new_state()
    if decode:
        decode_start(coder, payload)
    # per lane: the partial byte, the previous byte, the byte before, the
    # order-2 APM's context, the byte being coded (encoder)
    c0s, c1s, c2s, apm2_bytes, bytes_ = np.zeros((5, lanes), dtype=np.int64)
    hist, record = new_history(lanes, starts)
    return Block(Geometry(starts, ends, seg, 0, c0s, c1s, c2s, apm2_bytes, bytes_),
                 voters.new_states(n, lanes, fish, tables, match_table),
                 History(hist, record),
                 _new_mixer(lanes, nin, width, ngates, heads, cfg),
                 experiments,
                 (new_apm(256), new_apm(apm2_mask + 1)),
                 coder)

"""Blocks: the arrays a block's school needs, and the calls that code it.

A block is coded by one call of the loop in swim.py, which predicts, codes
and learns each bit (read its docstring first).  This module sets the block
up: where each fish's table lies (_layout), the school's fresh arrays
(open_block), and the coder's last bytes (close_block).

  code_block      any school, in one compiled call (costs too, for scoring)
  code_block_for  the same, by the loop compiled for the school's shape
                  (layout.structure): what compress and decompress run
                  for most schools (school/__init__.py)
  open_block, code_steps, close_block
                  a step at a time, for a school with a neural fish, which
                  runs outside compiled code

Tables are allocated by NumPy (new_tables), so the kernel can back them with
huge pages.
"""
import numpy as np

from ..codec.rangecoder import decode_end, decode_start, encode_flush, new_state
from ..fish.column import COLUMN_PREDICTORS, COLUMN_VOTES, column_new_state
from ..fish.contextmap import SLOT_BYTES
from ..fish.contexts import LANE_TABLE, new_history
from ..fish.match import new_match_state
from ..fish.statemap import new_statemap
from ..fish.tables import STATE_P0
from ..jit import njit
from .apm import new_apm
from .attention import new_attention, row_width
from .layout import (C_APM2_BITS, C_ATT_HEADS, C_COLUMN, C_FINAL_VOTES, C_GATE0, C_LANES, C_MATCH_BITS, C_NEURAL,
                     C_NGATES, C_RUNS, FINAL_VOTE_SETS, GATE_SETS, MATCH_INPUTS, mixer_inputs, padded_width,
                     side_votes)
from .swim import general_swim, make_swim

# From the first release on, bumped whenever a change alters any probability
# the school computes: the version is part of every preset's identity, so
# archives name it.  A preset names the oldest version that computes it as
# today (preset._model), so a bump that changes only some presets leaves the
# others' identity alone.  2: sparse fish that look 9 or more bytes back
# read within their lane (version 1 took a mask for the lane's start).
MODEL_VERSION = 2


def model_memory(fish: np.ndarray, cfg: np.ndarray) -> int:
    """Bytes of the large tables one block may use (at most: see fit_bits)."""
    tables = sum((1 << int(b)) * SLOT_BYTES for b in fish[:, 2])
    match = 4 << int(cfg[C_MATCH_BITS]) if cfg[C_MATCH_BITS] else 0
    apm = 33 * 2 * ((1 << int(cfg[C_APM2_BITS])) + 256)
    return tables + match + apm


def block_memory(n: int, fish: np.ndarray, cfg: np.ndarray) -> int:
    """Bytes that new_tables and open_block allocate for a block of n bytes,
    counted in Python from the preset alone, before anything is allocated:
    what a reader checks against its memory limit (school.decode_memory).
    Every array that grows with the preset or n is counted; the rest is a
    64 KiB allowance."""
    nf, lanes, fit = fish.shape[0], int(cfg[C_LANES]), fit_bits(n)
    tables = sum((1 << min(int(b), fit)) * SLOT_BYTES for b in fish[:, 2])
    match = 4 << min(int(cfg[C_MATCH_BITS]), fit) if cfg[C_MATCH_BITS] else 4
    width = padded_width(mixer_inputs(nf, cfg[C_MATCH_BITS] > 0, cfg[C_COLUMN] > 0, cfg[C_RUNS] > 0,
                                      cfg[C_NEURAL] > 0))
    ngates, heads = int(cfg[C_NGATES]), int(cfg[C_ATT_HEADS])
    sets = sum(int(GATE_SETS[cfg[C_GATE0 + g]]) for g in range(ngates))
    if heads:       # attention.new_attention: int64 parameters, per-lane work
        mixer = sets * row_width(heads) * 8 + lanes * width * (5 + 18 + ngates * heads) * 8
    else:
        mixer = sets * width * 4
    final = (FINAL_VOTE_SETS if cfg[C_FINAL_VOTES] else 256) * (ngates + 1 + MATCH_INPUTS + COLUMN_VOTES) * 4
    apm = 33 * 2 * (256 + (1 << min(int(cfg[C_APM2_BITS]), fit + 4)))
    per_lane = LANE_TABLE * 8 + width * (4 + 8 + 4) + nf * 24 + 1024
    return tables + match + mixer + final + apm + nf * 256 * 4 + lanes * per_lane + (64 << 10)


@njit(cache=True, nogil=True)
def _layout(n, fish, cfg):
    """Where each context fish's table starts in the one array that holds
    them all, its slots, and the match table's entries, for a block of n
    bytes.  A block touches at most 2n slots per fish: tables larger than
    that only cost time, so small blocks get small tables.  Both sides know
    n, so they agree."""
    nf = fish.shape[0]
    fit_bits = 12
    while (1 << fit_bits) < 2 * n and fit_bits < 30:
        fit_bits += 1
    base = np.zeros(nf + 1, dtype=np.int64)
    nslots = np.zeros(nf, dtype=np.int64)
    for i in range(nf):
        nslots[i] = 1 << min(fish[i, 2], fit_bits)
        base[i + 1] = base[i] + nslots[i] * SLOT_BYTES
    match_slots = 1 << min(cfg[C_MATCH_BITS], fit_bits) if cfg[C_MATCH_BITS] > 0 else 1
    return base, nslots, match_slots, fit_bits


def new_tables(n: int, fish: np.ndarray, cfg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The block's two large tables, zeroed: the context fish's slots and the
    match fish's index.  Allocated here, by NumPy, because NumPy asks the
    kernel for huge pages (madvise) and Numba's allocator does not: with
    4 KB pages nearly every slot lookup also misses the TLB."""
    base, _, match_slots, _ = _layout(n, fish, cfg)
    return np.zeros(int(base[-1]), dtype=np.uint8), np.zeros(int(match_slots), dtype=np.int32)


@njit(cache=True, nogil=True)
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


def fit_bits(n: int) -> int:
    """The table bits a block of n bytes is fitted to (as _layout counts them)."""
    return min(max(12, (2 * max(int(n), 1) - 1).bit_length()), 30)


def read_primer(shape, buf, n, fish, cfg, tables, match_table, primed):
    """A block's school, opened for n bytes, once it has read buf[:primed]
    (a primer) as if coding it, its code thrown away; shape None: by the
    general loop.  What it learnt depends on n only through fit_bits(n)
    (table sizes) and the block's end, which code_after_primer sets, so a
    copy of it serves every block of that fit (school._Snapshot).  None if
    its code outgrew the room it is given (-1 for the block, as any coder
    out of room)."""
    school = open_block(buf, n, NO_PAYLOAD, False, fish, cfg, tables, match_table)
    geometry, context_fish, history, match, column, mixer, attention, perturb, apms, coder = school
    swim = _swim_for(shape)
    if swim(buf, n, _primer_room(primed), False, fish, cfg, coder, NO_COST, geometry, context_fish, history, match,
            column, mixer, attention, perturb, apms, 0, primed, NO_NEURAL) < 0:
        return None
    return school


def code_after_primer(shape, school, buf, n, payload, decode, fish, cfg, cost, primed):
    """Code buf[primed:n] (or decode payload into it) with a one-lane school
    that has read buf[:primed] (read_primer; a copy of it will do): bytes
    written or consumed, -1 if out of room.  shape None: the general loop,
    which also fills cost."""
    geometry, context_fish, history, match, column, mixer, attention, perturb, apms, coder = school
    geometry[1][0] = n                         # the block ends here (one lane: seg = n)
    geometry = geometry[:2] + (n,) + geometry[3:]
    restart_coder(coder, payload, decode)
    swim = _swim_for(shape)
    written = swim(buf, n, payload, decode, fish, cfg, coder, cost if shape is None else NO_COST, geometry,
                   context_fish, history, match, column, mixer, attention, perturb, apms, primed, n, NO_NEURAL)
    return close_block((geometry, context_fish, history, match, column, mixer, attention, perturb, apms, coder),
                       payload, decode, written)


def code_block_for(shape, buf, n, payload, decode, fish, cfg, tables, match_table, primed=0):
    """code_block (without costs) by the loop compiled for shape, which must
    be layout.structure(fish, cfg).  The first call for a shape compiles it
    (tens of seconds; then cached on disk like the rest)."""
    if primed > 0:
        school = read_primer(shape, buf, n, fish, cfg, tables, match_table, primed)
        if school is None:
            return -1
        return code_after_primer(shape, school, buf, n, payload, decode, fish, cfg, NO_COST, primed)
    school = open_block(buf, n, payload, decode, fish, cfg, tables, match_table)
    geometry, context_fish, history, match, column, mixer, attention, perturb, apms, coder = school
    written = _swim_for(shape)(buf, n, payload, decode, fish, cfg, coder, NO_COST, geometry, context_fish, history,
                               match, column, mixer, attention, perturb, apms, 0, geometry[2], NO_NEURAL)
    return close_block(school, payload, decode, written)


@njit(cache=True, nogil=True)
def _primer_room(primed):
    """Where the primer's code goes (and is forgotten): room enough for
    text, and a primer is text."""
    return np.empty(2 * primed + 64, dtype=np.uint8)


@njit(cache=True, nogil=True)
def restart_coder(coder, payload, decode):
    """The coder as a block starts it (after a primer was read)."""
    coder[:] = new_state()
    if decode:
        decode_start(coder, payload)


@njit(cache=True, nogil=True)
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
    school = open_block(buf, n, payload, decode and primed == 0, fish, cfg, tables, match_table)
    if primed > 0:
        if code_steps(buf, n, _primer_room(primed), False, fish, cfg, cost, school, 0, primed, NO_NEURAL) < 0:
            return -1
        restart_coder(school[-1], payload, decode)
    written = code_steps(buf, n, payload, decode, fish, cfg, cost, school, primed, school[0][2], NO_NEURAL)
    return close_block(school, payload, decode, written)


@njit(cache=True, nogil=True)
def close_block(school, payload, decode, written):
    """What code_block returns, once every step is coded."""
    coder = school[-1]
    if written < 0:
        return written
    if decode:
        return decode_end(coder, payload)
    if not encode_flush(coder, payload):
        return -1
    return coder[3]


@njit(cache=True, nogil=True)
def code_steps(buf, n, payload, decode, fish, cfg, cost, school, step_lo, step_hi, neural):
    """Code steps step_lo .. step_hi - 1 of an open block (a step is one byte
    of every lane); neural: int64[lanes, 257], the cumulative frequencies of
    the neural fish's distribution for each lane's byte (one step at a time
    then), or an empty array.  Returns the coder's position, -1 when out of
    room."""
    geometry, context_fish, history, match, column, mixer, attention, perturb, apms, coder = school
    return general_swim(buf, n, payload, decode, fish, cfg, coder, cost, geometry, context_fish, history, match,
                        column, mixer, attention, perturb, apms, step_lo, step_hi, neural)


@njit(cache=True, nogil=True)
def open_block(buf, n, payload, decode, fish, cfg, tables, match_table):
    """Every array of a block's school, fresh; the decoder's coder primed."""
    nf = fish.shape[0]
    lanes = cfg[C_LANES]
    starts, ends, seg = lane_starts(n, lanes)
    base, nslots, _, fit_bits = _layout(n, fish, cfg)
    slot = np.zeros((lanes, nf), dtype=np.int64)
    hashes = np.zeros((lanes, nf), dtype=np.int64)
    states = np.zeros((lanes, nf), dtype=np.int64)
    sm = np.zeros(nf * 256, dtype=np.int32)
    for i in range(nf):
        sm[i * 256:(i + 1) * 256] = new_statemap(STATE_P0)
    hist, record = new_history(lanes, starts)

    use_match = cfg[C_MATCH_BITS] > 0
    match_state = new_match_state(lanes)
    match_sm = new_statemap(np.full(64, 32768, dtype=np.int32))

    use_column = cfg[C_COLUMN] > 0
    col_state, col_pred = column_new_state(lanes)
    col_sm = new_statemap(np.full(COLUMN_PREDICTORS * 64, 32768, dtype=np.int32))
    col_idx = np.zeros((lanes, COLUMN_VOTES), dtype=np.int64)

    nin = mixer_inputs(nf, use_match, use_column, cfg[C_RUNS] > 0, cfg[C_NEURAL] > 0)
    width = padded_width(nin)
    x = np.zeros((lanes, width), dtype=np.int32)

    ngates = cfg[C_NGATES]
    heads = cfg[C_ATT_HEADS]
    # a gate's context selects a row: the gated mixer's weights, or the
    # attention mixer's query, gains and bias
    row = width if heads == 0 else row_width(heads)
    gate_base = np.zeros(ngates + 1, dtype=np.int64)
    for g in range(ngates):
        gate_base[g + 1] = gate_base[g] + GATE_SETS[cfg[C_GATE0 + g]] * row
    weights = np.full(gate_base[ngates] if heads == 0 else 0, (1 << 17) // nin, dtype=np.int32)
    attention = new_attention(lanes, width, ngates, heads, gate_base[ngates] // row if heads else 0)
    # perturbations (experiments only): each lane's input order, and the
    # span it was drawn for
    order = np.zeros((lanes, width), dtype=np.int64)
    for lane in range(lanes):
        order[lane] = np.arange(width)
    order_span = np.full(lanes, -1, dtype=np.int64)
    shuffled = np.zeros((lanes, width), dtype=np.int32)
    gate_sel = np.zeros((lanes, ngates), dtype=np.int64)
    # the final mixer's inputs: the gated mixers' dots, [votes,] the bias
    gate_dot = np.zeros((lanes, ngates + 1 + MATCH_INPUTS + COLUMN_VOTES), dtype=np.int64)
    gate_p = np.zeros((lanes, ngates), dtype=np.int64)
    if cfg[C_FINAL_VOTES]:
        # starts as the gated mixers' average, deaf to the votes
        final_row = ngates + side_votes(use_match, use_column) + 1
        final_w = np.zeros(FINAL_VOTE_SETS * final_row, dtype=np.int32)
        for k in range(FINAL_VOTE_SETS):
            final_w[k * final_row:k * final_row + ngates] = (1 << 16) // ngates
    else:
        final_w = np.full((ngates + 1) * 256, (1 << 16) // ngates, dtype=np.int32)
        for k in range(256):
            final_w[k * (ngates + 1) + ngates] = 0

    apm1 = new_apm(256)
    apm2_mask = (1 << min(cfg[C_APM2_BITS], fit_bits + 4)) - 1
    apm2 = new_apm(apm2_mask + 1)

    coder = new_state()
    if decode:
        decode_start(coder, payload)
    # per lane: the partial byte, the previous byte, the order-2 APM's
    # context, the byte being coded (encoder)
    c0s, c1s, c2s, apm2_bytes, bytes_ = np.zeros((5, lanes), dtype=np.int64)
    return ((starts, ends, seg, c0s, c1s, c2s, apm2_bytes, bytes_),
            (tables, base, nslots, slot, hashes, states, sm),
            (hist, record),
            (match_table, match_state, match_sm),
            (col_state, col_pred, col_sm, col_idx),
            (x, gate_base, weights, gate_sel, gate_dot, gate_p, final_w),
            attention,
            (order, order_span, shuffled),
            (apm1, apm2),
            coder)



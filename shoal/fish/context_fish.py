"""The context fish as voters: their tables, votes and learning.

Every context fish (order-k, sparse, word, record, text column, indirect:
what each one hashes is contexts.py) works alike.  Once per byte it hashes
its context; once per nibble it finds its slot of bit histories in its own
part of one shared table (contextmap.py).  For each bit it looks up the
bit-history state at the nibble's node, turns it into P(1) with its own
StateMap and votes stretch(P); with the preset's mixer.runs it also votes
the run its history holds when only one bit value was seen (STATE_RUN: a
second opinion, in the linear domain, that the StateMap rounds away).  After
the bit, the state steps to its successor and the StateMap learns.

The fish also tell the mixer's gates how many of them have seen their
context before (`known`: a proxy for the longest known order).

This module follows the voter contract of fish/voters.py.
"""
from typing import NamedTuple

import numpy as np

from ..jit import into_general_loop, njit
from .contextmap import SLOT_BYTES, find_slot, nibble_hash, nibble_node, prefetch_slot
from .contexts import KINDS as _CONTEXT_KINDS
from .contexts import context_hash
from .entry import check_int, check_keys, check_only
from .statemap import new_statemap, sm_p12, sm_update
from .tables import STATE_N0, STATE_N1, STATE_NEXT, STATE_P0, STRETCH, U

KINDS = tuple(_CONTEXT_KINDS)
FINAL = False         # their votes reach the final mixer only through the gated mixers
SETTINGS = ()         # their settings are the fish array's rows and mixer.runs
# Bounds on what a preset (and so an archive) may ask for: an order-k fish
# hashes k bytes per byte; a table has 2^bits slots of 16 bytes.
MAX_ORDER = 64
MAX_ARG = 1 << 16
BITS_RANGE = (4, 26)
# mode: 1, or 2 with mixer.runs (a run vote beside each fish's vote)
PLAIN, WITH_RUNS = 1, 2

# The run vote of a bit-history state (mixer.runs): +-64 per repeat of the
# only bit value seen, up to 15; 0 for mixed or empty histories.
STATE_RUN = np.where(STATE_N0 == 0, np.minimum(STATE_N1, 15) * 64,
                     np.where(STATE_N1 == 0, -np.minimum(STATE_N0, 15) * 64, 0)).astype(np.int32)


class ContextFish(NamedTuple):
    tables: np.ndarray    # uint8: every fish's slots, one part per fish
    base: np.ndarray      # int64[nf + 1]: where each fish's part starts
    nslots: np.ndarray    # int64[nf]: its slots (a power of two)
    slot: np.ndarray      # int64[lanes, nf]: each fish's slot for the current nibble
    hashes: np.ndarray    # int64[lanes, nf]: its context hash for the current byte
    states: np.ndarray    # int64[lanes, nf]: the bit-history state it voted from
    sm: np.ndarray        # int32[nf * 256]: each fish's StateMap


def read(entry: dict, carried: bool) -> dict:
    """A preset's context-fish entry, checked, in canonical form."""
    kind = entry["kind"]
    check_keys(entry, {"kind", "arg", "bits", "only"}, f"fish {kind}")
    most = MAX_ORDER if kind == "order" else MAX_ARG
    out = {"kind": kind, "arg": check_int(entry.get("arg", 0), f"{kind}.arg", 0, most),
           "bits": check_int(entry.get("bits", 20), f"{kind}.bits", *BITS_RANGE)}
    only = check_only(entry.get("only", "any"), kind)
    if only != "any":
        out["only"] = only              # only then in the canonical form
    return out


def settings(spec: dict, entries: list[dict], school_kind: str) -> tuple:
    """(mode,): the context fish's settings are the fish array's rows."""
    return (WITH_RUNS if spec["mixer"]["runs"] else PLAIN,)


def inputs(mode: int, nf: int) -> int:
    """The mixer inputs the nf context fish send."""
    return nf * (2 if mode == WITH_RUNS else 1)


def fit_bits(n):
    """A block touches at most 2n slots per fish: tables larger than that
    only cost time, so a block of n bytes gets tables of at most 2^fit_bits
    slots (from 2^12 to 2^30).  Both sides know n, so they agree."""
    return min(max(12, (2 * max(int(n), 1) - 1).bit_length()), 30)


def layout(n, fish):
    """Where each fish's part of the shared table starts (base[i], in bytes;
    base[nf] is the whole table's size) and its slots, for a block of n bytes."""
    nf = fish.shape[0]
    fit = fit_bits(n)
    base = np.zeros(nf + 1, dtype=np.int64)
    nslots = np.zeros(nf, dtype=np.int64)
    for i in range(nf):
        nslots[i] = 1 << min(fish[i, 2], fit)
        base[i + 1] = base[i] + nslots[i] * SLOT_BYTES
    return base, nslots


def new_state(n, lanes, fish, tables):
    """The context fish of a block of n bytes; tables: zeroed, layout(n, fish)[0][-1] bytes."""
    nf = fish.shape[0]
    base, nslots = layout(n, fish)
    sm = np.zeros(nf * 256, dtype=np.int32)
    for i in range(nf):
        sm[i * 256:(i + 1) * 256] = new_statemap(STATE_P0)
    return ContextFish(tables, base, nslots, np.zeros((lanes, nf), dtype=np.int64),
                       np.zeros((lanes, nf), dtype=np.int64), np.zeros((lanes, nf), dtype=np.int64), sm)


@njit(cache=True, nogil=True, inline=into_general_loop)
def any_of_kind(fish, kind):
    """Whether some context fish is of this kind (contexts.py)."""
    for i in range(fish.shape[0]):
        if fish[i, 0] == kind:
            return True
    return False


@njit(cache=True, nogil=True, inline=into_general_loop)
def hash_byte(st, lane, kinds, nf, h, record, buf, pos, lo):
    """Every fish's hash for the byte at pos, and a request for the bucket
    each will search (the tables' likeliest cache misses)."""
    for i in range(nf):
        st.hashes[lane, i] = context_hash(kinds[i, 0], kinds[i, 1], h, record, buf, pos, lo)
        prefetch_slot(st.tables, st.base[i], st.nslots[i], st.hashes[lane, i])


@njit(cache=True, nogil=True, inline=into_general_loop)
def vote(st, lane, mode, nf, xs, at, c0, bitpos):
    """Each fish's vote (and run vote) at xs[at...]; returns how many fish
    have seen their context before."""
    slot = st.slot[lane]
    states = st.states[lane]
    hashes = st.hashes[lane]
    if bitpos == 0 or bitpos == 4:
        for i in range(nf):
            hh = hashes[i] if bitpos == 0 else nibble_hash(hashes[i], c0)
            slot[i] = find_slot(st.tables, st.base[i], st.nslots[i], hh)
    elif bitpos == 3:
        # the second nibble's bucket is one of two: ask for both
        for i in range(nf):
            prefetch_slot(st.tables, st.base[i], st.nslots[i], nibble_hash(hashes[i], c0 * 2))
            prefetch_slot(st.tables, st.base[i], st.nslots[i], nibble_hash(hashes[i], c0 * 2 + 1))
    node = nibble_node(c0, bitpos)
    known = 0
    k = at
    for i in range(nf):
        s = st.tables[U(slot[U(i)] + node)]
        states[U(i)] = s
        if s != 0:
            known += 1
        xs[U(k)] = STRETCH[U(sm_p12(st.sm, i * 256 + s))]
        k += 1
        if mode == WITH_RUNS:
            xs[U(k)] = STATE_RUN[U(s)]
            k += 1
    return known


@njit(cache=True, nogil=True, inline=into_general_loop)
def learn(st, lane, nf, bit, c0, bitpos, limit):
    """Each fish's state steps on, and its StateMap learns (counts up to limit)."""
    slot = st.slot[lane]
    states = st.states[lane]
    node = nibble_node(c0, bitpos)
    for i in range(nf):
        s = states[U(i)]
        st.tables[U(slot[U(i)] + node)] = STATE_NEXT[U(s), U(bit)]
        sm_update(st.sm, i * 256 + s, bit, limit)

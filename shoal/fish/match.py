"""Match fish: if the last few bytes occurred before, bet on what came next then.

A hash of the last `min_len` bytes indexes a table of positions in the block.
When the current match is lost, the fish looks the hash up, checks how many
bytes really agree backwards, and follows that earlier occurrence while it
keeps predicting right.  The table is far larger than the caches, so the
slot for the newest hash is only prefetched at one byte boundary and read at
the next: a candidate must then also agree on the byte that followed, which
costs a byte of delay in finding a match and saves a cache miss per byte.
Its prediction for the next bit is the matching
bit of the byte that followed; how much to trust it is learnt by a StateMap
indexed by the match length (bucketed) and the predicted bit.  A mispredicted
bit ends the match until the next byte boundary.

It votes twice: stretch(P) from that StateMap, and the predicted bit's sign
times the match length (capped at 32); silent (0, 0) without a match.  It
tells the mixer's gates the match length and the bit it predicts.  This
module follows the voter contract of fish/voters.py.
"""
from typing import NamedTuple

import numpy as np

from ..jit import into_general_loop, njit
from .contexts import H_C4, H_C8, combine, hash3, predicted_bit
from .entry import check_int, check_keys
from .prefetch import prefetch
from .statemap import COUNT_LIMIT, new_statemap, sm_p12, sm_update
from .tables import STRETCH

KINDS = ("match",)
FINAL = True                     # with mixer.final: votes the final mixer hears it too
SETTINGS = ("bits", "min_len")   # the table's size (2^bits entries) and the shortest match
VOTES = 2
BITS_RANGE = (4, 26)
# per lane: PENDING: a hash prefetched, not yet read; SM_AT: the StateMap
# entry this bit's vote came from (-1: none)
PTR, LENGTH, PREDICTED, PENDING, SM_AT = range(5)
MAX_VERIFY = 48


class MatchFish(NamedTuple):
    table: np.ndarray     # int32[2^bits]: the position after each hash's last occurrence
    state: np.ndarray     # int64[lanes, 5]: PTR, LENGTH, PREDICTED, PENDING, SM_AT
    sm: np.ndarray        # int32[64]: confidence by length bucket and predicted bit


def read(entry: dict, carried: bool) -> dict:
    """A preset's match-fish entry, checked, in canonical form."""
    check_keys(entry, {"kind", "min_len", "bits"}, "fish match")
    return {"kind": "match", "min_len": check_int(entry.get("min_len", 6), "match.min_len", 2, 64),
            "bits": check_int(entry.get("bits", 20), "match.bits", *BITS_RANGE)}


def settings(spec: dict, entries: list[dict], school_kind: str) -> tuple:
    """(mode, bits, min_len): mode 1 when the school has a match fish."""
    return (1, entries[0]["bits"], entries[0]["min_len"]) if entries else (0, 0, 0)


def inputs(mode: int, nf: int) -> int:
    return VOTES if mode else 0


def table_size(n_fit_bits, bits):
    """Entries of the match table for a block whose tables fit n_fit_bits."""
    return 1 << min(bits, n_fit_bits) if bits > 0 else 1


def new_state(lanes, table):
    """The match fish of a block; table: zeroed, table_size() entries."""
    state = np.zeros((lanes, 5), dtype=np.int64)
    state[:, PENDING] = -1
    return MatchFish(table, state, new_statemap(np.full(64, 32768, dtype=np.int32)))


@njit(cache=True, nogil=True, inline=into_general_loop)
def at_byte(st, lane, min_len, buf, n, pos, hist, lo, origin, seg, step):
    """At each byte of a lane but its first: extend or look for a match."""
    if pos > lo:
        match_update(st.table, st.state[lane], buf, n, pos, min_len, hist, lo, origin, seg, step)


@njit(cache=True, nogil=True, inline=into_general_loop)
def vote(st, lane, xs, at, c0, bitpos):
    """Its two votes at xs[at], xs[at + 1]; returns (length, predicted bit)
    for the gates: (0, -1) without a match."""
    state = st.state[lane]
    bit = match_expected_bit(state, c0, bitpos)
    if bit >= 0:
        i = length_bucket(state[LENGTH]) * 2 + bit
        state[SM_AT] = i
        xs[at] = STRETCH[sm_p12(st.sm, i)]
        xs[at + 1] = (2 * bit - 1) * min(state[LENGTH], 32) * 32
        return state[LENGTH], bit
    state[SM_AT] = -1
    xs[at] = 0
    xs[at + 1] = 0
    return 0, -1


@njit(cache=True, nogil=True, inline=into_general_loop)
def learn(st, lane, bit):
    i = st.state[lane, SM_AT]
    if i >= 0:
        sm_update(st.sm, i, bit, COUNT_LIMIT)


@njit(cache=True, nogil=True, inline=into_general_loop)
def length_bucket(length):
    """0 for no match, then 1..15 growing roughly logarithmically."""
    if length == 0:
        return 0
    if length < 16:
        return (length + 1) >> 1  # 1..8
    if length < 32:
        return 9 + ((length - 16) >> 3)  # 9..10
    if length < 64:
        return 11
    if length < 128:
        return 12
    if length < 256:
        return 13
    if length < 512:
        return 14
    return 15


@njit(cache=True, nogil=True, inline=into_general_loop)
def _known(q, n, origin, seg, step):
    """Whether byte q of an n-byte block is known (coded, or decoded) once
    its lanes of seg bytes, from byte `origin` on, have all coded `step`
    bytes; the bytes before origin (a primer the lanes' school read first:
    school/engine.lanes_after_primer) are known.  The last lane may be shorter than
    seg: the bytes it lacks (q >= n) are never known."""
    return q < n and (q < origin or (q - origin) % seg < step)


@njit(cache=True, nogil=True, inline=into_general_loop)
def match_update(table, state, buf, n, pos, min_len, hist, lo, origin, seg, step):
    """At a byte boundary of a lane that starts at lo, in a block of n bytes:
    extend, or look for, a match.  The table is shared by the lanes, and an
    earlier occurrence may lie in any of them, so the fish follows it only
    while the byte it predicts is known (_known)."""
    length = state[LENGTH]
    ptr = state[PTR]
    if length > 0 and buf[ptr] == buf[pos - 1] and _known(ptr + 1, n, origin, seg, step):
        length += 1
        ptr += 1
    else:
        length = 0
    pending = state[PENDING]
    if pending >= 0:
        # the slot prefetched one byte ago: bytes ending at pos - 1
        if length == 0:
            cand = table[pending]            # just after an earlier occurrence
            if cand > 0 and buf[cand] == buf[pos - 1] and _known(cand + 1, n, origin, seg, step):
                # agreeing backwards, within the candidate's lane (with the
                # primer before the first) and ours
                back = min(cand if cand < origin + seg else (cand - origin) % seg, pos - 1 - lo)
                cand += 1
                n = 0
                while n < MAX_VERIFY and n <= back and buf[cand - 1 - n] == buf[pos - 1 - n]:
                    n += 1
                if n >= min_len:
                    length = n
                    ptr = cand
        table[pending] = pos - 1
    state[PENDING] = -1
    if pos - lo >= min_len:
        if min_len <= 4:
            h = hash3(hist[H_C4] & ((1 << (8 * min_len)) - 1), min_len, 0)
        elif min_len <= 8:
            h = hash3(hist[H_C4], hist[H_C8] & ((1 << (8 * (min_len - 4))) - 1), min_len)
        else:
            h = hash3(hist[H_C4], hist[H_C8], min_len)
            for d in range(9, min_len + 1):
                h = combine(h, buf[pos - d])
        h &= table.shape[0] - 1
        prefetch(table, h)
        state[PENDING] = h
    state[LENGTH] = length
    state[PTR] = ptr
    state[PREDICTED] = buf[ptr] if length > 0 else 0


@njit(cache=True, nogil=True, inline=into_general_loop)
def match_expected_bit(state, c0, bitpos):
    """-1 if the match has no opinion, else the bit it predicts."""
    if state[LENGTH] == 0:
        return -1
    bit = predicted_bit(state[PREDICTED], c0, bitpos)
    if bit < 0:
        state[LENGTH] = 0
    return bit

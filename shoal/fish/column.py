"""Column / delta fish: learns arithmetic progressions, so that a sequence
stores as its rule.

It runs several small predictors of the next byte, each one a guess at how
the data is laid out, and votes (per input) with the byte it predicts and how
long that predictor has been right:

  LE2, LE4, LE8, BE2, BE4   fixed-width integers (little/big endian): the
        next value is v[-1] + (v[-1] - v[-2]); the byte at this position is
        that value's byte.  The record's alignment is unknown, so every phase
        is tracked and the one with the longest run of hits speaks.
  RECORD  byte-wise delta down a column of r-byte records (r from the record
        detector in contexts.py): 2 * above - above-above.
  DECIMAL numbers written in text: for the k-th number of a line, the next
        one is last[k] + (last[k] - previous[k]), followed by the same byte
        that ended it last time; the fish spells that out digit by digit.

Each predictor's confidence is learnt by a StateMap indexed by its run of
hits (capped) and the bit it predicts (see school/swim.py).  A predictor
whose byte disagrees with the bits already coded falls silent for the rest
of the byte.  Only the two predictors with the longest current runs vote,
which keeps the mixer small.  Integer arithmetic only.

The five fixed-width predictors are most of the fish's cost (twenty phases
tracked at every byte) and rarely help text: a preset can keep them to
binary blocks (column.integers), and text then keeps RECORD and DECIMAL.

It tells the mixer's gates the longest run among its voters and the bit
that one predicts.  This module follows the voter contract of
fish/voters.py.
"""
from typing import NamedTuple

import numpy as np

from ..errors import ShoalError
from ..jit import into_general_loop, njit
from .contexts import H_RLEN, predicted_bit
from .entry import ONLY, check_keys, check_only
from .statemap import COUNT_LIMIT, new_statemap, sm_p12, sm_update
from .tables import STRETCH, U

KINDS = ("column",)
FINAL = True                      # with mixer.final: votes the final mixer hears it too
SETTINGS = ()
# mode: the whole fish, or the fish without its fixed-width integer
# predictors (a text school of a preset with column.integers: binary)
FULL, SMALL = 1, 2

LE2, LE4, LE8, BE2, BE4, RECORD, DECIMAL = range(7)
COLUMN_PREDICTORS = 7
COLUMN_VOTES = 2                  # the predictors with the longest runs speak
_WIDTHS = np.array([2, 4, 8, 2, 4], dtype=np.int64)
_BIG_ENDIAN = np.array([0, 0, 0, 1, 1], dtype=np.int64)
_PHASE_START = np.array([0, 2, 6, 14, 16, 20], dtype=np.int64)
PHASES = 20
MAX_FIELDS = 16
MAX_DIGITS = 18
SPELL_BYTES = MAX_DIGITS + 2

# layout of the state array
_PH_RUN = 0                       # run of hits of each phase predictor
_PH_PRED = _PH_RUN + PHASES       # its prediction for the current byte (-1: none)
_RUN = _PH_PRED + PHASES          # run of hits of each input
_DEC_LAST = _RUN + COLUMN_PREDICTORS  # per field: last value
_DEC_PREV = _DEC_LAST + MAX_FIELDS
_DEC_COUNT = _DEC_PREV + MAX_FIELDS
_DEC_TERM = _DEC_COUNT + MAX_FIELDS
_DEC_SPELL = _DEC_TERM + MAX_FIELDS        # per field: its next number, spelt out
_DEC_SPELL_LEN = _DEC_SPELL + SPELL_BYTES * MAX_FIELDS
_DEC_FIELD = _DEC_SPELL_LEN + MAX_FIELDS   # which number of the line comes next
_DEC_IN_NUM = _DEC_FIELD + 1
_DEC_VALUE = _DEC_IN_NUM + 1
_DEC_DIGITS = _DEC_VALUE + 1
_DEC_EXP_FIELD = _DEC_DIGITS + 1           # the spelling being followed...
_DEC_EXP_POS = _DEC_EXP_FIELD + 1          # ...and how far (-1: none)
_TOP = _DEC_EXP_POS + 1           # the voting predictors, best first (-1: none)
_PH_REC = _TOP + COLUMN_VOTES     # per phase: its predicted current record, as an integer
_STATE_SIZE = _PH_REC + PHASES


def column_new_state(lanes):
    """(state, predictions) per lane: predictions[k, j] is input j's byte in
    lane k, -1 for none."""
    state = np.zeros((lanes, _STATE_SIZE), dtype=np.int64)
    for k in range(PHASES):
        state[:, _PH_PRED + k] = -1
    state[:, _DEC_EXP_POS] = -1
    return state, np.full((lanes, COLUMN_PREDICTORS), -1, dtype=np.int64)


class ColumnFish(NamedTuple):
    state: np.ndarray     # int64[lanes, _STATE_SIZE]: the predictors' runs and memory
    pred: np.ndarray      # int64[lanes, COLUMN_PREDICTORS]: each one's byte (-1: none)
    sm: np.ndarray        # int32[COLUMN_PREDICTORS * 64]: confidence by run bucket and bit
    sm_at: np.ndarray     # int64[lanes, COLUMN_VOTES]: the entry each vote came from (-1: none)


def read(entry: dict, carried: bool) -> dict:
    """A preset's column-fish entry, checked, in canonical form."""
    check_keys(entry, {"kind", "integers", "only"}, "fish column")
    integers = entry.get("integers", "any")
    if integers not in ("any", "binary"):
        raise ShoalError(f"preset: column.integers must be any or binary, got {integers!r}")
    only = check_only(entry.get("only", "any"), "column")
    # integers: any and only: any are left out of the canonical form
    out = {"kind": "column"} if integers == "any" else {"kind": "column", "integers": integers}
    return out if only == "any" else dict(out, only=only)


def settings(spec: dict, entries: list[dict], school_kind: str) -> tuple:
    """(mode,): 0 without a column fish, else FULL or SMALL (see above)."""
    if not entries:
        return (0,)
    return (SMALL if school_kind in ONLY["text"] and entries[0].get("integers") == "binary" else FULL,)


def inputs(mode: int, nf: int) -> int:
    return COLUMN_VOTES if mode else 0


def new_state(lanes):
    state, pred = column_new_state(lanes)
    return ColumnFish(state, pred, new_statemap(np.full(COLUMN_PREDICTORS * 64, 32768, dtype=np.int32)),
                      np.zeros((lanes, COLUMN_VOTES), dtype=np.int64))


@njit(cache=True, nogil=True, inline=into_general_loop)
def at_byte(st, lane, mode, buf, pos, hist, lo):
    column_update(st.state[lane], st.pred[lane], buf, pos, hist, lo, mode == FULL)


@njit(cache=True, nogil=True, inline=into_general_loop)
def vote(st, lane, xs, at, c0, bitpos):
    """Its votes at xs[at...]; returns (run bucket, predicted bit) of the
    surest voter for the gates: (0, -1) when none speaks."""
    state = st.state[lane]
    sm_at = st.sm_at[lane]
    best_bucket = 0
    best_bit = -1
    for v in range(COLUMN_VOTES):
        j = column_voter(state, v)
        bit = column_expected(st.pred[lane], j, c0, bitpos) if j >= 0 else -1
        if bit >= 0:
            bucket = column_run_bucket(state, j)
            sm_at[v] = j * 64 + bucket * 2 + bit
            xs[at + v] = STRETCH[sm_p12(st.sm, sm_at[v])]
            if bucket > best_bucket:
                best_bucket = bucket
                best_bit = bit
        else:
            sm_at[v] = -1
            xs[at + v] = 0
    return best_bucket, best_bit


@njit(cache=True, nogil=True, inline=into_general_loop)
def learn(st, lane, bit):
    for v in range(COLUMN_VOTES):
        if st.sm_at[lane, v] >= 0:
            sm_update(st.sm, st.sm_at[lane, v], bit, COUNT_LIMIT)


@njit(cache=True, nogil=True, inline=into_general_loop)
def _bump(state, at, hit):
    state[U(at)] = min(state[U(at)] + 1, 255) if hit else 0


@njit(cache=True, nogil=True, inline=into_general_loop)
def _byte_shift(b, width, big_endian):
    """Where byte b of a width-byte record lies in its integer value."""
    return 8 * (width - 1 - b) if big_endian else 8 * b


@njit(cache=True, nogil=True, inline=into_general_loop)
def _predict_record(state, k, buf, start, width, big_endian):
    """Predict the record that starts at `start` under phase k: 2*v1 - v2
    (its bytes are read out of the integer as they come)."""
    v1 = 0
    v2 = 0
    for b in range(width):
        shift = _byte_shift(b, width, big_endian)
        v1 |= np.int64(buf[U(start - width + b)]) << shift
        v2 |= np.int64(buf[U(start - 2 * width + b)]) << shift
    state[U(_PH_REC + k)] = 2 * v1 - v2


@njit(cache=True, nogil=True)
def _decimal_spell(state, f):
    """Spell out field f's expected next number and terminator (once per
    number seen, so following it costs nothing per byte)."""
    at = _DEC_SPELL + SPELL_BYTES * f
    state[_DEC_SPELL_LEN + f] = 0
    if state[_DEC_COUNT + f] < 2:
        return
    nxt = 2 * state[_DEC_LAST + f] - state[_DEC_PREV + f]
    if nxt < 0 or nxt >= 10 ** MAX_DIGITS:
        return
    digits = 0
    while True:                      # least significant digit first...
        state[at + digits] = 48 + nxt % 10
        nxt //= 10
        digits += 1
        if nxt == 0:
            break
    for i in range(digits // 2):     # ...then reversed
        t = state[at + i]
        state[at + i] = state[at + digits - 1 - i]
        state[at + digits - 1 - i] = t
    state[at + digits] = state[_DEC_TERM + f]
    state[_DEC_SPELL_LEN + f] = digits + 1


@njit(cache=True, nogil=True, inline=into_general_loop)
def _decimal_arm(state):
    """Expect the current field's next number from here on, if it has one."""
    f = state[_DEC_FIELD]
    if f < MAX_FIELDS and state[_DEC_SPELL_LEN + f] > 0:
        state[_DEC_EXP_FIELD] = f
        state[_DEC_EXP_POS] = 0
    else:
        state[_DEC_EXP_POS] = -1


@njit(cache=True, nogil=True, inline=into_general_loop)
def _decimal_expected(state):
    """The byte the decimal predictor expects next (-1: none)."""
    ep = state[_DEC_EXP_POS]
    if ep < 0:
        return -1
    return state[_DEC_SPELL + SPELL_BYTES * state[_DEC_EXP_FIELD] + ep]


@njit(cache=True, nogil=True)
def _decimal_update(state, c):
    """Fold in byte c; return whether the expectation predicted it."""
    expected = _decimal_expected(state)
    hit = expected == c
    if expected >= 0:
        ep = state[_DEC_EXP_POS] + 1
        length = state[_DEC_SPELL_LEN + state[_DEC_EXP_FIELD]]
        state[_DEC_EXP_POS] = ep if hit and ep < length else -1
    if 48 <= c <= 57:
        if state[_DEC_IN_NUM] == 0:
            state[_DEC_IN_NUM] = 1
            state[_DEC_VALUE] = 0
            state[_DEC_DIGITS] = 0
        if state[_DEC_DIGITS] < MAX_DIGITS:
            state[_DEC_VALUE] = state[_DEC_VALUE] * 10 + (c - 48)
        state[_DEC_DIGITS] += 1
        return hit
    if state[_DEC_IN_NUM]:
        state[_DEC_IN_NUM] = 0
        f = state[_DEC_FIELD]
        if f < MAX_FIELDS:
            if state[_DEC_DIGITS] <= MAX_DIGITS:
                state[_DEC_PREV + f] = state[_DEC_LAST + f]
                state[_DEC_LAST + f] = state[_DEC_VALUE]
                state[_DEC_COUNT + f] += 1
            else:
                state[_DEC_COUNT + f] = 0
            state[_DEC_TERM + f] = c
            _decimal_spell(state, f)
        state[_DEC_FIELD] = f + 1
    if c == 10:
        state[_DEC_FIELD] = 0
    if state[_DEC_EXP_POS] < 0:
        _decimal_arm(state)
    return hit


@njit(cache=True, nogil=True, inline=into_general_loop)
def column_update(state, pred, buf, pos, hist, lo, integers):
    """At a byte boundary of a lane that starts at lo: score the last
    predictions, make the next ones.  Without `integers` the fixed-width
    integer predictors stay silent (and cost nothing)."""
    if pos > lo:
        c = buf[pos - 1]
        if integers:
            for k in range(PHASES):
                guess = state[U(_PH_PRED + k)]
                if guess >= 0:
                    _bump(state, _PH_RUN + k, guess == c)
        if pred[RECORD] >= 0:
            _bump(state, _RUN + RECORD, pred[RECORD] == c)
        _bump(state, _RUN + DECIMAL, _decimal_update(state, c))
    for g in range(5 if integers else 0):
        width = _WIDTHS[U(g)]
        first = _PHASE_START[U(g)]
        if pos - lo >= 2 * width:
            # Exactly one phase starts a record here; predict that record.
            _predict_record(state, first + (pos & (width - 1)), buf, pos, width, _BIG_ENDIAN[U(g)])
        best = -1
        best_run = -1
        if pos - lo >= 3 * width:
            big_endian = _BIG_ENDIAN[U(g)]
            for k in range(first, _PHASE_START[U(g + 1)]):
                j = (pos - (k - first)) & (width - 1)   # this byte's index in its record
                p = (state[U(_PH_REC + k)] >> _byte_shift(j, width, big_endian)) & 0xFF
                state[U(_PH_PRED + k)] = p
                if state[U(_PH_RUN + k)] > best_run:
                    best_run = state[U(_PH_RUN + k)]
                    best = k
        else:
            for k in range(first, _PHASE_START[U(g + 1)]):
                state[U(_PH_PRED + k)] = -1
        pred[U(g)] = state[U(_PH_PRED + best)] if best >= 0 else -1
        state[U(_RUN + g)] = best_run if best >= 0 else 0
    r = hist[H_RLEN]
    if r > 0 and pos - lo >= 2 * r:
        pred[RECORD] = (2 * np.int64(buf[U(pos - r)]) - buf[U(pos - 2 * r)]) & 0xFF
    else:
        pred[RECORD] = -1
    pred[DECIMAL] = _decimal_expected(state)
    # the COLUMN_VOTES (two) voters: the predictors with the longest runs,
    # the earlier one first among equals
    top = -1
    second = -1
    for j in range(COLUMN_PREDICTORS):
        if pred[U(j)] >= 0:
            run = state[U(_RUN + j)]
            if top < 0 or run > state[U(_RUN + top)]:
                second = top
                top = j
            elif second < 0 or run > state[U(_RUN + second)]:
                second = j
    state[_TOP] = top
    state[_TOP + 1] = second


@njit(cache=True, nogil=True, inline=into_general_loop)
def column_voter(state, v):
    """The predictor casting vote v this byte (-1: none)."""
    return state[_TOP + v]


@njit(cache=True, nogil=True, inline=into_general_loop)
def column_expected(pred, j, c0, bitpos):
    """-1 if input j has no opinion on this bit, else the bit it predicts."""
    return predicted_bit(pred[j], c0, bitpos)


@njit(cache=True, nogil=True, inline=into_general_loop)
def column_run_bucket(state, j):
    return min(state[_RUN + j], 31)

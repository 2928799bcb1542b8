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
hits (capped) and the bit it predicts (see school/engine.py).  A predictor
whose byte disagrees with the bits already coded falls silent for the rest
of the byte.  Integer arithmetic only.
"""
import numpy as np
from numba import njit

from .contexts import H_RLEN

LE2, LE4, LE8, BE2, BE4, RECORD, DECIMAL = range(7)
COLUMN_INPUTS = 7
_WIDTHS = np.array([2, 4, 8, 2, 4], dtype=np.int64)
_BIG_ENDIAN = np.array([0, 0, 0, 1, 1], dtype=np.int64)
_PHASE_START = np.array([0, 2, 6, 14, 16, 20], dtype=np.int64)
PHASES = 20
MAX_FIELDS = 16
MAX_DIGITS = 18

# layout of the state array
_PH_RUN = 0                       # run of hits of each phase predictor
_PH_PRED = _PH_RUN + PHASES       # its prediction for the current byte (-1: none)
_RUN = _PH_PRED + PHASES          # run of hits of each input
_DEC_LAST = _RUN + COLUMN_INPUTS  # per field: last value
_DEC_PREV = _DEC_LAST + MAX_FIELDS
_DEC_COUNT = _DEC_PREV + MAX_FIELDS
_DEC_TERM = _DEC_COUNT + MAX_FIELDS
_DEC_EXP = _DEC_TERM + MAX_FIELDS  # expected spelling of the next number
_DEC_FIELD = _DEC_EXP + MAX_DIGITS + 2
_DEC_IN_NUM = _DEC_FIELD + 1
_DEC_VALUE = _DEC_IN_NUM + 1
_DEC_DIGITS = _DEC_VALUE + 1
_DEC_EXP_LEN = _DEC_DIGITS + 1
_DEC_EXP_POS = _DEC_EXP_LEN + 1
_STATE_SIZE = _DEC_EXP_POS + 1


@njit(cache=True, nogil=True)
def column_new_state():
    """(state, predictions): predictions[j] is input j's byte, -1 for none."""
    state = np.zeros(_STATE_SIZE, dtype=np.int64)
    for k in range(PHASES):
        state[_PH_PRED + k] = -1
    state[_DEC_EXP_POS] = -1
    return state, np.full(COLUMN_INPUTS, -1, dtype=np.int64)


@njit(cache=True, nogil=True, inline="always")
def _bump(state, at, hit):
    state[at] = min(state[at] + 1, 255) if hit else 0


@njit(cache=True, nogil=True)
def _integer_prediction(buf, pos, width, big_endian, phase):
    j = (pos - phase) % width          # index of this byte in its record
    start = pos - j
    if start - 2 * width < 0:
        return -1
    v1 = 0
    v2 = 0
    for b in range(width):
        shift = 8 * (width - 1 - b) if big_endian else 8 * b
        v1 |= np.int64(buf[start - width + b]) << shift
        v2 |= np.int64(buf[start - 2 * width + b]) << shift
    guess = 2 * v1 - v2
    shift = 8 * (width - 1 - j) if big_endian else 8 * j
    return (guess >> shift) & 0xFF


@njit(cache=True, nogil=True)
def _decimal_arm(state):
    """Spell out the expected next number of the current field, if known."""
    state[_DEC_EXP_POS] = -1
    f = state[_DEC_FIELD]
    if f >= MAX_FIELDS or state[_DEC_COUNT + f] < 2:
        return
    nxt = 2 * state[_DEC_LAST + f] - state[_DEC_PREV + f]
    if nxt < 0 or nxt >= 10 ** MAX_DIGITS:
        return
    digits = 1
    while nxt >= 10 ** digits:
        digits += 1
    for i in range(digits):
        state[_DEC_EXP + digits - 1 - i] = 48 + (nxt // 10 ** i) % 10
    state[_DEC_EXP + digits] = state[_DEC_TERM + f]
    state[_DEC_EXP_LEN] = digits + 1
    state[_DEC_EXP_POS] = 0


@njit(cache=True, nogil=True)
def _decimal_update(state, c):
    """Fold in byte c; return whether the expectation predicted it."""
    hit = False
    ep = state[_DEC_EXP_POS]
    if ep >= 0:
        hit = state[_DEC_EXP + ep] == c
        state[_DEC_EXP_POS] = ep + 1 if hit and ep + 1 < state[_DEC_EXP_LEN] else -1
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
        state[_DEC_FIELD] = f + 1
    if c == 10:
        state[_DEC_FIELD] = 0
    if state[_DEC_EXP_POS] < 0:
        _decimal_arm(state)
    return hit


@njit(cache=True, nogil=True)
def column_update(state, pred, buf, pos, hist):
    """At a byte boundary: score the last predictions, make the next ones."""
    if pos > 0:
        c = buf[pos - 1]
        for k in range(PHASES):
            if state[_PH_PRED + k] >= 0:
                _bump(state, _PH_RUN + k, state[_PH_PRED + k] == c)
        if pred[RECORD] >= 0:
            _bump(state, _RUN + RECORD, pred[RECORD] == c)
        _bump(state, _RUN + DECIMAL, _decimal_update(state, c))
    for g in range(5):
        best = -1
        best_run = -1
        for k in range(_PHASE_START[g], _PHASE_START[g + 1]):
            p = _integer_prediction(buf, pos, _WIDTHS[g], _BIG_ENDIAN[g], k - _PHASE_START[g])
            state[_PH_PRED + k] = p
            if p >= 0 and state[_PH_RUN + k] > best_run:
                best_run = state[_PH_RUN + k]
                best = k
        pred[g] = state[_PH_PRED + best] if best >= 0 else -1
        state[_RUN + g] = best_run if best >= 0 else 0
    r = hist[H_RLEN]
    if r > 0 and pos >= 2 * r:
        pred[RECORD] = (2 * np.int64(buf[pos - r]) - buf[pos - 2 * r]) & 0xFF
    else:
        pred[RECORD] = -1
    ep = state[_DEC_EXP_POS]
    pred[DECIMAL] = state[_DEC_EXP + ep] if ep >= 0 else -1


@njit(cache=True, nogil=True, inline="always")
def column_expected(state, pred, j, c0, bitpos):
    """-1 if input j has no opinion on this bit, else the bit it predicts."""
    pb = pred[j]
    if pb < 0:
        return -1
    pb |= 256
    if (pb >> (8 - bitpos)) != c0:
        return -1
    return (pb >> (7 - bitpos)) & 1


@njit(cache=True, nogil=True, inline="always")
def column_run_bucket(state, j):
    return min(state[_RUN + j], 31)

"""A school as the compiled code sees it: the slots of its cfg array, the
mixer's gates, and its shape.

preset.py turns a preset into two integer arrays: fish (kind, arg, bits of
each context fish) and cfg (the slots below).  The engine sets a block up
from them, and the loop (swim.py) runs on them.
"""
import numpy as np

from ..fish.column import COLUMN_VOTES
from ..jit import njit

# cfg slots
(C_MATCH_BITS, C_MATCH_MIN, C_COLUMN, C_NGATES, C_LR, C_LR_BOOST, C_LR_HALFLIFE,
 C_FINAL_LR, C_COUNTER_LIMIT, C_APM_RATE, C_APM2_BITS, C_LEARN_SKIP, C_LANES, C_NEURAL, C_RUNS,
 C_ATT_HEADS, C_SHUFFLE, C_BLIND_AT, C_BLIND_INPUT, C_BLIND_COUNT, C_BLIND_VALUE, C_FINAL_VOTES,
 C_BOOST_FROM_BLOCK, C_GATE0) = range(24)
MAX_GATES = 8
# cfg[C_COLUMN]: no column fish, the whole fish, or the fish without its
# fixed-width integer predictors (preset: column.integers)
COLUMN_NONE, COLUMN_FULL, COLUMN_SMALL = 0, 1, 2
CFG_SIZE = C_GATE0 + MAX_GATES

G_C0, G_C1, G_MATCH, G_ORDER, G_COLUMN, G_C2, G_C1C0, G_C2C1, G_C0ORDER = range(9)
GATES = {"c0": G_C0, "c1": G_C1, "match": G_MATCH, "order": G_ORDER, "column": G_COLUMN, "c2": G_C2,
         "c1c0": G_C1C0, "c2c1": G_C2C1, "c0order": G_C0ORDER}
GATE_SETS = np.array([256, 256, 32, 256, 256, 256, 65536, 65536, 2048], dtype=np.int64)
MATCH_INPUTS = 2
# the final mixer's weight sets with mixer.final: votes: it is selected like the match gate
FINAL_VOTE_SETS = int(GATE_SETS[G_MATCH])
# C_BLIND_VALUE for a blind input that reads noise instead of a constant
BLIND_NOISE = 1 << 20


@njit(cache=True, nogil=True)
def side_votes(use_match, use_column):
    """The match and column fish's votes, which follow the context fish's
    among the mixer's inputs (and reach the final mixer with final: votes)."""
    return (MATCH_INPUTS if use_match else 0) + (COLUMN_VOTES if use_column else 0)


@njit(cache=True, nogil=True)
def mixer_inputs(nf, use_match, use_column, runs, neural):
    """The mixer's inputs: the votes, then the bias."""
    return nf * (2 if runs else 1) + side_votes(use_match, use_column) + (1 if neural else 0) + 1


@njit(cache=True, nogil=True)
def padded_width(nin):
    """Rows padded to a multiple of 8 inputs: the dot and learn loops then
    run whole in SIMD.  Pads stay 0, so they change no sum and never learn."""
    return (nin + 7) & ~7


def structure(fish: np.ndarray, cfg: np.ndarray) -> tuple | None:
    """What a loop compiled for one school fixes (swim.make_swim): its context
    fish (kind, arg), gates, whether the match fish swims, the column fish's
    cfg value (COLUMN_*), the run votes, the lanes and the final mixer's kind.
    None for schools only the general loop runs: attention mixers,
    perturbations, a neural fish."""
    if cfg[C_ATT_HEADS] or cfg[C_SHUFFLE] or cfg[C_BLIND_COUNT] or cfg[C_NEURAL]:
        return None
    return (tuple((int(k), int(a)) for k, a in fish[:, :2]),
            tuple(int(g) for g in cfg[C_GATE0:C_GATE0 + cfg[C_NGATES]]),
            bool(cfg[C_MATCH_BITS]), int(cfg[C_COLUMN]), bool(cfg[C_RUNS]), int(cfg[C_LANES]),
            bool(cfg[C_FINAL_VOTES]))

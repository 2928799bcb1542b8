"""A school's cfg array as preset.py fills it: the slots after the voters',
the mixer's gates, the row width of the mixer's inputs; and the school's
shape, which a loop compiled for it fixes.

preset.py turns a preset into two integer arrays: fish (kind, arg, bits of
each context fish) and cfg: first every voter's slots (fish/voters.py: its
mode, first mixer input and settings), then the slots below.  Nothing here
is compiled, so that choosing a preset loads no compiled code; layout.py
re-exports all of it beside what the compiled code adds (padded_width).
"""
import numpy as np

from ..fish import voters

# cfg slots after the voters': the mixer's inputs (the votes, then the bias),
# where the final mixer's extra inputs lie with mixer.final: votes, the
# mixer's and the APMs' settings, and the gates
(C_VOTES, C_FINAL_AT, C_FINAL_COUNT, C_NGATES, C_LR, C_LR_BOOST, C_LR_HALFLIFE, C_FINAL_LR, C_COUNTER_LIMIT,
 C_APM_RATE, C_APM2_BITS, C_LEARN_SKIP, C_LANES, C_FINAL_VOTES, C_BOOST_FROM_BLOCK,
 # experiments only, never part of a shipped level (preset `mixer: attention`
 # and `perturb`: school/attention.py, perturbation.py); the loop compiled for a
 # shape has none of them (structure, below)
 C_ATT_HEADS, C_SHUFFLE, C_BLIND_AT, C_BLIND_INPUT, C_BLIND_COUNT, C_BLIND_VALUE,
 C_GATE0) = range(voters.CFG_SLOTS, voters.CFG_SLOTS + 22)
MAX_GATES = 8
CFG_SIZE = C_GATE0 + MAX_GATES

G_C0, G_C1, G_MATCH, G_ORDER, G_COLUMN, G_C2, G_C1C0, G_C2C1, G_C0ORDER = range(9)
GATES = {"c0": G_C0, "c1": G_C1, "match": G_MATCH, "order": G_ORDER, "column": G_COLUMN, "c2": G_C2,
         "c1c0": G_C1C0, "c2c1": G_C2C1, "c0order": G_C0ORDER}
GATE_SETS = np.array([256, 256, 32, 256, 256, 256, 65536, 65536, 2048], dtype=np.int64)
# the final mixer's weight sets with mixer.final: votes: it is selected like the match gate
FINAL_VOTE_SETS = int(GATE_SETS[G_MATCH])
# C_BLIND_VALUE for a blind input that reads noise instead of a constant
BLIND_NOISE = 1 << 20


def padded(nin):
    """Rows padded to a multiple of 8 inputs: the dot and learn loops then
    run whole in SIMD.  Pads stay 0, so they change no sum and never learn.
    Compiled as layout.padded_width; memory.py, which counts a block's
    arrays without compiled code, calls it as it is."""
    return (nin + 7) & ~7


def modes(cfg: np.ndarray) -> tuple:
    """Every voter's mode (0: not in the school), in voters.VOTERS order."""
    return tuple(int(cfg[voters.slot(i, voters.MODE)]) for i in range(len(voters.VOTERS)))


def structure(fish: np.ndarray, cfg: np.ndarray) -> tuple | None:
    """What a loop compiled for one school fixes (swim.make_swim): its context
    fish (kind, arg), gates, every voter's mode and first mixer input, the
    mixer's inputs, the final mixer's kind and extra inputs, and the lanes.
    None for schools only the general loop runs: attention mixers,
    perturbations, a neural fish."""
    if cfg[C_ATT_HEADS] or cfg[C_SHUFFLE] or cfg[C_BLIND_COUNT] or cfg[voters.slot(voters.NEURAL, voters.MODE)]:
        return None
    return (tuple((int(k), int(a)) for k, a in fish[:, :2]),
            tuple(int(g) for g in cfg[C_GATE0:C_GATE0 + cfg[C_NGATES]]),
            modes(cfg), tuple(int(cfg[voters.slot(i, voters.AT)]) for i in range(len(voters.VOTERS))),
            int(cfg[C_VOTES]), bool(cfg[C_FINAL_VOTES]), int(cfg[C_FINAL_AT]), int(cfg[C_FINAL_COUNT]),
            int(cfg[C_LANES]))

"""A school as the compiled code sees it: the slots of its cfg array, the
mixer's gates and the school's shape (slots.py, re-exported here), and the
padded width of the mixer's rows, compiled.

The engine sets a block up from the preset's fish and cfg arrays, and the
loop (swim.py) runs on them.
"""
from ..jit import njit
from .slots import (  # noqa: F401 (re-exported)
                    BLIND_NOISE, C_APM2_BITS, C_APM_RATE, C_ATT_HEADS, C_BLIND_AT, C_BLIND_COUNT, C_BLIND_INPUT,
                    C_BLIND_VALUE, C_BOOST_FROM_BLOCK, C_COUNTER_LIMIT, C_FINAL_AT, C_FINAL_COUNT, C_FINAL_LR,
                    C_FINAL_VOTES, C_GATE0, C_LANES, C_LEARN_SKIP, C_LR, C_LR_BOOST, C_LR_HALFLIFE, C_NGATES,
                    C_SHUFFLE, C_VOTES, CFG_SIZE, FINAL_VOTE_SETS, G_C0, G_C0ORDER, G_C1, G_C1C0, G_C2, G_C2C1,
                    G_COLUMN, G_MATCH, G_ORDER, GATE_SETS, GATES, MAX_GATES, modes, padded, structure)

# slots.padded, compiled: the loop and the block's set-up call it
padded_width = njit(cache=True, nogil=True)(padded)


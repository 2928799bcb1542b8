"""StateMap: learns online what each small context (usually a bit-history
state) really predicts.

Each entry holds P(1) in 1/65536 and how many updates it has seen; the first
updates move it fast (rate 1/(n+1.5)) and later ones slowly, down to the
entry's limit, so it tracks a stationary source closely and a changing one
still adapts.  Pure integer arithmetic.
"""
import numpy as np
from numba import njit

from .tables import RECIPROCAL, STATE_P0


def new_statemap(contexts: int, per_context: int = 256, from_states: bool = True):
    """Probabilities and counts for `contexts` groups of `per_context` entries."""
    if from_states and per_context == 256:
        p = np.tile(STATE_P0, contexts).astype(np.int32)
    else:
        p = np.full(contexts * per_context, 32768, dtype=np.int32)
    return p, np.zeros(contexts * per_context, dtype=np.int32)


@njit(cache=True, nogil=True, inline="always")
def sm_p12(probs, i):
    return probs[i] >> 4


@njit(cache=True, nogil=True, inline="always")
def sm_update(probs, counts, i, bit, limit):
    n = counts[i]
    p = probs[i]
    probs[i] = p + ((((bit << 16) - p) * RECIPROCAL[n]) >> 16)
    if n < limit:
        counts[i] = n + 1

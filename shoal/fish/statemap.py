"""StateMap: learns online what each small context (usually a bit-history
state) really predicts.

Each entry holds P(1) in 1/65536 and how many updates it has seen; the first
updates move it fast (rate 1/(n+1.5)) and later ones slowly, down to the
entry's limit, so it tracks a stationary source closely and a changing one
still adapts.  Pure integer arithmetic.
"""
from numba import njit

from .tables import RECIPROCAL


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

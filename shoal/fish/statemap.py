"""StateMap: learns online what each small context (usually a bit-history
state) really predicts.

Each entry holds P(1) in 1/65536 and how many updates it has seen; the first
updates move it fast (rate 1/(n+1.5)) and later ones slowly, down to the
entry's limit, so it tracks a stationary source closely and a changing one
still adapts.  Pure integer arithmetic.

Both live in one int32 (P in the top 22 bits as p << 10, the count in the
low 10), so a prediction is one load and an update one load and one store.
"""
import numpy as np

from ..jit import into_general_loop, njit
from .tables import RECIPROCAL, U

COUNT_BITS = 10
COUNT_LIMIT = (1 << COUNT_BITS) - 1


def new_statemap(p16):
    """Entries that start at P(1) = p16 / 65536 (an int array, or one int
    broadcast by the caller's shape) having seen nothing."""
    return (p16.astype(np.int32) << COUNT_BITS)


@njit(cache=True, nogil=True, inline=into_general_loop)
def sm_p12(table, i):
    return table[U(i)] >> (COUNT_BITS + 4)


@njit(cache=True, nogil=True, inline=into_general_loop)
def sm_update(table, i, bit, limit):
    """limit <= COUNT_LIMIT: the count at which the rate stops falling."""
    t = table[U(i)]
    n = t & COUNT_LIMIT
    p = t >> COUNT_BITS
    p += (((bit << 16) - p) * RECIPROCAL[U(n)]) >> 16
    if n < limit:
        n += 1
    table[U(i)] = (p << COUNT_BITS) | n

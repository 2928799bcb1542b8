"""APM / SSE: secondary estimation that refines a probability given a context.

For each context, 33 points along the logit axis hold a learnt probability;
the input probability is placed between two of them and the output is their
interpolation.  After the bit, the nearer point moves toward it.  This
corrects systematic over- or under-confidence of the mixer in situations the
context identifies (e.g. after a given byte).
"""
import numpy as np

from ..fish.tables import SQUASH, U
from ..jit import into_general_loop, njit


def new_apm(contexts):
    """Every context starts as the identity map."""
    points = np.clip((np.arange(33) - 16) * 128, -2047, 2047) + 2048
    return np.tile((SQUASH[points] * 16).astype(np.uint16), int(contexts))


@njit(cache=True, nogil=True, inline=into_general_loop)
def apm_predict(table, ctx, logit):
    """Returns (refined p12, index of the point to train) for an input
    probability given as its logit (stretch(p), clipped to +-2047)."""
    s = logit + 2048
    lo = s >> 7
    w = s & 127
    base = ctx * 33 + lo
    p = (np.int64(table[U(base)]) * (128 - w) + np.int64(table[U(base + 1)]) * w) >> 11
    nearer = base + 1 if w >= 64 else base
    if p < 1:
        p = 1
    if p > 4095:
        p = 4095
    return p, nearer


@njit(cache=True, nogil=True, inline=into_general_loop)
def apm_learn(table, index, bit, rate):
    t = np.int64(table[U(index)])
    table[U(index)] = t + (((65535 if bit else 0) - t) >> rate)

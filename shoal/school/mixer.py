"""Gated logistic mixer: a small online neural network over the fish's votes.

Every fish speaks in the logit domain (stretch(p), 1/256 units).  A mixer
holds several weight vectors and a gate context picks one per bit (e.g. the
bits of the current byte seen so far, or the match length), so the school
trusts different fish in different situations.  Output: squash(w . x).
Learning is online gradient descent on coding cost: w += lr * err * x, with
err = bit - p.  Weights are integers in 1/65536; all arithmetic is integer.
In those units an integer rate `lr` is a step of lr/1024 in natural units.
"""

from ..fish.tables import SQUASH, U
from ..jit import into_general_loop, njit
from .simd import LANES, learn8

# |w| <= 16.0 keeps every product and sum far inside int64 and is more than
# any useful weight.
WEIGHT_LIMIT = 1 << 20


@njit(cache=True, nogil=True, inline=into_general_loop)
def squash(x):
    if x > 2047:
        x = 2047
    if x < -2047:
        x = -2047
    return SQUASH[U(x + 2048)]


@njit(cache=True, nogil=True, inline=into_general_loop)
def mix_dot(weights, base, x, n):
    """Logit of the mix, clipped to the stretch range.  Scalar on purpose:
    the votes were stored one by one just before, and a vector load over
    them would wait for those stores to reach the cache (store-to-load
    forwarding fails), on the way from the votes to the coded bit.  The
    learning reads them later, as vectors (simd.learn8)."""
    s = 0
    for i in range(n):
        s += x[U(i)] * weights[U(base + i)]
    s >>= 16
    if s > 2047:
        s = 2047
    if s < -2047:
        s = -2047
    return s


@njit(cache=True, nogil=True, inline=into_general_loop)
def mix_learn(weights, base, x, n, err):
    """err = (bit << 12) - p, already multiplied by the learning rate."""
    whole = n - n % LANES
    for i in range(0, whole, LANES):
        learn8(weights, base + i, x, i, err, WEIGHT_LIMIT)
    for i in range(whole, n):
        w = weights[U(base + i)] + ((x[U(i)] * err + 8192) >> 14)
        weights[U(base + i)] = min(max(w, -WEIGHT_LIMIT), WEIGHT_LIMIT)

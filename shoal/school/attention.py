"""The attention mixer: the fish as a set of sensory inputs (mixer kind `attention`).

After "The Sensory Neuron as a Transformer" (Tang & Ha, 2021).  The gated
mixer (mixer.py) learns one weight per input: it knows its inputs by their
place.  This mixer has no parameter per input.  Every vote (a token: one
input of the mixer, e.g. a context fish's stretch(p)) is described by the
same features and processed by the same small network, and the tokens meet
through attention:

    features   phi_i = (s_i, |s_i|, trust_i fast, trust_i slow, 1)
               s_i = the vote, stretch(p) in 1/256 nat; trust = a moving
               average of s_i * (2 bit - 1): how right (and how sure) this
               token has been lately, fast over all bits, slow at this
               bit position
    keys       k_i = K_h phi_i              K_h: D x F, shared by every token
    query      q_h = Q_h[ctx]               ctx: the gate's context (c0, ...)
    attention  a_i = softmax_i(q_h . k_i)   (an exp table, integer weights)
    output     t = sum_h G_h[ctx] * sum_i a_i s_i  +  B[ctx]
                   + C[ctx] * sum_i trust_i slow * s_i

so each head is a weighted average of the votes, the weights picked by how
sure and how reliable each token looks in this context, and the gains G let
the school be surer than its surest fish.  The last term, a sum pool (Deep
Sets), lets agreeing votes add up, which an average cannot, each weighed by
how right it has been over the last hundred bits or so: 6-9% smaller on the
tuning slices.  (Weighing them by their confidence too, |s|, was worse, and
let a fish gone blind, voting loud noise, into the sum.)  Learning is online gradient
descent on coding cost through the softmax, like the gated mixer's.

Everything is integer arithmetic, and the only operations that meet across
tokens are sums and a maximum, which are exact in any order: shuffling the
inputs gives the same bits.  The trust averages are state kept per input
slot, like a sensory neuron's; they are observations, not parameters, and
re-learn within tens of bits when the inputs are shuffled mid-stream.

One such mixer takes each gate's place in the school (swim.py); the final
mixer and the APM stages are the same as with gated mixers.
"""
import math

import numpy as np

from ..fish.tables import U
from ..jit import into_general_loop, njit

FEATURES = 5          # F
DIM = 4               # D: the width of a key and a query
WEIGHT_LIMIT = 1 << 20   # |Q|, |K| <= 256.0 (1/4096 units); |G| <= 16.0 (1/65536)
# exp(-d / 256) in 1/65536 for a score d (1/256 nat) below the best one; 0 past 16 nats
EXP = np.array([round(65536 * math.exp(-d / 256)) for d in range(4096)], dtype=np.int64)
EXP_MAX = EXP.shape[0] - 1
# The trust averages' rates, 1/8 and 1/64 (kept x8 and x64: no rounding drift)
TRUST_FAST, TRUST_SLOW = 3, 6
# Learning-rate shifts, from the gated mixer's units (lr/1024 a step) to each
# parameter's, with the step of every parameter 4x the gated mixer's (the
# attention mixer wants faster learning; tuned on train/ slices).  The shared
# keys learn from every bit of every gate, so more slowly.
RATE_GAIN, RATE_QUERY, RATE_KEY, RATE_POOL = 12, 18, 20, 20


@njit(cache=True, nogil=True, inline=into_general_loop)
def row_width(heads):
    """Parameters of one context: a query per head, a gain per head, a bias,
    the sum pool's coefficient."""
    return heads * DIM + heads + 2


def new_attention(lanes, width, ngates, heads, sets):
    """The mixer's arrays.  sets: the contexts of every gate (one row each).
    K starts as a different selection of features for each head (a head
    must differ from its neighbours or they learn in lockstep); Q starts at
    0 (every head a plain average), G at 2/heads, so the first predictions
    are those of a gated mixer's starting weights: twice the mean vote."""
    row = row_width.py_func(heads)      # set-up runs in Python: no compiled call
    params = np.zeros(sets * row, dtype=np.int64)
    for r in range(sets):
        for h in range(heads):
            params[r * row + heads * DIM + h] = (2 << 16) // heads
    keys = np.zeros(heads * DIM * FEATURES, dtype=np.int64)
    for h in range(heads):
        for d in range(DIM):
            keys[(h * DIM + d) * FEATURES + (d + h + 1) % FEATURES] = 4096
    phi = np.zeros((lanes, width, FEATURES), dtype=np.int64)
    trust = np.zeros((lanes, 9, width, 2), dtype=np.int64)     # all bits, then by bit position
    e = np.zeros((lanes, ngates, heads, width), dtype=np.int64)
    sums = np.zeros((lanes, ngates, heads, 2), dtype=np.int64)     # sum of e, the head's output y
    work = np.zeros(2 * FEATURES, dtype=np.int64)     # scratch: nothing allocates in the loop
    return params, keys, phi, trust, e, sums, work


@njit(cache=True, nogil=True)
def features(phi, trust, bitpos, xs, ntok):
    """Each token's features, for one lane, from its vote and its trust: the
    fast average over all bits, the slow one at this bit position (trust[0]
    holds the averages over all bits, trust[1 + bitpos] those at a position:
    a fish can be reliable on a byte's first bits and not on its last)."""
    for i in range(ntok):
        s = np.int64(xs[U(i)])
        phi[U(i), 0] = s
        phi[U(i), 1] = abs(s)
        phi[U(i), 2] = trust[0, U(i), 0] >> TRUST_FAST
        phi[U(i), 3] = trust[U(1 + bitpos), U(i), 1] >> TRUST_SLOW
        phi[U(i), 4] = 256


@njit(cache=True, nogil=True)
def learn_trust(trust, bitpos, xs, ntok, bit):
    """Moving averages of s * (2 bit - 1): how right, and how sure, each token
    has been, over all bits and at this bit position."""
    sign = 2 * bit - 1
    for row in (0, 1 + bitpos):
        for i in range(ntok):
            a = np.int64(xs[U(i)]) * sign
            trust[U(row), U(i), 0] += a - (trust[U(row), U(i), 0] >> TRUST_FAST)
            trust[U(row), U(i), 1] += a - (trust[U(row), U(i), 1] >> TRUST_SLOW)


@njit(cache=True, nogil=True)
def attend(params, keys, phi, e, sums, work, base, heads, ntok):
    """The mix's logit (1/256 nat, clipped) for the context whose row starts at base.
    e, sums: this lane and gate's scratch, kept for attend_learn."""
    w = work[:FEATURES]
    out = 0
    for h in range(heads):
        # q . (K phi) = (K^T q) . phi: one small product per head, then F per token
        for f in range(FEATURES):
            acc = 0
            for d in range(DIM):
                acc += params[U(base + h * DIM + d)] * keys[U((h * DIM + d) * FEATURES + f)]
            w[f] = acc >> 12
        best = -(1 << 62)
        eh = e[U(h)]
        for i in range(ntok):
            score = 0
            for f in range(FEATURES):
                score += w[f] * phi[U(i), f]
            score >>= 12
            eh[U(i)] = score
            best = max(best, score)
        total = 0
        num = 0
        for i in range(ntok):
            x = EXP[U(min(best - eh[U(i)], EXP_MAX))]
            eh[U(i)] = x
            total += x
            num += x * phi[U(i), 0]
        y = num // total
        sums[U(h), 0] = total
        sums[U(h), 1] = y
        out += params[U(base + heads * DIM + h)] * y
    t = (out >> 16) + params[U(base + heads * DIM + heads)]
    # the sum pool
    pooled = 0
    for i in range(ntok):
        pooled += phi[U(i), 3] * phi[U(i), 0]
    t += (params[U(base + heads * DIM + heads + 1)] * (pooled >> 4)) >> 16
    return min(max(t, -2047), 2047)


@njit(cache=True, nogil=True)
def attend_learn(params, keys, phi, e, sums, work, base, heads, ntok, err):
    """One step of gradient descent on coding cost; err = (bit << 12) - p,
    times the learning rate (the gated mixer's units: lr/1024 a step)."""
    s_phi = work[:FEATURES]
    u = work[FEATURES:]
    for h in range(heads):
        gi = base + heads * DIM + h
        gain = params[U(gi)]
        total = sums[U(h), 0]
        y = sums[U(h), 1]
        # d t / d score_i = G a_i (s_i - y): summed against the features
        for f in range(FEATURES):
            s_phi[f] = 0
        eh = e[U(h)]
        for i in range(ntok):
            c = eh[U(i)] * (phi[U(i), 0] - y)
            for f in range(FEATURES):
                s_phi[f] += c * phi[U(i), f]
        for f in range(FEATURES):
            u[f] = (gain * ((s_phi[f] // total) >> 8)) >> 16
        for d in range(DIM):
            qi = base + h * DIM + d
            q = params[U(qi)]
            dq = 0
            for f in range(FEATURES):
                ki = (h * DIM + d) * FEATURES + f
                dq += keys[U(ki)] * u[f]
                k = keys[U(ki)] + ((err * ((q * u[f]) >> 12)) >> RATE_KEY)
                keys[U(ki)] = min(max(k, -WEIGHT_LIMIT), WEIGHT_LIMIT)
            q += (err * (dq >> 12)) >> RATE_QUERY
            params[U(qi)] = min(max(q, -WEIGHT_LIMIT), WEIGHT_LIMIT)
        g = gain + ((err * y) >> RATE_GAIN)
        params[U(gi)] = min(max(g, -WEIGHT_LIMIT), WEIGHT_LIMIT)
    bi = base + heads * DIM + heads
    params[U(bi)] = min(max(params[U(bi)] + (err >> RATE_GAIN), -2047), 2047)
    pooled = 0
    for i in range(ntok):
        pooled += phi[U(i), 3] * phi[U(i), 0]
    c = params[U(bi + 1)] + ((err * (pooled >> 10)) >> RATE_POOL)
    params[U(bi + 1)] = min(max(c, -WEIGHT_LIMIT), WEIGHT_LIMIT)

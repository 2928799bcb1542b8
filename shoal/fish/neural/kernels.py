"""The neural fish's integer kernels (Numba), everything between the GEMMs.

Each kernel takes a batch of L lanes.  Inputs that come out of a GEMM are
float32/float64 arrays holding exact integers (see fish.py for the bound);
they are read as int64 and never used as floats.  Attention is split
around its two GEMMs (q.k, then weights x values, fish.py):
attention_weights() turns exact scores into integer weights whose sum is
small enough for the second GEMM to be exact in float32, and
attention_output() divides.  Rounding: requant() and round_shift() round
half up (a floor shift), divisions are by a floor reciprocal; the torch
model's fake quantisation rounds half to even.  The two differ by at most a
unit of the grid, rarely; the integer fish is the reference, bit for bit.

Developers: Numba bakes the constants imported from config.py into the
compiled code and keys its on-disk cache on this file only; after changing
a constant there, delete shoal/fish/neural/__pycache__/*.nb[ic].
"""
import numpy as np

from ...jit import njit
from .config import (ACT_MAX, EXP_SIZE, FREQ_TOTAL, GELU_HALF, NORM_EPS_INT, NORM_FRAC, QK_FINE_FRAC,
                     QK_FINE_MAX, RESID_LIMIT, ROPE_PERIOD)

ROPE_MASK = ROPE_PERIOD - 1
ROPE_QUARTER = ROPE_PERIOD // 4
ATTN_MASS_BITS = 17                      # 2^17 * 127 < 2^24
ROPE_SHIFT = 14 + QK_FINE_FRAC           # Q14 cos/sin times the fine grid back to int8


@njit(cache=True, nogil=True, inline="always")
def requant(acc, mult, shift):
    return (acc * mult + (np.int64(1) << (shift - 1))) >> shift


@njit(cache=True, nogil=True, inline="always")
def round_shift(value, bits):
    return (value + (np.int64(1) << (bits - 1))) >> bits


@njit(cache=True, nogil=True, inline="always")
def clamp(value, limit):
    return min(max(value, -limit), limit)


@njit(cache=True, nogil=True)
def isqrt(n):
    """floor(sqrt(n)) for an int64 n >= 0, by Newton's method from above."""
    if n <= 0:
        return np.int64(0)
    bits = 0
    while (n >> bits) > 0:
        bits += 1
    x = np.int64(1) << ((bits + 1) // 2)
    while True:
        y = (x + n // x) >> 1
        if y >= x:
            return x
        x = y


@njit(cache=True, nogil=True)
def embed(table, prev, x):
    for lane in range(x.shape[0]):
        x[lane, :] = table[prev[lane], :]


@njit(cache=True, nogil=True)
def rms_norm(x, gain, out):
    """out = int8 grid of x / rms(x) = x_i * (sqrt(d)/scale) / sqrt(sum x^2 + d eps).
    One division per lane: r = gain * 2^24 // sqrt(...), then x_i * r >> 40
    (|x_i| <= sqrt(sum x^2), so x_i * r <= gain * 2^24 < 2^55)."""
    d = x.shape[1]
    for lane in range(x.shape[0]):
        ss = np.int64(d) * NORM_EPS_INT
        for i in range(d):
            ss += np.int64(x[lane, i]) * np.int64(x[lane, i])
        r = (gain << (40 - NORM_FRAC)) // isqrt(ss)
        for i in range(d):
            out[lane, i] = clamp(round_shift(np.int64(x[lane, i]) * r, 40), ACT_MAX)


@njit(cache=True, nogil=True)
def residual_add(x, acc, mult, shift):
    for lane in range(x.shape[0]):
        for i in range(x.shape[1]):
            x[lane, i] = clamp(x[lane, i] + requant(np.int64(acc[lane, i]), mult[i], shift[i]), RESID_LIMIT)


@njit(cache=True, nogil=True)
def _requant_row(acc, mult, shift, limit, out):
    for i in range(acc.shape[0]):
        out[i] = clamp(requant(np.int64(acc[i]), mult[i], shift[i]), limit)


@njit(cache=True, nogil=True)
def _rotate(x1, x2, c, s, out1, out2):
    """RoPE on the fine grid (Q14 cos/sin), back to int8."""
    for j in range(x1.shape[0]):
        out1[j] = clamp(round_shift(x1[j] * c[j] - x2[j] * s[j], ROPE_SHIFT), ACT_MAX)
        out2[j] = clamp(round_shift(x1[j] * s[j] + x2[j] * c[j], ROPE_SHIFT), ACT_MAX)


@njit(cache=True, nogil=True)
def qkv_rope(acc, mult, shift, cos, steps, pos, slot, q, k_cache, v_cache):
    """Split the qkv GEMM's output (q: heads x head_dim, then k and v:
    kv_heads x head_dim each) into q, rotated, and k, rotated, and v, both
    written to the cache slot of position pos.  RoPE pairs (j, j + head_dim/2).
    q is [lane, kv_head, head in group, j]; all three hold int8 values in
    float32, the operands of attention's GEMMs."""
    lanes, kv_heads, group, head_dim = q.shape
    half = head_dim // 2
    d, kv = kv_heads * group * head_dim, kv_heads * head_dim
    c = np.empty(half, np.int64)
    s = np.empty(half, np.int64)
    for j in range(half):
        angle = (pos * steps[j]) & ROPE_MASK
        c[j] = cos[angle]
        s[j] = cos[(angle - ROPE_QUARTER) & ROPE_MASK]
    fine = np.empty(d + 2 * kv, np.int64)
    rotated = np.empty(head_dim, np.int64)
    qk = d + kv
    for lane in range(lanes):
        _requant_row(acc[lane, :qk], mult[:qk], shift[:qk], QK_FINE_MAX, fine[:qk])
        _requant_row(acc[lane, qk:], mult[qk:], shift[qk:], ACT_MAX, fine[qk:])
        for h in range(kv_heads * group):
            b = h * head_dim
            _rotate(fine[b:b + half], fine[b + half:b + head_dim], c, s, rotated[:half], rotated[half:])
            _copy(rotated, q[lane, h // group, h % group])
        for g in range(kv_heads):
            b = d + g * head_dim
            _rotate(fine[b:b + half], fine[b + half:b + head_dim], c, s, rotated[:half], rotated[half:])
            _copy(rotated, k_cache[lane, g, slot])
            _copy(fine[b + kv:b + kv + head_dim], v_cache[lane, g, slot])


@njit(cache=True, nogil=True)
def _copy(src, dst):
    for j in range(src.shape[0]):
        dst[j] = src[j]


@njit(cache=True, nogil=True, inline="always")
def ring_runs(first, pos, window):
    """The slots of a ring of `window` slots that hold positions first..pos:
    a0 .. a1-1, then 0 .. b1-1 once the ring wraps (b1 = 0 before)."""
    n = pos - first + 1
    a0 = first % window
    a1 = min(window, a0 + n)
    return a0, a1, n - (a1 - a0)


@njit(cache=True, nogil=True)
def attention_weights(scores, first, pos, window, score_mult, score_shift, exp, weights, mass):
    """Softmax weights of each query over the valid slots of its ring of
    `window` slots (positions first..pos: one or two runs of slots).

    scores[lane, kv_head, r, slot] = q . k, exact integers from a float32
    GEMM (head_dim * 127^2 < 2^24).  The weight exp(-(max - score)) comes
    from the exp table (<= 2^20); all of a query's weights are then rescaled
    by one reciprocal to sum to at most 2^ATTN_MASS_BITS, so that the GEMM of
    weights and values (|v| <= 127) stays below 2^24, exact in float32 too.
    Slots outside the runs get weight 0.  mass[...] = the weights' sum."""
    a0, a1, b1 = ring_runs(first, pos, window)
    raw = np.empty(window, np.int64)
    for lane in range(scores.shape[0]):
        for g in range(scores.shape[1]):
            for r in range(scores.shape[2]):
                s, w = scores[lane, g, r], weights[lane, g, r]
                top = max(_max(s[a0:a1]), _max(s[:b1]))
                den = _exp_weights(s[a0:a1], top, score_mult, score_shift, exp, raw[a0:a1])
                den += _exp_weights(s[:b1], top, score_mult, score_shift, exp, raw[:b1])
                scale = (np.int64(1) << (ATTN_MASS_BITS + 32)) // den
                w[:] = 0
                mass[lane, g, r] = _rescale(raw[a0:a1], scale, w[a0:a1]) + _rescale(raw[:b1], scale, w[:b1])


@njit(cache=True, nogil=True)
def attention_output(totals, mass, out):
    """The weighted mean of the values, rounded: totals (an exact float32 GEMM
    of weights and int8 values) / mass.  A convex combination of values, so it
    stays on v's grid without rescaling.  |total| <= 127 mass, so total * rec
    < 2^51: one division per query."""
    lanes, kv_heads, group, head_dim = totals.shape
    for lane in range(lanes):
        for g in range(kv_heads):
            for r in range(group):
                rec = (np.int64(1) << 44) // mass[lane, g, r]
                base = (g * group + r) * head_dim
                for j in range(head_dim):
                    out[lane, base + j] = round_shift(np.int64(totals[lane, g, r, j]) * rec, 44)


@njit(cache=True, nogil=True)
def _max(x):
    """Largest of exact-integer float32 scores (as integers: this loop vectorises)."""
    best = np.int32(-(1 << 30))
    for t in range(x.shape[0]):
        v = np.int32(x[t])
        best = v if v > best else best
    return best


@njit(cache=True, nogil=True)
def _exp_weights(scores, top, mult, shift, exp, weights):
    for t in range(scores.shape[0]):
        weights[t] = min(requant(np.int64(top) - np.int64(scores[t]), mult, shift), EXP_SIZE - 1)
    den = np.int64(0)
    for t in range(scores.shape[0]):
        weights[t] = exp[weights[t]]
        den += weights[t]
    return den


@njit(cache=True, nogil=True)
def _rescale(weights, scale, wf):
    den = np.int64(0)
    for t in range(weights.shape[0]):
        w = (weights[t] * scale) >> 32
        wf[t] = w
        den += w
    return den


@njit(cache=True, nogil=True)
def gelu(acc, mult, shift, table, out):
    grid = np.empty(acc.shape[1], np.int64)
    for lane in range(acc.shape[0]):
        _requant_row(acc[lane], mult, shift, GELU_HALF, grid)
        _lookup(grid, table, out[lane])


@njit(cache=True, nogil=True)
def _lookup(grid, table, out):
    for i in range(grid.shape[0]):
        out[i] = table[grid[i] + GELU_HALF]


@njit(cache=True, nogil=True)
def frequencies(acc, mult, shift, exp, out):
    """Logits (2^-8 nats) -> FREQ_TOTAL integer frequencies, each >= 1.  Each
    symbol gets 1 + floor(its share of FREQ_TOTAL - 256), the share by one
    reciprocal per lane (weight <= 2^20, reciprocal <= 2^28: no overflow);
    the counts the floors leave over go to the most likely symbol."""
    symbols = acc.shape[1]
    logits = np.empty(symbols, np.int64)
    weights = np.empty(symbols, np.int64)
    spread = np.int64(FREQ_TOTAL - symbols)
    for lane in range(acc.shape[0]):
        best = 0
        for o in range(symbols):
            logits[o] = requant(np.int64(acc[lane, o]), mult[o], shift[o])
            if logits[o] > logits[best]:
                best = o
        den = np.int64(0)
        for o in range(symbols):
            z = logits[best] - logits[o]
            weights[o] = exp[z] if z < EXP_SIZE else 0
            den += weights[o]
        r = (spread << 32) // den
        used = 0
        for o in range(symbols):
            f = 1 + ((weights[o] * r) >> 32)
            out[lane, o] = f
            used += f
        out[lane, best] += FREQ_TOTAL - used

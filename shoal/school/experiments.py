"""The perturbation a preset's `perturb` asks for (an experiment, never a
shipped level), as the general loop runs it; perturbation.py says what it
does, reads the setting and fills its cfg slots.
"""
from ..fish.contexts import hash3
from ..jit import njit
from .layout import BLIND_NOISE, C_BLIND_AT, C_BLIND_COUNT, C_BLIND_INPUT, C_BLIND_VALUE, C_SHUFFLE


@njit(cache=True, nogil=True)
def perturb(xs, k, cfg, pos, bitpos, order, span, scratch):
    """The perturbation, on the k votes of a bit: from byte C_BLIND_AT on,
    some inputs read a constant or noise (a fish gone blind); every
    C_SHUFFLE bytes the inputs are dealt to the mixer in a new order (drawn
    from the span's number, so the decoder draws the same)."""
    if cfg[C_BLIND_COUNT] > 0 and pos >= cfg[C_BLIND_AT]:
        for j in range(cfg[C_BLIND_INPUT], cfg[C_BLIND_INPUT] + cfg[C_BLIND_COUNT]):
            if cfg[C_BLIND_VALUE] == BLIND_NOISE:
                xs[j] = hash3(pos, bitpos, j) % 4095 - 2047
            else:
                xs[j] = cfg[C_BLIND_VALUE]
    if cfg[C_SHUFFLE] > 0:
        span_now = pos // cfg[C_SHUFFLE]
        if span_now != span[0]:
            span[0] = span_now
            for i in range(k):
                order[i] = i
            for i in range(k - 1, 0, -1):           # Fisher-Yates
                j = hash3(span_now, i, 0x5EED) % (i + 1)
                order[i], order[j] = order[j], order[i]
        for i in range(k):
            scratch[i] = xs[order[i]]
        for i in range(k):
            xs[i] = scratch[i]

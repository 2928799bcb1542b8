"""The neural fish's lookup tables and requantisation multipliers.

Built once, at export, in float64, then stored in the weights file as
integers: inference only ever reads them, so no libm (exp, cos, erf) and no
float rounding can differ between the machine that encodes and the one that
decodes.  The torch model uses the same builders for its fake quantisation.
"""
import math

import numpy as np

from .config import (ACT_MAX, EXP_FRAC, EXP_ONE, EXP_SIZE, GELU_HALF, MULT_BITS, ROPE_ONE,
                     ROPE_PERIOD)


def exp_table() -> np.ndarray:
    """EXP[i] = round(exp(-i / 2^EXP_FRAC) * EXP_ONE): softmax numerators."""
    return np.round(np.exp(-np.arange(EXP_SIZE, dtype=np.float64) / (1 << EXP_FRAC)) * EXP_ONE).astype(np.int32)


def cos_table() -> np.ndarray:
    """COS[n] = round(cos(2 pi n / ROPE_PERIOD) * ROPE_ONE); sin is COS[n - PERIOD/4]."""
    angle = 2 * np.pi * np.arange(ROPE_PERIOD, dtype=np.float64) / ROPE_PERIOD
    return np.round(np.cos(angle) * ROPE_ONE).astype(np.int16)


def gelu(x: float) -> float:
    return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))


def gelu_table(pre_scale: float, post_scale: float) -> np.ndarray:
    """GELU from the pre-activation grid (index i in [-GELU_HALF, GELU_HALF],
    value i * pre_scale) straight to the int8 grid of its output."""
    values = [gelu(i * pre_scale) / post_scale for i in range(-GELU_HALF, GELU_HALF + 1)]
    return np.clip(np.round(values), -ACT_MAX, ACT_MAX).astype(np.int8)


def multipliers(real) -> tuple[np.ndarray, np.ndarray]:
    """Each positive real m as M * 2^-shift with M in [2^30, 2^31]: what
    integer requantisation (acc * M + 2^(shift-1)) >> shift multiplies by."""
    real = np.atleast_1d(np.asarray(real, dtype=np.float64))
    if not np.all(np.isfinite(real)) or np.any(real <= 0):
        raise ValueError("requantisation multipliers must be finite and positive")
    shift = MULT_BITS - np.floor(np.log2(real)).astype(np.int64)
    if np.any(shift < 1) or np.any(shift > 62):
        raise ValueError(f"a requantisation multiplier is out of range: {real.min():.3g}..{real.max():.3g}")
    mult = np.round(real * np.exp2(shift.astype(np.float64))).astype(np.int64)
    return mult, shift

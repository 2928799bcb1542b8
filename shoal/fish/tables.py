"""Integer tables every fish shares: the logistic pair, bit-history states, rates.

All of them are built from integers only, so every machine builds the very
same tables and the decoder reproduces the encoder bit for bit.

squash(x)   P(1) in 1/4096 for a logit x in 1/256 units (x in -2047..2047),
            by linear interpolation between 33 fixed points of 4096/(1+e^-x).
stretch(p)  its inverse on 0..4095 (the smallest x with squash(x) >= p).

Bit-history states: a context's history of bits is summarised by a pair of
counts (n0, n1) kept in one byte.  Seeing a bit increments its count and
discounts the other one (old evidence fades when the data changes its mind),
and counts are capped so that all reachable pairs fit in 256 states.  The
state is only a name for a situation; what it predicts is learnt online by a
StateMap (see statemap.py), so the exact counts matter less than that similar
histories share a state.
"""
import numpy as np

# Hot loops cast indices they know to be in range to unsigned, a[U(i)]:
# Numba then skips the negative-index wrap-around it emits for every signed
# index (2-3 instructions per access, in loops that make billions of them).
# Cast the index only, never an operand: uint64 mixed with int64 is float64.
U = np.uint64

# 4096 / (1 + exp(-(i - 16) / 2)), i = 0..32, rounded once and written down.
_SQUASH_POINTS = np.array(
    [1, 2, 4, 6, 10, 17, 27, 45, 74, 120, 194, 311, 488, 747, 1102, 1546, 2048,
     2550, 2994, 3349, 3608, 3785, 3902, 3976, 4022, 4051, 4069, 4079, 4086,
     4090, 4092, 4094, 4095], dtype=np.int64)


def _squash_scalar(x: int) -> int:
    if x > 2047:
        return 4095
    if x < -2047:
        return 1
    w = x & 127
    i = (x >> 7) + 16
    return int((_SQUASH_POINTS[i] * (128 - w) + _SQUASH_POINTS[i + 1] * w + 64) >> 7)


def _build_squash() -> np.ndarray:
    return np.array([_squash_scalar(x) for x in range(-2048, 2048)], dtype=np.int16)


def _build_stretch(squash: np.ndarray) -> np.ndarray:
    table = np.full(4096, 2047, dtype=np.int16)
    p_next = 0
    for x in range(-2047, 2048):
        v = int(squash[x + 2048])
        for p in range(p_next, v + 1):
            table[p] = x
        p_next = max(p_next, v + 1)
    return table


# int16: the hot loop reads these every bit, and small tables stay in L1.
SQUASH = _build_squash()          # index x + 2048
STRETCH = _build_stretch(SQUASH)  # index p (0..4095)


# ---- bit-history states --------------------------------------------------

def _cap(n_other: int) -> int:
    """Largest count allowed for one bit given the other bit's count."""
    return (40, 24, 12, 7, 5, 4)[min(n_other, 5)] if n_other < 6 else 4


def _discount(n: int) -> int:
    """What is left of a count when the other bit shows up."""
    return n if n < 2 else 1 + n // 3


def _limit(n0: int, n1: int) -> tuple[int, int]:
    while n0 > _cap(n1) or n1 > _cap(n0):
        if n0 > _cap(n1):
            n0 -= 1
        if n1 > _cap(n0):
            n1 -= 1
    return n0, n1


def _build_states():
    pairs = [(0, 0)]
    index = {(0, 0): 0}
    nxt = []
    i = 0
    while i < len(pairs):
        n0, n1 = pairs[i]
        row = []
        for bit in (0, 1):
            if bit:
                m0, m1 = _discount(n0), n1 + 1
            else:
                m0, m1 = n0 + 1, _discount(n1)
            m0, m1 = _limit(m0, m1)
            if (m0, m1) not in index:
                index[(m0, m1)] = len(pairs)
                pairs.append((m0, m1))
            row.append(index[(m0, m1)])
        nxt.append(row)
        i += 1
    assert len(pairs) <= 256, len(pairs)
    counts = np.array(pairs, dtype=np.int32)
    table = np.zeros((256, 2), dtype=np.uint8)
    table[: len(nxt)] = np.array(nxt, dtype=np.uint8)
    n0 = np.zeros(256, dtype=np.int32)
    n1 = np.zeros(256, dtype=np.int32)
    n0[: len(pairs)] = counts[:, 0]
    n1[: len(pairs)] = counts[:, 1]
    return table, n0, n1


STATE_NEXT, STATE_N0, STATE_N1 = _build_states()

# Initial P(1) of each state in 1/65536: (n1 + 1/2) / (n0 + n1 + 1).
STATE_P0 = ((2 * STATE_N1.astype(np.int64) + 1) * 65536 // (2 * (STATE_N0 + STATE_N1) + 2)).astype(np.int32)

# Replacement priority of a slot: how much evidence its first state holds.
STATE_PRIORITY = (STATE_N0 + STATE_N1).astype(np.uint8)

# Adaptation rate of a counter that has seen n updates: 65536 / (n + 1.5).
RECIPROCAL = (65536 * 2 // (2 * np.arange(1024, dtype=np.int64) + 3)).astype(np.int32)

"""Binary arithmetic coder: 32-bit integer state, 16-bit probabilities, carry-less.

The coder keeps an interval [x1, x2] of 32-bit integers.  Coding a bit with
probability p (of a 1, in 1/65536 units) splits the interval at
xmid = x1 + range * p / 65536; a 1 keeps the low part, a 0 the high part.
Whenever the top byte of x1 and x2 agree it can never change again, so it is
shifted out.  Because the interval is always closed and a byte is emitted only
when it is settled, no carry ever propagates (the "carry-less" coder of the
paq family); the price is a tiny loss when the interval straddles a byte
boundary for a while.

The state lives in a small int64 array so that the encoder and decoder can be
called from inside any Numba-compiled model loop:

    state[0] = x1, state[1] = x2, state[2] = x (decoder only),
    state[3] = position in the byte buffer.

The encoder returns False instead of writing past the end of its output
buffer, so the caller can fall back to storing a block uncompressed.
Reading past the end of the input in the decoder yields zero bytes; the
container's checksums catch any truncation.

Knows nothing of models.
"""
import numpy as np

from ..jit import into_general_loop, njit

MASK32 = 0xFFFFFFFF


def new_state():
    state = np.zeros(4, dtype=np.int64)
    state[1] = MASK32
    return state


@njit(cache=True, nogil=True, inline=into_general_loop)
def _split(x1, x2, p16):
    r = x2 - x1
    return x1 + (r >> 16) * p16 + (((r & 0xFFFF) * p16) >> 16)


@njit(cache=True, nogil=True, inline=into_general_loop)
def encode_bit(state, out, bit, p16):
    """Code one bit; p16 in [1, 65535] is P(bit == 1). False if out is full."""
    x1 = state[0]
    x2 = state[1]
    xmid = _split(x1, x2, p16)
    if bit:
        x2 = xmid
    else:
        x1 = xmid + 1
    pos = state[3]
    while ((x1 ^ x2) & 0xFF000000) == 0:
        if pos >= out.shape[0]:
            return False
        out[pos] = x2 >> 24
        pos += 1
        x1 = (x1 << 8) & MASK32
        x2 = ((x2 << 8) & MASK32) | 0xFF
    state[0] = x1
    state[1] = x2
    state[3] = pos
    return True


@njit(cache=True, nogil=True, inline=into_general_loop)
def _flush_value(x1):
    """The shortest code that pins the final interval [x1, x2]: the decoder
    reads zeros past the end, so 0 bytes if x1 is 0, else the one byte that
    starts the smallest multiple of 2^24 >= x1, which is <= x2 because x1
    and x2 differ in their top byte (-1 for no byte)."""
    if x1 == 0:
        return -1
    if x1 & 0xFFFFFF == 0:
        return x1 >> 24
    return (x1 >> 24) + 1


@njit(cache=True, nogil=True)
def encode_flush(state, out):
    """Write the byte (or none) that pins the final interval. False if out is full."""
    value = _flush_value(state[0])
    if value < 0:
        return True
    pos = state[3]
    if pos >= out.shape[0]:
        return False
    out[pos] = value
    state[3] = pos + 1
    return True


@njit(cache=True, nogil=True)
def decode_end(state, inp):
    """After the last bit: the bytes the encoder wrote, if inp is exactly
    what it writes for what was decoded, else -1.  Every byte before the
    flush is forced by the decoded bits (the decoder is 4 bytes ahead of
    the encoder); the flush must be the encoder's own, or the 4 bytes of x1
    that shoal wrote before the one-byte flush.  So a payload that decodes
    to the right bytes is the one that was written: no damage hides in
    bytes the decoder would ignore."""
    end = state[3] - 4
    x1 = state[0]
    value = _flush_value(x1)
    n = inp.shape[0]
    if value < 0 and n == end:
        return n
    if value >= 0 and n == end + 1 and inp[end] == value:
        return n
    if n == end + 4:
        for i in range(4):
            if inp[end + i] != (x1 >> (24 - 8 * i)) & 0xFF:
                return -1
        return n
    return -1


@njit(cache=True, nogil=True)
def decode_start(state, inp):
    x = 0
    pos = 0
    for _ in range(4):
        c = inp[pos] if pos < inp.shape[0] else 0
        x = (x << 8) | c
        pos += 1
    state[0] = 0
    state[1] = MASK32
    state[2] = x
    state[3] = pos


@njit(cache=True, nogil=True, inline=into_general_loop)
def decode_bit(state, inp, p16):
    """Decode one bit coded with the same p16 the encoder used."""
    x1 = state[0]
    x2 = state[1]
    x = state[2]
    xmid = _split(x1, x2, p16)
    if x <= xmid:
        bit = 1
        x2 = xmid
    else:
        bit = 0
        x1 = xmid + 1
    pos = state[3]
    n = inp.shape[0]
    while ((x1 ^ x2) & 0xFF000000) == 0:
        x1 = (x1 << 8) & MASK32
        x2 = ((x2 << 8) & MASK32) | 0xFF
        c = inp[pos] if pos < n else 0
        x = ((x << 8) & MASK32) | c
        pos += 1
    state[0] = x1
    state[1] = x2
    state[2] = x
    state[3] = pos
    return bit

"""The x86 call/jump filter: relative targets made absolute, reversibly.

In x86 machine code a CALL (E8) or JMP (E9) is followed by a 32-bit
offset from the next instruction.  Calls to one function from many places
carry as many different offsets but one target: written as targets, the
repeats become visible to the school, as xz's BCJ filter makes them
visible to LZMA.  A school with `transform: x86` filters each block before
coding it, and the decoder unfilters it after.

Only offsets within +-16 MiB (a 32-bit value whose top byte is 00 or FF:
most real calls, few other byte runs) are changed, and the target is kept
in that range (25-bit arithmetic, wrapping), so the map is a bijection of
that range onto itself: the decoder sees the same property on the target
and knows what to undo.  After any E8 or E9 byte the next four bytes are
skipped, changed or not, so both sides scan alike (opcode bytes never
change).  Positions count from the block's start.

Where it filters.  A block is cut into SEGMENT-byte segments, scanned
independently.  On data that is not code (an ELF file's symbol tables, an
array of integers) changing such operands costs a little (0.03-0.2%
larger, measured), so a segment is filtered only when its near calls are
dense: at least one per DENSITY bytes (code has one per 33-80 bytes, other
data one per 500 or fewer).  The count is the same before and after the
filter (it changes neither the positions scanned nor whether an operand is
near), so the decoder counts on what it decoded and decides alike: the
choice needs no room in the archive.
"""
import numpy as np

from ..jit import njit

SEGMENT = 1 << 16
DENSITY = 128             # a segment with fewer near calls than its length / DENSITY is left alone
_RANGE = 1 << 25          # 25-bit arithmetic: offsets and targets in [-2^24, 2^24)
_SIGN = 1 << 24


@njit(cache=True, nogil=True)
def _scan(buf, lo, hi, direction):
    """The near E8/E9 operands in buf[lo:hi], counted; direction 1 turns
    them into targets, -1 back into offsets, 0 leaves them."""
    count = 0
    i = lo
    while i + 4 < hi:
        c = buf[i]
        if c == 0xE8 or c == 0xE9:
            top = buf[i + 4]
            if top == 0 or top == 0xFF:
                count += 1
                if direction != 0:
                    value = np.int64(buf[i + 1]) | (np.int64(buf[i + 2]) << 8) | (np.int64(buf[i + 3]) << 16)
                    if top == 0xFF:
                        value -= _SIGN                     # negative; wraps below
                    v = (value + direction * (i + 5)) % _RANGE     # 0 .. 2^25 - 1
                    buf[i + 1] = v & 0xFF
                    buf[i + 2] = (v >> 8) & 0xFF
                    buf[i + 3] = (v >> 16) & 0xFF
                    buf[i + 4] = 0xFF if v >= _SIGN else 0         # sign-extended
            i += 5
        else:
            i += 1
    return count


@njit(cache=True, nogil=True)
def _dense(buf, lo, hi):
    """Whether buf[lo:hi] holds a near call per DENSITY bytes or more."""
    return _scan(buf, lo, hi, 0) * DENSITY >= hi - lo


@njit(cache=True, nogil=True)
def _filter_dense(buf, direction):
    """Filter (1) or unfilter (-1) every dense segment; returns how many."""
    n = buf.shape[0]
    done = 0
    for lo in range(0, n, SEGMENT):
        hi = min(lo + SEGMENT, n)
        if _dense(buf, lo, hi):
            _scan(buf, lo, hi, direction)
            done += 1
    return done


@njit(cache=True, nogil=True)
def code_bytes(buf):
    """How many of buf's bytes lie in segments encode() would filter: a
    measure of how much of a block is machine code (school/kinds.py)."""
    n = buf.shape[0]
    total = 0
    for lo in range(0, n, SEGMENT):
        hi = min(lo + SEGMENT, n)
        if _dense(buf, lo, hi):
            total += hi - lo
    return total


def encode(buf: np.ndarray) -> int:
    """Filter a block in place (a uint8 array): near offsets become targets
    in its dense segments; returns how many segments were filtered."""
    return _filter_dense(buf, 1)


def decode(buf: np.ndarray) -> int:
    """Undo encode() in place."""
    return _filter_dense(buf, -1)

"""Byte contexts of the context-map fish: what each fish looks at.

A context fish is a ContextMap fed with one 32-bit hash per byte.  Its kind
says which bytes go into the hash:

ORDER  k      the last k bytes (order-k; k = 0 is the plain byte frequency).
SPARSE mask   the bytes at the distances whose bits are set in mask
              (bit 0 = the previous byte, bit 15 the byte 16 back):
              contexts that skip bytes, for binary data with fixed-width
              fields.
WORD   v      text: v=0 the current word, v=1 it and the previous word,
              v=2 the previous two words and the current one, v=3 the
              previous word and the last byte.  Words are runs of letters
              (ASCII folded to lower case, and bytes >= 128 for UTF-8),
              so case and punctuation do not split a word's statistics.
RECORD v      tables and images: with r the record length the detector
              believes in, v=0 the bytes r and 2r back (the column above),
              v=1 the byte above and the previous byte, v=2 the column
              number and the byte above; v=3 is v=1 only while the
              detector is sure of r (text, where it is not, then costs
              one slot instead of a table's worth of misses).
TEXTCOL v     text laid out in lines: v=0 the column and the byte above it
              in the previous line, v=1 the byte above and the previous byte.
INDIRECT v    what followed before: v=1 the previous byte and the two bytes
              that followed its last two occurrences, v=2 the same for the
              last two bytes (paq's indirect contexts).
X86 v         x86-64 machine code, by where the byte stands in its instruction
              (x86_code.py): v=0 the decoder's state, opcode, prefixes,
              ModRM and operand bytes left; v=1 the state, opcode, bytes
              left and the previous byte; v=2 the state, opcode and the two
              instructions' opcodes before; v=3 the state, opcode, ModRM and
              the last two bytes.  Followed only while a school has an X86
              fish (update_history's `structured`, bit 2).
STRUCT v      structured text (JSON, CSV, YAML-like records): v=0 the
              current key (the last string before a `:`), the nesting depth
              and the last two bytes; v=1 the path of open brackets and
              their keys, and how far into the current value; v=2 the key
              and the string being read (or, outside strings, the byte
              before); v=3 the field's number in its line (fields end at
              `,`, tab or `;` outside strings) and how far into it.
              History of the structure is kept only while a school has a
              STRUCT fish (update_history's `structured`).

History that several fish share (words, record length, line starts) lives in
one int64 array per lane, and per-byte-value tables (the record detector's,
the indirect fish's) in a second one, both updated once per byte by
update_history().
"""
import numpy as np

from ..jit import into_general_loop, njit
from . import x86_code

ORDER, SPARSE, WORD, RECORD, TEXTCOL, INDIRECT = 0, 1, 2, 3, 4, 5
STRUCT = 7
X86 = 8
# record fish v=3 speaks from this many votes for the record length on
RECORD_SURE = 16
KINDS = {"order": ORDER, "sparse": SPARSE, "word": WORD, "record": RECORD, "textcol": TEXTCOL,
         "indirect": INDIRECT, "struct": STRUCT, "x86": X86}
# A sparse fish as model version 1 computed it, for its archives: bytes 9 to
# 16 back read as 0 before byte `near` (the mask of the bytes 1 to 4 back) of
# the block.  Right in one lane, and decodable; with several lanes it read
# across the lane's start, so such archives never decoded (school/preset.py).
SPARSE_V1 = 6

# Per-lane tables beside the shared history: the record detector's two
# per-byte-value arrays, then the indirect fish's memory of the two bytes
# that followed each byte (IND1) and each pair of bytes (IND2), then the
# structure's stack: the path and key of each open bracket (STRUCT fish).
_IND1, _IND2 = 512, 768
_PATHS = _IND2 + 65536
MAX_DEPTH = 64
_KEYS = _PATHS + MAX_DEPTH
LANE_TABLE = _KEYS + MAX_DEPTH

# Slots of the shared history array.
(H_C4, H_C8, H_WORD0, H_WORD1, H_WORD2, H_RLEN, H_RCAND, H_RVOTES, H_LINE0,
 H_LINE1) = range(10)
# the structure (STRUCT fish): inside a string (and after its backslash),
# the string's hash so far and the last whole string's, the current key,
# the nesting depth and path, where the current value and field began, and
# the field's number in its line
(H_IN_STRING, H_ESCAPE, H_STRING, H_LAST_STRING, H_KEY, H_DEPTH, H_PATH, H_VALUE_AT, H_FIELD,
 H_FIELD_AT) = range(10, 20)
# the x86 decoder's (X86 fish): x86_code.py's slots
HISTORY_SLOTS = x86_code.X_BASE + x86_code.X_SLOTS

MASK32 = 0xFFFFFFFF


def new_history(lanes, starts):
    """For each lane (a stream that starts at byte starts[k] of the block):
    the shared history and the record detector's two per-byte-value arrays."""
    hist = np.zeros((lanes, HISTORY_SLOTS), dtype=np.int64)
    for k in range(lanes):
        hist[k, H_LINE0] = starts[k]     # the lane's first line starts there
        hist[k, H_LINE1] = starts[k]
    return hist, np.zeros((lanes, LANE_TABLE), dtype=np.int64)


@njit(cache=True, nogil=True, inline=into_general_loop)
def mix32(h):
    h &= MASK32
    h ^= h >> 16
    h = (h * 0x7FEB352D) & MASK32
    h ^= h >> 15
    h = (h * 0x846CA68B) & MASK32
    h ^= h >> 16
    return h


@njit(cache=True, nogil=True, inline=into_general_loop)
def combine(h, x):
    return mix32(h * 0x2F0B3C55 + x + 0x9E3779B9)


@njit(cache=True, nogil=True, inline=into_general_loop)
def hash3(a, b, c):
    """One mixing round over three values below 2**32 (products wrap)."""
    return mix32(a * 0x9E3779B1 + b * 0x85EBCA77 + c * 0xC2B2AE3D + (a >> 7) + (b >> 11))


@njit(cache=True, nogil=True, inline=into_general_loop)
def _low_bytes(v, k):
    """The k (0..4) low bytes of a packed 32-bit history word."""
    return v & ((1 << (8 * k)) - 1)


@njit(cache=True, nogil=True, inline=into_general_loop)
def byte_at(buf, pos, distance, lo):
    """The byte `distance` back in a lane that starts at lo (0 before it)."""
    i = pos - distance
    return buf[i] if i >= lo else 0


@njit(cache=True, nogil=True, inline=into_general_loop)
def predicted_bit(byte, c0, bitpos):
    """The bit a fish that predicts `byte` (-1: none) bets on next, or -1 if
    the bits of this byte coded so far (c0) already contradict it."""
    if byte < 0:
        return -1
    b = byte | 256
    if (b >> (8 - bitpos)) != c0:
        return -1
    return (b >> (7 - bitpos)) & 1


@njit(cache=True, nogil=True, inline=into_general_loop)
def _is_letter(c):
    return (97 <= c <= 122) or (65 <= c <= 90) or c >= 128


@njit(cache=True, nogil=True, inline=into_general_loop)
def _update_structure(hist, record, c, pos):
    """The structure after byte c, at pos - 1 (STRUCT fish)."""
    if hist[H_IN_STRING]:
        if hist[H_ESCAPE]:
            hist[H_ESCAPE] = 0
            hist[H_STRING] = combine(hist[H_STRING], c)
        elif c == 92:                                   # backslash
            hist[H_ESCAPE] = 1
        elif c == 34:                                   # the string ends
            hist[H_IN_STRING] = 0
            hist[H_LAST_STRING] = hist[H_STRING]
        else:
            hist[H_STRING] = combine(hist[H_STRING], c)
        return
    d = hist[H_DEPTH]
    if c == 34:
        hist[H_IN_STRING] = 1
        hist[H_STRING] = 0
    elif c == 58:                                       # ':' a key was the last string
        hist[H_KEY] = hist[H_LAST_STRING]
        hist[H_VALUE_AT] = pos
    elif c == 123 or c == 91:                           # { [
        if d < MAX_DEPTH:
            record[_PATHS + d] = hist[H_PATH]
            record[_KEYS + d] = hist[H_KEY]
        hist[H_DEPTH] = d + 1
        hist[H_PATH] = hash3(hist[H_PATH], hist[H_KEY], c)
        hist[H_VALUE_AT] = pos
    elif c == 125 or c == 93:                           # } ]
        if d > 0:
            d -= 1
            hist[H_DEPTH] = d
            if d < MAX_DEPTH:
                hist[H_PATH] = record[_PATHS + d]
                hist[H_KEY] = record[_KEYS + d]
    elif c == 44 or c == 9 or c == 59:                  # , tab ;
        hist[H_VALUE_AT] = pos
        hist[H_FIELD] += 1
        hist[H_FIELD_AT] = pos
    elif c == 10:
        hist[H_FIELD] = 0
        hist[H_FIELD_AT] = pos


@njit(cache=True, nogil=True, inline=into_general_loop)
def update_history(hist, record, buf, pos, structured):
    """Fold in the byte buf[pos - 1] that has just been coded (and the
    structure too when `structured` & 1: a school with a STRUCT fish; the
    x86 decoder when & 2: one with an X86 fish)."""
    c = buf[pos - 1]
    if structured & 1:
        _update_structure(hist, record, c, pos)
    if structured & 2:
        x86_code.update(hist, c)
    # the last eight bytes, packed (c1 in the low byte of H_C4)
    hist[H_C8] = ((hist[H_C8] << 8) | (hist[H_C4] >> 24)) & MASK32
    hist[H_C4] = ((hist[H_C4] << 8) | c) & MASK32
    # words
    if _is_letter(c):
        lower = c + 32 if 65 <= c <= 90 else c
        hist[H_WORD0] = combine(hist[H_WORD0], lower)
    elif hist[H_WORD0] != 0:
        hist[H_WORD2] = hist[H_WORD1]
        hist[H_WORD1] = hist[H_WORD0]
        hist[H_WORD0] = 0
    # lines
    if c == 10:
        hist[H_LINE1] = hist[H_LINE0]
        hist[H_LINE0] = pos
    # what followed: c after c2 (IND1) and after c3 c2 (IND2)
    c2 = (hist[H_C4] >> 8) & 0xFF
    c32 = (hist[H_C4] >> 8) & 0xFFFF
    record[_IND1 + c2] = ((record[_IND1 + c2] << 8) | c) & 0xFFFF
    record[_IND2 + c32] = ((record[_IND2 + c32] << 8) | c) & 0xFFFF
    # record length: a byte value that recurs at the same distance twice in
    # a row votes for that distance; a steady majority sets the length.
    last = record[c]
    d = pos - last
    if last > 0 and d >= 3 and d == record[256 + c]:
        if d == hist[H_RCAND]:
            if hist[H_RVOTES] < 64:
                hist[H_RVOTES] += 1
            if hist[H_RVOTES] >= 6:
                hist[H_RLEN] = d
        else:
            hist[H_RVOTES] -= 1
            if hist[H_RVOTES] <= 0:
                hist[H_RCAND] = d
                hist[H_RVOTES] = 1
    record[256 + c] = d if last > 0 else 0
    record[c] = pos


@njit(cache=True, nogil=True, inline=into_general_loop)
def context_hash(kind, arg, hist, record, buf, pos, lo):
    """The 32-bit context hash of one fish for the byte at pos, in a lane
    that starts at lo."""
    h = (SPARSE if kind == SPARSE_V1 else kind) * 0x3C6EF372 + arg * 0x1B873593 + 1
    if kind == ORDER:
        if arg <= 4:
            return hash3(h, _low_bytes(hist[H_C4], arg), 0)
        if arg <= 8:
            return hash3(h, hist[H_C4], _low_bytes(hist[H_C8], arg - 4))
        h = hash3(h, hist[H_C4], hist[H_C8])
        for d in range(9, arg + 1):
            h = combine(h, byte_at(buf, pos, d, lo))
    elif kind == SPARSE or kind == SPARSE_V1:
        near = 0            # which of the last four bytes, and of the four before
        far = 0
        for d in range(1, 5):
            if (arg >> (d - 1)) & 1:
                near |= 0xFF << (8 * (d - 1))
            if (arg >> (d + 3)) & 1:
                far |= 0xFF << (8 * (d - 1))
        h = hash3(h, hist[H_C4] & near, hist[H_C8] & far)
        # model 1 read bytes 9..16 back only from byte `near` of the block
        # on (it took the mask for the lane's start): one lane only
        start = near if kind == SPARSE_V1 else lo
        for d in range(9, 17):
            if (arg >> (d - 1)) & 1:
                h = combine(h, byte_at(buf, pos, d, start) | (d << 8))
    elif kind == WORD:
        if arg == 0:
            return hash3(h, hist[H_WORD0], 0)
        if arg == 1:
            return hash3(h, hist[H_WORD0], hist[H_WORD1])
        if arg == 2:
            return hash3(h, hist[H_WORD0], combine(hist[H_WORD1], hist[H_WORD2]))
        return hash3(h, hist[H_WORD1], hist[H_C4] & 0xFF)
    elif kind == RECORD:
        r = hist[H_RLEN]
        if r > 0:
            above = byte_at(buf, pos, r, lo)
            if arg == 0:
                return hash3(h, above | (byte_at(buf, pos, 2 * r, lo) << 8), r)
            if arg == 1:
                return hash3(h, above | ((hist[H_C4] & 0xFF) << 8), r)
            if arg == 2:
                return hash3(h, above | ((pos % r) << 8), r)
            if hist[H_RCAND] == r and hist[H_RVOTES] >= RECORD_SURE:
                return hash3(h, above | ((hist[H_C4] & 0xFF) << 8), r)
    elif kind == INDIRECT:
        if arg <= 1:
            c1 = hist[H_C4] & 0xFF
            return hash3(h, c1, record[_IND1 + c1])
        c21 = hist[H_C4] & 0xFFFF
        return hash3(h, c21, record[_IND2 + c21])
    elif kind == TEXTCOL:
        col = pos - hist[H_LINE0]
        above = buf[hist[H_LINE1] + col] if hist[H_LINE1] + col < hist[H_LINE0] else 0
        if arg == 0:
            return hash3(h, min(col, 255), above)
        return hash3(h, above, hist[H_C4] & 0xFF)
    elif kind == STRUCT:
        if arg == 0:
            return hash3(h, hist[H_KEY], (hist[H_C4] & 0xFFFF) | (min(hist[H_DEPTH], 255) << 16))
        if arg == 1:
            return hash3(h, hist[H_PATH], (hist[H_C4] & 0xFF) | (min(pos - hist[H_VALUE_AT], 31) << 8))
        if arg == 2:
            inside = hist[H_STRING] if hist[H_IN_STRING] else (hist[H_C4] & 0xFF) | 0x100
            return hash3(h, hist[H_KEY], inside & MASK32)
        return hash3(h, min(hist[H_FIELD], 255) | (min(pos - hist[H_FIELD_AT], 31) << 8), hist[H_C4] & 0xFF)
    elif kind == X86:
        where = hist[x86_code.X_STATE] | (hist[x86_code.X_OP] << 3)
        if arg == 0:
            return hash3(h, where | (hist[x86_code.X_PREFIX] << 14),
                         hist[x86_code.X_MODRM] | (min(hist[x86_code.X_LEFT], 15) << 9))
        if arg == 1:
            return hash3(h, where | (min(hist[x86_code.X_LEFT], 15) << 14), hist[H_C4] & 0xFF)
        if arg == 2:
            return hash3(h, where, hist[x86_code.X_PREV] | (hist[x86_code.X_PREV2] << 11))
        return hash3(h, where | (hist[x86_code.X_MODRM] << 14), hist[H_C4] & 0xFFFF)
    return mix32(h)

"""ContextMap: bounded hash tables of bit histories, one slot per nibble.

A context fish hashes its context once per nibble and finds a 16-byte slot:
byte 0 is an 8-bit checksum of the hash, bytes 1..15 are the bit-history
states of the 15 nodes of the nibble's binary tree (node 1 is the first bit,
nodes 2..3 the second, 4..7 the third, 8..15 the fourth).  Slots come in
buckets of four (one 64-byte cache line); a lookup takes the slot whose
checksum matches, or else evicts the one whose first node has seen the least.
The table never grows: its size is the fish's memory, set by the preset.
"""

from ..jit import into_general_loop, njit
from .prefetch import prefetch
from .tables import STATE_PRIORITY, U

SLOT_BYTES = 16


@njit(cache=True, nogil=True, inline=into_general_loop)
def find_slot(table, base, nslots, h):
    """Byte offset of the slot for 32-bit hash h (claimed if absent) in the
    table of `nslots` slots (a power of two) that starts at byte `base`."""
    check = (h >> 24) & 0xFF
    bucket = (h & (nslots - 1)) & ~3
    for k in range(4):
        s = base + ((bucket + k) << 4)
        if table[U(s)] == check:
            return s
    victim = base + (bucket << 4)
    low = 256
    for k in range(4):
        s = base + ((bucket + k) << 4)
        pr = STATE_PRIORITY[U(table[U(s + 1)])]
        if pr < low:
            low = pr
            victim = s
    for k in range(SLOT_BYTES):
        table[U(victim + k)] = 0
    table[U(victim)] = check
    return victim


@njit(cache=True, nogil=True, inline=into_general_loop)
def prefetch_slot(table, base, nslots, h):
    """Ask for the bucket find_slot(table, base, nslots, h) will search."""
    prefetch(table, base + (((h & (nslots - 1)) & ~3) << 4))


@njit(cache=True, nogil=True, inline=into_general_loop)
def nibble_hash(h, c0):
    """The second nibble's hash from the byte's context hash and the first
    nibble (c0 = 16..31).  The byte hash is already well mixed, so one
    multiply-add moves both the bucket (low bits) and the checksum (top
    bits) far for each of the 16 first nibbles."""
    return (h + c0 * 0x9E3779B1 + (c0 << 24)) & 0xFFFFFFFF


@njit(cache=True, nogil=True, inline=into_general_loop)
def nibble_node(c0, bitpos):
    """Index (1..15) of the current bit's node inside its nibble's slot."""
    if bitpos < 4:
        return c0
    k = bitpos - 4
    return (1 << k) | (c0 & ((1 << k) - 1))

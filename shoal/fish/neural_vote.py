"""The neural fish as a voter: its byte distribution, as one vote per bit.

The neural fish (fish/neural/) runs outside compiled code: before each
step the school asks it for the distribution of every lane's next byte and
passes it in as cumulative frequencies (school/engine.code_steps).  Its vote
is stretch(P(next bit = 1)) under that distribution, given the bits of the
byte coded so far; it learns nothing bit by bit (it reads the bytes coded).

This module follows the voter contract of fish/voters.py; its state is the
step's distribution, which the loop receives as an argument.
"""
from ..jit import into_general_loop, njit
from .entry import check_bool, check_int, check_keys
from .tables import STRETCH

KINDS = ("neural",)
FINAL = False
SETTINGS = ()


def read(entry: dict, carried: bool) -> dict:
    """A preset's neural-fish entry, its keys checked: a file, or a digest;
    `fallback: true` (school.compress_block: a block the fish does not make
    smaller is coded without it); and `tables: K`, the school's tables with
    the fish no larger than a block's of fit K (preset._compile: every
    table's bits at most K), so that every block starts from the one kept
    copy of the school its primer left (school/neural_block.py).  The
    preset turns it into the digest alone (school/neural.identify), with
    the fallback and tables when set.  An archive names its fish by digest
    only: an archive must not make its reader open a file it names."""
    check_keys(entry, {"kind", "digest", "fallback", "tables"} if carried
               else {"kind", "file", "digest", "fallback", "tables"}, "fish neural")
    check_bool(entry.get("fallback", False), "fish neural fallback")
    if "tables" in entry:
        check_int(entry["tables"], "fish neural tables", 12, 30)
    return dict(entry)


def settings(spec: dict, entries: list[dict], school_kind: str) -> tuple:
    """(mode,): 1 when the school has a neural fish."""
    return (1 if entries else 0,)


def inputs(mode: int, nf: int) -> int:
    return 1 if mode else 0


@njit(cache=True, nogil=True, inline=into_general_loop)
def p12(cum, c0, bitpos):
    """P(next bit = 1) in 1/4096 from a byte distribution given as
    cumulative frequencies (cum[b] = the mass of bytes below b): the mass of
    the bytes that agree with the partial byte c0 and have a 1 next, over
    the mass of all that agree with c0 (the binary decomposition)."""
    width = 1 << (8 - bitpos)
    lo = (c0 - (1 << bitpos)) * width
    total = cum[lo + width] - cum[lo]
    ones = cum[lo + width] - cum[lo + (width >> 1)]
    p = (ones * 4096 + (total >> 1)) // total
    return min(max(p, 1), 4095)


@njit(cache=True, nogil=True, inline=into_general_loop)
def vote(cum, lane, xs, at, c0, bitpos):
    """cum: int64[lanes, 257], the step's distributions."""
    xs[at] = STRETCH[p12(cum[lane], c0, bitpos)]

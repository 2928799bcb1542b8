"""Block kinds: which of a preset's schools codes a block.

A preset is one school until its fish say where they swim (`only:`); then
it is one school per kind of block it tells apart.  A block is one of

    text     at most 1% of its bytes are NUL (looks_like_text)
    x86      not text, and at least X86_SHARE (1/16) of its bytes lie in 64 KiB
             segments dense with near calls (codec/x86.py): machine code
    binary   every other block

A fish's `only:` names where it swims, one name or a list of them:

    text           text blocks
    binary         every block that is not text (x86 ones too)
    x86            x86 blocks
    other-binary   binary blocks that are not x86

so the presets written before x86 blocks were told apart (`only: text`,
`only: binary`) keep their meaning, and their archives their bytes: a
preset none of whose fish tells x86 from other binaries codes x86 blocks
with its binary school and marks them binary.  The archive marks which
school coded each block (docs/format.md), so the decoder never detects.
"""
from __future__ import annotations

import numpy as np

from ..fish.entry import ONLY, covers

KINDS = ("text", "binary", "x86")
assert ONLY["any"] == frozenset(KINDS)

# A block is binary when over 1% of its bytes are NUL: git, diff and grep
# take any NUL for a sign of binary data; a share keeps a long text block
# with a stray NUL (or a few) a text block.
_TEXT_MAX_NUL = 0.01
# A binary block is x86 when dense code (codec/x86.py's segments) holds at
# least this share of it.  x86 fish gain 4-15% on code and cost 0.1-0.8% on
# other binaries (docs/experiments/specialists.md).  Chosen on training-side
# libraries: level 6's x86 school was 1.0-1.7% smaller on three unstripped
# extension modules whose code is 9-12% of the file (the rest debug
# information), 0.16% on one with 3.5% code, too little for its time.
X86_SHARE = 1 / 16


def looks_like_text(data) -> bool:
    """Whether a block looks like text: at most 1% of its bytes are NUL.
    Executables, images and other binaries are full of zeros; text in ASCII
    or UTF-8 has none."""
    buf = np.frombuffer(data, dtype=np.uint8)
    return buf.size - np.count_nonzero(buf) <= _TEXT_MAX_NUL * buf.size


def detect(data, told_apart=frozenset(KINDS)) -> str:
    """The kind of block `data`, among those a preset tells apart (an x86
    block is binary to a preset that does not: told_apart without x86)."""
    if looks_like_text(data):
        return "text"
    if "x86" in told_apart:
        from ..codec import x86
        buf = np.frombuffer(data, dtype=np.uint8)
        if not buf.flags.writeable:
            buf = buf.copy()            # the filter's compiled signature (a writable array)
        if buf.size and x86.code_bytes(buf) >= X86_SHARE * buf.size:
            return "x86"
    return "binary"


def swims_in(fish: dict, kind: str) -> bool:
    """Whether a fish swims in blocks of `kind` (one of KINDS)."""
    return kind in covers(fish.get("only", "any"))


def told_apart(fish: list[dict]) -> frozenset:
    """The kinds a preset's fish tell apart: text and binary when any fish
    sits out some blocks, and x86 when a fish sits out x86 blocks or other
    binary ones but not both."""
    marks = [covers(f["only"]) for f in fish if "only" in f]
    if not marks:
        return frozenset({"text"})
    if any(("x86" in m) != ("binary" in m) for m in marks):
        return frozenset(KINDS)
    return frozenset({"text", "binary"})

"""Block kinds: which of a preset's schools codes a block.

A preset is one school until its fish say where they swim (`only:`); then
it is one school per kind of block it tells apart.  A block is one of

    text        at most 1% of its bytes are NUL (looks_like_text)
    structured  text of records: JSON, CSV/TSV, or lines of `key: value` /
                `key = value` (YAML, INI, mail headers): looks_structured
    x86         not text, and at least X86_SHARE (1/16) of its bytes lie in
                64 KiB segments dense with near calls (codec/x86.py)
    binary      every other block

A fish's `only:` names where it swims, one name or a list of them:

    text           text blocks, structured ones too
    structured     structured text
    other-text     text that is not structured
    binary         every block that is not text (x86 ones too)
    x86            x86 blocks
    other-binary   binary blocks that are not x86

so the presets written before structured and x86 blocks were told apart
(`only: text`, `only: binary`) keep their meaning, and their archives their
bytes: a preset none of whose fish tells x86 from other binaries codes x86
blocks with its binary school and marks them binary, and so for structured
text and its text school.  The archive marks which school coded each block
(docs/format.md), so the decoder never detects.
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from ..fish.entry import ONLY, covers

KINDS = ("text", "binary", "x86", "structured")
assert ONLY["any"] == frozenset(KINDS)
TEXT, BINARY = ONLY["text"], ONLY["binary"]     # the kinds of text, of binary blocks

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


# Structured text, judged on a block's first STRUCTURE_SAMPLE bytes' lines
# (at least 4): chosen on train/ and the learn halves of the json, csv and
# copyright sets (tools/make_small_sets.py).  JSON and CSV files had 0.42-1.0
# of their lines with the commonest count of a separator, and JSON and
# key-value files 0.53-0.69 of them starting with a key; English prose,
# C, Python, reStructuredText and HTML at most 0.38 and 0.25.
STRUCTURE_SAMPLE = 1 << 16
SAME_FIELDS_SHARE = 0.6
KEY_LINES_SHARE = 0.5
_KEY_LINE = re.compile(rb"[ \t]*(?:- )?[\"']?[\w.\-/]{1,40}(?: [\w.\-/]{1,40}){0,2}[\"']?[ \t]*[:=](?:[ \t]|$)")
_QUOTED = re.compile(rb'"[^"\n]*"')
_SEPARATORS = (b",", b"\t", b";", b"|")


def looks_structured(data) -> bool:
    """Whether a text block holds records: JSON (it opens with a bracket
    and has a key per four lines), CSV or TSV (most lines have the same
    number of a separator outside quotes) or key-value lines (YAML, INI,
    mail headers; JSON as pretty-printed)."""
    sample = bytes(data[:STRUCTURE_SAMPLE])
    lines = sample.split(b"\n")
    if len(data) > STRUCTURE_SAMPLE:
        lines.pop()                     # cut short by the sample
    lines = [line for line in lines if line.strip()]
    if len(lines) < 4:
        return False
    if sample.lstrip()[:1] in (b"{", b"[") and sample.count(b'":') * 4 >= len(lines):
        return True
    bare = [_QUOTED.sub(b"", line) for line in lines]
    for separator in _SEPARATORS:
        counts = Counter(line.count(separator) for line in bare)
        counts.pop(0, None)
        if counts and counts.most_common(1)[0][1] >= SAME_FIELDS_SHARE * len(lines):
            return True
    return sum(1 for line in lines if _KEY_LINE.match(line)) >= KEY_LINES_SHARE * len(lines)


def detect(data, told_apart=frozenset(KINDS)) -> str:
    """The kind of block `data`, among those a preset tells apart (an x86
    block is binary to a preset that does not: told_apart without x86; and
    structured text is text without structured)."""
    if looks_like_text(data):
        return "structured" if "structured" in told_apart and looks_structured(data) else "text"
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
    sits out some blocks; x86 when a fish sits out x86 blocks or other
    binary ones but not both, and structured likewise for text."""
    marks = [covers(f["only"]) for f in fish if "only" in f]
    if not marks:
        return frozenset({"text"})
    told = {"text", "binary"}
    if any(("x86" in m) != ("binary" in m) for m in marks):
        told.add("x86")
    if any(("structured" in m) != ("text" in m) for m in marks):
        told.add("structured")
    return frozenset(told)

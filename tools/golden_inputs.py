"""The inputs of the golden archives (tools/make_golden.py), generated once,
deterministically, then read from tests/golden/inputs/: the files, not this
code, are what later archives are made from.  A few KB each: English-like
text, records, an int32 table, binary, short and empty inputs, and a
mixed stream.
"""
from __future__ import annotations

import json
import struct
from typing import Callable

class _Random:
    """splitmix64: the same numbers in every Python (random's methods may change)."""

    def __init__(self, seed: int):
        self.state = seed & (2**64 - 1)

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & (2**64 - 1)
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n

    def pick(self, items):
        return items[self.below(len(items))]


_WORDS = ("the a of and to in is was that it he she they with as for on at by from his her their this "
          "which had not but were be have are all one an or when there what so out up into some could "
          "time water river school fish sea light morning long little small old great every never again "
          "swam turned looked found said thought knew came went across under through along before after "
          "quietly slowly silver shadow current stone shore wave reef tide harbour lantern compass").split()


def _text(size: int = 4096) -> bytes:
    """English-like prose: sentences of common words, capitals, commas, paragraphs."""
    rnd = _Random(1)
    out, line = [], []
    while sum(map(len, out)) < size:
        words = [rnd.pick(_WORDS) for _ in range(4 + rnd.below(12))]
        if rnd.below(4) == 0:
            words.insert(1 + rnd.below(len(words) - 1), rnd.pick(_WORDS) + ",")
        sentence = " ".join(words)
        line.append(sentence[0].upper() + sentence[1:] + rnd.pick(".....?!"))
        if rnd.below(5) == 0:
            out.append(" ".join(line) + "\n\n")
            line = []
    return "".join(out).encode()[:size]


def _records(size: int = 4096) -> bytes:
    """JSON-like records, one per line."""
    rnd = _Random(2)
    names = ("anchovy", "barracuda", "cod", "dory", "eel", "flounder", "grouper", "herring", "ide", "john")
    lines, n = [], 0
    while sum(map(len, lines)) < size:
        lines.append(json.dumps({"id": 1000 + n, "name": rnd.pick(names), "depth_m": rnd.below(400),
                                 "weight_g": round(rnd.below(10**6) / 100, 2), "school": rnd.below(7) != 0,
                                 "tags": [rnd.pick(("reef", "pelagic", "benthic", "coastal"))
                                          for _ in range(rnd.below(3))]},
                                separators=(", ", ": ")) + "\n")
        n += 1
    return "".join(lines).encode()[:size]


def _int32_table(rows: int = 340) -> bytes:
    """A little-endian int32 table: row number, an arithmetic progression, a slowly drifting value."""
    rnd = _Random(3)
    out, drift = bytearray(), 50_000
    for i in range(rows):
        drift += rnd.below(201) - 100
        out += struct.pack("<iii", i, 7 * i - 1000, drift)
    return bytes(out)


def _binary(size: int = 4096) -> bytes:
    """Binary with many NUL bytes (so the binary school codes it, block type 3):
    a header, code-like bytes, zero padding, a string table and an int32 table."""
    rnd = _Random(4)
    out = bytearray(b"\x7fGLD\x02\x01\x01\x00" + bytes(8) + struct.pack("<HHIQQQ", 2, 62, 1, 0x401000, 64, 0))
    ops = (b"\x48\x89\xe5", b"\x48\x83\xec\x10", b"\xe8", b"\x89\x45\xfc", b"\x8b\x45\xfc", b"\xc3", b"\x55",
           b"\x0f\x1f\x44\x00\x00", b"\x31\xc0", b"\x48\x8d\x3d")
    while len(out) < 1536:
        op = rnd.pick(ops)
        out += op + (struct.pack("<i", rnd.below(4096) - 2048) if op in (b"\xe8", b"\x48\x8d\x3d") else b"")
    out += bytes(-len(out) % 512)
    for name in (b"main", b"swim", b"school_for", b"compress_block", b"mixer_update", b"apm_refine", b"_start"):
        out += name + b"\x00"
    out += bytes(-len(out) % 64)
    address = 0x401000
    while len(out) < size:
        address += 16 * (1 + rnd.below(8))
        out += struct.pack("<IIHH", address, rnd.below(300), rnd.below(4), 0)
    return bytes(out[:size])


def _short() -> bytes:
    return b"A short line of text, a school of fish, a short line of text again.\n"


INPUT_MAKERS: dict[str, Callable[[], bytes]] = {
    "text.txt": _text,
    "records.json": _records,
    "int32.bin": _int32_table,
    "binary.bin": _binary,
    "short.txt": _short,
    "one.bin": lambda: b"x",
    "empty.bin": lambda: b"",
    # text, then binary: blocks of both kinds in one stream
    "mixed.bin": lambda: _text(3072) + _binary(2048),
    # text, x86-like code, an int32 table: in 1 KiB blocks, blocks of each kind
    # a preset that tells x86 blocks apart has (school/kinds.py)
    "kinds.bin": lambda: _text(2048) + _binary(2048) + _int32_table(171)[:2048],
    # and JSON records first: blocks of structured text too
    "four-kinds.bin": lambda: _records(2048) + _text(2048) + _binary(2048) + _int32_table(171)[:2048],
}

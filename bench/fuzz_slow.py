"""The fuzz campaign's crafted archives (bench/fuzz.py), part 3: archives that
cost time rather than memory: many coded blocks, tiny blocks of a primed
level (each starts from the primer), many streams each with its own
preset.  Their Expect is a time budget derived from the rates below.
"""
from __future__ import annotations

import functools

from bench.fuzz_archive import crc, parse, stored, stream
from bench.fuzz_craft import Expect, json_preset


@functools.lru_cache(maxsize=None)
def _tiny_block(level: int, text: bool) -> tuple[bytes, bytes]:
    """(original, frame) of one small block coded at `level`."""
    import shoal
    data = b"the quick brown fox jumps over the lazy dog. " * 2 if text else bytes(64)
    rec = parse(shoal.compress(data, level, block_size=len(data)))
    assert rec[1].type != 1, "the tiny block was stored"
    return data, rec[1].encode()


def _repeated_blocks(level: int, text: bool, n: int) -> tuple[bytes, bytes]:
    from shoal import school
    data, frame = _tiny_block(level, text)
    whole = data * n
    blob = stream(f"level{level}".encode(), school.level(level).digest, len(data), [frame * n], len(whole),
                  total_size=len(whole), total_crc=crc(whole))
    return blob, whole


ARCHIVE_RATE = 50_000    # bytes of archive a second: the least a reader should decode, whatever the archive
# Every block starts its model afresh (tables, mixer weights, APMs: about
# 1.6 ms at level 6 however small the block): a reader's time is linear in
# the number of blocks, at up to this much per block.
BLOCK_SECONDS = 0.005


def c_many_coded_blocks(rng, r):
    """Many small coded blocks (64 zero bytes each, 25-byte frames): every
    block starts a new model, so this measures the fixed cost per block."""
    extreme = r == 0
    level = 6 if extreme else rng.choice([1, 6])
    n = 5000 if extreme else rng.choice([100, 1000, 5000])
    blob, whole = _repeated_blocks(level, False, n)
    return blob, [whole], f"level{level}, {n:,} coded blocks of 64 bytes ({len(blob):,}-byte archive)", \
        Expect(ok=True, max_s=1 + n * BLOCK_SECONDS)


# A primed level's reader reads its primer once (level 9: about 3 s here),
# then starts each small block from a copy-on-write copy of what it learnt.
# The first level-9 case in a worker also loads level 9's loops from the disk
# cache (the worker warms levels 1 and 6 only): 9.2 s for two 90-byte blocks
# in one CI run on a busy machine, 3.3 s in a quiet fresh process.
PRIMER_SECONDS = 12.0
# a block after the primer starts from a copy-on-write copy of what the
# primer left: level 9's tables take 70-150 ms of page copies a small block
# on this machine (reading the primer again would take seconds)
PRIMED_BLOCK_SECONDS = 0.3


def c_primer_tiny_blocks(rng, r):
    """Small coded text blocks at a primed level (8, 9): its text school
    reads the primer (up to 512 KiB of model work) before every block; a
    reader does that work once, not once a block (school._Snapshot), or a
    few bytes of archive would cost seconds each."""
    extreme = r == 0
    level = 9 if extreme else rng.choice([8, 9])
    n = 20 if extreme else rng.choice([2, 5, 20])
    blob, whole = _repeated_blocks(level, True, n)
    desc = f"level{level}, {n} coded text blocks of {len(whole) // n} bytes ({len(blob):,}-byte archive)"
    return blob, [whole], desc, Expect(ok=True, max_s=PRIMER_SECONDS + n * PRIMED_BLOCK_SECONDS)


def c_many_presets(rng, r):
    """Many streams, each with a preset of its own (more than the reader
    caches), one stored byte each."""
    extreme = r == 0
    n = 5000 if extreme else rng.choice([50, 500, 5000])
    parts, out = [], b""
    for k in range(n):
        raw = {"fish": [{"kind": "order", "arg": 1 + k % 7, "bits": 10 + (k // 7) % 13}],
               "apm": {"rate": 1 + (k // 91) % 14, "order2_bits": 8 + (k // 1274) % 10}}
        field_, digest, _ = json_preset(raw)
        b = bytes([k & 0xFF])
        parts.append(stream(field_, digest, 1024, [stored(b)], 1, total_crc=crc(b)))
        out += b
    blob = b"".join(parts)
    return blob, [out], f"{n:,} streams with {min(n, 5000):,} distinct presets ({len(blob):,} bytes)", \
        Expect(ok=True, max_s=1 + len(blob) / ARCHIVE_RATE)

"""Judging a school on pieces: what they code to, and how fast.

Every choice `shoal learn` makes is judged by the coded size of pieces the
school did not learn from, each coded as its own block (as each small file
is its own archive).  Pieces go in order of size, so that blocks fitted to
the same tables follow each other and share one primed school
(school._code_after_primer keeps one at a time).
"""
from __future__ import annotations

import dataclasses
import statistics
import time

from .. import api, school
from ..school import primer
from ..school_file import SchoolFile


def with_primer(spec: dict, text: bytes | None, own_loop: bool = True) -> school.Preset:
    """The preset `spec` reading primer `text` (None: as it is), run by the
    loop compiled for its shape (a learned school is a file its user loads),
    or by the general loop (own_loop False: candidates of many shapes, the
    same bytes without a compile for each)."""
    if text is not None:
        spec = dict(spec, primer={"digest": primer.learned(text), "grow": True})
    return dataclasses.replace(school.from_dict(spec), own_loop=own_loop)


def _by_size(pieces: list[bytes]) -> list[bytes]:
    return sorted(pieces, key=len)


def coded(preset: school.Preset, pieces: list[bytes]) -> int:
    """Bytes of the pieces' payloads, each coded as one block (stored when
    coding would not shrink it); framing, the same for every candidate, is
    left out."""
    return timed(preset, pieces)[0]


def timed(preset: school.Preset, pieces: list[bytes]) -> tuple[int, float]:
    """coded(), and the median milliseconds a piece took (the first piece
    reads the primer: the median leaves it out).  CPU time of this thread,
    which codes the piece: what other processes take of the machine does
    not count (wall-clock times, with two learns running on two cores,
    once rejected every primer over 128 KiB)."""
    total, times = 0, []
    for piece in _by_size(pieces):
        start = time.thread_time()
        payload = school.compress_block(piece, school.school_for(piece, preset))
        times.append(1000 * (time.thread_time() - start))
        total += len(piece) if payload is None else len(payload)
    return total, sorted(times)[len(times) // 2]


def archives(pieces: list[bytes], *, level: int | None = None, learned: SchoolFile | None = None) -> int:
    """Bytes of the pieces as archives, each its own (framing included)."""
    if learned is not None:
        return sum(len(api.compress(p, school=learned)) for p in _by_size(pieces))
    return sum(len(api.compress(p, level)) for p in _by_size(pieces))


def speed(learned: SchoolFile, pieces: list[bytes]) -> dict:
    """Warm milliseconds per piece, compressing and decompressing each as its
    own archive, and per KB of pieces: CPU time of this thread, which codes
    them (as timed(), so that other work on the machine does not count)."""
    ordered = _by_size(pieces)
    blobs = [api.compress(p, school=learned) for p in ordered]       # warm: compiled, primed
    start = time.thread_time()
    blobs = [api.compress(p, school=learned) for p in ordered]
    middle = time.thread_time()
    for blob, piece in zip(blobs, ordered):
        if api.decompress(blob, school=learned) != piece:
            raise AssertionError("a learned school did not decode what it coded")
    end = time.thread_time()
    kb = sum(map(len, ordered)) / 1000
    return {"compress_ms_per_file": 1000 * (middle - start) / len(ordered),
            "decompress_ms_per_file": 1000 * (end - middle) / len(ordered),
            "compress_ms_per_kb": 1000 * (middle - start) / kb, "decompress_ms_per_kb": 1000 * (end - middle) / kb}


# paired timings judge.slower takes: enough that a swap costing 3% more
# time shows above this machine's noise (about ±5% a coding, two learns
# side by side)
TIMINGS = 7


def slower(preset: school.Preset, than: school.Preset, block: bytes, timings: int = TIMINGS) -> float:
    """How much more time `preset` takes than `than` to code `block` (as one
    block, as a file of it is coded): the median ratio of their CPU times
    over `timings` pairs, coded in turn, each pair in the other order.  Each
    is coded once first, untimed (its primer read, its loop compiled)."""
    def cpu(p: school.Preset) -> float:
        start = time.thread_time()
        school.compress_block(block, school.school_for(block, p))
        return time.thread_time() - start

    cpu(preset), cpu(than)
    ratios = []
    for k in range(timings):
        if k % 2:
            b, a = cpu(than), cpu(preset)
        else:
            a, b = cpu(preset), cpu(than)
        ratios.append(a / max(b, 1e-9))
    return statistics.median(ratios)

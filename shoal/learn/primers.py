"""Primer candidates: the samples' text a school reads before each block.

A primer helps a small file in two ways: its fish and mixers have already
learnt the kind of data, and the match fish can copy what the file shares
with it (headers, keys, boilerplate).  Three ways to fill a budget:

  recent   the learn pieces as they come, the last BUDGET bytes
  filled   where the samples hold less than BUDGET: all of them, after the
           tail of the base level's own primer (general text) that fills
           the budget
  cover    zstd's COVER dictionary builder's idea: cut the pieces into
           segments of k bytes and take, greedily, the segment whose d-byte
           strings (d-mers) occur in the most pieces, counting each d-mer
           only until a chosen segment has it; the best segments go last,
           nearest the block (the match fish and the recency of every
           table favour the end); when no segment adds a shared string,
           the most recent bytes fill the rest of the budget

`shoal learn` judges the candidates by what they do, the coded size of the
tune pieces (learn/judge.py), not by these scores.  A budget is a power of
two and filled exactly where the samples allow, so that every block up to
the primer's size is fitted to the same tables and shares one primed school
(school._code_after_primer keeps one).
"""
from __future__ import annotations

import heapq
from functools import partial

import numpy as np

DMER = 8
_HASH_BITS = 22
_MULT = np.uint64(0x9E3779B97F4A7C15)


def recent(pieces: list[bytes], budget: int) -> bytes:
    return b"".join(pieces)[-budget:] if budget > 0 else b""


def _dmer_ids(data: bytes) -> np.ndarray:
    """A hash of the d-mer starting at each position (len(data) - DMER + 1 of them)."""
    buf = np.frombuffer(data, dtype=np.uint8).astype(np.uint64)
    n = buf.size - DMER + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    h = np.zeros(n, dtype=np.uint64)
    for j in range(DMER):
        h = (h ^ buf[j:j + n]) * _MULT
    return (h >> np.uint64(64 - _HASH_BITS)).astype(np.int64)


def cover(pieces: list[bytes], budget: int, k: int) -> bytes:
    """Segments of k bytes chosen greedily by how many pieces share their
    d-mers, at most `budget` bytes, the best last."""
    ids = [_dmer_ids(p) for p in pieces]
    frequency = np.zeros(1 << _HASH_BITS, dtype=np.int64)
    for found in ids:
        np.add.at(frequency, np.unique(found), 1)
    frequency[frequency < 2] = 0          # a string only one piece has teaches nothing to share
    segments, heap = [], []
    for i, piece in enumerate(pieces):
        for start in range(0, max(len(piece) - DMER + 1, 1), k):
            seg_ids = np.unique(ids[i][start:start + k - DMER + 1])
            if seg_ids.size:
                segments.append((piece[start:start + k], seg_ids))
                heapq.heappush(heap, (-int(frequency[seg_ids].sum()), len(segments) - 1))
    chosen, size = [], 0
    while heap and size < budget:
        stale, index = heapq.heappop(heap)
        text, seg_ids = segments[index]
        score = int(frequency[seg_ids].sum())
        if score <= 0:
            break
        if heap and score < -heap[0][0]:          # another may now be worth more
            heapq.heappush(heap, (-score, index))
            continue
        frequency[seg_ids] = 0
        chosen.append(text)
        size += len(text)
    # the best first in `chosen`: reversed, so that it is read last; once
    # no segment adds a shared string, the most recent bytes fill the rest
    picked = b"".join(reversed(chosen))[-budget:]
    return recent(pieces, budget - len(picked)) + picked if len(picked) < budget else picked


def fill(text: bytes, budget: int, shipped: bytes) -> bytes:
    """`text` after the tail of `shipped` that fills it to `budget` bytes
    (`text` itself if it fills the budget, or shipped is empty)."""
    return shipped[-(budget - len(text)):] + text if shipped and len(text) < budget else text


def filled(pieces: list[bytes], budget: int, shipped: bytes) -> bytes:
    """The most recent pieces up to `budget` bytes, after the tail of
    `shipped` that fills the budget."""
    return fill(recent(pieces, budget), budget, shipped)


def recipes(budgets: list[int], total: int, segment_sizes=(256, 1024), shipped: bytes = b"") -> dict:
    """name -> recipe(pieces) -> primer text, for each way and budget (a
    budget beyond the `total` bytes the samples hold is tried once, as all
    of them, and, given `shipped`, filled with its tail: each budget
    beyond).  A recipe chosen on some pieces makes the final primer from
    all of them."""
    out, holds_all = {}, False
    for budget in sorted(budgets):
        label = f"{budget >> 10} KiB"
        if not holds_all:
            out[f"recent {label}"] = partial(recent, budget=budget)
            for k in segment_sizes:
                out[f"cover k={k} {label}"] = partial(cover, budget=budget, k=k)
            holds_all = budget >= total
        if shipped and budget > total:
            out[f"filled {label}"] = partial(filled, budget=budget, shipped=shipped)
    return out


def for_large_blocks(pieces: list[bytes], chosen: bytes, name: str, budget: int) -> bytes:
    """The primer a school reads before a large block: the most recent
    pieces up to `budget` bytes, ending with the `chosen` primer (so that
    the chosen one is its tail, which small blocks read).  Its time is paid
    once in a process (school: primer `grow`), so more is better: where the
    samples fall short of the budget, `shoal learn` may fill() it with the
    base level's own primer (general text)."""
    if name.startswith(("recent ", "filled ")):
        return recent(pieces, max(budget, len(chosen)))
    return recent(pieces, budget - len(chosen)) + chosen

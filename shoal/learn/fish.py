"""Which fish a learned school swims with: swaps chosen on the tune pieces.

The base level's fish are a generalist's.  Samples of one kind of data may
want others: Debian copyright files a fish on the last two words (word 2),
changelogs one on the field's place in the line (struct 3).  A school may
not grow, though: it keeps the base level's speed and memory.  So a fish
comes in only in a **swap**, for one of the base's context fish that the
samples need less, in tables no larger than the one it replaces, and only
if the school stays as fast.

    1. each fish of POOL not yet in the school, added: the tune pieces'
       coded size (judge.coded, with the chosen primer)
    2. those that gain at least MIN_GAIN, best first (at most CHOICES): with
       each context fish of the school dropped in turn; the best swap, if
       the school is still at least MIN_GAIN smaller than before it, is
       timed (judge.slower) on the samples joined as one block, as the
       largest blocks that swim with it are coded (larger ones swim with
       the base level's fish: preset `large:`), and kept if it is no
       slower than the school without it (MAX_SLOWER)
    3. again, from the school so swapped, up to ROUNDS swaps or the time given

Why the clock: a fish costs time mostly by its table's cache misses, and
those depend on the data.  Measured on train/ (1.1 MB of Python and of
English, level 6 with one fish swapped, paired timings), word 1 or 2 for
order 3 or textcol 0 took 5-13% more time, indirect 2 for order 4 14%,
struct 3 for textcol 0 about 1%: the fish the samples want for their
words cost their large files what the goal of a school forbids.

Swaps touch only the samples' family of blocks (text or binary): a fish
comes in `only:` that family, and a fish dropped keeps swimming in the
other (an order-4 fish of every block, dropped for text, stays in binary
blocks), so blocks unlike the samples code as the base level codes them.
Candidates run in the general loop (a new shape would compile its own loop
for each); the school written runs its own, compiled once at first use.
"""
from __future__ import annotations

import copy
import time

from ..fish.entry import ONLY, check_only, covers
from ..school import kinds
from . import judge

# fish a swap may bring in, by family of blocks: (kind, arg); see
# fish/contexts.py for what each looks at
POOL = {"text": (("word", 1), ("word", 2), ("word", 3), ("indirect", 1), ("indirect", 2), ("order", 5),
                 ("textcol", 1), ("struct", 0), ("struct", 2), ("struct", 3)),
        "binary": (("order", 5), ("order", 6), ("indirect", 1), ("indirect", 2), ("record", 0), ("record", 1),
                   ("record", 2), ("sparse", 6), ("sparse", 48), ("word", 0))}
# what a swap must gain on the tune pieces (a fraction of their coded size):
# chosen on the learn halves of the six sets of tools/make_small_sets.py, where
# the best single swap gained 0.4-3% and the next best little more
MIN_GAIN = 0.0025
ROUNDS = 3
# fish that gain tried in a round, best first, until one makes a swap that
# is fast enough
CHOICES = 3
# how much slower than the school without it a swap may leave it: none.
# The median of paired timings (judge.slower) passes a swap that costs
# nothing half the time and one that costs a few percent rarely; an
# allowance of 2% let through swaps that cost a 2 MB file of the kind 6%
# (the cost of a fish's misses grows with the block, and the samples timed
# are often smaller than the files)
MAX_SLOWER = 0.0
# bytes of the samples, joined, that a swap is timed on
TIMED_BYTES = 1 << 20
# the fish that are not context fish (never dropped or brought in here)
_NOT_CONTEXT = ("match", "column", "neural")


def family(pieces: list[bytes]) -> str:
    """"text" or "binary": the family most of the pieces' bytes are (kinds.py)."""
    text = sum(len(p) for p in pieces if kinds.looks_like_text(p))
    return "text" if 2 * text >= sum(map(len, pieces)) else "binary"


def _without(only, family_name: str):
    """An `only:` value less the family's kinds (None: it swims nowhere else)."""
    left = covers(only) - ONLY[family_name]
    names = []
    for whole, parts in (("text", ("other-text", "structured")), ("binary", ("other-binary", "x86"))):
        names += [whole] if ONLY[whole] <= left else [p for p in parts if ONLY[p] <= left]
    if not names:
        return None
    return check_only(names if len(names) > 1 else names[0], "fish")


def _context_fish(spec: dict, family_name: str) -> list[int]:
    """Indexes of the spec's context fish that swim in the family's blocks."""
    fam = ONLY[family_name]
    return [i for i, f in enumerate(spec["fish"])
            if f["kind"] not in _NOT_CONTEXT and covers(f.get("only", "any")) & fam]


def _has(spec: dict, family_name: str, kind: str, arg: int) -> bool:
    return any(spec["fish"][i]["kind"] == kind and spec["fish"][i].get("arg") == arg
               for i in _context_fish(spec, family_name))


def added(spec: dict, family_name: str, kind: str, arg: int, bits: int) -> dict:
    """spec with fish (kind, arg) swimming in the family's blocks, before the
    first fish that is not a context fish."""
    out = copy.deepcopy(spec)
    at = next((i for i, f in enumerate(out["fish"]) if f["kind"] in _NOT_CONTEXT), len(out["fish"]))
    out["fish"].insert(at, {"kind": kind, "arg": arg, "bits": bits, "only": family_name})
    return out


def dropped(spec: dict, family_name: str, index: int) -> dict:
    """spec with fish `index` gone from the family's blocks (kept in the others)."""
    out = copy.deepcopy(spec)
    fish = out["fish"][index]
    only = _without(fish.get("only", "any"), family_name)
    if only is None:
        del out["fish"][index]
    elif only == "any":
        fish.pop("only", None)
    else:
        fish["only"] = only
    return out


def _name(f: dict) -> str:
    return f"{f['kind']} {f.get('arg', '')}".strip()


def search(base: dict, primer_text: bytes, pieces: list[bytes], seconds: float,
           progress=None, family_name: str | None = None, timed: bytes | None = None) -> tuple[dict, int, list[tuple]]:
    """(spec, its coded size, the swaps made: (fish in, fish out, size
    after, time after / time before)) within `seconds`; base itself when no
    swap pays.  progress(text) hears of each swap tried and made;
    family_name: the pieces' family, if known; timed: the block swaps are
    timed on (default: the pieces joined), coded without the primer: what
    a fish costs is its table's misses on data of the kind, and a block cut
    from the primer's own samples would be coded by the match fish."""
    deadline = time.monotonic() + seconds
    fam = family_name or family(pieces)
    cache: dict[bytes, int] = {}
    timed = (b"".join(pieces) if timed is None else timed)[:TIMED_BYTES]

    def preset(spec: dict):
        return judge.with_primer(spec, primer_text, own_loop=False)

    def size(spec: dict) -> int:
        candidate = preset(spec)
        if candidate.canonical not in cache:
            cache[candidate.canonical] = judge.coded(candidate, pieces)
        return cache[candidate.canonical]

    def say(text: str) -> None:
        if progress:
            progress(text)

    spec, best = base, size(base)
    swaps = []
    for _ in range(ROUNDS):
        context = _context_fish(spec, fam)
        if not context:
            break
        bits = max(spec["fish"][i]["bits"] for i in context)
        trials = {}
        for kind, arg in POOL[fam]:
            if _has(spec, fam, kind, arg) or time.monotonic() > deadline:
                continue
            trials[(kind, arg)] = size(added(spec, fam, kind, arg, bits))
        gaining = sorted((n, fish) for fish, n in trials.items() if n <= best * (1 - MIN_GAIN))
        swap = None
        for with_it, (kind, arg) in gaining[:CHOICES]:
            if time.monotonic() > deadline:
                break
            swap = _swap(spec, best, fam, kind, arg, bits, size, deadline)
            if swap is None:
                say(f"fish: {kind} {arg} in gains {100 * (1 - with_it / best):.2f}%, but not once a fish goes for it")
                continue
            if time.monotonic() > deadline:       # no time left to time it: no swap
                swap = None
                break
            slower = judge.slower(judge.with_primer(swap[0], None, own_loop=False),
                                  judge.with_primer(spec, None, own_loop=False), timed)
            if slower <= 1 + MAX_SLOWER:
                swap += (slower,)
                break
            say(f"fish: {kind} {arg} in, {swap[1]} out would gain {100 * (1 - swap[2] / best):.2f}% but take "
                f"{100 * (slower - 1):.0f}% more time")
            swap = None
        if swap is None:
            break
        spec, out, after, slower = swap
        swaps.append((f"{kind} {arg}", out, after, round(slower, 3)))
        say(f"fish: {kind} {arg} in, {out} out: {after:,} bytes ({100 * (after / best - 1):+.2f}%), "
            f"{100 * (slower - 1):+.0f}% time")
        best = after
    return spec, best, swaps


def _swap(spec: dict, best: int, fam: str, kind: str, arg: int, bits: int, size, deadline):
    """(spec with fish (kind, arg) in for the context fish whose going costs
    least, that fish's name, the size) if that is at least MIN_GAIN smaller
    than `best`; else None."""
    grown = added(spec, fam, kind, arg, bits)
    # drop one context fish of the family, in tables as large as the new one's or larger
    outs = {}
    for i in _context_fish(grown, fam):
        f = grown["fish"][i]
        if (f["kind"], f.get("arg")) == (kind, arg) or f["bits"] < bits or time.monotonic() > deadline:
            continue
        outs[i] = size(dropped(grown, fam, i))
    if not outs:
        return None
    out, after = min(outs.items(), key=lambda kv: kv[1])
    if after > best * (1 - MIN_GAIN):
        return None
    return dropped(grown, fam, out), _name(grown["fish"][out]), after

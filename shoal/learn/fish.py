"""Which fish a learned school swims with: swaps chosen on the tune pieces.

The base level's fish are a generalist's.  Samples of one kind of data may
want others: Debian copyright files a fish on the last two words (word 2),
changelogs one on the field's place in the line (struct 3).  A school may
not grow, though: it keeps the base level's speed and memory.  So a fish
comes in only in a **swap**, for one of the base's context fish that the
samples need less, in tables no larger than the one it replaces.

    1. each fish of POOL not yet in the school, added: the tune pieces'
       coded size (judge.coded, with the chosen primer)
    2. the best of them, if it gains at least MIN_GAIN, with each context
       fish of the school dropped in turn: the best swap is kept if the
       school is still at least MIN_GAIN smaller than before it
    3. again, from the school so swapped, up to ROUNDS swaps or the time given

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
           progress=None, family_name: str | None = None) -> tuple[dict, int, list[tuple[str, str, int]]]:
    """(spec, its coded size, the swaps made: (fish in, fish out, size after))
    within `seconds`; base itself when no swap pays.  progress(text) hears
    of each swap tried and made; family_name: the pieces' family, if known."""
    deadline = time.monotonic() + seconds
    fam = family_name or family(pieces)
    cache: dict[bytes, int] = {}

    def size(spec: dict) -> int:
        preset = judge.with_primer(spec, primer_text, own_loop=False)
        if preset.canonical not in cache:
            cache[preset.canonical] = judge.coded(preset, pieces)
        return cache[preset.canonical]

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
        if not trials:
            break
        (kind, arg), with_it = min(trials.items(), key=lambda kv: kv[1])
        if with_it > best * (1 - MIN_GAIN):
            break
        grown = added(spec, fam, kind, arg, bits)
        # drop one context fish of the family, in tables as large as the new one's or larger
        outs = {}
        for i in _context_fish(grown, fam):
            f = grown["fish"][i]
            if (f["kind"], f.get("arg")) == (kind, arg) or f["bits"] < bits or time.monotonic() > deadline:
                continue
            outs[i] = size(dropped(grown, fam, i))
        if not outs:
            break
        out, after = min(outs.items(), key=lambda kv: kv[1])
        if after > best * (1 - MIN_GAIN):
            if progress:
                progress(f"fish: {kind} {arg} in gains {100 * (1 - with_it / best):.2f}%, "
                         f"but not once a fish goes for it; no more swaps")
            break
        swaps.append((f"{kind} {arg}", _name(grown["fish"][out]), after))
        if progress:
            progress(f"fish: {kind} {arg} in, {_name(grown['fish'][out])} out: "
                     f"{after:,} bytes ({100 * (after / best - 1):+.2f}%)")
        spec, best = dropped(grown, fam, out), after
    return spec, best, swaps

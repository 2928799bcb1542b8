"""The preset a learned school swims with: CMA-ES over the base level's numbers.

The search changes how the school learns (the mixers' learning rates and
their schedule, the APMs, the match fish's shortest match), not what it is
made of: fish, table sizes and gates stay the base level's.  So a learned
school runs the loop compiled for the base level's shape (no compile); and
the two settings that cost time or memory stay on the base level's side:
the mixers' skip (a mixer learns only from errors above it) at least the
base's, the order-2 APM's table (2^bits contexts) at most the base's.  A school primed with the user's data
starts warm, and wants other rates than one that starts cold: that is what
this buys.

Each gene is one coordinate in [0, 1] of pycma's vector (the `evolve` extra),
mapped to an integer in its range, linearly or in log scale; the start is
the base level's value.  Candidates are judged by coded size on the tune
pieces (judge.coded), identical presets once.
"""
from __future__ import annotations

import json
import math
import time

from .. import school
from . import judge

# section, key (a fish's key: the match fish's), lowest, highest ("base":
# the base level's value), log scale
GENES = (("mixer", "lr", 1, 24, True),
         ("mixer", "lr_boost", 0, 64, False),
         ("mixer", "lr_halflife", 8, 22, False),
         ("mixer", "final_lr", 1, 12, True),
         ("mixer", "counter_limit", 16, 1023, True),
         ("mixer", "skip", "base", 512, False),
         ("apm", "rate", 3, 10, False),
         ("apm", "order2_bits", 12, "base", False),
         ("match", "min_len", 3, 16, True))


def _get(spec: dict, section: str, key: str) -> int:
    if section == "match":
        return next(f[key] for f in spec["fish"] if f["kind"] == "match")
    return spec[section][key]


def _set(spec: dict, section: str, key: str, value: int) -> None:
    if section == "match":
        next(f for f in spec["fish"] if f["kind"] == "match")[key] = value
    else:
        spec[section][key] = value


def genes(spec: dict) -> list[tuple]:
    """The genes that apply to base spec, their bounds resolved (no match
    gene without a match fish, none whose bounds meet)."""
    has_match = any(f["kind"] == "match" for f in spec["fish"])
    out = []
    for section, key, lo, hi, log in GENES:
        if section == "match" and not has_match:
            continue
        lo, hi = (_get(spec, section, key) if b == "base" else b for b in (lo, hi))
        if lo < hi:
            out.append((section, key, lo, hi, log))
    return out


def _to_unit(value: int, lo: int, hi: int, log: bool) -> float:
    value = min(max(value, lo), hi)
    if log:
        return math.log(value + 1 - lo) / math.log(hi + 1 - lo)
    return (value - lo) / (hi - lo)


def _from_unit(u: float, lo: int, hi: int, log: bool) -> int:
    u = min(max(float(u), 0.0), 1.0)
    if log:
        return int(round(lo - 1 + math.exp(u * math.log(hi + 1 - lo))))
    return int(round(lo + u * (hi - lo)))


def decode(base: dict, x) -> dict:
    spec = json.loads(json.dumps(base))
    for (section, key, lo, hi, log), u in zip(genes(base), x):
        _set(spec, section, key, _from_unit(u, lo, hi, log))
    return spec


def changes(base: dict, spec: dict) -> list[tuple[str, int, int]]:
    """(name, base value, chosen value) for every gene the search moved."""
    return [(f"{section}.{key}", _get(base, section, key), _get(spec, section, key))
            for section, key, *_ in genes(base) if _get(base, section, key) != _get(spec, section, key)]


def search(base: dict, primer_text: bytes, pieces: list[bytes], seconds: float, *, seed: int = 1,
           progress=None) -> tuple[dict, int, int]:
    """(best spec, its coded size, candidates measured) within `seconds`;
    the base itself is the first best.  progress(evaluated, best_size,
    base_size) after each generation."""
    import cma          # the evolve extra; learn/run.py checks it is there
    deadline = time.monotonic() + seconds
    cache: dict[bytes, int] = {}

    def size(spec: dict) -> int:
        preset = judge.with_primer(spec, primer_text)
        if preset.canonical not in cache:
            cache[preset.canonical] = judge.coded(preset, pieces)
        return cache[preset.canonical]

    base_size = size(base)
    best, best_size = base, base_size
    x0 = [_to_unit(_get(base, s, k), lo, hi, log) for s, k, lo, hi, log in genes(base)]
    es = cma.CMAEvolutionStrategy(x0, 0.2, {"bounds": [0, 1], "popsize": 8, "seed": seed, "verbose": -9})
    while not es.stop() and time.monotonic() < deadline:
        xs = es.ask()
        sizes = []
        for x in xs:
            spec = decode(base, x)
            sizes.append(size(spec))
            if sizes[-1] < best_size:
                best, best_size = spec, sizes[-1]
            if time.monotonic() >= deadline:
                break
        if len(sizes) < len(xs):
            break
        es.tell(xs, sizes)
        if progress is not None:
            progress(len(cache), best_size, base_size)
    return best, best_size, len(cache)


def available() -> bool:
    try:
        import cma  # noqa: F401
    except ImportError:
        return False
    return True


def base_spec(level: int) -> dict:
    """The canonical spec of a level, without its shipped primer."""
    spec = json.loads(school.level(level).canonical)
    spec.pop("primer", None)
    return spec

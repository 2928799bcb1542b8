"""Where presets come from: the shipped levels, preset files, retired levels.

Levels 1..9 are the files presets/level<N>.yaml.  When a release redefines
a level, the old definition moves to presets/retired/level<N>-<k>.yaml, so
archives made with it still decode (retired_level).  A preset file is any
YAML or JSON a user writes (preset.py says what it holds); with_neural()
adds a neural fish to a level or preset.
"""
from __future__ import annotations

import dataclasses
import functools
import json
from importlib import resources
from pathlib import Path

import yaml

from ..errors import ShoalError
from . import neural
from .preset import Preset, from_dict

DEFAULT_LEVEL = 6
LEVELS = range(1, 10)


def load(name_or_path: str | Path) -> Preset:
    """A preset file (YAML or JSON)."""
    path = Path(name_or_path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ShoalError(f"{path}: cannot read preset: {e.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ShoalError(f"{path}: not a valid preset: {e}") from None
    if isinstance(raw, dict) and isinstance(raw.get("fish"), list):
        # a neural fish's file is relative to the preset that names it
        for entry in raw["fish"]:
            if isinstance(entry, dict) and entry.get("kind") == "neural" and isinstance(entry.get("file"), str):
                entry["file"] = str(path.parent / Path(entry["file"]).expanduser())
    return dataclasses.replace(from_dict(raw), own_loop=True)


# A block with a neural fish is cut into this many lanes (default).  Lanes
# let the fish predict several bytes a step, which pays for its weights, but
# cost the classic fish context: with the shipped fish, level 9 with its
# primer came out 0.4% larger in 16 lanes and 1.4% smaller in one
# (docs/neural.md), and one lane, coded in compiled calls (school/
# one_lane.py), runs about as fast as 16.
NEURAL_LANES = 1
# The school with the fish codes in tables no larger than a block's of fit
# 21 (a block of at most 512 KiB after level 9's primer: 805 MB at level 9),
# the largest fit whose primed school is kept in memory (kept.PRIMED_COPY_FIT):
# so every block, whatever its size, starts from a copy of the school the
# primer left instead of reading the primer (5 s at level 9), and codes in
# tables half as large as a 1-2 MB block's.  Level 9 alone, 700 KB blocks
# of four train/ files: +0.021% larger so (docs/neural.md).  A block the
# fish does not help is coded by the level itself, tables as large as it
# needs (the fallback).
NEURAL_TABLES = 21


def with_neural(base: Preset | int, fish: str | Path | None = None, lanes: int = NEURAL_LANES,
                tables: int | None = NEURAL_TABLES) -> Preset:
    """base (a preset, or a level's number) with a neural fish swimming too:
    the fish that ships with shoal, or the weights file `fish`; the block is
    cut into at least `lanes` lanes, which start from what base's primer
    taught (engine.read_primer_lanes), and a block the fish does not make smaller
    is coded by base alone (`fallback`: school.compress_block), so the fish
    never costs more than a byte a block.  The school with the fish codes
    in tables no larger than a block's of fit `tables` (None: base's, as
    large as the block needs): see NEURAL_TABLES."""
    base = level(base) if isinstance(base, int) else base
    if base.neural:
        raise ShoalError("the preset already has a neural fish")
    path = Path(fish) if fish is not None else neural.DEFAULT_FISH
    spec = json.loads(base.canonical)
    spec["fish"].append({"kind": "neural", "file": str(path), "fallback": True}
                        | ({} if tables is None else {"tables": tables}))
    spec["lanes"] = max(spec.get("lanes", 1), lanes)
    return from_dict(spec)


# An archive names `--neural`'s presets as it names a level: "neural-level<N>"
# and the digest (a one-byte id where one is given: shoal/data/
# preset_ids.json), not by carrying the preset (about 200 bytes).
NEURAL_LEVEL_NAME = "neural-level{}"


@functools.lru_cache(maxsize=None)
def neural_level(n: int) -> Preset:
    """with_neural(n): level n with the shipped fish, as `--neural` makes it."""
    return with_neural(n)


def neural_level_of(preset: Preset) -> int | None:
    """n if preset is neural_level(n)."""
    if preset.neural is None:
        return None
    return next((n for n in LEVELS if neural_level(n).digest == preset.digest), None)


def find_neural_level(n: int, digest: bytes) -> Preset | None:
    """The preset an archive names "neural-level<n>" with this digest: level n
    (or a retired level n) with a fish shipped with shoal (the one --neural
    adds now, or an older one), as with_neural made it."""
    bases = [level(n)] + [from_dict(yaml.safe_load(entry.read_text())) for entry in _retired(n)]
    for base in bases:
        for fish in dict.fromkeys([neural.DEFAULT_FISH, *sorted(neural.SHIPPED.glob("*.safetensors"))]):
            for tables in (NEURAL_TABLES, None):      # (None: before 2026-12-06)
                preset = with_neural(base, fish=fish, tables=tables)
                if preset.digest == digest:
                    return preset
    return None


_level_cache: dict[int, Preset] = {}


def level(n: int) -> Preset:
    """The shipped preset of level n (1..9)."""
    if n not in LEVELS:
        raise ShoalError(f"level must be 1..9, got {n}")
    if n not in _level_cache:
        text = resources.files(__package__).joinpath(f"presets/level{n}.yaml").read_text()
        _level_cache[n] = dataclasses.replace(from_dict(yaml.safe_load(text)), own_loop=True)
    return _level_cache[n]


def shipped_level(digest: bytes) -> Preset | None:
    """The shipped level (1..9) whose preset has this digest, if one has."""
    return next((level(n) for n in LEVELS if level(n).digest == digest), None)


def retired_level(n: int, digest: bytes) -> Preset | None:
    """What level n was in an earlier release, if its digest is `digest`.
    Archives name a shipped level by its number; when a release redefines a
    level, the old definition moves to presets/retired/level<N>-<k>.yaml, so
    archives made with it still decode."""
    for entry in _retired(n):
        preset = from_dict(yaml.safe_load(entry.read_text()))
        if preset.digest == digest:
            return preset
    return None


def _retired(n: int) -> list:
    """The files of level n's retired definitions, oldest first."""
    return [entry for entry in sorted(resources.files(__package__).joinpath("presets/retired").iterdir(),
                                      key=lambda e: e.name)
            if entry.name.startswith(f"level{n}-") and entry.name.endswith(".yaml")]

"""What `shoal score` can score: a MODEL argument resolved into a scorer.

Every scorer has a name and score(data, advance) -> Score: the ideal code
length, in bits, of each unit of the data (a byte, or a token for Hugging
Face models) and where each unit ends, so that totals and position profiles
are computed the same way for every kind of model.  advance(n) is called as
n more bytes are done (for a progress bar).

MODEL spellings (resolve):

    -6, 6, level6          a shoal level (1..9)
    my.yaml, my.json       a preset file
    order2, word1, ...     a single fish in a school of its own (fish_preset)
    uniform, laplace       reference models with hand-checkable bits
    fish.safetensors       a neural fish (or the folder holding its fish.safetensors)
    hf:DIR                 a local Hugging Face causal LM (see hf.py)
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING
from pathlib import Path

import numpy as np

from ..errors import ShoalError
from ..fish.contexts import KINDS as CONTEXT_KINDS
from .costs import Score

if TYPE_CHECKING:
    from .. import school

# Real coded size against ideal length: the range coder's loss is a rounding
# per bit plus a flush per block, far inside these bounds.
CODED_TOLERANCE = 0.005          # relative
CODED_SLACK_BYTES = 8            # per block

FISH_BITS = 22                   # table size of a named fish: 2**22 slots (64 MiB)
NEURAL_LANES = 64                # streams a neural fish reads at once (each keeps its own context)
FISH_NAMES = ("order0..order12 (last k bytes), word0..word3 (words), sparseMASK (bytes at the distances "
              "whose bits are set), record0..record3 (tables), textcol0..textcol1 (text columns), "
              "indirect1..indirect2, struct0..struct3 (structured text), x86.0..x86.3 (machine code), "
              "match or matchN (longest earlier match, min length N), column (arithmetic progressions); "
              f"':BITS' sets the table to 2**BITS slots (default {FISH_BITS})")


def coded_size_problem(score: Score) -> str | None:
    """Why the real coded size disagrees with the ideal length, or None when it agrees."""
    if score.coded is None:
        return None
    ideal = score.bits / 8
    allowed = CODED_TOLERANCE * ideal + CODED_SLACK_BYTES * score.blocks
    if abs(score.coded - ideal) <= allowed:
        return None
    return (f"real coded size {score.coded:,} bytes is not within {100 * CODED_TOLERANCE:g}% + "
            f"{CODED_SLACK_BYTES} bytes/block of the ideal {ideal:,.1f} bytes: the coder and the "
            "model's probabilities disagree")


class ShoalModel:
    """A shoal preset: the file in blocks of preset.block_size, each from an empty model, as compress codes it."""

    def __init__(self, name: str, preset: school.Preset):
        self.name, self.preset = name, preset

    def score(self, data: bytes, advance=lambda n: None) -> Score:
        from .. import school            # the engine (Numba) loads only when a file is scored
        step = self.preset.block_size
        costs, coded = [], 0
        for start in range(0, len(data), step):
            block = data[start:start + step]
            cost, size = school.score_block(block, self.preset)
            costs.append(cost)
            coded += size
            advance(len(block))
        return Score(len(data), np.concatenate(costs), coded=coded, blocks=len(costs))


class UniformModel:
    """Every byte value equally likely: exactly 8 bits a byte (the floor any model should beat)."""
    name = "uniform"

    def score(self, data: bytes, advance=lambda n: None) -> Score:
        advance(len(data))
        return Score(len(data), np.full(len(data), 8.0))


class LaplaceModel:
    """Adaptive order-0 byte counts, Laplace-smoothed: byte i costs
    log2((i + 256) / (times it was seen before + 1)) bits; the textbook baseline."""
    name = "laplace"

    def score(self, data: bytes, advance=lambda n: None) -> Score:
        buf = np.frombuffer(data, dtype=np.uint8)
        order = np.argsort(buf, kind="stable")          # equal bytes stay in file order
        rank = np.arange(buf.size) - np.searchsorted(buf[order], buf[order], side="left")
        seen = np.empty(buf.size, dtype=np.int64)
        seen[order] = rank
        advance(len(data))
        return Score(len(data), np.log2((np.arange(buf.size) + 256.0) / (seen + 1.0)))


REFERENCE = {"uniform": UniformModel, "laplace": LaplaceModel}
_LEVEL = re.compile(r"^(?:-|level)?([1-9])$")
# order2, word1:18, match; a kind whose name ends in a digit takes a dot: x86.0
_FISH = re.compile(r"^(?P<kind>[a-z]+?|[a-z]+\d+(?=\.))\.?(?P<arg>\d*)(?::(?P<bits>\d+))?$")
_PRESET_SUFFIXES = (".yaml", ".yml", ".json")


def fish_preset(spec: str) -> school.Preset | None:
    """A preset whose school is the one fish `spec` names (see FISH_NAMES), or None if spec names no fish.
    The fish still goes through the school's mixer and APM stages, as it would in any preset."""
    from .. import school
    match = _FISH.match(spec)
    if not match:
        return None
    kind, arg, bits = match["kind"], match["arg"], match["bits"]
    bits = int(bits) if bits else FISH_BITS
    if kind == "column" and not arg and not match["bits"]:
        fish = {"kind": "column"}
    elif kind == "match":
        fish = {"kind": "match", "min_len": int(arg) if arg else 6, "bits": bits}
    elif kind in CONTEXT_KINDS and arg:
        fish = {"kind": kind, "arg": int(arg), "bits": bits}
    else:
        return None
    return school.from_dict({"description": f"single fish {spec}", "fish": [fish]})


def neural_fish(path: Path) -> ShoalModel:
    """A neural fish (its safetensors weights, or the folder holding them) in
    a school of its own, read as NEURAL_LANES streams at once: its own view
    of the data, through the school's mixer and APMs like any single fish."""
    if not path.exists():
        raise ShoalError(f"{path}: no such neural fish file")
    from .. import school
    from ..school import neural
    preset = school.from_dict({"description": f"neural fish {path.name}", "lanes": NEURAL_LANES,
                               "fish": [{"kind": "neural", "file": str(path)}]})
    neural.find(preset.neural)           # a bad weights file says so now, not mid-file
    return ShoalModel(path.name, preset)


def resolve(spec: str, hf_options: dict | None = None):
    """The scorer a MODEL argument names; ShoalError when it names none."""
    from .. import school
    text = spec.strip()
    if text.startswith("hf:"):
        if not text[3:]:
            raise ShoalError("hf: needs the directory of a local model: hf:DIR")
        from .hf import HFModel          # torch and transformers only on this path
        return HFModel(text[3:], **(hf_options or {}))
    level = _LEVEL.match(text)
    if level:
        return ShoalModel(f"shoal -{level[1]}", school.level(int(level[1])))
    if text in REFERENCE:
        return REFERENCE[text]()
    path = Path(text)
    if path.suffix == ".safetensors" or (path / "fish.safetensors").is_file():
        return neural_fish(path)
    if path.suffix in _PRESET_SUFFIXES:
        return ShoalModel(path.name, school.load(path))
    fish = fish_preset(text)
    if fish is not None:
        return ShoalModel(text, fish)
    raise ShoalError(f"unknown model {spec!r}: give a level (-1..-9), a preset file (.yaml/.json), "
                     "a fish (order2, word1, sparse6, match, column, ...; see shoal score --help), "
                     "uniform, laplace, a neural fish (.safetensors) or hf:DIR")

"""Fitness: how small a preset codes the training set, and what it costs.

    fitness = bits * (1 + penalty * (time_over + memory_over))

bits        the real compressed size, in bits, of every training piece coded
            as its own block (school.score_block's coded size: integer
            arithmetic, so the same on every machine and in every pool);
memory_over max(0, memory / memory budget - 1), memory = preset.memory_bytes()
            of the preset as written (full-size tables);
time_over   max(0, time / time budget - 1), time = the time proxy below,
            for the text school and the binary school of a preset apart
            (the larger ratio counts).  Budgets default to the base preset's
            own memory and times (level 6), so a result is never bigger or
            slower than the default, on text or on binary, without paying
            for it: with penalty 3, each 1% over a budget costs as much as
            3% more bits.

Time is not measured in the fitness: on a shared machine timings move by
10-20% from run to run, which would drown the differences evolution looks
for and make a run irreproducible (--seed and --resume promise the same
result).  Instead a deterministic proxy predicts microseconds per byte from
what the engine does per byte (space.yaml's time_model; fitted by
`python -m shoal.evolve.timing`).  CPU time is still measured and logged,
and at the end of a run the best preset's is compared with the base's.

Training pieces: whole files, or with --sample SIZE, --slices N evenly spaced
slices of SIZE bytes from each file.  A slice is much smaller than the files a
preset will meet, and the engine sizes tables to the block, so table bits
would go unseen; with --table-shift (auto: log2(4 MiB / SIZE)) every table is
evaluated that many bits smaller, which keeps the load on the tables (slots
per byte of input) what it would be on a 4 MiB file.
"""
from __future__ import annotations

import copy
import hashlib
import math
import time
from dataclasses import dataclass
from pathlib import Path

from .. import school
from ..errors import ShoalError
from ..fish.column import COLUMN_VOTES
from ..fish.match import VOTES as MATCH_INPUTS
from ..school.kinds import KINDS, swims_in

REFERENCE_SIZE = 4 << 20           # the file size --table-shift auto emulates
MIN_TABLE_BITS = 12                 # a shifted table never shrinks below this (4096 slots)


@dataclass(frozen=True)
class TrainingSet:
    """The bytes evolution sees: one piece per file or per slice."""
    pieces: tuple
    names: tuple

    @classmethod
    def from_files(cls, paths, sample: int | None = None, slices: int = 1) -> "TrainingSet":
        pieces, names = [], []
        for path in map(Path, paths):
            try:
                data = path.read_bytes()
            except OSError as e:
                raise ShoalError(f"{path}: cannot read training file: {e.strerror}") from None
            if not data:
                raise ShoalError(f"{path}: training file is empty")
            if sample is None or sample >= len(data):
                pieces.append(data)
                names.append(path.name)
                continue
            for k in range(slices):
                # evenly spaced, each centred in its k-th share of the file
                start = (len(data) - sample) * (2 * k + 1) // (2 * slices)
                pieces.append(data[start:start + sample])
                names.append(f"{path.name}@{start}")
        return cls(tuple(pieces), tuple(names))

    @property
    def total_bytes(self) -> int:
        return sum(map(len, self.pieces))

    @property
    def text_share(self) -> float:
        """The share of the training bytes that text schools code
        (school.looks_like_text), which weighs the time proxy of a preset
        whose fish keep to text or binary blocks."""
        text = sum(len(piece) for piece in self.pieces if school.looks_like_text(piece))
        return text / self.total_bytes if self.total_bytes else 1.0

    @property
    def digest(self) -> str:
        h = hashlib.blake2b(digest_size=16)
        for piece in self.pieces:
            h.update(len(piece).to_bytes(8, "little"))
            h.update(piece)
        return h.hexdigest()


def auto_table_shift(sample: int | None) -> int:
    """Bits by which tables shrink when evaluated on slices of `sample` bytes."""
    if sample is None or sample >= REFERENCE_SIZE:
        return 0
    return round(math.log2(REFERENCE_SIZE / sample))


def shrink_tables(spec: dict, shift: int) -> dict:
    """spec with every table `shift` bits smaller (never below MIN_TABLE_BITS)."""
    if not shift:
        return spec
    spec = copy.deepcopy(spec)
    for fish in spec["fish"]:
        if "bits" in fish:
            fish["bits"] = max(min(fish["bits"], MIN_TABLE_BITS), fish["bits"] - shift)
    return spec


def measure(pieces, spec: dict, shift: int) -> dict:
    """Code every piece with spec (tables shrunk by shift): the compressed size
    in bits, exact, and the CPU time taken (seconds of this thread's CPU
    time, which other work on a shared machine disturbs much less than
    wall time; for the log only).
    This is what a pool runs on its workers."""
    preset = school.from_dict(shrink_tables(spec, shift))
    start = time.thread_time()
    bits = 0
    for piece in pieces:
        bits += 8 * school.score_block(piece, preset)[1]
    return {"bits": bits, "seconds": time.thread_time() - start}


# -- the time proxy -----------------------------------------------------------

def time_features(spec: dict, text_share: float = 1.0) -> dict:
    """What the engine's per-byte work grows with (see space.yaml's time_model):
    for a preset of several schools (fish with `only:`), the text school's and
    the binary school's features weighed by the share of bytes each codes."""
    text, binary = (school_features(spec, kind) for kind in ("text", "binary"))
    return {name: text_share * text[name] + (1 - text_share) * binary[name] for name in text}


def school_features(spec: dict, kind: str) -> dict:
    """time_features of the school that codes blocks of `kind` (school/kinds.py)."""
    return _school_features([f for f in spec["fish"] if swims_in(f, kind)], spec.get("mixer", {}))


def _school_features(fish: list, mixer: dict) -> dict:
    kinds = [f["kind"] for f in fish]
    context = sum(k not in ("match", "column", "neural") for k in kinds)
    match, column = int("match" in kinds), int("column" in kinds)
    gates = len(mixer.get("gates", ["c0"]))
    runs = int(bool(mixer.get("runs", False)))     # a second vote per context fish
    side = MATCH_INPUTS * match + COLUMN_VOTES * column
    inputs = context * (1 + runs) + side + 1
    skip = mixer.get("skip", 48)
    # the final mixer hears the gated mixers (and, with final: votes, the side
    # votes) plus a bias; one gate without votes needs none
    votes = mixer.get("final", "gates") == "votes"
    final = gates + 1 + (side if votes else 0) if votes or gates > 1 else 0
    return {"base": 1.0, "per_fish": context, "per_input_gate": gates * inputs, "match": match,
            "column": column, "learn_all": gates * inputs * max(0.0, 1.0 - skip / 32),
            "final_inputs": final}


def time_cost(spec: dict, model: dict, text_share: float = 1.0) -> float:
    """Predicted microseconds per byte (deterministic) of a training set
    whose bytes are text_share text."""
    return _cost(time_features(spec, text_share), model)


def _cost(features: dict, model: dict) -> float:
    """The time model's microseconds per byte for these features."""
    return sum(model.get(name, 0.0) * value for name, value in features.items())


# -- budgets and the penalised fitness ------------------------------------------

def time_costs(spec: dict, model: dict) -> tuple:
    """Predicted microseconds per byte of each kind's school (kinds.KINDS:
    text, binary, x86, structured text)."""
    return tuple(_cost(school_features(spec, kind), model) for kind in KINDS)


@dataclass(frozen=True)
class Budget:
    memory: int            # bytes of model memory (preset.memory_bytes())
    time: tuple            # time proxy of each kind's school (kinds.KINDS order), microseconds per byte
    penalty: float         # fitness cost of each unit of relative excess
    time_model: dict

    def judge(self, spec: dict, bits: int) -> dict:
        """The record of one candidate: its fitness and what went into it.
        Time is judged per school (text, binary, x86 and structured-text
        blocks each no slower than the budget), so the result holds whatever mix of kinds
        it meets, not only the training set's."""
        memory = school.from_dict(spec).memory_bytes()
        over = max(0.0, memory / self.memory - 1)
        time = max((cost / budget for cost, budget in zip(time_costs(spec, self.time_model), self.time)
                    if budget > 0), default=0.0)  # a space without a time model has no time budget
        over += max(0.0, time - 1)
        return {"fitness": bits * (1 + self.penalty * over), "bits": bits, "memory": memory,
                "time": round(time, 6), "feasible": over == 0}

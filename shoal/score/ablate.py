"""shoal score --ablate: does the school beat each of its fish?

For a school (a level or a preset file) and some files, three kinds of
variant are scored, each exactly as `shoal score` scores a preset:

    school       the whole preset
    alone X      fish X in a school of its own
    without X    the preset with fish X left out (leave-one-out)

A variant changes only the list of fish: the mixer's gates and rates, the
APMs, the block size and the lanes stay the preset's, so the difference
between two variants is the fish and nothing else.  (So "alone order2" in
level 6 is not quite `shoal score order2`, which uses the default mixer and
a 2**22 table: level 6 gives order2 2**20 slots and four gated mixers.)

What removing X costs is bits(without X) / bits(school) - 1: how many more
bits the school spends without it.  A fish that never votes still costs a
little when removed, or saves a little: the mixer's starting weights are
1/inputs, so every fish's share moves when the count does.

    name, preset = school_to_ablate("-6")
    ablation = run(name, preset, files, labels, kinds, jobs=2)
    ablation.results       a report.Result per (variant, file); ablate_report.py draws them

The variants of a level are independent and deterministic, so -j N scores
them in N processes with the same results as one.
"""
from __future__ import annotations

import signal
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import inputs, school
from ..errors import ShoalError
from ..school.preset import unmark_if_stranded
from . import report
from .models import ShoalModel, coded_size_problem, resolve

SCHOOL = "school"
ALONE, WITHOUT = "alone", "without"


@dataclass(frozen=True)
class Variant:
    role: str                    # SCHOOL, ALONE or WITHOUT
    fish: str | None             # the fish's label (None for the whole school)
    preset: school.Preset

    @property
    def name(self) -> str:
        return variant_name(self.role, self.fish)


def variant_name(role: str, fish: str | None = None) -> str:
    """whole school, order2 alone, order2 without: what tables and JSON call a variant."""
    return "whole school" if role == SCHOOL else f"{fish} {role}"


def fish_label(entry: dict) -> str:
    """A fish's name as `shoal score` spells a single fish: order2, word1, match, column, x86.0, ..."""
    kind = entry["kind"]
    if kind == "match":
        return "match" if entry["min_len"] == 6 else f"match{entry['min_len']}"
    if kind in ("column", "neural"):
        return kind
    return f"{kind}.{entry['arg']}" if kind[-1].isdigit() else f"{kind}{entry['arg']}"


def fish_labels(fish: list[dict]) -> list[str]:
    """One distinct label per fish: where two share a name, their table sizes (order2:16, order2:20)
    when those differ, else a count (word1#1, word1#2)."""
    labels = [fish_label(f) for f in fish]
    for label in set(labels):
        same = [i for i, other in enumerate(labels) if other == label]
        sizes = [fish[i].get("bits") for i in same]
        if len(same) > 1:
            for n, i in enumerate(same, 1):
                labels[i] = f"{label}:{sizes[n - 1]}" if len(set(sizes)) == len(same) else f"{label}#{n}"
    return labels


def school_to_ablate(spec: str) -> tuple[str, school.Preset]:
    """The preset a --ablate argument names (a level or a preset file), with at least two fish."""
    model = None if spec.strip().startswith("hf:") else resolve(spec)
    if not isinstance(model, ShoalModel):
        raise ShoalError(f"--ablate takes a school: a level (-1..-9) or a preset file (.yaml/.json), not {spec!r}")
    if len(model.preset.spec["fish"]) < 2:
        raise ShoalError(f"{spec}: a school of one fish has nothing to ablate (--ablate needs two fish or more)")
    return model.name, model.preset


def variants(preset: school.Preset) -> list[Variant]:
    """The whole school, every fish alone, then the school without each fish, in the preset's order."""
    fish = preset.spec["fish"]
    labels = fish_labels(fish)

    def keep(entries):
        return school.from_dict(dict(preset.spec, fish=unmark_if_stranded(entries)))
    return ([Variant(SCHOOL, None, preset)]
            + [Variant(ALONE, label, keep([f])) for label, f in zip(labels, fish)]
            + [Variant(WITHOUT, label, keep(fish[:i] + fish[i + 1:])) for i, label in enumerate(labels)])


# -- kinds of file: what the plot groups by ----------------------------------------------------

_TEXT_BYTES = np.zeros(256, dtype=bool)
_TEXT_BYTES[32:127] = _TEXT_BYTES[[9, 10, 13]] = _TEXT_BYTES[128:] = True    # >= 128: UTF-8
_NUMBER_BYTES = np.zeros(256, dtype=bool)
_NUMBER_BYTES[list(b"0123456789.,;:-+eE")] = True
_SPACE_BYTES = np.zeros(256, dtype=bool)
_SPACE_BYTES[list(b" \t\r\n")] = True


def guess_kind(data: bytes) -> str:
    """text, numbers (text that is mostly digits) or binary.  Code, images and the like look like
    text or binary from the bytes alone: say what they are with --kind."""
    sample = np.frombuffer(data[:1 << 20], dtype=np.uint8)
    if _TEXT_BYTES[sample].mean() < 0.95:
        return "binary"
    ink = sample[~_SPACE_BYTES[sample]]
    return "numbers" if ink.size and _NUMBER_BYTES[ink].mean() >= 0.9 else "text"


def file_kinds(files: list[Path], names: dict[Path, str], given: list[str], max_bytes) -> dict[Path, str]:
    """Each file's kind: --kind KIND=FILE[,FILE...] (FILE: the path, its table label or its name), else guessed."""
    kinds = {}
    for item in given:
        kind, sep, targets = item.partition("=")
        if not sep or not kind or not targets:
            raise ShoalError(f"--kind {item!r}: write KIND=FILE[,FILE...], e.g. --kind code=fields.c")
        for target in targets.split(","):
            hits = [p for p in files if target in (str(p), names[p], p.name)]
            if not hits:
                raise ShoalError(f"--kind {item!r}: {target!r} is not one of the input files")
            kinds.update((p, kind) for p in hits)
    return {p: kinds.get(p) or guess_kind(inputs.read(p, min(max_bytes or 1 << 20, 1 << 20))) for p in files}


# -- scoring ---------------------------------------------------------------------------------------

@dataclass
class Ablation:
    preset: str                  # the school's name (shoal -6, my.yaml)
    fish: list[str]              # its fish, in the preset's order
    files: list[str]             # the files' labels, in the order given
    kinds: dict[str, str]        # file label -> kind
    results: list[report.Result]  # one per (variant, file); Result.model is the variant's name
    roles: dict[str, tuple[str, str | None]]   # variant name -> (role, fish)
    notes: list[str]


def _score(preset: school.Preset, name: str, path: Path, max_bytes, advance=lambda n: None) -> report.Result:
    """One variant on one file, the per-byte costs summed away (they would cross processes), with the
    processor time it took (this process's, so other work on the machine counts less)."""
    data = inputs.read(path, max_bytes)
    school.score_block(data[:64], preset)          # compiled (or loaded) before the clock starts
    started = time.process_time()
    try:
        score = ShoalModel(name, preset).score(data, advance)
    except ShoalError as error:
        raise ShoalError(f"{path}: {name}: {error}") from None
    score.costs = score.costs.sum(keepdims=True)
    return report.Result(name, str(path), score, problem=coded_size_problem(score),
                         seconds=time.process_time() - started)


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the parent, which stops the pool and says so once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def score_all(todo: list[tuple[str, school.Preset, Path]], names: dict[Path, str], max_bytes=None,
              jobs: int = 1, progress=lambda n, label=None: None) -> list[report.Result]:
    """A Result for each (variant name, its preset, file) in todo, in todo's order, scored in `jobs`
    processes (the same results as one); names: the files' labels; progress(bytes, label)."""
    size = {p: scored_size(p, max_bytes) for _, _, p in todo}
    done: dict[int, report.Result] = {}
    if jobs <= 1:
        for i, (name, preset, p) in enumerate(todo):
            progress(0, f"{name} {p.name}")
            done[i] = _score(preset, name, p, max_bytes, progress)
    else:
        # the longest jobs first, so that no process is left with a big one at the end
        by_cost = sorted(range(len(todo)), key=lambda i: -size[todo[i][2]] * len(todo[i][1].spec["fish"]))
        with ProcessPoolExecutor(min(jobs, len(todo)), initializer=_ignore_interrupts) as pool:
            running = {pool.submit(_score, todo[i][1], todo[i][0], todo[i][2], max_bytes): i for i in by_cost}
            try:
                for future in as_completed(running):
                    i = running[future]
                    done[i] = future.result()
                    progress(size[todo[i][2]], f"{todo[i][0]} {todo[i][2].name}")
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    for i, (_, _, p) in enumerate(todo):
        done[i].file = names[p]
    return [done[i] for i in range(len(todo))]


def run(name: str, preset: school.Preset, files: list[Path], names: dict[Path, str], kinds: dict[Path, str],
        max_bytes=None, jobs: int = 1, progress=lambda n, label=None: None) -> Ablation:
    """Every variant of the preset on every file (names: the files' labels); progress(bytes, label)
    as the work is done."""
    school_variants = variants(preset)
    results = score_all([(v.name, v.preset, p) for v in school_variants for p in files], names, max_bytes, jobs,
                        progress)
    notes = [f"each file cut to its first {max_bytes:,} bytes (--max-bytes)"] if max_bytes else []
    return Ablation(name, fish_labels(preset.spec["fish"]), [names[p] for p in files],
                    {names[p]: kinds[p] for p in files}, results,
                    {v.name: (v.role, v.fish) for v in school_variants}, notes)


def scored_size(path: Path, max_bytes) -> int:
    """The bytes of a file that are scored (all, or the first --max-bytes)."""
    return min(path.stat().st_size, max_bytes or path.stat().st_size)


def total_size(files: list[Path], max_bytes, preset: school.Preset) -> int:
    """Bytes the progress bar counts: every file once per variant."""
    return sum(scored_size(p, max_bytes) for p in files) * (1 + 2 * len(preset.spec["fish"]))

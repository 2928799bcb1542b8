"""Fit the time proxy of space.yaml to this machine's engine (a developer tool).

    python -m shoal.evolve.timing ../shared/corpus/train/*.txt [--sample 256K] [--repeats 3]

Times compressing with levels 1..9 and variants of level 6 (gate subsets,
learning skips, final mixers, without the match or column fish) on a slice
from the middle of each file (a first run compiles each variant's loop:
minutes),
keeps the best of --repeats rounds of CPU time (time.thread_time: the
least disturbed by other work on the machine; the rounds are interleaved),
fits fitness.time_features to the times by least squares with non-negative
coefficients, and prints the `time_model:` line for
space.yaml with how far each preset's prediction is from its time.  Re-run
it after the engine changes how its time splits between fish and mixers.
"""
from __future__ import annotations

import copy
import dataclasses
import sys
import time

import numpy as np

from .. import school
from ..command import Parser, parse_size, run_tool
from .fitness import TrainingSet, time_cost, time_features

PROG = "python -m shoal.evolve.timing"


def variants() -> dict:
    """name -> preset spec: enough spread in every feature to fit them all."""
    # without their primers: reading one is a cost per block, not per byte,
    # and evolve's space has no primer gene (on 64 KiB slices it made
    # levels 8 and 9 read 10-40 us/byte and the fit meaningless)
    presets = {f"level{n}": {k: v for k, v in school.level(n).spec.items() if k != "primer"}
               for n in range(1, 10)}
    base = school.level(6).spec
    for gates in (["c0"], ["c0", "c1"], ["c0", "c1", "match", "order", "column"]):
        presets[f"gates={'+'.join(gates)}"] = dict(copy.deepcopy(base), mixer=dict(base["mixer"], gates=gates))
    for skip in (0, 16, 160):
        presets[f"skip={skip}"] = dict(copy.deepcopy(base), mixer=dict(base["mixer"], skip=skip))
    for kind in ("match", "column"):
        presets[f"no {kind}"] = dict(copy.deepcopy(base), fish=[f for f in base["fish"] if f["kind"] != kind])
    presets["no only"] = dict(copy.deepcopy(base), fish=[
        {k: v for k, v in f.items() if k != "only"} for f in base["fish"]])
    for gates in (["c0order"], ["c0order", "match"]):
        for final in ("gates", "votes"):
            presets[f"gates={'+'.join(gates)} final={final}"] = dict(
                copy.deepcopy(base), mixer=dict(base["mixer"], gates=gates, final=final))
    return presets


def best_times(pieces, specs: list[dict], repeats: int) -> list[float]:
    """CPU seconds of each spec compressing the pieces (the loop compress
    runs: compiled for the preset's shape where it can be), the best of
    `repeats` rounds; the rounds go over all specs in turn, so a busy spell
    hits them alike."""
    # as a preset file the user loads: compiled for its shape (school.Preset.own_loop)
    presets = [dataclasses.replace(school.from_dict(spec), own_loop=True) for spec in specs]
    for preset in presets:
        school.compress_block(pieces[0][:4096], preset)        # compile (or load) each loop first
    best = [float("inf")] * len(presets)
    for _ in range(repeats):
        for i, preset in enumerate(presets):
            start = time.thread_time()
            for piece in pieces:
                school.compress_block(piece, preset)
            best[i] = min(best[i], time.thread_time() - start)
    return best


def fit(rows: list[tuple[dict, float]], text_share: float) -> dict:
    """Least squares with every coefficient >= 0 (drop the negative ones, refit)."""
    names = list(time_features(rows[0][0]))
    active = list(names)
    while True:
        X = np.array([[time_features(spec, text_share)[n] for n in active] for spec, _ in rows])
        y = np.array([us for _, us in rows])
        coef = np.linalg.lstsq(X, y, rcond=None)[0]
        if (coef >= 0).all():
            model = dict.fromkeys(names, 0.0)
            model.update({n: float(round(c, 4)) for n, c in zip(active, coef)})
            return model
        active.pop(int(np.argmin(coef)))


def main(argv=None) -> int:
    return run_tool(PROG, _work, sys.argv[1:] if argv is None else argv)


def _work(argv: list[str]) -> int:
    parser = Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", metavar="FILE", help="training files")
    parser.add_argument("--sample", type=parse_size, default="256K",
                        help="bytes taken from the middle of each file (256K)")
    parser.add_argument("--repeats", type=int, default=3, help="timings per preset; the best counts (3)")
    args = parser.parse_args(argv)
    data = TrainingSet.from_files(args.files, args.sample)
    pieces, total = data.pieces, data.total_bytes
    named = variants()
    seconds = best_times(pieces, list(named.values()), args.repeats)
    rows = [(spec, s * 1e6 / total) for spec, s in zip(named.values(), seconds)]
    for name, (_, us) in zip(named, rows):
        print(f"{name:<32} {us:7.3f} us/byte", file=sys.stderr)
    share = data.text_share
    model = fit(rows, share)
    for name, (spec, us) in zip(named, rows):
        print(f"{name:<32} predicted/measured {time_cost(spec, model, share) / us:.3f}", file=sys.stderr)
    print("time_model: {" + ", ".join(f"{k}: {v}" for k, v in model.items()) + "}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

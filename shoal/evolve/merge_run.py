"""A merge run: the family of fish, the dev set, the CMA-ES loop, the outputs.

    parents, base = family(FISH paths, --base or None)
    dev = DevSet.from_files(FILES, size, lanes)
    run = MergeRun(parents, base, dev, settings); run.references(); run.generation() ...; run.finish(OUT)

Family.  The parents must have one shape and share an ancestor (lineage
recorded by `shoal train --init`, shoal/train/lineage.py).  The base is
--base (checked to be an ancestor of every parent) or else their nearest
common ancestor, found where the parents' checkpoints say they were
initialised from.

Fitness.  The dev set is `lanes` streams from each dev file, the same number
of bytes from every file, each stream read from a fresh state as the fish
reads a lane.  A recipe's fitness is the dev set's bits per byte under the
merged float model (torch, no fake quantisation): fast, and smooth in the
recipe.  Only the final fish is quantised: its activation ranges are
recalibrated on the dev set, it is exported, and the integer fish is scored
too (shoal train's report), since that is what compresses.

The best is the candidate with the lowest fitness.  The start (uniform
averaging, or its TIES/DARE counterpart at density 1 and no drops) is
measured first and is the first best, so a run never ends worse than its
start on the dev set; each parent and the base are measured as references.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import cma
import numpy as np
import torch

from ..errors import ShoalError
from ..train.lineage import Trained
from ..train.train import eval_streams
from .merge_recipe import Merger, RecipeSpace
from .search import log

LN2 = math.log(2)


def short(digest: str) -> str:
    return digest[:12]


def family(paths: list[str], base_path: str | None) -> tuple[list[Trained], Trained]:
    """The parents and the base they are merged on; clear errors otherwise."""
    parents = [Trained.load(p) for p in paths]
    base = Trained.load(base_path) if base_path else None
    first = parents[0]
    for other in parents[1:] + ([base] if base else []):
        if other.config != first.config:
            raise ShoalError(f"shape mismatch: {first.name} is {first.config.to_json()}, {other.name} is "
                             f"{other.config.to_json()}; merged fish must have one shape")
    seen = {}
    for p in parents:
        if p.weights in seen:
            raise ShoalError(f"{seen[p.weights]} and {p.name} have the same weights ({short(p.weights)}): "
                             "name each parent once")
        seen[p.weights] = p.name
    shared = set.intersection(*(set(p.line) for p in parents))
    if base:
        strangers = [p.name for p in parents if base.weights not in p.line]
        if strangers:
            raise ShoalError(f"--base {base_path} (weights {short(base.weights)}) is not an ancestor of "
                             f"{', '.join(strangers)}: merge fish fine-tuned from it (shoal train --init)")
        return parents, base
    if not shared:
        lines = "; ".join(f"{p.name} descends from {[short(d) for d in p.ancestors] or 'nothing recorded'}"
                          for p in parents)
        raise ShoalError(f"the fish share no ancestor ({lines}): merging needs fish fine-tuned from one "
                         "base with shoal train --init BASE")
    nearest = next(d for d in first.line if d in shared)
    for p in parents:
        if p.weights == nearest:
            return parents, p
    hints = sorted({p.init for p in parents if p.init})
    for hint in hints:
        if os.path.isfile(hint):
            base = Trained.load(hint)
            if base.weights == nearest:
                return parents, base
    raise ShoalError(f"the fish share the ancestor {short(nearest)}, but its checkpoint is not where they were "
                     f"initialised from ({', '.join(hints) or 'not recorded'}): name it with --base")


@dataclass
class DevSet:
    """lanes streams of the same length from each dev file: inputs x, targets y [files * lanes, n]."""
    names: list
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def from_files(cls, paths: list[str], size: int, lanes: int) -> "DevSet":
        streams = []
        for path in paths:
            try:
                data = np.fromfile(path, dtype=np.uint8)
            except OSError as e:
                raise ShoalError(f"{path}: cannot read dev file: {e.strerror or e}") from None
            if len(data) < 2 * lanes:
                raise ShoalError(f"{path}: too small for {lanes} dev streams ({len(data)} bytes)")
            streams.append(eval_streams(data, size, lanes))
        n = min(x.shape[1] for x, _ in streams)           # the same bytes from every file
        return cls([os.path.basename(p) for p in paths], np.concatenate([x[:, :n] for x, _ in streams]),
                   np.concatenate([y[:, :n] for _, y in streams]))

    @property
    def total_bytes(self) -> int:
        return self.y.size

    @torch.no_grad()
    def score(self, model) -> tuple[float, dict]:
        """Bits per byte of the float model: on the whole set, and per file."""
        model.eval()
        model.quant = False
        loss = model.stream_loss(torch.from_numpy(self.x), torch.from_numpy(self.y), reduction="none")
        per_file = loss.view(len(self.names), -1).mean(1) / LN2
        return float(loss.mean()) / LN2, {n: round(float(b), 5) for n, b in zip(self.names, per_file)}


@dataclass
class Settings:
    groups: str = "part"
    ties: bool = False
    dare: bool = False
    seed: int = 1
    sigma: float = 0.1
    popsize: int | None = None


@dataclass
class MergeRun:
    """What report.reporter and the plot read: generation, history, baseline, best."""
    parents: list
    base: Trained
    dev: DevSet
    settings: Settings
    run_dir: Path
    generation: int = 0
    elapsed: float = 0.0
    history: list = field(default_factory=list)
    refs: dict = field(default_factory=dict)
    baseline: dict | None = None
    best: dict | None = None

    def __post_init__(self):
        s = self.settings
        names = [n for n, _ in self.base.model().named_parameters()]
        self.space = RecipeSpace(names, len(self.parents), s.groups, s.ties, s.dare)
        self.merger = Merger(self.base.state, [p.state for p in self.parents], self.space, s.seed)
        self.model = self.base.model()
        options = {"seed": s.seed, "verbose": -9, "verb_log": 0, "verb_disp": 0}
        if s.popsize:
            options["popsize"] = s.popsize
        self.x0 = self.space.encode(self.space.uniform())
        self.es = cma.CMAEvolutionStrategy(list(self.x0), s.sigma, options)

    def _measure(self, params: dict) -> dict:
        """Dev-set bits of the model with these parameters."""
        with torch.no_grad():
            for name, p in self.model.named_parameters():
                p.copy_(params[name])
        bpb, per_file = self.dev.score(self.model)
        return {"bits": bpb * self.dev.total_bytes, "bpb": bpb, "per_file": per_file}

    def references(self) -> None:
        """The base, each parent, uniform averaging, then the start (the first best)."""
        for name, trained in [("base", self.base)] + [(p.name, p) for p in self.parents]:
            bpb, per_file = self.dev.score(trained.model())
            self.refs[name] = {"bpb": bpb, "per_file": per_file}
        average = {n: torch.stack([p.state[n] for p in self.parents]).double().mean(0).float()
                   for n in self.space.names}
        self.refs["uniform average"] = {k: v for k, v in self._measure(average).items() if k != "bits"}
        records = [{"event": "reference", "name": k, **v} for k, v in self.refs.items()]
        start = self._measure(self.merger.merge(self.space.decode(self.x0)))
        self.baseline = self.best = dict(start, event="start", generation=0, x=[float(v) for v in self.x0],
                                         recipe=self._recipe_dict(self.x0))
        log(self.run_dir, records + [self.baseline])

    def _recipe_dict(self, x) -> dict:
        return self.space.decode(x).as_dict(self.space.groups, [p.name for p in self.parents])

    def step(self, tick=None) -> dict:
        """One generation: ask, measure, tell, log."""
        start, number = time.perf_counter(), self.generation + 1
        vectors = self.es.ask()
        records = []
        for i, x in enumerate(vectors):
            record = self._measure(self.merger.merge(self.space.decode(x)))
            record.update(event="candidate", generation=number, index=i, x=[float(v) for v in x],
                          recipe=self._recipe_dict(x))
            records.append(record)
            if record["bits"] < self.best["bits"]:
                self.best = record
            if tick:
                tick(i)
        fitness = [r["bpb"] for r in records]
        self.es.tell(vectors, fitness)
        seconds = time.perf_counter() - start
        self.generation, self.elapsed = number, self.elapsed + seconds
        summary = {"event": "generation", "generation": number, "best_bpb": min(fitness),
                   "median_bpb": float(np.median(fitness)), "best_so_far_bpb": self.best["bpb"],
                   "sigma": float(self.es.sigma), "measured": len(records), "seconds": round(seconds, 3),
                   "elapsed": round(self.elapsed, 3)}
        self.history.append(summary)
        log(self.run_dir, records + [summary])
        return summary

    def stop_reason(self, generations: int, time_limit: float | None) -> str | None:
        if self.generation >= generations:
            return f"{generations} generations done"
        stop = self.es.stop()
        if stop:
            return "CMA-ES converged: " + ", ".join(f"{k}={v}" for k, v in stop.items())
        if time_limit is not None and self.history and self.elapsed + self.history[-1]["seconds"] > time_limit:
            return f"time limit of {time_limit / 60:g} minutes"
        return None

    def best_model(self):
        """The best recipe's model, its activation ranges calibrated on the dev set."""
        model = self.base.model()
        merged = self.merger.merge(self.space.decode(self.best["x"]))
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(merged[name])
        calibrate(model, self.dev.x)
        return model

    def lineage(self) -> dict:
        return {"ancestors": list(dict.fromkeys([p.weights for p in self.parents] + self.base.line)),
                "init": self.base.checkpoint}


def calibrate(model, x: np.ndarray, batch: int = 16, passes: int = 4) -> None:
    """Fresh activation ranges (the observers' running absmax) for a model whose
    weights changed: one float pass, then passes with fake quantisation on, as
    training ends (the clamps of q and k read the ranges, so they need a float
    pass first)."""
    for module in model.modules():
        if hasattr(module, "amax"):
            module.amax.zero_()
    model.train()
    with torch.no_grad():
        for quant in [False] + [True] * passes:
            model.quant = quant
            for start in range(0, len(x), batch):
                chunk = torch.from_numpy(x[start:start + batch])
                model.stream_loss(chunk, chunk)       # targets do not matter: only the observers learn
    model.eval()

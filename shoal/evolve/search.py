"""CMA-ES over the school's space: ask, measure, tell, checkpoint, repeat.

A run lives in one directory:

  checkpoint.pkl  rewritten (atomically) after every generation: the pycma
                  object, numpy's global random state (pycma draws from it),
                  the settings, the search space itself, the generation
                  count, the best record, the history and the fitness cache.
                  --resume continues from it exactly, so an interrupted run
                  and an uninterrupted one with the same seed try the same
                  candidates and end with the same result.
  log.jsonl       one JSON object per line, "event" says which: baseline,
                  candidate, generation, resume, done.
  best.yaml       the best preset so far, a preset file for
                  `shoal compress --preset` (or --best FILE).

The best is the candidate with the lowest fitness among those within both
budgets; the base preset (measured first, as the baseline) is the first
best, so best.yaml never does worse on the training set than the default.
Identical presets are measured once (the cache; CMA-ES often proposes
vectors that decode to the same preset).
"""
from __future__ import annotations

import json
import pickle
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cma
import numpy as np
import yaml

from .. import school
from ..atomic import write_bytes
from ..command import parse_size
from ..errors import ShoalError
from ..school import engine
from .fitness import Budget, TrainingSet, time_costs
from .space import Space

CHECKPOINT, LOG, BEST = "checkpoint.pkl", "log.jsonl", "best.yaml"
FORMAT = 2


@dataclass
class Settings:
    """Everything that decides the result; fixed for the life of a run."""
    files: list
    sample: int | None
    slices: int
    table_shift: int
    seed: int
    popsize: int | None
    sigma: float
    memory_budget: str            # "1.0": a factor of the base preset's memory; "300M": bytes
    time_budget: float            # a factor of the base preset's time proxy
    penalty: float


class Run:
    """A run's whole state; what the checkpoint holds."""

    def __init__(self, settings: Settings, space: Space, data: TrainingSet):
        self.format, self.model = FORMAT, engine.MODEL_VERSION
        self.settings, self.space_raw, self.data_digest = settings, space.raw, data.digest
        self._space = space
        self.total_bytes = data.total_bytes
        base = school.from_dict(space.base_spec())
        self.budget = Budget(memory=memory_budget(settings.memory_budget, base.memory_bytes()),
                             time=tuple(settings.time_budget * t for t in time_costs(base.spec, space.time_model)),
                             penalty=settings.penalty, time_model=dict(space.time_model))
        x0, self.start_notes = space.start()
        options = {"seed": settings.seed, "verbose": -9, "verb_log": 0, "verb_disp": 0}
        if settings.popsize:
            options["popsize"] = settings.popsize
        self.es = cma.CMAEvolutionStrategy(list(x0), settings.sigma, options)
        self.rng = np.random.get_state()
        self.x0 = x0
        self.generation, self.elapsed = 0, 0.0
        self.baseline = self.best = None
        self.history: list[dict] = []
        self.cache: dict[str, dict] = {}

    @property
    def space(self) -> Space:
        if self.__dict__.get("_space") is None:
            self._space = Space(self.space_raw, "the checkpoint's search space")
        return self._space

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_space", None)            # rebuilt from space_raw
        return state


def memory_budget(text: str, base_bytes: int) -> int:
    """'1.0' -> that factor of base_bytes; '300M' -> 300 MiB."""
    try:
        factor = float(text)
    except ValueError:
        try:
            return parse_size(text)
        except ValueError:
            raise ShoalError(f"memory budget must be a factor (e.g. 1.0) or a size (e.g. 300M), "
                             f"got {text!r}") from None
    if not factor > 0:
        raise ShoalError(f"memory budget must be positive, got {text!r}")
    return int(factor * base_bytes)


# -- files ----------------------------------------------------------------------

def save(run: Run, run_dir: Path) -> None:
    write_bytes(run_dir / CHECKPOINT, pickle.dumps(run, protocol=pickle.HIGHEST_PROTOCOL))


def load(run_dir: Path) -> Run:
    path = run_dir / CHECKPOINT
    try:
        with open(path, "rb") as f:
            run = pickle.load(f)
    except FileNotFoundError:
        raise ShoalError(f"{run_dir}: no run to resume here (no {CHECKPOINT})") from None
    except OSError as e:
        raise ShoalError(f"{path}: cannot read checkpoint: {e.strerror}") from None
    except Exception as e:       # a damaged or foreign pickle fails in many ways
        raise ShoalError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(run, Run) or getattr(run, "format", None) != FORMAT:
        raise ShoalError(f"{path}: not a checkpoint of this version of shoal evolve")
    if run.model != engine.MODEL_VERSION:
        raise ShoalError(f"{path}: made with model version {run.model}; this shoal computes version "
                         f"{engine.MODEL_VERSION}, so its fitnesses no longer hold: start a new run")
    return run


def log(run_dir: Path, records: list[dict]) -> None:
    with open(run_dir / LOG, "a") as f:
        f.writelines(json.dumps(r, sort_keys=True) + "\n" for r in records)


def trim_log(run_dir: Path, generation: int, keep_baseline: bool) -> None:
    """Forget log lines the checkpoint does not know of (a crash between
    logging and checkpointing); they will be written again."""
    path = run_dir / LOG
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines(keepends=True):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:         # a line cut short by the crash
            continue
        if record.get("generation", 0) <= generation and (keep_baseline or record.get("event") != "baseline"):
            kept.append(line)
    write_bytes(path, "".join(kept).encode())


def preset_yaml(spec: dict, header: list[str]) -> str:
    """A preset file in the shipped presets' layout, with header comments."""
    flow = lambda value: yaml.safe_dump(value, default_flow_style=True, sort_keys=False,   # noqa: E731
                                        width=1 << 16).strip()
    lines = [f"# {h}" for h in header] + [f"block_size: {spec['block_size']}", "fish:"]
    lines += [f"  - {flow(f)}" for f in spec["fish"]]
    lines += [f"{section}: {flow(spec[section])}" for section in ("mixer", "apm") if section in spec]
    return "\n".join(lines) + "\n"


def write_best(run: Run, path: Path, run_dir: Path) -> None:
    best, base = run.best, run.baseline
    change = best["bits"] / base["bits"] - 1
    header = [f"evolved by `shoal evolve school` (run {run_dir}, seed {run.settings.seed}, "
              f"generation {best['generation']})",
              f"training set: {best['bits'] / run.total_bytes:.4f} bits/byte, {change:+.2%} against "
              f"level {run.space.base_level} ({base['bits'] / run.total_bytes:.4f})",
              f"memory {best['memory'] / run.budget.memory:.3f}x and time proxy "
              f"{best['time']:.3f}x the budgets"]
    write_bytes(path, preset_yaml(best["preset"], header).encode())


# -- the loop -------------------------------------------------------------------

def _better(a: dict, b: dict | None) -> bool:
    return b is None or (not a["feasible"], a["fitness"]) < (not b["feasible"], b["fitness"])


def _judge(run: Run, pool, specs: list[dict], generation: int, tick) -> list[dict]:
    """Records for specs: cached sizes reused, the rest measured by the pool."""
    digests = [school.from_dict(spec).digest.hex() for spec in specs]
    todo = {d: s for d, s in zip(digests, specs) if d not in run.cache}
    cached = set(digests) - set(todo)
    shift = run.settings.table_shift
    measured = pool.evaluate(list(todo.values()), shift, done=tick) if todo else []
    run.cache.update(zip(todo, measured))
    records = []
    for i, (digest, spec) in enumerate(zip(digests, specs)):
        measurement = run.cache[digest]
        record = run.budget.judge(spec, measurement["bits"])
        record.update(event="candidate", generation=generation, index=i, digest=digest,
                      bpb=record["fitness"] / run.total_bytes, seconds=measurement["seconds"],
                      cached=digest in cached, preset=spec)
        records.append(record)
    return records


def baseline(run: Run, pool, run_dir: Path) -> None:
    """Measure the starting preset: generation 0, and the first best."""
    start = time.perf_counter()
    (record,) = _judge(run, pool, [run.space.decode(run.x0)], 0, None)
    record["event"] = "baseline"
    run.baseline, run.best = record, record
    run.elapsed += time.perf_counter() - start
    log(run_dir, [record])


def generation(run: Run, pool, run_dir: Path, tick=None) -> dict:
    """One generation: ask, measure, tell, then log and checkpoint it."""
    start = time.perf_counter()
    space, number = run.space, run.generation + 1
    vectors = run.es.ask()
    records = _judge(run, pool, [space.decode(x) for x in vectors], number, tick)
    fitnesses = [r["fitness"] for r in records]
    run.es.tell(vectors, fitnesses)
    run.rng = np.random.get_state()
    for record in records:
        if _better(record, run.best):
            run.best = record
    seconds = time.perf_counter() - start
    run.generation, run.elapsed = number, run.elapsed + seconds
    summary = {"event": "generation", "generation": number, "best": min(fitnesses),
               "median": float(np.median(fitnesses)), "best_bpb": min(fitnesses) / run.total_bytes,
               "median_bpb": float(np.median(fitnesses)) / run.total_bytes,
               "best_so_far_bpb": run.best["bits"] / run.total_bytes, "sigma": float(run.es.sigma),
               "measured": sum(not r["cached"] for r in records), "seconds": round(seconds, 3),
               "elapsed": round(run.elapsed, 3)}
    run.history.append(summary)
    log(run_dir, records + [summary])
    save(run, run_dir)
    return summary


def stop_reason(run: Run, generations: int, time_limit: float | None) -> str | None:
    """Why not to start another generation (None: go on)."""
    if run.generation >= generations:
        return f"{generations} generations done"
    stop = run.es.stop()
    if stop:
        return "CMA-ES converged: " + ", ".join(f"{k}={v}" for k, v in stop.items())
    if time_limit is not None and run.history:
        # stop early rather than late: the next generation must fit too
        if run.elapsed + run.history[-1]["seconds"] > time_limit:
            return f"time limit of {time_limit / 60:g} minutes"
    return None


def settings_dict(settings: Settings) -> dict:
    return asdict(settings)

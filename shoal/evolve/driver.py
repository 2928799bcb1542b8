"""Run `shoal evolve school` as parsed: start or resume, evolve, report.

    evolve_school(args) -> exit status

A fresh run is checkpointed before its first measurement, so from the very
start there is always a checkpoint to --resume.  A resumed run keeps every
option that decides its result (options.RESULT_OPTIONS, the training files and
the search space); giving one with another value is an error, not a silent
new experiment.  How it runs (workers, Ray, the plot, -g, --time-limit) may
change freely.
"""
from __future__ import annotations

import importlib
import math
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from ..command import UsageError, interrupted_status
from ..errors import ShoalError
from . import report, search
from .options import DEFAULT_GENERATIONS, resolved
from .fitness import TrainingSet, auto_table_shift, measure
from .pools import open_pool
from .space import Space, describe


def _settings(args, options: dict, files: list[str]) -> search.Settings:
    shift = options["table_shift"]
    return search.Settings(files=files, sample=options["sample"], slices=options["slices"],
                           table_shift=auto_table_shift(options["sample"]) if shift == "auto" else shift,
                           seed=options["seed"], popsize=options["popsize"], sigma=options["sigma"],
                           memory_budget=str(options["memory_budget"]), time_budget=options["time_budget"],
                           penalty=options["penalty"])


def _start(args, run_dir: Path):
    if not args.files:
        raise UsageError("no training files given (or --resume a run)")
    run_dir.mkdir(parents=True, exist_ok=True)
    ours = [run_dir / name for name in (search.CHECKPOINT, search.LOG, search.BEST)]
    existing = [path for path in ours if path.exists()]
    if existing and not args.force:
        raise ShoalError(f"{run_dir} already holds a run ({existing[0].name}): --resume continues it, "
                         "-f starts afresh")
    if args.best and Path(args.best).exists() and not args.force:
        raise ShoalError(f"{args.best}: file exists; use -f to overwrite it")
    for path in existing:
        path.unlink()
    files = [str(Path(f).resolve()) for f in args.files]
    settings = _settings(args, resolved(args), files)
    space = Space.load(args.space)
    data = TrainingSet.from_files(files, settings.sample, settings.slices)
    run = search.Run(settings, space, data)
    run.plan = {"generations": DEFAULT_GENERATIONS, "time_limit": None}
    search.save(run, run_dir)
    return run, data


def _resume(args, run_dir: Path):
    run = search.load(run_dir)
    stored = run.settings
    given = {k: v for k, v in vars(args).items() if k in resolved(args) and v is not None}
    asked = _settings(args, dict(asdict(stored), **given), stored.files)
    if args.files:
        asked = replace(asked, files=[str(Path(f).resolve()) for f in args.files])
    for field, value in asdict(asked).items():
        old = getattr(stored, field)
        same = (search.memory_budget(value, 1 << 30) == search.memory_budget(old, 1 << 30)
                if field == "memory_budget" else value == old)
        if not same:
            raise UsageError(f"--resume keeps the run's settings; {field} was {old!r}, "
                             f"not {value!r} (start a new run in another --run-dir to change it)")
    if args.space and Space.load(args.space).digest != run.space.digest:
        raise UsageError(f"--resume keeps the run's search space; {args.space} differs")
    data = TrainingSet.from_files(stored.files, stored.sample, stored.slices)
    if data.digest != run.data_digest:
        raise ShoalError("the training files have changed since the run started; they must stay the same "
                         "for --resume (start a new run)")
    np.random.set_state(run.rng)
    search.trim_log(run_dir, run.generation, keep_baseline=run.baseline is not None)
    search.log(run_dir, [{"event": "resume", "generation": run.generation}])
    return run, data


def _write_best(run, run_dir: Path, best_path: str | None) -> None:
    search.write_best(run, run_dir / search.BEST, run_dir)
    if best_path:
        search.write_best(run, Path(best_path), run_dir)


def _time_check(run, data, repeats: int = 3) -> float | None:
    """Measured time of the best preset over the base's, best of `repeats`
    (interleaved, so both see the same disturbances)."""
    if run.best is run.baseline or run.best["digest"] == run.baseline["digest"]:
        return None
    fastest = {"base": math.inf, "best": math.inf}
    for _ in range(repeats):
        for name, record in (("base", run.baseline), ("best", run.best)):
            seconds = measure(data.pieces, record["preset"], run.settings.table_shift)["seconds"]
            fastest[name] = min(fastest[name], seconds)
    return fastest["best"] / fastest["base"]


def _summary(run, reason: str, time_ratio: float | None, run_dir: Path, args) -> list[str]:
    best, base = run.best, run.baseline
    where = [str(run_dir / search.BEST)] + ([args.best] if args.best else [])
    measured = "" if time_ratio is None else f", measured time {time_ratio:.3f}x the base's (best of 3)"
    return [f"stopped: {reason}",
            f"best: {best['bits'] / run.total_bytes:.4f} bits/byte on the training set, "
            f"{best['bits'] / base['bits'] - 1:+.2%} against level {run.space.base_level} "
            f"({base['bits'] / run.total_bytes:.4f}), generation {best['generation']}; memory "
            f"{best['memory'] / run.budget.memory:.3f}x and time proxy "
            f"{best['time']:.3f}x "
            f"the budgets{measured}",
            f"wrote {' and '.join(where)}; log {run_dir / search.LOG}" + (f"; plot {args.plot}" if args.plot else "")]


def evolve_school(args) -> int:
    """The run as parsed (under command.run_tool, which also makes SIGTERM
    and SIGHUP a KeyboardInterrupt): its exit status."""
    if args.show_space:
        print(describe(Space.load(args.space)))
        return 0
    if args.plot:                  # matplotlib missing? say so now, not after the first generation
        importlib.import_module("matplotlib")
    run_dir = Path(args.run_dir)
    run, data = (_resume if args.resume else _start)(args, run_dir)
    if args.generations:
        run.plan["generations"] = args.generations
    if args.time_limit:
        run.plan["time_limit"] = args.time_limit * 60
    generations, time_limit = run.plan["generations"], run.plan["time_limit"]
    pool = open_pool(data.pieces, workers=args.workers, ray=args.ray, address=args.address)
    try:
        with report.reporter(run, generations, args.quiet) as shown:
            pieces = len(data.pieces)
            shown.note(f"evolving {run.space.dimension} genes, {run.es.popsize} candidates a generation, "
                       f"{pieces} training piece{'s' * (pieces != 1)} ({data.total_bytes:,} bytes, tables "
                       f"{run.settings.table_shift} bits smaller), {pool.describe()}")
            for note in run.start_notes:
                shown.note(f"note: the start is not exactly level {run.space.base_level}: {note}")
            if run.baseline is None:
                search.baseline(run, pool, run_dir)
                search.save(run, run_dir)
                _write_best(run, run_dir, args.best)
            while (reason := search.stop_reason(run, generations, time_limit)) is None:
                best_before = run.best
                summary = search.generation(run, pool, run_dir, shown.tick)
                if run.best is not best_before:
                    _write_best(run, run_dir, args.best)
                shown.generation(summary)
                if args.plot:
                    report.plot(run, args.plot)
    except KeyboardInterrupt as stop:
        print(f"shoal evolve school: interrupted after generation {run.generation}; continue with: "
              f"shoal evolve school --resume -o {run_dir}", flush=True, file=sys.stderr)
        return interrupted_status(stop)
    finally:
        pool.close()
    _write_best(run, run_dir, args.best)            # also after a resume of a finished run
    if args.plot and run.history:
        report.plot(run, args.plot)
    time_ratio = None if args.no_time_check else _time_check(run, data)
    search.log(run_dir, [{"event": "done", "generation": run.generation, "reason": reason,
                          "best_bits": run.best["bits"], "baseline_bits": run.baseline["bits"],
                          "best_digest": run.best["digest"], "measured_time_ratio": time_ratio}])
    if not args.quiet:
        print("\n".join(_summary(run, reason, time_ratio, run_dir, args)), file=sys.stderr)
    return 0

"""shoal evolve merge: evolutionary merging of neural fish that share an ancestor.

    shoal evolve merge FISH FISH... --dev FILE... [--base BASE] [-o OUT] [--ties] [--dare]

The parents are fish fine-tuned from one base (shoal train --init BASE); their
float weights come from the ckpt.pt beside each.  CMA-ES (pycma, ask/tell)
searches the merge recipe (merge_recipe.py: per-group coefficients of the
parents' task vectors, TIES densities, DARE drop rates) for the lowest dev-set
bits per byte (merge_run.py).  The best recipe's model is quantised, exported
and checked as an integer fish.  OUT then holds:

  fish.safetensors, config.json   the merged fish: `shoal score OUT/fish.safetensors FILE`,
                                  `{kind: neural, file: OUT/fish.safetensors}` in a preset
  ckpt.pt                         its float weights and lineage (a base for --init, or a merge parent)
  merge.json                      recipe, settings, and dev bpb of base, parents, uniform average, merge
  log.jsonl                       one JSON object per line: reference, start, candidate, generation, done

Evaluation runs in this process: torch already spreads one evaluation over
the cores it is given (--threads), and the models are small.
"""
from __future__ import annotations

import importlib
import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..atomic import atomic_write
from ..command import Parser, UsageError, parse_size, positive_float, positive_int, run_tool
from ..errors import ShoalError
from . import report
from .report import fitness_chart

EXAMPLES = """\
example:
  shoal train CORPUS... --out base
  shoal train PROSE... --init base --out prose --lr 5e-4      # fine-tune two specialists
  shoal train CODE... --init base --out code --lr 5e-4
  shoal evolve merge prose code --dev DEV-PROSE DEV-CODE -o merged --plot merged/fitness.png
  shoal score merged/fish.safetensors FILE

Fitness = bits per byte of the merged float model on the dev files (the same
bytes from each).  See docs/evolve.md."""

PROG = "shoal evolve merge"


def parser() -> Parser:
    p = Parser(prog=PROG, epilog=EXAMPLES,
               description="Evolutionary merging of neural fish fine-tuned from one base: per-group\n"
                           "coefficients of their task vectors (optionally TIES / DARE), found by CMA-ES\n"
                           "on the dev set's bits per byte.  Writes OUT/fish.safetensors.")
    p.add_argument("fish", nargs="+", metavar="FISH",
                   help="parents: shoal train directories, their ckpt.pt, or fish files with ckpt.pt beside them")
    p.add_argument("--dev", nargs="+", required=True, metavar="FILE",
                   help="dev files the fitness is measured on (held-out training data, never evaluation files)")
    p.add_argument("--base", metavar="BASE", help="the common ancestor (default: found from the parents' lineage)")
    p.add_argument("-o", "--out", default="merged-fish", metavar="OUT", help="output directory (merged-fish)")
    p.add_argument("-f", "--force", action="store_true", help="replace a merge already in OUT")
    m = p.add_argument_group("the recipe")
    m.add_argument("--groups", choices=["model", "layer", "part"], default="part",
                   help="coefficient groups: one, per layer, or per layer part (attention, MLP) (part)")
    m.add_argument("--ties", action="store_true", help="TIES: trim task vectors, elect signs, disjoint mean")
    m.add_argument("--dare", action="store_true", help="DARE: random drops with rescaling (seeded)")
    s = p.add_argument_group("the search")
    s.add_argument("-g", "--generations", type=int, default=30, metavar="N",
                   help="CMA-ES generations (30; 0: write the start, uniform averaging)")
    s.add_argument("--popsize", type=positive_int, metavar="N", help="candidates per generation (pycma's default)")
    s.add_argument("--sigma", type=positive_float, default=0.1, metavar="S",
                   help="initial step size, in units of each parameter's range (0.1)")
    s.add_argument("--seed", type=positive_int, default=1, metavar="N", help="seed of CMA-ES and of DARE (1)")
    s.add_argument("--time-limit", type=positive_float, metavar="MINUTES",
                   help="start no generation that would end after MINUTES")
    d = p.add_argument_group("dev set and running")
    d.add_argument("--dev-bytes", type=parse_size, default=16384, metavar="SIZE", help="bytes from each dev file (16K)")
    d.add_argument("--dev-lanes", type=positive_int, default=16, metavar="N",
                   help="streams per dev file, spread over it (16)")
    d.add_argument("--threads", type=positive_int, metavar="N", help="torch CPU threads (torch's default)")
    d.add_argument("--plot", metavar="FILE.png", help="plot fitness per generation (updated every generation)")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary")
    return p


class StartLines(report.LineReporter):
    """One line per generation, the change measured against the start (not a base preset)."""

    def _line(self, summary: dict) -> str:
        return super()._line(summary).replace("vs base", "vs start")


def main(argv: list[str]) -> int:
    return run_tool(PROG, _work, argv)


def _work(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if len(args.fish) < 2:
        raise UsageError("name at least two fish to merge")
    if args.generations < 0:
        raise UsageError("--generations must be 0 or more")
    return _merge(args)


def _prepare(out: Path, force: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    ours = [out / name for name in ("fish.safetensors", "ckpt.pt", "merge.json", "log.jsonl")]
    existing = [path for path in ours if path.exists()]
    if existing and not force:
        raise ShoalError(f"{out} already holds {existing[0].name}: -f replaces it")
    for path in existing:
        path.unlink()


def _merge(args) -> int:
    import torch

    from .merge_run import DevSet, MergeRun, Settings, family
    if args.plot:                   # matplotlib missing? say so now, not after the first generation
        importlib.import_module("matplotlib")
    if args.threads:
        torch.set_num_threads(args.threads)
    parents, base = family(args.fish, args.base)
    dev = DevSet.from_files(args.dev, args.dev_bytes, args.dev_lanes)
    out = Path(args.out)
    _prepare(out, args.force)
    settings = Settings(groups=args.groups, ties=args.ties, dare=args.dare, seed=args.seed, sigma=args.sigma,
                        popsize=args.popsize)
    run = MergeRun(parents, base, dev, settings, out)
    limit = args.time_limit * 60 if args.time_limit else None
    # report.reporter's choice, with the line reporter saying "start" where the school says "base"
    shown = (report.RichReporter if not args.quiet and sys.stderr.isatty() else StartLines)(
        run, args.generations, args.quiet)
    with shown:
        shown.note(f"merging {len(parents)} fish on base {base.name} ({base.weights[:12]}): "
                   f"{run.space.dimension} parameters ({len(run.space.groups)} groups"
                   f"{', TIES' * args.ties}{', DARE' * args.dare}), {run.es.popsize} candidates a generation, "
                   f"dev set {dev.total_bytes:,} bytes from {len(dev.names)} files")
        run.references()
        for name, ref in run.refs.items():
            shown.note(f"  {name}: {ref['bpb']:.4f} bpb on the dev set")
        while (reason := run.stop_reason(args.generations, limit)) is None:
            shown.generation(run.step(shown.tick))
            if args.plot:
                plot(run, args.plot)
    return _finish(run, out, reason or "", args)


def _finish(run, out: Path, reason: str, args) -> int:
    import torch

    from ..train import train as trainer
    from .search import log
    model = run.best_model()
    was_quiet, trainer.console.quiet = trainer.console.quiet, args.quiet   # -q: its report too
    try:
        check = trainer.report(model, run.dev.x, run.dev.y, str(out), run.lineage(), what="dev set")
    finally:
        trainer.console.quiet = was_quiet
    recipe = {"recipe": run.best["recipe"], "settings": asdict(run.settings), "groups": run.space.groups,
              "parents": [p.name for p in run.parents], "base": run.base.name, "generation": run.best["generation"]}
    with atomic_write(out / "ckpt.pt") as file:
        torch.save({"model": model.state_dict(), "config": asdict(model.cfg), "lineage": run.lineage(),
                    "merge": json.loads(json.dumps(recipe))}, file)
    scores = dict(run.refs, **{"evolved merge": {"bpb": run.best["bpb"], "per_file": run.best["per_file"]}})
    result = dict(recipe, reason=reason, dev_files=run.dev.names, dev_bytes=run.dev.total_bytes, dev_bpb=scores,
                  integer_fish={k: check[k] for k in ("float", "fake_quant", "integer", "digest")})
    with atomic_write(out / "merge.json") as file:
        file.write((json.dumps(result, indent=2) + "\n").encode())
    log(out, [{"event": "done", "generation": run.generation, "reason": reason, "best_bpb": run.best["bpb"],
               "integer_fish": result["integer_fish"]}])
    if args.plot and run.history:
        plot(run, args.plot)
    if not args.quiet:
        print(f"stopped: {reason}\n" + table(scores, run.dev.names) +
              f"\nwrote {check['path']} (integer fish {check['integer']:.4f} bpb on the dev set), "
              f"{out / 'merge.json'}, {out / 'log.jsonl'}", file=sys.stderr)
    return check["status"]


def table(scores: dict, files: list[str]) -> str:
    """Markdown table: dev bits per byte of each model, on each file and on all."""
    from ..report_table import Table, to_markdown
    t = Table("dev bits per byte", ["model"] + files + ["all"], numeric=set(files) | {"all"})
    for name, score in scores.items():
        t.add([name] + [f"{score['per_file'][f]:.4f}" for f in files] + [f"{score['bpb']:.4f}"])
    return to_markdown(t)


def plot(run, path) -> None:
    """Dev bits per byte per generation, with the parents and uniform averaging."""
    styles = ["-.", ":", "--", "-", (0, (1, 4))] * 4
    fitness_chart(run.history, path, refs={name: (style, ref["bpb"]) for (name, ref), style
                                           in zip(run.refs.items(), styles)},
                  ylabel="dev bits per byte (float model)", headroom=0.05,
                  title=f"shoal evolve merge: {run.dev.total_bytes:,} dev bytes, seed {run.settings.seed}")

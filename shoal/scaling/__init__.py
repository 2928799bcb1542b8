"""shoal scaling: fit a scaling law to small fish, predict a larger one, then check.

    shoal scaling [FILE|DIR...] [--sizes 32,48,64,96] [--budgets 384K,1152K,3456K]
                  [--target 128:8M] [--out DIR] [--json FILE] [--plot FILE.png]

Trains one neural fish (shoal train's ByteTransformer, in float) for every
width in --sizes and every training budget in --budgets, scores each on the
same held-out bytes, and fits L(N, D) = E + A N^-alpha + B D^-beta (law.py)
to the held-out bits per byte L, with N the non-embedding parameters and D
the training bytes.  Then it predicts the bpb of --target (wider and longer
than any run of the grid), writes the prediction down (DIR/prediction.json),
and only then trains the target and reports predicted against measured.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from ..command import OK, Parser, UsageError, parse_size, progress, run_tool, say
from ..report_table import Table, console, fmt, fmt_int, to_rich, write_text

PROG = "shoal scaling"
DEFAULT_CORPUS = Path("../shared/corpus/train")
DEFAULT_GLOBS = ("english_*", "code_*")

EPILOG = f"""\
FILE|DIR: the training files (a directory means the files in it); by default
the English and code files of {DEFAULT_CORPUS}/ ({', '.join(DEFAULT_GLOBS)}).
The last --holdout bytes of each file are held out and never trained on.

Sizes are model widths (2 layers by default, heads of 16); budgets are
training bytes (suffixes K, M, G are powers of 1024); --target WIDTH:BUDGET.
Each run is cached in DIR/runs/ with its settings: rerunning the command
(after Ctrl-C, or with another --plot) trains only what is missing, and
--fit-only trains nothing at all.  Runs are deterministic for a given
--threads on a given machine.

Example (docs/experiments/scaling.md):
  shoal scaling --out scaling-runs --json docs/experiments/scaling.json \\
        --plot docs/experiments/scaling.png

Exit status: 0 ok, 1 error."""


def int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
    return values


def size_list(text: str) -> list[int]:
    return [parse_size(v) for v in text.split(",")]


def target_argument(text: str) -> tuple[int, int]:
    width, _, budget = text.partition(":")
    if not width.isdigit() or not budget:
        raise argparse.ArgumentTypeError(f"expected WIDTH:BUDGET such as 128:8M, got {text!r}")
    return int(width), parse_size(budget)


def build_parser() -> Parser:
    ap = Parser(prog=PROG, description=__doc__.split("\n")[0], epilog=EPILOG,
                usage="%(prog)s [FILE|DIR...] [options]")
    ap.add_argument("inputs", nargs="*", metavar="FILE|DIR", help="training files (default: see below)")
    g = ap.add_argument_group("the family")
    g.add_argument("--sizes", type=int_list, default=[32, 48, 64, 96], metavar="W,W,...",
                   help="model widths of the grid (default 32,48,64,96)")
    g.add_argument("--budgets", type=size_list, default=[384 << 10, 1152 << 10, 3456 << 10], metavar="B,B,...",
                   help="training bytes of the grid (default 384K,1152K,3456K)")
    g.add_argument("--target", type=target_argument, default=(128, 8 << 20), metavar="WIDTH:BUDGET",
                   help="the configuration predicted, then trained (default 128:8M)")
    g.add_argument("--layers", type=int, default=2, help="transformer blocks (default 2)")
    g.add_argument("--segment", type=int, default=64, help="segment length in bytes (default 64)")
    g.add_argument("--memory", type=int, default=64, help="XL memory in positions (default 64)")
    g.add_argument("--batch", type=int, default=16, help="samples per step (default 16)")
    g.add_argument("--segments", type=int, default=2, help="consecutive segments per sample (default 2)")
    g.add_argument("--lr", type=float, default=2e-3, help="peak learning rate, every size (default 2e-3)")
    g.add_argument("--holdout", type=parse_size, default=200 << 10, metavar="BYTES",
                   help="held out at the end of each file (default 200K)")
    g.add_argument("--eval-bytes", type=parse_size, default=32 << 10, metavar="BYTES",
                   help="held-out bytes scored per file (default 32K)")
    g.add_argument("--seed", type=int, default=1, help="seed of the weights and of the data order (default 1)")
    r = ap.add_argument_group("running and output")
    r.add_argument("--out", default="scaling-runs", metavar="DIR", help="run cache and prediction (default "
                                                                         "scaling-runs)")
    r.add_argument("--fit-only", action="store_true", help="train nothing: fit and predict from DIR's runs")
    r.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: the machine is shared)")
    r.add_argument("--json", metavar="FILE", help="write the results as JSON ('-': stdout, no table)")
    r.add_argument("--plot", metavar="FILE.png", help="log-log plot of the runs, the fit and the prediction")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar or run lines")
    return ap


def parse_args(argv: list[str]):
    args = build_parser().parse_args(argv)
    for name in ("layers", "segment", "memory", "batch", "segments", "threads"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name} must be at least 1")
    if not args.lr > 0:
        raise UsageError("--lr must be positive")
    if len(args.sizes) * len(args.budgets) < 5:
        raise UsageError(f"the law has 5 parameters: --sizes x --budgets must give at least 5 runs, "
                         f"not {len(args.sizes) * len(args.budgets)}")
    if len(set(args.sizes)) < 2 or len(set(args.budgets)) < 2:
        raise UsageError("give at least 2 sizes and 2 budgets: N and D must vary independently")
    if any(w % 16 for w in args.sizes + [args.target[0]]):
        raise UsageError("widths must be multiples of 16 (the head size)")
    return args


def training_files(inputs: list[str]) -> list[str]:
    from .. import inputs as expand
    if inputs:
        return [str(p) for p in expand.expand(inputs)[0]]
    files = sorted(str(p) for pattern in DEFAULT_GLOBS for p in DEFAULT_CORPUS.glob(pattern))
    if not files:
        raise UsageError(f"no training files: {DEFAULT_CORPUS}/ has no {' or '.join(DEFAULT_GLOBS)}; give FILEs")
    return files


def work(argv: list[str]) -> int:
    args = parse_args(argv)
    from . import run
    settings = run.Settings(files=tuple(training_files(args.inputs)), layers=args.layers, segment=args.segment,
                            memory=args.memory, batch=args.batch, segments=args.segments, lr=args.lr,
                            holdout=args.holdout, eval_bytes=args.eval_bytes, seed=args.seed)
    out = Path(args.out)
    grid = [(w, b) for w in args.sizes for b in args.budgets]
    results = {key: run.cached(out, *key, settings) for key in grid + [args.target]}
    todo = [key for key, result in results.items() if result is None]
    if args.fit_only:
        missing = [run.run_name(*key) for key in grid if results[key] is None]
        if len(grid) - len(missing) < 5:
            raise UsageError(f"--fit-only: {out}/runs/ holds {len(grid) - len(missing)} of the grid's runs "
                             "with these settings; the fit needs at least 5")
        todo = []
    log = (lambda text: None) if args.quiet else (lambda text: say(PROG, text))
    import torch
    torch.set_num_threads(args.threads)
    data = run.Data(settings) if todo else None
    if data:
        log(f"{len(settings.files)} files, {data.train_bytes:,} training bytes, {data.ey.size:,} held-out bytes "
            f"scored; {len(todo)} of {len(grid) + 1} runs to train")
    total = sum(settings.steps(b) * settings.sample_bytes for _, b in todo)
    with progress(total, enabled=not args.quiet) as advance:
        def train(key):
            advance(0, f"width {key[0]}, {key[1]:,} bytes")
            result = run.train_one(*key, settings, data, lambda n: advance(n))
            run.store(out, result, settings)
            log(f"width {key[0]:>4}, N {result['N']:>9,}, D {result['D']:>11,}: {result['bpb']:.4f} bpb "
                f"({result['seconds']:.0f} s)")
            return result

        try:
            for key in grid:
                if key in todo:
                    results[key] = train(key)
            done = [results[key] for key in grid if results[key] is not None]
            fitted, rms, prediction = predict(done, args.target, settings)
            if args.target in todo:      # written down before the target trains: the prediction came first
                out.mkdir(parents=True, exist_ok=True)
                written = dict(prediction, written=time.strftime("%Y-%m-%d %H:%M:%S %Z"))
                (out / "prediction.json").write_text(json.dumps(written, indent=2) + "\n")
            p, (lo, hi) = prediction["predicted"], prediction["jackknife"]
            log(f"predicted for width {args.target[0]} (N {prediction['N']:,}) on {prediction['D']:,} bytes: "
                f"{p:.4f} bpb (leave-one-out {lo:.4f} .. {hi:.4f})")
            if args.target in todo:
                results[args.target] = train(args.target)
        except KeyboardInterrupt:
            log(f"stopped: the finished runs are kept in {out}/runs/; the same command goes on from there")
            raise
    measured = results[args.target]
    summary = summarise(done, fitted, rms, prediction, measured, settings, args)
    summary["command"] = "shoal scaling " + shlex.join(argv)
    if args.json:
        write_text(args.json, json.dumps(summary, indent=2) + "\n")
    if args.json != "-":
        console().print(to_rich(table(summary)))
    if args.plot:
        from .plot import plot
        plot(summary, args.plot)
        if not args.quiet:
            sys.stdout.flush()
            say(PROG, f"plot written to {args.plot}")
    return OK


def predict(done, target, settings) -> tuple:
    """Fit the law to the finished grid runs and predict the target from it."""
    from . import law
    N, D, L = ([r[k] for r in done] for k in ("N", "D", "bpb"))
    fitted, rms = law.fit(N, D, L)
    N_new, D_new = target_size(target, settings)
    spread = law.jackknife(N, D, L, N_new, D_new)
    return fitted, rms, {"width": target[0], "N": N_new, "D": D_new, "predicted": float(fitted(N_new, D_new)),
                         "jackknife": [min(spread), max(spread)], "law": fitted.to_dict(), "fit_rms_rel": rms}


def target_size(target, settings) -> tuple[int, int]:
    """N and D of the target without training it (N from a freshly built model)."""
    from shoal.train.model import ByteTransformer
    from .run import non_embedding_params, shape
    width, budget = target
    N = non_embedding_params(ByteTransformer(shape(width, settings)))
    return N, settings.steps(budget) * settings.sample_bytes


def summarise(done, fitted, rms, prediction, measured, settings, args) -> dict:
    from .law import at_bounds
    from .run import settings_dict
    runs = [dict(r, fit=float(fitted(r["N"], r["D"]))) for r in done]
    target = dict(prediction, measured=None, error_pct=None)
    if measured:
        target.update(measured=measured["bpb"], run=measured,
                      error_pct=100 * (prediction["predicted"] / measured["bpb"] - 1))
    return {"settings": settings_dict(settings), "threads": args.threads, "runs": runs,
            "law": fitted.to_dict(), "at_bounds": at_bounds(fitted), "fit_rms_rel": rms, "points": len(done),
            "target": target}


def table(summary) -> Table:
    law, t = summary["law"], summary["target"]
    out = Table("shoal scaling: held-out bits per byte of the grid, the fit, and the target",
                ["run", "width", "N", "D (bytes)", "bpb measured", "bpb fit", "fit vs measured"],
                numeric={"width", "N", "D (bytes)", "bpb measured", "bpb fit", "fit vs measured"})
    for r in summary["runs"]:
        out.add(["grid", str(r["width"]), fmt_int(r["N"]), fmt_int(r["D"]), f"{r['bpb']:.4f}", f"{r['fit']:.4f}",
                 f"{100 * (r['fit'] / r['bpb'] - 1):+.2f}%"])
    measured = "-" if t["measured"] is None else f"{t['measured']:.4f}"
    error = "-" if t["error_pct"] is None else f"{t['error_pct']:+.2f}%"
    out.add(["target", str(t["width"]), fmt_int(t["N"]), fmt_int(t["D"]), measured, f"{t['predicted']:.4f}", error],
            style="bold")
    out.notes += [f"L(N, D) = {law['E']:.4g} + {law['A']:.4g} N^-{law['alpha']:.4f} + {law['B']:.4g} "
                  f"D^-{law['beta']:.4f}",
                  f"fit on {summary['points']} runs, RMS relative residual {100 * summary['fit_rms_rel']:.2f}%; "
                  f"target predicted {t['predicted']:.4f} bpb (leave-one-out {t['jackknife'][0]:.4f} .. "
                  f"{t['jackknife'][1]:.4f}), before it was trained",
                  f"N: non-embedding parameters; D: training bytes; bpb: the float model's on "
                  f"{fmt(summary['runs'][0]['eval_bytes'])} held-out bytes"]
    if summary["at_bounds"]:
        out.notes.append(f"{', '.join(summary['at_bounds'])}: on the bound of the fit (the runs do not determine it)")
    if t["measured"] is None:
        out.notes.append("the target has not been trained (--fit-only)")
    return out


def main(argv: list[str] | None = None) -> int:
    return run_tool(PROG, work, sys.argv[1:] if argv is None else argv, extras={"torch": "experiments"})

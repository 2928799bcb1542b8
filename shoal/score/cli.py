"""shoal score: bits per byte and compression ratio of models on files.

    shoal score MODEL FILE|DIR...
    shoal score -m MODEL [-m MODEL ...] FILE|DIR...
    shoal score --ablate SCHOOL FILE|DIR...       (ablate.py: each fish alone, and the school without it)
    shoal score --mixers SCHOOL FILE|DIR...       (mixers.py: gated vs attention mixer, and robustness)

Each MODEL scores each file; the table gives bytes, the ideal code length in
bits, bits per byte, the ratio compressed / original (bpb / 8, as xz -l), the
compression factor 8 / bpb and, for shoal models, the real coded size, which
must agree with the ideal length (checked: a disagreement is a loud failure
and exit status 1).  The tables fit 80 columns; --wide prints every column.
"""
from __future__ import annotations

import argparse
import sys
import textwrap
from functools import lru_cache
from pathlib import Path

from .. import inputs
from ..command import ERROR, OK, Parser, UsageError, parse_size, positive_int, progress, run_tool, say
from ..errors import ShoalError
from ..report_table import console, split_columns, to_rich, write_text
from . import report
from .models import FISH_NAMES, coded_size_problem, resolve

PROG = "shoal score"

EPILOG = f"""\
MODEL is one of:
  -6, 6, level6      a shoal level (1..9)
  FILE.yaml|.json    a shoal preset file
  order2, word1 ...  a single fish, coded through the school's mixer and APMs:
{textwrap.fill(FISH_NAMES, 79, initial_indent=" " * 21, subsequent_indent=" " * 21)}
  uniform, laplace   reference models: 8 bits a byte; adaptive order-0 counts
  FILE.safetensors   a neural fish (or DIR holding fish.safetensors)
  hf:DIR             a local Hugging Face causal LM directory (shoal[hf]; never downloads)

Several models: repeat -m (then every positional argument is an input):
  shoal score -m -1 -m -6 -m order2 -m hf:./gpt2 ../shared/corpus/canterbury

Ablation: --ablate SCHOOL (a level or a preset file) scores the whole school,
every fish alone (in a school of its own with the preset's mixer) and the
school without each fish, then prints bpb alone, the loss when each fish is
removed, and a summary by kind of file; --plot draws them as bars:
  shoal score --ablate -6 -j 2 --kind code=fields.c --plot ablation.png \\
        ../shared/corpus/canterbury/alice29.txt ../shared/corpus/canterbury/fields.c

Mixers: --mixers SCHOOL scores the school with its gated mixers and with the
attention mixer, each clean, with one fish gone blind (noise) or stuck (a
constant) from the middle of each file, and with its inputs shuffled every
--shuffle bytes, then prints size, speed and what each perturbation costs:
  shoal score --mixers -6 -j 2 --blind order3 --plot mixers.png FILES...

Ray: --ray scores each (model, file) pair as a task on a local Ray instance
(a worker per core; shoal[ray]), --address HOST:PORT on a cluster; files
are read here and sent, results come back in order: the same table.
  shoal score -m -6 -m order2 --ray ../shared/corpus/canterbury

Bits per byte are ideal code lengths (-sum log2 p over the bytes, or over the
tokens for hf: models, divided by the number of bytes).  A directory means the
files directly in it.  --json - / --csv - print to stdout instead of the table.
Exit status: 0 ok, 1 error (bad input, or a coded size that disagrees with
the ideal length)."""


def build_parser() -> Parser:
    ap = Parser(prog=PROG, description=__doc__.split("\n")[0], epilog=EPILOG,
                usage="%(prog)s [-m MODEL]... [options] [MODEL] FILE|DIR...")
    ap.add_argument("inputs", nargs="+", metavar="FILE|DIR", help="inputs (MODEL first when no -m is given)")
    ap.add_argument("-m", "--model", action="append", default=[], metavar="MODEL", help="a model; repeat for more")
    ap.add_argument("--max-bytes", type=parse_size, metavar="N",
                    help="score only the first N bytes of each file (suffixes K, M, G)")
    ap.add_argument("--ray", action="store_true",
                    help="score the files on a local Ray instance, a (model, file) pair per task (shoal[ray])")
    ap.add_argument("--address", metavar="HOST:PORT", help="score on the Ray cluster at HOST:PORT (implies --ray)")
    out = ap.add_argument_group("output")
    out.add_argument("--json", metavar="FILE", help="write the results as JSON ('-': stdout, no table)")
    out.add_argument("--csv", metavar="FILE", help="write the per-file rows as CSV ('-': stdout, no table)")
    out.add_argument("--by-position", action="store_true",
                     help="also bpb by position in the file (buckets 0-128, 128-256, 256-512, ... bytes)")
    out.add_argument("--bucket-size", type=parse_size, metavar="N",
                     help="with --by-position/--plot: equal buckets of N bytes instead")
    out.add_argument("--plot", metavar="FILE.png", help="plot bpb by position, one line per model (matplotlib); "
                                                        "with --ablate: bars per fish and kind of file")
    out.add_argument("--wide", action="store_true",
                     help="print every column (bits, compression factor, coded bpb) and the position table "
                          "whole; by default the tables fit 80 columns")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    ablate = ap.add_argument_group("ablation (--ablate)")
    ablate.add_argument("--ablate", metavar="SCHOOL",
                        help="score the school (a level or preset file), each fish alone and the school "
                             "without each fish; --plot draws bars by kind of file")
    ablate.add_argument("-j", "--jobs", type=positive_int, default=1, metavar="N",
                        help="with --ablate: score in N processes (same results; default 1)")
    ablate.add_argument("--kind", action="append", default=[], metavar="KIND=FILE[,FILE...]",
                        help="with --ablate: the kind of these files (code, image, ...; FILE: the path or "
                             "its name); others are guessed: text, numbers or binary")
    mixers = ap.add_argument_group("mixers (--mixers)")
    mixers.add_argument("--mixers", metavar="SCHOOL",
                        help="score the school (a level or preset file) with the gated and the attention mixer, "
                             "clean and perturbed (-j goes with it too)")
    mixers.add_argument("--blind", metavar="FISH", help="the fish that goes blind or stuck (default: order3)")
    mixers.add_argument("--blind-at", type=fraction, default=0.5, metavar="F",
                        help="where in each file, as a fraction of it (default 0.5)")
    mixers.add_argument("--stuck-value", type=int, default=512, metavar="V",
                        help="the stuck fish's constant vote, 1/256 nat (default 512: p = 0.88)")
    mixers.add_argument("--shuffle", type=parse_size, default=16384, metavar="N",
                        help="deal the mixer's inputs in a new order every N bytes (default 16K)")
    hf = ap.add_argument_group("Hugging Face models (hf:DIR)")
    hf.add_argument("--context", type=int, metavar="N", help="window in tokens (default: the model's maximum)")
    hf.add_argument("--stride", type=int, metavar="N",
                    help="tokens the window moves each step; every token has >= context-stride tokens "
                         "before it (default: half the context)")
    hf.add_argument("--batch-size", type=int, default=2, metavar="N", help="windows per forward pass (default 2)")
    return ap


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction 0..1, got {text!r}")
    return value


MIXER_DEFAULTS = {"blind": None, "blind_at": 0.5, "stuck_value": 512, "shuffle": 16384}


def parse_args(argv: list[str]):
    args = build_parser().parse_args(argv)
    school_tool = "--ablate" if args.ablate is not None else "--mixers" if args.mixers is not None else None
    if args.ablate is not None and args.mixers is not None:
        raise UsageError("--ablate and --mixers: one at a time")
    args.ray = args.ray or args.address is not None
    if school_tool:
        if args.ray:
            raise UsageError(f"--ray and --address go with plain scoring; {school_tool} takes -j N processes")
        if args.model:
            raise UsageError(f"{school_tool} names the school to study: give no -m with it")
        if args.by_position or args.bucket_size:
            raise UsageError(f"--by-position and --bucket-size do not go with {school_tool}")
    elif args.jobs != 1:
        raise UsageError("-j goes with --ablate or --mixers")
    if args.kind and args.ablate is None:
        raise UsageError("--kind goes with --ablate")
    if args.mixers is None and any(getattr(args, k) != v for k, v in MIXER_DEFAULTS.items()):
        raise UsageError("--blind, --blind-at, --stuck-value and --shuffle go with --mixers")
    if not 0 < args.shuffle:
        raise UsageError("--shuffle must be at least 1 byte")
    if not args.model and school_tool is None:
        args.model, args.inputs = args.inputs[:1], args.inputs[1:]
    if not args.inputs:
        raise UsageError("give a MODEL and at least one FILE or DIR")
    if args.bucket_size and not (args.by_position or args.plot):
        raise UsageError("--bucket-size goes with --by-position or --plot")
    if "-" in (args.json, args.csv) and args.json == args.csv:
        raise UsageError("--json - and --csv - cannot both go to stdout")
    return args


def labels(files: list[Path]) -> dict[Path, str]:
    """Short names for the tables (folder/file), or the paths as given where two would clash."""
    short = {p: f"{p.parent.name}/{p.name}" if p.parent.name else p.name for p in files}
    return short if len(set(short.values())) == len(files) else {p: str(p) for p in files}


def score_all(models, files, args, notes, runner=None) -> list[report.Result]:
    """Every model on every file, in that order, with the coded-size check;
    on Ray workers when runner is a cluster.RayRunner (same results)."""
    sizes = [min(p.stat().st_size, args.max_bytes or sys.maxsize) for p in files]
    profiles = bool(args.by_position or args.plot)
    names = labels(files)
    with progress(sum(sizes) * len(models), enabled=not args.quiet) as advance:
        if runner is None:
            results = []
            for model in models:
                for path in files:
                    advance(0, f"{model.name} {path.name}")
                    data = inputs.read(path, args.max_bytes)
                    results.append(scored(model, data, path, names[path], profiles, args.bucket_size, advance))
                    _say_problem(results[-1], path)
        else:
            from ..blocks import ordered_map
            hf = tuple(sorted(hf_options(args).items()))
            jobs = ((_portable(spec), hf, inputs.read(path, args.max_bytes), str(path), names[path], profiles,
                     args.bucket_size) for spec in args.model for path in files)
            results = []
            for result, (model, path) in zip(ordered_map(score_job, jobs, runner),
                                             ((m, p) for m in models for p in files)):
                advance(min(path.stat().st_size, args.max_bytes or sys.maxsize), f"{model.name} {path.name}")
                results.append(result)
                _say_problem(result, path)
    if args.max_bytes:
        notes.append(f"each file cut to its first {args.max_bytes:,} bytes (--max-bytes)")
    return results


def scored(model, data: bytes, path, label: str, profiles: bool, bucket_size, advance=lambda n, label=None: None):
    """One model on one file: its result, the per-byte arrays freed (kept: the profile)."""
    try:
        score = model.score(data, advance)
    except ShoalError as error:
        raise ShoalError(f"{path}: {model.name}: {error}") from None
    result = report.Result(model.name, label, score, problem=coded_size_problem(score))
    if profiles:
        result.profile = report.profile(score, bucket_size)
    score.costs, score.ends = score.costs.sum(keepdims=True), None   # free the per-byte arrays
    return result


def score_job(job) -> report.Result:
    """scored() on a Ray worker: the model named by its spec (resolved once
    per worker), the file's bytes sent from the driver."""
    spec, hf, data, path, label, profiles, bucket_size = job
    return scored(_model(spec, hf), data, path, label, profiles, bucket_size)


@lru_cache(maxsize=8)
def _model(spec: str, hf: tuple):
    return resolve(spec, dict(hf))


def _portable(spec: str) -> str:
    """A MODEL spec a worker resolves the same: a path made absolute (the
    worker's working directory may differ; on a cluster the path must exist
    on every node)."""
    prefix = "hf:" if spec.startswith("hf:") else ""
    path = Path(spec[len(prefix):])
    return prefix + str(path.resolve()) if path.exists() else spec


def _say_problem(result: report.Result, path) -> None:
    if result.problem:
        say(PROG, f"CHECK FAILED: {result.model} on {path}: {result.problem}")


def hf_options(args) -> dict:
    return {"context": args.context, "stride": args.stride, "batch_size": args.batch_size}


def print_split(out, table, what: str = "columns", wide: bool = False) -> None:
    """A table whole (--wide), or split into tables that fit 80 columns (report_table.split_columns)."""
    for part in [table] if wide else split_columns(table, keep=1, what=what):
        out.print(to_rich(part, wide=wide))


def ablate_work(args) -> int:
    """shoal score --ablate SCHOOL FILE...: see ablate.py."""
    from . import ablate, ablate_report
    name, preset = ablate.school_to_ablate(args.ablate)
    files, notes = inputs.expand(args.inputs)
    names = labels(files)
    kinds = ablate.file_kinds(files, names, args.kind, args.max_bytes)
    with progress(ablate.total_size(files, args.max_bytes, preset), enabled=not args.quiet) as advance:
        result = ablate.run(name, preset, files, names, kinds, args.max_bytes, args.jobs, advance)
    result.notes += notes
    for r in result.results:
        if r.problem:
            say(PROG, f"CHECK FAILED: {r.model} on {r.file}: {r.problem}")
    if args.json:
        write_text(args.json, ablate_report.to_json(result))
    if args.csv:
        write_text(args.csv, ablate_report.to_csv_text(result))
    if "-" not in (args.json, args.csv):
        out = console(wide=args.wide)
        tables = [(table, "files") for table in ablate_report.fish_tables(result)]
        for table, what in tables + [(ablate_report.kind_table(result), "columns")]:
            if args.wide:
                out.print(ablate_report.rich(table))
            else:
                print_split(out, table, what)
    if args.plot:
        ablate_report.plot(result, args.plot)
        if not args.quiet:
            sys.stdout.flush()
            say(PROG, f"plot written to {args.plot}")
    return ERROR if any(r.problem for r in result.results) else OK


def mixers_work(args) -> int:
    """shoal score --mixers SCHOOL FILE...: see mixers.py."""
    from . import ablate, mixers
    name, preset = ablate.school_to_ablate(args.mixers)
    files, notes = inputs.expand(args.inputs)
    options = {k: getattr(args, k) for k in MIXER_DEFAULTS}
    todo, roles = mixers.variants(preset, files, max_bytes=args.max_bytes, **options)
    blind_fish = ablate.fish_labels(preset.spec["fish"])[mixers.blind_index(preset, args.blind)]
    total = sum(ablate.scored_size(p, args.max_bytes) for _, _, p in todo)
    with progress(total, enabled=not args.quiet) as advance:
        results = ablate.score_all(todo, labels(files), args.max_bytes, args.jobs, advance)
    if args.max_bytes:
        notes.append(f"each file cut to its first {args.max_bytes:,} bytes (--max-bytes)")
    notes.append(f"{blind_fish} blind (noise) or stuck (vote {args.stuck_value}) from {args.blind_at:g} of each "
                 f"file; inputs shuffled every {args.shuffle:,} bytes; MB/s: processor time, clean runs")
    rows = mixers.summary(results, roles)
    for r in results:
        if r.problem:
            say(PROG, f"CHECK FAILED: {r.model} on {r.file}: {r.problem}")
    if args.json:
        write_text(args.json, mixers.to_json(name, blind_fish, options, results, roles, rows, notes))
    if "-" != args.json:
        out = console(wide=args.wide)
        print_split(out, mixers.file_table(results, roles), what="variants", wide=args.wide)
        print_split(out, mixers.table(rows, blind_fish, notes), wide=args.wide)
    if args.plot:
        mixers.plot(results, roles, rows, blind_fish, args.plot)
        if not args.quiet:
            sys.stdout.flush()
            say(PROG, f"plot written to {args.plot}")
    return ERROR if any(r.problem for r in results) else OK


def work(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.ablate is not None:
        return ablate_work(args)
    if args.mixers is not None:
        return mixers_work(args)
    files, notes = inputs.expand(args.inputs)
    models = [resolve(spec, hf_options(args)) for spec in args.model]
    if args.ray:
        from .. import cluster                     # imports Ray: only here
        runner = cluster.RayRunner(address=args.address)
        try:
            results = score_all(models, files, args, notes, runner)
        finally:
            runner.close()
    else:
        results = score_all(models, files, args, notes)
    if args.json:
        write_text(args.json, report.to_json(results, notes))
    if args.csv:
        write_text(args.csv, report.to_csv_text(results))
    if "-" not in (args.json, args.csv):
        out = console(wide=args.wide)
        out.print(to_rich(report.score_table(results, notes), wide=args.wide))
        if args.by_position:
            for table in report.position_tables(results, args.wide):
                out.print()
                out.print(to_rich(table, wide=args.wide))
    if args.plot:
        report.plot(results, args.plot, log_positions=not args.bucket_size)
        if not args.quiet:
            sys.stdout.flush()                     # the tables first, then this line on stderr
            say(PROG, f"plot written to {args.plot}")
    return ERROR if any(r.problem for r in results) else OK


def main(argv: list[str] | None = None) -> int:
    return run_tool(PROG, work, sys.argv[1:] if argv is None else argv, extras={"torch": "hf"})

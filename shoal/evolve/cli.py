"""The command line of `shoal evolve` (argparse), and the run it drives.

    shoal evolve school FILE... [-o RUN_DIR] [--sample 64K] [-g N] [--seed N] [--plot fitness.png]
    shoal evolve school --resume [-o RUN_DIR] [-g N] [--time-limit MIN]
    shoal evolve check evolved.yaml FILE...     (check.py)
    shoal evolve merge FISH... --dev FILE...    (merge.py)

Errors are one line on stderr and exit status 1 (no tracebacks).  Ctrl-C
stops at once; every finished generation is already checkpointed, so the
run exits 130 and names the command that continues it.  driver.py runs the
parsed command.
"""
from __future__ import annotations

import argparse
import sys

from ..cli_io import parse_size
from ..errors import ShoalError

EXAMPLES = """\
examples:
  shoal evolve school ../shared/corpus/train/* --sample 64K -g 5 --plot fitness.png
  shoal evolve school --resume -g 20              # continue (or extend) the run in evolve-run/
  shoal evolve school ../shared/corpus/train/* --address 10.0.0.5:6379   # on a Ray cluster
  shoal compress --preset evolve-run/best.yaml FILE

Fitness = compressed size in bits of the training pieces, times
1 + PENALTY * (relative excess over the memory budget + over the time budget).
Options marked (*) decide the result and cannot change on --resume.
See docs/evolve.md."""

# Options that decide the result: fixed for a run's life (compared on --resume).
RESULT_OPTIONS = ("sample", "slices", "table_shift", "seed", "popsize", "sigma", "memory_budget",
                  "time_budget", "penalty")
DEFAULTS = {"slices": 1, "table_shift": "auto", "seed": 1, "sigma": 0.07, "memory_budget": "1.0",
            "time_budget": 1.0, "penalty": 3.0}
DEFAULT_GENERATIONS = 50


class UsageError(Exception):
    """The command line itself is wrong."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):           # exit status 1, like the rest of shoal, not argparse's 2
        raise UsageError(f"{self.prog}: {message}")


def _positive(kind):
    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        return value
    return convert


def _non_negative(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def _size(text):
    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _memory(text):
    """A factor ('1.0') or a size ('300M'); kept as typed (search.memory_budget reads it)."""
    try:
        if float(text) > 0:
            return text
    except ValueError:
        try:
            parse_size(text)
            return text
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"memory budget must be a positive factor (e.g. 1.0) or a size "
                                     f"(e.g. 300M), got {text!r}")


def _shift(text):
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a number of bits, got {text!r}") from None
    if not 0 <= value <= 16:
        raise argparse.ArgumentTypeError("must be 0..16")
    return value


def school_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="shoal evolve school", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Evolve a school preset with CMA-ES: the smallest compressed training set\n"
                            "within memory and time budgets.  Writes RUN_DIR/best.yaml.")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="training files (only training data: ../shared/corpus/train/*)")
    run = p.add_argument_group("the run")
    run.add_argument("-o", "--run-dir", default="evolve-run", metavar="DIR",
                     help="where the checkpoint, log and best preset live (default: evolve-run)")
    run.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR from its checkpoint")
    run.add_argument("-f", "--force", action="store_true",
                     help="start afresh even if RUN_DIR holds a run (its files are replaced); overwrite --best")
    run.add_argument("-g", "--generations", type=_positive(int), metavar="N",
                     help=f"stop after N generations in all (default {DEFAULT_GENERATIONS}; raise it on --resume "
                          "to go on)")
    run.add_argument("--time-limit", type=_positive(float), metavar="MINUTES",
                     help="start no generation that would end after MINUTES of run time in all")
    run.add_argument("--best", metavar="FILE.yaml", help="also write the best preset here")
    run.add_argument("--plot", metavar="FILE.png", help="plot fitness per generation (updated every generation)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary")
    data = p.add_argument_group("training set (*)")
    data.add_argument("--sample", type=_size, metavar="SIZE",
                      help="use slices of SIZE bytes (e.g. 64K) instead of whole files")
    data.add_argument("--slices", type=_positive(int), metavar="N", help="slices per file, evenly spaced (1)")
    data.add_argument("--table-shift", type=_shift, metavar="BITS",
                      help="evaluate tables BITS smaller, as if slices were 4 MiB files (default auto)")
    search = p.add_argument_group("search (*)")
    search.add_argument("--seed", type=_positive(int), metavar="N", help="random seed, >= 1 (default 1)")
    search.add_argument("--popsize", type=_positive(int), metavar="N",
                        help="candidates per generation (default pycma's 4 + 3 ln(genes))")
    search.add_argument("--sigma", type=_positive(float), metavar="S",
                        help="initial step size; genes live in [0, 1] (default 0.07)")
    search.add_argument("--space", metavar="FILE.yaml", help="search space (default: the built-in space.yaml)")
    budget = p.add_argument_group("budgets (*)")
    budget.add_argument("--memory-budget", type=_memory, metavar="X",
                        help="factor of the base preset's model memory (1.0), or a size (e.g. 300M)")
    budget.add_argument("--time-budget", type=_positive(float), metavar="X",
                        help="factor of the base preset's time per byte (default 1.0)")
    budget.add_argument("--penalty", type=_non_negative, metavar="W",
                        help="fitness factor per unit of excess over a budget (default 3)")
    pool = p.add_argument_group("evaluation")
    pool.add_argument("-j", "--workers", type=int, metavar="N",
                      help="parallel evaluations (default: one per core; 0: in this process)")
    pool.add_argument("--ray", action="store_true", help="evaluate on Ray (ray.init() on this machine)")
    pool.add_argument("--address", metavar="HOST:PORT", help="evaluate on the Ray cluster at HOST:PORT")
    pool.add_argument("--no-time-check", action="store_true",
                      help="skip the final CPU-time comparison of the best preset with the base")
    p.add_argument("--show-space", action="store_true", help="print the search space's genes and exit")
    return p


def top_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="shoal evolve", formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Evolution shapes the school.",
                epilog="commands:\n  school   evolve a school preset with CMA-ES (shoal evolve school --help)\n"
                       "  check    compare an evolved preset with a level on held-back files\n"
                       "  merge    evolutionary merging of neural fish (shoal evolve merge --help)")
    p.add_argument("command", choices=["school", "check", "merge"], help="what to do")
    return p


def main(argv: list[str]) -> int:
    argv = list(argv)
    try:
        if not argv or argv[0] not in ("school", "check", "merge"):
            top_parser().parse_args(argv[:1])        # --help, or a clear error
            return 0
        if argv[0] == "merge":
            from . import merge         # here: merge builds on this module's parser helpers
            return merge.main(argv[1:])
        if argv[0] == "check":
            from . import check         # here: it loads the engine (NumPy, Numba), which --help needs not
            return check.main(argv[1:])
        args = school_parser().parse_args(argv[1:])
        if args.workers is not None and args.workers < 0:
            raise UsageError("shoal evolve school: --workers must be 0 or more")
    except UsageError as e:
        where = "shoal evolve school" if argv[:1] == ["school"] else "shoal evolve"
        print(f"{e}\nTry '{where} --help'.", file=sys.stderr)
        return 1
    except SystemExit as done:                  # --help
        return done.code or 0
    def school():
        from . import driver
        return driver.evolve_school(args)
    return reporting_errors(school, "shoal evolve", "shoal evolve school")


EXTRAS = {"cma": "evolve", "ray": "evolve", "matplotlib": "plot", "torch": "train"}


def reporting_errors(command, prog: str, usage: str) -> int:
    """command() -> its exit status; an error is one line on stderr and status 1
    (no traceback), Ctrl-C before a run began status 130.  Shared by school and merge."""
    try:
        return command()
    except ModuleNotFoundError as missing:
        extra = EXTRAS.get((missing.name or "").split(".")[0])
        if extra is None:
            raise
        print(f"{prog}: needs {missing.name}, part of an optional extra "
              f"(pip install 'shoal[{extra}]')", file=sys.stderr)
        return 1
    except UsageError as e:
        print(f"{e}\nTry '{usage} --help'.", file=sys.stderr)
        return 1
    except ShoalError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 1
    except OSError as e:                        # a full disk, a run directory we may not write
        where = f"{e.filename}: " if e.filename else ""
        print(f"{prog}: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:                   # before the run began: nothing to keep
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def resolved(args) -> dict:
    """The result-deciding options, with defaults filled in."""
    return {k: DEFAULTS.get(k) if getattr(args, k) is None else getattr(args, k) for k in RESULT_OPTIONS}

"""The command line of `shoal evolve` (argparse), and which command it runs.

    shoal evolve school FILE... [-o RUN_DIR] [--sample 64K] [-g N] [--seed N] [--plot fitness.png]
    shoal evolve school --resume [-o RUN_DIR] [-g N] [--time-limit MIN]
    shoal evolve check evolved.yaml FILE...     (check.py)
    shoal evolve merge FISH... --dev FILE...    (merge.py)

Each command runs under command.run_tool: errors are one line on stderr and
exit status 1 (no tracebacks).  Ctrl-C (or SIGTERM) stops at once; every
finished generation is already checkpointed, so the run exits 130 (143)
and names the command that continues it.  driver.py runs the parsed
school command; the option types and defaults are options.py's.
"""
from __future__ import annotations

from ..command import Parser, UsageError, parse_size, positive_float, positive_int, run_tool
from .options import DEFAULT_GENERATIONS, memory_budget, non_negative, table_shift

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

COMMANDS = ("school", "check", "merge")


def school_parser() -> Parser:
    p = Parser(prog="shoal evolve school", epilog=EXAMPLES,
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
    run.add_argument("-g", "--generations", type=positive_int, metavar="N",
                     help=f"stop after N generations in all (default {DEFAULT_GENERATIONS}; raise it on --resume "
                          "to go on)")
    run.add_argument("--time-limit", type=positive_float, metavar="MINUTES",
                     help="start no generation that would end after MINUTES of run time in all")
    run.add_argument("--best", metavar="FILE.yaml", help="also write the best preset here")
    run.add_argument("--plot", metavar="FILE.png", help="plot fitness per generation (updated every generation)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary")
    data = p.add_argument_group("training set (*)")
    data.add_argument("--sample", type=parse_size, metavar="SIZE",
                      help="use slices of SIZE bytes (e.g. 64K) instead of whole files")
    data.add_argument("--slices", type=positive_int, metavar="N", help="slices per file, evenly spaced (1)")
    data.add_argument("--table-shift", type=table_shift, metavar="BITS",
                      help="evaluate tables BITS smaller, as if slices were 4 MiB files (default auto)")
    search = p.add_argument_group("search (*)")
    search.add_argument("--seed", type=positive_int, metavar="N", help="random seed, >= 1 (default 1)")
    search.add_argument("--popsize", type=positive_int, metavar="N",
                        help="candidates per generation (default pycma's 4 + 3 ln(genes))")
    search.add_argument("--sigma", type=positive_float, metavar="S",
                        help="initial step size; genes live in [0, 1] (default 0.07)")
    search.add_argument("--space", metavar="FILE.yaml", help="search space (default: the built-in space.yaml)")
    budget = p.add_argument_group("budgets (*)")
    budget.add_argument("--memory-budget", type=memory_budget, metavar="X",
                        help="factor of the base preset's model memory (1.0), or a size (e.g. 300M)")
    budget.add_argument("--time-budget", type=positive_float, metavar="X",
                        help="factor of the base preset's time per byte (default 1.0)")
    budget.add_argument("--penalty", type=non_negative, metavar="W",
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


def top_parser() -> Parser:
    p = Parser(prog="shoal evolve", description="Evolution shapes the school.",
               epilog="commands:\n  school   evolve a school preset with CMA-ES (shoal evolve school --help)\n"
                      "  check    compare an evolved preset with a level on held-back files\n"
                      "  merge    evolutionary merging of neural fish (shoal evolve merge --help)")
    p.add_argument("command", choices=COMMANDS, help="what to do")
    return p


def main(argv: list[str]) -> int:
    argv = list(argv)
    if argv[:1] == ["merge"]:
        from . import merge             # torch and pycma only once its line is good
        return merge.main(argv[1:])
    if argv[:1] == ["check"]:
        from . import check             # it loads the engine (NumPy, Numba), which --help needs not
        return check.main(argv[1:])
    if argv[:1] == ["school"]:
        return run_tool("shoal evolve school", _school, argv[1:])
    return run_tool("shoal evolve", _top, argv[:1])


def _top(argv: list[str]) -> int:
    top_parser().parse_args(argv)       # --help, or a clear error
    raise UsageError("give a command: " + ", ".join(COMMANDS))


def _school(argv: list[str]) -> int:
    args = school_parser().parse_args(argv)
    if args.workers is not None and args.workers < 0:
        raise UsageError("--workers must be 0 or more")
    from . import driver
    return driver.evolve_school(args)

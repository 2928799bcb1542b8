"""shoal probe: probe a fish's hidden units with linear classifiers.

One subcommand so far: sentiment (the sentiment neuron).  This module parses
the line; sentiment.py does the work, imported only once the line is good."""
from __future__ import annotations

import argparse
import sys

from ..command import OK, Parser, UsageError, parse_size, positive_int, run_tool
from .data import DEFAULT_ROOT

PROG = "shoal probe"

EPILOG = """\
The experiment (docs/experiments/sentiment.md has a run and what it means):
  1. split the 7,853 distinct Amazon reviews (blitzer2007_amazon) by --seed,
     stratified by domain and label: --test-frac held out of everything;
  2. train a byte-level transformer on the other reviews' text (cached in
     --out DIR: a rerun reuses it, Ctrl-C then a rerun resumes);
  3. read its units (the final-norm residual stream and every MLP layer's
     units) after each text byte, pooled two ways: the mean over the text,
     and the value after its last byte;
  4. fit an L1 logistic regression on all units (C picked on a validation
     tenth of the fitting data, or of 10,000 rows of it) and find the single unit whose best threshold
     separates the Amazon training reviews best; a bag-of-bytes (unigram +
     bigram counts) regression is the baseline;
  5. test on the held-out reviews, SST-2 dev (fit on SST-2 train), MR
     (rt_polarity, 10-fold cross-validation) and the three Kotzias sites
     (10-fold each); and, with nothing fit on them, every set from the
     Amazon fit alone (transfer).  MR and SST-2 share sentences: neither is
     ever fit on when testing the other.

  shoal probe sentiment --out probe-sentiment --json sentiment.json --plot sentiment.png

Exit status: 0 ok, 1 error, 130 interrupted (rerun the same command to resume)."""


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def build_parser() -> Parser:
    ap = Parser(prog=PROG, description="Probe a fish's hidden units with linear classifiers.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sp = sub.add_parser("sentiment", help="the sentiment neuron (Radford et al. 2017)", epilog=EPILOG,
                        description="Train a byte LM on Amazon reviews, probe its units for sentiment, "
                                    "find the single best unit.",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    io = sp.add_argument_group("data and output")
    io.add_argument("--data", default=str(DEFAULT_ROOT), metavar="DIR",
                    help="the labelled/ folder (default: %(default)s)")
    io.add_argument("--out", default="probe-sentiment", metavar="DIR",
                    help="working folder: the trained LM (lm.pt) and cached features (default: %(default)s)")
    io.add_argument("--json", metavar="FILE", help="write the results as JSON ('-': stdout, no table)")
    io.add_argument("--plot", metavar="FILE.png", help="histograms of the single unit, positive vs negative")
    io.add_argument("--test-frac", metavar="F", type=fraction, default=0.2, help="Amazon reviews held out (default: 0.2)")
    io.add_argument("--limit", type=positive_int, metavar="N",
                    help="at most N texts of each set (a seeded, label-balanced sample): quick runs only")
    io.add_argument("--folds", type=positive_int, default=10, metavar="K",
                    help="cross-validation folds for MR and Kotzias (default: 10)")
    io.add_argument("--max-text-bytes", type=parse_size, default=4096, metavar="N",
                    help="read the first N bytes of each text (default: 4096)")
    io.add_argument("--mlp-units", choices=("all", "last"), default="all",
                    help="the MLP units read beside the final norm's: every block's, or the last block's "
                         "(default: all)")
    io.add_argument("--generate", type=int, default=0, metavar="N",
                    help="also sample N bytes with the single unit clamped high and low (default: 0, off)")
    m = sp.add_argument_group("language model (its shape)")
    m.add_argument("--layers", metavar="N", type=positive_int, default=3, help="transformer blocks (default: 3)")
    m.add_argument("--width", metavar="N", type=positive_int, default=192, help="n_embd (default: 192)")
    m.add_argument("--heads", metavar="N", type=positive_int, default=4, help="attention heads (default: 4)")
    m.add_argument("--segment", metavar="N", type=positive_int, default=128, help="segment length in bytes (default: 128)")
    m.add_argument("--memory", metavar="N", type=int, default=128, help="XL memory in positions (default: 128)")
    m.add_argument("--mlp-ratio", metavar="N", type=positive_int, default=4, help="MLP width / n_embd (default: 4)")
    t = sp.add_argument_group("language model (its training)")
    t.add_argument("--steps", metavar="N", type=positive_int, default=4500, help="optimiser steps (default: 4500)")
    t.add_argument("--batch", metavar="N", type=positive_int, default=16, help="samples per step (default: 16)")
    t.add_argument("--segments", metavar="N", type=positive_int, default=2, help="segments per sample (default: 2)")
    t.add_argument("--lr", metavar="X", type=float, default=2e-3, help="peak learning rate (default: 2e-3)")
    t.add_argument("--min-lr", metavar="X", type=float, default=1e-4, help="final learning rate (default: 1e-4)")
    t.add_argument("--warmup", metavar="N", type=int, default=200, help="warm-up steps (default: 200)")
    t.add_argument("--weight-decay", metavar="X", type=float, default=0.1, help="AdamW decay, matrices (default: 0.1)")
    t.add_argument("--clip", metavar="X", type=float, default=1.0, help="gradient norm clip (default: 1.0)")
    t.add_argument("--checkpoint-every", metavar="N", type=positive_int, default=250, help="steps (default: 250)")
    t.add_argument("--eval-bytes", metavar="N", type=parse_size, default=65536, help="held-out bytes scored (default: 64K)")
    r = sp.add_argument_group("running")
    r.add_argument("--seed", metavar="N", type=int, default=1, help="the split, the LM, the probes' validation (default: 1)")
    r.add_argument("--threads", metavar="N", type=positive_int, default=1, help="torch CPU threads (default: 1)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar or log lines")
    return ap


def parse_args(argv: list[str]):
    args = build_parser().parse_args(argv)
    if args.command is None:
        raise UsageError("give a COMMAND: sentiment")
    if args.memory < 0:
        raise UsageError("--memory must be 0 or more")
    if args.width % args.heads or (args.width // args.heads) % 2:
        raise UsageError(f"--width {args.width} must be --heads {args.heads} times an even head size")
    if args.folds < 2:
        raise UsageError("--folds must be 2 or more")
    if args.generate < 0:
        raise UsageError("--generate must be 0 or more")
    return args


def work(argv: list[str]) -> int:
    args = parse_args(argv)
    from . import sentiment               # torch and scikit-learn: only once the line is good
    sentiment.run(args, argv)
    return OK


def main(argv: list[str] | None = None) -> int:
    return run_tool(PROG, work, sys.argv[1:] if argv is None else argv, extras={"torch": "experiments"})

"""shoal train's command line, apart from the training (train.py) so that
--help and a usage error answer at once: torch is imported only once there
is work to do (it takes seconds to load)."""
import argparse
import sys

from ..command import Parser, run_tool
from .shape import SHAPE

PROG = "shoal train"


def parse_args(argv):
    p = Parser(prog=PROG, description="Train a neural fish (a small byte-level transformer) on FILES and "
               "export it as an integer fish.", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE", help="training data (use ../shared/corpus/train/ only)")
    p.add_argument("--out", default="neural-fish", metavar="DIR", help="checkpoint and export directory")
    p.add_argument("--resume", action="store_true", help="continue from DIR/ckpt.pt")
    p.add_argument("--init", metavar="BASE", help="fine-tune: start from the float weights and shape of BASE (a "
                   "shoal train directory, its ckpt.pt, or its fish.safetensors with ckpt.pt beside it)")
    m = p.add_argument_group("model (the checkpoint's shape with --resume, BASE's with --init)")
    for flag, _, default, help_text in SHAPE:       # SUPPRESS: absent unless given, so --init can tell
        m.add_argument(flag, type=int, default=argparse.SUPPRESS, help=f"{help_text} (default: {default})")
    o = p.add_argument_group("optimisation")
    o.add_argument("--steps", type=int, default=20000, help="optimiser steps")
    o.add_argument("--batch", type=int, default=32, help="samples per step")
    o.add_argument("--segments", type=int, default=4, help="consecutive segments per sample")
    o.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    o.add_argument("--min-lr", type=float, default=1e-4, help="learning rate at the end of the cosine")
    o.add_argument("--warmup", type=int, default=200, help="linear warm-up steps")
    o.add_argument("--weight-decay", type=float, default=0.1, help="AdamW weight decay (matrices only)")
    o.add_argument("--clip", type=float, default=1.0, help="gradient norm clip")
    o.add_argument("--qat", type=float, default=0.2, help="fraction of the steps, at the end, with fake quantisation")
    e = p.add_argument_group("evaluation and running")
    e.add_argument("--holdout", type=float, default=0.01, help="fraction held out at the end of each file")
    e.add_argument("--eval-every", type=int, default=500, help="steps between held-out evaluations")
    e.add_argument("--eval-bytes", type=int, default=65536, help="held-out bytes scored")
    e.add_argument("--eval-lanes", type=int, default=32, help="streams the held-out bytes are read as")
    e.add_argument("--checkpoint-every", type=int, default=1000, help="steps between checkpoints")
    e.add_argument("--seed", type=int, default=1, help="seed of the initialisation and the data sampling")
    e.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (cuda when available)")
    e.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    e.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")
    return p.parse_args(argv)


def main(argv=None) -> int:
    return run_tool(PROG, _work, sys.argv[1:] if argv is None else argv)


def _work(argv) -> int:
    args = parse_args(argv)
    from .train import run                      # torch: the `train` extra (run_tool says if it is missing)
    return run(args)

"""shoal learn: a school learned from a user's samples, as one school file.

    shoal learn SAMPLES... -o NAME.school [--level 6] [--time 600]
    shoal -D NAME.school FILE...          # compress with it (and -d -D to decompress)

shoal's levels are generalists, built on English text and code.  A user
with one kind of data (JSON records, logs, CSV, man pages, source of one
language) can have shoal learn it, as `zstd --train` learns a dictionary,
but a whole school rather than a dictionary:

  samples.py   read the samples, cut large ones into pieces, and split the
               pieces into learn (what a primer is chosen from), tune (what
               every choice is judged on) and check (held back: the gain
               reported)
  primers.py   primer candidates from the learn pieces: the most recent
               bytes, or segments chosen as zstd's COVER builder chooses
               them, in budgets of 32-128 KiB
  judge.py     a candidate's worth: the coded size of the tune pieces, each
               its own block; and the school's speed
  fish.py      swaps of the base level's context fish for others from a pool,
               one for one, where the tune pieces gain
  tune.py      CMA-ES (pycma, the `evolve` extra) over the base level's
               learning rates and settings, with the chosen primer
  run.py       the command: the steps above within --time, progress, the
               summary table, and the school file (shoal/school_file.py)

docs/learn.md says how to use it and what it measured.
"""


def main(argv: list[str]) -> int:
    """`shoal learn ARGS` (called by shoal.cli.run_tool)."""
    from .run import main as run_main
    return run_main(argv)

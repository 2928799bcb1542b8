"""The options of `shoal evolve` that need no engine: the argparse types of
its values, and the options that decide a run's result with their defaults.

cli.py builds the parsers from them, driver.py and merge.py read them; none
of the three imports another's module for them, so they form no circle.
"""
from __future__ import annotations

import argparse

from ..command import parse_size

# Options that decide the result: fixed for a run's life (compared on --resume).
RESULT_OPTIONS = ("sample", "slices", "table_shift", "seed", "popsize", "sigma", "memory_budget",
                  "time_budget", "penalty")
DEFAULTS = {"slices": 1, "table_shift": "auto", "seed": 1, "sigma": 0.07, "memory_budget": "1.0",
            "time_budget": 1.0, "penalty": 3.0}
DEFAULT_GENERATIONS = 50


def resolved(args) -> dict:
    """The result-deciding options, with defaults filled in."""
    return {k: DEFAULTS.get(k) if getattr(args, k) is None else getattr(args, k) for k in RESULT_OPTIONS}


def non_negative(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def memory_budget(text):
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


def table_shift(text):
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a number of bits, got {text!r}") from None
    if not 0 <= value <= 16:
        raise argparse.ArgumentTypeError("must be 0..16")
    return value

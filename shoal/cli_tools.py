"""What the tools' command lines (shoal score, shoal bench) share.

- ToolParser: argparse that turns a usage error into exit status 1 (argparse's
  own 2 means "warning" for shoal) and --help into 0;
- run_tool(prog, work, argv): runs a tool's body and turns every expected
  failure (ShoalError, an OSError, a missing optional extra, Ctrl-C) into one
  line on stderr and an exit status, never a traceback;
- progress(): a rich progress bar on stderr when it is a terminal;
- size_argument: sizes written as 65536, 64K, 16M, 1G.
"""
from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager

from .cli_io import parse_size
from .errors import ShoalError

OK, ERROR, INTERRUPTED = 0, 1, 130


class UsageError(Exception):
    """The command line is wrong; nothing was done."""


class ToolParser(argparse.ArgumentParser):
    def __init__(self, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(**kwargs)

    def error(self, message):
        raise UsageError(message)


def size_argument(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def say(prog: str, message: str) -> None:
    print(f"{prog}: {message}", file=sys.stderr)


def run_tool(prog: str, work, argv) -> int:
    """work(argv) -> exit status, with clean one-line errors."""
    try:
        return work(argv)
    except UsageError as error:
        say(prog, f"{error}\nTry '{prog} --help' for more information.")
    except SystemExit as done:                     # --help
        return done.code if isinstance(done.code, int) else OK
    except ShoalError as error:
        say(prog, str(error))
    except ModuleNotFoundError as missing:       # an optional extra that is not installed
        say(prog, f"this needs {missing.name}, which is not installed: pip install 'shoal[hf]' "
                  "(torch, transformers: hf: models) or 'shoal[plot]' (matplotlib: --plot)")
    except OSError as error:
        say(prog, f"{error.filename + ': ' if error.filename else ''}{error.strerror or error}")
    except KeyboardInterrupt:
        say(prog, "interrupted")
        return INTERRUPTED
    return ERROR


@contextmanager
def progress(total: int, enabled: bool = True):
    """advance(n, label) for a bar over `total` bytes; a no-op off a terminal or when disabled."""
    if not enabled or not sys.stderr.isatty():
        yield lambda n, label=None: None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=total)

        def advance(n, label=None):
            bar.update(task, advance=n, **({"description": label} if label else {}))
        yield advance

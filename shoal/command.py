"""What every shoal command line shares: the shoal command itself (cli.py,
cli_args.py) and each tool (shoal score, bench, train, learn, evolve,
scaling, probe, --demo; the scripts in bench/).  One of each:

- exit statuses: OK 0, ERROR 1, WARNING 2 (shoal's "a file was skipped",
  as xz's), 128 + the signal's number when one stopped the work (130 for
  Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).  A usage error is ERROR, never
  argparse's 2, which would read as a warning;
- UsageError: the command line is wrong and nothing was done;
- Parser: argparse with those conventions (a usage error raises UsageError,
  descriptions and epilogs keep their line breaks);
- parse_size: sizes as xz writes them (65536, 64K, 64KiB, 16M, 1G), also an
  argparse type as it is; positive_int and positive_float likewise;
- run_tool(prog, work, argv): a tool's body, with every expected failure
  turned into one line on stderr and an exit status, never a traceback;
  SIGTERM and SIGHUP stop a tool as Ctrl-C does, so its clean-up runs
  (temporary files removed, a checkpoint kept);
- progress(total): a rich progress bar on stderr when it is a terminal.

The shoal command imports this before it handles signals, so it loads only
what Python has loaded at start-up, or nearly: argparse is imported when
Parser or SizeError is first asked for (PEP 562, as `import shoal` does for
its names), which parsing a command line does anyway; rich inside progress().
Writing a file atomically is shoal/atomic.py's (any layer may need it).
"""
from __future__ import annotations

import re
import signal
import sys
import threading
from contextlib import contextmanager

from .errors import ShoalError

OK, ERROR, WARNING = 0, 1, 2
INTERRUPTED = 128 + signal.SIGINT            # 130: what a shell reports for Ctrl-C


class UsageError(Exception):
    """The command line is wrong; nothing was done.  prog: the (sub)command
    whose --help to point to, when not the one the runner was given."""

    def __init__(self, message: str, prog: str | None = None):
        super().__init__(message)
        self.prog = prog


# -- values -------------------------------------------------------------------

# xz's suffixes: KiB, with Ki, k, K, kB and KB as synonyms (and so on for M, G, T).
_SIZE_PATTERN = re.compile(r"^\s*(\d+)\s*(?:([kmgt])(i?)(b?))?\s*$", re.IGNORECASE)


def parse_size(text: str, *, zero: bool = False) -> int:
    """'65536', '64K', '64KiB', '1M', '2GiB' -> bytes (suffixes are powers of
    1024, as xz's).  0 is refused unless zero is true."""
    match = _SIZE_PATTERN.match(text)
    if not match:
        raise _size_error(f"invalid size {text!r} (use e.g. 65536, 64K, 64KiB, 16M, 1G)")
    size = int(match.group(1)) * 1024 ** " kmgt".index((match.group(2) or " ").lower())
    if size <= 0 and not zero:
        raise _size_error(f"size must be positive, got {text!r}")
    return size


def positive_int(text: str) -> int:
    import argparse
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def positive_float(text: str) -> float:
    import argparse
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


# -- running a tool -----------------------------------------------------------

def say(prog: str, message: str) -> None:
    print(f"{prog}: {message}", file=sys.stderr)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C would be: signum says which."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def interrupted_status(stop: KeyboardInterrupt) -> int:
    """The exit status for a stop: 128 + its signal (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + getattr(stop, "signum", signal.SIGINT)


@contextmanager
def termination_as_interrupt():
    """SIGTERM and SIGHUP (a batch system ending the job, a closed terminal)
    stop the work like Ctrl-C: as a KeyboardInterrupt (Terminated), so the
    same clean-up runs.  Only the main thread may set handlers; elsewhere
    this does nothing."""
    def interrupt(signum, frame):
        raise Terminated(signum)
    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    if threading.current_thread() is not threading.main_thread():
        wanted = []
    previous = {}
    for signum in wanted:
        handler = signal.getsignal(signum)
        if handler != signal.SIG_IGN:            # nohup, a background job: stays ignored
            previous[signum] = signal.signal(signum, interrupt)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# The optional extra (pyproject.toml) that brings each module a tool may miss.
EXTRAS = {"torch": "train", "transformers": "hf", "cma": "evolve", "ray": "evolve", "matplotlib": "plot",
          "scipy": "experiments", "sklearn": "experiments", "numcodecs": "zarr", "zarr": "zarr"}


def missing_extra(name: str | None, extras: dict | None = None) -> str:
    """What to say when module `name` is not installed."""
    top = (name or "").split(".")[0]
    extra = dict(EXTRAS, **(extras or {})).get(top)
    where = f"pip install 'shoal[{extra}]'" if extra else f"pip install {top}"
    return f"this needs {name}, which is not installed: {where}"


def run_tool(prog: str, work, argv, *, extras: dict | None = None) -> int:
    """work(argv) -> exit status, with every expected failure one line on stderr.

    UsageError: the message and a hint to --help, status 1; ShoalError or
    an OSError: the message (an OSError with its file name), 1; a missing
    optional extra: which one to install (extras: this tool's own choices,
    e.g. {"torch": "hf"}), 1; Ctrl-C, SIGTERM, SIGHUP: "interrupted", 128 +
    the signal.  SystemExit (--help) passes its status through.  Any other
    exception, a missing shoal module included, is a bug and keeps its
    traceback."""
    try:
        with termination_as_interrupt():
            return work(list(argv))
    except UsageError as error:
        where = error.prog or prog
        say(where, f"{error}\nTry '{where} --help' for more information.")
    except SystemExit as done:                   # --help, or sys.exit(message)
        if done.code is None or isinstance(done.code, int):
            return done.code or OK
        print(done.code, file=sys.stderr)
    except ShoalError as error:
        say(prog, str(error))
    except ModuleNotFoundError as missing:
        if (missing.name or "shoal").split(".")[0] == "shoal":
            raise
        say(prog, missing_extra(missing.name, extras))
    except OSError as error:
        say(prog, f"{error.filename + ': ' if error.filename else ''}{error.strerror or error}")
    except KeyboardInterrupt as stop:
        say(prog, "interrupted")
        return interrupted_status(stop)
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


# -- argparse's classes, made when first asked for ------------------------------

def _argparse_classes() -> dict:
    import argparse

    class Parser(argparse.ArgumentParser):
        """argparse.ArgumentParser with shoal's conventions: a usage error raises
        UsageError (the runner says it in one line and exits 1), and text is
        printed as written unless another formatter_class is given.  Its
        subparsers are Parsers too."""

        def __init__(self, **kwargs):
            kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
            super().__init__(**kwargs)

        def error(self, message):
            raise UsageError(message, self.prog)

    class SizeError(ValueError, argparse.ArgumentTypeError):
        """A size that cannot be read: a ValueError to callers, and to argparse a
        message of its own (so parse_size is an argparse type as it is)."""

    for made in (Parser, SizeError):
        made.__qualname__ = made.__name__
    return {"Parser": Parser, "SizeError": SizeError}


def __getattr__(name: str):
    """Parser and SizeError (PEP 562): argparse is imported at the first use, once."""
    if name in ("Parser", "SizeError"):
        if name not in globals():
            globals().update(_argparse_classes())
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _size_error(message: str) -> ValueError:
    return __getattr__("SizeError")(message)

"""shoal command-line tool: compress and decompress files the way xz and zstd do.

    shoal FILE...                 compress each FILE to FILE.shoal, removing FILE
    shoal -d FILE.shoal...        decompress to FILE, removing FILE.shoal
    shoal -t FILE.shoal...        check archives without writing anything
    shoal -l FILE.shoal...        list streams, blocks, sizes and ratios
    shoal compress|decompress|test|list [OPTION...] [FILE...]   same, spelled out
    shoal -r DIR...               every file in DIR (-dr: every FILE.shoal)
    cat data | shoal -9 > data.shoal ; shoal -dc data.shoal | less

A mode word is a mode only as the first argument (shoal ./test, shoal -- test
compress a file named test).

No FILE, or FILE "-", means standard input to standard output.  Outputs are
written to a temporary file (on Linux one without a name) and given their
name only when complete, so an error, Ctrl-C or kill -9 never leaves a
partial file.  Exit status: 0 ok, 1 error, 2 warning (a file skipped); a
signal ends shoal by that signal, as it ends xz (the shell says 130 for
Ctrl-C, 143 for SIGTERM).

Here: the driver (every input in turn, in a worker thread that Ctrl-C can
interrupt; the worst status wins), the tools' dispatch and main().  Which
files are read and written, and how, is cli_paths.py; one input's work is
cli_transcode.py; the options are cli_args.py; signals and outputs'
plumbing cli_io.py and atomic.py.

`import shoal.cli` loads nothing heavy: main() sets up its signal handling
first, then loads the engine (NumPy, Numba), so Ctrl-C is answered at any
moment without a traceback.
"""
from __future__ import annotations

import importlib
import os
import sys
import threading
from collections import Counter

from . import cli_compile
from .atomic import remove_temporaries
from .cli_io import Signals, describe_os_error
from .cli_paths import STDIN_NAME, Problem, inputs
from .cli_transcode import check_archive, compression_settings, list_archive, list_row, note, report, transcode
from .command import ERROR, INTERRUPTED, OK, WARNING, UsageError, missing_extra, say
from .errors import ShoalError

# api and school load NumPy and Numba: main() imports them once signals are
# handled, and the functions that use them import them where they do.


def _workers(options):
    """What codes the blocks: -T's thread count, or a Ray runner for --ray /
    --address (cluster.py, the one module that imports Ray; it starts Ray at
    the first block it is given, so an input of one block starts nothing).
    Local Ray gets -T's workers (default: one per core); a cluster's window
    of blocks in flight is -T, or its CPUs."""
    if not options.ray or options.mode not in ("compress", "decompress", "test"):
        return options.threads
    try:
        from . import cluster
    except ModuleNotFoundError as missing:
        if not (missing.name or "").startswith("ray"):
            raise
        raise ShoalError("--ray and --address need Ray, an optional extra: pip install 'shoal[ray]'") from None
    if options.address is not None:
        return cluster.RayRunner(address=options.address, window=options.threads_given or None)
    return cluster.RayRunner(num_cpus=options.threads_given or None)


# -- driver -------------------------------------------------------------------

def _terminal_refusal(options) -> str | None:
    """Compressed data is never written to, or read from, a terminal (like xz);
    nor is a terminal read when the first word, taken as a mode, names a file."""
    from .cli_args import word_hint
    word = options.command_word
    if word and options.no_operands and sys.stdin.isatty() and word_hint(word):
        return (f"'{word}' as the first word is the mode --{options.mode}, on standard input (a terminal)"
                f"{word_hint(word)}")
    if options.force:
        return None
    if options.mode == "compress" and options.output is None and sys.stdout.isatty() \
            and (options.stdout or "-" in options.files):
        return "compressed data not written to a terminal (use -f to force)"
    if options.mode in ("decompress", "test") and "-" in options.files and sys.stdin.isatty():
        return "compressed data not read from a terminal (use -f to force)"
    return None


def _in_worker(work, *args):
    """work(*args) on a worker thread, waited for in a way Ctrl-C can interrupt.

    While a block is coded in compiled code the main thread would not run
    Python's signal handlers until the block ends (seconds to minutes).  So
    the main thread waits in short joins: the kernel may hand the signal to
    the worker thread, and then an endless join() would never be
    interrupted, but between two short ones the main thread runs the
    handler.  The worker's own exceptions, Problem and KeyboardInterrupt
    included, are re-raised here."""
    outcome = {}

    def target():
        try:
            outcome["value"] = work(*args)
        except BaseException as error:       # handed to the main thread below
            outcome["error"] = error

    worker = threading.Thread(target=target, name="shoal-cli", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.05)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _worse(a: int, b: int) -> int:
    # Like xz, an error outranks a warning even though 1 < 2.
    return max((a, b), key=(OK, WARNING, ERROR).index)


def _first_use_notice(options):
    """On a terminal (and without -q), what says that a level's model
    compiles at its first use on this machine (cli_compile)."""
    enabled = options.mode != "list" and not options.quiet and sys.stderr.isatty()
    if options.mode != "compress":
        label, level = "this archive", None     # its level is known only once its header is read
    elif options.preset:
        label, level = "the preset", None
    else:
        label, level = f"level {options.level}", options.level
    if options.neural:
        label, level = f"{label} with the neural fish", None
    return cli_compile.watching(label, level, enabled)


def run(options, signals: Signals | None = None) -> int:
    """Every input of the command line; KeyboardInterrupt (a signal) stops it,
    removes what it was writing and returns 128 + the signal."""
    worst, totals, current = OK, Counter(), STDIN_NAME
    settings = None
    options.workers = options.threads
    try:
        if options.mode == "precompile":
            return _in_worker(cli_compile.precompile, options, lambda text: note(options, f"shoal: {text}"))
        if options.school:                       # read (and checked) once, for every file
            from . import school_file
            options.school = school_file.read(options.school)
        options.workers = _workers(options)
        if options.mode == "compress":
            settings = compression_settings(options)
        with _first_use_notice(options):
            for name in inputs(options):
                if isinstance(name, Problem):            # skipped by -r's walk
                    report(options, f"{name.name}: {name.message}", name.code)
                    worst = _worse(worst, name.code)
                    continue
                current = STDIN_NAME if name == "-" else name
                try:
                    if options.mode == "list":
                        list_archive(name, options, totals)
                    elif options.mode == "test":
                        _in_worker(check_archive, name, options)
                    else:
                        _in_worker(transcode, name, options, settings)
                except Problem as problem:
                    report(options, f"{problem.name}: {problem.message}", problem.code)
                    worst = _worse(worst, problem.code)
        if totals["files"] > 1:
            print(list_row(totals["streams"], totals["blocks"], totals["packed"], totals["original"],
                            f"{totals['files']} files (total)"))
    except (ShoalError, ValueError) as error:    # a bad --preset or setting: nothing can be done
        report(options, str(error))
        return ERROR
    except OSError as error:                     # the same, reported bare
        report(options, f"{error.filename or options.preset}: {describe_os_error(error)}")
        return ERROR
    except KeyboardInterrupt:
        remove_temporaries()                     # the worker may still be writing one
        report(options, f"{current}: interrupted")
        return signals.code if signals is not None else INTERRUPTED
    finally:
        if not isinstance(options.workers, int):
            options.workers.close()              # a local Ray instance this run started
    return worst


def start_tool(name: str, argv: list[str], signals: Signals | None = None) -> int:
    """shoal score|bench|train|evolve ...: hand the rest of the line to the tool.

    The tool is loaded (torch, Ray, ...) while a signal still ends shoal at
    once; then the handlers from before are back, and the tool answers
    signals itself (command.run_tool: it may keep a checkpoint)."""
    try:
        tool = importlib.import_module(f"shoal.{name}")
    except ModuleNotFoundError as missing:
        if missing.name and missing.name.startswith("shoal"):
            print(f"shoal: {name}: not available in this version", file=sys.stderr)
        else:
            print(f"shoal: {name}: {missing_extra(missing.name)}", file=sys.stderr)
        return ERROR
    if signals is not None:
        signals.restore()
    return tool.main(argv)


def _main(argv: list[str], signals: Signals, in_process: bool) -> int:
    from .cli_args import TOOLS, parse_args
    if argv and argv[0] == "--demo":             # the sample shipped with shoal (python -m shoal.demo)
        from . import demo
        return demo.main(argv[1:])
    if argv and argv[0] in TOOLS:
        return start_tool(argv[0], argv[1:], None if in_process else signals)
    try:
        options = parse_args(argv)               # loads the engine (the level's default)
    except UsageError as error:
        say("shoal", f"{error}\nTry 'shoal --help' for more information.")
        return ERROR
    except SystemExit as done:                   # --help / --version
        return done.code or OK
    refusal = _terminal_refusal(options)
    if refusal:
        print(f"shoal: {refusal}", file=sys.stderr)
        return ERROR
    importlib.import_module(".files", __package__)   # api and files loaded now, while a signal needs no clean-up
    try:
        signals.working()
        try:
            return run(options, signals)
        finally:
            signals.at_once()
    except BrokenPipeError:
        # The reader went away (shoal -dc x | head): stop quietly, and point
        # stdout at /dev/null so Python's own final flush does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ERROR


def main(argv: list[str] | None = None) -> int:
    """The shoal command (argv None: sys.argv, as a process); returns the exit status.

    As a process, a signal ends shoal by that signal once what it was
    writing is removed (see cli_io.Signals); called from Python with argv,
    it returns 128 + the signal (130 for Ctrl-C) instead."""
    in_process = argv is not None
    signals = Signals(at_once=not in_process)
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        code = _main(argv, signals, in_process)
    except KeyboardInterrupt:                    # a signal between two steps, or the tool's own
        code = signals.code
    finally:
        if in_process:
            signals.restore()
    if signals.received is not None and not in_process:
        # Leave now, by the signal: an abandoned worker (or the API's block
        # threads, which Python joins at exit) may be mid-block.  Temporary
        # outputs are already gone.
        signals.end()
    return code


if __name__ == "__main__":
    sys.exit(main())

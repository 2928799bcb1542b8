"""shoal command-line tool: compress and decompress files the way xz and zstd do.

    shoal FILE...                 compress each FILE to FILE.shoal, removing FILE
    shoal -d FILE.shoal...        decompress to FILE, removing FILE.shoal
    shoal -t FILE.shoal...        check archives without writing anything
    shoal -l FILE.shoal...        list streams, blocks, sizes and ratios
    shoal compress|decompress|test|list [OPTION...] [FILE...]   same, spelled out
    cat data | shoal -9 > data.shoal ; shoal -dc data.shoal | less

No FILE, or FILE "-", means standard input to standard output.  Outputs are
written to a temporary file and renamed into place only when complete, so an
error or Ctrl-C never leaves a partial file.  Exit status: 0 ok, 1 error,
2 warning (a file skipped), 130 interrupted.
"""
from __future__ import annotations

import importlib
import os
import stat
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager

from . import api, school
from .cli_args import SUFFIX, TOOLS, UsageError, parse_args
from .cli_io import (AtomicOutput, HashingReader, HashingSink, SpooledStdoutOutput, StdoutOutput,
                     describe_os_error, remove_temporaries, termination_as_interrupt)
from .errors import ShoalError

OK, ERROR, WARNING, INTERRUPTED = 0, 1, 2, 130
PROGRESS_MIN_BYTES = 4 << 20          # smaller inputs finish before a bar is worth drawing
STDIN_NAME = "(stdin)"


class Problem(Exception):
    """One file's failure, already worded for the user; code is ERROR or WARNING."""

    def __init__(self, name: str, message: str, code: int = ERROR):
        super().__init__(message)
        self.name, self.message, self.code = name, message, code


# -- messages -----------------------------------------------------------------

def _say(options, message: str, code: int = ERROR) -> None:
    # -q hides warnings, -qq errors too; the exit status is unaffected (like xz).
    if options.quiet >= (2 if code == ERROR else 1):
        return
    print(f"shoal: {message}", file=sys.stderr)


def _note(options, text: str) -> None:
    if not options.quiet:
        print(text, file=sys.stderr)


def _summary(name: str, original: int, packed: int, seconds: float, *, done: str = "") -> str:
    ratio = packed / original if original else 0.0
    speed = original / seconds / 1e6 if seconds > 0 else float("inf")
    return (f"{name}: {original:,} -> {packed:,} bytes, ratio {ratio:.3f}, "
            f"{8 * ratio:.3f} bits/byte, {speed:.2f} MB/s{done}")


@contextmanager
def _progress(options, label: str, total: int | None):
    """A progress callback: a rich bar on a terminal for big inputs, else nothing."""
    if options.quiet or total is None or total < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TransferSpeedColumn)
    # Progress moves once per block; the spinner and clock show life in between.
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


# -- one file -----------------------------------------------------------------

@contextmanager
def _open_input(name: str, options, *, needs_regular: bool):
    """Yields (file, stat or None); skips what xz skips, with xz's wording."""
    if name == "-":
        yield sys.stdin.buffer, None
        return
    try:
        info = os.lstat(name)
        if stat.S_ISLNK(info.st_mode):
            if needs_regular and not options.force:
                raise Problem(name, "is a symbolic link, skipping", WARNING)
            info = os.stat(name)
        if stat.S_ISDIR(info.st_mode):
            raise Problem(name, "is a directory, skipping", WARNING)
        if needs_regular and not stat.S_ISREG(info.st_mode):
            raise Problem(name, "is not a regular file, skipping", WARNING)
        source = open(name, "rb")
    except OSError as error:
        raise Problem(name, describe_os_error(error)) from None
    with source:
        yield source, info


def _output_path(name: str, options) -> str | None:
    """Where the output goes: a path, or None for standard output."""
    if options.stdout or (name == "-" and options.output is None):
        return None
    if options.output is not None:
        return options.output
    if options.mode == "compress":
        if name.endswith(SUFFIX):
            raise Problem(name, f"already has `{SUFFIX}' suffix, skipping", WARNING)
        return name + SUFFIX
    if not name.endswith(SUFFIX) or os.path.basename(name) == SUFFIX:
        raise Problem(name, "filename has an unknown suffix, skipping", WARNING)
    return name[: -len(SUFFIX)]


def _check_output_free(path: str, name: str, options) -> None:
    if not os.path.lexists(path):
        return
    if not options.force:
        raise Problem(path, "file exists; use -f to overwrite")
    if name != "-" and os.path.exists(path) and os.path.samefile(name, path):
        raise Problem(path, "input and output are the same file")
    if os.path.isdir(path):
        raise Problem(path, "is a directory, cannot overwrite")


def _compression_settings(options) -> dict:
    preset = school.load(options.preset) if options.preset else None
    if options.neural:
        preset = school.with_neural(preset or options.level)
    return dict(level=options.level, preset=preset, threads=options.threads, block_size=options.block_size)


def _as_problem(error: Exception, name: str, output=None) -> Problem:
    """Word a failure for the user, naming the file it happened to.

    The API reports I/O trouble as a ShoalError caused by the OSError; the
    OSError says more (and whether it was the output that failed)."""
    cause = error.__cause__ if isinstance(error.__cause__, OSError) else error
    if isinstance(cause, BrokenPipeError) and isinstance(output, StdoutOutput):
        raise cause                              # the reader of stdout left: stop everything
    if not isinstance(cause, OSError):
        return Problem(name, str(error))
    if output is not None and output.write_error is cause:
        name = output.path
    return Problem(name, describe_os_error(cause))


def _verify(output, reader: HashingReader, threads: int) -> None:
    """Decode what was just written and compare it with what was read."""
    sink = HashingSink()
    try:
        with output.open_written() as written:
            api.decompress_stream(written, sink, threads=threads)
    except ShoalError as error:
        raise ShoalError(f"verification failed: {error}") from None
    if (sink.count, sink.digest()) != (reader.count, reader.digest()):
        raise ShoalError("verification failed: the archive does not decode to the input")


def transcode(name: str, options, settings: dict) -> int:
    """Compress or decompress one input (name "-" = stdin) as the options say."""
    compressing, verify = options.mode == "compress", options.mode == "compress" and options.verify
    display = STDIN_NAME if name == "-" else name
    # Only an output named after the input replaces it, so only then must the
    # input be a regular file (xz's rule) and is it removed at the end.
    derived = not (options.stdout or options.output is not None or name == "-")
    remove_input = derived and not options.keep
    with _open_input(name, options, needs_regular=derived) as (source, info):
        path = _output_path(name, options)
        if path is not None:
            _check_output_free(path, name, options)
        reader = HashingReader(source) if verify else source
        try:
            if path is not None:
                output = AtomicOutput(path, overwrite=options.force, like=info)
            else:
                output = (SpooledStdoutOutput if verify else StdoutOutput)(sys.stdout.buffer)
        except OSError as error:                 # e.g. no permission to write in that directory
            raise Problem(path or "(temporary file)", describe_os_error(error)) from None
        start = time.perf_counter()
        try:
            with output, _progress(options, display, info and info.st_size) as tick:
                if compressing:
                    size_in, size_out = api.compress_stream(reader, output, progress=tick, **settings)
                else:
                    size_in, size_out = api.decompress_stream(reader, output, threads=options.threads,
                                                              progress=tick)
                output.finish()
                if verify:
                    _verify(output, reader, options.threads)
                output.commit()
        except (ShoalError, OSError) as error:
            raise _as_problem(error, display, output) from None
        seconds = time.perf_counter() - start
    if remove_input:
        try:
            os.unlink(name)
        except OSError as error:
            raise Problem(name, f"cannot remove input: {describe_os_error(error)}", WARNING) from None
    if options.verbose:
        original, packed = (size_in, size_out) if compressing else (size_out, size_in)
        _note(options, _summary(display, original, packed, seconds, done=", verified" if verify else ""))
    return OK


def check_archive(name: str, options) -> int:
    display = STDIN_NAME if name == "-" else name
    with _open_input(name, options, needs_regular=False) as (source, info):
        sink = HashingSink()
        start = time.perf_counter()
        try:
            with _progress(options, display, info and info.st_size) as tick:
                size_in, size_out = api.decompress_stream(source, sink, threads=options.threads, progress=tick)
        except (ShoalError, OSError) as error:
            raise _as_problem(error, display) from None
    if options.verbose:
        _note(options, _summary(display, size_out, size_in, time.perf_counter() - start, done=", ok"))
    return OK


# -- list ---------------------------------------------------------------------

_LIST_HEADER = f"{'Strms':>5} {'Blocks':>7} {'Compressed':>14} {'Uncompressed':>14} {'Ratio':>7} {'bpb':>7}  Filename"


def _list_row(streams: int, blocks: int, packed: int, original: int, name: str) -> str:
    ratio = f"{packed / original:7.3f}" if original else f"{'---':>7}"
    bpb = f"{8 * packed / original:7.3f}" if original else f"{'---':>7}"
    return f"{streams:>5} {blocks:>7} {packed:>14,} {original:>14,} {ratio} {bpb}  {name}"


def list_archive(name: str, options, totals: Counter) -> int:
    with _open_input(name, options, needs_regular=False) as (source, info):
        try:
            streams = api.list_archive(source)
        except (ShoalError, OSError) as error:
            raise _as_problem(error, name) from None
    blocks = sum(s["blocks"] for s in streams)
    original = sum(s["original_size"] for s in streams)
    if not totals["files"]:
        print(_LIST_HEADER)
    print(_list_row(len(streams), blocks, info.st_size, original, name))
    if options.verbose:
        for i, s in enumerate(streams, 1):
            preset = s.get("preset_name") or (s.get("preset") or {}).get("description") \
                or f"digest {s['preset_digest']}"
            print(f"      stream {i}: blocks: {s['blocks']} of up to {s['block_size']:,} bytes "
                  f"({s['stored_blocks']} stored, {s['binary_blocks']} by the school for binaries), "
                  f"{s['compressed_size']:,} -> "
                  f"{s['original_size']:,} bytes, preset {preset}")
    totals.update(files=1, streams=len(streams), blocks=blocks, packed=info.st_size, original=original)
    return OK


# -- driver -------------------------------------------------------------------

def _terminal_refusal(options) -> str | None:
    """Compressed data is never written to, or read from, a terminal (like xz)."""
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


def run(options) -> int:
    worst, totals, current = OK, Counter(), STDIN_NAME
    settings = None
    try:
        if options.mode == "compress":
            settings = _compression_settings(options)
        for name in options.files:
            current = STDIN_NAME if name == "-" else name
            try:
                if options.mode == "list":
                    list_archive(name, options, totals)
                elif options.mode == "test":
                    _in_worker(check_archive, name, options)
                else:
                    _in_worker(transcode, name, options, settings)
            except Problem as problem:
                _say(options, f"{problem.name}: {problem.message}", problem.code)
                worst = _worse(worst, problem.code)
    except ShoalError as error:                  # a bad --preset: nothing can be done
        _say(options, str(error))
        return ERROR
    except KeyboardInterrupt:
        remove_temporaries()                     # the worker may still be writing one
        _say(options, f"{current}: interrupted")
        return INTERRUPTED
    if totals["files"] > 1:
        print(_list_row(totals["streams"], totals["blocks"], totals["packed"], totals["original"],
                        f"{totals['files']} files (total)"))
    return worst


def run_tool(name: str, argv: list[str]) -> int:
    """shoal score|bench|train|evolve ...: hand the rest of the line to the tool."""
    try:
        tool = importlib.import_module(f"shoal.{name}")
    except ModuleNotFoundError as missing:
        if missing.name and missing.name.startswith("shoal"):
            print(f"shoal: {name}: not available in this version", file=sys.stderr)
        else:
            print(f"shoal: {name} needs {missing.name}, an optional extra "
                  f"(pip install 'shoal[...]', see README)", file=sys.stderr)
        return ERROR
    return tool.main(argv)


def main(argv: list[str] | None = None) -> int:
    in_process = argv is not None
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in TOOLS:
        return run_tool(argv[0], argv[1:])
    try:
        options = parse_args(argv)
    except UsageError as error:
        print(f"shoal: {error}\nTry 'shoal --help' for more information.", file=sys.stderr)
        return ERROR
    except SystemExit as done:                   # --help / --version
        return done.code or OK
    refusal = _terminal_refusal(options)
    if refusal:
        print(f"shoal: {refusal}", file=sys.stderr)
        return ERROR
    try:
        with termination_as_interrupt():
            code = run(options)
    except BrokenPipeError:
        # The reader went away (shoal -dc x | head): stop quietly, and point
        # stdout at /dev/null so Python's own final flush does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ERROR
    if code == INTERRUPTED and not in_process:
        # From the real command line, leave now: an abandoned worker (or the
        # API's block threads, which Python joins at exit) may be mid-block.
        # Temporary outputs are already gone.
        sys.stderr.flush()
        os._exit(INTERRUPTED)
    return code


if __name__ == "__main__":
    sys.exit(main())

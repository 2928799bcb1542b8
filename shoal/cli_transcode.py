"""One input's work for the shoal command: compress, decompress, test or list it.

transcode(name, options, settings) compresses or decompresses one input as
the options say (--verify: decodes what it wrote and compares), check_archive
tests one archive, list_archive lists one; each raises a cli_paths.Problem
worded for the user when something fails (_as_problem names the file the
failure happened to: the input, the output or the --verify spool).  Also
here: the messages (-q, -v's summary line), the progress bar, and the
settings the options make for the API (compression_settings,
decoding_settings).
"""
from __future__ import annotations

import os
import sys
import time
from collections import Counter
from contextlib import contextmanager

from . import cli_compile
from .atomic import AtomicOutput
from .cli_io import HashingReader, HashingSink, StdoutOutput, describe_os_error
from .cli_paths import STDIN_NAME, Problem, open_input, open_output, output_path, spool_problem
from .command import ERROR, OK, WARNING
from .errors import ShoalError

_MIB = 1 << 20
PROGRESS_MIN_BYTES = 4 << 20          # smaller inputs finish before a bar is worth drawing


# -- messages ---------------------------------------------------------------

def report(options, message: str, code: int = ERROR) -> None:
    # -q hides warnings, -qq errors too; the exit status is unaffected (like xz).
    if options.quiet >= (2 if code == ERROR else 1):
        return
    print(f"shoal: {message}", file=sys.stderr)


def note(options, text: str) -> None:
    if not options.quiet:
        print(text, file=sys.stderr)


def _summary(name: str, size_in: int, size_out: int, seconds: float, *, compressing: bool,
             done: str = "") -> str:
    """-v's line: the sizes in the direction of the work (input -> output), the
    ratio always compressed / original (as xz -l), bits per original byte, and
    original bytes per second; an empty original has no ratio (---)."""
    original, packed = (size_in, size_out) if compressing else (size_out, size_in)
    ratio = f"{packed / original:.3f}" if original else "---"
    bpb = f"{8 * packed / original:.3f}" if original else "---"
    speed = original / seconds / 1e6 if seconds > 0 else float("inf")
    return (f"{name}: {size_in:,} -> {size_out:,} bytes, ratio {ratio}, "
            f"{bpb} bits/byte, {speed:.2f} MB/s{done}")


@contextmanager
def progress_bar(options, label: str, total: int | None):
    """A progress callback: a rich bar on a terminal for big inputs, else nothing."""
    if options.quiet or total is None or total < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TransferSpeedColumn)
    # Progress moves within blocks, about every MiB coded (blocks.Progress);
    # the spinner and clock show life while a school compiles or reads a primer.
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        notice = cli_compile.current()         # a first use compiling: said in the bar's label
        if notice is not None:
            notice.use_bar(lambda text: bar.update(task, description=text or label))
        try:
            yield lambda done: bar.update(task, completed=done)
        finally:
            if notice is not None:
                notice.use_bar(None)


# -- settings ---------------------------------------------------------------

def compression_settings(options) -> dict:
    from . import school
    settings = _memlimit_setting(options, threads=options.workers, block_size=options.block_size)
    if options.school:
        if options.preset or options.neural:
            raise ValueError("-D/--school replaces the level and preset: give no --preset or --neural with it")
        return dict(settings, school=options.school)
    preset = school.load(options.preset) if options.preset else None
    if options.neural:
        preset = school.with_neural(preset or options.level)
    return dict(settings, level=options.level, preset=preset)


def decoding_settings(options) -> dict:
    """threads (or the Ray runner), and memlimit when -M was given (0: no limit)."""
    settings = _memlimit_setting(options, threads=options.workers)
    if options.school:
        settings["school"] = options.school
    return settings


def _memlimit_setting(options, **settings) -> dict:
    """settings, with memlimit when -M was given (0: no limit); else the API's default."""
    if options.memlimit is not None:
        from . import api
        settings["memlimit"] = options.memlimit or api.NO_MEMLIMIT
    return settings


def _memory(n: int) -> str:
    return f"{n:,} bytes" if n < _MIB else f"{n // _MIB:,} MiB"


def _memory_problem(error, name: str, doing: str = "") -> Problem:
    """xz's message for an archive beyond the memory limit: what it needs (rounded
    up), the limit (rounded down) and the option that raises it."""
    needed = -(-error.needed // _MIB) * _MIB if error.needed >= _MIB else error.needed
    return Problem(name, f"{doing}needs {_memory(needed)} of memory to decode, more than the limit of "
                         f"{_memory(error.limit)}; raise it with -M/--memlimit")


def _as_problem(error: Exception, name: str, output=None) -> Problem:
    """Word a failure for the user, naming the file it happened to.

    An OSError can come bare or as the cause of a ShoalError; it says more
    (and whether it was the output, or the --verify spool, that failed)."""
    from .errors import MemoryLimitError
    if isinstance(error, MemoryLimitError):
        return _memory_problem(error, name)
    cause = error.__cause__ if isinstance(error.__cause__, OSError) else error
    if isinstance(cause, BrokenPipeError) and output is not None \
            and type(getattr(output, "target", output)) is StdoutOutput:
        raise cause                              # the reader of stdout left: stop everything
    if not isinstance(cause, OSError):
        return Problem(name, str(error))
    if output is not None and getattr(output, "spool_error", None) is cause:
        return spool_problem(cause, name)
    if output is not None and output.write_error is cause:
        name = output.path
    return Problem(name, describe_os_error(cause))


def _verify(output, reader: HashingReader, options, name: str) -> None:
    """Decode what was just written and compare it with what was read."""
    from . import files
    from .errors import MemoryLimitError
    sink = HashingSink()
    try:
        with output.open_written() as written:
            files.decompress_stream(written, sink, **decoding_settings(options))
    except MemoryLimitError as error:
        raise _memory_problem(error, name, "--verify ") from None
    except ShoalError as error:
        raise ShoalError(f"verification failed: {error}") from None
    if (sink.count, sink.digest()) != (reader.count, reader.digest()):
        raise ShoalError("verification failed: the archive does not decode to the input")


def transcode(name: str, options, settings: dict) -> int:
    """Compress or decompress one input (name "-" = stdin) as the options say."""
    from . import files
    compressing, verify = options.mode == "compress", options.mode == "compress" and options.verify
    display = STDIN_NAME if name == "-" else name
    # An output named after the input replaces it: then the input must be a
    # regular file (xz's rule) and is removed at the end, unless -k; with -o
    # only if --rm (zstd's rule), and then it must be a regular file too.
    derived = not (options.stdout or options.output is not None or name == "-")
    removed = not options.keep and (derived or (options.rm and options.output is not None and name != "-"))
    with open_input(name, options, needs_regular=derived or removed, removed=removed) as (source, info):
        path = output_path(name, options)
        reader = HashingReader(source) if verify else source
        output = open_output(path, name, options, info, verify)
        # An output written into a device or FIFO is not a copy of the input.
        remove_input = removed and isinstance(output, AtomicOutput)
        start = time.perf_counter()
        try:
            with output, progress_bar(options, display, info and info.st_size) as tick:
                if compressing:
                    size_in, size_out = files.compress_stream(reader, output, progress=tick, **settings)
                else:
                    size_in, size_out = files.decompress_stream(reader, output, progress=tick,
                                                              **decoding_settings(options))
                output.finish()
                if verify:
                    _verify(output, reader, options, display)
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
        note(options, _summary(display, size_in, size_out, seconds, compressing=compressing,
                                done=", verified" if verify else ""))
    return OK


def check_archive(name: str, options) -> int:
    from . import files
    display = STDIN_NAME if name == "-" else name
    with open_input(name, options, needs_regular=False) as (source, info):
        sink = HashingSink()
        start = time.perf_counter()
        try:
            with progress_bar(options, display, info and info.st_size) as tick:
                size_in, size_out = files.decompress_stream(source, sink, progress=tick,
                                                          **decoding_settings(options))
        except (ShoalError, OSError) as error:
            raise _as_problem(error, display) from None
    if options.verbose:
        note(options, _summary(display, size_in, size_out, time.perf_counter() - start, compressing=False,
                                done=", ok"))
    return OK


# -- list ---------------------------------------------------------------------

LIST_HEADER = f"{'Strms':>5} {'Blocks':>7} {'Compressed':>14} {'Uncompressed':>14} {'Ratio':>7} {'bpb':>7}  Filename"


def list_row(streams: int, blocks: int, packed: int, original: int, name: str) -> str:
    ratio = f"{packed / original:7.3f}" if original else f"{'---':>7}"
    bpb = f"{8 * packed / original:7.3f}" if original else f"{'---':>7}"
    return f"{streams:>5} {blocks:>7} {packed:>14,} {original:>14,} {ratio} {bpb}  {name}"


def list_archive(name: str, options, totals: Counter) -> int:
    from . import files
    with open_input(name, options, needs_regular=False) as (source, info):
        try:
            streams = files.list_archive(source)
        except (ShoalError, OSError) as error:
            raise _as_problem(error, name) from None
    blocks = sum(s["blocks"] for s in streams)
    original = sum(s["original_size"] for s in streams)
    if not totals["files"]:
        print(LIST_HEADER)
    print(list_row(len(streams), blocks, info.st_size, original, name))
    if options.verbose:
        for i, s in enumerate(streams, 1):
            preset = s.get("preset_name") or (s.get("preset") or {}).get("description") \
                or f"digest {s['preset_digest']}"
            if s.get("school"):
                preset = f"of the school file {s['preset_digest']}"
            print(f"      stream {i}: blocks: {s['blocks']} of up to {s['block_size']:,} bytes "
                  f"({s['stored_blocks']} stored, {s['binary_blocks']} by the school for binaries), "
                  f"{s['compressed_size']:,} -> "
                  f"{s['original_size']:,} bytes, preset {preset}")
            if options.verbose > 1:       # -lvv: the block index a seek uses (as xz -lvv lists blocks)
                for k, b in enumerate(s["block_list"]):
                    print(f"        block {k}: original {b['original_offset']:,} + {b['original_size']:,}, "
                          f"archive {b['archive_offset']:,} + {b['archive_bytes']:,}, {b['kind']}")
    totals.update(files=1, streams=len(streams), blocks=blocks, packed=info.st_size, original=original)
    return OK

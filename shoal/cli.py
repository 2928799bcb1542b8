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

`import shoal.cli` loads nothing heavy: main() sets up its signal handling
first, then loads the engine (NumPy, Numba), so Ctrl-C is answered at any
moment without a traceback.
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

from . import cli_compile
from .cli_io import (AtomicOutput, DeviceOutput, HashingReader, HashingSink, Signals, SpooledOutput,
                     StdoutOutput, describe_os_error, is_special, remove_temporaries, spool_description)
from .errors import ShoalError

# api and school load NumPy and Numba: main() imports them once signals are
# handled, and the functions that use them import them where they do.

OK, ERROR, WARNING, INTERRUPTED = 0, 1, 2, 130
_MIB = 1 << 20
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
        notice = cli_compile.current()         # a first use compiling: said in the bar's label
        if notice is not None:
            notice.use_bar(lambda text: bar.update(task, description=text or label))
        try:
            yield lambda done: bar.update(task, completed=done)
        finally:
            if notice is not None:
                notice.use_bar(None)


# -- one file -----------------------------------------------------------------

@contextmanager
def _open_input(name: str, options, *, needs_regular: bool, removed: bool = False):
    """Yields (file, stat or None); skips what xz skips, with xz's wording.

    needs_regular: the output is named after the input (only a regular file
    then); removed: the input is to be removed once its output is written,
    so (without -f) not one with other hard links or special bits."""
    if name == "-":
        yield sys.stdin.buffer, None
        return
    try:
        info = os.lstat(name)
        if stat.S_ISLNK(info.st_mode):
            # Followed when the input is kept (-k, -c, -o), as xz does;
            # removing it would remove only the link.
            if removed and not options.force:
                raise Problem(name, "is a symbolic link, skipping", WARNING)
            info = os.stat(name)
        if stat.S_ISDIR(info.st_mode):
            raise Problem(name, "is a directory, skipping", WARNING)
        if needs_regular and not stat.S_ISREG(info.st_mode):
            raise Problem(name, "is not a regular file, skipping", WARNING)
        if removed and not options.force:
            # Removing this name would not remove the data (another link
            # keeps it), or the output would lose the bits (xz's rules).
            if info.st_mode & (stat.S_ISUID | stat.S_ISGID):
                raise Problem(name, "file has setuid or setgid bit set, skipping", WARNING)
            if info.st_mode & stat.S_ISVTX:
                raise Problem(name, "file has sticky bit set, skipping", WARNING)
            if info.st_nlink > 1:
                raise Problem(name, "input file has more than one hard link, skipping", WARNING)
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
        for suffix in _suffixes(options):
            if name.endswith(suffix):
                raise Problem(name, f"already has `{suffix}' suffix, skipping", WARNING)
        return name + options.suffix
    for suffix in _suffixes(options):
        if name.endswith(suffix) and os.path.basename(name) != suffix:
            return name[: -len(suffix)]
    raise Problem(name, "filename has an unknown suffix, skipping", WARNING)


def _suffixes(options) -> tuple[str, ...]:
    """-S's suffix first, then .shoal (as xz, -d takes both)."""
    from .cli_args import SUFFIX
    return (options.suffix,) if options.suffix == SUFFIX else (options.suffix, SUFFIX)


def _special_output(path: str) -> os.stat_result | None:
    """What path is, when it exists as a device or FIFO (through symlinks)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info if is_special(info.st_mode) else None


def _check_output_free(path: str, name: str, options) -> None:
    if not os.path.lexists(path):
        return
    if not options.force:
        raise Problem(path, "file exists; use -f to overwrite")
    if name != "-" and os.path.exists(path) and os.path.samefile(name, path):
        raise Problem(path, "input and output are the same file")
    if os.path.isdir(path):
        raise Problem(path, "is a directory, cannot overwrite")
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        raise Problem(path, "is not a regular file, cannot overwrite")      # a socket


def _open_device(path: str, info: os.stat_result, options) -> DeviceOutput:
    """An existing device or FIFO as the output: written into, never replaced.

    -o to a character device or FIFO needs no -f (like `> /dev/null`, and
    zstd); a block device, or a device under the name shoal would have
    chosen itself (FILE.shoal), needs -f, as any existing output does."""
    asked = options.output is not None and not stat.S_ISBLK(info.st_mode)
    if not (asked or options.force):
        raise Problem(path, "file exists; use -f to write into it")
    try:
        output = DeviceOutput(path)
    except OSError as error:
        raise Problem(path, describe_os_error(error)) from None
    if options.mode == "compress" and not options.force and output.isatty():
        output.__exit__(None, None, None)
        raise Problem(path, "compressed data not written to a terminal (use -f to force)")
    return output


def _open_output(path: str | None, name: str, options, info, verify: bool):
    """The output for one input: an AtomicOutput for a new or replaced file,
    a DeviceOutput for an existing device or FIFO, standard output for None;
    the last two through a spool file with --verify."""
    if path is None:
        target = StdoutOutput(sys.stdout.buffer)
    elif (device := _special_output(path)) is not None:
        target = _open_device(path, device, options)
    else:
        _check_output_free(path, name, options)
        try:
            return AtomicOutput(path, overwrite=options.force, like=info)
        except OSError as error:                 # e.g. no permission to write in that directory
            raise Problem(path, describe_os_error(error)) from None
    if not verify:
        return target
    try:
        return SpooledOutput(target)
    except OSError as error:
        target.__exit__(None, None, None)
        raise _spool_problem(error, STDIN_NAME if name == "-" else name) from None


def _spool_problem(error: OSError, name: str) -> Problem:
    """--verify's spool file failed (a full /tmp): say so, not that the input did."""
    return Problem(name, f"{spool_description()}: {describe_os_error(error)} (TMPDIR sets that folder)")


def _compression_settings(options) -> dict:
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


def _decoding_settings(options) -> dict:
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
        return _spool_problem(cause, name)
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
            files.decompress_stream(written, sink, **_decoding_settings(options))
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
    with _open_input(name, options, needs_regular=derived or removed, removed=removed) as (source, info):
        path = _output_path(name, options)
        reader = HashingReader(source) if verify else source
        output = _open_output(path, name, options, info, verify)
        # An output written into a device or FIFO is not a copy of the input.
        remove_input = removed and isinstance(output, AtomicOutput)
        start = time.perf_counter()
        try:
            with output, _progress(options, display, info and info.st_size) as tick:
                if compressing:
                    size_in, size_out = files.compress_stream(reader, output, progress=tick, **settings)
                else:
                    size_in, size_out = files.decompress_stream(reader, output, progress=tick,
                                                              **_decoding_settings(options))
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
        _note(options, _summary(display, size_in, size_out, seconds, compressing=compressing,
                                done=", verified" if verify else ""))
    return OK


def check_archive(name: str, options) -> int:
    from . import files
    display = STDIN_NAME if name == "-" else name
    with _open_input(name, options, needs_regular=False) as (source, info):
        sink = HashingSink()
        start = time.perf_counter()
        try:
            with _progress(options, display, info and info.st_size) as tick:
                size_in, size_out = files.decompress_stream(source, sink, progress=tick,
                                                          **_decoding_settings(options))
        except (ShoalError, OSError) as error:
            raise _as_problem(error, display) from None
    if options.verbose:
        _note(options, _summary(display, size_in, size_out, time.perf_counter() - start, compressing=False,
                                done=", ok"))
    return OK


# -- list ---------------------------------------------------------------------

_LIST_HEADER = f"{'Strms':>5} {'Blocks':>7} {'Compressed':>14} {'Uncompressed':>14} {'Ratio':>7} {'bpb':>7}  Filename"


def _list_row(streams: int, blocks: int, packed: int, original: int, name: str) -> str:
    ratio = f"{packed / original:7.3f}" if original else f"{'---':>7}"
    bpb = f"{8 * packed / original:7.3f}" if original else f"{'---':>7}"
    return f"{streams:>5} {blocks:>7} {packed:>14,} {original:>14,} {ratio} {bpb}  {name}"


def list_archive(name: str, options, totals: Counter) -> int:
    from . import files
    with _open_input(name, options, needs_regular=False) as (source, info):
        try:
            streams = files.list_archive(source)
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


# -- inputs -------------------------------------------------------------------

def _wanted(name: str, options) -> bool:
    """In a -r walk: compressing takes what is not an archive yet; -d, -t, -l take archives."""
    if name.endswith(".shoal-tmp"):              # another shoal's temporary output
        return False
    suffixes = _suffixes(options)
    if options.mode == "compress":
        return not name.endswith(suffixes)
    return any(name.endswith(suffix) and name != suffix for suffix in suffixes)


def _walk(top: str, options) -> list:
    """-r: the files of the tree under directory `top` (paths, sorted by name,
    depth first), with a Problem in place of each thing skipped: symbolic
    links (never followed inside a walk, even with -f), devices, FIFOs,
    sockets, unreadable directories.  The tree is listed in full before any
    file is worked on, so outputs written meanwhile are not taken as inputs."""
    found, pending = [], [top]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            found.append(Problem(directory, describe_os_error(error)))
            continue
        subdirectories = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    subdirectories.append(entry.path)
                elif not _wanted(entry.name, options):
                    continue
                elif entry.is_symlink():
                    found.append(Problem(entry.path, "is a symbolic link, skipping", WARNING))
                elif not entry.is_file(follow_symlinks=False):
                    found.append(Problem(entry.path, "is not a regular file, skipping", WARNING))
                else:
                    found.append(entry.path)
            except OSError as error:
                found.append(Problem(entry.path, describe_os_error(error)))
        pending.extend(reversed(subdirectories))
    return found


def _inputs(options):
    """The inputs, in order: the command line's, with -r each directory's
    files in its place (a directory named there is followed if a link)."""
    for name in options.files:
        if options.recursive and name != "-" and os.path.isdir(name):
            yield from _walk(name, options)
        else:
            yield name


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
            return _in_worker(cli_compile.precompile, options, lambda text: _note(options, f"shoal: {text}"))
        if options.school:                       # read (and checked) once, for every file
            from . import school_file
            options.school = school_file.read(options.school)
        options.workers = _workers(options)
        if options.mode == "compress":
            settings = _compression_settings(options)
        with _first_use_notice(options):
            for name in _inputs(options):
                if isinstance(name, Problem):            # skipped by -r's walk
                    _say(options, f"{name.name}: {name.message}", name.code)
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
                    _say(options, f"{problem.name}: {problem.message}", problem.code)
                    worst = _worse(worst, problem.code)
        if totals["files"] > 1:
            print(_list_row(totals["streams"], totals["blocks"], totals["packed"], totals["original"],
                            f"{totals['files']} files (total)"))
    except (ShoalError, ValueError) as error:    # a bad --preset or setting: nothing can be done
        _say(options, str(error))
        return ERROR
    except OSError as error:                     # the same, reported bare
        _say(options, f"{error.filename or options.preset}: {describe_os_error(error)}")
        return ERROR
    except KeyboardInterrupt:
        remove_temporaries()                     # the worker may still be writing one
        _say(options, f"{current}: interrupted")
        return signals.code if signals is not None else INTERRUPTED
    finally:
        if not isinstance(options.workers, int):
            options.workers.close()              # a local Ray instance this run started
    return worst


def run_tool(name: str, argv: list[str], signals: Signals | None = None) -> int:
    """shoal score|bench|train|evolve ...: hand the rest of the line to the tool.

    The tool is loaded (torch, Ray, ...) while a signal still ends shoal at
    once; then the handlers from before are back, and the tool answers
    Ctrl-C itself (it may keep a checkpoint)."""
    try:
        tool = importlib.import_module(f"shoal.{name}")
    except ModuleNotFoundError as missing:
        if missing.name and missing.name.startswith("shoal"):
            print(f"shoal: {name}: not available in this version", file=sys.stderr)
        else:
            print(f"shoal: {name} needs {missing.name}, an optional extra "
                  f"(pip install 'shoal[...]', see README)", file=sys.stderr)
        return ERROR
    if signals is not None:
        signals.restore()
    return tool.main(argv)


def _main(argv: list[str], signals: Signals, in_process: bool) -> int:
    from .cli_args import TOOLS, UsageError, parse_args
    if argv and argv[0] == "--demo":             # the sample shipped with shoal (python -m shoal.demo)
        from . import demo
        return demo.main(argv[1:])
    if argv and argv[0] in TOOLS:
        return run_tool(argv[0], argv[1:], None if in_process else signals)
    try:
        options = parse_args(argv)               # loads the engine (the level's default)
    except UsageError as error:
        print(f"shoal: {error}\nTry 'shoal --help' for more information.", file=sys.stderr)
        return ERROR
    except SystemExit as done:                   # --help / --version
        return done.code or OK
    refusal = _terminal_refusal(options)
    if refusal:
        print(f"shoal: {refusal}", file=sys.stderr)
        return ERROR
    from . import files                          # noqa: F401  (api and files loaded now, while a signal needs no clean-up)
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

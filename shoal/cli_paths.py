"""Which files the shoal command reads and writes, and how they are opened.

- open_input(name, options, ...): an input file (or standard input), with
  what xz skips (a directory, a link or a file of several hard links that
  would be removed, setuid/setgid/sticky bits) skipped with xz's wording;
- output_path(name, options): where its output goes (FILE.shoal, FILE, -o,
  or standard output), and open_output(...): that output opened, atomically
  for a file (atomic.AtomicOutput), written into for an existing device or
  FIFO, through a spool file for --verify where it cannot be taken back;
- inputs(options): the command line's inputs, with -r each directory's
  files in its place (symbolic links inside never followed).

Every failure is a Problem: one file's message, already worded for the user,
and whether it is an error or a warning (exit status 1 or 2).
"""
from __future__ import annotations

import os
import stat
import sys
from contextlib import contextmanager

from .atomic import AtomicOutput, is_special
from .cli_io import DeviceOutput, SpooledOutput, StdoutOutput, describe_os_error, spool_description
from .command import ERROR, WARNING

STDIN_NAME = "(stdin)"


class Problem(Exception):
    """One file's failure, already worded for the user; code is ERROR or WARNING."""

    def __init__(self, name: str, message: str, code: int = ERROR):
        super().__init__(message)
        self.name, self.message, self.code = name, message, code


# -- one input and its output -------------------------------------------------

@contextmanager
def open_input(name: str, options, *, needs_regular: bool, removed: bool = False):
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


def output_path(name: str, options) -> str | None:
    """Where the output goes: a path, or None for standard output."""
    if options.stdout or (name == "-" and options.output is None):
        return None
    if options.output is not None:
        return options.output
    if options.mode == "compress":
        for suffix in suffixes(options):
            if name.endswith(suffix):
                raise Problem(name, f"already has `{suffix}' suffix, skipping", WARNING)
        return name + options.suffix
    for suffix in suffixes(options):
        if name.endswith(suffix) and os.path.basename(name) != suffix:
            return name[: -len(suffix)]
    raise Problem(name, "filename has an unknown suffix, skipping", WARNING)


def suffixes(options) -> tuple[str, ...]:
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


def open_output(path: str | None, name: str, options, info, verify: bool):
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
        raise spool_problem(error, STDIN_NAME if name == "-" else name) from None


def spool_problem(error: OSError, name: str) -> Problem:
    """--verify's spool file failed (a full /tmp): say so, not that the input did."""
    return Problem(name, f"{spool_description()}: {describe_os_error(error)} (TMPDIR sets that folder)")


# -- -r: the inputs ---------------------------------------------------------

def _wanted(name: str, options) -> bool:
    """In a -r walk: compressing takes what is not an archive yet; -d, -t, -l take archives."""
    if name.endswith(".shoal-tmp"):              # another shoal's temporary output
        return False
    known = suffixes(options)
    if options.mode == "compress":
        return not name.endswith(known)
    return any(name.endswith(suffix) and name != suffix for suffix in known)


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


def inputs(options):
    """The inputs, in order: the command line's, with -r each directory's
    files in its place (a directory named there is followed if a link)."""
    for name in options.files:
        if options.recursive and name != "-" and os.path.isdir(name):
            yield from _walk(name, options)
        else:
            yield name

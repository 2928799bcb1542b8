"""File plumbing for the command-line tool: what outputs and inputs are, signals.

An output that already exists as a character device, a block device or a FIFO
(`-o /dev/null`) is written into (`DeviceOutput`), never replaced; a new or
replaced file is an `atomic.AtomicOutput`.  Standard output and devices
cannot take data back, so --verify holds their archive in a spool file first
(`SpooledOutput`); `HashingReader` and `HashingSink` count and hash what
passes, so --verify can compare.

`Signals` is how the command line answers SIGINT, SIGTERM and SIGHUP (as xz);
`parse_memlimit` reads -M; `describe_os_error` words an OSError.

This module is imported before the CLI has set up its signal handling, so it
imports only what Python has already loaded at start-up, or nearly.
"""
from __future__ import annotations

import errno
import io
import os
import signal
import sys
import threading
from contextlib import contextmanager

from .atomic import is_special
from .command import parse_size

# Friendlier wording than strerror for the errors users meet most.
_OS_ERROR_TEXT = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOENT: "no such file or directory",
    errno.EISDIR: "is a directory",
    errno.EROFS: "read-only file system",
    errno.EPIPE: "broken pipe",
    errno.EEXIST: "file exists",
}


def describe_os_error(error: OSError) -> str:
    """One lowercase phrase for an OSError, without the filename."""
    if error.errno in _OS_ERROR_TEXT:
        return _OS_ERROR_TEXT[error.errno]
    text = error.strerror or str(error) or type(error).__name__
    return text[0].lower() + text[1:]


def physical_memory() -> int:
    """Bytes of RAM in this machine (for -M N%)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        raise ValueError("cannot tell how much memory this machine has; give -M in bytes") from None


def parse_memlimit(text: str) -> int:
    """xz's -M/--memlimit: bytes with an optional suffix (K, KiB, M, MiB, G,
    GiB, ...), N% of physical memory (1..100), or 0 or "max": no limit,
    which this returns as 0."""
    word = text.strip()
    if word.lower() == "max":
        return 0
    if word.endswith("%"):
        percent = word[:-1].strip()
        if not percent.isdigit() or not 1 <= int(percent) <= 100:
            raise ValueError(f"a memory limit in percent must be 1% to 100%, got {text!r}")
        return max(1, physical_memory() * int(percent) // 100)
    try:
        return parse_size(word, zero=True)
    except ValueError:
        raise ValueError(f"invalid memory limit {text!r} (use e.g. 800MiB, 2G, 50%, or 0 or max for "
                         "no limit)") from None


# -- signals ------------------------------------------------------------------

class Signals:
    """SIGINT, SIGTERM and SIGHUP for the command line, as xz answers them.

    Created first thing in main(), before the engine (NumPy, Numba) is
    loaded.  Until `working()`, nothing needs cleaning up, so a signal ends
    the process at once.  From `working()` on, the first signal raises
    KeyboardInterrupt in the main thread, so that the work unwinds, its
    temporary files go and one line names the file; signals after it are
    only noted.  `end()` then ends the process by that first signal, as xz
    does: the shell reports 128 + its number (130 for SIGINT, 143 for
    SIGTERM, 129 for SIGHUP), and a calling script stops as it would for xz.

    A signal the parent left ignored (nohup, a shell's background job)
    stays ignored.  In-process (cli.main(argv) from Python, at_once False),
    handlers are installed only from working() to at_once(), and end() is
    never called: the caller gets `code` (128 + the signal) back.  Only the main thread can install
    handlers; elsewhere this does nothing.
    """

    NAMES = ("SIGINT", "SIGTERM", "SIGHUP")

    def __init__(self, *, at_once: bool):
        self.received: int | None = None
        self._ends = at_once                     # a process of its own, not a call from Python
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for name in self.NAMES:
                signum = getattr(signal, name, None)
                if signum is None:
                    continue
                handler = signal.getsignal(signum)
                if handler != signal.SIG_IGN:
                    self._previous[signum] = handler
        if at_once:
            self._install(self._end_at_once)

    def _install(self, handler) -> None:
        for signum in self._previous:
            signal.signal(signum, handler)

    def _end_at_once(self, signum, frame):
        self.received = signum
        if signum == signal.SIGINT:              # Ctrl-C at a terminal: say it was heard, in one line
            try:
                os.write(sys.stderr.fileno(), b"shoal: interrupted\n")
            except (OSError, ValueError, AttributeError):
                pass
        self.end()

    def _interrupt(self, signum, frame):
        self.received = signum
        self._install(self._note)            # a second Ctrl-C must not break the clean-up
        raise KeyboardInterrupt

    def _note(self, signum, frame):
        pass

    def at_once(self) -> None:
        """From now on a signal ends the process at once (nothing left to clean
        up); in-process, the handlers from before are back instead."""
        if self._ends:
            self._install(self._end_at_once)
        else:
            self.restore()

    def working(self) -> None:
        """From now on a signal interrupts the work (KeyboardInterrupt), to be cleaned up."""
        self._install(self._interrupt)

    def restore(self) -> None:
        """Put back the handlers that were there before."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    @property
    def code(self) -> int:
        """The exit status a shell reports for the signal received (130 for a bare KeyboardInterrupt)."""
        return 128 + (self.received or signal.SIGINT)

    def end(self) -> None:
        """End the process by the signal received (SIGINT for a KeyboardInterrupt): never returns."""
        signum = self.received or signal.SIGINT
        for stream in (sys.stderr, sys.stdout):
            try:
                stream.flush()
            except Exception:                    # closed, broken, or busy in the code we interrupted
                pass
        try:
            signal.signal(signum, signal.SIG_DFL)
            if hasattr(signal, "pthread_sigmask"):
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
            os.kill(os.getpid(), signum)
        finally:
            os._exit(128 + signum)           # if the signal did not end us (it should have)


class HashingReader(io.RawIOBase):
    """Reads through to `source`, counting and hashing what passes (for --verify)."""

    def __init__(self, source):
        import hashlib
        super().__init__()
        self._source = source
        self._hash = hashlib.blake2b(digest_size=32)
        self.count = 0

    def readable(self) -> bool:
        return True

    # Passed through so the API can still see the input's size (it records it
    # in the header): --verify must not change the archive.
    def fileno(self) -> int:
        return self._source.fileno()

    def tell(self) -> int:
        return self._source.tell()

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        if hasattr(self._source, "readinto"):
            n = self._source.readinto(view) or 0
        else:
            data = self._source.read(len(view)) or b""
            n = len(data)
            view[:n] = data
        self._hash.update(view[:n])
        self.count += n
        return n

    def digest(self) -> bytes:
        return self._hash.digest()


class HashingSink(io.RawIOBase):
    """A write-only sink that keeps only the length and hash of what it is given."""

    def __init__(self):
        import hashlib
        super().__init__()
        self._hash = hashlib.blake2b(digest_size=32)
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        self._hash.update(view)
        self.count += len(view)
        return len(view)

    def digest(self) -> bytes:
        return self._hash.digest()


class StdoutOutput(io.RawIOBase):
    """Standard output with the same life cycle as AtomicOutput (nothing to roll back)."""

    path = "(stdout)"

    def __init__(self, stream):
        super().__init__()
        self._stream = stream
        self.write_error: OSError | None = None

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        try:
            self._stream.write(data)
        except OSError as error:
            self.write_error = error
            raise
        return len(data)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        return False

    def finish(self) -> None:
        try:
            self._stream.flush()
        except OSError as error:
            self.write_error = error
            raise

    def commit(self) -> None:
        self.finish()


class DeviceOutput(StdoutOutput):
    """An existing character device, block device or FIFO at `path`, written into.

    Like zstd with -o /dev/null: opened for writing (no temporary file, no
    rename, no truncation), never unlinked or replaced, its mode and times
    left alone.  Opening a FIFO waits for a reader, as a shell's `>` does.
    """

    def __init__(self, path: str):
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
        try:
            if not is_special(os.fstat(fd).st_mode):
                # It was replaced by a regular file since we looked: writing
                # into that in place would not be atomic.
                raise FileExistsError(errno.EEXIST, "file exists", path)
            stream = open(fd, "wb", closefd=True)
        except BaseException:
            os.close(fd)
            raise
        super().__init__(stream)
        self.path = path

    def isatty(self) -> bool:
        return self._stream.isatty()

    def __exit__(self, exc_type, exc, tb):
        try:
            self._stream.close()
        except OSError as error:
            if exc_type is None:
                self.write_error = error
                raise
        return False


def spool_description() -> str:
    """What SpooledOutput's spool is, for a message about its failure."""
    import tempfile
    return f"temporary file for --verify in {tempfile.gettempdir()}"


class SpooledOutput(io.RawIOBase):
    """Holds the output in an unnamed temporary file until commit() copies it
    to `target` (standard output, a device, a FIFO), which cannot take data back.

    Used by --verify: the archive is decoded and checked before a single byte
    reaches the target.  The spool lives in the temporary folder ($TMPDIR);
    `spool_error` keeps an OSError the spool itself hit (a full /tmp), so
    the message can say that the temporary file failed, not the input.
    """

    def __init__(self, target: StdoutOutput):
        import tempfile
        super().__init__()
        self.target = target
        self.path = target.path
        self.spool_error: OSError | None = None
        self._spool = tempfile.TemporaryFile(prefix="shoal-")

    @property
    def write_error(self) -> OSError | None:
        return self.target.write_error

    def writable(self) -> bool:
        return True

    @contextmanager
    def _spooling(self):
        try:
            yield
        except OSError as error:
            self.spool_error = error
            raise

    def write(self, data) -> int:
        with self._spooling():
            return self._spool.write(data)

    def __enter__(self):
        self.target.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self._spool.close()                  # unnamed: closing deletes it
        except OSError:
            pass
        return self.target.__exit__(exc_type, exc, tb)

    def finish(self) -> None:
        with self._spooling():
            self._spool.flush()

    def open_written(self):
        with self._spooling():
            self._spool.seek(0)
            return open(os.dup(self._spool.fileno()), "rb")

    def commit(self) -> None:
        with self._spooling():
            self._spool.seek(0)
        while True:
            with self._spooling():
                chunk = self._spool.read(1 << 20)
            if not chunk:
                break
            self.target.write(chunk)
        self.target.finish()


"""File plumbing for the command-line tool: atomic outputs and counting streams.

The CLI never writes a user-visible file in place.  `AtomicOutput` writes to a
hidden temporary file in the destination directory (same file system, so the
final rename is atomic) and only `commit()` makes it appear under its real
name, after the data is flushed, fsynced and closed.  Any exception before
that - an error, a full disk, Ctrl-C - removes the temporary file, so no
partial output is ever left behind.
"""
from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import signal
import stat
import tempfile
import threading
from contextlib import contextmanager

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
}


def describe_os_error(error: OSError) -> str:
    """One lowercase phrase for an OSError, without the filename."""
    if error.errno in _OS_ERROR_TEXT:
        return _OS_ERROR_TEXT[error.errno]
    text = error.strerror or str(error) or type(error).__name__
    return text[0].lower() + text[1:]


_SIZE_PATTERN = re.compile(r"^\s*(\d+)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """'65536', '64K', '64KiB', '1M', '2GiB' -> bytes (suffixes are powers of 1024, like xz)."""
    match = _SIZE_PATTERN.match(text)
    if not match:
        raise ValueError(f"invalid size {text!r} (use e.g. 65536, 64K, 64KiB, 16M, 1G)")
    number, unit = int(match.group(1)), match.group(2).lower()
    size = number * 1024 ** " kmgt".index(unit or " ")
    if size <= 0:
        raise ValueError(f"size must be positive, got {text!r}")
    return size


def _current_umask() -> int:
    # os.umask can only be read by setting it; put it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Temporary outputs not yet committed or discarded, so that an interrupt
# handled on another thread than the one writing can still remove them.
_live_temporaries: set[str] = set()


def remove_temporaries() -> None:
    """Delete every uncommitted temporary output (on Ctrl-C / SIGTERM)."""
    for path in list(_live_temporaries):
        _live_temporaries.discard(path)
        try:
            os.unlink(path)
        except OSError:
            pass


def _open_temporary(directory: str, name: str):
    """Create a private (0600) temporary file beside `name`; returns (path, file)."""
    # The name is cut short so a long but legal output name still leaves room.
    fd, path = tempfile.mkstemp(prefix=f".{name[:100]}.", suffix=".shoal-tmp", dir=directory)
    return path, os.fdopen(fd, "wb")


def _fsync_directory(directory: str) -> None:
    # Makes the rename itself durable; not every platform lets a directory be opened.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicOutput(io.RawIOBase):
    """A writable file that appears at `path` only when `commit()` succeeds.

    Use as a context manager: leaving the block without `commit()` (an
    exception, KeyboardInterrupt) discards the temporary file.  `write_error`
    keeps the OSError a write hit, so the caller can name the output in its
    message rather than the input.
    """

    def __init__(self, path: str, *, overwrite: bool, like: os.stat_result | None = None):
        super().__init__()
        self.path = path
        self.overwrite = overwrite
        self.like = like                      # copy mode and times from this (the input)
        self.write_error: OSError | None = None
        directory, name = os.path.split(os.path.abspath(path))
        self._directory = directory
        self.temp_path, self._file = _open_temporary(directory, name)
        _live_temporaries.add(self.temp_path)

    # -- io.RawIOBase --------------------------------------------------------
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        try:
            self._file.write(data)
        except OSError as error:
            self.write_error = error
            raise
        return len(data)

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    # -- life cycle ----------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.temp_path is not None:
            self.discard()
        return False

    def finish(self) -> None:
        """Flush, fsync and close the temporary file and give it its final mode and times."""
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as error:
            self.write_error = error
            raise
        finally:
            self._file.close()
        self._copy_metadata()

    def open_written(self):
        """The finished temporary file, opened for reading (for --verify)."""
        return open(self.temp_path, "rb")

    def commit(self) -> None:
        """Move the finished temporary file to its real name (call `finish()` first)."""
        if not self._file.closed:
            self.finish()
        try:
            if self.overwrite:
                os.replace(self.temp_path, self.path)
            else:
                self._rename_without_clobbering()
        except OSError as error:
            self.write_error = error             # e.g. the name was taken meanwhile
            raise
        _live_temporaries.discard(self.temp_path)
        self.temp_path = None
        _fsync_directory(self._directory)
        super().close()

    def discard(self) -> None:
        """Close and delete the temporary file; safe to call more than once."""
        try:
            self._file.close()
        except OSError:
            pass                                 # the data is being thrown away anyway
        if self.temp_path is not None:
            _live_temporaries.discard(self.temp_path)
            try:
                os.unlink(self.temp_path)
            except FileNotFoundError:
                pass
            self.temp_path = None
        super().close()

    def _rename_without_clobbering(self) -> None:
        # A hard link fails if the name exists, closing the window between our
        # "file exists?" check and the rename.  File systems without hard links
        # fall back to that check.
        try:
            os.link(self.temp_path, self.path)
        except FileExistsError:
            raise
        except OSError:
            if os.path.lexists(self.path):
                raise FileExistsError(errno.EEXIST, "file exists", self.path) from None
            os.replace(self.temp_path, self.path)
            return
        os.unlink(self.temp_path)

    def _copy_metadata(self) -> None:
        # Like xz: the output keeps the input's permission bits and times.
        # setuid/setgid/sticky are dropped; a new file follows the umask.
        if self.like is not None:
            mode = stat.S_IMODE(self.like.st_mode) & 0o777
        else:
            mode = 0o666 & ~_current_umask()
        os.chmod(self.temp_path, mode)
        if self.like is not None:
            try:
                os.utime(self.temp_path, ns=(self.like.st_atime_ns, self.like.st_mtime_ns))
            except OSError:
                pass                             # times are a courtesy, not a requirement


class HashingReader(io.RawIOBase):
    """Reads through to `source`, counting and hashing what passes (for --verify)."""

    def __init__(self, source):
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


class SpooledStdoutOutput(StdoutOutput):
    """Holds output in an anonymous temporary file until commit() copies it to stdout.

    Used by --verify with -c: the archive is decoded and checked before a single
    byte reaches the pipe, which cannot take data back.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._spool = tempfile.TemporaryFile(prefix="shoal-")

    def write(self, data) -> int:
        try:
            return self._spool.write(data)
        except OSError as error:
            error.filename = error.filename or "(temporary file)"
            raise

    def __exit__(self, exc_type, exc, tb):
        self._spool.close()                      # anonymous: closing deletes it
        return False

    def finish(self) -> None:
        self._spool.flush()

    def open_written(self):
        self._spool.seek(0)
        return open(os.dup(self._spool.fileno()), "rb")

    def commit(self) -> None:
        self._spool.seek(0)
        while chunk := self._spool.read(1 << 20):
            super().write(chunk)
        super().finish()


@contextmanager
def termination_as_interrupt():
    """SIGTERM and SIGHUP (a batch system ending the job, a closed terminal)
    stop the work like Ctrl-C: as a KeyboardInterrupt, so the same clean-up
    runs (temporary outputs removed, a checkpoint kept)."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    if threading.current_thread() is not threading.main_thread():
        wanted = []                              # only the main thread may set handlers
    previous = {signum: signal.signal(signum, interrupt) for signum in wanted}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

"""Files that appear whole or not at all: AtomicOutput and atomic_write.

Nothing shoal writes for a user is written in place.  `AtomicOutput` writes
to a temporary file in the destination directory (same file system) and only
`commit()` makes it appear under its real name, after the data is flushed,
fsynced and given its mode and times.  On Linux the temporary file has no
name at all (O_TMPFILE) until commit() links it in, so nothing can be left
behind, not even by `kill -9` or a power cut; elsewhere it is a hidden
`.NAME.XXXXXXXX.shoal-tmp` that any exception (an error, a full disk,
Ctrl-C) removes, and that remove_temporaries() removes from another thread.

`atomic_write(path)` is the one way every other writer in shoal (the tools'
checkpoints, logs, reports and plots, a school file) uses it: a block that
writes a file object, whose content replaces `path` only if the block ends
without an exception.

This module imports nothing of shoal's, so any layer may use it; the shoal
command imports it before it handles signals, so it loads only what Python
has already loaded at start-up, or nearly.
"""
from __future__ import annotations

import errno
import io
import os
import stat
from contextlib import contextmanager

def is_special(mode: int) -> bool:
    """A character device, block device or FIFO: written into, never replaced."""
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)


def _current_umask() -> int:
    # os.umask can only be read by setting it; put it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Named temporary outputs not yet committed or discarded, so that an
# interrupt handled on another thread than the one writing can still remove
# them.  Unnamed (O_TMPFILE) outputs need no such care.
_live_temporaries: set[str] = set()


def remove_temporaries() -> None:
    """Delete every uncommitted named temporary output (on Ctrl-C / SIGTERM)."""
    for path in list(_live_temporaries):
        _live_temporaries.discard(path)
        try:
            os.unlink(path)
        except OSError:
            pass


def _temporary_name(name: str) -> str:
    # The name is cut short so a long but legal output name still leaves room.
    return f".{name[:100]}.{os.urandom(4).hex()}.shoal-tmp"


def _unnamed_files_supported() -> bool:
    return hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")


def _open_temporary(directory: str, name: str):
    """A private (0600) temporary file in `directory` for output `name`.

    Returns (path, file): path is None for an unnamed file (Linux O_TMPFILE:
    it vanishes if the process dies, and commit() links it in); otherwise a
    hidden file beside `name` that the caller must remove."""
    if _unnamed_files_supported():
        try:
            fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError:
            pass                  # not on this file system: a named one (a real problem shows again there)
        else:
            return None, open(fd, "wb")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        path = os.path.join(directory, _temporary_name(name))
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            continue
        return path, open(fd, "wb")
    raise FileExistsError(errno.EEXIST, "no free temporary file name", directory)


def _fsync_directory(directory: str) -> None:
    # Makes the rename or link itself durable; not every platform lets a directory be opened.
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
    message rather than the input.  Without `overwrite` an existing `path`
    is never replaced, even one created while we wrote (the link fails).
    """

    def __init__(self, path: str, *, overwrite: bool, like: os.stat_result | None = None):
        super().__init__()
        self.path = path
        self.overwrite = overwrite
        self.like = like                      # copy mode and times from this (the input)
        self.write_error: OSError | None = None
        directory, name = os.path.split(os.path.abspath(path))
        self._directory, self._name = directory, name
        self.temp_path, self._file = _open_temporary(directory, name)   # temp_path None: unnamed
        if self.temp_path is not None:
            _live_temporaries.add(self.temp_path)
        self._done = False

    @property
    def file(self):
        """The temporary file itself (buffered, seekable), for writers that want a real file."""
        return self._file

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
        if not self._done:
            self.discard()
        return False

    def finish(self) -> None:
        """Flush and fsync the temporary file and give it its final mode and times."""
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as error:
            self.write_error = error
            raise
        self._copy_metadata(self._file.fileno())

    def open_written(self):
        """The finished temporary file, opened for reading (for --verify)."""
        if self.temp_path is None:
            return open(f"/proc/self/fd/{self._file.fileno()}", "rb")
        return open(self.temp_path, "rb")

    def commit(self) -> None:
        """Give the finished temporary file its real name (call `finish()` first)."""
        try:
            if self.temp_path is None:
                self._link_unnamed()
            elif self.overwrite:
                os.replace(self.temp_path, self.path)
            else:
                self._rename_without_clobbering()
        except OSError as error:
            self.write_error = error             # e.g. the name was taken meanwhile
            raise
        if self.temp_path is not None:
            _live_temporaries.discard(self.temp_path)
            self.temp_path = None
        self._done = True
        self._file.close()
        _fsync_directory(self._directory)
        super().close()

    def discard(self) -> None:
        """Close and delete the temporary file; safe to call more than once."""
        self._done = True
        try:
            self._file.close()                   # an unnamed file is gone with its last descriptor
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

    def _link_unnamed(self) -> None:
        # linkat() through /proc names the unnamed file, and fails if the
        # name exists: nothing is clobbered without -f.  With -f it gets a
        # temporary name first, then a rename replaces the old file at once.
        # (os.link only calls linkat, which follows the /proc link, when
        # given a directory descriptor.)
        source = f"/proc/self/fd/{self._file.fileno()}"
        directory = os.open(self._directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            try:
                os.link(source, self._name, dst_dir_fd=directory, follow_symlinks=True)
                return
            except FileExistsError:
                if not self.overwrite:
                    raise
            for _ in range(100):
                temporary = os.path.join(self._directory, _temporary_name(self._name))
                _live_temporaries.add(temporary)
                try:
                    os.link(source, os.path.basename(temporary), dst_dir_fd=directory, follow_symlinks=True)
                except FileExistsError:
                    _live_temporaries.discard(temporary)
                    continue
                try:
                    os.replace(temporary, self.path)
                except OSError:
                    try:
                        os.unlink(temporary)
                    except OSError:
                        pass
                    raise
                finally:
                    _live_temporaries.discard(temporary)
                return
            raise FileExistsError(errno.EEXIST, "no free temporary file name", self._directory)
        finally:
            os.close(directory)

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

    def _copy_metadata(self, fd: int) -> None:
        # Like xz: the output keeps the input's permission bits and times.
        # setuid/setgid/sticky are dropped; a new file follows the umask.
        if self.like is not None:
            mode = stat.S_IMODE(self.like.st_mode) & 0o777
        else:
            mode = 0o666 & ~_current_umask()
        os.chmod(fd, mode)
        if self.like is not None:
            try:
                os.utime(fd, ns=(self.like.st_atime_ns, self.like.st_mtime_ns))
            except OSError:
                pass                             # times are a courtesy, not a requirement


@contextmanager
def atomic_write(path, *, overwrite: bool = True):
    """Yields a binary file whose content `path` gets only if the block ends
    without an exception: flushed, fsynced, then renamed (linked) into place,
    with the mode a new file gets (0666 less the umask); otherwise it is
    discarded and `path` is as it was.  overwrite=False never replaces an
    existing `path` (FileExistsError).  An existing character device, block
    device or FIFO (/dev/stdout, /dev/null) is written into, never replaced."""
    path = os.fspath(path)
    try:
        special = is_special(os.stat(path).st_mode)
    except OSError:
        special = False
    if special:
        with open(path, "wb") as file:
            yield file
        return
    with AtomicOutput(path, overwrite=overwrite) as output:
        yield output.file
        output.finish()
        output.commit()


def write_bytes(path, data: bytes, *, overwrite: bool = True) -> None:
    """All of `data` to `path` by atomic_write: the old content or the new, never half."""
    with atomic_write(path, overwrite=overwrite) as file:
        file.write(data)

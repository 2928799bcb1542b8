"""Compiled code that cannot go stale: Numba's cache, keyed on the engine's sources.

Numba keys each cached function on the file that defines it only.  The
loop in school/swim.py inlines functions and bakes in tables from a dozen
other files, so an edit to one of those (a hash constant in fish/contexts.py,
say) would leave the cached loop running the old code: after an upgrade, one
machine would compute another model than the next, and no version number
could tell.  So every function of the engine (codec/, fish/, school/ and
this file) is cached in a folder named by a digest of all their sources:
any edit, or a new release, compiles afresh, and no cache can be stale.

The folder lies in the user's cache, never in the package:

    $SHOAL_CACHE_DIR, or $XDG_CACHE_HOME/shoal, or ~/.cache/shoal
        numba-<digest of the engine's sources>/...

(a temporary folder when none of these can be written).  Folders of other
digests that have not been used for CACHE_KEEP_DAYS days are removed.

The engine's modules use `from ..jit import njit` in place of Numba's.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numba

ENGINE = ("codec", "fish", "school")
CACHE_KEEP_DAYS = 30
_PACKAGE = Path(__file__).resolve().parent


def source_digest() -> str:
    """BLAKE2b-128 of every source file of the engine, by path and content."""
    h = hashlib.blake2b(digest_size=16)
    files = [Path(__file__).resolve()] + sorted(p for part in ENGINE for p in (_PACKAGE / part).rglob("*.py"))
    for path in files:
        h.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _cache_root() -> Path:
    if os.environ.get("SHOAL_CACHE_DIR"):
        return Path(os.environ["SHOAL_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "shoal"


def _prune(root: Path, keep: Path) -> None:
    """Remove the caches of other sources not used for CACHE_KEEP_DAYS days."""
    cutoff = time.time() - CACHE_KEEP_DAYS * 86400
    try:
        for folder in root.glob("numba-*"):
            if folder != keep and folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
    except OSError:
        pass


def _choose_cache_dir() -> str:
    name = f"numba-{source_digest()}"
    for root in (_cache_root(), Path(tempfile.gettempdir()) / f"shoal-{os.getuid()}"):
        folder = root / name
        if _writable(folder):
            os.utime(folder)            # in use: not pruned
            _prune(root, folder)
            return str(folder)
    raise RuntimeError(f"shoal: no writable folder for compiled code (tried {_cache_root()} and the temporary "
                       "folder); set SHOAL_CACHE_DIR")


CACHE_DIR = _choose_cache_dir()
_lock = threading.Lock()


@contextlib.contextmanager
def _caching_here():
    """Numba picks a function's cache folder when the function is decorated,
    from its config; set it for that moment only, so that other users of
    Numba in the same process keep theirs."""
    with _lock:
        before = numba.config.CACHE_DIR
        numba.config.CACHE_DIR = CACHE_DIR
        try:
            yield
        finally:
            numba.config.CACHE_DIR = before


def njit(*args, **options):
    """numba.njit, with the on-disk cache (cache=True) in CACHE_DIR."""
    if args:                       # @njit without arguments
        return njit(**options)(*args)
    decorate = numba.njit(**options)

    def apply(function):
        with _caching_here():
            return decorate(function)
    return apply

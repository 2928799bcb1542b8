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

Several processes may compile into one folder at once (a test run beside
a compression, `parallel shoal ::: *`).  Numba numbers a function's data
files in the order it saves them, so two processes that each compile a
different variant of one function (the loop compiled for level 7 and the
general loop share one name) can both pick number 1: one index entry then
names the other's machine code, and a later run executes the wrong loop
(it crashed in testing).  So each data file here is named by a digest of
its index key (signature, bytecode, closure), and the index is updated
under a lock: a key can only ever point at its own code.  The machine code
itself names functions by name, argument types and a per-process counter,
so variants of one function would share symbols across processes; the
loop's variants therefore have names of their own (swim.make_swim).

How the loop's steps (a fish's vote, a table lookup) become one function
with no calls inside depends on the loop:

- The loop compiled for one school's shape: LLVM inlines them, told to
  inline every call (INLINE_ALL) while that loop compiles.  Numba's own
  inlining copies each callee's IR at every call site and took half of
  such a loop's compile time: level 6 compiled in 76 s with it and 35 s
  without, on an idle 2-core machine, and codes as fast.
- The general loop (any school): Numba inlines them (they are marked
  `inline=into_general_loop`, asked at each call site), and LLVM keeps its
  usual threshold.  Inlined by LLVM, every rarely taken branch (attention,
  perturbations) came inline too, and level 9 ran 8-10% slower.

The threshold is an LLVM option, set for the process; it is raised only
while a shape's loop compiles (Numba compiles one function at a time, under
its compiler lock).

A step is called by compiled code only, so it is compiled without the
wrappers that let Python call it (no_cpython_wrapper): the wrapper of a step
that takes a Block unboxes every array of it, and those wrappers took 6 s of
level 6's compile.  Called from Python, a step raises TypeError (its entry
point there is null: it would crash); its Python function is .py_func.
With that, and a block's set-up in plain NumPy (engine.open_block), level 6
compiles in 24 s (47 s before both, measured the same day on the same idle
machine).

Numba loads only with the engine.  Importing it takes a third of a second,
and choosing a preset reads the fish modules (their preset entries), which
define compiled functions: a run that codes no block (a block of a byte is
always stored) must not pay for it.  So njit and intrinsic here decorate
lazily: they record the function and return a stand-in (Lazy), and Numba
is imported, and every recorded function really decorated, by load():
when the school loads its engine (school/engine_loading.py, before the first block
it codes), or when a stand-in is first used from Python (called, or asked
for an attribute of its dispatcher: a test, shoal score).  Numba resolves
a compiled function's globals when it compiles it, so load() puts each
dispatcher in the place of its stand-in in every module's globals (names
copied by `from x import f` too); a stand-in held anywhere else (a closure,
a container) types as its dispatcher (Lazy._numba_type_).  Functions
decorated after load() are decorated at once.

The engine's modules use `from ..jit import njit` (and `intrinsic`) in
place of Numba's.
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import pickle
import shutil
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path

ENGINE = ("codec", "fish", "school")
CACHE_KEEP_DAYS = 30
INLINE_ALL, INLINE_USUAL = 1_000_000, 250    # LLVM's inline thresholds (cost units; 250: its -O3 default)
GENERAL_LOOP = "general_swim"     # the name school/swim.py gives the loop compiled for any school
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


_cache_dir: str | None = None
_lock = threading.Lock()


def cache_dir() -> str:
    """The folder of compiled code for these sources, chosen (made, kept
    from pruning) when first asked: hashing the sources took 10 ms of a run
    that codes no block."""
    global _cache_dir
    if _cache_dir is None:
        _cache_dir = _choose_cache_dir()
    return _cache_dir


def __getattr__(name: str):
    """jit.CACHE_DIR: cache_dir(), computed when first read."""
    if name == "CACHE_DIR":
        return cache_dir()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@contextlib.contextmanager
def _caching_here():
    """Numba picks a function's cache folder when the function is decorated,
    from its config; set it for that moment only, so that other users of
    Numba in the same process keep theirs."""
    import numba
    folder = cache_dir()
    with _lock:
        before = numba.config.CACHE_DIR
        numba.config.CACHE_DIR = folder
        try:
            yield
        finally:
            numba.config.CACHE_DIR = before


@contextlib.contextmanager
def _index_lock(folder: str):
    """Hold the cache folder's lock (other processes wait) while an index is rewritten."""
    with open(os.path.join(folder, ".index.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _save_by_key(cache_file, key, data) -> None:
    """Numba's IndexDataCacheFile.save, with the data file named by its key:
    written first (atomically, by Numba), then entered in the index under
    the lock, so no entry ever names another key's code."""
    name = cache_file._data_name_pattern.replace(
        "{number:d}", hashlib.blake2b(pickle.dumps(key), digest_size=8).hexdigest())
    cache_file._save_data(name, data)
    with _index_lock(cache_file._cache_path):
        overloads = cache_file._load_index()
        if overloads.get(key) != name:
            overloads[key] = name
            cache_file._save_index(overloads)


def into_general_loop(call, caller_ir, callee_ir) -> bool:
    """Numba's inlining decision for a step of the loop (`inline=` of
    numba.njit), at one call site: inline it where the general loop calls
    it, directly or inside a step inlined there (see above)."""
    return caller_ir.func_id.func_qualname == GENERAL_LOOP


_INLINING_ALL: weakref.WeakSet = weakref.WeakSet()     # the dispatchers of shapes' loops


def _set_inline_threshold(cost: int) -> None:
    import llvmlite.binding
    llvmlite.binding.set_option("shoal", f"-inline-threshold={cost}")


def _inline_all_while_compiling():
    """A Numba compile-event listener that raises LLVM's inline threshold
    while a shape's loop compiles (the functions it compiles on the way
    included), and lowers it after."""
    import numba.core.event

    class InlineAllWhileCompiling(numba.core.event.Listener):
        def __init__(self):
            self.depth = 0

        def on_start(self, event):
            if event.data["dispatcher"] in _INLINING_ALL:
                self.depth += 1
                if self.depth == 1:
                    _set_inline_threshold(INLINE_ALL)

        def on_end(self, event):
            if event.data["dispatcher"] in _INLINING_ALL:
                self.depth -= 1
                if self.depth == 0:
                    _set_inline_threshold(INLINE_USUAL)
    return InlineAllWhileCompiling()


_load_lock = threading.RLock()
_loaded = False                 # Numba imported, every stand-in decorated
_pending: list = []             # the stand-ins (Lazy) not decorated yet, in order


class Lazy:
    """A compiled function (or an intrinsic) before Numba is loaded: its
    Python function (py_func) and how to decorate it.  Used from Python, it
    loads Numba (load()) and hands on to its dispatcher; compiled code
    never sees it once load() has replaced it by its dispatcher."""

    def __init__(self, function, decorate):
        self.py_func = function
        self._decorate = decorate           # function -> its dispatcher (Numba imported)
        self._dispatcher = None
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(self, name, getattr(function, name, None))

    def dispatcher(self):
        """The real thing: Numba's dispatcher (or intrinsic), loading Numba first if it is not."""
        if self._dispatcher is None:
            load()
        return self._dispatcher

    def __call__(self, *args, **kwargs):
        return self.dispatcher()(*args, **kwargs)

    def __getattr__(self, name):
        # only what the stand-in lacks: the dispatcher's attributes
        if name in ("py_func", "_decorate", "_dispatcher"):
            raise AttributeError(name)          # not set up (yet)
        if name.startswith("__") and name.endswith("__") and self._dispatcher is None:
            raise AttributeError(name)          # introspection (copy, inspect...) loads no Numba
        return getattr(self.dispatcher(), name)

    @property
    def _numba_type_(self):
        """Its dispatcher's type, for Numba's typeof: a stand-in held where
        load() does not look (a closure, a container) compiles as its dispatcher."""
        from numba.core.registry import cpu_target
        return cpu_target.typing_context.resolve_value_type(self.dispatcher())

    def __reduce__(self):
        return self.dispatcher().__reduce__()

    def __repr__(self):
        state = "" if self._dispatcher is None else " (loaded)"
        return f"<shoal.jit.Lazy {self.__module__}.{self.__qualname__}{state}>"


def _lazily(function, decorate):
    """decorate(function) now if Numba is loaded, else a stand-in that load() decorates."""
    with _load_lock:
        if _loaded:
            return decorate(function)
        stand_in = Lazy(function, decorate)
        _pending.append(stand_in)
        return stand_in


def load() -> None:
    """Import Numba and decorate every function recorded so far (once; the
    school calls it when it loads the engine), then put each dispatcher in
    the place of its stand-in wherever a module's globals hold one."""
    global _loaded
    if _loaded:
        return
    with _load_lock:
        if _loaded:
            return
        import numba.core.event
        numba.core.event.register("numba:compile", _inline_all_while_compiling())
        for stand_in in _pending:
            if stand_in._dispatcher is None:
                stand_in._dispatcher = stand_in._decorate(stand_in.py_func)
        done, _pending[:] = list(_pending), []
        _loaded = True
        if done:
            for module in list(sys.modules.values()):
                names = getattr(module, "__dict__", None)
                if not isinstance(names, dict):
                    continue
                for name, value in list(names.items()):
                    if type(value) is Lazy:
                        names[name] = value._dispatcher


def loaded() -> bool:
    """Whether load() has run (Numba imported, compiled functions decorated)."""
    return _loaded


def njit(*args, inline_all: bool = False, **options):
    """numba.njit, with the on-disk cache (cache=True) in CACHE_DIR, safe
    when processes compile into it at once (see above); inline_all: LLVM
    inlines every call in the function (a shape's loop).  Before load(): a
    stand-in (Lazy) that load() decorates."""
    if args:                       # @njit without arguments
        return njit(inline_all=inline_all, **options)(*args)
    if "inline" in options:
        # a step of the loop: only compiled code calls it, so it needs no
        # wrapper for Python callers (unboxing a Block took 6 s of level
        # 6's compile, one wrapper per step and shape)
        options = {"no_cpython_wrapper": True, "no_cfunc_wrapper": True, **options}

    def decorate(function):
        import numba
        with _caching_here():
            dispatcher = numba.njit(**options)(function)
        cache = getattr(dispatcher, "_cache", None)
        cache_file = getattr(cache, "_cache_file", None)
        if cache_file is not None:
            # numba.core.caching.IndexDataCacheFile; tests/test_compiled_cache.py
            # checks that every engine function gets this
            cache_file.save = functools.partial(_save_by_key, cache_file)
        if inline_all:
            _INLINING_ALL.add(dispatcher)
        if "inline" in options:
            _as_step(dispatcher)
        return dispatcher
    return lambda function: _lazily(function, decorate)


def _as_step(dispatcher) -> None:
    """Make a step's dispatcher refuse Python callers.  Compiled without a
    wrapper for them, its entry point from Python is a null pointer: a call
    would crash the process instead of raising."""
    global StepDispatcher
    if StepDispatcher is None:
        def refuse(self, *args, **kwargs):
            raise TypeError(f"{self.py_func.__module__}.{self.py_func.__qualname__} is a step of the compiled loop: "
                            "only compiled code calls it (its Python function is .py_func)")
        StepDispatcher = type("StepDispatcher", (type(dispatcher),), {"__call__": refuse, "__module__": __name__})
    dispatcher.__class__ = StepDispatcher


StepDispatcher = None       # numba's CPUDispatcher, refusing Python callers (made when Numba loads)


def _intrinsic(function):
    from numba.extending import intrinsic
    return intrinsic(function)


def intrinsic(function):
    """numba.extending.intrinsic, applied by load() (see njit).  The
    function's body imports what of Numba and llvmlite it uses: it runs
    when the code that calls it compiles."""
    return _lazily(function, _intrinsic)

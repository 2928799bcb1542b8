"""The engine (compiled code: school/engine.py and Numba), loaded when the
first block is coded: choosing a preset, counting what a block takes and
writing or reading stored blocks need none of it, and a block of a byte or
none is always stored (codec/compact.py: is_stored).

    engine().code_block_for(...)        # loads it the first time
    forget = when_engine_loads(hook)    # hook() runs just before it loads
"""
import threading
from typing import Callable

_lock = threading.Lock()
_module = None           # the engine, once engine() loaded it
_hooks: list = []        # what runs just before it loads


def engine():
    """The engine (school/engine.py), loaded by the first block coded, once
    the hooks waiting for it have run; Numba with it (jit.load: until then
    the compiled functions of the modules a preset reads are stand-ins)."""
    global _module
    if _module is None:
        with _lock:
            if _module is None:      # a block on another thread may have loaded it meanwhile
                while _hooks:
                    _hooks.pop(0)()
                from .. import jit
                jit.load()
                from . import engine as module
                _module = module
    return _module


def when_engine_loads(hook) -> Callable[[], None]:
    """Call hook() just before the school first loads the engine to code a
    block, or now if it has: code is compiled only after that.  The command
    line's compile notice starts listening to Numba then, so a run that
    codes no block loads no Numba for it.  Returns what forgets hook if it
    has not run yet."""
    with _lock:
        if _module is None:
            _hooks.append(hook)
            return lambda: _forget_hook(hook)
    hook()
    return lambda: None


def _forget_hook(hook) -> None:
    with _lock:
        if hook in _hooks:
            _hooks.remove(hook)

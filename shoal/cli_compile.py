"""A level's first use on a machine: its model's loops compile, once.

Numba compiles a level's loops the first time they run (one loop for each
of the level's schools: text, binary), from tens of seconds to minutes,
then keeps them in its cache (shoal/jit.py), from which later runs load
them in a fraction of a second.  The command line says so:

- CompileNotice(label, enabled): while shoal works, listens for Numba's
  compile events (fired only when a loop is not in the cache).  On a
  terminal (enabled), the first one puts "shoal: compiling level 6's model
  once (about 90 s)... 12 s" on one line of stderr, its seconds moving, and
  the line is cleared when compiling stops; inside a progress bar, the
  bar's label says it instead.  It counts the seconds spent compiling
  (notice.seconds), so --precompile can tell a level that was already
  compiled, and the next first use on this machine can say how long it
  took here.  Off a terminal (or with -q) shoal says nothing and does not
  listen, except for --precompile.  It listens from when Numba is loaded
  (school.when_engine_loads): a run that codes no block loads none.
- precompile(options): shoal --precompile [LEVELS].
- parse_levels("6", "6,9", "1-9", "all").
"""
from __future__ import annotations

import json
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

LEVELS = range(1, 10)

# Seconds to compile a level's loops (both schools) from an empty cache, as
# measured on this project's 2-core VM, idle, on 2026-12-05 (shoal
# --precompile N, one level at a time).  Levels 8 and 9 run the general loop
# (any school), levels 1-7 a loop compiled for each school's shape.  Once a
# model has compiled on this machine, its own time is used instead
# (compile-seconds.json beside the cache's folders).
MEASURED_SECONDS = {1: 19, 2: 16, 3: 16, 4: 17, 5: 30, 6: 38, 7: 21, 8: 47, 9: 47}
UNKNOWN_SECONDS = 50                  # a preset file's model, or an archive's
_RECORD = "compile-seconds.json"


def parse_levels(text: str) -> list[int]:
    """LEVELS of --precompile: "6", "6,9", "1-9", "3-5,9" or "all"."""
    if text.strip().lower() == "all":
        return list(LEVELS)
    levels = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(f"invalid levels {text!r}: write 6, 6,9, 1-9 or all")
        span = range(int(low), int(high or low) + 1)
        if not span:
            raise ValueError(f"invalid levels {text!r}: write a range low to high (1-9)")
        if span[0] not in LEVELS or span[-1] not in LEVELS:
            raise ValueError(f"invalid levels {text!r}: levels are 1 to 9")
        levels.extend(n for n in span if n not in levels)
    return levels


# -- how long it took here ------------------------------------------------

def _record_path() -> Path:
    from . import jit
    return Path(jit.CACHE_DIR).parent / _RECORD


def _recorded() -> dict:
    try:
        record = json.loads(_record_path().read_text())
        return record if isinstance(record, dict) else {}
    except (OSError, ValueError):
        return {}


def estimate(label: str, level: int | None) -> str:
    """How long the compile is likely to take, in words ("90 s", "7 min"):
    this machine's last compile of the same model, else the time measured
    for the level."""
    seconds = _recorded().get(label)
    if not isinstance(seconds, (int, float)) or seconds <= 0:
        seconds = MEASURED_SECONDS.get(level, UNKNOWN_SECONDS)
    if seconds >= 120:
        return f"{round(seconds / 60)} min"
    return f"{max(10, round(seconds / 10) * 10)} s"


def _remember(label: str, seconds: float) -> None:
    """Keep this compile's time for the next estimate; a cache that cannot be
    written costs only the estimate."""
    record = _recorded()
    record[label] = round(seconds, 3)
    try:
        _record_path().write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    except OSError:
        pass


# -- the notice -----------------------------------------------------------

class CompileNotice:
    """Listens for compiles (see the module's docstring).  label: "level 6",
    "the preset's", ...; level: for the estimate (None: unknown); enabled:
    draw the notice (on a terminal, without -q)."""

    TICK = 0.25                       # seconds between two redraws of the line
    # A loop's compile is a few in a row (its helpers, then the loop): the
    # notice stays this long after one ends, in case the next begins.
    GRACE = 1.0

    def __init__(self, label: str, level: int | None, enabled: bool, stream=None):
        self.label, self.level, self.enabled = label, level, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.seconds = 0.0            # spent compiling so far
        self._depth, self._began, self._ended = 0, 0.0, 0.0
        self._line, self._bar_label = "", None      # what is drawn now
        self._bar = None              # a progress bar's set_label(text or None), while one is drawn
        self._closed = False
        self._lock = threading.Condition()
        self._drawer = self._listener = self._message = None
        self._forget = lambda: None     # drops a listener that waits for the engine

    def message(self) -> str:
        if self._message is None:         # read once: the estimate reads a file
            self._message = f"compiling {self.label}'s model once (about {estimate(self.label, self.level)})"
        return self._message

    # Numba's events, on whichever thread compiles (nested: a loop's
    # callees compile inside it)
    def on_start(self) -> None:
        with self._lock:
            self._depth += 1
            if self._depth == 1:
                self._began = time.monotonic()
                self._lock.notify()

    def on_end(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                self._ended = time.monotonic()
                self.seconds += self._ended - self._began
                self._lock.notify()

    def use_bar(self, set_label) -> None:
        """While a progress bar is drawn, say it in the bar's label
        (set_label(None): the bar's own); use_bar(None) when it is gone."""
        with self._lock:
            self._write_line("")
            if set_label is None and self._bar is not None:
                self._bar(None)
            self._bar, self._bar_label = set_label, None
            self._lock.notify()

    def _draw(self) -> None:
        """The drawing thread: the notice while compiling, gone after."""
        with self._lock:
            while not self._closed:
                lull = time.monotonic() - self._ended
                if self._depth > 0:
                    elapsed = self.seconds + time.monotonic() - self._began
                    self._show(f"shoal: {self.message()}... {elapsed:.0f} s", self.message())
                    self._lock.wait(self.TICK)
                elif self.seconds and lull < self.GRACE:
                    self._lock.wait(self.GRACE - lull)
                else:
                    self._show("", None)
                    self._lock.wait()
            self._show("", None)

    def _show(self, line: str, bar_label: str | None) -> None:
        if self._bar is None:
            self._write_line(line)
        elif bar_label != self._bar_label:
            self._bar(bar_label)       # the bar has its own spinner and clock
            self._bar_label = bar_label

    def _write_line(self, line: str) -> None:
        if line != self._line:
            # \r and erase to the end: one line, rewritten in place, gone when done
            self.stream.write(f"\r\033[K{line}")
            self.stream.flush()
            self._line = line

    def __enter__(self):
        # Compiles come from Numba, which a stored block never loads: listen
        # once it is loaded, or once the school loads its engine
        if "numba" in sys.modules:
            self._listen()
        else:
            from . import school
            self._forget = school.when_engine_loads(self._listen)
        if self.enabled:
            self._drawer = threading.Thread(target=self._draw, name="shoal-compile-notice", daemon=True)
            self._drawer.start()
        return self

    def _listen(self) -> None:
        from numba.core import event
        self._listener = _listener_for(self)
        event.register("numba:compile", self._listener)

    def __exit__(self, kind, *exc):
        self._forget()
        if self._listener is not None:
            from numba.core import event
            event.unregister("numba:compile", self._listener)
        with self._lock:
            self._closed = True
            self._lock.notify()
        if self._drawer is not None:
            self._drawer.join()
        if self.seconds and kind is None:
            _remember(self.label, self.seconds)
        return False


def _listener_for(notice: CompileNotice):
    from numba.core import event

    class Listener(event.Listener):
        def on_start(self, ev):
            notice.on_start()

        def on_end(self, ev):
            notice.on_end()
    return Listener()


_active: list[CompileNotice] = []


@contextmanager
def watching(label: str, level: int | None, enabled: bool, count: bool = False):
    """A CompileNotice while the block runs (current() finds it: the progress
    bar does), or None when there is nothing to draw (not a terminal, -q)
    nor to count: then Numba is not even imported for it."""
    if not (enabled or count):
        yield None
        return
    with CompileNotice(label, level, enabled) as notice:
        _active.append(notice)
        try:
            yield notice
        finally:
            _active.remove(notice)


def current() -> CompileNotice | None:
    return _active[-1] if _active else None


# -- --precompile ---------------------------------------------------------

def _warm_up(preset) -> None:
    """Code the blocks that run (so compile, or load) every loop of the
    preset's schools, as compressing and decompressing use them (one compiled
    signature serves both)."""
    from . import school
    for block in school.WARM_UP_BLOCKS:
        school.compress_block(block, school.school_for(block, preset))


def precompile(options, say) -> int:
    """shoal --precompile: compile each level asked for (or the --preset
    file's model) unless compiled already, saying which; say(text) writes
    a line unless -q."""
    from . import school
    targets = []
    if options.precompile:
        targets = [(f"level {n}", n, school.level(n)) for n in parse_levels(options.precompile)]
    elif options.preset:
        targets = [("the preset", None, school.load(options.preset))]
    else:
        targets = [(f"level {options.level}", options.level, school.level(options.level))]
    if options.neural:
        targets = [(f"{label} with the neural fish", None, school.with_neural(preset)) for label, _, preset in targets]
    enabled = not options.quiet and sys.stderr.isatty()
    for label, level, preset in targets:
        with watching(label, level, enabled, count=True) as notice:
            _warm_up(preset)
        if notice.seconds:
            say(f"{label}: compiled in {notice.seconds:.0f} s")
        else:
            say(f"{label}: already compiled")
    return 0

"""Compiled code cannot go stale: Numba's cache is keyed on the engine's sources.

Numba keys a cached function on its own file only, while the loop in
school/swim.py inlines constants and functions from many files.  shoal
caches every engine function in a folder named by a digest of all of the
engine's sources (shoal/jit.py), so an edit anywhere compiles afresh.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import shoal
from shoal import jit

PACKAGE = Path(shoal.__file__).resolve().parent
DATA = b"".join(b"line %d: the school swims %s\n" % (i, b"north" if i % 3 else b"south") for i in range(300))
# a constant of every context fish's hash: times its argument (fish/contexts.py)
CONSTANT = "0x1B873593"


def _copy_package(tmp_path) -> Path:
    root = tmp_path / "copy"
    shutil.copytree(PACKAGE, root / "shoal", ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    return root


def _compress_with(root: Path, cache: Path) -> bytes:
    """Level 1's archive of DATA, made by the package copy at root in a new
    process (run in root: the working folder comes first on sys.path)."""
    script = ("import sys, shoal\n"
              f"assert shoal.__file__.startswith({str(root)!r}), shoal.__file__\n"
              f"sys.stdout.buffer.write(shoal.compress({DATA!r}, 1))\n")
    env = dict(os.environ, PYTHONPATH=str(root), SHOAL_CACHE_DIR=str(cache))
    return subprocess.run([sys.executable, "-c", script], env=env, cwd=root, capture_output=True, check=True).stdout


def test_the_cache_lies_in_the_users_cache_named_by_the_sources():
    assert Path(jit.CACHE_DIR).name == f"numba-{jit.source_digest()}"
    assert not Path(jit.CACHE_DIR).resolve().is_relative_to(PACKAGE)


def test_any_edit_to_the_engine_changes_the_digest(tmp_path):
    root = _copy_package(tmp_path)
    digest = lambda: subprocess.run(  # noqa: E731
        [sys.executable, "-c", "import shoal.jit as j; print(j.source_digest())"], capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=str(root), SHOAL_CACHE_DIR=str(tmp_path / "cache")), cwd=root,
        check=True).stdout
    before = digest()
    assert before.strip() == jit.source_digest()
    for part in jit.ENGINE:
        path = next((root / "shoal" / part).glob("*.py"))
        text = path.read_text()
        path.write_text(text + "\n# an edit\n")
        assert digest() != before, path
        path.write_text(text)
    assert digest() == before


def test_an_edited_constant_changes_the_output_without_clearing_any_cache(tmp_path):
    """The edit is in fish/contexts.py; the loop that inlines it lives in
    school/swim.py, whose own file did not change."""
    root = _copy_package(tmp_path)
    cache = tmp_path / "cache"
    first = _compress_with(root, cache)
    assert first == shoal.compress(DATA, 1)
    contexts = root / "shoal" / "fish" / "contexts.py"
    text = contexts.read_text()
    assert text.count(CONSTANT) == 1
    contexts.write_text(text.replace(CONSTANT, "0x1B873595"))
    second = _compress_with(root, cache)
    assert second != first
    assert len(list(cache.glob("numba-*"))) == 2


VARIANTS = '''
from shoal.jit import njit


def make(k):
    """One function, many compiled variants: as school/swim.py's make_swim."""
    @njit(cache=True)
    def variant(x):
        return x * 1000 + k
    return variant
'''

COMPILE = '''
import random, sys
import variants
order = list(range(8))
random.Random(int(sys.argv[1])).shuffle(order)
for k in order:
    assert variants.make(k)(1) == 1000 + k
'''


def test_processes_compiling_at_once_never_swap_each_others_code(tmp_path):
    """Numba numbers a function's data files as it saves them, so two
    processes compiling different variants of one function could both write
    file 1 and leave an index entry naming the other's code (a level 7 run
    beside a general-loop run crashed so).  shoal names each data file by
    its key: four processes compile eight variants at once, in different
    orders, and a fresh process then loads each one's own code."""
    (tmp_path / "variants.py").write_text(VARIANTS)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(PACKAGE.parent)]),
               SHOAL_CACHE_DIR=str(tmp_path / "cache"))
    runs = [subprocess.Popen([sys.executable, "-c", COMPILE, str(seed)], env=env, cwd=tmp_path,
                             stderr=subprocess.PIPE) for seed in range(4)]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read().decode()
    check = ("import variants\n"
             "print([variants.make(k)(1) for k in range(8)])\n")
    out = subprocess.run([sys.executable, "-c", check], env=env, cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == str([1000 + k for k in range(8)])
    data_files = list((tmp_path / "cache").rglob("variants.make*.nbc"))
    assert len(data_files) == 8          # one file per variant, whatever the order of saving


def test_every_engine_function_saves_by_key():
    from shoal.codec import rangecoder
    from shoal.fish import context_fish
    from shoal.school import engine, swim
    # a block's set-up is plain Python; a step of the loop, the loops and
    # the coder's ends are compiled
    for function in (context_fish.vote, engine.code_steps, swim.general_swim, rangecoder.encode_flush):
        assert function._cache._cache_file.save.func is jit._save_by_key


def test_a_stale_view_of_the_index_cannot_point_a_key_at_another_keys_code(tmp_path):
    """What two processes saving at once amount to: the second saves with a
    view of the index taken before the first saved.  Numba would then give
    both the data file number 1; here each key has its own file, so the
    first key's entry may be lost (it compiles again) but never names the
    second key's code."""
    from numba.core.caching import IndexDataCacheFile
    first = IndexDataCacheFile(str(tmp_path), "f-1.py311", source_stamp=("stamp", 1))
    second = IndexDataCacheFile(str(tmp_path), "f-1.py311", source_stamp=("stamp", 1))
    jit._save_by_key(first, ("sig-a",), b"code of a")
    second._load_index = lambda: {}          # it read the index before the first save
    jit._save_by_key(second, ("sig-b",), b"code of b")
    reader = IndexDataCacheFile(str(tmp_path), "f-1.py311", source_stamp=("stamp", 1))
    assert reader.load(("sig-a",)) in (None, b"code of a")
    assert reader.load(("sig-b",)) == b"code of b"
    assert len(list(tmp_path.glob("f-1.py311.*.nbc"))) == 2


def test_no_two_compiled_loops_share_a_name():
    """Numba names compiled code by the function's name, argument types and a
    counter that restarts in every process; every loop takes the same
    arguments.  Two loops of one name, each compiled first by its own process,
    were the same symbol once both were loaded from the cache, and code that
    called one ran the other (a crash).  So each shape's loop is named by its
    shape (swim.make_swim), and the general loop is general_swim (jit.GENERAL_LOOP)."""
    from shoal import school
    from shoal.school import engine, layout, swim
    schools = [s for n in range(1, 10) for s in school.level(n).schools().values()]
    shapes = {layout.structure(s.fish, s.cfg) for s in schools} - {None}
    names = [swim.make_swim(shape).py_func.__qualname__ for shape in shapes] + [swim.general_swim.py_func.__qualname__]
    assert len(set(names)) == len(names) == len(shapes) + 1
    assert all(name.startswith("swim_") for name in names[:-1])
    assert engine._swim_for(next(iter(shapes))).py_func.__qualname__ in names


LAZY = '''
import sys
from shoal import jit
from shoal.fish import match, voters
from shoal.school import layout
assert "numba" not in sys.modules and not jit.loaded()
assert isinstance(voters.vote, jit.Lazy)
assert isinstance(match.predicted_bit, jit.Lazy)     # a `from .contexts import` copy
assert voters.vote.py_func.__name__ == "vote" and "numba" not in sys.modules
held = layout.padded_width                 # a stand-in held where load() does not look: a closure

def twice_padded(n):
    return 2 * held(n)

from shoal import school
school._engine()                           # the engine loads, and Numba with it
from numba.core.dispatcher import Dispatcher
from shoal.school import swim
stand_ins = [f"{name}.{key}" for name, module in list(sys.modules.items()) if name.startswith("shoal")
             for key, value in vars(module).items() if isinstance(value, jit.Lazy)]
assert stand_ins == [], stand_ins
for f in (voters.vote, match.predicted_bit, layout.padded_width, swim.general_swim):
    assert isinstance(f, Dispatcher), f
assert match.predicted_bit is sys.modules["shoal.fish.contexts"].predicted_bit
text = school.level(6).text
assert swim.make_swim(layout.structure(text.fish, text.cfg)) in jit._INLINING_ALL     # decorated at once, after load
import numba
assert held(9) == 16 and numba.njit(twice_padded)(9) == 32
'''

CALLED_FIRST = '''
import sys
from shoal.codec import x86
from shoal.school import layout
assert "numba" not in sys.modules
assert layout.padded_width(9) == 16        # called from Python: Numba loads, the function compiles
from numba.core.dispatcher import Dispatcher
assert isinstance(layout.padded_width, Dispatcher) and isinstance(x86._scan, Dispatcher)   # all of them
'''


def test_numba_loads_with_the_engine_or_a_compiled_call():
    """Until the engine loads, the engine's compiled functions are stand-ins
    (no Numba: choosing a preset imports the fish modules); once it does,
    every module holds the dispatchers, and a stand-in held elsewhere (a
    closure) compiles as its dispatcher.  A stand-in called from Python
    (a tool, a test) loads Numba itself."""
    for script in (LAZY, CALLED_FIRST):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr


def test_a_step_called_from_python_raises_rather_than_crashes():
    """A step of the loop has no wrapper for Python callers (jit.njit), so
    its entry point from Python is null: called from Python it must raise
    a TypeError, not crash the process; its Python function still runs."""
    code = ("from shoal.school import attention\n"
            "assert attention.row_width.py_func(2) == 12\n"
            "try:\n    attention.row_width(2)\nexcept TypeError as error:\n    print(error)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "step of the compiled loop" in done.stdout

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

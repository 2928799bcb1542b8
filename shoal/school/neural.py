"""The neural fish in a school: which weights a preset means, and where to find them.

A preset names its neural fish by file (`{kind: neural, file: PATH}`); once
loaded, the school knows it only by the BLAKE2b-128 digest of the weights
file, which is what the canonical preset, and so every archive, records.  To
decode, the same weights must be found again: among the fish that ship with
shoal (shoal/fish/neural/shipped/), in the folders of $SHOAL_FISH_PATH, or
any file a preset named in this process.  A decoder without them says which
digest it needs instead of failing its checksums.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ShoalError

SHIPPED = Path(__file__).resolve().parent.parent / "fish" / "neural" / "shipped"
# The fish that --neural (school.with_neural) adds; how it was trained:
# docs/neural.md.  Every fish that ever shipped keeps shipping (archives
# name their fish by digest): text-2x128 was --neural's until the afternoon
# of 2026-12-05, english-2x192 until that evening.
DEFAULT_FISH = SHIPPED / "english-2x192-24k.safetensors"
FIRST_FISH = SHIPPED / "text-2x128.safetensors"
_known: dict[str, Path] = {}       # digest -> a file seen in this process
_loaded: dict[str, object] = {}    # digest -> NeuralFish


def _digest(path: Path) -> str:
    from ..fish.neural.weights import digest      # the fish's own definition of its identity
    try:
        return digest(path.read_bytes()).hex()
    except OSError as error:
        raise ShoalError(f"neural fish {path}: {error.strerror or error}") from None


def identify(entry: dict) -> str:
    """The digest a preset's neural-fish entry stands for."""
    if "file" in entry:
        path = Path(entry["file"]).expanduser()
        if path.is_dir():
            path = path / "fish.safetensors"
        digest = _digest(path)
        if "digest" in entry and entry["digest"] != digest:
            raise ShoalError(f"neural fish {path} has digest {digest}, the preset expects {entry['digest']}")
        _known[digest] = path
        return digest
    digest = entry.get("digest")
    if not isinstance(digest, str) or len(digest) != 32:
        raise ShoalError("preset: a neural fish needs a file (or the 32-hex-digit digest of one)")
    return digest


def _search() -> list[Path]:
    folders = [SHIPPED] + [Path(p) for p in os.environ.get("SHOAL_FISH_PATH", "").split(os.pathsep) if p]
    return [f for folder in folders if folder.is_dir() for f in sorted(folder.glob("*.safetensors"))]


def find(digest: str):
    """The NeuralFish whose weights file has this digest (loaded once)."""
    if digest in _loaded:
        return _loaded[digest]
    from ..fish.neural import NeuralFish         # NumPy and Numba only, but not needed otherwise
    path = _known.get(digest)
    if path is None:
        path = next((f for f in _search() if _digest(f) == digest), None)
    if path is None:
        raise ShoalError(f"this needs the neural fish with digest {digest}, which is not installed "
                         f"(looked in {SHIPPED} and $SHOAL_FISH_PATH)")
    fish = NeuralFish.load(str(path))
    if fish.digest.hex() != digest:
        raise ShoalError(f"neural fish {path} changed while in use")
    _loaded[digest] = fish
    return fish

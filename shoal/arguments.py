"""What the Python interface's arguments and an archive's header choose: the
preset to code with and how a header names it (a level's one-byte name, a
deflated preset, a school file's digest), the preset a header names, what a
block takes to decode, and the checked values of memlimit, threads and
block_size.  Used by api.py, files.py and blocks.py; raises what api.py's
callers expect (TypeError / ValueError for bad arguments, ShoalError for
what an archive holds).
"""
from __future__ import annotations

import operator
import os
import zlib
from functools import lru_cache
from importlib import resources

from . import school, school_file
from .codec import container
from .codec.container import StreamHeader
from .errors import ShoalError

# memlimit=NO_MEMLIMIT: decode whatever an archive asks for (no preset comes
# near 2^63 bytes).  memlimit=None is the default: school.DEFAULT_MEMLIMIT to
# decode, compress_default() to compress.
NO_MEMLIMIT = (1 << 63) - 1

# A shipped level's preset is written as its name ("level6") rather than its
# 550-byte JSON: small files would otherwise pay for it.  The digest still
# pins the exact parameters, and a reader whose level differs says so.
_LEVEL_NAME = "level{}"
# Any other preset is written deflated (zlib's raw deflate) against a fixed
# dictionary, the canonical JSON of levels 6 and 9 as first released: an
# evolved preset's 630 bytes become about 70.  The dictionary is part of the
# format (docs/format.md) and never changes.
_PACKED = b"z"
_DICTIONARY = resources.files("shoal").joinpath("data/preset_dictionary.txt").read_bytes()


def pack(canonical: bytes) -> bytes:
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=_DICTIONARY)
    return _PACKED + deflate.compress(canonical) + deflate.flush()


def unpack(packed: bytes) -> bytes:
    """The canonical JSON a deflated preset holds, inflating at most
    MAX_PRESET_BYTES + 1 bytes however much it would inflate to."""
    inflate = zlib.decompressobj(-15, zdict=_DICTIONARY)
    try:
        # All input is given at once: whatever inflate can emit it emits
        # here, up to the bound (no flush(), whose output is unbounded).
        canonical = inflate.decompress(packed[1:], container.MAX_PRESET_BYTES + 1)
    except zlib.error as error:
        raise ShoalError(f"corrupted archive: unreadable preset ({error})") from None
    if len(canonical) > container.MAX_PRESET_BYTES or inflate.unconsumed_tail:
        raise ShoalError(f"corrupted archive: preset inflates to more than {container.MAX_PRESET_BYTES:,} bytes")
    if not inflate.eof or inflate.unused_data:
        raise ShoalError("corrupted archive: unreadable preset")
    return canonical


# ---- arguments ---------------------------------------------------------------

def _integer(value, what: str) -> int:
    """value as an int (anything with __index__ but a bool), or TypeError."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, not bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}") from None


def _is_integer(value) -> bool:
    return not isinstance(value, (bool, str, bytes)) and hasattr(type(value), "__index__")


def _level(level, what: str = "level") -> int:
    n = _integer(level, what)
    if not 1 <= n <= 9:
        raise ValueError(f"{what} must be an integer 1..9, got {n}")
    return n


def choose_preset(level, preset, learned=None) -> tuple[school.Preset, bytes, bytes | None]:
    """The preset to code with, how the archive names it, and the digest of
    the school file it comes from (None: none).  A preset given replaces
    level; an integer preset is a level (as in lzma); a school file (path or
    school_file.SchoolFile) replaces both, and the archive names it by its
    digest alone (its preset's canonical form is returned as the name, which
    is not written)."""
    if learned is not None:
        if preset is not None:
            raise ValueError("give a school or a preset, not both")
        chosen = school_file.given(learned)
        return chosen.preset, chosen.preset.canonical, chosen.digest
    if preset is None or _is_integer(preset) or isinstance(preset, bool):
        n = _level(level) if preset is None else _level(preset, "preset (a level)")
        return school.level(n), _LEVEL_NAME.format(n).encode(), None
    if isinstance(preset, dict):
        preset = school.from_dict(preset)
    elif isinstance(preset, (str, os.PathLike)):
        preset = school.load(preset)
    elif not isinstance(preset, school.Preset):
        raise TypeError("preset must be a level 1..9, a preset file's path, a dict or a school.Preset, "
                        f"not {type(preset).__name__}")
    for n in range(1, 10):
        if school.level(n).digest == preset.digest:
            return preset, _LEVEL_NAME.format(n).encode(), None
    n = school.levels.neural_level_of(preset)
    if n is not None:
        return preset, school.levels.NEURAL_LEVEL_NAME.format(n).encode(), None
    return preset, min(preset.canonical, pack(preset.canonical), key=len), None


@lru_cache(maxsize=32)
def archive_preset(name: bytes, digest: bytes) -> school.Preset:
    """The preset a stream header names; its digest must match."""
    if not name:        # format version 2 names a school file by its digest alone
        return school_file.find(digest).preset
    if name.startswith(_PACKED):
        name = unpack(name)
    if name.startswith(b"{"):
        preset = school.from_canonical(name)
        if preset.digest != digest:
            raise ShoalError("corrupted archive: preset does not match its digest")
        return preset
    for n in range(1, 10):
        if name == _LEVEL_NAME.format(n).encode():
            preset = school.level(n)
            if preset.digest != digest:
                preset = school.retired_level(n, digest)
            if preset is None:
                raise ShoalError(f"archive was made with a different level {n} preset (digest "
                                 f"{digest.hex()}; this shoal has {school.level(n).digest.hex()}): "
                                 "decode it with the shoal version that wrote it")
            return preset
        if name == school.levels.NEURAL_LEVEL_NAME.format(n).encode():
            preset = school.levels.find_neural_level(n, digest)
            if preset is None:
                raise ShoalError(f"archive was made with level {n} and a neural fish this shoal does not ship "
                                 f"(preset digest {digest.hex()}): decode it with the shoal version that wrote it")
            return preset
    raise ShoalError(f"archive names a preset this shoal does not know: {name[:40]!r}")


@lru_cache(maxsize=64)
def _block_need(name: bytes, digest: bytes, block_size: int) -> int:
    """Bytes one block of up to block_size bytes takes to decode with the
    preset a header names (school.decode_memory, from the preset alone)."""
    return school.decode_memory(archive_preset(name, digest), block_size)


def stream_need(header: StreamHeader) -> int:
    """What one block of this stream takes to decode: no block holds more
    than the header's block size, nor than the size it declares."""
    largest = header.block_size
    if header.original_size is not None:
        largest = max(1, min(largest, header.original_size))
    return _block_need(header.preset, header.digest, largest)


def memlimit_of(memlimit, compressing: bool = False) -> int:
    if memlimit is None:
        return compress_default() if compressing else school.DEFAULT_MEMLIMIT
    limit = _integer(memlimit, "memlimit")
    if limit <= 0:
        raise ValueError(f"memlimit must be a number of bytes > 0 (None: the default, "
                         f"NO_MEMLIMIT: none), got {limit}")
    return limit


def compress_default() -> int:
    """What the blocks compressed at once may take when no memlimit is given:
    a quarter of this machine's RAM (xz's default for its threads), and at
    least a reader's default, so that -T 2 -9 (2 GiB a block) runs both
    blocks on a machine of 16 GiB or more."""
    try:
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        ram = 0
    return max(school.DEFAULT_MEMLIMIT, ram // 4)


def threads_of(threads):
    """A thread count (0: one per CPU), or a runner as it is (see ordered_map)."""
    if hasattr(threads, "submit") and hasattr(threads, "window"):
        return threads
    n = _integer(threads, "threads")
    if n < 0:
        raise ValueError(f"threads must be an integer >= 0 (0: one per CPU), got {n}")
    return n or os.cpu_count() or 1


def block_size_of(preset: school.Preset, block_size) -> int:
    if block_size is None:
        return preset.block_size
    n = _integer(block_size, "block size")
    if not 1 <= n <= container.MAX_BLOCK_SIZE:
        raise ValueError(f"block size must be an integer 1..{container.MAX_BLOCK_SIZE}, got {n}")
    return n


def as_bytes(data, what: str = "data") -> memoryview:
    try:
        return memoryview(data).cast("B")
    except TypeError:
        raise TypeError(f"{what} must be a bytes-like object, not {type(data).__name__}") from None


def know_school(learned) -> None:
    """Load a school file given to a reader, so streams naming it find it."""
    if learned is not None:
        school_file.given(learned)

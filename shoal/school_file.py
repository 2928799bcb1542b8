"""School files: a school learned from a user's samples, in one file.

`shoal learn SAMPLES -o NAME.school` writes one; `shoal -D NAME.school`,
`shoal.compress(data, school=...)` and the other API calls use it, as
zstd's -D uses a dictionary.  A school file is a safetensors file:

    tensors   preset   uint8: the school's preset, canonical JSON; its
                       primer is named by digest alone (school/primer.py)
              primer   uint8: the primer's text
    metadata  format   "shoal-school"
              version  "1"
              digest   the school's identity (hex, below)
              made     JSON: how `shoal learn` made it (samples, base
                       level, time, what it chose, the gain it measured)

A school's identity is its preset's digest: BLAKE2b-128 of the canonical
preset, which names the primer by the BLAKE2b-128 digest of its text.  So
the digest covers everything decoding reads, and nothing else: `made` can
say anything without changing which archives the school decodes.  An
archive names its school by the first 8 bytes of this digest, the
school's id (format version 2, identity kind 2: docs/format.md), and a
reader finds the school among those given to it (school=, -D), those
loaded earlier in the process, and the *.school files in the folders of
$SHOAL_SCHOOL_PATH.

A file that is not one, is damaged or holds a preset or primer that does
not match its digest is refused with a ShoalError; sizes are checked
before anything large is read.
"""
from __future__ import annotations

import dataclasses
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import school
from .atomic import write_bytes
from .errors import ShoalError
from .school import primer

FORMAT, VERSION = "shoal-school", "1"
SUFFIX = ".school"
MAX_PRIMER = 16 << 20          # bytes of primer a school file may carry
MAX_PRESET = 64 << 10          # bytes of canonical preset
_MAX_HEADER = 1 << 20          # bytes of safetensors header (names, offsets, metadata)


@dataclass(frozen=True)
class SchoolFile:
    """A loaded school file: its preset (which reads its primer) and how it was made."""
    preset: school.Preset
    primer: bytes
    made: dict
    path: str | None = None

    @property
    def digest(self) -> bytes:
        return self.preset.digest

    @property
    def id(self) -> str:
        """How archives name it (hex): the first 8 bytes of its digest."""
        return self.digest[:8].hex()


_known: dict[bytes, SchoolFile] = {}      # digest -> a school file loaded in this process


def _bad(path, why: str) -> ShoalError:
    return ShoalError(f"{path}: not a usable school file: {why}")


def _header(data: bytes, path) -> dict:
    """The safetensors header of `data` (checked before the library reads it)."""
    if len(data) < 8:
        raise _bad(path, "too short")
    (length,) = struct.unpack("<Q", data[:8])
    if not 2 <= length <= min(_MAX_HEADER, len(data) - 8):
        raise _bad(path, "not a safetensors file")
    try:
        header = json.loads(data[8:8 + length])
    except (ValueError, RecursionError):
        raise _bad(path, "not a safetensors file") from None
    if not isinstance(header, dict) or not isinstance(header.get("__metadata__"), dict):
        raise _bad(path, "no metadata")
    return header


def from_bytes(data: bytes, path=None) -> SchoolFile:
    """A school file's contents, checked: format, sizes and digest."""
    meta = _header(data, path)["__metadata__"]
    if meta.get("format") != FORMAT:
        raise _bad(path, "its format is not shoal-school")
    if meta.get("version") != VERSION:
        raise _bad(path, f"school file version {meta.get('version')!r}; this shoal reads version {VERSION}")
    from safetensors import SafetensorError
    from safetensors.numpy import load
    try:
        tensors = load(data)
    except (SafetensorError, ValueError, TypeError) as e:
        raise _bad(path, f"damaged ({str(e)[:80]})") from None
    canonical, text = tensors.get("preset"), tensors.get("primer")
    for name, array, most in (("preset", canonical, MAX_PRESET), ("primer", text, MAX_PRIMER)):
        if array is None or array.dtype != np.uint8 or array.ndim != 1 or not 0 < array.size <= most:
            raise _bad(path, f"its {name} is missing or not 1..{most} bytes")
    text, canonical = text.tobytes(), canonical.tobytes()
    try:
        wanted = json.loads(canonical)["primer"]["digest"]
    except (ValueError, RecursionError, TypeError, KeyError):
        raise _bad(path, "damaged: its preset is unreadable or reads no primer") from None
    if wanted != primer.digest(text):
        raise _bad(path, "damaged: its primer does not match its preset")
    primer.learned(text)
    try:
        preset = school.from_canonical(canonical)
    except ShoalError as e:
        raise _bad(path, str(e)) from None
    if preset.primer is None or "name" in preset.primer:
        raise _bad(path, "its preset does not read the primer it carries")
    if meta.get("digest") != preset.digest.hex():
        raise _bad(path, "damaged: its contents do not match its digest")
    try:
        made = json.loads(meta.get("made", "{}"))
    except (ValueError, TypeError, RecursionError):     # how it was made is only a note
        made = {}
    return SchoolFile(dataclasses.replace(preset, own_loop=True), text, made if isinstance(made, dict) else {},
                      None if path is None else str(path))


def read(path) -> SchoolFile:
    """Load the school file at `path` (and know it in this process)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_PRIMER + MAX_PRESET + _MAX_HEADER:
            raise _bad(path, f"{size:,} bytes is larger than any school file")
        data = path.read_bytes()
    except OSError as e:
        raise ShoalError(f"{path}: cannot read school file: {e.strerror or e}") from None
    found = from_bytes(data, path)
    _known.setdefault(found.digest, found)
    return found


_by_path: dict[str, tuple[tuple, SchoolFile]] = {}    # path -> (its size and times when read, the school)


def given(value) -> SchoolFile:
    """A school as the API takes it: a SchoolFile or a school file's path
    (read again only when the file has changed since: a small file's
    compress would otherwise spend a millisecond or two reading it)."""
    if isinstance(value, SchoolFile):
        _known.setdefault(value.digest, value)
        return value
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        try:
            info = os.stat(path)
            stamp = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        except OSError:
            stamp = None
        if stamp is not None and path in _by_path and _by_path[path][0] == stamp:
            return _by_path[path][1]
        found = read(path)
        _by_path[path] = (stamp, found)
        return found
    raise TypeError(f"school must be a school file's path or a SchoolFile, not {type(value).__name__}")


def loaded() -> list[SchoolFile]:
    """The school files known in this process (given, read or found): what
    another process needs to decode what this one can (cluster.RayRunner)."""
    return list(_known.values())


def write(path, spec: dict, text: bytes, made: dict, small: int | None = None) -> SchoolFile:
    """Write a school file: preset `spec` with `text` for its primer (named by
    digest; any primer the spec had is replaced) and how it was made.  A
    text block reads the whole primer, or only its last `small` bytes when
    given; a large block starts from the school the whole primer left, grown
    (primer `grow`: read once in a process).  Written whole or not at all."""
    from safetensors.numpy import save
    entry = {"digest": primer.learned(text), "grow": True}
    if small is not None and small < len(text):
        entry["bytes"] = small
    spec = dict(spec, primer=entry)
    preset = school.from_dict(spec)
    meta = {"format": FORMAT, "version": VERSION, "digest": preset.digest.hex(), "made": json.dumps(made)}
    data = save({"preset": np.frombuffer(preset.canonical, dtype=np.uint8),
                 "primer": np.frombuffer(bytes(text), dtype=np.uint8)}, metadata=meta)
    path = Path(path)
    try:
        write_bytes(path, data)
    except OSError as e:
        raise ShoalError(f"{path}: cannot write school file: {e.strerror or e}") from None
    return read(path)


def _search_path() -> list[Path]:
    return [Path(p) for p in os.environ.get("SHOAL_SCHOOL_PATH", "").split(os.pathsep) if p]


def _digest_of(path: Path) -> str | None:
    """A file's recorded digest, from its header alone (None: not a school file)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            length = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
            meta = _header(head + f.read(min(length, _MAX_HEADER)), path)["__metadata__"]
    except (OSError, ShoalError):
        return None
    digest = meta.get("digest")
    return digest if isinstance(digest, str) and meta.get("format") == FORMAT else None


def find(school_id: bytes) -> SchoolFile:
    """The school an archive names by its id (the first bytes of its digest):
    given or loaded in this process, or a *.school file in a folder of
    $SHOAL_SCHOOL_PATH."""
    for digest, known in _known.items():
        if digest.startswith(school_id):
            return known
    for folder in _search_path():
        for path in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else ():
            if (_digest_of(path) or "").startswith(school_id.hex()):
                return read(path)
    raise ShoalError(f"this archive needs the school file {school_id.hex()}: give it with -D FILE (school= in "
                     "the API), or put it in a folder of $SHOAL_SCHOOL_PATH")

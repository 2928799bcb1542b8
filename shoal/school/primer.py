"""Primers: text a school reads before each block, so it starts out knowing.

A school starts every block from empty tables, mixers that trust every fish
alike and APMs that are the identity: on a small file most of the cost is
that learning.  A preset with `primer: NAME` has its text school read the
primer first (engine.code_block's `primed` bytes): every fish, mixer and APM
learns from it exactly as when coding it, but nothing is coded; then the
block is coded with a school that already knows English, code and markup,
and whose match fish can point into the primer.  It costs the time of
reading the primer once per block; the decoder reads the same bytes first.

Primers ship with shoal (shoal/school/primers/NAME.xz, xz-compressed text);
how each was made is in docs/primers.md.  A preset names one by name, and
its canonical form by name and BLAKE2b-128 digest of the text, so an archive
records exactly what its school read; a decoder without that primer says so.
A learned primer (one that `shoal learn` chose from a user's samples and a
school file carries) has no name: the school file hands its text to
`learned()` when it is loaded, and presets name it by digest alone.
"""
from __future__ import annotations

import functools
import hashlib
import lzma
from importlib import resources

from ..errors import ShoalError
from ..fish.context_fish import fit_bits


def _shipped(name: str) -> bytes | None:
    entry = resources.files(__package__).joinpath(f"primers/{name}.xz")
    return lzma.decompress(entry.read_bytes()) if entry.is_file() else None


def names() -> list[str]:
    """The primers this shoal ships."""
    folder = resources.files(__package__).joinpath("primers")
    return sorted(e.name[:-3] for e in folder.iterdir() if e.name.endswith(".xz"))


def digest(text: bytes) -> str:
    return hashlib.blake2b(text, digest_size=16).hexdigest()


_learned: dict[str, bytes] = {}     # digest -> text of a learned primer loaded in this process


def learned(text: bytes) -> str:
    """Make a learned primer known to this process; its digest, by which
    presets name it ({digest: ...}, without a name)."""
    found = digest(text)
    _learned[found] = bytes(text)
    return found


def _learned_entry(given: dict) -> dict:
    wanted = given.get("digest")
    if wanted not in _learned:
        raise ShoalError(f"this needs the learned primer {wanted}, which no school file loaded in this process "
                         "carries: give the school file it was learned in (-D / school=)")
    return {"digest": wanted}


def identify(given) -> dict:
    """A preset's primer entry for `given`: a shipped primer's name, or a
    mapping with its name and, optionally, `bytes` (read only the primer's
    last BYTES bytes: a cheaper primer for a faster level), `below` (read it
    only before blocks shorter than BELOW bytes: on long blocks the school
    learns enough from the block itself, and the primer's fixed cost buys
    little), `grow: true` (a large block starts from the school the whole
    primer, `bytes` or not, left in tables fitted to it, grown, so the
    primer is read once in a process, not once a large block:
    school._code_after_primer; `bytes` then bounds only what smaller blocks
    read) and `digest` (as canonical presets carry it), which must match
    the shipped primer of that name; or a mapping with the digest (and
    options) of a learned primer, without a name.  The entry made has name
    and digest (BLAKE2b-128 of the whole primer) and the options given."""
    name = given.get("name") if isinstance(given, dict) else given
    if isinstance(given, dict) and name is None and isinstance(given.get("digest"), str):
        found, whole = _learned_entry(given), _learned.get(given["digest"], b"")
    elif not isinstance(name, str) or not name.replace("-", "").isalnum():
        raise ShoalError(f"preset: primer must be the name of a shipped primer ({', '.join(names())}), got {given!r}")
    else:
        whole = _text(name)
        if whole is None:
            raise ShoalError(f"this needs the primer {name!r}, which is not installed (shoal ships: "
                             f"{', '.join(names())})")
        found = {"name": name, "digest": digest(whole)}
    if not isinstance(given, dict):
        return found
    if not set(given) <= {"name", "digest", "bytes", "below", "grow"}:
        raise ShoalError(f"preset: primer takes name, bytes, below, grow (and digest), got {sorted(given)}")
    if "grow" in given:
        if given["grow"] is not True:
            raise ShoalError(f"preset: primer.grow must be true (or left out), got {given['grow']!r}")
        found["grow"] = True
    if "digest" in given and given["digest"] != found["digest"]:
        raise ShoalError(f"this needs the primer {name!r} with digest {given['digest']}; this shoal's has "
                         f"digest {found['digest']}: use the shoal version that wrote it")
    for key, most in (("bytes", len(whole)), ("below", 1 << 40)):
        if key in given:
            value = given[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
                raise ShoalError(f"preset: primer.{key} must be an integer in 1..{most}, got {value!r}")
            found[key] = value
    return found


def reads(entry: dict | None, block_size: int) -> bool:
    """Whether a school with this primer entry reads it before a block of
    `block_size` bytes."""
    return entry is not None and ("below" not in entry or block_size < entry["below"])


@functools.lru_cache(maxsize=None)
def _text(name: str) -> bytes | None:
    return _shipped(name)


def text(entry: dict) -> bytes:
    """The bytes a school reads for a primer entry made by identify()."""
    whole = whole_text(entry)
    return whole[-entry["bytes"]:] if "bytes" in entry else whole


def whole_text(entry: dict) -> bytes:
    """The whole primer of an entry made by identify(), `bytes` or not:
    what a school whose primer grows starts a large block from."""
    return _text(entry["name"]) if "name" in entry else _learned[entry["digest"]]


def grows(entry: dict | None, block_size: int, largest_fit: int) -> bool:
    """Whether a block of block_size bytes starts from the school the whole
    primer left, grown (the entry has `grow`, and the whole primer and the
    block need tables fitted to more than 2^largest_fit slots)."""
    return bool(entry and entry.get("grow")) and fit_bits(len(whole_text(entry)) + block_size) > largest_fit

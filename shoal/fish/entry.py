"""Reading a preset's settings: checked integers, booleans and keys.

Each voter (fish/voters.py) reads its own preset entry with these; the
preset (school/preset.py) reads the rest of the preset with them too, so
every setting is refused with the same kind of message.
"""
from ..errors import ShoalError


def check_int(value, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ShoalError(f"preset: {name} must be an integer in {lo}..{hi}, got {value!r}")
    return value


def check_bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise ShoalError(f"preset: {name} must be true or false, got {value!r}")
    return value


def check_keys(mapping: dict, allowed, where: str) -> None:
    unknown = set(mapping) - set(allowed)
    if unknown:
        raise ShoalError(f"preset: {where}: unknown keys {sorted(unknown)}")


# Where a fish swims (`only:`): each name stands for kinds of block
# (school/kinds.py detects them: text, structured text, binary, x86); any,
# every block, is left out of a preset's canonical form.
ONLY = {"any": frozenset({"text", "structured", "binary", "x86"}), "text": frozenset({"text", "structured"}),
        "binary": frozenset({"binary", "x86"}), "structured": frozenset({"structured"}),
        "other-text": frozenset({"text"}), "x86": frozenset({"x86"}), "other-binary": frozenset({"binary"})}


def check_only(value, where: str):
    """A fish's `only:` checked and in canonical form: any, one name, or a
    sorted list of two or more names that together stand for less than
    every block."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or any(not isinstance(n, str) or n not in ONLY for n in names):
        raise ShoalError(f"preset: {where}.only must be one of {', '.join(ONLY)} or a list of them, got {value!r}")
    if covers(names) == ONLY["any"]:
        return "any"
    names = sorted(set(names))
    return names[0] if len(names) == 1 else names


def covers(only) -> frozenset:
    """The kinds of block an `only:` value (a name or a list) stands for."""
    if isinstance(only, str):
        return ONLY[only]
    return frozenset().union(*(ONLY[n] for n in only))

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

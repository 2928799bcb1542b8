"""Experiments: settings a preset may name for research, never a shipped level.

`perturb` tests how the school copes when its inputs fail it:

    perturb: {blind: 3, blind_at: 100000, blind_value: noise, shuffle: 65536}

from byte blind_at on, the mixer inputs of fish 3 (its place in `fish`,
from 0) read blind_value (an integer vote, or noise) instead of the fish;
every `shuffle` bytes the mixer's inputs are dealt in a new order.  The
attention mixer (`mixer: attention`, school/attention.py) is the other
experiment.  Both run only in the general loop: the loop compiled for a
shipped level's shape has no trace of them (layout.structure), and their
cfg slots are marked as experiments' in slots.py.

This module reads the setting and fills its cfg slots (no compiled code:
preset.py uses it); experiments.py is the perturbation the loop runs.
"""
import numpy as np

from ..errors import ShoalError
from ..fish.entry import check_int, check_keys
from .slots import BLIND_NOISE, C_BLIND_AT, C_BLIND_COUNT, C_BLIND_INPUT, C_BLIND_VALUE, C_SHUFFLE

PERTURB_KEYS = {"blind", "blind_at", "blind_value", "shuffle"}


def read_perturb(given, nfish: int) -> dict:
    """A preset's perturb mapping, checked, in canonical form."""
    if not isinstance(given, dict):
        raise ShoalError(f"preset: perturb must be a mapping, got {given!r}")
    check_keys(given, PERTURB_KEYS, "perturb")
    out = {"shuffle": check_int(given.get("shuffle", 0), "perturb.shuffle", 0, 1 << 30)}
    if "blind" in given:
        value = given.get("blind_value", "noise")
        if value != "noise":
            value = check_int(value, "perturb.blind_value (an integer vote or noise)", -2047, 2047)
        out.update(blind=check_int(given["blind"], "perturb.blind (a fish's place in the list)", 0, nfish - 1),
                   blind_at=check_int(given.get("blind_at", 0), "perturb.blind_at", 0, 1 << 40), blind_value=value)
    elif set(given) & {"blind_at", "blind_value"}:
        raise ShoalError("preset: perturb.blind_at and blind_value go with perturb.blind")
    return out


def configure_perturb(perturb: dict, cfg: np.ndarray, blind_inputs: tuple[int, int]) -> None:
    """Fill the perturbation's cfg slots; blind_inputs: the first mixer input
    of the blinded fish and how many it has."""
    cfg[C_SHUFFLE] = perturb.get("shuffle", 0)
    if "blind" in perturb:
        cfg[C_BLIND_INPUT], cfg[C_BLIND_COUNT] = blind_inputs
        cfg[C_BLIND_AT] = perturb["blind_at"]
        value = perturb["blind_value"]
        cfg[C_BLIND_VALUE] = BLIND_NOISE if value == "noise" else value

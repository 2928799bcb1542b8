"""The search space: CMA-ES vectors <-> school presets.

The space (space.yaml, or --space FILE) is a list of genes; a gene is an
ordered tuple of values (the integers lo..hi, a few log-spaced integers, a
list of choices, or off/on).  A search vector x in R^d, one coordinate per
gene, maps to a preset in three documented steps:

1. fold: each coordinate is folded into [0, 1] by reflection at the borders,
   a triangle wave of period 2 (0.3 -> 0.3, 1.2 -> 0.8, -0.1 -> 0.1, 2.3 ->
   0.3; NaN and infinities -> 0.5).  CMA-ES can then search unbounded, and
   points close in x stay close in the space;
2. pick: a gene of n values cuts [0, 1] into n equal bins and takes the value
   of the bin u falls in (u = 1 belongs to the last bin);
3. repair what single genes cannot promise: a school with no fish gets the
   candidate whose on-gene is strongest (largest u), and a subset (the mixer
   gates) with fewer than `min` or more than `max` members gains its
   strongest absent members or loses its weakest present ones.

So every vector maps to a preset that school.from_dict accepts (the test
suite checks this with hypothesis).  encode() goes the other way for the
starting point: each value of the base preset becomes the centre of its bin,
so the initial vector decodes to the base preset exactly.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import yaml

from .. import school
from ..errors import ShoalError
from ..school.preset import FISH_OMITTED_DEFAULTS, OMITTED_DEFAULTS, unmark_if_stranded

LOG_STEPS = 16


@dataclass(frozen=True)
class Gene:
    """One coordinate of the search vector: which of `values` it picks."""
    name: str
    values: tuple

    def pick(self, u: float):
        return self.values[min(int(u * len(self.values)), len(self.values) - 1)]

    def centre(self, value) -> tuple[float, bool]:
        """u at the centre of value's bin, and whether value is exactly one of ours
        (otherwise the nearest number, or the middle value, stands in)."""
        if value in self.values:
            index, exact = self.values.index(value), True
        elif isinstance(value, (int, float)) and all(isinstance(v, (int, float)) for v in self.values):
            index, exact = int(np.argmin([abs(v - value) for v in self.values])), False
        else:
            index, exact = len(self.values) // 2, False
        return (index + 0.5) / len(self.values), exact


ON_OFF = (False, True)


@dataclass
class FishSlot:
    """A candidate fish: fixed keys, evolved keys, and whether it swims at all."""
    fixed: dict
    genes: dict                  # key -> index of its gene
    on: int                      # index of the on/off gene


@dataclass
class Setting:
    """One key of a preset section: a fixed value, one gene, or a subset of on/off genes."""
    section: str
    key: str
    fixed: object = None
    gene: int | None = None
    members: list = field(default_factory=list)     # (value, gene index) of a subset
    least: int = 0
    most: int = 0


def fold(x) -> np.ndarray:
    """Step 1: R^d -> [0, 1]^d by reflection at 0 and 1."""
    x = np.asarray(x, dtype=np.float64)
    x = np.where(np.isfinite(x), x, 0.5)
    r = np.mod(x, 2.0)
    return np.clip(np.where(r > 1.0, 2.0 - r, r), 0.0, 1.0)


class Space:
    """A loaded search space: decode vectors, encode the starting preset."""

    def __init__(self, raw, source: str = "space"):
        if not isinstance(raw, dict) or not isinstance(raw.get("fish"), list) or not raw["fish"]:
            raise ShoalError(f"{source}: a search space needs a non-empty 'fish' list")
        self.raw, self.source = raw, source
        self.genes: list[Gene] = []
        self.base_level = raw.get("base", school.DEFAULT_LEVEL)
        self.time_model = raw.get("time_model") or {}
        if not isinstance(self.time_model, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.time_model.values()):
            raise ShoalError(f"{source}: time_model must map names to numbers")
        self.fish = [self._slot(i, entry) for i, entry in enumerate(raw["fish"])]
        self.settings = [self._setting(section, key, spec)
                         for section, keys in raw.items() if section not in ("base", "fish", "time_model", "primer", "transform")
                         for key, spec in self._section(section, keys).items()]
        # the primer is one gene whose values are whole primer entries (null: none)
        self.primer_gene = self._gene("primer", raw["primer"]) if "primer" in raw else None
        # so is the binary school's transform (null: none; x86: codec/x86.py)
        self.transform_gene = self._gene("transform", raw["transform"]) if "transform" in raw else None
        self.digest = hashlib.blake2b(json.dumps(raw, sort_keys=True).encode(), digest_size=8).hexdigest()
        self._check()

    # -- loading ----------------------------------------------------------------

    @classmethod
    def load(cls, path=None) -> "Space":
        """The space in file `path`, or the built-in one."""
        if path is None:
            text, source = resources.files(__package__).joinpath("space.yaml").read_text(), "space.yaml"
        else:
            try:
                with open(path) as f:
                    text, source = f.read(), str(path)
            except OSError as e:
                raise ShoalError(f"{path}: cannot read search space: {e.strerror}") from None
        try:
            return cls(yaml.safe_load(text), source)
        except yaml.YAMLError as e:
            raise ShoalError(f"{source}: not a valid search space: {e}") from None

    def _section(self, name, keys) -> dict:
        if not isinstance(keys, dict):
            raise ShoalError(f"{self.source}: section {name!r} must be a mapping")
        return keys

    def _gene(self, name: str, spec) -> int | None:
        """Index of the new gene spec describes, or None for a fixed value."""
        if isinstance(spec, list):
            if len(spec) != 2 or not all(isinstance(v, int) for v in spec) or spec[0] > spec[1]:
                raise ShoalError(f"{self.source}: {name}: a range is [lo, hi], integers, lo <= hi")
            values = tuple(range(spec[0], spec[1] + 1))
        elif isinstance(spec, dict) and set(spec) <= {"log", "steps"} and "log" in spec:
            lo, hi = spec["log"] if isinstance(spec["log"], list) and len(spec["log"]) == 2 else (0, 0)
            if not (isinstance(lo, int) and isinstance(hi, int) and 0 < lo <= hi):
                raise ShoalError(f"{self.source}: {name}: log range must be 0 < lo <= hi, integers")
            values = tuple(sorted({int(round(v)) for v in np.geomspace(lo, hi, spec.get("steps", LOG_STEPS))}))
        elif isinstance(spec, dict) and set(spec) == {"choices"}:
            if not isinstance(spec["choices"], list) or not spec["choices"]:
                raise ShoalError(f"{self.source}: {name}: choices must be a non-empty list")
            values = tuple(spec["choices"])
        elif isinstance(spec, (dict, list)):
            raise ShoalError(f"{self.source}: {name}: unknown gene {spec!r}")
        else:
            return None
        self.genes.append(Gene(name, values))
        return len(self.genes) - 1

    def _slot(self, i: int, entry) -> FishSlot:
        if not isinstance(entry, dict) or "kind" not in entry:
            raise ShoalError(f"{self.source}: fish {i}: each candidate needs a kind")
        name = f"fish[{i}].{entry['kind']}"
        fixed, genes = {}, {}
        for key, spec in entry.items():
            index = self._gene(f"{name}.{key}", spec) if key != "kind" else None
            if index is None:
                fixed[key] = spec
            else:
                genes[key] = index
        self.genes.append(Gene(f"{name}.on", ON_OFF))
        return FishSlot(fixed, genes, len(self.genes) - 1)

    def _setting(self, section: str, key: str, spec) -> Setting:
        name = f"{section}.{key}"
        if isinstance(spec, dict) and "subset" in spec:
            values = spec["subset"]
            if not isinstance(values, list) or not values or set(spec) - {"subset", "min", "max"}:
                raise ShoalError(f"{self.source}: {name}: a subset is {{subset: [...], min: N, max: N}}")
            members = []
            for value in values:
                self.genes.append(Gene(f"{name}.{value}", ON_OFF))
                members.append((value, len(self.genes) - 1))
            return Setting(section, key, members=members, least=spec.get("min", 0),
                           most=spec.get("max", len(values)))
        index = self._gene(name, spec)
        return Setting(section, key, fixed=spec) if index is None else Setting(section, key, gene=index)

    def _check(self) -> None:
        """Fail early, with the space's name, if its corners are not valid presets."""
        for corner in (0.0, 1.0):
            try:
                school.from_dict(self.decode(np.full(self.dimension, corner)))
            except ShoalError as e:
                raise ShoalError(f"{self.source}: the vector of all {corner:g} does not decode to "
                                 f"a valid preset: {e}") from None

    # -- vectors -> presets -----------------------------------------------------

    @property
    def dimension(self) -> int:
        return len(self.genes)

    def base_spec(self) -> dict:
        return school.level(self.base_level).spec

    def decode(self, x) -> dict:
        """The preset (a dict for school.from_dict) that vector x stands for."""
        u = fold(x)
        if u.shape != (self.dimension,):
            raise ShoalError(f"search vector has {u.size} coordinates; the space has {self.dimension}")
        pick = lambda index: self.genes[index].pick(u[index])   # noqa: E731 - reads best inline
        swimming = [slot for slot in self.fish if pick(slot.on)]
        if not swimming:
            swimming = [max(self.fish, key=lambda slot: u[slot.on])]
        spec = {"block_size": self.base_spec()["block_size"],
                "fish": unmark_if_stranded([dict(slot.fixed, **{k: pick(g) for k, g in slot.genes.items()})
                                            for slot in swimming])}
        for s in self.settings:
            if s.members:
                value = self._subset(s, u)
            else:
                value = s.fixed if s.gene is None else pick(s.gene)
            spec.setdefault(s.section, {})[s.key] = value
        if self.primer_gene is not None and pick(self.primer_gene) is not None:
            spec["primer"] = dict(pick(self.primer_gene))
        if self.transform_gene is not None and pick(self.transform_gene) is not None:
            spec["transform"] = pick(self.transform_gene)
        return spec

    @staticmethod
    def _subset(setting: Setting, u: np.ndarray) -> list:
        chosen = [i for i, (_, g) in enumerate(setting.members) if u[g] >= 0.5]
        # repair by strength; sorted() is stable, so ties go to the earlier member
        by_strength = sorted(range(len(setting.members)), key=lambda i: -u[setting.members[i][1]])
        for i in by_strength:
            if len(chosen) >= setting.least:
                break
            if i not in chosen:
                chosen.append(i)
        while len(chosen) > setting.most:
            chosen.remove(min(chosen, key=lambda i: u[setting.members[i][1]]))
        return [setting.members[i][0] for i in sorted(chosen)]

    # -- presets -> vectors -----------------------------------------------------

    def encode(self, spec: dict) -> tuple[np.ndarray, list[str]]:
        """A vector in [0, 1]^d that decodes to spec (a normalised preset), and
        notes on whatever of spec the space cannot express exactly."""
        u = np.array([(len(g.values) // 2 + 0.5) / len(g.values) for g in self.genes])
        notes = []
        for slot in self.fish:
            u[slot.on] = 0.25
        free = list(self.fish)
        for fish in spec["fish"]:
            slot = self._slot_for(fish, free, exact=True) or self._slot_for(fish, free, exact=False)
            if slot is None:
                notes.append(f"fish {fish} has no candidate in the space: left out")
                continue
            free.remove(slot)
            u[slot.on] = 0.75
            for key, g in slot.genes.items():
                u[g], exact = self.genes[g].centre(_fish_value(fish, key))
                if not exact:
                    notes.append(f"fish {fish}: {key} outside the space, nearest value used")
        for s in self.settings:
            value = spec.get(s.section, {}).get(s.key, OMITTED_DEFAULTS.get(s.section, {}).get(s.key))
            if s.members:
                for member, g in s.members:
                    u[g] = 0.75 if member in (value or []) else 0.25
                if value is not None and self._subset(s, u) != list(value):
                    notes.append(f"{s.section}.{s.key}: {value} cannot be expressed")
            elif s.gene is not None:
                u[s.gene], exact = self.genes[s.gene].centre(value)
                if not exact:
                    notes.append(f"{s.section}.{s.key}: {value!r} outside the space, nearest value used")
            elif value != s.fixed:
                notes.append(f"{s.section}.{s.key}: fixed at {s.fixed!r} in the space, base has {value!r}")
        if self.primer_gene is not None:
            entry = spec.get("primer")
            entry = {k: v for k, v in entry.items() if k != "digest"} if entry else None   # digest: derived
            u[self.primer_gene], exact = self.genes[self.primer_gene].centre(entry)
            if not exact:
                notes.append(f"primer: {entry} is not among the space's primers")
        if self.transform_gene is not None:
            u[self.transform_gene], exact = self.genes[self.transform_gene].centre(spec.get("transform"))
            if not exact:
                notes.append(f"transform: {spec.get('transform')} is not among the space's transforms")
        elif spec.get("transform") is not None:
            notes.append(f"transform: {spec['transform']} is not in the space (decoded presets have none)")
        expressed = {(s.section, s.key) for s in self.settings}
        for section, values in spec.items():
            if isinstance(values, dict) and not (section == "primer" and self.primer_gene is not None):
                notes += [f"{section}.{key}: not in the space (decoded presets use the default)"
                          for key in values if (section, key) not in expressed]
        return u, notes

    def _slot_for(self, fish: dict, free: list, *, exact: bool) -> FishSlot | None:
        for slot in free:
            if slot.fixed.get("kind") != fish["kind"] or set(fish) - set(slot.fixed) - set(slot.genes):
                continue
            if any(fish.get(k) != v for k, v in slot.fixed.items()):
                continue
            if not exact or all(self.genes[g].centre(_fish_value(fish, k))[1] for k, g in slot.genes.items()):
                return slot
        return None

    def start(self) -> tuple[np.ndarray, list[str]]:
        """The initial vector: the base level's preset, encoded."""
        return self.encode(copy.deepcopy(self.base_spec()))


def _fish_value(fish: dict, key: str):
    """A fish's setting, with the default that canonical presets leave out."""
    return fish.get(key, FISH_OMITTED_DEFAULTS.get(key))


def describe(space: Space) -> str:
    """One line per gene, for --show-space and the docs."""
    lines = []
    for g in space.genes:
        shown = ", ".join(map(str, g.values)) if len(g.values) <= 8 else \
            f"{g.values[0]}..{g.values[-1]} ({len(g.values)} values)"
        lines.append(f"{g.name:<28} {shown}")
    return "\n".join(lines) + f"\n{space.dimension} genes"

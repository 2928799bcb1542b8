"""Parameter-space merging of neural fish fine-tuned from one base: the recipe,
its search vector, and the merge itself.

Each parent i has a task vector tau_i = theta_i - theta_base.  The
parameters fall into groups (--groups):

  model   one group
  layer   the embedding, each block, the head
  part    the embedding, each block's attention (qkv, proj), each block's
          MLP (fc, down), the head (the default)

A recipe gives every parent a coefficient lam[i, g] per group g, and with
sparsification a TIES density d_i and a DARE drop rate p_i per parent.  Per
tensor:

  1. DARE (--dare, Yu et al. 2023): drop each entry of tau_i with probability
     p_i and scale the survivors by 1 / (1 - p_i).  The drops come from one
     uniform field per parent and tensor, drawn once from the seed (an entry
     is dropped when its number is below p_i): a recipe always makes the same
     model, and nearby drop rates drop nearly the same entries, which is what
     CMA-ES needs of its fitness.
  2. TIES trim (--ties, Yadav et al. 2023): keep the fraction d_i of the
     entries of tau_i largest in magnitude, zero the rest.
  3. TIES sign election: s = sign(sum_i lam_i tau_i) per entry; an entry of
     tau_i of the other sign is dropped (mask m_i).
  4. TIES disjoint merge: theta = base + (sum_i lam_i) * sum_i lam_i m_i tau_i
     / sum_i lam_i m_i, the lam-weighted mean of the entries that agree,
     scaled by sum_i lam_i (TIES's lambda); with equal coefficients this is
     TIES exactly.  An entry where no parent agrees stays at the base.
  Without TIES: theta = base + sum_i lam_i tau_i (task arithmetic; lam = 1/N
  everywhere is uniform averaging of the parents).

The search vector has one coordinate per (group, parent) coefficient, then
one density and one drop rate per parent when those are on.  Each coordinate
is folded into [0, 1] by reflection (space.fold, as for school presets: CMA-ES
searches unbounded) and scaled to its range: lam in [0, 2], d in [0.05, 1],
p in [0, 0.9].  The start is uniform averaging, no trimming, no drops.

Merging is computed in float64 and rounded to float32 once, so a recipe that
gives one parent lam = 1, the others 0 (density 1, no drops) returns that
parent's weights bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .space import fold

GROUPINGS = ("model", "layer", "part")
COEFFICIENT = (0.0, 2.0)
DENSITY = (0.05, 1.0)
DROP = (0.0, 0.9)


def group_of(name: str, grouping: str) -> str:
    """The group of a parameter of shoal.train.model.ByteTransformer."""
    if grouping == "model":
        return "all"
    if name.startswith("wte."):
        return "embed"
    if name.startswith("blocks."):
        _, index, part = name.split(".")[:3]
        return f"block{index}" + (f".{part}" if grouping == "part" else "")
    return "head"


def _scale(u, bounds):
    return bounds[0] + np.asarray(u) * (bounds[1] - bounds[0])


def _unscale(value, bounds):
    return (np.asarray(value, dtype=np.float64) - bounds[0]) / (bounds[1] - bounds[0])


@dataclass
class Recipe:
    """How to merge: coefficients [parents, groups], density and drop [parents]."""
    coefficients: np.ndarray
    density: np.ndarray
    drop: np.ndarray

    def as_dict(self, groups: list[str], parents: list[str]) -> dict:
        return {"coefficients": {g: [round(float(c), 6) for c in self.coefficients[:, j]]
                                 for j, g in enumerate(groups)},
                "parents": parents, "density": [round(float(d), 6) for d in self.density],
                "drop": [round(float(p), 6) for p in self.drop]}


class RecipeSpace:
    """Search vectors <-> recipes, for given parents, groups and sparsification."""

    def __init__(self, names: list[str], parents: int, grouping: str, ties: bool, dare: bool):
        if grouping not in GROUPINGS:
            raise ValueError(f"groups must be one of {', '.join(GROUPINGS)}, not {grouping!r}")
        self.names, self.parents, self.grouping, self.ties, self.dare = names, parents, grouping, ties, dare
        self.groups = list(dict.fromkeys(group_of(n, grouping) for n in names))
        self.group_index = {n: self.groups.index(group_of(n, grouping)) for n in names}

    @property
    def dimension(self) -> int:
        return self.parents * (len(self.groups) + self.ties + self.dare)

    def decode(self, x) -> Recipe:
        u = fold(x)
        n, g = self.parents, len(self.groups)
        coefficients = _scale(u[:n * g].reshape(n, g), COEFFICIENT)
        rest = u[n * g:]
        density = _scale(rest[:n], DENSITY) if self.ties else np.ones(n)
        drop = _scale(rest[-n:], DROP) if self.dare else np.zeros(n)
        return Recipe(coefficients, density, drop)

    def encode(self, recipe: Recipe) -> np.ndarray:
        parts = [_unscale(recipe.coefficients, COEFFICIENT).ravel()]
        if self.ties:
            parts.append(_unscale(recipe.density, DENSITY))
        if self.dare:
            parts.append(_unscale(recipe.drop, DROP))
        return np.concatenate(parts)

    def uniform(self) -> Recipe:
        n = self.parents
        return Recipe(np.full((n, len(self.groups)), 1.0 / n), np.ones(n), np.zeros(n))

    def only(self, parent: int) -> Recipe:
        """All of one parent, none of the others."""
        coefficients = np.zeros((self.parents, len(self.groups)))
        coefficients[parent] = 1.0
        return Recipe(coefficients, np.ones(self.parents), np.zeros(self.parents))


class Merger:
    """Task vectors of the parents against the base, and the merge of a recipe."""

    def __init__(self, base: dict, parents: list[dict], space: RecipeSpace, seed: int):
        self.space = space
        self.base = {n: base[n].detach().to(torch.float64) for n in space.names}
        self.tasks = {n: torch.stack([p[n].detach().to(torch.float64) for p in parents]) - self.base[n]
                      for n in space.names}
        generator = torch.Generator().manual_seed(seed)
        self.fields = ({n: torch.rand(self.tasks[n].shape, generator=generator, dtype=torch.float64)
                        for n in space.names} if space.dare else {})

    def merge(self, recipe: Recipe) -> dict[str, torch.Tensor]:
        """The merged parameters (float32), by name."""
        return {n: self._merge(n, recipe).to(torch.float32) for n in self.space.names}

    def _merge(self, name: str, recipe: Recipe) -> torch.Tensor:
        tau = self.tasks[name]                                  # [parents, ...]
        extra = (1,) * (tau.dim() - 1)
        lam = torch.as_tensor(recipe.coefficients[:, self.space.group_index[name]]).view(-1, *extra)
        if self.space.dare:
            drop = torch.as_tensor(recipe.drop).view(-1, *extra)
            tau = torch.where(self.fields[name] < drop, 0.0, tau / (1 - drop))
        if not self.space.ties:
            return self.base[name] + (lam * tau).sum(0)
        tau = torch.stack([trim(t, float(d)) for t, d in zip(tau, recipe.density)])
        elected = torch.sign((lam * tau).sum(0))
        agree = (torch.sign(tau) == elected) & (tau != 0)
        weight = (lam * agree).sum(0)
        mean = torch.where(weight > 0, (lam * agree * tau).sum(0) / weight.clamp(min=1e-300), 0.0)
        return self.base[name] + lam.sum() * mean


def trim(tau: torch.Tensor, density: float) -> torch.Tensor:
    """tau with all but its `density` fraction of largest-magnitude entries zeroed."""
    keep = max(1, round(density * tau.numel()))
    if keep >= tau.numel():
        return tau
    magnitude = tau.abs().flatten()
    threshold = magnitude.kthvalue(tau.numel() - keep + 1).values
    return torch.where(tau.abs() >= threshold, tau, 0.0)

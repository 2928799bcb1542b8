"""Score: what scoring one model on one input gives (bits of each unit, and
where each unit ends), the same for every kind of model, so that totals and
position profiles are computed one way.  models.py makes the scorers,
hf.py the Hugging Face one; both return a Score, and neither imports the
other for it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Score:
    """One model on one input."""
    size: int                          # bytes scored
    costs: np.ndarray                  # bits of each unit (float64)
    ends: np.ndarray | None = None     # byte offset after each unit; None: every unit is one byte
    coded: int | None = None           # real coded payload bytes (shoal models)
    blocks: int = 1                    # independent blocks the data was coded in
    notes: list[str] = field(default_factory=list)

    @property
    def bits(self) -> float:
        return float(self.costs.sum())

    @property
    def bpb(self) -> float:
        return self.bits / self.size

    def unit_positions(self) -> np.ndarray:
        """The byte position each unit's bits are charged to (its last byte)."""
        return np.arange(self.size) if self.ends is None else self.ends - 1

"""The neural fish's shape (NeuralConfig) and the fixed constants of its
integer scheme.

Both sides read this file: the torch model (shoal/train/model.py) builds and
fake-quantises itself from it, the integer inference (fish.py, kernels.py)
runs from it.  The constants are part of the weights file's identity: change
one and bump SCHEME, since old files would then decode differently.

Number formats (an integer n "at scale s" means the real value n * s):
  residual stream      int32 at 2^-RESID_FRAC
  activations          int8 values (|n| <= ACT_MAX) at a per-tensor scale
  weights              int8 at a per-output-channel scale
  q, k before RoPE     |n| <= QK_FINE_MAX at scale(q)/2^QK_FINE_FRAC
  logits, exponents    2^-EXP_FRAC nats
  exp table            exp(-i / 2^EXP_FRAC) * EXP_ONE, i < EXP_SIZE
  RoPE cos table       cos(2 pi n / ROPE_PERIOD) * ROPE_ONE
  output               FREQ_TOTAL integer frequencies per byte, each >= 1
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

SCHEME = 1                    # version of the integer scheme below
START_BYTE = 0                # what a fresh lane "just saw" before its first byte
RESID_FRAC = 12
RESID_LIMIT = 1 << 24         # residual clamp (|x| < 4096.0): keeps every product in int64
NORM_EPS_INT = 1 << (2 * RESID_FRAC - 16)   # eps = 2^-16 on the mean square, in residual units^2
NORM_FRAC = 16                # fixed-point bits of the norm's sqrt(d)/scale constant
ACT_MAX = 127
QK_FINE_FRAC = 8
QK_FINE_MAX = 32767
EXP_FRAC = 8
EXP_ONE = 1 << 20
EXP_SIZE = 4096               # exp(-16 nats) * 2^20 < 0.5: the table ends in zeros
ROPE_PERIOD = 1 << 16
ROPE_ONE = 1 << 14
GELU_HALF = 2048              # MLP pre-activation grid: index in [-GELU_HALF, GELU_HALF]
FREQ_BITS = 16
FREQ_TOTAL = 1 << FREQ_BITS
MULT_BITS = 30                # requantisation multipliers lie in [2^30, 2^31]
FLOAT32_EXACT = 1 << 24       # integers below this are exact in float32
FLOAT64_EXACT = 1 << 53


@dataclass(frozen=True)
class NeuralConfig:
    n_layer: int = 2
    n_embd: int = 128
    n_head: int = 4
    seg_len: int = 128        # tokens per segment (the unit of training and of memory turnover)
    mem_len: int = 128        # keys/values kept from before the segment (Transformer-XL memory)
    mlp_ratio: int = 4
    rope_base: float = 10000.0
    n_kv_head: int | None = None   # key/value heads (GQA: query heads share them); None: n_head

    def __post_init__(self):
        if self.n_kv_head is None:
            object.__setattr__(self, "n_kv_head", self.n_head)
        problems = []
        for name in ("n_layer", "n_embd", "n_head", "n_kv_head", "seg_len", "mlp_ratio"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                problems.append(f"{name} must be a positive integer")
        if not isinstance(self.mem_len, int) or self.mem_len < 0:
            problems.append("mem_len must be an integer >= 0")
        if not problems and self.n_embd % self.n_head:
            problems.append(f"n_embd {self.n_embd} is not a multiple of n_head {self.n_head}")
        if not problems and self.n_head % self.n_kv_head:
            problems.append(f"n_head {self.n_head} is not a multiple of n_kv_head {self.n_kv_head}")
        if not problems and self.head_dim % 2:
            problems.append(f"head size {self.head_dim} must be even (RoPE rotates pairs)")
        if not (isinstance(self.rope_base, (int, float)) and self.rope_base > 1):
            problems.append("rope_base must be a number > 1")
        if problems:
            raise ValueError("bad neural fish config: " + "; ".join(problems))

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @property
    def kv_dim(self) -> int:
        return self.n_kv_head * self.head_dim

    @property
    def hidden(self) -> int:
        return self.mlp_ratio * self.n_embd

    @property
    def window(self) -> int:
        """Keys a query may reach: the memory plus its own segment."""
        return self.mem_len + self.seg_len

    def rope_steps(self) -> list[int]:
        """RoPE frequency j as an integer step of the angle table: the angle at
        position p is 2 pi ((p * step_j) mod ROPE_PERIOD) / ROPE_PERIOD, so
        rotations are exactly periodic and a table lookup at any position."""
        half = self.head_dim // 2
        return [max(1, round(self.rope_base ** (-j / half) * ROPE_PERIOD / (2 * math.pi)))
                for j in range(half)]

    def gemm_terms(self) -> int:
        """The longest dot product in any GEMM (its inner dimension K), or in
        attention's q.k (head_dim, always shorter)."""
        return max(self.n_embd, self.hidden)

    def gemm_dtype_ok(self, dtype: str) -> bool:
        """int8 x int8 products summed K at a time stay exact in this float type:
        K * 127 * 127 < 2^24 (float32, K <= 1040) or < 2^53 (float64)."""
        bound = FLOAT32_EXACT if dtype == "float32" else FLOAT64_EXACT
        return self.gemm_terms() * ACT_MAX * ACT_MAX < bound

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "NeuralConfig":
        fields = json.loads(text)
        if not isinstance(fields, dict):
            raise ValueError("config is not a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(unknown)}")
        return cls(**fields)

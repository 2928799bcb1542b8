"""The neural fish's weights file: one safetensors file, checked on load.

Layout (names follow the torch model, shoal/train/model.py):

  embed                   int32 [256, d]    token embedding, at the residual scale
  blocks.{i}.norm         int64 [2]         attention and MLP norm constants (sqrt(d)/scale, Q16)
  blocks.{i}.qkv.weight   int8  [d+2kv, d]  rows: q (heads in order), k, v (kv = n_kv_head * head_dim)
  blocks.{i}.qkv.mult/shift  int64 [d+2kv]  acc -> q, k fine grid (before RoPE); v int8
  blocks.{i}.score        int64 [2]         (mult, shift): score difference -> 2^-8 nats
  blocks.{i}.proj.*       int8 [d, d], int64 [d]      attention output -> residual
  blocks.{i}.fc.*         int8 [h, d], int64 [h]      acc -> GELU input grid
  blocks.{i}.gelu         int8  [2*GELU_HALF+1] GELU, input grid -> int8 activation
  blocks.{i}.down.*       int8 [d, h], int64 [d]      MLP output -> residual
  norm_f                  int64 [1]
  head.*                  int8 [256, d], int64 [256]  acc -> logits in 2^-8 nats
  table.exp               int32 [EXP_SIZE]
  table.cos               int16 [ROPE_PERIOD]
  rope.steps              int64 [head_dim/2]

The safetensors metadata holds {"format": "shoal-neural-fish", "scheme": SCHEME,
"config": NeuralConfig as JSON}; the config is authoritative there (a sidecar
config.json written by `shoal train` is for people).  The fish's identity is
the BLAKE2b-128 of the file's bytes.
"""
import hashlib
import json
import os
import struct

import numpy as np
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from ...atomic import write_bytes
from ...errors import ShoalError
from .config import EXP_ONE, EXP_SIZE, GELU_HALF, ROPE_ONE, ROPE_PERIOD, SCHEME, NeuralConfig

FORMAT = "shoal-neural-fish"
FILENAME = "fish.safetensors"


class NeuralFishError(ShoalError):
    """A neural fish's weights file is missing, corrupt, or not what its config says."""


def expected_tensors(cfg: NeuralConfig) -> dict[str, tuple[type, tuple[int, ...]]]:
    d, h = cfg.n_embd, cfg.hidden
    spec = {"embed": (np.int32, (256, d))}
    for i in range(cfg.n_layer):
        for name, rows, cols in (("qkv", d + 2 * cfg.kv_dim, d), ("proj", d, d), ("fc", h, d), ("down", d, h)):
            spec[f"blocks.{i}.{name}.weight"] = (np.int8, (rows, cols))
            spec[f"blocks.{i}.{name}.mult"] = (np.int64, (rows,))
            spec[f"blocks.{i}.{name}.shift"] = (np.int64, (rows,))
        spec[f"blocks.{i}.norm"] = (np.int64, (2,))
        spec[f"blocks.{i}.score"] = (np.int64, (2,))
        spec[f"blocks.{i}.gelu"] = (np.int8, (2 * GELU_HALF + 1,))
    spec["norm_f"] = (np.int64, (1,))
    spec["head.weight"] = (np.int8, (256, d))
    spec["head.mult"] = (np.int64, (256,))
    spec["head.shift"] = (np.int64, (256,))
    spec["table.exp"] = (np.int32, (EXP_SIZE,))
    spec["table.cos"] = (np.int16, (ROPE_PERIOD,))
    spec["rope.steps"] = (np.int64, (cfg.head_dim // 2,))
    return spec


def check(cfg: NeuralConfig, tensors: dict[str, np.ndarray], where: str = "weights") -> None:
    """Every tensor present, of its dtype and shape, with values in range."""
    spec = expected_tensors(cfg)
    problems = [f"missing tensor {name}" for name in spec if name not in tensors]
    problems += [f"unexpected tensor {name}" for name in tensors if name not in spec]
    for name, (dtype, shape) in spec.items():
        t = tensors.get(name)
        if t is not None and (t.dtype != dtype or t.shape != shape):
            problems.append(f"{name} is {t.dtype}{list(t.shape)}, expected {np.dtype(dtype)}{list(shape)} "
                            f"for the config {cfg.to_json()}")
    if not problems:
        for name, t in tensors.items():
            if name.endswith(".mult") or name.endswith(".score"):
                mult = t[:1] if name.endswith(".score") else t
                shift = t[1:] if name.endswith(".score") else tensors[name[:-4] + "shift"]
                if np.any(mult < 1) or np.any(mult > 1 << 31) or np.any(shift < 1) or np.any(shift > 62):
                    problems.append(f"{name}: requantisation multiplier or shift out of range")
            elif name.endswith(".norm") or name == "norm_f":
                if np.any(t < 1) or np.any(t >= 1 << 31):
                    problems.append(f"{name}: norm constant out of range")
        if np.any(np.abs(tensors["embed"].astype(np.int64)) > 1 << 24):
            problems.append("embed: values beyond the residual range")
        exp = tensors["table.exp"]
        if exp[0] != EXP_ONE or np.any(np.diff(exp) > 0) or exp[-1] != 0:
            problems.append("table.exp is not a decreasing exp table from 2^20 to 0")
        cos = tensors["table.cos"]
        if cos[0] != ROPE_ONE or np.any(np.abs(cos) > ROPE_ONE):
            problems.append("table.cos is not a Q14 cosine table")
        steps = tensors["rope.steps"]
        if np.any(steps < 1) or np.any(steps >= ROPE_PERIOD):
            problems.append("rope.steps out of range")
    if problems:
        raise NeuralFishError(f"{where}: " + "; ".join(problems[:8])
                              + (f" (and {len(problems) - 8} more)" if len(problems) > 8 else ""))


def save(path: str, cfg: NeuralConfig, tensors: dict[str, np.ndarray], extra: dict[str, str] | None = None) -> bytes:
    """Write the file atomically; return its digest.  extra: more metadata
    (strings), e.g. the training lineage."""
    check(cfg, tensors)
    meta = {**(extra or {}), "format": FORMAT, "scheme": str(SCHEME), "config": cfg.to_json()}
    blob = _canonical(st_save({k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata=meta))
    write_bytes(path, blob)
    return digest(blob)


def _canonical(blob: bytes) -> bytes:
    """The same file with its JSON header written with sorted keys: safetensors
    writes the metadata in hash-map order, which varies from call to call, and
    the same weights must always give the same file (and digest)."""
    (n,) = struct.unpack_from("<Q", blob)
    header = json.dumps(json.loads(blob[8:8 + n]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)        # keep the data 8-byte aligned, as safetensors does
    return struct.pack("<Q", len(header)) + header + blob[8 + n:]


def digest(blob: bytes) -> bytes:
    """A fish's identity: the BLAKE2b-128 of its weights file's bytes."""
    return hashlib.blake2b(blob, digest_size=16).digest()


def resolve(path: str) -> str:
    return os.path.join(path, FILENAME) if os.path.isdir(path) else path


def load(path: str) -> tuple[NeuralConfig, dict[str, np.ndarray], bytes]:
    """(config, tensors, digest) of a weights file (or a directory holding fish.safetensors)."""
    path = resolve(path)
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise NeuralFishError(f"cannot read neural fish weights {path}: {e.strerror or e}") from None
    where = f"neural fish weights {path}"
    try:
        (header_len,) = struct.unpack_from("<Q", blob)
        meta = json.loads(blob[8:8 + header_len]).get("__metadata__") or {}
    except (struct.error, ValueError, UnicodeDecodeError, AttributeError):
        raise NeuralFishError(f"{where}: not a safetensors file (unreadable header)") from None
    if meta.get("format") != FORMAT:
        raise NeuralFishError(f"{where}: not a shoal neural fish (metadata format is {meta.get('format')!r})")
    if meta.get("scheme") != str(SCHEME):
        raise NeuralFishError(f"{where}: integer scheme {meta.get('scheme')}, this shoal runs scheme {SCHEME}")
    try:
        cfg = NeuralConfig.from_json(meta.get("config", ""))
    except (ValueError, TypeError) as e:
        raise NeuralFishError(f"{where}: bad config in metadata: {e}") from None
    try:
        tensors = st_load(blob)
    except Exception as e:          # safetensors raises its own error types for truncation etc.
        raise NeuralFishError(f"{where}: corrupt tensor data ({e})") from None
    check(cfg, tensors, where)
    return cfg, tensors, digest(blob)

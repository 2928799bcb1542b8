"""Export: a trained ByteTransformer -> the integer neural fish's tensors.

Every scale the fake quantisation used (model.py) becomes an int8 tensor and
an integer multiplier (M, shift) with M * 2^-shift = the real factor between
one integer grid and the next:

  q, k rows of qkv   norm scale * weight scale / (q or k scale / 2^QK_FINE_FRAC)
  v rows of qkv      norm scale * weight scale / v scale
  score              q scale * k scale / sqrt(head_dim) * 2^EXP_FRAC
  proj, down         input scale * weight scale * 2^RESID_FRAC
  fc                 norm scale * weight scale / GELU grid scale
  head               norm scale * weight scale * 2^EXP_FRAC
  norms              sqrt(d) / norm scale * 2^NORM_FRAC

The file's metadata also records the model's lineage (lineage.py) when given:
where its float weights come from, which merging checks.
"""
import json
import math

import numpy as np
import torch

from shoal.fish.neural import weights
from shoal.fish.neural.config import (ACT_MAX, EXP_FRAC, GELU_HALF, NORM_FRAC, QK_FINE_FRAC, RESID_FRAC,
                                      RESID_LIMIT)
from shoal.fish.neural.fish import NeuralFish
from shoal.fish.neural.tables import cos_table, exp_table, gelu_table, multipliers

from .model import ByteTransformer, weight_scale


def _np(t):
    return t.detach().double().cpu().numpy()


def _scale(obs, qmax):
    amax = float(obs.amax)
    if not amax > 0:
        raise ValueError("an activation was never observed: run the model in training mode on data first")
    return amax / qmax


def _linear(tensors, name, linear, out_scale_per_row):
    """int8 weights of a QLinear, and the multipliers from its accumulator to out."""
    w = linear.weight
    s_w = _np(weight_scale(w))[:, 0]
    tensors[name + ".weight"] = np.clip(np.round(_np(w) / s_w[:, None]), -ACT_MAX, ACT_MAX).astype(np.int8)
    tensors[name + ".mult"], tensors[name + ".shift"] = multipliers(s_w * out_scale_per_row)


def _norm_constant(d, s_u):
    return int(round(math.sqrt(d) / s_u * (1 << NORM_FRAC)))


@torch.no_grad()
def export_tensors(model: ByteTransformer) -> dict[str, np.ndarray]:
    cfg = model.cfg
    d, hd = cfg.n_embd, cfg.head_dim
    t = {"embed": np.clip(np.round(_np(model.wte.weight) * (1 << RESID_FRAC)),
                          -RESID_LIMIT, RESID_LIMIT).astype(np.int32)}
    for i, block in enumerate(model.blocks):
        p, attn, mlp = f"blocks.{i}.", block.attn, block.mlp
        s_attn_in, s_mlp_in = _scale(block.norm_attn.obs, ACT_MAX), _scale(block.norm_mlp.obs, ACT_MAX)
        s_q, s_k, s_v = (_scale(o, ACT_MAX) for o in (attn.obs_q, attn.obs_k, attn.obs_v))
        fine = 1 << QK_FINE_FRAC
        kv = cfg.kv_dim
        qkv_out = np.concatenate([np.full(d, s_attn_in * fine / s_q), np.full(kv, s_attn_in * fine / s_k),
                                  np.full(kv, s_attn_in / s_v)])
        _linear(t, p + "qkv", attn.qkv, qkv_out)
        t[p + "score"] = np.concatenate(multipliers(s_q * s_k / math.sqrt(hd) * (1 << EXP_FRAC)))
        _linear(t, p + "proj", attn.proj, s_v * (1 << RESID_FRAC))
        s_pre, s_post = _scale(mlp.obs_pre, GELU_HALF), _scale(mlp.obs_post, ACT_MAX)
        _linear(t, p + "fc", mlp.fc, s_mlp_in / s_pre)
        t[p + "gelu"] = gelu_table(s_pre, s_post)
        _linear(t, p + "down", mlp.down, s_post * (1 << RESID_FRAC))
        t[p + "norm"] = np.array([_norm_constant(d, s_attn_in), _norm_constant(d, s_mlp_in)], np.int64)
    s_f = _scale(model.norm_f.obs, ACT_MAX)
    t["norm_f"] = np.array([_norm_constant(d, s_f)], np.int64)
    _linear(t, "head", model.head, s_f * (1 << EXP_FRAC))
    t["table.exp"], t["table.cos"] = exp_table(), cos_table()
    t["rope.steps"] = np.array(cfg.rope_steps(), np.int64)
    weights.check(cfg, t, "exported weights")
    return t


def export(model: ByteTransformer, path: str, lineage: dict | None = None) -> bytes:
    """Write the weights file (with lineage under "lineage" in its metadata); return its digest."""
    extra = None if lineage is None else {"lineage": json.dumps(lineage, sort_keys=True)}
    return weights.save(path, model.cfg, export_tensors(model), extra)


def integer_fish(model: ByteTransformer, gemm=None) -> NeuralFish:
    """The integer fish of a model, in memory (for checks and tests)."""
    return NeuralFish(model.cfg, export_tensors(model), gemm=gemm)

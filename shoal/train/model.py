"""The neural fish as a torch model: a decoder-only byte-level transformer.

    bytes -> embedding -> n_layer x [pre-norm attention (RoPE, XL memory),
                                     pre-norm MLP (GELU)] -> norm -> 256 logits

It reads a stream one segment (seg_len bytes) at a time.  Each layer keeps
the keys and values of the last mem_len positions before the segment (its
memory, Transformer-XL style, without gradient), so the query at position t
reaches max(0, segment start - mem_len) .. t.  RoPE rotates q and k by their
absolute position; its angles are whole steps of a 2^16-entry circle
(NeuralConfig.rope_steps), which the integer inference reads from a table.

Quantisation-aware training.  With model.quant on, the forward pass rounds
every tensor the integer inference (shoal/fish/neural) rounds, to the same
grid, with a straight-through gradient:
  weights           int8, one scale per output row (absmax / 127)
  norm outputs      int8, scale = observed absmax / 127
  q, k              clamped on the fine grid, rotated, int8 (scale of q, of k)
  (keys and values may be shared by groups of query heads: n_kv_head, GQA)
  v, attention out  int8 on v's grid (the output is a mean of values)
  MLP pre-act       the GELU table's input grid (absmax / GELU_HALF)
  GELU output       int8
Observers keep a running absmax of each activation in training mode, on or
off; export (export.py) turns them into the integer multipliers.  RMSNorm
has no gain: the linear layer after it learns one.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from shoal.fish.neural.config import (ACT_MAX, GELU_HALF, QK_FINE_FRAC, QK_FINE_MAX, RESID_FRAC,
                                      ROPE_PERIOD, NeuralConfig)

NORM_EPS = 2.0 ** -16          # the integer norm's NORM_EPS_INT, in real units


def fake_quant(x, scale, qmax):
    """Round x to the grid scale * [-qmax, qmax]; gradient passes straight through."""
    q = torch.clamp(torch.round(x / scale), -qmax, qmax) * scale
    return x + (q - x).detach()


def weight_scale(w):
    """Per output row: absmax / 127 (an all-zero row gets 1/127: its ints are 0 anyway)."""
    amax = w.detach().abs().amax(dim=1, keepdim=True)
    return torch.where(amax > 0, amax, torch.ones_like(amax)) / ACT_MAX


class Observer(nn.Module):
    """Running absmax of an activation (moving average of each batch's absmax)."""

    def __init__(self, momentum=0.95):
        super().__init__()
        self.momentum = momentum
        self.register_buffer("amax", torch.zeros(()))

    def forward(self, x):
        if self.training:
            with torch.no_grad():
                m = x.detach().abs().amax().float()
                self.amax.copy_(torch.where(self.amax > 0, self.momentum * self.amax + (1 - self.momentum) * m, m))
        return x

    def scale(self, qmax):
        return torch.clamp(self.amax, min=1e-6) / qmax


class QLinear(nn.Linear):
    def __init__(self, n_in, n_out):
        super().__init__(n_in, n_out, bias=False)

    def forward(self, x, quant=False):
        w = fake_quant(self.weight, weight_scale(self.weight), ACT_MAX) if quant else self.weight
        return F.linear(x, w)


def rms_norm(x):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + NORM_EPS)


class NormQuant(nn.Module):
    """RMSNorm, then (with quant) the int8 grid of the GEMM that follows."""

    def __init__(self):
        super().__init__()
        self.obs = Observer()

    def forward(self, x, quant):
        u = self.obs(rms_norm(x))
        return fake_quant(u, self.obs.scale(ACT_MAX), ACT_MAX) if quant else u


def rotate(x, cos, sin):
    """RoPE on pairs (j, j + head_dim/2)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: NeuralConfig):
        super().__init__()
        self.cfg = cfg
        self.qkv = QLinear(cfg.n_embd, cfg.n_embd + 2 * cfg.kv_dim)
        self.proj = QLinear(cfg.n_embd, cfg.n_embd)
        self.obs_q, self.obs_k, self.obs_v = Observer(), Observer(), Observer()

    def forward(self, x, memory, cos, sin, quant):
        B, T, C = x.shape
        H, KV, hd = self.cfg.n_head, self.cfg.n_kv_head, self.cfg.head_dim
        q, k, v = self.qkv(x, quant).split((C, KV * hd, KV * hd), dim=2)
        q = q.view(B, T, H, hd).transpose(1, 2)
        k, v = (t.view(B, T, KV, hd).transpose(1, 2) for t in (k, v))
        # The integer inference clamps q and k on their fine grid before rotating.  Not before
        # anything was observed (quantisation-aware from a fresh model's first step): the limit
        # would be 0, and the observers would go on seeing nothing but 0.
        if quant and bool(self.obs_q.amax > 0) and bool(self.obs_k.amax > 0):
            q = q.clamp(-self._fine_limit(self.obs_q), self._fine_limit(self.obs_q))
            k = k.clamp(-self._fine_limit(self.obs_k), self._fine_limit(self.obs_k))
        q, k, v = self.obs_q(rotate(q, cos, sin)), self.obs_k(rotate(k, cos, sin)), self.obs_v(v)
        if quant:
            q = fake_quant(q, self.obs_q.scale(ACT_MAX), ACT_MAX)
            k = fake_quant(k, self.obs_k.scale(ACT_MAX), ACT_MAX)
            v = fake_quant(v, self.obs_v.scale(ACT_MAX), ACT_MAX)
        mem_k, mem_v = memory if memory is not None else (k[:, :, :0], v[:, :, :0])
        keys, values = torch.cat((mem_k, k), dim=2), torch.cat((mem_v, v), dim=2)
        m = mem_k.shape[2]
        row = torch.arange(T, device=x.device)[:, None]
        col = torch.arange(m + T, device=x.device)[None, :]
        mask = (col < m) | (col - m <= row)          # all the memory, the causal part of the segment
        y = F.scaled_dot_product_attention(q, keys.repeat_interleave(H // KV, dim=1),
                                           values.repeat_interleave(H // KV, dim=1), attn_mask=mask)
        if quant:
            y = fake_quant(y, self.obs_v.scale(ACT_MAX), ACT_MAX)
        y = y.transpose(1, 2).reshape(B, T, C)
        start = max(0, keys.shape[2] - self.cfg.mem_len)       # the last mem_len positions
        new_memory = (keys[:, :, start:].detach(), values[:, :, start:].detach())
        return self.proj(y, quant), new_memory

    @staticmethod
    def _fine_limit(obs):
        return obs.scale(ACT_MAX) * (QK_FINE_MAX / (1 << QK_FINE_FRAC))


class MLP(nn.Module):
    def __init__(self, cfg: NeuralConfig):
        super().__init__()
        self.fc = QLinear(cfg.n_embd, cfg.hidden)
        self.down = QLinear(cfg.hidden, cfg.n_embd)
        self.obs_pre, self.obs_post = Observer(), Observer()

    def forward(self, x, quant):
        h = self.obs_pre(self.fc(x, quant))
        if quant:
            h = fake_quant(h, self.obs_pre.scale(GELU_HALF), GELU_HALF)
        g = self.obs_post(F.gelu(h))
        if quant:
            g = fake_quant(g, self.obs_post.scale(ACT_MAX), ACT_MAX)
        return self.down(g, quant)


class Block(nn.Module):
    def __init__(self, cfg: NeuralConfig):
        super().__init__()
        self.norm_attn, self.attn = NormQuant(), Attention(cfg)
        self.norm_mlp, self.mlp = NormQuant(), MLP(cfg)

    def forward(self, x, memory, cos, sin, quant):
        a, new_memory = self.attn(self.norm_attn(x, quant), memory, cos, sin, quant)
        x = x + a
        x = x + self.mlp(self.norm_mlp(x, quant), quant)
        return x, new_memory


class ByteTransformer(nn.Module):
    def __init__(self, cfg: NeuralConfig):
        super().__init__()
        self.cfg = cfg
        self.quant = False
        self.wte = nn.Embedding(256, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm_f = NormQuant()
        self.head = QLinear(cfg.n_embd, 256)
        self.register_buffer("rope_steps", torch.tensor(cfg.rope_steps(), dtype=torch.int64), persistent=False)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():    # GPT-2: scale the residual projections by depth
            if name.endswith("proj.weight") or name.endswith("down.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def rope(self, pos0, T):
        """cos, sin [T, head_dim/2] for absolute positions pos0 .. pos0+T-1."""
        pos = torch.arange(pos0, pos0 + T, device=self.rope_steps.device, dtype=torch.int64)
        turns = (pos[:, None] * self.rope_steps[None, :]) % ROPE_PERIOD
        angle = turns.double() * (2 * math.pi / ROPE_PERIOD)
        return torch.cos(angle).float(), torch.sin(angle).float()

    def forward(self, idx, memory=None, pos0=0):
        """One segment: idx [B, T] (T <= seg_len) at absolute position pos0 ->
        logits [B, T, 256] and the memory for the next segment."""
        cos, sin = self.rope(pos0, idx.shape[1])
        x = self.wte(idx)
        if self.quant:      # the residual stream is int32 at 2^-RESID_FRAC
            x = fake_quant(x, 2.0 ** -RESID_FRAC, 2 ** 31 - 1)
        memory = memory or [None] * len(self.blocks)
        new_memory = []
        for block, mem in zip(self.blocks, memory):
            x, m = block(x, mem, cos, sin, self.quant)
            new_memory.append(m)
        return self.head(self.norm_f(x, self.quant), self.quant), new_memory

    def stream_loss(self, idx, targets, reduction="mean"):
        """Cross-entropy (nats) of a whole stream [B, T], read segment by
        segment with the memory carried across, as the integer fish reads it."""
        S, memory, losses = self.cfg.seg_len, None, []
        for start in range(0, idx.shape[1], S):
            logits, memory = self(idx[:, start:start + S], memory, pos0=start)
            losses.append(F.cross_entropy(logits.flatten(0, 1), targets[:, start:start + S].flatten(),
                                          reduction="none").view(idx.shape[0], -1))
        loss = torch.cat(losses, dim=1)
        return loss.mean() if reduction == "mean" else loss

    def stream_logits(self, idx):
        """Logits [B, T, 256] of a whole stream, segment by segment (for tests and checks)."""
        S, memory, out = self.cfg.seg_len, None, []
        for start in range(0, idx.shape[1], S):
            logits, memory = self(idx[:, start:start + S], memory, pos0=start)
            out.append(logits)
        return torch.cat(out, dim=1)

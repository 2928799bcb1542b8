"""Hidden units of a ByteTransformer over labelled texts.

A transformer has no recurrent state to read "at the end of the text" the
way Radford et al. read their mLSTM's cell.  What is read instead, through
forward hooks (the model is not changed):

  resid   the final-norm residual stream (the head's input), n_embd units
  mlp     each block's MLP units after the GELU, mlp_ratio * n_embd a
          block (mlp0_0, ..., mlp1_0, ...; layers= picks the blocks):
          the model's only elementwise nonlinearity, so these are "neurons"
          in the paper's sense; residual dimensions have no privileged basis

Each text is read from a fresh state, the start byte first, as the LM read
each review in training (lm.py), then its UTF-8 bytes (the first
max_bytes).  Two poolings of the units after each text byte:

  last    after the text's last byte (the paper's choice, for an LSTM)
  mean    the mean over all the text's bytes

Texts are batched by length (longest first, padded at the end: the causal
mask keeps padding out of every real position), so the features do not
depend on the batching.  The result is cached by a digest of the weights,
the texts and these settings.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np
import torch

from ..atomic import atomic_write
from ..fish.neural import START_BYTE

POOLINGS = ("mean", "last")


def sites(model, layers=None) -> list[tuple[str, torch.nn.Module, int]]:
    """Where the units are read: (name, module whose output it is, units).
    layers: the blocks whose MLP units are read (default: the last only)."""
    layers = [len(model.blocks) - 1] if layers is None else layers
    return [("resid", model.norm_f, model.cfg.n_embd)] + [
        (f"mlp{i}_", model.blocks[i].mlp.obs_post, model.cfg.hidden) for i in layers]


def unit_names(model, layers=None) -> list[str]:
    return [f"{name}{i}" for name, _, n in sites(model, layers) for i in range(n)]


def locate(model, unit: int, layers=None) -> tuple[torch.nn.Module, int]:
    """The module holding unit number `unit`, and its index in that output."""
    for _, module, n in sites(model, layers):
        if unit < n:
            return module, unit
        unit -= n
    raise IndexError("no such unit")


def digest(model, texts: list[str], max_bytes: int, layers=None) -> str:
    h = hashlib.sha256(f"features-v2 {max_bytes} {unit_names(model, layers)[-1]} {layers}".encode())
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    for text in texts:
        h.update(text.encode("utf-8") + b"\0")
    return h.hexdigest()[:16]


class _Taps:
    """Forward hooks that keep the outputs of the sites' modules, in order."""

    def __init__(self, model, layers=None):
        self.out, self.names = {}, [name for name, _, _ in sites(model, layers)]
        self.handles = [module.register_forward_hook(self._keep(name)) for name, module, _ in sites(model, layers)]

    def units(self):          # in the sites' order (the hooks fire in the model's order: MLPs first)
        return torch.cat([self.out[name] for name in self.names], dim=-1)

    def _keep(self, name):
        def hook(module, inputs, output):
            self.out[name] = output
        return hook

    def close(self):
        for handle in self.handles:
            handle.remove()


@torch.no_grad()
def extract(model, texts: list[str], max_bytes: int, budget: int = 32768, advance=None, layers=None) -> dict:
    """{"mean": [N, units], "last": [N, units]} float32; advance(n) per text."""
    data = [text.encode("utf-8")[:max_bytes] or b" " for text in texts]
    order = sorted(range(len(data)), key=lambda i: (-len(data[i]), i))
    units = len(unit_names(model, layers))
    pooled = {p: np.zeros((len(data), units), dtype=np.float32) for p in POOLINGS}
    taps, S = _Taps(model, layers), model.cfg.seg_len
    was = model.training
    model.eval()
    try:
        at = 0
        while at < len(order):
            longest = len(data[order[at]]) + 1
            batch = order[at:at + max(1, budget // longest)]
            at += len(batch)
            lengths = torch.tensor([len(data[i]) for i in batch])
            x = torch.full((len(batch), longest), START_BYTE, dtype=torch.long)
            for row, i in enumerate(batch):
                x[row, 1:1 + len(data[i])] = torch.frombuffer(bytearray(data[i]), dtype=torch.uint8)
            total, last, memory = 0, torch.zeros(len(batch), units), None
            for start in range(0, longest, S):
                _, memory = model(x[:, start:start + S], memory, pos0=start)
                h = taps.units()                                                # [B, T, units]
                pos = torch.arange(start, start + h.shape[1])
                valid = ((pos >= 1)[None, :] & (pos[None, :] <= lengths[:, None])).float()
                total = total + (h * valid[..., None]).sum(1)
                hit = (pos[None, :] == lengths[:, None]).float()        # after the last byte: one position
                last = last + (h * hit[..., None]).sum(1)
            mean = total / lengths[:, None].float()
            pooled["mean"][batch] = mean.numpy()
            pooled["last"][batch] = last.numpy()
            if advance:
                advance(len(batch))
    finally:
        taps.close()
        model.train(was)
    return pooled


def cached(model, texts: list[str], max_bytes: int, folder: str, name: str, advance=None, layers=None) -> dict:
    """extract(), cached in folder/name-DIGEST.npz (written atomically)."""
    path = os.path.join(folder, f"{name.replace('/', '-')}-{digest(model, texts, max_bytes, layers)}.npz")
    if os.path.exists(path):
        with np.load(path) as saved:
            if advance:
                advance(len(texts))
            return {p: saved[p] for p in POOLINGS}
    pooled = extract(model, texts, max_bytes, advance=advance, layers=layers)
    os.makedirs(folder, exist_ok=True)
    with atomic_write(path) as file:
        np.savez(file, **pooled)
    return pooled

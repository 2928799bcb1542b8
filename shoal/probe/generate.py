"""Sampling with the single unit clamped (the paper's Table 3), optional:
shoal probe sentiment --generate N.

The unit's value is overwritten, at every position, through a forward hook
on its layer (features.py reads the same place).  A unit of the last block
or of the final norm sits after every attention layer, so clamping it only
moves each next-byte distribution along the one direction the unit writes;
a unit of an earlier block also changes what the later blocks read, at this
position and (through attention) at later ones: closer to clamping an LSTM
cell, whose value is carried forward.

Values: the unit's most positive and most negative pooled value over the
Amazon training reviews (clamped at every byte, the text's mean equals it).
The bytes are sampled one at a time, with the XL memory as the cache, from
the same seeded generator for both clamps.
"""
from __future__ import annotations

import torch

from ..fish.neural import START_BYTE
from .features import locate


@torch.no_grad()
def sample(model, n: int, seed: int, prompt: bytes = b"", temperature: float = 1.0) -> str:
    gen = torch.Generator().manual_seed(seed)
    memory, out, byte = None, bytearray(), START_BYTE
    for pos in range(len(prompt) + n):
        logits, memory = model(torch.tensor([[byte]]), memory, pos0=pos)
        if pos < len(prompt):
            byte = prompt[pos]
        else:
            probs = torch.softmax(logits[0, -1].double() / temperature, dim=-1)
            byte = int(torch.multinomial(probs, 1, generator=gen))
            if byte == START_BYTE:            # the LM's end of a review
                break
        out.append(byte)
    return out.decode("utf-8", errors="replace")


def clamped(model, unit: dict, values: dict, n: int, seed: int, layers=None, prompts=(b"", b"This ")) -> list[dict]:
    """For each prompt, the text with no clamp and with the unit clamped to each of values."""
    module, index = locate(model, unit["unit"], layers)
    samples = []
    for prompt in prompts:
        row = {"prompt": prompt.decode(), "none": sample(model, n, seed, prompt)}
        for name, value in values.items():
            def hook(mod, inputs, output, value=value):
                output = output.clone()
                output[..., index] = value
                return output
            handle = module.register_forward_hook(hook)
            try:
                row[name] = sample(model, n, seed, prompt)
            finally:
                handle.remove()
        samples.append(row)
    return samples

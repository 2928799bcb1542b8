"""Sampling with the single unit clamped (the paper's Table 3), optional:
shoal probe sentiment --generate N.

The unit's value is overwritten, at every position, through a forward hook
on its layer (features.py reads the same place).  A unit of the last block
or of the final norm sits after every attention layer, so clamping it only
moves each next-byte distribution along the one direction the unit writes;
a unit of an earlier block also changes what the later blocks read, at this
position and (through attention) at later ones: closer to clamping an LSTM
cell, whose value is carried forward.

Values: the unit's 0.1st and 99.9th percentiles byte by byte over Amazon
training reviews (its "fully off" and "fully on", as the paper clamped a cell
to its ends); the end on the positive side (the unit's sign) is "positive".
Clamping to the ends of its pooled (mean) values was tried first and changed
no sampled byte: a mean is far smaller than what one byte's unit can reach.
The bytes are sampled one at a time, with the XL memory as the cache, from
the same seeded generator for every clamp, so the texts differ only where
the clamp changed a distribution enough to change a draw.
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


@torch.no_grad()
def byte_range(model, unit: int, texts: list[str], layers=None, max_bytes: int = 1024) -> tuple[float, float]:
    """The unit's 0.1st and 99.9th percentiles over every byte of texts."""
    module, index = locate(model, unit, layers)
    seen = []
    handle = module.register_forward_hook(lambda mod, inputs, output: seen.append(output[..., index].flatten()))
    try:
        for text in texts:
            model.stream_logits(torch.tensor([[START_BYTE, *text.encode("utf-8")[:max_bytes]]]))
    finally:
        handle.remove()
    low, high = torch.quantile(torch.cat(seen).double(), torch.tensor([0.001, 0.999], dtype=torch.float64))
    return float(low), float(high)


def clamped(model, unit: dict, values: dict, n: int, seed: int, layers=None,
            prompts=(b"This ", b"I bought this ")) -> list[dict]:
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

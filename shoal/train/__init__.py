"""shoal train: train a neural fish (torch, the `train` extra).

cli.py      the command line (shoal train --help), which needs no torch
shape.py    the shape flags (--layers, --width, ...) and the config they make
model.py    the byte-level transformer (RoPE, XL memory, fake quantisation)
train.py    the training loop
export.py   trained model -> the integer fish's weights file
lineage.py  float weights and ancestors: what --init starts from, what merging checks

The integer fish itself, and everything compress/decompress need, is in
shoal/fish/neural, which never imports torch.  Importing this package does
not import torch either: `shoal train --help` answers at once, and
`shoal train FILE...` imports it (or says which extra is missing).
"""
from .cli import main

__all__ = ["main"]

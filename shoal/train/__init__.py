"""shoal train: train a neural fish (torch, the `train` extra).

model.py    the byte-level transformer (RoPE, XL memory, fake quantisation)
train.py    the training loop and command line (shoal train --help)
export.py   trained model -> the integer fish's weights file
lineage.py  float weights and ancestors: what --init starts from, what merging checks

The integer fish itself, and everything compress/decompress need, is in
shoal/fish/neural, which never imports torch.  Importing this package
imports torch (so `shoal train` without the extra says what is missing).
"""
from .train import main

__all__ = ["main"]

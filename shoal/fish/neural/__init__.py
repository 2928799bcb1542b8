"""The neural fish: a small byte-level transformer (pre-norm blocks, RoPE,
Transformer-XL memory) run by exact integer arithmetic.

config.py   NeuralConfig (the shape) and the constants of the integer scheme
tables.py   the lookup tables and requantisation multipliers built at export
weights.py  the safetensors weights file: layout, save, load and checks
kernels.py  the integer kernels (Numba) between the GEMMs
fish.py     NeuralFish.load(path).start(lanes).step(prev_bytes) -> int32[L, 256]

Trained by `shoal train` (shoal/train/, torch); nothing here imports torch.
docs/neural.md describes the architecture, the integer scheme and why it is
exact on every machine.
"""
from .config import FREQ_BITS, FREQ_TOTAL, START_BYTE, NeuralConfig
from .fish import NeuralFish, NeuralRun
from .weights import NeuralFishError

__all__ = ["NeuralFish", "NeuralRun", "NeuralConfig", "NeuralFishError", "FREQ_BITS", "FREQ_TOTAL",
           "START_BYTE"]

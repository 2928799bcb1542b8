"""school: assembles fish, mixers and APMs from a preset and codes blocks.

    payload = compress_block(data, preset)       # bytes, or None if it would not shrink
    data = decompress_block(payload, size, preset)

Blocks are independent: each starts from an empty model, so blocks can be
coded in parallel and any one can be decoded alone.
"""
import numpy as np

from ..errors import ShoalError
from . import engine
from .preset import DEFAULT_LEVEL, Preset, from_canonical, from_dict, level, load

__all__ = ["compress_block", "decompress_block", "Preset", "level", "load", "from_dict",
           "from_canonical", "DEFAULT_LEVEL"]


def compress_block(data, preset: Preset) -> bytes | None:
    """Code one block of bytes-like `data`; None when the result would not be
    smaller than data."""
    # Writable copies: one compiled signature serves encoder and decoder.
    buf = np.frombuffer(data, dtype=np.uint8).copy()
    if buf.size == 0:
        return b""
    out = np.empty(buf.size, dtype=np.uint8)
    written = engine.code_block(buf, buf.size, out, False, preset.fish, preset.cfg)
    if written < 0 or written >= buf.size:
        return None
    return out[:written].tobytes()


def decompress_block(payload: bytes, size: int, preset: Preset) -> bytes:
    """Decode one block of `size` bytes coded with `preset`."""
    if size == 0:
        return b""
    src = np.frombuffer(payload, dtype=np.uint8).copy()
    buf = np.empty(size, dtype=np.uint8)
    used = engine.code_block(buf, size, src, True, preset.fish, preset.cfg)
    if used != len(payload):
        # The decoder consumes exactly what the encoder wrote; anything else
        # means the payload is not what was coded.
        raise ShoalError("corrupted archive: block payload does not decode to its recorded size")
    return buf.tobytes()

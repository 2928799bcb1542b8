"""shoal: lossless compression by a school of small context-mixing models.

The interface mirrors the standard library's lzma module:

    import shoal
    blob = shoal.compress(data)                  # level 1..9, default 6
    assert shoal.decompress(blob) == data
    with shoal.open("log.txt.shoal", "wt") as f:
        f.write("hello\\n")

Every failure (bad archive, bad argument, I/O trouble) raises ShoalError.
The archive format is described in docs/format.md.
"""
from .api import (ShoalCompressor, ShoalDecompressor, ShoalFile, compress, decompress, open)
from .errors import ShoalError
from .school import DEFAULT_LEVEL

__all__ = ["compress", "decompress", "open", "ShoalCompressor", "ShoalDecompressor", "ShoalFile",
           "ShoalError", "DEFAULT_LEVEL"]
__version__ = "0.1.0"

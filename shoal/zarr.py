"""shoal as a numcodecs codec, for Zarr arrays and Dask pipelines.

Each chunk is stored as one shoal archive (shoal.compress at a level 1..9,
or with a school file `shoal learn` made).  Needs `pip install 'shoal[zarr]'`;
this is the only module that imports numcodecs or zarr.

    from shoal.zarr import Shoal, ShoalCodec
    # Zarr format 2 (zarr 2 or 3): a numcodecs codec, stored as {"id": "shoal", ...}
    z = zarr.create_array(store, shape=..., chunks=..., dtype=..., zarr_format=2,
                          compressors=Shoal(level=6))
    # Zarr format 3 (zarr >= 3): the same codec as a zarr one, "numcodecs.shoal"
    z = zarr.create_array(store, shape=..., chunks=..., dtype=...,
                          compressors=[ShoalCodec(level=6)])
    dask.array.to_zarr(dask_array, z)                   # Dask: into an array made as above
    Shoal(school="logs.school")                         # a learned school (also ShoalCodec)

A reader finds the codec without importing shoal: a format-2 array by its
id through the entry point "numcodecs.codecs", a format-3 one through
"zarr.codecs" (both in pyproject.toml).

The config holds the level and the school file's *path* as given, never the
school itself: a reader needs the same school file, at that path or in a
folder of $SHOAL_SCHOOL_PATH (archives name it by digest).  `threads` codes
a chunk's blocks in parallel (chunks over one block only: 16 MiB at level
6) and is not stored.
"""
from __future__ import annotations

import asyncio
import numbers
import os

import numcodecs
from numcodecs.abc import Codec
from numcodecs.compat import ensure_contiguous_ndarray, ndarray_copy

import shoal

__all__ = ["Shoal"]


class Shoal(Codec):
    """numcodecs codec: Shoal(level=6, school=None, threads=1)."""

    codec_id = "shoal"

    def __init__(self, level=6, school=None, threads=1):
        if isinstance(level, bool) or not isinstance(level, numbers.Integral) or not 1 <= level <= 9:
            raise ValueError(f"shoal codec: level must be an integer 1..9, got {level!r}")
        if school is not None and not isinstance(school, (str, os.PathLike)):
            raise ValueError(f"shoal codec: school must be a school file's path, got {type(school).__name__}")
        if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 0:
            raise ValueError(f"shoal codec: threads must be an integer >= 0 (0: one per CPU), got {threads!r}")
        self.level = int(level)
        self.school = None if school is None else os.fspath(school)
        self._threads = int(threads)

    def encode(self, buf):
        data = ensure_contiguous_ndarray(buf)
        return shoal.compress(data, level=self.level, school=self.school, threads=self._threads)

    def decode(self, buf, out=None):
        data = ensure_contiguous_ndarray(buf)
        # A school missing at its stored path is looked for in $SHOAL_SCHOOL_PATH.
        school = self.school if self.school is not None and os.path.isfile(self.school) else None
        decoded = shoal.decompress(data, threads=self._threads, school=school)
        if out is None:
            return decoded
        ndarray_copy(decoded, ensure_contiguous_ndarray(out))
        return out

    def __repr__(self):
        return f"Shoal(level={self.level!r}, school={self.school!r}, threads={self._threads!r})"


numcodecs.registry.register_codec(Shoal)

try:        # zarr >= 3: the codec for format-3 arrays
    from dataclasses import dataclass

    from zarr.abc.codec import BytesBytesCodec
    from zarr.registry import register_codec as _register_zarr_codec
except ImportError:     # no zarr, or zarr 2 (which takes Shoal itself)
    pass
else:
    @dataclass(frozen=True)
    class ShoalCodec(BytesBytesCodec):
        """zarr 3 bytes-to-bytes codec "numcodecs.shoal": ShoalCodec(level=6, school=None, threads=1)."""

        name = "numcodecs.shoal"
        is_fixed_size = False
        level: int = 6
        school: str | None = None

        def __init__(self, *, level=6, school=None, threads=1):
            codec = Shoal(level, school, threads)
            object.__setattr__(self, "level", codec.level)
            object.__setattr__(self, "school", codec.school)
            object.__setattr__(self, "_codec", codec)

        @classmethod
        def from_dict(cls, data):
            if data.get("name") != cls.name:
                raise ValueError(f"expected a {cls.name} codec, got {data.get('name')!r}")
            return cls(**data.get("configuration", {}))

        def to_dict(self):
            return {"name": self.name, "configuration": {"level": self.level, "school": self.school}}

        async def _encode_single(self, chunk, spec):      # in a thread: the engine releases the GIL
            coded = await asyncio.to_thread(self._codec.encode, chunk.as_numpy_array())
            return spec.prototype.buffer.from_bytes(coded)

        async def _decode_single(self, chunk, spec):
            decoded = await asyncio.to_thread(self._codec.decode, chunk.as_numpy_array())
            return spec.prototype.buffer.from_bytes(decoded)

        def compute_encoded_size(self, input_byte_length, chunk_spec):
            raise NotImplementedError

    _register_zarr_codec(ShoalCodec.name, ShoalCodec)
    __all__.append("ShoalCodec")

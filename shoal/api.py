"""The Python interface, modelled on the standard library's lzma module.

    blob = shoal.compress(data, level=6)          # or preset="my.yaml" (or a dict), threads=2
    data = shoal.decompress(blob)
    with shoal.open("notes.txt.shoal", "wt") as f: f.write("...")

plus incremental ShoalCompressor / ShoalDecompressor objects.  File objects
(ShoalFile, open) and the helpers the command line uses (compress_stream,
decompress_stream, list_archive) live in shoal/files.py and are exported here.

Blocks are independent, so with threads=N up to N blocks are coded at once
(the engine releases the GIL); results are written in order, and the output
is byte-identical for every N.  Every failure is a ShoalError.
"""
from __future__ import annotations

import io
import os
import zlib
from importlib import resources
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from . import school
from .codec import container
from .codec.container import Block, StreamHeader
from .errors import ShoalError

__all__ = ["compress", "decompress", "ShoalCompressor", "ShoalDecompressor", "ShoalFile", "open",
           "compress_stream", "decompress_stream", "list_archive", "ShoalError"]

# A shipped level's preset is written as its name ("level6") rather than its
# 550-byte JSON: small files would otherwise pay for it.  The digest still
# pins the exact parameters, and a reader whose level differs says so.
_LEVEL_NAME = "level{}"
# Any other preset is written deflated (zlib's raw deflate) against a fixed
# dictionary, the canonical JSON of levels 6 and 9 as first released: an
# evolved preset's 630 bytes become about 70.  The dictionary is part of the
# format (docs/format.md) and never changes.
_PACKED = b"z"
_DICTIONARY = resources.files("shoal").joinpath("data/preset_dictionary.txt").read_bytes()


def _pack(canonical: bytes) -> bytes:
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=_DICTIONARY)
    return _PACKED + deflate.compress(canonical) + deflate.flush()


def _unpack(packed: bytes) -> bytes:
    inflate = zlib.decompressobj(-15, zdict=_DICTIONARY)
    try:
        canonical = inflate.decompress(packed[1:], container.MAX_PRESET_BYTES) + inflate.flush()
    except zlib.error as error:
        raise ShoalError(f"corrupted archive: unreadable preset ({error})") from None
    if not inflate.eof or inflate.unconsumed_tail or inflate.unused_data:
        raise ShoalError("corrupted archive: unreadable preset")
    return canonical


# ---- arguments ---------------------------------------------------------------

def _choose_preset(level, preset) -> tuple[school.Preset, bytes]:
    """The preset to code with, and how the archive names it."""
    if preset is None:
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 9:
            raise ShoalError(f"level must be an integer 1..9, got {level!r}")
        return school.level(level), _LEVEL_NAME.format(level).encode()
    if isinstance(preset, dict):
        preset = school.from_dict(preset)
    elif not isinstance(preset, school.Preset):
        preset = school.load(preset)
    for n in range(1, 10):
        if school.level(n).digest == preset.digest:
            return preset, _LEVEL_NAME.format(n).encode()
    return preset, min(preset.canonical, _pack(preset.canonical), key=len)


@lru_cache(maxsize=32)
def _archive_preset(name: bytes, digest: bytes) -> school.Preset:
    """The preset a stream header names; its digest must match."""
    if name.startswith(_PACKED):
        name = _unpack(name)
    if name.startswith(b"{"):
        preset = school.from_canonical(name)
        if preset.digest != digest:
            raise ShoalError("corrupted archive: preset does not match its digest")
        return preset
    for n in range(1, 10):
        if name == _LEVEL_NAME.format(n).encode():
            preset = school.level(n)
            if preset.digest != digest:
                preset = school.retired_level(n, digest)
            if preset is None:
                raise ShoalError(f"archive was made with a different level {n} preset (digest "
                                 f"{digest.hex()}; this shoal has {school.level(n).digest.hex()}): "
                                 "decode it with the shoal version that wrote it")
            return preset
    raise ShoalError(f"archive names a preset this shoal does not know: {name[:40]!r}")


def _threads(threads) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise ShoalError(f"threads must be an integer >= 0 (0: one per CPU), got {threads!r}")
    return threads or os.cpu_count() or 1


def _block_size(preset: school.Preset, block_size) -> int:
    if block_size is None:
        return preset.block_size
    if isinstance(block_size, bool) or not isinstance(block_size, int) or not (
            1 <= block_size <= container.MAX_BLOCK_SIZE):
        raise ShoalError(f"block size must be an integer 1..{container.MAX_BLOCK_SIZE}, got {block_size!r}")
    return block_size


def _as_bytes(data, what: str = "data") -> memoryview:
    try:
        return memoryview(data).cast("B")
    except TypeError:
        raise ShoalError(f"{what} must be bytes-like, not {type(data).__name__}") from None


# ---- blocks, in parallel and in order ----------------------------------------

def _ordered_map(fn, items, threads: int):
    """fn over items, results in order, at most `threads` calls in flight.

    A ShoalError raised while pulling the next item waits until the items
    before it are done, so every thread count reports the same first error."""
    if threads == 1:
        for item in items:
            yield fn(item)
        return
    pool = ThreadPoolExecutor(threads, thread_name_prefix="shoal")
    pending: deque = deque()
    source = iter(items)
    deferred = None
    try:
        while True:
            while deferred is None and source is not None and len(pending) < threads:
                try:
                    pending.append(pool.submit(fn, next(source)))
                except StopIteration:
                    source = None
                except ShoalError as error:
                    deferred = error
            if not pending:
                break
            yield pending.popleft().result()
        if deferred is not None:
            raise deferred
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _code_block(job) -> tuple[memoryview, bytes]:
    data, preset = job
    chosen = school.school_for(data, preset)
    return data, container.encode_block(data, school.compress_block(data, chosen), binary=chosen is preset.binary)


def _frames(blocks, preset, threads):
    """(original, frame bytes) for each block of original bytes."""
    return _ordered_map(_code_block, ((b, preset) for b in blocks), threads)


def _decode_job(job):
    item, preset = job
    if not isinstance(item, Block):
        return item, None
    if item.stored:
        data = item.payload
    elif item.binary:
        if preset.binary is None:
            raise ShoalError(f"corrupted archive: block {item.index} is marked as coded by the preset's school "
                             "for binary blocks, but the preset has only one school")
        data = school.decompress_block(item.payload, item.size, preset.binary)
    else:
        data = school.decompress_block(item.payload, item.size, preset.text)
    container.check_block(item, data)
    return item, data


def _with_presets(items):
    preset = None
    for item in items:
        if isinstance(item, StreamHeader):
            preset = _archive_preset(item.preset, item.digest)
        yield item, preset


def _decoded(items, threads):
    """(item, decoded bytes or None) for every item, checking each stream."""
    checksum = None
    for item, data in _ordered_map(_decode_job, _with_presets(items), threads):
        if isinstance(item, StreamHeader):
            checksum = container.StreamChecksum()
        elif isinstance(item, Block):
            checksum.update(data)
        else:
            checksum.verify(item)
        yield item, data


# ---- one-shot ------------------------------------------------------------------

def compress(data, level: int = school.DEFAULT_LEVEL, *, preset=None, threads: int = 1,
             block_size: int | None = None) -> bytes:
    """Compress bytes-like `data` into one shoal stream.  `preset` (a file,
    a dict in the preset format, or a school.Preset) replaces `level`."""
    view = _as_bytes(data)
    preset, name = _choose_preset(level, preset)
    size = _block_size(preset, block_size)
    out = [container.encode_header(name, preset.digest, size, len(view))]
    blocks = (view[i:i + size] for i in range(0, len(view), size))
    out.extend(frame for _, frame in _frames(blocks, preset, _threads(threads)))
    out.append(container.encode_end(len(view), zlib.crc32(view)))
    return b"".join(out)


def decompress(data, *, threads: int = 1) -> bytes:
    """Decompress every concatenated stream in `data`; trailing garbage is an error."""
    source = io.BytesIO(_as_bytes(data))
    items = container.read_items(source.read)
    return b"".join(d for _, d in _decoded(items, _threads(threads)) if d is not None)


# ---- incremental ----------------------------------------------------------------

class ShoalCompressor:
    """Compress incrementally: compress() returns whatever is ready, flush() the rest.

    Input is buffered up to one block per thread; output matches compress()
    except that the header does not record the size (it is not known yet)."""

    def __init__(self, level: int = school.DEFAULT_LEVEL, *, preset=None, threads: int = 1,
                 block_size: int | None = None):
        self._preset, name = _choose_preset(level, preset)
        self._block_size = _block_size(self._preset, block_size)
        self._threads = _threads(threads)
        self._header = container.encode_header(name, self._preset.digest, self._block_size)
        self._pending = bytearray()
        self._checksum = container.StreamChecksum()
        self._flushed = False

    def compress(self, data) -> bytes:
        if self._flushed:
            raise ShoalError("compressor already flushed")
        self._pending += _as_bytes(data)
        if len(self._pending) < self._threads * self._block_size:
            return self._take_header()
        full = len(self._pending) - len(self._pending) % self._block_size
        return self._take_header() + self._code(full)

    def flush(self) -> bytes:
        if self._flushed:
            raise ShoalError("compressor already flushed")
        self._flushed = True
        frames = self._take_header() + self._code(len(self._pending))
        return frames + container.encode_end(self._checksum.size, self._checksum.crc)

    def _take_header(self) -> bytes:
        header, self._header = self._header, b""
        return header

    def _code(self, n: int) -> bytes:
        chunk = bytes(self._pending[:n])
        del self._pending[:n]
        size = self._block_size
        blocks = (memoryview(chunk)[i:i + size] for i in range(0, n, size))
        out = []
        for block, frame in _frames(blocks, self._preset, self._threads):
            self._checksum.update(block)
            out.append(frame)
        return b"".join(out)


class ShoalDecompressor:
    """Decompress one stream incrementally, like lzma.LZMADecompressor.

    After its end, eof is True and any further bytes are in unused_data
    (decompress() reads all concatenated streams for you)."""

    def __init__(self):
        self._parser = container.StreamParser()
        self._preset = None
        self._checksum = container.StreamChecksum()
        self._output = bytearray()
        self.eof = False

    @property
    def unused_data(self) -> bytes:
        return self._parser.unused_data

    @property
    def needs_input(self) -> bool:
        return not self.eof and not self._output and not self._parser.has_item()

    def decompress(self, data, max_length: int = -1) -> bytes:
        if self.eof:
            raise ShoalError("already at the end of the stream")
        self._parser.feed(_as_bytes(data))
        while max_length < 0 or len(self._output) < max_length:
            item = self._parser.next()
            if item is None:
                break
            self._take(item)
        n = len(self._output) if max_length < 0 else min(max_length, len(self._output))
        out = bytes(self._output[:n])
        del self._output[:n]
        return out

    def _take(self, item) -> None:
        if isinstance(item, StreamHeader):
            self._preset = _archive_preset(item.preset, item.digest)
        elif isinstance(item, Block):
            _, data = _decode_job((item, self._preset))
            self._checksum.update(data)
            self._output += data
        else:
            self._checksum.verify(item)
            self.eof = True


# File objects and streams (ShoalFile, open, compress_stream, ...) build on the above.
from .files import ShoalFile, compress_stream, decompress_stream, list_archive, open  # noqa: E402,F401

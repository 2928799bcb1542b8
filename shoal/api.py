"""The Python interface, modelled on the standard library's lzma module.

    blob = shoal.compress(data, level=6)          # or preset="my.yaml" (or a dict), threads=2
    data = shoal.decompress(blob)
    with shoal.open("notes.txt.shoal", "wt") as f: f.write("...")

plus incremental ShoalCompressor / ShoalDecompressor objects.  File objects
(ShoalFile, open) and the helpers the command line uses (compress_stream,
decompress_stream, list_archive) are in shoal/files.py, built on this; what
the arguments choose (presets, limits, threads) is in shoal/arguments.py and
the blocks' pipeline (in parallel, in order) in shoal/blocks.py.

As in lzma, `preset` may also be a level: compress(data, preset=9) is level 9.

Blocks are independent, so with threads=N up to N blocks are coded at once
(the engine releases the GIL); results are written in order, and the output
is byte-identical for every N.  threads= also takes a runner that codes the
blocks elsewhere (cluster.RayRunner: on Ray workers; see blocks.py).

Decoding takes the memory its archive's preset asks for, so every decoder
takes memlimit= (bytes; None: school.DEFAULT_MEMLIMIT, NO_MEMLIMIT: none) and
refuses a stream whose one block needs more (MemoryLimitError), at its
header, before anything is allocated for it.  With threads=N fewer blocks
are decoded at once when N of them would not fit (as xz does); compress
and ShoalCompressor take memlimit= too (None: a quarter of the RAM, at
least that default), and code fewer blocks at once the same way (never
fewer than one: a compressor refuses nothing).

Errors are those of lzma (shoal/errors.py): ShoalError for what an archive
or preset holds, TypeError / ValueError for bad arguments, EOFError after a
stream's end, OSError from the files read and written, unwrapped.
"""
from __future__ import annotations

import io
import operator
import zlib

from . import school
from .arguments import (NO_MEMLIMIT, archive_preset, as_bytes, block_size_of, choose_preset, know_school,
                        memlimit_of, stream_need, threads_of)
from .blocks import decode_job, decoded, frames, one_block_stream, window_of
from .codec import container
from .codec.container import Block, StreamHeader
from .errors import MemoryLimitError, ShoalError

__all__ = ["compress", "decompress", "ShoalCompressor", "ShoalDecompressor", "ShoalError", "MemoryLimitError",
           "NO_MEMLIMIT"]


# ---- one-shot ------------------------------------------------------------------

def compress(data, level: int = school.DEFAULT_LEVEL, *, preset=None, threads: int = 1,
             block_size: int | None = None, school=None, memlimit: int | None = None) -> bytes:
    """Compress bytes-like `data` into one shoal stream.  `preset` replaces
    `level`: a level 1..9 (as in lzma.compress(data, preset=9)), a preset
    file's path, a dict in the preset format, or a school.Preset.  `school`
    (a school file's path, or a loaded school_file.SchoolFile: what `shoal
    learn` makes) replaces both; decoding needs the same school file.
    threads: blocks coded at once (0: one per CPU), or a runner
    (cluster.RayRunner); memlimit: bytes the blocks coded at once may take
    together (None: a quarter of this machine's RAM, at least
    school.DEFAULT_MEMLIMIT; NO_MEMLIMIT: no limit), never fewer than one
    block."""
    view = as_bytes(data)
    preset, name, learned = choose_preset(level, preset, school)
    size = block_size_of(preset, block_size)
    threads, limit = threads_of(threads), memlimit_of(memlimit, compressing=True)
    if len(view) <= size:
        return one_block_stream(view, preset, name, learned)
    out = [container.encode_start(name, preset.digest, size, len(view), learned)]
    blocks = (view[i:i + size] for i in range(0, len(view), size))
    out.extend(frame for _, frame in frames(blocks, preset, threads, limit))
    out.append(container.encode_end(len(view), zlib.crc32(view)))
    return b"".join(out)


def decompress(data, *, threads: int = 1, memlimit: int | None = None, school=None) -> bytes:
    """Decompress every concatenated stream in `data`; trailing garbage is an error.

    memlimit: bytes decoding may take (None: school.DEFAULT_MEMLIMIT;
    NO_MEMLIMIT: no limit); a stream that needs more raises MemoryLimitError.
    school: the school file (path or SchoolFile) an archive was made with,
    where it is not in $SHOAL_SCHOOL_PATH; archives made without one ignore it."""
    know_school(school)
    view = as_bytes(data)
    threads, limit = threads_of(threads), memlimit_of(memlimit)
    items = container.read_items(io.BytesIO(view).read)
    return b"".join(d for _, d in decoded(items, threads, limit) if d is not None)


# ---- incremental ----------------------------------------------------------------

class ShoalCompressor:
    """Compress incrementally: compress() returns whatever is ready, flush() the rest.

    Input is buffered up to one block per thread (or per place in a
    runner's window), and nothing is returned before a block is coded: a
    stream that ends within its first block is written whole by flush(), in
    the one-block form, as compress() writes it.  Longer output matches
    compress() except that the header does not record the size (it is not
    known yet).  threads and memlimit as in compress()."""

    def __init__(self, level: int = school.DEFAULT_LEVEL, *, preset=None, threads: int = 1,
                 block_size: int | None = None, school=None, memlimit: int | None = None):
        self._preset, name, self._school = choose_preset(level, preset, school)
        self._block_size = block_size_of(self._preset, block_size)
        self._threads, self._limit = threads_of(threads), memlimit_of(memlimit, compressing=True)
        self._name = name
        self._header = container.encode_start(name, self._preset.digest, self._block_size, school=self._school)
        self._pending = bytearray()
        self._checksum = container.StreamChecksum()
        self._flushed = False

    def compress(self, data) -> bytes:
        if self._flushed:
            raise ValueError("compressor has been flushed")
        self._pending += as_bytes(data)
        if len(self._pending) < window_of(self._threads) * self._block_size:
            return b""
        full = len(self._pending) - len(self._pending) % self._block_size
        return self._take_header() + self._code(full)

    def flush(self) -> bytes:
        if self._flushed:
            raise ValueError("repeated call to flush(): the compressor has been flushed")
        self._flushed = True
        if self._header and len(self._pending) <= self._block_size:
            self._header = b""
            return one_block_stream(bytes(self._pending), self._preset, self._name, self._school)
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
        for block, frame in frames(blocks, self._preset, self._threads, self._limit):
            self._checksum.update(block)
            out.append(frame)
        return b"".join(out)


class ShoalDecompressor:
    """Decompress one stream incrementally, like lzma.LZMADecompressor.

    After its end, eof is True and any further bytes are in unused_data
    (decompress() reads all concatenated streams for you).  A stream whose
    one block needs more memory than memlimit (bytes; None: the default,
    school.DEFAULT_MEMLIMIT; NO_MEMLIMIT: none) raises MemoryLimitError at
    its header, before any block is decoded."""

    def __init__(self, *, memlimit: int | None = None, school=None):
        know_school(school)
        self._limit = memlimit_of(memlimit)
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
            raise EOFError("already at end of stream")
        max_length = operator.index(max_length)
        self._parser.feed(as_bytes(data))
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
            self._preset = archive_preset(item.preset, item.digest)
            need = stream_need(item)
            if need > self._limit:
                raise MemoryLimitError(need, self._limit)
        elif isinstance(item, Block):
            _, data = decode_job((item, self._preset, 0))
            self._checksum.update(data)
            self._output += data
        else:
            self._checksum.verify(item)
            self.eof = True


# File objects and streams (ShoalFile, open, compress_stream, ...) build on the above.

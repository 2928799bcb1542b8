"""File objects: shoal.open, ShoalFile (like lzma.LZMAFile), and the streaming
helpers the command line uses (compress_stream, decompress_stream, list_archive).

All of them work one block at a time, so memory stays bounded for any input.
ShoalFile reading decodes block by block as the caller reads (every concatenated
stream, checked as it goes); writing buffers up to one block per thread and
writes a complete stream on close.  "a" appends a new stream, which readers
see as the concatenation.  Seeking in read mode on a seekable file decodes
only the block that holds the target (block_index: the first seek reads
every frame once, decoding nothing); lzma, without an index, decodes from
the start.  Readers take memlimit= as api.decompress does.

An OSError from the files read or written propagates as it is (opening a
missing file raises FileNotFoundError, "x" on an existing one
FileExistsError), as with lzma.
"""
from __future__ import annotations

import builtins
import io
import os
import stat

from . import school
from .api import ShoalCompressor
from .arguments import archive_preset, block_size_of, choose_preset, know_school, memlimit_of, threads_of
from .block_index import BlockIndex
from .blocks import Progress, decoded, frames, one_block_stream
from .codec import container
from .codec.container import Block, StreamEnd, StreamHeader
from .errors import ShoalError

__all__ = ["ShoalFile", "open", "compress_stream", "decompress_stream", "list_archive"]


# ---- streams ----------------------------------------------------------------------

def _read_blocks(read, size: int):
    """Blocks of exactly `size` bytes (the last shorter) until EOF."""
    while True:
        block = bytearray()
        while len(block) < size:
            piece = read(size - len(block))
            if not piece:
                break
            block += piece
        if block:
            yield memoryview(block)
        if len(block) < size:
            return


def _regular_file_size(src) -> int | None:
    """Bytes left in src when it is a regular file (a pipe does not know)."""
    try:
        info = os.fstat(src.fileno())
        return info.st_size - src.tell() if stat.S_ISREG(info.st_mode) else None
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return None


def compress_stream(src, dst, level: int = school.DEFAULT_LEVEL, *, preset=None, threads: int = 1,
                    block_size: int | None = None, progress=None, school=None,
                    memlimit: int | None = None) -> tuple[int, int]:
    """Compress file object src into dst, one block per worker in memory.

    preset, school, threads and memlimit as in api.compress.  progress(bytes_in)
    is called as blocks are coded, about every MiB (blocks.Progress: with
    threads, from their threads, never twice at once), the count never going
    back, the last call with every byte read.  Returns (bytes read, bytes
    written).  An OSError from src or dst propagates as it is."""
    preset, name, learned = choose_preset(level, preset, school)
    size = block_size_of(preset, block_size)
    threads = threads_of(threads)
    known = _regular_file_size(src)
    progress = Progress(progress) if progress is not None else None
    if known is not None and known <= size:
        return _one_block_file(src, dst, preset, name, learned, known, progress)
    header = container.encode_start(name, preset.digest, size, known, learned)
    dst.write(header)
    written = len(header)
    checksum = container.StreamChecksum()
    for block, frame in frames(_read_blocks(src.read, size), preset, threads, memlimit, progress):
        checksum.update(block)
        dst.write(frame)
        written += len(frame)
    if known is not None and checksum.size != known:
        raise ShoalError(f"input changed while being compressed (expected {known} bytes, read {checksum.size})")
    end = container.encode_end(checksum.size, checksum.crc)
    dst.write(end)
    return checksum.size, written + len(end)


def _one_block_file(src, dst, preset, name: bytes, learned, known: int, progress) -> tuple[int, int]:
    """A file of at most one block, written as a one-block stream."""
    data = b"".join(_read_blocks(src.read, known + 1))
    if len(data) != known:
        raise ShoalError(f"input changed while being compressed (expected {known} bytes, read {len(data)})")
    stream = one_block_stream(data, preset, name, learned, progress)
    dst.write(stream)
    return len(data), len(stream)


def decompress_stream(src, dst, *, threads: int = 1, memlimit: int | None = None,
                      progress=None, school=None) -> tuple[int, int]:
    """Decompress every stream of file object src into dst, block by block.

    memlimit and school as in api.decompress (the CLI's -M and -D).
    progress(bytes_in) counts the archive bytes decoded, as compress_stream's
    does the bytes in (a block's share by share as it is decoded), the last
    call with every byte read.  Returns (bytes read, bytes written).  An
    OSError from src or dst propagates as it is."""
    know_school(school)
    threads, limit = threads_of(threads), memlimit_of(memlimit)
    read_in = written = 0
    tracker = Progress(progress) if progress is not None else None
    for item, data in decoded(container.read_items(src.read), threads, limit, tracker):
        read_in += item.archive_bytes
        if data is not None:
            dst.write(data)
            written += len(data)
    return read_in, written


def list_archive(src) -> list[dict]:
    """What each stream of file object src holds (frames are checked, not
    decoded), with each block's place: where its original bytes start (in
    the whole archive's original), its size, and where its frame starts in
    the archive and how many bytes it takes there (the block index a seek
    uses: block_index.py)."""
    streams = []
    at = original_at = 0
    for item in container.read_items(src.read):
        if isinstance(item, StreamHeader):
            try:
                spec = archive_preset(item.preset, item.digest).spec
            except ShoalError:
                spec = {}   # still worth listing: it says which preset is missing
            info = {"preset_digest": item.digest.hex(), "preset": spec, "school": item.preset == b"",
                    "preset_name": (item.preset.decode("ascii", "replace") if item.preset.startswith(b"level")
                                    else None),
                    "blocks": 0, "original_size": 0, "compressed_size": item.archive_bytes,
                    "stored_blocks": 0, "binary_blocks": 0, "block_size": item.block_size, "block_list": []}
            streams.append(info)
        else:
            info["compressed_size"] += item.archive_bytes
        if isinstance(item, Block):
            info["blocks"] += 1
            info["stored_blocks"] += item.stored
            info["binary_blocks"] += item.binary
            kind = "stored" if item.stored else "coded" if item.kind == "text" else item.kind
            info["block_list"].append({"original_offset": original_at, "original_size": item.size,
                                       "archive_offset": at, "archive_bytes": item.archive_bytes, "kind": kind})
            original_at += item.size
        elif isinstance(item, StreamEnd):
            info["original_size"] = item.total_size
        at += item.archive_bytes
    return streams


# ---- ShoalFile ---------------------------------------------------------------------

_READ, _WRITE, _CLOSED = "read", "write", "closed"


class _DecodedReader(io.RawIOBase):
    """The original bytes of a .shoal file object, as a raw stream.

    Read from the start, it decodes stream by stream and checks everything,
    each stream's CRC32 included.  The first seek on a seekable file builds
    a block index (block_index.BlockIndex: one pass that reads the frames
    and decodes nothing); from then on a seek decodes only the block that
    holds its target, and reading goes on block by block from there."""

    def __init__(self, fp, threads: int, limit: int):
        self._fp = fp
        self._threads = threads
        self._limit = limit
        self._origin = fp.tell() if fp.seekable() else 0
        self._index: BlockIndex | None = None
        self._chunks = (data for _, data in decoded(container.read_items(fp.read), threads, limit)
                        if data is not None)
        self._block = memoryview(b"")   # the block being read
        self._block_start = 0           # where it starts in the original
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._fp.seekable()

    def readinto(self, buffer) -> int:
        at = self._pos - self._block_start
        while at >= len(self._block):
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            if self._index is None:
                self._block_start += len(self._block)
            else:
                self._block_start, chunk = chunk
            self._block = memoryview(chunk)
            at = self._pos - self._block_start
        with memoryview(buffer) as view, view.cast("B") as out:
            n = min(len(out), len(self._block) - at)
            out[:n] = self._block[at:at + n]
        self._pos += n
        return n

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence not in (io.SEEK_SET, io.SEEK_CUR, io.SEEK_END):
            raise ValueError(f"invalid whence ({whence!r}, should be 0, 1 or 2)")
        if not self._fp.seekable():
            raise io.UnsupportedOperation("seek: the archive's file object is not seekable")
        if self._index is None:
            self._fp.seek(self._origin)
            self._index = BlockIndex(self._fp, self._limit)
            self._chunks.close()
            # reading goes on, from the index, after the block held now
            after = self._index.find(self._block_start + len(self._block))
            self._chunks = self._index.decoded(after, self._threads, self._limit)
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            offset += self._index.size
        if offset < 0:
            raise OSError(22, f"Invalid argument: negative seek position {offset}")
        if not self._block_start <= offset < self._block_start + len(self._block):
            # decode from the block that holds the target (none: past the end)
            first = self._index.find(offset)
            self._chunks.close()
            self._chunks = self._index.decoded(first, self._threads, self._limit)
            self._block, self._block_start = memoryview(b""), offset
        self._pos = offset
        return offset

    def close(self) -> None:
        self._chunks.close()   # stops any worker threads
        super().close()


class ShoalFile(io.BufferedIOBase):
    """A file object that reads or writes a .shoal archive.

    filename is a path (str, bytes, os.PathLike) or a binary file object;
    mode is "r", "w", "x" or "a" (optionally with "b").  Writing takes level,
    preset or school (which replace level, as in api.compress); reading
    takes memlimit and school (as in api.decompress).  Opening a path raises
    the OSError the system gives (FileNotFoundError, FileExistsError for
    "x", ...)."""

    def __init__(self, filename, mode: str = "r", *, level: int = school.DEFAULT_LEVEL,
                 preset=None, threads: int = 1, memlimit: int | None = None, school=None):
        self._mode = _CLOSED   # until everything below has worked
        if mode not in ("r", "rb", "w", "wb", "x", "xb", "a", "ab"):
            raise ValueError(f"invalid mode: {mode!r}")
        reading = mode[0] == "r"
        # every argument is checked before opening: a bad level must not create a file
        if reading:
            if preset is not None:
                raise ValueError("cannot give a preset when opening a file for reading")
            limit = memlimit_of(memlimit)
            know_school(school)
        else:
            if memlimit is not None:
                raise ValueError("memlimit is for reading; cannot give it when opening a file for writing")
            self._compressor = ShoalCompressor(level, preset=preset, threads=threads, school=school)
        threads = threads_of(threads)
        if isinstance(filename, (str, bytes, os.PathLike)):
            self._fp = builtins.open(filename, mode[0] + "b")
            self._owns_fp = True
        elif hasattr(filename, "read" if reading else "write"):
            self._fp, self._owns_fp = filename, False
        else:
            raise TypeError("filename must be a str, bytes or os.PathLike path, or a file object, "
                            f"not {type(filename).__name__}")
        if reading:
            self._buffer = io.BufferedReader(_DecodedReader(self._fp, threads, limit))
        self._written = 0
        self._mode = _READ if reading else _WRITE

    # -- state --
    @property
    def closed(self) -> bool:
        return self._mode == _CLOSED

    def _check(self, mode: str, doing: str = "") -> None:
        if self._mode == _CLOSED:
            raise ValueError("I/O operation on closed file")
        if self._mode != mode:
            raise io.UnsupportedOperation(doing or f"File not open for {'reading' if mode == _READ else 'writing'}")

    def readable(self) -> bool:
        self._check_open()
        return self._mode == _READ

    def writable(self) -> bool:
        self._check_open()
        return self._mode == _WRITE

    def seekable(self) -> bool:
        return self.readable() and self._buffer.seekable()

    def _check_open(self) -> None:
        if self._mode == _CLOSED:
            raise ValueError("I/O operation on closed file")

    def fileno(self) -> int:
        self._check_open()
        return self._fp.fileno()

    def close(self) -> None:
        if self._mode == _CLOSED:
            return
        try:
            if self._mode == _READ:
                self._buffer.close()
            else:
                self._fp.write(self._compressor.flush())
        finally:
            try:
                if self._owns_fp:
                    self._fp.close()
            finally:
                self._mode = _CLOSED

    # -- reading --
    def read(self, size: int = -1) -> bytes:
        self._check(_READ)
        return self._buffer.read(size)

    def read1(self, size: int = -1) -> bytes:
        self._check(_READ)
        return self._buffer.read1(size)

    def readinto(self, b) -> int:
        self._check(_READ)
        return self._buffer.readinto(b)

    def readline(self, size: int = -1) -> bytes:
        self._check(_READ)
        return self._buffer.readline(size)

    def peek(self, size: int = 0) -> bytes:
        self._check(_READ)
        return self._buffer.peek(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check(_READ, "Seeking is only supported on files open for reading")
        return self._buffer.seek(offset, whence)

    def tell(self) -> int:
        self._check_open()
        return self._buffer.tell() if self._mode == _READ else self._written

    # -- writing --
    def write(self, data) -> int:
        self._check(_WRITE)
        with memoryview(data) as view:
            n = view.nbytes
            self._fp.write(self._compressor.compress(view))
        self._written += n
        return n


def open(filename, mode: str = "rb", *, level: int = school.DEFAULT_LEVEL, preset=None,
         threads: int = 1, memlimit: int | None = None, encoding=None, errors=None, newline=None, school=None):
    """Open a .shoal file in binary ("rb", "wb", "xb", "ab") or text ("rt", "wt", "xt", "at") mode.

    Binary modes return a ShoalFile, text modes an io.TextIOWrapper around
    one.  level/preset are for writing, memlimit for reading, school for
    both (ShoalFile)."""
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a str, not {type(mode).__name__}")
    if "t" in mode:
        if "b" in mode:
            raise ValueError(f"invalid mode: {mode!r}")
    elif encoding is not None or errors is not None or newline is not None:
        raise ValueError("encoding, errors and newline are for text modes only")
    binary = ShoalFile(filename, mode.replace("t", ""), level=level, preset=preset, threads=threads,
                       memlimit=memlimit, school=school)
    if "t" not in mode:
        return binary
    return io.TextIOWrapper(binary, io.text_encoding(encoding), errors, newline)

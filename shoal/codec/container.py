"""The shoal container: streams of independent blocks, checked at every step.

A .shoal file is one or more streams; concatenated streams decode to the
concatenation of their contents (as with xz).  Integers are little-endian.

    stream  = header, block*, end
    header  = magic "\\x89SHOAL" (6), version u8 = 1, flags u8,
              block_size u32, original_size u64, preset_len u16,
              preset_digest (16), preset (preset_len), header_crc u32
    block   = type u8 (1 stored, 2 coded, 3 coded by the binary school,
              4 by the x86 school, 5 by the structured-text school),
              size u32, payload_size u32,
              data_crc u32, payload_crc u32, frame_crc u32, payload
    end     = type u8 (0), total_size u64, total_crc u32, frame_crc u32

Stream padding, null bytes in a multiple of 4 (as in xz), may follow any
stream, the last one too; read_items skips it.  Padding of another length,
or any other byte where a stream should start, is an error (trailing
garbage); a file that starts with null bytes is not an archive.

flags bit 0 says original_size is known (otherwise it is 0 and only the end
frame has the total: streams from a pipe).  Every header_crc / frame_crc is
the CRC32 (zlib) of the bytes before it in the same header or frame, so a
corrupted length is caught before it is trusted; payload_crc is the CRC32 of
the payload as stored (so any damage to it is caught before decoding, even
in the tail bits a range coder ignores), data_crc that of the block's
original bytes and total_crc that of the whole stream's original.  Lengths
are bounded by block_size (at most 1 GiB), so no corrupted field can make a
reader allocate more than one block.

This module knows nothing of models: the preset is opaque bytes plus a
16-byte digest, and coded payloads are passed in and out as they are.  A
coded block says which of the preset's schools coded it: its text school
(type 2, the only one of most presets), its binary school (type 3), its
x86 school (type 4) or its structured-text school (type 5;
school.school_for).
Version 2 (shoal/codec/compact.py) writes the header compactly, and a
stream of at most one block in one compact form; the parser reads both
versions and gives the same items for each.
docs/format.md describes the format byte by byte.  The frames and how
they are written are frames.py's; this module reads them.
"""

from __future__ import annotations

import re
import zlib
from collections import deque
from dataclasses import replace
from typing import Callable, Iterator

from ..errors import ShoalError
from . import compact
from .frames import (_BLOCK, _BLOCK_TYPES, _CRC, _END, _HEADER, CODED, CODED_BINARY, CODED_STRUCTURED, CODED_X86,
                     DIGEST_BYTES, END, FLAG_SIZE_KNOWN, MAGIC, MAX_BLOCK_SIZE, MAX_PRESET_BYTES, READ_CHUNK, STORED,
                     VERSION, Block, StreamEnd, StreamHeader, encode_block, encode_end, encode_header, encode_start,
                     encode_stream)

# the writing half (frames.py) is part of this module's interface
__all__ = ["MAGIC", "VERSION", "MAX_BLOCK_SIZE", "MAX_PRESET_BYTES", "DIGEST_BYTES", "FLAG_SIZE_KNOWN", "END",
           "STORED", "CODED", "CODED_BINARY", "CODED_X86", "CODED_STRUCTURED", "READ_CHUNK", "StreamHeader", "Block",
           "StreamEnd", "encode_header",
           "encode_start", "encode_stream", "encode_block", "encode_end", "StreamParser", "check_block",
           "StreamChecksum", "read_items"]


def _corrupt(what: str) -> ShoalError:
    return ShoalError(f"corrupted archive: {what}")


class StreamParser:
    """Splits one stream into StreamHeader, Block..., StreamEnd as bytes arrive.

    feed() bytes in any pieces; next() returns the next complete item or None
    when it needs more input.  After the end frame, eof is True and any bytes
    beyond it are unused_data.  Structure and frame checksums are checked
    here; a block's data_crc needs its decoded bytes (check_block)."""

    def __init__(self, first_stream: bool = True, data: bytearray | None = None):
        self._buf = bytearray() if data is None else data
        self._first = first_stream
        self._pending: deque = deque()     # items parsed ahead (a one-block stream gives three at once)
        self.header: StreamHeader | None = None
        self.blocks = 0
        self.total_size = 0
        self.eof = False

    def feed(self, data) -> None:
        self._buf += data

    @property
    def unused_data(self) -> bytes:
        return bytes(self._buf) if self.eof else b""

    def hand_over(self) -> bytearray:
        """After the end frame: the bytes beyond it, given up (not copied)
        for the next stream's parser, so an archive of many small streams
        decodes in time linear in its size."""
        rest, self._buf = self._buf, bytearray()
        return rest

    def next(self):
        if self.eof:
            return None
        item = self._pending.popleft() if self._pending else self._parse()
        if isinstance(item, Exception):
            raise item
        if isinstance(item, StreamEnd):
            self.eof = True
        return item

    def has_item(self) -> bool:
        """True when next() can return an item without more input (it may
        still raise): the item is parsed ahead and kept for next()."""
        if self.eof:
            return False
        if not self._pending:
            try:
                item = self._parse()
            except ShoalError as error:
                item = error
            if item is None:
                return False
            self._pending.appendleft(item)
        return True

    def _parse(self):
        return self._parse_header() if self.header is None else self._parse_frame()

    def finish(self) -> None:
        """Input has ended: raise unless the stream is complete."""
        if self.eof:
            return
        if not self._buf and self.header is None:
            raise ShoalError("not a shoal archive: empty input" if self._first
                             else "truncated archive: stream ends inside its header")
        if self.header is None:
            buf = self._buf
            if len(buf) > 7 and buf[6] == compact.VERSION and buf[7] & compact.ONE_BLOCK:
                raise ShoalError("truncated archive: input ends inside a one-block stream")
            raise ShoalError("truncated archive: input ends inside a stream header")
        raise ShoalError(f"truncated archive: input ends after {self.blocks} complete blocks, "
                         "before the end of the stream")

    def _parse_header(self) -> StreamHeader | None:
        buf = self._buf
        seen = bytes(buf[:len(MAGIC)])
        if seen != MAGIC[:len(seen)]:
            raise ShoalError("not a shoal archive (bad magic bytes)" if self._first
                             else "trailing garbage after the end of the archive")
        if len(buf) <= len(MAGIC):
            return None
        version = buf[len(MAGIC)]
        if version == compact.VERSION:
            return self._parse_v2_header()
        if version != VERSION:
            raise ShoalError(f"unsupported format version {version} (this shoal reads 1 and {compact.VERSION})")
        if len(buf) < _HEADER.size:
            return None
        _, _, flags, block_size, original_size, preset_len, digest = _HEADER.unpack_from(buf)
        end = _HEADER.size + preset_len
        if len(buf) < end + _CRC.size:
            return None
        if _CRC.unpack_from(buf, end)[0] != zlib.crc32(memoryview(buf)[:end]):
            raise _corrupt("stream header checksum mismatch")
        # The checksum holds, so a bad value here comes from a faulty writer.
        if flags & ~FLAG_SIZE_KNOWN:
            raise ShoalError(f"unsupported archive: unknown header flags 0x{flags:02x}")
        if not 1 <= block_size <= MAX_BLOCK_SIZE or preset_len == 0:
            raise _corrupt("stream header has an invalid block size or preset")
        if not flags & FLAG_SIZE_KNOWN:
            if original_size:
                raise _corrupt("stream header has a size but says it has none")
            original_size = None
        self.header = StreamHeader(bytes(buf[_HEADER.size:end]), digest, block_size,
                                   original_size, end + _CRC.size)
        del buf[:end + _CRC.size]
        return self.header

    def _parse_v2_header(self) -> StreamHeader | None:
        buf = self._buf
        start = len(MAGIC) + 2
        if len(buf) < start:
            return None
        kind, one_block, content, size_known = compact.parse_flags(buf[start - 1])
        found = compact.read_identity(buf, start, kind, MAX_PRESET_BYTES)
        if found is None:
            return None
        (name, digest, school), pos = found
        if one_block:
            return self._parse_one_block(name, digest, school, content, pos)
        found = compact.read_varint(buf, pos, "block size")
        if found is None:
            return None
        block_size, pos = found
        original_size = None
        if size_known:
            found = compact.read_varint(buf, pos, "original size")
            if found is None:
                return None
            original_size, pos = found
        if len(buf) < pos + _CRC.size:
            return None
        if _CRC.unpack_from(buf, pos)[0] != zlib.crc32(memoryview(buf)[:pos]):
            raise _corrupt("stream header checksum mismatch")
        if not 1 <= block_size <= MAX_BLOCK_SIZE:
            raise _corrupt("stream header has an invalid block size")
        self.header = StreamHeader(name, digest, block_size, original_size, pos + _CRC.size,
                                   compact.VERSION, school)
        del buf[:pos + _CRC.size]
        return self.header

    def _parse_one_block(self, name: bytes, digest: bytes, school, content: int, pos: int):
        """A whole one-block stream: its header, block and end, queued."""
        buf = self._buf
        if content == compact.EMPTY:
            self.header = StreamHeader(name, digest, 1, 0, pos, compact.VERSION, school)
            del buf[:pos]
            self._pending.append(StreamEnd(0, 0, 0))
            return self.header
        found = compact.read_varint(buf, pos, "block size")
        if found is None:
            return None
        size, pos = found
        if not 1 <= size <= MAX_BLOCK_SIZE:
            raise _corrupt(f"one-block stream has a size of {size:,} bytes, outside 1..{MAX_BLOCK_SIZE:,}")
        header_bytes, payload_size = pos, size
        if content != compact.STORED:
            found = compact.read_varint(buf, pos, "payload size")
            if found is None:
                return None
            payload_size, pos = found
            if not 1 <= payload_size < size:
                raise _corrupt(f"coded block has payload size {payload_size} for {size} bytes")
        end = pos + payload_size
        if len(buf) < end + _CRC.size:
            return None
        crc = _CRC.unpack_from(buf, end)[0]
        self.header = StreamHeader(name, digest, size, size, header_bytes, compact.VERSION, school)
        block = Block(0, content == compact.STORED, size, crc, bytes(buf[pos:end]), end - header_bytes,
                      compact.SCHOOL_OF.get(content, "text"))
        del buf[:end + _CRC.size]
        self.blocks, self.total_size = 1, size
        self._pending.extend((block, StreamEnd(size, crc, _CRC.size)))
        return self.header

    def _parse_frame(self):
        buf = self._buf
        if not buf:
            return None
        kind = buf[0]
        if kind == END:
            return self._parse_end()
        if kind not in _BLOCK_TYPES:
            raise _corrupt(f"unknown frame type 0x{kind:02x} where block {self.blocks} should be")
        head = _BLOCK.size + _CRC.size
        if len(buf) < head:
            return None
        if _CRC.unpack_from(buf, _BLOCK.size)[0] != zlib.crc32(memoryview(buf)[:_BLOCK.size]):
            raise _corrupt(f"block {self.blocks} frame checksum mismatch")
        _, size, payload_size, crc, payload_crc = _BLOCK.unpack_from(buf)
        self._check_block_lengths(kind, size, payload_size)
        if len(buf) < head + payload_size:
            return None
        payload = bytes(buf[head:head + payload_size])
        if zlib.crc32(payload) != payload_crc:
            raise _corrupt(f"block {self.blocks} payload checksum mismatch")
        block = Block(self.blocks, kind == STORED, size, crc, payload, head + payload_size,
                      compact.SCHOOL_OF.get(kind, "text"))
        del buf[:head + payload_size]
        self.blocks += 1
        self.total_size += size
        return block

    def _check_block_lengths(self, kind: int, size: int, payload_size: int) -> None:
        header = self.header
        if not 1 <= size <= header.block_size:
            raise _corrupt(f"block {self.blocks} size {size} is outside 1..{header.block_size}")
        if kind == STORED and payload_size != size:
            raise _corrupt(f"stored block {self.blocks} has payload size {payload_size} != {size}")
        if kind != STORED and not 1 <= payload_size < size:
            raise _corrupt(f"coded block {self.blocks} has payload size {payload_size} for {size} bytes")
        if header.original_size is not None and self.total_size + size > header.original_size:
            raise _corrupt(f"blocks hold more than the {header.original_size} bytes the header states")

    def _parse_end(self) -> StreamEnd | None:
        buf = self._buf
        if len(buf) < _END.size + _CRC.size:
            return None
        if _CRC.unpack_from(buf, _END.size)[0] != zlib.crc32(memoryview(buf)[:_END.size]):
            raise _corrupt("end frame checksum mismatch")
        _, total_size, crc = _END.unpack_from(buf)
        if total_size != self.total_size:
            raise _corrupt(f"end frame says {total_size} bytes but the blocks hold {self.total_size}")
        if self.header.original_size not in (None, total_size):
            raise _corrupt(f"header says {self.header.original_size} bytes but the stream holds {total_size}")
        del buf[:_END.size + _CRC.size]
        return StreamEnd(total_size, crc, _END.size + _CRC.size)


def check_block(block: Block, data: bytes) -> None:
    """Raise unless `data` is what the block's frame recorded."""
    if len(data) != block.size or zlib.crc32(data) != block.crc:
        raise _corrupt(f"block {block.index} checksum mismatch")


class StreamChecksum:
    """Running length and CRC32 of a stream's original, checked at its end."""

    def __init__(self):
        self.size = 0
        self.crc = 0

    def update(self, data) -> None:
        self.size += len(data)
        self.crc = zlib.crc32(data, self.crc)

    def verify(self, end: StreamEnd) -> None:
        if self.size != end.total_size or self.crc != end.crc:
            raise _corrupt("checksum of the whole stream does not match")


_NONZERO = re.compile(rb"[^\x00]")


def _skip_padding(rest: bytearray, read: Callable[[int], bytes]) -> tuple[bytearray, int]:
    """Drop the null bytes at the front of `rest` (reading on while it holds
    nothing else): the stream padding after a stream.  Returns what is left
    (empty at the end of the input) and how many null bytes were dropped.
    No copy is made of `rest`, and only the padding is scanned."""
    padding = 0
    while True:
        if not rest:
            rest = bytearray(read(READ_CHUNK))
            if not rest:
                return rest, padding
        if rest[0]:
            return rest, padding
        found = _NONZERO.search(rest)
        n = found.start() if found else len(rest)
        padding += n
        del rest[:n]


def read_items(read: Callable[[int], bytes]) -> Iterator:
    """Every item of every stream, pulled with read(n) until it returns b"".

    Yields StreamHeader, Block..., StreamEnd, then the same for each further
    concatenated stream.  Stream padding (null bytes, a multiple of 4) may
    follow any stream, as in xz; it is counted in the StreamEnd before it
    (padding, archive_bytes).  Raises ShoalError on empty, truncated or
    foreign input, on padding that is not a multiple of 4 bytes and on
    trailing garbage after the last stream."""
    parser = StreamParser(first_stream=True)
    streams = 0
    while True:
        item = parser.next()
        if item is None:
            data = read(READ_CHUNK)
            if not data:
                parser.finish()
            parser.feed(data)
            continue
        if not parser.eof:
            yield item
            continue
        streams += 1
        rest, padding = _skip_padding(parser.hand_over(), read)
        if padding % 4:
            raise ShoalError(f"trailing garbage after stream {streams}: {padding:,} null bytes, and stream "
                             "padding must be a multiple of 4 bytes")
        if padding:
            item = replace(item, padding=padding, archive_bytes=item.archive_bytes + padding)
        yield item
        if not rest:
            return
        parser = StreamParser(first_stream=False, data=rest)

"""The shoal container's frames: what each one holds, and how it is written.

container.py's docstring (and docs/format.md) describes the layout; this
module has its constants, the items a reader gives (StreamHeader, Block,
StreamEnd) and the encoders; container.py reads them back.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from ..errors import ShoalError
from . import compact

MAGIC = b"\x89SHOAL"
VERSION = 1
MAX_BLOCK_SIZE = 1 << 30
MAX_PRESET_BYTES = 0xFFFF
DIGEST_BYTES = compact.DIGEST_BYTES

FLAG_SIZE_KNOWN = 0x01

END, STORED = 0, 1
CODED, CODED_BINARY, CODED_X86, CODED_STRUCTURED = (compact.CODED, compact.CODED_BINARY, compact.CODED_X86,
                                                    compact.CODED_STRUCTURED)
_BLOCK_TYPES = (STORED, CODED, CODED_BINARY, CODED_X86, CODED_STRUCTURED)

_HEADER = struct.Struct("<6sBBIQH16s")   # magic .. digest; then preset, crc
_BLOCK = struct.Struct("<BIIII")         # type, size, payload_size, data_crc, payload_crc
_END = struct.Struct("<BQI")             # type, total_size, total_crc
_CRC = struct.Struct("<I")

READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class StreamHeader:
    preset: bytes                 # opaque to the container
    digest: bytes                 # 16 bytes identifying the preset
    block_size: int               # no block holds more original bytes
    original_size: int | None     # None when the writer did not know it
    archive_bytes: int = 0        # bytes this header took in the archive
    version: int = VERSION        # the format version of this stream
    school: bytes | None = None   # version 2: the digest of the school file that coded it


@dataclass(frozen=True)
class Block:
    index: int                    # 0-based position in its stream
    stored: bool                  # True: payload is the original bytes
    size: int                     # original bytes
    crc: int                      # CRC32 of the original bytes
    payload: bytes
    archive_bytes: int = 0
    kind: str = "text"            # which of the preset's schools coded it (school/kinds.py)

    @property
    def binary(self) -> bool:
        """Coded by a school for binary blocks (binary or x86)."""
        return self.kind in ("binary", "x86")


@dataclass(frozen=True)
class StreamEnd:
    total_size: int
    crc: int                      # CRC32 of the whole stream's original
    archive_bytes: int = 0        # the end frame's bytes, and the padding after it
    padding: int = 0              # null bytes of stream padding after the stream (read_items)


def _with_crc(frame: bytes) -> bytes:
    return frame + _CRC.pack(zlib.crc32(frame))


def encode_header(preset: bytes, digest: bytes, block_size: int,
                  original_size: int | None = None) -> bytes:
    """The bytes that open a version 1 stream (writers now write version 2:
    encode_start, encode_stream; this stays for tests and golden archives)."""
    _check_header(preset, digest, block_size)
    flags = FLAG_SIZE_KNOWN if original_size is not None else 0
    fixed = _HEADER.pack(MAGIC, VERSION, flags, block_size, original_size or 0, len(preset), digest)
    return _with_crc(fixed + preset)


def encode_start(name: bytes, digest: bytes, block_size: int, original_size: int | None = None,
                 school: bytes | None = None) -> bytes:
    """The version 2 header of a framed stream (blocks and end follow);
    `name` is a preset's bytes as version 1 carries them (a level's name
    is written as its one-byte id)."""
    _check_header(name, digest, block_size)
    head = MAGIC + compact.framed_fields(name, digest, block_size, original_size, school)
    return _with_crc(head)


def encode_stream(name: bytes, digest: bytes, data, payload: bytes | None, kind: str = "text",
                  school: bytes | None = None) -> bytes:
    """A whole version 2 stream of at most one block (the one-block form):
    `data` coded as `payload`, or stored when payload is None."""
    _check_header(name, digest, max(1, len(data)))
    return MAGIC + compact.encode_one_block(name, digest, data, payload, kind, school)


def _check_header(preset: bytes, digest: bytes, block_size: int) -> None:
    if not 1 <= len(preset) <= MAX_PRESET_BYTES:
        raise ShoalError(f"preset description must be 1..{MAX_PRESET_BYTES} bytes, got {len(preset)}")
    if len(digest) != DIGEST_BYTES:
        raise ShoalError(f"preset digest must be {DIGEST_BYTES} bytes, got {len(digest)}")
    if not 1 <= block_size <= MAX_BLOCK_SIZE:
        raise ShoalError(f"block size must be 1..{MAX_BLOCK_SIZE} bytes, got {block_size}")


def encode_block(data, payload: bytes | None, kind: str = "text") -> bytes:
    """A block frame for original `data` (non-empty): coded with `payload`
    by the preset's school for `kind` blocks, or stored raw when
    payload is None (the coder could not shrink it)."""
    stored = compact.is_stored(data, payload)
    body = bytes(data) if stored else payload
    frame = _BLOCK.pack(STORED if stored else compact.CODED_BY[kind], len(data), len(body), zlib.crc32(data),
                        zlib.crc32(body))
    return _with_crc(frame) + body


def encode_end(total_size: int, crc: int) -> bytes:
    """The bytes that close a stream."""
    return _with_crc(_END.pack(END, total_size, crc))

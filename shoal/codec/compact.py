"""Format version 2: the stream header that small files can afford.

Version 1 spent 81 bytes of framing on a 1-byte file (a 42-byte header
with 8-byte sizes and a level's name, a 21-byte block frame, a 17-byte
end).  Version 2 keeps what the format promises (magic, version, the
preset's identity, sizes, the CRC32 of the original) and writes it
compactly:

    stream  = magic "\\x89SHOAL" (6), version u8 = 2, flags u8, identity, rest
    flags   bits 0-1: identity kind: 0 a built-in preset, by a one-byte id;
                      1 a preset carried in the stream; 2 a school file;
            bit 2:    the one-block form (else framed)
            bits 3-5: one-block form: what it holds: 0 nothing (an empty
                      stream), 1 a stored block, 2 a coded block, 3 a
                      block coded by the preset's binary school, 4 one
                      coded by its x86 school, 5 by its structured-text
                      school (the block types of the framed form)
            bit 5:    framed form: original_size follows (bits 3-4 are 0)
            bits 6-7: reserved, 0
    identity = id u8                                  (kind 0)
             | digest (16), varint L, preset (L)      (kind 1)
             | school id (8)                          (kind 2)
    rest (one-block form) = varint size, [varint payload_size: coded
             blocks only], payload, data_crc u32 (CRC32 of the original;
             absent in an empty stream)
    rest (framed form)    = varint block_size, [varint original_size],
             header_crc u32 (CRC32 of every byte of the header before it),
             then version 1's block frames and end frame, unchanged.

Varints are unsigned LEB128 (7 bits a byte, low bits first), at most 9
bytes, without redundant zero bytes.  Writers use the one-block form when
they know, before writing, that the stream is one block or none: a 1-byte
file then takes 15 bytes, a coded 1 KB one 17 bytes of framing.  Nothing
in the one-block form has a checksum of its own: damage anywhere in it
shows as a wrong CRC32 of the original (or as an error before that), and
its sizes are bounded like version 1's, so no corrupted field can make a
reader allocate more than one block.

Built-in ids (shoal/data/preset_ids.json) name a preset (a level's name
and digest) forever; ids are added, never changed or reused.  A school
file is named by its id, the first 8 bytes of its digest: the whole digest
would cost small files 8 bytes more each (a 1 KB JSON record codes to about
150), and 64 bits tell apart more schools than anyone keeps (zstd names
its dictionaries by 32); a wrong school still fails the CRC32.
"""
from __future__ import annotations

import json
import struct
import zlib
from importlib import resources

from ..errors import ShoalError

VERSION = 2
BUILT_IN, CARRIED, SCHOOL = 0, 1, 2
_KIND = 0x03
ONE_BLOCK = 0x04
_CONTENT_SHIFT = 3
_CONTENT = 0x38           # one-block form
_FRAMED_CONTENT = 0x18    # framed form: always 0
SIZE_KNOWN = 0x20         # framed form
_RESERVED = 0xC0
# one-block content, numbered as the framed form's block types
EMPTY, STORED, CODED, CODED_BINARY, CODED_X86, CODED_STRUCTURED = 0, 1, 2, 3, 4, 5
# a coded block's type names the preset's school that coded it (school/kinds.py)
CODED_BY = {"text": CODED, "binary": CODED_BINARY, "x86": CODED_X86, "structured": CODED_STRUCTURED}
SCHOOL_OF = {code: kind for kind, code in CODED_BY.items()}

DIGEST_BYTES = 16
SCHOOL_ID_BYTES = 8
_MAX_VARINT_BYTES = 9
_CRC = struct.Struct("<I")

_IDS = json.loads(resources.files("shoal").joinpath("data/preset_ids.json").read_text())["ids"]
# id -> (name, digest) and back
BUILT_IN_PRESETS = {int(k): (name.encode(), bytes.fromhex(digest)) for k, (name, digest) in _IDS.items()}
_ID_OF = {named: n for n, named in BUILT_IN_PRESETS.items()}


def built_in_id(name: bytes, digest: bytes) -> int | None:
    """The one-byte id of a built-in preset so named, if it has one."""
    return _ID_OF.get((name, digest))


# A coded payload holds at least a byte and is smaller than its block
# (is_stored), so a block of fewer bytes than this is always stored: a
# writer need not code it to find out.
SMALLEST_CODED = 2


def is_stored(data, payload: bytes | None) -> bool:
    """Whether a block of `data` coded as `payload` is written stored: a
    coded payload holds 1 .. size - 1 bytes (the coder may need none for a
    byte or two), in both versions."""
    return payload is None or not 0 < len(payload) < len(data)


def varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_varint(buf, pos: int, what: str) -> tuple[int, int] | None:
    """(value, position after it), or None when buf ends inside it."""
    value = 0
    for i in range(_MAX_VARINT_BYTES):
        if pos + i >= len(buf):
            return None
        byte = buf[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if byte == 0 and i:
                raise ShoalError(f"corrupted archive: {what} is not a minimal varint")
            return value, pos + i + 1
    raise ShoalError(f"corrupted archive: {what} is longer than {_MAX_VARINT_BYTES} bytes")


def identity(name: bytes, digest: bytes, school: bytes | None = None) -> tuple[int, bytes]:
    """(identity kind, its bytes) naming a preset (or a school file)."""
    if school is not None:
        return SCHOOL, school[:SCHOOL_ID_BYTES]
    n = built_in_id(name, digest)
    if n is not None:
        return BUILT_IN, bytes([n])
    return CARRIED, digest + varint(len(name)) + name


def read_identity(buf, pos: int, kind: int, max_preset: int):
    """((name, digest, school), position after it), or None when buf ends inside it."""
    if kind == BUILT_IN:
        if pos >= len(buf):
            return None
        n = buf[pos]
        if n not in BUILT_IN_PRESETS:
            raise ShoalError(f"archive names built-in preset {n}, which this shoal does not know: "
                             "decode it with the shoal version that wrote it (or a newer one)")
        name, digest = BUILT_IN_PRESETS[n]
        return (name, digest, None), pos + 1
    if kind not in (CARRIED, SCHOOL):
        raise ShoalError(f"unsupported archive: unknown preset identity kind {kind}")
    if kind == SCHOOL:
        if len(buf) < pos + SCHOOL_ID_BYTES:
            return None
        school = bytes(buf[pos:pos + SCHOOL_ID_BYTES])
        return (b"", school, school), pos + SCHOOL_ID_BYTES
    if len(buf) < pos + DIGEST_BYTES:
        return None
    digest = bytes(buf[pos:pos + DIGEST_BYTES])
    pos += DIGEST_BYTES
    found = read_varint(buf, pos, "preset length")
    if found is None:
        return None
    length, pos = found
    if not 1 <= length <= max_preset:
        raise ShoalError(f"corrupted archive: preset length {length} is outside 1..{max_preset}")
    if len(buf) < pos + length:
        return None
    return (bytes(buf[pos:pos + length]), digest, None), pos + length


def _start(kind: int, ident: bytes, flags: int) -> bytes:
    return bytes([VERSION, kind | flags]) + ident


def framed_fields(name: bytes, digest: bytes, block_size: int, original_size: int | None,
                  school: bytes | None = None) -> bytes:
    """A framed stream's header after the magic, before its header_crc."""
    kind, ident = identity(name, digest, school)
    head = _start(kind, ident, 0 if original_size is None else SIZE_KNOWN) + varint(block_size)
    return head if original_size is None else head + varint(original_size)


def encode_one_block(name: bytes, digest: bytes, data, payload: bytes | None, coded_by: str = "text",
                     school: bytes | None = None) -> bytes:
    """A whole stream after the magic, holding `data` (at most one block):
    coded as `payload` by the school for `coded_by` blocks, stored when
    payload is None or would not be smaller, or empty."""
    kind, ident = identity(name, digest, school)
    if not len(data):
        return _start(kind, ident, ONE_BLOCK | EMPTY << _CONTENT_SHIFT)
    stored = is_stored(data, payload)
    content = STORED if stored else CODED_BY[coded_by]
    rest = varint(len(data)) + (bytes(data) if stored else varint(len(payload)) + payload)
    return _start(kind, ident, ONE_BLOCK | content << _CONTENT_SHIFT) + rest + _CRC.pack(zlib.crc32(data))


def parse_flags(flags: int) -> tuple[int, bool, int, bool]:
    """(identity kind, one-block form, content, size known) of a flags byte."""
    if flags & _RESERVED:
        raise ShoalError(f"unsupported archive: unknown header flags 0x{flags:02x}")
    one_block = bool(flags & ONE_BLOCK)
    if not one_block and flags & _FRAMED_CONTENT:
        raise ShoalError(f"corrupted archive: header flags 0x{flags:02x} mix the one-block and framed forms")
    if not one_block:
        return flags & _KIND, False, EMPTY, bool(flags & SIZE_KNOWN)
    content = (flags & _CONTENT) >> _CONTENT_SHIFT
    if content > CODED_STRUCTURED:
        raise ShoalError(f"unsupported archive: unknown one-block content {content} (header flags 0x{flags:02x})")
    return flags & _KIND, True, content, False

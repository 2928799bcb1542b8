"""Format version 2 (shoal/codec/compact.py): small inputs pay little framing,
every field is checked, and the parser gives the same items as for version 1."""
import io
import random
import zlib

import pytest

import shoal
from shoal import school
from shoal.codec import compact, container
from shoal.codec.container import Block, StreamEnd, StreamHeader, StreamParser
from shoal.errors import ShoalError

TINY = school.from_dict({"fish": [{"kind": "order", "arg": 1, "bits": 8},
                                  {"kind": "order", "arg": 2, "bits": 10}]})
TEXT = b"a shoal of fish, a school of fish; " * 30
MAGIC = container.MAGIC


def items_of(archive: bytes) -> list:
    return list(container.read_items(io.BytesIO(archive).read))


def test_small_inputs_pay_at_most_16_bytes_of_framing():
    assert len(shoal.compress(b"", 1)) == 9                  # magic, version, flags, id
    assert len(shoal.compress(b"x", 1)) == 15                # + size, the byte, CRC32
    assert len(shoal.compress(b"xy", 1)) == 16
    for n in (30, 300, 1000):
        archive = shoal.compress(TEXT[:n], 1)
        header, block, end = items_of(archive)
        assert header.version == 2 and header.original_size == n and not block.stored
        framing = len(archive) - len(block.payload)
        assert framing <= 16, (n, framing)
        assert shoal.decompress(archive) == TEXT[:n]


def test_a_level_is_named_by_its_one_byte_id_and_resolves_to_its_name_and_digest():
    # ids 1-9 were levels 1-9 as first defined; a redefined level has a new
    # id, and its old one names the retired definition (test_golden pins them)
    n = compact.built_in_id(b"level1", school.level(1).digest)
    archive = shoal.compress(TEXT, 1)
    assert archive[:8] == MAGIC + bytes([2, compact.ONE_BLOCK | compact.CODED << 3]) and archive[8] == n
    header = items_of(archive)[0]
    assert (header.preset, header.digest) == (b"level1", school.level(1).digest)
    assert compact.BUILT_IN_PRESETS[n] == (b"level1", school.level(1).digest)


def test_ids_are_never_reused():
    # every id names one preset, and no preset has two ids
    named = list(compact.BUILT_IN_PRESETS.values())
    assert len(set(named)) == len(named)
    assert all(1 <= n <= 255 for n in compact.BUILT_IN_PRESETS)


def test_a_preset_that_is_not_built_in_is_carried():
    archive = shoal.compress(TEXT, preset=TINY)
    assert archive[7] & 0x03 == compact.CARRIED
    header = items_of(archive)[0]
    assert header.digest == TINY.digest and header.preset.startswith(b"z")
    assert shoal.decompress(archive) == TEXT


def test_stored_block_binary_block_and_empty_stream():
    noise = random.Random(1).randbytes(256)
    for data in (b"", noise, bytes(500) + TEXT[:100]):
        archive = shoal.compress(data, 6)
        assert archive[7] & compact.ONE_BLOCK
        assert shoal.decompress(archive) == data
    header, block, end = items_of(shoal.compress(noise, 6))
    assert block.stored and block.payload == noise
    _, block, _ = items_of(shoal.compress(bytes(500) + TEXT[:100], 6))
    assert block.binary


def test_larger_inputs_are_framed_with_a_compact_header():
    archive = shoal.compress(TEXT * 4, 1, block_size=1000)
    header, *blocks, end = items_of(archive)
    assert not archive[7] & compact.ONE_BLOCK and archive[7] & compact.SIZE_KNOWN
    assert header.version == 2 and header.block_size == 1000 and header.original_size == len(TEXT) * 4
    assert len(blocks) == -(-len(TEXT) * 4 // 1000) and end.total_size == len(TEXT) * 4
    assert header.archive_bytes == 6 + 2 + 1 + 2 + 2 + 4      # id, block size, size, CRC32
    assert shoal.decompress(archive) == TEXT * 4


def test_streaming_writes_one_block_when_it_fits_and_frames_otherwise():
    small = shoal.ShoalCompressor(1)
    assert small.compress(TEXT[:100]) == b""
    archive = small.flush()
    assert archive == shoal.compress(TEXT[:100], 1)
    big = shoal.ShoalCompressor(1, block_size=256)
    archive = big.compress(TEXT) + big.flush()
    header = items_of(archive)[0]
    assert header.original_size is None and header.block_size == 256
    assert shoal.decompress(archive) == TEXT


def test_a_small_file_is_one_block(tmp_path):
    path = tmp_path / "small.txt"
    path.write_bytes(TEXT[:200])
    out = io.BytesIO()
    with open(path, "rb") as src:
        assert shoal.files.compress_stream(src, out, 1) == (200, len(out.getvalue()))
    assert out.getvalue() == shoal.compress(TEXT[:200], 1)


def test_byte_by_byte_feeding_and_needs_input():
    archive = shoal.compress(TEXT[:300], 1) + shoal.compress(b"", 1)
    decoder = shoal.ShoalDecompressor()
    out = b""
    for i in range(len(archive)):
        assert decoder.needs_input
        out += decoder.decompress(archive[i:i + 1])
        if decoder.eof:
            break
    assert out == TEXT[:300] and decoder.unused_data == b""
    assert i == len(shoal.compress(TEXT[:300], 1)) - 1
    parser = StreamParser()
    parser.feed(archive)
    kinds = [type(parser.next()) for _ in range(3)]
    assert kinds == [StreamHeader, Block, StreamEnd] and parser.eof
    assert parser.unused_data == shoal.compress(b"", 1)


def test_concatenated_and_padded_streams():
    archive = shoal.compress(b"one ", 1) + bytes(4) + shoal.compress(b"", 6) + shoal.compress(TEXT, 6) + bytes(8)
    assert shoal.decompress(archive) == b"one " + TEXT
    with pytest.raises(ShoalError, match="trailing garbage"):
        shoal.decompress(shoal.compress(b"one", 1) + bytes(3))


def test_every_truncation_of_a_one_block_stream_is_an_error():
    archive = shoal.compress(TEXT[:200], 1)
    for n in range(len(archive)):
        with pytest.raises(ShoalError, match="truncated archive|not a shoal archive"):
            shoal.decompress(archive[:n])


def _one_block(flags: int, rest: bytes, ident: bytes = b"\x01") -> bytes:
    return MAGIC + bytes([2, flags]) + ident + rest


@pytest.mark.parametrize("archive, message", [
    (_one_block(0x40 | compact.ONE_BLOCK, b""), "unknown header flags 0x44"),
    # in the one-block form bit 5 is the content's high bit: 4 (x86 school) is known, 5-7 are not
    (_one_block(compact.ONE_BLOCK | compact.SIZE_KNOWN | compact.CODED << 3, b""), "unknown one-block content 6"),
    (_one_block(compact.SIZE_KNOWN | compact.CODED_BINARY << 3, b""), "mix the one-block and framed forms"),
    (_one_block(compact.STORED << 3, b""), "mix the one-block and framed forms"),
    (_one_block(compact.ONE_BLOCK | compact.STORED << 3, b"\x01x", b"\xfe"), "built-in preset 254"),
    (_one_block(compact.ONE_BLOCK | 3, b""), "unknown preset identity kind 3"),
    (_one_block(compact.ONE_BLOCK | compact.STORED << 3, b"\x81\x00x"), "not a minimal varint"),
    (_one_block(compact.ONE_BLOCK | compact.STORED << 3, b"\xff" * 9 + b"\x01"), "longer than 9 bytes"),
    (_one_block(compact.ONE_BLOCK | compact.STORED << 3, compact.varint((1 << 30) + 1)), "outside 1.."),
    (_one_block(compact.ONE_BLOCK | compact.STORED << 3, b"\x00"), "outside 1.."),
    (_one_block(compact.ONE_BLOCK | compact.CODED << 3, b"\x03\x03abc" + bytes(4)), "payload size 3 for 3 bytes"),
    (_one_block(compact.ONE_BLOCK | compact.STORED << 3, b"\x03abc" + bytes(4)), "checksum"),
    (MAGIC + bytes([2, compact.CARRIED | compact.ONE_BLOCK]) + bytes(16) + b"\x00", "preset length 0"),
    (MAGIC + bytes([2, compact.SCHOOL | compact.ONE_BLOCK]) + bytes(range(16)), "school file 000102"),
])
def test_crafted_headers_are_refused_clearly(archive, message):
    with pytest.raises(ShoalError, match=message):
        shoal.decompress(archive)


def test_framed_header_checksum_and_sizes_are_checked():
    head = MAGIC + bytes([2, compact.SIZE_KNOWN, 1]) + compact.varint(1000) + compact.varint(5)
    good = head + zlib.crc32(head).to_bytes(4, "little")
    items = items_of(good + container.encode_block(b"hello", None) + container.encode_end(5, zlib.crc32(b"hello")))
    assert items[0].original_size == 5
    bad = head + (zlib.crc32(head) ^ 1).to_bytes(4, "little")
    with pytest.raises(ShoalError, match="header checksum"):
        shoal.decompress(bad + container.encode_end(0, 0))
    zero = MAGIC + bytes([2, 0, 1]) + compact.varint(0)
    with pytest.raises(ShoalError, match="invalid block size"):
        shoal.decompress(zero + zlib.crc32(zero).to_bytes(4, "little") + container.encode_end(0, 0))


def test_every_single_byte_corruption_of_a_coded_stream_is_an_error():
    # the one-block form has no checksum of its own: the CRC32 of the
    # original, and a payload that must be exactly what the coder writes,
    # catch every change (rangecoder.decode_end)
    archive = shoal.compress(TEXT[:400], 1)
    assert not items_of(archive)[1].stored
    for position in range(len(archive)):
        for flip in (0x01, 0x80):
            bad = bytearray(archive)
            bad[position] ^= flip
            with pytest.raises(ShoalError):
                shoal.decompress(bytes(bad))


def test_list_archive_counts_every_byte():
    archive = shoal.compress(TEXT[:500], 6)
    (info,) = shoal.files.list_archive(io.BytesIO(archive))
    assert info["compressed_size"] == len(archive) and info["original_size"] == 500 and info["blocks"] == 1
    assert info["preset_name"] == "level6"


def test_a_payload_the_coder_made_empty_is_stored():
    # the coder may flush nothing after a byte or two; a coded payload has 1 .. size - 1 bytes
    for data in (b"\x00", b"\xff", b"\x00\x00"):
        archive = shoal.compress(data, 6)
        assert shoal.decompress(archive) == data
        assert len(archive) == 14 + len(data)

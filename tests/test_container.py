"""The container catches every corruption and truncation, with a clear ShoalError."""
import io
import struct
import time
import zlib

import numpy as np
import pytest

import shoal
from shoal import school
from shoal.codec import container
from shoal.codec.container import StreamParser
from shoal.errors import ShoalError

# A tiny inline preset: cheap to decode thousands of corrupted archives with.
TINY = school.from_dict({"fish": [{"kind": "order", "arg": 1, "bits": 8},
                                  {"kind": "order", "arg": 2, "bits": 10},
                                  {"kind": "match", "min_len": 4, "bits": 10}],
                         "apm": {"order2_bits": 8}})
DIGEST = bytes(range(16))
RANDOM = np.random.default_rng(7).integers(0, 256, 200, dtype=np.uint8).tobytes()
TEXT = b"a school of fish, a school of fish, a shoal of fish! " * 6
# Two blocks: text that codes, then random bytes that are stored raw.
TWO_BLOCKS = shoal.compress(TEXT + RANDOM, preset=TINY, block_size=len(TEXT))


def items_of(archive: bytes) -> list:
    parser = StreamParser()
    parser.feed(archive)
    out = []
    while (item := parser.next()) is not None:
        out.append(item)
    assert parser.eof
    return out


def with_crc(frame: bytes) -> bytes:
    return frame + struct.pack("<I", zlib.crc32(frame))


def test_two_block_archive_has_a_coded_and_a_stored_block():
    header, first, second, end = items_of(TWO_BLOCKS)
    assert header.original_size == len(TEXT) + len(RANDOM)
    assert header.block_size == len(TEXT) and header.digest == TINY.digest
    assert (first.stored, second.stored) == (False, True)
    assert second.payload == RANDOM
    assert end.total_size == len(TEXT) + len(RANDOM) and end.crc == zlib.crc32(TEXT + RANDOM)


def test_header_round_trips_with_and_without_size():
    for size in (None, 0, 12345):
        raw = container.encode_header(b"name", DIGEST, 4096, size) + container.encode_end(0, 0)
        if size:   # the end frame must agree with the header's size
            with pytest.raises(ShoalError, match="header says 12345"):
                items_of(raw)
            continue
        header, end = items_of(raw)
        assert (header.preset, header.digest, header.block_size, header.original_size) == (
            b"name", DIGEST, 4096, size)
        assert header.archive_bytes + end.archive_bytes == len(raw)


def test_byte_by_byte_feeding_gives_the_same_items():
    parser = StreamParser()
    items = []
    for i in range(len(TWO_BLOCKS)):
        parser.feed(TWO_BLOCKS[i:i + 1])
        while (item := parser.next()) is not None:
            items.append(item)
    assert items == items_of(TWO_BLOCKS)
    parser.feed(b"more")
    assert parser.unused_data == b"more"


SHORT = b"shoal shoal shoal shoal shoal"
LEVEL1 = shoal.compress(SHORT, level=1)


@pytest.mark.parametrize("archive", [TWO_BLOCKS, LEVEL1], ids=["tiny-preset", "level1"])
def test_every_single_byte_corruption_is_an_error(archive):
    assert shoal.decompress(archive) in (TEXT + RANDOM, SHORT)
    flips = (0x01, 0x80, 0xFF) if len(archive) > 400 else (0xFF,)
    for position in range(len(archive)):
        for flip in flips:
            bad = bytearray(archive)
            bad[position] ^= flip
            with pytest.raises(ShoalError):
                shoal.decompress(bytes(bad))


def test_damaged_payload_behind_a_matching_checksum_never_decodes_wrongly():
    # As if the payload were damaged before its checksum was taken: the
    # decoder and the checksum of the original must still refuse it, or
    # (in tail bits the range coder ignores) give back exactly the original.
    header, block, _ = items_of(LEVEL1)
    assert not block.stored
    start = header.archive_bytes + block.archive_bytes - len(block.payload)
    for position in range(len(block.payload)):
        payload = bytearray(block.payload)
        payload[position] ^= 0xFF
        frame = struct.pack("<BIIII", container.CODED, block.size, len(payload), block.crc,
                            zlib.crc32(payload))
        bad = LEVEL1[:start - 21] + with_crc(frame) + payload + LEVEL1[start + len(payload):]
        try:
            assert shoal.decompress(bad) == SHORT
        except ShoalError as error:
            assert "corrupted archive" in str(error)


def test_every_truncation_is_an_error():
    for n in range(len(TWO_BLOCKS)):
        with pytest.raises(ShoalError, match="truncated archive|not a shoal archive"):
            shoal.decompress(TWO_BLOCKS[:n])


def test_truncating_a_second_stream_is_an_error():
    first = shoal.compress(b"first", preset=TINY)
    # Cutting exactly between streams leaves a valid archive, as with xz.
    for n in range(1, len(TWO_BLOCKS)):
        with pytest.raises(ShoalError, match="truncated|trailing garbage"):
            shoal.decompress(first + TWO_BLOCKS[:n])


def test_concatenated_archives_decode_to_the_concatenation():
    parts = [b"one", b"", TEXT, RANDOM]
    archive = b"".join(shoal.compress(p, preset=TINY) for p in parts)
    assert shoal.decompress(archive) == b"".join(parts)


@pytest.mark.parametrize("garbage", [b"x", container.MAGIC[:3], b"garbage!", b"\x00" * 4 + b"x",
                                     b"\x00" * 8 + container.MAGIC[:3], b"\x00\x00\x00\x00\x01\x00\x00\x00"])
def test_trailing_garbage_is_an_error(garbage):
    with pytest.raises(ShoalError, match="trailing garbage|truncated"):
        shoal.decompress(TWO_BLOCKS + garbage)


def read_in_pieces(blob: bytes, size: int):
    stream = io.BytesIO(blob)
    return lambda n: stream.read(min(n, size))


@pytest.mark.parametrize("pad", [4, 8, 12, 4096, container.READ_CHUNK + 4])
def test_stream_padding_after_the_last_stream_and_between_streams(pad):
    """Null bytes in multiples of 4 after a stream are stream padding, as in
    xz: skipped, and counted in the archive bytes of the stream before them."""
    first = shoal.compress(b"first", preset=TINY)
    padded = first + bytes(pad) + TWO_BLOCKS + bytes(pad)
    assert shoal.decompress(TWO_BLOCKS + bytes(pad)) == TEXT + RANDOM
    assert shoal.decompress(padded) == b"first" + TEXT + RANDOM
    for piece in (1, 3, 4096) if pad < 5000 else (container.READ_CHUNK,):
        items = list(container.read_items(read_in_pieces(padded, piece)))
        ends = [item for item in items if isinstance(item, container.StreamEnd)]
        assert [end.padding for end in ends] == [pad, pad]
        assert sum(item.archive_bytes for item in items) == len(padded)
    sink = io.BytesIO()
    assert shoal.files.decompress_stream(io.BytesIO(padded), sink) == (len(padded), 5 + len(TEXT + RANDOM))
    assert [s["compressed_size"] for s in shoal.files.list_archive(io.BytesIO(padded))] == [
        len(first) + pad, len(TWO_BLOCKS) + pad]


@pytest.mark.parametrize("pad", [1, 2, 3, 5, 7, 4097])
def test_stream_padding_must_be_a_multiple_of_4(pad):
    for archive in (TWO_BLOCKS + bytes(pad), TWO_BLOCKS + bytes(pad) + TWO_BLOCKS):
        with pytest.raises(ShoalError, match=rf"^trailing garbage after stream 1: {pad:,} null bytes, "
                                             "and stream padding must be a multiple of 4 bytes$"):
            shoal.decompress(archive)


def test_null_bytes_before_the_first_stream_are_not_an_archive():
    with pytest.raises(ShoalError, match="not a shoal archive"):
        shoal.decompress(bytes(4) + TWO_BLOCKS)
    with pytest.raises(ShoalError, match="not a shoal archive"):
        shoal.decompress(bytes(4))


def test_padding_is_not_copied_per_stream():
    """Many padded empty streams still decode in time linear in their number
    (the bytes after a stream are handed over, and only padding is scanned)."""
    one = shoal.compress(b"", preset=TINY) + bytes(4)
    blob = one * 20_000
    start = time.perf_counter()
    assert shoal.decompress(blob) == b""
    assert time.perf_counter() - start < 20      # about 1 s on a busy 2-core machine


def test_foreign_and_empty_input():
    with pytest.raises(ShoalError, match="not a shoal archive"):
        shoal.decompress(b"\xfd7zXZ\x00 this is xz")
    with pytest.raises(ShoalError, match="not a shoal archive: empty input"):
        shoal.decompress(b"")


def test_unsupported_version_is_named():
    bad = bytearray(TWO_BLOCKS)
    bad[len(container.MAGIC)] = 3
    with pytest.raises(ShoalError, match=r"^unsupported format version 3 \(this shoal reads 1 and 2\)$"):
        shoal.decompress(bytes(bad))


def test_unknown_header_flags_are_refused_even_with_a_valid_checksum():
    fixed = struct.pack("<6sBBIQH16s", container.MAGIC, 1, 0x80, 4096, 0, 4, DIGEST)
    with pytest.raises(ShoalError, match="unknown header flags"):
        items_of(with_crc(fixed + b"name"))


def test_corrupted_length_is_caught_before_it_is_trusted():
    header = container.encode_header(b"name", DIGEST, 4096)
    frame = struct.pack("<BIIII", container.CODED, 100, 0x7FFFFFFF, 0, 0)
    parser = StreamParser()
    parser.feed(header + frame + b"\x00\x00\x00\x00")   # wrong frame checksum
    parser.next()
    with pytest.raises(ShoalError, match="block 0 frame checksum mismatch"):
        parser.next()
    # A writer that lies consistently is stopped by the block size bound.
    for size, payload in ((5000, 10), (100, 0x7FFFFFFF), (100, 100), (0, 0)):
        parser = StreamParser()
        parser.feed(header + with_crc(struct.pack("<BIIII", container.CODED, size, payload, 0, 0)))
        parser.next()
        with pytest.raises(ShoalError, match="corrupted archive"):
            parser.next()


def test_stored_block_must_hold_its_size():
    header = container.encode_header(b"name", DIGEST, 4096)
    frame = with_crc(struct.pack("<BIIII", container.STORED, 10, 9, 0, zlib.crc32(bytes(9)))) + bytes(9)
    with pytest.raises(ShoalError, match="stored block 0 has payload size 9"):
        items_of(header + frame)


def test_unknown_frame_type_and_wrong_totals():
    header = container.encode_header(b"name", DIGEST, 4096)
    with pytest.raises(ShoalError, match="unknown frame type 0x07"):
        items_of(header + b"\x07")
    block = container.encode_block(b"abc", None)
    with pytest.raises(ShoalError, match="end frame says 4 bytes but the blocks hold 3"):
        items_of(header + block + container.encode_end(4, zlib.crc32(b"abc")))
    with pytest.raises(ShoalError, match="blocks hold more than the 2 bytes"):
        items_of(container.encode_header(b"name", DIGEST, 4096, 2) + block)


def test_checksums_of_decoded_data():
    _, block, end = items_of(container.encode_header(b"n", DIGEST, 16) + container.encode_block(b"abc", None)
                             + container.encode_end(3, zlib.crc32(b"abc")))
    container.check_block(block, b"abc")
    with pytest.raises(ShoalError, match="block 0 checksum mismatch"):
        container.check_block(block, b"abd")
    checksum = container.StreamChecksum()
    checksum.update(b"abd")
    with pytest.raises(ShoalError, match="whole stream"):
        checksum.verify(end)


def test_block_that_does_not_shrink_is_stored():
    frame = container.encode_block(b"abc", b"abcd")
    assert frame[0] == container.STORED and frame.endswith(b"abc")


def test_encoder_refuses_bad_fields():
    with pytest.raises(ShoalError):
        container.encode_header(b"", DIGEST, 4096)
    with pytest.raises(ShoalError):
        container.encode_header(b"n", DIGEST[:8], 4096)
    with pytest.raises(ShoalError):
        container.encode_header(b"n", DIGEST, container.MAX_BLOCK_SIZE + 1)


def test_blocks_say_which_school_coded_them():
    """A block that does not look like text, coded by a preset with fish
    marked only: text, is frame type 3 and decodes with the school without
    them; a type the preset cannot honour is a clear error."""
    texty = school.from_dict({"fish": [{"kind": "order", "arg": 1, "bits": 8},
                                       {"kind": "word", "arg": 0, "bits": 8, "only": "text"}],
                              "lanes": 2, "apm": {"order2_bits": 8}})
    binary = np.arange(79, dtype="<i4").tobytes()            # one block of each
    archive = shoal.compress(TEXT + binary, preset=texty, block_size=len(TEXT))
    _, first, second, _ = items_of(archive)
    assert (first.binary, second.binary) == (False, True) and not second.stored
    assert shoal.decompress(archive) == TEXT + binary
    # type 3, with a valid frame checksum, from a preset of one school
    header, block = items_of(TWO_BLOCKS)[:2]
    at, head = header.archive_bytes, container._BLOCK.size
    assert TWO_BLOCKS[at] == container.CODED
    relabelled = (TWO_BLOCKS[:at] + with_crc(bytes([container.CODED_BINARY]) + TWO_BLOCKS[at + 1:at + head])
                  + TWO_BLOCKS[at + head + 4:])
    with pytest.raises(ShoalError, match="marked as coded by the preset's school for binary blocks"):
        shoal.decompress(relabelled)

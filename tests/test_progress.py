"""Progress within a block: files.compress_stream and decompress_stream call
progress as a block's bytes are coded (engine.CHUNK_BYTES at a time), the
count never going back and ending at the total, and the archive is the
same bytes as one coded without progress (decoded in a fresh process)."""
import io
import random

import pytest

import shoal
from shoal import files
from shoal.school import engine

from fresh import FreshDecoder

CHUNK = 16 << 10            # small chunks: a block of 160 KiB is ten of them


def _text(n: int, seed: int = 22) -> bytes:
    """Text-like bytes (words and numbers), not too repetitive."""
    rng = random.Random(seed)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(3000)]
    out = bytearray()
    while len(out) < n:
        out += rng.choice(words) + (b"\n" if rng.random() < 0.1 else b" ")
        if rng.random() < 0.05:
            out += str(rng.randint(0, 99999)).encode() + b" "
    return bytes(out[:n])


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(engine, "CHUNK_BYTES", CHUNK)


@pytest.fixture(scope="module")
def fresh():
    with FreshDecoder() as decoder:
        yield decoder


def _calls():
    seen = []
    return seen, seen.append


def _check(seen, total, at_least):
    assert len(seen) >= at_least, seen
    assert all(a < b for a, b in zip(seen, seen[1:])), seen
    assert seen[-1] == total


def _compress(data, threads=1, block_size=None, progress=None) -> bytes:
    dst = io.BytesIO()
    files.compress_stream(io.BytesIO(data), dst, 6, threads=threads, block_size=block_size, progress=progress)
    return dst.getvalue()


def test_compress_and_decompress_move_within_a_block(small_chunks, fresh):
    # 160 KiB: over the primer's 128 KiB, so the block is coded in chunks
    data = _text(160 << 10)
    seen, progress = _calls()
    archive = _compress(data, progress=progress)
    _check(seen, len(data), len(data) // CHUNK)
    assert archive == _compress(data)                # the same bytes as in one call
    assert fresh.decode(archive) == data
    seen, progress = _calls()
    out = io.BytesIO()
    assert files.decompress_stream(io.BytesIO(archive), out, progress=progress) == (len(archive), len(data))
    assert out.getvalue() == data
    _check(seen, len(archive), len(data) // CHUNK)


def test_one_block_file(small_chunks, tmp_path, fresh):
    # a file of one block is written as a one-block stream: progress too
    data = _text(150 << 10, seed=3)
    path = tmp_path / "one"
    path.write_bytes(data)
    seen, progress = _calls()
    with open(path, "rb") as src:
        dst = io.BytesIO()
        files.compress_stream(src, dst, 6, progress=progress)
    _check(seen, len(data), len(data) // CHUNK)
    assert dst.getvalue() == shoal.compress(data, 6)
    assert fresh.decode(dst.getvalue()) == data


def test_primed_block_ends_at_its_size(small_chunks):
    # a small text block reads the primer, and its school counts the boost
    # from the block's first byte: coded in one call, progress at its end
    data = _text(40 << 10, seed=5)
    seen, progress = _calls()
    archive = _compress(data, progress=progress)
    _check(seen, len(data), 1)
    assert archive == _compress(data)


def test_two_blocks_on_two_threads(small_chunks, fresh):
    data = _text(400 << 10, seed=7)
    seen, progress = _calls()
    archive = _compress(data, threads=2, block_size=256 << 10, progress=progress)
    _check(seen, len(data), len(data) // CHUNK)
    assert archive == _compress(data, threads=1, block_size=256 << 10)
    assert fresh.decode(archive, threads=2) == data
    seen, progress = _calls()
    out = io.BytesIO()
    files.decompress_stream(io.BytesIO(archive), out, threads=2, progress=progress)
    assert out.getvalue() == data
    _check(seen, len(archive), len(data) // CHUNK)


def test_incompressible_block_still_ends_at_the_total(small_chunks):
    # a block stored (the coder ran out of room) counts whole when done
    data = random.Random(9).randbytes(200 << 10)
    seen, progress = _calls()
    archive = _compress(data, progress=progress)
    _check(seen, len(data), 1)
    assert shoal.decompress(archive) == data


@pytest.mark.parametrize("level", [1, 6, 9])
def test_every_school_codes_the_same_bytes_in_chunks(small_chunks, level):
    """Chunked (a progress callback) or in one call, each school of levels 1,
    6 and 9 (static and general loops, primed and binary schools, the x86
    filter) writes the same payload, and decodes it in chunks too."""
    from shoal import school
    call = b"\xe8" + (-0x345 & 0xFFFFFFFF).to_bytes(4, "little") + b"\x48\x89\xe5\x90\x31\xc0"
    binary = b"".join(call[:5 + i % 7] + bytes([i % 251, 0]) for i in range(9000))
    preset = school.level(level)
    for data in (_text(100_000), binary[:100_000]):
        chosen = school.school_for(data, preset)
        heard = []
        chunked = school.compress_block(data, chosen, on_bytes=heard.append)
        assert chunked == school.compress_block(data, chosen)
        assert sum(heard) == len(data)
        assert school.decompress_block(chunked, len(data), chosen, on_bytes=heard.append) == data

"""Seekable reads: ShoalFile.seek decodes only the block that holds its target
(shoal/block_index.py), across blocks, streams, padding and every form."""
import io
import random
import subprocess
import sys

import pytest

import shoal
from shoal import api, files
from shoal import school
from shoal.errors import ShoalError

TINY = school.from_dict({"fish": [{"kind": "order", "arg": 1, "bits": 8},
                                  {"kind": "order", "arg": 2, "bits": 10},
                                  {"kind": "match", "min_len": 4, "bits": 10}],
                         "apm": {"order2_bits": 8}})

_rng = random.Random(26)
_WORDS = [bytes(_rng.choice(b"abcdefghij ") for _ in range(_rng.randint(2, 9))) for _ in range(300)]
TEXT = b" ".join(_rng.choice(_WORDS) for _ in range(9000))


def _archive():
    """Four streams (framed of 6 blocks, one-block, empty, framed with a stored
    block and a short one), stream padding after the first; and the original."""
    parts = [(TEXT, 8192), (TEXT[:700], None), (b"", None), (bytes(range(256)) * 20 + TEXT[:3000], 4096)]
    blob, original = b"", b""
    for i, (data, block) in enumerate(parts):
        blob += shoal.compress(data, preset=TINY, block_size=block) + (bytes(8) if i == 0 else b"")
        original += data
    return blob, original


BLOB, ORIGINAL = _archive()
LAST = (len(TEXT) - 1) // 8192 * 8192      # where the first stream's last block starts


def _counting(monkeypatch) -> list:
    calls = []
    decode = school.decompress_block

    def counted(payload, size, preset, **progress):
        calls.append(size)
        return decode(payload, size, preset, **progress)
    monkeypatch.setattr(school, "decompress_block", counted)
    return calls


@pytest.mark.parametrize("threads", [1, 2])
def test_random_seeks_and_reads_match_the_original(threads):
    rng = random.Random(threads)
    with shoal.open(io.BytesIO(BLOB), threads=threads) as f:
        assert f.seekable() and f.read(10) == ORIGINAL[:10]
        for _ in range(150):
            at = rng.randrange(0, len(ORIGINAL) + 50)
            n = rng.choice((0, 1, 100, 5000, 20000))
            assert f.seek(at) == at
            assert f.read(n) == ORIGINAL[at:at + n]
            assert f.tell() == (at + len(ORIGINAL[at:at + n]) if at <= len(ORIGINAL) else at)
        assert f.seek(-10, io.SEEK_END) == len(ORIGINAL) - 10 and f.read() == ORIGINAL[-10:]
        f.seek(3)
        assert f.seek(100, io.SEEK_CUR) == 103 and f.read(7) == ORIGINAL[103:110]
        f.seek(0)
        assert f.read() == ORIGINAL


def test_a_seek_decodes_only_the_block_it_lands_in(monkeypatch):
    calls = _counting(monkeypatch)
    with shoal.open(io.BytesIO(BLOB)) as f:
        f.seek(LAST + 10)                      # the last block of the first stream
        assert f.read(1000) == ORIGINAL[LAST + 10:LAST + 1010]
        assert calls == [len(TEXT) - LAST]
        f.seek(LAST + 500)                     # within the same block: nothing more to decode
        assert f.read(100) == ORIGINAL[LAST + 500:LAST + 600]
        assert len(calls) == 1
        f.seek(len(TEXT) + 5)                  # the one-block stream
        assert f.read(10) == ORIGINAL[len(TEXT) + 5:len(TEXT) + 15] and calls[1:] == [700]


def test_seeking_after_reading_from_the_start_goes_on_in_order(monkeypatch):
    with shoal.open(io.BytesIO(BLOB)) as f:
        assert f.read(9000) == ORIGINAL[:9000]           # into the second block, unindexed
        calls = _counting(monkeypatch)
        f.seek(8500)                                     # inside the block held now
        assert f.read(len(ORIGINAL)) == ORIGINAL[8500:]  # on through every later block and stream
    fourth = len(ORIGINAL) - len(TEXT) - 700
    later = ([8192] * (LAST // 8192 - 2) + [len(TEXT) - LAST, 700]
             + [min(4096, fourth - at) for at in range(0, fourth, 4096)])
    assert calls == later          # the first stream's third block on, then the other streams, each once


def test_the_archive_may_start_inside_a_file_object():
    source = io.BytesIO(b"prefix" + BLOB)
    source.seek(6)
    with shoal.open(source) as f:
        f.seek(20000)
        assert f.read(100) == ORIGINAL[20000:20100]
        f.seek(0)
        assert f.read(50) == ORIGINAL[:50]


def test_a_damaged_archive_fails_at_the_seek():
    damaged = bytearray(BLOB)
    damaged[len(BLOB) // 2] ^= 0x40
    with shoal.open(io.BytesIO(bytes(damaged))) as f, pytest.raises(ShoalError):
        f.seek(len(ORIGINAL) - 1)
    with shoal.open(io.BytesIO(BLOB[:-3])) as f, pytest.raises(ShoalError, match="truncated"):
        f.seek(0, io.SEEK_END)


def test_a_file_that_shrinks_after_indexing_is_an_error():
    source = io.BytesIO(BLOB)
    with shoal.open(source) as f:
        f.seek(1)
        source.truncate(len(BLOB) // 3)
        with pytest.raises(ShoalError, match="ends early"):
            f.seek(len(ORIGINAL) - 5)
            f.read()


def test_negative_positions_and_unseekable_sources():
    with shoal.open(io.BytesIO(BLOB)) as f:
        with pytest.raises(OSError):
            f.seek(-1)
        with pytest.raises(ValueError, match="whence"):
            f.seek(0, 7)

    class Pipe(io.BytesIO):
        def seekable(self):
            return False
    with shoal.open(Pipe(BLOB)) as f:
        assert not f.seekable() and f.read(5) == ORIGINAL[:5]
        with pytest.raises(io.UnsupportedOperation):
            f.seek(100)


def test_list_archive_shows_each_blocks_place():
    streams = files.list_archive(io.BytesIO(BLOB))
    blocks = [b for s in streams for b in s["block_list"]]
    assert [len(s["block_list"]) for s in streams] == [s["blocks"] for s in streams] == [LAST // 8192 + 1, 1, 0, 2]
    assert sum(s["compressed_size"] for s in streams) == len(BLOB)
    at = 0
    for block in blocks:
        assert block["original_offset"] == at
        at += block["original_size"]
        with shoal.open(io.BytesIO(BLOB)) as f:         # each block's bytes are where the list says
            f.seek(block["original_offset"])
            assert f.read(block["original_size"]) == ORIGINAL[at - block["original_size"]:at]
    assert at == len(ORIGINAL)
    frames = [(b["archive_offset"], b["archive_bytes"]) for b in blocks]
    assert all(a + n <= b for (a, n), (b, _) in zip(frames, frames[1:])) and frames[-1][0] + frames[-1][1] < len(BLOB)


def test_cli_lists_the_block_index(tmp_path):
    path = tmp_path / "four.shoal"
    path.write_bytes(BLOB)
    done = subprocess.run([sys.executable, "-m", "shoal", "-lvv", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines() if line.strip().startswith("block ")]
    listed = [b for s in files.list_archive(io.BytesIO(BLOB)) for b in s["block_list"]]
    assert len(lines) == len(listed)
    for words, block in zip(lines, listed):
        assert words[3] == f"{block['original_offset']:,}" and words[5].rstrip(",") == f"{block['original_size']:,}"
        assert words[7] == f"{block['archive_offset']:,}" and words[-1] == block["kind"]

"""The Python API behaves like the standard library's lzma module."""
import errno
import io
import lzma
from pathlib import Path

import pytest

import shoal
from shoal import api, arguments, files, school
from shoal.codec import container
from shoal.errors import ShoalError

TINY = school.from_dict({"fish": [{"kind": "order", "arg": 1, "bits": 8},
                                  {"kind": "order", "arg": 2, "bits": 10},
                                  {"kind": "match", "min_len": 4, "bits": 10}],
                         "apm": {"order2_bits": 8}})
TEXT = b"".join(b"%d fish swim in a school; %d swim alone.\n" % (i, i * 7 % 13) for i in range(400))


def test_empty_input_gives_a_valid_archive():
    blob = shoal.compress(b"")
    assert blob.startswith(container.MAGIC)
    assert shoal.decompress(blob) == b""
    assert len(blob) < 80


@pytest.mark.parametrize("level", [0, 10, -1])
def test_level_must_be_1_to_9(level):
    with pytest.raises(ValueError, match="level must be"):
        shoal.compress(b"abc", level)
    with pytest.raises(ValueError, match="must be an integer 1..9"):
        shoal.compress(b"abc", preset=level)
    with pytest.raises(ValueError):
        shoal.ShoalCompressor(level)


@pytest.mark.parametrize("level", ["6", 6.0, True, None])
def test_level_must_be_an_integer(level):
    with pytest.raises(TypeError, match="level must be an integer"):
        shoal.compress(b"abc", level)
    if level is not None:     # preset=None: the level decides
        with pytest.raises(TypeError):
            shoal.compress(b"abc", preset=level if level != "6" else 6.0)


def test_bad_arguments_raise_what_lzma_raises():
    for bad in ("text is not bytes", None, 3):
        with pytest.raises(TypeError, match="bytes-like"):
            shoal.compress(bad)
        with pytest.raises(TypeError, match="bytes-like"):
            shoal.decompress(bad)
        with pytest.raises(TypeError):
            lzma.compress(bad)
    with pytest.raises(ValueError, match="threads"):
        shoal.compress(b"abc", 1, threads=-1)
    with pytest.raises(TypeError, match="threads"):
        shoal.decompress(b"abc", threads=2.0)
    with pytest.raises(ValueError, match="block size"):
        shoal.compress(b"abc", 1, block_size=0)
    with pytest.raises(ValueError, match="block size"):
        shoal.ShoalCompressor(1, block_size=container.MAX_BLOCK_SIZE + 1)
    with pytest.raises(TypeError, match="block size"):
        shoal.compress(b"abc", 1, block_size=1024.0)
    with pytest.raises(TypeError, match="preset must be"):
        shoal.compress(b"abc", preset=[6])
    with pytest.raises(ShoalError, match="cannot read preset"):   # a preset file: read by school.load
        shoal.compress(b"abc", preset="/nonexistent/preset.yaml")


def test_an_integer_preset_is_a_level_as_in_lzma():
    import numpy as np
    one = shoal.compress(b"", 1)
    assert shoal.compress(b"", preset=1) == one == shoal.compress(b"", 9, preset=np.int64(1))
    assert shoal.compress(b"", preset=9) == shoal.compress(b"", 9) != one
    compressor = shoal.ShoalCompressor(preset=1)
    assert compressor.compress(b"") + compressor.flush() == shoal.ShoalCompressor(1).flush()
    dst = io.BytesIO()
    files.compress_stream(io.BytesIO(b""), dst, preset=1)
    header = next(container.read_items(io.BytesIO(dst.getvalue()).read))
    assert shoal.decompress(dst.getvalue()) == b"" and header.preset == b"level1"


def test_preset_from_a_file_and_as_an_object(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text("fish:\n  - {kind: order, arg: 1, bits: 8}\n  - {kind: match, min_len: 4, bits: 10}\n")
    blob = shoal.compress(TEXT, preset=str(path))
    assert shoal.decompress(blob) == TEXT
    assert shoal.decompress(shoal.compress(TEXT, preset=TINY)) == TEXT


def test_a_preset_that_is_not_shipped_travels_deflated():
    evolved = school.load("docs/evolve/evolved_level6.yaml")
    header = container.StreamParser()
    header.feed(shoal.compress(b"", preset=evolved))
    stored = header.next().preset
    assert stored.startswith(b"z") and len(stored) < len(evolved.canonical) // 4
    assert arguments.archive_preset(stored, evolved.digest).canonical == evolved.canonical


def test_a_damaged_deflated_preset_is_refused():
    stored = arguments.pack(TINY.canonical)
    for bad in (stored[:-3], stored + b"x", b"z" + bytes(20), arguments.pack(TINY.canonical[:-1])):
        blob = container.encode_header(bad, TINY.digest, 1024) + container.encode_end(0, 0)
        with pytest.raises(ShoalError, match="corrupted archive|unreadable preset"):
            shoal.decompress(blob)


def test_shipped_level_is_named_not_copied(tmp_path):
    blob = shoal.compress(b"x", 6)
    assert b'"fish"' not in blob and len(blob) == 15       # named by its one-byte id
    header = container.StreamParser()
    header.feed(blob)
    first = header.next()
    assert (first.preset, first.digest) == (b"level6", school.level(6).digest)


def test_archive_with_an_unknown_preset_says_so():
    name = container.encode_header(b"level6", bytes(16), 1024) + container.encode_end(0, 0)
    with pytest.raises(ShoalError, match="different level 6 preset"):
        shoal.decompress(name)
    other = container.encode_header(b"ocean9", bytes(16), 1024) + container.encode_end(0, 0)
    with pytest.raises(ShoalError, match="does not know"):
        shoal.decompress(other)


def test_archive_of_a_retired_level_still_decodes(monkeypatch):
    """Level 6 was redefined after shoal 0.1; its archives name "level6" with
    the old digest and decode through presets/retired/."""
    retired = school.load(Path(school.__file__).parent / "presets" / "retired" / "level6-1.yaml")
    current = school.level
    monkeypatch.setattr(school, "level", lambda n: retired if n == 6 else current(n))
    data = TEXT[:5000]
    blob = shoal.compress(data, 6)
    monkeypatch.undo()
    assert b"level6" in blob and retired.digest != school.level(6).digest
    assert school.retired_level(6, retired.digest).canonical == retired.canonical
    assert shoal.decompress(blob) == data
    assert school.retired_level(6, bytes(16)) is None


def test_threads_give_identical_output_and_runs_repeat():
    data = (TEXT * 5)[:70000]   # 4 blocks of 16 KiB and a short one
    one = shoal.compress(data, 1, threads=1, block_size=16 << 10)
    two = shoal.compress(data, 1, threads=2, block_size=16 << 10)
    assert one == two == shoal.compress(data, 1, threads=1, block_size=16 << 10)
    assert shoal.decompress(one, threads=2) == data
    assert files.list_archive(io.BytesIO(one))[0]["blocks"] == 5


def test_compressor_in_pieces_matches_for_any_chunking_and_threads():
    outputs = set()
    for threads, step in ((1, 1000), (2, 7000), (2, len(TEXT))):
        compressor = shoal.ShoalCompressor(preset=TINY, threads=threads, block_size=4096)
        pieces = [compressor.compress(TEXT[i:i + step]) for i in range(0, len(TEXT), step)]
        blob = b"".join(pieces) + compressor.flush()
        assert shoal.decompress(blob) == TEXT
        outputs.add(blob)
    assert len(outputs) == 1
    with pytest.raises(ValueError, match="flush"):     # as lzma.LZMACompressor
        compressor.flush()
    with pytest.raises(ValueError, match="flushed"):
        compressor.compress(b"more")


def test_decompressor_behaves_like_lzmas():
    data = TEXT[:5000]
    ours, theirs = shoal.ShoalDecompressor(), lzma.LZMADecompressor()
    blob, lz = shoal.compress(data, preset=TINY, block_size=1024), lzma.compress(data)
    for d, archive in ((ours, blob), (theirs, lz)):
        assert not d.eof and d.needs_input and d.unused_data == b""
        first = d.decompress(archive[:40])
        assert not d.eof
        rest = d.decompress(archive[40:] + b"tail")
        assert first + rest == data
        assert d.eof and d.unused_data == b"tail" and not d.needs_input
        with pytest.raises(EOFError, match="(?i)already at end of stream"):
            d.decompress(b"x")


def test_decompressor_max_length():
    data = TEXT[:5000]
    d = shoal.ShoalDecompressor()
    out = d.decompress(shoal.compress(data, preset=TINY, block_size=1024), max_length=100)
    assert out == data[:100] and not d.needs_input and not d.eof
    while not d.eof:
        chunk = d.decompress(b"", max_length=700)
        assert len(chunk) <= 700
        out += chunk
    assert out == data


def test_decompressor_reads_one_stream_byte_by_byte():
    blob = shoal.compress(TEXT[:3000], preset=TINY, block_size=1000)
    d = shoal.ShoalDecompressor()
    out = b"".join(d.decompress(blob[i:i + 1]) for i in range(len(blob)))
    assert out == TEXT[:3000] and d.eof


def test_open_binary_and_text(tmp_path):
    path = tmp_path / "fish.shoal"
    with shoal.open(path, "wb", preset=TINY) as f:
        assert f.write(TEXT[:1000]) == 1000 and f.tell() == 1000
        f.write(memoryview(TEXT[1000:2000]))
    with shoal.open(path, "ab", level=1) as f:   # a second stream
        f.write(b"appended")
    with shoal.open(path) as f:
        assert f.read(10) == TEXT[:10]
        assert f.readline() == TEXT[10:TEXT.index(b"\n") + 1]
        f.seek(1500)
        assert f.read(10) == TEXT[1500:1510] and f.tell() == 1510
        f.seek(5)
        assert f.read() == TEXT[5:2000] + b"appended"
    with shoal.open(str(path), "wt", preset=TINY, encoding="utf-8", newline="") as f:
        f.write("naïve shoal\r\nline two\n")
    with shoal.open(path, "rt", encoding="utf-8") as f:
        assert f.readlines() == ["naïve shoal\n", "line two\n"]


def test_open_with_a_file_object_and_bad_modes(tmp_path):
    buffer = io.BytesIO()
    with shoal.ShoalFile(buffer, "w", preset=TINY) as f:
        f.write(b"in memory")
    assert not buffer.closed and shoal.decompress(buffer.getvalue()) == b"in memory"
    buffer.seek(0)
    with shoal.ShoalFile(buffer) as f:
        assert f.readable() and not f.writable() and f.read() == b"in memory"
        with pytest.raises(io.UnsupportedOperation):
            f.write(b"x")
    assert f.closed
    for mode in ("rw", "q", "rbt", "wx"):
        with pytest.raises(ValueError, match="invalid mode"):
            shoal.open(tmp_path / "x", mode)
        with pytest.raises(ValueError):
            lzma.open(tmp_path / "x", mode)
    with pytest.raises(ValueError, match="invalid mode"):
        shoal.ShoalFile(tmp_path / "x", "rt")
    with pytest.raises(TypeError, match="mode"):
        shoal.open(tmp_path / "x", 5)
    with pytest.raises(ValueError, match="text modes only"):
        shoal.open(tmp_path / "x", "rb", encoding="utf-8")
    with pytest.raises(ValueError, match="level must be"):
        shoal.open(tmp_path / "never", "wb", level=12)
    with pytest.raises(TypeError, match="level must be"):
        shoal.open(tmp_path / "never", "wb", level="9")
    with pytest.raises(ValueError, match="memlimit"):
        shoal.open(tmp_path / "never", "wb", memlimit=1 << 30)
    with pytest.raises(ValueError, match="preset"):
        shoal.open(tmp_path / "never", "rb", preset=6)
    with pytest.raises(ValueError, match="memlimit"):
        shoal.open(tmp_path / "never", "rb", memlimit=0)
    assert not (tmp_path / "never").exists()
    with pytest.raises(TypeError, match="filename"):
        shoal.ShoalFile(3.5)


def test_open_reports_file_trouble_as_oserror(tmp_path):
    missing = tmp_path / "missing.shoal"
    with pytest.raises(FileNotFoundError) as caught:
        shoal.open(missing)
    assert caught.value.errno == errno.ENOENT and caught.value.filename == str(missing)
    (tmp_path / "exists").write_bytes(b"kept")
    with pytest.raises(FileExistsError) as caught:
        shoal.open(tmp_path / "exists", "xb")
    assert caught.value.errno == errno.EEXIST and (tmp_path / "exists").read_bytes() == b"kept"
    with pytest.raises(IsADirectoryError):
        shoal.open(tmp_path)
    (tmp_path / "plain.txt").write_bytes(b"not compressed")
    with shoal.open(tmp_path / "plain.txt") as f, pytest.raises(ShoalError, match="not a shoal archive"):
        f.read()


def test_a_closed_file_says_so_like_lzma(tmp_path):
    blob = shoal.compress(b"abc", preset=TINY)
    for ours, theirs in ((shoal.ShoalFile(io.BytesIO(blob)), lzma.LZMAFile(io.BytesIO(lzma.compress(b"abc")))),
                         (shoal.ShoalFile(io.BytesIO(), "w", preset=TINY), lzma.LZMAFile(io.BytesIO(), "w"))):
        ours.close()
        theirs.close()
        ours.close()       # twice is fine
        assert ours.closed
        for f in (ours, theirs):
            for call in (f.read, f.read1, f.readline, f.peek, f.tell, f.fileno, f.readable, f.writable,
                         f.seekable, lambda: f.seek(0), lambda: f.write(b"x"), lambda: next(iter(f))):
                with pytest.raises(ValueError, match="I/O operation on closed file"):
                    call()
    with shoal.ShoalFile(io.BytesIO(blob)) as f:
        with pytest.raises(ValueError, match="whence"):
            f.seek(0, 7)
        with pytest.raises(io.UnsupportedOperation, match="File not open for writing"):
            f.write(b"x")
    with shoal.ShoalFile(io.BytesIO(), "w", preset=TINY) as f:
        with pytest.raises(io.UnsupportedOperation, match="File not open for reading"):
            f.read()
        with pytest.raises(io.UnsupportedOperation, match="Seeking"):
            f.seek(0)
        with pytest.raises(TypeError):
            f.write("text")


class RecordingReader(io.BytesIO):
    """Remembers the largest read, to check that memory stays bounded."""
    largest = 0

    def read(self, n=-1):
        assert n is not None and n >= 0, "read everything at once"
        self.largest = max(self.largest, n)
        return super().read(n)


def test_streams_read_a_block_at_a_time_and_report_progress():
    src, dst, seen = RecordingReader(TEXT), io.BytesIO(), []
    bytes_in, bytes_out = files.compress_stream(src, dst, preset=TINY, threads=2, block_size=4096,
                                              progress=seen.append)
    assert (bytes_in, bytes_out) == (len(TEXT), len(dst.getvalue())) and src.largest <= 4096
    assert seen == sorted(seen) and seen[-1] == len(TEXT) and len(seen) == -(-len(TEXT) // 4096)
    blob = dst.getvalue()
    assert blob == shoal.compress(TEXT, preset=TINY, block_size=4096)[:7] + blob[7:]  # size unknown
    src, out, seen = RecordingReader(blob + blob), io.BytesIO(), []
    assert files.decompress_stream(src, out, threads=2, progress=seen.append) == (2 * len(blob), 2 * len(TEXT))
    # every archive byte counted, the last stream's end too
    assert out.getvalue() == TEXT + TEXT and seen == sorted(seen) and seen[-1] == 2 * len(blob)
    assert src.largest <= container.READ_CHUNK


def test_stream_of_a_regular_file_records_its_size(tmp_path):
    path = tmp_path / "in"
    path.write_bytes(TEXT)
    with open(path, "rb") as src:
        dst = io.BytesIO()
        files.compress_stream(src, dst, preset=TINY)
    assert dst.getvalue() == shoal.compress(TEXT, preset=TINY)


def test_list_archive():
    import numpy as np
    noise = np.random.default_rng(3).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    blob = shoal.compress(TEXT[:3000] + noise, preset=TINY, block_size=3000) + shoal.compress(b"", 2)
    first, second = files.list_archive(io.BytesIO(blob))
    assert first["blocks"] == 2 and first["stored_blocks"] == 1 and first["original_size"] == 6000
    assert first["block_size"] == 3000 and first["preset"] == TINY.spec
    assert first["preset_digest"] == TINY.digest.hex() and first["preset_name"] is None
    assert second["blocks"] == 0 and second["original_size"] == 0 and second["preset_name"] == "level2"
    assert first["compressed_size"] + second["compressed_size"] == len(blob)


class Failing(io.BytesIO):
    def read(self, n=-1):
        raise OSError(errno.EIO, "Input/output error")

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("threads", [1, 2])
def test_io_errors_propagate_as_oserror(threads):
    with pytest.raises(OSError) as caught:
        files.compress_stream(Failing(), io.BytesIO(), preset=TINY, threads=threads)
    assert caught.value.errno == errno.EIO and not isinstance(caught.value, ShoalError)
    with pytest.raises(OSError) as caught:
        files.compress_stream(io.BytesIO(b"abc"), Failing(), preset=TINY, threads=threads)
    assert caught.value.errno == errno.ENOSPC
    with pytest.raises(OSError) as caught:
        files.decompress_stream(Failing(), io.BytesIO(), threads=threads)
    assert caught.value.errno == errno.EIO
    blob = shoal.compress(TEXT[:2000], preset=TINY, block_size=500)
    with pytest.raises(OSError) as caught:
        files.decompress_stream(io.BytesIO(blob), Failing(), threads=threads)
    assert caught.value.errno == errno.ENOSPC
    with pytest.raises(OSError), shoal.ShoalFile(Failing(), "w", preset=TINY) as f:
        f.write(b"x")


class FailsAfter(io.BytesIO):
    """Gives `good` bytes, then fails: a disk that dies midway."""

    def __init__(self, data, good):
        super().__init__(data)
        self.good = good

    def read(self, n=-1):
        if self.tell() >= self.good:
            raise OSError(errno.EIO, "Input/output error")
        return super().read(min(n, self.good - self.tell()))


@pytest.mark.parametrize("threads", [1, 2])
def test_a_read_error_midway_comes_after_the_blocks_before_it(threads):
    blob = shoal.compress(TEXT[:4000], preset=TINY, block_size=1000)
    out = io.BytesIO()
    with pytest.raises(OSError):
        files.decompress_stream(FailsAfter(blob, len(blob) - 30), out, threads=threads)
    assert out.getvalue() == TEXT[:3000]

"""An archive never decides memory or time beyond the reader's limit (issue 21):
memlimit= is checked at each stream's header, before anything is allocated for
it, and what a header declares (preset, sizes, stream count) is bounded."""
import io
import threading
import time
import tracemalloc
import zlib

import pytest

import shoal
from shoal import api, arguments, blocks, files, school
from shoal.codec import container
from shoal.errors import MemoryLimitError, ShoalError

TINY = school.from_dict({"fish": [{"kind": "order", "arg": 1, "bits": 8},
                                  {"kind": "order", "arg": 2, "bits": 10},
                                  {"kind": "match", "min_len": 4, "bits": 10}],
                         "apm": {"order2_bits": 8}})
TEXT = b"".join(b"%d fish swim in a school; %d swim alone.\n" % (i, i * 7 % 13) for i in range(400))
# 40 fish of 2^26 slots each: tens of GiB to decode a block of 1 GiB
HUGE = school.from_dict({"fish": [{"kind": "order", "arg": k, "bits": 26} for k in range(1, 41)]})
MiB = 1 << 20


def huge_archive(block_size=container.MAX_BLOCK_SIZE, original_size=None) -> bytes:
    """A stream naming HUGE whose first block would be decoded if the limit
    let it (a coded block, so that nothing but the school could read it)."""
    data = TEXT[:1000]
    return (container.encode_header(HUGE.canonical, HUGE.digest, block_size, original_size)
            + container.encode_block(data, bytes(100)) + container.encode_end(len(data), zlib.crc32(data)))


@pytest.fixture
def no_decoding(monkeypatch):
    """Fails the test if any block is decoded (or its school built)."""
    def refuse(*args, **kwargs):
        raise AssertionError("a block was decoded")
    monkeypatch.setattr(school, "decompress_block", refuse)


def allocated_while(fn) -> int:
    """Peak bytes Python allocated while fn() ran (numpy's arrays included)."""
    tracemalloc.start()
    try:
        fn()
    except Exception:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_an_archive_beyond_the_limit_is_refused_at_its_header(no_decoding):
    blob = huge_archive()
    need = school.decode_memory(HUGE, container.MAX_BLOCK_SIZE)
    assert need > 10 * school.DEFAULT_MEMLIMIT
    start = time.perf_counter()
    for threads in (1, 2):
        with pytest.raises(MemoryLimitError) as caught:
            shoal.decompress(blob, threads=threads)
        error = caught.value
        assert isinstance(error, ShoalError)
        assert (error.needed, error.limit) == (need, school.DEFAULT_MEMLIMIT)
        assert str(error) == (f"archive needs {-(-need // MiB):,} MiB of memory to decode, "
                              f"more than the limit of {school.DEFAULT_MEMLIMIT // MiB:,} MiB (memlimit)")
    with pytest.raises(MemoryLimitError):
        files.decompress_stream(io.BytesIO(blob), io.BytesIO(), memlimit=need - 1)
    with pytest.raises(MemoryLimitError):
        shoal.ShoalDecompressor().decompress(blob)
    with shoal.open(io.BytesIO(blob)) as f, pytest.raises(MemoryLimitError):
        f.read()
    assert time.perf_counter() - start < 5
    assert allocated_while(lambda: shoal.decompress(blob)) < 4 * MiB


def test_the_decompressor_refuses_before_the_first_block_arrives(no_decoding):
    blob = huge_archive()
    header_end = blob.index(HUGE.canonical) + len(HUGE.canonical) + 4
    d = shoal.ShoalDecompressor(memlimit=64 * MiB)
    with pytest.raises(MemoryLimitError):
        d.decompress(blob[:header_end])          # the header alone


def test_a_declared_size_smaller_than_the_block_size_lowers_the_need(no_decoding):
    small = school.decode_memory(HUGE, 1000)
    assert small < school.DEFAULT_MEMLIMIT < school.decode_memory(HUGE, container.MAX_BLOCK_SIZE)
    with pytest.raises(MemoryLimitError) as caught:
        shoal.decompress(huge_archive(original_size=1000), memlimit=small - 1)
    assert caught.value.needed == small
    with pytest.raises(AssertionError, match="a block was decoded"):   # within the limit: decoding starts
        shoal.decompress(huge_archive(original_size=1000), memlimit=small)


def test_memlimit_lets_an_archive_through_or_refuses_it():
    pipe = io.BytesIO()                          # size unknown: its 16 MiB blocks count
    files.compress_stream(io.BytesIO(b""), pipe, 6)
    blob = pipe.getvalue()
    need = school.decode_memory(school.level(6), school.level(6).block_size)
    assert 100 * MiB < need < school.DEFAULT_MEMLIMIT
    assert shoal.decompress(blob) == b"" == shoal.decompress(blob, memlimit=need)
    assert shoal.decompress(blob, memlimit=api.NO_MEMLIMIT) == b""
    for limit in (need - 1, 100 * MiB):
        with pytest.raises(MemoryLimitError, match=r"archive needs 1\d\d MiB .* limit of \d+ MiB"):
            shoal.decompress(blob, memlimit=limit)
        with pytest.raises(MemoryLimitError):
            files.decompress_stream(io.BytesIO(blob), io.BytesIO(), memlimit=limit)
    small = shoal.compress(TEXT, preset=TINY, block_size=1024)
    assert shoal.decompress(small, memlimit=school.decode_memory(TINY, 1024)) == TEXT
    with pytest.raises(MemoryLimitError):
        shoal.decompress(small, memlimit=school.decode_memory(TINY, 1024) - 1)
    with shoal.open(io.BytesIO(small), memlimit=1 << 30) as f:
        assert f.read() == TEXT


@pytest.mark.parametrize("memlimit", [0, -1])
def test_memlimit_must_be_positive(memlimit):
    with pytest.raises(ValueError, match="memlimit"):
        shoal.decompress(b"", memlimit=memlimit)
    with pytest.raises(ValueError, match="memlimit"):
        shoal.ShoalDecompressor(memlimit=memlimit)
    with pytest.raises(ValueError, match="memlimit"):
        files.decompress_stream(io.BytesIO(), io.BytesIO(), memlimit=memlimit)
    for wrong in (1.5, "1G", True):
        with pytest.raises(TypeError, match="memlimit"):
            shoal.decompress(b"", memlimit=wrong)


def test_a_stream_beyond_the_limit_stops_after_the_streams_before_it(no_decoding):
    data = TEXT[:300]
    first = (container.encode_header(b"level1", school.level(1).digest, 1024)   # a stored block: no decoding
             + container.encode_block(data, None) + container.encode_end(len(data), zlib.crc32(data)))
    assert shoal.decompress(first, memlimit=school.decode_memory(school.level(1), 1024)) == data
    for threads in (1, 2):
        out = io.BytesIO()
        with pytest.raises(MemoryLimitError):
            files.decompress_stream(io.BytesIO(first + huge_archive()), out, threads=threads)
        assert out.getvalue() == data


def most_at_once(monkeypatch, name: str) -> list:
    """blocks.<name> (a block's job) wrapped to count the blocks in flight: the
    list returned holds the most seen at once (reset it to 0 between runs)."""
    real = getattr(blocks, name)
    busy, most = [0], [0]
    lock = threading.Lock()

    def counting(job):
        if isinstance(job[0], (container.StreamHeader, container.StreamEnd)):
            return real(job)
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        time.sleep(0.02)
        try:
            return real(job)
        finally:
            with lock:
                busy[0] -= 1

    monkeypatch.setattr(blocks, name, counting)
    return most


def test_threads_decode_fewer_blocks_at_once_when_all_would_not_fit(monkeypatch):
    """As xz: threads=4 under a limit that holds 2 blocks decodes 2 at a time."""
    blob = shoal.compress(TEXT * 3, preset=TINY, block_size=2048)
    need = school.decode_memory(TINY, 2048)
    most = most_at_once(monkeypatch, "decode_block")
    for limit, expected in ((2 * need + need // 2, 2), (need, 1), (10 * need, 4)):
        most[0] = 0
        assert shoal.decompress(blob, threads=4, memlimit=limit) == TEXT * 3
        assert most[0] == expected, limit


def test_threads_code_fewer_blocks_at_once_when_all_would_not_fit(monkeypatch):
    """-M and -T together when compressing: a block takes what decoding it
    does, so a limit that holds 2 blocks codes 2 at a time, one that holds
    none still codes one (a compressor refuses nothing), and the output is
    the same whatever the limit."""
    one = shoal.compress(TEXT * 3, preset=TINY, block_size=2048)
    need = school.decode_memory(TINY, 2048)
    most = most_at_once(monkeypatch, "code_block")
    for limit, expected in ((2 * need + need // 2, 2), (need, 1), (need // 2, 1), (10 * need, 4)):
        most[0] = 0
        assert shoal.compress(TEXT * 3, preset=TINY, block_size=2048, threads=4, memlimit=limit) == one
        assert most[0] == expected, limit
        most[0] = 0
        out = io.BytesIO()
        files.compress_stream(io.BytesIO(TEXT * 3), out, preset=TINY, block_size=2048, threads=4, memlimit=limit)
        assert most[0] == expected and shoal.decompress(out.getvalue()) == TEXT * 3
    with pytest.raises(ValueError, match="memlimit"):
        shoal.compress(TEXT, preset=TINY, memlimit=0)
    with pytest.raises(ValueError, match="memlimit"):
        files.compress_stream(io.BytesIO(TEXT), io.BytesIO(), preset=TINY, block_size=2048, memlimit=-1)


def test_compressing_without_a_limit_may_take_a_quarter_of_the_ram(monkeypatch):
    """As xz's threads: compressing's default cap is a quarter of the RAM,
    and at least a reader's default (so -T 2 -9 codes both blocks on a big
    machine and the cap never falls below what one level-9 block needs)."""
    need = school.decode_memory(TINY, 2048)
    pages = {"SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(arguments.os, "sysconf", lambda name: pages[name])
    monkeypatch.setattr(school, "DEFAULT_MEMLIMIT", need)        # a reader's default: one block
    most = most_at_once(monkeypatch, "code_block")
    for ram, expected in ((4 * 2 * need + 4 * need // 2, 2), (need, 1), (4 * 10 * need, 4)):
        pages["SC_PHYS_PAGES"] = ram // 4096
        most[0] = 0
        shoal.compress(TEXT * 3, preset=TINY, block_size=2048, threads=4)
        assert most[0] == expected, ram


def test_one_block_starts_no_threads(monkeypatch):
    """A single-block input is coded on the caller's thread whatever
    threads= says: no pool is started for it (with threads=0, the default
    of the command line, too)."""
    blob = shoal.compress(TEXT, preset=TINY, block_size=len(TEXT))
    streamed = io.BytesIO()
    files.compress_stream(io.BytesIO(TEXT), streamed, preset=TINY, block_size=len(TEXT))   # a pipe: size unknown
    two = shoal.compress(TEXT, preset=TINY, block_size=len(TEXT) // 2 + 1)

    def no_pool(*args, **kwargs):
        raise AssertionError("a pool was started for one block")
    monkeypatch.setattr(blocks, "ThreadPoolExecutor", no_pool)
    for archive in (blob, streamed.getvalue()):
        assert shoal.decompress(archive, threads=0) == TEXT
    out = io.BytesIO()
    files.compress_stream(io.BytesIO(TEXT), out, preset=TINY, block_size=len(TEXT), threads=0)
    assert out.getvalue() == streamed.getvalue()
    with pytest.raises(AssertionError, match="pool"):
        shoal.decompress(two, threads=2)


def test_a_deflated_preset_is_inflated_only_up_to_the_bound():
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=arguments._DICTIONARY)
    bomb = b"z" + deflate.compress(b"{" + b" " * 10_000_000) + deflate.flush()
    assert len(bomb) < container.MAX_PRESET_BYTES
    blob = container.encode_header(bomb, TINY.digest, 1024) + container.encode_end(0, 0)
    arguments.archive_preset.cache_clear()
    start = time.perf_counter()
    with pytest.raises(ShoalError, match="inflates to more than 65,535 bytes"):
        shoal.decompress(blob)
    assert time.perf_counter() - start < 1
    arguments.archive_preset.cache_clear()
    assert allocated_while(lambda: shoal.decompress(blob)) < 2 * MiB
    exact = arguments.pack(b"{" + b" " * (container.MAX_PRESET_BYTES - 1))   # the most allowed: inflates
    assert arguments.unpack(exact) == b"{" + b" " * (container.MAX_PRESET_BYTES - 1)


def test_a_huge_declared_size_is_only_a_number():
    data = TEXT[:500]
    for declared in (1 << 60, (1 << 64) - 1):
        blob = (container.encode_header(b"level1", school.level(1).digest, 1024, declared)
                + container.encode_block(data, None) + container.encode_end(len(data), zlib.crc32(data)))
        start = time.perf_counter()
        with pytest.raises(ShoalError, match=f"header says {declared} bytes"):
            shoal.decompress(blob)
        with shoal.open(io.BytesIO(blob)) as f, pytest.raises(ShoalError, match="header says"):
            f.seek(0, io.SEEK_END)
        d = shoal.ShoalDecompressor()
        assert d.decompress(blob[:-17]) == data and not d.eof   # all but the end frame
        with pytest.raises(ShoalError, match="header says"):
            d.decompress(blob[-17:])
        with pytest.raises(ShoalError, match="header says"):
            files.list_archive(io.BytesIO(blob))
        assert time.perf_counter() - start < 2


def test_many_empty_streams_decode_in_linear_time():
    one = shoal.compress(b"", 1)
    blob = one * 20_000
    start = time.perf_counter()
    assert shoal.decompress(blob) == b""
    assert files.decompress_stream(io.BytesIO(blob), io.BytesIO(), threads=2) == (len(blob), 0)
    assert len(files.list_archive(io.BytesIO(blob))) == 20_000
    assert time.perf_counter() - start < 20      # about 2 s on a busy 2-core machine

"""The Python interface, modelled on the standard library's lzma module.

    blob = shoal.compress(data, level=6)          # or preset="my.yaml" (or a dict), threads=2
    data = shoal.decompress(blob)
    with shoal.open("notes.txt.shoal", "wt") as f: f.write("...")

plus incremental ShoalCompressor / ShoalDecompressor objects.  File objects
(ShoalFile, open) and the helpers the command line uses (compress_stream,
decompress_stream, list_archive) live in shoal/files.py and are exported here.

As in lzma, `preset` may also be a level: compress(data, preset=9) is level 9.

Blocks are independent, so with threads=N up to N blocks are coded at once
(the engine releases the GIL); results are written in order, and the output
is byte-identical for every N.  threads= also takes a runner that codes the
blocks elsewhere (cluster.RayRunner: on Ray workers; see _ordered_map).

Decoding takes the memory its archive's preset asks for, so every decoder
takes memlimit= (bytes; None: school.DEFAULT_MEMLIMIT, NO_MEMLIMIT: none) and
refuses a stream whose one block needs more (MemoryLimitError), at its
header, before anything is allocated for it.  With threads=N fewer blocks
are decoded at once when N of them would not fit (as xz does); compress
and ShoalCompressor take memlimit= too (None: a quarter of the RAM, at
least that default), and code fewer blocks at once the same way (never
fewer than one: a compressor refuses nothing).

Errors are those of lzma (shoal/errors.py): ShoalError for what an archive
or preset holds, TypeError / ValueError for bad arguments, EOFError after a
stream's end, OSError from the files read and written, unwrapped.
"""
from __future__ import annotations

import io
import operator
import os
import zlib
from importlib import resources
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache

from . import school, school_file
from .codec import container
from .codec.container import Block, StreamHeader
from .errors import MemoryLimitError, ShoalError

__all__ = ["compress", "decompress", "ShoalCompressor", "ShoalDecompressor", "ShoalFile", "open",
           "compress_stream", "decompress_stream", "list_archive", "ShoalError", "MemoryLimitError",
           "NO_MEMLIMIT"]

# memlimit=NO_MEMLIMIT: decode whatever an archive asks for (no preset comes
# near 2^63 bytes).  memlimit=None is the default, school.DEFAULT_MEMLIMIT.
NO_MEMLIMIT = (1 << 63) - 1

# A shipped level's preset is written as its name ("level6") rather than its
# 550-byte JSON: small files would otherwise pay for it.  The digest still
# pins the exact parameters, and a reader whose level differs says so.
_LEVEL_NAME = "level{}"
# Any other preset is written deflated (zlib's raw deflate) against a fixed
# dictionary, the canonical JSON of levels 6 and 9 as first released: an
# evolved preset's 630 bytes become about 70.  The dictionary is part of the
# format (docs/format.md) and never changes.
_PACKED = b"z"
_DICTIONARY = resources.files("shoal").joinpath("data/preset_dictionary.txt").read_bytes()


def _pack(canonical: bytes) -> bytes:
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=_DICTIONARY)
    return _PACKED + deflate.compress(canonical) + deflate.flush()


def _unpack(packed: bytes) -> bytes:
    """The canonical JSON a deflated preset holds, inflating at most
    MAX_PRESET_BYTES + 1 bytes however much it would inflate to."""
    inflate = zlib.decompressobj(-15, zdict=_DICTIONARY)
    try:
        # All input is given at once: whatever inflate can emit it emits
        # here, up to the bound (no flush(), whose output is unbounded).
        canonical = inflate.decompress(packed[1:], container.MAX_PRESET_BYTES + 1)
    except zlib.error as error:
        raise ShoalError(f"corrupted archive: unreadable preset ({error})") from None
    if len(canonical) > container.MAX_PRESET_BYTES or inflate.unconsumed_tail:
        raise ShoalError(f"corrupted archive: preset inflates to more than {container.MAX_PRESET_BYTES:,} bytes")
    if not inflate.eof or inflate.unused_data:
        raise ShoalError("corrupted archive: unreadable preset")
    return canonical


# ---- arguments ---------------------------------------------------------------

def _integer(value, what: str) -> int:
    """value as an int (anything with __index__ but a bool), or TypeError."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, not bool")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {type(value).__name__}") from None


def _is_integer(value) -> bool:
    return not isinstance(value, (bool, str, bytes)) and hasattr(type(value), "__index__")


def _level(level, what: str = "level") -> int:
    n = _integer(level, what)
    if not 1 <= n <= 9:
        raise ValueError(f"{what} must be an integer 1..9, got {n}")
    return n


def _choose_preset(level, preset, learned=None) -> tuple[school.Preset, bytes, bytes | None]:
    """The preset to code with, how the archive names it, and the digest of
    the school file it comes from (None: none).  A preset given replaces
    level; an integer preset is a level (as in lzma); a school file (path or
    school_file.SchoolFile) replaces both, and the archive names it by its
    digest alone (its preset's canonical form is returned as the name, which
    is not written)."""
    if learned is not None:
        if preset is not None:
            raise ValueError("give a school or a preset, not both")
        chosen = school_file.given(learned)
        return chosen.preset, chosen.preset.canonical, chosen.digest
    if preset is None or _is_integer(preset) or isinstance(preset, bool):
        n = _level(level) if preset is None else _level(preset, "preset (a level)")
        return school.level(n), _LEVEL_NAME.format(n).encode(), None
    if isinstance(preset, dict):
        preset = school.from_dict(preset)
    elif isinstance(preset, (str, os.PathLike)):
        preset = school.load(preset)
    elif not isinstance(preset, school.Preset):
        raise TypeError("preset must be a level 1..9, a preset file's path, a dict or a school.Preset, "
                        f"not {type(preset).__name__}")
    for n in range(1, 10):
        if school.level(n).digest == preset.digest:
            return preset, _LEVEL_NAME.format(n).encode(), None
    return preset, min(preset.canonical, _pack(preset.canonical), key=len), None


@lru_cache(maxsize=32)
def _archive_preset(name: bytes, digest: bytes) -> school.Preset:
    """The preset a stream header names; its digest must match."""
    if not name:        # format version 2 names a school file by its digest alone
        return school_file.find(digest).preset
    if name.startswith(_PACKED):
        name = _unpack(name)
    if name.startswith(b"{"):
        preset = school.from_canonical(name)
        if preset.digest != digest:
            raise ShoalError("corrupted archive: preset does not match its digest")
        return preset
    for n in range(1, 10):
        if name == _LEVEL_NAME.format(n).encode():
            preset = school.level(n)
            if preset.digest != digest:
                preset = school.retired_level(n, digest)
            if preset is None:
                raise ShoalError(f"archive was made with a different level {n} preset (digest "
                                 f"{digest.hex()}; this shoal has {school.level(n).digest.hex()}): "
                                 "decode it with the shoal version that wrote it")
            return preset
    raise ShoalError(f"archive names a preset this shoal does not know: {name[:40]!r}")


@lru_cache(maxsize=64)
def _block_need(name: bytes, digest: bytes, block_size: int) -> int:
    """Bytes one block of up to block_size bytes takes to decode with the
    preset a header names (school.decode_memory, from the preset alone)."""
    return school.decode_memory(_archive_preset(name, digest), block_size)


def _stream_need(header: StreamHeader) -> int:
    """What one block of this stream takes to decode: no block holds more
    than the header's block size, nor than the size it declares."""
    largest = header.block_size
    if header.original_size is not None:
        largest = max(1, min(largest, header.original_size))
    return _block_need(header.preset, header.digest, largest)


def _memlimit(memlimit, compressing: bool = False) -> int:
    if memlimit is None:
        return _compress_default() if compressing else school.DEFAULT_MEMLIMIT
    limit = _integer(memlimit, "memlimit")
    if limit <= 0:
        raise ValueError(f"memlimit must be a number of bytes > 0 (None: the default, "
                         f"NO_MEMLIMIT: none), got {limit}")
    return limit


def _compress_default() -> int:
    """What the blocks compressed at once may take when no memlimit is given:
    a quarter of this machine's RAM (xz's default for its threads), and at
    least a reader's default, so that -T 2 -9 (2 GiB a block) runs both
    blocks on a machine of 16 GiB or more."""
    try:
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        ram = 0
    return max(school.DEFAULT_MEMLIMIT, ram // 4)


def _threads(threads):
    """A thread count (0: one per CPU), or a runner as it is (see _ordered_map)."""
    if hasattr(threads, "submit") and hasattr(threads, "window"):
        return threads
    n = _integer(threads, "threads")
    if n < 0:
        raise ValueError(f"threads must be an integer >= 0 (0: one per CPU), got {n}")
    return n or os.cpu_count() or 1


def _block_size(preset: school.Preset, block_size) -> int:
    if block_size is None:
        return preset.block_size
    n = _integer(block_size, "block size")
    if not 1 <= n <= container.MAX_BLOCK_SIZE:
        raise ValueError(f"block size must be an integer 1..{container.MAX_BLOCK_SIZE}, got {n}")
    return n


def _as_bytes(data, what: str = "data") -> memoryview:
    try:
        return memoryview(data).cast("B")
    except TypeError:
        raise TypeError(f"{what} must be a bytes-like object, not {type(data).__name__}") from None


# ---- blocks, in parallel and in order ----------------------------------------
#
# Every argument `threads` is a count of threads on this machine or a
# runner: an object that codes blocks elsewhere (cluster.RayRunner, on Ray
# workers) with the contract _ordered_map asks of one:
#
#     runner.window          calls it keeps in flight at most (driver memory)
#     runner.submit(fn, job) starts fn(job) somewhere and returns a future:
#                            result() gives fn's value or raises its error;
#                            cancel() gives it up (it may still run)
#
# fn is a module-level function of shoal and a job is picklable (bytes, not
# memoryviews; presets, blocks).  _ordered_map cancels what it leaves
# behind; the runner belongs to whoever made it (one for many files).

class _Threads:
    """Threads of this process as a runner: a pool started at the first
    submit, shut down by close()."""

    def __init__(self, n: int):
        self.window = n
        self._pool = None

    def submit(self, fn, job) -> Future:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.window, thread_name_prefix="shoal")
        return self._pool.submit(fn, job)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _window(threads) -> int:
    """Blocks in flight at most: a thread count, or a runner's window."""
    return threads if isinstance(threads, int) else threads.window


# Before any job has gone to a runner, up to this many items are looked at
# to see whether the input has a second block: one block alone is done on
# this thread, and no pool (or Ray instance) is started for it.
_LOOK_AHEAD = 16


def _ordered_map(fn, items, threads, cost=None, budget: int = 0):
    """fn over items, results in order: threads == 1 all on this thread;
    else on a pool of that many threads, or on a runner (see above), at
    most its window of calls in flight.

    With cost (item -> bytes), the calls in flight also cost at most
    `budget` together, or are one call (never fewer: a block that does not
    fit alone runs alone); an item that costs 0 is quick, and is done on
    this thread (a stream's header and end: an archive of many empty streams
    would otherwise pay a hand-off for each).  A lone costly item (an input
    of one block) is done on this thread too: nothing is started for it.
    A ShoalError or OSError raised while pulling the next item waits until
    the items before it are done, so every thread count reports the same
    first error, after the same output."""
    if isinstance(threads, int) and threads == 1:
        for item in items:
            yield fn(item)
        return
    runner = _Threads(threads) if isinstance(threads, int) else threads
    pending: deque = deque()          # [job, its cost, its future; None: not started yet]
    in_flight = 0
    source = iter(items)
    held = None                       # pulled, waiting for room
    deferred = None
    waiting = None                    # the first costly job, not started until a second comes
    started = False                   # whether any job went to the runner
    try:
        while True:
            while deferred is None and len(pending) < (runner.window if started else _LOOK_AHEAD):
                if held is None:
                    if source is None:
                        break
                    try:
                        held = (next(source),)
                    except StopIteration:
                        source = None
                        break
                    except (ShoalError, OSError) as error:
                        deferred = error
                        break
                (job,), held = held, None
                price = 0 if cost is None else cost(job)
                if cost is not None and not price:
                    pending.append([job, 0, _done(fn, job)])
                    continue
                if in_flight and in_flight + price > budget:
                    held = (job,)
                    break
                entry = [job, price, None]
                pending.append(entry)
                in_flight += price
                if started:
                    entry[2] = runner.submit(fn, job)
                elif waiting is None:
                    waiting = entry
                else:                             # a second block: start both
                    waiting[2], entry[2] = runner.submit(fn, waiting[0]), runner.submit(fn, job)
                    started, waiting = True, None
            if not pending:
                break
            job, price, future = pending.popleft()
            in_flight -= price
            if future is None:                    # the first costly job, not started yet
                waiting = None
                if source is not None and deferred is None:
                    started = True                # more may come: start the runner
                    future = runner.submit(fn, job)
                else:
                    yield fn(job)                 # the input's one block
                    continue
            yield future.result()
        if deferred is not None:
            raise deferred
    finally:
        for _, _, future in pending:
            if future is not None:
                future.cancel()
        if isinstance(threads, int):
            runner.close()


def _done(fn, item) -> Future:
    """fn(item) called now, as a finished future."""
    future = Future()
    try:
        future.set_result(fn(item))
    except Exception as error:
        future.set_exception(error)
    return future


def _coded(data, preset) -> tuple[bytes | None, bool]:
    """A block's payload (None: it would not shrink), coded by the school
    its kind calls for, and whether that is the preset's binary school."""
    chosen = school.school_for(data, preset)
    return school.compress_block(data, chosen), chosen is preset.binary


def _code_block(job) -> bytes:
    """A block's frame: what a worker sends back (not the block again)."""
    data, preset = job
    payload, binary = _coded(data, preset)
    return container.encode_block(data, payload, binary=binary)


def _one_block_stream(data, preset, name: bytes, learned: bytes | None = None) -> bytes:
    """A whole stream of at most one block, in the compact one-block form
    (docs/format.md): what a small file costs is mostly this."""
    if not len(data):
        return container.encode_stream(name, preset.digest, data, None, school=learned)
    payload, binary = _coded(data, preset)
    return container.encode_stream(name, preset.digest, data, payload, binary=binary, school=learned)


def _frames(blocks, preset, threads, limit: int | None = None):
    """(original, frame bytes) for each block of original bytes, in order.

    Coding a block takes what decoding it does (school.decode_memory: the
    same school, the same buffers), so the blocks coded at once take at most
    `limit` bytes together (None: _compress_default()), or are one block:
    -M caps compression as it caps decoding.  The limit is checked here, before
    any block is read."""
    return _framed(blocks, preset, threads, _memlimit(limit, compressing=True))


def _framed(blocks, preset, threads, limit: int):
    needs: dict[int, int] = {}
    originals: deque = deque()        # the blocks pulled, waiting for their frames

    def cost(job) -> int:
        n = len(job[0])
        if n not in needs:
            needs[n] = school.decode_memory(preset, n)
        return needs[n]

    def jobs():
        remote = not isinstance(threads, int)
        for block in blocks:
            originals.append(block)
            yield (bytes(block) if remote else block), preset

    for frame in _ordered_map(_code_block, jobs(), threads, cost, limit):
        yield originals.popleft(), frame


def _decode_job(job):
    """(item, its decoded bytes or None): _decode_block beside its item."""
    return job[0], _decode_block(job)


def _decode_block(job) -> bytes | None:
    """A block's original bytes, checked (None for a stream's header or end):
    what a worker sends back (not the block's payload again)."""
    item, preset, _ = job
    if not isinstance(item, Block):
        return None
    if item.stored:
        data = item.payload
    elif item.binary:
        if preset.binary is None:
            raise ShoalError(f"corrupted archive: block {item.index} is marked as coded by the preset's school "
                             "for binary blocks, but the preset has only one school")
        data = school.decompress_block(item.payload, item.size, preset.binary)
    else:
        data = school.decompress_block(item.payload, item.size, preset.text)
    container.check_block(item, data)
    return data


def _with_presets(items, limit: int):
    """(item, its stream's preset, bytes decoding it takes) for every item.

    A stream whose one block needs more than `limit` is refused at its
    header, before any of its blocks is read."""
    preset, need = None, 0
    for item in items:
        if isinstance(item, StreamHeader):
            preset = _archive_preset(item.preset, item.digest)
            need = _stream_need(item)
            if need > limit:
                raise MemoryLimitError(need, limit)
        yield item, preset, need if isinstance(item, Block) else 0


def _job_cost(job) -> int:
    return job[2]


def _decoded(items, threads, limit: int):
    """(item, decoded bytes or None) for every item, checking each stream;
    the blocks decoded at once take at most `limit` bytes together (or are
    one block)."""
    checksum = None
    pulled: deque = deque()           # the items pulled, waiting for their data

    def jobs():
        for job in _with_presets(items, limit):
            pulled.append(job[0])
            yield job

    for data in _ordered_map(_decode_block, jobs(), threads, _job_cost, limit):
        item = pulled.popleft()
        if isinstance(item, StreamHeader):
            checksum = container.StreamChecksum()
        elif isinstance(item, Block):
            checksum.update(data)
        else:
            checksum.verify(item)
        yield item, data


# ---- one-shot ------------------------------------------------------------------

def _know(learned) -> None:
    """Load a school file given to a reader, so streams naming it find it."""
    if learned is not None:
        school_file.given(learned)


def compress(data, level: int = school.DEFAULT_LEVEL, *, preset=None, threads: int = 1,
             block_size: int | None = None, school=None, memlimit: int | None = None) -> bytes:
    """Compress bytes-like `data` into one shoal stream.  `preset` replaces
    `level`: a level 1..9 (as in lzma.compress(data, preset=9)), a preset
    file's path, a dict in the preset format, or a school.Preset.  `school`
    (a school file's path, or a loaded school_file.SchoolFile: what `shoal
    learn` makes) replaces both; decoding needs the same school file.
    threads: blocks coded at once (0: one per CPU), or a runner
    (cluster.RayRunner); memlimit: bytes the blocks coded at once may take
    together (None: a quarter of this machine's RAM, at least
    school.DEFAULT_MEMLIMIT; NO_MEMLIMIT: no limit), never fewer than one
    block."""
    view = _as_bytes(data)
    preset, name, learned = _choose_preset(level, preset, school)
    size = _block_size(preset, block_size)
    threads, limit = _threads(threads), _memlimit(memlimit, compressing=True)
    if len(view) <= size:
        return _one_block_stream(view, preset, name, learned)
    out = [container.encode_start(name, preset.digest, size, len(view), learned)]
    blocks = (view[i:i + size] for i in range(0, len(view), size))
    out.extend(frame for _, frame in _frames(blocks, preset, threads, limit))
    out.append(container.encode_end(len(view), zlib.crc32(view)))
    return b"".join(out)


def decompress(data, *, threads: int = 1, memlimit: int | None = None, school=None) -> bytes:
    """Decompress every concatenated stream in `data`; trailing garbage is an error.

    memlimit: bytes decoding may take (None: school.DEFAULT_MEMLIMIT;
    NO_MEMLIMIT: no limit); a stream that needs more raises MemoryLimitError.
    school: the school file (path or SchoolFile) an archive was made with,
    where it is not in $SHOAL_SCHOOL_PATH; archives made without one ignore it."""
    _know(school)
    view = _as_bytes(data)
    threads, limit = _threads(threads), _memlimit(memlimit)
    items = container.read_items(io.BytesIO(view).read)
    return b"".join(d for _, d in _decoded(items, threads, limit) if d is not None)


# ---- incremental ----------------------------------------------------------------

class ShoalCompressor:
    """Compress incrementally: compress() returns whatever is ready, flush() the rest.

    Input is buffered up to one block per thread (or per place in a
    runner's window), and nothing is returned before a block is coded: a
    stream that ends within its first block is written whole by flush(), in
    the one-block form, as compress() writes it.  Longer output matches
    compress() except that the header does not record the size (it is not
    known yet).  threads and memlimit as in compress()."""

    def __init__(self, level: int = school.DEFAULT_LEVEL, *, preset=None, threads: int = 1,
                 block_size: int | None = None, school=None, memlimit: int | None = None):
        self._preset, name, self._school = _choose_preset(level, preset, school)
        self._block_size = _block_size(self._preset, block_size)
        self._threads, self._limit = _threads(threads), _memlimit(memlimit, compressing=True)
        self._name = name
        self._header = container.encode_start(name, self._preset.digest, self._block_size, school=self._school)
        self._pending = bytearray()
        self._checksum = container.StreamChecksum()
        self._flushed = False

    def compress(self, data) -> bytes:
        if self._flushed:
            raise ValueError("compressor has been flushed")
        self._pending += _as_bytes(data)
        if len(self._pending) < _window(self._threads) * self._block_size:
            return b""
        full = len(self._pending) - len(self._pending) % self._block_size
        return self._take_header() + self._code(full)

    def flush(self) -> bytes:
        if self._flushed:
            raise ValueError("repeated call to flush(): the compressor has been flushed")
        self._flushed = True
        if self._header and len(self._pending) <= self._block_size:
            self._header = b""
            return _one_block_stream(bytes(self._pending), self._preset, self._name, self._school)
        frames = self._take_header() + self._code(len(self._pending))
        return frames + container.encode_end(self._checksum.size, self._checksum.crc)

    def _take_header(self) -> bytes:
        header, self._header = self._header, b""
        return header

    def _code(self, n: int) -> bytes:
        chunk = bytes(self._pending[:n])
        del self._pending[:n]
        size = self._block_size
        blocks = (memoryview(chunk)[i:i + size] for i in range(0, n, size))
        out = []
        for block, frame in _frames(blocks, self._preset, self._threads, self._limit):
            self._checksum.update(block)
            out.append(frame)
        return b"".join(out)


class ShoalDecompressor:
    """Decompress one stream incrementally, like lzma.LZMADecompressor.

    After its end, eof is True and any further bytes are in unused_data
    (decompress() reads all concatenated streams for you).  A stream whose
    one block needs more memory than memlimit (bytes; None: the default,
    school.DEFAULT_MEMLIMIT; NO_MEMLIMIT: none) raises MemoryLimitError at
    its header, before any block is decoded."""

    def __init__(self, *, memlimit: int | None = None, school=None):
        _know(school)
        self._limit = _memlimit(memlimit)
        self._parser = container.StreamParser()
        self._preset = None
        self._checksum = container.StreamChecksum()
        self._output = bytearray()
        self.eof = False

    @property
    def unused_data(self) -> bytes:
        return self._parser.unused_data

    @property
    def needs_input(self) -> bool:
        return not self.eof and not self._output and not self._parser.has_item()

    def decompress(self, data, max_length: int = -1) -> bytes:
        if self.eof:
            raise EOFError("already at end of stream")
        max_length = operator.index(max_length)
        self._parser.feed(_as_bytes(data))
        while max_length < 0 or len(self._output) < max_length:
            item = self._parser.next()
            if item is None:
                break
            self._take(item)
        n = len(self._output) if max_length < 0 else min(max_length, len(self._output))
        out = bytes(self._output[:n])
        del self._output[:n]
        return out

    def _take(self, item) -> None:
        if isinstance(item, StreamHeader):
            self._preset = _archive_preset(item.preset, item.digest)
            need = _stream_need(item)
            if need > self._limit:
                raise MemoryLimitError(need, self._limit)
        elif isinstance(item, Block):
            _, data = _decode_job((item, self._preset, 0))
            self._checksum.update(data)
            self._output += data
        else:
            self._checksum.verify(item)
            self.eof = True


# File objects and streams (ShoalFile, open, compress_stream, ...) build on the above.
from .files import ShoalFile, compress_stream, decompress_stream, list_archive, open  # noqa: E402,F401

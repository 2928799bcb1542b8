"""Blocks in parallel and in order: the pipeline under api.py and files.py.

    for original, frame in frames(blocks, preset, threads): ...    # coding
    for item, data in decoded(read_items(read), threads, limit): ...  # decoding, every stream checked

Blocks are independent, so up to `threads` are coded at once (the engine
releases the GIL), or by a runner elsewhere (cluster.RayRunner); results
come back in order, so the output is the same bytes for any `threads`.
The blocks in flight take at most a memory limit together (never fewer
than one block).
"""
from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from . import school
from .arguments import archive_preset, memlimit_of, stream_need
from .codec import container
from .codec.container import Block, StreamHeader
from .errors import MemoryLimitError, ShoalError

# ---- blocks, in parallel and in order ----------------------------------------
#
# Every argument `threads` is a count of threads on this machine or a
# runner: an object that codes blocks elsewhere (cluster.RayRunner, on Ray
# workers) with the contract ordered_map asks of one:
#
#     runner.window          calls it keeps in flight at most (driver memory)
#     runner.submit(fn, job) starts fn(job) somewhere and returns a future:
#                            result() gives fn's value or raises its error;
#                            cancel() gives it up (it may still run)
#
# fn is a module-level function of shoal and a job is picklable (bytes, not
# memoryviews; presets, blocks).  ordered_map cancels what it leaves
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


def window_of(threads) -> int:
    """Blocks in flight at most: a thread count, or a runner's window."""
    return threads if isinstance(threads, int) else threads.window


# Before any job has gone to a runner, up to this many items are looked at
# to see whether the input has a second block: one block alone is done on
# this thread, and no pool (or Ray instance) is started for it.
_LOOK_AHEAD = 16


def ordered_map(fn, items, threads, cost=None, budget: int = 0):
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


# ---- progress ------------------------------------------------------------------

class Progress:
    """progress(done) fed as blocks are coded, and within them (the engine's
    on_bytes, about a MiB at a time): done counts each finished item's
    weight (a block's bytes in, or the archive bytes of an item decoded),
    and a share of it for each block in flight, as much as it has coded.
    Blocks in flight are coded on threads of their own, so the count is kept
    under a lock, and progress is called under it: never twice at once (but
    from those threads), with a count that never goes back.  A remote
    runner's blocks are counted when they are done (no callback travels)."""

    def __init__(self, progress):
        self._progress = progress
        self._lock = threading.Lock()
        self._done = 0                  # the finished items' weights
        self._partial: dict = {}        # token -> weight counted so far of a block in flight
        self._shown = 0

    def within(self, weight: int, size: int):
        """(on_bytes, token) for a block of `size` bytes that counts `weight`
        when done: on_bytes(k) as school.compress_block calls it."""
        token = object()
        coded = 0

        def on_bytes(k: int) -> None:
            nonlocal coded
            with self._lock:
                coded = min(coded + k, size)
                self._partial[token] = weight * coded // size
                self._show()
        return on_bytes, token

    def finish(self, weight: int, token=None) -> None:
        """An item counted `weight`, done (its share in flight replaced)."""
        with self._lock:
            self._partial.pop(token, None)
            self._done += weight
            self._show()

    def _show(self) -> None:
        done = self._done + sum(self._partial.values())
        if done > self._shown:
            self._shown = done
            self._progress(done)


def _coded(data, preset, on_bytes=None) -> tuple[bytes | None, str]:
    """A block's payload (None: it would not shrink), coded by the school
    its kind calls for, and that kind (school.block_kind: the archive marks it)."""
    kind = school.block_kind(data, preset)
    return school.compress_block(data, preset.school(kind), on_bytes=on_bytes), kind


def code_block(job) -> bytes:
    """A block's frame: what a worker sends back (not the block again).
    job: (data, preset), or locally (data, preset, on_bytes)."""
    data, preset = job[:2]
    payload, kind = _coded(data, preset, job[2] if len(job) > 2 else None)
    return container.encode_block(data, payload, kind)


def one_block_stream(data, preset, name: bytes, learned: bytes | None = None, progress=None) -> bytes:
    """A whole stream of at most one block, in the compact one-block form
    (docs/format.md): what a small file costs is mostly this.  progress:
    a Progress, told of the block's bytes as they are coded."""
    if not len(data):
        return container.encode_stream(name, preset.digest, data, None, school=learned)
    on_bytes, token = progress.within(len(data), len(data)) if progress is not None else (None, None)
    payload, kind = _coded(data, preset, on_bytes)
    if progress is not None:
        progress.finish(len(data), token)
    return container.encode_stream(name, preset.digest, data, payload, kind, school=learned)


def frames(blocks, preset, threads, limit: int | None = None, progress: Progress | None = None):
    """(original, frame bytes) for each block of original bytes, in order.

    Coding a block takes what decoding it does (school.decode_memory: the
    same school, the same buffers), so the blocks coded at once take at most
    `limit` bytes together (None: compress_default()), or are one block:
    -M caps compression as it caps decoding.  The limit is checked here, before
    any block is read.  progress: told of each block's bytes as they are
    coded (on this machine; a runner's when each block is done), each block
    finished before its frame is yielded."""
    return _framed(blocks, preset, threads, memlimit_of(limit, compressing=True), progress)


def _framed(blocks, preset, threads, limit: int, progress: Progress | None = None):
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
            if remote or progress is None:
                originals.append((block, None))
                yield (bytes(block) if remote else block), preset
            else:
                on_bytes, token = progress.within(len(block), len(block))
                originals.append((block, token))
                yield block, preset, on_bytes

    for frame in ordered_map(code_block, jobs(), threads, cost, limit):
        block, token = originals.popleft()
        if progress is not None:
            progress.finish(len(block), token)
        yield block, frame


def decode_job(job):
    """(item, its decoded bytes or None): decode_block beside its item."""
    return job[0], decode_block(job)


def decode_block(job) -> bytes | None:
    """A block's original bytes, checked (None for a stream's header or end):
    what a worker sends back (not the block's payload again)."""
    item, preset = job[:2]
    on_bytes = job[3] if len(job) > 3 else None
    if not isinstance(item, Block):
        return None
    if item.stored:
        data = item.payload
    else:
        if item.kind not in preset.kinds:
            raise ShoalError(f"corrupted archive: block {item.index} is marked as coded by the preset's school "
                             f"for {item.kind} blocks, but the preset has none (it has schools for "
                             f"{', '.join(preset.kinds)} blocks)")
        data = school.decompress_block(item.payload, item.size, preset.school(item.kind), on_bytes=on_bytes)
    container.check_block(item, data)
    return data


def with_presets(items, limit: int):
    """(item, its stream's preset, bytes decoding it takes) for every item.

    A stream whose one block needs more than `limit` is refused at its
    header, before any of its blocks is read."""
    preset, need = None, 0
    for item in items:
        if isinstance(item, StreamHeader):
            preset = archive_preset(item.preset, item.digest)
            need = stream_need(item)
            if need > limit:
                raise MemoryLimitError(need, limit)
        yield item, preset, need if isinstance(item, Block) else 0


def job_cost(job) -> int:
    return job[2]


def decoded(items, threads, limit: int, progress: Progress | None = None):
    """(item, decoded bytes or None) for every item, checking each stream;
    the blocks decoded at once take at most `limit` bytes together (or are
    one block).  progress: told of the archive bytes decoded, a block's
    share by share as its bytes are decoded (on this machine), each item
    finished before it is yielded."""
    checksum = None
    pulled: deque = deque()           # the items pulled (and tokens), waiting for their data
    local = isinstance(threads, int) and progress is not None

    def jobs():
        for job in with_presets(items, limit):
            item = job[0]
            if local and isinstance(item, Block) and not item.stored and item.size:
                on_bytes, token = progress.within(item.archive_bytes, item.size)
                pulled.append((item, token))
                yield job + (on_bytes,)
            else:
                pulled.append((item, None))
                yield job

    for data in ordered_map(decode_block, jobs(), threads, job_cost, limit):
        item, token = pulled.popleft()
        if progress is not None:
            progress.finish(item.archive_bytes, token)
        if isinstance(item, StreamHeader):
            checksum = container.StreamChecksum()
        elif isinstance(item, Block):
            checksum.update(data)
        else:
            checksum.verify(item)
        yield item, data

"""A block coded by a school with a neural fish.

The fish (fish/neural) predicts each next byte; the school's compiled loop
codes it with the fish's distribution as one more vote.  With several lanes
(code_lanes) the block is coded a step at a time from Python (a byte of
every lane), the fish's batched step between; with one (code_one_lane), in
compiled calls of 64 KiB (one_lane.py), and when encoding, the fish a
chunk ahead of the school on a thread of its own (encode_one_lane).  After
a primer the lanes start from the school it left, kept (kept.py) as a
one-lane school is.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import memory, neural, slots
from .engine_loading import engine as load_engine
from .kept import PRIMED_COPY_FIT, kept


def code_neural(buf, payload, decode, preset, cost, primed, on_bytes=None) -> int:
    """A school with a neural fish codes buf[primed:] a step at a time (a
    byte of every lane): the fish (NumPy) predicts each lane's next byte,
    then the compiled loop codes that step with the fish's distribution as
    one more vote.  After a primer (buf[:primed]) the lanes start from the
    school it left (engine.read_primer_lanes, kept as school._code_after_primer
    keeps a one-lane school, and engine.lanes_after_primer)."""
    n, fish, cfg, engine = buf.size, preset.fish, preset.cfg, load_engine()
    snapshot = school = None
    fit = memory.table_fit(n, fish, cfg)
    if primed and cost.size == 0 and fit <= PRIMED_COPY_FIT:
        # the primer is read once for each fit, as school._code_after_primer
        # does; a fish with `tables: 21` (--neural's) keeps its school's
        # tables at that fit, so every block starts from the one kept copy
        key = (preset.digest, fish.tobytes(), cfg.tobytes(), fit, primed, "lanes")
        snapshot = kept(key, lambda: engine.read_primer_lanes(buf, n, primed, fish, cfg,
                                                              *engine.new_tables(n, fish, cfg), cost),
                        lambda: engine.fresh_school(buf, n, fish, cfg))
        if snapshot is None:
            return -1
        school = snapshot.copy()
    elif primed:
        school = engine.read_primer_lanes(buf, n, primed, fish, cfg, *engine.new_tables(n, fish, cfg), cost)
        if school is None:
            return -1
    if school is not None:
        block, cfg = engine.lanes_after_primer(school, n, primed, cfg, payload, decode)
    else:
        block = engine.open_block(buf, n, payload, decode, fish, cfg, *engine.new_tables(n, fish, cfg))
    cum = np.zeros((block.geometry.starts.size, 257), dtype=np.int64)
    code = code_one_lane if block.geometry.starts.size == 1 else code_lanes
    written = code(buf, n, payload, decode, fish, cfg, cost, block, neural.find(preset.neural), cum, on_bytes)
    written = engine.close_block(block, payload, decode, written)
    if snapshot is not None:
        snapshot.done(school)
    return written


def code_lanes(buf, n, payload, decode, fish, cfg, cost, block, neural_fish, cum, on_bytes) -> int:
    """The steps of a block of several lanes, each a call from here: the
    fish's batched step, then the compiled loop for that step."""
    engine = load_engine()
    run = neural_fish.start(int(cfg[slots.C_LANES]))
    starts, ends, steps = block.geometry.starts, block.geometry.ends, block.geometry.seg
    seen = run.start_bytes()
    written = 0
    chunk = max(engine.CHUNK_BYTES // starts.size, 1)       # steps between on_bytes calls
    for step in range(steps):
        np.cumsum(run.step(seen), axis=1, out=cum[:, 1:])
        written = engine.code_steps(buf, n, payload, decode, fish, cfg, cost, block, step, step + 1, cum)
        if written < 0 or (decode and written > payload.size + 4):
            break           # out of room; or read past the payload: damaged
        # what each lane just coded is what its fish sees next (finished
        # lanes are fed anything: their predictions are never used)
        seen = buf[np.minimum(starts + step, ends - 1).clip(0, n - 1)]
        if on_bytes is not None and ((step + 1) % chunk == 0 or step + 1 == steps):
            on_bytes(engine.bytes_in(block.geometry, (step // chunk) * chunk, step + 1))
    return written


# A one-lane block's steps between on_bytes calls (a chunk takes seconds)
ONE_LANE_CHUNK = 1 << 16


def code_one_lane(buf, n, payload, decode, fish, cfg, cost, block, neural_fish, cum, on_bytes) -> int:
    """The steps of a block of one lane, in compiled calls (one_lane.py)."""
    from . import one_lane      # compiled code: loaded with the engine
    model, state = neural_fish.one_lane.model, neural_fish.one_lane.start()
    if not decode:
        return encode_one_lane(buf, n, payload, fish, cfg, cost, block, model, state, cum, on_bytes)
    steps, written = block.geometry.seg, 0
    for lo in range(0, steps, ONE_LANE_CHUNK):
        hi = min(lo + ONE_LANE_CHUNK, steps)
        written = one_lane.code_steps(buf, n, payload, decode, fish, cfg, cost, block, lo, hi, model, state, cum)
        if written < 0 or written > payload.size + 4:
            break           # read past the payload: damaged
        if on_bytes is not None:
            on_bytes(load_engine().bytes_in(block.geometry, lo, hi))
    return written


# Encoding, the fish runs this many steps ahead of the school (two chunks of
# distributions, 4 MB each: the fish writes one while the school reads the
# other)
AHEAD_CHUNK = 1 << 11


def encode_one_lane(buf, n, payload, fish, cfg, cost, block, model, state, cum, on_bytes) -> int:
    """code_one_lane encoding: the fish's steps for a chunk run on a thread
    of their own while the school codes the chunk before; the same bytes as
    one thread (the fish's distributions do not depend on the school)."""
    from . import one_lane
    steps, start = block.geometry.seg, int(block.geometry.starts[0])
    cums = np.zeros((2, AHEAD_CHUNK, 257), dtype=np.int64)
    chunks = [(lo, min(lo + AHEAD_CHUNK, steps)) for lo in range(0, steps, AHEAD_CHUNK)]
    written, told = 0, 0
    if not chunks:
        return written
    with ThreadPoolExecutor(1, thread_name_prefix="shoal-fish") as fish_thread:
        ahead = fish_thread.submit(one_lane.fish_ahead, buf, start, *chunks[0], model, state, cums[0])
        for i, (lo, hi) in enumerate(chunks):
            ahead.result()
            if i + 1 < len(chunks):
                ahead = fish_thread.submit(one_lane.fish_ahead, buf, start, *chunks[i + 1], model, state,
                                           cums[(i + 1) % 2])
            written = one_lane.code_given(buf, n, payload, False, fish, cfg, cost, block, lo, hi, cums[i % 2], cum)
            if written < 0:
                break       # out of room (the fish's chunk in flight finishes, unread)
            if on_bytes is not None and (hi - told >= ONE_LANE_CHUNK or hi == steps):
                on_bytes(load_engine().bytes_in(block.geometry, told, hi))
                told = hi
    return written

"""A school of one lane with a neural fish codes its block in compiled calls.

With several lanes the school codes a step at a time from Python
(neural_block.py: code_lanes), the fish's batched step between; the calls cost
little beside a batch's work.  One lane costs the classic fish no context
(lanes split the text: docs/neural.md), but pays every call for one byte:
here the fish's step (fish/neural/one_lane.py) and the school's loop for
that byte (swim.py, the general loop) run in turn inside one compiled call
per chunk of the block.  The bytes are those the step-by-step loop writes:
the fish sees the byte before (START_BYTE before the first), the loop gets
its distribution as cumulative frequencies.

Encoding knows every byte, so the fish need not wait for the school: it may
run ahead on another thread (fish_ahead: a chunk of steps' distributions)
while the school codes the chunk before (code_given).  Decoding cannot: the
fish's next step needs the byte the school is decoding.
"""
import numpy as np

from ..fish.neural.config import START_BYTE
from ..fish.neural.one_lane import step as fish_step
from ..jit import njit
from .swim import general_swim


@njit(cache=True, nogil=True)
def code_steps(buf, n, payload, decode, fish, cfg, cost, block, step_lo, step_hi, model, state, cum):
    """Steps step_lo .. step_hi - 1 of a one-lane block whose fish is
    (model, state) (fish/neural/one_lane.py): the coder's position, -1 when
    out of room; decoding, it stops past the payload's end (damaged)."""
    start = block.geometry.starts[0]
    prev = np.zeros(1, np.int64)
    written = 0
    for step in range(step_lo, step_hi):
        _predict(buf, start, step, prev, model, state, cum[0])
        written = general_swim(buf, n, payload, decode, fish, cfg, cost, block, step, step + 1, cum)
        if written < 0 or (decode and written > payload.shape[0] + 4):
            return written
    return written


@njit(cache=True, nogil=True)
def fish_ahead(buf, start, step_lo, step_hi, model, state, cums):
    """The fish's steps step_lo .. step_hi - 1 of a lane that starts at
    `start` (its bytes all known: encoding): cums[k] gets step step_lo + k's
    cumulative frequencies."""
    prev = np.zeros(1, np.int64)
    for step in range(step_lo, step_hi):
        _predict(buf, start, step, prev, model, state, cums[step - step_lo])


@njit(cache=True, nogil=True, inline="always")
def _predict(buf, start, step, prev, model, state, cum):
    """The fish's step `step` of the lane at `start` (it sees the byte
    before, START_BYTE before the first; prev: its int64[1] buffer):
    cum[b + 1] = the mass of the next byte's values up to b."""
    prev[0] = buf[start + step - 1] if step > 0 else START_BYTE
    fish_step(prev, step, model, state)
    freqs = state[-1]
    total = 0
    for b in range(256):
        total += freqs[0, b]
        cum[b + 1] = total


@njit(cache=True, nogil=True)
def code_given(buf, n, payload, decode, fish, cfg, cost, block, step_lo, step_hi, cums, cum):
    """code_steps with the fish's distributions given (fish_ahead's cums),
    each copied into cum (the array code_steps passes: the same loop)."""
    written = 0
    for step in range(step_lo, step_hi):
        cum[0, :] = cums[step - step_lo]
        written = general_swim(buf, n, payload, decode, fish, cfg, cost, block, step, step + 1, cum)
        if written < 0:
            return written
    return written

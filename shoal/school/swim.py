"""The school at work: the compiled loop that predicts, codes and learns.

For each byte of a block, every context fish hashes its context (fish/
contexts.py), and the other voters look at the byte just coded (the match
fish extends its match, the column fish its progressions).  For each bit:

  1. every voter votes, in the order fish/voters.py defines: each context
     fish turns the bit-history state at its node into P(1) with its own
     StateMap and votes stretch(P) (fish/context_fish.py); the match fish
     and the column fish vote for their predicted bit with a confidence
     learnt from how long they have been right; a neural fish votes from
     its byte distribution;
  2. one gated mixer per gate (school/mixer.py) combines the votes; a final
     mixer combines the gated mixers (the second layer), by the partial
     byte; with mixer.final: votes it also hears the match and column
     fish, by the match state (so one gate suffices).  With the preset's
     mixer kind `attention`, an attention mixer (school/attention.py) takes
     each gated mixer's place;
  3. two APM stages refine the result, by the partial byte and by a hash of
     the last two bytes (school/apm.py); the order-2 stage, the sharpest,
     gets half the say in the final average;
  4. the range coder (codec/rangecoder.py) codes the bit with that P, or,
     when decoding, reads it;
  5. everyone learns from the bit (a gated mixer whose error is below the
     preset's `skip` leaves its weights alone: as good for the ratio, and
     faster, since most bits are predicted well).

The encoder and the decoder run this same function, so they compute the
same probabilities bit for bit: everything is integer arithmetic.

The loop is written once and compiled in two ways (make_swim): for any
school, reading the school's shape from its arrays, or for one shape (its
context fish, gates, voters, lanes: layout.structure), where those are
constants.  Compiled for a shape, the loops over fish and gates unroll
and what the school lacks (attention, perturbation, a neural fish, costs)
leaves no branch behind: 10-18% faster for schools of up to a dozen fish
(larger ones outgrow the instruction caches).  Compressing and
decompressing use it for schools of one lane and up to 12 context fish
(school/__init__.py).

Numba bakes module-level arrays (fish/tables.py, the column fish's
constants, layout.py's GATE_SETS) and inlined functions into the compiled
code; its on-disk cache is keyed on a digest of all the engine's sources
(shoal/jit.py), so an edit anywhere in codec/, fish/ or school/ compiles
afresh.

Gates (which weight set a mixer uses for this bit):
  c0      the bits of the current byte seen so far (256 sets)
  c1      the previous byte (256 sets)
  match   the match length bucket and its predicted bit (32 sets)
  order   how many context fish have seen this context before, by bit
          position (a proxy for the longest known order; 256 sets)
  column  the column fish's confidence bucket and predicted bit, by bit
          position (256 sets)
  c2      the byte before the previous one (256 sets)
  c1c0    the previous byte and the partial byte (65536 sets)
  c2c1    the last two bytes (65536 sets)
  c0order the partial byte and how many context fish know the context
          (up to 7; 2048 sets): one mixer that sees both

A block's state is a named tuple of named parts (engine.Block): its
geometry (lanes, and each lane's bytes in flight), the voters' state, the
byte history they share, the mixer, the experiments' state, the APMs and
the coder.
"""

import hashlib
import math

import numpy as np

from ..codec.rangecoder import decode_bit, encode_bit
from ..fish import context_fish, voters
from ..fish.contexts import STRUCT, X86, hash3, update_history
from ..fish.match import length_bucket
from ..fish.prefetch import prefetch
from ..fish.tables import U
from ..jit import GENERAL_LOOP, into_general_loop, njit
from .apm import apm_learn, apm_predict
from .attention import attend, attend_learn, features, learn_trust, row_width
from .experiments import perturb
from .layout import (C_APM_RATE, C_ATT_HEADS, C_BLIND_COUNT, C_BOOST_FROM_BLOCK, C_COUNTER_LIMIT, C_FINAL_AT, C_FINAL_COUNT, C_FINAL_LR, C_FINAL_VOTES,
                     C_GATE0, C_LEARN_SKIP, C_LR, C_LR_BOOST, C_LR_HALFLIFE, C_NGATES, C_SHUFFLE, C_VOTES, G_C0,
                     G_C1, G_C1C0, G_C2, G_C2C1, G_C0ORDER, G_MATCH, G_ORDER, padded_width)
from .mixer import mix_dot, mix_learn, squash


@njit(cache=True, nogil=True, inline=into_general_loop)
def _gate_select(kind, c0, c1, c2, bitpos, signals):
    """The weight set a gate of this kind picks for the next bit."""
    if kind == G_C0:
        return c0
    if kind == G_C1:
        return c1
    if kind == G_MATCH:
        return length_bucket(signals.match_len) * 2 + (signals.match_bit if signals.match_bit > 0 else 0)
    if kind == G_ORDER:
        return min(signals.known, 31) * 8 + bitpos
    if kind == G_C2:
        return c2
    if kind == G_C1C0:
        return (c1 << 8) | c0
    if kind == G_C2C1:
        return (c2 << 8) | c1
    if kind == G_C0ORDER:
        return min(signals.known, 7) * 256 + c0
    return ((min(signals.column_bucket, 15) * 2 + (signals.column_bit if signals.column_bit > 0 else 0)) * 8
            + bitpos)


@njit(cache=True, nogil=True, inline=into_general_loop)
def _start_byte(block, modes, cfg, kinds, nf, lane, buf, n, pos, decode):
    """Before the first bit of the byte at pos of a lane: the voters look
    at the byte just coded, and the lane's byte context is set."""
    g = block.geometry
    lo = g.starts[lane]
    h = block.history.hist[lane]
    if pos == lo:
        # later bytes were hashed, and their buckets asked for, as soon as
        # the byte before them was known (see _look_ahead)
        context_fish.hash_byte(block.voters.contexts, lane, kinds, nf, h, block.history.record[lane], buf, pos, lo)
    voters.at_byte(block.voters, modes, cfg, lane, buf, n, pos, h, lo, g.origin, g.seg, pos - lo)
    c1 = buf[pos - 1] if pos > lo else 0
    c2 = buf[pos - 2] if pos > lo + 1 else 0
    g.c1s[lane] = c1
    g.c2s[lane] = c2
    g.apm2_bytes[lane] = hash3(c1, c2, 0) << 8
    g.bytes_[lane] = 0 if decode else buf[pos]
    g.c0s[lane] = 1


@njit(cache=True, nogil=True, inline=into_general_loop)
def _mix(mixer, attention, xs, nin, row, heads, nvotes, gates, ngates, final_votes, final_at, final_count, lane,
         c0, c1, c2, bitpos, signals):
    """Step 2: every gate's mixer (its weight set picked by its gate), then
    the final mixer; returns (P(1) in 1/4096, its logit, the final mixer's
    row), each gate's dot and P kept in the mixer's rows for learning."""
    sel_row = mixer.gate_sel[lane]
    dot_row = mixer.gate_dot[lane]
    p_row = mixer.gate_p[lane]
    for g in range(ngates):
        sel_row[U(g)] = mixer.gate_base[U(g)] + _gate_select(gates[g], c0, c1, c2, bitpos, signals) * row
        if attention is not None and heads:
            params, keys, phi, trust, e, sums, work = attention
            dot_row[U(g)] = attend(params, keys, phi[lane], e[lane, g], sums[lane, g], work, sel_row[U(g)], heads,
                                   nvotes)
        else:
            dot_row[U(g)] = mix_dot(mixer.weights, sel_row[U(g)], xs, nin)
        p_row[U(g)] = squash(dot_row[U(g)])
    fbase = 0
    if final_votes:
        # mixer.final: votes: the final mixer also hears the voters with FINAL
        for v in range(final_count):
            dot_row[U(ngates + v)] = xs[U(final_at + v)]
        dot_row[ngates + final_count] = 256
        width = ngates + final_count + 1
        fbase = _gate_select(G_MATCH, c0, c1, c2, bitpos, signals) * width
        logit = mix_dot(mixer.final_w, fbase, dot_row, width)
    elif ngates > 1:
        dot_row[ngates] = 256
        fbase = c0 * (ngates + 1)
        logit = mix_dot(mixer.final_w, fbase, dot_row, ngates + 1)
    else:
        logit = dot_row[0]
    return squash(logit), logit, fbase


@njit(cache=True, nogil=True, inline=into_general_loop)
def _refine(apms, c0, apm2_byte, apm2_mask, logit, pm):
    """Step 3: the APM stages (from the logit: no stretch(squash()) on the
    way from the votes to the coded bit); the order-2 stage, the sharpest,
    gets half the say.  Returns (p, the points each stage trains)."""
    apm1, apm2 = apms
    pa1, ia1 = apm_predict(apm1, c0, logit)
    pa2, ia2 = apm_predict(apm2, (apm2_byte | c0) & apm2_mask, logit)
    p = (pm + pa1 + 2 * pa2 + 2) >> 2
    return min(max(p, 1), 4095), ia1, ia2


@njit(cache=True, nogil=True, inline=into_general_loop)
def _look_ahead(block, lane, kinds, nf, structured, buf, pos, c0, c1, apm2_mask, decode):
    """Once the last bit of the byte at pos is known, and before the school
    learns from it: fold the byte into the history, hash the next byte's
    contexts and ask for their buckets and its order-2 APM row.  The
    buckets are the tables' likeliest cache misses, and the learning hides
    the wait.  Nothing here reads what the learning writes, so the order
    changes no result."""
    byte = c0 & 0xFF
    if decode:
        buf[pos] = byte
    h = block.history.hist[lane]
    record = block.history.record[lane]
    update_history(h, record, buf, pos + 1, structured)
    context_fish.hash_byte(block.voters.contexts, lane, kinds, nf, h, record, buf, pos + 1,
                           block.geometry.starts[lane])
    apm2 = block.apms[1]
    row = ((hash3(byte, c1, 0) << 8 | 1) & apm2_mask) * 33
    prefetch(apm2, row)
    prefetch(apm2, row + 32)


@njit(cache=True, nogil=True, inline=into_general_loop)
def _learn_mixers(mixer, attention, xs, nin, heads, nvotes, ngates, final_votes, final_width, lane, bitpos, bit,
                  pm, fbase, lr, final_lr, learn_skip):
    """Step 5, the mixers: a gated mixer whose error is below the preset's
    skip leaves its weights alone (as good for the ratio, and faster, since
    most bits are predicted well)."""
    sel_row = mixer.gate_sel[lane]
    p_row = mixer.gate_p[lane]
    for g in range(ngates):
        err = (bit << 12) - p_row[U(g)]
        if err > learn_skip or err < -learn_skip:
            if attention is not None and heads:
                params, keys, phi, trust, e, sums, work = attention
                attend_learn(params, keys, phi[lane], e[lane, g], sums[lane, g], work, sel_row[U(g)], heads, nvotes,
                             err * lr)
            else:
                mix_learn(mixer.weights, sel_row[U(g)], xs, nin, err * lr)
    if attention is not None and heads:
        learn_trust(attention[3][lane], bitpos, xs, nvotes, bit)
    if final_votes or ngates > 1:
        mix_learn(mixer.final_w, fbase, mixer.gate_dot[lane], final_width, ((bit << 12) - pm) * final_lr)


# No reference counting in the hot loop: with it, every bit paid for atomic
# increments of the arrays it touched.  The loop allocates nothing:
# engine.open_block makes every array, and its caller outlives the call.
def make_swim(shape):
    """The loop, compiled for one school's shape (see layout.structure()) or, with
    shape None, for any school.  A shape's numbers are constants of its
    compiled code: its loops over fish and gates unroll, and the branches of
    features it lacks vanish; the arithmetic is the same, so both loops code
    alike (tests/test_school.py compares them)."""
    STATIC = shape is not None
    kinds, gates, S_MODES, S_ATS, S_VOTES, S_FINAL_VOTES, S_FINAL_AT, S_FINAL_COUNT, S_LANES = (
        shape if STATIC else (((0, 0),), (0,), (0,) * len(voters.VOTERS), (0,) * len(voters.VOTERS), 0, False, 0,
                              0, 1))
    S_FISH = np.array(kinds, dtype=np.int64).reshape(-1, 2)
    S_GATES = np.array(gates, dtype=np.int64)
    S_NF = len(kinds) if STATIC else 0
    S_KINDS = {kind for kind, _ in kinds} if STATIC else set()
    S_STRUCTURED = (1 if STRUCT in S_KINDS else 0) | (2 if X86 in S_KINDS else 0)
    S_NGATES = len(gates)
    S_WIDTH = padded_width(S_VOTES + 1) if STATIC else 0
    # experiments (attention mixers, perturbations) run in the general loop
    # only: a shape's loop passes attention=None, and the branches that
    # would use them vanish before Numba types them (nothing of them compiles)
    EXPERIMENTS = not STATIC

    def swim(buf, n, payload, decode, fish, cfg, cost, block, step_lo, step_hi, neural):
        """The loop over the block's bytes and bits (see the module docstring).
        With several lanes, each step codes one byte of every lane, bit by bit
        in turn: lane 0's first bit, lane 1's first bit, ..."""
        geometry, mixer, coder = block.geometry, block.mixer, block.coder
        starts, ends = geometry.starts, geometry.ends
        x = mixer.x
        attention = block.experiments.attention if EXPERIMENTS else None
        apm1, apm2 = block.apms
        nf = S_NF if STATIC else fish.shape[0]
        nin = S_WIDTH if STATIC else x.shape[1]
        lanes = S_LANES if STATIC else starts.shape[0]
        ngates = S_NGATES if STATIC else cfg[C_NGATES]
        modes = S_MODES if STATIC else cfg[voters.MODE:voters.CFG_SLOTS:voters.SLOTS]
        ats = S_ATS if STATIC else cfg[voters.AT:voters.CFG_SLOTS:voters.SLOTS]
        nvotes = S_VOTES if STATIC else cfg[C_VOTES]
        limit = cfg[C_COUNTER_LIMIT]
        apm2_mask = apm2.shape[0] // 33 - 1
        apm_rate = cfg[C_APM_RATE]
        learn_skip = cfg[C_LEARN_SKIP]
        scoring = not STATIC and cost.shape[0] >= n
        heads = cfg[C_ATT_HEADS] if EXPERIMENTS else 0
        row = nin if heads == 0 else row_width(heads)
        perturbed = cfg[C_SHUFFLE] > 0 or cfg[C_BLIND_COUNT] > 0
        kinds = S_FISH if STATIC else fish
        # the structure's history is kept only for a school with a STRUCT
        # fish (bit 1), the x86 decoder's for one with an X86 fish (bit 2)
        structured = S_STRUCTURED if STATIC else ((1 if context_fish.any_of_kind(fish, STRUCT) else 0) |
                                                  (2 if context_fish.any_of_kind(fish, X86) else 0))
        final_votes = S_FINAL_VOTES if STATIC else cfg[C_FINAL_VOTES] > 0
        final_at = S_FINAL_AT if STATIC else cfg[C_FINAL_AT]
        final_count = S_FINAL_COUNT if STATIC else cfg[C_FINAL_COUNT]
        final_width = ngates + final_count + 1 if final_votes else ngates + 1
        gates = S_GATES if STATIC else cfg[C_GATE0:]
        # mixer.boost_from: block: after a primer, the boost starts again at
        # the block's first byte (this call's first step), as if unprimed
        boost_origin = step_lo if cfg[C_BOOST_FROM_BLOCK] else 0

        for step in range(step_lo, step_hi):
            for lane in range(lanes):
                pos = starts[lane] + step
                if pos < ends[lane]:
                    _start_byte(block, modes, cfg, kinds, nf, lane, buf, n, pos, decode)
            # the learning rate's boost fades with the bytes coded so far
            lr = cfg[C_LR] + (cfg[C_LR_BOOST] >> min(((step - boost_origin) * lanes) >> cfg[C_LR_HALFLIFE], 62))
            for bitpos in range(8):
                for lane in range(lanes):
                    pos = starts[lane] + step
                    if pos >= ends[lane]:
                        continue
                    c0 = geometry.c0s[lane]
                    c1 = geometry.c1s[lane]
                    apm2_byte = geometry.apm2_bytes[lane]
                    xs = x[lane]
                    # 1. votes, then the bias
                    signals = voters.vote(block.voters, neural, modes, ats, cfg, nf, lane, xs, buf, pos, starts[lane],
                                          c0, bitpos)
                    xs[nvotes] = 256
                    if EXPERIMENTS and perturbed:
                        experiments = block.experiments
                        perturb(xs, nvotes, cfg, pos, bitpos, experiments.order[lane],
                                experiments.order_span[lane:lane + 1], experiments.shuffled[lane])
                    if EXPERIMENTS and heads:
                        features(attention[2][lane], attention[3][lane], bitpos, xs, nvotes)
                    # 2. mixers
                    pm, logit, fbase = _mix(mixer, attention, xs, nin, row, heads, nvotes, gates, ngates, final_votes,
                                            final_at, final_count, lane, c0, c1, geometry.c2s[lane], bitpos, signals)
                    # 3. APM stages
                    p, ia1, ia2 = _refine(block.apms, c0, apm2_byte, apm2_mask, logit, pm)
                    # 4. code
                    if decode:
                        bit = decode_bit(coder, payload, p << 4)
                    else:
                        bit = (geometry.bytes_[lane] >> (7 - bitpos)) & 1
                        if not encode_bit(coder, payload, bit, p << 4):
                            return -1
                    if scoring:
                        cost[pos] -= math.log2((p if bit else 4096 - p) / 4096.0)
                    if bitpos == 7 and pos + 1 < ends[lane]:
                        _look_ahead(block, lane, kinds, nf, structured, buf, pos, (c0 << 1) | bit, c1, apm2_mask,
                                    decode)
                    # 5. learn; first ask for the rows the next bit's partial byte
                    # selects, so they arrive while the learning runs.
                    if bitpos < 7:
                        c0_next = (c0 << 1) | bit
                        for g in range(ngates):
                            if gates[g] == G_C0 and not heads:
                                prefetch(mixer.weights, mixer.gate_base[g] + c0_next * nin)
                        # an APM row (33 points, 66 bytes) may straddle two lines
                        row2 = ((apm2_byte | c0_next) & apm2_mask) * 33
                        prefetch(apm2, row2)
                        prefetch(apm2, row2 + 32)
                    voters.learn(block.voters, modes, nf, lane, bit, c0, bitpos, limit)
                    _learn_mixers(mixer, attention, xs, nin, heads, nvotes, ngates, final_votes, final_width, lane,
                                  bitpos, bit, pm, fbase, lr, cfg[C_FINAL_LR], learn_skip)
                    apm_learn(apm1, ia1, bit, apm_rate)
                    apm_learn(apm2, ia2, bit, apm_rate)
                    geometry.c0s[lane] = (c0 << 1) | bit
            if decode:
                for lane in range(lanes):
                    pos = starts[lane] + step
                    if pos < ends[lane]:
                        buf[pos] = geometry.c0s[lane] & 0xFF
                # The decoder reads 4 bytes ahead of what the encoder had
                # written, and the encoder's flush is at most a byte: a
                # payload is never read more than 4 bytes past its end, so
                # one that is read further is damaged (or crafted): stop,
                # rather than decode the rest of a block's declared size
                # from zeros.
                if coder[3] > payload.shape[0] + 4:
                    return coder[3]
        return coder[3]

    # Each shape's loop has a name of its own.  Numba names compiled code by
    # the function's name, its argument types and a counter that restarts in
    # every process, and every shape's loop takes the same arguments: the
    # general loop and level 7's, each the first loop its process compiled,
    # were both `swim` number 1 in the cache, and a process that had loaded
    # level 7's then linked code_steps to it instead of the general loop
    # (it crashed).  Named by the shape's digest, no two loops share a name.
    if STATIC:
        swim.__name__ = swim.__qualname__ = "swim_" + hashlib.blake2b(repr(shape).encode(), digest_size=8).hexdigest()
    else:
        swim.__name__ = swim.__qualname__ = GENERAL_LOOP     # its steps are inlined by Numba (shoal/jit.py)
    return njit(cache=True, nogil=True, _nrt=False, inline_all=STATIC)(swim)


general_swim = make_swim(None)

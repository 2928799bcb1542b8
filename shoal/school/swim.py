"""The school at work: the compiled loop that predicts, codes and learns.

For each byte of a block, every context fish hashes its context (fish/
contexts.py) and, once per nibble, finds its slot of bit histories
(fish/contextmap.py).  For each bit:

  1. each context fish turns the bit-history state at its node into P(1)
     with its own StateMap and votes stretch(P);
     the match fish and the column fish vote for their predicted bit with a
     confidence learnt from how long they have been right;
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
fish, gates, match and column fish, lanes: layout.structure), where those
are constants.  Compiled for a shape, the loops over fish and gates unroll
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

With the preset's mixer.runs, each context fish also votes the run its bit
history holds when that history is deterministic (only one bit value seen:
how many times, signed by the value): a second opinion, in the linear domain,
that the StateMap's probability alone rounds away.
"""

import math

import numpy as np

from ..codec.rangecoder import decode_bit, encode_bit
from ..fish.column import COLUMN_VOTES, column_expected, column_run_bucket, column_update, column_voter
from ..fish.contextmap import find_slot, nibble_hash, nibble_node, prefetch_slot
from ..fish.contexts import context_hash, hash3, update_history
from ..fish.match import LENGTH, length_bucket, match_expected_bit, match_update
from ..fish.prefetch import prefetch
from ..fish.statemap import COUNT_LIMIT, sm_p12, sm_update
from ..fish.tables import STATE_N0, STATE_N1, STATE_NEXT, STRETCH, U
from ..jit import njit
from .apm import apm_learn, apm_predict
from .attention import attend, attend_learn, features, learn_trust, row_width
from .layout import (BLIND_NOISE, COLUMN_FULL, COLUMN_NONE, C_APM_RATE, C_ATT_HEADS, C_BLIND_AT, C_BLIND_COUNT, C_BLIND_INPUT, C_BLIND_VALUE,
                     C_BOOST_FROM_BLOCK, C_COLUMN, C_COUNTER_LIMIT, C_FINAL_LR, C_FINAL_VOTES, C_LEARN_SKIP, C_LR, C_LR_BOOST, C_LR_HALFLIFE,
                     C_MATCH_BITS, C_MATCH_MIN, C_NGATES, C_RUNS, C_SHUFFLE, C_GATE0, G_C0, G_C1, G_C1C0, G_C2,
                     G_C2C1, G_C0ORDER, G_MATCH, G_ORDER, mixer_inputs, padded_width,
                     side_votes)
from .mixer import mix_dot, mix_learn, squash

# The run vote of a bit-history state (mixer.runs): +-64 per repeat of the
# only bit value seen, up to 15; 0 for mixed or empty histories.
STATE_RUN = np.where(STATE_N0 == 0, np.minimum(STATE_N1, 15) * 64,
                     np.where(STATE_N1 == 0, -np.minimum(STATE_N0, 15) * 64, 0)).astype(np.int32)


@njit(cache=True, nogil=True, inline="always")
def neural_p12(cum, c0, bitpos):
    """P(next bit = 1) in 1/4096 from a byte distribution given as
    cumulative frequencies (cum[b] = the mass of bytes below b): the mass of
    the bytes that agree with the partial byte c0 and have a 1 next, over
    the mass of all that agree with c0 (the binary decomposition)."""
    width = 1 << (8 - bitpos)
    lo = (c0 - (1 << bitpos)) * width
    total = cum[lo + width] - cum[lo]
    ones = cum[lo + width] - cum[lo + (width >> 1)]
    p = (ones * 4096 + (total >> 1)) // total
    return min(max(p, 1), 4095)


@njit(cache=True, nogil=True, inline="always")
def _gate_select(kind, c0, c1, c2, bitpos, match_len, match_bit, known, column_bucket, column_bit):
    if kind == G_C0:
        return c0
    if kind == G_C1:
        return c1
    if kind == G_MATCH:
        return length_bucket(match_len) * 2 + (match_bit if match_bit > 0 else 0)
    if kind == G_ORDER:
        return min(known, 31) * 8 + bitpos
    if kind == G_C2:
        return c2
    if kind == G_C1C0:
        return (c1 << 8) | c0
    if kind == G_C2C1:
        return (c2 << 8) | c1
    if kind == G_C0ORDER:
        return min(known, 7) * 256 + c0
    return (min(column_bucket, 15) * 2 + (column_bit if column_bit > 0 else 0)) * 8 + bitpos


@njit(cache=True, nogil=True)
def _perturb(xs, k, cfg, pos, bitpos, order, span, scratch):
    """Robustness experiments (a preset's `perturb`), on the k votes: from
    byte C_BLIND_AT on, some inputs read a constant or noise (a fish gone
    blind); every C_SHUFFLE bytes the inputs are dealt to the mixer in a new
    order (drawn from the span's number, so the decoder draws the same)."""
    if cfg[C_BLIND_COUNT] > 0 and pos >= cfg[C_BLIND_AT]:
        for j in range(cfg[C_BLIND_INPUT], cfg[C_BLIND_INPUT] + cfg[C_BLIND_COUNT]):
            if cfg[C_BLIND_VALUE] == BLIND_NOISE:
                xs[j] = hash3(pos, bitpos, j) % 4095 - 2047
            else:
                xs[j] = cfg[C_BLIND_VALUE]
    if cfg[C_SHUFFLE] > 0:
        span_now = pos // cfg[C_SHUFFLE]
        if span_now != span[0]:
            span[0] = span_now
            for i in range(k):
                order[i] = i
            for i in range(k - 1, 0, -1):           # Fisher-Yates
                j = hash3(span_now, i, 0x5EED) % (i + 1)
                order[i], order[j] = order[j], order[i]
        for i in range(k):
            scratch[i] = xs[order[i]]
        for i in range(k):
            xs[i] = scratch[i]


@njit(cache=True, nogil=True, inline="always")
def _hash_contexts(tables, base, nslots, fish, nf, h, record, buf, pos, lo, lane_hashes):
    """Every context fish's hash for the byte at pos, and a request for the
    bucket each will search."""
    for i in range(nf):
        lane_hashes[i] = context_hash(fish[i, 0], fish[i, 1], h, record, buf, pos, lo)
        prefetch_slot(tables, base[i], nslots[i], lane_hashes[i])


@njit(cache=True, nogil=True, inline="always")
def _look_ahead(tables, base, nslots, fish, nf, h, record, buf, pos, lo, lane_hashes, c0, c1, apm2, apm2_mask,
                decode):
    """Once the last bit of the byte at pos is known, and before the school
    learns from it: fold the byte into the history, hash the next byte's
    contexts and ask for their buckets and its order-2 APM row.  The
    buckets are the tables' likeliest cache misses, and the learning hides
    the wait.  Nothing here reads what the learning writes, so the order
    changes no result."""
    byte = c0 & 0xFF
    if decode:
        buf[pos] = byte
    update_history(h, record, buf, pos + 1)
    _hash_contexts(tables, base, nslots, fish, nf, h, record, buf, pos + 1, lo, lane_hashes)
    row = ((hash3(byte, c1, 0) << 8 | 1) & apm2_mask) * 33
    prefetch(apm2, row)
    prefetch(apm2, row + 32)


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
    kinds, gates, S_MATCH, S_COLUMN, S_RUNS, S_LANES, S_FINAL_VOTES = (
        shape if STATIC else (((0, 0),), (0,), False, 0, False, 1, False))
    S_FISH = np.array(kinds, dtype=np.int64).reshape(-1, 2)
    S_GATES = np.array(gates, dtype=np.int64)
    S_NF = len(kinds) if STATIC else 0
    S_NGATES = len(gates)
    S_WIDTH = padded_width(mixer_inputs(S_NF, S_MATCH, S_COLUMN, S_RUNS, False)) if STATIC else 0

    @njit(cache=True, nogil=True, _nrt=False)
    def swim(buf, n, payload, decode, fish, cfg, coder, cost, geometry, context_fish, history, match,
                 column, mixer, attention, perturb, apms, step_lo, step_hi, neural):
        """The loop over the block's bytes and bits (see the module docstring).
        With several lanes, each step codes one byte of every lane, bit by bit
        in turn: lane 0's first bit, lane 1's first bit, ..."""
        starts, ends, seg, c0s, c1s, c2s, apm2_bytes, bytes_ = geometry
        tables, base, nslots, slot, hashes, states, sm = context_fish
        hist, record = history
        match_table, match_state, match_sm = match
        col_state, col_pred, col_sm, col_idx = column
        x, gate_base, weights, gate_sel, gate_dot, gate_p, final_w = mixer
        att_params, att_keys, att_phi, att_trust, att_e, att_sums, att_work = attention
        order, order_span, shuffled = perturb
        apm1, apm2 = apms
        nf = S_NF if STATIC else fish.shape[0]
        nin = S_WIDTH if STATIC else x.shape[1]
        lanes = S_LANES if STATIC else starts.shape[0]
        ngates = S_NGATES if STATIC else cfg[C_NGATES]
        limit = cfg[C_COUNTER_LIMIT]
        use_match = S_MATCH if STATIC else cfg[C_MATCH_BITS] > 0
        match_min = cfg[C_MATCH_MIN]
        column_kind = S_COLUMN if STATIC else cfg[C_COLUMN]
        use_column = column_kind != COLUMN_NONE
        apm2_mask = apm2.shape[0] // 33 - 1
        apm_rate = cfg[C_APM_RATE]
        learn_skip = cfg[C_LEARN_SKIP]
        scoring = not STATIC and cost.shape[0] >= n
        use_neural = not STATIC and neural.shape[0] > 0
        runs = S_RUNS if STATIC else cfg[C_RUNS] > 0
        heads = 0 if STATIC else cfg[C_ATT_HEADS]
        row = nin if heads == 0 else row_width(heads)
        perturbed = not STATIC and (cfg[C_SHUFFLE] > 0 or cfg[C_BLIND_COUNT] > 0)
        kinds = S_FISH if STATIC else fish
        # mixer.final: votes: the final mixer also hears the match and column
        # fish (their votes follow the context fish's in x)
        final_votes = S_FINAL_VOTES if STATIC else cfg[C_FINAL_VOTES] > 0
        votes_at = nf * (2 if runs else 1)
        nvotes = side_votes(use_match, use_column) if final_votes else 0
        final_width = ngates + nvotes + 1
        gates = S_GATES if STATIC else cfg[C_GATE0:]
        # mixer.boost_from: block: after a primer, the boost starts again at
        # the block's first byte (this call's first step), as if unprimed
        boost_origin = step_lo if cfg[C_BOOST_FROM_BLOCK] else 0

        for step in range(step_lo, step_hi):
            for lane in range(lanes):
                pos = starts[lane] + step
                if pos >= ends[lane]:
                    continue
                lo = starts[lane]
                h = hist[lane]
                if pos == lo:
                    # later bytes were hashed, and their buckets asked for, as
                    # soon as the byte before them was known (see _look_ahead)
                    _hash_contexts(tables, base, nslots, kinds, nf, h, record[lane], buf, pos, lo, hashes[lane])
                if use_match and pos > lo:
                    match_update(match_table, match_state[lane], buf, n, pos, match_min, h, lo, seg, step)
                if use_column:
                    column_update(col_state[lane], col_pred[lane], buf, pos, h, lo, column_kind == COLUMN_FULL)
                c1 = buf[pos - 1] if pos > lo else 0
                c2 = buf[pos - 2] if pos > lo + 1 else 0
                c1s[lane] = c1
                c2s[lane] = c2
                apm2_bytes[lane] = hash3(c1, c2, 0) << 8
                bytes_[lane] = 0 if decode else buf[pos]
                c0s[lane] = 1
            # the learning rate's boost fades with the bytes coded so far
            lr = cfg[C_LR] + (cfg[C_LR_BOOST] >> min(((step - boost_origin) * lanes) >> cfg[C_LR_HALFLIFE], 62))
            for bitpos in range(8):
                for lane in range(lanes):
                    pos = starts[lane] + step
                    if pos >= ends[lane]:
                        continue
                    c0 = c0s[lane]
                    c1 = c1s[lane]
                    apm2_byte = apm2_bytes[lane]
                    xs = x[lane]
                    lane_slot = slot[lane]
                    lane_states = states[lane]
                    lane_hashes = hashes[lane]
                    ms = match_state[lane]
                    cs = col_state[lane]
                    cidx = col_idx[lane]
                    sel_row = gate_sel[lane]
                    dot_row = gate_dot[lane]
                    p_row = gate_p[lane]
                    if bitpos == 0 or bitpos == 4:
                        for i in range(nf):
                            hh = lane_hashes[i] if bitpos == 0 else nibble_hash(lane_hashes[i], c0)
                            lane_slot[i] = find_slot(tables, base[i], nslots[i], hh)
                    elif bitpos == 3:
                        # the second nibble's bucket is one of two: ask for both
                        for i in range(nf):
                            prefetch_slot(tables, base[i], nslots[i], nibble_hash(lane_hashes[i], c0 * 2))
                            prefetch_slot(tables, base[i], nslots[i], nibble_hash(lane_hashes[i], c0 * 2 + 1))
                    node = nibble_node(c0, bitpos)
                    # 1. votes
                    known = 0
                    k = 0
                    for i in range(nf):
                        st = tables[U(lane_slot[U(i)] + node)]
                        lane_states[U(i)] = st
                        if st != 0:
                            known += 1
                        p12 = sm_p12(sm, i * 256 + st)
                        xs[U(k)] = STRETCH[U(p12)]
                        k += 1
                        if runs:
                            xs[U(k)] = STATE_RUN[U(st)]
                            k += 1
                    match_bit = -1
                    mi = -1
                    if use_match:
                        match_bit = match_expected_bit(ms, c0, bitpos)
                        if match_bit >= 0:
                            mi = length_bucket(ms[LENGTH]) * 2 + match_bit
                            xs[k] = STRETCH[sm_p12(match_sm, mi)]
                            xs[k + 1] = (2 * match_bit - 1) * min(ms[LENGTH], 32) * 32
                        else:
                            xs[k] = 0
                            xs[k + 1] = 0
                        k += 2
                    column_bucket = 0
                    column_bit = -1
                    if use_column:
                        for v in range(COLUMN_VOTES):
                            j = column_voter(cs, v)
                            eb = column_expected(col_pred[lane], j, c0, bitpos) if j >= 0 else -1
                            if eb >= 0:
                                bucket = column_run_bucket(cs, j)
                                cidx[v] = j * 64 + bucket * 2 + eb
                                xs[k] = STRETCH[sm_p12(col_sm, cidx[v])]
                                if bucket > column_bucket:
                                    column_bucket = bucket
                                    column_bit = eb
                            else:
                                cidx[v] = -1
                                xs[k] = 0
                            k += 1
                    if use_neural:
                        xs[k] = STRETCH[neural_p12(neural[lane], c0, bitpos)]
                        k += 1
                    xs[k] = 256
                    # k votes, then the bias
                    if perturbed:
                        _perturb(xs, k, cfg, pos, bitpos, order[lane], order_span[lane:lane + 1], shuffled[lane])
                    if heads:
                        features(att_phi[lane], att_trust[lane], bitpos, xs, k)
                    # 2. mixers
                    match_len = ms[LENGTH] if match_bit >= 0 else 0
                    for g in range(ngates):
                        sel = _gate_select(gates[g], c0, c1, c2s[lane], bitpos, match_len, match_bit, known,
                                           column_bucket, column_bit)
                        sel_row[U(g)] = gate_base[U(g)] + sel * row
                        if heads:
                            dot_row[U(g)] = attend(att_params, att_keys, att_phi[lane], att_e[lane, g],
                                                   att_sums[lane, g], att_work, sel_row[U(g)], heads, k)
                        else:
                            dot_row[U(g)] = mix_dot(weights, sel_row[U(g)], xs, nin)
                        p_row[U(g)] = squash(dot_row[U(g)])
                    fbase = 0
                    if final_votes:
                        for v in range(nvotes):
                            dot_row[U(ngates + v)] = xs[U(votes_at + v)]
                        dot_row[ngates + nvotes] = 256
                        fbase = _gate_select(G_MATCH, c0, c1, c2s[lane], bitpos, match_len, match_bit, known,
                                             column_bucket, column_bit) * final_width
                        logit = mix_dot(final_w, fbase, dot_row, final_width)
                    elif ngates > 1:
                        dot_row[ngates] = 256
                        fbase = c0 * (ngates + 1)
                        logit = mix_dot(final_w, fbase, dot_row, ngates + 1)
                    else:
                        logit = dot_row[0]
                    pm = squash(logit)
                    # 3. APM stages (from the logit: no stretch(squash()) on the
                    # way from the votes to the coded bit)
                    pa1, ia1 = apm_predict(apm1, c0, logit)
                    ctx2 = (apm2_byte | c0) & apm2_mask
                    pa2, ia2 = apm_predict(apm2, ctx2, logit)
                    p = (pm + pa1 + 2 * pa2 + 2) >> 2
                    if p < 1:
                        p = 1
                    if p > 4095:
                        p = 4095
                    # 4. code
                    if decode:
                        bit = decode_bit(coder, payload, p << 4)
                    else:
                        bit = (bytes_[lane] >> (7 - bitpos)) & 1
                        if not encode_bit(coder, payload, bit, p << 4):
                            return -1
                    if scoring:
                        cost[pos] -= math.log2((p if bit else 4096 - p) / 4096.0)
                    if bitpos == 7 and pos + 1 < ends[lane]:
                        _look_ahead(tables, base, nslots, kinds, nf, hist[lane], record[lane], buf, pos, starts[lane],
                                    hashes[lane], (c0 << 1) | bit, c1, apm2, apm2_mask, decode)
                    # 5. learn; first ask for the rows the next bit's partial byte
                    # selects, so they arrive while the learning runs.
                    if bitpos < 7:
                        c0_next = (c0 << 1) | bit
                        for g in range(ngates):
                            if gates[g] == G_C0 and not heads:
                                prefetch(weights, gate_base[g] + c0_next * nin)
                        # an APM row (33 points, 66 bytes) may straddle two lines
                        row2 = ((apm2_byte | c0_next) & apm2_mask) * 33
                        prefetch(apm2, row2)
                        prefetch(apm2, row2 + 32)
                    for i in range(nf):
                        st = lane_states[U(i)]
                        tables[U(lane_slot[U(i)] + node)] = STATE_NEXT[U(st), U(bit)]
                        sm_update(sm, i * 256 + st, bit, limit)
                    if use_match and mi >= 0:
                        sm_update(match_sm, mi, bit, COUNT_LIMIT)
                    if use_column:
                        for v in range(COLUMN_VOTES):
                            if cidx[v] >= 0:
                                sm_update(col_sm, cidx[v], bit, COUNT_LIMIT)
                    for g in range(ngates):
                        err = (bit << 12) - p_row[U(g)]
                        if err > learn_skip or err < -learn_skip:
                            if heads:
                                attend_learn(att_params, att_keys, att_phi[lane], att_e[lane, g], att_sums[lane, g],
                                             att_work, sel_row[U(g)], heads, k, err * lr)
                            else:
                                mix_learn(weights, sel_row[U(g)], xs, nin, err * lr)
                    if heads:
                        learn_trust(att_trust[lane], bitpos, xs, k, bit)
                    if final_votes or ngates > 1:
                        mix_learn(final_w, fbase, dot_row, final_width, ((bit << 12) - pm) * cfg[C_FINAL_LR])
                    apm_learn(apm1, ia1, bit, apm_rate)
                    apm_learn(apm2, ia2, bit, apm_rate)
                    c0s[lane] = (c0 << 1) | bit
            if decode:
                for lane in range(lanes):
                    pos = starts[lane] + step
                    if pos < ends[lane]:
                        buf[pos] = c0s[lane] & 0xFF
                # The decoder reads 4 bytes ahead of what the encoder had
                # written, and the encoder's flush is at most a byte: a
                # payload is never read more than 4 bytes past its end, so
                # one that is read further is damaged (or crafted): stop,
                # rather than decode the rest of a block's declared size
                # from zeros.
                if coder[3] > payload.shape[0] + 4:
                    return coder[3]
        return coder[3]

    return swim


general_swim = make_swim(None)

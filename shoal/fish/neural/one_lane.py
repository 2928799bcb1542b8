"""One lane of the neural fish in one compiled call, in integers.

A run of one lane (a school that codes its block as one stream, which costs
the classic fish no context: docs/neural.md) steps the fish once per byte.
The batched step (fish.py: _Shard.step) makes about 30 calls from Python
per step, NumPy GEMMs and Numba kernels, each a few microseconds of
overhead that a batch of lanes shares and one lane pays alone.  Here the
whole step is one function for compiled code to call (school/one_lane.py
steps the fish and the school in turn): the same kernels, the linear layers
and the attention's scores as multiply-adds of int16 pairs (madd.py), the
attention's weighted values as float32 dot products over the value ring
kept again transposed, and the first layer's qkv products looked up by the
byte seen (OneLane._first_qkv).

Integers.  The batched step holds its int8 operands in float32 for the
BLAS; here the weights are int8 (packed for madd), the activations and
sums int32, the attention's key ring int8 packed for madd (a slot an
output) and its value ring float32, transposed.  english-2x192's step: 88-97 µs in float32
loops, 54-55 µs as int8 x int32 loops, 35.5 µs with madd (docs/neural.md,
"In the school"); the weighted values as dot products: 2.2 → 1.4 µs a
layer.

Exactness.  The loops compute the same integer dot products as the GEMMs,
in another order; every partial sum is below 2^24 (fish.py), so exact in
int32 as in float32, in any order, and the frequencies are the batched
step's, bit for bit (tests/test_neural_one_lane.py checks it over several
segments).
"""
import mmap

import numpy as np

from ...jit import njit
from . import kernels, madd


class OneLane:
    """The fish's weights stacked by layer (`model`: int8 matrices, packed
    for madd), and the buffers of one lane (`start`), for step()."""

    def __init__(self, fish):
        cfg, layers = fish.config, fish.layers
        self.config = cfg
        stack = lambda key: np.ascontiguousarray(np.stack([w[key] for w in layers]))
        keys = ("qkv.w", "proj.w", "fc.w", "down.w")
        # exact: the GEMM operands are int8 values
        qkv, proj, fc, down, head = _side_by_side([madd.pack(w.astype(np.int8))
                                                   for w in [stack(key) for key in keys] + [fish.head_w]])
        matrices = dict(zip(keys, (qkv, proj, fc, down)))
        norm = stack("norm")
        self.model = (cfg.seg_len, cfg.mem_len, cfg.window, fish.embed,
                      *(matrices[key] if key in matrices else norm if key == "norm" else stack(key)
                        for key in ("norm", "score", "gelu", "qkv.w", "qkv.mult", "qkv.shift", "proj.w",
                                    "proj.mult", "proj.shift", "fc.w", "fc.mult", "fc.shift", "down.w",
                                    "down.mult", "down.shift")),
                      fish.cos, fish.steps, fish.exp, fish.norm_f, head, fish.head_mult, fish.head_shift,
                      self._first_qkv(fish.embed, norm[0, 0], qkv[0]))

    def _first_qkv(self, embed, gain, qkv_w) -> np.ndarray:
        """The first layer's qkv products for each byte the lane may have
        seen: before attention mixes in other positions, the residual is
        the byte's embedding, so its norm (gain) and qkv products (qkv_w,
        packed) are a row of this table (int32[256, d + 2 kv]) in place of
        a 192 x 256 layer a step."""
        state = self.start()
        x, act, acc_qkv, x16, sums = state[0], state[1], state[2], state[-3], state[-2]
        table = np.zeros((256, acc_qkv.shape[1]), np.int32)
        for byte in range(256):
            kernels.embed(embed, np.array([byte]), x)
            kernels.rms_norm(x, gain, act)
            madd.linear(act, qkv_w, x16, sums, acc_qkv)
            table[byte] = acc_qkv[0]
        return table

    def start(self) -> tuple:
        """A fresh lane: the residual, the buffers between the kernels (the
        step's new key and value among them, as _Shard's for one lane, in
        int32), each layer's key ring packed for madd (slot = output) and
        value ring transposed (float32), and madd's scratch."""
        cfg, i32 = self.config, np.int32
        d, kv, group, hd, window = cfg.n_embd, cfg.n_kv_head, cfg.n_head // cfg.n_kv_head, cfg.head_dim, cfg.window
        zeros = lambda *shape, dtype=i32: np.zeros(shape, dtype)
        blocks = -(-window // madd.BLOCK)
        return (zeros(1, d), zeros(1, d), zeros(1, d + 2 * cfg.kv_dim), zeros(1, kv, group, hd),
                zeros(1, kv, 1, hd), zeros(1, kv, 1, hd),
                zeros(1, kv, group, window), zeros(1, kv, group, window), zeros(1, kv, group, dtype=np.int64),
                zeros(1, kv, group, hd), zeros(1, d), zeros(1, d), zeros(1, cfg.hidden), zeros(1, cfg.hidden),
                zeros(1, 256), zeros(cfg.n_layer, kv, blocks, (hd + 1) // 2, 2 * madd.BLOCK, dtype=np.int8),
                zeros(cfg.n_layer, kv, hd, window, dtype=np.float32), zeros(window, dtype=np.float32),
                zeros(max(d, cfg.hidden) // 2 * 2 + 2, dtype=np.int16),
                zeros(madd.BLOCK + max(d + 2 * cfg.kv_dim, cfg.hidden, 256, window)), zeros(1, 256))

    def step(self, state, prev, pos) -> None:
        """One step of the lane `state` (start()): state[-1] gets the next
        byte's frequencies.  From Python this is no faster than the batched
        step (each call unboxes every array); compiled code calls step()."""
        step(prev, pos, self.model, state)


_HUGE_PAGE = 2 << 20


def _side_by_side(arrays: list) -> list:
    """Copies of `arrays` side by side in one memory map asked for huge pages
    (Linux's madvise; 4 KB pages elsewhere), its data in one aligned 2 MB
    page where it fits: each step reads every matrix (english-2x192's
    weights: 0.8 MB, 200 small pages), between the school's reads of its
    tables.  Decoding ran about 5% faster so, on a shared machine: alice29.txt
    20.7-21.1 KB/s against 18.6-20.8, book2 16.3-19.9 against 15.6-18.0
    (four runs each, 2026-12-05)."""
    sizes = [-(-a.nbytes // 64) * 64 for a in arrays]
    room = mmap.mmap(-1, sum(sizes) + _HUGE_PAGE)
    if hasattr(mmap, "MADV_HUGEPAGE"):
        room.madvise(mmap.MADV_HUGEPAGE)
    space = np.frombuffer(room, dtype=np.uint8)
    at = -space.ctypes.data % _HUGE_PAGE
    copies = []
    for a, size in zip(arrays, sizes):
        copy = space[at:at + a.nbytes].view(a.dtype).reshape(a.shape)
        copy[...] = a
        copies.append(copy)
        at += size
    return copies


@njit(cache=True, nogil=True, fastmath=True)
def _totals(weights, values, w_f, totals):
    """totals[0, g, r, j] = the sum over every slot t of weights[0, g, r, t] *
    values[g, j, t] (values: the value ring, transposed), in float32: each
    product and every partial sum, in whatever order, is an integer below
    2^24 (attention_weights), so exact, and fastmath's reordering may
    vectorise the sums.  Slots out of reach weigh 0."""
    for g in range(weights.shape[1]):
        for r in range(weights.shape[2]):
            for t in range(w_f.shape[0]):
                w_f[t] = weights[0, g, r, t]
            for j in range(values.shape[1]):
                total = np.float32(0)
                for t in range(w_f.shape[0]):
                    total += w_f[t] * values[g, j, t]
                totals[0, g, r, j] = np.int32(total)


@njit(cache=True, nogil=True)
def step(prev, pos, model, state):
    """One step of one lane: prev (int64[1]) the byte just seen, pos its
    position in the lane; state[-1] (freqs, int32[1, 256]) gets the next
    byte's frequencies.  model: OneLane.model; state: OneLane.state."""
    (seg_len, mem_len, window, embed, norm, score, gelu, qkv_w, qkv_mult, qkv_shift, proj_w, proj_mult, proj_shift,
     fc_w, fc_mult, fc_shift, down_w, down_mult, down_shift, cos, steps, exp, norm_f, head_w, head_mult,
     head_shift, first_qkv) = model
    (x, act, acc_qkv, q, k_new, v_new, scores, weights, mass, totals, attn_out, acc_d, acc_h, mlp_act, acc_head,
     k_packed, v_t, w_f, x16, sums, freqs) = state
    first = max(0, pos // seg_len * seg_len - mem_len)
    slot = pos % window
    kernels.embed(embed, prev, x)
    for i in range(norm.shape[0]):
        if i == 0:
            acc_qkv[0, :] = first_qkv[prev[0]]
        else:
            kernels.rms_norm(x, norm[i, 0], act)
            madd.linear(act, qkv_w[i], x16, sums, acc_qkv)
        # the new key and value (a ring of one slot), then into this layer's rings
        kernels.qkv_rope(acc_qkv, qkv_mult[i], qkv_shift[i], cos, steps, pos, 0, q, k_new, v_new)
        for g in range(q.shape[1]):
            madd.put_column(k_packed[i, g], slot, k_new[0, g, 0])
            for j in range(v_t.shape[2]):
                v_t[i, g, j, slot] = v_new[0, g, 0, j]
            for r in range(q.shape[2]):     # every slot's score; attention_weights reads those in reach
                madd.products(q[0, g, r], k_packed[i, g], x16, sums)
                scores[0, g, r, :] = sums[:window]
        kernels.attention_weights(scores, first, pos, window, score[i, 0], score[i, 1], exp, weights, mass)
        _totals(weights, v_t[i], w_f, totals)
        kernels.attention_output(totals, mass, attn_out)
        madd.linear(attn_out, proj_w[i], x16, sums, acc_d)
        kernels.residual_add(x, acc_d, proj_mult[i], proj_shift[i])
        kernels.rms_norm(x, norm[i, 1], act)
        madd.linear(act, fc_w[i], x16, sums, acc_h)
        kernels.gelu(acc_h, fc_mult[i], fc_shift[i], gelu[i], mlp_act)
        madd.linear(mlp_act, down_w[i], x16, sums, acc_d)
        kernels.residual_add(x, acc_d, down_mult[i], down_shift[i])
    kernels.rms_norm(x, norm_f, act)
    madd.linear(act, head_w, x16, sums, acc_head)
    kernels.frequencies(acc_head, head_mult, head_shift, exp, freqs)

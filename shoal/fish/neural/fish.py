"""NeuralFish: the exported transformer, run by integer arithmetic, many
independent byte streams ("lanes") at once.

    fish = NeuralFish.load("fish.safetensors")   # or the directory holding it
    run = fish.start(lanes)                      # fresh state for L lanes
    freqs = run.step(prev)                       # prev: uint8[L], the byte each lane just saw
                                                 # (START_BYTE before its first byte)
    # freqs: int32[L, 256], every entry >= 1, each row summing to FREQ_TOTAL = 2^16,
    # the distribution of each lane's next byte.  The array is reused by the next step.

Exactness.  The only floating point is GEMMs of integers (numpy matmul ->
BLAS): the linear layers', and attention's q.k and weights x values (in
float32, batched over lanes and key/value heads).  The linear layers' operands are int8 activations and
int8 weights stored in float32 (or float64), so every product and every
partial sum, in whatever order or blocking the BLAS chooses, is an integer
of magnitude at most K * 127 * 127, K the inner dimension.  Below 2^24
(float32: K <= 1040) or 2^53 (float64) all of these are exactly
representable, so the result is the exact integer dot product on every
machine, thread count and BLAS; the constructor refuses a dtype for which
the config breaks the bound.  Attention's sums are bounded the same way
(head_dim * 127^2 and 2^17 * 127, both < 2^24; kernels.attention_weights).  Everything else
(requantisation, RMSNorm, RoPE, softmax, GELU, the output frequencies) is
integer Numba code reading tables stored in the weights file.

Speed: the BLAS is kept to one thread (blas.py); start(lanes, threads=N)
runs N shards of lanes on N threads instead (the kernels release the GIL).

The memory rule is the torch model's: the query at position t (0-based, of
segment t // seg_len) reaches every position from max(0, segment start -
mem_len) to t.  Keys and values live in a ring of mem_len + seg_len slots
per lane, layer and key/value head, so nothing moves when a segment ends;
the scores cover the whole ring and the slots outside the reach get weight 0.
"""
import functools
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import kernels
from .blas import single_threaded_blas
from .config import START_BYTE, NeuralConfig
from .one_lane import OneLane
from .weights import NeuralFishError, check, load


class NeuralFish:
    """The weights, ready for inference (GEMM operands in float32 or float64)."""

    def __init__(self, cfg: NeuralConfig, tensors: dict[str, np.ndarray], digest: bytes = b"",
                 gemm: str | None = None):
        check(cfg, tensors)
        if gemm is None:
            gemm = "float32" if cfg.gemm_dtype_ok("float32") else "float64"
        if gemm not in ("float32", "float64"):
            raise NeuralFishError(f"gemm must be float32 or float64, not {gemm!r}")
        if not cfg.gemm_dtype_ok(gemm):
            raise NeuralFishError(f"{gemm} GEMM is not exact for inner dimension {cfg.gemm_terms()} "
                                  f"({cfg.gemm_terms()} * 127 * 127 is beyond its exact integers)")
        self.config, self.digest, self.gemm = cfg, digest, np.dtype(gemm)
        t = tensors
        as_gemm = lambda w: np.ascontiguousarray(w.T.astype(self.gemm))  # [in, out] for x @ w
        self.embed = t["embed"]
        self.layers = []
        for i in range(cfg.n_layer):
            p = f"blocks.{i}."
            self.layers.append({
                "norm": t[p + "norm"], "score": t[p + "score"], "gelu": t[p + "gelu"],
                **{f"{name}.w": as_gemm(t[p + name + ".weight"]) for name in ("qkv", "proj", "fc", "down")},
                **{f"{name}.{part}": t[f"{p}{name}.{part}"] for name in ("qkv", "proj", "fc", "down")
                   for part in ("mult", "shift")},
            })
        self.norm_f = int(t["norm_f"][0])
        self.head_w = as_gemm(t["head.weight"])
        self.head_mult, self.head_shift = t["head.mult"], t["head.shift"]
        self.exp, self.cos, self.steps = t["table.exp"], t["table.cos"], t["rope.steps"]

    @functools.cached_property
    def one_lane(self) -> OneLane:
        """The weights stacked by layer, for one lane stepped inside compiled
        code (one_lane.py; school/one_lane.py)."""
        return OneLane(self)

    @classmethod
    def load(cls, path: str, gemm: str | None = None) -> "NeuralFish":
        """From a weights file (or a directory holding fish.safetensors).
        gemm: "float32" (the default where exact) or "float64"."""
        cfg, tensors, digest = load(path)
        return cls(cfg, tensors, digest, gemm)

    def start(self, lanes: int, threads: int = 1) -> "NeuralRun":
        """Fresh state for `lanes` independent streams; threads > 1 runs
        shards of lanes in parallel (same results, lanes are independent)."""
        return NeuralRun(self, lanes, threads)


class NeuralRun:
    """L lanes at work, in shards of contiguous lanes, one thread each."""

    def __init__(self, fish: NeuralFish, lanes: int, threads: int = 1):
        if lanes < 1 or threads < 1:
            raise ValueError("a run needs at least one lane and one thread")
        single_threaded_blas()
        self.fish, self.lanes, self.pos = fish, lanes, 0
        self.freqs = np.zeros((lanes, 256), np.int32)
        cuts = np.linspace(0, lanes, min(threads, lanes) + 1).astype(int)
        self.shards = [_Shard(fish, a, b, self.freqs[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
        self.pool = None
        if len(self.shards) > 1:
            self.pool = ThreadPoolExecutor(len(self.shards), thread_name_prefix="neural-fish")
            weakref.finalize(self, self.pool.shutdown, wait=False)

    def step(self, prev) -> np.ndarray:
        """Feed each lane the byte it just saw; get its next byte's
        frequencies: int32[L, 256], reused (overwritten) by the next step."""
        prev = np.asarray(prev)
        if prev.shape != (self.lanes,):
            raise ValueError(f"step expects {self.lanes} bytes, one per lane, got shape {prev.shape}")
        if prev.dtype != np.uint8 and (prev.min() < 0 or prev.max() > 255):
            raise ValueError("step expects bytes (0..255)")
        prev = prev.astype(np.int64)
        if self.pool is None:
            self.shards[0].step(prev, self.pos)
        else:
            for done in [self.pool.submit(shard.step, prev, self.pos) for shard in self.shards]:
                done.result()
        self.pos += 1
        return self.freqs

    def start_bytes(self) -> np.ndarray:
        return np.full(self.lanes, START_BYTE, np.uint8)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


class _Shard:
    """Lanes first..last-1: the residual, the GEMM buffers and each layer's
    key/value ring, all preallocated and reused every step."""

    def __init__(self, fish: NeuralFish, first: int, last: int, freqs: np.ndarray):
        cfg, f, lanes = fish.config, fish.gemm, last - first
        self.fish, self.first, self.last, self.freqs = fish, first, last, freqs
        d, h, hd = cfg.n_embd, cfg.hidden, cfg.head_dim
        self.x = np.zeros((lanes, d), np.int32)            # residual stream
        self.act = np.zeros((lanes, d), f)                 # int8 activations into a GEMM
        self.attn_out = np.zeros((lanes, d), f)
        self.mlp_act = np.zeros((lanes, h), f)
        self.acc_qkv = np.zeros((lanes, d + 2 * cfg.kv_dim), f)
        self.acc_d = np.zeros((lanes, d), f)
        self.acc_h = np.zeros((lanes, h), f)
        self.acc_head = np.zeros((lanes, 256), f)
        # attention: int8 values in float32, for its two GEMMs
        kv, group, window = cfg.n_kv_head, cfg.n_head // cfg.n_kv_head, cfg.window
        self.q = np.zeros((lanes, kv, group, hd), np.float32)
        self.k_cache = np.zeros((cfg.n_layer, lanes, kv, window, hd), np.float32)
        self.v_cache = np.zeros((cfg.n_layer, lanes, kv, window, hd), np.float32)
        self.scores = np.zeros((lanes, kv, group, window), np.float32)
        self.weights = np.zeros((lanes, kv, group, window), np.float32)
        self.mass = np.zeros((lanes, kv, group), np.int64)
        self.totals = np.zeros((lanes, kv, group, hd), np.float32)

    def step(self, prev: np.ndarray, pos: int) -> None:
        fish, cfg, k = self.fish, self.fish.config, kernels
        first = max(0, pos // cfg.seg_len * cfg.seg_len - cfg.mem_len)
        slot = pos % cfg.window
        k.embed(fish.embed, prev[self.first:self.last], self.x)
        for i, w in enumerate(fish.layers):
            k.rms_norm(self.x, w["norm"][0], self.act)
            np.matmul(self.act, w["qkv.w"], out=self.acc_qkv)
            k.qkv_rope(self.acc_qkv, w["qkv.mult"], w["qkv.shift"], fish.cos, fish.steps, pos, slot,
                       self.q, self.k_cache[i], self.v_cache[i])
            keys, values = self.k_cache[i], self.v_cache[i]
            np.matmul(self.q, keys.transpose(0, 1, 3, 2), out=self.scores)
            k.attention_weights(self.scores, first, pos, cfg.window, w["score"][0], w["score"][1], fish.exp,
                                self.weights, self.mass)
            np.matmul(self.weights, values, out=self.totals)
            k.attention_output(self.totals, self.mass, self.attn_out)
            np.matmul(self.attn_out, w["proj.w"], out=self.acc_d)
            k.residual_add(self.x, self.acc_d, w["proj.mult"], w["proj.shift"])
            k.rms_norm(self.x, w["norm"][1], self.act)
            np.matmul(self.act, w["fc.w"], out=self.acc_h)
            k.gelu(self.acc_h, w["fc.mult"], w["fc.shift"], w["gelu"], self.mlp_act)
            np.matmul(self.mlp_act, w["down.w"], out=self.acc_d)
            k.residual_add(self.x, self.acc_d, w["down.mult"], w["down.shift"])
        k.rms_norm(self.x, fish.norm_f, self.act)
        np.matmul(self.act, fish.head_w, out=self.acc_head)
        k.frequencies(self.acc_head, fish.head_mult, fish.head_shift, fish.exp, self.freqs)

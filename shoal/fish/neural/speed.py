"""Speed of the integer neural fish: bytes per second of NeuralRun.step,
summed over lanes, for random fish of a few shapes (speed does not depend on
what the weights are).

    python -m shoal.fish.neural.speed [--quick]

The BLAS runs on one thread (blas.py); "2 threads" is two shards of lanes
run in parallel.  "1 lane, compiled" is one lane stepped inside compiled
code (one_lane.py, integer loops), as `--neural` runs it.  The machine may
be shared: each figure is the best of a few windows.
"""
import argparse
import itertools
import time

import numpy as np

from ...jit import njit
from .config import EXP_SIZE, GELU_HALF, NeuralConfig
from .fish import NeuralFish
from .one_lane import step
from .tables import cos_table, exp_table
from .weights import check, expected_tensors


def random_tensors(cfg: NeuralConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """A valid weights dict with random values: for speed runs and plumbing
    tests without torch.  Its predictions are arbitrary but deterministic."""
    rng = np.random.default_rng(seed)
    t = {}
    for name, (dtype, shape) in expected_tensors(cfg).items():
        if name.endswith(".weight"):
            t[name] = rng.integers(-127, 128, shape, dtype=np.int64).astype(dtype)
        elif name.endswith(".mult"):
            t[name] = rng.integers(1 << 30, 1 << 31, shape, dtype=np.int64)
        elif name.endswith(".shift"):      # roughly 1 / (127 * sqrt(K)): keeps activations in range
            t[name] = np.full(shape, 20 if name.split(".")[-2] in ("proj", "down") else 17, np.int64)
        elif name.endswith(".norm") or name == "norm_f":
            t[name] = np.full(shape, int(40 * 2 ** 16), np.int64)
        elif name.endswith(".score"):
            t[name] = np.array([1 << 30, 38], np.int64)
        elif name.endswith(".gelu"):
            t[name] = np.clip(np.arange(-GELU_HALF, GELU_HALF + 1) // 16, -20, 127).astype(np.int8)
        elif name == "embed":
            t[name] = rng.integers(-4096, 4096, shape, dtype=np.int64).astype(np.int32)
    t["head.shift"][:] = 26
    t["table.exp"], t["table.cos"] = exp_table(), cos_table()
    t["rope.steps"] = np.array(cfg.rope_steps(), np.int64)
    assert len(t["table.exp"]) == EXP_SIZE
    check(cfg, t, "random weights")
    return t


def measure(cfg: NeuralConfig, lanes: int, gemm: str = "float32", threads: int = 1,
            seconds: float = 1.0) -> float:
    """Bytes per second of run.step (all lanes), the best of a few windows
    (the machine may be shared), in the steady state: past the first window
    of positions, so attention reaches its full span."""
    fish = NeuralFish(cfg, random_tensors(cfg), gemm=gemm)
    run = fish.start(lanes, threads)
    prev = np.zeros(lanes, np.uint8)
    for _ in range(cfg.window):
        prev = run.step(prev).argmax(axis=1).astype(np.uint8)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        for _ in range(10):
            prev = run.step(prev).argmax(axis=1).astype(np.uint8)
        best = max(best, 10 * lanes / (time.perf_counter() - t0))
    run.close()
    return best


@njit(cache=True, nogil=True)
def _run_one_lane(model, state, pos, count):
    """count steps of one lane from position pos, each fed the byte the one
    before found likeliest."""
    prev = np.zeros(1, np.int64)
    for p in range(pos, pos + count):
        step(prev, p, model, state)
        prev[0] = np.argmax(state[-1][0])


def measure_one_lane(cfg: NeuralConfig, seconds: float = 1.0) -> float:
    """Bytes per second of one lane stepped in compiled code (one_lane.py),
    past the first window, the best of a few windows."""
    lane = NeuralFish(cfg, random_tensors(cfg)).one_lane
    state, pos, count = lane.start(), cfg.window, 500
    _run_one_lane(lane.model, state, 0, pos)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        _run_one_lane(lane.model, state, pos, count)
        best, pos = max(best, count / (time.perf_counter() - t0)), pos + count
    return best


SHAPES = [  # layers, width, heads, kv heads, segment, memory
    (2, 64, 2, 2, 64, 64), (2, 128, 4, 4, 64, 64), (2, 128, 4, 1, 64, 64), (2, 128, 4, 1, 128, 128),
    (2, 128, 4, 4, 128, 128), (3, 128, 4, 1, 64, 64), (2, 192, 6, 1, 64, 64), (2, 256, 8, 2, 64, 64),
    (4, 256, 8, 2, 128, 128)]


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m shoal.fish.neural.speed")
    p.add_argument("--quick", action="store_true", help="a few shapes only")
    p.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    p.add_argument("--lanes", default="16,64,256")
    args = p.parse_args(argv)
    shapes, lane_counts = SHAPES, [int(n) for n in args.lanes.split(",")]
    if args.quick:
        shapes, lane_counts = shapes[:3], [64]
    print("| layers | width | heads/kv | segment | memory | lanes | f32 1 thread | f64 1 thread | f32 2 threads |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (layers, width, heads, kv, seg, mem), lanes in itertools.product(shapes, lane_counts):
        cfg = NeuralConfig(n_layer=layers, n_embd=width, n_head=heads, n_kv_head=kv, seg_len=seg, mem_len=mem)
        speeds = [measure(cfg, lanes, gemm, threads, args.seconds) / 1e3
                  for gemm, threads in (("float32", 1), ("float64", 1), ("float32", 2))]
        print(f"| {layers} | {width} | {heads}/{kv} | {seg} | {mem} | {lanes} | "
              + " | ".join(f"{v:.1f} KB/s" for v in speeds) + " |", flush=True)
    print("\n| layers | width | heads/kv | segment | memory | 1 lane, compiled |")
    print("|---:|---:|---:|---:|---:|---:|")
    for layers, width, heads, kv, seg, mem in shapes:
        cfg = NeuralConfig(n_layer=layers, n_embd=width, n_head=heads, n_kv_head=kv, seg_len=seg, mem_len=mem)
        print(f"| {layers} | {width} | {heads}/{kv} | {seg} | {mem} | "
              f"{measure_one_lane(cfg, args.seconds) / 1e3:.1f} KB/s |", flush=True)


if __name__ == "__main__":
    main()

"""One lane of the neural fish steps in one compiled call (fish/neural/
one_lane.py): the same frequencies as the batched step, bit for bit, over
several segments (the XL memory's ring wraps), with either GEMM type; and a
one-lane block coded in compiled chunks (school/one_lane.py), the fish a
chunk ahead on a thread of its own when encoding, writes the bytes the
step-by-step loop writes."""
import numpy as np
import pytest

from shoal.fish.neural import START_BYTE, NeuralConfig, NeuralFish
from shoal.fish.neural.speed import random_tensors


@pytest.mark.parametrize("shape", [dict(n_layer=2, n_embd=32, n_head=4, n_kv_head=1, seg_len=8, mem_len=8),
                                   dict(n_layer=1, n_embd=48, n_head=3, n_kv_head=3, seg_len=16, mem_len=4)])
@pytest.mark.parametrize("gemm", ["float32", "float64"])
def test_one_lane_steps_as_the_batch_does(shape, gemm):
    cfg = NeuralConfig(mlp_ratio=2, **shape)
    fish = NeuralFish(cfg, random_tensors(cfg, seed=3), gemm=gemm)
    data = np.frombuffer(b"The fish reads one byte at a time, and so does its lane. " * 4, np.uint8)
    alone, batch = fish.one_lane.start(), fish.start(3)       # lane 1 of the batch reads the same bytes
    seen_batch = batch.start_bytes()
    for pos, byte in enumerate(data):
        fish.one_lane.step(alone, np.array([data[pos - 1] if pos else START_BYTE], np.int64), pos)
        assert np.array_equal(alone[-1][0], batch.step(seen_batch)[1])
        seen_batch = np.array([7, byte, 200], np.uint8)
    assert alone[-1].sum() == 1 << 16 and alone[-1].min() >= 1


def test_a_one_lane_block_codes_as_step_by_step(tmp_path, monkeypatch):
    # school/one_lane.py codes a one-lane block in compiled calls: the same
    # bytes as the step-by-step loop of several lanes, run with one; the
    # encoder's fish runs ahead in chunks (many here: 64 steps each)
    import shoal
    from shoal import school
    from shoal.school import neural_block
    from shoal.fish.neural.weights import save
    cfg = NeuralConfig(n_layer=1, n_embd=32, n_head=2, n_kv_head=1, seg_len=8, mem_len=8, mlp_ratio=2)
    save(str(tmp_path / "fish.safetensors"), cfg, random_tensors(cfg, seed=5))
    spec = {"fish": [{"kind": "order", "arg": 2, "bits": 16}, {"kind": "match", "min_len": 4, "bits": 16},
                     {"kind": "neural", "file": str(tmp_path / "fish.safetensors")}],
            "mixer": {"gates": ["c0"]}, "primer": {"name": "text-1", "bytes": 1024}}
    preset = school.from_dict(spec).text
    data = b"One lane, one stream: the classic fish keep all their context. " * 20
    monkeypatch.setattr(neural_block, "AHEAD_CHUNK", 64)
    compiled = school.compress_block(data, preset)
    assert school.decompress_block(compiled, len(data), preset) == data
    noise = np.random.default_rng(7).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    assert school.compress_block(noise, preset) is None        # out of room mid-chunk: stored
    monkeypatch.setattr(neural_block, "code_one_lane", neural_block.code_lanes)
    assert school.compress_block(data, preset) == compiled
    assert shoal.decompress(shoal.compress(data, preset=spec)) == data


@pytest.mark.parametrize("rows, cols", [(192, 768), (7, 45), (1, 1), (48, 128)])
def test_madd_computes_the_integer_product(rows, cols):
    # madd's packed weights (outputs padded to 32, inputs to pairs) give x @ w
    # exactly, with the extreme values included; keys written a column at a
    # time pack as the whole matrix does
    from shoal.fish.neural import madd
    rng = np.random.default_rng(rows * cols)
    w = rng.integers(-128, 128, (rows, cols)).astype(np.int8)
    w[0, 0], x = -128, rng.integers(-127, 128, rows).astype(np.int32)
    x[0] = -127
    packed = madd.pack(w)
    x16, sums = np.zeros(2 * packed.shape[1], np.int16), np.zeros(packed.shape[0] * madd.BLOCK, np.int32)
    madd.products(x, packed, x16, sums)
    assert np.array_equal(sums[:cols], x.astype(np.int64) @ w.astype(np.int64))
    by_column = np.zeros_like(packed)
    for o in range(cols):
        madd.put_column(by_column, o, w[:, o].astype(np.int32))
    assert np.array_equal(by_column, packed)

"""Whatever goes in comes out: fixed samples, the corpus, and generated inputs."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shoal
from shoal import school

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
CORPUS_FILES = sorted(p for folder in ("canterbury", "calgary", "enwik")
                      for p in (CORPUS / folder).glob("*") if p.is_file())

# Generated inputs run through a tiny preset: the container and the coder
# are what is tested, and each block then costs well under a millisecond.
TINY = school.from_dict({"fish": [{"kind": "order", "arg": 1, "bits": 8},
                                  {"kind": "order", "arg": 2, "bits": 10},
                                  {"kind": "match", "min_len": 4, "bits": 10},
                                  {"kind": "column"}],
                         "apm": {"order2_bits": 8}})


def random_bytes(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


SAMPLES = {
    "empty": b"",
    "one byte": b"\x00",
    "one other byte": b"\xff",
    "every byte value": bytes(range(256)),
    "every byte value, repeated": bytes(range(256)) * 40,
    "1 MB of zeros": bytes(1 << 20),
    "random": random_bytes(100_000),
    "text": b"Call me Ishmael. Some years ago - never mind how long precisely. " * 200,
}


@pytest.mark.parametrize("data", SAMPLES.values(), ids=SAMPLES.keys())
def test_samples_round_trip(data):
    blob = shoal.compress(data, 1)
    assert shoal.decompress(blob) == data


def test_random_input_grows_by_at_most_a_tenth_of_a_percent():
    data = random_bytes(256 << 10, seed=1)
    blob = shoal.compress(data, 1)
    assert len(blob) <= len(data) + len(data) // 1000 + 128
    assert shoal.decompress(blob) == data


@pytest.mark.skipif(not CORPUS_FILES, reason=f"corpus not found at {CORPUS} (it sits beside the repository)")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_file_round_trips_at_the_default_level(path):
    data = path.read_bytes()
    blob = shoal.compress(data)
    assert len(blob) < len(data)
    assert shoal.decompress(blob) == data


# ---- generated inputs ------------------------------------------------------------

def _runs(pairs):
    return b"".join(bytes([value]) * length for value, length in pairs)


def _numbers(params):
    start, step, count, sep = params
    return sep.join(str(start + i * step).encode() for i in range(count))


_PIECES = st.one_of(
    st.binary(max_size=300),                                                     # random
    st.tuples(st.binary(min_size=1, max_size=12), st.integers(1, 60)).map(lambda t: t[0] * t[1]),  # repeats
    st.lists(st.sampled_from(b"ab\n"), max_size=400).map(bytes),                 # small alphabet
    st.lists(st.tuples(st.integers(0, 255), st.integers(1, 80)), max_size=12).map(_runs),  # runs
    st.text(alphabet="etaoin shrdlu,.\nÉé水", max_size=200).map(str.encode),     # text, some UTF-8
    st.tuples(st.integers(-1000, 1000), st.integers(-50, 50), st.integers(0, 60),
              st.sampled_from([b"\n", b",", b" "])).map(_numbers),               # arithmetic sequences
    st.lists(st.integers(-2**31, 2**31 - 1), max_size=60).map(
        lambda xs: np.array(xs, dtype="<i4").tobytes()),                         # binary records
)
INPUTS = st.lists(_PIECES, max_size=4).map(b"".join)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(INPUTS)
def test_generated_inputs_round_trip(data):
    assert shoal.decompress(shoal.compress(data, preset=TINY)) == data


@settings(max_examples=200, deadline=None)
@given(INPUTS, st.integers(16, 700), st.sampled_from([1, 2]))
def test_generated_inputs_round_trip_in_small_blocks(data, block_size, threads):
    blob = shoal.compress(data, preset=TINY, block_size=block_size, threads=threads)
    assert blob == shoal.compress(data, preset=TINY, block_size=block_size)
    assert shoal.decompress(blob, threads=threads) == data


@settings(max_examples=200, deadline=None)
@given(INPUTS, st.lists(st.integers(0, 2000), max_size=6))
def test_incremental_objects_agree_with_one_shot(data, cuts):
    bounds = [0] + sorted(min(c, len(data)) for c in cuts) + [len(data)]
    compressor = shoal.ShoalCompressor(preset=TINY, block_size=256)
    blob = b"".join(compressor.compress(data[a:b]) for a, b in zip(bounds, bounds[1:])) + compressor.flush()
    decompressor = shoal.ShoalDecompressor()
    step = max(1, len(blob) // 5)
    out = b"".join(decompressor.decompress(blob[i:i + step]) for i in range(0, len(blob), step))
    assert out == data and decompressor.eof and decompressor.unused_data == b""

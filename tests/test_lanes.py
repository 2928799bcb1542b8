"""Lanes: every context a fish may look at stays inside its own lane.

With lanes > 1 a block is cut into runs coded side by side, a byte of each
per step, so when the decoder codes byte t of lane k, lane k - 1 has only
t bytes decoded.  A fish that looked before its lane's start would see
bytes the encoder had and the decoder has not: a corrupted archive, found
only when the decoder's memory does not happen to hold the encoder's
bytes.  So every archive here is decoded in a fresh process (tests/fresh.py).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shoal
from shoal import school
from shoal.fish.contexts import KINDS
from shoal.fish import context_fish

from fresh import FreshDecoder


@pytest.fixture(scope="module")
def fresh():
    with FreshDecoder() as decoder:
        yield decoder


def _noise(n: int, seed: int) -> bytes:
    """Bytes with structure (a small alphabet, repeats) and no zeros, so
    that a byte read from the wrong place almost surely differs."""
    rng = np.random.default_rng(seed)
    words = [bytes(rng.integers(97, 123, rng.integers(2, 9))) for _ in range(40)]
    return b" ".join(words[i] for i in rng.integers(0, len(words), n // 4))[:n]


def test_a_far_sparse_fish_in_lanes_decodes_in_a_fresh_process(fresh):
    # arg 256: the byte 9 back.  Its mask was once read as the lane's start.
    preset = {"lanes": 4, "fish": [{"kind": "order", "arg": 1, "bits": 12},
                                   {"kind": "sparse", "arg": 256, "bits": 12}]}
    data = _noise(20000, 1)
    assert fresh.decode(shoal.compress(data, preset=preset)) == data


def _arg(kind: str):
    hi = context_fish.MAX_ORDER if kind == "order" else context_fish.MAX_ARG
    return st.integers(0, hi)


_FISH = st.sampled_from(sorted(KINDS)).flatmap(
    lambda kind: st.builds(lambda arg, bits: {"kind": kind, "arg": arg, "bits": bits}, _arg(kind), st.integers(8, 12)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fish=st.lists(_FISH, min_size=1, max_size=4), lanes=st.integers(1, 16),
       match=st.booleans(), column=st.booleans(), size=st.integers(1, 3000), seed=st.integers(0, 2 ** 32 - 1))
def test_every_context_kind_and_argument_in_lanes(fresh, fish, lanes, match, column, size, seed):
    extra = ([{"kind": "match", "min_len": 3, "bits": 10}] if match else []) + ([{"kind": "column"}] if column else [])
    preset = school.from_dict({"lanes": lanes, "fish": fish + extra, "apm": {"order2_bits": 8}})
    data = _noise(size, seed)
    assert fresh.decode(shoal.compress(data, preset=preset)) == data

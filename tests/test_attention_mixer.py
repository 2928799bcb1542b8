"""The attention mixer (school/attention.py) and the preset's perturbations."""
import json
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoal import school
from shoal.errors import ShoalError
from shoal.fish import match
from shoal.school import attention, layout

FISH = [{"kind": "order", "arg": 1, "bits": 16}, {"kind": "order", "arg": 2, "bits": 18},
        {"kind": "order", "arg": 3, "bits": 18}, {"kind": "word", "arg": 0, "bits": 18},
        {"kind": "sparse", "arg": 6, "bits": 16}, {"kind": "match", "min_len": 6, "bits": 18},
        {"kind": "column"}]
ATTENTION = {"kind": "attention", "gates": ["c0", "match"]}


def make(fish=FISH, mixer=ATTENTION, **extra):
    return school.from_dict({"fish": fish, "mixer": mixer, **extra})


def text(n=30_000, seed=1):
    rng = random.Random(seed)
    words = [bytes(rng.choices(b"etaoinshrdlu", k=rng.randint(1, 8))) for _ in range(300)]
    return b" ".join(rng.choice(words) for _ in range(n // 5))[:n]


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=3000))
def test_round_trip(data):
    preset = make()
    payload = school.compress_block(data, preset)
    if payload is not None:
        assert school.decompress_block(payload, len(data), preset) == data


def test_round_trip_text_and_it_learns():
    data = text()
    payload = school.compress_block(data, make())
    assert school.decompress_block(payload, len(data), make()) == data
    assert len(payload) < 0.45 * len(data)


def test_shuffling_the_fish_gives_identical_bits():
    data = text()
    context, others = FISH[:5], FISH[5:]
    reference = school.compress_block(data, make())
    for seed in range(3):
        shuffled = context[:]
        random.Random(seed).shuffle(shuffled)
        assert shuffled != context
        assert school.compress_block(data, make(shuffled + others)) == reference


def _tokens(seed, n):
    rng = np.random.default_rng(seed)
    phi = np.zeros((n, attention.FEATURES), dtype=np.int64)
    xs = rng.integers(-2047, 2048, n).astype(np.int32)
    trust = rng.integers(-20000, 20000, (9, n, 2)).astype(np.int64)
    attention.features(phi, trust, 3, xs, n)
    return phi, trust, xs


def _mix_and_learn(phi, err, heads=3):
    """One prediction and one learning step on fresh parameters with some structure."""
    n = phi.shape[0]
    params, keys, _, _, e, sums, work = attention.new_attention(1, n, 1, heads, 1)
    params[:] = np.arange(params.size) * 37 % 2001 - 1000
    t = attention.attend(params, keys, phi, e[0, 0], sums[0, 0], work, 0, heads, n)
    attention.attend_learn(params, keys, phi, e[0, 0], sums[0, 0], work, 0, heads, n, err)
    return t, params, keys


def test_attention_is_invariant_to_token_order():
    phi, _, _ = _tokens(7, 13)
    perm = np.random.default_rng(3).permutation(13)
    t1, params1, keys1 = _mix_and_learn(phi, 1500)
    t2, params2, keys2 = _mix_and_learn(phi[perm].copy(), 1500)
    assert t1 == t2
    assert np.array_equal(params1, params2) and np.array_equal(keys1, keys2)
    assert not np.array_equal(params1, _mix_and_learn(phi, 0)[1])    # it did learn


def test_trust_follows_the_bit():
    phi, trust, xs = _tokens(5, 4)
    xs[:] = [1000, -1000, 0, 500]
    trust[:] = 0
    for _ in range(50):
        attention.learn_trust(trust, 5, xs, 4, 1)
    for row in (0, 6):                      # over all bits, and at bit position 5
        assert trust[row, 0, 0] > trust[row, 3, 0] > trust[row, 2, 0] == 0 > trust[row, 1, 0]
        assert trust[row, 0, 1] > trust[row, 3, 1] > 0 > trust[row, 1, 1]
    assert not trust[1:6].any() and not trust[7:].any()


def test_presets_name_the_mixer():
    assert make(mixer="attention").spec["mixer"]["kind"] == "attention"
    assert make(mixer={"kind": "attention", "heads": 4}).cfg[layout.C_ATT_HEADS] == 4
    gated = make(mixer={"gates": ["c0"]})
    assert "kind" not in json.loads(gated.canonical)["mixer"]       # earlier archives keep their identity
    assert gated.cfg[layout.C_ATT_HEADS] == 0
    for bad in ({"kind": "softmax"}, {"heads": 3}, {"kind": "attention", "heads": 0}):
        with pytest.raises(ShoalError):
            make(mixer=bad)


def test_perturb_validation_and_mapping():
    p = make(perturb={"blind": 5, "blind_at": 100, "blind_value": -300, "shuffle": 4096})
    assert p.cfg[layout.C_BLIND_INPUT] == 5 and p.cfg[layout.C_BLIND_COUNT] == match.VOTES
    assert p.cfg[layout.C_BLIND_VALUE] == -300 and p.cfg[layout.C_SHUFFLE] == 4096
    p = make(perturb={"blind": 2}, mixer={"runs": True})
    assert (p.cfg[layout.C_BLIND_INPUT], p.cfg[layout.C_BLIND_COUNT]) == (4, 2)
    assert p.cfg[layout.C_BLIND_VALUE] == layout.BLIND_NOISE
    for bad in ({"blind": 7}, {"blind_at": 5}, {"blind": 0, "blind_value": "loud"}, {"shuffle": -1}, {"x": 1}):
        with pytest.raises(ShoalError):
            make(perturb=bad)


@pytest.mark.parametrize("mixer", [ATTENTION, {"gates": ["c0", "match"]}])
def test_a_blind_fish_changes_only_what_follows(mixer):
    data = text(20_000)
    clean, _ = school.score_block(data, make(mixer=mixer))
    blind = make(mixer=mixer, perturb={"blind": 2, "blind_at": 12_000})
    cost, _ = school.score_block(data, blind)
    assert np.array_equal(cost[:12_000], clean[:12_000])
    assert cost[12_000:].sum() > clean[12_000:].sum()
    payload = school.compress_block(data, blind)
    assert school.decompress_block(payload, len(data), blind) == data


@pytest.mark.parametrize("mixer", [ATTENTION, {"gates": ["c0", "match"]}])
def test_shuffled_inputs_round_trip(mixer):
    data = text(20_000)
    preset = make(mixer=mixer, perturb={"shuffle": 3000})
    payload = school.compress_block(data, preset)
    assert payload != school.compress_block(data, make(mixer=mixer))
    assert school.decompress_block(payload, len(data), preset) == data

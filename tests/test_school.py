"""The school codes blocks losslessly and deterministically."""
import numpy as np
import pytest

from shoal import school
from shoal.errors import ShoalError

SAMPLES = [
    b"a",
    bytes(range(256)),
    b"\x00" * 5000,
    b"the quick brown fox jumps over the lazy dog. " * 50,
    np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes(),
]


@pytest.mark.parametrize("level", [1, 6, 9])
@pytest.mark.parametrize("data", SAMPLES, ids=lambda d: f"{len(d)}B")
def test_block_round_trip(level, data):
    preset = school.level(level)
    payload = school.compress_block(data, preset)
    if payload is None:  # would not shrink: the container stores it raw
        assert len(set(data)) > 200 or len(data) < 8
        return
    assert len(payload) < len(data)
    assert school.decompress_block(payload, len(data), preset) == data


def test_compression_is_deterministic():
    data = SAMPLES[3]
    preset = school.level(6)
    assert school.compress_block(data, preset) == school.compress_block(data, preset)


def test_corrupt_payload_is_detected_or_differs():
    data = SAMPLES[3]
    preset = school.level(6)
    payload = bytearray(school.compress_block(data, preset))
    payload[len(payload) // 2] ^= 0x55
    try:
        out = school.decompress_block(bytes(payload), len(data), preset)
    except ShoalError:
        return
    assert out != data


def test_presets_validate():
    with pytest.raises(ShoalError):
        school.from_dict({"fish": [{"kind": "nonsense"}]})
    with pytest.raises(ShoalError):
        school.from_dict({"fish": []})
    with pytest.raises(ShoalError):
        school.level(10)
    for section in ("mixer", "apm"):
        with pytest.raises(ShoalError, match=f"{section} must be a mapping"):
            school.from_dict({"fish": [{"kind": "order"}], section: 5})
    p = school.level(6)
    assert school.from_canonical(p.canonical).digest == p.digest

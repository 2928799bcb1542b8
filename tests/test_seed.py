"""The seed's example: a model that knows the rule of an arithmetic sequence
stores ten thousand numbers as (almost) two.  Bounds from issue 3."""
import subprocess

import numpy as np
import pytest

import shoal

NUMBERS = np.arange(1000, 70994, 7, dtype=np.int64)   # seq 1000 7 70993


def _as_seq_text() -> bytes:
    return "".join(f"{n}\n" for n in NUMBERS).encode()


def test_sequence_matches_coreutils_seq():
    assert len(NUMBERS) == 10_000
    try:
        out = subprocess.run(["seq", "1000", "7", "70993"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("seq not available")
    assert out == _as_seq_text()


def test_decimal_sequence_compresses_to_at_most_300_bytes():
    data = _as_seq_text()
    assert len(data) == 58_714
    blob = shoal.compress(data)
    assert shoal.decompress(blob) == data
    assert len(blob) <= 300, len(blob)


def test_int32_sequence_compresses_to_at_most_200_bytes():
    data = NUMBERS.astype("<i4").tobytes()
    assert len(data) == 40_000
    blob = shoal.compress(data)
    assert shoal.decompress(blob) == data
    assert len(blob) <= 200, len(blob)


@pytest.mark.parametrize("dtype", ["<i2", ">i4", "<i8", ">i2"])
def test_other_widths_and_byte_orders_also_collapse(dtype):
    values = np.arange(0, 3000, dtype=np.int64) * 3 - 4000
    data = values.astype(dtype).tobytes()
    blob = shoal.compress(data)
    assert shoal.decompress(blob) == data
    assert len(blob) < len(data) // 40, (dtype, len(blob), len(data))


def test_numbers_in_a_table_collapse_per_column():
    rows = "".join(f"{i},{1000 + 13 * i},{-i}\n" for i in range(3000)).encode()
    blob = shoal.compress(rows)
    assert shoal.decompress(blob) == rows
    assert len(blob) < len(rows) // 50, (len(blob), len(rows))

"""The x86 call/jump filter (shoal/codec/x86.py): exact, and it does what it says."""
import numpy as np
from hypothesis import given, settings, strategies as st

from shoal.codec import x86


def _call(opcode: int, offset: int) -> bytes:
    return bytes([opcode]) + (offset & 0xFFFFFFFF).to_bytes(4, "little")


def test_calls_to_one_target_from_many_places_look_alike():
    target = 0x4000
    code = bytearray(b"\x90" * 0x6000)
    sites = (0x100, 0x933, 0x2222, 0x5000)          # calls before and after the target
    for at in sites:
        code[at:at + 5] = _call(0xE8, target - (at + 5))
    buf = np.frombuffer(bytes(code), dtype=np.uint8).copy()
    x86._scan(buf, 0, len(buf), 1)          # the filter itself, dense or not
    operands = {bytes(buf[at + 1:at + 5]) for at in sites}
    assert operands == {target.to_bytes(4, "little")}
    x86._scan(buf, 0, len(buf), -1)
    assert bytes(buf) == bytes(code)


def test_far_values_and_other_bytes_are_left_alone():
    code = (_call(0xE8, 0x12345678) + _call(0xE9, -0x2000000) + b"\x00\x01\xe8\x02") * 16
    buf = np.frombuffer(code, dtype=np.uint8).copy()
    assert x86.encode(buf) == 0
    assert bytes(buf) == code


def test_only_segments_dense_in_calls_are_filtered():
    """Code (a call every 40 bytes) is filtered, data with a call-like run
    every 1000 bytes is not, each segment deciding for itself."""
    code = (_call(0xE8, -0x1234) + b"\x90" * 35) * (x86.SEGMENT // 40 + 1)
    data = (_call(0xE8, 0x42) + b"\x00" * 995) * (x86.SEGMENT // 1000 + 1)
    block = data[:x86.SEGMENT] + code[:x86.SEGMENT] + data[:x86.SEGMENT // 3]
    buf = np.frombuffer(block, dtype=np.uint8).copy()
    assert x86.encode(buf) == 1
    assert bytes(buf[:x86.SEGMENT]) == block[:x86.SEGMENT]
    assert bytes(buf[2 * x86.SEGMENT:]) == block[2 * x86.SEGMENT:]
    assert bytes(buf[x86.SEGMENT:2 * x86.SEGMENT]) != block[x86.SEGMENT:2 * x86.SEGMENT]
    assert x86.decode(buf) == 1
    assert bytes(buf) == block


def test_targets_wrap_within_the_range_both_ways():
    # an offset near the range's ends, at a far position: the target wraps
    for offset in (0xFFFFFF, -0x1000000, 0, -1):
        code = b"\x90" * 0x123456 + _call(0xE9, offset) + b"\xc3"
        buf = np.frombuffer(code, dtype=np.uint8).copy()
        x86._scan(buf, 0, len(buf), 1)
        assert buf[0x123456 + 4] in (0, 0xFF)       # still in range, so decodable
        x86._scan(buf, 0, len(buf), -1)
        assert bytes(buf) == code


_opcode_rich = st.lists(st.one_of(st.sampled_from([0xE8, 0xE9, 0x00, 0xFF]), st.integers(0, 255)),
                        max_size=400).map(bytes)


@settings(max_examples=300, deadline=None)
@given(_opcode_rich, st.integers(0, 3))
def test_any_bytes_round_trip(data, repeats):
    """Filtered everywhere, and as blocks (whose segments decide alike
    before and after: short blocks of calls are dense, repeated ones span
    segments)."""
    buf = np.frombuffer(data, dtype=np.uint8).copy()
    x86._scan(buf, 0, len(buf), 1)
    x86._scan(buf, 0, len(buf), -1)
    assert bytes(buf) == data
    block = data * (1 + repeats * 300)
    buf = np.frombuffer(block, dtype=np.uint8).copy()
    filtered = x86.encode(buf)
    assert x86.decode(buf) == filtered
    assert bytes(buf) == block


def test_a_school_with_the_transform_codes_blocks_filtered():
    """Level 6's binary school codes a block as the same school without the
    transform (the retired level 6-6) codes the filtered block, and decodes
    it back; the text school does not filter."""
    import pytest
    from shoal import school
    from shoal.errors import ShoalError

    level6 = school.level(6)
    before = school.retired_level(6, bytes.fromhex("145a7d79d33fbb08777e03324f8093b7"))
    assert level6.binary.x86 and not level6.text.x86 and not before.binary.x86
    call = _call(0xE8, -0x345) + b"\x48\x89\xe5\x90\x31\xc0" * 5
    data = b"".join(call[:5 + i % 7] + bytes([i % 251]) for i in range(600))
    filtered = np.frombuffer(data, dtype=np.uint8).copy()
    assert x86.encode(filtered) == 1
    payload = school.compress_block(data, level6.binary)
    assert payload == school.compress_block(filtered.tobytes(), before.binary)
    assert school.decompress_block(payload, len(data), level6.binary) == data
    with pytest.raises(ShoalError, match="transform"):
        school.from_dict({"fish": [{"kind": "order", "arg": 1, "bits": 12}], "transform": "arm"})

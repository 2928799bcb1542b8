"""The x86 fish (fish/x86_code.py, context kind x86): the decoder finds
instruction boundaries, and a school with x86 fish codes alike in both
loops, decodes, and learns machine code better than one without."""
import numba
import numpy as np
import pytest

from shoal import school
from shoal.fish import x86_code
from shoal.fish.contexts import HISTORY_SLOTS

from test_school import coded_alike_by_both_loops

# (instruction bytes, what it is): lengths as a disassembler gives them
INSTRUCTIONS = [
    ("48 89 44 24 58", "mov [rsp+0x58], rax"),
    ("e8 10 20 00 00", "call rel32"),
    ("0f 85 3a 01 00 00", "jne rel32"),
    ("66 0f 1f 44 00 00", "nopw [rax+rax]"),
    ("c3", "ret"),
    ("48 b8 01 02 03 04 05 06 07 08", "movabs rax, imm64"),
    ("f6 c1 01", "test cl, 1"),
    ("f7 d8", "neg eax"),
    ("f7 c7 00 10 00 00", "test edi, imm32"),
    ("c5 f9 6f 05 00 01 00 00", "vmovdqa xmm0, [rip+disp32]"),
    ("c4 e2 79 18 05 00 01 00 00", "vbroadcastss xmm0, [rip+disp32]"),
    ("48 8d 0d 44 33 22 11", "lea rcx, [rip+disp32]"),
    ("41 57", "push r15"),
    ("48 83 ec 68", "sub rsp, 0x68"),
    ("8b 04 8d 00 10 00 00", "mov eax, [rcx*4+disp32]"),
    ("66 0f 3a 0f c1 08", "palignr xmm0, xmm1, 8"),
    ("f3 0f 1e fa", "endbr64"),
    ("0f b6 44 24 08", "movzx eax, byte [rsp+8]"),
    ("c2 08 00", "ret 8"),
]


@numba.njit
def _states(code):
    x = np.zeros(HISTORY_SLOTS, dtype=np.int64)
    out = np.zeros((code.size, 2), dtype=np.int64)
    for i in range(code.size):
        x86_code.update(x, code[i])
        out[i, 0] = x[x86_code.X_STATE]
        out[i, 1] = x[x86_code.X_PREFIX]
    return out


def test_the_decoder_finds_each_instructions_end():
    code = bytes.fromhex(" ".join(hexes for hexes, _ in INSTRUCTIONS))
    states = _states(np.frombuffer(code, dtype=np.uint8))
    ends = [i + 1 for i in range(len(code)) if states[i, 0] == x86_code.START and states[i, 1] == 0]
    lengths = np.diff([0] + ends)
    assert list(lengths) == [len(bytes.fromhex(hexes)) for hexes, _ in INSTRUCTIONS], list(zip(lengths, INSTRUCTIONS))


def _program(n: int, seed: int = 5) -> bytes:
    """Machine code of a made-up program: a function's prologue, moves to
    and from the stack, calls, branches and returns, in a random order."""
    rng = np.random.default_rng(seed)
    out = bytearray()
    for _ in range(n):
        k = rng.integers(8)
        if k == 0:
            out += bytes.fromhex("55 48 89 e5 48 83 ec") + bytes([8 * int(rng.integers(1, 16))])
        elif k == 1:
            out += bytes.fromhex("48 89 44 24") + bytes([8 * int(rng.integers(16))])
        elif k == 2:
            out += bytes.fromhex("48 8b 7c 24") + bytes([8 * int(rng.integers(16))])
        elif k == 3:
            out += b"\xe8" + int(rng.integers(-5000, 5000)).to_bytes(4, "little", signed=True)
        elif k == 4:
            out += bytes.fromhex("0f 84") + int(rng.integers(0, 300)).to_bytes(4, "little")
        elif k == 5:
            out += b"\xb8" + int(rng.integers(0, 1000)).to_bytes(4, "little")
        elif k == 6:
            out += bytes.fromhex("31 c0")
        else:
            out += bytes.fromhex("c9 c3")
    return bytes(out)


@pytest.mark.parametrize("args", [(0, 2), (0, 1, 2, 3)])
def test_x86_fish_code_alike_in_both_loops_and_learn_code(args):
    fish = [{"kind": "order", "arg": 1, "bits": 16}, {"kind": "order", "arg": 2, "bits": 18},
            {"kind": "match", "min_len": 6, "bits": 18}]
    plain = school.from_dict({"fish": fish})
    coded = school.from_dict({"fish": fish + [{"kind": "x86", "arg": a, "bits": 18} for a in args]})
    written = coded_alike_by_both_loops(coded, _program(3000))
    assert written < 0.97 * len(school.compress_block(_program(3000), plain))

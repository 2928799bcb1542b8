"""Where a byte of x86-64 machine code stands in its instruction (X86 fish).

Machine code is a stream of instructions: prefixes, an opcode of one to
three bytes, a ModRM byte and maybe a SIB byte naming registers and memory,
then a displacement and an immediate.  Which of these the next byte is, and
what opcode it belongs to, predicts it far better than the bytes before it:
after the opcode of a `mov r, [m]` comes a ModRM byte from a small set,
after `call` four bytes of an address, after a `ret` the next function's
first opcode.  update() follows the stream byte by byte with a decoder of
instruction lengths, as a disassembler would (long mode, no semantics), and
keeps what the X86 contexts read (contexts.py):

  X_STATE    what the next byte is (START: a prefix or an opcode, OP2 and
             OP3: the rest of an escaped opcode, MODRM, SIB, OPERAND: a
             displacement or immediate byte, VEX: a VEX/EVEX prefix's byte)
  X_OP       the opcode, with its map (0: one byte, 1: 0F, 2: 0F 38,
             3: 0F 3A) above its byte
  X_PREFIX   the prefixes seen: 66, 67, REX.W, F2/F3, REX
  X_MODRM    the ModRM byte (256 from an instruction's end until the next
             one's is read; 0 at a block's start)
  X_LEFT     operand bytes left; X_IMM the immediate's, once the address's
             are read
  X_PREV, X_PREV2
             the opcodes of the two instructions before
  X_MAP      the opcode map an escape or a VEX prefix named

On data that is not code the decoder reads nonsense and resynchronises by
itself within a few instructions (instruction streams converge); the fish
then learn that their contexts predict nothing there.
"""
import numpy as np

from ..jit import into_general_loop, njit

START, OP2, OP3, MODRM, SIB, OPERAND, VEX = range(7)

# what follows an opcode: flags, and the immediate's kind
HAS_MODRM, PREFIX, ESCAPE, REX = 1, 2, 4, 8
IMM_NONE, IMM8, IMM16, IMMZ, IMMV, MOFFS, ENTER, GROUP3 = range(8)


def _one_byte_map() -> tuple[np.ndarray, np.ndarray]:
    flags = np.zeros(256, dtype=np.int64)
    imm = np.zeros(256, dtype=np.int64)
    for row in range(0, 0x40, 8):               # the ALU ops: add, or, adc, sbb, and, sub, xor, cmp
        for k in range(4):
            flags[row + k] = HAS_MODRM
        imm[row + 4] = IMM8
        imm[row + 5] = IMMZ
    for prefix in (0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3):
        flags[prefix] = PREFIX
    flags[0x0F] = ESCAPE
    flags[0x40:0x50] = REX
    flags[0x62] = HAS_MODRM                     # (EVEX is handled apart)
    flags[0x63] = HAS_MODRM                     # movsxd
    imm[0x68], imm[0x6A] = IMMZ, IMM8           # push imm
    flags[0x69], imm[0x69] = HAS_MODRM, IMMZ    # imul r, r/m, imm
    flags[0x6B], imm[0x6B] = HAS_MODRM, IMM8
    imm[0x70:0x80] = IMM8                       # jcc rel8
    flags[0x80:0x90] = HAS_MODRM
    imm[0x80], imm[0x81], imm[0x82], imm[0x83] = IMM8, IMMZ, IMM8, IMM8
    imm[0xA0:0xA4] = MOFFS                      # mov to and from an absolute address
    imm[0xA8], imm[0xA9] = IMM8, IMMZ           # test
    imm[0xB0:0xB8] = IMM8                       # mov r8, imm8
    imm[0xB8:0xC0] = IMMV                       # mov r, imm (64 bits with REX.W)
    flags[0xC0:0xC2] = HAS_MODRM                # shifts by imm8
    imm[0xC0:0xC2] = IMM8
    imm[0xC2], imm[0xCA] = IMM16, IMM16         # ret imm16
    flags[0xC6], imm[0xC6] = HAS_MODRM, IMM8    # mov r/m, imm
    flags[0xC7], imm[0xC7] = HAS_MODRM, IMMZ
    imm[0xC8] = ENTER
    imm[0xCD] = IMM8                            # int n
    flags[0xD0:0xD4] = HAS_MODRM                # shifts
    imm[0xD4:0xD6] = IMM8
    flags[0xD8:0xE0] = HAS_MODRM                # x87
    imm[0xE0:0xE8] = IMM8                       # loop, jcxz, in, out
    imm[0xE8:0xEA] = IMMZ                       # call, jmp rel32
    imm[0xEB] = IMM8                            # jmp rel8
    flags[0xF6:0xF8] = HAS_MODRM                # test/not/neg/mul/div: test has an immediate
    imm[0xF6:0xF8] = GROUP3
    flags[0xFE:0x100] = HAS_MODRM               # inc, dec, call, jmp, push r/m
    return flags, imm


def _two_byte_map() -> tuple[np.ndarray, np.ndarray]:
    flags = np.full(256, HAS_MODRM, dtype=np.int64)
    imm = np.zeros(256, dtype=np.int64)
    for op in (0x05, 0x06, 0x07, 0x08, 0x09, 0x0B, 0x0E, 0x77, 0xA0, 0xA1, 0xA2, 0xA8, 0xA9, 0xAA):
        flags[op] = 0                           # syscall, cpuid, emms, push fs ...
    flags[0x30:0x38] = 0                        # wrmsr, rdtsc, rdmsr, sysenter ...
    flags[0x80:0x90] = 0                        # jcc rel32
    imm[0x80:0x90] = IMMZ
    flags[0xC8:0xD0] = 0                        # bswap
    for op in (0x0F, 0x70, 0x71, 0x72, 0x73, 0xA4, 0xAC, 0xBA, 0xC2, 0xC4, 0xC5, 0xC6):
        imm[op] = IMM8                          # 3DNow!, pshuf, shifts, shld/shrd, bt, cmpps ...
    return flags, imm


ONE_FLAGS, ONE_IMM = _one_byte_map()
TWO_FLAGS, TWO_IMM = _two_byte_map()

# Slots of the shared history array (contexts.py): after its first 20
X_BASE = 20
X_STATE, X_OP, X_PREFIX, X_MODRM, X_LEFT, X_IMM, X_PREV, X_PREV2, X_MAP = range(X_BASE, X_BASE + 9)
X_SLOTS = 9
P66, P67, PREX_W, PREP, PREX = 1, 2, 4, 8, 16


@njit(cache=True, nogil=True, inline=into_general_loop)
def _immediate(kind, prefix):
    """Bytes of an immediate of this kind under these prefixes."""
    if kind == IMM8:
        return 1
    if kind == IMM16:
        return 2
    if kind == IMMZ:
        return 2 if prefix & P66 else 4
    if kind == IMMV:
        return 8 if prefix & PREX_W else (2 if prefix & P66 else 4)
    if kind == MOFFS:
        return 4 if prefix & P67 else 8
    if kind == ENTER:
        return 3
    return 0


@njit(cache=True, nogil=True, inline=into_general_loop)
def _end(x):
    x[X_PREV2] = x[X_PREV]
    x[X_PREV] = x[X_OP]
    x[X_STATE] = START
    x[X_PREFIX] = 0
    x[X_MODRM] = 256
    x[X_LEFT] = 0
    x[X_IMM] = 0


@njit(cache=True, nogil=True, inline=into_general_loop)
def _operands(x, n):
    """n bytes of displacement and immediate follow: read them, or end."""
    if n > 0:
        x[X_STATE] = OPERAND
        x[X_LEFT] = n
    else:
        _end(x)


@njit(cache=True, nogil=True, inline=into_general_loop)
def _opcode(x, op_map, c):
    """The opcode c of map op_map has been read."""
    x[X_OP] = (op_map << 8) | c
    if op_map == 0:
        has_modrm, kind = ONE_FLAGS[c] & HAS_MODRM, ONE_IMM[c]
    elif op_map == 1:
        has_modrm, kind = TWO_FLAGS[c] & HAS_MODRM, TWO_IMM[c]
    else:
        has_modrm, kind = 1, IMM8 if op_map == 3 else IMM_NONE
    if has_modrm:
        x[X_STATE] = MODRM
        x[X_IMM] = kind                 # its size is known once the ModRM is (GROUP3)
    else:
        _operands(x, _immediate(kind, x[X_PREFIX]))


@njit(cache=True, nogil=True, inline=into_general_loop)
def update(x, c):
    """The decoder's state after byte c (x: a lane's history, contexts.py)."""
    state = x[X_STATE]
    if state == START:
        flags = ONE_FLAGS[c]
        if flags & PREFIX:
            x[X_PREFIX] |= P66 if c == 0x66 else (P67 if c == 0x67 else (PREP if c >= 0xF2 else 0))
        elif flags & REX:
            x[X_PREFIX] |= PREX | (PREX_W if c & 8 else 0)
        elif flags & ESCAPE:
            x[X_STATE] = OP2
        elif c == 0xC4 or c == 0xC5 or c == 0x62:
            # VEX (2 or 3 bytes) and EVEX (4): the opcode follows, in a map
            # the prefix names (0F for the 2-byte VEX)
            x[X_STATE] = VEX
            x[X_LEFT] = 1 if c == 0xC5 else (2 if c == 0xC4 else 3)
            x[X_MAP] = 1 if c == 0xC5 else 0
            x[X_OP] = c
        else:
            _opcode(x, 0, c)
    elif state == OP2:
        if c == 0x38 or c == 0x3A:
            x[X_STATE] = OP3
            x[X_MAP] = 2 if c == 0x38 else 3
        else:
            _opcode(x, 1, c)
    elif state == OP3:
        _opcode(x, x[X_MAP], c)
    elif state == VEX:
        if x[X_MAP] == 0:
            x[X_MAP] = max(min(c & 3, 3), 1)        # mmmmm of VEX3 / mm of EVEX
        x[X_LEFT] -= 1
        if x[X_LEFT] == 0:
            x[X_STATE] = OP3
    elif state == MODRM:
        x[X_MODRM] = c
        mod, rm = c >> 6, c & 7
        imm = _immediate(x[X_IMM], x[X_PREFIX])
        if x[X_IMM] == GROUP3:                      # F6/F7: only test (/0, /1) has an immediate
            if (c >> 3) & 7 <= 1:
                imm = 1 if (x[X_OP] & 0xFF) == 0xF6 and x[X_OP] < 256 else (2 if x[X_PREFIX] & P66 else 4)
        x[X_IMM] = imm
        if mod != 3 and rm == 4:
            x[X_STATE] = SIB
        else:
            disp = 1 if mod == 1 else (4 if mod == 2 or (mod == 0 and rm == 5) else 0)
            _operands(x, disp + imm)
    elif state == SIB:
        mod = x[X_MODRM] >> 6
        disp = 1 if mod == 1 else (4 if mod == 2 or (mod == 0 and (c & 7) == 5) else 0)
        _operands(x, disp + x[X_IMM])
    else:                                           # OPERAND
        x[X_LEFT] -= 1
        if x[X_LEFT] <= 0:
            _end(x)

"""One lane's linear layers (and attention scores) as multiply-adds of int16 pairs.

A linear layer of one lane is a product of a vector and an int8 matrix,
both operands at most 127 in magnitude.  Written as loops over int32, the
compiler multiplies eight 32-bit lanes an instruction.  Here two inputs
travel as one 32-bit word: a vector holds eight outputs' pairs of weights,
(w[2p, o], w[2p+1, o]) for o in the block, as sixteen int16, and one
instruction (x86's pmaddwd, the pattern LLVM turns our generic IR into)
multiplies them by the pair (x[2p], x[2p+1]) and adds each pair's two
products: sixteen multiply-adds where there were eight.  Four blocks of
eight outputs share each pair of inputs read.  On this machine's AVX2 a
192x768 layer takes 2.8 µs against 5.3; it is then bound by reading the
weights (u8 x s8 products, pmaddubsw, ran no faster).

Exactness.  Each product is below 2^14 and the sums are the same integers
as before, in another order (below 2^24: fish.py), so the frequencies do
not change by a bit.  The IR is generic (no x86 intrinsic): any machine
LLVM targets computes the same integers, only more slowly.

The weights are packed once (`pack`): out padded to a multiple of 32 and
the inputs to a multiple of 2 with zeros, then [out / 32, in / 2, 64]:
for a block of 32 outputs and a pair of inputs, four groups of sixteen
bytes, each eight outputs' pairs of weights.
"""
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ...jit import njit

BLOCK = 32                  # outputs a pass: four vectors of eight int32
_GROUPS = BLOCK // 8

_i16, _i32 = ir.IntType(16), ir.IntType(32)
_v16i8, _v16i16 = ir.VectorType(ir.IntType(8), 16), ir.VectorType(_i16, 16)
_v8i32, _v16i32 = ir.VectorType(_i32, 8), ir.VectorType(_i32, 16)


def pack(w) -> np.ndarray:
    """int8 weights [..., in, out] -> [..., out / 32, in / 2, 64] (padded)."""
    *lead, rows, out = w.shape
    rows2, out2 = rows + rows % 2, -(-out // BLOCK) * BLOCK
    padded = np.zeros((*lead, rows2, out2), np.int8)
    padded[..., :rows, :out] = w
    t = padded.reshape(*lead, rows2 // 2, 2, out2 // BLOCK, BLOCK)        # pair, which of two, block, output
    t = np.moveaxis(t, (-4, -3, -2, -1), (-3, -1, -4, -2))                  # block, pair, output, which of two
    return np.ascontiguousarray(t.reshape(*lead, out2 // BLOCK, rows2 // 2, 2 * BLOCK))


def _pair_products(builder, a, b):
    """<16 x i16> a, b -> <8 x i32>: a[2j] b[2j] + a[2j+1] b[2j+1]."""
    wide = builder.mul(builder.sext(a, _v16i32), builder.sext(b, _v16i32))
    even = builder.shuffle_vector(wide, wide, ir.Constant(_v8i32, list(range(0, 16, 2))))
    odd = builder.shuffle_vector(wide, wide, ir.Constant(_v8i32, list(range(1, 16, 2))))
    return builder.add(even, odd)


@intrinsic
def _gemv(typingctx, pairs, w, out):
    """out[32 b + 8 g + j] = sum over p of the pair products of w[b, p, 16 g:16 g + 16]
    and pairs[p] (two int16 in an int32), lane j.  Unchecked: pairs holds at
    least w.shape[1] words and out 32 * w.shape[0] (products checks)."""
    if not (isinstance(pairs, types.Array) and pairs.dtype == types.int32 and pairs.ndim == 1 and pairs.layout == "C"
            and isinstance(w, types.Array) and w.dtype == types.int8 and w.ndim == 3 and w.layout == "C"
            and isinstance(out, types.Array) and out.dtype == types.int32 and out.layout == "C"):
        return None

    def codegen(context, builder, signature, args):
        pa, wa, oa = (context.make_array(t)(context, builder, a) for t, a in zip(signature.args, args))
        n_blocks, n_pairs = builder.extract_value(wa.shape, 0), builder.extract_value(wa.shape, 1)
        weights = builder.bitcast(wa.data, _v16i8.as_pointer())
        outputs = builder.bitcast(oa.data, _v8i32.as_pointer())
        totals = [cgutils.alloca_once(builder, _v8i32) for _ in range(_GROUPS)]    # registers, once optimised
        groups = ir.Constant(n_pairs.type, _GROUPS)
        with cgutils.for_range(builder, n_blocks) as block:
            for total in totals:
                builder.store(ir.Constant(_v8i32, None), total)
            row = builder.mul(builder.mul(block.index, n_pairs), groups)
            with cgutils.for_range(builder, n_pairs) as pair:
                x = builder.load(builder.gep(pa.data, [pair.index]))
                x = builder.insert_element(ir.Constant(_v8i32, ir.Undefined), x, ir.Constant(_i32, 0))
                x = builder.bitcast(builder.shuffle_vector(x, x, ir.Constant(_v8i32, [0] * 8)), _v16i16)
                at = builder.add(row, builder.mul(pair.index, groups))
                for g, total in enumerate(totals):
                    wv = builder.load(builder.gep(weights, [builder.add(at, ir.Constant(at.type, g))]), align=1)
                    product = _pair_products(builder, builder.sext(wv, _v16i16), x)
                    builder.store(builder.add(builder.load(total), product), total)
            first = builder.mul(block.index, groups)
            for g, total in enumerate(totals):
                at = builder.gep(outputs, [builder.add(first, ir.Constant(first.type, g))])
                builder.store(builder.load(total), at, align=4)
        return context.get_dummy_value()

    return types.void(pairs, w, out), codegen


@njit(cache=True, nogil=True)
def products(x, w, x16, sums):
    """sums[:32 * w.shape[0]] = x @ the weights packed as w (pack); x: a
    vector of integers at most 2^15 in magnitude (sums below 2^31); x16:
    scratch of int16[an even length >= 2 * w.shape[1]] (OneLane.start)."""
    n = x.shape[0]
    if (2 * w.shape[1] < n or x16.shape[0] < 2 * w.shape[1] or x16.shape[0] % 2
            or sums.shape[0] < BLOCK * w.shape[0]):
        raise ValueError("madd.products: buffers do not fit the packed weights")
    for i in range(n):
        x16[i] = x[i]
    if n % 2:
        x16[n] = 0                              # the padding input
    _gemv(x16.view(np.int32), w, sums)


@njit(cache=True, nogil=True)
def linear(a, w, x16, sums, out):
    """out[0] = a[0] @ the weights packed as w: a linear layer of one lane."""
    products(a[0], w, x16, sums)
    out[0, :] = sums[:out.shape[1]]


@njit(cache=True, nogil=True)
def put_column(w, o, column):
    """Write `column` (int8 values) as the weights of output o of the packed
    w (the weights [in, out] would get w[:, o] = column): a key ring written
    slot by slot."""
    b, o = divmod(o, BLOCK)
    for p in range(column.shape[0] // 2):
        w[b, p, 2 * o] = column[2 * p]
        w[b, p, 2 * o + 1] = column[2 * p + 1]
    if column.shape[0] % 2:
        w[b, column.shape[0] // 2, 2 * o] = column[-1]


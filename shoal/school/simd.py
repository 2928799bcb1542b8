"""Eight mixer inputs at a time, as one vector operation (LLVM vector IR).

The mixer's update runs for every bit.  Written as a plain loop over int32
weights and inputs, Numba widens every product to int64 and LLVM leaves it
scalar (the loop is short and fully unrolled, and the widening defeats its
vectorisers).  learn8 spells the vector operation out: load eight weights
and eight inputs, widen to int64, multiply, shift, clamp and store, a few
SIMD instructions on any x86-64.  The arithmetic is exactly the scalar
loop's (int64 products, arithmetic shifts, the same clamp): results are bit
for bit its.

The dot product stays scalar (mixer.mix_dot says why): a vector dot here
made level 6 decompress 4-5% slower than the scalar loop.

Callers guarantee the eight elements lie inside both arrays (rows are padded
to a multiple of eight inputs: layout.padded_width).
"""
from llvmlite import ir

from ..jit import intrinsic       # Numba's, once Numba loads with the engine (shoal/jit.py)

LANES = 8
_I64 = ir.IntType(64)
_V64 = ir.VectorType(_I64, LANES)


def _load8(context, builder, array_type, array, index):
    """The eight elements array[index:index + 8], widened to int64 lanes."""
    from numba.core import cgutils
    ary = context.make_array(array_type)(context, builder, array)
    ptr = cgutils.get_item_pointer(context, builder, array_type, ary, [index], wraparound=False)
    element = ptr.type.pointee
    vector = builder.load(builder.bitcast(ptr, ir.VectorType(element, LANES).as_pointer()), align=4)
    return ptr, vector if element.width == 64 else builder.sext(vector, _V64)


def _splat(builder, value):
    vector = builder.insert_element(ir.Constant(_V64, ir.Undefined), value, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(vector, ir.Constant(_V64, ir.Undefined), ir.Constant(ir.VectorType(
        ir.IntType(32), LANES), [0] * LANES))


@intrinsic
def learn8(typingctx, weights, w_index, x, x_index, err, limit):
    """weights[w_index + i] += (x[x_index + i] * err + 8192) >> 14, clamped
    to +-limit, for i in range(8) (err and limit: int64)."""
    from numba import types
    sig = types.void(weights, w_index, x, x_index, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        w_type = signature.args[0]
        w_ptr, w = _load8(context, builder, w_type, args[0], args[1])
        _, v = _load8(context, builder, signature.args[2], args[2], args[3])
        err = context.cast(builder, args[4], signature.args[4], types.int64)
        limit = context.cast(builder, args[5], signature.args[5], types.int64)
        step = builder.ashr(builder.add(builder.mul(v, _splat(builder, err)), ir.Constant(_V64, [8192] * LANES)),
                            ir.Constant(_V64, [14] * LANES))
        new = builder.add(w, step)
        high, low = _splat(builder, limit), _splat(builder, builder.neg(limit))
        new = builder.select(builder.icmp_signed(">", new, high), high, new)
        new = builder.select(builder.icmp_signed("<", new, low), low, new)
        element = w_ptr.type.pointee
        if element.width != 64:
            new = builder.trunc(new, ir.VectorType(element, LANES))
        builder.store(new, builder.bitcast(w_ptr, ir.VectorType(element, LANES).as_pointer()), align=4)
        return context.get_dummy_value()

    return sig, codegen

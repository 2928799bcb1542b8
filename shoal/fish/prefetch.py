"""A cache prefetch hint for Numba code (LLVM's llvm.prefetch).

Context tables are far larger than the CPU caches, so each slot lookup is a
likely cache miss.  Knowing early which bucket the next lookup will need,
the school asks for it ahead and does other work while it arrives.  A hint
only: it changes timing, never results.
"""
from ..jit import intrinsic


@intrinsic
def prefetch(typingctx, array, index):
    """Hint that array[index] will be read soon."""
    # imported here: a preset's fish import this module, Numba loads with the engine (shoal/jit.py)
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, array_type, ary, [args[1]], wraparound=False)
        i32 = ir.IntType(32)
        byte_ptr = ir.IntType(8).as_pointer()   # one declaration serves every element type
        fnty = ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read, high temporal locality, data cache
        builder.call(fn, [builder.bitcast(ptr, byte_ptr), ir.Constant(i32, 0), ir.Constant(i32, 3),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen

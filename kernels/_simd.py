"""Narrow-integer arithmetic for numba kernels that LLVM can vectorise (numba intrinsics).

Numba types ``int16 + int16`` as ``int64`` (numpy scalar promotion), so a DP written with
plain operators computes in 64-bit lanes: 8 per AVX-512 register instead of 32. These
intrinsics keep the operand width, so a loop over ``int16`` arrays becomes ``vpaddsw`` /
``vpsubsw`` / ``vpmaxsw`` on 32 lanes at a time:

- :func:`adds`, :func:`subs`: for 8/16-bit integers, *saturating* add/subtract
  (``llvm.sadd.sat`` / ``llvm.ssub.sat``: the result sticks at the type's min/max instead of
  wrapping); for 32/64-bit integers, plain add/subtract (the caller guarantees no overflow).
- :func:`vmax`, :func:`vmin`: signed max/min of two values of the same integer type.
- :func:`vsel`: ``a if cond else b`` as one ``select`` (no branch), same integer type.

Both operands must already have the same integer type (cast with e.g. ``np.int16(x)``
first); a mismatch is a typing error, not a silent widening.

The one exception to "a numba call graph stays in one file" (kernels/__init__.py): the CPU
twins import these intrinsics. numba's cache is invalidated per source file, so after editing
this file delete the cached kernels (``kernels/__pycache__/*.nbi`` and ``*.nbc``).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _same_int(a, b) -> bool:
    return isinstance(a, types.Integer) and a == b


def _sat_or_plain(op: str):
    def impl(typingctx, a, b):
        if not _same_int(a, b):
            return None
        signed = a.signed

        def codegen(context, builder, signature, args):
            x, y = args
            width = a.bitwidth
            if width <= 16:
                prefix = ("s" if signed else "u") + ("add" if op == "add" else "sub")
                fnty = ir.FunctionType(x.type, [x.type, x.type])
                fn = cgutils.get_or_insert_function(
                    builder.module, fnty, f"llvm.{prefix}.sat.i{width}"
                )
                return builder.call(fn, [x, y])
            flags = ["nsw"] if signed else ["nuw"]
            if op == "add":
                return builder.add(x, y, flags=flags)
            return builder.sub(x, y, flags=flags)

        return a(a, b), codegen

    return impl


adds = intrinsic(_sat_or_plain("add"))
adds.__doc__ = "a + b: saturating for <= 16-bit integers, plain (no overflow) otherwise."
subs = intrinsic(_sat_or_plain("sub"))
subs.__doc__ = "a - b: saturating for <= 16-bit integers, plain (no overflow) otherwise."


@intrinsic
def vmax(typingctx, a, b):
    """max(a, b) of two integers of the same type, as one compare + select."""
    if not _same_int(a, b):
        return None

    def codegen(context, builder, signature, args):
        x, y = args
        cmp = builder.icmp_signed(">", x, y) if a.signed else builder.icmp_unsigned(">", x, y)
        return builder.select(cmp, x, y)

    return a(a, b), codegen


@intrinsic
def vmin(typingctx, a, b):
    """min(a, b) of two integers of the same type, as one compare + select."""
    if not _same_int(a, b):
        return None

    def codegen(context, builder, signature, args):
        x, y = args
        cmp = builder.icmp_signed("<", x, y) if a.signed else builder.icmp_unsigned("<", x, y)
        return builder.select(cmp, x, y)

    return a(a, b), codegen


@intrinsic
def vsel(typingctx, cond, a, b):
    """``a if cond else b`` for integers of the same type, as one select (no branch)."""
    if not (isinstance(cond, types.Boolean) and _same_int(a, b)):
        return None

    def codegen(context, builder, signature, args):
        c, x, y = args
        return builder.select(c, x, y)

    return a(cond, a, b), codegen

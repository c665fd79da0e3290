"""Small scratch arrays on the stack of the calling kernel, for width-compiled kernels.

A sweep keeps a few arrays of ``m`` or ``m * m`` entries per layer: the gathered weights
and bias, their gradients, partial sums over the batch. Taken from the heap (``np.empty``)
they are memory the compiler must assume may overlap the states and adjoints the same
loops read and write, so every partial sum goes back to memory at every step. On the
stack of the kernel the compiler knows they overlap nothing and keeps them in registers
(measured: the adjoint's three sums over a batch of 40 at width 5 run twice as fast).
That needs a size known at compile time, which ``fixed`` (the width compiled in, see
:func:`.operators.fixed_width`) provides; with ``fixed = ()`` the kernels use heap arrays.

A stack array lives as long as the compiled function it lands in. The helpers here and
every function that returns one of their arrays are inlined (``INLINE``), so the
allocation lands in the kernel that uses the array; no kernel returns one.
"""

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._config import INLINE


def _stack_pointer(power):
    @intrinsic
    def stack_pointer(typingctx, fixed):
        if not isinstance(fixed, types.BaseTuple):
            return None
        size = max(len(fixed.types), 1) ** power

        def codegen(context, builder, signature, args):
            # alloca_once puts the allocation in the entry block: once per call of the
            # kernel, however often the code that asks for it runs
            return cgutils.alloca_once(builder, context.get_value_type(types.float64),
                                       size=context.get_constant(types.intp, size))
        return types.CPointer(types.float64)(fixed), codegen
    return stack_pointer


_vector_pointer = _stack_pointer(1)
_matrix_pointer = _stack_pointer(2)


if numba.config.DISABLE_JIT:
    # plain Python: there is no stack to allocate on
    def scratch_vector(fixed, size):
        """An uninitialised array of ``size`` entries."""
        return np.empty(size)

    scratch_matrix = scratch_vector
else:
    @numba.njit(**INLINE)
    def scratch_vector(fixed, size):
        """An uninitialised array of ``size`` entries: on the caller's stack when
        ``fixed`` names the width (``size`` must then be ``len(fixed)``), else from the
        heap."""
        if len(fixed) > 0:
            return numba.carray(_vector_pointer(fixed), len(fixed))
        return np.empty(size)

    @numba.njit(**INLINE)
    def scratch_matrix(fixed, size):
        """As :func:`scratch_vector` for ``len(fixed) ** 2`` entries (``size``)."""
        if len(fixed) > 0:
            return numba.carray(_matrix_pointer(fixed), len(fixed) * len(fixed))
        return np.empty(size)

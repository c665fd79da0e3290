"""Numba-compiled hot loops of pysplinet, installed as ``pysplinet.kernels``.

The kernels trust their inputs: C-contiguous float64 arrays (int64 for index tables),
shapes already checked by :mod:`pysplinet.network`. Outputs are allocated by the caller;
each kernel's docstring says which arguments it writes.

Modules
-------
activations
    sigma and sigma' by integer id, applied to a whole batch.
operators
    the linear operators of the right-hand side (apply, transpose, parameter gradient).
convolution
    the loops of the convolutional operators, called by ``operators``.
euler
    the forward Euler sweep and its discrete adjoint over a range of layers.
"""

from .euler import euler_adjoint, euler_forward

__all__ = ["euler_forward", "euler_adjoint"]

"""Activation functions by id, applied to a (B, m) batch; ids match
:data:`pysplinet.activations.ACTIVATIONS` (0 identity, 1 tanh, 2 relu, 3 sigmoid)."""

import math

import numba

from ._config import JIT

IDENTITY, TANH, RELU, SIGMOID = 0, 1, 2, 3


@numba.njit(**JIT)
def _tanh(a):
    """tanh(a) from one exponential, within a few ulp of the library tanh and about twice
    as fast. With e = exp(-2|a|), tanh|a| = (1 - e) / (1 + e); below |a| = 0.35 the
    difference 1 - e would cancel digits, so it is formed by expm1 instead."""
    x = abs(a)
    if x < 0.35:
        em = math.expm1(-2.0 * x)
        t = -em / (2.0 + em)
    elif x < 20.0:
        e = math.exp(-2.0 * x)
        t = (1.0 - e) / (1.0 + e)
    else:
        t = 1.0                       # 1 - tanh(20) is below half an ulp of 1
    return math.copysign(t, a)


@numba.njit(**JIT)
def _sigmoid(a):
    # the branch keeps exp's argument <= 0, so nothing overflows
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


@numba.njit(**JIT)
def activate(act, A, S):
    """Write ``S = sigma(A)``."""
    n, m = A.shape
    if act == IDENTITY:
        for b in range(n):
            for r in range(m):
                S[b, r] = A[b, r]
    elif act == TANH:
        for b in range(n):
            for r in range(m):
                S[b, r] = _tanh(A[b, r])
    elif act == RELU:
        for b in range(n):
            for r in range(m):
                S[b, r] = A[b, r] if A[b, r] > 0.0 else 0.0
    else:
        for b in range(n):
            for r in range(m):
                S[b, r] = _sigmoid(A[b, r])


@numba.njit(**JIT)
def slope(act, S, D):
    """Write ``D = sigma'(a)`` from the values ``S = sigma(a)`` alone.

    Every activation here has a derivative that is a function of its value:
    identity 1, tanh ``1 - s^2``, ReLU ``1`` where ``s > 0`` (``a > 0``) else 0, sigmoid
    ``s (1 - s)``. So an adjoint sweep that kept the forward sweep's values needs neither
    the pre-activation nor another evaluation of sigma.
    """
    n, m = S.shape
    if act == IDENTITY:
        for b in range(n):
            for r in range(m):
                D[b, r] = 1.0
    elif act == TANH:
        for b in range(n):
            for r in range(m):
                D[b, r] = 1.0 - S[b, r] * S[b, r]
    elif act == RELU:
        for b in range(n):
            for r in range(m):
                D[b, r] = 1.0 if S[b, r] > 0.0 else 0.0
    else:
        for b in range(n):
            for r in range(m):
                D[b, r] = S[b, r] * (1.0 - S[b, r])

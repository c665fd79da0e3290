"""Activation functions by id, applied to a (B, m) batch; ids match
:data:`pysplinet.activations.ACTIVATIONS` (0 identity, 1 tanh, 2 relu, 3 sigmoid)."""

import math

import numba

from ._config import INLINE, JIT

IDENTITY, TANH, RELU, SIGMOID = 0, 1, 2, 3


@numba.njit(**JIT)
def _expm1_taylor(v):
    """``exp(v) - 1`` by its Taylor polynomial of degree 17 (Horner, coefficients 1/n!),
    for ``-0.7 <= v <= 0``.

    The first omitted term is below ``0.7^18 / 18! < 3e-19`` relative, so the result is
    as accurate as the rounding of the Horner steps allows. Written out term by term: a
    loop over a tuple of coefficients would keep the compiler from vectorising callers.
    """
    p = 1.0 / 355687428096000.0                 # 1/17!
    p = p * v + 1.0 / 20922789888000.0          # 1/16!
    p = p * v + 1.0 / 1307674368000.0           # 1/15!
    p = p * v + 1.0 / 87178291200.0             # 1/14!
    p = p * v + 1.0 / 6227020800.0              # 1/13!
    p = p * v + 1.0 / 479001600.0               # 1/12!
    p = p * v + 1.0 / 39916800.0                # 1/11!
    p = p * v + 1.0 / 3628800.0                 # 1/10!
    p = p * v + 1.0 / 362880.0                  # 1/9!
    p = p * v + 1.0 / 40320.0                   # 1/8!
    p = p * v + 1.0 / 5040.0                    # 1/7!
    p = p * v + 1.0 / 720.0                     # 1/6!
    p = p * v + 1.0 / 120.0                     # 1/5!
    p = p * v + 1.0 / 24.0                      # 1/4!
    p = p * v + 1.0 / 6.0                       # 1/3!
    p = p * v + 0.5                             # 1/2!
    p = p * v + 1.0                             # 1/1!
    return p * v


@numba.njit(**JIT)
def _tanh(a):
    """tanh(a) by plain arithmetic, which the compiler can vectorise (no library call).

    With ``y = |a|`` and ``em = exp(-2y) - 1``, ``tanh(y) = -em / (2 + em)``. For
    ``y < 0.35`` the argument ``-2y`` lies in the range of :func:`_expm1_taylor`. Beyond,
    ``e = exp(-2y) = (1 + expm1(-2y / 64))^64`` by six squarings, and
    ``tanh(y) = (1 - e) / (1 + e)``, where ``e <= 1/2`` so nothing cancels. ``y`` is
    capped at 20, where ``tanh`` equals 1 to the last bit. Agrees with the library tanh to
    about 1e-14 relative (the squarings multiply the rounding error of ``1 + em`` by 64).
    """
    y = min(abs(a), 20.0)
    small = y < 0.35
    em = _expm1_taylor(-2.0 * y if small else -2.0 * y / 64.0)
    if small:
        t = -em / (2.0 + em)
    else:
        e = 1.0 + em
        for _ in range(6):
            e = e * e
        t = (1.0 - e) / (1.0 + e)
    return t if a >= 0.0 else -t


@numba.njit(**JIT)
def _sigmoid(a):
    # the branch keeps exp's argument <= 0, so nothing overflows
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


@numba.njit(**INLINE)
def activate(act, A, S):
    """Write ``S = sigma(A)``, for flat (1-D) arrays.

    The sweeps pass their (B, m) batches flattened, so a narrow state (width 4, say)
    still gives the compiler runs long enough to vectorise.
    """
    a = A
    s = S
    if act == IDENTITY:
        for q in range(a.size):
            s[q] = a[q]
    elif act == TANH:
        for q in range(a.size):
            s[q] = _tanh(a[q])
    elif act == RELU:
        for q in range(a.size):
            s[q] = a[q] if a[q] > 0.0 else 0.0
    else:
        for q in range(a.size):
            s[q] = _sigmoid(a[q])


@numba.njit(**INLINE)
def slope(act, S, D):
    """Write ``D = sigma'(a)`` from the values ``S = sigma(a)`` alone (flat arrays).

    Every activation here has a derivative that is a function of its value:
    identity 1, tanh ``1 - s^2``, ReLU ``1`` where ``s > 0`` (``a > 0``) else 0, sigmoid
    ``s (1 - s)``. So an adjoint sweep that kept the forward sweep's values needs neither
    the pre-activation nor another evaluation of sigma.
    """
    s = S
    d = D
    if act == IDENTITY:
        for q in range(s.size):
            d[q] = 1.0
    elif act == TANH:
        for q in range(s.size):
            d[q] = 1.0 - s[q] * s[q]
    elif act == RELU:
        for q in range(s.size):
            d[q] = 1.0 if s[q] > 0.0 else 0.0
    else:
        for q in range(s.size):
            d[q] = s[q] * (1.0 - s[q])

"""Linear operators K(theta) of the right-hand side sigma(K(theta) x + b), by integer id.

Every operator provides three batch routines on flat batches of ``n`` samples (``X``,
``G``, ``Z`` hold sample after sample, ``m`` entries each):

``op_apply``           ``A = X K^T + b``        (each sample: a = K x + b)
``op_apply_transpose`` ``Z += G K``             (each sample: z += K^T g)
``op_param_grad``      ``dtheta = d/dtheta sum_b g_b . K(theta) x_b``

``theta`` is the flattened parameter of one layer (what the control gathered). ``geom``
holds integer geometry (unused by the dense operators; ``(C, n1, n2, k1, k2)`` for a
convolution) and ``gamma`` the shift of the antisymmetric operator.

``fixed`` says how the dense operators learn the state width m: ``()`` means from the
arrays at run time; a tuple of m zeros (see :func:`fixed_width`) makes m part of the
argument types, so Numba compiles a version of the kernels for that width in which m is
a constant. For a narrow network that lets the compiler unroll the short loops over the
width and vectorise across them, which at width 4 makes a layer's products about three
times faster. The arithmetic, and so every result bit, is the same either way.

Ids: 0 dense ``K = W`` (m x m); 1 antisymmetric ``K = W - W^T - gamma I``; 2 convolution
with zero "same" padding, C channels in and out, on a 1-D or 2-D grid
(:mod:`.convolution`).
"""

import numba
import numpy as np

from ._config import INLINE, JIT
from .scratch import scratch_matrix, scratch_vector
from .convolution import conv_add_transpose, conv_apply, conv_param_grad

DENSE, ANTISYMMETRIC, CONV = 0, 1, 2

# Above this width the dense products go to BLAS through np.dot; below it plain loops win
# over the call overhead.
_BLAS_WIDTH = 32

#: the widest state whose width is compiled into the kernels (see :func:`fixed_width`);
#: every width up to it costs a compilation of its own on first use
MAX_FIXED_WIDTH = 16

# Up to this compiled-in width the parameter gradient G^T X keeps all m * m sums in
# registers at once; beyond, one row of m sums at a time (measured, batch 40: width 6 a
# fifth faster all at once, width 12 twice as slow, its sums no longer fitting).
_ROW_BY_ROW = 8


def fixed_width(width):
    """The ``fixed`` argument of the kernels for states of ``width`` entries: a tuple of
    ``width`` zeros up to :data:`MAX_FIXED_WIDTH`, so the width is compiled in; ``()``
    beyond, where loops are long enough to vectorise without it."""
    return (0,) * width if width <= MAX_FIXED_WIDTH else ()


@numba.njit(**INLINE)
def width_of(fixed, X):
    """The state width: ``len(fixed)``, a compile-time constant, when ``fixed`` names it;
    else the row length of the (B, m) batch ``X``."""
    return len(fixed) if len(fixed) > 0 else X.shape[1]


@numba.njit(**INLINE)
def flat_width(fixed, n, x):
    """The state width of the flat batch ``x`` of ``n`` samples (``n m`` entries):
    ``len(fixed)`` when ``fixed`` names it, else ``x.size // n``."""
    return len(fixed) if len(fixed) > 0 else x.shape[0] // n


# The batch routines take their (B, m) batches flat, one sample after another (entry
# (b, r) at b m + r), and the m x m matrix flat as well (row r at W[r m : r m + m]), and
# address them by computed offsets. For a narrow network, indexing 2-D arrays in these
# loops costs more than the arithmetic (the peaks network's forward sweep, width 5, runs
# about twice as fast flat), and views made per layer would add reference counting. The
# sums run in the same order either way.

@numba.njit(**INLINE)
def _xwt_bias(fixed, n, X, W, bias, A):
    """``A = X W^T + b``: A[b, r] = (sum_c W[r, c] X[b, c]) + bias[r], the sum first.

    Below the BLAS width the bias is added as each sum is finished, not in a second pass
    over ``A`` (the same bits; the second pass cost half as much as the product at width
    5, since its index ``r`` repeats every ``m`` entries and does not vectorise).
    """
    m = flat_width(fixed, n, X)
    if m >= _BLAS_WIDTH:
        A[:n * m].reshape((n, m))[:, :] = np.dot(X.reshape((n, m)), W.reshape((m, m)).T)
        _add_rows(n, m, bias, A)
        return
    for b in range(n):
        for r in range(m):
            acc = 0.0
            for c in range(m):
                acc += W[r * m + c] * X[b * m + c]
            A[b * m + r] = acc + bias[r]


@numba.njit(**INLINE)
def _add_rows(n, m, bias, A):
    """``A[b, :] += bias`` for each of the ``n`` samples of the flat batch ``A``."""
    for b in range(n):
        for r in range(m):
            A[b * m + r] += bias[r]


@numba.njit(**INLINE)
def _add_gw(fixed, n, G, W, Z):
    """``Z += G W``: Z[b, c] += sum_r G[b, r] W[r, c]."""
    m = flat_width(fixed, n, Z)
    if m >= _BLAS_WIDTH:
        Z.reshape((n, m))[:, :] += np.dot(G[:n * m].reshape((n, m)), W.reshape((m, m)))
        return
    for b in range(n):
        for r in range(m):
            g = G[b * m + r]
            for c in range(m):
                Z[b * m + c] += g * W[r * m + c]


@numba.njit(**INLINE)
def _gtx(fixed, n, G, X, dW):
    """``dW = G^T X``: dW[r, c] = sum_b G[b, r] X[b, c]."""
    m = flat_width(fixed, n, X)
    if m >= _BLAS_WIDTH:
        dW.reshape((m, m))[:, :] = np.dot(G[:n * m].reshape((n, m)).T, X.reshape((n, m)))
        return
    if len(fixed) > _ROW_BY_ROW:
        # one row of dW at a time, its m sums in registers (a stack array); the batch
        # is read m times, but nothing goes back to memory until the row is done
        row = scratch_vector(fixed, m)
        for r in range(m):
            for c in range(m):
                row[c] = 0.0
            for b in range(n):
                g = G[b * m + r]
                for c in range(m):
                    row[c] += g * X[b * m + c]
            for c in range(m):
                dW[r * m + c] = row[c]
        return
    # all m * m sums at once: for a narrow state they fit in registers (when ``dW`` is a
    # stack array), and their m * m independent chains of additions overlap
    for q in range(m * m):
        dW[q] = 0.0
    for b in range(n):
        for r in range(m):
            g = G[b * m + r]
            for c in range(m):
                dW[r * m + c] += g * X[b * m + c]


@numba.njit(**INLINE)
def _antisymmetric_matrix(fixed, W, m, gamma):
    """The flat matrix ``W - W^T - gamma I`` (on the caller's stack when ``fixed`` names
    the width)."""
    K = scratch_matrix(fixed, m * m)
    for r in range(m):
        for c in range(m):
            K[r * m + c] = W[r * m + c] - W[c * m + r]
        K[r * m + r] -= gamma
    return K


@numba.njit(**INLINE)
def _rows(x, n, size):
    """The first ``size`` entries of the flat ``x`` as ``n`` rows (a view)."""
    return x[:size].reshape((n, size // n))


@numba.njit(**INLINE)
def op_apply(op, geom, gamma, fixed, theta, bias, n, X, A):
    """Write ``A = X K(theta)^T + bias`` (each sample ``a = K x + b``) for the flat batch
    ``X`` of ``n`` samples (``A`` may be longer than ``X``: its first ``X.size`` entries
    are written). Each entry is the operator's sum plus the bias, in that order."""
    if op == CONV:
        conv_apply(geom, theta, _rows(X, n, X.size), _rows(A, n, X.size))
        _add_rows(n, X.size // n, bias, A)
    elif op == DENSE:
        _xwt_bias(fixed, n, X, theta, bias, A)
    else:
        K = _antisymmetric_matrix(fixed, theta, flat_width(fixed, n, X), gamma)
        _xwt_bias(fixed, n, X, K, bias, A)


@numba.njit(**INLINE)
def op_apply_transpose(op, geom, gamma, fixed, theta, n, G, Z):
    """Add ``G K(theta)`` to ``Z`` (the adjoint action, eq. 18), flat batches of ``n``
    samples (``G`` may be longer than ``Z``: its first ``Z.size`` entries are read)."""
    if op == CONV:
        conv_add_transpose(geom, theta, _rows(G, n, Z.size), _rows(Z, n, Z.size))
    elif op == DENSE:
        _add_gw(fixed, n, G, theta, Z)
    else:
        K = _antisymmetric_matrix(fixed, theta, flat_width(fixed, n, Z), gamma)
        _add_gw(fixed, n, G, K, Z)


@numba.njit(**INLINE)
def op_param_grad(op, geom, gamma, fixed, n, X, G, dtheta):
    """Write the parameter gradient of ``sum_b G[b] . K(theta) X[b]`` into ``dtheta``.

    Dense: ``G^T X`` (eq. 21 before the basis weight). Antisymmetric: with
    ``M = G^T X``, the gradient with respect to W of ``W - W^T`` is ``M - M^T``.
    Convolution: the correlation of ``G`` with ``X`` at every kernel tap.
    """
    if op == CONV:
        conv_param_grad(geom, _rows(X, n, X.size), _rows(G, n, X.size), dtheta)
        return
    m = flat_width(fixed, n, X)
    _gtx(fixed, n, G, X, dtheta)
    if op == ANTISYMMETRIC:
        for r in range(m):
            for c in range(r + 1, m):
                d = dtheta[r * m + c] - dtheta[c * m + r]
                dtheta[r * m + c] = d
                dtheta[c * m + r] = -d
            dtheta[r * m + r] = 0.0

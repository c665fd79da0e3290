"""Forward Euler sweep and its discrete adjoint, each over a range of layers in one call.

Symbols (paper -> identifier, shape)
------------------------------------
============  =========  =========================================================
x_i           ``X``      (B, m) state of layer i, one row per sample
z_i           ``Z``      (B, m) adjoint state, eq. 17-18
omega_l       ``Wc``     (K, P) operator coefficient sets, flattened
beta_l        ``bc``     (K, m) bias coefficient sets
k_0, B_l(t_i) ``first``, ``weights``   (N,), (N, d+1) the control table, eq. 14
h, lam        ``h``, ``lam``           step size and time scale
sigma         ``act``    activation id
============  =========  =========================================================

A layer is ``x_{i+1} = x_i + h lam sigma(K(W_i) x_i + b_i)`` with ``W_i``, ``b_i``
gathered from the active coefficient sets (eqs. 5, 14, 15, 24).

Both sweeps run every layer with the same helper functions, so a layer evaluated inside
a long sweep and the same layer evaluated alone give the same bits; checkpointed and
store-everything gradients rely on that.
"""

import numba
import numpy as np

from ._config import JIT
from .activations import activate, slope
from .operators import op_apply, op_apply_transpose, op_param_grad


@numba.njit(**JIT)
def _gather(coef, first, weights, out):
    """``out = sum_j weights[j] * coef[first + j]`` (eqs. 14-15)."""
    # one pass per active set, each over contiguous memory; the sum is formed in the
    # order j = 0, 1, .., d for every entry, as the NumPy reference forms it
    out[:] = 0.0
    for j in range(weights.shape[0]):
        w = weights[j]
        row = first + j
        for p in range(coef.shape[1]):
            out[p] += w * coef[row, p]


@numba.njit(**JIT)
def _scatter(grad_layer, first, weights, grad_coef):
    """``grad_coef[first + j] += weights[j] * grad_layer`` (eq. 23)."""
    for j in range(weights.shape[0]):
        w = weights[j]
        row = first + j
        for p in range(grad_layer.shape[0]):
            grad_coef[row, p] += w * grad_layer[p]


@numba.njit(**JIT)
def _preactivation(op, geom, gamma, Wi, bi, X, A):
    """``A = K(W_i) X + b_i`` for every sample."""
    op_apply(op, geom, gamma, Wi, X, A)
    for b in range(A.shape[0]):
        for r in range(A.shape[1]):
            A[b, r] += bi[r]


@numba.njit(**JIT)
def euler_forward(op, geom, gamma, act, Wc, bc, first, weights, h, lam,
                  i_start, i_stop, X, states, values):
    """Advance ``X`` from ``x_{i_start}`` to ``x_{i_stop}`` in place (eq. 5).

    Writes ``X``. If ``states.shape[0] > 0`` it also writes ``states[i - i_start] = x_i``
    for ``i = i_start .. i_stop`` (so ``states`` needs ``i_stop - i_start + 1`` slots),
    and if ``values.shape[0] > 0`` the activation values
    ``values[i - i_start] = sigma(a_i)`` for ``i = i_start .. i_stop - 1``.
    """
    n, m = X.shape
    Wi = np.empty(Wc.shape[1])
    bi = np.empty(m)
    A = np.empty((n, m))
    S = np.empty((n, m))
    hl = h * lam
    store = states.shape[0] > 0
    keep_values = values.shape[0] > 0
    if store:
        states[0] = X
    for i in range(i_start, i_stop):
        _gather(Wc, first[i], weights[i], Wi)
        _gather(bc, first[i], weights[i], bi)
        _preactivation(op, geom, gamma, Wi, bi, X, A)
        activate(act, A, S)
        for b in range(n):
            for r in range(m):
                X[b, r] = X[b, r] + hl * S[b, r]
        if keep_values:
            values[i - i_start] = S
        if store:
            states[i - i_start + 1] = X


@numba.njit(**JIT)
def euler_adjoint(op, geom, gamma, act, Wc, bc, first, weights, h, lam,
                  i_start, i_stop, states, values, offset, Z, gW, gb, glam):
    """Run the adjoint of layers ``i_stop - 1`` down to ``i_start`` (eqs. 18-23).

    ``x_i`` is read from ``states[i - offset]``. If ``values.shape[0] > 0`` the activation
    values ``sigma(a_i)`` are read from ``values[i - offset]`` (as the forward sweep kept
    them); otherwise the layer is evaluated again on ``x_i``. Both give the same bits,
    since the values come from the same code either way. On entry ``Z`` holds ``z_{i_stop}``; on
    exit it holds ``z_{i_start}``. Each layer's gradient is added to ``gW``, ``gb`` (into
    its d+1 active coefficient sets) and to ``glam[0]``; nothing is zeroed first.
    Writes ``Z``, ``gW``, ``gb``, ``glam``.
    """
    n, m = Z.shape
    Wi = np.empty(Wc.shape[1])
    bi = np.empty(m)
    dWi = np.empty(Wc.shape[1])
    dbi = np.empty(m)
    col = np.empty(m)
    A = np.empty((n, m))
    S = np.empty((n, m))
    D = np.empty((n, m))
    G = np.empty((n, m))
    hl = h * lam
    kept = values.shape[0] > 0
    for i in range(i_stop - 1, i_start - 1, -1):
        X = states[i - offset]
        _gather(Wc, first[i], weights[i], Wi)
        if kept:
            S[:, :] = values[i - offset]
        else:
            _gather(bc, first[i], weights[i], bi)
            _preactivation(op, geom, gamma, Wi, bi, X, A)
            activate(act, A, S)
        slope(act, S, D)

        # time scale: d x_{i+1} / d lam = h sigma(a_i)
        # (partial sums per column first: independent lanes the compiler can vectorise,
        # then a fixed-order sum over the columns)
        col[:] = 0.0
        for b in range(n):
            for r in range(m):
                col[r] += S[b, r] * Z[b, r]
        acc = 0.0
        for r in range(m):
            acc += col[r]
        glam[0] += h * acc

        # g = h lam sigma'(a_i) (.) z_{i+1}, shared by eqs. 18, 21, 22
        for b in range(n):
            for r in range(m):
                G[b, r] = hl * D[b, r] * Z[b, r]

        # layer gradients (eqs. 21-22), summed over the batch
        op_param_grad(op, geom, gamma, X, G, dWi)
        dbi[:] = 0.0
        for b in range(n):
            for r in range(m):
                dbi[r] += G[b, r]

        # z_i = z_{i+1} + K(W_i)^T g  (eq. 18)
        op_apply_transpose(op, geom, gamma, Wi, G, Z)

        # add into the active coefficient sets (eq. 23)
        _scatter(dWi, first[i], weights[i], gW)
        _scatter(dbi, first[i], weights[i], gb)

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
m             ``fixed``  ``()`` or a tuple of m zeros: the state width compiled in
============  =========  =========================================================

A layer is ``x_{i+1} = x_i + h lam sigma(K(W_i) x_i + b_i)`` with ``W_i``, ``b_i``
gathered from the active coefficient sets (eqs. 5, 14, 15, 24).

Both sweeps run every layer with the same helper functions, so a layer evaluated inside
a long sweep and the same layer evaluated alone give the same bits; checkpointed and
store-everything gradients rely on that. The one-channel three-tap convolution takes its
layers row by row (:mod:`.conv_layers`), with the same arithmetic as the batch passes.
"""

import numba
import numpy as np

from ._config import INLINE, JIT
from .activations import activate, slope
from .conv_layers import is_taps3, taps3_adjoint_layer, taps3_forward_layer
from .convolution import sum_in_order
from .scratch import scratch_matrix, scratch_vector
from .operators import CONV, op_apply, op_apply_transpose, op_param_grad, width_of


# The activation and its slope run over flat buffers padded with zeros to a multiple of
# LANES entries: the compiler's vector loop then covers every entry, and no entry is left
# to the scalar remainder loop, where one tanh costs as much as a whole vector step.
LANES = 8

# Inside the sweeps every batch and every store is addressed flat: state k of a store is
# entries [k n m, (k + 1) n m), sample b of a state is entries [b m, (b + 1) m). Indexing
# 2-D and 3-D arrays in the per-layer loops costs more than the arithmetic of a narrow
# layer (see :mod:`.operators`). The layers read and write the stored states and
# activation values in place, through a flat view per state. (The coefficient tables stay
# 2-D: their rows are read whole, and so they measured faster.)


@numba.njit(**JIT)
def _padded(size):
    """A zeroed buffer of ``size`` entries rounded up to a multiple of :data:`LANES`."""
    return np.zeros((size + LANES - 1) // LANES * LANES)


@numba.njit(**INLINE)
def _gather(coef, first, weights, i, out, size):
    """``out[:size] = sum_j weights[i, j] * coef[first[i] + j, :size]`` (eqs. 14-15).

    One pass per active set over contiguous memory; every entry is summed in the order
    j = 0, 1, .., d, as the NumPy reference sums it.
    """
    k0 = first[i]
    for p in range(size):
        out[p] = 0.0
    for j in range(weights.shape[1]):
        w = weights[i, j]
        for p in range(size):
            out[p] += w * coef[k0 + j, p]


@numba.njit(**INLINE)
def _scatter(grad_layer, first, weights, i, grad_coef, size):
    """``grad_coef[first[i] + j, :size] += weights[i, j] * grad_layer[:size]`` (eq. 23)."""
    k0 = first[i]
    for j in range(weights.shape[1]):
        w = weights[i, j]
        for p in range(size):
            grad_coef[k0 + j, p] += w * grad_layer[p]


@numba.njit(**JIT)
def _theta_size(op, fixed, coef):
    """Entries of one layer's operator parameter: ``m * m``, a compile-time constant,
    for a dense or antisymmetric operator of fixed width; else the row length of
    ``coef``."""
    if op != CONV and len(fixed) > 0:
        return len(fixed) * len(fixed)
    return coef.shape[1]


@numba.njit(**INLINE)
def _copy(src, dst):
    """``dst[:] = src`` (equal lengths)."""
    for q in range(dst.shape[0]):
        dst[q] = src[q]


@numba.njit(**INLINE)
def _time_scale_grad(col, h, glam):
    """``glam[0] += h sum_r col[r]``, the sum in index order."""
    acc = 0.0
    for r in range(col.shape[0]):
        acc += col[r]
    glam[0] += h * acc


@numba.njit(**JIT)
def euler_forward(op, geom, gamma, act, fixed, Wc, bc, first, weights, h, lam,
                  i_start, i_stop, X, states, values):
    """Advance ``X`` from ``x_{i_start}`` to ``x_{i_stop}`` in place (eq. 5).

    Writes ``X``. If ``states.shape[0] > 0`` it also writes ``states[i - i_start] = x_i``
    for ``i = i_start .. i_stop`` (so ``states`` needs ``i_stop - i_start + 1`` slots),
    and if ``values.shape[0] > 0`` the activation values
    ``values[i - i_start] = sigma(a_i)`` for ``i = i_start .. i_stop - 1``. All arrays
    C-contiguous.
    """
    n, m = X.shape[0], width_of(fixed, X)
    nm = n * m
    P = _theta_size(op, fixed, Wc)
    Wi = np.empty(Wc.shape[1])
    bi = scratch_vector(fixed, m)
    rows = is_taps3(op, geom)
    A = _padded(0 if rows else nm)   # whole-batch buffers, or rows of m entries
    S = _padded(0 if rows else nm)
    Ar = _padded(m if rows else 0)
    Sr = _padded(m if rows else 0)
    x = X.reshape(nm)
    st = states.reshape(states.size)
    va = values.reshape(values.size)
    hl = h * lam
    store = states.shape[0] > 0
    keep_values = values.shape[0] > 0
    xi = x                            # x_i: X itself, or its slot in the stores
    if store:
        xi = st[:nm]
        _copy(x, xi)
    for i in range(i_start, i_stop):
        k = i - i_start
        _gather(Wc, first, weights, i, Wi, P)
        _gather(bc, first, weights, i, bi, m)
        xnext = st[(k + 1) * nm:(k + 2) * nm] if store else x
        if rows:
            taps3_forward_layer(act, Wi, bi, hl, n, m, xi, xnext, va, k * nm, keep_values,
                                Ar, Sr)
            xi = xnext
            continue
        op_apply(op, geom, gamma, fixed, Wi, bi, n, xi, A)     # K(W_i) x + b_i
        if keep_values and nm % LANES == 0:
            si = va[k * nm:(k + 1) * nm]
            activate(act, A[:nm], si)
        else:
            # over the padded buffer, so that no entry falls into the scalar remainder
            # loop (see LANES), and copied into the store if kept
            si = S
            activate(act, A, S)
            if keep_values:
                _copy(S[:nm], va[k * nm:(k + 1) * nm])
        # one flat loop: a loop over samples and then the width would not vectorise
        for q in range(nm):
            xnext[q] = xi[q] + hl * si[q]
        xi = xnext
    if store:
        _copy(xi, x)


@numba.njit(**JIT)
def euler_adjoint(op, geom, gamma, act, fixed, Wc, bc, first, weights, h, lam,
                  i_start, i_stop, states, values, offset, Z, gW, gb, glam):
    """Run the adjoint of layers ``i_stop - 1`` down to ``i_start`` (eqs. 18-23).

    ``x_i`` is read from ``states[i - offset]``. If ``values.shape[0] > 0`` the activation
    values ``sigma(a_i)`` are read from ``values[i - offset]`` (as the forward sweep kept
    them); otherwise the layer is evaluated again on ``x_i``. Both give the same bits,
    since the values come from the same code either way. On entry ``Z`` holds
    ``z_{i_stop}``; on exit it holds ``z_{i_start}``. Each layer's gradient is added to
    ``gW``, ``gb`` (into its d+1 active coefficient sets) and to ``glam[0]``; nothing is
    zeroed first. Writes ``Z``, ``gW``, ``gb``, ``glam``. All arrays C-contiguous.
    """
    n, m = Z.shape[0], width_of(fixed, Z)
    nm = n * m
    P = _theta_size(op, fixed, Wc)
    Wi = scratch_matrix(fixed, Wc.shape[1])
    bi = scratch_vector(fixed, m)
    dWi = scratch_matrix(fixed, Wc.shape[1])
    dbi = scratch_vector(fixed, m)
    col = scratch_vector(fixed, m)
    rows = is_taps3(op, geom)
    size = 0 if rows else nm          # whole-batch buffers, or rows of m entries
    A = _padded(size)
    S = _padded(size)
    D = _padded(size)
    G = np.empty(size)
    row = m if rows else 0
    Ar, Sr, Dr, Gr = _padded(row), _padded(row), _padded(row), _padded(row)
    rows3 = np.empty((3, row))
    z = Z.reshape(nm)
    st = states.reshape(states.size)
    va = values.reshape(values.size)
    hl = h * lam
    kept = values.shape[0] > 0
    for i in range(i_stop - 1, i_start - 1, -1):
        o = (i - offset) * nm
        xi = st[o:o + nm]
        _gather(Wc, first, weights, i, Wi, P)
        if rows:
            if not kept:
                _gather(bc, first, weights, i, bi, m)
            taps3_adjoint_layer(act, Wi, bi, hl, n, m, xi, z, va, o, kept, col, dbi, rows3,
                                Ar, Sr, Dr, Gr)
            _time_scale_grad(col, h, glam)
            for q in range(3):
                dWi[q] = sum_in_order(rows3[q])
            _scatter(dWi, first, weights, i, gW, P)
            _scatter(dbi, first, weights, i, gb, m)
            continue
        if kept:
            si = va[o:o + nm]
            slope(act, si, D)
        else:
            _gather(bc, first, weights, i, bi, m)
            op_apply(op, geom, gamma, fixed, Wi, bi, n, xi, A)     # K(W_i) x + b_i
            activate(act, A, S)
            si = S
            slope(act, S, D)

        # One pass for three sums over the batch:
        # - time scale: d x_{i+1} / d lam = h sigma(a_i), so glam gets h sigma(a_i) . z_{i+1}
        #   (partial sums per column: independent lanes the compiler can vectorise; then
        #   a fixed-order sum over the columns);
        # - g = h lam sigma'(a_i) (.) z_{i+1}, shared by eqs. 18, 21, 22;
        # - the bias gradient, g summed over the batch (eq. 22).
        for r in range(m):
            col[r] = 0.0
            dbi[r] = 0.0
        for b in range(n):
            for r in range(m):
                q = b * m + r
                zq = z[q]
                col[r] += si[q] * zq
                g = hl * D[q] * zq
                G[q] = g
                dbi[r] += g
        _time_scale_grad(col, h, glam)

        # the operator's gradient (eq. 21), summed over the batch
        op_param_grad(op, geom, gamma, fixed, n, xi, G, dWi)

        # z_i = z_{i+1} + K(W_i)^T g  (eq. 18)
        op_apply_transpose(op, geom, gamma, fixed, Wi, n, G, z)

        # add into the active coefficient sets (eq. 23)
        _scatter(dWi, first, weights, i, gW, P)
        _scatter(dbi, first, weights, i, gb, m)

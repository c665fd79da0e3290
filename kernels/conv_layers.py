"""Whole layers of the one-channel three-tap convolution, one sample at a time.

The paper's convolutional network (one channel, a kernel of three taps, a 1-D signal of m
entries) does little arithmetic per entry: three products for the convolution, one for
the Euler step. Run as whole-batch passes (convolve, add the bias, activate, step) every
pass reads and writes the whole batch once more. These routines take one sample's row at
a time through all of a layer's steps, in row buffers that stay in the first-level cache,
and read and write each stored state once. Every loop runs over one row, through a view
of it: indexing the flat batch at ``b m + j`` instead, with ``m`` known only at run time,
each index would be checked for wrapping around below zero, which keeps the compiler from
vectorising the loop (measured: a three-tap row loop six times slower). The forward layer
of the Indian Pines network (width 200, 32 samples) went from 5.2 to 3.5 microseconds;
the adjoint layer is as fast as the batch passes were, its loops being bound by their
arithmetic (no fused multiply-add: see :mod:`._config`).

They compute exactly what :func:`.euler.euler_forward` and :func:`.euler.euler_adjoint`
compute with the routines of :mod:`.convolution` for this operator: every entry is the
same expression, and every sum over the batch runs over the samples in the same order.
So they give the same bits; they only interleave the work differently.

Notation as in :mod:`.euler`: flat batches of ``n`` samples of ``m`` entries, sample ``b``
at ``[b m, (b + 1) m)``; ``w0, w1, w2`` the kernel taps (``a[j] = w0 x[j - 1] + w1 x[j]
+ w2 x[j + 1]``, zero outside the row); ``hl = h lam``. The row buffers ``Ar``, ``Sr``,
``Dr``, ``Gr`` are at least ``m`` long and padded with zeros to a multiple of
:data:`.euler.LANES`, which the activation and its slope run over whole.
"""

import numba

from ._config import INLINE
from .activations import activate, slope
from .convolution import taps3_add, taps3_products, taps3_set
from .operators import CONV


@numba.njit(**INLINE)
def is_taps3(op, geom):
    """Whether the operator is the one these routines serve: a convolution of one channel
    on a 1-D grid with three taps."""
    return (op == CONV and geom[0] == 1 and geom[1] == 1 and geom[3] == 1
            and geom[4] == 3)


@numba.njit(**INLINE)
def _row_preactivation(w0, w1, w2, bi, x, m, Ar):
    """``Ar[:m] = K x + bi`` for the row ``x``: the convolution written into the row,
    then the bias added, as the batch passes do."""
    taps3_set(w0, w1, w2, x, Ar[:m])
    for j in range(m):
        Ar[j] += bi[j]


@numba.njit(**INLINE)
def taps3_forward_layer(act, W, bi, hl, n, m, xi, xnext, va, vo, keep_values, Ar, Sr):
    """One forward layer: ``xnext = xi + hl sigma(K(W) xi + bi)`` row by row.

    ``xnext`` may be ``xi`` itself (each row is read whole before it is written). With
    ``keep_values`` the activation values go to ``va[vo : vo + n m]``.
    """
    w0, w1, w2 = W[0], W[1], W[2]
    for b in range(n):
        # views of the rows: indices of the form b m + j, with m known only at run
        # time, would each be checked for wrapping around below zero, which stops the
        # compiler from vectorising the loops
        x = xi[b * m:(b + 1) * m]
        _row_preactivation(w0, w1, w2, bi, x, m, Ar)
        activate(act, Ar, Sr)
        # the step goes through the row buffer: written straight into xnext, which may
        # be xi, the compiler could not rule out overlap and would not vectorise it
        for j in range(m):
            Ar[j] = x[j] + hl * Sr[j]
        xn = xnext[b * m:(b + 1) * m]
        for j in range(m):
            xn[j] = Ar[j]
        if keep_values:
            v = va[vo + b * m:vo + (b + 1) * m]
            for j in range(m):
                v[j] = Sr[j]


@numba.njit(**INLINE)
def taps3_adjoint_layer(act, W, bi, hl, n, m, xi, z, va, vo, kept, col, dbi, rows3,
                        Ar, Sr, Dr, Gr):
    """One adjoint layer, row by row (eqs. 18, 21, 22 and the time scale's sum).

    Reads ``x_i`` from ``xi`` and, when ``kept``, the activation values from
    ``va[vo : vo + n m]`` (else evaluates them again from ``xi`` and ``bi``). Turns
    ``z = z_{i+1}`` into ``z_i`` in place. Overwrites ``col`` and ``dbi`` with the sums
    over the batch of ``sigma(a) z`` and of ``g = hl sigma'(a) z`` per entry, and
    ``rows3[q, j]`` with the sums of ``g[j] x[j + q - 1]``; the caller sums them up.
    """
    w0, w1, w2 = W[0], W[1], W[2]
    for j in range(m):
        col[j] = 0.0
        dbi[j] = 0.0
    rows3[:, :] = 0.0
    for b in range(n):
        x = xi[b * m:(b + 1) * m]           # row views, as in the forward layer
        zr = z[b * m:(b + 1) * m]
        if kept:
            v = va[vo + b * m:vo + (b + 1) * m]
            for j in range(m):
                Sr[j] = v[j]
        else:
            _row_preactivation(w0, w1, w2, bi, x, m, Ar)
            activate(act, Ar, Sr)
        slope(act, Sr, Dr)
        # three short loops: one loop writing three arrays would need more run-time
        # overlap checks than the compiler makes, and it would not be vectorised
        for j in range(m):
            Gr[j] = hl * Dr[j] * zr[j]
        for j in range(m):
            col[j] += Sr[j] * zr[j]
        for j in range(m):
            dbi[j] += Gr[j]
        # the kernel's gradient: products of g with x at the three shifts
        taps3_products(Gr[:m], x, rows3)
        # z += K^T g: the reversed kernel
        taps3_add(w2, w1, w0, Gr, zr)

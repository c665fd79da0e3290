"""Multi-channel convolution (cross-correlation) with zero "same" padding.

The state of one sample is a C x n1 x n2 tensor stored flat in C order, so entry
``(c, i, j)`` sits at ``(c * n1 + i) * n2 + j`` of the row. A 1-D signal of length n is
the case ``n1 = 1, n2 = n`` with a 1 x k kernel, which has the same flat layout as a
length-k kernel; so the same three routines serve every convolutional operator.

Symbols
-------
=============  ===========  ===============================================
symbol         identifier   meaning
=============  ===========  ===============================================
C              ``C``        channels (in and out)
n1, n2         ``n1, n2``   spatial sizes (``n1 = 1`` for a 1-D signal)
k1, k2         ``k1, k2``   kernel sizes, odd (``k1 = 1`` for a 1-D signal)
h1, h2         ``h1, h2``   half widths ``k // 2``: the zero padding per side
w[o, c, p, q]  ``theta``    kernel, flat, index ``((o * C + c) * k1 + p) * k2 + q``
=============  ===========  ===============================================

``geom = (C, n1, n2, k1, k2)``. The operator, for every sample (rows of ``X``):

    a[o, i, j] = sum_{c, p, q} w[o, c, p, q] x[c, i + p - h1, j + q - h2]

with ``x`` zero outside its grid.

Loop order
----------
The forward and transposed products loop over samples, then over kernel taps; the kernel
gradient loops over taps, then over samples. Every innermost loop runs over one long
contiguous stretch of a row with no carried dependency (an axpy, or an entrywise product
added into a buffer), so it vectorises; buffers are allocated once per call, never inside
the loops.

* 1-D grids: for the tap ``q`` (shift ``s = q - h2``) the outputs whose source lies in
  the grid are ``j0 <= j < j1``; ``a[o, j0:j1] += w x[c, j0+s:j1+s]`` reads and writes the
  rows directly. A three-tap kernel (the paper's) takes all three taps in one pass.
* 2-D grids: each sample is first copied into a zero-bordered buffer of row length
  ``W = n2 + 2 h2``, and outputs are kept with the same row length. In that layout every
  tap ``(p, q)`` is one fixed flat shift ``p W + q`` over the whole image, so each tap is a
  single axpy of length ``(n1 - 1) W + n2``; the ``2 h2`` extra entries per row are
  discarded when the result is copied out (or are zeros, where they are read).
"""

import numba
import numpy as np

from ._config import INLINE, JIT


@numba.njit(**JIT)
def _valid(n, shift):
    """The range ``[lo, hi)`` of indices ``j`` with ``0 <= j + shift < n``."""
    return max(0, -shift), min(n, n - shift)


@numba.njit(**JIT)
def _axpy(w, x, y):
    """``y += w * x`` (equal lengths)."""
    for j in range(y.shape[0]):
        y[j] += w * x[j]


@numba.njit(**JIT)
def _add_product(x, y, acc):
    """``acc += x * y`` entry by entry (equal lengths)."""
    for j in range(acc.shape[0]):
        acc[j] += x[j] * y[j]


@numba.njit(**INLINE)
def taps3_add(w0, w1, w2, x, a):
    """``a[j] += w0 x[j - 1] + w1 x[j] + w2 x[j + 1]`` for ``j < len(a)``, with ``x`` zero
    outside ``a``'s length (``x`` may be longer).

    The three-tap kernel in one pass (the paper's kernel width): the generic loop makes
    one pass per tap."""
    n = a.shape[0]
    if n == 1:
        a[0] += w1 * x[0]
        return
    a[0] += w1 * x[0] + w2 * x[1]
    for j in range(1, n - 1):
        a[j] += w0 * x[j - 1] + w1 * x[j] + w2 * x[j + 1]
    a[n - 1] += w0 * x[n - 2] + w1 * x[n - 1]


@numba.njit(**INLINE)
def taps3_set(w0, w1, w2, x, a):
    """``a[j] = 0 + (w0 x[j - 1] + w1 x[j] + w2 x[j + 1])``: :func:`taps3_add` into a
    zeroed row in one pass, with the same bits (the ``0 +`` is kept: it turns -0.0
    into +0.0, as the addition into a zeroed row does)."""
    n = a.shape[0]
    if n == 1:
        a[0] = 0.0 + w1 * x[0]
        return
    a[0] = 0.0 + (w1 * x[0] + w2 * x[1])
    for j in range(1, n - 1):
        a[j] = 0.0 + (w0 * x[j - 1] + w1 * x[j] + w2 * x[j + 1])
    a[n - 1] = 0.0 + (w0 * x[n - 2] + w1 * x[n - 1])


@numba.njit(**INLINE)
def taps3_products(g, x, t):
    """``t[q, j] += g[j] x[j + q - 1]`` for ``q = 0, 1, 2`` (in-row terms only)."""
    n = g.shape[0]
    for j in range(n):
        t[1, j] += g[j] * x[j]
    for j in range(1, n):
        t[0, j] += g[j] * x[j - 1]
    for j in range(n - 1):
        t[2, j] += g[j] * x[j + 1]


@numba.njit(**JIT)
def _to_padded(x, C, n1, n2, h1, h2, out):
    """Copy one flat sample ``x`` (C n1 n2) into rows of length ``n2 + 2 h2`` of ``out``
    (C, (n1 + 2 h1)(n2 + 2 h2)), starting at row ``h1`` and column ``h2``; the border of
    ``out`` is left as it is."""
    W = n2 + 2 * h2
    for c in range(C):
        for i in range(n1):
            src = (c * n1 + i) * n2
            dst = (i + h1) * W + h2
            out[c, dst:dst + n2] = x[src:src + n2]


# ---------------------------------------------------------------------- forward

@numba.njit(**JIT)
def conv_apply(geom, theta, X, A):
    """Write ``A = X K^T``: each row ``a = K x`` (the formula of the module docstring)."""
    C, n1, n2, k1, k2 = geom[0], geom[1], geom[2], geom[3], geom[4]
    h1, h2 = k1 // 2, k2 // 2
    if n1 == 1 and k1 == 1:
        # a[o, j0:j1] += w[o, c, q] x[c, j0+s:j1+s]
        for b in range(X.shape[0]):
            x = X[b]
            a = A[b]
            if C == 1 and k2 == 3:
                # the paper's layer: one channel, three taps, the row written in one pass
                taps3_set(theta[0], theta[1], theta[2], x, a)
                continue
            a[:] = 0.0
            for o in range(C):
                for c in range(C):
                    if k2 == 3:
                        t = 3 * (o * C + c)
                        taps3_add(theta[t], theta[t + 1], theta[t + 2],
                                   x[c * n2:(c + 1) * n2], a[o * n2:(o + 1) * n2])
                        continue
                    for q in range(k2):
                        s = q - h2
                        j0, j1 = _valid(n2, s)
                        _axpy(theta[(o * C + c) * k2 + q], x[c * n2 + j0 + s:c * n2 + j1 + s],
                              a[o * n2 + j0:o * n2 + j1])
        return

    # 2-D: ap[o, i W + j] += w[o, c, p, q] xp[c, (i + p) W + (j + q)], one flat shift per tap
    W = n2 + 2 * h2
    span = (n1 - 1) * W + n2
    xp = np.zeros((C, (n1 + 2 * h1) * W))
    ap = np.empty((C, span))
    for b in range(X.shape[0]):
        _to_padded(X[b], C, n1, n2, h1, h2, xp)
        ap[:, :] = 0.0
        for o in range(C):
            for c in range(C):
                for p in range(k1):
                    for q in range(k2):
                        s = p * W + q
                        _axpy(theta[((o * C + c) * k1 + p) * k2 + q], xp[c, s:s + span], ap[o])
        for o in range(C):
            for i in range(n1):
                dst = (o * n1 + i) * n2
                A[b, dst:dst + n2] = ap[o, i * W:i * W + n2]


# ---------------------------------------------------------------------- adjoint

@numba.njit(**JIT)
def conv_add_transpose(geom, theta, G, Z):
    """Add ``G K`` to ``Z``: each row ``z += K^T g``, i.e. every term of the forward sum
    sends ``w[o, c, p, q] g[o, i, j]`` back to ``z[c, i + p - h1, j + q - h2]`` (in-grid
    targets only)."""
    C, n1, n2, k1, k2 = geom[0], geom[1], geom[2], geom[3], geom[4]
    h1, h2 = k1 // 2, k2 // 2
    if n1 == 1 and k1 == 1:
        # z[c, j0+s:j1+s] += w[o, c, q] g[o, j0:j1]
        for b in range(G.shape[0]):
            g = G[b]
            z = Z[b]
            if C == 1 and k2 == 3:
                taps3_add(theta[2], theta[1], theta[0], g, z)
                continue
            for o in range(C):
                for c in range(C):
                    if k2 == 3:
                        # K^T of a three-tap kernel is the reversed kernel
                        t = 3 * (o * C + c)
                        taps3_add(theta[t + 2], theta[t + 1], theta[t],
                                   g[o * n2:(o + 1) * n2], z[c * n2:(c + 1) * n2])
                        continue
                    for q in range(k2):
                        s = q - h2
                        j0, j1 = _valid(n2, s)
                        _axpy(theta[(o * C + c) * k2 + q], g[o * n2 + j0:o * n2 + j1],
                              z[c * n2 + j0 + s:c * n2 + j1 + s])
        return

    # 2-D: zp[c, (i + p) W + (j + q)] += w[o, c, p, q] gw[o, i W + j], where gw holds g in
    # rows of length W with zeros in the 2 h2 extra columns (so they send nothing back)
    W = n2 + 2 * h2
    span = (n1 - 1) * W + n2
    gw = np.zeros((C, span + 2 * h2))
    zp = np.empty((C, (n1 + 2 * h1) * W))
    for b in range(G.shape[0]):
        _to_padded(G[b], C, n1, n2, 0, h2, gw)
        zp[:, :] = 0.0
        for o in range(C):
            for c in range(C):
                for p in range(k1):
                    for q in range(k2):
                        s = p * W + q
                        _axpy(theta[((o * C + c) * k1 + p) * k2 + q], gw[o, h2:h2 + span],
                              zp[c, s:s + span])
        for c in range(C):
            for i in range(n1):
                dst = (c * n1 + i) * n2
                src = (i + h1) * W + h2
                _axpy(1.0, zp[c, src:src + n2], Z[b, dst:dst + n2])


@numba.njit(**INLINE)
def sum_in_order(x):
    """``sum_j x[j]`` in index order."""
    acc = 0.0
    for j in range(x.shape[0]):
        acc += x[j]
    return acc


@numba.njit(**JIT)
def conv_param_grad(geom, X, G, dtheta):
    """Write the kernel gradient of ``sum_b g_b . K x_b`` into ``dtheta``:

    ``dw[o, c, p, q] = sum_{b, i, j} g[b, o, i, j] x[b, c, i + p - h1, j + q - h2]``.

    Per tap, the products are first summed over the batch entry by entry into a row
    buffer (a loop without a carried dependency, so it vectorises), and the buffer is
    summed once at the end. A 2-D grid needs the zero-bordered copies of the whole batch
    (two arrays about the size of ``X``).
    """
    C, n1, n2, k1, k2 = geom[0], geom[1], geom[2], geom[3], geom[4]
    h1, h2 = k1 // 2, k2 // 2
    n = X.shape[0]
    if n1 == 1 and k1 == 1:
        # dw[o, c, q] = sum_j sum_b g[b, o, j] x[b, c, j + s] over j0 <= j < j1
        row = np.empty(n2)
        rows3 = np.empty((3, n2))
        for o in range(C):
            for c in range(C):
                if k2 == 3:
                    rows3[:, :] = 0.0
                    for b in range(n):
                        if C == 1:
                            taps3_products(G[b], X[b], rows3)
                        else:
                            taps3_products(G[b, o * n2:(o + 1) * n2],
                                            X[b, c * n2:(c + 1) * n2], rows3)
                    for q in range(3):
                        dtheta[3 * (o * C + c) + q] = sum_in_order(rows3[q])
                    continue
                for q in range(k2):
                    s = q - h2
                    j0, j1 = _valid(n2, s)
                    acc = row[:j1 - j0]
                    acc[:] = 0.0
                    for b in range(n):
                        _add_product(G[b, o * n2 + j0:o * n2 + j1],
                                     X[b, c * n2 + j0 + s:c * n2 + j1 + s], acc)
                    dtheta[(o * C + c) * k2 + q] = sum_in_order(acc)
        return

    # 2-D: dw[o, c, p, q] = sum_b gw[b, o, :span] . xp[b, c, s:s + span] with s = p W + q
    # (the extra columns of gw are zero, so the padding terms drop out)
    W = n2 + 2 * h2
    span = (n1 - 1) * W + n2
    gw = np.zeros((n, C, span + 2 * h2))
    xp = np.zeros((n, C, (n1 + 2 * h1) * W))
    for b in range(n):
        _to_padded(G[b], C, n1, n2, 0, h2, gw[b])
        _to_padded(X[b], C, n1, n2, h1, h2, xp[b])
    acc = np.empty(span)
    for o in range(C):
        for c in range(C):
            for p in range(k1):
                for q in range(k2):
                    s = p * W + q
                    acc[:] = 0.0
                    for b in range(n):
                        _add_product(gw[b, o, h2:h2 + span], xp[b, c, s:s + span], acc)
                    dtheta[((o * C + c) * k1 + p) * k2 + q] = sum_in_order(acc)

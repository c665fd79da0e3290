"""The closing layer and the loss on the final state, and their adjoint (eq. 17).

Closings by id: 0 mean ``o = mean_j x_j`` (one output), 1 identity ``o = x``, 2 dense
``o = x C^T + c``. Losses by id: 0 mean squared error
``0.5 mean_b sum_k (o[b, k] - y[b, k])^2``, 1 softmax cross-entropy against integer labels
``mean_b (logsumexp(o[b]) - o[b, y_b])``. Both losses average over the batch, so every
gradient with respect to ``o`` carries a factor ``1 / B``. The NumPy reference of the
same formulas is :mod:`pysplinet.losses` with the closings of
:class:`pysplinet.network.Network`.
"""

import math

import numba
import numpy as np

from ._config import JIT

MEAN, IDENTITY, DENSE = 0, 1, 2
MSE, CROSS_ENTROPY = 0, 1


@numba.njit(**JIT)
def close(closing, Wo, bo, X, O):
    """Write the network output ``O`` (B, k) of the final states ``X`` (B, m)."""
    n, m = X.shape
    if closing == MEAN:
        inv = 1.0 / m
        for b in range(n):
            acc = 0.0
            for j in range(m):
                acc += X[b, j]
            O[b, 0] = acc * inv
    elif closing == IDENTITY:
        for b in range(n):
            for j in range(m):
                O[b, j] = X[b, j]
    else:
        for b in range(n):
            for k in range(Wo.shape[0]):
                acc = 0.0
                for j in range(m):
                    acc += Wo[k, j] * X[b, j]
                O[b, k] = acc + bo[k]


@numba.njit(**JIT)
def _loss_add(loss, O, Y, labels, G, inv, acc):
    """Add the loss terms of the rows of ``O`` to the running sum ``acc`` and return it;
    write ``G = inv * d(terms)/dO``.

    The terms are added one sample after another into the one sum, so a batch taken in
    consecutive pieces, with the sum carried from piece to piece, gives the same bits as
    the whole batch at once. Scaled by :func:`_loss_finish`.
    """
    n, k = O.shape
    if loss == MSE:
        for b in range(n):
            for c in range(k):
                r = O[b, c] - Y[b, c]
                acc += r * r
                G[b, c] = r * inv
        return acc
    for b in range(n):
        top = O[b, 0]
        for c in range(1, k):
            top = max(top, O[b, c])
        s = 0.0
        for c in range(k):
            G[b, c] = math.exp(O[b, c] - top)
            s += G[b, c]
        y = labels[b]
        acc += (top - O[b, y]) + math.log(s)
        for c in range(k):
            G[b, c] = G[b, c] / s * inv
        G[b, y] -= inv
    return acc


@numba.njit(**JIT)
def _loss_finish(loss, acc, inv):
    """The loss from the sum of its terms over the batch (``inv = 1 / B``)."""
    return 0.5 * acc * inv if loss == MSE else acc * inv


@numba.njit(**JIT)
def loss_value_and_grad(loss, O, Y, labels, G):
    """Return the loss of the outputs ``O`` (B, k) and write ``G = dloss/dO``.

    ``Y`` (B, k) holds the targets of the mean squared error, ``labels`` (B,) the classes
    of the cross-entropy; the other one is not read. The cross-entropy shifts each row by
    its maximum first, so large logits neither overflow nor lose digits.
    """
    inv = 1.0 / O.shape[0]
    return _loss_finish(loss, _loss_add(loss, O, Y, labels, G, inv, 0.0), inv)


@numba.njit(**JIT)
def head_add(closing, loss, Wo, bo, Y, labels, X, Z, gWo, gbo, inv, acc):
    """The head on a piece of the batch: add its loss terms to ``acc`` and return the sum.

    ``X`` holds the final states of the piece's samples, ``Y`` or ``labels`` their
    targets, ``inv`` is one over the size of the whole batch. Writes ``Z = dloss/dx_N``
    of the piece and, with the dense closing, adds the piece's part of the closing's
    gradients to ``gWo``, ``gbo``. Every sum over samples runs one sample after another,
    so the pieces taken in order give the bits of the whole batch.
    """
    n, m = X.shape
    k = 1 if closing == MEAN else (m if closing == IDENTITY else Wo.shape[0])
    O = np.empty((n, k))
    G = np.empty((n, k))
    close(closing, Wo, bo, X, O)
    acc = _loss_add(loss, O, Y, labels, G, inv, acc)
    if closing == MEAN:
        inv_m = 1.0 / m
        for b in range(n):
            g = G[b, 0] * inv_m
            for j in range(m):
                Z[b, j] = g
    elif closing == IDENTITY:
        for b in range(n):
            for j in range(m):
                Z[b, j] = G[b, j]
    else:
        for b in range(n):
            for j in range(m):
                Z[b, j] = 0.0
            for c in range(k):
                g = G[b, c]
                gbo[c] += g
                for j in range(m):
                    gWo[c, j] += g * X[b, j]
                    Z[b, j] += g * Wo[c, j]
    return acc


@numba.njit(**JIT)
def head_value_and_grad(closing, loss, Wo, bo, Y, labels, X, Z, gWo, gbo):
    """Return the loss of the final states ``X`` (B, m) and write ``Z = dloss/dx_N``.

    With the dense closing it also writes the closing's gradients ``gWo`` (k, m) and
    ``gbo`` (k,) (otherwise those are not touched). Writes ``Z``, ``gWo``, ``gbo``.
    """
    if closing == DENSE:
        gWo[:, :] = 0.0
        gbo[:] = 0.0
    inv = 1.0 / X.shape[0]
    acc = head_add(closing, loss, Wo, bo, Y, labels, X, Z, gWo, gbo, inv, 0.0)
    return _loss_finish(loss, acc, inv)

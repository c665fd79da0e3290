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
        # o[b, k] = (sum_j C[k, j] x[b, j]) + c[k], each sum in the order j = 0, 1, ..;
        # the outputs of a sample advance together (over the rows of C^T), so the
        # loop runs across k and vectorises, where one sum at a time cannot
        k = Wo.shape[0]
        WoT = np.ascontiguousarray(Wo.T)
        acc = np.empty(k)
        for b in range(n):
            acc[:] = 0.0
            for j in range(m):
                xv = X[b, j]
                wr = WoT[j]
                for c in range(k):
                    acc[c] += wr[c] * xv
            for c in range(k):
                O[b, c] = acc[c] + bo[c]


@numba.njit(**JIT)
def _loss_terms(loss, O, Y, labels, G, inv, T):
    """Write the loss terms of the rows of ``O`` into ``T`` and ``G = inv * d(terms)/dO``.

    Mean squared error: ``T[b, c] = (o[b, c] - y[b, c])^2``; cross-entropy:
    ``T[b, 0] = logsumexp(o[b]) - o[b, y_b]``. The loss is ``loss_finish`` of the terms
    summed in index order (:func:`_terms_add`): summing the same terms in the same order
    gives the same bits whether the batch is taken whole or piece by piece.
    """
    n, k = O.shape
    if loss == MSE:
        for b in range(n):
            for c in range(k):
                r = O[b, c] - Y[b, c]
                T[b, c] = r * r
                G[b, c] = r * inv
        return
    for b in range(n):
        top = O[b, 0]
        for c in range(1, k):
            top = max(top, O[b, c])
        s = 0.0
        for c in range(k):
            G[b, c] = math.exp(O[b, c] - top)
            s += G[b, c]
        y = labels[b]
        T[b, 0] = (top - O[b, y]) + math.log(s)
        for c in range(k):
            G[b, c] = G[b, c] / s * inv
        G[b, y] -= inv


@numba.njit(**JIT)
def term_shape(loss, n, k):
    """The shape of the loss terms of ``n`` outputs of ``k`` entries."""
    return (n, k) if loss == MSE else (n, 1)


@numba.njit(**JIT)
def _terms_add(T, acc):
    """``acc`` plus the entries of ``T`` one after another, in index order."""
    for b in range(T.shape[0]):
        for c in range(T.shape[1]):
            acc += T[b, c]
    return acc


@numba.njit(**JIT)
def loss_finish(loss, acc, inv):
    """The loss from the sum of its terms over the batch (``inv = 1 / B``)."""
    return 0.5 * acc * inv if loss == MSE else acc * inv


@numba.njit(**JIT)
def loss_value_and_grad(loss, O, Y, labels, G):
    """Return the loss of the outputs ``O`` (B, k) and write ``G = dloss/dO``.

    ``Y`` (B, k) holds the targets of the mean squared error, ``labels`` (B,) the classes
    of the cross-entropy; the other one is not read. The cross-entropy shifts each row by
    its maximum first, so large logits neither overflow nor lose digits.
    """
    n, k = O.shape
    inv = 1.0 / n
    T = np.empty(term_shape(loss, n, k))
    _loss_terms(loss, O, Y, labels, G, inv, T)
    return loss_finish(loss, _terms_add(T, 0.0), inv)


@numba.njit(**JIT)
def head_piece(closing, loss, Wo, bo, Y, labels, X, Z, G, T, inv):
    """The head on a piece of the batch, all but its sums over samples.

    ``X`` holds the final states of the piece's samples, ``Y`` or ``labels`` their
    targets, ``inv`` is one over the size of the whole batch. Writes ``Z = dloss/dx_N``
    of the piece, ``G = dloss/do`` and the loss terms ``T`` (:func:`_loss_terms`); each
    row of them depends on its own sample alone. :func:`head_sums` adds the rest.
    """
    n, m = X.shape
    k = G.shape[1]
    O = np.empty((n, k))
    close(closing, Wo, bo, X, O)
    _loss_terms(loss, O, Y, labels, G, inv, T)
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
                for j in range(m):
                    Z[b, j] += g * Wo[c, j]


@numba.njit(**JIT)
def head_sums(closing, X, G, T, gWo, gbo, acc):
    """The sums over the samples of a piece (after :func:`head_piece`): return ``acc``
    plus its loss terms, and with the dense closing add its part of the closing's
    gradients to ``gWo``, ``gbo``. The sums run one sample after another, so the pieces
    taken in order give the bits of the whole batch."""
    acc = _terms_add(T, acc)
    if closing == DENSE:
        n, m = X.shape
        for b in range(n):
            for c in range(G.shape[1]):
                g = G[b, c]
                gbo[c] += g
                for j in range(m):
                    gWo[c, j] += g * X[b, j]
    return acc


@numba.njit(**JIT)
def n_outputs(closing, Wo, m):
    """The number of outputs of a closing on states of width ``m``."""
    return 1 if closing == MEAN else (m if closing == IDENTITY else Wo.shape[0])


@numba.njit(**JIT)
def head_add(closing, loss, Wo, bo, Y, labels, X, Z, gWo, gbo, inv, acc):
    """The head on a piece of the batch, sums included: :func:`head_piece`, then
    :func:`head_sums`. Returns ``acc`` plus the piece's loss terms; writes ``Z`` and adds
    to ``gWo``, ``gbo`` (dense closing)."""
    n, m = X.shape
    k = n_outputs(closing, Wo, m)
    G = np.empty((n, k))
    T = np.empty(term_shape(loss, n, k))
    head_piece(closing, loss, Wo, bo, Y, labels, X, Z, G, T, inv)
    return head_sums(closing, X, G, T, gWo, gbo, acc)

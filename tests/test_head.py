"""The compiled closing and loss (pysplinet.kernels.head) against the NumPy reference
(pysplinet.reference.close / close_adjoint with pysplinet.losses)."""

import numpy as np
import pytest

from pysplinet import reference
from pysplinet.kernels import head
from pysplinet.losses import loss_value_and_grad

CLOSINGS = {"mean": head.MEAN, "identity": head.IDENTITY, "dense": head.DENSE}
LOSSES = {"mse": head.MSE, "cross_entropy": head.CROSS_ENTROPY}


# every pair but mean + cross-entropy: the mean closing gives one output, and the
# cross-entropy needs two classes
PAIRS = [(c, l) for c in CLOSINGS for l in LOSSES if (c, l) != ("mean", "cross_entropy")]


def _whole_batch(closing, loss, Wo, bo, y, labels, X):
    """``(loss, z_N, gWo, gbo)`` of the compiled head on the whole batch as one piece."""
    Z, gWo, gbo = np.empty(X.shape), np.zeros(Wo.shape), np.zeros(bo.shape)
    inv = 1.0 / X.shape[0]
    acc = head.head_add(CLOSINGS[closing], LOSSES[loss], Wo, bo, y, labels, X, Z, gWo, gbo,
                        inv, 0.0)
    return head.loss_finish(LOSSES[loss], acc, inv), Z, gWo, gbo


@pytest.mark.parametrize("closing, loss", PAIRS)
def test_head_matches_the_reference(closing, loss):
    rng = np.random.default_rng(3)
    n, m = 7, 5
    k = {"mean": 1, "identity": m, "dense": 3}[closing]
    X = rng.normal(size=(n, m))
    Wo = rng.normal(size=(k, m)) if closing == "dense" else np.empty((0, 0))
    bo = rng.normal(size=k) if closing == "dense" else np.empty(0)
    if loss == "mse":
        y, labels = rng.normal(size=(n, k)), np.empty(0, np.int64)
        target = y
    else:
        y, labels = np.empty((0, 0)), rng.integers(0, k, n)
        target = labels

    value, Z, gWo, gbo = _whole_batch(closing, loss, Wo, bo, y, labels, X)
    O = np.empty((n, k))
    head.close(CLOSINGS[closing], Wo, bo, X, O)

    O_ref = reference.close(closing, Wo, bo, X)
    value_ref, go = loss_value_and_grad(loss, O_ref, target)
    Z_ref, gWo_ref, gbo_ref = reference.close_adjoint(closing, Wo, X, go)
    np.testing.assert_allclose(O, O_ref, rtol=1e-14, atol=1e-15)
    assert value == pytest.approx(value_ref, rel=1e-14)
    np.testing.assert_allclose(Z, Z_ref, rtol=1e-13, atol=1e-16)
    if closing == "dense":
        np.testing.assert_allclose(gWo, gWo_ref, rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(gbo, gbo_ref, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("closing, loss", PAIRS)
def test_head_taken_in_pieces_gives_the_bits_of_the_whole_batch(closing, loss):
    rng = np.random.default_rng(4)
    n, m = 11, 4
    k = {"mean": 1, "identity": m, "dense": 3}[closing]
    X = rng.normal(size=(n, m)) * 3.0
    Wo = rng.normal(size=(k, m)) if closing == "dense" else np.empty((0, 0))
    bo = rng.normal(size=k) if closing == "dense" else np.empty(0)
    if loss == "mse":
        y, labels = rng.normal(size=(n, k)), np.empty(0, np.int64)
    else:
        y, labels = np.empty((0, 0)), rng.integers(0, k, n)
    args = (CLOSINGS[closing], LOSSES[loss], Wo, bo)
    whole, Z, gWo, gbo = _whole_batch(closing, loss, Wo, bo, y, labels, X)

    Zp, gWop, gbop = np.empty((n, m)), np.zeros(Wo.shape), np.zeros(bo.shape)
    acc = 0.0
    for a, b in ((0, 4), (4, 5), (5, 11)):
        acc = head.head_add(*args, y[a:b], labels[a:b], X[a:b], Zp[a:b], gWop, gbop,
                            1.0 / n, acc)
    assert head.loss_finish(LOSSES[loss], acc, 1.0 / n) == whole
    assert np.array_equal(Zp, Z)
    if closing == "dense":
        assert np.array_equal(gWop, gWo) and np.array_equal(gbop, gbo)

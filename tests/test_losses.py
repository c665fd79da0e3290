"""Tests for the losses, mean squared error and softmax cross-entropy: the NumPy
reference (pysplinet.losses) and the compiled twin (pysplinet.kernels.head) alike."""

import math

import numpy as np
import pytest

from pysplinet.kernels import head as head_kernels
from pysplinet.losses import loss_value_and_grad as numpy_loss
from pysplinet.losses import softmax

import naive


def compiled_loss(name, o, y):
    """The kernel's loss with the reference's calling convention."""
    ids = {"mse": head_kernels.MSE, "cross_entropy": head_kernels.CROSS_ENTROPY}
    o = np.ascontiguousarray(o, dtype=np.float64)
    grad = np.empty(o.shape)
    if name == "mse":
        value = head_kernels.loss_value_and_grad(ids[name], o, np.ascontiguousarray(y, float),
                                                 np.empty(0, np.int64), grad)
    else:
        value = head_kernels.loss_value_and_grad(ids[name], o, np.empty((0, 0)),
                                                 np.asarray(y, np.int64), grad)
    return value, grad


@pytest.fixture(params=["numpy", "numba"])
def loss_value_and_grad(request):
    return numpy_loss if request.param == "numpy" else compiled_loss


class TestCrossEntropy:
    def test_equal_huge_logits(self, loss_value_and_grad):
        value, grad = loss_value_and_grad("cross_entropy", np.array([[1e8, 1e8]]),
                                          np.array([1]))
        assert value == pytest.approx(math.log(2.0), rel=1e-15, abs=0)
        np.testing.assert_allclose(grad, [[0.5, -0.5]], rtol=1e-15, atol=0)

    def test_far_apart_logits(self, loss_value_and_grad):
        value, grad = loss_value_and_grad("cross_entropy", np.array([[-431.0, 279.0, 427.0]]),
                                          np.array([0]))
        # 427 + 431 + log(1 + e^-148 + e^-858) = 858 to double precision
        assert value == pytest.approx(858.0, rel=1e-15, abs=0)
        assert grad[0, 0] == pytest.approx(-1.0, rel=1e-15, abs=0)
        assert grad[0, 1] == pytest.approx(math.exp(-148.0), rel=1e-12, abs=0)
        assert 5.3e-65 < grad[0, 1] < 5.31e-65
        assert grad[0, 2] == pytest.approx(1.0, rel=1e-15, abs=0)

    def test_extreme_logits_stay_finite(self, loss_value_and_grad):
        rng = np.random.default_rng(0)
        o = rng.choice([-1e300, 1e300, -1e8, 0.0, 3.5, 1e8], size=(50, 4))
        y = rng.integers(0, 4, 50)
        value, grad = loss_value_and_grad("cross_entropy", o, y)
        assert np.isfinite(value) and value >= 0.0
        assert np.all(np.isfinite(grad))
        np.testing.assert_allclose(grad.sum(axis=1), 0.0, rtol=0, atol=1e-16)
        p = softmax(o)
        assert np.all(np.isfinite(p))
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-15)

    def test_against_naive_and_finite_differences(self, loss_value_and_grad):
        rng = np.random.default_rng(1)
        o = rng.normal(scale=3.0, size=(5, 3))
        y = rng.integers(0, 3, 5)
        value, grad = loss_value_and_grad("cross_entropy", o, y)
        assert value == pytest.approx(naive.softmax_cross_entropy(o, y), rel=1e-14)
        # the gradient of the batch mean is (softmax - onehot) / B
        onehot = np.eye(3)[y]
        np.testing.assert_allclose(grad, (softmax(o) - onehot) / 5, rtol=1e-13, atol=1e-16)
        for idx in np.ndindex(o.shape):
            op, om = o.copy(), o.copy()
            op[idx] += 1e-6
            om[idx] -= 1e-6
            fd = (loss_value_and_grad("cross_entropy", op, y)[0]
                  - loss_value_and_grad("cross_entropy", om, y)[0]) / 2e-6
            assert abs(fd - grad[idx]) <= 1e-8


class TestMSE:
    def test_by_hand(self, loss_value_and_grad):
        o = np.array([[1.0, 2.0], [0.5, -1.0]])
        y = np.array([[0.0, 2.0], [1.5, 1.0]])
        value, grad = loss_value_and_grad("mse", o, y)
        # 0.5 * (1 + 0 + 1 + 4) / 2
        assert value == 1.5
        np.testing.assert_array_equal(grad, [[0.5, 0.0], [-0.5, -1.0]])
        assert value == pytest.approx(naive.mse(o, y), rel=1e-15)


def test_unknown_loss_names_the_argument():
    with pytest.raises(ValueError, match="`loss`"):
        numpy_loss("hinge", np.zeros((1, 2)), np.zeros((1, 2)))

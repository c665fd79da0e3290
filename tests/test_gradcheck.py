"""Tests for pysplinet.gradcheck: central differences and the Taylor test catch wrong
gradients, accept right ones, and report what they checked."""

import numpy as np
import pytest

import pysplinet as ps
from pysplinet.gradcheck import GradcheckReport, gradcheck, taylor_test

import network_cases as cases


class Cubic:
    """A stand-in for a network: ``J(p) = sum_k (0.5 p_k^2 + p_k^3 / 3) . c_k`` with a
    known gradient ``(p + p^2) c``; ``wrong`` drops the ``p^2`` term of one key."""

    def __init__(self, wrong=None):
        self.wrong = wrong
        self.c = {"W": np.linspace(0.5, 1.5, 6).reshape(2, 3), "b": np.array([2.0, -1.0])}

    def check_params(self, params):
        return {k: np.asarray(v, dtype=float) for k, v in params.items()}

    def loss(self, params, x, y):
        return float(sum(np.sum((0.5 * p**2 + p**3 / 3) * self.c[k])
                         for k, p in params.items()))

    def value_and_grad(self, params, x, y, **options):
        grads = {}
        for k, p in params.items():
            grads[k] = (p if k == self.wrong else p + p**2) * self.c[k]
        return self.loss(params, x, y), grads


def _cubic_params():
    return {"W": np.array([[0.3, -0.2, 0.9], [1.1, -0.7, 0.4]]), "b": np.array([0.5, -1.2])}


class WrongNetwork:
    """A network whose gradient of one coordinate is off by ``factor``."""

    def __init__(self, net, key, index, factor):
        self.net, self.key, self.index, self.factor = net, key, index, factor

    def check_params(self, params):
        return self.net.check_params(params)

    def loss(self, params, x, y):
        return self.net.loss(params, x, y)

    def value_and_grad(self, params, x, y, **options):
        loss, grads = self.net.value_and_grad(params, x, y, **options)
        grads[self.key][self.index] *= self.factor
        return loss, grads


class TestKnownFunction:
    def test_right_gradient_passes(self):
        report = gradcheck(Cubic(), _cubic_params(), None, None)
        assert report.n_checked == 8
        assert report.max_rel_error <= 1e-9
        assert 1.95 <= report.taylor_order <= 2.05
        assert report.passed
        assert set(report.per_key) == {"W", "b"}
        assert len(report.taylor_eps) == len(report.taylor_remainders) == 6
        assert len(report.taylor_orders) == 5

    @pytest.mark.parametrize("key", ["W", "b"])
    def test_wrong_gradient_fails_both_checks(self, key):
        report = gradcheck(Cubic(wrong=key), _cubic_params(), None, None)
        other = {"W": "b", "b": "W"}[key]
        assert report.max_rel_error > 1e-2
        assert report.per_key[key] > 1e-2 and report.per_key[other] <= 1e-9
        assert report.taylor_order < 1.2          # first order: the gradient is wrong
        assert not report.passed


class TestOnNetworks:
    def _setup(self):
        net, params, x, y = cases.build(cases.CASES[9])
        return net, params, x, y

    def test_one_wrong_coordinate_is_found(self):
        net, params, x, y = self._setup()
        _, grads = net.value_and_grad(params, x, y)
        index = np.unravel_index(np.argmax(np.abs(grads["b"])), grads["b"].shape)
        report = gradcheck(WrongNetwork(net, "b", index, 1.01), params, x, y)
        # the error is 1 % of that entry, relative to the largest gradient entry
        g = abs(grads["b"][index])
        scale = max(max(np.max(np.abs(v)) for v in grads.values()), 1.01 * g)
        assert abs(report.max_rel_error - 0.01 * g / scale) <= 1e-7
        assert report.per_key["b"] == report.max_rel_error
        assert report.per_key["W"] <= 1e-6
        assert not report.passed

    def test_params_are_not_modified_and_same_seed_same_report(self):
        net, params, x, y = self._setup()
        before = {k: v.copy() for k, v in params.items()}
        a = gradcheck(net, params, x, y, max_coords=20, seed=3)
        b = gradcheck(net, params, x, y, max_coords=20, seed=3)
        for k in params:
            assert params[k].tobytes() == before[k].tobytes()
        assert a == b
        assert a.n_checked == 20

    def test_sampled_coordinates(self):
        net, params, x, y = self._setup()
        assert net.n_params > 40
        report = gradcheck(net, params, x, y, max_coords=40, seed=1, taylor=False)
        assert report.n_checked == 40
        assert np.isnan(report.taylor_order) and report.taylor_orders == []
        assert report.max_rel_error <= 1e-6

    def test_grad_options_reach_value_and_grad(self):
        net, params, x, y = self._setup()
        report = gradcheck(net, params, x, y, checkpoints=3)
        assert report.passed, report

    def test_passed_thresholds(self):
        report = GradcheckReport(max_rel_error=2e-6, n_checked=1, taylor_order=2.0)
        assert not report.passed
        assert report.passes(rtol=1e-5)
        report = GradcheckReport(max_rel_error=0.0, n_checked=1, taylor_order=1.85)
        assert not report.passed
        assert report.passes(order_range=(1.8, 2.2))
        report = GradcheckReport(max_rel_error=0.0, n_checked=1, taylor_order=float("nan"))
        assert not report.passed


@pytest.mark.parametrize("case", [cases.CASES[i] for i in (7, 8, 13, 25)], ids=cases.case_id)
def test_taylor_order_of_a_right_gradient_for_any_direction(case):
    # the adjoint gradients of these networks are right (central differences agree to
    # 1e-8, test_gradients.py); the Taylor test must then report order 2 whatever the
    # random direction, not only for a lucky seed
    net, params, x, y = cases.build(case)
    orders = [taylor_test(net, params, x, y, seed=seed)[0] for seed in range(10)]
    assert all(1.9 <= o <= 2.1 for o in orders), np.round(orders, 3)


def test_taylor_test_needs_no_gradient_argument():
    net, params, x, y = cases.build(cases.CASES[2])
    _, grads = net.value_and_grad(params, x, y)
    assert taylor_test(net, params, x, y) == taylor_test(net, params, x, y, grads=grads)
    assert ps.taylor_test is taylor_test and ps.gradcheck is gradcheck

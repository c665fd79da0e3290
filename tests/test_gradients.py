"""The discrete adjoint against finite differences and the Taylor test, over a covering
design of networks (tests/network_cases.py): SpliNet / ODEnet / ResNet, degrees 1-3, 1-7 knot
intervals, 1-50 layers, tanh / sigmoid / ReLU, fixed and learned time scale, both losses
with every closing, every opening, dense and antisymmetric operators."""

import itertools

import numpy as np
import pytest

import pysplinet as ps

import network_cases as cases

#: smallest |pre-activation| allowed for ReLU cases: the Taylor test moves the parameters
#: by up to 1e-2 times max(1, |p|) per entry, which shifts pre-activations by a few 1e-2;
#: a margin of 0.3 keeps every sample on one side of the kink for all the evaluations
RELU_MARGIN = 0.3


def test_design_is_pairwise_covering():
    factors = cases.FACTORS
    for name, values in factors.items():
        seen = [c[name] for c in cases.CASES if c[name] is not None]
        for v in values:
            assert seen.count(v) >= 3, (name, v, seen.count(v))
    for a, b in itertools.combinations(factors, 2):
        if {a, b} & {"degree", "n_knots"} and "arch" in (a, b):
            continue                                # degree and knots exist for SpliNets only
        seen = {(c[a], c[b]) for c in cases.CASES if c[a] is not None and c[b] is not None}
        missing = set(itertools.product(factors[a], factors[b])) - seen
        assert not missing, (a, b, sorted(missing, key=str))
    ids = [cases.case_id(c) for c in cases.CASES]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", cases.CASES + cases.EDGE_CASES, ids=cases.case_id)
def test_gradcheck(case):
    net, params, x, y = cases.build(case)
    if case["activation"] == "relu":
        a = cases.preactivations(net, params, x)
        assert np.abs(a).min() > RELU_MARGIN, "ReLU case too close to the kink; fix the case"
    report = ps.gradcheck(net, params, x, y)
    assert report.n_checked == min(net.n_params, 2000)   # all, or the default sample
    assert set(report.per_key) <= set(params)
    if report.n_checked == net.n_params:
        assert set(report.per_key) == set(params)
    assert report.max_rel_error <= 1e-6, report.per_key
    assert 1.9 <= report.taylor_order <= 2.1, (report.taylor_orders, report.taylor_remainders)
    assert report.passed


@pytest.mark.parametrize("case", cases.CASES[::4], ids=cases.case_id)
def test_input_gradient(case):
    # dloss/dx from return_input_grad against central differences in every input entry
    net, params, x, y = cases.build(case)
    loss, grads, dx = net.value_and_grad(params, x, y, return_input_grad=True)
    assert dx.shape == x.shape and dx.dtype == np.float64
    assert loss == net.loss(params, x, y)
    fd = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        step = 1e-6
        xp, xm = x.copy(), x.copy()
        xp[idx] += step
        xm[idx] -= step
        fd[idx] = (net.loss(params, xp, y) - net.loss(params, xm, y)) / (2 * step)
    assert np.max(np.abs(fd - dx)) <= 1e-6 * np.max(np.abs(dx))

"""Tests for pysplinet.basis: uniform B-splines, their active values, the layer table."""

import math

import numpy as np
import pytest
from scipy.interpolate import BSpline

from pysplinet.basis import active_interval, active_values, basis_matrix, layer_basis

import naive

DEGREES = [1, 2, 3, 4, 5]
N_KNOTS = list(range(1, 13)) + [37, 256, 1000]


def _scipy_matrix(t, degree, n_knots, final_time):
    """scipy's design matrix on the uniformly extended knots tau_k, k = -d .. L+d."""
    tau = np.arange(-degree, n_knots + degree + 1) * final_time / n_knots
    return BSpline.design_matrix(np.asarray(t, dtype=float), tau, degree).toarray()


def _times(n_knots, final_time, seed):
    """0, T, the knots (all of them, or 60 at random when there are more), the floats
    next to them, and random times in [0, T]."""
    rng = np.random.default_rng(seed)
    tau = np.arange(n_knots + 1) * final_time / n_knots
    if tau.size > 60:
        tau = rng.choice(tau, 60, replace=False)
    near = np.concatenate([np.nextafter(tau, -np.inf), np.nextafter(tau, np.inf)])
    t = np.concatenate([[0.0, final_time], tau, near, rng.uniform(0, final_time, 40)])
    return np.unique(t[(t >= 0.0) & (t <= final_time)])


def _atol(n_knots):
    """Round-off of the basis values: the local position ``u = t L / T - k`` carries an
    absolute error of a few ulps of ``t L / T``, i.e. about ``L eps``, and the values have
    slopes of order one in ``u``; two correct codes may therefore differ by that much."""
    return 1e-14 + 4 * np.finfo(float).eps * n_knots


def _dense(first, weights, n_sets):
    """Rows of the full basis matrix from a sparse (first, weights) table."""
    first = np.atleast_1d(first)
    weights = np.atleast_2d(weights)
    out = np.zeros((first.size, n_sets))
    for i, (k, w) in enumerate(zip(first, weights)):
        assert 0 <= k and k + w.size <= n_sets, (k, w.size, n_sets)
        out[i, k:k + w.size] = w
    return out


class TestAgainstScipy:
    @pytest.mark.parametrize("n_knots", N_KNOTS, ids=lambda v: f"L{v}")
    @pytest.mark.parametrize("degree", DEGREES, ids=lambda v: f"d{v}")
    def test_basis_matrix(self, degree, n_knots):
        for final_time in (1.0, 2.5):
            t = _times(n_knots, final_time, seed=degree * 1000 + n_knots)
            B = basis_matrix(t, degree, n_knots, final_time)
            assert B.shape == (t.size, n_knots + degree)
            np.testing.assert_allclose(B, _scipy_matrix(t, degree, n_knots, final_time),
                                       rtol=0, atol=_atol(n_knots))

    @pytest.mark.parametrize("n_knots", N_KNOTS, ids=lambda v: f"L{v}")
    @pytest.mark.parametrize("degree", DEGREES, ids=lambda v: f"d{v}")
    def test_active_values(self, degree, n_knots):
        final_time = 1.0
        t = _times(n_knots, final_time, seed=degree + n_knots)
        ref = _scipy_matrix(t, degree, n_knots, final_time)
        for q, tq in enumerate(t):
            first, values = active_values(tq, degree, n_knots, final_time)
            assert values.shape == (degree + 1,)
            # d+1 values, none of them past the coefficient array
            assert 0 <= first <= n_knots - 1
            assert first + degree <= n_knots + degree - 1
            np.testing.assert_allclose(values, ref[q, first:first + degree + 1],
                                       rtol=0, atol=_atol(n_knots))
            # everything outside the active window is zero in scipy's matrix too
            outside = np.delete(ref[q], np.arange(first, first + degree + 1))
            assert np.all(np.abs(outside) <= _atol(n_knots))


class TestAgainstNaive:
    @pytest.mark.parametrize("n_knots", [1, 2, 3, 5, 8, 12], ids=lambda v: f"L{v}")
    @pytest.mark.parametrize("degree", DEGREES, ids=lambda v: f"d{v}")
    def test_textbook_recursion(self, degree, n_knots):
        final_time = 1.7
        t = _times(n_knots, final_time, seed=7 * degree + n_knots)
        B = basis_matrix(t, degree, n_knots, final_time)
        ref = np.array([naive.bspline_all(tq, degree, n_knots, final_time) for tq in t])
        np.testing.assert_allclose(B, ref, rtol=0, atol=2e-14)


class TestProperties:
    @pytest.mark.parametrize("n_knots", [1, 2, 3, 4, 7, 12, 100], ids=lambda v: f"L{v}")
    @pytest.mark.parametrize("degree", DEGREES, ids=lambda v: f"d{v}")
    def test_partition_of_unity(self, degree, n_knots):
        for final_time in (1.0, 3.0):
            t = np.concatenate([np.linspace(0.0, final_time, 1001),
                                _times(n_knots, final_time, seed=degree)])
            B = basis_matrix(t, degree, n_knots, final_time)
            assert t[0] == 0.0 and t[1000] == final_time
            assert np.all(B >= 0.0)
            np.testing.assert_allclose(B.sum(axis=1), 1.0, rtol=0, atol=1e-14)
            for tq in (0.0, final_time, 0.5 * final_time):
                _, values = active_values(tq, degree, n_knots, final_time)
                assert abs(values.sum() - 1.0) <= 1e-14

    def test_right_end_is_the_left_limit(self):
        # degree 3, L = 4 on [0, 1]: at t = 1 the last three functions are 1/6, 2/3, 1/6
        first, values = active_values(1.0, 3, 4, 1.0)
        assert first == 3                                   # the last interval [3/4, 1]
        assert first + 3 == 4 + 3 - 1                       # last active index = last set
        np.testing.assert_allclose(values, [0.0, 1 / 6, 2 / 3, 1 / 6], rtol=0, atol=1e-15)
        assert abs(values.sum() - 1.0) <= 1e-15
        row = basis_matrix([1.0], 3, 4, 1.0)[0]
        np.testing.assert_allclose(row, [0, 0, 0, 0, 1 / 6, 2 / 3, 1 / 6], rtol=0, atol=1e-15)
        # the left limit: continuous with the values just inside [0, 1]
        inside = basis_matrix([np.nextafter(1.0, 0.0)], 3, 4, 1.0)[0]
        np.testing.assert_allclose(row, inside, rtol=0, atol=1e-14)

    @pytest.mark.parametrize("n_knots", [1, 2, 4, 9, 1000], ids=lambda v: f"L{v}")
    @pytest.mark.parametrize("degree", DEGREES, ids=lambda v: f"d{v}")
    def test_right_end_stays_inside_the_array(self, degree, n_knots):
        for final_time in (1.0, 0.3, 7.0):
            first, values = active_values(final_time, degree, n_knots, final_time)
            assert first == n_knots - 1
            assert first + values.size == n_knots + degree
            assert abs(values.sum() - 1.0) <= 1e-14
            assert active_interval(final_time, n_knots, final_time) == (n_knots - 1, 1.0)

    def test_constant_coefficients_give_a_constant(self):
        t = np.linspace(0.0, 1.0, 101)
        assert t[0] == 0.0 and t[-1] == 1.0
        for degree in DEGREES:
            for n_knots in (1, 4, 10):
                c = np.full(n_knots + degree, 0.3)
                W = basis_matrix(t, degree, n_knots) @ c
                np.testing.assert_allclose(W, 0.3, rtol=0, atol=1e-15)
                for tq in t:
                    first, values = active_values(tq, degree, n_knots)
                    assert abs(values @ c[first:first + degree + 1] - 0.3) <= 1e-15

    def test_linear_coefficients_give_a_line(self):
        # Convention (basis.py): array index j holds the coefficient of B_{j-d}. For degree
        # 3 and L = 4 the Greville abscissa of B_l is tau_{l+2} = (l + 2) / 4, so
        # sum_l (l + 2) B_l(t) = 4 t. Putting the value j at array index j (that is,
        # c_l = l + 3) therefore gives W(t) = 4 t + 1, and c_l = l gives 4 t - 2.
        t = np.linspace(0.0, 1.0, 101)
        B = basis_matrix(t, 3, 4)
        j = np.arange(7, dtype=float)
        np.testing.assert_allclose(B @ j, 4 * t + 1, rtol=0, atol=1e-14)
        l_values = j - 3                                    # c_l = l at index j = l + d
        np.testing.assert_allclose(B @ l_values, 4 * t - 2, rtol=0, atol=1e-14)
        for tq in (0.0, 0.25, 0.6, 1.0):
            ref = naive.spline_value(j, tq, 3, 4)
            assert abs(float(ref) - (4 * tq + 1)) <= 1e-14

    @pytest.mark.parametrize("degree", [1, 2, 3, 4], ids=lambda v: f"d{v}")
    def test_polynomials_of_degree_d_are_reproduced(self, degree):
        # every polynomial of degree <= d lies in the spline space: fit by least squares on
        # many points and check that the fit is exact to round-off
        t = np.linspace(0.0, 2.0, 301)
        B = basis_matrix(t, degree, 5, 2.0)
        target = (t - 0.7) ** degree - 0.5 * t
        coef = np.linalg.lstsq(B, target, rcond=None)[0]
        np.testing.assert_allclose(B @ coef, target, rtol=0, atol=1e-11)


class TestLayerBasis:
    PAIRS = [(1, 1), (1, 5), (5, 1), (4, 4), (10, 5), (5, 10), (7, 3), (3, 7), (12, 8),
             (100, 10), (99, 7), (13, 13), (1000, 3), (60, 25)]

    @pytest.mark.parametrize("n_layers,n_knots", PAIRS,
                             ids=[f"N{n}-L{k}" for n, k in PAIRS])
    @pytest.mark.parametrize("degree", [1, 2, 3, 4], ids=lambda v: f"d{v}")
    def test_agrees_with_active_values(self, degree, n_layers, n_knots):
        first, weights = layer_basis(n_layers, degree, n_knots)
        assert first.dtype == np.int64 and first.shape == (n_layers,)
        assert weights.dtype == np.float64 and weights.shape == (n_layers, degree + 1)
        assert weights.flags.c_contiguous
        assert np.all(first >= 0) and np.all(first + degree <= n_knots + degree - 1)
        assert np.all(np.diff(first) >= 0)
        n_sets = n_knots + degree
        t = np.arange(n_layers) * 1.0 / n_layers              # t_i = i T / N with T = 1
        ref = np.array([_dense(*active_values(ti, degree, n_knots, 1.0), n_sets)[0]
                        for ti in t])
        np.testing.assert_allclose(_dense(first, weights, n_sets), ref, rtol=0, atol=1e-14)
        np.testing.assert_allclose(_dense(first, weights, n_sets),
                                   _scipy_matrix(t, degree, n_knots, 1.0), rtol=0, atol=2e-14)

    @pytest.mark.parametrize("n_layers,n_knots", PAIRS,
                             ids=[f"N{n}-L{k}" for n, k in PAIRS])
    @pytest.mark.parametrize("degree", [1, 2, 3], ids=lambda v: f"d{v}")
    def test_layer_times_on_knots_are_exact(self, degree, n_layers, n_knots):
        # t_i is the knot tau_k exactly when i L / N = k is an integer: the layer must sit
        # at the start of interval k with the values of u = 0 (no round-off moves it into
        # interval k - 1 with u = 1 - eps)
        first, weights = layer_basis(n_layers, degree, n_knots)
        _, at_knot = active_values(0.0, degree, n_knots, 1.0)
        hits = [i for i in range(n_layers) if (i * n_knots) % n_layers == 0]
        assert hits and hits[0] == 0
        for i in hits:
            assert first[i] == i * n_knots // n_layers
            assert weights[i].tobytes() == at_knot.tobytes()
            k = first[i]
            exact = naive.bspline_all(k * 1.0 / n_knots, degree, n_knots, 1.0)
            np.testing.assert_allclose(weights[i], exact[k:k + degree + 1], rtol=0,
                                       atol=1e-15)


class TestBadInput:
    @pytest.mark.parametrize("degree", [0, -1, 1.5, 2.0, True, "2", None])
    def test_degree(self, degree):
        for call in (lambda: active_values(0.5, degree, 3),
                     lambda: basis_matrix([0.5], degree, 3),
                     lambda: layer_basis(4, degree, 3)):
            with pytest.raises(ValueError, match="`degree`"):
                call()

    @pytest.mark.parametrize("n_knots", [0, -3, 2.0, False, "4", None])
    def test_n_knots(self, n_knots):
        for call in (lambda: active_values(0.5, 2, n_knots),
                     lambda: basis_matrix([0.5], 2, n_knots),
                     lambda: layer_basis(4, 2, n_knots)):
            with pytest.raises(ValueError, match="`n_knots`"):
                call()

    @pytest.mark.parametrize("t", [-1e-12, np.nextafter(1.0, 2.0), 1.5, -np.inf, np.inf,
                                   np.nan])
    def test_t_outside(self, t):
        with pytest.raises(ValueError, match="`t`"):
            active_values(t, 2, 3, 1.0)
        with pytest.raises(ValueError, match="`t`"):
            basis_matrix([0.5, t], 2, 3, 1.0)

    @pytest.mark.parametrize("n_layers", [0, -2, 2.5, True])
    def test_n_layers(self, n_layers):
        with pytest.raises(ValueError, match="`n_layers`"):
            layer_basis(n_layers, 2, 3)

    @pytest.mark.parametrize("final_time", [0.0, -1.0, np.nan, np.inf])
    def test_final_time(self, final_time):
        with pytest.raises(ValueError, match="`final_time`"):
            active_values(0.0, 2, 3, final_time)
        with pytest.raises(ValueError, match="`final_time`"):
            basis_matrix([0.0], 2, 3, final_time)


def test_uniform_knots_of_the_reference():
    # the naive module's knot vector is the uniform extension the library documents
    tau = naive.knots(2, 4, 1.0)
    assert tau[0] == -0.5 and tau[-1] == 1.5 and len(tau) == 4 + 2 * 2 + 1
    assert math.isclose(tau[3] - tau[2], 0.25)

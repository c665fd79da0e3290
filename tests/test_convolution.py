"""Convolutional operators (and the antisymmetric one) as seams of K(theta).

Oracles: explicit Toeplitz matrices, SciPy's correlate, central differences, the adjoint
identity <g, K x> = <K^T g, x>, the compiled kernels against the NumPy reference, and
gradcheck / Taylor tests of whole networks on both back ends.
"""

import itertools

import numpy as np
import pytest
from scipy.linalg import toeplitz
from scipy.signal import correlate, correlate2d

import pysplinet as ps
from pysplinet.kernels.operators import (fixed_width, op_apply, op_apply_transpose,
                                         op_param_grad)
from pysplinet.operators import make_operator
from _shared import SHARED_DATA

# every operator of the brief, small enough for exhaustive checks
OPERATORS = {
    "conv1d": lambda: ps.Conv1D(7),
    "conv1d_k5": lambda: ps.Conv1D(6, kernel_size=5),
    "conv_1d_2ch": lambda: ps.Conv(2, [5]),
    "conv_2d_2ch": lambda: ps.Conv(2, (3, 4)),
    "conv_2d_3ch_k5": lambda: ps.Conv(3, (4, 5), kernel_size=5),
    "conv_kernel_wider_than_grid": lambda: ps.Conv(2, (2, 3), kernel_size=7),
    "conv_1d_3ch_k5": lambda: ps.Conv(3, [6], kernel_size=5),
    "conv_2d_single_row": lambda: ps.Conv(2, (1, 5)),
    "conv_2d_k1": lambda: ps.Conv(2, (3, 4), kernel_size=1),
    "conv1d_width_1": lambda: ps.Conv1D(1),
    "conv1d_width_2": lambda: ps.Conv1D(2),
    "dense": lambda: ps.Dense(6),
    "antisymmetric": lambda: ps.Antisymmetric(6, gamma=0.3),
}


def _kernel_call(op, theta, X, G, fixed=None, bias=None):
    """The compiled apply, transpose (added to a nonzero Z) and parameter gradient, on
    the flat batches the sweeps pass; ``fixed`` as the sweeps pass it unless given, and
    the apply's bias zero unless given."""
    if bias is None:
        bias = np.zeros(X.shape[1])
    if fixed is None:
        fixed = fixed_width(op.width) if op.matrix_products else ()
    theta = np.ascontiguousarray(theta).ravel()
    n = X.shape[0]
    x, g = np.ascontiguousarray(X).ravel(), np.ascontiguousarray(G).ravel()
    A = np.full(X.size, np.nan)
    op_apply(op.kernel_id, op.geometry, float(op.gamma), fixed, theta,
             np.ascontiguousarray(bias, dtype=float), n, x, A)
    Z0 = np.linspace(-1.0, 1.0, G.size)
    Z = Z0.copy()
    op_apply_transpose(op.kernel_id, op.geometry, float(op.gamma), fixed, theta, n, g, Z)
    d = np.full(theta.size, np.nan)
    op_param_grad(op.kernel_id, op.geometry, float(op.gamma), fixed, n, x, g, d)
    return A.reshape(X.shape), (Z - Z0).reshape(G.shape), d.reshape(op.coef_shape)


def _toeplitz_conv1d(w, m):
    """The m x m matrix of a[r] = sum_q w[q] x[r + q - h]: K[r, c] = w[c - r + h]."""
    h = len(w) // 2
    col = np.zeros(m)             # K[r, 0] = w[h - r]
    row = np.zeros(m)             # K[0, c] = w[c + h]
    for r in range(min(m, h + 1)):
        col[r] = w[h - r]
    for c in range(min(m, len(w) - h)):
        row[c] = w[c + h]
    return toeplitz(col, row)


# ---------------------------------------------------------------------- worked example

class TestConv1DExample:
    """Kernel [1, 2, 3], input [1, 2, 3, 4], zero same padding, upstream gradient ones."""

    w = np.array([1.0, 2.0, 3.0])
    x = np.array([1.0, 2.0, 3.0, 4.0])
    g = np.ones(4)
    op = ps.Conv1D(4)

    def _f(self, w, x):
        """The scalar g . K(w) x whose gradients are checked."""
        return float(self.g @ self.op.apply(w, x[None])[0])

    def _central(self, f, v, eps=1e-6):
        out = np.empty_like(v)
        for j in range(v.size):
            e = np.zeros_like(v)
            e[j] = eps
            out[j] = (f(v + e) - f(v - e)) / (2 * eps)
        return out

    def test_forward_by_hand(self):
        # padded x = [0, 1, 2, 3, 4, 0]; a[r] = 1 x[r-1] + 2 x[r] + 3 x[r+1]
        a_hand = np.array([0 + 2 + 6, 1 + 4 + 9, 2 + 6 + 12, 3 + 8 + 0], dtype=float)
        np.testing.assert_array_equal(self.op.apply(self.w, self.x[None])[0], a_hand)
        A, _, _ = _kernel_call(self.op, self.w, self.x[None], self.g[None])
        np.testing.assert_array_equal(A[0], a_hand)

    def test_gradients_match_central_differences_and_toeplitz(self):
        K = _toeplitz_conv1d(self.w, 4)
        # the matrix formulation: a = K x, so d/dx (g . K x) = K^T g and, with K = sum_q
        # w[q] T_q (T_q the 0/1 matrix of tap q), d/dw[q] = g . T_q x
        dx_matrix = K.T @ self.g
        dw_matrix = np.array([self.g @ _toeplitz_conv1d(np.eye(3)[q], 4) @ self.x
                              for q in range(3)])
        dx_fd = self._central(lambda v: self._f(self.w, v), self.x)
        dw_fd = self._central(lambda v: self._f(v, self.x), self.w)
        dx_ref = self.op.apply_transpose(self.w, self.g[None])[0]
        dw_ref = self.op.param_grad(self.x[None], self.g[None])
        _, dx_ker, dw_ker = _kernel_call(self.op, self.w, self.x[None], self.g[None])

        np.testing.assert_allclose(K @ self.x, self.op.apply(self.w, self.x[None])[0],
                                   rtol=0, atol=1e-14)
        for dx in (dx_ref, dx_ker[0], dx_matrix):
            np.testing.assert_allclose(dx, dx_fd, rtol=1e-9, atol=1e-9)
        for dw in (dw_ref, dw_ker, dw_matrix):
            np.testing.assert_allclose(dw, dw_fd, rtol=1e-9, atol=1e-9)
        # by hand: dx[c] sums the taps that reach x[c] (edges lose one); dw[q] sums the
        # shifted input, [0+1+2+3, 1+2+3+4, 2+3+4+0]
        np.testing.assert_array_equal(dx_ref, [2 + 1, 3 + 2 + 1, 3 + 2 + 1, 3 + 2])
        np.testing.assert_array_equal(dw_ref, [6, 10, 9])

    def test_flipped_kernel_is_a_different_operator(self):
        # cross-correlation, not convolution: reversing a nonsymmetric kernel changes K
        a = self.op.apply(self.w, self.x[None])
        b = self.op.apply(self.w[::-1].copy(), self.x[None])
        assert np.max(np.abs(a - b)) > 1.0


# ---------------------------------------------------------------------- matrix formulations

@pytest.mark.parametrize("m,k", [(1, 3), (4, 3), (9, 3), (5, 5), (3, 7), (8, 1)])
def test_conv1d_matrix_is_toeplitz(m, k):
    rng = np.random.default_rng(10 * m + k)
    op = ps.Conv1D(m, kernel_size=k)
    w = rng.standard_normal(k)
    X = rng.standard_normal((3, m))
    K = _toeplitz_conv1d(w, m)
    np.testing.assert_allclose(op.apply(w, np.eye(m)).T, K, rtol=0, atol=1e-15)
    np.testing.assert_allclose(op.apply(w, X), X @ K.T, rtol=0, atol=1e-13)
    np.testing.assert_allclose(op.apply_transpose(w, X), X @ K, rtol=0, atol=1e-13)
    A, Z, _ = _kernel_call(op, w, X, X)
    np.testing.assert_allclose(A, X @ K.T, rtol=0, atol=1e-13)
    np.testing.assert_allclose(Z, X @ K, rtol=0, atol=1e-13)


@pytest.mark.parametrize("C,shape,k", [(2, (7,), 3), (3, (4,), 5), (2, (4, 5), 3),
                                       (3, (3, 6), 5), (1, (5, 5), 3), (2, (1, 6), 3),
                                       (2, (5, 1), 3), (2, (2,), 3)])
def test_multichannel_matches_scipy_correlate(C, shape, k):
    """a[o] = sum_c correlate(x[c], w[o, c], 'same') with zero fill."""
    rng = np.random.default_rng(C * 100 + k)
    op = ps.Conv(C, shape, kernel_size=k)
    w = rng.standard_normal(op.coef_shape)
    X = rng.standard_normal((2, op.width))
    x = X.reshape((2, C) + shape)
    expected = np.zeros_like(x)
    for b, o, c in itertools.product(range(2), range(C), range(C)):
        if len(shape) == 1:
            expected[b, o] += correlate(x[b, c], w[o, c], mode="same", method="direct")
        else:
            expected[b, o] += correlate2d(x[b, c], w[o, c], mode="same", boundary="fill")
    expected = expected.reshape(2, -1)
    np.testing.assert_allclose(op.apply(w, X), expected, rtol=0, atol=1e-13)
    A, _, _ = _kernel_call(op, w, X, X)
    np.testing.assert_allclose(A, expected, rtol=0, atol=1e-13)


def test_channel_mixing_and_flattening_order():
    """A kernel that copies channel 1 to channel 0 shifted one step right (in the last
    axis) and nothing else: checks C-order flattening and the tap convention."""
    op = ps.Conv(2, (2, 3))
    w = np.zeros(op.coef_shape)
    w[0, 1, 1, 0] = 1.0          # a[0, i, j] = x[1, i, j - 1]
    x = np.arange(12.0).reshape(1, 2, 2, 3) + 1.0
    a = op.apply(w, x.reshape(1, -1)).reshape(1, 2, 2, 3)
    expected = np.zeros_like(x)
    expected[0, 0, :, 1:] = x[0, 1, :, :-1]
    np.testing.assert_array_equal(a, expected)
    A, _, _ = _kernel_call(op, w, x.reshape(1, -1), x.reshape(1, -1))
    np.testing.assert_array_equal(A.reshape(1, 2, 2, 3), expected)


# ---------------------------------------------------------------------- every operator

@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_adjoint_identities(name):
    """<g, K x> = <K^T g, x> and, K being linear in theta, <g, K(theta) x> = <dtheta, theta>."""
    op = OPERATORS[name]()
    rng = np.random.default_rng(len(name))
    theta = rng.standard_normal(op.coef_shape)
    X = rng.standard_normal((4, op.width))
    G = rng.standard_normal((4, op.width))
    lhs = np.sum(G * op.apply(theta, X))
    np.testing.assert_allclose(np.sum(op.apply_transpose(theta, G) * X), lhs, rtol=1e-12)
    if op.gamma == 0.0:
        np.testing.assert_allclose(np.sum(op.param_grad(X, G) * theta), lhs, rtol=1e-12)
    else:   # K(theta) = M(theta) - gamma I with M linear
        shift = -op.gamma * np.sum(G * X)
        np.testing.assert_allclose(np.sum(op.param_grad(X, G) * theta) + shift, lhs,
                                   rtol=1e-12)


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_param_grad_central_differences(name):
    """K is affine in theta, so a central difference has no truncation error at any step;
    a step of 0.5 keeps the round-off of the two sums (about 1e-16 |f| / eps) negligible."""
    op = OPERATORS[name]()
    rng = np.random.default_rng(7 + len(name))
    theta = rng.standard_normal(op.coef_shape)
    X = rng.standard_normal((3, op.width))
    G = rng.standard_normal((3, op.width))
    grad = op.param_grad(X, G)
    eps = 0.5
    fd = np.empty_like(theta)
    for idx in np.ndindex(theta.shape):
        e = np.zeros_like(theta)
        e[idx] = eps
        fd[idx] = (np.sum(G * op.apply(theta + e, X))
                   - np.sum(G * op.apply(theta - e, X))) / (2 * eps)
    np.testing.assert_allclose(fd, grad, rtol=0, atol=1e-12 * np.abs(grad).max())


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_kernels_match_reference(name):
    op = OPERATORS[name]()
    rng = np.random.default_rng(3 + len(name))
    theta = rng.standard_normal(op.coef_shape)
    X = rng.standard_normal((5, op.width))
    G = rng.standard_normal((5, op.width))
    A, Z, d = _kernel_call(op, theta, X, G)
    np.testing.assert_allclose(A, op.apply(theta, X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(Z, op.apply_transpose(theta, G), rtol=0, atol=1e-12)
    np.testing.assert_allclose(d, op.param_grad(X, G), rtol=0, atol=1e-12)
    # the bias is added to each finished sum K x, so A(b) = A(0) + b bitwise
    bias = rng.standard_normal(op.width)
    assert np.array_equal(_kernel_call(op, theta, X, G, bias=bias)[0], A + bias)


@pytest.mark.parametrize("width", [1, 4, 5, 8, 9, 16])
@pytest.mark.parametrize("kind", [ps.Dense, ps.Antisymmetric])
def test_width_compiled_in_gives_the_same_bits(kind, width):
    """The kernels compiled for one width run the same arithmetic as the general ones."""
    op = kind(width)
    assert fixed_width(width) == (0,) * width
    rng = np.random.default_rng(width)
    theta = rng.standard_normal(op.coef_shape)
    X = rng.standard_normal((9, width))
    G = rng.standard_normal((9, width))
    for fixed_result, general in zip(_kernel_call(op, theta, X, G),
                                     _kernel_call(op, theta, X, G, fixed=())):
        assert np.array_equal(fixed_result, general)


def test_kernels_match_reference_on_indian_pines_sizes():
    op = ps.Conv1D(200)
    rng = np.random.default_rng(200)
    theta = rng.standard_normal(3)
    X = rng.standard_normal((100, 200))
    G = rng.standard_normal((100, 200))
    A, Z, d = _kernel_call(op, theta, X, G)
    np.testing.assert_allclose(A, op.apply(theta, X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(Z, op.apply_transpose(theta, G), rtol=0, atol=1e-12)
    np.testing.assert_allclose(d, op.param_grad(X, G), rtol=0, atol=1e-11 * np.abs(d).max())


# ---------------------------------------------------------------------- antisymmetric

class TestAntisymmetric:
    gamma = 0.25

    def _setup(self, seed=0, m=7):
        rng = np.random.default_rng(seed)
        op = ps.Antisymmetric(m, gamma=self.gamma)
        return op, rng.standard_normal(op.coef_shape), rng

    def test_effective_matrix(self):
        op, W, rng = self._setup()
        K = W - W.T - self.gamma * np.eye(op.width)
        X = rng.standard_normal((3, op.width))
        np.testing.assert_allclose(op.matrix(W), K, rtol=0, atol=0)
        A, Z, _ = _kernel_call(op, W, X, X)
        np.testing.assert_allclose(A, X @ K.T, rtol=0, atol=1e-13)
        np.testing.assert_allclose(Z, X @ K, rtol=0, atol=1e-13)

    def test_spectrum_real_part_is_minus_gamma(self):
        op, W, _ = self._setup(seed=1)
        ev = np.linalg.eigvals(op.matrix(W))
        np.testing.assert_allclose(ev.real, -self.gamma, rtol=0, atol=1e-12)
        assert np.max(np.abs(ev.imag)) > 0.1          # not a trivial (diagonal) case

    def test_jacobian_of_dynamics_in_left_half_plane(self):
        """f(x) = tanh(K x + b) has Jacobian D K with D = diag(tanh'(a)) in (0, 1]; it is
        similar to D^(1/2) (W - W^T) D^(1/2) - gamma D, so every eigenvalue has real part
        in [-gamma max D, -gamma min D]."""
        op, W, rng = self._setup(seed=2, m=9)
        x = rng.standard_normal(op.width)
        b = rng.standard_normal(op.width)
        K = op.matrix(W)
        a = K @ x + b
        D = 1.0 - np.tanh(a) ** 2
        J = D[:, None] * K
        # the analytic Jacobian against central differences of f
        eps = 1e-6
        J_fd = np.column_stack([
            (np.tanh(K @ (x + eps * e) + b) - np.tanh(K @ (x - eps * e) + b)) / (2 * eps)
            for e in np.eye(op.width)])
        np.testing.assert_allclose(J, J_fd, rtol=0, atol=1e-8)
        re = np.linalg.eigvals(J).real
        assert np.all(re <= -self.gamma * D.min() + 1e-12)
        assert np.all(re >= -self.gamma * D.max() - 1e-12)
        assert np.all(re < 0.0)

    def test_without_shift_the_spectrum_is_imaginary(self):
        op = ps.Antisymmetric(6, gamma=0.0)
        W = np.random.default_rng(3).standard_normal(op.coef_shape)
        np.testing.assert_allclose(np.linalg.eigvals(op.matrix(W)).real, 0.0, atol=1e-12)


# ---------------------------------------------------------------------- networks

# name: (width, operator, batch); the batch of "conv1d_wide" gives states of 16 x 40 = 640
# entries, which the compiled sweeps read and write in place in their stores
NET_OPERATORS = {
    "conv1d": (8, {"kind": "conv1d"}, 5),
    "conv1d_wide": (40, {"kind": "conv1d"}, 16),
    "conv_1d_multichannel": (10, {"kind": "conv", "channels": 2, "shape": [5]}, 5),
    "conv_2d": (12, {"kind": "conv", "channels": 2, "shape": [2, 3]}, 5),
    "antisymmetric": (5, {"kind": "antisymmetric", "gamma": 0.1}, 5),
}
HEADS = {
    "mse_mean": dict(opening="dense", n_inputs=2, closing="mean", loss="mse"),
    "mse_dense": dict(opening="dense", n_inputs=2, closing="dense", n_outputs=2, loss="mse"),
    "ce_dense": dict(opening="identity", closing="dense", n_outputs=3, loss="cross_entropy"),
}


def _net_and_data(op_name, head, degree, backend, seed=0):
    width, spec, batch = NET_OPERATORS[op_name]
    kw = dict(HEADS[head])
    net = ps.SpliNet(width, n_layers=6, degree=degree, n_knots=2, activation="tanh",
                     operator=spec, backend=backend, **kw)
    rng = np.random.default_rng(seed)
    params = net.init_params(rng, amplitude=0.8)
    x = rng.standard_normal((batch, net.n_inputs))
    if net.loss_name == "cross_entropy":
        y = rng.integers(0, net.n_outputs, batch)
    else:
        y = rng.standard_normal((batch, net.n_outputs))
    return net, params, x, y


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("head", sorted(HEADS))
@pytest.mark.parametrize("degree", [1, 2, 3])
@pytest.mark.parametrize("op_name", sorted(NET_OPERATORS))
def test_gradcheck(op_name, degree, head, backend):
    net, params, x, y = _net_and_data(op_name, head, degree, backend)
    report = ps.gradcheck(net, params, x, y, max_coords=300)
    assert report.max_rel_error <= 1e-6, report
    assert 1.9 <= report.taylor_order <= 2.1, report


@pytest.mark.parametrize("op_name", sorted(NET_OPERATORS))
def test_backends_agree(op_name):
    net, params, x, y = _net_and_data(op_name, "ce_dense", 2, "numba", seed=4)
    ref = ps.network_from_config({**net.config, "backend": "numpy"})
    _assert_backends_agree(net, ref, params, x, y)
    np.testing.assert_allclose(net.predict(params, x), ref.predict(params, x), rtol=0, atol=1e-12)


def _assert_backends_agree(net, ref, params, x, y):
    """Loss and gradients of the Numba network ``net`` and its NumPy twin ``ref`` agree to
    1e-12 (relative to the largest entry); returns the Numba network's."""
    v1, g1 = net.value_and_grad(params, x, y)
    v2, g2 = ref.value_and_grad(params, x, y)
    assert abs(v1 - v2) <= 1e-12 * max(1.0, abs(v2))
    for k in g2:
        scale = max(1.0, np.abs(g2[k]).max())
        np.testing.assert_allclose(g1[k], g2[k], rtol=0, atol=1e-12 * scale)
    return v1, g1


@pytest.mark.parametrize("op_name", ["conv1d", "conv1d_wide", "conv_2d"])
def test_checkpointed_gradient_is_bitwise_equal(op_name):
    net, params, x, y = _net_and_data(op_name, "ce_dense", 2, "numba", seed=5)
    v1, g1 = net.value_and_grad(params, x, y)
    v2, g2 = net.value_and_grad(params, x, y, checkpoints=2)
    assert v1 == v2
    for k in g1:
        np.testing.assert_array_equal(g1[k], g2[k])


@pytest.mark.parametrize("activation", ["identity", "tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("width", [1, 2, 3, 200])
def test_one_channel_three_taps_row_sweeps(width, activation):
    """The one-channel three-tap convolution runs through the row-by-row sweeps of
    ``kernels/conv_layers.py`` (rows of one or two entries take their own branches):
    they agree with the reference, and the checkpointed adjoint, which evaluates the
    activations again instead of reading them, gives the same bits."""
    net = ps.SpliNet(width, n_layers=7, degree=2, n_knots=3, activation=activation,
                     operator="conv1d", opening="identity", closing="dense", n_outputs=3,
                     loss="cross_entropy")
    ref = ps.network_from_config({**net.config, "backend": "numpy"})
    rng = np.random.default_rng(width)
    params = net.init_params(rng, amplitude=0.8)
    x = rng.standard_normal((9, width))
    y = rng.integers(0, 3, 9)
    v1, g1 = _assert_backends_agree(net, ref, params, x, y)
    np.testing.assert_allclose(net.trajectory(params, x), ref.trajectory(params, x),
                               rtol=0, atol=1e-12)
    v3, g3 = net.value_and_grad(params, x, y, checkpoints=2)
    assert v3 == v1
    for k in g1:
        np.testing.assert_array_equal(g3[k], g1[k])


# ---------------------------------------------------------------------- configuration

class TestConfiguration:
    def test_shapes_and_geometry(self):
        assert ps.Conv1D(200).coef_shape == (3,)
        assert ps.Conv1D(200, kernel_size=5).coef_shape == (5,)
        assert ps.Conv(2, [5]).coef_shape == (2, 2, 3)
        assert ps.Conv(3, (4, 6), kernel_size=5).coef_shape == (3, 3, 5, 5)
        assert ps.Conv(3, (4, 6)).width == 72
        assert ps.Conv(2, 5).shape == (5,)
        np.testing.assert_array_equal(ps.Conv1D(9).geometry, [1, 1, 9, 1, 3])
        np.testing.assert_array_equal(ps.Conv(2, (4, 6), 5).geometry, [2, 4, 6, 5, 5])

    def test_network_parameters_and_config_round_trip(self):
        net = ps.SpliNet(10, n_layers=4, degree=2, n_knots=3,
                         operator={"kind": "conv", "channels": 2, "shape": [5]})
        assert isinstance(net.operator, ps.Conv)
        params = net.init_params(np.random.default_rng(0))
        assert params["W"].shape == (5, 2, 2, 3)
        assert params["b"].shape == (5, 10)
        again = ps.network_from_config(net.config)
        assert again.operator.config() == net.operator.config()
        x = np.random.default_rng(1).standard_normal((3, 1))
        np.testing.assert_array_equal(again.predict(params, x), net.predict(params, x))

    def test_operator_instance_and_name(self):
        net = ps.ODENet(7, n_layers=3, operator=ps.Conv1D(7, kernel_size=5))
        assert net.operator.config() == {"kind": "conv1d", "kernel_size": 5}
        assert ps.ResNet(7, 3, operator="conv1d").param_shapes()["W"] == (3, 3)

    def test_width_must_match_the_grid(self):
        with pytest.raises(ValueError, match="width 10"):
            ps.SpliNet(12, n_layers=4, operator={"kind": "conv", "channels": 2, "shape": [5]})
        with pytest.raises(ValueError, match="width"):
            ps.SpliNet(12, n_layers=4, operator=ps.Conv(2, (2, 2)))

    @pytest.mark.parametrize("kwargs,match", [
        (dict(channels=0, shape=[5]), "channels"),
        (dict(channels=2, shape=[5, 0]), "shape"),
        (dict(channels=2, shape=[]), "shape"),
        (dict(channels=2, shape="ab"), "shape"),
        (dict(channels=2, shape=[5], kernel_size=4), "odd"),
        (dict(channels=2, shape=[5], kernel_size=0), "kernel_size"),
        (dict(channels=1.5, shape=[5]), "channels"),
    ])
    def test_bad_arguments(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            ps.Conv(**kwargs)

    def test_three_spatial_axes_not_implemented(self):
        with pytest.raises(NotImplementedError, match="three spatial axes"):
            ps.Conv(1, (2, 3, 4))

    def test_bad_network_spec(self):
        with pytest.raises(ValueError, match="not accepted"):
            make_operator({"kind": "conv", "shape": [5]}, 5)
        with pytest.raises(ValueError, match="kernel_size"):
            make_operator({"kind": "conv1d", "kernel_size": 2}, 5)


# ---------------------------------------------------------------------- Indian Pines

INDIAN_PINES_FILE = str(SHARED_DATA / "indian_pines" / "indian_pines.npz")


def test_indian_pines_network_is_the_papers():
    """Section 4.1.3: identity opening (width = bands), a width-3 convolution over the
    bands with a full bias vector, ReLU, a dense closing to 16 classes, cross-entropy."""
    from pysplinet.cases import build_network

    net = build_network("indian-pines", "splinet", degree=2, knots=10, layers=100,
                        n_inputs=200)
    assert isinstance(net.operator, ps.Conv1D) and net.operator.kernel_size == 3
    assert (net.width, net.n_inputs, net.n_outputs) == (200, 200, 16)
    assert (net.opening, net.closing, net.activation, net.loss_name) == \
        ("identity", "dense", "relu", "cross_entropy")
    shapes = net.param_shapes()
    assert shapes["W"] == (12, 3) and shapes["b"] == (12, 200)
    assert shapes["closing.W"] == (16, 200)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("arch,layers", [("splinet", dict(degree=2, knots=3, layers=8)),
                                         ("odenet", dict(layers=5)),
                                         ("resnet", dict(layers=4))])
def test_indian_pines_network_gradcheck(arch, layers, backend):
    """The same network on 12 bands; with ReLU the check holds for this seed because no
    preactivation comes within a finite-difference step of the kink."""
    from pysplinet.cases import build_network

    net = build_network("indian-pines", arch, n_inputs=12, backend=backend, **layers)
    rng = np.random.default_rng(0)
    params = net.init_params(rng, amplitude=1.0)
    x = rng.standard_normal((6, 12))
    y = rng.integers(0, 16, 6)
    report = ps.gradcheck(net, params, x, y, max_coords=300)
    assert report.max_rel_error <= 1e-6, report
    assert 1.9 <= report.taylor_order <= 2.1, report


def test_indian_pines_backends_agree_on_the_scene():
    import os

    if not os.path.isfile(INDIAN_PINES_FILE):
        pytest.skip(f"optional data file {INDIAN_PINES_FILE} is not present")
    from pysplinet.cases import build_network, load_data

    data = load_data("indian-pines", INDIAN_PINES_FILE, seed=0, n_train=40, n_val=10)
    net = build_network("indian-pines", "splinet", degree=2, knots=10, layers=100, data=data)
    assert net.width == data.n_inputs == data.x_train.shape[1]
    ref = ps.network_from_config({**net.config, "backend": "numpy"})
    params = net.init_params(np.random.default_rng(1))
    v1, g1 = net.value_and_grad(params, data.x_train, data.y_train)
    v2, g2 = ref.value_and_grad(params, data.x_train, data.y_train)
    assert abs(v1 - v2) <= 1e-12 * abs(v2)
    for k in g2:
        np.testing.assert_allclose(g1[k], g2[k], rtol=0, atol=1e-12 * np.abs(g2[k]).max())

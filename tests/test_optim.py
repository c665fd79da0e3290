"""Tests for pysplinet.optim: Adam, the Tikhonov term and the finiteness checks."""

import math

import numpy as np
import pytest

from pysplinet import optim
from pysplinet.optim import Adam, NonFiniteGradientError, add_tikhonov, tikhonov


def _copy(d):
    return {k: np.array(v, copy=True) for k, v in d.items()}


def _assert_same_bits(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert a[k].tobytes() == b[k].tobytes(), k


class TestAdamTrace:
    def test_three_steps_by_hand(self):
        # f(x, y) = 0.5 * x**2 + 2 * (y - 1)**2, gradient (x, 4 * (y - 1)); "x" is 0-d.
        lr, b1, b2, eps = 0.1, 0.8, 0.95, 1e-3
        opt = Adam(lr=lr, beta1=b1, beta2=b2, eps=eps)
        params = {"x": np.array(2.0), "y": np.array([-0.5])}
        state = opt.init(params)

        # The same recursion with Python floats, one coordinate at a time.
        x, y = 2.0, -0.5
        mx = vx = my = vy = 0.0
        for t in (1, 2, 3):
            gx, gy = x, 4.0 * (y - 1.0)
            grads = {"x": np.array(gx), "y": np.array([gy])}
            params, state = opt.step(params, grads, state)

            mx = b1 * mx + (1 - b1) * gx
            vx = b2 * vx + (1 - b2) * gx * gx
            my = b1 * my + (1 - b1) * gy
            vy = b2 * vy + (1 - b2) * gy * gy
            x -= lr * (mx / (1 - b1**t)) / (math.sqrt(vx / (1 - b2**t)) + eps)
            y -= lr * (my / (1 - b1**t)) / (math.sqrt(vy / (1 - b2**t)) + eps)

            assert int(state["step"]) == t
            assert params["x"].shape == () and params["y"].shape == (1,)
            np.testing.assert_allclose(params["x"], x, rtol=1e-15, atol=0)
            np.testing.assert_allclose(params["y"], [y], rtol=1e-15, atol=0)
            np.testing.assert_allclose(state["m/x"], mx, rtol=1e-15, atol=0)
            np.testing.assert_allclose(state["v/x"], vx, rtol=1e-15, atol=0)
            np.testing.assert_allclose(state["m/y"], [my], rtol=1e-15, atol=0)
            np.testing.assert_allclose(state["v/y"], [vy], rtol=1e-15, atol=0)

        # Literal values of the first step, independent of the loop above: after one step the
        # bias-corrected ratio is g / (|g| + eps).
        opt = Adam(lr=lr, beta1=b1, beta2=b2, eps=eps)
        p1, _ = opt.step(
            {"x": np.array(2.0), "y": np.array([-0.5])},
            {"x": np.array(2.0), "y": np.array([-6.0])},
            opt.init({"x": np.array(2.0), "y": np.array([-0.5])}),
        )
        np.testing.assert_allclose(p1["x"], 2.0 - 0.1 * 2.0 / 2.001, rtol=1e-15)
        np.testing.assert_allclose(p1["y"], [-0.5 + 0.1 * 6.0 / 6.001], rtol=1e-15)

    def test_step_does_not_modify_inputs(self):
        opt = Adam(lr=0.01)
        params = {"a": np.array([1.0, 2.0]), "lam": np.array(0.5)}
        grads = {"a": np.array([0.3, -0.1]), "lam": np.array(2.0)}
        state = opt.init(params)
        p0, g0, s0 = _copy(params), _copy(grads), _copy(state)
        new_params, new_state = opt.step(params, grads, state)
        _assert_same_bits(params, p0)
        _assert_same_bits(grads, g0)
        _assert_same_bits(state, s0)
        assert all(isinstance(v, np.ndarray) for v in new_params.values())
        assert all(isinstance(v, np.ndarray) for v in new_state.values())
        assert new_params["lam"].shape == () and new_params["lam"].dtype == np.float64

    def test_state_is_plain_arrays(self, tmp_path):
        opt = Adam()
        params = {"W": np.ones((2, 3)), "lam": np.array(1.0)}
        state = opt.init(params)
        assert set(state) == {"step", "m/W", "v/W", "m/lam", "v/lam"}
        _, state = opt.step(params, {"W": np.ones((2, 3)), "lam": np.array(1.0)}, state)
        np.savez(tmp_path / "s.npz", **state)
        with np.load(tmp_path / "s.npz", allow_pickle=False) as f:
            back = {k: f[k] for k in f.files}
        assert sorted(back) == sorted(state)
        for k in state:
            assert back[k].tobytes() == state[k].tobytes()


def test_converges_on_convex_quadratic():
    rng = np.random.default_rng(3)
    q = rng.standard_normal((5, 5))
    a = q @ q.T + 0.5 * np.eye(5)  # symmetric positive definite
    c = rng.standard_normal(5)
    opt = Adam(lr=0.05)
    params = {"p": np.zeros(5), "s": np.array(3.0)}
    state = opt.init(params)
    for _ in range(1000):
        grads = {"p": a @ (params["p"] - c), "s": np.asarray(2.0 * params["s"])}
        params, state = opt.step(params, grads, state)
    assert np.linalg.norm(params["p"] - c) < 1e-10
    assert abs(float(params["s"])) < 1e-10


class TestNonFinite:
    def test_nan_refused_then_next_step_works(self):
        opt = Adam(lr=0.1)
        params = {"p": np.zeros(2)}
        state = opt.init(params)
        p0, s0 = _copy(params), _copy(state)
        with pytest.raises(NonFiniteGradientError, match=r"'p'.*index \(0,\)") as info:
            opt.step(params, {"p": np.array([np.nan, 1.0])}, state)
        assert isinstance(info.value, ValueError)
        assert info.value.key == "p" and info.value.index == (0,)
        assert math.isnan(info.value.value)
        _assert_same_bits(params, p0)
        _assert_same_bits(state, s0)
        assert all(np.isfinite(v).all() for v in state.values())

        params, state = opt.step(params, {"p": np.array([1.0, 1.0])}, state)
        assert int(state["step"]) == 1
        np.testing.assert_allclose(params["p"], [-0.1 / (1 + 1e-8)] * 2, rtol=1e-15)
        assert np.isfinite(state["m/p"]).all() and np.isfinite(state["v/p"]).all()

    def test_infinity_in_later_key_named(self):
        opt = Adam()
        params = {"a": np.zeros(3), "b": np.zeros((2, 2)), "lam": np.array(1.0)}
        state = opt.init(params)
        b = np.array([[0.0, 1.0], [-np.inf, 0.0]])
        grads = {"a": np.ones(3), "b": b, "lam": np.array(0.0)}
        with pytest.raises(NonFiniteGradientError, match=r"'b'.*\(1, 0\).*-inf"):
            opt.step(params, grads, state)
        grads = {"a": np.ones(3), "b": np.zeros((2, 2)), "lam": np.array(np.nan)}
        with pytest.raises(NonFiniteGradientError, match=r"'lam'.*index \(\)"):
            opt.step(params, grads, state)


class TestValidation:
    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"lr": 0.0}, "`lr`"),
            ({"lr": -1.0}, "`lr`"),
            ({"lr": float("inf")}, "`lr`"),
            ({"lr": float("nan")}, "`lr`"),
            ({"beta1": 1.0}, "`beta1`"),
            ({"beta1": -0.1}, "`beta1`"),
            ({"beta2": 1.0}, "`beta2`"),
            ({"beta2": float("nan")}, "`beta2`"),
            ({"eps": 0.0}, "`eps`"),
            ({"eps": float("inf")}, "`eps`"),
        ],
    )
    def test_bad_hyperparameters(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            Adam(**kwargs)

    def test_bad_hyperparameter_types(self):
        with pytest.raises(TypeError, match="`lr`"):
            Adam(lr="0.1")
        with pytest.raises(TypeError, match="`beta1`"):
            Adam(beta1=True)

    def test_beta_zero_allowed(self):
        opt = Adam(lr=0.5, beta1=0.0, beta2=0.0)
        params, _ = opt.step({"p": np.array([1.0])}, {"p": np.array([4.0])},
                             opt.init({"p": np.array([1.0])}))
        np.testing.assert_allclose(params["p"], [1.0 - 0.5 * 4.0 / (4.0 + 1e-8)], rtol=1e-15)

    def test_grad_keys_and_shapes(self):
        opt = Adam()
        params = {"a": np.zeros(3), "b": np.zeros((2, 2))}
        state = opt.init(params)
        with pytest.raises(ValueError, match=r"missing \['b'\], unexpected \['c'\]"):
            opt.step(params, {"a": np.zeros(3), "c": np.zeros((2, 2))}, state)
        with pytest.raises(ValueError, match=r"`grads\['b'\]` has shape \(4,\)"):
            opt.step(params, {"a": np.zeros(3), "b": np.zeros(4)}, state)
        with pytest.raises(TypeError, match=r"`grads\['a'\]`"):
            opt.step(params, {"a": [0.0, 0.0, 0.0], "b": np.zeros((2, 2))}, state)
        with pytest.raises(TypeError, match=r"`params\['a'\]`"):
            opt.step({"a": np.zeros(3, dtype=int), "b": np.zeros((2, 2))}, params, state)

    def test_state_must_match(self):
        opt = Adam()
        params = {"a": np.zeros(3)}
        grads = {"a": np.ones(3)}
        other = opt.init({"z": np.zeros(3)})
        with pytest.raises(ValueError, match="does not belong"):
            opt.step(params, grads, other)
        bad_shape = opt.init({"a": np.zeros(4)})
        with pytest.raises(ValueError, match=r"`state\['m/a'\]` has shape \(4,\)"):
            opt.step(params, grads, bad_shape)
        with pytest.raises(ValueError, match="step"):
            opt.step(params, grads, {"m/a": np.zeros(3), "v/a": np.zeros(3)})


class TestTikhonov:
    def test_value_and_lam_excluded(self):
        params = {"W": np.array([[1.0, -2.0]]), "b": np.array([3.0]), "lam": np.array(5.0)}
        value, grads = tikhonov(params, 0.2, ("W", "b"))
        assert value == pytest.approx(0.1 * (1 + 4 + 9), rel=1e-15)
        np.testing.assert_array_equal(grads["W"], [[0.2, -0.4]])
        np.testing.assert_array_equal(grads["b"], [0.2 * 3.0])
        assert grads["lam"].shape == () and float(grads["lam"]) == 0.0

    def test_gradient_by_finite_differences(self):
        rng = np.random.default_rng(7)
        params = {
            "W": rng.standard_normal((3, 2, 2)),
            "b": rng.standard_normal((3, 2)),
            "lam": np.array(0.7),
        }
        keys = ("W", "b")
        gamma = 0.3
        # a smooth stand-in data loss, so the summed gradient is checked as well
        def data_loss(p):
            return float(np.sum(np.sin(p["W"])) + np.sum(p["b"] ** 3) + p["lam"] ** 2)

        def data_grad(p):
            return {"W": np.cos(p["W"]), "b": 3 * p["b"] ** 2, "lam": np.asarray(2 * p["lam"])}

        def objective(p):
            return add_tikhonov(p, data_loss(p), data_grad(p), gamma, keys)[0]

        _, grads = add_tikhonov(params, data_loss(params), data_grad(params), gamma, keys)
        h = 1e-6
        for key, p in params.items():
            for idx in np.ndindex(p.shape):
                plus, minus = _copy(params), _copy(params)
                plus[key][idx] += h
                minus[key][idx] -= h
                fd = (objective(plus) - objective(minus)) / (2 * h)
                assert fd == pytest.approx(grads[key][idx], rel=1e-7, abs=1e-8), (key, idx)

    def test_gamma_zero_is_identity(self):
        params = {"W": np.ones(2), "lam": np.array(1.0)}
        g = {"W": np.array([0.5, 0.25]), "lam": np.array(-1.0)}
        loss, grads = add_tikhonov(params, 1.5, g, 0.0, ("W",))
        assert loss == 1.5
        _assert_same_bits(grads, g)

    def test_gamma_zero_with_huge_parameters(self):
        params = {"W": np.array([1e300, -1e308])}
        value, grads = tikhonov(params, 0.0, ("W",))
        assert value == 0.0
        np.testing.assert_array_equal(grads["W"], [0.0, 0.0])
        assert tikhonov(params, 1.0, ("W",))[0] == math.inf

    def test_validation(self):
        params = {"W": np.ones(2)}
        for gamma in (-1.0, float("nan"), float("inf")):
            with pytest.raises(ValueError, match="`gamma`"):
                tikhonov(params, gamma, ("W",))
        with pytest.raises(TypeError, match="`gamma`"):
            tikhonov(params, None, ("W",))
        with pytest.raises(ValueError, match=r"unknown \['lam'\]"):
            tikhonov(params, 1.0, ("W", "lam"))
        with pytest.raises(ValueError, match="missing"):
            add_tikhonov(params, 0.0, {}, 1.0, ("W",))


@pytest.mark.parametrize("size", [1, 100, optim.DOT_CHUNK, optim.DOT_CHUNK + 1, 30_000])
def test_sum_of_squares_in_runs_of_one_thread(size):
    a = np.random.default_rng(size).standard_normal(size).reshape(-1, 1)
    total = optim.sum_of_squares(a)
    assert total == pytest.approx(float(np.sum(a * a)), rel=1e-13)
    runs = [a.ravel()[i:i + optim.DOT_CHUNK] for i in range(0, size, optim.DOT_CHUNK)]
    expected = 0.0
    for run in runs:
        expected += float(np.vdot(run, run))
    assert total == expected                     # the runs added in order, bit for bit


@pytest.mark.parametrize("size", [7, 30_000])
def test_all_finite_finds_the_bad_entry_anywhere(size):
    a = np.ones(size)
    assert optim.all_finite(a)
    for bad in (np.nan, np.inf, -np.inf):
        b = a.copy()
        b[-1] = bad
        assert not optim.all_finite(b)
    huge = np.full(size, 1e300)                  # the squares overflow; the entries are fine
    assert optim.all_finite(huge)

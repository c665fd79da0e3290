"""Tests for pysplinet.training: the training loop."""

import json
import logging
import math

import numpy as np
import pytest

import pysplinet as ps
from pysplinet.data import peaks, sine
from pysplinet.optim import Adam
from pysplinet.training import HISTORY_KEYS, objective, train, validation_metric


def _sine_net(**kwargs):
    options = dict(width=4, n_layers=20, degree=2, n_knots=5, learn_time_scale=True)
    options.update(kwargs)
    return ps.SpliNet(**options)


@pytest.fixture(scope="module")
def sine_case():
    data = sine(freq=1.0, seed=0)
    net = _sine_net()
    params = net.init_params(np.random.default_rng(0), amplitude=0.5)
    return net, params, data


def _same_bits(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes(), k


class _NaNGradientAt:
    """A network whose ``call``-th value_and_grad returns a NaN in one gradient entry."""

    def __init__(self, net, call):
        self._net = net
        self._call = call
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self._net, name)

    def value_and_grad(self, params, x, y):
        self.calls += 1
        loss, grads = self._net.value_and_grad(params, x, y)
        if self.calls == self._call:
            grads["b"] = grads["b"].copy()
            grads["b"][0, 1] = np.nan
        return loss, grads


def test_same_seed_same_bits(sine_case):
    net, params, data = sine_case
    kwargs = dict(epochs=15, batch_size=6, lr=0.01, reg=1e-4, seed=5)
    a = train(net, params, data, **kwargs)
    b = train(net, params, data, **kwargs)
    _same_bits(a.params, b.params)
    _same_bits(a.best_params, b.best_params)
    assert a.history == b.history
    assert (a.status, a.epochs_run, a.best_epoch) == (b.status, b.epochs_run, b.best_epoch)
    # the seed does change the batches (6 does not divide 20 samples, so order matters)
    c = train(net, params, data, **dict(kwargs, seed=6))
    assert c.history["train_loss"] != a.history["train_loss"]


def test_inputs_not_modified(sine_case):
    net, params, data = sine_case
    before = {k: v.copy() for k, v in params.items()}
    result = train(net, params, data, epochs=2, batch_size=7, lr=0.05)
    _same_bits(params, before)
    assert all(result.params[k] is not params[k] for k in params)


def test_sine_training_reduces_loss(sine_case):
    net, params, data = sine_case
    result = train(net, params, data, epochs=150, batch_size=5, lr=0.01, reg=1e-6, seed=1)
    h = result.history
    assert result.status == "completed" and result.epochs_run == 150
    assert set(h) == set(HISTORY_KEYS) and all(len(v) == 150 for v in h.values())
    assert h["epoch"] == list(range(1, 151))
    assert h["train_loss"][-1] < 0.05 * h["train_loss"][0]
    assert h["val_metric"][-1] < 0.05 * h["val_metric"][0]
    # the recorded validation numbers are those of the returned parameters
    out = net.predict(result.params, data.x_val)
    assert h["val_metric"][-1] == validation_metric("regression", out, data.y_val)
    assert h["val_metric"][-1] == float(np.mean((out - data.y_val) ** 2))
    assert h["val_loss"][-1] == net.loss(result.params, data.x_val, data.y_val)
    assert h["time_scale"][-1] == float(result.params["lam"])
    # best epoch bookkeeping
    assert result.best_val_metric == min(h["val_metric"])
    assert h["val_metric"][result.best_epoch - 1] == result.best_val_metric
    best_out = net.predict(result.best_params, data.x_val)
    assert validation_metric("regression", best_out, data.y_val) == result.best_val_metric
    assert result.seconds > 0


def test_fixed_time_scale_recorded(sine_case):
    _, _, data = sine_case
    net = _sine_net(learn_time_scale=False, time_scale=1.5)
    params = net.init_params(np.random.default_rng(1))
    result = train(net, params, data, epochs=3, batch_size=20, lr=0.01)
    assert "lam" not in result.params
    assert result.history["time_scale"] == [1.5, 1.5, 1.5]


class TestDivergence:
    def test_huge_lr_stops_before_bad_update(self, sine_case):
        net, params, data = sine_case
        result = train(net, params, data, epochs=5, batch_size=5, lr=1e200, seed=2)
        # the first update throws lam to about -1e200; the next batch's loss overflows
        assert result.status == "diverged"
        assert "epoch 1, batch 2" in result.message and "non-finite loss" in result.message
        assert result.epochs_run == 0 and all(v == [] for v in result.history.values())
        assert math.isnan(result.best_val_metric) and result.best_epoch is None
        # the returned parameters are those after exactly one step: the bad one was refused
        first = np.random.default_rng(2).permutation(20)[:5]
        _, _, grads = objective(net, params, data.x_train[first], data.y_train[first], 0.0)
        opt = Adam(lr=1e200)
        expected, _ = opt.step(params, grads, opt.init(params))
        _same_bits(result.params, expected)
        assert all(np.isfinite(v).all() for v in result.params.values())
        assert json.dumps(result.summary(), allow_nan=False)

    def test_non_finite_validation_ends_run(self, sine_case):
        net, params, data = sine_case
        result = train(net, params, data, epochs=5, batch_size=20, lr=1e200)
        assert result.status == "diverged" and result.epochs_run == 1
        assert "validation loss" in result.message
        assert result.history["val_loss"] == [math.inf]
        assert math.isfinite(result.history["train_loss"][0])
        summary = result.summary()
        assert summary["history"]["val_loss"] == [None]
        assert json.loads(json.dumps(summary, allow_nan=False))["status"] == "diverged"

    def test_nan_gradient_refused(self, sine_case):
        net, params, data = sine_case
        kwargs = dict(batch_size=20, lr=0.02, reg=1e-3, seed=0)
        reference = train(net, params, data, epochs=3, **kwargs)
        bad = _NaNGradientAt(net, call=4)  # full batch: the 4th call is epoch 4
        result = train(bad, params, data, epochs=10, **kwargs)
        assert bad.calls == 4
        assert result.status == "diverged"
        assert "gradient of 'b' at index (0, 1) (nan) at epoch 4, batch 1" in result.message
        assert result.history == reference.history
        _same_bits(result.params, reference.params)


    def test_update_overflow_refused(self, sine_case):
        net, params, data = sine_case

        class ConstantGradient(_NaNGradientAt):
            def value_and_grad(self, params, x, y):
                self.calls += 1
                return 1.0, {k: np.ones_like(v) for k, v in params.items()}

        fake = ConstantGradient(net, call=0)
        result = train(fake, params, data, epochs=2, batch_size=10, lr=1e308)
        # step 1 moves every entry by about -1e308; step 2 would overflow to -inf
        assert fake.calls == 2 and result.status == "diverged"
        assert "update makes 'W' non-finite at epoch 1, batch 2" in result.message
        opt = Adam(lr=1e308)
        expected, _ = opt.step(params, {k: np.ones_like(v) for k, v in params.items()},
                               opt.init(params))
        _same_bits(result.params, expected)


def test_early_stopping(sine_case):
    net, params, data = sine_case
    kwargs = dict(batch_size=20, lr=0.01, seed=0)
    reference = train(net, params, data, epochs=12, **kwargs)
    norms = reference.history["grad_norm"]
    tol = float(np.median(norms))
    stop = next(i for i, g in enumerate(norms) if g < tol) + 1
    assert stop < 12
    result = train(net, params, data, epochs=12, grad_tol=tol, **kwargs)
    assert result.status == "converged" and result.epochs_run == stop
    assert "under grad_tol" in result.message
    assert result.history == {k: v[:stop] for k, v in reference.history.items()}
    assert reference.status == "completed"


def test_grad_norm_is_full_objective_norm(sine_case):
    net, params, data = sine_case
    result = train(net, params, data, epochs=1, batch_size=20, lr=0.01, reg=0.5, seed=4)
    # one full batch, in the order of the run's first permutation (sums are order-sensitive)
    order = np.random.default_rng(4).permutation(20)
    x, y = data.x_train[order], data.y_train[order]
    _, _, grads = objective(net, params, x, y, 0.5)
    norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
    assert result.history["grad_norm"][0] == pytest.approx(norm, rel=1e-14)
    assert result.history["train_loss"][0] == net.loss(params, x, y)
    _, plain = net.value_and_grad(params, x, y)
    assert norm > math.sqrt(sum(float(np.sum(g * g)) for g in plain.values()))


def test_objective_gradient_by_finite_differences():
    net = ps.SpliNet(width=3, n_layers=12, degree=2, n_knots=3, learn_time_scale=True,
                     closing="dense", opening="dense", n_inputs=2, n_outputs=2)
    rng = np.random.default_rng(11)
    params = net.init_params(rng, amplitude=0.8)
    x = rng.standard_normal((6, 2))
    y = rng.standard_normal((6, 2))
    reg = 0.3
    value, data_loss, grads = objective(net, params, x, y, reg)
    assert data_loss == net.loss(params, x, y)
    squares = sum(float(np.sum(params[k] ** 2)) for k in net.regularised)
    assert value == pytest.approx(data_loss + 0.5 * reg * squares, rel=1e-14)
    assert "lam" not in net.regularised
    _, plain = net.value_and_grad(params, x, y)
    assert grads["lam"] == plain["lam"]  # lam is not regularised

    h = 1e-6
    for key, p in params.items():
        for idx in np.ndindex(p.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][idx] += h
            minus[key][idx] -= h
            fd = (objective(net, plus, x, y, reg)[0] - objective(net, minus, x, y, reg)[0])
            fd /= 2 * h
            assert fd == pytest.approx(grads[key][idx], rel=1e-6, abs=1e-9), (key, idx)


def test_classification_accuracy():
    data = peaks(seed=0, n_train=200, n_val=100)
    net = ps.SpliNet(width=4, n_layers=10, degree=1, n_knots=4, n_inputs=2,
                     closing="dense", n_outputs=data.n_outputs, loss="cross_entropy")
    params = net.init_params(np.random.default_rng(0))
    result = train(net, params, data, epochs=8, batch_size=50, lr=0.02)
    h = result.history
    assert result.status == "completed"
    out = net.predict(result.params, data.x_val)
    accuracy = float(np.mean(np.argmax(out, axis=1) == data.y_val))
    assert h["val_metric"][-1] == accuracy
    assert all(0.0 <= a <= 1.0 for a in h["val_metric"])
    assert result.best_val_metric == max(h["val_metric"])
    assert h["train_loss"][-1] < h["train_loss"][0]


def test_callback_and_stop(sine_case):
    net, params, data = sine_case
    seen = []

    def callback(epoch, record, current):
        seen.append((epoch, record))
        assert set(current) == set(params)
        return epoch == 2

    result = train(net, params, data, epochs=6, batch_size=10, lr=0.01, callback=callback)
    assert result.status == "stopped" and result.epochs_run == 2
    assert [e for e, _ in seen] == [1, 2]
    for epoch, record in seen:
        assert record == {k: result.history[k][epoch - 1] for k in HISTORY_KEYS}


def test_progress_bar_and_logging(sine_case, capsys, caplog):
    net, params, data = sine_case
    with caplog.at_level(logging.INFO, logger="pysplinet.training"):
        train(net, params, data, epochs=2, batch_size=20, lr=0.01, progress=True)
    assert "training" in capsys.readouterr().err
    assert any("completed after 2 epochs" in r.getMessage() for r in caplog.records)


class TestValidation:
    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"epochs": 0}, "`epochs`"),
            ({"epochs": 2.0}, "`epochs`"),
            ({"batch_size": 0}, "`batch_size`"),
            ({"lr": 0.0}, "`lr`"),
            ({"lr": float("nan")}, "`lr`"),
            ({"reg": -1.0}, "`reg`"),
            ({"seed": -1}, "`seed`"),
            ({"grad_tol": float("nan")}, "`grad_tol`"),
            ({"progress": "yes"}, "`progress`"),
            ({"callback": 3}, "`callback`"),
        ],
    )
    def test_bad_arguments(self, sine_case, kwargs, match):
        net, params, data = sine_case
        options = dict(epochs=1, batch_size=4, lr=0.01)
        options.update(kwargs)
        with pytest.raises(ValueError, match=match):
            train(net, params, data, **options)

    def test_bad_data(self, sine_case):
        net, params, data = sine_case
        cls_data = peaks(seed=0, n_train=20, n_val=10)
        with pytest.raises(ValueError, match="needs a network with loss='cross_entropy'"):
            train(net, params, cls_data, epochs=1, batch_size=4, lr=0.01)
        with pytest.raises(ValueError, match="must have attribute 'task'"):
            train(net, params, object(), epochs=1, batch_size=4, lr=0.01)

        class Wrong:
            task = "regression"
            x_train, y_train = data.x_train, data.y_train
            x_val, y_val = np.ones((5, 3)), np.ones((5, 1))

        with pytest.raises(ValueError, match="`data` val set does not fit the network"):
            train(net, params, Wrong(), epochs=1, batch_size=4, lr=0.01)
        Wrong.x_val = np.ones((4, 1))
        with pytest.raises(ValueError, match="same number"):
            train(net, params, Wrong(), epochs=1, batch_size=4, lr=0.01)

    def test_bad_params(self, sine_case):
        net, params, data = sine_case
        with pytest.raises(ValueError, match="missing"):
            train(net, {"W": params["W"]}, data, epochs=1, batch_size=4, lr=0.01)


def test_result_saves_as_model_file(sine_case, tmp_path):
    from pysplinet.io import load_network, save_model

    net, params, data = sine_case
    result = train(net, params, data, epochs=3, batch_size=10, lr=0.01, seed=3)
    path = save_model(tmp_path / "m.npz", net.config, result.params, result.summary())
    net2, params2, metadata = load_network(path)
    assert metadata["history"] == result.history
    assert metadata["status"] == "completed" and metadata["best_epoch"] == result.best_epoch
    out = net2.predict(params2, data.x_val)
    assert out.tobytes() == net.predict(result.params, data.x_val).tobytes()


def test_training_steps_are_objective_and_adam_steps(sine_case):
    """The training loop, which skips re-checking the dicts it makes, takes exactly the steps
    of the public objective() and Adam.step, to the last bit (regularised)."""
    net, params, data = sine_case
    reg, lr, seed, batch = 1e-3, 0.01, 4, 5
    result = train(net, params, data, epochs=2, batch_size=batch, lr=lr, reg=reg, seed=seed)
    rng = np.random.default_rng(seed)
    opt = Adam(lr=lr)
    p, state = params, opt.init(params)
    for _ in range(2):
        order = rng.permutation(len(data.x_train))
        for first in range(0, len(order), batch):
            idx = order[first:first + batch]
            _, _, grads = objective(net, p, data.x_train[idx], data.y_train[idx], reg)
            p, state = opt.step(p, grads, state)
    _same_bits(result.params, p)

"""Tests for pysplinet.network: configuration, input checks, shapes and dtypes, the
parameter dict, step sizes, and the cross-entropy head end to end."""

import json
import math

import numpy as np
import pytest

import pysplinet as ps
import pysplinet.reference
from pysplinet.kernels import euler, evaluate

import network_cases as cases


def _mse_net(backend="numba", **kw):
    kw = {"degree": 2, "n_knots": 3, **kw}
    return ps.SpliNet(3, 4, backend=backend, **kw)


def _ce_net(backend="numba"):
    return ps.SpliNet(3, 4, degree=2, n_knots=3, closing="dense", loss="cross_entropy",
                      n_outputs=3, backend=backend)


def _data(net, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    params = net.init_params(rng)
    x = rng.uniform(-1, 1, (batch, net.n_inputs))
    if net.loss_name == "mse":
        y = rng.normal(size=(batch, net.n_outputs))
    else:
        y = rng.integers(0, net.n_outputs, batch)
    return params, x, y


# ---------------------------------------------------------------------- construction

BAD_CONSTRUCTION = [
    ("degree", lambda: ps.SpliNet(2, 3, degree=0)),
    ("degree", lambda: ps.SpliNet(2, 3, degree=-1)),
    ("degree", lambda: ps.SpliNet(2, 3, degree=2.5)),
    ("n_knots", lambda: ps.SpliNet(2, 3, n_knots=0)),
    ("n_knots", lambda: ps.SpliNet(2, 3, n_knots=1.5)),
    ("n_layers", lambda: ps.SpliNet(2, 0)),
    ("n_layers", lambda: ps.SpliNet(2, -4)),
    ("n_layers", lambda: ps.ODENet(2, 0)),
    ("n_layers", lambda: ps.ResNet(2, 0)),
    ("n_layers", lambda: ps.ResNet(2, 2.0)),
    ("width", lambda: ps.SpliNet(0, 3)),
    ("width", lambda: ps.ODENet(-1, 3)),
    ("width", lambda: ps.ResNet(True, 3)),
    ("activation", lambda: ps.SpliNet(2, 3, activation="softplus")),
    ("activation", lambda: ps.ODENet(2, 3, activation=None)),
    ("loss", lambda: ps.SpliNet(2, 3, loss="hinge")),
    ("opening", lambda: ps.SpliNet(2, 3, opening="conv")),
    ("closing", lambda: ps.ResNet(2, 3, closing="max")),
    ("backend", lambda: ps.SpliNet(2, 3, backend="jax")),
    ("operator", lambda: ps.SpliNet(2, 3, operator="spectral")),
    ("operator", lambda: ps.SpliNet(2, 3, operator={"kind": "antisymmetric", "beta": 1})),
    ("operator", lambda: ps.SpliNet(2, 3, operator=ps.Dense(3))),
    ("gamma", lambda: ps.SpliNet(2, 3, operator={"kind": "antisymmetric", "gamma": -1})),
    ("time_scale", lambda: ps.SpliNet(2, 3, time_scale=float("nan"))),
    ("time_scale", lambda: ps.SpliNet(2, 3, time_scale=float("inf"))),
    ("time_scale", lambda: ps.SpliNet(2, 3, time_scale="fast")),
    ("time_scale", lambda: ps.SpliNet(2, 3, time_scale=None)),
    ("learn_time_scale", lambda: ps.SpliNet(2, 3, learn_time_scale="yes")),
    ("final_time", lambda: ps.SpliNet(2, 3, final_time=0.0)),
    ("final_time", lambda: ps.ODENet(2, 3, final_time=-1.0)),
    ("final_time", lambda: ps.ResNet(2, 3, final_time=3.0)),
    ("step_size", lambda: ps.SpliNet(2, step_size=0.1, final_time=0.25)),
    ("step_size", lambda: ps.SpliNet(2, step_size=-0.1)),
    ("step_size", lambda: ps.SpliNet(2, 3, step_size=0.1)),
    ("n_inputs", lambda: ps.SpliNet(2, 3, opening="identity", n_inputs=3)),
    ("n_inputs", lambda: ps.SpliNet(2, 3, opening="dense", n_inputs=0)),
    ("n_outputs", lambda: ps.SpliNet(2, 3, closing="mean", n_outputs=2)),
    ("n_outputs", lambda: ps.SpliNet(2, 3, closing="identity", n_outputs=3)),
    ("n_outputs", lambda: ps.SpliNet(2, 3, closing="dense", loss="cross_entropy")),
    ("cross_entropy", lambda: ps.SpliNet(2, 3, closing="mean", loss="cross_entropy")),
]


@pytest.mark.parametrize("name,make", BAD_CONSTRUCTION,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_CONSTRUCTION)])
def test_bad_construction_names_the_argument(name, make):
    with pytest.raises(ValueError, match=name):
        make()


@pytest.mark.parametrize("amplitude", [0, -1.0, float("nan"), float("inf"), "big", None])
def test_bad_amplitude(amplitude):
    with pytest.raises(ValueError, match="`amplitude`"):
        _mse_net().init_params(np.random.default_rng(0), amplitude=amplitude)


@pytest.mark.parametrize("rng", [0, None, np.random.RandomState(0), np.random.PCG64(0)],
                         ids=["int", "None", "RandomState", "BitGenerator"])
def test_rng_must_be_a_generator(rng):
    with pytest.raises(ValueError, match="`rng`"):
        _mse_net().init_params(rng)


# ---------------------------------------------------------------------- data checks


def _bad_data(net, params, x, y):
    """(argument name, x, y) triples that must be refused."""
    b = x.shape[0]
    out = [
        ("x", np.full(x.shape, "a"), y),
        ("x", x.astype(complex), y),
        ("x", x > 0, y),
        ("x", x.astype(object), y),
        ("x", np.where(x > 0, np.nan, x), y),
        ("x", np.where(x > 0, np.inf, x), y),
        ("x", np.where(x > 0, -np.inf, x), y),
        ("x", np.ones((b, net.n_inputs + 1)), y),
        ("x", np.ones((b, net.n_inputs, 1)), y),
        ("x", np.ones((0, net.n_inputs)), y[:0]),
        ("x", 1.0, y),
    ]
    if net.loss_name == "mse":
        out += [
            ("y", x, np.full(y.shape, "a")),
            ("y", x, y.astype(complex)),
            ("y", x, y > 0),
            ("y", x, np.where(y > 0, np.nan, y)),
            ("y", x, np.where(y > 0, np.inf, y)),
            ("y", x, np.ones((b, b))),                    # (B, B): never broadcast
            ("y", x, np.ones((1, b))),
            ("y", x, np.ones((b - 1, net.n_outputs))),
            ("y", x, np.ones((b, net.n_outputs, 1))),
            ("y", x, np.ones((b, net.n_outputs + 1))),
        ]
    else:
        out += [
            ("y", x, y.astype(float)),
            ("y", x, y + 0.5),
            ("y", x, y > 0),
            ("y", x, np.full(y.shape, "1")),
            ("y", x, np.where(y == 0, net.n_outputs, y)),
            ("y", x, np.where(y == 0, -1, y)),
            ("y", x, y[:, None]),
            ("y", x, y[:-1]),
        ]
    return out


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("kind", ["mse", "cross_entropy"])
def test_bad_data_is_refused_before_any_work(kind, backend, monkeypatch):
    net = _mse_net(backend) if kind == "mse" else _ce_net(backend)
    params, x, y = _data(net)
    if kind == "cross_entropy":
        y = np.array([0, 1, 2, 0])                       # every label present

    def no_work(*args, **kwargs):
        raise AssertionError("a sweep ran before the input was checked")

    for mod, names in ((euler, ("euler_forward", "euler_adjoint")),
                       (evaluate, ("value_and_grad_stored",)),
                       (pysplinet.reference, ("forward", "adjoint"))):
        for name in names:
            monkeypatch.setattr(mod, name, no_work)
    with pytest.raises(AssertionError, match="a sweep ran"):       # the guard is in place
        net.value_and_grad(params, x, y)
    for name, xb, yb in _bad_data(net, params, x, y):
        with pytest.raises(ValueError, match=f"`{name}`"):
            net.value_and_grad(params, xb, yb)
        with pytest.raises(ValueError, match=f"`{name}`"):
            net.loss(params, xb, yb)
        if name == "x":
            with pytest.raises(ValueError, match="`x`"):
                net.predict(params, xb)
            with pytest.raises(ValueError, match="`x`"):
                net.trajectory(params, xb)


def _bad_params(params):
    first = next(iter(params))
    return [
        {k: v for k, v in params.items() if k != "b"},                       # missing
        dict(params, extra=np.zeros(2)),                                      # extra
        dict(params, lam=np.array(1.0)),                                      # not learned
        dict(params, W=params["W"][:-1]),                                     # shape
        dict(params, W=params["W"][..., None]),
        dict(params, b=params["b"].ravel()),
        dict(params, b=np.where(params["b"] > 0, np.nan, params["b"])),       # values
        dict(params, W=np.where(params["W"] > 0, np.inf, params["W"])),
        dict(params, b=params["b"] + 0j),                                     # dtype
        dict(params, b=params["b"] > 0),
        dict(params, b=np.full(params["b"].shape, "0.1")),
        [params[first]],                                                      # not a dict
    ]


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_bad_params_are_refused(backend, monkeypatch):
    net = _mse_net(backend)
    params, x, y = _data(net)
    for mod, name in ((euler, "euler_forward"), (pysplinet.reference, "forward")):
        monkeypatch.setattr(mod, name, lambda *a: pytest.fail("a sweep ran"))
    with pytest.raises(pytest.fail.Exception, match="a sweep ran"):
        net.predict(params, x)
    for bad in _bad_params(params):
        for call in (lambda: net.value_and_grad(bad, x, y), lambda: net.predict(bad, x),
                     lambda: net.loss(bad, x, y), lambda: net.trajectory(bad, x),
                     lambda: ps.gradcheck(net, bad, x, y)):
            with pytest.raises(ValueError, match="`params"):
                call()


def test_learned_time_scale_must_be_finite_and_scalar():
    net = _mse_net(learn_time_scale=True)
    params, x, y = _data(net)
    for lam in (np.array(np.nan), np.array([1.0]), np.array(np.inf)):
        with pytest.raises(ValueError, match="lam"):
            net.value_and_grad(dict(params, lam=lam), x, y)


# ---------------------------------------------------------------------- shapes and dtypes


def test_one_output_targets_as_vector_equal_column():
    net = _mse_net()
    params, x, y = _data(net)
    assert y.shape == (4, 1)
    l_col, g_col = net.value_and_grad(params, x, y)
    l_vec, g_vec = net.value_and_grad(params, x, y[:, 0])
    assert l_col == l_vec == net.loss(params, x, y[:, 0])
    for k in g_col:
        assert g_col[k].tobytes() == g_vec[k].tobytes()
    # the per-sample loss, not the (4, 4) outer difference a broadcast would give
    o = net.predict(params, x)
    assert o.shape == (4, 1)
    assert l_col == pytest.approx(0.5 * np.mean((o[:, 0] - y[:, 0]) ** 2), rel=1e-15)
    assert l_col != pytest.approx(0.5 * np.mean(np.sum((o - y[:, 0]) ** 2, axis=1)))


def test_one_input_as_vector_equals_column():
    net = _mse_net()
    params, x, y = _data(net)
    assert net.predict(params, x[:, 0]).tobytes() == net.predict(params, x).tobytes()
    assert net.loss(params, x[:, 0], y) == net.loss(params, x, y)


def test_vectors_are_refused_when_there_are_several_inputs_or_outputs():
    net = ps.SpliNet(3, 4, opening="dense", n_inputs=2, closing="dense", n_outputs=2)
    params, x, y = _data(net)
    with pytest.raises(ValueError, match="`x`"):
        net.predict(params, x[:, 0])
    with pytest.raises(ValueError, match="`y`"):
        net.value_and_grad(params, x, y[:, 0])
    with pytest.raises(ValueError, match="`y`"):
        net.value_and_grad(params, x, y.T)


@pytest.mark.parametrize("kind", ["mse", "cross_entropy"])
def test_float32_and_integer_inputs(kind):
    net = _mse_net() if kind == "mse" else _ce_net()
    params, x, y = _data(net)
    x32 = x.astype(np.float32)
    x64 = x32.astype(np.float64)                     # the same values, exactly
    y32 = y.astype(np.float32) if kind == "mse" else y.astype(np.int32)
    y64 = y32.astype(np.float64) if kind == "mse" else y32.astype(np.int64)
    l32, g32, dx32 = net.value_and_grad(params, x32, y32, return_input_grad=True)
    l64, g64, dx64 = net.value_and_grad(params, x64, y64, return_input_grad=True)
    assert isinstance(l32, float) and l32 == l64
    assert dx32.dtype == np.float64 and dx32.tobytes() == dx64.tobytes()
    for k in g64:
        assert g32[k].dtype == np.float64 and g32[k].tobytes() == g64[k].tobytes()
    o32 = net.predict(params, x32)
    assert o32.dtype == np.float64 and o32.tobytes() == net.predict(params, x64).tobytes()
    assert net.trajectory(params, x32).dtype == np.float64
    # float32 parameters are used at their float64 values
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    p64 = {k: v.astype(np.float64) for k, v in p32.items()}
    l_a, g_a = net.value_and_grad(p32, x64, y64)
    l_b, g_b = net.value_and_grad(p64, x64, y64)
    assert l_a == l_b
    for k in g_a:
        assert g_a[k].dtype == np.float64 and g_a[k].tobytes() == g_b[k].tobytes()
    # integer inputs
    xi = np.array([[-1], [0], [2], [1]], dtype=np.int16)
    np.testing.assert_array_equal(net.predict(params, xi), net.predict(params, xi * 1.0))


# ---------------------------------------------------------------------- the parameter dict


def _documented_shapes(net):
    m = net.width
    K = net.n_knots + net.degree if net.architecture == "splinet" else net.n_layers
    shapes = {"W": (K, m, m), "b": (K, m)}
    if net.learn_time_scale:
        shapes["lam"] = ()
    if net.opening == "dense":
        shapes["opening.W"] = (m, net.n_inputs)
        shapes["opening.b"] = (m,)
    if net.closing == "dense":
        shapes["closing.W"] = (net.n_outputs, m)
        shapes["closing.b"] = (net.n_outputs,)
    return shapes


@pytest.mark.parametrize("case", cases.CASES[::3] + cases.EDGE_CASES[::3], ids=cases.case_id)
def test_parameter_dict(case):
    net, params, x, y = cases.build(case)
    shapes = _documented_shapes(net)
    assert {k: v.shape for k, v in params.items()} == shapes
    assert net.param_shapes() == shapes
    assert all(v.dtype == np.float64 for v in params.values())
    assert net.n_params == sum(math.prod(s) for s in shapes.values())
    assert net.regularised == tuple(k for k in shapes if k != "lam")
    if net.learn_time_scale:
        assert float(net.init_params(np.random.default_rng(1))["lam"]) == net.time_scale

    # same seed, same bits; another seed, other values
    a = net.init_params(np.random.default_rng(42))
    b = net.init_params(np.random.default_rng(42))
    c = net.init_params(np.random.default_rng(43))
    assert list(a) == list(b)
    assert all(a[k].tobytes() == b[k].tobytes() for k in a)
    assert not np.array_equal(a["W"], c["W"])

    loss, grads = net.value_and_grad(params, x, y)
    assert isinstance(loss, float)
    assert list(grads) == list(params)
    for k in params:
        assert grads[k].shape == params[k].shape and grads[k].dtype == np.float64, k


def test_init_params_scale():
    net = ps.SpliNet(4, 5, degree=2, n_knots=3, opening="dense", n_inputs=2,
                     closing="dense", n_outputs=3)
    params = net.init_params(np.random.default_rng(0), amplitude=0.5)
    glorot = {"W": math.sqrt(6 / 8), "b": math.sqrt(6 / 8), "opening.W": math.sqrt(6 / 6),
              "opening.b": math.sqrt(6 / 6), "closing.W": math.sqrt(6 / 7),
              "closing.b": math.sqrt(6 / 7)}
    for k, g in glorot.items():
        assert np.max(np.abs(params[k])) <= 0.5 * g, k
        assert np.max(np.abs(params[k])) > 0.25 * g, k          # uses the range


@pytest.mark.parametrize("case", cases.CASES[1::4] + cases.EDGE_CASES[1::4],
                         ids=cases.case_id)
def test_config_round_trip(case):
    net, params, x, y = cases.build(case)
    cfg = json.loads(json.dumps(net.config))
    assert cfg == net.config
    again = ps.network_from_config(cfg)
    assert type(again) is type(net)
    assert again.config == net.config
    assert again.n_params == net.n_params
    assert again.predict(params, x).tobytes() == net.predict(params, x).tobytes()
    l1, g1 = net.value_and_grad(params, x, y)
    l2, g2 = again.value_and_grad(params, x, y)
    assert l1 == l2 and all(g1[k].tobytes() == g2[k].tobytes() for k in g1)


def test_config_errors():
    with pytest.raises(ValueError, match="`config"):
        ps.network_from_config({"architecture": "transformer", "width": 2})
    with pytest.raises(ValueError, match="`config"):
        ps.network_from_config(["splinet"])
    cfg = ps.SpliNet(2, 3).config
    cfg["colour"] = "red"
    with pytest.raises(ValueError, match="`config"):
        ps.network_from_config(cfg)


def test_with_layers_keeps_params_valid():
    net = ps.SpliNet(3, 20, degree=3, n_knots=4, opening="dense", n_inputs=2,
                     closing="dense", n_outputs=2, learn_time_scale=True,
                     operator={"kind": "antisymmetric", "gamma": 0.1})
    params, x, y = _data(net)
    for n in (1, 7, 20, 333):
        other = net.with_layers(n)
        assert isinstance(other, ps.SpliNet) and other.n_layers == n
        assert other.h == pytest.approx(net.final_time / n, rel=1e-15)
        cfg, ref = other.config, net.config
        assert {k: v for k, v in cfg.items() if k != "n_layers"} == \
            {k: v for k, v in ref.items() if k != "n_layers"}
        assert other.param_shapes() == net.param_shapes()
        other.check_params(params)
        assert other.predict(params, x).shape == (4, 2)
        assert np.isfinite(other.value_and_grad(params, x, y)[0])
    same = net.with_layers(20)
    assert same.predict(params, x).tobytes() == net.predict(params, x).tobytes()
    assert net.n_layers == 20                                  # the original is unchanged


# ---------------------------------------------------------------------- step size


def test_steps_from_step_size():
    assert ps.SpliNet(2, step_size=0.1, final_time=0.3).n_layers == 3
    assert ps.SpliNet(2, step_size=0.01, final_time=0.07).n_layers == 7
    assert ps.ODENet(2, step_size=0.25, final_time=2.0).n_layers == 8
    for h, T in ((0.1, 0.25), (0.3, 1.0), (0.07, 0.2), (2.0, 1.0)):
        with pytest.raises(ValueError, match="`step_size`"):
            ps.SpliNet(2, step_size=h, final_time=T)
    with pytest.raises(ValueError, match="`n_layers`"):
        ps.SpliNet(2)                                         # neither given


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_constant_control_output_by_hand(backend):
    # W = 0, b = 1, tanh, x(0) = 0: every step adds h tanh(1), so x(T) = T tanh(1)
    net = ps.SpliNet(1, step_size=0.1, final_time=0.3, opening="identity",
                     closing="identity", activation="tanh", backend=backend)
    assert net.n_layers == 3 and net.n_inputs == net.n_outputs == 1
    params = net.init_params(np.random.default_rng(0))
    params["W"][:] = 0.0
    params["b"][:] = 1.0
    out = net.predict(params, np.zeros((1, 1)))
    assert out.shape == (1, 1)
    assert abs(out[0, 0] - 0.22847824678672946) <= 1e-15
    assert abs(out[0, 0] - 0.3 * math.tanh(1.0)) <= 1e-15


# ---------------------------------------------------------------------- cross-entropy head


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("logits,label,value,grad", [
    ([1e8, 1e8], 1, math.log(2.0), [0.5, -0.5]),
    ([-431.0, 279.0, 427.0], 0, 858.0, [-1.0, math.exp(-148.0), 1.0]),
], ids=["equal-huge", "far-apart"])
def test_cross_entropy_through_a_network(logits, label, value, grad, backend):
    # identity opening and closing with W = 0, b = 0: tanh(0) = 0, so the output is the
    # input exactly, and dloss/dx is dloss/do
    m = len(logits)
    net = ps.SpliNet(m, 3, degree=1, n_knots=2, opening="identity", closing="identity",
                     loss="cross_entropy", backend=backend)
    params = {k: np.zeros(s) for k, s in net.param_shapes().items()}
    x = np.array([logits])
    y = np.array([label])
    assert net.predict(params, x).tobytes() == x.tobytes()
    loss, grads, dx = net.value_and_grad(params, x, y, return_input_grad=True)
    assert loss == pytest.approx(value, rel=1e-15, abs=0)
    np.testing.assert_allclose(dx[0], grad, rtol=1e-12, atol=0)
    assert all(np.all(np.isfinite(g)) for g in grads.values())
    assert net.loss(params, x, y) == loss


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("kind", ["mse", "cross_entropy"])
def test_output_loss_is_the_loss_of_the_outputs(kind, backend):
    net = _mse_net(backend) if kind == "mse" else _ce_net(backend)
    params, x, y = _data(net)
    o = net.predict(params, x)
    loss = net.output_loss(params, o, y)
    assert loss == net.loss(params, x, y) == net.value_and_grad(params, x, y)[0]
    with pytest.raises(ValueError, match="`o`"):
        net.output_loss(params, o[:, :1] if net.n_outputs > 1 else o.ravel(), y)
    with pytest.raises(ValueError, match="`o`"):
        net.output_loss(params, o.astype(str), y)
    with pytest.raises(ValueError, match="`o` and `y` must hold the same number"):
        net.output_loss(params, o[:-1], y)
    with pytest.raises(ValueError, match="`y`"):
        net.output_loss(params, o, y[:, None] if kind == "cross_entropy" else y[:, :0])

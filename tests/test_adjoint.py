"""The forward and adjoint sweeps: both back ends, naive loops, Remark 1, re-discretisation,
and runs with the JIT disabled and with Numba's bounds checking on."""

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

import pysplinet as ps
from pysplinet.kernels import euler

import network_cases as cases
import naive

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
ALL_CASES = cases.CASES + cases.EDGE_CASES


def _rel(a, b):
    """Normwise relative difference ``max|a - b| / max|b|`` (0 when both are zero).

    Entries that cancel to nearly zero would make an entrywise ratio meaningless; the
    normwise measure asks every entry to be right to 1e-12 of the array's scale.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape
    scale = np.max(np.abs(b), initial=0.0)
    diff = np.max(np.abs(a - b), initial=0.0)
    return 0.0 if diff == 0.0 else diff / scale


def _everything(net, params, x, y):
    """Loss, every gradient, input gradient, predict and trajectory, in one flat dict."""
    loss, grads, dx = net.value_and_grad(params, x, y, return_input_grad=True)
    out = {"loss": loss, "dx": dx, "predict": net.predict(params, x),
           "trajectory": net.trajectory(params, x), "loss()": net.loss(params, x, y)}
    out.update({f"grad[{k}]": v for k, v in grads.items()})
    return out


# ---------------------------------------------------------------------- back ends


@pytest.mark.parametrize("case", ALL_CASES, ids=cases.case_id)
def test_numpy_and_numba_back_ends_agree(case):
    fast = _everything(*cases.build(case, backend="numba"))
    ref = _everything(*cases.build(case, backend="numpy"))
    assert list(fast) == list(ref)
    for key in ref:
        assert _rel(fast[key], ref[key]) <= 1e-12, key


@pytest.mark.parametrize("case", ALL_CASES, ids=cases.case_id)
def test_forward_matches_naive_loops(case):
    net, params, x, y = cases.build(case)
    T, N = net.final_time, net.n_layers
    Ks, bs = [], []
    for i in range(N):
        if net.architecture == "splinet":
            t_i = i * T / N
            W = naive.spline_value(params["W"], t_i, net.degree, net.n_knots, T)
            b = naive.spline_value(params["b"], t_i, net.degree, net.n_knots, T)
        else:
            W, b = params["W"][i], params["b"][i]
        if net.operator.name == "antisymmetric":
            W = W - W.T - net.operator.gamma * np.eye(net.width)
        Ks.append(W)
        bs.append(b)
    lam = float(params["lam"]) if net.learn_time_scale else net.time_scale
    x0 = naive.opening(net.opening, x, net.width, params.get("opening.W"),
                       params.get("opening.b"))
    states = naive.forward_euler(x0, Ks, bs, T / N, lam, net.activation)
    o = naive.closing(net.closing, states[-1], params.get("closing.W"),
                      params.get("closing.b"))
    if net.loss_name == "mse":
        loss = naive.mse(o, y)
    else:
        loss = naive.softmax_cross_entropy(o, y)
    traj = net.trajectory(params, x)
    assert traj.shape == (N + 1, x.shape[0], net.width)
    for i in range(N + 1):
        assert _rel(traj[i], states[i]) <= 1e-13, i
    assert _rel(net.predict(params, x), o) <= 1e-13
    assert abs(net.loss(params, x, y) - loss) <= 1e-13 * abs(loss)


# ---------------------------------------------------------------------- Remark 1


def _remark1_pair(n_layers, final_time, backend, resnet):
    kw = dict(activation="tanh", opening="dense", closing="dense", n_inputs=2, n_outputs=2,
              learn_time_scale=True, time_scale=0.9, backend=backend)
    spl = ps.SpliNet(3, n_layers, degree=1, n_knots=n_layers, final_time=final_time, **kw)
    if resnet:
        per_layer = ps.ResNet(3, n_layers, **kw)
    else:
        per_layer = ps.ODENet(3, n_layers, final_time=final_time, **kw)
    return spl, per_layer


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("n_layers,final_time,resnet",
                         [(1, 1.0, False), (4, 1.0, False), (13, 0.7, False),
                          (50, 2.0, False), (6, 6.0, True), (1, 1.0, True)],
                         ids=["N1", "N4", "N13-T0.7", "N50-T2", "resnet-N6", "resnet-N1"])
def test_remark1_degree_one_splinet_is_a_per_layer_network(n_layers, final_time, resnet,
                                                           backend):
    # Remark 1 with the library's numbering (basis.py): B_l^1 has support
    # [tau_l, tau_{l+2}] and peaks at tau_{l+1}. With n_knots = N the knots are the layer
    # times, tau_i = t_i, so B_l^1(t_i) = 1 exactly for l = i - 1, i.e. array index
    # j = l + d = i. Layer i of the ODEnet (ResNet when h = 1) therefore uses SpliNet set
    # i; the last set (j = N, the hat centred at T) is never used by a layer.
    first, weights = ps.layer_basis(n_layers, 1, n_layers)
    np.testing.assert_array_equal(first, np.arange(n_layers))
    np.testing.assert_array_equal(weights, np.tile([1.0, 0.0], (n_layers, 1)))

    spl, per_layer = _remark1_pair(n_layers, final_time, backend, resnet)
    assert spl.h == per_layer.h
    rng = np.random.default_rng(n_layers)
    p_spl = spl.init_params(rng)
    p_pl = dict(p_spl)
    p_pl["W"] = p_spl["W"][:n_layers].copy()
    p_pl["b"] = p_spl["b"][:n_layers].copy()
    x = rng.uniform(-1, 1, (5, 2))
    y = rng.normal(size=(5, 2))

    assert _rel(spl.predict(p_spl, x), per_layer.predict(p_pl, x)) <= 1e-14
    assert _rel(spl.trajectory(p_spl, x), per_layer.trajectory(p_pl, x)) <= 1e-14
    l_spl, g_spl = spl.value_and_grad(p_spl, x, y)
    l_pl, g_pl = per_layer.value_and_grad(p_pl, x, y)
    assert abs(l_spl - l_pl) <= 1e-14 * abs(l_pl)
    for key in ("W", "b"):
        assert _rel(g_spl[key][:n_layers], g_pl[key]) <= 1e-14, key
        assert np.all(g_spl[key][n_layers] == 0.0), key      # the unused hat at t = T
    for key in ("lam", "opening.W", "opening.b", "closing.W", "closing.b"):
        assert _rel(g_spl[key], g_pl[key]) <= 1e-14, key
    # a wrong mapping (set i + 1 for layer i) gives a different network
    p_shift = dict(p_pl, W=p_spl["W"][1:].copy(), b=p_spl["b"][1:].copy())
    assert _rel(per_layer.predict(p_shift, x), spl.predict(p_spl, x)) > 1e-3


# ---------------------------------------------------------------------- re-discretisation


@pytest.mark.parametrize("degree,activation", [(1, "tanh"), (2, "sigmoid"), (3, "tanh")])
def test_rediscretisation_converges_at_first_order(degree, activation):
    # one set of SpliNet coefficients, evaluated with ever finer steps, approaches the ODE
    # solution like h (forward Euler); the reference is a Richardson extrapolation of
    # N = 10^5 and 2 10^5, whose own error is O(h^2) ~ 1e-10
    net = ps.SpliNet(3, 10, degree=degree, n_knots=5, activation=activation,
                     opening="dense", n_inputs=2, closing="dense", n_outputs=2,
                     final_time=2.0, time_scale=1.3)
    rng = np.random.default_rng(degree)
    params = net.init_params(rng)
    x = rng.uniform(-1, 1, (4, 2))
    fine = net.with_layers(100_000).predict(params, x)
    finer = net.with_layers(200_000).predict(params, x)
    ref = 2.0 * finer - fine
    ns = np.array([10, 100, 1000, 10_000])
    errors = np.array([np.max(np.abs(net.with_layers(int(n)).predict(params, x) - ref))
                       for n in ns])
    assert np.all(np.diff(errors) < 0), errors
    slope = np.polyfit(np.log(2.0 / ns), np.log(errors), 1)[0]
    assert 0.9 <= slope <= 1.1, (slope, errors)
    assert errors[0] > 1e-4                # the test is not trivially satisfied


# ---------------------------------------------------------------------- kernels unjitted


_SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {tests!r})
    import numba
    import numpy as np
    import network_cases as cases
    from pysplinet.kernels import euler

    def rel(a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        d = np.max(np.abs(a - b), initial=0.0)
        return 0.0 if d == 0.0 else float(d / np.max(np.abs(b)))

    out = {{"disable_jit": bool(numba.config.DISABLE_JIT),
            "boundscheck": bool(numba.config.BOUNDSCHECK),
            "kernel": type(euler.euler_forward).__name__, "results": {{}}}}
    for c in cases.CASES + cases.EDGE_CASES:
        res = []
        for backend in ("numba", "numpy"):
            net, p, x, y = cases.build(c, backend=backend)
            loss, g, dx = net.value_and_grad(p, x, y, return_input_grad=True)
            res.append([loss, dx, net.predict(p, x)] + [g[k] for k in sorted(g)])
        out["results"][cases.case_id(c)] = max(rel(a, b) for a, b in zip(*res))

    # negative control: a control table pointing one set past the coefficient array
    Wc, bc = np.zeros((2, 4)), np.zeros((2, 2))
    X, states = np.ones((1, 2)), np.empty((0, 1, 2))
    try:
        euler.euler_forward(0, np.zeros(1, np.int64), 0.0, 1, (), Wc, bc,
                            np.array([1], np.int64), np.ones((1, 2)), 0.1, 1.0, 0, 1,
                            X, states, states)
        out["out_of_bounds"] = "no error"
    except IndexError as err:
        out["out_of_bounds"] = "IndexError: " + str(err)
    print(json.dumps(out))
""")


def _run_script(env_extra):
    env = dict(os.environ)
    env.update(env_extra)
    proc = subprocess.run([sys.executable, "-c", _SCRIPT.format(tests=TESTS_DIR)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _check_run(out):
    assert set(out["results"]) == {cases.case_id(c) for c in ALL_CASES}
    bad = {k: v for k, v in out["results"].items() if not v <= 1e-12}
    assert not bad, bad
    assert out["out_of_bounds"].startswith("IndexError"), out["out_of_bounds"]


def test_kernels_without_jit():
    # the kernels run as plain Python: any index past an array raises IndexError, and the
    # kernel bodies are checked against the NumPy reference line by line
    out = _run_script({"NUMBA_DISABLE_JIT": "1"})
    assert out["disable_jit"] and out["kernel"] == "function"
    _check_run(out)


def _boundscheck_cache(request, tmp_path):
    """A Numba cache directory that only ever holds bounds-checked builds of exactly the
    current kernel sources.

    Numba notices a change of the file that defines a cached function, but not of the
    files it calls into; naming the directory after a hash of every kernel source (and
    the Numba version) makes any change compile afresh, and an unchanged tree reuse the
    build instead of paying the compile on every run.
    """
    cache = getattr(request.config, "cache", None)
    if cache is None:                                   # cache plugin disabled
        return tmp_path
    digest = hashlib.sha256(numba.__version__.encode())
    root = os.path.dirname(os.path.abspath(euler.__file__))
    for name in sorted(os.listdir(root)):
        if name.endswith(".py"):
            with open(os.path.join(root, name), "rb") as fh:
                digest.update(name.encode() + b"\0" + fh.read())
    return cache.mkdir(f"numba-boundscheck-{digest.hexdigest()[:16]}")


def test_kernels_with_bounds_checking(request, tmp_path):
    # compiled with bounds checking into a cache of its own, so that the unchecked code
    # cached for ordinary runs is never loaded here (nor checked code there)
    cache_dir = _boundscheck_cache(request, tmp_path)
    out = _run_script({"NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(cache_dir),
                       "NUMBA_DISABLE_JIT": "0"})
    assert out["boundscheck"] and not out["disable_jit"]
    assert out["kernel"] == "CPUDispatcher"
    _check_run(out)

"""The checkpointed adjoint gives the store-everything gradient, bit for bit; so do the
pieces of a batch on any number of threads and the kernels compiled for one width."""

import numpy as np
import pytest

import pysplinet as ps
from pysplinet.adjoint import snapshots_for

# (architecture, options) of small networks covering degrees, operators, losses, closings
NETWORKS = [
    ("splinet", dict(degree=1, n_knots=3, activation="tanh")),
    ("splinet", dict(degree=2, n_knots=4, activation="sigmoid", learn_time_scale=True)),
    ("splinet", dict(degree=3, n_knots=2, activation="tanh", operator="antisymmetric")),
    ("splinet", dict(degree=2, n_knots=5, activation="tanh", opening="dense", n_inputs=2,
                     closing="identity", loss="cross_entropy")),
    ("splinet", dict(degree=3, n_knots=7, activation="relu", opening="dense", n_inputs=2,
                     closing="dense", n_outputs=4, loss="cross_entropy")),
    ("odenet", dict(activation="tanh", closing="dense", n_outputs=2)),
    ("resnet", dict(activation="sigmoid", learn_time_scale=True)),
]


def _build(arch, options, n_layers, backend):
    cls = {"splinet": ps.SpliNet, "odenet": ps.ODENet, "resnet": ps.ResNet}[arch]
    return cls(3, n_layers, backend=backend, **options)


def _data(net, rng):
    x = rng.uniform(-1.5, 1.5, (4, net.n_inputs))
    if net.loss_name == "cross_entropy":
        y = rng.integers(0, net.n_outputs, 4)
    else:
        y = rng.uniform(-1, 1, (4, net.n_outputs))
    return x, y


def _assert_bitwise(net, params, x, y, **kw):
    loss0, g0 = net.value_and_grad(params, x, y)
    loss, g = net.value_and_grad(params, x, y, **kw)
    assert loss == loss0
    assert g.keys() == g0.keys()
    for k in g0:
        assert np.array_equal(g[k], g0[k]), (k, kw)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("arch,options", NETWORKS,
                         ids=[f"{a}-{i}" for i, (a, _) in enumerate(NETWORKS)])
def test_checkpointed_gradient_is_bitwise_identical(arch, options, backend):
    rng = np.random.default_rng(7)
    layer_counts = [1, 2, 5, 13] if backend == "numba" else [1, 5]
    for n in layer_counts:
        net = _build(arch, options, n, backend)
        params = net.init_params(rng, amplitude=0.8)
        x, y = _data(net, rng)
        for s in sorted({1, 2, 3, max(1, n - 1), n, n + 4}):
            _assert_bitwise(net, params, x, y, checkpoints=s)
        _assert_bitwise(net, params, x, y, checkpoints="auto")


def test_many_layers_and_snapshot_counts():
    rng = np.random.default_rng(3)
    net = ps.SpliNet(4, 300, degree=2, n_knots=9, learn_time_scale=True)
    params = net.init_params(rng)
    x = rng.uniform(-2, 2, (5, 1))
    y = np.sin(x)
    for s in (1, 2, 4, 10, 17, 299, 300, 1000):
        _assert_bitwise(net, params, x, y, checkpoints=s)


def test_input_gradient_is_bitwise_identical():
    rng = np.random.default_rng(4)
    net = ps.SpliNet(3, 40, degree=2, n_knots=5, opening="dense", n_inputs=2)
    params = net.init_params(rng)
    x = rng.uniform(-1, 1, (6, 2))
    y = rng.uniform(-1, 1, (6, 1))
    _, _, dx0 = net.value_and_grad(params, x, y, return_input_grad=True)
    _, _, dx = net.value_and_grad(params, x, y, checkpoints=3, return_input_grad=True)
    assert np.array_equal(dx, dx0)


def test_memory_budget_picks_largest_fitting_count():
    state = 5 * 4 * 8
    # budget = snapshots + working state
    assert snapshots_for(None, 3 * state, 100, state) == 2
    assert snapshots_for(None, 3 * state + state - 1, 100, state) == 2
    assert snapshots_for("auto", 11 * state, 100, state) == 10
    rng = np.random.default_rng(5)
    net = ps.SpliNet(4, 60, degree=2, n_knots=6)
    params = net.init_params(rng)
    x = rng.uniform(-2, 2, (5, 1))
    _assert_bitwise(net, params, x, np.sin(x), memory_budget=4 * state)


def test_auto_recomputes_each_state_at_most_twice():
    from pysplinet.checkpointing import repetition_number
    for n in (1, 2, 3, 10, 100, 1000, 12345):
        s = snapshots_for("auto", None, n, 8)
        assert repetition_number(n, s) <= 2
        # and one snapshot fewer would not do
        if s > 1:
            assert repetition_number(n, s - 1) > 2


@pytest.mark.parametrize("bad", [0, -3, 2.0, 2.5, "3", True])
def test_bad_checkpoint_count(bad):
    net = ps.SpliNet(2, 10)
    params = net.init_params(np.random.default_rng(0))
    with pytest.raises(ValueError, match="checkpoints"):
        net.value_and_grad(params, np.zeros((2, 1)), np.zeros((2, 1)), checkpoints=bad)


@pytest.mark.parametrize("bad", [0, 40, 2 * 2 * 2 * 8 - 1, 1e6, "lots"])  # two states: 64 B
def test_bad_memory_budget(bad):
    net = ps.SpliNet(2, 10)
    params = net.init_params(np.random.default_rng(0))
    with pytest.raises(ValueError, match="memory_budget"):
        net.value_and_grad(params, np.zeros((2, 1)), np.zeros((2, 1)), memory_budget=bad)


def test_budget_and_count_together_is_refused():
    net = ps.SpliNet(2, 10)
    params = net.init_params(np.random.default_rng(0))
    with pytest.raises(ValueError, match="either"):
        net.value_and_grad(params, np.zeros((2, 1)), np.zeros((2, 1)), checkpoints=3,
                           memory_budget=10**6)


def test_deep_forward_pass_in_pieces_matches_the_one_piece_sweep(monkeypatch):
    import pysplinet.network as network
    rng = np.random.default_rng(6)
    net = ps.SpliNet(3, 1000, degree=3, n_knots=7)
    params = net.init_params(rng)
    x = rng.uniform(-1, 1, (4, 1))
    whole = net.predict(params, x)
    monkeypatch.setattr(network, "_TABLE_CHUNK", 64)
    pieces = ps.SpliNet(3, 1000, degree=3, n_knots=7).predict(params, x)
    assert np.array_equal(whole, pieces)


def _large_batch_case(kind, rng):
    if kind == "narrow":
        # width 6, pieces of 171 samples (1024 entries): three pieces, one short
        net = ps.SpliNet(6, 30, degree=2, n_knots=5, opening="dense", n_inputs=2,
                         learn_time_scale=True)
        x = rng.uniform(-1, 1, (400, 2))
        return net, net.init_params(rng), x, rng.uniform(-1, 1, (400, 1))
    if kind == "medium":
        # width 9, pieces of 32: four pieces, one short
        net = ps.SpliNet(9, 30, degree=2, n_knots=5, opening="dense", n_inputs=2,
                         activation="relu")
        x = rng.uniform(-1, 1, (101, 2))
        return net, net.init_params(rng), x, rng.uniform(-1, 1, (101, 1))
    # width 40 (products in BLAS), pieces of 128: three pieces, one short; dense closing
    net = ps.SpliNet(40, 12, degree=2, n_knots=3, opening="dense", n_inputs=3,
                     closing="dense", n_outputs=4, loss="cross_entropy",
                     learn_time_scale=True)
    x = rng.uniform(-1, 1, (300, 3))
    return net, net.init_params(rng), x, rng.integers(0, 4, 300)


@pytest.mark.parametrize("kind", ["narrow", "medium", "wide"])
@pytest.mark.parametrize("checkpoints", [None, 4])
def test_large_batches_give_the_same_bits_for_any_thread_count(checkpoints, kind):
    # threads=1 with every state stored runs as one compiled call; the other ways run
    # the pieces from Python, on threads or by the checkpoint schedule
    net, params, x, y = _large_batch_case(kind, np.random.default_rng(8))
    runs = [net.value_and_grad(params, x, y, checkpoints=checkpoints, threads=t,
                               return_input_grad=True) for t in (1, 2, 3)]
    for loss, grads, dx in runs[1:]:
        assert loss == runs[0][0]
        assert np.array_equal(dx, runs[0][2])
        for k in grads:
            assert np.array_equal(grads[k], runs[0][1][k])
    # and checkpointing still changes nothing
    loss, grads = net.value_and_grad(params, x, y, threads=2)
    assert loss == runs[0][0]
    assert all(np.array_equal(grads[k], runs[0][1][k]) for k in grads)
    loss, grads = net.value_and_grad(params, x, y, threads=1)
    assert loss == runs[0][0]
    assert all(np.array_equal(grads[k], runs[0][1][k]) for k in grads)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_thread_count(bad):
    net = ps.SpliNet(2, 10)
    params = net.init_params(np.random.default_rng(0))
    with pytest.raises(ValueError, match="threads"):
        net.value_and_grad(params, np.zeros((2, 1)), np.zeros((2, 1)), threads=bad)


@pytest.mark.parametrize("operator,width,piece", [
    ("dense", 1, 1024), ("dense", 4, 256), ("dense", 5, 205), ("antisymmetric", 7, 147),
    ("dense", 8, 32), ("dense", 31, 32), ("dense", 32, 128), ("antisymmetric", 40, 128),
    ("conv1d", 5, 205), ("conv1d", 200, 32)])
def test_piece_sizes(operator, width, piece):
    from pysplinet.adjoint import piece_size
    net = ps.SpliNet(width, 4, operator=operator)
    assert piece_size(net.operator, width) == piece


def test_default_threads_only_for_long_pieces(monkeypatch):
    from numba.core import config as numba_config

    from pysplinet.adjoint import threads_for

    monkeypatch.setattr(numba_config, "NUMBA_NUM_THREADS", 4)
    narrow = ps.SpliNet(5, 100)                       # pieces of 205 x 5 x 100: short
    conv = ps.SpliNet(200, 100, operator="conv1d")    # pieces of 32 x 200 x 100: long
    wide = ps.SpliNet(256, 100)                       # BLAS products, pieces of 128
    assert threads_for(narrow._sweeps.spec, 100, 5) == 1
    assert threads_for(conv._sweeps.spec, 100, 200) == 4
    assert threads_for(conv._sweeps.spec, 40, 200) == 2          # two pieces
    assert threads_for(conv._sweeps.spec, 20, 200) == 1          # one piece
    assert threads_for(wide._sweeps.spec, 512, 256) == 4
    assert threads_for(wide._sweeps.spec, 128, 256) == 1         # one piece
    # an explicit count is obeyed, up to the number of pieces
    assert threads_for(narrow._sweeps.spec, 1000, 5, threads=3) == 3
    assert threads_for(narrow._sweeps.spec, 100, 5, threads=3) == 1        # one piece
    assert threads_for(wide._sweeps.spec, 512, 256, threads=8) == 4


@pytest.mark.parametrize("arch,options", NETWORKS,
                         ids=[f"{a}-{i}" for i, (a, _) in enumerate(NETWORKS)])
def test_kernels_compiled_for_the_width_give_the_same_bits(arch, options, monkeypatch):
    from pysplinet.kernels import operators
    rng = np.random.default_rng(9)
    net = _build(arch, options, 13, "numba")
    assert net._sweeps._op[-1] == (0,) * 3                  # width 3 is compiled in
    params = net.init_params(rng, amplitude=0.8)
    x, y = _data(net, rng)
    monkeypatch.setattr(operators, "MAX_FIXED_WIDTH", 0)
    general = _build(arch, options, 13, "numba")
    assert general._sweeps._op[-1] == ()
    for kw in ({}, {"checkpoints": 3}):
        loss, grads, dx = net.value_and_grad(params, x, y, return_input_grad=True, **kw)
        loss0, grads0, dx0 = general.value_and_grad(params, x, y, return_input_grad=True,
                                                    **kw)
        assert loss == loss0
        assert np.array_equal(dx, dx0)
        assert all(np.array_equal(grads[k], grads0[k]) for k in grads0)
    assert np.array_equal(net.predict(params, x), general.predict(params, x))


def test_blas_runs_on_one_thread_inside_the_sweeps_and_is_restored(monkeypatch):
    """The compiled sweeps of a network whose products go to BLAS limit every BLAS library
    to one thread while they run, and leave the limits as they found them."""
    import scipy.linalg.cython_blas  # noqa: F401  (the BLAS of the kernels, loaded first)
    from threadpoolctl import ThreadpoolController

    import pysplinet.adjoint as adjoint

    def blas_threads():
        return [lib["num_threads"] for lib in ThreadpoolController().info()
                if lib["user_api"] == "blas"]

    net = ps.SpliNet(40, 4, opening="identity")
    assert net._sweeps.blas_scope is adjoint._ONE_BLAS_THREAD
    assert not isinstance(ps.SpliNet(31, 4)._sweeps.blas_scope, adjoint._OneBlasThread)
    rng = np.random.default_rng(0)
    params = net.init_params(rng)
    x, y = rng.standard_normal((300, 40)), rng.standard_normal((300, 1))
    seen = []

    class Spy:
        """The kernels module, recording the BLAS thread counts at each forward sweep."""

        def __init__(self, kernels):
            self._kernels = kernels

        def euler_forward(self, *args):
            seen.append(blas_threads())
            self._kernels.euler_forward(*args)

        def __getattr__(self, name):
            return getattr(self._kernels, name)

    monkeypatch.setattr(net._sweeps, "_euler", Spy(net._sweeps._euler))
    with ThreadpoolController().limit(limits=2, user_api="blas"):
        before = blas_threads()
        assert before and all(n == 2 for n in before)
        for threads in (1, 2):
            net.value_and_grad(params, x, y, threads=threads, checkpoints=3)
        assert blas_threads() == before
    assert seen and all(n == 1 for counts in seen for n in counts)

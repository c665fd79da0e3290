"""The benchmark references (benchmarks/torch_ref.py, benchmarks/jax_ref.py) compute what
pysplinet computes: loss, gradient and output agree to 1e-10 on small networks covering
every opening, closing, loss, activation and operator they implement. No timing here.
Skipped when PyTorch or JAX is not installed (the ``bench`` extra)."""

import importlib
from pathlib import Path

import numpy as np
import pytest

import pysplinet as ps
from pysplinet.operators import OPERATORS

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"

SMALL = {
    "spline-replicate-mean-mse-tanh": dict(
        arch="splinet", width=4, n_layers=7, degree=2, n_knots=3, activation="tanh",
        opening="replicate", closing="mean", loss="mse"),
    "spline-d3-two-inputs-sigmoid": dict(
        arch="splinet", width=5, n_layers=9, degree=3, n_knots=2, activation="sigmoid",
        opening="replicate", closing="mean", loss="mse", n_inputs=2),
    "odenet-learned-time-scale": dict(
        arch="odenet", width=3, n_layers=6, activation="tanh", opening="replicate",
        closing="mean", loss="mse", learn_time_scale=True, time_scale=0.7),
    "spline-dense-identity-ce-relu": dict(
        arch="splinet", width=5, n_layers=8, degree=2, n_knots=3, activation="relu",
        opening="dense", closing="identity", loss="cross_entropy", n_inputs=2),
    "spline-identity-dense-mse": dict(
        arch="splinet", width=4, n_layers=6, degree=1, n_knots=4, activation="tanh",
        opening="identity", closing="dense", loss="mse", n_outputs=2),
    "resnet-antisymmetric": dict(
        arch="resnet", width=4, n_layers=5, activation="tanh",
        operator={"kind": "antisymmetric", "gamma": 0.1}, opening="dense",
        closing="dense", loss="cross_entropy", n_inputs=2, n_outputs=3),
    "spline-conv1d-dense-ce": dict(
        arch="splinet", width=7, n_layers=6, degree=2, n_knots=3, activation="relu",
        operator={"kind": "conv1d", "kernel_size": 3}, opening="identity",
        closing="dense", loss="cross_entropy", n_outputs=3),
}


def _build(spec, seed=0, batch=4):
    spec = dict(spec)
    arch = {"splinet": ps.SpliNet, "odenet": ps.ODENet, "resnet": ps.ResNet}[
        spec.pop("arch")]
    net = arch(**spec)
    params = net.init_params(np.random.default_rng(seed), amplitude=1.0)
    rng = np.random.default_rng(seed + 1)
    x = rng.uniform(-1.0, 1.0, (batch, net.n_inputs))
    if net.loss_name == "cross_entropy":
        y = rng.integers(0, net.n_outputs, batch)
    else:
        y = rng.uniform(-1.0, 1.0, (batch, net.n_outputs))
    return net, params, x, y


@pytest.fixture(params=["torch_ref", "jax_ref"])
def reference(request, monkeypatch):
    pytest.importorskip({"torch_ref": "torch", "jax_ref": "jax"}[request.param])
    monkeypatch.syspath_prepend(str(BENCH))
    module = importlib.import_module(request.param)
    return {"torch_ref": getattr(module, "TorchReference", None),
            "jax_ref": getattr(module, "JaxReference", None)}[request.param]


@pytest.fixture
def bench_cases(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module("bench_cases")


@pytest.mark.parametrize("name", sorted(SMALL))
def test_reference_agrees_with_pysplinet(reference, bench_cases, name):
    spec = SMALL[name]
    if spec.get("operator", {}).get("kind", "dense") not in OPERATORS:
        pytest.skip(f"pysplinet has no {spec['operator']['kind']!r} operator")
    net, params, x, y = _build(spec)
    errors = reference(net).check(params, x, y)
    assert set(errors) == {"loss", "predict"} | {f"grad[{k}]" for k in params}
    assert max(errors.values()) <= bench_cases.RTOL


class _Perturbed:
    """A reference whose bias gradient is off by a relative 1e-8."""

    name = "perturbed"

    def __init__(self, ref):
        self.ref = ref

    def value_and_grad(self, params, x, y):
        loss, grads = self.ref.value_and_grad(params, x, y)
        grads["b"] = grads["b"] * (1.0 + 1e-8)
        return loss, grads

    def predict(self, params, x):
        return self.ref.predict(params, x)


def test_check_rejects_a_wrong_reference(reference, bench_cases):
    net, params, x, y = _build(SMALL["spline-replicate-mean-mse-tanh"])
    ref = reference(net)
    assert max(bench_cases.check_reference(ref, net, params, x, y).values()) <= 1e-12
    with pytest.raises(bench_cases.ReferenceMismatch, match=r"grad\[b\]"):
        bench_cases.check_reference(_Perturbed(ref), net, params, x, y)


def test_control_matrix_reproduces_the_layer_weights(bench_cases):
    net, params, _, _ = _build(SMALL["spline-d3-two-inputs-sigmoid"])
    C = bench_cases.control_matrix(net)
    first, weights = net.control.table(net.n_layers)
    for i in range(net.n_layers):
        gathered = sum(w * params["W"][first[i] + j] for j, w in enumerate(weights[i]))
        np.testing.assert_allclose(np.tensordot(C[i], params["W"], axes=1), gathered,
                                   rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(C.sum(axis=1), 1.0, rtol=1e-14)


def test_all_cores_run_times_one_thread_beside_the_default(bench_cases, monkeypatch):
    """The ``--threads all`` run times pysplinet on one thread beside its default and
    reports both, with whether their bits agree (no reference library needed)."""
    monkeypatch.syspath_prepend(str(BENCH))
    run = importlib.import_module("run")
    report = importlib.import_module("report")
    # batch 100 in pieces of 32
    case = next(c for c in bench_cases.make_cases() if c.name == "indian-pines")
    res = run.run_case(case, {}, dict(budget=0.0, min_rounds=1, max_rounds=1),
                       threads="all")
    assert res["threads"]["pieces"] == 4
    assert res["threads"]["same_bits"] is True
    assert set(res["grad"]) == {"pysplinet", run.ONE_THREAD}
    table = report._threads([res])
    assert table is not None and "| indian-pines | 4 |" in table and "| yes |" in table
    # a one-thread run has no such table
    res_1 = run.run_case(case, {}, dict(budget=0.0, min_rounds=1, max_rounds=1))
    assert "threads" not in res_1 and report._threads([res_1]) is None

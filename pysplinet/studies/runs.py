"""The run functions of the paper's studies: one configuration in, one storable result out.

:func:`run_config` is what :func:`~pysplinet.studies.runner.run_sweep` calls in every
executor. A configuration is a JSON dict whose ``"kind"`` picks the computation:

``"train"``
    Build the data and network of a test case (:mod:`pysplinet.cases`), draw the initial
    parameters from ``np.random.default_rng(seed)``, train with
    :func:`pysplinet.training.train`. Keys: ``case``, ``arch``, ``degree`` (SpliNet),
    ``knots`` (SpliNet: L), ``layers`` (N), ``lr``, ``reg``, ``amplitude``, ``epochs``,
    ``batch_size``, ``seed``, ``data`` (options of the case's loader), optionally ``freq``
    (sine, repeated from ``data`` for grouping), ``time_scale``, ``learn_time_scale``,
    ``operator`` and ``curve`` (number of points at which to store the learned function).
``"spectrum"``
    A ``"train"`` run, then the eigenvalues of ``h lam diag(sigma'(a_i)) K(t_i)`` at every
    layer ``i`` and training input, for the trained SpliNet evaluated on each of ``n_layers``
    (section 2.2, Figure 3).
``"convergence"``
    Random coefficients of a SpliNet, its output on ``n_layers`` layers against a much finer
    reference (Figure 4).
``"basis"``
    The B-spline basis functions of degrees ``degrees`` on ``knots`` intervals (Figure 1).

Every result carries the metrics of the run, the per-epoch history of training runs, and
``machine`` (platform and core count of the process that ran it), so that reports need
nothing but the database.

Notes
-----
A run is a pure function of its configuration: the data and the initial parameters come
from seeded generators, the network's gradient is the same bits for any number of threads
(fixed pieces of the batch, added in order), and NumPy's BLAS calls here (opening and
closing layers, small matrix products) accumulate each entry of a product in one thread
whatever the thread count. The metric ``seconds`` and ``machine`` naturally differ between
executions; everything else is identical bit for bit.
"""

from __future__ import annotations

import math
import os
import platform

import numpy as np

__all__ = ["KINDS", "accuracy_percent", "machine_info", "run_config"]

#: The configuration kinds :func:`run_config` accepts.
KINDS = ("train", "spectrum", "convergence", "basis")


def machine_info():
    """``{"platform", "cores", "python"}`` of this process's machine."""
    return {"platform": platform.platform(), "cores": os.cpu_count() or 1,
            "python": platform.python_version()}


def accuracy_percent(prediction, target):
    """Regression accuracy in percent: ``100 * (1 - ||prediction - target|| / ||target||)``.

    The Euclidean norms run over all validation samples; the value is 100 for an exact fit,
    0 for the zero prediction, and negative when the prediction is worse than zero.
    """
    prediction = np.asarray(prediction, dtype=np.float64).ravel()
    target = np.asarray(target, dtype=np.float64).ravel()
    return float(100.0 * (1.0 - np.linalg.norm(prediction - target) / np.linalg.norm(target)))


def _finite_or_nan(value):
    value = float(value)
    return value if math.isfinite(value) else math.nan


def _build(config):
    """Data, network and initial parameters of a ``"train"``-like configuration."""
    from pysplinet import cases

    data = cases.load_data(config["case"], **config.get("data", {}))
    arch = config["arch"]
    overrides = {}
    if "operator" in config:
        overrides["operator"] = config["operator"]
    net = cases.build_network(
        config["case"], arch, degree=config.get("degree"), knots=config.get("knots"),
        layers=config.get("layers"), time_scale=config.get("time_scale"),
        learn_time_scale=config.get("learn_time_scale"), data=data, **overrides)
    params = net.init_params(np.random.default_rng(config["seed"]),
                             amplitude=config["amplitude"])
    return data, net, params


def _train(config):
    """Train one network; returns (data, net, TrainResult, result dict)."""
    from pysplinet.training import train

    data, net, params = _build(config)
    result = train(net, params, data, epochs=config["epochs"],
                   batch_size=config["batch_size"], lr=config["lr"], reg=config["reg"],
                   seed=config["seed"])
    diverged = result.status == "diverged"
    final = result.history["val_metric"][-1] if result.epochs_run else math.nan
    finite = [v for v in result.history["val_metric"] if math.isfinite(v)]
    lam = float(result.params["lam"]) if "lam" in result.params else float(net.time_scale)
    metrics = {
        # a diverged run has no final metric: its value is NaN, the last finite one is kept
        "val_metric": math.nan if diverged else _finite_or_nan(final),
        "last_finite_val_metric": finite[-1] if finite else math.nan,
        "best_val_metric": _finite_or_nan(result.best_val_metric),
        "best_epoch": result.best_epoch,
        "train_loss": (result.history["train_loss"][-1] if result.epochs_run
                       else math.nan),
        "lam": lam,
        "epochs_run": result.epochs_run,
        "train_status": result.status,
        "message": result.message,
        "seconds": result.seconds,
        "task": data.task,
        "data_source": data.source,
        "n_params": net.n_params,
        "network": net.config,
        "machine": machine_info(),
    }
    if data.task == "regression" and not diverged:
        metrics["accuracy_percent"] = accuracy_percent(net.predict(result.params, data.x_val),
                                                       data.y_val)
    out = {"status": "diverged" if diverged else "ok", "metrics": metrics,
           "history": dict(result.history)}
    return data, net, result, out


def _run_train(config):
    data, net, result, out = _train(config)
    n_curve = config.get("curve")
    if n_curve and out["status"] == "ok":
        lo = float(min(data.x_train.min(), data.x_val.min()))
        hi = float(max(data.x_train.max(), data.x_val.max()))
        x = np.linspace(lo, hi, int(n_curve))
        out["history"]["curve"] = {"x": x.tolist(),
                                   "prediction": net.predict(result.params, x[:, None])
                                   .ravel().tolist()}
    return out


def layer_eigenvalues(net, params, x):
    """Eigenvalues of ``h lam diag(sigma'(K(t_i) x_i + b(t_i))) K(t_i)`` for every layer.

    Parameters
    ----------
    net : SpliNet or ODENet or ResNet
        A network with a dense or antisymmetric operator.
    params : dict
    x : (B, n_inputs) ndarray
        Inputs; the states ``x_i`` are their forward trajectory.

    Returns
    -------
    (N * B * m,) complex ndarray
        All eigenvalues, layer by layer and sample by sample: the spectra of the linearised
        forward Euler steps ``x_{i+1} = x_i + z x_i`` (stable when ``|1 + z| <= 1``).
    """
    from pysplinet.activations import dsigma

    operator = net.operator
    if operator.name not in ("dense", "antisymmetric"):
        raise NotImplementedError(f"layer eigenvalues need a dense or antisymmetric operator, "
                                  f"got {operator.name!r}")
    p = net.check_params(params)
    states = net.trajectory(p, x)                               # (N + 1, B, m)
    first, weights = net.control.table(net.n_layers)
    lam = float(p["lam"]) if "lam" in p else net.time_scale
    n_sets = weights.shape[1]
    out = []
    for i in range(net.n_layers):
        # eq. 14-15: weights and bias at t_i from the active coefficient sets
        coef = p["W"][first[i]:first[i] + n_sets]
        bias = p["b"][first[i]:first[i] + n_sets]
        theta = np.tensordot(weights[i], coef, axes=1)
        b = weights[i] @ bias
        K = operator.matrix(theta) if hasattr(operator, "matrix") else theta
        a = states[i] @ K.T + b                                 # (B, m)
        jac = net.h * lam * dsigma(net.activation, a)[:, :, None] * K[None, :, :]
        out.append(np.linalg.eigvals(jac).ravel())
    return np.concatenate(out)


def _run_spectrum(config):
    train_config = dict(config, kind="train")
    data, net, result, out = _train(train_config)
    if out["status"] != "ok":
        return out
    spectra = {}
    inside = {}
    for n_layers in config["n_layers"]:
        z = layer_eigenvalues(net.with_layers(n_layers), result.params, data.x_train)
        spectra[str(n_layers)] = {"re": z.real.tolist(), "im": z.imag.tolist()}
        inside[str(n_layers)] = float(np.mean(np.abs(1.0 + z) <= 1.0 + 1e-12))
    out["metrics"]["fraction_stable"] = inside
    out["metrics"]["final_time"] = net.final_time
    out["history"]["eigenvalues"] = spectra
    return out


def _run_convergence(config):
    from pysplinet import cases

    data = cases.load_data(config["case"], **config.get("data", {}))
    net = cases.build_network(config["case"], "splinet", degree=config["degree"],
                              knots=config["knots"], layers=config["reference_layers"],
                              data=data)
    params = net.init_params(np.random.default_rng(config["seed"]),
                             amplitude=config["amplitude"])
    x = data.x_train
    reference = net.predict(params, x)
    errors = []
    for n_layers in config["n_layers"]:
        out = net.with_layers(n_layers).predict(params, x)
        errors.append(float(np.max(np.abs(out - reference))))
    h = [net.final_time / n for n in config["n_layers"]]
    return {"metrics": {"n_layers": list(config["n_layers"]), "h": h, "error": errors,
                        "reference_layers": config["reference_layers"],
                        "time_scale": net.time_scale, "data_source": data.source,
                        "network": net.config, "machine": machine_info()}}


def _run_basis(config):
    from pysplinet.basis import basis_matrix

    t = np.linspace(0.0, 1.0, config["points"])
    values = {str(d): basis_matrix(t, d, config["knots"]).T.tolist()
              for d in config["degrees"]}
    return {"metrics": {"t": t.tolist(), "values": values, "knots": config["knots"],
                        "machine": machine_info()}}


_RUNNERS = {"train": _run_train, "spectrum": _run_spectrum, "convergence": _run_convergence,
            "basis": _run_basis}


def run_config(config):
    """Run one study configuration (see the module docstring for the kinds).

    Parameters
    ----------
    config : dict
        A configuration with ``"kind"`` in :data:`KINDS` and an integer ``"seed"``.

    Returns
    -------
    dict
        ``status`` (``"ok"``, or ``"diverged"`` when training hit a non-finite loss,
        gradient or parameter), ``metrics`` and, for training runs, ``history``.
    """
    kind = config.get("kind")
    if kind not in _RUNNERS:
        raise ValueError(f"`config['kind']` must be one of {list(KINDS)}, got {kind!r}")
    return _RUNNERS[kind](config)

"""The training loop: mini-batch Adam on data loss plus Tikhonov term, with validation.

A run is a pure function of the network, the initial parameters, the data and the arguments:
the mini-batches come from ``np.random.default_rng(seed)``, so the same call gives the same
numbers to the last bit (on the same machine and backend). A run stops after ``epochs`` epochs,
when the gradient norm falls under ``grad_tol`` (``"converged"``), when a callback asks
(``"stopped"``), or when a loss or gradient stops being finite (``"diverged"``). Divergence is a
result, not an exception: the offending update is never applied and the history so far is kept.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from .data._dataset import check_count, check_real, check_seed
from .optim import (_STEP, Adam, _check_gamma, _first_non_finite, _tikhonov, _with_tikhonov,
                    add_tikhonov, sum_of_squares)

__all__ = ["HISTORY_KEYS", "TrainResult", "objective", "train", "validation_metric"]

logger = logging.getLogger(__name__)

#: The per-epoch records of :attr:`TrainResult.history`, in order.
HISTORY_KEYS = ("epoch", "train_loss", "val_loss", "val_metric", "grad_norm", "time_scale")

_TASK_LOSS = {"regression": "mse", "classification": "cross_entropy"}
_SUMMARY = ("status", "epochs_run", "seconds", "best_val_metric", "best_epoch", "message")


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    params : dict of str -> float64 ndarray
        Parameters at the end of the run (after the last update that was applied).
    history : dict of str -> list
        One entry per completed epoch under each of :data:`HISTORY_KEYS`:

        ``epoch``
            1-based epoch number.
        ``train_loss``
            Mean over the epoch's mini-batches of the data loss (no Tikhonov term), each taken
            at the parameters before that batch's update.
        ``val_loss``
            Data loss on the whole validation set after the epoch.
        ``val_metric``
            :func:`validation_metric` after the epoch: mean squared error for regression,
            accuracy for classification.
        ``grad_norm``
            Mean over the epoch's mini-batches of the Euclidean norm (over all parameters) of
            the gradient of the full objective, data loss plus Tikhonov term.
        ``time_scale``
            ``lam`` after the epoch (the learned value, or the fixed one).
    status : {"completed", "converged", "diverged", "stopped"}
        All epochs run; gradient norm under ``grad_tol``; a non-finite loss or gradient (or
        validation loss) ended the run; the callback asked to stop.
    epochs_run : int
        Number of completed epochs (the length of each history list).
    seconds : float
        Wall-clock duration of the run.
    best_val_metric : float
        Best ``val_metric`` seen (lowest error or highest accuracy); NaN if no epoch completed
        with a finite metric.
    best_epoch : int or None
        Epoch of ``best_val_metric`` (the first one on ties).
    best_params : dict or None
        Parameters after that epoch.
    message : str
        One line saying why the run ended.
    """

    params: dict[str, np.ndarray]
    history: dict[str, list]
    status: str
    epochs_run: int
    seconds: float
    best_val_metric: float = math.nan
    best_epoch: int | None = None
    best_params: dict[str, np.ndarray] | None = None
    message: str = ""

    def summary(self) -> dict[str, Any]:
        """Everything but the parameters, as a JSON-serialisable dict (for model metadata).

        Non-finite numbers (a diverged validation loss, a missing best metric) become ``None``,
        since strict JSON has no NaN or infinity.
        """
        out: dict[str, Any] = {name: _json_number(getattr(self, name)) for name in _SUMMARY}
        out["history"] = {k: [_json_number(v) for v in vals] for k, vals in self.history.items()}
        return out


def _json_number(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def validation_metric(task: str, out: np.ndarray, y: np.ndarray) -> float:
    """The validation metric of a task from network outputs.

    Parameters
    ----------
    task : {"regression", "classification"}
    out : (B, n_outputs) ndarray
        Network output (``net.predict``): predictions, or logits for classification.
    y : ndarray
        ``(B, n_outputs)`` (or ``(B,)`` with one output) targets for regression; ``(B,)``
        integer labels for classification.

    Returns
    -------
    float
        Regression: ``mean((out - y) ** 2)`` over all samples and outputs (lower is better;
        note the data loss of ``loss="mse"`` is half of this with one output).
        Classification: fraction of samples whose largest logit is the label (higher is
        better; ties go to the lowest class index, as ``np.argmax``).
    """
    if task == "regression":
        y = np.asarray(y, dtype=np.float64).reshape(out.shape)
        r = out - y
        return float(np.mean(r * r))
    if task == "classification":
        return float(np.mean(np.argmax(out, axis=1) == np.asarray(y)))
    raise ValueError(f"`task` must be 'regression' or 'classification', got {task!r}")


def objective(
    net, params: Mapping[str, np.ndarray], x, y, reg: float = 0.0
) -> tuple[float, float, dict[str, np.ndarray]]:
    """Training objective on one batch: data loss plus ``reg / 2`` times the squared norm.

    Parameters
    ----------
    net : Network
        Provides ``value_and_grad`` and ``regularised``.
    params : dict of str -> float ndarray
    x, y : array_like
        A batch, as ``net.value_and_grad`` takes it.
    reg : float, default 0.0
        Tikhonov weight ``gamma >= 0`` (see :func:`pysplinet.optim.tikhonov`); the time scale
        ``lam`` is not regularised.

    Returns
    -------
    value : float
        Data loss plus Tikhonov term.
    data_loss : float
        The data loss alone.
    grads : dict of str -> float64 ndarray
        Gradient of ``value``.
    """
    data_loss, grads = net.value_and_grad(params, x, y)
    value, grads = add_tikhonov(params, data_loss, grads, reg, net.regularised)
    return value, float(data_loss), grads


def _check_data(data, net, params):
    """Pull the four arrays out of ``data`` and check them against the network."""
    for attr in ("task", "x_train", "y_train", "x_val", "y_val"):
        if not hasattr(data, attr):
            raise ValueError(
                f"`data` must have attribute {attr!r} (like pysplinet.data.Dataset)"
            )
    task = data.task
    if task not in _TASK_LOSS:
        raise ValueError(f"`data.task` must be one of {sorted(_TASK_LOSS)}, got {task!r}")
    loss_name = net.config["loss"]
    if _TASK_LOSS[task] != loss_name:
        raise ValueError(
            f"`data.task`={task!r} needs a network with loss={_TASK_LOSS[task]!r}, "
            f"got loss={loss_name!r}"
        )
    arrays = {}
    for split in ("train", "val"):
        x = np.asarray(getattr(data, f"x_{split}"))
        y = np.asarray(getattr(data, f"y_{split}"))
        if x.ndim == 0 or y.ndim == 0 or len(x) == 0 or len(x) != len(y):
            raise ValueError(
                f"`data.x_{split}` and `data.y_{split}` must hold the same number (>= 1) of "
                f"samples, got shapes {x.shape} and {y.shape}"
            )
        try:
            net.loss(params, x[:1], y[:1])  # the network's own shape and value checks
        except ValueError as err:
            raise ValueError(f"`data` {split} set does not fit the network: {err}") from None
        if task == "regression" and y.ndim == 1:
            y = y[:, None]
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
    return task, loss_name, arrays


def _norm(arrays):
    """Euclidean norm over all entries of a dict of arrays."""
    return math.sqrt(sum(sum_of_squares(a) for a in arrays.values()))


def _run_epoch(net, opt, params, state, x, y, order, batch_size, reg):
    """One pass of Adam updates over the batches ``order[k:k + batch_size]``.

    Returns the parameters and state after the last update applied, the data loss and
    objective gradient norm of each applied update, and None or a description of the
    non-finite quantity that stopped the pass (the batch after the applied ones).
    """
    # what objective() and Adam.step compute, without checking again per batch the dicts
    # this loop makes itself (the network still checks params and data)
    gamma, chosen = _check_gamma(reg), set(net.regularised)
    losses, norms = [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for first in range(0, len(order), batch_size):
            idx = order[first:first + batch_size]
            data_loss, grads = net.value_and_grad(params, x[idx], y[idx])
            value, grads = _with_tikhonov(params, data_loss, grads,
                                          *_tikhonov(params, gamma, chosen))
            data_loss = float(data_loss)
            if not (math.isfinite(value) and math.isfinite(data_loss)):
                return params, state, losses, norms, (
                    f"non-finite loss ({data_loss!r}, objective {value!r})")
            bad = _first_non_finite(grads)
            if bad is not None:
                return params, state, losses, norms, (
                    f"non-finite gradient of {bad[0]!r} at index {bad[1]} ({bad[2]!r})")
            new_params, new_state = opt._update(params, grads, state, int(state[_STEP]) + 1)
            bad = _first_non_finite(new_params)
            if bad is not None:
                return params, state, losses, norms, f"update makes {bad[0]!r} non-finite"
            params, state = new_params, new_state
            losses.append(data_loss)
            norms.append(_norm(grads))
    return params, state, losses, norms, None


def train(
    net,
    params: Mapping[str, np.ndarray],
    data,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    reg: float = 0.0,
    seed: int = 0,
    grad_tol: float = 0.0,
    progress: bool = False,
    callback: Callable[[int, dict, dict], bool | None] | None = None,
) -> TrainResult:
    """Train a network with mini-batch Adam on data loss plus Tikhonov regularisation.

    Parameters
    ----------
    net : Network
        A :class:`pysplinet.SpliNet`, :class:`~pysplinet.ODENet` or :class:`~pysplinet.ResNet`.
    params : dict of str -> float ndarray
        Initial parameters (``net.init_params``); not modified.
    data : Dataset-like
        Has ``task`` ("regression" with a ``loss="mse"`` network, "classification" with
        ``loss="cross_entropy"``), ``x_train``, ``y_train``, ``x_val`` and ``y_val``, shaped as
        the network takes them (:class:`pysplinet.data.Dataset`).
    epochs : int
        Maximum number of passes over the training set, >= 1.
    batch_size : int
        Samples per mini-batch, >= 1. Each epoch draws a permutation of the training set from
        the run's generator and cuts it into consecutive batches; the last one holds the
        remainder when ``batch_size`` does not divide the set. A batch size at least the size
        of the set gives full-batch training.
    lr : float
        Adam step size, finite and > 0 (Adam's other settings are the defaults of
        :class:`pysplinet.optim.Adam`).
    reg : float, default 0.0
        Tikhonov weight ``gamma >= 0``: the objective is the data loss plus
        ``reg / 2 * sum of squares`` of the parameters in ``net.regularised``.
    seed : int, default 0
        Seed of the ``np.random.default_rng`` that shuffles the mini-batches.
    grad_tol : float, default 0.0
        Stop with status ``"converged"`` after the first epoch whose ``grad_norm`` (see
        :class:`TrainResult`) is below it; 0 never stops early.
    progress : bool, default False
        Show a tqdm progress bar on stderr.
    callback : callable, optional
        Called after each epoch as ``callback(epoch, record, params)`` with the 1-based epoch,
        a dict of that epoch's history values and the current parameters (do not modify
        them). Returning True stops the run with status ``"stopped"``. Exceptions it raises
        propagate.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        For invalid arguments, parameters that do not fit the network, or data that does not
        fit the network or the task; raised before any training.

    Notes
    -----
    Before each update the data loss and the gradient of the objective are checked; if either
    is not finite, or the update would make a parameter non-finite, the run ends with status
    ``"diverged"``, keeping the parameters from before that update. An epoch whose validation
    loss is not finite is recorded (with that value) and then ends the run as ``"diverged"``.
    No exception is raised for divergence.

    The validation loss and metric use one forward pass over the whole validation set after
    each epoch; progress is logged at DEBUG level per epoch and INFO level at the end.
    """
    epochs = check_count("epochs", epochs, 1)
    batch_size = check_count("batch_size", batch_size, 1)
    seed = check_seed(seed)
    reg = check_real("reg", reg, 0.0)
    grad_tol = check_real("grad_tol", grad_tol, 0.0)
    if not isinstance(progress, (bool, np.bool_)):
        raise ValueError(f"`progress` must be True or False, got {progress!r}")
    if callback is not None and not callable(callback):
        raise ValueError(f"`callback` must be callable or None, got {callback!r}")
    opt = Adam(lr=lr)
    # own copies: the caller's arrays are never aliased by the result
    params = {k: v.copy() for k, v in net.check_params(dict(params)).items()}
    task, loss_name, arrays = _check_data(data, net, params)
    x_train, y_train = arrays["x_train"], arrays["y_train"]
    x_val, y_val = arrays["x_val"], arrays["y_val"]
    learn_lam = "lam" in params
    better = (lambda a, b: a < b) if task == "regression" else (lambda a, b: a > b)

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    state = opt.init(params)
    history: dict[str, list] = {key: [] for key in HISTORY_KEYS}
    best = {"metric": math.nan, "epoch": None, "params": None}
    status, message = "completed", f"ran all {epochs} epochs"
    n = len(x_train)
    bar = None
    if progress:
        bar = tqdm(total=epochs, desc="training", unit="epoch", file=sys.stderr)

    try:
        for epoch in range(1, epochs + 1):
            # mini-batch updates
            params, state, losses, norms, failure = _run_epoch(
                net, opt, params, state, x_train, y_train, rng.permutation(n), batch_size, reg
            )
            if failure is not None:
                status = "diverged"
                message = (f"{failure} at epoch {epoch}, batch {len(losses) + 1}; "
                           "that update was not applied")
                break

            # validation
            with np.errstate(over="ignore", invalid="ignore"):
                out = net.predict(params, x_val)
                val_loss = net.output_loss(params, out, y_val)
                val_metric = validation_metric(task, out, y_val)
            record = {
                "epoch": epoch,
                "train_loss": float(np.mean(losses)),
                "val_loss": float(val_loss),
                "val_metric": val_metric,
                "grad_norm": float(np.mean(norms)),
                "time_scale": float(params["lam"]) if learn_lam else float(net.time_scale),
            }
            for key in HISTORY_KEYS:
                history[key].append(record[key])
            if math.isfinite(val_metric) and (
                best["epoch"] is None or better(val_metric, best["metric"])
            ):
                best = {"metric": val_metric, "epoch": epoch, "params": params}
            logger.debug("epoch %d: %s", epoch, record)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(train_loss=record["train_loss"], val_metric=val_metric)

            # stopping
            if not math.isfinite(val_loss):
                status = "diverged"
                message = f"non-finite validation loss ({val_loss!r}) after epoch {epoch}"
                break
            if record["grad_norm"] < grad_tol:
                status = "converged"
                message = (f"gradient norm {record['grad_norm']:.3e} under grad_tol "
                           f"{grad_tol:.3e} at epoch {epoch}")
                break
            if callback is not None and callback(epoch, dict(record), params) is True:
                status, message = "stopped", f"callback stopped the run after epoch {epoch}"
                break
    finally:
        if bar is not None:
            bar.close()

    seconds = time.perf_counter() - start
    epochs_run = len(history["epoch"])
    logger.info("training %s after %d epochs (%.2f s): %s", status, epochs_run, seconds, message)
    return TrainResult(
        params=params,
        history=history,
        status=status,
        epochs_run=epochs_run,
        seconds=seconds,
        best_val_metric=best["metric"],
        best_epoch=best["epoch"],
        best_params=None if best["params"] is None else dict(best["params"]),
        message=message,
    )

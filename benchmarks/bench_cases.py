"""The benchmark cases and the agreement check shared by the reference implementations.

A case is a pysplinet network, its parameters and one batch of data. The reference
implementations (:mod:`torch_ref`, :mod:`jax_ref`) rebuild the same network from
pysplinet's configuration and control table; :func:`check_reference` holds their loss,
gradient and forward pass to pysplinet's before any of their timings is used.

Cases (all float64)
-------------------
``sine-d1``, ``sine-d2``, ``sine-d3``, ``sine-odenet``
    Width 4, batch 5, N = 100, tanh, replicate opening, mean closing, MSE (section 4.1.1);
    SpliNets of degree 1, 2, 3 on L = 10 knot intervals, and the ODEnet.
``peaks``
    Width 5, batch 40, dense 2 -> 5 opening, ReLU, identity closing, softmax
    cross-entropy over 5 classes (section 4.1.2); SpliNet d = 2, L = 10, N = 100.
``indian-pines``
    Width 200 (spectral bands), batch 100, 1-D convolution with 3 taps, identity opening,
    dense closing 200 -> 16, ReLU, cross-entropy (section 4.1.3); SpliNet d = 2, L = 10,
    N = 100. Random inputs and labels of the data set's shape: the timing does not depend
    on the values. Only when pysplinet has the ``"conv1d"`` operator.
``large-dense``
    Width 256, batch 256, N = 100, tanh, identity opening, mean closing, MSE; SpliNet d = 2,
    L = 10. Dominated by (B x m) by (m x m) matrix products.
"""

from dataclasses import dataclass, field

import numpy as np

import pysplinet as ps
from pysplinet.operators import OPERATORS

__all__ = ["Case", "make_cases", "control_matrix", "check_reference", "ReferenceMismatch",
           "ReferenceNetwork", "RTOL"]

#: relative agreement required of a reference before its timings are used
RTOL = 1e-10


class ReferenceMismatch(RuntimeError):
    """A reference implementation disagrees with pysplinet beyond :data:`RTOL`."""


@dataclass
class Case:
    """One benchmark case.

    Attributes
    ----------
    name : str
    description : str
    build : callable or None
        ``build() -> (net, params, x, y)``; None when the case is skipped.
    skip : str or None
        Why the case cannot run here.
    tags : tuple of str
        ``"small"`` (sine, peaks), ``"conv"`` (Indian Pines), ``"large"`` (large dense).
    """

    name: str
    description: str
    build: object = None
    skip: str = None
    tags: tuple = field(default_factory=tuple)


def _sine(degree, architecture, seed=0):
    def build():
        common = dict(width=4, n_layers=100, activation="tanh", opening="replicate",
                      closing="mean", loss="mse")
        if architecture == "odenet":
            net = ps.ODENet(**common)
        else:
            net = ps.SpliNet(degree=degree, n_knots=10, **common)
        params = net.init_params(np.random.default_rng(seed), amplitude=0.5)
        rng = np.random.default_rng(seed + 1)
        x = rng.uniform(-np.pi, np.pi, (5, 1))
        return net, params, x, np.sin(x)
    return build


def _peaks(seed=0):
    def build():
        from pysplinet.data import peaks
        net = ps.SpliNet(width=5, n_layers=100, degree=2, n_knots=10, activation="relu",
                         opening="dense", closing="identity", loss="cross_entropy",
                         n_inputs=2)
        params = net.init_params(np.random.default_rng(seed), amplitude=1.0)
        data = peaks(seed=seed, n_train=40, n_val=1)
        return net, params, data.x_train, data.y_train
    return build


def _indian_pines(seed=0, bands=200, classes=16, batch=100):
    def build():
        net = ps.SpliNet(width=bands, n_layers=100, degree=2, n_knots=10, activation="relu",
                         operator={"kind": "conv1d", "kernel_size": 3}, opening="identity",
                         closing="dense", loss="cross_entropy", n_outputs=classes)
        params = net.init_params(np.random.default_rng(seed), amplitude=1.0)
        rng = np.random.default_rng(seed + 1)
        x = rng.uniform(0.0, 1.0, (batch, bands))
        y = rng.integers(0, classes, batch)
        return net, params, x, y
    return build


def _large_dense(seed=0, width=256, batch=256):
    def build():
        net = ps.SpliNet(width=width, n_layers=100, degree=2, n_knots=10, activation="tanh",
                         opening="identity", closing="mean", loss="mse")
        params = net.init_params(np.random.default_rng(seed), amplitude=1.0)
        rng = np.random.default_rng(seed + 1)
        x = rng.uniform(-1.0, 1.0, (batch, width))
        y = rng.uniform(-1.0, 1.0, (batch, 1))
        return net, params, x, y
    return build


def make_cases():
    """All benchmark cases, in table order."""
    sine = "width 4, batch 5, N=100, tanh, replicate/mean, MSE"
    cases = [Case(f"sine-d{d}", f"SpliNet d={d} L=10; {sine}", _sine(d, "splinet"),
                  tags=("small",)) for d in (1, 2, 3)]
    cases.append(Case("sine-odenet", f"ODEnet; {sine}", _sine(None, "odenet"),
                      tags=("small",)))
    cases.append(Case("peaks", "SpliNet d=2 L=10; width 5, batch 40, N=100, ReLU, dense "
                      "2->5 opening, identity closing, cross-entropy", _peaks(),
                      tags=("small",)))
    ip = ("SpliNet d=2 L=10; width 200, batch 100, N=100, ReLU, conv1d k=3, identity "
          "opening, dense closing 200->16, cross-entropy (random data)")
    if "conv1d" in OPERATORS:
        cases.append(Case("indian-pines", ip, _indian_pines(), tags=("conv",)))
    else:
        cases.append(Case("indian-pines", ip, skip="pysplinet has no 'conv1d' operator yet",
                          tags=("conv",)))
    cases.append(Case("large-dense", "SpliNet d=2 L=10; width 256, batch 256, N=100, tanh, "
                      "identity opening, mean closing, MSE", _large_dense(),
                      tags=("large",)))
    return cases


def control_matrix(net):
    """pysplinet's control table as a dense (N, K) matrix ``C`` with
    ``W(t_i) = sum_k C[i, k] Wc[k]`` (eq. 14); built from ``net._sweeps.spec``."""
    spec = net._sweeps.spec
    first, weights = spec.first, spec.weights
    n, n_active = weights.shape
    C = np.zeros((n, net.control.n_sets))
    rows = np.repeat(np.arange(n), n_active)
    cols = (first[:, None] + np.arange(n_active)).ravel()
    np.add.at(C, (rows, cols), weights.ravel())
    return C


class ReferenceNetwork:
    """What the PyTorch and JAX references share: the network's layout around the layer
    loop, written with operations both frameworks spell alike.

    A subclass sets ``name``, converts :attr:`control` and :attr:`cols` to its own arrays
    in ``__init__``, and implements ``_layers(Wl, bl, hl, X)`` (the forward Euler loop),
    ``loss``, ``value_and_grad``, ``predict`` and ``timed_calls``.

    Parameters
    ----------
    net : pysplinet.Network
        Dense, antisymmetric or single-channel 1-D convolution operator.

    Raises
    ------
    NotImplementedError
        For another operator (the multi-channel convolution).
    """

    name = None
    OPERATORS = ("dense", "antisymmetric", "conv1d")

    def __init__(self, net):
        if net.operator.name not in self.OPERATORS:
            raise NotImplementedError(f"no {self.name} reference for operator "
                                      f"{net.operator.name!r}; it has {self.OPERATORS}")
        self.net = net
        #: (N, K) control matrix, eq. 14
        self.control = control_matrix(net)
        #: columns of the replicate opening
        self.cols = np.arange(net.width) % net.n_inputs

    def forward(self, p, x):
        """Network output for a dict of the framework's arrays ``p`` and inputs ``x``."""
        net = self.net
        n_sets = self.control.shape[1]
        Wl = (self.control @ p["W"].reshape(n_sets, -1)).reshape(
            (net.n_layers,) + tuple(net.operator.coef_shape))
        bl = self.control @ p["b"]
        lam = p["lam"] if net.learn_time_scale else net.time_scale
        X = self._layers(Wl, bl, net.h * lam, self._open(p, x))
        return self._close(p, X)

    def _open(self, p, x):
        if self.net.opening == "identity":
            return x
        if self.net.opening == "replicate":
            return x[:, self.cols]
        return x @ p["opening.W"].T + p["opening.b"]

    def _close(self, p, X):
        if self.net.closing == "mean":
            return X.sum(1)[:, None] / self.net.width
        if self.net.closing == "identity":
            return X
        return X @ p["closing.W"].T + p["closing.b"]

    def numpy_inputs(self, params, x, y=None):
        """Float64 parameters, inputs (B, n_inputs) and targets (int64 labels, or float64
        (B, n_outputs)) as NumPy arrays, for a subclass to convert."""
        p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
        x = np.ascontiguousarray(np.reshape(x, (len(x), -1)), dtype=np.float64)
        if y is not None and self.net.loss_name == "cross_entropy":
            y = np.asarray(y, dtype=np.int64)
        elif y is not None:
            y = np.ascontiguousarray(np.reshape(y, (len(x), -1)), dtype=np.float64)
        return p, x, y

    def check(self, params, x, y, rtol=RTOL):
        """:func:`check_reference` against pysplinet."""
        return check_reference(self, self.net, params, x, y, rtol)


def _rel(a, b):
    """``|a - b| / |b|`` in the Euclidean norm (0 when both vanish)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.linalg.norm(b.ravel())
    diff = np.linalg.norm((a - b).ravel())
    if scale == 0.0:
        return 0.0 if diff == 0.0 else np.inf
    return float(diff / scale)


def check_reference(ref, net, params, x, y, rtol=RTOL):
    """Hold a reference's loss, gradient and forward pass to pysplinet's.

    Parameters
    ----------
    ref : object
        Has ``value_and_grad(params, x, y) -> (float, dict)`` and ``predict(params, x)``.
    net, params, x, y
        The pysplinet network and one batch.
    rtol : float
        Largest relative error accepted (Euclidean norm, per quantity).

    Returns
    -------
    dict
        Relative error of the loss, of each gradient and of the output.

    Raises
    ------
    ReferenceMismatch
        Naming every quantity off by more than ``rtol``.
    """
    loss, grads = net.value_and_grad(params, x, y)
    ref_loss, ref_grads = ref.value_and_grad(params, x, y)
    if set(ref_grads) != set(grads):
        raise ReferenceMismatch(f"{ref.name}: gradient keys {sorted(ref_grads)} differ from "
                                f"pysplinet's {sorted(grads)}")
    errors = {"loss": _rel(ref_loss, loss)}
    for k in grads:
        if np.shape(ref_grads[k]) != grads[k].shape:
            raise ReferenceMismatch(f"{ref.name}: gradient {k!r} has shape "
                                    f"{np.shape(ref_grads[k])}, pysplinet's {grads[k].shape}")
        errors[f"grad[{k}]"] = _rel(ref_grads[k], grads[k])
    errors["predict"] = _rel(ref.predict(params, x), net.predict(params, x))
    bad = {k: v for k, v in errors.items() if not v <= rtol}
    if bad:
        worst = ", ".join(f"{k}: {v:.2e}" for k, v in bad.items())
        raise ReferenceMismatch(f"{ref.name} disagrees with pysplinet beyond rtol={rtol:g} "
                                f"({worst}); its timings are not used")
    return errors

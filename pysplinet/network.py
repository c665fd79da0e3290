"""SpliNet, ODEnet and ResNet: configuration, parameters, forward pass and gradient.

A network maps a batch ``x`` (B, n_inputs) through

1. an opening layer to the initial state ``x_0`` (B, m),
2. ``N`` forward Euler layers ``x_{i+1} = x_i + h lam sigma(K(W(t_i)) x_i + b(t_i))``
   (eqs. 5, 24), with the weights and biases given by a control (:mod:`.controls`),
3. a closing layer to the output ``o`` (B, n_outputs),
4. a loss (:mod:`.losses`).

Parameters live in a plain dict of named float64 arrays; gradients come back in a dict with
the same keys and shapes. All input checks happen here, once, before any work.

=================  ==================  ===============================================
key                shape               meaning
=================  ==================  ===============================================
``"W"``            (K, *coef_shape)    operator coefficient sets omega_l (eq. 7)
``"b"``            (K, m)              bias coefficient sets beta_l (eq. 8)
``"lam"``          ()                  time scale, only when it is learned (section 3)
``"opening.W"``    (m, n_inputs)       dense opening only
``"opening.b"``    (m,)                dense opening only
``"closing.W"``    (n_outputs, m)      dense closing only
``"closing.b"``    (n_outputs,)        dense closing only
=================  ==================  ===============================================

``K`` is ``L + d`` for a SpliNet and ``N`` for an ODEnet or ResNet.
"""

import math

import numpy as np

from .activations import ACTIVATIONS, activation_id
from .adjoint import (Head, NumbaSweeps, NumpySweeps, SweepSpec, snapshots_for,
                      sweep_value_and_grad)
from .controls import PerLayerControl, SplineControl
from .losses import LOSSES
from .optim import all_finite

__all__ = ["Network", "SpliNet", "ODENet", "ResNet", "network_from_config"]

OPENINGS = ("replicate", "identity", "dense")
CLOSINGS = ("mean", "identity", "dense")
BACKENDS = {"numba": NumbaSweeps, "numpy": NumpySweeps}
# layers per piece of the control table when a forward pass sweeps a very deep network
_TABLE_CHUNK = 1 << 18


# the empty arrays that stand for what a head does not have (a size-0 array holds nothing
# that could be changed, so one of each serves every call)
_NO_MATRIX = np.empty((0, 0))
_NO_VECTOR = np.empty(0)
_NO_LABELS = np.empty(0, dtype=np.int64)


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1, got {value!r}")
    return int(value)


def _finite_float(name, value, positive=False):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a finite number, got {value!r}") from None
    if not math.isfinite(v) or (positive and v <= 0.0):
        kind = "a finite number > 0" if positive else "a finite number"
        raise ValueError(f"`{name}` must be {kind}, got {value!r}")
    return v


def _choice(name, value, accepted):
    if not isinstance(value, str) or value not in accepted:
        raise ValueError(f"`{name}` must be one of {list(accepted)}, got {value!r}")
    return value


def steps_from_step_size(final_time, step_size):
    """``N = T / h`` when it is an integer up to rounding, else ValueError."""
    ratio = final_time / step_size
    n = round(ratio)
    if n < 1 or abs(ratio - n) > 1e-9 * max(1.0, ratio):
        raise ValueError(f"`step_size` {step_size!r} does not divide `final_time` "
                         f"{final_time!r} into a whole number of layers (T/h = {ratio!r})")
    return int(n)


def _time_grid(final_time, n_layers, step_size):
    """``(T, N)`` from ``T`` and exactly one of ``N`` and ``h``, checked."""
    final_time = _finite_float("final_time", final_time, positive=True)
    if (n_layers is None) == (step_size is None):
        raise ValueError("give exactly one of `n_layers` and `step_size`, got "
                         f"n_layers={n_layers!r}, step_size={step_size!r}")
    if n_layers is None:
        n_layers = steps_from_step_size(
            final_time, _finite_float("step_size", step_size, positive=True))
    return final_time, _positive_int("n_layers", n_layers)


class Network:
    """A discretised ODE network; use :class:`SpliNet`, :class:`ODENet` or :class:`ResNet`.

    Parameters
    ----------
    width : int
        Width ``m`` of the state.
    n_layers : int
        Number of forward Euler steps ``N``.
    activation : {"tanh", "relu", "sigmoid", "identity"}
    operator : str, dict or Operator
        The linear operator ``K`` ("dense", "antisymmetric", ...; see :mod:`.operators`).
    opening : {"replicate", "identity", "dense"}
        ``x_0[:, j] = x[:, j mod n_inputs]`` (the paper's ``[1..1]^T x`` for one input),
        ``x_0 = x`` (needs ``n_inputs == width``), or a trainable ``x_0 = x A^T + a``.
    closing : {"mean", "identity", "dense"}
        ``o = mean_j x_j(T)`` (one output, eq. 25), ``o = x(T)``, or trainable
        ``o = x(T) C^T + c``.
    loss : {"mse", "cross_entropy"}
    n_inputs, n_outputs : int, optional
        Defaults follow from the opening and closing (identity: the width; mean: 1;
        dense closing with "mse": 1). Cross-entropy needs ``n_outputs >= 2``.
    final_time : float
        ``T``; the step is ``h = T / N``.
    time_scale : float
        ``lam`` (section 3); its initial value when ``learn_time_scale`` is true.
    learn_time_scale : bool
        Make ``lam`` a trainable parameter (key ``"lam"``).
    backend : {"numba", "numpy"}
        Compiled kernels or the NumPy reference.
    """

    architecture = None

    def __init__(self, width, n_layers, *, control, final_time=1.0, activation="tanh",
                 operator="dense", opening="replicate", closing="mean", loss="mse",
                 n_inputs=None, n_outputs=None, time_scale=1.0, learn_time_scale=False,
                 backend="numba"):
        from .operators import make_operator

        self.width = _positive_int("width", width)
        self.n_layers = _positive_int("n_layers", n_layers)
        self.final_time = _finite_float("final_time", final_time, positive=True)
        self.activation = _choice("activation", activation, ACTIVATIONS)
        self.opening = _choice("opening", opening, OPENINGS)
        self.closing = _choice("closing", closing, CLOSINGS)
        self.loss_name = _choice("loss", loss, LOSSES)
        self.backend = _choice("backend", backend, BACKENDS)
        self.time_scale = _finite_float("time_scale", time_scale)
        if not isinstance(learn_time_scale, (bool, np.bool_)):
            raise ValueError(f"`learn_time_scale` must be True or False, "
                             f"got {learn_time_scale!r}")
        self.learn_time_scale = bool(learn_time_scale)
        self.operator = make_operator(operator, self.width)
        self.control = control
        self.n_inputs, self.n_outputs = self._io_sizes(n_inputs, n_outputs)
        self.h = self.final_time / self.n_layers

        self._sweeps_cache = None
        self._shapes = self._param_shapes()

    # ------------------------------------------------------------------ sweeps

    def _make_sweeps(self, start=0, stop=None):
        """A back end for layers ``start .. stop - 1`` (indexed from 0 in its table)."""
        first, weights = self.control.table(self.n_layers, start, stop)
        spec = SweepSpec(self.operator, self.activation, activation_id(self.activation),
                         first, weights, self.h)
        return BACKENDS[self.backend](spec)

    @property
    def _sweeps(self):
        """The back end over all layers, with the control table built once and cached."""
        if self._sweeps_cache is None:
            self._sweeps_cache = self._make_sweeps()
        return self._sweeps_cache

    # ------------------------------------------------------------------ configuration

    def _io_sizes(self, n_inputs, n_outputs):
        m = self.width
        if self.opening == "identity":
            n_in = m if n_inputs is None else _positive_int("n_inputs", n_inputs)
            if n_in != m:
                raise ValueError(f"`opening`='identity' needs `n_inputs` == width ({m}), "
                                 f"got {n_in}; use opening='dense' or 'replicate'")
        else:
            n_in = 1 if n_inputs is None else _positive_int("n_inputs", n_inputs)
        if self.closing == "mean":
            n_out = 1 if n_outputs is None else _positive_int("n_outputs", n_outputs)
            if n_out != 1:
                raise ValueError(f"`closing`='mean' gives one output, got n_outputs={n_out}")
        elif self.closing == "identity":
            n_out = m if n_outputs is None else _positive_int("n_outputs", n_outputs)
            if n_out != m:
                raise ValueError(f"`closing`='identity' needs `n_outputs` == width ({m}), "
                                 f"got {n_out}; use closing='dense'")
        else:
            if n_outputs is None and self.loss_name == "cross_entropy":
                raise ValueError("`n_outputs` (the number of classes) is required with "
                                 "closing='dense' and loss='cross_entropy'")
            n_out = 1 if n_outputs is None else _positive_int("n_outputs", n_outputs)
        if self.loss_name == "cross_entropy" and n_out < 2:
            raise ValueError(f"loss='cross_entropy' needs at least 2 outputs (classes), but "
                             f"closing={self.closing!r} gives {n_out}")
        return n_in, n_out

    @property
    def config(self):
        """JSON-serialisable configuration; :func:`network_from_config` rebuilds the net."""
        cfg = {"architecture": self.architecture, "width": self.width,
               "n_layers": self.n_layers, "activation": self.activation,
               "operator": self.operator.config(), "opening": self.opening,
               "closing": self.closing, "loss": self.loss_name, "n_inputs": self.n_inputs,
               "n_outputs": self.n_outputs, "time_scale": self.time_scale,
               "learn_time_scale": self.learn_time_scale, "backend": self.backend}
        cfg.update(self._control_config())
        return cfg

    def _control_config(self):
        return {"final_time": self.final_time}

    def __repr__(self):
        items = ", ".join(f"{k}={v!r}" for k, v in self.config.items() if k != "architecture")
        return f"{type(self).__name__}({items})"

    def param_shapes(self):
        """Dict of parameter name -> shape."""
        return dict(self._shapes)

    def _param_shapes(self):
        m, K = self.width, self.control.n_sets
        shapes = {"W": (K,) + tuple(self.operator.coef_shape), "b": (K, m)}
        if self.learn_time_scale:
            shapes["lam"] = ()
        if self.opening == "dense":
            shapes["opening.W"] = (m, self.n_inputs)
            shapes["opening.b"] = (m,)
        if self.closing == "dense":
            shapes["closing.W"] = (self.n_outputs, m)
            shapes["closing.b"] = (self.n_outputs,)
        return shapes

    @property
    def n_params(self):
        """Number of trainable scalars."""
        return int(sum(math.prod(s) for s in self.param_shapes().values()))

    @property
    def regularised(self):
        """Names of the parameters under Tikhonov regularisation (all but the time scale)."""
        return tuple(k for k in self.param_shapes() if k != "lam")

    # ------------------------------------------------------------------ parameters

    def init_params(self, rng, amplitude=1.0):
        """Random coefficients: i.i.d. uniform on ``[-a g, a g]`` with ``g`` the Glorot
        scale ``sqrt(6 / (fan_in + fan_out))`` of the layer and ``a = amplitude``.

        Biases use the scale of their layer's weight. ``lam`` starts at ``time_scale``.
        """
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"`rng` must be a numpy.random.Generator "
                             f"(np.random.default_rng(seed)), got {type(rng).__name__}")
        amplitude = _finite_float("amplitude", amplitude, positive=True)
        shapes = self.param_shapes()

        def glorot(fan_in, fan_out):
            return amplitude * math.sqrt(6.0 / (fan_in + fan_out))

        params = {}
        g = glorot(*self.operator.fans)
        params["W"] = rng.uniform(-g, g, shapes["W"])
        params["b"] = rng.uniform(-g, g, shapes["b"])
        if self.learn_time_scale:
            params["lam"] = np.array(self.time_scale)
        if self.opening == "dense":
            g = glorot(self.n_inputs, self.width)
            params["opening.W"] = rng.uniform(-g, g, shapes["opening.W"])
            params["opening.b"] = rng.uniform(-g, g, shapes["opening.b"])
        if self.closing == "dense":
            g = glorot(self.width, self.n_outputs)
            params["closing.W"] = rng.uniform(-g, g, shapes["closing.W"])
            params["closing.b"] = rng.uniform(-g, g, shapes["closing.b"])
        return params

    def check_params(self, params):
        """Validated float64 C-contiguous copies (or views) of ``params``; ValueError when
        keys, shapes or values are wrong."""
        if not isinstance(params, dict):
            raise ValueError(f"`params` must be a dict of arrays, got {type(params).__name__}")
        shapes = self._shapes
        if params.keys() != shapes.keys():
            missing = sorted(set(shapes) - set(params))
            extra = sorted(set(params) - set(shapes))
            raise ValueError(f"`params` keys do not match this network: missing {missing}, "
                             f"unexpected {extra}; expected {sorted(shapes)}")
        out = {}
        for k, shape in shapes.items():
            a = params[k]
            if not (type(a) is np.ndarray and a.dtype == np.float64
                    and a.flags.c_contiguous and a.shape == shape):
                a = np.asarray(a)
                if a.dtype.kind not in "fiu" or a.dtype == np.bool_:
                    raise ValueError(f"`params[{k!r}]` must hold real numbers, "
                                     f"got dtype {a.dtype}")
                if a.shape != shape:
                    raise ValueError(f"`params[{k!r}]` must have shape {shape}, "
                                     f"got {a.shape}")
                a = np.asarray(a, dtype=np.float64, order="C")     # keeps 0-d arrays 0-d
            if not all_finite(a):
                raise ValueError(f"`params[{k!r}]` contains NaN or inf")
            out[k] = a
        return out

    # ------------------------------------------------------------------ data checks

    def _check_x(self, x):
        a = np.asarray(x)
        if a.dtype.kind not in "fiu" or a.dtype == np.bool_:
            raise ValueError(f"`x` must hold real numbers, got dtype {a.dtype}")
        if a.ndim == 1 and self.n_inputs == 1:
            a = a[:, None]
        if a.ndim != 2 or a.shape[1] != self.n_inputs or a.shape[0] < 1:
            raise ValueError(f"`x` must have shape (batch, {self.n_inputs}) with batch >= 1"
                             + (" (or (batch,))" if self.n_inputs == 1 else "")
                             + f", got {a.shape}")
        a = np.ascontiguousarray(a, dtype=np.float64)
        if not all_finite(a):
            raise ValueError("`x` contains NaN or inf")
        return a

    def _check_y(self, y, batch):
        a = np.asarray(y)
        if self.loss_name == "cross_entropy":
            if a.dtype.kind not in "iu" or a.dtype == np.bool_:
                raise ValueError(f"`y` must hold integer class labels for "
                                 f"loss='cross_entropy', got dtype {a.dtype}")
            if a.shape != (batch,):
                raise ValueError(f"`y` must have shape ({batch},) (one label per sample), "
                                 f"got {a.shape}")
            if a.size and (a.min() < 0 or a.max() >= self.n_outputs):
                raise ValueError(f"`y` labels must lie in 0..{self.n_outputs - 1}, got "
                                 f"values from {a.min()} to {a.max()}")
            return a.astype(np.int64)
        if a.dtype.kind not in "fiu" or a.dtype == np.bool_:
            raise ValueError(f"`y` must hold real numbers, got dtype {a.dtype}")
        if a.ndim == 1 and self.n_outputs == 1:
            a = a[:, None]
        if a.shape != (batch, self.n_outputs):
            raise ValueError(f"`y` must have shape ({batch}, {self.n_outputs})"
                             + (f" or ({batch},)" if self.n_outputs == 1 else "")
                             + f" to match `x`, got {np.shape(y)}")
        a = np.ascontiguousarray(a, dtype=np.float64)
        if not all_finite(a):
            raise ValueError("`y` contains NaN or inf")
        return a

    # ------------------------------------------------------------------ layers

    def _lam(self, p):
        return float(p["lam"]) if self.learn_time_scale else self.time_scale

    def _open(self, p, x):
        if self.opening == "identity":
            return x.copy()
        if self.opening == "replicate":
            if self.n_inputs == 1:
                return np.repeat(x, self.width, axis=1)
            return np.ascontiguousarray(x[:, np.arange(self.width) % self.n_inputs])
        return np.ascontiguousarray(x @ p["opening.W"].T + p["opening.b"])

    def _open_adjoint(self, p, x, z0, grads):
        """Add the opening's parameter gradients to ``grads``; return dloss/dx."""
        if self.opening == "identity":
            return z0
        if self.opening == "replicate":
            if self.width % self.n_inputs == 0:
                # column j of x_0 is column j mod n_inputs of x: sum the copies
                return z0.reshape(len(x), -1, self.n_inputs).sum(axis=1)
            gx = np.zeros_like(x)
            np.add.at(gx.T, np.arange(self.width) % self.n_inputs, z0.T)
            return gx
        grads["opening.W"] = z0.T @ x
        grads["opening.b"] = z0.sum(axis=0)
        return z0 @ p["opening.W"]

    def _head(self, p, y=None):
        """The closing and loss as the back ends take them (``y`` validated, or None when
        only the output is wanted)."""
        dense = self.closing == "dense"
        Wo = p["closing.W"] if dense else _NO_MATRIX
        bo = p["closing.b"] if dense else _NO_VECTOR
        labels = _NO_LABELS
        if y is not None and self.loss_name == "cross_entropy":
            labels = y
        return Head(self.closing, self.loss_name, Wo, bo,
                    _NO_MATRIX if y is None or self.loss_name == "cross_entropy" else y,
                    labels)

    # ------------------------------------------------------------------ evaluation

    def predict(self, params, x):
        """Network output ``o`` (B, n_outputs) after the closing layer (logits for
        cross-entropy). Keeps one state in memory whatever the number of layers."""
        p = self.check_params(params)
        x = self._check_x(x)
        X = self._open(p, x)
        lam = self._lam(p)
        n = self.n_layers
        if n <= _TABLE_CHUNK or self._sweeps_cache is not None:
            self._sweeps.forward(p["W"], p["b"], lam, X, 0, n)
        else:
            # a very deep network: build the control table piece by piece as well
            for start in range(0, n, _TABLE_CHUNK):
                stop = min(start + _TABLE_CHUNK, n)
                self._make_sweeps(start, stop).forward(p["W"], p["b"], lam, X, 0,
                                                       stop - start)
        return self._sweeps.close(self._head(p), X)

    def trajectory(self, params, x):
        """All states ``x_0 .. x_N``, shape (N + 1, B, m)."""
        p = self.check_params(params)
        x = self._check_x(x)
        X = self._open(p, x)
        states = np.empty((self.n_layers + 1,) + X.shape)
        self._sweeps.forward(p["W"], p["b"], self._lam(p), X, 0, self.n_layers, states)
        return states

    def loss(self, params, x, y):
        """The data loss (no regularisation)."""
        x_ok = self._check_x(x)
        y_ok = self._check_y(y, x_ok.shape[0])
        o = self.predict(params, x_ok)
        return self.output_loss(params, o, y_ok)

    def output_loss(self, params, o, y):
        """The data loss of network outputs ``o`` (what :meth:`predict` returned) against
        ``y``; the same number :meth:`loss` and :meth:`value_and_grad` give."""
        p = self.check_params(params)
        o = np.asarray(o)
        if o.dtype.kind not in "fiu" or o.dtype == np.bool_:
            raise ValueError(f"`o` must hold real numbers, got dtype {o.dtype}")
        if o.ndim != 2 or o.shape[1] != self.n_outputs:
            raise ValueError(f"`o` must have shape (batch, {self.n_outputs}), got {o.shape}")
        if np.ndim(y) >= 1 and len(y) != len(o):
            raise ValueError(f"`o` and `y` must hold the same number of samples, got "
                             f"{len(o)} outputs and {len(y)} targets")
        o = np.ascontiguousarray(o, dtype=np.float64)
        return float(self._sweeps.output_loss(self._head(p, self._check_y(y, o.shape[0])),
                                              o))

    def value_and_grad(self, params, x, y, *, checkpoints=None, memory_budget=None,
                       return_input_grad=False, threads=None):
        """Loss and its gradient with respect to every parameter, by the discrete adjoint.

        Parameters
        ----------
        params : dict
        x : array_like, (B, n_inputs)
        y : array_like
            (B, n_outputs) targets for "mse", (B,) integer labels for "cross_entropy".
        checkpoints : None, int or "auto"
            None stores every state; an integer ``s`` keeps at most ``s`` states (the input
            state counted) and recomputes the rest by the binomial (Revolve) schedule;
            "auto" picks ``s`` from ``memory_budget`` or, without one, about
            ``sqrt(2 N)``. The gradient is bitwise the same whatever the choice.
        memory_budget : int, optional
            Bytes for snapshots plus the working state; picks the largest ``s`` that fits.
        return_input_grad : bool
            Also return ``dloss/dx``.
        threads : int, optional
            Threads for the pieces of a large batch
            (:func:`pysplinet.adjoint.piece_size`: 32 samples each; more for states of
            fewer than 8 entries; 128 for dense or antisymmetric networks of width 32 and
            more). By default Numba's thread count
            (``NUMBA_NUM_THREADS``) when the pieces are long enough to pay for the
            hand-off to threads, else one (:func:`pysplinet.adjoint.threads_for`); matrix
            products in BLAS run on one thread meanwhile. The result is the same bits for
            any number of threads.

        Returns
        -------
        loss : float
        grads : dict
            Same keys and shapes as ``params``.
        dx : ndarray
            Only with ``return_input_grad``.
        """
        p = self.check_params(params)
        x = self._check_x(x)
        y = self._check_y(y, x.shape[0])
        s = snapshots_for(checkpoints, memory_budget, self.n_layers,
                          x.shape[0] * self.width * 8)
        if threads is not None and (isinstance(threads, bool)
                                    or not isinstance(threads, (int, np.integer))
                                    or threads < 1):
            raise ValueError(f"`threads` must be None or an integer >= 1, got {threads!r}")
        x0 = self._open(p, x)
        value, gW, gb, glam, z0, gWo, gbo = sweep_value_and_grad(
            self._sweeps, p["W"], p["b"], self._lam(p), x0, self._head(p, y), s, threads)
        grads = {"W": gW, "b": gb}
        if self.learn_time_scale:
            grads["lam"] = np.array(glam)
        if self.closing == "dense":
            grads["closing.W"] = gWo
            grads["closing.b"] = gbo
        if return_input_grad or self.opening == "dense":
            gx = self._open_adjoint(p, x, z0, grads)
        grads = {k: grads[k] for k in p}
        if return_input_grad:
            return value, grads, gx
        return value, grads


class SpliNet(Network):
    """Neural ODE network whose weights and biases are B-splines of depth (eqs. 7-8).

    Parameters
    ----------
    width : int
    n_layers : int, optional
        Number of layers ``N``; or give ``step_size`` and ``N = T / h``.
    degree : int
        Spline degree ``d >= 1``.
    n_knots : int
        Number of knot intervals ``L >= 1``; the net has ``L + d`` coefficient sets.
    step_size : float, optional
        ``h``; must divide ``final_time`` into a whole number of layers.
    **kwargs
        See :class:`Network`.
    """

    architecture = "splinet"

    def __init__(self, width, n_layers=None, *, degree=2, n_knots=10, step_size=None,
                 final_time=1.0, **kwargs):
        _positive_int("width", width)
        final_time, n_layers = _time_grid(final_time, n_layers, step_size)
        from .basis import _check_degree_knots
        _check_degree_knots(degree, n_knots)
        self.degree = int(degree)
        self.n_knots = int(n_knots)
        super().__init__(width, n_layers, control=SplineControl(self.degree, self.n_knots),
                         final_time=final_time, **kwargs)

    def _control_config(self):
        return {"final_time": self.final_time, "degree": self.degree,
                "n_knots": self.n_knots}

    def with_layers(self, n_layers):
        """The same network on ``n_layers`` layers: the same parameters, another ``h``."""
        cfg = self.config
        cfg["n_layers"] = n_layers
        return network_from_config(cfg)


class ODENet(Network):
    """ODE network with one weight set per layer and ``h = T / N`` (eq. 5)."""

    architecture = "odenet"

    def __init__(self, width, n_layers=None, *, step_size=None, final_time=1.0, **kwargs):
        _positive_int("width", width)
        final_time, n_layers = _time_grid(final_time, n_layers, step_size)
        super().__init__(width, n_layers, control=PerLayerControl(n_layers),
                         final_time=final_time, **kwargs)


class ResNet(Network):
    """Residual network: one weight set per layer and step ``h = 1`` (so ``T = N``)."""

    architecture = "resnet"

    def __init__(self, width, n_layers, **kwargs):
        for key in ("final_time", "step_size"):
            if key in kwargs:
                raise ValueError(f"a ResNet has h = 1 and T = n_layers; `{key}` is not "
                                 f"accepted (use ODENet for another step size)")
        super().__init__(width, n_layers, control=PerLayerControl(n_layers),
                         final_time=float(n_layers), **kwargs)

    def _control_config(self):
        return {}


ARCHITECTURES = {"splinet": SpliNet, "odenet": ODENet, "resnet": ResNet}


def network_from_config(config):
    """Build a network from :attr:`Network.config`."""
    if not isinstance(config, dict):
        raise ValueError(f"`config` must be a dict, got {type(config).__name__}")
    cfg = dict(config)
    arch = cfg.pop("architecture", None)
    if arch not in ARCHITECTURES:
        raise ValueError(f"`config['architecture']` must be one of {sorted(ARCHITECTURES)}, "
                         f"got {arch!r}")
    width = cfg.pop("width", None)
    try:
        return ARCHITECTURES[arch](width, **cfg)
    except TypeError as err:
        raise ValueError(f"`config` has keys that {arch!r} does not accept: {err}") from None

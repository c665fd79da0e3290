"""Adam and the Tikhonov term of the training objective (paper, Section 4).

Parameters are a plain ``dict`` of named float arrays everywhere in pysplinet (0-d arrays
included, for the time scale ``"lam"``). This module works on such dicts and nothing else:

* :class:`Adam` is the Adam optimiser (Kingma and Ba) with bias correction, written as a pure
  function of ``(params, grads, state)``. Its state is a flat ``dict`` of NumPy arrays, so it
  can be stored in an ``.npz`` file without pickle.
* :func:`tikhonov` is the squared-norm penalty the paper adds to the loss (Section 4: a Tikhonov
  term "which minimizes the square L^2-norm of the network parameters"), with its gradient;
  :func:`add_tikhonov` adds it to a data loss and its gradient.

Symbols and their names here:

=======  ====================  ====================================================
symbol   identifier            meaning
=======  ====================  ====================================================
alpha    ``lr``                step size (learning rate)
beta_1   ``beta1``             decay rate of the first-moment estimate
beta_2   ``beta2``             decay rate of the second-moment estimate
epsilon  ``eps``               added to the denominator
t        ``state["step"]``     number of steps taken
m_t      ``state["m/<key>"]``  biased first-moment estimate, shaped like the parameter
v_t      ``state["v/<key>"]``  biased second-moment estimate, shaped like the parameter
gamma    ``gamma``             Tikhonov weight (eq. 8)
=======  ====================  ====================================================
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

__all__ = ["Adam", "NonFiniteGradientError", "add_tikhonov", "tikhonov"]

_STEP = "step"
_M = "m/"
_V = "v/"


class NonFiniteGradientError(ValueError):
    """A gradient holds NaN or infinity; the optimiser step was refused.

    Raised by :meth:`Adam.step` before any parameter or moment is computed, so the caller's
    parameters and optimiser state stay exactly as they were.

    Attributes
    ----------
    key : str
        Name of the parameter whose gradient is not finite.
    index : tuple of int
        Index of the first non-finite entry in that gradient (``()`` for a 0-d array).
    value : float
        The non-finite value found there.
    """

    def __init__(self, key: str, index: tuple[int, ...], value: float) -> None:
        self.key = key
        self.index = index
        self.value = value
        super().__init__(
            f"gradient of parameter {key!r} is not finite at index {index}: {value!r}; "
            "the step was refused and no parameter or moment was changed"
        )


def _check_float_dict(name: str, arrays: object) -> None:
    """Raise unless ``arrays`` is a mapping of str to real floating ndarrays."""
    if not isinstance(arrays, Mapping):
        raise TypeError(f"`{name}` must be a dict of str -> float ndarray, got {type(arrays)!r}")
    for key, value in arrays.items():
        if not isinstance(key, str):
            raise TypeError(f"`{name}` keys must be str, got key {key!r} of {type(key)!r}")
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            got = value.dtype if isinstance(value, np.ndarray) else type(value)
            raise TypeError(
                f"`{name}[{key!r}]` must be a real floating ndarray (0-d allowed), got {got}"
            )


def _check_same_layout(name: str, arrays: Mapping, params: Mapping) -> None:
    """Raise a ValueError unless ``arrays`` has exactly the keys and shapes of ``params``."""
    if arrays.keys() != params.keys():
        missing = sorted(set(params) - set(arrays))
        extra = sorted(set(arrays) - set(params))
        raise ValueError(
            f"`{name}` must have the keys of `params`; missing {missing}, unexpected {extra}"
        )
    for key, p in params.items():
        if arrays[key].shape != p.shape:
            raise ValueError(
                f"`{name}[{key!r}]` has shape {arrays[key].shape}, but `params[{key!r}]` "
                f"has shape {p.shape}"
            )


#: the longest dot product handed to BLAS in one call. OpenBLAS runs longer ones (more
#: than 10 000 entries) on all its threads, whose wake-up was measured at several
#: milliseconds on a 2-core virtual machine, and whose partial sums, taken in an order
#: that depends on the number of threads, would make results depend on it
DOT_CHUNK = 8192


def sum_of_squares(a: np.ndarray) -> float:
    """``sum a_i^2`` over every entry of a real float64 array: one BLAS dot product per
    run of :data:`DOT_CHUNK` entries (each on one thread), the runs added in order, so
    the bits do not depend on the number of BLAS threads."""
    if a.size <= DOT_CHUNK:
        return float(np.vdot(a, a))              # np.vdot reads any shape as flat
    flat = a.reshape(-1)
    total = 0.0
    for start in range(0, flat.size, DOT_CHUNK):
        run = flat[start:start + DOT_CHUNK]
        total += float(np.vdot(run, run))
    return total


def all_finite(a: np.ndarray) -> bool:
    """Whether every entry of a real array is finite. The sum of squares (dot products,
    the quickest reduction for a small array) is finite exactly when no entry is NaN or
    infinite, unless finite entries overflow it; only then are the entries looked at one
    by one."""
    return math.isfinite(sum_of_squares(a)) or bool(np.isfinite(a).all())


def _first_non_finite(arrays: Mapping) -> tuple[str, tuple[int, ...], float] | None:
    """Key, index and value of the first non-finite entry (keys in dict order), or None."""
    for key, a in arrays.items():
        if all_finite(a):
            continue
        bad = ~np.isfinite(a)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            return key, index, float(a[index])
    return None


class Adam:
    """Adam with bias correction.

    The optimiser object holds only the hyperparameters. The moments and the step count live in a
    separate state dict created by :meth:`init`, and :meth:`step` is a pure function: it returns
    new parameter and state dicts and never modifies its arguments.

    Parameters
    ----------
    lr : float, default 1e-3
        Step size ``alpha``; finite and > 0.
    beta1 : float, default 0.9
        Decay rate of the first moment, in [0, 1).
    beta2 : float, default 0.999
        Decay rate of the second moment, in [0, 1).
    eps : float, default 1e-8
        Added to ``sqrt(v_hat)`` in the denominator; finite and > 0.

    Notes
    -----
    With ``t`` the step count after the increment, one step computes, entry by entry,

    .. math::

        m_t = \\beta_1 m_{t-1} + (1 - \\beta_1) g, \\quad
        v_t = \\beta_2 v_{t-1} + (1 - \\beta_2) g^2,

        p_t = p_{t-1} - \\alpha \\, \\frac{m_t / (1 - \\beta_1^t)}
              {\\sqrt{v_t / (1 - \\beta_2^t)} + \\epsilon}.

    A gradient with a NaN or infinite entry is refused with :class:`NonFiniteGradientError`
    before anything is computed, so a single bad batch cannot poison the moment estimates.

    Examples
    --------
    >>> opt = Adam(lr=0.1)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> params, state = opt.step(params, {"w": 2 * params["w"]}, state)
    >>> params["w"]
    array([ 0.9, -1.9])
    """

    def __init__(
        self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        for name, value in (("lr", lr), ("beta1", beta1), ("beta2", beta2), ("eps", eps)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
                raise TypeError(f"`{name}` must be a real number, got {value!r}")
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"`lr` must be finite and > 0, got {lr!r}")
        for name, value in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"`{name}` must lie in [0, 1), got {value!r}")
        if not (math.isfinite(eps) and eps > 0):
            raise ValueError(f"`eps` must be finite and > 0, got {eps!r}")
        self.lr = float(lr)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)

    def __repr__(self) -> str:
        return (
            f"Adam(lr={self.lr!r}, beta1={self.beta1!r}, beta2={self.beta2!r}, "
            f"eps={self.eps!r})"
        )

    def init(self, params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Return the state before the first step: zero moments and a step count of 0.

        Parameters
        ----------
        params : dict of str -> float ndarray
            The parameters to optimise (0-d arrays allowed).

        Returns
        -------
        state : dict of str -> ndarray
            ``"step"``: 0-d int64 array; ``"m/<key>"`` and ``"v/<key>"``: float64 zeros shaped
            like ``params[key]``. Plain arrays only, so it can be saved with ``np.savez``.
        """
        _check_float_dict("params", params)
        state: dict[str, np.ndarray] = {_STEP: np.array(0, dtype=np.int64)}
        for key, p in params.items():
            state[_M + key] = np.zeros(p.shape, dtype=np.float64)
            state[_V + key] = np.zeros(p.shape, dtype=np.float64)
        return state

    def _check_state(self, state: object, params: Mapping) -> int:
        """Validate ``state`` against ``params`` and return the step count."""
        if not isinstance(state, Mapping):
            raise TypeError(f"`state` must be the dict returned by Adam.init, got {type(state)!r}")
        step = state.get(_STEP)
        if not (
            isinstance(step, np.ndarray) and step.shape == () and step.dtype.kind in "iu"
        ) or int(step) < 0:
            raise ValueError(f"`state['step']` must be a 0-d integer array >= 0, got {step!r}")
        expected = {_STEP} | {_M + k for k in params} | {_V + k for k in params}
        if set(state) != expected:
            raise ValueError(
                "`state` does not belong to these parameters; missing "
                f"{sorted(expected - set(state))}, unexpected {sorted(set(state) - expected)}"
            )
        moments = {k: state[k] for k in state if k != _STEP}
        _check_float_dict("state", moments)
        for key, p in params.items():
            for prefix in (_M, _V):
                if moments[prefix + key].shape != p.shape:
                    raise ValueError(
                        f"`state[{prefix + key!r}]` has shape {moments[prefix + key].shape}, "
                        f"but `params[{key!r}]` has shape {p.shape}"
                    )
        return int(step)

    def step(
        self,
        params: Mapping[str, np.ndarray],
        grads: Mapping[str, np.ndarray],
        state: Mapping[str, np.ndarray],
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Take one Adam step; return new parameters and state, leaving the inputs untouched.

        Parameters
        ----------
        params : dict of str -> float ndarray
            Current parameters.
        grads : dict of str -> float ndarray
            Gradient of the objective; exactly the keys and shapes of ``params``.
        state : dict of str -> ndarray
            Optimiser state from :meth:`init` or a previous :meth:`step`.

        Returns
        -------
        new_params : dict of str -> float64 ndarray
            Updated parameters, new arrays in the key order of ``params``.
        new_state : dict of str -> ndarray
            Updated state (new arrays), step count increased by one.

        Raises
        ------
        TypeError
            If an argument is not a dict of real floating arrays.
        ValueError
            If the keys or shapes of ``grads`` or ``state`` do not match ``params``.
        NonFiniteGradientError
            If an entry of ``grads`` is NaN or infinite. Raised before any computation.
        """
        _check_float_dict("params", params)
        _check_float_dict("grads", grads)
        _check_same_layout("grads", grads, params)
        t = self._check_state(state, params) + 1
        bad = _first_non_finite(grads)
        if bad is not None:
            raise NonFiniteGradientError(*bad)
        return self._update(params, grads, state, t)

    def _update(self, params, grads, state, t):
        """The arithmetic of :meth:`step` (step number ``t``), for callers that checked
        the arguments themselves (the training loop, whose dicts it made)."""
        b1, b2 = self.beta1, self.beta2
        correction1 = 1.0 - b1**t  # bias corrections of m and v
        correction2 = 1.0 - b2**t
        new_params: dict[str, np.ndarray] = {}
        new_state: dict[str, np.ndarray] = {_STEP: np.array(t, dtype=np.int64)}
        for key, p in params.items():
            g = np.asarray(grads[key], dtype=np.float64)
            m = b1 * state[_M + key] + (1.0 - b1) * g
            v = b2 * state[_V + key] + (1.0 - b2) * (g * g)
            m_hat = m / correction1
            v_hat = v / correction2
            # np.asarray keeps 0-d parameters as arrays (arithmetic on them yields scalars)
            new_params[key] = np.asarray(p - self.lr * m_hat / (np.sqrt(v_hat) + self.eps))
            new_state[_M + key] = np.asarray(m)
            new_state[_V + key] = np.asarray(v)
        return new_params, new_state


def _check_gamma(gamma: object) -> float:
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float, np.floating, np.integer)):
        raise TypeError(f"`gamma` must be a real number >= 0, got {gamma!r}")
    if not (math.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"`gamma` must be finite and >= 0, got {gamma!r}")
    return float(gamma)


def tikhonov(
    params: Mapping[str, np.ndarray], gamma: float, keys: Iterable[str]
) -> tuple[float, dict[str, np.ndarray]]:
    """Tikhonov penalty ``(gamma / 2) * sum of squared entries`` of some parameters, and gradient.

    Parameters
    ----------
    params : dict of str -> float ndarray
        All parameters of a network.
    gamma : float
        Regularisation weight, finite and >= 0.
    keys : iterable of str
        Names of the regularised parameters, a subset of ``params`` (for a network,
        ``net.regularised``: everything but the time scale ``"lam"``).

    Returns
    -------
    value : float
        ``gamma / 2 * sum_k sum(params[k] ** 2)`` over ``k`` in ``keys``.
    grads : dict of str -> float64 ndarray
        Same keys and shapes as ``params``: ``gamma * params[k]`` for regularised keys, zeros
        for the others.

    Notes
    -----
    The paper writes the term as ``gamma * int_0^T R(theta(t)) dt`` (eq. 8) and, in Section 4,
    takes it to be the squared L2 norm of the network parameters. Here it is applied to the
    trainable coefficients themselves (spline coefficients for a SpliNet, per-layer weights for
    an ODENet or ResNet), not to the integral of ``theta(t) ** 2`` over depth; the factor 1/2
    makes the gradient ``gamma * p``.
    """
    gamma = _check_gamma(gamma)
    _check_float_dict("params", params)
    keys = tuple(keys)
    unknown = sorted(k for k in keys if k not in params)
    if unknown:
        raise ValueError(
            f"`keys` must name entries of `params`; unknown {unknown}, known {sorted(params)}"
        )
    return _tikhonov(params, gamma, set(keys))


def _tikhonov(params, gamma, chosen):
    """The arithmetic of :func:`tikhonov`, on checked arguments (``chosen`` a set of keys)."""
    value = 0.0
    grads: dict[str, np.ndarray] = {}
    for key, p in params.items():
        p64 = np.asarray(p, dtype=np.float64)
        if key in chosen and gamma > 0:  # gamma == 0 adds exactly nothing, even for huge p
            value += 0.5 * gamma * sum_of_squares(p64)
            grads[key] = np.asarray(gamma * p64)
        else:
            grads[key] = np.zeros(p.shape, dtype=np.float64)
    return value, grads


def add_tikhonov(
    params: Mapping[str, np.ndarray],
    loss: float,
    grads: Mapping[str, np.ndarray],
    gamma: float,
    keys: Iterable[str],
) -> tuple[float, dict[str, np.ndarray]]:
    """Return ``loss + tikhonov(...)`` and the summed gradient (new arrays).

    Parameters
    ----------
    params : dict of str -> float ndarray
        All parameters.
    loss : float
        Data loss at ``params``.
    grads : dict of str -> float ndarray
        Gradient of the data loss, with the keys and shapes of ``params``.
    gamma : float
        Regularisation weight, finite and >= 0. With ``gamma == 0`` the loss and gradients
        come back unchanged (as copies).
    keys : iterable of str
        Names of the regularised parameters (``net.regularised``).

    Returns
    -------
    objective : float
        ``loss + gamma / 2 * sum of squares`` of the regularised parameters.
    grads : dict of str -> float64 ndarray
        Gradient of the objective.
    """
    reg_value, reg_grads = tikhonov(params, gamma, keys)
    _check_float_dict("grads", grads)
    _check_same_layout("grads", grads, params)
    return _with_tikhonov(params, loss, grads, reg_value, reg_grads)


def _with_tikhonov(params, loss, grads, reg_value, reg_grads):
    """The objective and its gradient from the data loss and the Tikhonov term."""
    total = {
        key: np.asarray(np.asarray(grads[key], dtype=np.float64) + reg_grads[key])
        for key in params
    }
    return float(loss) + reg_value, total

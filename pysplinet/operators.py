"""Linear operators K(theta) of the right-hand side ``sigma(K(theta) x + b)``.

An operator says what one coefficient set of the weight looks like (``coef_shape``),
how to initialise it (fan-in and fan-out for the Glorot scale), which compiled kernel
serves it (``kernel_id``, ``geometry``, ``gamma``) and, for the NumPy reference, how to
apply it, its transpose, and its parameter gradient to a batch whose rows are samples.

Operators
---------
``Dense(width)``
    ``K = W``, an m x m matrix.
``Antisymmetric(width, gamma)``
    ``K = W - W^T - gamma I`` with ``gamma >= 0``: the spectrum of ``W - W^T`` is
    imaginary, so the shift puts every eigenvalue of ``K`` at real part ``-gamma``
    (stable continuous dynamics, section 2.2 of the paper).

Convolutions (``"conv1d"``, ``"conv"``) live in :mod:`.convolution` and register here.
"""

import numpy as np

__all__ = ["Operator", "Dense", "Antisymmetric", "make_operator", "OPERATORS"]


class Operator:
    """Base class: the interface every operator implements."""

    name = None
    kernel_id = None
    gamma = 0.0
    #: the kernels evaluate the operator as matrix products, in BLAS from width 32 on,
    #: where longer products (more samples per piece of the batch) run faster
    matrix_products = False

    def __init__(self, width):
        self.width = width

    @classmethod
    def build(cls, width, **options):
        """The operator of a network of width ``width`` from config ``options``; an
        operator whose width follows from its options checks that it equals ``width``."""
        return cls(width, **options)

    @property
    def coef_shape(self):
        """Shape of one coefficient set of the operator's parameter."""
        raise NotImplementedError

    @property
    def geometry(self):
        """Integer geometry passed to the kernels (int64 array)."""
        return np.zeros(1, dtype=np.int64)

    @property
    def fans(self):
        """``(fan_in, fan_out)`` for the Glorot initialisation scale."""
        raise NotImplementedError

    def config(self):
        """JSON-serialisable description; ``make_operator(config, width)`` rebuilds it."""
        return {"kind": self.name}

    def apply(self, theta, X):
        """``X K^T``: each row ``x`` maps to ``K x``."""
        raise NotImplementedError

    def apply_transpose(self, theta, G):
        """``G K``: each row ``g`` maps to ``K^T g``."""
        raise NotImplementedError

    def param_grad(self, X, G):
        """Gradient of ``sum_b G[b] . K(theta) X[b]`` with respect to theta."""
        raise NotImplementedError


class Dense(Operator):
    """Dense weight matrix, ``K = W`` (m x m)."""

    name = "dense"
    kernel_id = 0
    matrix_products = True

    @property
    def coef_shape(self):
        return (self.width, self.width)

    @property
    def fans(self):
        return self.width, self.width

    def apply(self, theta, X):
        return X @ theta.T

    def apply_transpose(self, theta, G):
        return G @ theta

    def param_grad(self, X, G):
        return G.T @ X


class Antisymmetric(Dense):
    """Antisymmetric weight with a stabilising shift, ``K = W - W^T - gamma I``.

    Parameters
    ----------
    width : int
    gamma : float, >= 0
        Shift of the spectrum into the left half plane.
    """

    name = "antisymmetric"
    kernel_id = 1

    def __init__(self, width, gamma=0.0):
        super().__init__(width)
        gamma = float(gamma)
        if not (gamma >= 0.0 and np.isfinite(gamma)):
            raise ValueError(f"`gamma` of the antisymmetric operator must be a finite "
                             f"number >= 0, got {gamma!r}")
        self.gamma = gamma

    def config(self):
        return {"kind": self.name, "gamma": self.gamma}

    def matrix(self, theta):
        """The effective matrix ``W - W^T - gamma I``."""
        return theta - theta.T - self.gamma * np.eye(self.width)

    def apply(self, theta, X):
        return X @ self.matrix(theta).T

    def apply_transpose(self, theta, G):
        return G @ self.matrix(theta)

    def param_grad(self, X, G):
        M = G.T @ X
        return M - M.T


#: operator name -> class; other modules register further operators here
OPERATORS = {"dense": Dense, "antisymmetric": Antisymmetric}


def make_operator(spec, width):
    """Build an operator from a name, a config dict (``{"kind": ..., **options}``) or an
    :class:`Operator` instance (returned as is)."""
    if isinstance(spec, Operator):
        if spec.width != width:
            raise ValueError(f"`operator` has width {spec.width}, but the network has "
                             f"width {width}")
        return spec
    if isinstance(spec, str):
        spec = {"kind": spec}
    if not isinstance(spec, dict) or spec.get("kind") not in OPERATORS:
        raise ValueError(f"`operator` must be one of {sorted(OPERATORS)} (a name, a dict "
                         f"with key 'kind', or an Operator), got {spec!r}")
    options = {k: v for k, v in spec.items() if k != "kind"}
    try:
        return OPERATORS[spec["kind"]].build(width, **options)
    except TypeError as err:
        raise ValueError(f"`operator` options {options!r} are not accepted by "
                         f"{spec['kind']!r}: {err}") from None

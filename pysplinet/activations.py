"""Activation functions sigma and their derivatives, by name.

Each activation has an integer id shared with the compiled kernels
(:mod:`pysplinet.kernels.activations`); the NumPy versions here are the reference.
"""

import numpy as np
from scipy.special import expit

__all__ = ["ACTIVATIONS", "activation_id", "sigma", "dsigma"]

#: name -> id used by the kernels
ACTIVATIONS = {"identity": 0, "tanh": 1, "relu": 2, "sigmoid": 3}


def activation_id(name):
    """The kernel id of an activation name; ValueError for an unknown name."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"`activation` must be one of {sorted(ACTIVATIONS)}, got {name!r}") from None


def sigma(name, a):
    """sigma(a), elementwise."""
    if name == "identity":
        return a.copy()
    if name == "tanh":
        return np.tanh(a)
    if name == "relu":
        return np.maximum(a, 0.0)
    if name == "sigmoid":
        return expit(a)
    activation_id(name)


def dsigma(name, a):
    """sigma'(a), elementwise (ReLU: 0 at the kink)."""
    if name == "identity":
        return np.ones_like(a)
    if name == "tanh":
        return 1.0 - np.tanh(a) ** 2
    if name == "relu":
        return (a > 0.0).astype(np.float64)
    if name == "sigmoid":
        s = expit(a)
        return s * (1.0 - s)
    activation_id(name)

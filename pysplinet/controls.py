"""Controls: which coefficient sets are active at each layer, and with which weights.

A control turns the trainable coefficient sets (the leading axis of ``params["W"]`` and
``params["b"]``) into one weight set per layer. Both kinds of control are described by
the same sparse table, ``first`` and ``weights``: layer ``i`` uses

    W(t_i) = sum_j weights[i, j] * W_coef[first[i] + j]                 (eq. 14)
    b(t_i) = sum_j weights[i, j] * b_coef[first[i] + j]                 (eq. 15)

and its adjoint adds the layer gradient back into the same sets with the same weights
(eq. 23). The compiled sweeps only ever see this table, so they do not know whether they
serve a SpliNet, an ODEnet or a ResNet.
"""

import numpy as np

from .basis import layer_basis

__all__ = ["SplineControl", "PerLayerControl"]


class SplineControl:
    """B-spline control of degree ``degree`` on ``n_knots`` uniform intervals of [0, T].

    Holds ``n_knots + degree`` coefficient sets, independent of the number of layers.
    """

    kind = "spline"

    def __init__(self, degree, n_knots):
        self.degree = degree
        self.n_knots = n_knots

    @property
    def n_sets(self):
        """Number of coefficient sets, ``L + d``."""
        return self.n_knots + self.degree

    def table(self, n_layers, start=0, stop=None):
        """``(first, weights)`` for ``n_layers`` equally spaced layer times on [0, T)
        (rows ``start .. stop - 1`` when given)."""
        return layer_basis(n_layers, self.degree, self.n_knots, start, stop)


class PerLayerControl:
    """One coefficient set per layer (ODEnet, ResNet): layer ``i`` uses set ``i`` alone."""

    kind = "per_layer"

    def __init__(self, n_layers):
        self.n_layers = n_layers

    @property
    def n_sets(self):
        """Number of coefficient sets, one per layer."""
        return self.n_layers

    def table(self, n_layers, start=0, stop=None):
        """``(first, weights)`` with ``first[i] = i`` and a single weight 1 (rows
        ``start .. stop - 1`` when given)."""
        if n_layers != self.n_layers:
            raise ValueError(
                f"`n_layers` of a per-layer control is fixed at {self.n_layers}, "
                f"got {n_layers}; only a spline control can be re-discretised")
        stop = n_layers if stop is None else stop
        return np.arange(start, stop, dtype=np.int64), np.ones((stop - start, 1))

"""The forward Euler sweep and its discrete adjoint in plain NumPy, to read beside the paper.

This is the reference back end (``backend="numpy"``): one Python loop over layers,
NumPy over the batch. The compiled back end (:mod:`pysplinet.kernels.euler`) computes the
same quantities in the same order; the tests hold the two equal to round-off.

Notation: ``X`` holds x_i (one row per sample), ``Z`` holds z_i, ``Wc`` and ``bc`` the
coefficient sets omega_l and beta_l (leading axis ``l + d``), ``first[i]`` and
``weights[i]`` the active sets of layer i and their basis values ``B_l^d(t_i)``.
"""

import numpy as np

from .activations import dsigma, sigma

__all__ = ["forward", "adjoint", "close", "close_adjoint"]


def _layer_controls(spec, Wc, bc, i):
    """``W(t_i)`` and ``b(t_i)`` from the d+1 active coefficient sets (eqs. 14-15)."""
    k0 = spec.first[i]
    Wi = np.zeros(Wc.shape[1:])
    bi = np.zeros(bc.shape[1:])
    for j, B in enumerate(spec.weights[i]):
        Wi = Wi + B * Wc[k0 + j]
        bi = bi + B * bc[k0 + j]
    return Wi, bi


def forward(spec, Wc, bc, lam, X, i_start, i_stop, states=None):
    """Advance ``X`` (B, m) in place from ``x_{i_start}`` to ``x_{i_stop}`` (eq. 5).

    If ``states`` is given, ``states[i - i_start] = x_i`` for ``i = i_start .. i_stop``.
    """
    hl = spec.h * lam
    if states is not None:
        states[0] = X
    for i in range(i_start, i_stop):
        Wi, bi = _layer_controls(spec, Wc, bc, i)
        a = spec.operator.apply(Wi, X) + bi
        X[:] = X + hl * sigma(spec.activation, a)          # x_{i+1} = x_i + h lam sigma(a_i)
        if states is not None:
            states[i - i_start + 1] = X


def adjoint(spec, Wc, bc, lam, states, offset, i_start, i_stop, Z, gW, gb, glam):
    """Adjoint of layers ``i_stop - 1`` down to ``i_start``; ``x_i = states[i - offset]``.

    On entry ``Z`` holds ``z_{i_stop}``, on exit ``z_{i_start}``. The gradients are added
    to ``gW``, ``gb`` and ``glam[0]``.
    """
    h = spec.h
    hl = h * lam
    for i in range(i_stop - 1, i_start - 1, -1):
        X = states[i - offset]
        Wi, bi = _layer_controls(spec, Wc, bc, i)
        a = spec.operator.apply(Wi, X) + bi

        # d x_{i+1} / d lam = h sigma(a_i)
        glam[0] += h * np.sum(sigma(spec.activation, a) * Z)

        # g = h lam sigma'(a_i) (.) z_{i+1}
        g = hl * dsigma(spec.activation, a) * Z

        # eqs. 21-22: layer gradients, summed over the batch
        dW = spec.operator.param_grad(X, g)
        db = g.sum(axis=0)

        # eq. 18: z_i = z_{i+1} + (d Phi / d x_i)^T z_{i+1} - z_{i+1} = z_{i+1} + K^T g
        Z += spec.operator.apply_transpose(Wi, g)

        # eq. 23: add into the d+1 active coefficient sets with their basis weights
        k0 = spec.first[i]
        for j, B in enumerate(spec.weights[i]):
            gW[k0 + j] += B * dW
            gb[k0 + j] += B * db


def close(closing, Wo, bo, X):
    """The network output ``o`` of the final states ``X`` (B, m): ``"mean"`` (one output,
    the mean over the width), ``"identity"`` or ``"dense"`` (``X Wo^T + bo``)."""
    if closing == "mean":
        return np.add.reduce(X, axis=1, keepdims=True) * (1.0 / X.shape[1])
    if closing == "identity":
        return X.copy()
    return X @ Wo.T + bo


def close_adjoint(closing, Wo, X, go):
    """``(z_N, gWo, gbo)`` from ``go = dloss/do`` (eq. 17); the closing's gradients are
    None unless it is dense."""
    if closing == "mean":
        return np.repeat(go * (1.0 / X.shape[1]), X.shape[1], axis=1), None, None
    if closing == "identity":
        return go.copy(), None, None
    return np.ascontiguousarray(go @ Wo), go.T @ X, go.sum(axis=0)

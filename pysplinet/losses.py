"""Losses on the network output ``o`` (after the closing layer): value and gradient.

Both losses average over the batch, so the gradient with respect to ``o`` carries a factor
``1 / B``.

* ``"mse"``: ``0.5 * mean_b sum_k (o[b, k] - y[b, k])^2``. With the ``"mean"`` closing
  (``o = mean_j x_j(T)``) and one output this is eq. 25 of the paper.
* ``"cross_entropy"``: softmax cross-entropy against integer labels,
  ``mean_b (logsumexp(o[b]) - o[b, y[b]])``, computed with the maximum shifted out so that
  huge logits give neither overflow nor NaN.
"""

import numpy as np

__all__ = ["LOSSES", "loss_value_and_grad", "softmax"]

LOSSES = ("mse", "cross_entropy")


def softmax(o):
    """Row-wise softmax of logits ``o`` (B, C), stable for any finite logits."""
    shifted = o - o.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def loss_value_and_grad(name, o, y, batch=None):
    """Loss value and ``dloss/do`` for outputs ``o`` (B, C) and validated targets ``y``.

    ``y`` is (B, C) float for ``"mse"`` and (B,) integer labels for ``"cross_entropy"``;
    shapes are checked by the network before this is called, never broadcast here. When
    ``o`` is a piece of a larger batch, ``batch`` is that batch's size: the value is then
    the piece's share of the batch mean (the shares add up to the loss) and the gradient
    carries the factor ``1 / batch``.
    """
    n = o.shape[0] if batch is None else batch
    if name == "mse":
        r = o - y
        return 0.5 * float(np.sum(r * r)) / n, r / n
    if name == "cross_entropy":
        rows = np.arange(o.shape[0])
        m = o.max(axis=1, keepdims=True)
        e = np.exp(o - m)
        s = e.sum(axis=1, keepdims=True)
        # logsumexp(o) - o_y = (m - o_y) + log(sum exp(o - m)): the difference of two
        # huge logits is formed first, so no digits are lost to the shift
        value = float(np.sum((m[:, 0] - o[rows, y]) + np.log(s[:, 0]))) / n
        g = e / s
        g[rows, y] -= 1.0
        return value, g / n
    raise ValueError(f"`loss` must be one of {list(LOSSES)}, got {name!r}")

"""The pysplinet networks written in JAX (jax.jit, jax.value_and_grad, lax.scan), for the
benchmarks.

Same math as pysplinet: an opening layer, ``N`` forward Euler layers
``x_{i+1} = x_i + h lam sigma(K(W(t_i)) x_i + b(t_i))`` whose weights come from pysplinet's
own control table (eq. 14), a closing layer and the loss. The layer loop is a
``lax.scan`` over the per-layer weights, which are formed from the coefficient sets by one
product with the dense control matrix. Importing this module turns on 64-bit floats in
JAX (``jax_enable_x64``); thread settings (``XLA_FLAGS``) must be in the environment
before JAX is first imported.
"""

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

from bench_cases import ReferenceNetwork  # noqa: E402

__all__ = ["JaxReference"]

_SIGMA = {"identity": lambda a: a, "tanh": jnp.tanh, "relu": jax.nn.relu,
          "sigmoid": jax.nn.sigmoid}


class JaxReference(ReferenceNetwork):
    """A pysplinet network rebuilt in JAX, with jitted loss-and-gradient and forward pass
    (see :class:`bench_cases.ReferenceNetwork`)."""

    name = "jax"

    def __init__(self, net):
        super().__init__(net)
        self.control = jnp.asarray(self.control)
        self._sigma = _SIGMA[net.activation]
        self._predict = jax.jit(self.forward)
        self._value_and_grad = jax.jit(jax.value_and_grad(self.loss))

    # ------------------------------------------------------------------ model

    def _apply(self, W, X):
        """``K(W) x`` for every row of ``X``."""
        op = self.net.operator
        if op.name == "dense":
            return X @ W.T
        if op.name == "antisymmetric":
            K = W - W.T - op.gamma * jnp.eye(op.width)
            return X @ K.T
        h = op.kernel_size // 2
        # cross-correlation (no kernel flip), zero "same" padding; layouts NCH and OIH
        out = lax.conv_general_dilated(X[:, None, :], W[None, None, :], (1,), [(h, h)])
        return out[:, 0, :]

    def _layers(self, Wl, bl, hl, X):
        def layer(X, wb):
            W, b = wb
            return X + hl * self._sigma(self._apply(W, X) + b), None

        return lax.scan(layer, X, (Wl, bl))[0]

    def loss(self, p, x, y):
        o = self.forward(p, x)
        if self.net.loss_name == "mse":
            return 0.5 * jnp.sum((o - y) ** 2) / o.shape[0]
        picked = jnp.take_along_axis(o, y[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(o, axis=1) - picked)

    # ------------------------------------------------------------------ numpy interface

    def arrays(self, params, x, y=None):
        """Device arrays for the parameters and the data."""
        p, x, y = self.numpy_inputs(params, x, y)
        p = {k: jnp.asarray(v) for k, v in p.items()}
        return p, jnp.asarray(x), None if y is None else jnp.asarray(y)

    def value_and_grad(self, params, x, y):
        """Loss (float) and gradient dict of NumPy arrays."""
        loss, grads = self._value_and_grad(*self.arrays(params, x, y))
        return float(loss), {k: np.asarray(g) for k, g in grads.items()}

    def predict(self, params, x):
        p, xj, _ = self.arrays(params, x)
        return np.asarray(self._predict(p, xj))

    def timed_calls(self, params, x, y):
        """Zero-argument callables for one loss-and-gradient and one forward pass on
        arrays prepared once; each waits for its result."""
        p, xj, yj = self.arrays(params, x, y)

        def grad():
            return jax.block_until_ready(self._value_and_grad(p, xj, yj))

        def predict():
            return jax.block_until_ready(self._predict(p, xj))

        return grad, predict

"""The pysplinet networks written in PyTorch (eager mode, autograd), for the benchmarks.

Same math as pysplinet: an opening layer, ``N`` forward Euler layers
``x_{i+1} = x_i + h lam sigma(K(W(t_i)) x_i + b(t_i))`` whose weights come from pysplinet's
own control table (eq. 14), a closing layer and the loss, all in float64. The per-layer
weights of all layers are formed by one product with the dense control matrix before the
layer loop (cheaper in eager mode than gathering layer by layer), and dense layers use the
fused ``addmm``; autograd then carries the gradient back to the coefficient sets.
"""

import torch
import torch.nn.functional as F

from bench_cases import ReferenceNetwork

__all__ = ["TorchReference"]

_SIGMA = {"identity": lambda a: a, "tanh": torch.tanh, "relu": torch.relu,
          "sigmoid": torch.sigmoid}


class TorchReference(ReferenceNetwork):
    """A pysplinet network rebuilt in PyTorch (see :class:`bench_cases.ReferenceNetwork`)."""

    name = "pytorch"

    def __init__(self, net):
        super().__init__(net)
        self.control = torch.from_numpy(self.control)
        self.cols = torch.from_numpy(self.cols)
        self._sigma = _SIGMA[net.activation]

    # ------------------------------------------------------------------ model

    def _apply(self, W, X):
        """``K(W) x`` for every row of ``X``."""
        op = self.net.operator
        if op.name == "dense":
            return X @ W.T
        if op.name == "antisymmetric":
            K = W - W.T - op.gamma * torch.eye(op.width, dtype=W.dtype)
            return X @ K.T
        k = op.kernel_size
        # cross-correlation (no kernel flip), zero "same" padding
        return F.conv1d(X[:, None, :], W.view(1, 1, k), padding=k // 2)[:, 0, :]

    def _layers(self, Wl, bl, hl, X):
        # the fused forms (addmm, add with alpha) save eager-mode operator calls
        dense = self.net.operator.name == "dense"
        learned = self.net.learn_time_scale
        for W, b in zip(Wl.unbind(0), bl.unbind(0)):
            a = torch.addmm(b, X, W.T) if dense else self._apply(W, X) + b
            X = X + hl * self._sigma(a) if learned else torch.add(X, self._sigma(a), alpha=hl)
        return X

    def loss(self, p, x, y):
        o = self.forward(p, x)
        if self.net.loss_name == "mse":
            return 0.5 * ((o - y) ** 2).sum() / o.shape[0]
        return F.cross_entropy(o, y)

    # ------------------------------------------------------------------ numpy interface

    def tensors(self, params, x, y=None):
        """Leaf tensors (requiring gradients) for the parameters, and the data."""
        p, x, y = self.numpy_inputs(params, x, y)
        p = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
        return p, torch.from_numpy(x), None if y is None else torch.from_numpy(y)

    def value_and_grad(self, params, x, y):
        """Loss (float) and gradient dict of NumPy arrays."""
        p, xt, yt = self.tensors(params, x, y)
        loss = self.loss(p, xt, yt)
        keys = list(p)
        grads = torch.autograd.grad(loss, [p[k] for k in keys])
        return float(loss.detach()), {k: g.numpy() for k, g in zip(keys, grads)}

    def predict(self, params, x):
        p, xt, _ = self.tensors(params, x)
        with torch.no_grad():
            return self.forward(p, xt).numpy()

    def timed_calls(self, params, x, y):
        """Zero-argument callables for one loss-and-gradient and one forward pass on
        tensors prepared once (conversion is not timed)."""
        p, xt, yt = self.tensors(params, x, y)
        leaves = list(p.values())

        def grad():
            return torch.autograd.grad(self.loss(p, xt, yt), leaves)

        def predict():
            with torch.no_grad():
                return self.forward(p, xt)

        return grad, predict

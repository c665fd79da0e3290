"""A whole loss-and-gradient evaluation of the ODE part and the head in one call.

:func:`value_and_grad_stored` does, for a batch cut into pieces of ``piece`` samples, what
the Python driver :func:`pysplinet.adjoint.sweep_value_and_grad` does with every state
stored, and gives the same bits: the pieces one at a time, each with its forward sweep,
the head on that piece's final states, and its adjoint sweep, all in the same scratch
memory. The loss is a sum over samples and each sample's ``dloss/dx_N`` depends on that
sample alone, so the head can run piece by piece (:func:`.head.head_add`, its sums
carried from piece to piece in sample order). Only one piece's states are held at a time:
a few megabytes that stay in the cache between the forward and the adjoint sweep. Every
step is the same function the driver calls, on the same numbers; the Python work between
the steps, which for a narrow network costs as much as the sweeps, is saved.
"""

import numba
import numpy as np

from ._config import JIT
from .euler import euler_adjoint, euler_forward
from .head import DENSE, head_add, loss_finish


@numba.njit(**JIT)
def value_and_grad_stored(op, geom, gamma, act, fixed, Wc, bc, first, weights, h, lam, X0,
                          piece, closing, loss, Wo, bo, Y, labels, state_buf, value_buf,
                          gW, gb, glam, gWo, gbo, Z0):
    """Return the loss; write the gradients and ``Z0 = dloss/dx_0``.

    ``X0`` (B, m) is the state after the opening layer. ``state_buf`` and ``value_buf``
    are scratch of at least ``(N + 1) r m`` and ``N r m`` entries with ``r =
    min(piece, B)``, in which each piece keeps its states and activation values as
    ``(N + 1, r, m)`` and ``(N, r, m)`` blocks; when they are empty the scratch is
    allocated here (cheaper than from Python for a small network). Writes ``gW``, ``gb``,
    ``glam`` (zeroed first), ``gWo``, ``gbo`` (dense closing only), ``Z0`` and the
    buffers.
    """
    n, m = X0.shape
    N = first.shape[0]
    inv = 1.0 / n
    acc = 0.0
    gW[:] = 0.0
    gb[:] = 0.0
    glam[:] = 0.0
    if closing == DENSE:
        gWo[:, :] = 0.0
        gbo[:] = 0.0
    # the first piece adds into the zeroed gradients, each later one into zeroed scratch
    # that is then added: the order in which the Python driver sums the pieces
    tW = np.empty_like(gW)
    tb = np.empty_like(gb)
    tl = np.empty(1)
    if state_buf.shape[0] == 0:
        state_buf = np.empty((N + 1) * min(piece, n) * m)
        value_buf = np.empty(N * min(piece, n) * m)
    for a in range(0, n, piece):
        r = min(piece, n - a)
        states = state_buf[:(N + 1) * r * m].reshape((N + 1, r, m))
        values = value_buf[:N * r * m].reshape((N, r, m))
        X = X0[a:a + r].copy()
        euler_forward(op, geom, gamma, act, fixed, Wc, bc, first, weights, h, lam, 0, N,
                      X, states, values)
        Z = np.empty((r, m))
        acc = head_add(closing, loss, Wo, bo, Y[a:a + r], labels[a:a + r], X, Z, gWo, gbo,
                       inv, acc)
        if a == 0:
            dW, db, dl = gW, gb, glam
        else:
            dW, db, dl = tW, tb, tl
            dW[:] = 0.0
            db[:] = 0.0
            dl[:] = 0.0
        euler_adjoint(op, geom, gamma, act, fixed, Wc, bc, first, weights, h, lam, 0, N,
                      states, values, 0, Z, dW, db, dl)
        if a > 0:
            gW += tW
            gb += tb
            glam += tl
        Z0[a:a + r] = Z
    return loss_finish(loss, acc, inv)

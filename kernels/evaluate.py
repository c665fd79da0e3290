"""A whole loss-and-gradient evaluation of the ODE part and the head in one call.

:func:`value_and_grad_stored` does, for a batch cut into pieces of ``piece`` samples, what
the Python driver :func:`pysplinet.adjoint.sweep_value_and_grad` does with every state
stored: each piece's forward sweep, the closing and loss on the whole batch, each piece's
adjoint sweep, and the pieces' gradients added in piece order. It calls the same
functions on the same arrays in the same order, so both give the same bits; this one saves
the Python work between the steps, which for a narrow network costs as much as the
sweeps.
"""

import numba
import numpy as np

from ._config import JIT
from .euler import euler_adjoint, euler_forward
from .head import head_value_and_grad


@numba.njit(**JIT)
def _piece_stores(state_buf, value_buf, N, a, r, m):
    """The states (N + 1, r, m) and activation values (N, r, m) of the piece of ``r``
    samples that starts at sample ``a``: contiguous blocks of the scratch buffers."""
    states = state_buf[(N + 1) * a * m:(N + 1) * (a + r) * m].reshape((N + 1, r, m))
    values = value_buf[N * a * m:N * (a + r) * m].reshape((N, r, m))
    return states, values


@numba.njit(**JIT)
def value_and_grad_stored(op, geom, gamma, act, fixed, Wc, bc, first, weights, h, lam, X0,
                          piece, closing, loss, Wo, bo, Y, labels, state_buf, value_buf,
                          gW, gb, glam, gWo, gbo, Z0):
    """Return the loss; write the gradients and ``Z0 = dloss/dx_0``.

    ``X0`` (B, m) is the state after the opening layer. ``state_buf`` and ``value_buf``
    are scratch of at least ``(N + 1) B m`` and ``N B m`` entries, in which piece ``p``
    (samples ``a .. a + r - 1``) keeps its states and activation values as contiguous
    ``(N + 1, r, m)`` and ``(N, r, m)`` blocks. Writes ``gW``, ``gb``, ``glam`` (zeroed
    first), ``gWo``, ``gbo`` (dense closing only), ``Z0`` and the buffers.
    """
    n, m = X0.shape
    N = first.shape[0]
    XN = np.empty((n, m))
    for a in range(0, n, piece):
        r = min(piece, n - a)
        states, values = _piece_stores(state_buf, value_buf, N, a, r, m)
        X = X0[a:a + r].copy()
        euler_forward(op, geom, gamma, act, fixed, Wc, bc, first, weights, h, lam, 0, N,
                      X, states, values)
        XN[a:a + r] = X

    Z = np.empty((n, m))
    value = head_value_and_grad(closing, loss, Wo, bo, Y, labels, XN, Z, gWo, gbo)

    # the first piece adds into the zeroed gradients, each later one into zeroed scratch
    # that is then added: the order in which the Python driver sums the pieces
    gW[:] = 0.0
    gb[:] = 0.0
    glam[:] = 0.0
    tW = np.empty_like(gW)
    tb = np.empty_like(gb)
    tl = np.empty(1)
    for a in range(0, n, piece):
        r = min(piece, n - a)
        states, values = _piece_stores(state_buf, value_buf, N, a, r, m)
        Zp = Z[a:a + r].copy()
        if a == 0:
            dW, db, dl = gW, gb, glam
        else:
            dW, db, dl = tW, tb, tl
            dW[:] = 0.0
            db[:] = 0.0
            dl[:] = 0.0
        euler_adjoint(op, geom, gamma, act, fixed, Wc, bc, first, weights, h, lam, 0, N,
                      states, values, 0, Zp, dW, db, dl)
        if a > 0:
            gW += tW
            gb += tb
            glam += tl
        Z0[a:a + r] = Zp
    return value

"""Gradient verification: central finite differences and the Taylor test.

Central differences
    For a coordinate p_j, ``(J(p + e e_j) - J(p - e e_j)) / (2 e)`` differs from
    ``dJ/dp_j`` by O(e^2). The report gives the largest difference relative to the largest
    gradient entry that was checked (a normwise relative error, so that coordinates with
    a tiny gradient do not dominate through division by almost zero).

Taylor test
    Along a random direction v the remainder ``|J(p + eps v) - J(p) - eps <g, v>|`` of the
    first-order expansion shrinks like eps^2 exactly when g is the gradient; with a wrong
    gradient it shrinks only like eps. Halving eps repeatedly, the observed order
    ``log2(r(eps) / r(eps/2))`` must approach 2.
"""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["gradcheck", "taylor_test", "GradcheckReport"]


@dataclass
class GradcheckReport:
    """Result of :func:`gradcheck`.

    Attributes
    ----------
    max_rel_error : float
        ``max_j |fd_j - g_j| / max_j |g_j|`` over the checked coordinates.
    n_checked : int
        Number of coordinates checked by central differences.
    taylor_order : float
        Observed convergence order of the Taylor remainder (2 when the gradient is right).
    taylor_orders : list of float
        Orders between successive eps.
    taylor_remainders, taylor_eps : list of float
    per_key : dict
        ``max_rel_error`` restricted to each parameter (same normalisation).
    """

    max_rel_error: float
    n_checked: int
    taylor_order: float
    taylor_orders: list = field(default_factory=list)
    taylor_remainders: list = field(default_factory=list)
    taylor_eps: list = field(default_factory=list)
    per_key: dict = field(default_factory=dict)

    def passes(self, rtol=1e-6, order_range=(1.9, 2.1)):
        """Whether both checks pass with these tolerances.

        At a kink of the network (ReLU at a pre-activation near zero) central differences
        straddle the kink and disagree with the one-sided derivative the adjoint gives, so
        the first check can fail on a correct gradient; a smaller ``eps`` in
        :func:`gradcheck` shrinks the disagreement, and the Taylor order stays 2.
        """
        lo, hi = order_range
        return bool(self.max_rel_error <= rtol and lo <= self.taylor_order <= hi)

    @property
    def passed(self):
        """Whether both checks pass with the default tolerances of :meth:`passes`."""
        return self.passes()


def _flat_keys(params):
    return [(k, idx) for k in params for idx in np.ndindex(np.shape(params[k]))]


def gradcheck(net, params, x, y, *, eps=1e-6, max_coords=2000, seed=0, taylor=True,
              **grad_options):
    """Check ``net.value_and_grad`` against central differences and the Taylor test.

    Parameters
    ----------
    net : Network
    params : dict
    x, y : array_like
    eps : float
        Relative finite-difference step: coordinate j moves by ``eps * max(1, |p_j|)``.
    max_coords : int
        Check every coordinate when there are at most this many, else a random sample of
        this many (seeded by ``seed``).
    taylor : bool
        Also run :func:`taylor_test`.
    **grad_options
        Passed to ``value_and_grad`` (``checkpoints``, ``memory_budget``).

    Returns
    -------
    GradcheckReport
    """
    params = net.check_params(params)
    _, grads = net.value_and_grad(params, x, y, **grad_options)
    coords = _flat_keys(params)
    rng = np.random.default_rng(seed)
    if len(coords) > max_coords:
        pick = np.sort(rng.choice(len(coords), size=max_coords, replace=False))
        coords = [coords[j] for j in pick]

    fd = np.empty(len(coords))
    g = np.empty(len(coords))
    work = {k: v.copy() for k, v in params.items()}
    for n, (k, idx) in enumerate(coords):
        p0 = work[k][idx]
        step = eps * max(1.0, abs(p0))
        work[k][idx] = p0 + step
        f_plus = net.loss(work, x, y)
        work[k][idx] = p0 - step
        f_minus = net.loss(work, x, y)
        work[k][idx] = p0
        fd[n] = (f_plus - f_minus) / (2.0 * step)
        g[n] = grads[k][idx]

    scale = max(np.max(np.abs(g)), np.max(np.abs(fd)), np.finfo(float).tiny)
    diff = np.abs(fd - g)
    per_key = {}
    for k in params:
        mask = np.array([c[0] == k for c in coords])
        if mask.any():
            per_key[k] = float(diff[mask].max() / scale)
    report = GradcheckReport(max_rel_error=float(diff.max() / scale),
                             n_checked=len(coords), taylor_order=float("nan"),
                             per_key=per_key)
    if taylor:
        order, orders, rem, epss = taylor_test(net, params, x, y, grads=grads, seed=seed)
        report.taylor_order = order
        report.taylor_orders = orders
        report.taylor_remainders = rem
        report.taylor_eps = epss
    return report


def taylor_test(net, params, x, y, *, grads=None, seed=0, eps0=1e-3, n_halvings=5):
    """Observed order of the first-order Taylor remainder along a random direction.

    The direction has entries uniform in ``[-1, 1]`` scaled by ``max(1, |p|)`` per
    parameter array. The first step ``eps0`` is small enough that the second-order term
    of the expansion dominates the third for the networks of this library, and the
    smallest step ``eps0 / 2**n_halvings`` leaves the remainder far above round-off.
    Returns ``(order, orders, remainders, eps)``, where ``order`` is the least-squares
    slope of ``log r`` against ``log eps`` (2 when the gradient is right).
    """
    params = net.check_params(params)
    if grads is None:
        _, grads = net.value_and_grad(params, x, y)
    rng = np.random.default_rng(seed + 1)
    v = {k: rng.uniform(-1.0, 1.0, np.shape(a)) * max(1.0, float(np.max(np.abs(a), initial=0)))
         for k, a in params.items()}
    J0 = net.loss(params, x, y)
    dJv = sum(float(np.sum(grads[k] * v[k])) for k in params)
    eps = [eps0 / 2 ** j for j in range(n_halvings + 1)]
    rem = []
    for e in eps:
        shifted = {k: params[k] + e * v[k] for k in params}
        rem.append(abs(net.loss(shifted, x, y) - J0 - e * dJv))
    rem_arr = np.array(rem)
    with np.errstate(divide="ignore", invalid="ignore"):
        orders = list(np.log2(rem_arr[:-1] / rem_arr[1:]))
        slope = float(np.polyfit(np.log(eps), np.log(rem_arr), 1)[0]) \
            if np.all(rem_arr > 0) else float("nan")
    return slope, [float(o) for o in orders], rem, eps

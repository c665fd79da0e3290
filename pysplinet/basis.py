"""Uniform B-spline basis on [0, T]: knots, active interval, and the d+1 active values.

The control of a SpliNet is a sum of ``L + d`` B-splines of degree ``d`` (eqs. 6-8 of the
paper). With ``L`` equal intervals of width ``delta = T / L`` the knots are
``tau_k = k * delta``, extended uniformly beyond ``[0, T]`` so that every basis function has
its full support ``[tau_l, tau_{l+d+1}]``. Basis functions are numbered ``l = -d .. L-1``;
in arrays the coefficient of ``B_l`` is stored at index ``j = l + d`` (so ``0 .. L+d-1``).

A time ``t`` in ``[tau_k, tau_{k+1})`` has exactly ``d + 1`` nonzero basis functions,
``B_{k-d} .. B_k`` (eqs. 14-15); their coefficient indices are ``k .. k+d``, so the
interval index ``k`` is also the index of the first active coefficient. The end point
``t = T`` belongs to the last interval ``k = L - 1`` (the left limit).

Symbols
-------
===========  ==============  =====================================
paper        identifier      meaning
===========  ==============  =====================================
d            ``degree``      polynomial degree, ``d >= 1``
L            ``n_knots``     number of knot intervals on ``[0, T]``
T            ``final_time``  end of the time interval
tau_k        ``k * delta``   knot ``k``
B_l^d(t)     ``values[j]``   active value, ``l = k - d + j``
===========  ==============  =====================================
"""

import math

import numpy as np

__all__ = ["active_interval", "active_values", "layer_basis", "basis_matrix"]


def _cox_de_boor(u, degree):
    """The d+1 nonzero B-spline values at local position ``u`` in its knot interval.

    ``u = (t - tau_k) / delta`` in ``[0, 1]``, a float or an array of them. Returns
    ``values[j] = B_{k-d+j}^d(t)``, of shape ``(degree + 1,) + shape(u)``.

    Notes
    -----
    This is the Cox-de Boor recursion (eqs. 9-10) run only over the functions that are
    nonzero on the interval. Starting from ``B_k^0 = 1``, raising the degree from
    ``r - 1`` to ``r`` splits each value between its two neighbours with the weights of
    eq. 10. On uniform knots both denominators of eq. 10 equal ``r * delta``, and measured
    in units of ``delta`` the distances are ``t - tau_{k-r+1+j} = u + r - 1 - j`` (left)
    and ``tau_{k+1+j} - t = 1 + j - u`` (right).
    """
    u = np.asarray(u, dtype=np.float64)
    values = np.zeros((degree + 1,) + u.shape)
    values[0] = 1.0                                   # eq. 9: B_k^0 = 1 on [tau_k, tau_k+1)
    for r in range(1, degree + 1):
        carry = 0.0
        for j in range(r):
            # values[j] holds B_{k-r+1+j}^{r-1}; eq. 10 sends it to B_{k-r+j}^r (as the
            # second term) and to B_{k-r+1+j}^r (as the first term).
            share = values[j] / r
            right = 1.0 + j - u                       # (tau_{k+1+j} - t) / delta
            left = u + r - 1.0 - j                    # (t - tau_{k-r+1+j}) / delta
            values[j] = carry + right * share
            carry = left * share
        values[r] = carry
    return values


def _check_final_time(final_time):
    try:
        T = float(final_time)
    except (TypeError, ValueError):
        T = float("nan")
    if not (math.isfinite(T) and T > 0.0):
        raise ValueError(f"`final_time` must be a finite number > 0, got {final_time!r}")
    return T


def _check_degree_knots(degree, n_knots):
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 1:
        raise ValueError(f"`degree` must be an integer >= 1, got {degree!r}")
    if isinstance(n_knots, bool) or not isinstance(n_knots, (int, np.integer)) or n_knots < 1:
        raise ValueError(f"`n_knots` must be an integer >= 1, got {n_knots!r}")


def active_interval(t, n_knots, final_time=1.0):
    """Index ``k`` of the knot interval ``[tau_k, tau_{k+1})`` holding ``t``, and ``u``.

    Parameters
    ----------
    t : float
        A time in ``[0, final_time]``.
    n_knots : int
        Number of intervals ``L``.
    final_time : float
        ``T``.

    Returns
    -------
    k : int
        Interval index in ``0 .. L-1``; ``t = T`` gives ``L - 1``.
    u : float
        Local position ``(t - tau_k) / delta`` in ``[0, 1]``.
    """
    final_time = _check_final_time(final_time)
    t = float(t)
    if not (0.0 <= t <= final_time):
        raise ValueError(f"`t` must lie in [0, {final_time}], got {t!r}")
    s = t * n_knots / final_time
    k = min(int(math.floor(s)), n_knots - 1)
    return k, s - k


def active_values(t, degree, n_knots, final_time=1.0):
    """First active coefficient index and the d+1 active basis values at time ``t``.

    Returns
    -------
    first : int
        Index ``k`` of the first active coefficient (function ``B_{k-d}``).
    values : ndarray, shape (degree + 1,)
        ``values[j] = B_{k-d+j}^d(t)``.
    """
    _check_degree_knots(degree, n_knots)
    k, u = active_interval(t, n_knots, final_time)
    return k, _cox_de_boor(u, degree)


def layer_basis(n_layers, degree, n_knots, start=0, stop=None):
    """The active coefficient table for the layer times ``t_i = i * T / N``.

    Rows ``start .. stop - 1`` only, when given (a long network can be swept in pieces
    without holding the whole table).

    The position of ``t_i`` in knot units is ``i * L / N``; it is computed with integers,
    so a layer time that falls on a knot is placed on it exactly (no round-off can move
    it into the neighbouring interval).

    Returns
    -------
    first : ndarray of int64, shape (stop - start,)
        First active coefficient index of each layer.
    weights : ndarray of float64, shape (stop - start, degree + 1)
        ``weights[i, j] = B_{first[i]-d+j}^d(t_i)``.
    """
    _check_degree_knots(degree, n_knots)
    if isinstance(n_layers, bool) or not isinstance(n_layers, (int, np.integer)) \
            or n_layers < 1:
        raise ValueError(f"`n_layers` must be an integer >= 1, got {n_layers!r}")
    i = np.arange(start, n_layers if stop is None else stop, dtype=np.int64)
    first, rem = np.divmod(i * n_knots, n_layers)
    weights = np.ascontiguousarray(_cox_de_boor(rem / n_layers, degree).T)
    return first.astype(np.int64), weights


def basis_matrix(t, degree, n_knots, final_time=1.0):
    """Dense matrix of all ``L + d`` basis functions at the times ``t``.

    Parameters
    ----------
    t : array_like, shape (n,)
        Times in ``[0, final_time]``.

    Returns
    -------
    ndarray, shape (n, n_knots + degree)
        ``B[q, j] = B_{j-d}^d(t_q)``. Used for plots and checks; the networks use the
        sparse table of :func:`layer_basis`.
    """
    _check_degree_knots(degree, n_knots)
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    out = np.zeros((t.size, n_knots + degree))
    for q, tq in enumerate(t):
        k, values = active_values(tq, degree, n_knots, final_time)
        out[q, k:k + degree + 1] = values
    return out

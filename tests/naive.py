"""Loop-by-loop references for the tests: slow, short, and written straight from the paper.

Nothing here imports pysplinet. Each function works on plain Python floats with explicit
loops, so that it shares no code (and no vectorised shortcut) with the library it checks.

* :func:`bspline_all` -- every one of the ``L + d`` uniform B-splines at ``t`` by the
  textbook Cox-de Boor recursion (eqs. 9-10) over the whole extended knot vector.
* :func:`spline_value` -- ``sum_l c_l B_l^d(t)`` (eqs. 7-8).
* :func:`forward_euler` -- ``x_{i+1} = x_i + h lam sigma(K_i x_i + b_i)`` (eq. 5), one
  sample, one row, one product at a time.
* :func:`opening` and :func:`closing` -- the layers before and after the ODE part.
* :func:`mse` and :func:`softmax_cross_entropy` -- the two losses, sample by sample.
"""

import math

import numpy as np


def knots(degree, n_knots, final_time=1.0):
    """``tau_k = k T / L`` for ``k = -d .. L + d`` (the uniform extension beyond [0, T])."""
    return [k * final_time / n_knots for k in range(-degree, n_knots + degree + 1)]


def bspline_all(t, degree, n_knots, final_time=1.0):
    """Values of all ``L + d`` basis functions ``B_l^d(t)``, ``l = -d .. L-1``, at ``t``.

    Entry ``j`` of the result is ``B_{j-d}^d(t)`` (the library's array convention).
    Degree zero is the indicator of ``[tau_l, tau_{l+1})`` (eq. 9) except that at
    ``t = T`` the last interval inside ``[0, T]`` is taken closed, which gives the left
    limit there; eq. 10 then raises the degree over every function of the knot vector.
    """
    tau = knots(degree, n_knots, final_time)
    n_intervals = len(tau) - 1                      # L + 2d intervals of the knot vector
    last_inside = degree + n_knots - 1              # position of [tau_{L-1}, tau_L]
    values = []
    for q in range(n_intervals):
        if t == final_time:
            values.append(1.0 if q == last_inside else 0.0)
        else:
            values.append(1.0 if tau[q] <= t < tau[q + 1] else 0.0)
    for r in range(1, degree + 1):
        raised = []
        for q in range(len(values) - 1):
            left = (t - tau[q]) / (tau[q + r] - tau[q]) * values[q]
            right = (tau[q + r + 1] - t) / (tau[q + r + 1] - tau[q + 1]) * values[q + 1]
            raised.append(left + right)
        values = raised
    assert len(values) == n_knots + degree
    return values


def spline_value(coef, t, degree, n_knots, final_time=1.0):
    """``sum_j coef[j] * B_{j-d}^d(t)`` for coefficient sets ``coef`` (leading axis L+d)."""
    basis = bspline_all(t, degree, n_knots, final_time)
    out = np.zeros(np.shape(coef)[1:])
    for j, B in enumerate(basis):
        out = out + B * np.asarray(coef[j], dtype=float)
    return out


def sigma(name, a):
    """The activation at one float ``a``."""
    if name == "tanh":
        return math.tanh(a)
    if name == "relu":
        return a if a > 0.0 else 0.0
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-a)) if a >= 0.0 else math.exp(a) / (1.0 + math.exp(a))
    if name == "identity":
        return a
    raise ValueError(name)


def forward_euler(x0, matrices, biases, h, lam, activation):
    """All states ``x_0 .. x_N`` of forward Euler, as nested lists.

    Parameters
    ----------
    x0 : sequence of sequences, (B, m)
    matrices : sequence of (m, m) arrays
        The effective operator ``K_i`` of each layer.
    biases : sequence of (m,) arrays
    h, lam : float
    activation : str
    """
    state = [[float(v) for v in row] for row in x0]
    states = [[row[:] for row in state]]
    for K, b in zip(matrices, biases):
        new = []
        for row in state:
            m = len(row)
            out = []
            for r in range(m):
                a = float(b[r])
                for c in range(m):
                    a += float(K[r][c]) * row[c]
                out.append(row[r] + h * lam * sigma(activation, a))
            new.append(out)
        state = new
        states.append([row[:] for row in state])
    return states


def opening(kind, x, width, A=None, a=None):
    """``x_0`` from the input: copies of the inputs in turn, the input itself, or
    ``A x + a`` (one sample at a time)."""
    out = []
    for row in x:
        if kind == "replicate":
            out.append([float(row[j % len(row)]) for j in range(width)])
        elif kind == "identity":
            out.append([float(v) for v in row])
        else:
            out.append([float(a[r]) + sum(float(A[r][c]) * float(row[c])
                                          for c in range(len(row))) for r in range(width)])
    return out


def closing(kind, xN, C=None, c=None):
    """The output from ``x_N``: the mean over the state, the state, or ``C x_N + c``."""
    out = []
    for row in xN:
        if kind == "mean":
            out.append([sum(row) / len(row)])
        elif kind == "identity":
            out.append(list(row))
        else:
            out.append([float(c[k]) + sum(float(C[k][j]) * row[j] for j in range(len(row)))
                        for k in range(len(c))])
    return out


def mse(o, y):
    """``0.5 * mean_b sum_k (o[b, k] - y[b, k])^2``."""
    total = 0.0
    for ob, yb in zip(o, y):
        for ok, yk in zip(ob, yb):
            total += 0.5 * (float(ok) - float(yk)) ** 2
    return total / len(o)


def softmax_cross_entropy(o, labels):
    """``mean_b (log sum_k exp o[b, k] - o[b, labels[b]])``, the maximum shifted out."""
    total = 0.0
    for ob, lab in zip(o, labels):
        top = max(float(v) for v in ob)
        s = sum(math.exp(float(v) - top) for v in ob)
        total += (top - float(ob[int(lab)])) + math.log(s)
    return total / len(o)

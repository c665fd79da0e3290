"""Synthetic test cases of the paper (section 4.1): sin(f x) and the peaks classification."""

from __future__ import annotations

import functools

import numpy as np

from ._dataset import Dataset, check_count, check_real, check_seed

__all__ = ["sine", "peaks", "peaks_function", "peaks_thresholds", "PEAKS_GRID_SIZE"]

#: Points per axis of the uniform grid (endpoints included) on which the peaks class
#: thresholds are computed.
PEAKS_GRID_SIZE = 1001

_PEAKS_CLASSES = 5
_PEAKS_BOX = (-3.0, 3.0)


def sine(freq=1.0, seed=0, n_val=20, amplitude=1.0):
    """Regression of ``y = amplitude * sin(freq * x)`` on ``[-pi, pi]`` (paper, section 4.1.1).

    Parameters
    ----------
    freq : float, default 1.0
        Frequency ``f >= 1``.
    seed : int, default 0
        Seed of the ``np.random.default_rng`` that draws the validation points.
    n_val : int, default 20
        Number of validation points, drawn uniformly at random in ``[-pi, pi]``.
    amplitude : float, default 1.0
        Factor in front of the sine; ``amplitude=10`` gives the scaled sine the paper uses to
        motivate a learned time scale.

    Returns
    -------
    Dataset
        ``x_train`` holds ``round(20 * freq)`` evenly spaced points of ``[-pi, pi]``
        (``np.linspace``, both endpoints included); all arrays have one column.
    """
    freq = check_real("freq", freq, 1.0)
    seed = check_seed(seed)
    n_val = check_count("n_val", n_val)
    amplitude = check_real("amplitude", amplitude)
    n_train = round(20 * freq)
    if n_train < 2:
        raise ValueError(f"`freq`={freq} gives {n_train} training points; at least 2 needed")

    # training grid and random validation points
    x_train = np.linspace(-np.pi, np.pi, n_train)
    rng = np.random.default_rng(seed)
    x_val = rng.uniform(-np.pi, np.pi, n_val)

    def target(x):
        return np.ascontiguousarray((amplitude * np.sin(freq * x))[:, None])

    return Dataset(
        name="sine",
        task="regression",
        x_train=np.ascontiguousarray(x_train[:, None]),
        y_train=target(x_train),
        x_val=np.ascontiguousarray(x_val[:, None]),
        y_val=target(x_val),
        n_inputs=1,
        n_outputs=1,
        source="synthetic",
        meta={"freq": freq, "amplitude": amplitude, "seed": seed,
              "train_grid": f"np.linspace(-pi, pi, {n_train})",
              "val_points": f"uniform on [-pi, pi], np.random.default_rng({seed})"},
    )


def peaks_function(x, y):
    """The peaks function on which the peaks classes are level sets.

    ``3 (1 - x)^2 e^{-x^2 - (y + 1)^2} - 10 (x / 5 - x^3 - y^5) e^{-x^2 - y^2}
    - e^{-(x + 1)^2 - y^2} / 3``, evaluated elementwise.

    Parameters
    ----------
    x, y : array_like
        Coordinates (broadcast against each other).

    Returns
    -------
    float64 ndarray
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return (3.0 * (1.0 - x) ** 2 * np.exp(-x**2 - (y + 1.0) ** 2)
            - 10.0 * (x / 5.0 - x**3 - y**5) * np.exp(-x**2 - y**2)
            - np.exp(-(x + 1.0) ** 2 - y**2) / 3.0)


@functools.cache
def _thresholds():
    grid = np.linspace(*_PEAKS_BOX, PEAKS_GRID_SIZE)
    values = peaks_function(grid[:, None], grid[None, :])
    low, high = float(values.min()), float(values.max())
    return tuple(low + k * (high - low) / _PEAKS_CLASSES for k in range(1, _PEAKS_CLASSES))


def peaks_thresholds():
    """Class boundaries of the peaks case: five level sets of equal width in function value.

    The range ``[min, max]`` of :func:`peaks_function` over the square is taken on the
    ``PEAKS_GRID_SIZE x PEAKS_GRID_SIZE`` grid ``np.linspace(-3, 3, PEAKS_GRID_SIZE)`` in
    each coordinate and cut into five equal intervals (about -3.62, -0.69, 2.24, 5.17: the
    boundaries of the authors' ``features.dat``). They do not depend on any seed.

    Returns
    -------
    (4,) float64 ndarray
        Increasing thresholds ``t_1 < ... < t_4``.
    """
    return np.array(_thresholds())


def _classify(x, thresholds):
    values = peaks_function(x[:, 0], x[:, 1])
    return np.searchsorted(thresholds, values, side="right").astype(np.int64)


def _balanced_points(rng, n, thresholds):
    """``n`` points uniform in the square, kept in draw order until each class has its
    quota (``n // 5``, one more for the first ``n % 5`` classes): uniform within each
    class, balanced across classes."""
    quota = np.full(_PEAKS_CLASSES, n // _PEAKS_CLASSES)
    quota[:n % _PEAKS_CLASSES] += 1
    kept = []
    while quota.any():
        x = rng.uniform(*_PEAKS_BOX, size=(4096, 2))
        labels = _classify(x, thresholds)
        keep = np.zeros(len(x), dtype=bool)
        for k in range(_PEAKS_CLASSES):
            take = np.flatnonzero(labels == k)[:quota[k]]
            keep[take] = True
            quota[k] -= take.size
        kept.append(x[keep])
    return np.ascontiguousarray(np.concatenate(kept))


def peaks(seed=0, n_train=1000, n_val=1000):
    """Five-class classification of points in ``[-3, 3]^2`` (paper, section 4.1.2).

    Parameters
    ----------
    seed : int, default 0
        Seed of the ``np.random.default_rng`` drawing the points (training set first, then the
        validation set).
    n_train, n_val : int, default 1000
        Number of training and validation points.

    Returns
    -------
    Dataset
        ``x`` of shape ``(n, 2)``; ``y`` int64 labels in ``0..4``. Class ``k`` holds the points
        with ``t_k <= peaks_function(x) < t_{k+1}`` (``t_0 = -inf``, ``t_5 = inf``, thresholds
        from :func:`peaks_thresholds`, stored in ``meta["thresholds"]``).

    Notes
    -----
    As in the authors' ``features.dat`` (see :func:`reference_peaks`), the classes are level
    sets of equal width in function value, and each set holds the same number of points
    (uniform within its class): points are drawn uniformly in the square and kept until
    every class has a fifth of them.
    """
    seed = check_seed(seed)
    n_train = check_count("n_train", n_train)
    n_val = check_count("n_val", n_val)
    thresholds = peaks_thresholds()

    rng = np.random.default_rng(seed)
    x_train = _balanced_points(rng, n_train, thresholds)
    x_val = _balanced_points(rng, n_val, thresholds)

    def classify(x):
        return _classify(x, thresholds)

    return Dataset(
        name="peaks",
        task="classification",
        x_train=x_train,
        y_train=classify(x_train),
        x_val=x_val,
        y_val=classify(x_val),
        n_inputs=2,
        n_outputs=_PEAKS_CLASSES,
        source="synthetic",
        meta={"seed": seed, "box": list(_PEAKS_BOX), "thresholds": thresholds.tolist(),
              "threshold_grid": f"np.linspace(-3, 3, {PEAKS_GRID_SIZE}) per axis, "
                                "five equal intervals of [min, max]",
              "sampling": "uniform in the square, kept until each class has a fifth"},
    )

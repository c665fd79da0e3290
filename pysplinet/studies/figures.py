"""Figures of the studies, drawn with matplotlib's Agg canvas (no display, no pyplot state).

Each function takes plain numbers (as the report pulls them out of the database) and returns
a :class:`matplotlib.figure.Figure`; :func:`save` writes it as PNG and PDF.
"""

from __future__ import annotations

import math
import pathlib

import numpy as np

__all__ = ["basis_figure", "convergence_figure", "param_reduction_figure",
           "robustness_figure", "save", "spectrum_figure", "time_scale_figure"]

_COLORS = {"ResNet": "tab:red", "ODEnet": "tab:orange", "SpliNet, d = 1": "tab:blue",
           "SpliNet, d = 2": "tab:green", "SpliNet, d = 3": "tab:purple"}


def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def save(fig, stem):
    """Write ``stem.png`` (150 dpi) and ``stem.pdf``; returns the two paths.

    The layout is fitted once (``tight_layout``) and kept for both files, rather than fitted
    again at every save by a layout engine, which triples the drawing time.
    """
    stem = pathlib.Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    paths = []
    for suffix, options in ((".png", {"dpi": 150}), (".pdf", {})):
        path = stem.with_name(stem.name + suffix)
        fig.savefig(path, **options)
        paths.append(str(path))
    return paths


def _nan_to_none(values):
    return [v if v is not None and math.isfinite(v) else np.nan for v in values]


def robustness_figure(panels, *, log, ylabel):
    """Mean with std and min-max, median with quartiles, and std with its 95% CI.

    Parameters
    ----------
    panels : list of (title, rows)
        One row of axes per entry; ``rows`` are summary rows with ``label``, ``mean``,
        ``std``, ``min``, ``max``, ``median``, ``q1``, ``q3``, ``std_ci_low``,
        ``std_ci_high``.
    log : bool
        Logarithmic value axis (errors).
    ylabel : str
    """
    fig = _figure(12, 3.2 * len(panels))
    axes = fig.subplots(len(panels), 3, squeeze=False)
    for (title, rows), ax in zip(panels, axes):
        labels = [r["label"] for r in rows]
        x = np.arange(len(rows))
        get = {k: np.array(_nan_to_none([r[k] for r in rows]), dtype=float)
               for k in ("mean", "std", "min", "max", "median", "q1", "q3", "std_ci_low",
                         "std_ci_high")}
        colors = [_COLORS.get(lab, "k") for lab in labels]

        # mean +- std, with the min-max range
        lower = np.minimum(get["std"], get["mean"] * (1 - 1e-9)) if log else get["std"]
        ax[0].errorbar(x, get["mean"], yerr=[lower, get["std"]], fmt="none", ecolor="gray",
                       capsize=4)
        ax[0].vlines(x, get["min"], get["max"], colors=colors, alpha=0.25, linewidth=10)
        ax[0].scatter(x, get["mean"], c=colors, zorder=3)
        ax[0].set_title(f"{title}: mean, std, min-max")
        # median with quartiles
        ax[1].errorbar(x, get["median"], yerr=[get["median"] - get["q1"],
                                               get["q3"] - get["median"]],
                       fmt="none", ecolor="gray", capsize=4)
        ax[1].scatter(x, get["median"], c=colors, zorder=3)
        ax[1].set_title(f"{title}: median, quartiles")
        # std with its confidence interval
        ax[2].errorbar(x, get["std"], yerr=[get["std"] - get["std_ci_low"],
                                            get["std_ci_high"] - get["std"]],
                       fmt="none", ecolor="gray", capsize=4)
        ax[2].scatter(x, get["std"], c=colors, zorder=3)
        ax[2].set_title(f"{title}: std, 95% CI")
        shown = (("mean", "min", "max"), ("median", "q1", "q3"),
                 ("std", "std_ci_low", "std_ci_high"))
        for a, keys in zip(ax, shown):
            a.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
            values = np.concatenate([get[k] for k in keys])
            values = values[np.isfinite(values)]
            if values.size == 0:
                # one run per row has no std; every run diverged has no values at all
                a.text(0.5, 0.5, "no finite values", ha="center", va="center",
                       transform=a.transAxes, fontsize=8)
                a.set_yticks([])
            elif log and np.any(values > 0):
                a.set_yscale("log", nonpositive="clip")
        ax[0].set_ylabel(ylabel)
    return fig


def param_reduction_figure(panels, *, center, low, high, title):
    """Center value with an interval against the number of trainable weight sets.

    Parameters
    ----------
    panels : list of (title, log, ylabel, series)
        ``series`` maps a network label to rows with ``sets`` and the keys named by
        `center`, `low`, `high`.
    center, low, high : str
        Row keys of the point and of the interval ends (``median``, ``q1``, ``q3`` for
        Figure 7; ``mean``, ``mean_ci_low``, ``mean_ci_high`` for Figure 8).
    title : str
    """
    fig = _figure(5.5 * len(panels), 4)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (panel_title, log, ylabel, series) in zip(axes, panels):
        for label, rows in series.items():
            x = np.array([r["sets"] for r in rows], dtype=float)
            y = np.array(_nan_to_none([r[center] for r in rows]), dtype=float)
            lo = np.array(_nan_to_none([r[low] for r in rows]), dtype=float)
            hi = np.array(_nan_to_none([r[high] for r in rows]), dtype=float)
            color = _COLORS.get(label, None)
            ax.plot(x, y, "o-", color=color, label=label)
            ax.fill_between(x, lo, hi, color=color, alpha=0.2)
        if log:
            ax.set_yscale("log", nonpositive="clip")
        ax.set_xlabel("trainable weight sets (L + d, or N = L)")
        ax.set_ylabel(ylabel)
        ax.set_title(panel_title)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return fig


def time_scale_figure(curves, data):
    """Predicted function with the bounds ``x +- lam`` (Figure 9), one panel per curve.

    Parameters
    ----------
    curves : list of (title, x, prediction, lam)
    data : (x, y) of the target curve
    """
    fig = _figure(5.5 * len(curves), 4)
    axes = fig.subplots(1, len(curves), squeeze=False)[0]
    for ax, (title, x, pred, lam) in zip(axes, curves):
        x = np.asarray(x)
        ax.plot(data[0], data[1], "k-", linewidth=1, label="target")
        ax.plot(x, pred, "tab:blue", linewidth=2, label="prediction")
        ax.plot(x, x + lam, "tab:red", linestyle="--", label=f"x + lam, x - lam (lam = "
                                                            f"{lam:.3g})")
        ax.plot(x, x - lam, "tab:red", linestyle="--")
        ax.set_xlabel("x")
        ax.set_title(title)
        ax.legend(fontsize=8)
    return fig


def convergence_figure(h, error, slope, intercept):
    """Error of the network output against the step size, log-log, with the fitted line."""
    fig = _figure(5.5, 4)
    ax = fig.subplots()
    h = np.asarray(h)
    ax.loglog(h, error, "o-", label="max |o_N - o_ref|")
    ax.loglog(h, np.exp(intercept) * h ** slope, "k--", label=f"fit: slope {slope:.3f}")
    ax.set_xlabel("step size h")
    ax.set_ylabel("error of the network output")
    ax.legend()
    return fig


def spectrum_figure(spectra):
    """Eigenvalues ``z`` of the linearised layers with the disc ``|1 + z| <= 1``.

    Parameters
    ----------
    spectra : list of (title, re, im)
    """
    fig = _figure(4 * len(spectra), 4)
    axes = fig.subplots(1, len(spectra), squeeze=False)[0]
    angle = np.linspace(0.0, 2.0 * np.pi, 400)
    for ax, (title, re, im) in zip(axes, spectra):
        ax.fill(-1 + np.cos(angle), np.sin(angle), color="tab:green", alpha=0.15,
                label="|1 + z| <= 1")
        ax.scatter(re, im, s=3, color="tab:blue", label="eigenvalues", rasterized=True)
        ax.axhline(0.0, color="gray", linewidth=0.5)
        ax.axvline(0.0, color="gray", linewidth=0.5)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("Re z")
        ax.set_ylabel("Im z")
        ax.set_title(title)
        ax.legend(fontsize=7, loc="upper left")
    return fig


def basis_figure(t, values, knots):
    """B-spline basis functions of each degree on ``knots`` uniform intervals (Figure 1).

    Parameters
    ----------
    t : sequence of float
    values : dict
        ``{degree: (n_functions, len(t)) values}``.
    knots : int
    """
    fig = _figure(4 * len(values), 3.2)
    axes = fig.subplots(1, len(values), squeeze=False)[0]
    for ax, (degree, rows) in zip(axes, values.items()):
        for row in rows:
            ax.plot(t, row)
        for k in range(knots + 1):
            ax.axvline(k / knots, color="gray", linewidth=0.5, linestyle=":")
        ax.set_title(f"d = {degree}, L + 1 = {knots + 1} knots")
        ax.set_xlabel("t")
    return fig
